"""Seeded test problems shared by the test modules (from :mod:`reparam.problems`)."""

from __future__ import annotations

from reparam import problems


def wellposed_problem(m: int, n: int, seed: int = 0):
    """``(A, b)`` with a known, strictly complementary NNLS solution (overdetermined case)."""
    return problems.wellposed(m, n, seed=seed)[:2]


def gaussian_problem(m: int, n: int, seed: int = 0, noise: float = 0.0):
    """The paper's problem ``(A, b, x_true)``."""
    return problems.gaussian(m, n, noise=noise, seed=seed)
