r"""Matrix sensing from a small random initialization: spectral learning, then a rank-r fit.

Stöger & Soltanolkotabi, "Small random initialization is akin to spectral learning: optimization
and generalization guarantees for overparameterized low-rank matrix reconstruction", NeurIPS
2021 (``X = U Uᵀ``); Soltanolkotabi, Stöger & Xie, "Implicit balancing and regularization:
generalization and convergence guarantees for overparameterized asymmetric matrix sensing",
COLT 2023 (``X = U Vᵀ``).

A rank-``r`` matrix ``X*`` (d × d) is seen through ``m`` Gaussian measurements
``y_i = ⟨A_i, X*⟩`` with fewer measurements than unknowns (``m < d²``), so interpolating
matrices abound. Gradient descent on the factors, of full width ``k = d`` (no rank is
assumed), from a random initialization of scale ``α``, first aligns the column space of ``U``
with the top-``r`` eigenspace of ``A*(y)`` (the spectral phase, a power method), then fits
``X*`` while the other ``d − r`` directions stay at the scale of the initialization.

The claims, and the thresholds :func:`check` applies:

1. **The error shrinks with α**: the least-squares slope of ``log ‖X_T − X*‖_F / ‖X*‖_F``
   against ``log α`` over at least three scales is at least :data:`SLOPE_MIN` (= 0.25; the
   papers bound the error by a positive power of α).
2. **Effective rank r**: from the first iteration at which ``σ_r(X_t)`` reaches half of
   ``σ_r(X*)`` until the run stops (at the error floor), ``σ_{r+1}(X_t) / σ_r(X_t)`` stays at
   most :data:`RANK_RATIO_MAX` (= 0.1) — at every scale of the sweep.
3. **Implicit balancing** (``U Vᵀ`` only): the imbalance ``‖UᵀU − VᵀV‖_F`` stays of order
   ``α²``. The gradient flow conserves ``UᵀU − VᵀV`` exactly, so the imbalance keeps its
   initial value, about ``√(2d) (k/d) α²`` with the initialization below. A gradient step of
   size ``η`` adds ``η² (VᵀGᵀGV − UᵀGGᵀU)`` (``G = ∇f(X)``), a drift of about ``K η`` gathered
   while ``X`` grows to ``X*`` (linear in ``η``; ``K ≈ 0.01`` measured at ``d = 8``), so the
   ``α²`` law shows where ``K η`` is well below ``α²``. :func:`check_balance` judges it on a
   sweep of at least three scales (the experiment and the tests: ``η = 0.1``, ``α ∈ {0.1,
   0.05, 0.025}``): the least-squares slope of ``log max_t ‖U_tᵀU_t − V_tᵀV_t‖_F`` against
   ``log α`` is within :data:`IMBALANCE_SLOPE_TOL` (= 0.25) of 2, and ``max_t
   ‖U_tᵀU_t − V_tᵀV_t‖_F ≤ C √(2d) (k/d) α²`` with ``C =`` :data:`IMBALANCE_RATIO_MAX` (= 2,
   twice the typical start). Its control starts ``V`` at scale 1 (``v_init_scale=1``) while
   ``U`` starts at ``α``: the imbalance is then of order 1 and fails both parts. On the sweep
   of claim 1 (``α ≤ 1e-3``, ``η = 0.3``) the drift dominates ``α²`` (``max_t ‖UᵀU −
   VᵀV‖_F / α²`` is reported by :func:`check`, growing like ``1/α²``), and the
   factors stay balanced only relative to their size (:func:`balance`, reported).

The control is ``α = 1`` (factors as large as ``X*``): the low-rank bias is lost.

The initialization is ``U₀ = α G / √d`` (``G`` standard Gaussian, so ``‖U₀‖₂ ≈ α (1 +
√(k/d))``), and ``V₀`` likewise, independent. The claims are about the iterate at a fixed
time ``T``, once the fit is done: the relative residual ``‖A(X_T) − y‖ / ‖y‖`` is at most
:data:`FIT_TOL` (= 1e-2; a run without it is flagged, ``fitted = False``). Driving the residual
to zero takes far longer — the ``d − r`` small directions must grow from ``α`` to fit what is
left — and, in the overparametrized regime, is where the error may grow again: the papers'
guarantees are for such an early-stopped iterate.

Examples
--------
>>> from reparam.models import matrix_sensing as ms
>>> prob = ms.problem(dim=8, rank=1, measurements=48, seed=0)
>>> run = ms.run(prob, 1e-3, iterations=300)
>>> run.fitted, bool(run.error[-1] < 0.05), bool(ms.rank_ratio(run) < ms.RANK_RATIO_MAX)
(True, True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

import reparam as rp
from reparam._result import Result
from reparam.objectives import MatrixSensing
from reparam.parametrizations import Product, SymmetricProduct

__all__ = [
    "FIT_TOL",
    "IMBALANCE_RATIO_MAX",
    "IMBALANCE_SLOPE_TOL",
    "RANK_RATIO_MAX",
    "SLOPE_MIN",
    "SensingProblem",
    "SensingRun",
    "balance",
    "check",
    "check_balance",
    "problem",
    "rank_ratio",
    "run",
    "sweep",
]

SLOPE_MIN = 0.25
RANK_RATIO_MAX = 0.1
IMBALANCE_SLOPE_TOL = 0.25
IMBALANCE_RATIO_MAX = 2.0
# The fit of X* is done once the relative residual is below 1% (the runs of the claim end far
# below it; the slowest, α = 1 and U Uᵀ, end just under it at the sizes of the experiment).
FIT_TOL = 1e-2


@dataclass
class SensingProblem:
    """A seeded matrix sensing instance: ``y = A(X*)`` with ``X*`` of rank ``rank``."""

    objective: MatrixSensing
    truth: np.ndarray
    rank: int
    symmetric: bool
    seed: int

    @property
    def dim(self) -> int:
        return self.truth.shape[0]


@dataclass
class SensingRun:
    """One gradient-descent run; every array has one entry per iteration ``t = 0 … n_iter``.

    ``error``: ``‖X_t − X*‖_F / ‖X*‖_F``; ``singular_values``: the top ``rank + 1`` singular
    values of ``X_t``, shape (n_iter + 1, rank + 1); ``imbalance``: ``‖U_tᵀU_t − V_tᵀV_t‖_F``
    (None for ``U Uᵀ``); ``factor_size``: ``½(‖U_t‖²_F + ‖V_t‖²_F)``; ``residual``:
    ``‖A(X_t) − y‖ / ‖y‖``; ``fitted``: whether the last residual is at most :data:`FIT_TOL`.
    """

    init_scale: float
    x: np.ndarray
    error: np.ndarray
    singular_values: np.ndarray
    imbalance: np.ndarray | None
    factor_size: np.ndarray
    residual: np.ndarray
    n_iter: int
    fitted: bool
    rank: int
    truth_singular_values: np.ndarray
    result: Result = field(repr=False)


def _check_int(value, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    return int(value)


def _check_positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite, got {value}")
    return float(value)


def problem(dim: int = 20, rank: int = 2, measurements: int | None = None, *,
            symmetric: bool = False, condition: float = 2.0, seed: int = 0) -> SensingProblem:
    """A seeded instance: ``X* = P diag(σ) Qᵀ`` (``Q = P`` when ``symmetric``), ``A_i`` Gaussian.

    Parameters
    ----------
    dim, rank : int
        ``X*`` is ``dim × dim`` of rank ``rank``; its singular values are geometrically spaced
        from 1 down to ``1 / condition``; ``P``, ``Q`` are Haar-random orthonormal.
    measurements : int, optional
        ``m``; default ``5 · dim · rank`` (the shape of the engine's sensing test), below
        ``dim²``.
    symmetric : bool
        ``X*`` positive semi-definite, for ``X = U Uᵀ``.
    condition : float
        ``σ_1(X*) / σ_r(X*)``, at least 1.
    seed : int

    Returns
    -------
    SensingProblem
        The objective has entries ``A_i`` i.i.d. ``N(0, 1/m)``, so ``E A*A = I``.

    Examples
    --------
    >>> from reparam.models.matrix_sensing import problem
    >>> import numpy as np
    >>> p = problem(dim=6, rank=1, seed=0)
    >>> p.truth.shape, p.objective.y.shape, int(np.linalg.matrix_rank(p.truth))
    ((6, 6), (30,), 1)
    """
    dim, rank = _check_int(dim, "dim"), _check_int(rank, "rank")
    if rank > dim:
        raise ValueError(f"rank must be at most dim = {dim}, got {rank}")
    m = 5 * dim * rank if measurements is None else _check_int(measurements, "measurements")
    condition = _check_positive(condition, "condition")
    if condition < 1:
        raise ValueError(f"condition must be at least 1, got {condition}")
    rng = np.random.default_rng(seed)
    P = np.linalg.qr(rng.standard_normal((dim, rank)))[0]
    Q = P if symmetric else np.linalg.qr(rng.standard_normal((dim, rank)))[0]
    sigma = np.geomspace(1.0, 1.0 / condition, rank)
    truth = (P * sigma) @ Q.T
    ops = rng.standard_normal((m, dim, dim)) / np.sqrt(m)
    y = np.einsum("ijk,jk->i", ops, truth)
    return SensingProblem(MatrixSensing(ops, y), truth, rank, bool(symmetric), int(seed))


def run(prob: SensingProblem, init_scale: float, *, width: int | None = None,
        step: float = 0.3, iterations: int = 3000, seed: int = 1,
        v_init_scale: float | None = None) -> SensingRun:
    """Gradient descent on ``U`` (and ``V``) from scale ``init_scale``, recording the spectrum.

    Runs :func:`reparam.train` with ``Product(width)`` (``SymmetricProduct(width)`` for a
    symmetric problem, whose gradient ``(G + Gᵀ) U`` is twice as large: its step is halved),
    a fixed step, for ``iterations`` steps (no early stop: the claim is about the iterate at a
    fixed time ``T``, once the fit is done); the recorded quantities come through ``record=``.

    Parameters
    ----------
    prob : SensingProblem
    init_scale : float
        ``α``: ``U₀ = α G / √d``.
    width : int, optional
        ``k``, default ``d`` (full overparametrization).
    step : float
    iterations : int
        ``T``.
    seed : int
        Of the initialization.
    v_init_scale : float, optional
        Scale of ``V₀`` (``U Vᵀ`` only), default ``init_scale``; another value starts the factors
        unbalanced (``V₀ = v_init_scale · H / √d``, the same ``H``).

    Returns
    -------
    SensingRun
    """
    if not isinstance(prob, SensingProblem):
        raise TypeError(f"prob must be a SensingProblem, got {type(prob).__name__}")
    alpha = _check_positive(init_scale, "init_scale")
    d, r = prob.dim, prob.rank
    k = d if width is None else _check_int(width, "width")
    step = _check_positive(step, "step")
    iterations = _check_int(iterations, "iterations")
    truth, norm = prob.truth, float(np.linalg.norm(prob.truth))
    y_norm = prob.objective.rhs_norm
    param = SymmetricProduct(k) if prob.symmetric else Product(k)
    params0 = param.init((d, d), alpha / np.sqrt(d), np.random.default_rng(seed))
    if v_init_scale is not None:
        v_scale = _check_positive(v_init_scale, "v_init_scale")
        if prob.symmetric:
            raise ValueError("v_init_scale needs an asymmetric problem (X = U Vᵀ)")
        params0 = (params0[0], params0[1] * (v_scale / alpha))

    def error(params, x):
        return float(np.linalg.norm(x - truth)) / norm

    def spectrum(params, x):
        return np.linalg.svd(x, compute_uv=False)[: r + 1]

    def imbalance(params, x):
        if prob.symmetric:
            return 0.0
        U, V = params
        return float(np.linalg.norm(U.T @ U - V.T @ V))

    def factor_size(params, x):
        if prob.symmetric:
            return float(np.sum(params * params))
        U, V = params
        return 0.5 * float(np.sum(U * U) + np.sum(V * V))

    res = rp.train(prob.objective, param, init_scale=alpha, params0=params0,
                   step=step / 2 if prob.symmetric else step, tol=0.0, max_iter=iterations,
                   record=("objective", error, spectrum, imbalance,
                                            factor_size))
    h = res.history
    residual = np.sqrt(2.0 * np.maximum(h["objective"], 0.0)) / y_norm
    fitted = bool(residual[-1] <= FIT_TOL)
    return SensingRun(alpha, res.x, h["error"], np.asarray(h["spectrum"]),
                      None if prob.symmetric else h["imbalance"], h["factor_size"], residual,
                      int(res.n_iter), fitted, r,
                      np.linalg.svd(truth, compute_uv=False)[:r], res)


def rank_ratio(run_: SensingRun) -> float:
    """``max σ_{r+1}(X_t) / σ_r(X_t)`` from the first ``t`` with ``σ_r(X_t) ≥ ½ σ_r(X*)`` on
    (``inf`` when ``σ_r`` never gets there)."""
    r = run_.rank
    s = run_.singular_values
    grown = np.flatnonzero(s[:, r - 1] >= 0.5 * run_.truth_singular_values[r - 1])
    if grown.size == 0:
        return float("inf")
    tail = s[grown[0]:]
    return float(np.max(tail[:, r] / tail[:, r - 1]))


def balance(run_: SensingRun) -> float:
    """``‖UᵀU − VᵀV‖_F / ½(‖U‖²_F + ‖V‖²_F)`` at the last iterate (0 for ``U Uᵀ``)."""
    if run_.imbalance is None:
        return 0.0
    return float(run_.imbalance[-1] / max(run_.factor_size[-1], 1e-300))


def sweep(prob: SensingProblem, init_scales: Sequence[float], **options) -> list[SensingRun]:
    """:func:`run` at each scale (same initialization seed, so the same directions)."""
    return [run(prob, a, **options) for a in init_scales]


def check(runs: Sequence[SensingRun]) -> dict:
    """Claims 1 and 2 on a sweep over α: each quantity, its threshold and a signed margin.

    Returns a dict with ``slope`` (of log final error against log α), ``rank_ratio`` (the
    largest over the sweep), ``balance`` (:func:`balance`, the largest, U Vᵀ only) and
    ``imbalance_over_alpha2`` (``max_t ‖UᵀU − VᵀV‖_F / α²`` per run), both reported, not
    judged (claim 3 is :func:`check_balance`), ``complete`` (every run is fitted
    (:data:`FIT_TOL`)) and ``margin``: the smaller of ``slope − SLOPE_MIN`` and
    ``log10(RANK_RATIO_MAX / rank_ratio)`` — positive when both claims hold.
    """
    runs = list(runs)
    if len(runs) < 3:
        raise ValueError(f"the slope needs at least three scales, got {len(runs)}")
    alphas = np.array([r.init_scale for r in runs])
    final = np.array([r.error[-1] for r in runs])
    slope = float(np.polyfit(np.log(alphas), np.log(np.maximum(final, 1e-300)), 1)[0])
    ratio = max(rank_ratio(r) for r in runs)
    bal = max(balance(r) for r in runs)
    margins = [slope - SLOPE_MIN, np.log10(RANK_RATIO_MAX / max(ratio, 1e-300))]
    return {
        "alpha": alphas.tolist(), "final_error": final.tolist(), "slope": slope,
        "rank_ratio": ratio, "balance": bal,
        "imbalance_over_alpha2": [None if r.imbalance is None
                                  else float(np.max(r.imbalance) / r.init_scale**2)
                                  for r in runs],
        "complete": all(r.fitted for r in runs),
        "margin": float(min(margins)),
    }


def check_balance(runs: Sequence[SensingRun]) -> dict:
    """Claim 3 on a sweep over α (``U Vᵀ``): the imbalance is of order ``α²``.

    Returns a dict with ``alpha``, ``imbalance`` (``max_t ‖U_tᵀU_t − V_tᵀV_t‖_F`` per run),
    ``start`` (its value at ``t = 0``), ``slope`` (of ``log imbalance`` against ``log α``),
    ``ratio`` (the largest ``imbalance / (√(2d) (k/d) α²)``), ``complete`` (every run is
    fitted) and ``margin``: the smaller of ``IMBALANCE_SLOPE_TOL − |slope − 2|`` and
    ``log10(IMBALANCE_RATIO_MAX / ratio)``, positive when the claim holds.

    Examples
    --------
    >>> from reparam.models import matrix_sensing as ms
    >>> prob = ms.problem(dim=6, rank=1, measurements=24, seed=0)
    >>> c = ms.check_balance(ms.sweep(prob, (0.1, 0.05, 0.025), step=0.1, iterations=500))
    >>> c["complete"], abs(c["slope"] - 2) <= ms.IMBALANCE_SLOPE_TOL, c["ratio"] <= 2
    (True, True, True)
    """
    runs = list(runs)
    if len(runs) < 3:
        raise ValueError(f"the slope needs at least three scales, got {len(runs)}")
    if any(r.imbalance is None for r in runs):
        raise ValueError("the imbalance is defined for X = U Vᵀ; got a symmetric run")
    alphas = np.array([r.init_scale for r in runs])
    peak = np.array([float(np.max(r.imbalance)) for r in runs])
    d = runs[0].x.shape[0]
    k = runs[0].result.params[0].shape[1]
    ratio = float(np.max(peak / (np.sqrt(2.0 * d) * (k / d) * alphas**2)))
    slope = float(np.polyfit(np.log(alphas), np.log(np.maximum(peak, 1e-300)), 1)[0])
    margin = min(IMBALANCE_SLOPE_TOL - abs(slope - 2.0),
                 float(np.log10(IMBALANCE_RATIO_MAX / max(ratio, 1e-300))))
    return {"alpha": alphas.tolist(), "imbalance": peak.tolist(),
            "start": [float(r.imbalance[0]) for r in runs], "slope": slope, "ratio": ratio,
            "complete": all(r.fitted for r in runs), "margin": float(margin)}
