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
    # ufunc reductions: np.max's Python wrapper costs more than the reduction at this size
    cnorm = max(float(np.maximum.reduce(np.abs(c), initial=0.0)), _TINY)
    dmax = max(float(np.maximum.reduce(G.diagonal(), initial=0.0)), _TINY)
    tol_y = _TOL * cnorm
    tol_x = _TOL * cnorm / dmax  # clipping x_i in (-tol_x, 0) moves g by <= tol_y
    passive = np.zeros(n, dtype=bool) if passive is None else passive.copy()
    best, budget = n + 1, _FULL_EXCHANGES
    x = np.zeros(n)
    for it in range(1, max_iter + 1):
        x, failure = _passive_solve(G, c, passive)
        if failure is not None:
            return x, it, False, failure
        y = G.dot(x)  # ndarray.dot: less dispatch than @ for a vector
        y -= c
        infeasible = np.where(passive, x < -tol_x, y < -tol_y)
        flips = infeasible.nonzero()[0]
        count = flips.size
        if count == 0:
            np.maximum(x, 0.0, out=x)
            g = G.dot(x)
            g -= c
            kkt = float(np.maximum.reduce(np.abs(np.minimum(x, g)), initial=0.0)) / cnorm
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
            j = flips[-1]
            passive[j] = not passive[j]
    return np.maximum(x, 0.0), max_iter, False, ITERATION_CAP


def _passive_solve(G, c, passive):
    """x with x_F = G_FF^{-1} c_F and x = 0 elsewhere, by Cholesky, and None, or the
    :class:`Exit` that says why the factorization failed."""
    x = np.zeros(c.size)
    idx = passive.nonzero()[0]
    if idx.size == 0:
        return x, None
    # take() costs less than fancy indexing; the transpose of the (symmetric) block is
    # Fortran-ordered, so LAPACK factors it in place instead of copying it first.
    GFF = G.take(idx, 0).take(idx, 1).T
    L, info = _dpotrf(GFF, 1, 0, 1)  # lower, no clean-up, overwrite_a
    if info != 0:
        return x, Exit(Reason.CHOLESKY_FAILED,
                       "Cholesky failed: the Gram block is not positive definite")
    d = L.diagonal().tolist()
    if min(d) ** 2 < _CHOL_PIVOT * max(d) ** 2:
        return x, Exit(Reason.SMALL_PIVOT,
                       "Cholesky pivot too small: the Gram block is ill-conditioned")
    xF, info = _dpotrs(L, c.take(idx), 1)
    x[idx] = xF
    return x, None


_dpotrf, _dpotrs = lapack.dpotrf, lapack.dpotrs

