"""Block principal pivoting on the normal equations, one right-hand side.

Kim & Park, "Fast nonnegative matrix factorization: an active-set-like method and
comparisons", SIAM J. Sci. Comput. 33 (2011), Algorithm 2, with the Júdice & Pires (1994)
backup rule that flips a single variable when the number of infeasible variables stops
decreasing, which guarantees termination.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

from ._common import _ACCEPT, _CHOL_PIVOT, _FULL_EXCHANGES, _TINY, _TOL
from .outcome import CERTIFIED, ITERATION_CAP, Exit, Reason


def _bpp_single(G, c, passive, max_iter):
    """Block principal pivoting (Kim & Park 2011, Alg. 2) on the normal equations.

    Returns (x, n_rounds, certified, exit).
    """
    n = c.size
    cnorm = max(float(np.max(np.abs(c), initial=0.0)), _TINY)
    dmax = max(float(np.max(np.diag(G), initial=0.0)), _TINY)
    tol_y = _TOL * cnorm
    tol_x = _TOL * cnorm / dmax  # clipping x_i in (-tol_x, 0) moves g by <= tol_y
    passive = np.zeros(n, dtype=bool) if passive is None else passive.copy()
    best, budget = n + 1, _FULL_EXCHANGES
    x = np.zeros(n)
    for it in range(1, max_iter + 1):
        x, failure = _passive_solve(G, c, passive)
        if failure is not None:
            return x, it, False, failure
        y = G @ x - c
        infeasible = np.where(passive, x < -tol_x, y < -tol_y)
        count = int(np.count_nonzero(infeasible))
        if count == 0:
            np.maximum(x, 0.0, out=x)
            g = G @ x - c
            kkt = float(np.max(np.abs(np.minimum(x, g)), initial=0.0)) / cnorm
            if kkt <= _ACCEPT:
                return x, it, True, CERTIFIED
            return x, it, False, Exit(Reason.KKT_ABOVE_BOUND,
                                      f"KKT residual {kkt:.1e} after the finish")
        if count < best:
            best, budget = count, _FULL_EXCHANGES
            passive ^= infeasible
        elif budget > 0:
            budget -= 1
            passive ^= infeasible
        else:  # Júdice–Pires backup rule: flip the infeasible variable of largest index
            j = np.flatnonzero(infeasible)[-1]
            passive[j] = not passive[j]
    return np.maximum(x, 0.0), max_iter, False, ITERATION_CAP


def _passive_solve(G, c, passive):
    """x with x_F = G_FF^{-1} c_F and x = 0 elsewhere, by Cholesky, and None, or the
    :class:`Exit` that says why the factorization failed."""
    x = np.zeros(c.size)
    idx = np.flatnonzero(passive)
    if idx.size == 0:
        return x, None
    GFF = G[np.ix_(idx, idx)]
    L, info = lapack.dpotrf(GFF, lower=True, clean=False, overwrite_a=True)
    if info != 0:
        return x, Exit(Reason.CHOLESKY_FAILED,
                       "Cholesky failed: the Gram block is not positive definite")
    d = np.diagonal(L)
    if float(np.min(d)) ** 2 < _CHOL_PIVOT * float(np.max(d)) ** 2:
        return x, Exit(Reason.SMALL_PIVOT,
                       "Cholesky pivot too small: the Gram block is ill-conditioned")
    xF, info = lapack.dpotrs(L, c[idx], lower=True)
    x[idx] = xF
    return x, None

