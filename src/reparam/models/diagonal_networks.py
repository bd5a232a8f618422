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
Information and Inference 13(3), iaae022 (2024), arXiv:2305.05448, write the weight vector in
polar coordinates — a magnitude and a unit direction — and run gradient flow on both with a
learning-rate ratio; they report that the sparse bias then persists at large initialization,
magnified by a factor that depends on that ratio, and that training converges faster. Here
(:func:`train` with ``network="normalized"``, :func:`_polar_descent`) the whole weight vector
``w = (u, v)`` (or ``w`` of the positive network ``x = w^L``, ``model="positive"``) is
``r·s`` with ``‖s‖₂ = 1``, trained by gradient descent on ``(r, s)`` with the dimensionless
ratio ``κ = η_s r0² / η_r`` (:data:`KAPPA`), started at the plain network's weights. At
``L = 2`` its limit is exactly the plain network's predicted limit at an *effective* init
scale (recorded as ``effective_scale``), and the common factor that separates the two flows
integrates in closed form: ``α_eff = α √(ρ e^{−κ(ρ−1)})`` with ``ρ = r∞²/r0²`` the growth
of the magnitude (:func:`effective_scale_law`). The factor ``ρ e^{−κ(ρ−1)}`` magnifies the
bias when the direction is fast (``κ > 1``) and the magnitude grows; but from
``u0 = v0 = α·1`` (``x0 = 0``) the law forces ``ρ ≥ 1`` and ``r∞² ≤ 2nα_eff² + ‖x∞‖₁``,
which bounds the effective scale below by ``√(α² − ‖x∞‖₁/(2n))`` whatever the ratio
(:func:`effective_scale_floor`): from a large init (``2nα² ≫ ‖x∞‖₁``) the fit is lazy and
the normalized network ends where the plain one does (:func:`kappa_sweep` measures it over
``κ`` and ``α``, at depths 2 and 3, for both polar forms). From the positive network's
overshooting start ``x0 = α²·1`` with the magnitude faster (``κ < 1``, ``ρ < 1``) the
scale shrinks, but not to the rich regime. :class:`WeightNormalizedDifference` is the variant
with one magnitude and one direction per layer vector (``network="normalized-layers"``).

The claim checked (:func:`sweep`, the experiment ``diagonal-networks``): on a seeded
underdetermined sparse problem, the plain network's ‖x∞‖₁ moves away from the minimum-ℓ1
value as ``α`` grows to 1, while the weight-normalized one stays within ``TOL = 5%`` of it at
``α = 1`` and converges in fewer iterations than the plain one there. Runs use steps below
each network's curvature (so that they follow the flow the predicted limit describes) and
stop on the certificate ``tol``; a run at ``max_iter`` counts as no evidence.

Examples
--------
>>> import numpy as np
>>> from reparam.models import diagonal_networks as dn
>>> A, b, x_true = dn.problem(m=8, n=20, sparsity=2, seed=0)
>>> p = dn.WeightNormalizedDifference(depth=2)
>>> r, D = p.init(20, 0.5)
>>> u, v = p.weights((r, D))                     # the same weights as the plain network's
>>> bool(np.allclose(u, 0.5) and np.allclose(v, 0.5)), float(np.abs(p.forward((r, D))).max())
(True, 0.0)
>>> run = dn.train(A, b, "plain", init_scale=0.3, depth=2, max_iter=20_000)
>>> run.converged, bool(np.allclose(A @ run.x, b, atol=1e-5))
(True, True)
>>> wn = dn.train(A, b, "normalized", init_scale=0.3, max_iter=20_000)
>>> wn.converged, bool(wn.effective_scale < 0.3)       # the polar form shrinks the scale
(True, True)
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

import reparam as rp
from reparam.implicit_bias import l1_limit, limit
from reparam.objectives import LeastSquares
from reparam.parametrizations import Difference, Domain, Parametrization, Power

__all__ = ["KAPPA", "RATIO", "TOL", "NetworkRun", "WeightNormalizedDifference",
           "effective_scale_floor", "effective_scale_law", "kappa_sweep", "problem", "sweep",
           "train"]

