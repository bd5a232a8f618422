"""Seeded test problems shared by the test modules."""

from __future__ import annotations

import numpy as np
import pytest


def wellposed_problem(m: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A ~ N(0, 1/m) and b whose NNLS solution is known and strictly complementary.

    Half of min(m, n) coordinates are active with values in [0.5, 1.5]. Overdetermined: the
    inactive coordinates get gradients in [0.05, 0.15] (b = A (x* + G^{-1} g*)), so no
    coordinate is degenerate. Underdetermined: b = A x* (an interpolation problem).
    """
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    k = min(m, n) // 2
    support = rng.choice(n, k, replace=False)
    x = np.zeros(n)
    x[support] = rng.uniform(0.5, 1.5, k)
    if m < n:
        return A, A @ x
    g = np.zeros(n)
    inactive = np.setdiff1d(np.arange(n), support)
    g[inactive] = rng.uniform(0.05, 0.15, inactive.size)
    return A, A @ (x + np.linalg.solve(A.T @ A, g))


def gaussian_problem(m: int, n: int, seed: int = 0, noise: float = 0.0):
    """The paper's problem: A ~ N(0, 1/m), sparse |N(0,1)| x* with unit norm, b = A x* + noise."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x = np.zeros(n)
    support = rng.choice(n, max(1, n // 10), replace=False)
    x[support] = np.abs(rng.standard_normal(support.size))
    x /= np.linalg.norm(x)
    return A, A @ x + noise * rng.standard_normal(m), x


@pytest.fixture
def over():
    return wellposed_problem(60, 30, seed=1)


@pytest.fixture
def under():
    return wellposed_problem(30, 60, seed=2)
