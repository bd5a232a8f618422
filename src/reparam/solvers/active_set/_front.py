"""The front of the active-set solver: scaling, and the order in which the paths are tried.

See the package docstring (:mod:`reparam.solvers.active_set`) for the paths and the order.
Each path reports how it stopped as an :class:`~.outcome.Exit`; the next step is chosen from
its :class:`~.outcome.Reason`, and the attempts are kept in ``ActiveSetOutput.trail``.
"""

from __future__ import annotations

import numpy as np
import scipy  # scipy.optimize loads on first use (a lazy SciPy submodule): 0.2 s at import
from scipy.linalg import lapack

from ..._linalg import abs_max
from ._common import _ACCEPT, _TINY
from .block_pivoting import _bpp_single
from .compressed import compressed_nnls
from .lawson_hanson_gram import _lawson_hanson_gram
from .lawson_hanson_qr import _lawson_hanson_qr
from .many_rhs import (
    _CG_ITERS,
    _FUSED_ROUNDS,
    _INEXACT_K,
    _INEXACT_N,
    _INEXACT_ROUNDS,
    _bpp_multi,
    _inexact_pivoting,
    _unconstrained,
)
from .outcome import CERTIFIED, ITERATION_CAP, ActiveSetOutput, Attempt, Exit, Path, Reason
from .small import all_columns_bpp, compiled_kernel
from .working_set import _compiled_downdate, _working_set

# Below this many unknowns the compiled scipy.optimize.nnls beats any Python-level loop.
_TINY_N = 64
# Wide problems with fewer entries than this also go to scipy.optimize.nnls. Where the working
# set runs compiled (its packed factor, working_set._WS_PACKED), scipy's loop is faster only
# on the smallest: the working set measured (medians of 20 solves, one thread, 2026-12)
# 1.1-1.5x slower on Gaussian right-hand sides at 30 x 90, 50 x 80 and 60 x 100 (a solution
# with about m entries), even at 40 x 200 and 70 x 120, but 0.45-0.73x the time from 100 x 150
# and 150 x 200 on, 0.23-0.33x at 50 x 1000 and 100 x 500, and 0.13-0.5x where the solution
# is sparse. Its numpy version (per-round Python overhead) measured 1.7-2.5x slower than scipy
# at 100 x 300 and 150 x 300 and as fast at 100 x 500, and 1.3-2.7x faster from 60 x 700 and
# 50 x 1000 on: without the extension the bound is _SMALL_WIDE_NUMPY.
_SMALL_WIDE = 10_000
_SMALL_WIDE_NUMPY = 60_000
# Many right-hand sides with at most this many unknowns: block pivoting on all columns at once
# with batched masked Cholesky solves (``small.all_columns_bpp``); measured 1.5-3x faster than
# the grouped and stacked solves at n = 16-20, where most passive sets differ. Where the
# compiled kernel is built, every n it takes (up to 256) goes there: one column at a time in C,
# measured 1.5x faster than the grouped solves at 400 x 200 (one factorization per column and
# round either way, without the Python and gathering costs).
_VECTOR_N = 32
# Rounds the working set gets on an m >= n problem to let a whole block of columns enter: the
# Gaussian problems of the benchmark (400 x 200 to 1500 x 1500) do so by the third round, a
# Gaussian blur (neighbouring columns nearly parallel) never, and its columns then enter a
# few per round, 5x slower in all than the Gram path, to which it hands over.
_WS_PATIENCE = 6
# m >= n problems go to the working set first only when near square: measured (CPU time,
# one thread) 0.82-0.87x the time of the Gram path from 1000 x 500 to 1500 x 1500, equal at
# 400 x 200, and 1.45x at 5000 x 200, where A^T A is cheap and every entering block pays
# products of length m.
_WS_TALL = 2
# From this many unknowns on, m >= n problems get a cheap ill-conditioning probe first.
_PROBE_N = 256
_PROBE_COLUMNS = 64
# ... and, when its random sample is well conditioned, a probe of this many adjacent columns:
# a blur's or a discretized kernel's neighbouring columns are nearly parallel while distant
# ones are not. When the smallest pivot of their unit-scaled Gram block is below
# _NEIGHBOUR_PIVOT of the largest, block pivoting is skipped and the problem goes to
# Lawson-Hanson on the Gram matrix after at most _WS_NEIGHBOUR_PATIENCE working-set rounds:
# on such problems the working set used to stop after its 6 rounds and block pivoting failed
# on a Gram block that is not numerically positive definite, or cycled. Measured (minimum
# pivot; CPU time of the old route -> straight to the Gram path), blur 500 / 1000 / 2000:
# sigma = 1.25 (0.17): 16 -> 43 ms at n = 500, block pivoting finished; sigma = 1.5 (0.062):
# 0.75 s -> 28 ms, 6.7 s -> 98 ms, 9 s -> 0.6 s (block pivoting ran to its cap); sigma = 2-3
# (7e-3 to 1e-4): 5-25% faster; sigma = 4 (the benchmark, below 1e-7): 0.51 -> 0.36 s at
# n = 2000. The Gaussian problems of the benchmark: 0.96-1.0.
_NEIGHBOURS = 16
_NEIGHBOUR_PIVOT = 0.1
# Rounds the working set still gets on such problems (when its shape suits it), for those
# whose answer has a few columns: on a cumulative-sum matrix (800 x 400, nearly parallel
# neighbours, 2 columns in the answer) it certifies in 4 rounds, 2x faster than forming the
# Gram matrix; on a blur it stops there (3-6% of the solve, measured against no rounds) and
# its set starts the Gram Lawson-Hanson.
_WS_NEIGHBOUR_PATIENCE = 4