# The claim's tolerance, fixed before any run: the weight-normalized network's ‖x∞‖₁ at init
# scale 1 within 5% of the minimum-ℓ1 value (the plain network at small α gets within ~1%).
TOL = 0.05
# The plain runs must match the predicted limit of the flow to 2% in ‖x∞‖₁ (relative to the
# minimum-ℓ1 value): the fixed step of ``_STEP_FRACTION`` of the inverse curvature keeps the
# discrete path within ~0.5% of the flow's limit on the problems of the experiment.
AGREE = 0.02
_STEP_FRACTION = 0.5
# The learning-rate ratio η_d / η_r (direction over magnitude) of the per-layer variant.
RATIO = 10.0
# The polar form of the whole weight vector: the dimensionless learning-rate ratio
# κ = η_s r0² / η_r (κ = 1: the first step is the plain network's). The effective init scale
# of the flow shrinks only while κ r²/r0² > 1 and ⟨x, ∇f(x)⟩ < 0 (the signed network from
# x0 = 0 fits b from below) or κ r²/r0² < 1 and ⟨x, ∇f(x)⟩ > 0 (the positive network from
# x0 = α²·1 overshoots b): the default κ of each model is on the shrinking side.
KAPPA = {"signed": 10.0, "positive": 0.1}
_MODELS = ("signed", "positive")


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
    r"""``x = u^L − v^L`` with each layer vector in polar form: ``u = r_u d_u``, ``v = r_v d_v``.

    Parameters are ``(r, D)``: ``r = (r_u, r_v)`` of shape (2,), the magnitudes (Euclidean
    norms) of the two layer vectors, and ``D`` of shape (2, n), their unit directions (rows
    on the sphere). A trailing axis of ``k`` columns (``r`` of shape (2, k), ``D`` of shape
    (2, n, k)) holds ``k`` networks at once. This is the weight normalization of Chou, Rauhut
    & Ward (arXiv:2305.05448, 2023), after Salimans & Kingma (NeurIPS 2016): one magnitude
    and one unit direction per weight vector, trained by gradient descent on both with a
    learning-rate ratio ``ratio = η_d / η_r`` (direction over magnitude; see :func:`train`).

    :meth:`vjp` returns the gradient in ``r`` and the Riemannian gradient in ``D`` (the
    Euclidean one projected on the tangent space of the sphere), the direction the descent
    of :func:`train` takes before it maps ``D``'s rows back to the sphere.

    Parameters
    ----------
    depth : int, default 2
        ``L ≥ 2``.

    Examples
    --------
    >>> import numpy as np
    >>> p = WeightNormalizedDifference(depth=3)
    >>> r, D = p.init(4, 0.2)                         # u0 = v0 = 0.2·1, x0 = 0
    >>> u, v = p.weights((r, D))
    >>> np.round(u, 12), float(np.linalg.norm(D[0])), float(r[0])
    (array([0.2, 0.2, 0.2, 0.2]), 1.0, 0.4)
    """

    commuting = False
    signed = True
    domain = Domain(description="R^n (signed)")

    def __init__(self, depth: int = 2):
        self.depth = _check_depth(depth)

    def __repr__(self) -> str:
        return f"WeightNormalizedDifference(depth={self.depth})"

    @staticmethod
    def _parts(params):
        r, D = params
        r = np.asarray(r, dtype=float)
        D = np.asarray(D, dtype=float)
        if r.shape[:1] != (2,) or D.shape[:1] != (2,) or D.ndim != r.ndim + 1 \
                or D.shape[2:] != r.shape[1:]:
            raise ValueError(f"parameters must be (r of shape (2,), D of shape (2, n)), with "
                             f"the same trailing columns; got shapes {r.shape} and {D.shape}")
        return r, D

    def weights(self, params) -> tuple[np.ndarray, np.ndarray]:
        """The network's weights ``(u, v) = (r_u d_u, r_v d_v)``."""
        r, D = self._parts(params)
        return r[0] * D[0], r[1] * D[1]

    def forward(self, params):
        u, v = self.weights(params)
        return u ** self.depth - v ** self.depth

    def vjp(self, params, g):
        r, D = self._parts(params)
        L = self.depth
        u, v = r[0] * D[0], r[1] * D[1]
        g = np.asarray(g, dtype=float)
        G = np.stack([L * u ** (L - 1) * g, -L * v ** (L - 1) * g])  # ∇_u, ∇_v
        grad_r = np.sum(D * G, axis=1)                                 # ⟨d, ∇_w⟩
        grad_D = r[:, None] * (G - grad_r[:, None] * D)                # tangent part of r∇_w
        return grad_r, grad_D

    def initial_u(self, x0=None, init_scale=None, n=None):
        raise ValueError("WeightNormalizedDifference parameters are (r, D): use "
                         "init(n, init_scale)")

    def init(self, shape, init_scale, rng=None, kind: str = "identical"):
        """``u0 = v0 = init_scale·1`` (the plain network's start, ``x0 = 0``): ``d = 1/√n``,
        ``r = init_scale·√n``; ``kind="gaussian"``: |N(0, 1)| directions, the same ``r``."""
        dims = np.atleast_1d(shape)
        n = int(dims[0])
        if len(dims) != 1 or n < 1:
            raise ValueError(f"WeightNormalizedDifference takes x of shape (n,); got {shape}")
        alpha = _check_positive("init_scale", init_scale)
        if kind == "identical":
            D = np.full((2, n), 1.0 / np.sqrt(n))
        elif kind == "gaussian":
            D = np.abs(np.random.default_rng(rng).standard_normal((2, n)))
            D /= np.linalg.norm(D, axis=1, keepdims=True)
        else:
            raise ValueError(f"kind must be 'identical' or 'gaussian'; got {kind!r}")
        return np.full(2, alpha * np.sqrt(n)), D


