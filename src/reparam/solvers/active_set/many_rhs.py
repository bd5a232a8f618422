"""The machinery for many right-hand sides on the Gram matrix.

Block principal pivoting for many right-hand sides: Kim & Park, "Fast nonnegative matrix
factorization: an active-set-like method and comparisons", SIAM J. Sci. Comput. 33 (2011),
Algorithm 3. Right-hand sides that share a passive set are solved together with one
Cholesky factorization, as in Van Benthem & Keenan, "Fast algorithm for the solution of
large-scale non-negativity-constrained least squares problems", J. Chemometrics 18 (2004).
The passive sets are first guessed from the unconstrained solution (``_unconstrained``),
refined by a few rounds of the same pivoting with inexact, single-precision
conjugate-gradient passive solves (``_inexact_pivoting``), whose steps run fused in the C
extension where it was built (``_fused_pivoting``).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

from ._common import _ACCEPT, _CHOL_PIVOT, _FULL_EXCHANGES, _TINY, _TOL, exchange_columns
from .small import _bppc, compiled_kernel

# Passive sets shared by at least this many right-hand sides get their own Cholesky.
_SHARED = 4
# Many right-hand sides: from this many columns (and unknowns) on, the passive sets are first
# guessed by rounds of block pivoting with inexact, conjugate-gradient passive solves.
_INEXACT_K = 64
_INEXACT_N = 32
_INEXACT_ROUNDS = 6
# ... and four before the compiled exact rounds, which remove a variable from their factor by a
# rank-one update: the few extra exact rounds cost less than two more inexact ones (guess and
# exact rounds measured 11-14% faster than with six at 400 x 200, k = 10 000).
_FUSED_ROUNDS = 4
_CG_ITERS = 3
# Columns per chunk in that phase: keeps its (n, chunk) arrays in cache.
_CHUNK = 128
# Largest stack of Gram blocks gathered at once, in matrix entries (2**16 float64 = 512 KiB,
# so the stack is still in cache when LAPACK factors it: measured 12% faster than 16 MiB).
_STACK_ENTRIES = 2**16


def _unconstrained(G, C):
    """The unconstrained least-squares solutions G^{-1} C, whose sign pattern is the first
    guess of the passive sets; None when G is singular or too ill-conditioned to trust.

    One Cholesky of the whole Gram matrix serves every column; it typically saves the two
    first, most expensive pivoting rounds (from x = 0 every variable with a positive
    correlation enters at once).
    """
    L, info = lapack.dpotrf(G, lower=True, clean=False)
    if info != 0:
        return None
    d = np.diagonal(L)
    if float(np.min(d)) ** 2 < _CHOL_PIVOT * float(np.max(d)) ** 2:
        return None
    X, _ = lapack.dpotrs(L, C, lower=True)
    return X


def _inexact_pivoting(G, C, X_ls, rounds=_INEXACT_ROUNDS, iters=_CG_ITERS, chunk=_CHUNK,
                      dtype=np.float32):
    """Passive sets guessed by block principal pivoting with inexact passive solves.

    Every round takes a few conjugate-gradient steps on all columns' passive systems at once,
    as the masked system ``P * (G (P * x)) = P * c``: one Gram-matrix product per step for a
    whole chunk of columns, whatever their passive sets, instead of one factorization per
    column. Then it exchanges every infeasible variable (Kim & Park's full exchange) and
    warm-starts the next round from the clipped iterate. Columns with nothing infeasible leave
    the chunk. The result is only a starting point: the exact rounds that follow decide and
    certify, so no safeguard is needed here. With a good start most columns need one exact
    factorization, on a passive set about half the size of the sign guess.

    For the same reason the rounds run in single precision (``dtype``): three CG steps leave
    an error far above float32 rounding, and the products cost half. G and every column of C
    are first scaled to a largest entry of one (a positive scaling of a column changes
    neither its passive set nor its signs), so float32's range cannot overflow.

    In float32 with the C extension (:func:`small.compiled_kernel`), the rounds run as
    :func:`_fused_pivoting`: the same steps and exchanges, rounded differently.
    """
    k = C.shape[1]
    P = X_ls > 0
    g_scale = max(float(np.max(np.diag(G), initial=0.0)), _TINY)
    c_scale = np.maximum(np.max(np.abs(C), axis=0, initial=0.0), _TINY)
    G = (G / g_scale).astype(dtype)
    if dtype == np.float32 and compiled_kernel():
        _fused_pivoting(G, C, X_ls, g_scale, c_scale, P, rounds, iters, chunk)
        return P
    for lo in range(0, k, chunk):
        sl = slice(lo, lo + chunk)
        Cl = (C[:, sl] / c_scale[sl]).astype(dtype)
        Pl = P[:, sl].copy()
        # G X = C  <=>  (G / g) (X g / c) = C / c, column by column
        Xl = np.where(Pl, X_ls[:, sl] * (g_scale / c_scale[sl]), 0.0).astype(dtype)
        live = np.arange(Cl.shape[1])
        for _ in range(rounds):
            W = _masked_cg(G, Xl, Cl, Pl, iters)  # W = G @ X
            W -= Cl
            infeasible = np.where(Pl, Xl < 0, W < 0)
            Pl ^= infeasible
            Xl *= Pl  # infeasible passive entries were negative: they leave at zero
            P[:, lo + live] = Pl
            moved = infeasible.any(axis=0)
            if not moved.all():
                live, Xl, Pl, Cl = live[moved], Xl[:, moved], Pl[:, moved], Cl[:, moved]
                if live.size == 0:
                    break
    return P


def _fused_pivoting(G, C, X_ls, g_scale, c_scale, P, rounds, iters, chunk):
    """:func:`_inexact_pivoting`'s rounds with the compiled kernel's fused steps, in place on
    P: BLAS makes the products by the (float32, scaled) G, one per conjugate-gradient step for
    a chunk of columns, and ``_bppc`` everything else in one pass per column (the numpy
    version makes about thirty passes over the chunk per round; measured 1.8x faster in all at
    n = 200). The same steps and exchanges, with one difference: a variable that leaves the
    passive set updates ``G @ X`` by its row of G instead of a new product at the next round.
    G comes scaled by ``g_scale`` and in float32; C and X_ls are scaled here chunk by chunk,
    as the numpy version scales them.
    """
    k = C.shape[1]
    f32 = np.float32
    for lo in range(0, k, chunk):
        sl = slice(lo, lo + chunk)
        # one column per row: each column's vectors are contiguous for the fused steps
        M = np.ascontiguousarray(P[:, sl].T).view(np.uint8)
        cs = c_scale[sl]
        Ct = np.ascontiguousarray((C[:, sl] / cs).T, dtype=f32)
        Xt = np.ascontiguousarray((X_ls[:, sl] * (g_scale / cs)).T, dtype=f32)
        Xt *= M
        Wt = Xt @ G
        live = np.arange(lo, lo + Ct.shape[0])
        for _ in range(rounds):
            R, D, Q = np.empty_like(Xt), np.empty_like(Xt), np.empty_like(Xt)
            rr = np.empty(Xt.shape[0], dtype=f32)
            _bppc.cg_start(Wt, Ct, M, R, D, rr)
            for step in range(iters):
                np.matmul(D, G, out=Q)
                _bppc.cg_step(Xt, Wt, R, D, Q, M, rr, step == iters - 1)
            moved = np.empty(Xt.shape[0], dtype=np.uint8)
            _bppc.cg_exchange(G, Xt, Wt, Ct, M, moved)
            P[:, live] = M.T.view(bool)
            if not moved.all():
                keep = moved.view(bool)
                live, Xt, Wt, Ct, M = live[keep], Xt[keep], Wt[keep], Ct[keep], M[keep]
                if live.size == 0:
                    break


def _masked_cg(G, X, C, P, iters):
    """``iters`` conjugate-gradient steps on every column's system ``G_FF x_F = c_F`` at once
    (F = the column's passive set, x = 0 outside it), in place on X; returns G @ X.

    Hestenes & Stiefel (1952) with the search directions masked to F; the product with G is
    kept up to date alongside, so no extra product is needed for the gradient afterwards.
    Runs in the dtype of its arguments.
    """
    tiny = np.finfo(X.dtype).tiny
    W = G @ X
    R = C - W
    R *= P
    D = R.copy()
    rr = np.einsum("ij,ij->j", R, R)
    for step in range(iters):
        Q = G @ D
        dq = np.einsum("ij,ij->j", D, Q)
        alpha = rr / np.maximum(dq, tiny)
        X += alpha * D
        W += alpha * Q
        if step == iters - 1:
            break
        Q *= P
        R -= alpha * Q
        rr_new = np.einsum("ij,ij->j", R, R)
        D *= rr_new / np.maximum(rr, tiny)
        D += R
        rr = rr_new
    return W


def _bpp_multi(G, C, P, max_iter):
    """Block principal pivoting for many right-hand sides (Kim & Park 2011, Alg. 3).

    Every column keeps its own exchange budget and backup rule; columns that share a passive
    set share one Cholesky factorization (Van Benthem & Keenan 2004). Returns
    (X, n_iter, certified, number_of_factorizations).
    """
    n, k = C.shape
    P = np.zeros((n, k), dtype=bool) if P is None else P.copy()
    X = np.zeros((n, k))
    n_iter = np.zeros(k, dtype=np.intp)
    certified = np.zeros(k, dtype=bool)
    cnorm = np.maximum(np.max(np.abs(C), axis=0, initial=0.0), _TINY)
    dmax = max(float(np.max(np.diag(G), initial=0.0)), _TINY)
    best = np.full(k, n + 1)
    budget = np.full(k, _FULL_EXCHANGES)
    live = np.arange(k)
    factorizations = 0
    for it in range(1, max_iter + 1):
        if live.size == 0:
            break
        whole = live.size == k  # the first round: no column gathers
        Cl, Pl = (C, P) if whole else (C[:, live], P[:, live])
        Xl, failed, groups = _grouped_solve(G, Cl, Pl)
        factorizations += groups
        Yl = G @ Xl
        Yl -= Cl
        tol_y = _TOL * cnorm[live]
        infeasible = np.where(Pl, Xl < -(tol_y / dmax), Yl < -tol_y)
        count = np.count_nonzero(infeasible, axis=0)
        n_iter[live] = it
        done = (count == 0) | failed
        if done.any():
            # Finished columns may hold entries in (-tol_x, 0): clip them, and recompute the
            # gradient only there. The KKT residual of every live column costs less than
            # gathering the finished ones.
            clipped = np.flatnonzero(done & (Xl < 0).any(axis=0))
            if clipped.size:
                Xc = np.maximum(Xl[:, clipped], 0.0)
                Xl[:, clipped] = Xc
                Yl[:, clipped] = G @ Xc - Cl[:, clipped]
            kkt = np.max(np.abs(np.minimum(Xl, Yl)), axis=0, initial=0.0) / cnorm[live]
            certified[live[done]] = (kkt[done] <= _ACCEPT) & ~failed[done]
        if whole:
            X = Xl
        else:
            X[:, live] = Xl
        keep = ~done
        live, infeasible, count = live[keep], infeasible[:, keep], count[keep]
        Pl = Pl[:, keep]
        exchange_columns(P, Pl, live, infeasible, count, best, budget, n)
    return X, n_iter, certified, factorizations


def _grouped_solve(G, C, P):
    """Solve G_FF x_F = c_F for every column, one Cholesky per distinct passive set.

    Columns are grouped by their passive set packed into bytes (np.unique on the packed
    rows), so a group costs one factorization and one multi-right-hand-side solve.
    Returns (X, failed_columns, number_of_groups).
    """
    n, k = C.shape
    X = np.zeros((n, k))
    failed = np.zeros(k, dtype=bool)
    packed = np.ascontiguousarray(np.packbits(P, axis=0).T)
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(first.size + 1))
    sizes = np.diff(bounds)
    # Passive sets held by few columns are gathered in stacks (bucketed by passive-set size
    # so nothing is padded) and solved one Cholesky each; shared ones get one Cholesky per
    # group.
    lone = np.flatnonzero(sizes < _SHARED)
    if lone.size:
        cols = order[sizes[inverse[order]] < _SHARED]
        rest = _stacked_solve(G, C, P, cols, X)
        failed[rest] = True
    for g in np.flatnonzero(sizes >= _SHARED):
        cols = order[bounds[g]:bounds[g + 1]]
        idx = np.flatnonzero(P[:, first[g]])
        if idx.size == 0:
            continue
        L, info = lapack.dpotrf(G[np.ix_(idx, idx)], lower=True, clean=False,
                                overwrite_a=True)
        d = np.diagonal(L)
        if info != 0 or float(np.min(d)) ** 2 < _CHOL_PIVOT * float(np.max(d)) ** 2:
            failed[cols] = True
            continue
        sol, _ = lapack.dpotrs(L, C[np.ix_(idx, cols)], lower=True)
        X[np.ix_(idx, cols)] = sol
    return X, failed, first.size


def _stacked_solve(G, C, P, cols, X):
    """Solve the columns ``cols`` one system each, stacked by passive-set size.

    Each stack of Gram blocks is gathered by one flat ``take`` of G (the two broadcast index
    arrays of ``G[i[:, :, None], i[:, None, :]]`` measured 3x slower) and factored by one
    ``dposv`` per column in place: at 50 unknowns LAPACK's Cholesky solve plus the call costs
    15 us, against 25 us per matrix for the LU of numpy's batched ``linalg.solve``. Stacks are
    cut to stay in cache. Writes into X; returns the columns whose Cholesky failed (they are
    then left to the caller's fallback).
    """
    n = G.shape[0]
    g_flat = G.ravel()
    dposv = lapack.dposv
    bad = []
    sizes = np.count_nonzero(P[:, cols], axis=0)
    order = np.argsort(sizes, kind="stable")
    cols, sizes = cols[order], sizes[order]
    edges = np.flatnonzero(np.diff(sizes)) + 1
    for part in np.split(np.arange(cols.size), edges):
        s = int(sizes[part[0]])
        if s == 0:
            continue
        step = max(1, _STACK_ENTRIES // (s * s))
        for lo in range(0, part.size, step):
            cb = cols[part[lo:lo + step]]
            idx = np.nonzero(P[:, cb].T)[1].reshape(cb.size, s)
            flat = (idx * n)[:, :, None] + idx[:, None, :]
            Gs = g_flat.take(flat)
            rhs = C[idx, cb[:, None]]
            # Gs[i] is symmetric, so its transpose is the Fortran-ordered block that LAPACK
            # factors in place, without a copy.
            for i, (block, r) in enumerate(zip(Gs.transpose(0, 2, 1), rhs)):
                _, sol, info = dposv(block, r, lower=True, overwrite_a=True, overwrite_b=True)
                if info:
                    bad.append(cb[i:i + 1])
                    r[:] = 0.0
                else:
                    r[:] = sol  # already there when LAPACK wrote in place (the usual case)
            X[idx, cb[:, None]] = rhs
    return np.concatenate(bad) if bad else np.zeros(0, dtype=np.intp)