def active_set_nnls(A, b, *, x0=None, max_iter=None, gram=None) -> ActiveSetOutput:
    """Solve ``min ||A x - b||_2`` subject to ``x >= 0`` exactly.

    Parameters
    ----------
    A : (m, n) float64 ndarray
    b : (m,) or (m, k) float64 ndarray
        One right-hand side, or k of them (solved together, see the package docstring).
    x0 : (n,) or (n, k) ndarray, optional
        Warm start, ``>= 0``; its support seeds the passive set.
    max_iter : int, optional
        Cap on pivoting rounds (and on Lawson–Hanson outer iterations, ours or
        scipy.optimize.nnls's, times 3). Default ``max(50, 3 n)``.
    gram : tuple (A.T @ A, A.T @ b), optional
        Precomputed Gram pair, reused across calls with the same A.

    Returns
    -------
    ActiveSetOutput
        ``trail`` lists the paths tried, each with the :class:`~.outcome.Exit` that says why
        it was left; the last one produced ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.solvers.active_set import active_set_nnls
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((120, 80))
    >>> out = active_set_nnls(A, A @ np.abs(rng.standard_normal(80)))
    >>> out.path, bool(out.converged), bool(np.all(out.x >= 0))
    ('block-pivoting', True, True)
    >>> [(attempt.path.value, attempt.exit.reason.value) for attempt in out.trail]
    [('block-pivoting', 'certified')]
    """
    single = b.ndim == 1
    n = A.shape[1]
    if max_iter is None:
        max_iter = max(50, 3 * n)
    A, b, gram, unscale = _rescale(A, b, gram)
    if single:
        out = _solve_single(A, b, x0, max_iter, gram)
    else:
        out = _solve_multi(A, b, x0, max_iter, gram)
    if unscale != 1.0:
        out.x *= unscale
    return out


# --------------------------------------------------------------------------------------------
# scaling