def problem(m: int = 20, n: int = 100, sparsity: int = 3, *, seed: int = 0,
            nonnegative: bool = False):
    """A seeded sparse regression ``(A, b, x_true)``: ``A`` with N(0, 1/m) entries, ``x_true``
    with ``sparsity`` N(0, 1) entries (their absolute values if ``nonnegative``) scaled to unit
    norm, ``b = A x_true``."""
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
    if nonnegative:
        x = np.abs(x)
    x /= np.linalg.norm(x)
    return A, A @ x, x


@dataclass
class NetworkRun:
    """One training run: ``x``, ``l1 = ‖x‖₁``, ``n_iter``, ``converged`` (stopped by the
    certificate, not by ``max_iter``), ``step`` and the recorded ``l1_path`` (‖x_t‖₁);
    ``growth`` (‖w∞‖² / ‖w0‖² of a weight-normalized run) and ``effective_scale`` (the init
    scale of the plain network whose predicted limit the run's limit is, at ``L = 2`` for the
    polar form of the whole weight vector; see :func:`_polar_descent`)."""

    x: np.ndarray
    l1: float
    n_iter: int
    converged: bool
    step: float
    status: str
    l1_path: np.ndarray = field(default_factory=lambda: np.zeros(0))
    growth: float = float("nan")
    effective_scale: float = float("nan")


def _l1(params, x):
    return float(np.abs(x).sum())


def _step(A, depth: int, init_scale: float) -> float:
    """The plain network's fixed step: ``_STEP_FRACTION`` of the inverse curvature
    ``L²‖A‖² max(1, α)^{2L−2}`` of ``f(u^L − v^L)`` along a path with weights ≤ max(1, α)."""
    curv = depth ** 2 * np.linalg.norm(A, 2) ** 2 * max(1.0, init_scale) ** (2 * depth - 2)
    return _STEP_FRACTION / curv


class _Runs:
    """Bookkeeping of k gradient-descent runs side by side (one column each): the stopping
    rule (the domain's certificate at ``tol``), statuses, iteration counts, the first step and
    the path of ‖x‖₁."""

    def __init__(self, A, b, k: int):
        self.A, self.b = A, b
        self.col_norms = np.linalg.norm(A, axis=0)
        self.rhs = max(float(np.linalg.norm(b)), np.finfo(float).tiny)
        self.active = np.ones(k, dtype=bool)
        self.n_iter = np.zeros(k, dtype=int)
        self.status = np.array(["MAX_ITER"] * k, dtype=object)
        self.first_step = None
        self.paths = []

    def check(self, x, params, domain, tol: float):
        """Record ‖x‖₁, stop the converged and the non-finite runs; return the gradient in x."""
        self.paths.append(np.abs(x).sum(axis=0))
        g = self.A.T @ (self.A @ x - self.b[:, None])
        cert = domain.certificate(x, g, self.col_norms, self.rhs, axis=0)
        bad = self.active & ~(np.isfinite(cert) & np.all(np.isfinite(params), axis=0))
        self.status[bad] = "NUMERICAL_ERROR"
        done = self.active & (cert <= tol)
        self.status[done] = "CONVERGED"
        self.active &= ~(done | bad)
        return g

    def masked(self, eta):
        """The steps of this iteration, zero for stopped runs (counts the iteration)."""
        eta = np.where(self.active, eta, 0.0)
        if self.first_step is None:
            self.first_step = eta.copy()
        self.n_iter += self.active
        return eta

    def results(self, x, growth, effective=None) -> list[NetworkRun]:
        k = x.shape[1]
        first = self.first_step if self.first_step is not None else np.zeros(k)
        path = np.asarray(self.paths)
        extra = [() if effective is None else (float(effective[j]),) for j in range(k)]
        return [NetworkRun(x[:, j].copy(), float(np.abs(x[:, j]).sum()), int(self.n_iter[j]),
                           self.status[j] == "CONVERGED", float(first[j]), str(self.status[j]),
                           path[: self.n_iter[j] + 1, j].copy(), float(growth[j]), *extra[j])
                for j in range(k)]


