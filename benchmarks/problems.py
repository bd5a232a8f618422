"""Seeded NNLS test problems shared by the benchmarks (and usable from tests).

Every generator takes a ``seed`` and returns ``(A, b)`` as C-contiguous float64 arrays, so a
benchmark run is reproducible and two solvers timed in the same run see the same data.
"""

from __future__ import annotations

import numpy as np


def gaussian(m: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A with i.i.d. N(0, 1) entries and b ~ N(0, 1): about half of x is active when m > n.

    For m < n (wide) the cone of A's columns is almost surely all of R^m (Wendel), so the
    optimal residual is zero and the solution set is a polytope; exact solvers return a vertex.
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
    """Shaw's one-dimensional image restoration problem (a first-kind integral equation).

    The discretization follows Hansen's *Regularization Tools* (``shaw``): midpoint rule on
    [-pi/2, pi/2]; cond(A) reaches the limit of double precision (~1e18 for n >= 30). The
    right-hand side is A x* with the classical two-bump x*, plus relative Gaussian noise.
    """
    rng = np.random.default_rng(seed)
    h = np.pi / n
    t = -np.pi / 2 + (np.arange(n) + 0.5) * h
    cs, ct = np.cos(t)[:, None], np.cos(t)[None, :]
    u = np.pi * (np.sin(t)[:, None] + np.sin(t)[None, :])
    sinc = np.ones_like(u)
    nz = u != 0
    sinc[nz] = np.sin(u[nz]) / u[nz]
    A = np.ascontiguousarray(h * (cs + ct) ** 2 * sinc ** 2)
    x_true = 2.0 * np.exp(-6.0 * (t - 0.8) ** 2) + np.exp(-2.0 * (t + 0.5) ** 2)
    b = A @ x_true
    b = b + noise * np.linalg.norm(b) / np.sqrt(n) * rng.standard_normal(n)
    return A, b


def blur(n: int = 2000, sigma: float = 4.0, noise: float = 1e-3,
         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One-dimensional Gaussian blur (Toeplitz, width ``sigma`` pixels) of a nonnegative signal.

    cond(A) grows like exp(pi^2 sigma^2 / 2) until it saturates near 1e17; x* is a mix of
    boxes and spikes, b = A x* plus relative Gaussian noise.
    """
    rng = np.random.default_rng(seed)
    idx = np.arange(n)
    d = idx[:, None] - idx[None, :]
    A = np.exp(-0.5 * (d / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma)
    x_true = np.zeros(n)
    for lo, hi, val in ((0.1, 0.2, 1.0), (0.35, 0.4, 2.0), (0.6, 0.8, 0.5)):
        x_true[int(lo * n):int(hi * n)] = val
    spikes = rng.choice(n, size=max(1, n // 100), replace=False)
    x_true[spikes] += 3.0 * rng.random(spikes.size)
    b = A @ x_true
    b = b + noise * np.linalg.norm(b) / np.sqrt(n) * rng.standard_normal(n)
    return np.ascontiguousarray(A), b


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
    """Relative KKT residual ||min(x, g)||_inf / ||A^T b||_inf, g = A^T (A x - b), max over columns."""
    g = A.T @ (A @ x - b)
    scale = np.max(np.abs(A.T @ b), axis=0)
    r = np.max(np.abs(np.minimum(x, g)), axis=0) / np.maximum(scale, np.finfo(float).tiny)
    return float(np.max(r))
