"""A working set of columns for wide and near-square NNLS: Lawson–Hanson with the columns'
Gram block factored as the set grows, priced by one product with A per round.

Lawson & Hanson, *Solving Least Squares Problems* (1974), ch. 23, Algorithm NNLS, run as
column generation: the passive set F is the working set, held with the columns ``A[:, F]``
(rows of a contiguous buffer) and the Cholesky factor of their Gram block
``G_FF = A_F^T A_F``, which is extended when columns enter and downdated by Givens rotations
when they leave. Each outer round prices every column with one gradient
``A^T (b - A_F x_F)`` (``m n`` flops), lets the most violating columns enter in a block, and
solves the least-squares problem restricted to F exactly (Lawson–Hanson's inner loop), so the
Gram matrix of all n columns (``m n^2`` flops, far more than the answer needs when n > m) is
never formed: the work is the rounds' gradients plus ``m |F|^2`` for the factor of the final
set, whose size is at most rank(A) <= m.

Against :mod:`.lawson_hanson_qr` (the same algorithm with a thin QR of ``A[:, F]``): a block
of k columns enters for ``m |F| k`` flops (one product and a triangular solve) instead of the
``4 m |F| k`` of Gram–Schmidt with reorthogonalization, and a column leaves for ``|F|^2``
instead of ``m |F|``; the price is the conditioning of ``A_F^T A_F`` instead of ``A_F``'s,
so a column whose new pivot says ``cond(A_F) > ~1e6`` waits (Lawson & Hanson's dependence
test), and a set whose factor cannot be trusted hands over to the QR path.
"""

from __future__ import annotations

import os

import numpy as np
from scipy.linalg import blas, lapack, qr_delete

from ._common import _CHOL_PIVOT, _TINY, _TOL, _step_to_boundary, final_exit
from .outcome import CERTIFIED, ITERATION_CAP, Exit, Reason

# A column whose squared distance to span(A_F) (its new Cholesky pivot squared) is below this
# fraction of its squared norm is numerically dependent on F and waits (relative distance
# 1e-6: cond(G_FF) stays under ~1e12, as in the Gram Lawson-Hanson path).
_WS_DEPENDENT = 1e-12
# Most columns entering in one round; the block doubles from _WS_FIRST while whole blocks
# enter and stay, and shrinks by 4 when a round makes no progress (down to single entries, the
# classical algorithm). Measured on Gaussian m >= n problems from 400 x 200 to 1500 x 1500: 64
# took 1.3-1.8x less time than 16 from 1000 x 500 on and about as long below. On wide ones
# (200 x 2000, 100 x 5000, interpolation 200 x 500) 16, 32 and 64 were within the noise,
# except at 500 x 1000, near the phase transition where b leaves the cone of the columns and
# many columns that enter leave again: 16 was 1.2-1.5x faster than 64 there. Far from it
# (n >= _WS_WIDE_RATIO m) the block grows to 64 until a round sees a variable leave and is
# held to 16 from then on: measured 0.71-0.88x the time of a fixed 16 at 100 x 5000 and
# 200 x 2000 (fewer rounds before the first exit), but 1.07-1.15x at 500 x 1000.
_WS_BLOCK = 64
_WS_BLOCK_WIDE = 16
_WS_WIDE_RATIO = 4
_WS_FIRST = 8
# Problems with at least this many rows hold the factor packed (working_set_wide) where its
# kernels run compiled (_cholc: the inner loop, the block extension and the downdates in C):
# every problem. Measured against the square factor (medians of 5-30 solves, one thread,
# 2026-12): wide, 0.51-0.61x the time at 80 x 2000 and 150 x 3000, 0.50x at 200 x 2000,
# 0.55x on the interpolation 200 x 500 with 20 nonzeros, 0.58x at 200 x 300; m >= n, 0.84x
# at 1000 x 500, 0.71x at 800 x 800, 0.89x at 2000 x 1000, 0.86x at 1500 x 1500 (noisy).
# Their numpy versions measured (columns of unit norm, CPU time) 0.84-0.86x the time of the
# square factor at 300 x 600 and 300 x 3000, even at 200 x 2000, but 1.1-1.2x at
# m = 100-150 and on the interpolation 200 x 500: without the extension, wide problems from
# 256 rows on, and m >= n ones never.
_WS_PACKED = 1
_WS_PACKED_NUMPY = 256
_WS_GROW = 1.0