def _polar_descent(A, b, scales, depth: int, model: str, kappa: float, max_iter: int,
                   tol: float) -> list[NetworkRun]:
    r"""Gradient descent on the polar coordinates of the whole weight vector, one column per
    initial scale, each stopping on its own certificate.

    The weight vector ``w`` is ``(u, v) ∈ R^{2n}`` of ``x = u^L − v^L`` (``model="signed"``)
    or ``w ∈ R^n`` of ``x = w^L`` (``"positive"``), started at ``w0 = α·1``; it is written
    ``w = r s`` with ``r = ‖w‖₂`` and ``‖s‖₂ = 1`` (Chou, Rauhut & Ward: "the weight vector is
    reparameterized in terms of polar coordinates, and gradient flow is applied to the polar
    coordinates"). One step: ``r ← r − η_r ∂_r f``, ``s ← normalize(s − η_s P_s ∇_s f)`` with
    ``P_s`` the projection on the tangent space of the sphere and ``η_s / η_r = κ / r0²``.
    In ``w`` the flow is ``w' = −(η_r ssᵀ + η_s r² (I − ssᵀ)) ∇_w f``: at ``κ = 1`` the first
    step is the plain network's.

    At ``L = 2`` the flow keeps the plain network's structure up to one common factor:
    ``d/dt log w_i = ∓2 η_s r² g_i − 2 (η_r / r² − η_s) ⟨x, g⟩`` (``g = ∇f(x)``), the last
    term the same for every ``i``. So ``u_i v_i = β(t)`` stays equal over ``i`` (signed) and
    ``log w_i − log α ∈ range(Aᵀ) + c(t)·1`` (positive): the limit satisfies the optimality
    conditions of the plain network's predicted limit at the effective init scale
    ``√β∞`` (signed) or ``α e^{c∞}`` (positive), recorded as ``effective_scale`` (for the
    positive model ``c∞`` is the coefficient of ``1`` in the least-squares fit of
    ``log(w∞/α)`` by ``[Aᵀ, 1]``). The scale shrinks (the bias to the minimum ℓ1 grows) only
    when ``(η_r / r² − η_s) ⟨x, g⟩ > 0`` along the path.

    Written here rather than through :func:`reparam.train` because the engine takes one step
    for every parameter and cannot map the direction back to the sphere. The common step is
    recomputed at every iteration: ``η_r = _STEP_FRACTION / (L²‖A‖² max(1, max_i |w_i|)^{2L−2}
    · max(1, ratio·r²))``, the plain network's step (:func:`_step`, with the current weights
    in place of ``α``) cut so that neither coordinate moves ``x`` faster than it; scaling both
    learning rates by one factor keeps their ratio, hence the flow.
    """
    from reparam.domains import Free, Orthant

    L = depth
    n = A.shape[1]
    signed = model == "signed"
    k = len(scales)
    alphas = np.asarray(scales, dtype=float)
    N = 2 * n if signed else n
    w = np.tile(alphas, (N, 1))                                     # (N, k)
    ratio = kappa / (N * alphas ** 2)                               # η_s / η_r = κ / r0²
    domain = Free() if signed else Orthant()
    lip = L * L * np.linalg.norm(A, 2) ** 2
    runs = _Runs(A, b, k)

    def forward(w):
        return w[:n] ** L - w[n:] ** L if signed else w ** L

    for it in range(max_iter + 1):
        x = forward(w)                                              # (n, k)
        g = runs.check(x, w, domain, tol)
        if not runs.active.any() or it == max_iter:
            break
        G = L * w ** (L - 1) * (np.concatenate([g, -g]) if signed else g)
        r = np.linalg.norm(w, axis=0)
        s = w / r
        grad_r = np.sum(s * G, axis=0)
        grad_s = r * (G - grad_r * s)
        curv = np.maximum(1.0, np.max(np.abs(w), axis=0)) ** (2 * L - 2)
        eta = _STEP_FRACTION / (lip * curv * np.maximum(1.0, ratio * r * r))
        eta = runs.masked(eta)
        r = r - eta * grad_r
        s = s - (ratio * eta) * grad_s
        s = s / np.linalg.norm(s, axis=0)
        w = r * s
    x = forward(w)
    growth = np.sum(w * w, axis=0) / (N * alphas ** 2)
    effective = np.full(k, np.nan)
    if L == 2 and signed:
        effective = np.sqrt(np.mean(w[:n] * w[n:], axis=0))
    elif L == 2:
        with np.errstate(divide="ignore"):
            logs = np.log(w / alphas)
        ok = np.all(np.isfinite(logs), axis=0)
        if ok.any():
            basis = np.column_stack([A.T, np.ones(n)])
            coef = np.linalg.lstsq(basis, logs[:, ok], rcond=None)[0]
            effective[ok] = alphas[ok] * np.exp(coef[-1])
    return runs.results(x, growth, effective)


