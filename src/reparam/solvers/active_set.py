"""Exact non-negative least squares by active-set methods.

``active_set_nnls(A, b)`` solves ``min ||A x - b||_2  s.t.  x >= 0`` exactly (up to rounding),
for one right-hand side or many, and returns a small record that says which path ran.

Four paths, tried in order until one certifies its answer with the KKT residual
``||min(x, g)||_inf / ||A^T b||_inf`` (``g = A^T (A x - b)``):

1. **Block principal pivoting on the Gram matrix** (when ``m >= n`` or a Gram pair is given):
   Kim & Park, "Fast nonnegative matrix factorization: an active-set-like method and
   comparisons", SIAM J. Sci. Comput. 33 (2011), Algorithm 2 (one right-hand side) and
   Algorithm 3 (many), with the Júdice & Pires (1994) backup rule that flips a single
   variable when the number of infeasible variables stops decreasing, which guarantees
   termination. Right-hand sides that share a passive set are solved together with one
   Cholesky factorization, as in Van Benthem & Keenan, "Fast algorithm for the solution of
   large-scale non-negativity-constrained least squares problems", J. Chemometrics 18 (2004).
   Many right-hand sides first guess their passive sets by a few rounds of the same pivoting
   with inexact solves: conjugate-gradient steps on every column's passive system at once,
   in single precision, one Gram-matrix product per step for a chunk of columns
   (``_inexact_pivoting``). With that start nearly every column needs one exact float64
   factorization, of its final passive set.
2. **Lawson–Hanson on the Gram matrix** (when block pivoting fails, typically because its
   passive sets grow ill-conditioned, as on a Gaussian blur): the same algorithm as 3., with a
   Cholesky factor of G_FF extended on entry and downdated on exit by Givens rotations; its
   gradient costs one product with the |F| rows of G, kept contiguous as variables enter
   (``_GramRows``), not a pass over A. Certified with the gradient computed from A.
3. **Lawson–Hanson on the columns of A** (wide problems, ``m < n``, where the passive set of
   block pivoting can outgrow rank(A); and the fallback when the Gram paths meet an
   ill-conditioned block): Lawson & Hanson, *Solving Least Squares Problems* (1974), ch. 23,
   Algorithm NNLS, with a thin QR factorization of ``A[:, F]`` that is updated, not recomputed:
   columns enter, up to 16 at a time, by block classical Gram–Schmidt with
   reorthogonalization and leave by the Givens sweep of Lawson & Hanson
   (``scipy.linalg.qr_delete``, compiled). The passive set never holds more than rank(A)
   columns and the conditioning is that of ``A[:, F]``, not of its square.
4. ``scipy.optimize.nnls`` as the last resort.

Which path runs first (one right-hand side): problems with n <= 64, and wide ones with
m n < 60 000, go straight to ``scipy.optimize.nnls``, whose compiled loop is faster there
(measured); m >= n problems whose random sample of 64 columns is numerically dependent
(first-kind integral equations such as Shaw's) skip the Gram path, which could only fail. A
warm start ``x0`` or a ``gram`` pair always keeps the work in this module. Many right-hand
sides start from the sign pattern of the unconstrained solution, refined by the inexact rounds
when there are at least 64 columns and 32 unknowns.

Inputs arrive validated (finite float64, matching shapes); nothing here modifies them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize
from scipy.linalg import lapack, qr_delete

__all__ = ["ActiveSetOutput", "active_set_nnls"]

_EPS = np.finfo(np.float64).eps
_TINY = np.finfo(np.float64).tiny
# Stop when every gradient sign is right to this fraction of ||A^T b||_inf ...
_TOL = 1e-13
# ... and accept a path's answer only when its KKT residual is at most this.
_ACCEPT = 1e-11
# A Cholesky pivot below this fraction of the block's largest diagonal means cond(A_F) > ~1e7:
# the Gram path would lose all accuracy, so it hands over to the QR path.
_CHOL_PIVOT = 1e-14
# A column whose component orthogonal to range(A_F) is below this fraction of its norm is
# treated as dependent (Lawson & Hanson's test, with a margin).
_DEPENDENT = 1e-12
# An entering variable whose new Cholesky pivot is below this fraction of its squared column
# norm (relative distance to span(A_F) below 1e-6, so cond(G_FF) stays under ~1e12) is treated
# as dependent in the Gram Lawson-Hanson path (1e-11 measured too strict on blur 300 x 300,
# 1e-10 failed the KKT bound on blur 2000 x 2000).
_GRAM_DEPENDENT = 1e-12
# Kim & Park's number of full exchanges allowed without progress before the backup rule.
_FULL_EXCHANGES = 3
# Passive sets shared by at least this many right-hand sides get their own Cholesky.
_SHARED = 4
# Many right-hand sides: from this many columns (and unknowns) on, the passive sets are first
# guessed by rounds of block pivoting with inexact, conjugate-gradient passive solves.
_INEXACT_K = 64
_INEXACT_N = 32
_INEXACT_ROUNDS = 6
_CG_ITERS = 3
# Columns per chunk in that phase: keeps its (n, chunk) arrays in cache.
_CHUNK = 128
# Largest stack of Gram blocks gathered at once, in matrix entries (2**16 float64 = 512 KiB,
# so the stack is still in cache when LAPACK factors it: measured 12% faster than 16 MiB).
_STACK_ENTRIES = 2**16
# Below this many unknowns the compiled scipy.optimize.nnls beats any Python-level loop.
_TINY_N = 64
# Wide problems with fewer entries than this also go to scipy.optimize.nnls: measured 2-3x
# faster than the QR path at 100 x 300 and 150 x 300 (per-iteration Python overhead), while
# from 200 x 500 on the QR path is 0.8-1.0x on Gaussian right-hand sides and 7x when the
# solution is sparse (interpolation).
_SMALL_WIDE = 60_000
# Most columns entering the QR path at once: blocks of 16 measured 1.2-1.5x faster than 4 or
# min(m, n) / 4 on wide Gaussian problems (large blocks pay O(m |F| block) Gram-Schmidt work
# for columns that leave again at once).
_QR_BLOCK = 16
# From this many unknowns on, m >= n problems get a cheap ill-conditioning probe first.
_PROBE_N = 256
_PROBE_COLUMNS = 64


@dataclass
class ActiveSetOutput:
    """What ``active_set_nnls`` returns.

    x : (n,) or (n, k) float64, >= 0
    n_iter : pivoting / outer iterations, an int or one per column
    converged : bool or one per column
    message : which path produced x and why an earlier one was left
    path : the kernel that produced x: "block-pivoting", "lawson-hanson-gram",
        "lawson-hanson-qr", "scipy", or for many right-hand sides "block-pivoting" possibly
        followed by "+columns" when some columns were finished one at a time
    """

    x: np.ndarray
    n_iter: np.ndarray | int
    converged: np.ndarray | bool
    message: str
    path: str = ""


def active_set_nnls(A, b, *, x0=None, max_iter=None, gram=None) -> ActiveSetOutput:
    """Solve ``min ||A x - b||_2`` subject to ``x >= 0`` exactly.

    Parameters
    ----------
    A : (m, n) float64 ndarray
    b : (m,) or (m, k) float64 ndarray
        One right-hand side, or k of them (solved together, see the module docstring).
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
    amax = float(np.max(np.abs(A))) if A.size else 1.0
    bmax = float(np.max(np.abs(b))) if b.size else 1.0
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
    notes = []
    passive0 = None if x0 is None else np.asarray(x0) > 0
    if x0 is None and gram is None and (n <= _TINY_N or (m < n and m * n < _SMALL_WIDE)):
        return _scipy_only(A, b, n, m, max_iter)
    block = None
    if gram is None and m >= n and n >= _PROBE_N and _looks_ill_conditioned(A):
        block = 1  # neighbouring columns are nearly parallel: blocks would be rejected
        notes.append("a sample of columns is numerically dependent, so the Gram path was "
                     "skipped")
    elif gram is not None or m >= n:
        G, c = gram if gram is not None else (A.T @ A, A.T @ b)
        x, it, ok, why = _bpp_single(G, c, passive0, max_iter)
        if ok:
            return ActiveSetOutput(x, it, True, f"block principal pivoting: {it} rounds",
                                   "block-pivoting")
        notes.append(f"block principal pivoting stopped after {it} rounds ({why})")
        if why.startswith("Cholesky"):
            block = 1  # ill-conditioned: near-parallel columns would make blocks bounce
        # Lawson-Hanson keeps F small and well-conditioned where block pivoting's full
        # exchanges did not, and on the Gram matrix it never passes over A.
        x, it, ok, why = _lawson_hanson_gram(G, c, passive0, 3 * max_iter)
        # Certified on A itself: its gradient carries less rounding than the Gram pair's, so
        # a finish that the Gram gradient could not certify may still pass.
        if (ok or why.startswith("KKT")) and _kkt(A, b, x) <= _ACCEPT:
            return ActiveSetOutput(x, it, True, "; ".join(notes) + "; fell back to "
                                   f"Lawson-Hanson on the Gram matrix: {it} iterations",
                                   "lawson-hanson-gram")
        notes.append(f"Lawson-Hanson on the Gram matrix stopped after {it} iterations "
                     f"({why or 'KKT residual on A above the bound'})")
    x, it, ok, why = _lawson_hanson_qr(A, b, passive0, 3 * max_iter, block)
    if ok:
        msg = f"Lawson-Hanson with QR updates: {it} iterations"
        if notes:
            msg = "; ".join(notes) + "; fell back to " + msg
        return ActiveSetOutput(x, it, True, msg, "lawson-hanson-qr")
    notes.append(f"Lawson-Hanson with QR updates stopped after {it} iterations ({why})")
    try:
        x_sp, _ = scipy.optimize.nnls(A, b, maxiter=3 * max_iter)
        ok_sp = True
    except RuntimeError:
        x_sp, ok_sp = x, False
    if ok_sp or _kkt(A, b, x_sp) <= _kkt(A, b, x):
        x = x_sp
    msg = "; ".join(notes) + "; fell back to scipy.optimize.nnls"
    return ActiveSetOutput(np.maximum(x, 0.0), it, bool(ok_sp), msg, "scipy")