def _working_set(A, b, passive0, max_iter, block=None, patience=None):
    """Lawson & Hanson (1974) NNLS with the Cholesky factor of A_F^T A_F built column block by
    column block, priced by one product with A per outer round.

    With ``patience``, give up (``Reason.ROUND_BUDGET``) after that many rounds unless a whole
    block of ``block`` columns has entered and stayed by then: on problems whose columns enter
    a few at a time (a Gaussian blur: neighbouring columns nearly parallel) the rounds'
    products with A add up to more than the Gram matrix costs. Returns
    (x, n_outer, certified, exit).
    """
    m, n = A.shape
    c = A.T @ b  # minus the gradient at x = 0; c_F is the right-hand side on F
    cnorm = max(float(np.max(np.abs(c), initial=0.0)), _TINY)
    tol_w = _TOL * cnorm
    compiled = _compiled_downdate()  # read once: the environment, per call, costs
    if (m >= _WS_PACKED) if compiled else (n > m >= _WS_PACKED_NUMPY):
        # the factor packed, grown and downdated in place (see working_set_wide)
        from .working_set_wide import PackedSet
        ws = PackedSet(A, b, c, min(m, n))
    else:
        ws = _Set(A, b, c, n)
    x = np.zeros(n)
    passive = np.zeros(n, dtype=bool)
    blocked = np.zeros(n, dtype=bool)
    far = n >= _WS_WIDE_RATIO * m  # far from the phase transition of a Gaussian wide problem
    if block is None:
        block = _WS_BLOCK_WIDE if m < n and not far else _WS_BLOCK
    block = max(1, min(block, m, n))
    leave_cap = _WS_BLOCK_WIDE if far else 0  # the block once a variable has left
    width = min(block, _WS_FIRST)
    refreshed = False
    w = c
    if passive0 is not None and passive0.any():
        cand = np.flatnonzero(passive0)
        cand = cand[np.argsort(-c[cand], kind="stable")]
        ws.add(cand)
        passive[ws.F] = True
        x = ws.inner(x, passive, blocked)
        w = ws.gradient(x)
    f_prev = np.inf
    widest = width
    for it in range(1, max_iter + 1):
        if patience is not None and it > patience and widest < block:
            return x, it - 1, False, Exit(Reason.ROUND_BUDGET, f"no block of {block} columns "
                                          f"entered whole within {patience} rounds")
        cand = _candidates(w, passive, blocked, tol_w, width, compiled)
        if not cand.size:
            end = final_exit(x, w, cnorm)
            if end is CERTIFIED or refreshed:
                return x, it, end is CERTIFIED, end
            # Rounding has built up in the updated factor: refactor once and go on.
            refreshed = True
            if not ws.refactor():
                return x, it, False, Exit(Reason.SMALL_PIVOT, "the Gram block of the working "
                                          "set is too ill-conditioned to refactor")
            blocked[:] = False
            x = ws.inner(x, passive, blocked)
            w = ws.gradient(x)
            continue
        s_before = ws.F.size
        dependent = ws.add(cand)
        blocked[dependent] = True
        if ws.F.size == s_before:
            width = max(1, width // 4)
            continue
        added = ws.F[s_before:]
        passive[added] = True
        x = ws.inner(x, passive, blocked)
        r = ws.residual(x)
        f = float(r @ r)
        # Grow the block while whole blocks enter and stay; shrink it when a candidate turns
        # out dependent or the round made no progress (then single entries: the classical
        # algorithm, whose entering variable always moves up, so the objective decreases).
        if f >= f_prev or dependent.size:
            width = max(1, width // 4)
        elif leave_cap and ws.F.size < s_before + added.size:  # a variable left
            width = min(width, leave_cap)
        elif np.count_nonzero(passive[added]) >= _WS_GROW * added.size:
            width = min(block, 2 * width)
            widest = max(widest, width)
        f_prev = min(f, f_prev)
        w = A.T @ r
    return x, max_iter, False, ITERATION_CAP


def _candidates(w, passive, blocked, tol_w, width, compiled=False):
    """The columns that enter in the next round: of the variables neither passive nor
    blocked whose ``w`` (minus the gradient) is above ``tol_w``, the ``width`` with the largest
    ``w``, largest first. Compiled (``_cholc.select_candidates``, one pass over w) where asked
    and the arrays are in the layout it reads (measured 2.8 us instead of 15 us a round at
    n = 1000, width 16); there exactly equal values go lower index first, while numpy's
    argpartition picks among those tied at the cut as it likes."""
    if (compiled and w.dtype == np.float64 and w.flags.c_contiguous
            and passive.flags.c_contiguous and blocked.flags.c_contiguous):
        out = np.empty(width, dtype=np.intp)
        return out[:_cholc.select_candidates(w, passive, blocked, tol_w, out)]
    cand = np.flatnonzero((~passive) & (~blocked) & (w > tol_w))
    if cand.size > width:
        cand = cand[np.argpartition(-w[cand], width - 1)[:width]]
    return cand[np.argsort(-w[cand], kind="stable")]


class _Set:
    """The working set F: its columns (rows of ``At``, at ``slot[j]`` for ``F[j]``, so that a
    column leaving costs no copy of the others), and the upper Cholesky factor ``U`` of
    ``A_F^T A_F`` (Fortran order, the layout LAPACK and the Givens sweep read in place)."""

    def __init__(self, A, b, c, cap):
        self.A, self.b, self.c = A, b, c
        self.At = np.zeros((cap, A.shape[0]))
        self.xs = np.zeros(cap)  # x by slot: the residual is one product with At
        self.used = 0
        self.F = np.zeros(0, dtype=np.intp)
        self.slot = np.zeros(0, dtype=np.intp)
        self.U = np.zeros((0, 0), order="F")

    def add(self, cand):
        """Append the leading independent columns of ``cand`` (sorted by priority) to F.

        The factor grows by the block ``[[U, E], [0, U_D]]`` with ``E = U^{-T} A_F^T V`` and
        ``U_D`` the Cholesky factor of ``V^T V - E^T E`` (the candidates' Gram block
        orthogonal to span(A_F)); candidates enter up to the first whose pivot says it is
        numerically dependent on those before it. Returns the dependent candidate (none or
        one), which the caller sets aside until a column leaves.
        """
        block = self._extension(cand)
        if block is None:
            return cand[:1]
        V, E, UD, r, dependent = block
        s = self.F.size
        Un = np.empty((s + r, s + r), order="F")  # every entry is written below
        Un[:s, :s] = self.U
        Un[s:, :s] = 0.0
        if s:
            Un[:s, s:] = E[:, :r]
        Un[s:, s:] = UD[:r, :r]  # dpotrf's clean=True zeroed its lower triangle
        self.U = Un
        if self.used + r > self.At.shape[0]:
            self._compact()
        new = np.arange(self.used, self.used + r)
        self.At[new] = V[:, :r].T
        self.used += r
        self.slot = np.concatenate([self.slot, new])
        self.F = np.concatenate([self.F, cand[:r]])
        return dependent

    def _extension(self, cand):
        """What the candidates ``cand`` add to the factor: their columns V, ``E = U^{-T}
        A_F^T V`` (None while F is empty), the Cholesky factor ``U_D`` of ``V^T V - E^T E``,
        the number r of leading candidates that enter, and the dependent candidate that stops
        them (none or one). None when not one can enter (F is full, or the first candidate is
        numerically dependent on F)."""
        s = self.F.size
        room = self.At.shape[0] - s
        if room <= 0:
            return None
        V = self.A[:, cand]
        D = V.T @ V
        sq = D.diagonal().copy()  # the candidates' squared norms (no pass over all of A)
        E = None
        if s:
            E = self._solve_transposed((self.At[:self.used] @ V)[self.slot])
            D -= E.T @ E
        UD, info = lapack.dpotrf(D, lower=False, clean=True)
        k = cand.size if info == 0 else info - 1
        d2 = np.diagonal(UD)[:k] ** 2
        ok = d2 > _WS_DEPENDENT * sq[:k]
        r = int(np.argmin(ok)) if not ok.all() else k
        r = min(r, room)
        if r == 0:
            return None
        dependent = cand[r:r + 1] if r < cand.size and r < room else cand[:0]
        return V, E, UD, r, dependent

    def _solve_transposed(self, C):
        """``U^{-T} C``."""
        return lapack.dtrtrs(self.U, C, lower=False, trans=1)[0]

    def _compact(self):
        s = self.F.size
        self.At[:s] = self.At[self.slot]
        self.xs[:] = 0.0
        self.slot = np.arange(s)
        self.used = s

    def inner(self, x, passive, blocked):
        """Lawson–Hanson's inner loop: move toward the least-squares point on F, dropping
        the variables that reach zero first (downdating the factor). Returns x."""
        while self.F.size:
            z = self._least_squares()
            neg = z <= 0
            if not neg.any():
                x[self.F] = z
                self.xs[self.slot] = z
                return x
            drop = _step_to_boundary(x, self.F, z, neg, passive)
            self.xs[self.slot[drop]] = 0.0
            self._remove(drop)
            keep = ~drop
            self.F = self.F[keep]
            self.slot = self.slot[keep]
            blocked[:] = False
        return x

    def _least_squares(self):
        """The least-squares point on F, ``(A_F^T A_F)^{-1} c_F``."""
        # Two triangular solves (BLAS dtrsv) rather than LAPACK's dpotrs, which runs them
        # as matrix-matrix solves with one column: measured 2.5x faster at |F| = 450.
        return _dtrsv(self.U, _dtrsv(self.U, self.c[self.F], trans=1))

    def _remove(self, drop):
        """Take the variables ``F[drop]`` out of the factor (F itself is updated after)."""
        self.U = _upper_remove(self.U, drop)

    def residual(self, x):
        """``b - A_F x_F`` (``x`` as last set by :meth:`inner`)."""
        if not self.F.size:
            return self.b.copy()
        return self.b - self.xs[:self.used] @ self.At[:self.used]

    def gradient(self, x):
        """Minus the gradient, ``A^T (b - A x)``."""
        return self.A.T @ self.residual(x)

    def refactor(self) -> bool:
        """Recompute the factor of the current set from its columns; False when it is not
        numerically positive definite."""
        if self.F.size == 0:
            return True
        U = self._cholesky()
        if U is None:
            return False
        self.U = U
        return True

    def _cholesky(self):
        """The upper Cholesky factor of ``A_F^T A_F`` computed from the set's columns, or
        None when it is not numerically positive definite."""
        At = self.At[self.slot]
        U, info = lapack.dpotrf(At @ At.T, lower=False, clean=True)
        if info != 0:
            return None
        d = np.diagonal(U)
        if float(np.min(d)) ** 2 < _CHOL_PIVOT * float(np.max(d)) ** 2:
            return None
        return U


_dtrsv = blas.dtrsv

try:  # built by setuptools at install; optional, so a failed build leaves the numpy version
    from . import _cholc
except ImportError:  # pragma: no cover - no compiler at install time
    _cholc = None


def _compiled_downdate() -> bool:
    """Whether :func:`upper_delete` (and the packed set of :mod:`.working_set_wide`) runs
    compiled: the extension ``_cholc`` was built and the environment variable
    ``REPARAM_NO_EXTENSION`` is unset, empty or ``"0"``."""
    return _cholc is not None and os.environ.get("REPARAM_NO_EXTENSION", "") in ("", "0")


def upper_delete(U, k: int):
    """Upper Cholesky factor of ``U^T U`` with variable ``k`` removed, for a Fortran-ordered
    upper-triangular ``U`` (s x s); returns a new Fortran-ordered (s-1) x (s-1) factor and
    leaves ``U`` unchanged.

    Removing variable k deletes column k of U (G_FF = U^T U): the rows above k stay
    triangular and the trailing block ``U[k:, k+1:]`` is upper Hessenberg, which a sweep of
    Givens rotations makes triangular again (Lawson & Hanson 1974, ch. 24), O((s - k)^2), so
    the variables that entered last, which are the likeliest to leave, cost the least. The
    compiled sweep (``_cholc``) writes the new factor once, column by column; measured 5-10x
    faster at s = 450 than the numpy version, which runs ``scipy.linalg.qr_delete`` on a copy
    of the trailing block with a scratch Q that it then discards.
    """
    s = U.shape[1]
    if _compiled_downdate():
        Un = np.empty((s - 1, s - 1), order="F")  # every entry is written
        _cholc.delete(np.asfortranarray(U), Un, int(k))
        return Un
    Un = np.zeros((s - 1, s - 1), order="F")
    Un[:k, :k] = U[:k, :k]
    if k < s - 1:
        Un[:k, k:] = U[:k, k + 1:]
        t = s - k
        # A C-ordered scratch Q: the sweep's column rotations of a Fortran-ordered Q stride
        # across memory (measured 5x slower at t = 450).
        _, T = qr_delete(np.zeros((t, t)), np.array(U[k:, k:], order="F"), 0, 1,
                         which="col", overwrite_qr=True, check_finite=False)
        Un[k:, k:] = T[:t - 1]
    return Un


def packed_delete(ap, s: int, k: int) -> None:
    """:func:`upper_delete` in place on a factor packed by columns (column j of the s x s
    factor in ``ap[j (j + 1) / 2 :][: j + 1]``, the layout of BLAS ``dtpsv``); the first
    ``(s - 1) s / 2`` entries of ``ap`` then hold the new factor. Compiled in ``_cholc``
    where it was built; otherwise by unpacking, :func:`upper_delete` and packing again."""
    if _compiled_downdate():
        _cholc.delete_packed(ap, int(s), int(k))
        return
    rows, cols = np.triu_indices(s)
    order = np.lexsort((rows, cols))  # column by column, top to bottom
    U = np.zeros((s, s), order="F")
    U[rows[order], cols[order]] = ap[:s * (s + 1) // 2]
    Un = upper_delete(U, k)
    rows, cols = np.triu_indices(s - 1)
    order = np.lexsort((rows, cols))
    ap[:(s - 1) * s // 2] = Un[rows[order], cols[order]]


def _upper_remove(U, drop):
    """Upper Cholesky factor of G_FF with the variables marked in ``drop`` removed
    (:func:`upper_delete` for each, from the last to the first so that the positions of the
    others do not move)."""
    for k in np.flatnonzero(drop)[::-1]:
        U = upper_delete(U, int(k))
    return U