def _descend_layers(A, b, scales, depth: int, ratio, max_iter: int,
                    tol: float) -> list[NetworkRun]:
    r"""Gradient descent on the per-layer polar coordinates of
    :class:`WeightNormalizedDifference`, one column per initial scale, each stopping on its own certificate.

    One step: ``r ← r − η ∂_r f``, ``D ← normalize(D − ratio·η grad_D f)`` (the rows mapped back
    to the sphere); ``ratio`` is a number or one per column. Written here rather than through :func:`reparam.train` because the engine
    takes one step for every parameter and cannot map the directions back to the sphere.

    The common step ``η`` is recomputed at every iteration so that both coordinates move
    ``x`` no faster than the plain network's fixed step does: in ``x``, the magnitude moves
    at rate ``η`` and the direction at rate ``ratio·η·r²`` times the plain network's
    ``L² u^{2L−2}``, so ``η = _STEP_FRACTION / (L²‖A‖² max(1, max_i(u_i^{2L−2} + v_i^{2L−2}))
    · max(1, ratio·r_u², ratio·r_v²))``. Scaling both learning rates by the same factor keeps
    their ratio, hence the path of the gradient flow the discrete steps follow.
    """
    from reparam.domains import Free

    p = WeightNormalizedDifference(depth)
    L = depth
    n = A.shape[1]
    k = len(scales)
    alphas = np.asarray(scales, dtype=float)
    ratio = np.broadcast_to(np.asarray(ratio, dtype=float), (k,))
    r = np.tile(alphas * np.sqrt(n), (2, 1))                        # (2, k)
    D = np.full((2, n, k), 1.0 / np.sqrt(n))
    lip = L * L * np.linalg.norm(A, 2) ** 2
    runs = _Runs(A, b, k)
    for it in range(max_iter + 1):
        x = p.forward((r, D))                                       # (n, k)
        g = runs.check(x, r, Free(), tol)
        if not runs.active.any() or it == max_iter:
            break
        u, v = p.weights((r, D))
        w = np.maximum(1.0, np.max(u ** (2 * L - 2) + v ** (2 * L - 2), axis=0))
        eta = _STEP_FRACTION / (lip * w * np.maximum(1.0, ratio * np.max(r * r, axis=0)))
        eta = runs.masked(eta)
        grad_r, grad_D = p.vjp((r, D), g)
        r = r - eta * grad_r
        D = D - (ratio * eta) * grad_D
        D = D / np.linalg.norm(D, axis=1, keepdims=True)
    x = p.forward((r, D))
    growth = np.sum(r * r, axis=0) / (2 * n * alphas ** 2)  # ‖(u∞, v∞)‖² / ‖(u0, v0)‖²
    return runs.results(x, growth)