def _scipy_only(A, b, n, m, max_iter):
    """Small problems, and wide ones with few columns per row, where the compiled
    Lawson–Hanson of scipy.optimize.nnls measured faster than any path here (it makes about
    one addition per iteration with no Python overhead)."""
    why = f"n = {n} <= {_TINY_N}" if n <= _TINY_N else f"wide {m} x {n} with m n < {_SMALL_WIDE}"
    try:
        x, _ = scipy.optimize.nnls(A, b, maxiter=3 * max_iter)
        ok, tail = True, ""
    except RuntimeError:
        x, ok = np.zeros(n), False
        tail = "; it hit its iteration cap"
    msg = f"{why}: ran compiled scipy.optimize.nnls (Lawson-Hanson), the fastest here{tail}"
    return ActiveSetOutput(x, 0, ok, msg, "scipy")


def _looks_ill_conditioned(A, sample=_PROBE_COLUMNS, seed=0):
    """Cheap test for first-kind-integral-equation-like matrices (Shaw, blur, ...).

    A QR of ``sample`` random columns: if they are numerically dependent (diagonal of R
    below 1e-7 of its largest entry), A^T A is hopeless in double precision (cond > 1e14)
    and the Gram path would only cost time before failing.
    """
    rng = np.random.default_rng(seed)
    cols = np.sort(rng.choice(A.shape[1], size=min(sample, A.shape[1]), replace=False))
    V = A[:, cols]
    V = V / np.maximum(np.linalg.norm(V, axis=0), _TINY)
    d = np.abs(np.diagonal(np.linalg.qr(V, mode="r")))
    return bool(d.min() < 1e-7 * d.max())


