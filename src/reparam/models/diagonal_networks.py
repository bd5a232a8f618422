r"""Diagonal linear networks ``x = u^L − v^L`` and their weight-normalized version.

A depth-``L`` diagonal linear network with identical layers writes the unknown of a signed
regression ``Ax = b`` as ``x = u^{⊙L} − v^{⊙L}`` and runs gradient descent on the weights
``(u, v)`` from ``u0 = v0 = α·1`` (so ``x0 = 0``). Gradient flow is the mirror flow of a
hyperbolic-entropy-like potential whose scale is set by ``α`` (Woodworth et al., "Kernel and
rich regimes in overparametrized models", COLT 2020): its limit tends to the minimum-ℓ1 solution
(basis pursuit) as ``α → 0`` and moves away from it as ``α`` grows. The plain network is
:class:`reparam.parametrizations.Difference` (any depth ``L ≥ 2``); its predicted limit is
:func:`reparam.implicit_bias.limit` and the minimum-ℓ1 value is
:func:`reparam.implicit_bias.l1_limit` with ``nonnegative=False`` (an LP solved by HiGHS).

H.-H. Chou, H. Rauhut and R. Ward, "Robust implicit regularization via weight normalization",
arXiv:2305.05448 (2023), write the weight vector in polar form — a magnitude and a unit
direction — and run gradient flow / descent on both; they report that the sparse bias then
persists at large initialization and that training converges faster.
:class:`WeightNormalizedDifference` is that network here: the whole weight vector
``w = (u, v) ∈ R^{2n}`` is ``r · w̃/‖w̃‖`` (weight normalization of Salimans & Kingma, NeurIPS
2016: gradient descent on the magnitude and on an unnormalized direction ``w̃``, whose
gradient is tangent to the sphere, so that gradient flow keeps ``‖w̃‖`` and moves ``w̃/‖w̃‖``
on the unit sphere), with a learning-rate ratio ``ratio = η_r / η_w̃``.

The claim checked (:func:`sweep`, the experiment ``diagonal-networks``): on a seeded
underdetermined sparse problem, the plain network's ‖x∞‖₁ moves away from the minimum-ℓ1
value as ``α`` grows to 1, while the weight-normalized one stays within ``TOL = 5%`` of it at
``α = 1`` and converges in fewer iterations than the plain one there. Runs use a fixed step
below each network's curvature at its start (so that they follow the flow the predicted limit
describes) and stop on the certificate ``tol``; a run at ``max_iter`` counts as no evidence.

Examples
--------
>>> import numpy as np
>>> from reparam.models import diagonal_networks as dn
>>> A, b, x_true = dn.problem(m=8, n=20, sparsity=2, seed=0)
>>> p = dn.WeightNormalizedDifference(depth=2)
>>> s, w = p.init(20, 0.5)
>>> u, v = p.weights((s, w))                     # the same weights as the plain network's
>>> bool(np.allclose(u, 0.5) and np.allclose(v, 0.5)), float(np.abs(p.forward((s, w))).max())
(True, 0.0)
>>> run = dn.train(A, b, "plain", init_scale=0.3, depth=2, max_iter=20_000)
>>> run.converged, bool(np.allclose(A @ run.x, b, atol=1e-5))
(True, True)
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

import reparam as rp
from reparam.implicit_bias import l1_limit, limit
from reparam.objectives import LeastSquares
from reparam.parametrizations import Difference, Domain, Parametrization

__all__ = ["TOL", "NetworkRun", "WeightNormalizedDifference", "problem", "sweep", "train"]

# The claim's tolerance, fixed before any run: the weight-normalized network's ‖x∞‖₁ at init
# scale 1 within 5% of the minimum-ℓ1 value (the plain network at small α gets within ~1%).
TOL = 0.05
# The plain runs must match the predicted limit of the flow to 2% in ‖x∞‖₁ (relative to the
# minimum-ℓ1 value): the fixed step of ``_STEP_FRACTION`` of the inverse curvature keeps the
# discrete path within ~0.5% of the flow's limit on the problems of the experiment.
AGREE = 0.02
_STEP_FRACTION = 0.5


def _check_depth(depth) -> int:
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral):
        raise TypeError(f"depth must be an integer >= 2, got {depth!r}")
    if depth < 2:
        raise ValueError(f"depth must be >= 2, got {depth}")
    return int(depth)


def _check_positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive real number, got {value!r}")
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite, got {value}")
    return value


class WeightNormalizedDifference(Parametrization):
    r"""``x = u^L − v^L`` with the weight vector ``(u, v) = r · w̃/‖w̃‖`` in polar form.

    Parameters are ``(s, w̃)``: ``s`` of shape (1,) with magnitude ``r = √ratio · s`` and
    ``w̃`` of shape (2n,) (u's direction, then v's). Gradient descent with one step ``η`` on
    ``(s, w̃)`` is gradient descent with step ``ratio·η`` on ``r`` and ``η`` on ``w̃``: the
    learning-rate ratio of Chou, Rauhut & Ward (arXiv:2305.05448, 2023). The gradient in
    ``w̃`` is ``(I − d dᵀ) ∇_d / ‖w̃‖`` with ``d = w̃/‖w̃‖``: tangent to the sphere, so gradient
    flow keeps ``‖w̃‖`` and moves ``d`` on it (Salimans & Kingma 2016).

    Parameters
    ----------
    depth : int, default 2
        ``L ≥ 2``.
    ratio : float, default 1
        ``η_r / η_w̃ > 0``.

    Examples
    --------
    >>> import numpy as np
    >>> p = WeightNormalizedDifference(depth=3, ratio=4.0)
    >>> s, w = p.init(3, 0.2)
    >>> u, v = p.weights((s, w))
    >>> np.round(u, 12), float(np.linalg.norm(w))
    (array([0.2, 0.2, 0.2]), 1.0)
    """

    commuting = False
    signed = True
    domain = Domain(description="R^n (signed)")

    def __init__(self, depth: int = 2, ratio: float = 1.0):
        self.depth = _check_depth(depth)
        self.ratio = _check_positive("ratio", ratio)

    def __repr__(self) -> str:
        return f"WeightNormalizedDifference(depth={self.depth}, ratio={self.ratio:g})"

    def _parts(self, params):
        s, w = params
        s = np.asarray(s, dtype=float)
        w = np.asarray(w, dtype=float)
        if s.shape != (1,) or w.ndim != 1 or w.size % 2:
            raise ValueError(f"parameters must be (s of shape (1,), w of shape (2n,)); got "
                             f"shapes {s.shape} and {w.shape}")
        norm = float(np.linalg.norm(w))
        if not norm > 0:
            raise ValueError("the direction w has zero norm")
        return np.sqrt(self.ratio) * s[0], w / norm, norm  # numpy floats: overflow gives inf

    def weights(self, params) -> tuple[np.ndarray, np.ndarray]:
        """The network's weights ``(u, v) = r · d``."""
        r, d, _ = self._parts(params)
        n = d.size // 2
        return r * d[:n], r * d[n:]

    def forward(self, params):
        r, d, _ = self._parts(params)
        n, L = d.size // 2, self.depth
        return r ** L * (d[:n] ** L - d[n:] ** L)

    def vjp(self, params, g):
        r, d, norm = self._parts(params)
        n, L = d.size // 2, self.depth
        g = np.asarray(g, dtype=float)
        y = d[:n] ** L - d[n:] ** L
        grad_d = L * r ** L * np.concatenate([d[:n] ** (L - 1) * g, -d[n:] ** (L - 1) * g])
        grad_w = (grad_d - np.dot(d, grad_d) * d) / norm
        grad_s = np.sqrt(self.ratio) * L * r ** (L - 1) * np.dot(y, g)
        return np.array([grad_s]), grad_w

    def initial_u(self, x0=None, init_scale=None, n=None):
        raise ValueError("WeightNormalizedDifference parameters are (s, w): use "
                         "init(n, init_scale)")

    def init(self, shape, init_scale, rng=None, kind: str = "identical"):
        """``(u0, v0) = init_scale·1`` (as the plain network, ``x0 = 0``): ``d = 1/√(2n)``,
        ``‖w̃‖ = 1``, ``r = init_scale·√(2n)``; ``kind="gaussian"``: |N(0, 1)| directions."""
        n = int(np.atleast_1d(shape)[0])
        if len(np.atleast_1d(shape)) != 1 or n < 1:
            raise ValueError(f"WeightNormalizedDifference takes x of shape (n,); got {shape}")
        alpha = _check_positive("init_scale", init_scale)
        if kind == "identical":
            w = np.full(2 * n, 1.0 / np.sqrt(2 * n))
        elif kind == "gaussian":
            w = np.abs(np.random.default_rng(rng).standard_normal(2 * n))
            w /= np.linalg.norm(w)
        else:
            raise ValueError(f"kind must be 'identical' or 'gaussian'; got {kind!r}")
        return np.array([alpha * np.sqrt(2 * n) / np.sqrt(self.ratio)]), w


