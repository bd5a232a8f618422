"""NNLS with a numerically low-rank A: solved on a compressed k x n problem, certified on A.

When the columns of A span only k << min(m, n) directions to working precision (first-kind
integral equations such as Shaw's: singular values at rounding level after a few dozen),
``min ||A x - b||`` equals ``min ||C x - B^T b||`` plus a constant, where B (m x k) is an
orthonormal basis of range(A) and ``C = B^T A`` (k x n), up to a perturbation of the size of
the singular values left out. The active-set iterations then price n columns of length k,
not m, and the answer is certified on the original A and b.

The basis comes from a randomized range finder (Halko, Martinsson & Tropp, "Finding
structure with randomness", SIAM Review 53 (2011), sec. 4), with a random sample of columns
as the test matrix: ``A[:, J]`` costs a gather, not a product with A, and its SVD (after a
QR) reveals k. ``C`` comes from an interpolative decomposition (ibid., sec. 5.2, and Cheng,
Gimbutas, Martinsson & Rokhlin, SIAM J. Sci. Comput. 26 (2005)): a pivoted factorization of
B picks k well-conditioned rows I, and ``B^T A = B_I^{-1} A_I`` when range(A) is in range(B),
for ``k^2 n`` flops instead of the ``2 m n k`` of the product. Any miss (a column outside the
sampled span, a tail above rounding) shows in the certificate on A, and the caller falls
back to the paths that work on A itself.

The compressed problem is solved by Lawson & Hanson's algorithm (*Solving Least Squares
Problems*, 1974, ch. 23, Algorithm NNLS) with the least-squares problem on the passive set
solved afresh by LAPACK's ``dgels`` at each change: with k rows that is a few microseconds,
less than updating a factorization would cost in Python calls. It runs to a zero gradient
tolerance (every column with a positive gradient may enter), which on Shaw's problem reaches
the support of the exact minimizer where a relative tolerance of 1e-15 stops at a KKT point
whose objective is ~1e-9 (relative) higher; termination rests on Lawson & Hanson's tests (an
entering column must be independent of F and get a positive coefficient), with an iteration
cap behind them. The support found is then given its values from A's own columns (one QR of
``A[:, F]``), which takes the compression's error out of x: on a rank-20 matrix with noise
at 1e-14 the KKT residual on A went from 3e-12 to 3e-15 with it.

Cost at n = 1000 (Shaw, one thread, measured on a loaded machine, CPU time): sample and basis
0.7 ms, compression 0.5 ms, Lawson-Hanson 2.5 ms (46 iterations, 81 solves of at most
20 x 11), values and certificate 0.8 ms (two products with A^T); the whole kernel 5.6 ms
against 14.4 ms for the QR path on A it replaces (32 iterations, about 28 passes over A).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

from ._common import _ACCEPT, _TINY
from .outcome import CERTIFIED, ITERATION_CAP, Exit, Reason

# Columns sampled for the range finder, and the oversampling it needs: the compression is
# tried when a sample of l columns spans at most l - _OVERSAMPLE directions, so that it has
# seen more columns than the range has directions (Halko et al. 2011, sec. 4.2: p = 5-10
# extra samples make a miss unlikely for incoherent columns; smooth kernels are). The QR of
# the sample costs O(m l^2): l = 32 measured 0.18 ms at m = 1000 against 0.67 ms for 64, and
# holds Shaw's rank 20; larger ranks double the sample.
_SAMPLE = 32
_SAMPLE_MAX = 256
_OVERSAMPLE = 8
# Singular values of the sample below this fraction of the largest are left out of the basis:
# a direction of A this small moves the gradient by about 1e-13 ||A|| ||r||, two orders below
# the acceptance bound of the certificate. Shaw's A (n = 1000) has sigma_19 / sigma_0 = 3e-13
# and sigma_20 / sigma_0 = 7e-16; a sample of 32 of its columns keeps k = 18.
_RANK_TOL = 1e-13
# An entering column whose last diagonal in the QR of the passive columns is below this
# fraction of its norm is numerically dependent on them and waits (Lawson & Hanson's test,
# as in the QR path).
_DEPENDENT = 1e-12


def low_rank_basis(A, seed=0):
    """An orthonormal basis B (m x k) of the range of a numerically low-rank A, or ``None``.

    B spans the left singular vectors of a random sample of l columns whose singular values
    are above ``_RANK_TOL`` of the largest; l grows from ``_SAMPLE`` (doubling, the samples
    nested) while more than ``l - _OVERSAMPLE`` of them are, up to ``_SAMPLE_MAX`` and a
    quarter of min(m, n). ``None`` when a sample has full numerical rank (one QR of l = 32
    columns spent on a full-rank A) or no sample leaves that margin: A is not of low enough
    rank for a sample to have captured its range.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((300, 5)) @ rng.standard_normal((5, 200))
    >>> B = low_rank_basis(A)
    >>> B.shape, bool(np.linalg.norm(A - B @ (B.T @ A)) < 1e-12 * np.linalg.norm(A))
    ((300, 5), True)
    >>> low_rank_basis(rng.standard_normal((300, 200))) is None
    True
    """
    m, n = A.shape
    order = np.random.default_rng(seed).permutation(n)
    size = _SAMPLE
    while size <= min(_SAMPLE_MAX, min(m, n) // 4):
        cols = np.sort(order[:size])
        # Householder QR of the sample (Q kept implicit), then the SVD of its R factor.
        qr, tau = lapack.dgeqrf(A.T[cols].T, overwrite_a=1)[:2]  # gathered Fortran-ordered
        U, s, _ = np.linalg.svd(np.triu(qr[:size]))
        k = int(np.count_nonzero(s > _RANK_TOL * s[0])) if s[0] > 0 else 0
        if k == 0 or k == size:  # a zero sample, or one of full rank: not low rank
            return None
        if k <= size - _OVERSAMPLE:
            Z = np.zeros((m, k), order="F")
            Z[:size] = U[:, :k]
            return lapack.dormqr("L", "N", qr, tau, Z, max(1, 64 * k), overwrite_c=1)[0]
        size *= 2
    return None


def compress(A, b, B):
    """The compressed problem ``(C, c)`` with ``C ~ B^T A`` (k x n) and ``c = B^T b``.

    ``C`` is ``B_I^{-1} A_I`` for the k rows I that an LU factorization of B with partial
    pivoting picks (an interpolative decomposition): equal to ``B^T A`` when range(A) lies in
    range(B), for ``k^2 n`` flops instead of ``2 m n k``. Partial pivoting measured 6x
    faster than a column-pivoted QR of ``B^T`` on Shaw's 1000 x 18 basis (0.07 ms against
    0.4 ms), with ``||B_I^{-1}||`` 16 against 9: the error of C it amplifies is taken out of
    x afterwards (:func:`polish`). Returns ``(C, c)``, or ``None`` if ``B_I`` is singular to
    working precision.
    """
    k = B.shape[1]
    piv = lapack.dgetrf(B)[1]
    rows = np.arange(B.shape[0])
    for i, p in enumerate(piv[:k]):  # the row interchanges, in order
        rows[i], rows[p] = rows[p], rows[i]
    rows = np.sort(rows[:k])
    lu, piv, info = lapack.dgetrf(B[rows])
    d = np.abs(np.diagonal(lu))
    if info != 0 or d.min() <= 1e-8 * d.max():
        return None
    C = lapack.dgetrs(lu, piv, A[rows])[0]
    return C, B.T @ b


def lawson_hanson_small(C, c, max_iter):
    """Lawson & Hanson (1974) NNLS on a short, wide ``C`` (k x n, k small), to a zero gradient
    tolerance. Returns ``(x, n_outer)``; optimality is for the caller to certify.

    Examples
    --------
    >>> import numpy as np
    >>> C = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    >>> x, it = lawson_hanson_small(C, np.array([1.0, -1.0]), 50)
    >>> x
    array([1., 0., 0.])
    """
    k, n = C.shape
    CT = np.ascontiguousarray(C.T)  # the columns of C as contiguous rows
    norms = np.sqrt(np.einsum("ij,ij->i", CT, CT))
    dgels = lapack.dgels
    x = np.zeros(n)
    F = np.zeros(0, dtype=np.intp)
    w = CT @ c
    for it in range(1, max_iter + 1):
        w[F] = -np.inf
        while True:  # the entering column: the largest gradient that passes the tests
            j = w.argmax()
            if not w[j] > 0.0 or F.size >= k:
                return x, it
            F1 = np.append(F, j)
            V = CT[F1].T  # C[:, F1], Fortran-ordered: LAPACK reads it in place
            qr, z = dgels(V, c)[:2]
            s = F1.size
            if abs(qr[s - 1, s - 1]) > _DEPENDENT * norms[j] and z[s - 1] > 0.0:
                break
            w[j] = -np.inf  # dependent on F, or it would not move up: it waits
        F = F1
        z = z[:s]
        dropped = False
        neg = z <= 0.0
        while neg.any():
            # Lawson & Hanson's inner loop: move x_F toward z until a variable reaches zero,
            # drop it (and any other that reached zero while headed down), solve again.
            xF = x[F]
            xn = xF[neg]
            ratio = xn / np.maximum(xn - z[neg], _TINY)  # xn - z >= 0; 0 / 0 counts as 0
            i = ratio.argmin()
            xF += ratio[i] * (z - xF)
            drop = xF <= 0.0
            drop &= neg
            drop[neg.nonzero()[0][i]] = True
            x[F[drop]] = 0.0
            keep = ~drop
            F, xF = F[keep], xF[keep]
            x[F] = xF
            dropped = True
            if not F.size:
                break
            z = dgels(CT[F].T, c)[1][:F.size]
            neg = z <= 0.0
        x[F] = z
        w = CT @ (c - (CT[F].T if dropped else V) @ z)
    return x, max_iter


def polish(A, b, x):
    """x with its positive entries replaced by the least-squares solution on A's own columns
    ``A[:, F]`` (the support found on the compression, the values from A: a QR of m x |F|,
    no pass over all of A), kept only if that solution is positive. Returns ``(x, residual,
    floor)``: the residual ``A x - b`` of the x returned and ``max_{j in F} |a_j^T b|``, a
    lower bound on ``||A^T b||_inf``, both from the same columns.
    """
    F = np.flatnonzero(x > 0)
    if not F.size:
        return x, -b, 0.0
    AF = A[:, F]
    qr, z, info = lapack.dgels(AF, b)[:3]
    z = z[:F.size]
    d = np.abs(np.diagonal(qr))
    if info == 0 and np.all(z > 0) and d.min() > _DEPENDENT * d.max():
        x = np.zeros_like(x)
        x[F] = z
    return x, AF @ x[F] - b, float(np.max(np.abs(AF.T @ b)))


def certify(A, b, x, residual=None, floor=0.0):
    """The KKT residual of ``x`` on A and b, scaled as the paths' acceptance test:
    ``max |min(x, g)| / ||A^T b||_inf`` with ``g = A^T (A x - b)``, or an upper bound of it
    that is within the acceptance bound.

    ``residual`` (``A x - b``) saves the product with A; ``floor``, a lower bound on
    ``||A^T b||_inf``, saves the product that computes it whenever the residual scaled by the
    floor is already accepted (the true residual is then smaller still): one pass over A
    where the answer is right.
    """
    if residual is None:
        residual = A @ x - b
    worst = float(np.max(np.abs(np.minimum(x, A.T @ residual)), initial=0.0))
    if floor > 0.0 and worst <= _ACCEPT * floor:
        return worst / floor
    return worst / max(float(np.max(np.abs(A.T @ b), initial=0.0)), _TINY)


def compressed_nnls(A, b, max_iter):
    """Solve NNLS on a compressed copy of a numerically low-rank A and certify on A.

    Returns ``None`` when A is not of low enough rank for the compression to be tried (the
    caller goes on as before), otherwise ``(x, n_iter, certified, exit, k)`` with ``k`` the
    rank kept; ``certified`` means the KKT residual on A itself is within the acceptance
    bound of the other paths.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((400, 8)) @ rng.standard_normal((8, 300))
    >>> b = A @ np.abs(rng.standard_normal(300))
    >>> x, n_iter, certified, exit, k = compressed_nnls(A, b, 900)
    >>> k, certified, bool(certify(A, b, x) <= 1e-11), exit.reason.value
    (8, True, True, 'certified')
    >>> compressed_nnls(rng.standard_normal((400, 300)), b, 900) is None  # full rank
    True
    """
    B = low_rank_basis(A)
    if B is None:
        return None
    problem = compress(A, b, B)
    if problem is None:
        return None
    C, c = problem
    x, it = lawson_hanson_small(C, c, max_iter)
    x, residual, floor = polish(A, b, x)
    kkt = certify(A, b, x, residual, floor)
    if kkt <= _ACCEPT:
        return x, it, True, CERTIFIED, B.shape[1]
    if it >= max_iter:
        return x, it, False, ITERATION_CAP, B.shape[1]
    return x, it, False, Exit(Reason.KKT_ABOVE_BOUND,
                              f"KKT residual {kkt:.1e} on A at the finish"), B.shape[1]
