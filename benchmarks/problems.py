"""Seeded NNLS test problems shared by the benchmarks (and usable from tests).

Every generator takes a ``seed`` and returns ``(A, b)`` as C-contiguous float64 arrays, so a
benchmark run is reproducible and two solvers timed in the same run see the same data.
"""

from __future__ import annotations

import numpy as np

from reparam import kkt_residual, problems


def gaussian(m: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A with i.i.d. N(0, 1) entries and b ~ N(0, 1): about half of x is active when m > n.

    For m < n (wide) the columns lie in a common half-space, so that their cone is not all of
    R^m, with probability ``P(Binomial(n - 1, 1/2) <= m - 1)`` (Wendel 1962): about 1e-322 at
    200 x 2000 and 4e-6 at 200 x 500, where the cone is R^m, the optimal residual is zero and
    the solution set is a polytope (exact solvers return a vertex); but exactly 1/2 at n = 2m
    (500 x 1000, the phase transition), where b may fall outside the cone and the solution is
    unique with a support of nearly m columns (seed 10: residual 4.6, 486 positives).
    """
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    b = rng.standard_normal(m)
    return A, b


def planted(m: int, n: int, density: float = 0.3, noise: float = 1e-2,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian A (scaled by 1/sqrt(m)), b = A x* + noise with x* >= 0 of the given density."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x_true = np.where(rng.random(n) < density, np.abs(rng.standard_normal(n)), 0.0)
    b = A @ x_true + noise * rng.standard_normal(m)
    return A, b


def shaw(n: int = 1000, noise: float = 1e-3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Shaw's first-kind integral equation (:func:`reparam.problems.shaw`), ``(A, b)``."""
    return problems.shaw(n, noise=noise, seed=seed)[:2]


def blur(n: int = 2000, sigma: float = 4.0, noise: float = 1e-3,
         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One-dimensional Gaussian blur (:func:`reparam.problems.blur`), ``(A, b)``."""
    return problems.blur(n, sigma=sigma, noise=noise, seed=seed)[:2]


def batched(m: int = 400, n: int = 200, k: int = 1000, seed: int = 0
            ) -> tuple[np.ndarray, np.ndarray]:
    """One Gaussian A (m, n) and k right-hand sides B = A X* + noise, X* >= 0 sparse.

    Columns share structure (as in NMF sub-problems), so many share a passive set.
    """
    rng = np.random.default_rng(seed)
    A = np.abs(rng.standard_normal((m, n)))
    X = np.where(rng.random((n, k)) < 0.1, rng.random((n, k)), 0.0)
    B = A @ X + 0.05 * rng.standard_normal((m, k))
    return A, np.ascontiguousarray(B)


def kkt(A: np.ndarray, b: np.ndarray, x: np.ndarray) -> float:
    """The package's certificate (reparam.kkt_residual), max over right-hand sides."""
    return float(np.max(kkt_residual(A, b, x)))