def problem(m: int = 20, n: int = 100, sparsity: int = 3, *, seed: int = 0):
    """A seeded signed sparse regression ``(A, b, x_true)``: ``A`` with N(0, 1/m) entries,
    ``x_true`` with ``sparsity`` N(0, 1) entries scaled to unit norm, ``b = A x_true``."""
    for name, value in (("m", m), ("n", n), ("sparsity", sparsity)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if sparsity > n:
        raise ValueError(f"sparsity={sparsity} exceeds n={n}")
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x = np.zeros(n)
    support = rng.choice(n, sparsity, replace=False)
    x[support] = rng.standard_normal(sparsity)
    x /= np.linalg.norm(x)
    return A, A @ x, x


@dataclass
class NetworkRun:
    """One training run: ``x``, ``l1 = ‖x‖₁``, ``n_iter``, ``converged`` (stopped by the
    certificate, not by ``max_iter``), ``step`` and the recorded ``l1_path`` (‖x_t‖₁)."""

    x: np.ndarray
    l1: float
    n_iter: int
    converged: bool
    step: float
    status: str
    l1_path: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _l1(params, x):
    return float(np.abs(x).sum())


def _step(A, network: str, depth: int, init_scale: float, n: int) -> float:
    """A fixed step below the inverse curvature of ``f(φ(params))`` at the start and along a
    path with weights of size ≤ max(1, α): ``L²‖A‖² max(1, α)^{2L−2}`` for the plain network,
    times ``max(1, 2n α²)`` for the weight-normalized one (its direction's Jacobian at
    ``d = 1/√(2n)`` is ``L r^L d^{L−1} = L α^L √(2n)``, ``√(2n)/α`` times the plain one's)."""
    curv = depth ** 2 * np.linalg.norm(A, 2) ** 2 * max(1.0, init_scale) ** (2 * depth - 2)
    if network == "normalized":
        curv *= max(1.0, 2 * n * init_scale ** 2)  # (a large ratio needs a smaller step)
    return _STEP_FRACTION / curv


def train(A, b, network: str = "plain", *, init_scale: float, depth: int = 2,
          ratio: float = 1.0, max_iter: int = 100_000, tol: float = 1e-7) -> NetworkRun:
    """Gradient descent on the plain (``"plain"``) or weight-normalized (``"normalized"``)
    network from ``u0 = v0 = init_scale·1``, through :func:`reparam.train`.

    Fixed step (see :func:`_step`), stop when the certificate ``‖Aᵀ(Ax − b)‖∞`` (scaled by the
    column norms of A and ‖b‖) is ≤ ``tol``; ‖x_t‖₁ is recorded at every step.
    """
    if network not in ("plain", "normalized"):
        raise ValueError(f"network must be 'plain' or 'normalized'; got {network!r}")
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    alpha = _check_positive("init_scale", init_scale)
    depth = _check_depth(depth)
    n = A.shape[1]
    objective = LeastSquares(A, b)
    step = _step(A, network, depth, alpha, n)
    if network == "plain":
        param = Difference(depth)
        params0 = param.initial_u(init_scale=alpha, n=n)
    else:
        param = WeightNormalizedDifference(depth, ratio)
        params0 = param.init(n, alpha)
    res = rp.train(objective, param, init_scale=alpha, params0=params0, step=step,
                   max_iter=max_iter, tol=tol, record=(_l1,))
    return NetworkRun(np.asarray(res.x), float(np.abs(res.x).sum()), int(res.n_iter),
                      res.status is rp.Status.CONVERGED, step, res.status.name,
                      np.asarray(res.history["_l1"]))


def sweep(A, b, init_scales, *, depth: int = 2, ratio: float = 1.0,
          max_iter: int = 100_000, tol: float = 1e-7) -> dict:
    """Both networks over ``init_scales`` with the plain network's predicted limit.

    Returns a table: ``init_scale``, ``min_l1`` (basis pursuit by HiGHS), ``l1_plain``,
    ``l1_predicted`` (‖x‖₁ of :func:`reparam.implicit_bias.limit` for ``Difference(depth)``),
    ``l1_normalized``, ``iterations_plain``, ``iterations_normalized``, ``converged_plain``,
    ``converged_normalized``, ``deviation_plain`` (‖x_plain − x_predicted‖∞ / ‖x_predicted‖∞),
    and the recorded ‖x_t‖₁ paths at the largest scale (``path_plain``, ``path_normalized``).
    """
    scales = [_check_positive("init_scales", float(a)) for a in np.atleast_1d(init_scales)]
    bp = l1_limit(A, b, nonnegative=False)
    table: dict = {"init_scale": scales, "depth": int(depth), "ratio": float(ratio),
                   "min_l1": float(bp.objective)}
    for key in ("l1_plain", "l1_predicted", "l1_normalized", "iterations_plain",
                "iterations_normalized", "converged_plain", "converged_normalized",
                "deviation_plain"):
        table[key] = []
    for alpha in scales:
        plain = train(A, b, "plain", init_scale=alpha, depth=depth, max_iter=max_iter, tol=tol)
        normalized = train(A, b, "normalized", init_scale=alpha, depth=depth, ratio=ratio,
                           max_iter=max_iter, tol=tol)
        x_lim = limit(A, b, Difference(depth), init_scale=alpha).x
        table["l1_plain"].append(plain.l1)
        table["l1_predicted"].append(float(np.abs(x_lim).sum()))
        table["l1_normalized"].append(normalized.l1)
        table["iterations_plain"].append(plain.n_iter)
        table["iterations_normalized"].append(normalized.n_iter)
        table["converged_plain"].append(plain.converged)
        table["converged_normalized"].append(normalized.converged)
        table["deviation_plain"].append(
            float(np.max(np.abs(plain.x - x_lim)) / max(np.max(np.abs(x_lim)), 1e-300)))
    table["path_plain"] = plain.l1_path
    table["path_normalized"] = normalized.l1_path
    return table