def _rescale(A, b, gram):
    """Scale A and b by powers of two so that A^T A cannot overflow or underflow.

    Exact in binary floating point, so x is unscaled without rounding. Only done when the
    magnitudes are extreme, to avoid copying A in the common case.
    """
    amax = abs_max(A) if A.size else 1.0
    bmax = abs_max(b) if b.size else 1.0
    ea = np.frexp(amax)[1] if amax > 0 else 0
    eb = np.frexp(bmax)[1] if bmax > 0 else 0
    if abs(ea) <= 200 and abs(eb) <= 200:
        return A, b, gram, 1.0
    A = np.ldexp(A, -ea)
    b = np.ldexp(b, -eb)
    if gram is not None:
        gram = (np.ldexp(gram[0], -2 * ea), np.ldexp(gram[1], -ea - eb))
    return A, b, gram, float(np.ldexp(1.0, eb - ea))


# --------------------------------------------------------------------------------------------
# one right-hand side


def _solve_single(A, b, x0, max_iter, gram):
    m, n = A.shape
    trail = []  # the paths tried, each with its exit
    notes = []
    passive0 = None if x0 is None else np.asarray(x0) > 0
    if x0 is None and gram is None and (n <= _TINY_N or (m < n and m * n < _small_wide())):
        return _scipy_only(A, b, n, m, max_iter)
    block = None
    dependent = (gram is None and m >= n and n >= _PROBE_N and _looks_ill_conditioned(A))
    neighbours = (gram is None and m >= n and n >= _PROBE_N and not dependent
                  and x0 is None and _dependent_neighbours(A))
    start = passive0  # where the Gram Lawson-Hanson starts
    if gram is None and not dependent and (m < n or (n >= _PROBE_N and m <= _WS_TALL * n)):
        # m >= n problems, which can afford the Gram matrix, go on to it when the columns
        # enter only a few at a time.
        patience = None if m < n else _WS_NEIGHBOUR_PATIENCE if neighbours else _WS_PATIENCE
        x, it, ok, stop = _working_set(A, b, passive0, 3 * max_iter, patience=patience)
        trail.append(Attempt(Path.WORKING_SET, it, stop))
        if ok:
            return _output(x, it, True, "working set (Lawson-Hanson on the columns, Cholesky "
                           f"updates): {it} rounds", trail)
        notes.append(f"the working set stopped after {it} rounds ({stop})")
        if stop.reason.ill_conditioned:
            block = 1
        elif neighbours:
            start = x > 0
    if neighbours:
        skipped = Exit(Reason.DEPENDENT_NEIGHBOURS, "adjacent columns are nearly parallel, "
                       "so block pivoting was skipped")
        trail.append(Attempt(Path.BLOCK_PIVOTING, 0, skipped))
        notes.append(skipped.text)
    if dependent:
        block = 1  # neighbouring columns are nearly parallel: blocks would be rejected
        skipped = Exit(Reason.DEPENDENT_SAMPLE, "a sample of columns is numerically dependent, "
                       "so the Gram path was skipped")
        trail.append(Attempt(Path.BLOCK_PIVOTING, 0, skipped))
        notes.append(skipped.text)
        # Dependent columns often mean a numerically low-rank A (Shaw: rank ~20 at n = 1000):
        # Lawson-Hanson on a k x n compression, certified on A, else the QR path below.
        low_rank = compressed_nnls(A, b, 3 * max_iter)
        if low_rank is not None:
            x, it, ok, stop, k = low_rank
            trail.append(Attempt(Path.COMPRESSED, it, stop))
            if ok:
                return _output(x, it, True, "; ".join(notes) + f"; A is numerically of rank "
                               f"{k}: Lawson-Hanson on its {k} x {n} compression, certified "
                               f"on A: {it} iterations", trail)
            notes.append(f"Lawson-Hanson on the rank-{k} compression of A stopped after {it} "
                         f"iterations ({stop})")
    elif gram is not None or m >= n:
        G, c = gram if gram is not None else (A.T @ A, A.T @ b)
        if neighbours:
            block = 1  # near-parallel columns would make the QR path's blocks bounce
        else:
            x, it, ok, stop = _bpp_single(G, c, passive0, max_iter)
            trail.append(Attempt(Path.BLOCK_PIVOTING, it, stop))
            if ok:
                return _output(x, it, True, f"block principal pivoting: {it} rounds", trail)
            notes.append(f"block principal pivoting stopped after {it} rounds ({stop})")
            if stop.reason.ill_conditioned:
                block = 1  # ill-conditioned: near-parallel columns would make blocks bounce
        # Lawson-Hanson keeps F small and well-conditioned where block pivoting's full
        # exchanges did not, and on the Gram matrix it never passes over A.
        x, it, ok, stop = _lawson_hanson_gram(G, c, start, 3 * max_iter)
        # Certified on A itself: its gradient carries less rounding than the Gram pair's, so
        # a finish that the Gram gradient could not certify may still pass.
        finished = ok or stop.reason is Reason.KKT_ABOVE_BOUND
        if finished and _kkt(A, b, x, c) <= _ACCEPT:
            trail.append(Attempt(Path.LAWSON_HANSON_GRAM, it, CERTIFIED))
            return _output(x, it, True, "; ".join(notes) + "; fell back to "
                           f"Lawson-Hanson on the Gram matrix: {it} iterations", trail)
        if ok:  # certified by the Gram gradient, not by A's
            stop = Exit(Reason.KKT_ABOVE_BOUND, "KKT residual on A above the bound")
        if finished:
            # Short of the bound by rounding: the QR path starts from this support (blur 2000
            # with sigma = 8: 1.4e-11 at the finish, then 485 QR iterations from x = 0).
            passive0 = x > 0
        trail.append(Attempt(Path.LAWSON_HANSON_GRAM, it, stop))
        notes.append(f"Lawson-Hanson on the Gram matrix stopped after {it} iterations ({stop})")
    x, it, ok, stop = _lawson_hanson_qr(A, b, passive0, 3 * max_iter, block)
    trail.append(Attempt(Path.LAWSON_HANSON_QR, it, stop))
    if ok:
        msg = f"Lawson-Hanson with QR updates: {it} iterations"
        if notes:
            msg = "; ".join(notes) + "; fell back to " + msg
        return _output(x, it, True, msg, trail)
    notes.append(f"Lawson-Hanson with QR updates stopped after {it} iterations ({stop})")
    try:
        x_sp, _ = scipy.optimize.nnls(A, b, maxiter=3 * max_iter)
        ok_sp = True
    except RuntimeError:
        x_sp, ok_sp = x, False
    if ok_sp or _kkt(A, b, x_sp) <= _kkt(A, b, x):
        x = x_sp
    trail.append(Attempt(Path.SCIPY, 0, Exit(Reason.FINISHED) if ok_sp else ITERATION_CAP))
    msg = "; ".join(notes) + "; fell back to scipy.optimize.nnls"
    return _output(np.maximum(x, 0.0), it, bool(ok_sp), msg, trail)


