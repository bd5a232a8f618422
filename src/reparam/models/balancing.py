r"""Layers are automatically balanced: the conserved quantities of homogeneous networks.

Du, Hu & Lee, "Algorithmic regularization in learning deep homogeneous models: layers are
automatically balanced", NeurIPS 2018. For a network ``W_L σ(W_{L−1} ⋯ σ(W_1 X))`` with a
positively homogeneous activation (linear or ReLU) and any differentiable loss, gradient flow
conserves, for every hidden layer ``i``,

* linear networks: the matrices ``D_i = W_{i+1}ᵀ W_{i+1} − W_i W_iᵀ``;
* ReLU networks: per hidden unit ``j``, ``‖W_i[j, :]‖² − ‖W_{i+1}[:, j]‖²`` (incoming minus
  outgoing squared norm), hence also ``‖W_{i+1}‖²_F − ‖W_i‖²_F``.

Gradient descent with step η changes ``D_i`` by ``η²(G_{i+1}ᵀG_{i+1} − G_iG_iᵀ)`` per step
(``G`` the gradients), so over a fixed flow time ``T`` (``T/η`` steps) the drift is ``O(η T)``:
halving the step halves it. For the asymmetric factorization ``½‖U Vᵀ − M‖²_F`` with steps
``η_t = η/(t+1)^{1/2+δ}`` (δ > 0) the sum of ``η_t²`` is finite, so the imbalance
``‖UᵀU − VᵀV‖_F`` stays within a bounded distance of its small initial value and the factors
stay bounded (their result for asymmetric matrix factorization).

What this module checks, with the thresholds the tests and ``reparam reproduce`` use:

* flow: the drift ``max_t max_i ‖D_i(t) − D_i(0)‖_F / max_{t,i} ‖W_i(t)‖²_F`` of the integrated
  gradient flow is at most :data:`FLOW_DRIFT_TOL` = 1e-6 (integrator tolerances rtol = 1e-10,
  atol = 1e-12; the measured drifts are ~1e-12);
* gradient descent: over a fixed time ``T``, the drift at steps η, η/2, η/4 fits
  ``drift ∝ η^p`` with ``|p − 1| ≤`` :data:`ORDER_TOL` = 0.25;
* decaying steps: ``max_t ‖UᵀU − VᵀV‖_F − ‖U_0ᵀU_0 − V_0ᵀV_0‖_F ≤``
  :data:`IMBALANCE_TOL` ``· ‖M‖_F`` and ``max_t (‖U‖²_F + ‖V‖²_F) ≤ 2 ‖M‖_*`` + 1 (the balanced
  minimizer has ``‖U‖²_F + ‖V‖²_F = 2 ‖M‖_*``).

The control is the same network with ``tanh`` (not homogeneous: ``σ'(z) z ≠ σ(z)``): the same
quantities drift under the flow by orders of magnitude more than the threshold, and under
gradient descent the drift tends to the flow's non-zero drift as η → 0 (fitted order ≈ 0).

The flow is integrated by :func:`reparam.flows.gradient_flow` on the flattened layers (a
flattening :class:`~reparam.parametrizations.Parametrization`, :class:`Flattened`); gradient
descent runs :func:`reparam.train` with the network as a parametrization (:class:`Network`,
written here because a nonlinear network is not one of the engine's parametrizations) and the
quantity recorded through ``record=``.

Examples
--------
>>> from reparam.models import balancing
>>> prob = balancing.problem("linear", depth=3)
>>> flow = balancing.flow_drift(prob, time=1.0)
>>> bool(flow.ok and flow.drift < balancing.FLOW_DRIFT_TOL)
True
>>> order, runs = balancing.gd_order(prob, time=1.0)
>>> bool(abs(order - 1) <= balancing.ORDER_TOL)
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import reparam as rp

from ..flows import gradient_flow
from ..objectives import Factorization
from ..parametrizations import Parametrization

__all__ = [
    "FLOW_DRIFT_TOL",
    "IMBALANCE_TOL",
    "ORDER_TOL",
    "Balance",
    "Flattened",
    "Network",
    "Problem",
    "balance",
    "decaying_step_run",
    "flow_drift",
    "gd_drift",
    "gd_order",
    "problem",
]

FLOW_DRIFT_TOL = 1e-6
ORDER_TOL = 0.25
IMBALANCE_TOL = 0.05

_ACTIVATIONS = ("linear", "relu", "tanh")


def _act(name, z):
    if name == "linear":
        return z, np.ones_like(z)
    if name == "relu":
        return np.maximum(z, 0.0), (z > 0).astype(float)
    t = np.tanh(z)
    return t, 1.0 - t * t


class Network(Parametrization):
    r"""``Y = W_L σ(W_{L−1} ⋯ σ(W_1 X))`` as a parametrization of the outputs ``Y``.

    Parameters
    ----------
    inputs : array_like, shape (d_in, n)
        The inputs ``X`` (one column per sample); the identity makes a linear network the
        deep factorization ``W_L ⋯ W_1``.
    widths : sequence of int
        Hidden widths ``h_1, …, h_{L−1}``.
    d_out : int
    activation : {"linear", "relu", "tanh"}

    Examples
    --------
    >>> import numpy as np
    >>> net = Network(np.eye(2), widths=(3,), d_out=1, activation="relu")
    >>> Ws = net.init((1, 2), 0.5, rng=0)
    >>> net.forward(Ws).shape
    (1, 2)
    """

    commuting = False
    signed = True

    def __init__(self, inputs, widths, d_out: int, activation: str = "relu"):
        X = np.asarray(inputs, dtype=float)
        if X.ndim != 2 or not np.all(np.isfinite(X)):
            raise ValueError(f"inputs must be a finite 2-D array (d_in, n); got shape {X.shape}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {_ACTIVATIONS}; got {activation!r}")
        widths = tuple(int(w) for w in widths)
        if not widths or min(widths) < 1:
            raise ValueError(f"widths must be positive integers (at least one); got {widths}")
        self.inputs, self.activation = X, activation
        self.dims = (X.shape[0], *widths, int(d_out))

    def __repr__(self) -> str:
        return f"Network(dims={self.dims}, activation={self.activation!r})"

    def _layers(self, Ws):
        """Pre-activations and their derivatives, layer by layer (for the vjp)."""
        h, cache = self.inputs, []
        for W in Ws[:-1]:
            z = W @ h
            a, da = _act(self.activation, z)
            cache.append((h, da))
            h = a
        return h, cache

    def forward(self, Ws):
        h, _ = self._layers(Ws)
        return Ws[-1] @ h

    def vjp(self, Ws, g):
        h, cache = self._layers(Ws)
        grads = [g @ h.T]
        back = Ws[-1].T @ g
        for i in reversed(range(len(Ws) - 1)):
            prev, da = cache[i]
            back = back * da
            grads.append(back @ prev.T)
            back = Ws[i].T @ back
        return tuple(reversed(grads))

    def init(self, shape, init_scale, rng=None, kind="gaussian"):
        """Gaussian layers ``W_i`` with entries ``N(0, init_scale²)``."""
        gen = np.random.default_rng(rng)
        return tuple(float(init_scale) * gen.standard_normal((self.dims[i + 1], self.dims[i]))
                     for i in range(len(self.dims) - 1))


class Flattened(Parametrization):
    """A parametrization on tuples of matrices seen as one on flat vectors (for :mod:`reparam.flows`).

    ``forward(u)`` is ``inner.forward(layers(u)).ravel()``; ``vjp`` likewise.
    """

    commuting = False
    signed = True

    def __init__(self, inner, shapes):
        self.inner = inner
        self.shapes = tuple(tuple(s) for s in shapes)
        self._ends = np.cumsum([int(np.prod(s)) for s in self.shapes])

    def layers(self, u):
        parts = np.split(np.asarray(u, dtype=float), self._ends[:-1])
        return tuple(p.reshape(s) for p, s in zip(parts, self.shapes))

    @staticmethod
    def flatten(Ws):
        return np.concatenate([np.ravel(W) for W in Ws])

    def forward(self, u):
        return np.ravel(self.inner.forward(self.layers(u)))

    def vjp(self, u, g):
        Ws = self.layers(u)
        return self.flatten(self.inner.vjp(Ws, np.reshape(g, self.inner.forward(Ws).shape)))


@dataclass
class Problem:
    """A seeded regression ``½‖Network(W) − Y‖²_F`` and its initial layers."""

    network: Network
    objective: Factorization
    params0: tuple
    kind: str  # "linear" (matrix quantities) or "unit" (per-unit norms)


def problem(activation: str = "relu", *, depth: int = 2, width: int = 4, d_in: int = 3,
            n_samples: int = 4, d_out: int = 2, init_scale: float = 0.5, seed=1) -> Problem:
    """A seeded network regression: Gaussian inputs and targets, Gaussian layers.

    For ``activation="linear"`` the inputs are the identity (``n_samples = d_in``): the deep
    factorization of a Gaussian ``d_out × d_in`` matrix; the balance is then the matrices
    ``D_i``, else the per-unit norm differences.
    """
    if depth < 2:
        raise ValueError(f"depth must be >= 2 (a hidden layer to balance); got {depth}")
    rng = np.random.default_rng(seed)
    X = np.eye(d_in) if activation == "linear" else rng.standard_normal((d_in, n_samples))
    Y = rng.standard_normal((d_out, X.shape[1]))
    net = Network(X, (width,) * (depth - 1), d_out, activation)
    params0 = net.init(Y.shape, init_scale, rng)
    return Problem(net, Factorization(Y), params0, "linear" if activation == "linear" else "unit")


def balance(Ws, kind: str = "linear") -> list[np.ndarray]:
    """The conserved quantities: ``W_{i+1}ᵀW_{i+1} − W_iW_iᵀ`` (``kind="linear"``) or, per unit,
    ``‖W_i[j, :]‖² − ‖W_{i+1}[:, j]‖²`` (``kind="unit"``), one array per hidden layer.

    Examples
    --------
    >>> import numpy as np
    >>> Ws = (np.ones((2, 3)), 2 * np.ones((1, 2)))
    >>> [d.tolist() for d in balance(Ws, "unit")]
    [[-1.0, -1.0]]
    """
    if kind == "linear":
        return [Ws[i + 1].T @ Ws[i + 1] - Ws[i] @ Ws[i].T for i in range(len(Ws) - 1)]
    if kind == "unit":
        return [np.sum(Ws[i] ** 2, axis=1) - np.sum(Ws[i + 1] ** 2, axis=0)
                for i in range(len(Ws) - 1)]
    raise ValueError(f"kind must be 'linear' or 'unit'; got {kind!r}")


def _drift(path, kind) -> float:
    """``max_t max_i ‖B_i(t) − B_i(0)‖_F / max_{t,i} ‖W_i(t)‖²_F`` along a path of layers."""
    ref = balance(path[0], kind)
    worst = max(max(float(np.linalg.norm(b - r)) for b, r in zip(balance(Ws, kind), ref))
                for Ws in path)
    scale = max(max(float(np.sum(W * W)) for W in Ws) for Ws in path)
    return worst / scale


@dataclass
class Balance:
    """A measured drift: ``drift`` (relative, see :func:`flow_drift`), ``ok`` whether the run
    went to its end (the flow integrated, or the GD run finite), ``loss`` at the end."""

    drift: float
    ok: bool
    loss: float
    detail: dict = field(default_factory=dict)


def flow_drift(prob: Problem, time: float = 2.0, rtol: float = 1e-10, atol: float = 1e-12,
               method: str = "DOP853") -> Balance:
    """Integrate gradient flow for ``time`` and measure the drift of the balance quantities.

    Uses :func:`reparam.flows.gradient_flow` on :class:`Flattened` layers, with DOP853 (an
    explicit high-order method whose error control steps across the points where a ReLU flow's
    right-hand side jumps, a pre-activation changing sign). A ReLU flow whose
    pre-activation slides along zero (a Filippov sliding mode) has no classical solution there
    and the integrator crawls; the default ReLU problem (seed 1, 4 samples, width 4, depth 2)
    has none up to ``time = 2``.
    """
    flat = Flattened(prob.network, [W.shape for W in prob.params0])
    obj = prob.objective
    shape = obj.shape
    traj = gradient_flow(lambda x: obj.value(x.reshape(shape)),
                         lambda x: obj.grad(x.reshape(shape)).ravel(), flat, (0.0, float(time)),
                         u0=flat.flatten(prob.params0), rtol=rtol, atol=atol, method=method,
                         t_eval=np.linspace(0.0, float(time), 41))
    path = [flat.layers(u) for u in traj.u]
    return Balance(_drift(path, prob.kind), bool(traj.success), float(traj.loss[-1]),
                   {"t": traj.t, "loss": traj.loss})


def gd_drift(prob: Problem, step: float, time: float = 2.0) -> Balance:
    """Gradient descent with a fixed ``step`` for ``round(time/step)`` iterations (the same flow
    time) by :func:`reparam.train`; the balance recorded at every iteration."""
    n = round(time / step)
    flat = Flattened(prob.network, [W.shape for W in prob.params0])

    def layers(params, x):
        return flat.flatten(params)

    res = rp.train(prob.objective, prob.network, init_scale=1.0, step=float(step), tol=0.0,
                   max_iter=n, params0=prob.params0, record=(layers,))
    path = [flat.layers(u) for u in res.history["layers"]]
    ok = res.n_iter == n and bool(np.isfinite(res.objective))
    return Balance(_drift(path, prob.kind), ok, float(res.objective))


def gd_order(prob: Problem, steps=(0.04, 0.02, 0.01), time: float = 2.0) -> tuple[float, list]:
    """The fitted order ``p`` of ``drift ∝ step^p`` over ``steps`` (gradient descent)."""
    runs = [gd_drift(prob, s, time) for s in steps]
    drifts = np.array([r.drift for r in runs])
    if np.any(drifts <= 0) or not np.all(np.isfinite(drifts)):
        return float("nan"), runs
    return float(np.polyfit(np.log(steps), np.log(drifts), 1)[0]), runs


def decaying_step_run(*, d: int = 6, rank: int = 2, width: int = 6, init_scale: float = 1e-3,
                      step: float = 0.1, delta: float = 0.1, max_iter: int = 4000, seed=0):
    """GD on ``½‖U Vᵀ − M‖²_F`` with ``η_t = step/(t+1)^{1/2+δ}`` from a small Gaussian init.

    Returns a dict: ``imbalance`` (``‖UᵀU − VᵀV‖_F`` per iteration), ``norm``
    (``‖U‖²_F + ‖V‖²_F``), ``loss``, ``M`` (the rank-``rank`` target), ``result``.
    """
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((d, rank)) @ rng.standard_normal((rank, d)) / np.sqrt(rank)

    def imbalance(params, x):
        U, V = params
        return float(np.linalg.norm(U.T @ U - V.T @ V))

    def norm(params, x):
        return float(sum(np.sum(F * F) for F in params))

    res = rp.train(Factorization(M), rp.parametrizations.Product(width), init_scale=init_scale,
                   step=step, decay=0.5 + delta, tol=1e-10, max_iter=max_iter, seed=seed,
                   record=("objective", imbalance, norm))
    return {"imbalance": res.history["imbalance"], "norm": res.history["norm"],
            "loss": res.history["objective"], "M": M, "result": res}
