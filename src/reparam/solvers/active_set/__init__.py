"""Exact non-negative least squares by active-set methods.

``active_set_nnls(A, b)`` solves ``min ||A x - b||_2  s.t.  x >= 0`` exactly (up to rounding),
for one right-hand side or many, and returns a small record that says which path ran.

Five paths, tried in order until one certifies its answer with the KKT residual
``||min(x, g)||_inf / ||A^T b||_inf`` (``g = A^T (A x - b)``):

0. **A working set of columns** (one right-hand side, no Gram pair given): Lawson & Hanson's
   algorithm (below, 3.) run as column generation. Each round prices all n columns with one
   gradient ``A^T (b - A_F x_F)``, lets the most violating ones enter in a block (growing from
   8 to 64 while whole blocks enter and stay) and solves the least-squares problem on the
   passive set F exactly, with the Cholesky factor of ``A_F^T A_F`` extended when columns
   enter and downdated by Givens rotations when they leave (in C where the extension
   ``_cholc`` was built: ``working_set.upper_delete``, shared with 2.; on wide problems
   from 256 rows on the factor is packed by columns, grown by appending and downdated in
   place, with ``U^{-T} A_F^T b`` as one more column that the sweep rotates along, so that
   each step is one triangular solve; that inner loop and the entering columns' triangular
   solve run in C too: ``working_set_wide``). It never forms the n x n Gram
   matrix: its work is the rounds' products with A plus ``m |F|^2`` for the final set, which
   on wide problems is all an exact answer needs and on the Gaussian m >= n problems of the
   benchmark from 1000 x 500 to 1500 x 1500 costs less than ``A^T A`` alone. Where the columns enter only a few per round
   (a Gaussian blur), an m >= n problem hands over to 1. after a few rounds, and an
   ill-conditioned working set hands over to 3.
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
   (``_inexact_pivoting``; with the C extension, everything but the products runs fused in
   C). With that start nearly every column needs one exact float64
   factorization, of its final passive set. With at most 32 unknowns, where most columns
   have a passive set of their own, every column's passive system is instead solved in the
   same few numpy calls, as a masked Cholesky factorization vectorized over the columns
   (``small.all_columns_bpp``). Where the C extension ``_bppc`` was built (at install), every
   column with at most 256 unknowns is pivoted in C instead, one column at a time with a small
   Cholesky factorization per round that keeps the rows of the unchanged leading passive
   variables and removes a variable that left by a rank-one update, or of ``G^{-1}``'s active
   block when that is the smaller one (``small.bpp_columns``).
2. **Lawson–Hanson on the Gram matrix** (when block pivoting fails, typically because its
   passive sets grow ill-conditioned, as on a Gaussian blur): the same algorithm as 3., with a
   Cholesky factor of G_FF extended on entry and downdated on exit by Givens rotations; its
   gradient costs one product with the |F| rows of G, kept contiguous as variables enter
   (``_GramRows``), not a pass over A. Up to 32 weakly correlated variables enter per
   iteration (down to one, the classical algorithm, when a block makes no progress); the
   inner loop runs in C where ``_cholc`` was built. Certified with the gradient computed from
   A; short of that by rounding, 3. starts from its support.
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
(first-kind integral equations such as Shaw's) skip the working set and the Gram path, which
could only fail; m >= n problems (at least 256 unknowns, no warm start) whose 16 adjacent
middle columns are nearly parallel (a blur or another smooth kernel) skip 1. and go to 2.
after at most 4 rounds of 0. (which finishes answers of a few columns); other wide problems, and m >= n ones with at least 256 unknowns and at most
2 n rows, start with the working set, the rest with block pivoting. A warm start ``x0`` or a ``gram`` pair always keeps the work in this module. Many right-hand
sides start from the sign pattern of the unconstrained solution, refined by the inexact rounds
when there are at least 64 columns and 32 unknowns.

Where that column sample is dependent because A is numerically of low rank (Shaw's A spans
about 20 directions to rounding at n = 1000), 3. runs first on a compression (``compressed``):
a basis B of range(A) from a random sample of its columns, ``C ~ B^T A`` (k x n) by an
interpolative decomposition, Lawson-Hanson on C, the values of the support found taken from
A's own columns and the answer certified on A; when it is not, 3. runs on A itself.

Layout: ``_front`` orders the paths (and scales the data); ``working_set`` holds 0.,
``block_pivoting`` 1. for one
right-hand side, ``many_rhs`` the machinery for many, ``small`` the variants with few numpy
calls (also used by the small-problem paths of :func:`reparam.nnls`), ``lawson_hanson_gram`` 2.,
``lawson_hanson_qr`` 3.; ``outcome`` the record of which path ran and why each earlier one
was left (``ActiveSetOutput.trail``).

Inputs arrive validated (finite float64, matching shapes); nothing here modifies them.
"""

from ._front import active_set_nnls
from .outcome import ActiveSetOutput, Attempt, Exit, Path, Reason

__all__ = ["ActiveSetOutput", "Attempt", "Exit", "Path", "Reason", "active_set_nnls"]
