r"""Deep matrix factorization: the law of parsimony and the compressed factorization.

Yaras, Wang, Hu, Zhu, Balzano & Qu, "The law of parsimony in gradient descent for learning deep
linear networks", arXiv:2306.01154, 2023. Train ``X = W_L ⋯ W_1`` (square ``d × d`` layers,
:class:`~reparam.parametrizations.DeepProduct`) by gradient descent from an orthogonal
initialization of scale ε, ``W_l(0) = ε O_l``, on ``½‖X − Φ‖²_F`` with ``Φ`` of rank ``r``.
Their theorem: there are orthogonal ``U_l, V_l`` (fixed in time, ``V_{l+1} = U_l``) with
``W_l(t) = U_l diag(W̃_l(t), ρ_l(t) I_{d−2r}) V_lᵀ`` — every layer moves only inside a
``2r``-dimensional subspace and its singular values beyond the top ``2r`` stay equal to one
another (``ρ_l(t)``).

The complement is spanned, at the input, by ``S = {v : Φ v = 0, Φᵀ O_{L:1} v = 0}``
(``O_{L:1} = O_L ⋯ O_1``): on it the residual and all gradients vanish along the layers. Its
orthogonal complement ``V = S^⊥ = span(row Φ, O_{L:1}ᵀ col Φ)`` has dimension ``2r``. The
*compressed factorization* (:func:`compress`) trains ``X = U W̃_L ⋯ W̃_1 Vᵀ + ρ_L ⋯ ρ_1 C``
with ``2r × 2r`` layers ``W̃_l(0) = ε I``, ``U = O_{L:1} V``, scalars ``ρ_l(0) = ε`` and
``C = X(0)(I − V Vᵀ)/ε^L`` fixed (in the parameters ``√(d − 2r) ρ_l``, which
gradient descent moves as it moves the ``d − 2r`` equal singular values of the full layers). Row and column spaces of ``Φ`` are read off the
initialization and the first gradient, as the paper builds its compressed network: the top-``r``
singular subspaces of ``X(0) − ∇f(X(0))`` (``= Φ`` for factorization; ``P_Ω(Φ)`` plus an
``ε^L`` term for completion, whose top subspaces approximate ``Φ``'s). The construction is
written from the theorem, not from the authors' code.

Claims checked here (thresholds used by the tests and ``reparam reproduce``):

* spread: ``max_t`` of :func:`tail_spread` (``d − 2r`` equal singular values per layer) is at most
  :data:`SPREAD_TOL` = 1e-8 for matrix factorization (exact in theory; rounding is ~1e-13).
  Control: a Gaussian initialization (not orthogonal), whose tail is spread from the start and
  stays spread;
* the compressed factorization's loss curve matches the full one: ``max_t |f_c(t) − f(t)| /
  f(0)`` at most :data:`CURVE_TOL` = 1e-6 for factorization, with a step below
  :func:`edge_of_stability`. The two networks are the same dynamics in exact arithmetic at any
  step, and in floating point they agree to rounding (~1e-15) while gradient descent is
  stable. Above ``2 / λ``, ``λ = L σ₁(Φ)^{2−2/L}`` the sharpness of the global minimum, the top
  direction cannot converge: the loss stalls on a two-cycle or wanders chaotically, and in the
  chaotic case rounding differences grow to O(1) — the full network then does not even follow
  itself from an initialization perturbed at 1e-15 (measured: step 0.3 > 2/λ = 0.265 for
  ``σ₁ = 2``, depth 3, ``d = 100``, ``r = 5``: loss-curve gap 0.65 to the compressed network,
  0.56 to itself perturbed; at step 0.2 both gaps are below 1e-15);
* matrix completion: both networks are stopped at the same test error; the compressed one must
  reach it, and the wall-clock time ratio compressed / full is reported (no threshold: wall
  time is not asserted in tests).

Examples
--------
>>> import numpy as np
>>> from reparam.models import deep_factorization as D
>>> prob = D.factorization_problem(d=20, rank=2, seed=0)
>>> step = 0.75 * D.edge_of_stability(prob.Phi, prob.depth)
>>> run = D.train_full(prob, step=step, max_iter=200)
>>> bool(np.max(run.spread) <= D.SPREAD_TOL and run.loss[-1] < 0.5 * run.loss[0])
True
>>> comp = D.train_compressed(prob, step=step, max_iter=200)
>>> bool(np.max(np.abs(comp.loss - run.loss)) <= D.CURVE_TOL * run.loss[0])
True
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

import reparam as rp

from ..objectives import Factorization, MatrixCompletion
from ..parametrizations import DeepProduct, Parametrization

__all__ = [
    "CURVE_TOL",
    "SPREAD_TOL",
    "Compressed",
    "Problem",
    "Run",
    "completion_problem",
    "compress",
    "edge_of_stability",
    "factorization_problem",
    "tail_spread",
    "train_compressed",
    "train_full",
]

SPREAD_TOL = 1e-8
CURVE_TOL = 1e-6


@dataclass
class Problem:
    """A rank-``rank`` target ``Phi``, its objective, the test mask (completion) and the
    initial layers ``params0`` of a depth-``depth`` factorization."""

    Phi: np.ndarray
    objective: object
    rank: int
    depth: int
    init_scale: float
    params0: tuple
    test_mask: np.ndarray | None = None

    def test_error(self, X) -> float:
        """``‖P(X − Φ)‖_F / ‖P Φ‖_F`` on the unobserved entries (all entries for factorization)."""
        mask = np.ones(self.Phi.shape, bool) if self.test_mask is None else self.test_mask
        return float(np.linalg.norm((X - self.Phi)[mask]) / np.linalg.norm(self.Phi[mask]))


def _target(d: int, rank: int, rng) -> np.ndarray:
    # singular values 1 … 2 on random orthonormal singular vectors
    U = np.linalg.qr(rng.standard_normal((d, rank)))[0]
    V = np.linalg.qr(rng.standard_normal((d, rank)))[0]
    return (U * np.linspace(2.0, 1.0, rank)) @ V.T


def edge_of_stability(Phi, depth: int) -> float:
    """``2 / λ``, ``λ = depth · σ₁(Φ)^{2 − 2/depth}``: the largest step at which gradient descent
    on ``½‖W_L ⋯ W_1 − Φ‖²_F`` can converge to a balanced global minimum.

    ``λ`` is the top Hessian eigenvalue there (the direction that scales every layer's top
    singular value together: ``L`` terms ``σ₁^{2(L−1)/L}``). Above ``2/λ`` the top singular value
    oscillates instead of converging, and chaotic oscillations amplify rounding errors, so two
    computations of the same dynamics (the full and the compressed network) part ways.

    Examples
    --------
    >>> import numpy as np
    >>> round(edge_of_stability(np.diag([2.0, 1.0]), depth=3), 4)
    0.2646
    """
    depth = int(depth)
    top = float(np.linalg.norm(np.asarray(Phi, dtype=float), 2))
    return 2.0 / (depth * top ** (2.0 - 2.0 / depth))


def _layers(d, depth, init_scale, rng, init):
    return DeepProduct(depth, width=d).init((d, d), init_scale, rng, kind=init)


def factorization_problem(d: int = 50, rank: int = 3, depth: int = 3, init_scale: float = 1e-1,
                          init: str = "orthogonal", seed=0) -> Problem:
    """``½‖W_L ⋯ W_1 − Φ‖²_F`` with ``Φ`` of rank ``rank`` (singular values 2 … 1),
    layers of scale ``init_scale`` (``init``: "orthogonal" or "gaussian", entries
    ``N(0, init_scale²)``)."""
    rng = np.random.default_rng(seed)
    Phi = _target(d, rank, rng)
    return Problem(Phi, Factorization(Phi), rank, depth, init_scale,
                   _layers(d, depth, init_scale, rng, init))


def completion_problem(d: int = 200, rank: int = 10, observed: float = 0.2, depth: int = 3,
                       init_scale: float = 1e-3, seed=0) -> Problem:
    """Deep matrix completion as in the paper: ``Φ`` of rank ``rank`` (singular values 2 … 1),
    a fraction ``observed`` of entries seen, the rest the test set, orthogonal layers of scale
    ``init_scale``."""
    rng = np.random.default_rng(seed)
    Phi = _target(d, rank, rng)
    mask = rng.random((d, d)) < observed
    return Problem(Phi, MatrixCompletion(Phi, mask), rank, depth, init_scale,
                   _layers(d, depth, init_scale, rng, "orthogonal"), test_mask=~mask)


def tail_spread(Ws, rank: int) -> float:
    """How far the layers are from having ``d − 2 rank`` equal singular values: ``max_l`` of the
    smallest relative spread ``(s_k − s_{k+d−2r−1}) / s_k`` over windows of ``d − 2r``
    consecutive sorted singular values (0 when ``d − 2r`` of them are equal, wherever they sit
    among the others: the ``2r`` learned ones may grow above or shrink below the common one).

    Examples
    --------
    >>> import numpy as np
    >>> tail_spread((np.diag([3.0, 1.0, 1.0, 0.5]),), rank=1)
    0.0
    >>> round(tail_spread((np.diag([3.0, 1.0, 0.9, 0.5]),), rank=1), 12)
    0.1
    """
    worst = 0.0
    for W in Ws:
        s = np.linalg.svd(W, compute_uv=False)
        n = s.size - 2 * rank
        if n < 2:
            continue
        gaps = (s[: s.size - n + 1] - s[n - 1:]) / np.maximum(s[: s.size - n + 1],
                                                               np.finfo(float).tiny)
        worst = max(worst, float(np.min(gaps)))
    return worst


class Compressed(Parametrization):
    """``X = W̃_L ⋯ W̃_1 + (a_L ⋯ a_1) C``: a deep linear network of width ``k`` (``W̃_1`` of
    shape (k, d2), inner layers (k, k), ``W̃_L`` of shape (d1, k)) and one scalar ``a_l`` per
    layer carrying the fixed complement ``C`` (see :func:`compress`); parameters ``(*W̃, a)``."""

    commuting = False
    signed = True

    def __init__(self, C, depth: int):
        self.C = C
        self._deep = DeepProduct(depth)

    def forward(self, params):
        *Ws, a = params
        return self._deep.forward(Ws) + np.prod(a) * self.C

    def vjp(self, params, g):
        *Ws, a = params
        others = np.array([np.prod(np.delete(a, i)) for i in range(a.size)])
        return (*self._deep.vjp(Ws, g), float(np.vdot(g, self.C)) * others)


def compress(prob: Problem, width: int | None = None, first_gradient=None):
    """The compressed factorization of ``prob`` and its initial layers.

    ``V`` spans the top-``r`` right singular vectors of ``X(0) − G``, ``G = ∇f(X(0))`` the first
    gradient, and the pull-back ``X(0)ᵀ u`` of its top-``r`` left ones (orthonormalized:
    ``width = 2r``); for factorization ``X(0) − G = Φ`` exactly, for completion its top
    subspaces estimate ``Φ``'s (a spectral initialization);
    the layer bases follow the initial layers, ``V_{l+1} = orth(W_l(0) V_l)``, and
    ``W̃_l(0) = V_{l+1}ᵀ W_l(0) V_l`` (``= ε I`` for an orthogonal initialization); the
    complement ``X(0)(I − V Vᵀ)`` is carried by the scalars ``ρ_l(0) = ε``, as in the theorem
    (for matrix factorization this is the full network's dynamics exactly).
    ``first_gradient`` replaces ``∇f(X(0))`` (to see what a wrong subspace does).
    """
    r, eps = prob.rank, prob.init_scale
    width = 2 * r if width is None else int(width)
    Ws0 = prob.params0
    X0 = DeepProduct(len(Ws0)).forward(Ws0)
    # X(0) − ∇f(X(0)) is Φ for factorization, P_Ω(Φ) + P_Ωᶜ(X(0)) for completion
    G = prob.objective.grad(X0) if first_gradient is None else np.asarray(first_gradient)
    u, _, vt = np.linalg.svd(X0 - G)
    V = np.linalg.qr(np.hstack([vt[:r].T, X0.T @ u[:, :r]]))[0][:, :width]
    bases, small = [V], []
    for W in Ws0:
        bases.append(np.linalg.qr(W @ bases[-1])[0])
    L = len(Ws0)
    # width-2r layers: W̃_1 = V_2ᵀ W_1 (2r × d), W̃_l = V_{l+1}ᵀ W_l V_l, W̃_L = W_L V_L (d × 2r)
    for i, W in enumerate(Ws0):
        left = W if i == L - 1 else bases[i + 1].T @ W
        small.append(left if i == 0 else left @ bases[i])
    # the complement of an orthogonal initialization: ε^L O_{L:1} on S (d − 2r dimensions), as
    # a_L ⋯ a_1 C. The layer-l block ρ_l Q_l has ‖Q_l‖²_F = d − 2r, so gradient descent on the
    # block moves ρ_l (d − 2r) times slower than on a bare scalar: the parameter is
    # a_l = √(d − 2r) ρ_l, with C divided by (d − 2r)^{L/2} to match.
    n = X0.shape[1] - V.shape[1]
    C = (X0 - X0 @ V @ V.T) / (eps * np.sqrt(n)) ** L
    return Compressed(C, L), (*small, np.full(L, eps * np.sqrt(n)))


@dataclass
class Run:
    """A training run: ``loss``, ``spread`` (full network only), ``test_error`` per iteration,
    wall-clock ``seconds`` (training only), ``result`` of :func:`reparam.train`, ``reached``:
    whether it stopped at the requested test error."""

    loss: np.ndarray
    spread: np.ndarray | None
    test_error: np.ndarray
    seconds: float
    result: object
    reached: bool


def _train(prob, param, params0, step, max_iter, target, spread):
    record = ["objective"]
    if spread:
        def spread_(params, x):
            return tail_spread(params, prob.rank)
        spread_.__name__ = "spread"
        record.append(spread_)
    errors = []

    def stop(state) -> bool:
        errors.append(prob.test_error(state.x))
        return target is not None and errors[-1] <= target

    t0 = time.perf_counter()
    res = rp.train(prob.objective, param, init_scale=1.0, params0=params0, step=float(step),
                   tol=0.0, max_iter=int(max_iter), record=tuple(record), callback=stop)
    seconds = time.perf_counter() - t0
    reached = target is not None and bool(errors) and errors[-1] <= target
    return Run(res.history["objective"], res.history.get("spread"), np.asarray(errors),
               seconds, res, reached)


def train_full(prob: Problem, *, step: float, max_iter: int, target: float | None = None,
               spread: bool = True) -> Run:
    """Gradient descent on the full ``d × d`` layers (:func:`reparam.train` with
    :class:`~reparam.parametrizations.DeepProduct`), recording the loss and the tail spread;
    stops early once the test error is at most ``target``."""
    return _train(prob, DeepProduct(prob.depth, width=prob.Phi.shape[0]), prob.params0, step,
                  max_iter, target, spread)


def train_compressed(prob: Problem, *, step: float, max_iter: int,
                     target: float | None = None, first_gradient=None) -> Run:
    """Gradient descent on the compressed factorization of :func:`compress`."""
    param, params0 = compress(prob, first_gradient=first_gradient)
    return _train(prob, param, params0, step, max_iter, target, False)