def _output(x, n_iter, converged, message, trail):
    """The output of one right-hand side; the last attempt names the path that produced x."""
    return ActiveSetOutput(x, n_iter, converged, message, trail[-1].path.value, tuple(trail))


def _scipy_only(A, b, n, m, max_iter):
    """Small problems, and wide ones with few columns per row, where the compiled
    Lawson–Hanson of scipy.optimize.nnls measured faster than any path here (it makes about
    one addition per iteration with no Python overhead)."""
    why = (f"n = {n} <= {_TINY_N}" if n <= _TINY_N
           else f"wide {m} x {n} with m n < {_small_wide()}")
    try:
        x, _ = scipy.optimize.nnls(A, b, maxiter=3 * max_iter)
        ok, tail = True, ""
    except RuntimeError:
        x, ok = np.zeros(n), False
        tail = "; it hit its iteration cap"
    msg = f"{why}: ran compiled scipy.optimize.nnls (Lawson-Hanson), the fastest here{tail}"
    stop = Exit(Reason.FINISHED) if ok else ITERATION_CAP
    return _output(x, 0, ok, msg, [Attempt(Path.SCIPY, 0, stop)])


def _small_wide() -> int:
    """The size ``m n`` below which a wide problem goes to scipy.optimize.nnls:
    :data:`_SMALL_WIDE` where the working set runs compiled, else :data:`_SMALL_WIDE_NUMPY`."""
    return _SMALL_WIDE if _compiled_downdate() else _SMALL_WIDE_NUMPY


