"""Lawson–Hanson NNLS on the normal equations, with an updated Cholesky factor of G_FF.

Lawson & Hanson, *Solving Least Squares Problems* (1974), ch. 23, Algorithm NNLS, run on the
Gram pair ``(A^T A, A^T b)``: the factor of G_FF is extended on entry and downdated on exit
by Givens rotations, and the gradient costs one product with the |F| rows of G, kept
contiguous as variables enter (``_GramRows``), not a pass over A.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.linalg import blas, lapack

from ._common import _CHOL_PIVOT, _TINY, _TOL, _step_to_boundary, final_exit
from .outcome import CERTIFIED, ITERATION_CAP
from .working_set import _cholc, _compiled_downdate, packed_delete

# An entering variable whose new Cholesky pivot is below this fraction of its squared column
# norm (relative distance to span(A_F) below 1e-6, so cond(G_FF) stays under ~1e12) is treated
# as dependent in the Gram Lawson-Hanson path (1e-11 measured too strict on blur 300 x 300,
# 1e-10 failed the KKT bound on blur 2000 x 2000).
_GRAM_DEPENDENT = 1e-12
# Most variables entering in one Gram Lawson-Hanson iteration, and the first block size.
_LH_BLOCK = 32
_LH_FIRST = 8
# A candidate whose column has |cos| above this with a more violating candidate waits.
_LH_CORRELATED = 0.3


def _lawson_hanson_gram(G, c, passive0, max_iter, block=_LH_BLOCK):
    """Lawson & Hanson (1974) NNLS on the normal equations, with a Cholesky factor of G_FF
    that is extended, not recomputed, when variables enter.

    The path of ill-conditioned m >= n problems (Gaussian blur, ...), and the fallback of
    block principal pivoting when its passive sets grow ill-conditioned: Lawson–Hanson keeps
    F small and adds a few variables at a time, so the Cholesky factor of its G_FF stays
    usable long after block pivoting's is not. An entering column whose new pivot is below
    ``_GRAM_DEPENDENT`` of its squared norm is numerically dependent on F and waits (as in
    Lawson & Hanson's test) until a variable leaves. The gradient costs one product with the
    |F| rows of G, not a pass over A: measured 3x faster than the QR path on the blur
    benchmark.

    Up to ``block`` variables enter per iteration (:func:`_entering`: the most violating
    ones, each weakly correlated with those ranked above it), so that the gradient, which
    dominates an iteration, is computed once per block rather than once per variable. The
    block doubles from ``_LH_FIRST`` while every variable of a block stays and the objective
    falls, and shrinks by 4 otherwise, down to one variable per iteration: the classical
    algorithm, whose entering variable moves up and lowers the objective, so the iteration
    ends. ``block=1`` is the classical algorithm throughout. Returns (x, n_outer, certified,
    exit).
    """
    n = c.size
    cnorm = max(float(np.max(np.abs(c), initial=0.0)), _TINY)
    tol_w = _TOL * cnorm
    diag = np.diag(G).copy()
    norms = np.sqrt(np.maximum(diag, _TINY))
    x = np.zeros(n)
    passive = np.zeros(n, dtype=bool)
    blocked = np.zeros(n, dtype=bool)
    F = np.zeros(0, dtype=np.intp)
    U = PackedFactor()
    if passive0 is not None and passive0.any():
        F0 = np.flatnonzero(passive0)
        L0 = _gram_cholesky(G, F0)
        if L0 is not None:
            F, U = F0, PackedFactor.from_lower(L0)
            passive[F] = True
            x, F = _lh_gram_inner(G, c, x, U, F, passive, blocked)
    rows = _GramRows(G)
    w = rows.gradient(c, x, F)
    width = max(1, min(block, _LH_FIRST))
    f_prev = -0.5 * float(c[F] @ x[F])  # the objective minus ||b||^2 / 2, at x = G_FF^-1 c_F
    for it in range(1, max_iter + 1):
        cand = np.flatnonzero((w > tol_w) & ~passive & ~blocked)
        if not cand.size:
            end = final_exit(x, w, cnorm)
            return x, it, end is CERTIFIED, end
        added = []
        # F grows in a buffer as variables enter (np.append made a new array for each)
        grown = np.empty(F.size + width, dtype=np.intp)
        grown[:F.size] = F
        s = F.size
        for j in _entering(G, norms, w, cand, width):
            # row j of the symmetric G: contiguous, where column j would be a strided gather
            ell = U.lower_solve(G[j, grown[:s]]) if s else np.zeros(0)
            d2 = diag[j] - float(ell @ ell)
            if d2 <= _GRAM_DEPENDENT * diag[j]:
                blocked[j] = True
                continue
            U.append(ell, np.sqrt(d2))
            grown[s] = j
            s += 1
            passive[j] = True
            added.append(j)
        if not added:
            width = max(1, width // 4)
            continue
        F = grown[:s]
        x, F = _lh_gram_inner(G, c, x, U, F, passive, blocked)
        stayed = bool(passive[added].all())
        if len(added) == 1 and not stayed:
            blocked[added[0]] = True  # rounding made its first step non-positive: set aside
        f = -0.5 * float(c[F] @ x[F])
        if stayed and f < f_prev:
            width = min(block, 2 * width)
        else:
            width = max(1, width // 4)
        f_prev = min(f, f_prev)
        w = rows.gradient(c, x, F)
    return x, max_iter, False, ITERATION_CAP


def _entering(G, norms, w, cand, width):
    """The variables to enter: the ``width`` most violating candidates (largest ``w``) among
    those whose column is weakly correlated (``|cos| <= _LH_CORRELATED``) with every
    candidate of larger ``w`` among the first ``2 width``. Near-parallel neighbours (a blur's
    adjacent columns) would mostly be rejected as dependent or leave at once; columns far
    apart enter together. The first is always Lawson–Hanson's choice, the largest ``w``."""
    if width == 1 or cand.size == 1:
        return cand[np.argmax(w[cand])][None]
    top = min(cand.size, 2 * width)
    if cand.size > top:
        cand = cand[np.argpartition(-w[cand], top - 1)[:top]]
    cand = cand[np.argsort(-w[cand], kind="stable")]
    cos = np.abs(G[np.ix_(cand, cand)])
    cos /= norms[cand]
    cos /= norms[cand][:, None]
    # the largest |cos| of each candidate with those ranked above it (the entries above the
    # diagonal; a cached mask, where np.triu built one on every call)
    cos[_lower_mask(cand.size)] = 0.0
    worst = np.max(cos, axis=0)
    return cand[worst <= _LH_CORRELATED][:width]


@functools.lru_cache(maxsize=8)
def _lower_mask(size):
    """The mask of the diagonal and the entries below it, of a size x size array."""
    mask = np.tri(size, dtype=bool)
    mask.flags.writeable = False
    return mask


class _GramRows:
    """The rows of G that Lawson–Hanson's gradient ``c - G[F] x_F`` reads, kept contiguous.

    Gathering G[F] (|F| x n) on every iteration dominated Lawson–Hanson on a 2000 x 2000 blur
    (with the Givens downdates, this cache took that solve from 3.1 s to 1.4 s on one core); a
    variable's row is copied here once, when it enters, and keeps its slot while it is
    passive. The slot of a variable that leaves goes to the next one that enters, so the
    buffer holds little more than F (several variables enter and leave per iteration) and is
    never compacted, only grown when F outgrows it.
    """

    def __init__(self, G):
        self.G = G
        n = G.shape[0]
        self.slot = np.full(n, -1, dtype=np.intp)
        self.buf = np.empty((min(n, 64), n))
        self.used = 0  # rows 0 .. used-1 of buf are slots, held or free
        self.free = np.zeros(0, dtype=np.intp)

    def gradient(self, c, x, F):
        if F.size == 0:
            return c.copy()
        inF = np.zeros(self.slot.size, dtype=bool)
        inF[F] = True
        gone = np.flatnonzero((self.slot >= 0) & ~inF)
        if gone.size:  # their slots are free
            self.free = np.concatenate([self.free, self.slot[gone]])
            self.slot[gone] = -1
        new = F[self.slot[F] < 0]
        if new.size:
            reuse = min(new.size, self.free.size)
            fresh = new.size - reuse
            if self.used + fresh > self.buf.shape[0]:
                self._grow(self.used + fresh)
            slots = np.concatenate([self.free[:reuse],
                                    np.arange(self.used, self.used + fresh)])
            self.free = self.free[reuse:]
            self.used += fresh
            self.slot[new] = slots
            self.buf[slots] = self.G[new]
        xs = np.zeros(self.used)  # free slots read as zero
        xs[self.slot[F]] = x[F]
        return c - xs @ self.buf[:self.used]

    def _grow(self, need):
        n = self.G.shape[0]
        buf = np.empty((min(n, max(2 * need, self.buf.shape[0])), n))
        buf[:self.used] = self.buf[:self.used]
        self.buf = buf


_dtpsv = blas.dtpsv


def _gram_cholesky(G, F):
    """Lower Cholesky factor of G_FF, or None when it is not numerically positive definite."""
    L, info = lapack.dpotrf(G[np.ix_(F, F)], lower=True, clean=True, overwrite_a=True)
    if info != 0:
        return None
    d = np.diagonal(L)
    if float(np.min(d)) ** 2 < _CHOL_PIVOT * float(np.max(d)) ** 2:
        return None
    return L


def _lh_gram_inner(G, c, x, U, F, passive, blocked):
    """Lawson–Hanson inner loop on the normal equations: move toward G_FF^{-1} c_F, dropping
    the variables that reach zero first, with a downdate of the factor ``U`` (in place) after
    each drop. Returns (x, F).

    Compiled (``_cholc.lh_inner``) where the extension was built: the whole loop in one call,
    its triangular solves and downdates on the packed factor in place, instead of a few
    numpy calls per variable that leaves (about 300 leave on blur 2000).
    """
    if U.compiled and F.size:
        xF, cF = x[F], c[F].astype(np.float64)
        pos = np.arange(F.size, dtype=np.intp)
        U.s = s = _cholc.lh_inner(U.ap, U.s, xF, cF, pos)
        if s < F.size:
            gone = np.ones(F.size, dtype=bool)
            gone[pos[:s]] = False
            x[F[gone]] = 0.0
            passive[F[gone]] = False
            blocked[:] = False
            F = F[pos[:s]]
        x[F] = xF[:s]
        return x, F
    while F.size:
        z = U.solve(c[F])
        neg = z <= 0
        if not neg.any():
            x[F] = z
            return x, F
        drop = _step_to_boundary(x, F, z, neg, passive)
        F = F[~drop]
        blocked[:] = False
        U.remove(drop)
    return x, F


class PackedFactor:
    """The upper Cholesky factor U = L^T of G_FF, packed by columns (column j of U in
    ``ap[j (j + 1) / 2 :][: j + 1]``, the layout of BLAS ``dtpsv``) in a buffer with room to
    grow.

    Lawson–Hanson on the Gram matrix adds one variable per iteration: with a square factor
    each entry copied the whole factor into a new array one larger (|F|^2 entries, the
    largest single cost after the gradient on a 2000 x 2000 blur); packed, a new variable
    appends its column, and a leaving one is removed in place (:func:`.working_set
    .packed_delete`). The triangular solves read the packed columns directly (``dtpsv``, as
    fast as ``dtrsv`` on the square factor).
    """

    def __init__(self, cap: int = 64):
        self.ap = np.empty(cap * (cap + 1) // 2)
        self.s = 0
        self.compiled = _compiled_downdate()  # read once: the environment, per downdate, cost

    @classmethod
    def from_lower(cls, L):
        """The packed factor of a lower-triangular L (any memory order)."""
        s = L.shape[0]
        f = cls(max(64, s))
        rows, cols = np.triu_indices(s)
        order = np.lexsort((rows, cols))  # column by column, top to bottom
        f.ap[:s * (s + 1) // 2] = L.T[rows[order], cols[order]]
        f.s = s
        return f

    def lower_solve(self, y):
        """L^{-1} y = U^{-T} y."""
        return _dtpsv(self.s, self.ap, y, trans=1)

    def solve(self, y):
        """(U^T U)^{-1} y by two triangular solves."""
        return _dtpsv(self.s, self.ap, _dtpsv(self.s, self.ap, y, trans=1))

    def append(self, ell, d: float) -> None:
        """Add a last variable: the factor's new column is ``[L^{-1} g; d]``."""
        s = self.s
        end = (s + 1) * (s + 2) // 2
        if end > self.ap.size:
            cap = 2 * (s + 1)
            ap = np.empty(cap * (cap + 1) // 2)
            ap[:s * (s + 1) // 2] = self.ap[:s * (s + 1) // 2]
            self.ap = ap
        start = s * (s + 1) // 2
        self.ap[start:start + s] = ell
        self.ap[start + s] = d
        self.s = s + 1

    def remove(self, drop) -> None:
        """Remove the variables marked in ``drop``, from the last to the first."""
        for k in np.flatnonzero(drop)[::-1]:
            if k < self.s - 1:
                if self.compiled:
                    _cholc.delete_packed(self.ap, self.s, int(k))
                else:
                    packed_delete(self.ap, self.s, int(k))
            self.s -= 1

    def dense(self):
        """The factor as a square upper-triangular array (for tests)."""
        s = self.s
        U = np.zeros((s, s))
        for j in range(s):
            U[:j + 1, j] = self.ap[j * (j + 1) // 2:][:j + 1]
        return U