def effective_scale_law(init_scale: float, growth: float, kappa: float) -> float:
    r"""The effective init scale of the polar form of the whole weight vector at ``L = 2``:
    ``α_eff = α √(ρ e^{−κ(ρ−1)})`` with ``ρ = r∞²/r0²`` (the magnitude's growth) and
    ``κ = η_s r0²/η_r``.

    Derivation (gradient flow, constant ``η_r`` and ``η_s``; any common time change, such as
    the step rule of :func:`_polar_descent`, leaves it unchanged). With ``w = r s`` and
    ``g = ∇f(x)``: ``r r' = −2η_r⟨x, g⟩`` and, for each coordinate of the direction,
    ``(log s_i)' = ∓2η_s r² g_i + 2η_s⟨x, g⟩``. The last term is common to every coordinate
    and integrates exactly: ``2η_s∫⟨x, g⟩ = −(η_s/2η_r)(r² − r0²)``. So ``u_i v_i =
    (r²/2n)·e^{−(η_s/η_r)(r² − r0²)}`` for every ``i`` (signed model, ``s0 = 1/√(2n)``) and
    ``log(w_i/α) ∈ range(Aᵀ) + log(√ρ e^{−κ(ρ−1)/2})`` (positive model): the limit is the
    plain network's predicted limit at ``α_eff``. The factor ``ρ e^{−κ(ρ−1)}`` magnifies the
    bias (``α_eff < α``) only when the direction is fast enough (``κ > 1``) and the magnitude
    grows (``ρ > 1``), or when the magnitude shrinks (``ρ < 1``, positive model).

    Examples
    --------
    >>> round(effective_scale_law(1.0, 1.0, 10.0), 12)      # the magnitude did not move
    1.0
    >>> round(effective_scale_law(0.1, 2.0, 10.0) / 0.1, 6)  # √(2 e^{−10})
    0.009529
    """
    alpha = _check_positive("init_scale", init_scale)
    rho = _check_positive("growth", growth)
    kappa = _check_positive("kappa", kappa)
    return float(alpha * np.sqrt(rho) * np.exp(-0.5 * kappa * (rho - 1.0)))


def effective_scale_floor(init_scale: float, l1: float, n: int) -> float:
    r"""The smallest effective init scale the polar form of ``w = (u, v)`` can reach at
    ``L = 2`` from ``u0 = v0 = α·1`` (``x0 = 0``), whatever the learning-rate ratio:
    ``α_eff ≥ √(max(α² − ‖x∞‖₁/(2n), 0))``.

    Proof: at the limit ``u_i v_i = α_eff²`` and ``u_i² − v_i² = x_i``, so
    ``r∞² = Σ √(x_i² + 4α_eff⁴) ≥ 2nα_eff²``. With :func:`effective_scale_law`,
    ``α_eff² = (r∞²/2n) e^{−κ(ρ−1)} ≤ (r∞²/2n)`` forces ``e^{−κ(ρ−1)} ≤ 1``, i.e. ``ρ ≥ 1``:
    the magnitude cannot end below its start. Then ``α_eff² = r∞²/2n·e^{−κ(ρ−1)}`` and
    ``r∞² − 2nα_eff² = Σ(√(x_i² + 4α_eff⁴) − 2α_eff²) ≤ ‖x∞‖₁`` give ``2nα² ≤ r∞² ≤
    2nα_eff² + ‖x∞‖₁``. At a large init (``2nα² ≫ ‖x∞‖₁``, the lazy regime) the polar form
    cannot shrink the scale: its limit is the plain network's.

    Examples
    --------
    >>> round(effective_scale_floor(1.0, 4.0, 100), 6)        # √(1 − 4/200)
    0.989949
    >>> effective_scale_floor(0.1, 4.0, 100)                  # small α: no floor
    0.0
    """
    alpha = _check_positive("init_scale", init_scale)
    if isinstance(l1, bool) or not isinstance(l1, numbers.Real) or not l1 >= 0:
        raise ValueError(f"l1 must be a non-negative real number, got {l1!r}")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return float(np.sqrt(max(alpha * alpha - float(l1) / (2 * n), 0.0)))


def _check_model(model) -> str:
    if model not in _MODELS:
        raise ValueError(f"model must be one of {_MODELS}; got {model!r}")
    return model


def _plain_param(model: str, depth: int):
    return Difference(depth) if model == "signed" else Power(depth)


