"""Seeded NNLS test problems: the paper's Gaussian problem and classical hard ones.

Every generator takes a ``seed`` and returns ``(A, b, x_true)`` with C-contiguous float64 arrays,
so the tests, the benchmarks and the experiments all see the same data for the same arguments.

Examples
--------
>>> from reparam import problems
>>> A, b, x_true = problems.gaussian(20, 50, seed=0)
>>> A.shape, int((x_true > 0).sum())
((20, 50), 5)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["blur", "gaussian", "shaw", "sparse_gaussian", "wellposed"]


def gaussian(m: int, n: int, *, sparsity: int | None = None, noise: float = 0.0, seed: int = 0):
    """The paper's problem (Chou et al., arXiv:2207.08437, Sec. 7; DESIGN.md).

    ``A`` has i.i.d. N(0, 1/m) entries; ``x*`` has ``sparsity`` (default ``max(1, n // 10)``)
    non-zero |N(0, 1)| entries scaled to unit norm; ``b = A x* + noise·N(0, I)``.
    """
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x = np.zeros(n)
    support = rng.choice(n, max(1, n // 10) if sparsity is None else sparsity, replace=False)
    x[support] = np.abs(rng.standard_normal(support.size))
    x /= np.linalg.norm(x)
    b = A @ x
    if noise:
        b = b + noise * rng.standard_normal(m)
    return A, b, x


def wellposed(m: int, n: int, *, seed: int = 0):
    """``A ~ N(0, 1/m)`` and ``b`` whose NNLS solution is known and strictly complementary.

    Half of ``min(m, n)`` coordinates are active with values in [0.5, 1.5]. Overdetermined: the
    inactive coordinates get gradients in [0.05, 0.15] (``b = A (x* - G^{-1} g*)``, so that
    ``A^T (A x* - b) = g*``): no coordinate is degenerate and ``x_true`` is the NNLS solution. Underdetermined: ``b = A x*``
    (an interpolation problem; ``x_true`` is one of its solutions).
    """
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    k = min(m, n) // 2
    support = rng.choice(n, k, replace=False)
    x = np.zeros(n)
    x[support] = rng.uniform(0.5, 1.5, k)
    if m < n:
        return A, A @ x, x
    g = np.zeros(n)
    inactive = np.setdiff1d(np.arange(n), support)
    g[inactive] = rng.uniform(0.05, 0.15, inactive.size)
    return A, A @ (x - np.linalg.solve(A.T @ A, g)), x


def shaw(n: int = 1000, *, noise: float = 1e-3, seed: int = 0):
    """Shaw's one-dimensional image restoration problem (a first-kind integral equation).

    The discretization follows Hansen's *Regularization Tools* (``shaw``): midpoint rule on
    [-π/2, π/2]; cond(A) reaches the limit of double precision (~1e18 for n >= 30). The
    right-hand side is ``A x*`` with the classical two-bump ``x*``, plus relative noise.
    """
    rng = np.random.default_rng(seed)
    h = np.pi / n
    t = -np.pi / 2 + (np.arange(n) + 0.5) * h
    cs, ct = np.cos(t)[:, None], np.cos(t)[None, :]
    u = np.pi * (np.sin(t)[:, None] + np.sin(t)[None, :])
    sinc = np.ones_like(u)
    nz = u != 0
    sinc[nz] = np.sin(u[nz]) / u[nz]
    A = np.ascontiguousarray(h * (cs + ct) ** 2 * sinc**2)
    x_true = 2.0 * np.exp(-6.0 * (t - 0.8) ** 2) + np.exp(-2.0 * (t + 0.5) ** 2)
    b = A @ x_true
    b = b + noise * np.linalg.norm(b) / np.sqrt(n) * rng.standard_normal(n)
    return A, b, x_true


def blur(n: int = 2000, *, sigma: float = 4.0, noise: float = 1e-3, seed: int = 0):
    """One-dimensional Gaussian blur (Toeplitz, width ``sigma`` pixels) of a non-negative signal.

    cond(A) grows like exp(π² σ² / 2) until it saturates near 1e17; ``x*`` is a mix of boxes
    and spikes, ``b = A x*`` plus relative Gaussian noise.
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
    return np.ascontiguousarray(A), b, x_true


def sparse_gaussian(m: int, n: int, nnz: int, *, noise: float = 0.01, seed: int = 0):
    """A sparse CSR ``A`` with ``nnz`` N(0, 1) entries at uniformly random positions.

    ``x*`` has ``n // 10`` non-zero |N(0, 1)| entries; ``b = A x* + noise·N(0, I)``.
    """
    rng = np.random.default_rng(seed)
    A = sp.random_array((m, n), density=nnz / (m * n), format="csr", rng=rng,
                        data_sampler=rng.standard_normal)
    x = np.zeros(n)
    support = rng.choice(n, max(1, n // 10), replace=False)
    x[support] = np.abs(rng.standard_normal(support.size))
    return A, A @ x + noise * rng.standard_normal(m), x