def _kkt(A, b, x):
    g = A.T @ (A @ x - b)
    return float(np.max(np.abs(np.minimum(x, g)), initial=0.0)
                 / max(float(np.max(np.abs(A.T @ b), initial=0.0)), _TINY))


def _bpp_single(G, c, passive, max_iter):
    """Block principal pivoting (Kim & Park 2011, Alg. 2) on the normal equations.

    Returns (x, n_rounds, certified, reason).
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
        x, why = _passive_solve(G, c, passive)
        if why:
            return x, it, False, why
        y = G @ x - c
        infeasible = np.where(passive, x < -tol_x, y < -tol_y)
        count = int(np.count_nonzero(infeasible))
        if count == 0:
            np.maximum(x, 0.0, out=x)
            g = G @ x - c
            kkt = float(np.max(np.abs(np.minimum(x, g)), initial=0.0)) / cnorm
            if kkt <= _ACCEPT:
                return x, it, True, ""
            return x, it, False, f"KKT residual {kkt:.1e} after the finish"
        if count < best:
            best, budget = count, _FULL_EXCHANGES
            passive ^= infeasible
        elif budget > 0:
            budget -= 1
            passive ^= infeasible
        else:  # Júdice–Pires backup rule: flip the infeasible variable of largest index
            j = np.flatnonzero(infeasible)[-1]
            passive[j] = not passive[j]
    return np.maximum(x, 0.0), max_iter, False, "iteration cap"


def _passive_solve(G, c, passive):
    """x with x_F = G_FF^{-1} c_F and x = 0 elsewhere, by Cholesky; reason on failure."""
    x = np.zeros(c.size)
    idx = np.flatnonzero(passive)
    if idx.size == 0:
        return x, ""
    GFF = G[np.ix_(idx, idx)]
    L, info = lapack.dpotrf(GFF, lower=True, clean=False, overwrite_a=True)
    if info != 0:
        return x, "Cholesky failed: the Gram block is not positive definite"
    d = np.diagonal(L)
    if float(np.min(d)) ** 2 < _CHOL_PIVOT * float(np.max(d)) ** 2:
        return x, "Cholesky pivot too small: the Gram block is ill-conditioned"
    xF, info = lapack.dpotrs(L, c[idx], lower=True)
    x[idx] = xF
    return x, ""


def _lawson_hanson_gram(G, c, passive0, max_iter):
    """Lawson & Hanson (1974) NNLS on the normal equations, with a Cholesky factor of G_FF
    that is extended, not recomputed, when a variable enters.

    The fallback of block principal pivoting when its passive sets grow ill-conditioned
    (Gaussian blur, ...): Lawson–Hanson keeps F small and adds one variable at a time, so the
    Cholesky factor of its G_FF stays usable long after block pivoting's is not. An entering
    column whose new pivot is below ``_GRAM_DEPENDENT`` of its squared norm is numerically
    dependent on F and waits (as in Lawson & Hanson's test) until a variable leaves. The
    gradient costs one product with the |F| rows of G, not a pass over A: measured 3x faster
    than the QR path on the blur benchmark. Returns (x, n_outer, certified, reason).
    """
    n = c.size
    cnorm = max(float(np.max(np.abs(c), initial=0.0)), _TINY)
    tol_w = _TOL * cnorm
    diag = np.diag(G).copy()
    x = np.zeros(n)
    passive = np.zeros(n, dtype=bool)
    blocked = np.zeros(n, dtype=bool)
    F = np.zeros(0, dtype=np.intp)
    L = np.zeros((0, 0))
    if passive0 is not None and passive0.any():
        F0 = np.flatnonzero(passive0)
        L0 = _gram_cholesky(G, F0)
        if L0 is not None:
            F, L = F0, L0
            passive[F] = True
            x, L, F, _ = _lh_gram_inner(G, c, x, L, F, passive, blocked)
    rows = _GramRows(G)
    w = rows.gradient(c, x, F)
    for it in range(1, max_iter + 1):
        cand = np.where(passive | blocked, -np.inf, w)
        j = int(np.argmax(cand))
        if cand[j] <= tol_w:
            kkt = float(np.max(np.abs(np.minimum(x, -w)), initial=0.0)) / cnorm
            if kkt <= _ACCEPT:
                return x, it, True, ""
            return x, it, False, f"KKT residual {kkt:.1e} at the finish"
        s = F.size
        ell = _lower_solve(L, G[F, j]) if s else np.zeros(0)
        d2 = diag[j] - float(ell @ ell)
        if d2 <= _GRAM_DEPENDENT * diag[j]:
            blocked[j] = True
            continue
        Ln = np.zeros((s + 1, s + 1))
        Ln[:s, :s] = L
        Ln[s, :s] = ell
        Ln[s, s] = np.sqrt(d2)
        L, F = Ln, np.append(F, j)
        passive[j] = True
        x, L, F, entered = _lh_gram_inner(G, c, x, L, F, passive, blocked, j)
        if not entered:  # rounding made its first step non-positive: set it aside
            blocked[j] = True
        w = rows.gradient(c, x, F)
    return x, max_iter, False, "iteration cap"


class _GramRows:
    """The rows of G that Lawson–Hanson's gradient ``c - G[F] x_F`` reads, kept contiguous.

    Gathering G[F] (|F| x n) on every iteration dominated Lawson–Hanson on a 2000 x 2000 blur
    (with the Givens downdates, this cache took that solve from 3.1 s to 1.4 s on one core); a
    variable's row is copied here once, when it first enters, and keeps its slot while it is
    passive or leaves and comes back. The buffer is compacted to the current F when full.
    """

    def __init__(self, G):
        self.G = G
        n = G.shape[0]
        self.slot = np.full(n, -1, dtype=np.intp)
        self.buf = np.empty((min(n, 64), n))
        self.used = 0

    def gradient(self, c, x, F):
        if F.size == 0:
            return c.copy()
        new = F[self.slot[F] < 0]
        if self.used + new.size > self.buf.shape[0]:
            self._compact(F, new.size)
        if new.size:
            self.slot[new] = np.arange(self.used, self.used + new.size)
            self.buf[self.used:self.used + new.size] = self.G[new]
            self.used += new.size
        xs = np.zeros(self.used)
        xs[self.slot[F]] = x[F]
        return c - xs @ self.buf[:self.used]

    def _compact(self, F, extra):
        held = F[self.slot[F] >= 0]
        need = held.size + extra
        cap = self.buf.shape[0]
        if need > cap // 2:
            cap = min(self.G.shape[0], max(2 * need, cap))
        buf = np.empty((cap, self.G.shape[0]))
        buf[:held.size] = self.buf[self.slot[held]]
        self.slot[:] = -1
        self.slot[held] = np.arange(held.size)
        self.buf, self.used = buf, held.size


def _lower_solve(L, y):
    """L^{-1} y for a lower-triangular L in either memory order, without copying L (LAPACK
    reads a C-ordered L as the Fortran-ordered upper triangle L^T)."""
    if L.flags.f_contiguous:
        return lapack.dtrtrs(L, y, lower=True)[0]
    return lapack.dtrtrs(L.T, y, lower=False, trans=1)[0]


def _cholesky_solve(L, y):
    """(L L^T)^{-1} y for a lower-triangular L in either memory order, without copying L."""
    if L.flags.f_contiguous:
        return lapack.dpotrs(L, y, lower=True)[0]
    return lapack.dpotrs(L.T, y, lower=False)[0]


def _gram_cholesky(G, F):
    """Lower Cholesky factor of G_FF, or None when it is not numerically positive definite."""
    L, info = lapack.dpotrf(G[np.ix_(F, F)], lower=True, clean=True, overwrite_a=True)
    if info != 0:
        return None
    d = np.diagonal(L)
    if float(np.min(d)) ** 2 < _CHOL_PIVOT * float(np.max(d)) ** 2:
        return None
    return L


def _step_to_boundary(x, F, z, neg, passive):
    """Lawson & Hanson's interpolation step: move x_F toward the unconstrained point z as far
    as feasibility allows, zero the variables that reach the boundary (at least the first
    blocker, so each inner iteration drops one), and take them out of the passive set.
    Updates ``x`` and ``passive`` in place; returns the boolean mask of dropped positions."""
    xF = x[F]
    ratio = xF[neg] / (xF[neg] - z[neg])
    xF = xF + float(np.min(ratio)) * (z - xF)
    drop = xF <= 0
    drop[np.flatnonzero(neg)[np.argmin(ratio)]] = True
    x[F] = np.where(drop, 0.0, xF)
    passive[F[drop]] = False
    return drop


def _lh_gram_inner(G, c, x, L, F, passive, blocked, entering=-1):
    """Lawson–Hanson inner loop on the normal equations: move toward G_FF^{-1} c_F, dropping
    the variables that reach zero first, with a downdate of the factor after each drop.
    Returns (x, L, F, whether ``entering`` is still passive)."""
    stayed = True
    while F.size:
        z = _cholesky_solve(L, c[F])
        neg = z <= 0
        if not neg.any():
            x[F] = z
            return x, L, F, stayed
        drop = _step_to_boundary(x, F, z, neg, passive)
        if entering >= 0 and drop[F == entering].any():
            stayed = False
        F = F[~drop]
        blocked[:] = False
        L = _chol_remove(L, drop)
    return x, np.zeros((0, 0)), F, stayed


def _chol_remove(L, drop):
    """Cholesky factor of G_FF with the variables marked in ``drop`` removed.

    With U = L^T (G_FF = U^T U), removing a variable deletes a column of U and leaves it upper
    Hessenberg from there on; the Givens sweep of ``scipy.linalg.qr_delete`` (compiled,
    O(|F|^2) per variable, applied to an identity it then discards) makes it triangular
    again. Measured 5x faster than a QR of the trailing block at |F| = 350.
    """
    U = np.array(L.T, order="F")  # the sweep works in place: never on the caller's L
    for k in np.flatnonzero(drop)[::-1]:
        s = U.shape[1]
        if k == s - 1:
            U = U[:k, :k]
            continue
        _, R = qr_delete(np.eye(s, order="F"), np.asfortranarray(U), int(k), 1, which="col",
                         overwrite_qr=True, check_finite=False)
        U = R[:s - 1]
    return np.ascontiguousarray(U.T)


def _lawson_hanson_qr(A, b, passive0, max_iter, block=None):
    """Lawson & Hanson (1974) NNLS with an updated thin QR of A[:, F].

    Variables enter in blocks of up to ``block`` (the most negative gradients); a block that
    makes no progress falls back to single entries, which is the classical algorithm and
    terminates. Returns (x, n_outer, certified, reason).
    """
    m, n = A.shape
    w = A.T @ b  # minus the gradient at x = 0
    cnorm = max(float(np.max(np.abs(w), initial=0.0)), _TINY)
    tol_w = _TOL * cnorm
    col_norm = np.sqrt(np.einsum("ij,ij->j", A, A))
    x = np.zeros(n)
    F = np.zeros(0, dtype=np.intp)
    Q = np.zeros((m, 0))
    R = np.zeros((0, 0))
    blocked = np.zeros(n, dtype=bool)
    passive = np.zeros(n, dtype=bool)
    if block is None:
        block = max(1, min(m, n, _QR_BLOCK))
    width = min(block, 4)
    refreshed = False
    if passive0 is not None and passive0.any():
        cand = np.flatnonzero(passive0)
        Q, R, F, _ = _qr_add(A, Q, R, F, cand, col_norm)
        passive[F] = True
        x, Q, R, F, passive = _lh_inner(A, b, x, Q, R, F, passive)
        w = A.T @ (b - A[:, F] @ x[F])
    f_prev = np.inf
    for it in range(1, max_iter + 1):
        cand_mask = (~passive) & (~blocked) & (w > tol_w)
        if not cand_mask.any():
            kkt = float(np.max(np.abs(np.minimum(x, -w)), initial=0.0)) / cnorm
            if kkt <= _ACCEPT:
                return x, it, True, ""
            if refreshed:
                return x, it, False, f"KKT residual {kkt:.1e} at the finish"
            # Rounding has built up in the updated factors: refactor once and go on.
            refreshed = True
            Q, R = np.linalg.qr(A[:, F])
            blocked[:] = False
            x, Q, R, F, passive = _lh_inner(A, b, x, Q, R, F, passive)
            w = A.T @ (b - A[:, F] @ x[F])
            continue
        cand = np.flatnonzero(cand_mask)
        if cand.size > width:
            cand = cand[np.argpartition(-w[cand], width - 1)[:width]]
        cand = cand[np.argsort(-w[cand], kind="stable")]
        s_before = F.size
        Q, R, F, dependent = _qr_add(A, Q, R, F, cand, col_norm)
        blocked[dependent] = True
        if F.size == s_before:
            width = max(1, width // 4)
            continue
        added = F[s_before:]
        passive[added] = True
        x, Q, R, F, passive = _lh_inner(A, b, x, Q, R, F, passive, blocked)
        # x_F solves the least-squares problem on F, so the residual is b's part orthogonal
        # to range(Q): no gather of A[:, F] needed.
        r = b - Q @ (Q.T @ b) if F.size else b.copy()
        f = float(r @ r)
        # Grow the block while whole blocks enter and stay; shrink it when candidates turn out
        # dependent or are dropped at once (then single entries: the classical algorithm).
        if f >= f_prev or dependent.size or not passive[added].all():
            width = max(1, width // 4)
        else:
            width = min(block, 2 * width)
        f_prev = min(f, f_prev)
        w = A.T @ r
    return x, max_iter, False, "iteration cap"


def _lh_inner(A, b, x, Q, R, F, passive, blocked=None):
    """Lawson–Hanson inner loop: move toward the least-squares point on F, dropping blockers."""
    while F.size:
        # R.T of the C-ordered R is the Fortran-ordered lower triangle: LAPACK reads it
        # without a copy.
        z, _ = lapack.dtrtrs(R.T, Q.T @ b, lower=True, trans=1)
        neg = z <= 0
        if not neg.any():
            x[F] = z
            return x, Q, R, F, passive
        drop = _step_to_boundary(x, F, z, neg, passive)
        Q, R = _qr_remove(Q, R, drop)
        F = F[~drop]
        if blocked is not None:
            blocked[:] = False
    return x, Q, R, F, passive


def _qr_remove(Q, R, drop):
    """Thin QR of A[:, F] with the columns marked in ``drop`` removed.

    Each deleted column leaves R upper Hessenberg from its position on; Lawson & Hanson's
    Givens sweep restores the triangle and updates Q, O(m (|F| - k)) per column, in
    ``scipy.linalg.qr_delete``'s compiled loop (a QR of the whole trailing block and a product
    with Q cost O(m (|F| - k)^2) and measured 20x slower at 500 x 480). Columns are deleted
    from the last to the first so the positions of the others do not move.
    """
    for k in np.flatnonzero(drop)[::-1]:
        if k == R.shape[1] - 1:
            Q, R = Q[:, :k], R[:k, :k]
        else:
            Q, R = qr_delete(Q, R, int(k), 1, which="col", overwrite_qr=True,
                             check_finite=False)
            if R.shape[0] > R.shape[1]:  # Q was square: the full factorization came back
                Q, R = Q[:, :R.shape[1]], R[:R.shape[1]]
    return Q, R


def _qr_add(A, Q, R, F, cand, col_norm):
    """Append the independent columns of A[:, cand] to the thin QR (Q, R) of A[:, F].

    Block classical Gram–Schmidt, twice (enough for orthogonality to working precision), then
    a QR of the projected block; candidates enter up to the first numerically dependent one.
    Returns (Q, R, F, dependent_candidates).
    """
    m = A.shape[0]
    V = A[:, cand]
    s = F.size
    H = np.zeros((s, cand.size))
    for _ in range(2):
        if s:
            H2 = Q.T @ V
            V -= Q @ H2
            H += H2
    if s >= m:
        return Q, R, F, cand
    if cand.size == 1:
        rho = float(np.linalg.norm(V))
        if rho <= _DEPENDENT * col_norm[cand[0]]:
            return Q, R, F, cand
        Qn, Rn, keep, r = V / rho, np.array([[rho]]), np.array([0]), 1
    else:
        # Candidates come sorted by gradient; keep the leading ones up to the first that is
        # numerically dependent on those before it (a plain QR's diagonal says so).
        Qv, Rv = np.linalg.qr(V)
        d = np.abs(np.diagonal(Rv))
        ok = d > _DEPENDENT * col_norm[cand[: d.size]]
        r = int(np.argmin(ok)) if not ok.all() else d.size
        r = min(r, m - s)
        if r == 0:
            return Q, R, F, cand[:1]
        keep = np.arange(r)
        Qn, Rn = Qv[:, :r], Rv[:r, :r]
    k = keep.size
    Rbig = np.zeros((s + k, s + k))
    Rbig[:s, :s] = R
    Rbig[:s, s:] = H[:, keep]
    Rbig[s:, s:] = Rn
    Q = np.hstack([Q, Qn])
    dependent = cand[r:r + 1] if cand.size > 1 and r < cand.size else cand[:0]
    return Q, Rbig, np.concatenate([F, cand[keep]]), dependent


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
    if gram is not None or m >= n:
        G, C = gram if gram is not None else (A.T @ A, A.T @ B)
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
        notes.append(f"block principal pivoting: {k - todo.size} of {k} columns in at most "
                     f"{int(n_iter.max(initial=0))} rounds, {groups} passive-set "
                     "factorizations")
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
    path = "block-pivoting" if gram is not None or m >= n else ""
    if todo.size:
        path = f"{path}+columns" if path else "columns"
    return ActiveSetOutput(X, n_iter, converged, "; ".join(notes), path)


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
    """
    k = C.shape[1]
    P = X_ls > 0
    g_scale = max(float(np.max(np.diag(G), initial=0.0)), _TINY)
    c_scale = np.maximum(np.max(np.abs(C), axis=0, initial=0.0), _TINY)
    G = (G / g_scale).astype(dtype)
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
        better = count < best[live]
        best[live[better]] = count[better]
        budget[live[better]] = _FULL_EXCHANGES
        full = better | (budget[live] > 0)
        budget[live[full & ~better]] -= 1
        flip = infeasible & full
        backup = np.flatnonzero(~full)
        if backup.size:  # Júdice–Pires: flip only the infeasible variable of largest index
            last = n - 1 - np.argmax(infeasible[::-1, backup], axis=0)
            flip[last, backup] = True
        P[:, live] = Pl ^ flip
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