def train(A, b, network: str = "plain", *, init_scale: float, depth: int = 2,
          model: str = "signed", kappa: float | None = None, ratio: float | None = None,
          max_iter: int = 100_000, tol: float = 1e-7) -> NetworkRun:
    """Gradient descent on the plain network (``"plain"``), on the polar form of its whole
    weight vector (``"normalized"``) or on the per-layer polar form (``"normalized-layers"``,
    signed model only), from ``w0 = init_scale·1``.

    ``model="signed"``: ``x = u^L − v^L``, ``u0 = v0 = init_scale·1`` (``x0 = 0``);
    ``"positive"``: ``x = w^L``, ``x0 = init_scale^L·1``. The plain network runs through
    :func:`reparam.train` with a fixed step (see :func:`_step`); ``"normalized"`` by
    :func:`_polar_descent` (learning-rate ratio ``kappa = η_s r0² / η_r``, default
    ``KAPPA[model]``); ``"normalized-layers"`` by :func:`_descend_layers` (one magnitude
    and one direction per layer vector, ``ratio = η_d / η_r``, default :data:`RATIO`). All
    stop when the certificate of the model's domain (ℝⁿ or the orthant; scaled by the column
    norms of A and ‖b‖) is ≤ ``tol``; ‖x_t‖₁ is recorded at every step.
    """
    if network not in ("plain", "normalized", "normalized-layers"):
        raise ValueError("network must be 'plain', 'normalized' or 'normalized-layers'; got "
                         f"{network!r}")
    model = _check_model(model)
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    alpha = _check_positive("init_scale", init_scale)
    depth = _check_depth(depth)
    if network == "normalized":
        kappa = KAPPA[model] if kappa is None else _check_positive("kappa", kappa)
        return _polar_descent(A, b, [alpha], depth, model, kappa, max_iter, tol)[0]
    if network == "normalized-layers":
        if model != "signed":
            raise ValueError("network='normalized-layers' takes model='signed'")
        ratio = RATIO if ratio is None else _check_positive("ratio", ratio)
        return _descend_layers(A, b, [alpha], depth, ratio, max_iter, tol)[0]
    n = A.shape[1]
    step = _step(A, depth, alpha)
    param = _plain_param(model, depth)
    params0 = param.initial_u(init_scale=alpha, n=n)
    res = rp.train(LeastSquares(A, b), param, init_scale=alpha, params0=params0, step=step,
                   max_iter=max_iter, tol=tol, record=(_l1,))
    return NetworkRun(np.asarray(res.x), float(np.abs(res.x).sum()), int(res.n_iter),
                      res.status is rp.Status.CONVERGED, step, res.status.name,
                      np.asarray(res.history["_l1"]))


def sweep(A, b, init_scales, *, depth: int = 2, model: str = "signed",
          kappa: float | None = None, ratio: float | None = None, layers: bool = False,
          max_iter: int = 100_000, tol: float = 1e-7) -> dict:
    """The plain and weight-normalized networks over ``init_scales`` with the plain network's
    predicted limit.

    Returns a table: ``init_scale``, ``model``, ``kappa``, ``min_l1`` (basis pursuit by HiGHS,
    over the orthant for the positive model), ``l1_plain``, ``l1_predicted`` (‖x‖₁ of
    :func:`reparam.implicit_bias.limit` for ``Difference(depth)`` or ``Power(depth)``),
    ``l1_normalized`` (polar form of the whole weight vector), ``iterations_plain``,
    ``iterations_normalized``, ``converged_plain``, ``converged_normalized``,
    ``deviation_plain`` (‖x_plain − x_predicted‖∞ / ‖x_predicted‖∞), ``magnitude_growth``
    (‖w∞‖² / ‖w0‖² of the normalized network), ``effective_scale`` and
    ``deviation_effective`` (the normalized run against the plain network's predicted limit
    at its effective init scale, ‖·‖∞ relative; ``L = 2``), the recorded ‖x_t‖₁ paths at the
    largest scale (``path_plain``, ``path_normalized``), and with ``layers=True`` (signed
    model) the per-layer variant's ``l1_layers``, ``iterations_layers``, ``converged_layers``.
    """
    scales = [_check_positive("init_scales", float(a)) for a in np.atleast_1d(init_scales)]
    model = _check_model(model)
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    depth = _check_depth(depth)
    kappa = KAPPA[model] if kappa is None else _check_positive("kappa", kappa)
    ratio = RATIO if ratio is None else _check_positive("ratio", ratio)
    if layers and model != "signed":
        raise ValueError("layers=True takes model='signed'")
    param = _plain_param(model, depth)
    bp = l1_limit(A, b, nonnegative=model == "positive")
    table: dict = {"init_scale": scales, "depth": int(depth), "model": model,
                   "kappa": float(kappa), "min_l1": float(bp.objective)}
    keys = ["l1_plain", "l1_predicted", "l1_normalized", "iterations_plain",
            "iterations_normalized", "converged_plain", "converged_normalized",
            "deviation_plain", "magnitude_growth", "effective_scale", "deviation_effective"]
    if layers:
        keys += ["l1_layers", "iterations_layers", "converged_layers"]
        table["ratio"] = float(ratio)
        per_layer = _descend_layers(A, b, scales, depth, ratio, max_iter, tol)
    for key in keys:
        table[key] = []
    normalized = _polar_descent(A, b, scales, depth, model, kappa, max_iter, tol)

    def rel(x, ref):
        return float(np.max(np.abs(x - ref)) / max(np.max(np.abs(ref)), 1e-300))

    for j, (alpha, wn) in enumerate(zip(scales, normalized)):
        plain = train(A, b, "plain", init_scale=alpha, depth=depth, model=model,
                      max_iter=max_iter, tol=tol)
        x_lim = limit(A, b, param, init_scale=alpha).x
        table["l1_plain"].append(plain.l1)
        table["l1_predicted"].append(float(np.abs(x_lim).sum()))
        table["l1_normalized"].append(wn.l1)
        table["iterations_plain"].append(plain.n_iter)
        table["iterations_normalized"].append(wn.n_iter)
        table["converged_plain"].append(plain.converged)
        table["converged_normalized"].append(wn.converged)
        table["deviation_plain"].append(rel(plain.x, x_lim))
        table["magnitude_growth"].append(wn.growth)
        table["effective_scale"].append(wn.effective_scale)
        dev = float("nan")
        if np.isfinite(wn.effective_scale) and wn.converged:
            dev = rel(wn.x, limit(A, b, param, init_scale=wn.effective_scale).x)
        table["deviation_effective"].append(dev)
        if layers:
            table["l1_layers"].append(per_layer[j].l1)
            table["iterations_layers"].append(per_layer[j].n_iter)
            table["converged_layers"].append(per_layer[j].converged)
    table["path_plain"] = plain.l1_path
    table["path_normalized"] = normalized[-1].l1_path
    return table


