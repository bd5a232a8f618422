"""The working set with its Cholesky factor packed by columns: of every problem where the
extension runs its kernels, of wide ones (m < n) with enough rows without it (see
``working_set._WS_PACKED``). The module is named for the wide problems it was written for.

Lawson & Hanson, *Solving Least Squares Problems* (1974), ch. 23, Algorithm NNLS, as run by
:func:`.working_set._working_set`; this module only changes how the factor of
``A_F^T A_F`` is held. Near the phase transition of a wide problem (a Gaussian 500 x 1000:
a support of about m columns, b just outside the cone of the columns) the passive set grows
to about m columns while about 200 variables leave on the way, each leaving costing a Givens
sweep over the factor. With the square factor of :class:`.working_set._Set` every leaving
variable and every entering block wrote a new s x s array (the sweep's output, or the grown
factor), a pass over 2 MB at s = 500 that cost more than the sweep itself, whose rotations
mostly touch the last, recently entered, columns. Packed by columns (``dtpsv``'s layout)
the factor grows by appending the new columns after the old ones and shrinks in place
(:func:`.working_set.packed_delete`), so only the columns after a leaving variable move, and
the triangular solves read it as fast (BLAS ``dtpsv``). Measured at 500 x 1000 (one thread,
CPU time, the kernel alone): 0.54-0.65x the time of the square factor; the sweep at the last
of 486 variables 0.001 ms instead of 0.15 ms. Without the extension, below
``working_set._WS_PACKED_NUMPY`` rows, where few variables leave and the factor is small, and
on m >= n problems, the square factor measured faster; with it, the packed set runs every
problem (see ``working_set._WS_PACKED``).

Where the extension ``_cholc`` was built, the per-step and per-candidate work is compiled:
Lawson-Hanson's inner loop is one call (``_cholc.lh_inner`` with the column ``[y; rho]``: one
back substitution per step, the downdates in place), where 47 rounds of 500 x 1000 make 186
steps of a few numpy calls each; ``U^{-T} C`` for a block of candidates is one pass over the
factor for four columns at a time (``_cholc.solve_lower``) instead of one ``dtpsv`` per
column: at s = 450, 0.7x the time of the ``dtpsv`` loop for 16 columns (dense ``dtrsm`` takes
0.6x of that again), while fewer than four columns stay with ``dtpsv``; the Cholesky factor
of the candidates' block and the dependence test on its pivots are one call
(``_cholc.block_cholesky``) instead of LAPACK's ``dpotrf`` and five numpy calls (2.2 ms in 47
rounds of 500 x 1000, 0.1 ms compiled); and the entering columns and the grown y column are
written by one call (``_cholc.append_packed``), where numpy assembles them from a masked
copy. Together, against the loop in Python around the compiled
downdate and BLAS calls (medians of 20 solves, one thread, CPU time, two runs): 0.55-0.70x the
time at 500 x 1000 and 300 x 600, 0.73-0.81x at 400 x 3000, where the rounds' products with A
weigh more. Where the CPU has AVX2 and FMA, the triangular solves and the downdate's rotations
run with four doubles to a register and fused multiply-adds (chosen at import, see ``_cholc``;
eight columns of ``C`` per pass over the factor): against the SSE2 kernels in the same run
(interleaved, medians of 21, one thread, CPU time, two runs) 0.37-0.41x for ``U^{-T} C`` with
16 columns at s = 200 to 480, 0.62-0.74x for a back substitution, 0.81-0.88x for a downdate
150 or more columns from the end (0.95-0.98x near it), and 0.61-0.65x the median time of the
whole solve at 500 x 1000 and 300 x 600 (0.81-0.85x before ``gather_dot`` below, whose SSE2
level is slower than the AVX2 BLAS it replaced on such a CPU). Without the extension (or with
``REPARAM_NO_EXTENSION=1``) the numpy version runs: the same algorithm, the same iterates up
to rounding.

The product ``A_F^T V`` with the candidates' columns, the largest single cost of a round at
500 x 1000, is compiled too (``_cholc.gather_dot``): dot products of the rows of ``At`` taken
by ``slot`` with the candidates' columns (the rows of ``V^T``), in register tiles of three rows
by four candidates, where BLAS multiplied all of ``At[:used]`` (the free rows too, packing
1.8 MB at s = 450 on every call) and numpy then copied the product's rows in slot order.
Measured (one thread, interleaved, medians of 15-21, three runs; the AVX2 kernel against
OpenBLAS's AVX2 kernels): 0.54-0.76x the time for 16 candidates at s = 100 to 450 (0.21 ms
instead of 0.30 ms at s = 450), 0.31-0.41x for 7 and 0.18-0.28x for 2; the 45 products of a
500 x 1000 solve 6.2 ms instead of 9.4 ms, and the whole ``_working_set`` 0.91-0.93x the
median time at 500 x 1000 and 0.92-0.98x at 300 x 600 (CPU time, medians of 21-25). The SSE2
kernel against OpenBLAS held to its SSE kernels (``OPENBLAS_CORETYPE=Nehalem``, what a CPU
without AVX runs): 0.86-0.95x for 16 candidates, 0.68-0.75x for 7, 0.36-0.39x for 2.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas, lapack

from .working_set import _WS_DEPENDENT, _cholc, _compiled_downdate, _Set, packed_delete

_dtpsv = blas.dtpsv


class PackedSet(_Set):
    """The working set F of :func:`.working_set._working_set` (``working_set._Set`` with
    another factor; the residual, the gradient and the Cholesky factor computed from the
    columns are ``_Set``'s): its columns as rows of ``At`` (at ``slot[j]`` for ``F[j]``, so a
    column leaving costs no copy of the others, and the next one to enter takes its row) and
    the upper Cholesky factor U of ``A_F^T A_F`` packed by columns in ``ap`` (column j in
    ``ap[j (j + 1) / 2 :][: j + 1]``), allocated once for rank(A) <= min(m, n) columns.

    After U comes one more packed column, ``[y; rho]`` with ``y = U^{-T} c_F`` (c = A^T b):
    the factor of ``[A_F, b]``'s Gram matrix, as in Lawson & Hanson's QR form, where y is
    ``Q^T b``. The Givens sweep that removes a variable rotates it with U, so the
    least-squares point on F is one triangular solve, ``U z = y``, instead of two. Only the
    last rotation of a sweep meets ``rho``: it mixes y's last entry, which leaves with the
    variable, into the new ``rho``, which nothing reads; so ``rho`` is left at zero instead
    of tracking the residual norm."""

    def __init__(self, A, b, c, cap):
        self.A, self.b, self.c = A, b, c
        self.At = np.zeros((cap, A.shape[0]))
        self.xs = np.zeros(cap)  # x by slot: the residual is one product with At
        self.used = 0  # rows of At ever written; a leaving column frees its row for the next
        self.free = np.ones(cap, dtype=bool)
        self.F = np.zeros(0, dtype=np.intp)
        self.slot = np.zeros(0, dtype=np.intp)
        # Room for cap columns of U and one more, [y; rho] (see the class docstring).
        self.ap = np.zeros((cap + 1) * (cap + 2) // 2)
        self.compiled = _compiled_downdate()  # read once: the environment, per call, costs

    def _size(self):
        s = self.F.size
        return s * (s + 1) // 2

    def _y(self):
        """``y = U^{-T} c_F``: the first s entries of column s of the packed array."""
        start = self._size()
        return self.ap[start:start + self.F.size]

    def add(self, cand):
        """Append the leading independent columns of ``cand`` (sorted by priority) to F.

        The factor grows by the columns ``[E; U_D]`` with ``E = U^{-T} A_F^T V`` and ``U_D``
        the Cholesky factor of ``V^T V - E^T E`` (the candidates' Gram block orthogonal to
        span(A_F)); candidates enter up to the first whose pivot says it is numerically
        dependent on those before it. Returns the dependent candidate (none or one), which
        the caller sets aside until a column leaves.
        """
        block = self._extension(cand)
        if block is None:
            return cand[:1]
        V, E, UD, r, dependent = block
        s = self.F.size
        cD = np.asarray(self.c[cand[:r]], dtype=np.float64)
        if self.compiled:  # the same writes in one call
            _cholc.append_packed(self.ap, s, r, E if s else np.empty((0, r)), UD, cD)
        else:
            self._append(E, UD, r, cD)
        new = np.flatnonzero(self.free)[:r]  # the lowest free rows: At[:used] stays short
        self.free[new] = False
        self.At[new] = V[:, :r].T
        self.used = max(self.used, int(new[-1]) + 1)
        self.slot = np.concatenate([self.slot, new])
        self.F = np.concatenate([self.F, cand[:r]])
        return dependent

    def _extension(self, cand):
        """:meth:`.working_set._Set._extension`; where compiled, the candidates' block of the
        factor, ``U_D`` with ``U_D^T U_D = V^T V - E^T E``, and the dependence test on its
        pivots are one call (``_cholc.block_cholesky``) instead of LAPACK's ``dpotrf`` and a
        few numpy calls on its diagonal, and ``A_F^T V`` is one call on the rows of ``At`` in
        slot order (``_cholc.gather_dot``; see the module docstring)."""
        if not self.compiled:
            return super()._extension(cand)
        s = self.F.size
        room = self.At.shape[0] - s
        if room <= 0:
            return None
        # The candidates' columns as the rows of Vt (C order), as _cholc.gather_dot reads them;
        # V is its transpose (a view), and add() copies the entering rows of Vt into At.
        Vt = np.ascontiguousarray(self.A.T[cand], dtype=np.float64)
        V = Vt.T
        UD = Vt @ V  # overwritten by U_D (upper triangle) below
        E = G = None
        if s:
            # A_F^T V with the rows of At gathered by slot in the kernel: no product with the
            # free rows of At[:used], no copy of the product in slot order
            AV = np.empty((s, cand.size))
            _cholc.gather_dot(self.At, self.slot, Vt, AV)
            E = self._solve_transposed(AV)
            G = E.T @ E
        r = min(_cholc.block_cholesky(UD, G, _WS_DEPENDENT), room)
        if r == 0:
            return None
        dependent = cand[r:r + 1] if r < cand.size and r < room else cand[:0]
        return V, E, UD, r, dependent

    def _append(self, E, UD, r, cD):
        """Write the r entering columns ``[E[:, i]; U_D[:i + 1, i]]`` after the s of U, and
        after them the grown column ``[y; y_D; 0]`` (what ``_cholc.append_packed`` does)."""
        s = self.F.size
        # y grows by U_D^{-T} (c_D - E^T y) (the forward solve restricted to the new rows).
        cn = cD - (E[:, :r].T @ self._y() if s else 0.0)
        yn = np.concatenate([self._y(), lapack.dtrtrs(UD[:r, :r], cn, lower=False,
                                                      trans=1)[0]])
        # Columns s .. s + r - 1 of the factor, [E[:, i]; U_D[:i + 1, i]], follow each other in
        # the packed array: the rows of the new columns' transpose, cut at the diagonal.
        new_cols = np.empty((r, s + r))
        if s:
            new_cols[:, :s] = E[:, :r].T
        new_cols[:, s:] = UD[:r, :r].T
        start = s * (s + 1) // 2
        self.ap[start:start + r * s + r * (r + 1) // 2] = new_cols[_upper_trapezoid(r, s)]
        start = (s + r) * (s + r + 1) // 2
        self.ap[start:start + s + r] = yn
        self.ap[start + s + r] = 0.0  # rho: never read back (see the class docstring)

    def _solve_transposed(self, C):
        """``U^{-T} C`` on the packed factor (``C`` is overwritten where compiled)."""
        s = self.F.size
        ap = self.ap[:self._size()]
        if self.compiled and C.shape[1] >= 4:  # one pass over the factor for four columns
            C = np.ascontiguousarray(C, dtype=np.float64)
            _cholc.solve_lower(ap, s, C)
            return C
        E = np.empty_like(C, order="F")
        for j in range(C.shape[1]):  # no packed multi-column solve in LAPACK's wrappers
            E[:, j] = _dtpsv(s, ap, C[:, j], trans=1)
        return E

    def inner(self, x, passive, blocked):
        """Lawson–Hanson's inner loop (:meth:`.working_set._Set.inner`); compiled
        (``_cholc.lh_inner`` with the column ``[y; rho]``) where the extension was built: the
        whole loop in one call, one back substitution per step and the downdates in place,
        instead of a few numpy calls per step and per variable that leaves."""
        s = self.F.size
        if not self.compiled or not s:
            return super().inner(x, passive, blocked)
        F, slot = self.F, self.slot
        xF = x[F]  # a copy, float64: x_F, compacted as variables leave
        pos = np.arange(s, dtype=np.intp)
        kept = _cholc.lh_inner(self.ap, s, xF, None, pos)
        if kept < s:
            gone = np.ones(s, dtype=bool)
            gone[pos[:kept]] = False
            x[F[gone]] = 0.0
            passive[F[gone]] = False
            blocked[:] = False
            self.xs[slot[gone]] = 0.0
            self.free[slot[gone]] = True
            self.F = F = F[pos[:kept]]
            self.slot = slot = slot[pos[:kept]]
        x[F] = xF[:kept]
        self.xs[slot] = xF[:kept]
        return x

    def _least_squares(self):
        """The least-squares point on F: one triangular solve, ``U z = y``."""
        return _dtpsv(self.F.size, self.ap[:self._size()], self._y())

    def _remove(self, drop):
        """Free the rows of ``F[drop]`` and take them out of the packed factor in place (F
        itself is updated after)."""
        self.free[self.slot[drop]] = True
        s = self.F.size
        for k in np.flatnonzero(drop)[::-1]:  # last first: the others keep their place
            packed_delete(self.ap, s + 1, int(k))  # U and the column [y; rho]
            s -= 1

    def refactor(self) -> bool:
        """Recompute the factor of the current set from its columns; False when it is not
        numerically positive definite."""
        s = self.F.size
        if s == 0:
            return True
        U = self._cholesky()
        if U is None:
            return False
        # Column j of U, top to bottom, is row j of U^T's lower triangle, left to right.
        size = self._size()
        self.ap[:size] = U.T[np.tril_indices(s)]
        self.ap[size:size + s] = _dtpsv(s, self.ap[:size], self.c[self.F], trans=1)
        self.ap[size + s] = 0.0
        return True

    def dense(self):
        """The factor as a square upper-triangular array (for tests)."""
        s = self.F.size
        U = np.zeros((s, s))
        for j in range(s):
            U[:j + 1, j] = self.ap[j * (j + 1) // 2:][:j + 1]
        return U


def _upper_trapezoid(r, s):
    """The mask of an r x (s + r) array whose row i is kept up to column s + i."""
    return np.arange(s + r)[None, :] <= s + np.arange(r)[:, None]
