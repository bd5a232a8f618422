r"""Model-free overparametrized asymmetric matrix factorization: one singular value at a time.

Jiang, Chen & Ding, "Algorithmic regularization in model-free overparametrized asymmetric
matrix factorization", SIAM Journal on Mathematics of Data Science, 2023.

Gradient descent on ``½ ‖M − U Vᵀ‖²_F`` with factors wider than any rank (here ``k =
min(d1, d2)``) from a small random initialization, for any matrix ``M`` (no low-rank model):
the singular values of ``X_t = U_t V_tᵀ`` are learned one after another, the largest first
(each grows like ``exp(η σ_i(M) t)`` from the scale of the initialization), so the iterate
passes close to every best rank-``r`` approximation of ``M`` on its way to ``M`` itself.
Stopped early, it is a good rank-``r`` approximation; run to the end, it fits everything,
noise included.

The data here is ``M = M* + N``: a rank-``r`` ``M*`` with distinct singular values and a
Gaussian ``N``. The claims, and the thresholds :func:`check` applies:

1. **One after another**: the rise time ``t_i`` (first iteration at which ``σ_i(X_t) ≥ ½
   σ_i(M)``) increases strictly with ``i = 1 … r``, as the ``σ_i(M)`` decrease.
2. **Stopped early, a best rank-r approximation**: at the stopping time ``τ``,
   ``‖M − X_τ‖₂ ≤ (1 + ε) σ_{r+1}(M)`` (the error of the best rank-``r`` approximation, in the
   spectral norm) with ``ε =`` :data:`EPSILON` (= 0.05).
3. **The noise is not fitted**: ``‖X_τ − M*‖_F ≤ (1 + ε') ‖M_r − M*‖_F``, no worse than the
   truncated SVD ``M_r`` of ``M`` at recovering ``M*``, with ``ε' =`` :data:`DENOISE_SLACK`
   (= 0.1).

``τ`` comes from a rule that uses neither ``M*`` nor ``r`` (:func:`plateau_stop`): the first
``t`` at which the loss has fallen below half its initial value and has decreased by less than
:data:`PLATEAU` (= 1%) since ``t/2``. Learning ``σ_i`` takes a time proportional to
``1/σ_i``, so between two signal values of ratio below 2 the loss keeps falling on the
``[t/2, t]`` scale, while after the last one the next rise, ``σ_{r+1}(M)`` (noise), is far
away: the loss sits on a plateau. The oracle (``argmin_t ‖X_t − M*‖_F``) is reported next to
it. The control is the same check at the end of a long run (no early stopping): part 3 fails,
since ``X_T ≈ M`` carries the noise.

Examples
--------
>>> from reparam.models import matrix_factorization as mf
>>> prob = mf.problem(shape=(12, 10), singular_values=(4.0, 3.0), noise=0.02, seed=0)
>>> run = mf.run(prob, 1e-3, iterations=600)
>>> rise = mf.rise_times(run)
>>> bool(rise[0] < rise[1]), mf.check(run)["margin"] > 0
(True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

import reparam as rp
from reparam._result import Result
from reparam.objectives import Factorization
from reparam.parametrizations import Product

__all__ = [
    "DENOISE_SLACK",
    "EPSILON",
    "PLATEAU",
    "FactorizationProblem",
    "FactorizationRun",
    "check",
    "plateau_stop",
    "problem",
    "rise_times",
    "run",
]

EPSILON = 0.05
DENOISE_SLACK = 0.1
PLATEAU = 0.01


@dataclass
class FactorizationProblem:
    """``M = M* + N``; ``rank`` is that of ``M*`` (for checking only; the runs never see it)."""

    data: np.ndarray
    clean: np.ndarray
    rank: int
    seed: int

    @property
    def truncated(self) -> np.ndarray:
        """``M_r``, the best rank-``r`` approximation of ``M`` (truncated SVD)."""
        P, s, Qt = np.linalg.svd(self.data, full_matrices=False)
        return (P[:, : self.rank] * s[: self.rank]) @ Qt[: self.rank]


@dataclass
class FactorizationRun:
    """One run; arrays have one entry per iteration ``t = 0 … n_iter``.

    ``singular_values``: the top ``rank + 2`` singular values of ``X_t``; ``loss``:
    ``½ ‖M − X_t‖²_F``; ``spectral_error``: ``‖M − X_t‖₂``; ``clean_error``:
    ``‖X_t − M*‖_F``.
    """

    init_scale: float
    singular_values: np.ndarray
    loss: np.ndarray
    spectral_error: np.ndarray
    clean_error: np.ndarray
    data_singular_values: np.ndarray
    truncation_error: float
    rank: int
    n_iter: int
    result: Result = field(repr=False)


def _positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite, got {value}")
    return float(value)


def problem(shape: tuple[int, int] = (40, 30), singular_values: Sequence[float] = (10.0, 7.0, 5.0),
            noise: float = 0.1, *, seed: int = 0) -> FactorizationProblem:
    """``M = P diag(σ) Qᵀ + noise · G`` with Haar-random orthonormal ``P``, ``Q``, Gaussian ``G``.

    Parameters
    ----------
    shape : (d1, d2)
    singular_values : sequence of float
        Those of ``M*``, distinct and positive; their number is the rank ``r``.
    noise : float
        Entry-wise standard deviation of ``N`` (0 allowed: then ``M`` has rank ``r``).
    seed : int

    Examples
    --------
    >>> from reparam.models.matrix_factorization import problem
    >>> p = problem(shape=(5, 4), singular_values=(2.0, 1.0), noise=0.0, seed=0)
    >>> p.data.shape, p.rank, bool(abs(p.data - p.truncated).max() < 1e-12)
    ((5, 4), 2, True)
    """
    d1, d2 = (int(s) for s in shape)
    sigma = np.asarray(singular_values, dtype=float)
    if sigma.ndim != 1 or sigma.size == 0 or np.any(sigma <= 0) or not np.all(np.isfinite(sigma)):
        raise ValueError(f"singular_values must be positive numbers; got {singular_values!r}")
    if sigma.size > min(d1, d2):
        raise ValueError(f"{sigma.size} singular values do not fit a {d1} × {d2} matrix")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be non-negative, got {noise}")
    rng = np.random.default_rng(seed)
    r = sigma.size
    P = np.linalg.qr(rng.standard_normal((d1, r)))[0]
    Q = np.linalg.qr(rng.standard_normal((d2, r)))[0]
    clean = (P * np.sort(sigma)[::-1]) @ Q.T
    data = clean + float(noise) * rng.standard_normal((d1, d2))
    return FactorizationProblem(data, clean, r, int(seed))


def run(prob: FactorizationProblem, init_scale: float, *, width: int | None = None,
        step: float | None = None, iterations: int = 3000, seed: int = 1) -> FactorizationRun:
    """Gradient descent on ``(U, V)`` for ``½ ‖M − U Vᵀ‖²_F``, recording the learned spectrum.

    :func:`reparam.train` with :class:`reparam.objectives.Factorization` and ``Product(width)``,
    a fixed step (default ``0.5 / σ_1(M)``), for ``iterations`` steps; ``U₀ = α G / √d1``,
    ``V₀ = α G' / √d2`` (``G, G'`` standard Gaussian, so both have spectral norm about ``α``).

    Parameters
    ----------
    prob : FactorizationProblem
    init_scale : float
        ``α``.
    width : int, optional
        ``k``, default ``min(d1, d2)``.
    step : float, optional
    iterations : int
    seed : int
        Of the initialization.

    Returns
    -------
    FactorizationRun
    """
    if not isinstance(prob, FactorizationProblem):
        raise TypeError(f"prob must be a FactorizationProblem, got {type(prob).__name__}")
    alpha = _positive(init_scale, "init_scale")
    M, clean, r = prob.data, prob.clean, prob.rank
    d1, d2 = M.shape
    s_data = np.linalg.svd(M, compute_uv=False)
    k = min(d1, d2) if width is None else int(width)
    if k < 1:
        raise ValueError(f"width must be at least 1, got {width}")
    step = 0.5 / s_data[0] if step is None else _positive(step, "step")
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) \
            or iterations < 1:
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
    gen = np.random.default_rng(seed)
    params0 = (alpha / np.sqrt(d1) * gen.standard_normal((d1, k)),
               alpha / np.sqrt(d2) * gen.standard_normal((d2, k)))

    def spectrum(params, x):
        return np.linalg.svd(x, compute_uv=False)[: r + 2]

    def spectral_error(params, x):
        return float(np.linalg.norm(M - x, 2))

    def clean_error(params, x):
        return float(np.linalg.norm(x - clean))

    res = rp.train(Factorization(M), Product(k), init_scale=alpha, params0=params0, step=step,
                   tol=0.0, max_iter=int(iterations),
                   record=("objective", spectrum, spectral_error, clean_error))
    h = res.history
    return FactorizationRun(alpha, np.asarray(h["spectrum"]), h["objective"],
                            h["spectral_error"], h["clean_error"], s_data,
                            float(np.linalg.norm(prob.truncated - clean)), r, int(res.n_iter),
                            res)


def rise_times(run_: FactorizationRun, count: int | None = None) -> np.ndarray:
    """First ``t`` with ``σ_i(X_t) ≥ ½ σ_i(M)`` for ``i = 1 … count`` (default ``r``); -1 when
    it never happens in the run."""
    count = run_.rank if count is None else int(count)
    s = run_.singular_values
    out = np.full(count, -1)
    for i in range(min(count, s.shape[1])):
        hit = np.flatnonzero(s[:, i] >= 0.5 * run_.data_singular_values[i])
        if hit.size:
            out[i] = hit[0]
    return out


def plateau_stop(loss: np.ndarray, plateau: float = PLATEAU) -> int:
    """The first ``t`` with ``loss[t] ≤ ½ loss[0]`` and ``loss[t] ≥ (1 − plateau) loss[t // 2]``
    (a plateau on the logarithmic time scale); the last index when there is none.

    Uses the loss only: neither the clean matrix nor its rank.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.models.matrix_factorization import plateau_stop
    >>> plateau_stop(np.array([8.0, 8.0, 4.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5]))
    8
    """
    loss = np.asarray(loss, dtype=float)
    for t in range(2, loss.size):
        if loss[t] <= 0.5 * loss[0] and loss[t] >= (1.0 - plateau) * loss[t // 2]:
            return t
    return loss.size - 1


def check(run_: FactorizationRun, stop: int | None = None) -> dict:
    """The three claims at the stopping time ``stop`` (default :func:`plateau_stop`).

    Returns the rise times, ``stop``, the oracle time and error, the measured ratios
    ``‖M − X_τ‖₂ / σ_{r+1}(M)`` and ``‖X_τ − M*‖_F / ‖M_r − M*‖_F`` with their thresholds,
    and ``margin``: the smallest of the relative gap between consecutive rise times (``(t_{i+1}
    − t_i) / t_r``; −1 when some ``σ_i`` never rises), ``1 + ε − spectral ratio`` and ``1 + ε'
    − denoising ratio``; positive when all three hold.
    """
    tau = plateau_stop(run_.loss) if stop is None else int(stop)
    if not 0 <= tau <= run_.n_iter:
        raise ValueError(f"stop must be an iteration of the run (0 … {run_.n_iter}), got {stop}")
    rise = rise_times(run_)
    if np.any(rise < 0):
        order = -1.0
    elif rise.size > 1:
        order = float(np.min(np.diff(rise)) / rise[-1])
    else:
        order = 1.0
    best_rank_r = float(run_.data_singular_values[run_.rank])
    spectral = float(run_.spectral_error[tau] / best_rank_r)
    denoise = float(run_.clean_error[tau] / run_.truncation_error)
    oracle = int(np.argmin(run_.clean_error))
    return {
        "rise_times": rise.tolist(), "stop": tau, "oracle_stop": oracle,
        "spectral_ratio": spectral, "spectral_max": 1.0 + EPSILON,
        "denoise_ratio": denoise, "denoise_max": 1.0 + DENOISE_SLACK,
        "oracle_denoise_ratio": float(run_.clean_error[oracle] / run_.truncation_error),
        "order_gap": order,
        "margin": float(min(order, 1.0 + EPSILON - spectral, 1.0 + DENOISE_SLACK - denoise)),
    }