def kappa_sweep(A, b, init_scales, kappas, *, depth: int = 2, network: str = "normalized",
                max_iter: int = 100_000, tol: float = 1e-7) -> dict:
    """A weight-normalized network of the signed model over init scales × learning-rate
    ratios, every run reported (flagged when stopped at ``max_iter``).

    ``network="normalized"``: the polar form of the whole weight vector (:func:`_polar_descent`,
    ``κ = η_s r0²/η_r``); ``"normalized-layers"``: one magnitude and one direction per layer
    vector (:func:`_descend_layers`, with ``ratio = κ/(nα²)`` so that ``κ = η_d r_u0²/η_r``
    means the same there). Returns a table of rows (one per ``(κ, α)``): ``network``,
    ``depth``, ``min_l1``, and lists ``kappa``, ``init_scale``, ``l1``, ``gap``
    (``‖x∞‖₁/min ℓ1 − 1``), ``iterations``, ``converged``, ``growth`` (``ρ``),
    ``effective_scale`` (measured; ``L = 2``, whole vector), ``law``
    (:func:`effective_scale_law` at the measured ``ρ``) and ``floor``
    (:func:`effective_scale_floor`); ``law`` and ``floor`` are NaN where they do not apply.
    """
    if network not in ("normalized", "normalized-layers"):
        raise ValueError(f"network must be 'normalized' or 'normalized-layers'; got {network!r}")
    scales = [_check_positive("init_scales", float(a)) for a in np.atleast_1d(init_scales)]
    ks = [_check_positive("kappas", float(k)) for k in np.atleast_1d(kappas)]
    depth = _check_depth(depth)
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    n = A.shape[1]
    lp = float(l1_limit(A, b, nonnegative=False).objective)
    table: dict = {"network": network, "depth": depth, "min_l1": lp}
    keys = ("kappa", "init_scale", "l1", "gap", "iterations", "converged", "growth",
            "effective_scale", "law", "floor")
    for key in keys:
        table[key] = []
    whole = network == "normalized"
    for kappa in ks:
        if whole:
            runs = _polar_descent(A, b, scales, depth, "signed", kappa, max_iter, tol)
        else:
            ratios = kappa / (n * np.asarray(scales) ** 2)       # one per column
            runs = _descend_layers(A, b, scales, depth, ratios, max_iter, tol)
        for alpha, run in zip(scales, runs):
            exact = whole and depth == 2
            row = (kappa, alpha, run.l1, run.l1 / lp - 1.0, run.n_iter, run.converged,
                   run.growth, run.effective_scale,
                   effective_scale_law(alpha, run.growth, kappa) if exact else float("nan"),
                   effective_scale_floor(alpha, run.l1, n) if exact else float("nan"))
            for key, value in zip(keys, row):
                table[key].append(value)
    return table