def _looks_ill_conditioned(A, sample=_PROBE_COLUMNS, seed=0):
    """Cheap test for first-kind-integral-equation-like matrices (Shaw, blur, ...).

    The Cholesky factor of the Gram block of ``sample`` random columns, scaled to unit norm:
    if a pivot is below 1e-7 of the largest (the diagonal of R in a QR of the columns, so the
    columns are numerically dependent) or the factorization fails, A^T A is hopeless in double
    precision (cond > 1e14) and the Gram path would only cost time before failing. The Gram
    block's rounding moves a pivot by about sqrt(eps) ~ 1.5e-8 of the largest, below the
    threshold; measured 2-3.5x faster than a QR of the same columns (0.33 ms against 1.0 ms at
    1000 x 500), which mattered next to solves of about 10 ms.
    """
    rng = np.random.default_rng(seed)
    cols = np.sort(rng.choice(A.shape[1], size=min(sample, A.shape[1]), replace=False))
    return _columns_dependent(A[:, cols])


def _dependent_neighbours(A, count=_NEIGHBOURS):
    """Whether ``count`` adjacent columns from the middle of A are nearly parallel (the
    pivot test of :func:`_looks_ill_conditioned` on their Gram block, ``count^2 m`` flops,
    with the threshold ``_NEIGHBOUR_PIVOT``): the mark of a blur or another smooth kernel,
    whose columns enter Lawson-Hanson a few at a time and whose large Gram blocks are not
    numerically positive definite."""
    lo = max(0, A.shape[1] // 2 - count // 2)
    return _columns_dependent(A[:, lo:lo + count], _NEIGHBOUR_PIVOT)


def _columns_dependent(V, pivot=1e-7):
    """The pivot test of the probes: a pivot of the Cholesky factor of ``V``'s Gram block,
    scaled to unit diagonal, below ``pivot`` times the largest, or a failed factorization."""
    G = V.T @ V
    d = np.sqrt(np.maximum(np.diagonal(G), _TINY))
    G /= d
    G /= d[:, None]
    L, info = lapack.dpotrf(G, lower=True, clean=False, overwrite_a=True)
    if info != 0:
        return True
    p = np.abs(np.diagonal(L))
    return bool(p.min() < pivot * p.max())


def _kkt(A, b, x, c=None):
    """The scaled KKT residual of x on A (``c``: ``A^T b`` when known, saving a pass)."""
    g = A.T @ (A @ x - b)
    c = A.T @ b if c is None else c
    return float(np.max(np.abs(np.minimum(x, g)), initial=0.0)
                 / max(float(np.max(np.abs(c), initial=0.0)), _TINY))


# --------------------------------------------------------------------------------------------
# many right-hand sides


def _solve_multi(A, B, X0, max_iter, gram):
    m, n = A.shape
    k = B.shape[1]
    X = np.zeros((n, k))
    n_iter = np.zeros(k, dtype=np.intp)
    converged = np.zeros(k, dtype=bool)
    P0 = None if X0 is None else np.asarray(X0) > 0
    todo = np.arange(k)
    notes = []
    trail = []
    if gram is not None or m >= n:
        G, C = gram if gram is not None else (A.T @ A, A.T @ B)
        fast = None
        if n <= _VECTOR_N or compiled_kernel(n):
            start = P0
            if start is None and k >= _INEXACT_K and n >= _INEXACT_N:
                # the compiled kernel's rounds cost a factorization per column: start them
                # from the inexact rounds' guess, as the grouped path does
                X_ls = _unconstrained(G, C)
                if X_ls is not None:
                    guess = _FUSED_ROUNDS if compiled_kernel(n) else _INEXACT_ROUNDS
                    start = _inexact_pivoting(G, C, X_ls, rounds=guess)
                    notes.append(f"passive sets guessed by {guess} inexact pivoting "
                                 f"rounds ({_CG_ITERS} conjugate-gradient steps each)")
            fast = all_columns_bpp(G, C, start, max_iter)
            P0 = start
        if fast is not None:
            X, n_iter, converged = fast
            todo = np.flatnonzero(~converged)
            rounds = int(n_iter.max(initial=0))
            trail.append(Attempt(Path.BLOCK_PIVOTING, rounds, _columns_exit(todo.size, k)))
            kernel = "compiled, " if compiled_kernel(n) else ""
            notes.append(f"block principal pivoting on all columns at once ({kernel}one "
                         f"system per column): {k - todo.size} of {k} columns in at most "
                         f"{rounds} rounds")
        else:
            X, n_iter, converged, todo, P0 = _grouped_bpp(G, C, P0, k, n, max_iter, notes,
                                                          trail)
    if todo.size:
        # Wide A, or columns the Gram path could not certify: one column at a time.
        messages = set()
        for j in todo:
            x0 = None if P0 is None else np.where(P0[:, j], 1.0, 0.0)
            out = _solve_single(A, B[:, j], x0, max_iter, None)
            X[:, j], n_iter[j], converged[j] = out.x, out.n_iter, out.converged
            messages.add(out.message)
        notes.append(f"{todo.size} columns solved one at a time ("
                     + " | ".join(sorted(messages)[:3]) + ")")
        trail.append(Attempt(Path.COLUMNS, int(n_iter[todo].max()),
                             _columns_exit(int(np.count_nonzero(~converged[todo])), todo.size)))
    path = "+".join(attempt.path.value for attempt in trail)
    return ActiveSetOutput(X, n_iter, converged, "; ".join(notes), path, tuple(trail))


def _grouped_bpp(G, C, P0, k, n, max_iter, notes, trail):
    """Block pivoting with grouped and stacked solves (``many_rhs``), its passive sets
    guessed from the unconstrained solution (refined by inexact rounds for many columns).
    Returns ``(X, n_iter, converged, todo, P0)``; ``P0`` (the guess) warm-starts the columns
    left to the one-at-a-time path."""
    if P0 is None:
        X_ls = _unconstrained(G, C)
        if X_ls is not None:
            P0 = X_ls > 0
            if k >= _INEXACT_K and n >= _INEXACT_N:
                P0 = _inexact_pivoting(G, C, X_ls)
                notes.append(f"passive sets guessed by {_INEXACT_ROUNDS} inexact "
                             f"pivoting rounds ({_CG_ITERS} conjugate-gradient steps "
                             "each)")
    X, n_iter, converged, groups = _bpp_multi(G, C, P0, max_iter)
    todo = np.flatnonzero(~converged)
    trail.append(Attempt(Path.BLOCK_PIVOTING, int(n_iter.max(initial=0)),
                         _columns_exit(todo.size, k)))
    notes.append(f"block principal pivoting: {k - todo.size} of {k} columns in at most "
                 f"{int(n_iter.max(initial=0))} rounds, {groups} passive-set "
                 "factorizations")
    return X, n_iter, converged, todo, P0


def _columns_exit(left, total):
    """The exit of a path over ``total`` columns that left ``left`` of them uncertified."""
    if left == 0:
        return CERTIFIED
    return Exit(Reason.COLUMNS_LEFT, f"{left} of {total} columns not certified")

