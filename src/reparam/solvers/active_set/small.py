"""Block principal pivoting with few numpy calls, for small problems and for many right-hand
sides with few unknowns.

Kim & Park, "Fast nonnegative matrix factorization: an active-set-like method and
comparisons", SIAM J. Sci. Comput. 33 (2011): Algorithm 2 (one right-hand side) and
Algorithm 3 (many), with the Júdice & Pires (1994) backup rule, started from the sign pattern
of the unconstrained solution for many right-hand sides. ``bpp_columns`` works on an
equilibrated Gram matrix ``G`` (unit-size columns, so the tolerances are unitless) that the
caller has checked to be well-conditioned (:func:`gram_is_safe`): every principal block
``G_FF`` is then at least as well-conditioned as ``G`` (Cauchy's interlacing theorem), so no
passive solve can fail and no fallback is needed inside the loop. The callers certify every
answer on ``A`` itself and hand what misses the tolerance to the general path.

At this size the cost of a round is the number of numpy and LAPACK calls, not flops:
``bpp_small`` makes about ten per round; ``bpp_columns`` solves every column's passive system
at once as the masked ``n x n`` system ``P G P + (I - P)`` (the identity on the active
variables gives them ``x_i = 0``) by a Cholesky factorization written over the stacked
columns, one numpy call per entry of the factor's column, so a round costs ``O(n)`` calls
whatever the number of columns and passive sets. Where the compiled kernel ``_bppc`` was
built (at ``pip install``; a C compiler is all it needs), ``bpp_columns`` runs the same rules
one column at a time in C instead, which removes the numpy calls altogether (measured 5-10x
faster at 16-20 unknowns); the numpy version stays as the fallback, used when the extension
is missing or the environment variable ``REPARAM_NO_EXTENSION`` is set to anything but ``""``
or ``"0"``.
"""

from __future__ import annotations

import os

import numpy as np
from scipy.linalg import lapack

from ...domains import orthant_kkt_positive
from ._common import _ACCEPT, _CHOL_PIVOT, _FULL_EXCHANGES, _TINY, _TOL, exchange_columns

_dpotrf, _dpotrs, _dposv, _dpocon = lapack.dpotrf, lapack.dpotrs, lapack.dposv, lapack.dpocon

try:  # built by setuptools at install; optional, so a failed build leaves the numpy version
    from . import _bppc
except ImportError:  # pragma: no cover - no compiler at install time
    _bppc = None
# The compiled kernel's limit on unknowns (its work arrays live on the stack).
_COMPILED_N = 256
# The compiled kernel's dual solves (a factorization of size |D| of G^{-1}'s active block
# instead of one of size |F| of G's passive block; Portugal, Júdice & Vicente 1994 use the
# same complementary pair): from this many unknowns, and only for a Gram matrix whose
# condition number is at most _DUAL_COND, so that the extra rounding of G^{-1} (about
# cond(G) eps, relative) stays far below the pivoting tolerance _TOL. Every answer is
# certified on A either way.
_DUAL_N = 8
_DUAL_COND = 1e4
# ... and only when the starting passive sets hold more than this share of the variables.
_DUAL_SHARE = 0.4
# Up to this many unknowns the start G^{-1} C runs compiled (see _unconstrained_start).
_SOLVE_N = 64


def compiled_kernel(n: int = 1) -> bool:
    """Whether :func:`bpp_columns` runs compiled for ``n`` unknowns: the extension was built,
    ``n <= 256`` and the environment variable ``REPARAM_NO_EXTENSION`` is unset, empty or
    ``"0"`` (read at every call, so tests can switch it)."""
    return (_bppc is not None and n <= _COMPILED_N
            and os.environ.get("REPARAM_NO_EXTENSION", "") in ("", "0"))


def gram_is_safe(G):
    """The Cholesky factor of ``G`` when its pivots pass the kernel's conditioning test
    (smallest squared pivot above ``_CHOL_PIVOT`` times the largest), else None."""
    L, info = _dpotrf(G, 1, 0)
    if info != 0:
        return None
    d = np.diagonal(L).tolist()
    if min(d) ** 2 <= _CHOL_PIVOT * max(d) ** 2:
        return None
    return L


def compiled_certificate(A, b, x, col_norms, compiled=None):
    """The parts of the NNLS certificate of ``x`` in one compiled call, or None where the
    extension is not used (:func:`compiled_kernel`) or ``A``, ``b`` or ``x`` is not
    contiguous.

    With ``r = A x - b`` and ``g = A^T r``: ``(max_i |min(x_i c_i, g_i / c_i)|, r.r, x.g)``
    (``c = col_norms``, all positive), the numerator of
    :func:`~reparam.domains.orthant_kkt`, twice the objective and the signed
    complementarity. Both products run in C without temporaries: at 80 x 40 the numpy
    version's ten calls cost more than the products. ``A``, ``b``, ``x``, ``col_norms``:
    float64, the vectors contiguous. ``compiled``: :func:`compiled_kernel`'s answer when the
    caller has it (it reads the environment, a microsecond).
    """
    if not (compiled_kernel() if compiled is None else compiled) \
            or not (A.flags.c_contiguous or A.flags.f_contiguous) \
            or not (b.flags.c_contiguous and x.flags.c_contiguous):
        return None
    return _bppc.certify(A, b, x, col_norms)


def equilibrated_gram(G, lo, hi, compiled):
    """The Gram matrix ``G = A^T A`` of many right-hand sides' lean path, equilibrated by
    powers of two: ``(Gs, s, c, L)`` with ``c`` the column norms of ``A``, ``s_i = 2^-e_i``
    where ``c_i = f 2^e_i`` (``0.5 <= f < 1``), ``Gs = diag(s) G diag(s)`` (exact) and ``L``
    the lower Cholesky factor of ``Gs``; None when a squared norm is outside ``(lo, hi)`` (zero,
    tiny, huge or non-finite columns) or the factor fails :func:`gram_is_safe`'s pivot test
    (duplicated or dependent columns), which the general path handles. One compiled call
    where ``compiled`` (:func:`compiled_kernel`'s answer), else numpy and LAPACK.

    Examples
    --------
    >>> import numpy as np
    >>> Gs, s, c, L = equilibrated_gram(np.array([[4.0, 2.0], [2.0, 9.0]]), 1e-200, 1e200,
    ...                                 compiled_kernel())
    >>> s.tolist(), c.tolist(), Gs.tolist()
    ([0.25, 0.25], [2.0, 3.0], [[0.25, 0.125], [0.125, 0.5625]])
    >>> bool(np.allclose(L @ L.T, Gs))
    True
    >>> equilibrated_gram(np.eye(2) * 0.0, 1e-200, 1e200, compiled_kernel()) is None
    True
    """
    n = G.shape[0]
    if compiled:
        Gs, L = np.empty((n, n)), np.empty((n, n))
        s, c = np.empty(n), np.empty(n)
        if _bppc.equilibrate_factor(G, lo, hi, _CHOL_PIVOT, Gs, s, c, L):
            return None
        return Gs, s, c, L
    sq = np.diagonal(G)
    # Non-finite entries fail the test: inf the bounds, NaN every comparison (Python's min and
    # max skip a NaN that is not first, so their sum, which keeps it, is tested too).
    sq_list = sq.tolist()  # n <= 32: cheaper than two numpy reductions
    if not (lo < min(sq_list) and max(sq_list) < hi and lo < sum(sq_list)):
        return None
    c = np.sqrt(sq)
    s = np.ldexp(1.0, -np.frexp(c)[1])
    Gs = G * s
    Gs *= s[:, None]
    L = gram_is_safe(Gs)
    return None if L is None else (Gs, s, c, L)


def certify_columns(A, B, X, c, compiled, bb=None):
    """``(kkt, objective, complementarity, bb)`` of every column of ``X`` as an answer to
    ``min 0.5 |A x - B_j|^2, x >= 0``: with ``R = A X - B`` and ``G = A^T R``,
    :func:`~reparam.domains.orthant_kkt` per column, ``0.5 |r_j|^2``, ``|x_j . g_j|`` and
    ``bb = |B_j|^2``.

    The two products are BLAS's; where ``compiled`` (:func:`compiled_kernel`'s answer) the
    rest runs in two compiled passes (the subtraction with the sums of squares of ``R`` and,
    unless ``bb`` is given, of ``B``; then the n x k block), where numpy makes a subtraction
    and six reductions. ``A`` (m, n), ``B`` (m, k), ``X`` (n, k): float64, ``X`` finite;
    ``c``: the positive column norms of ``A``, contiguous. Where ``|B_j|^2`` is outside
    ``(1e-200, 1e200)`` the squares may have overflowed or underflowed: the caller checks
    ``bb`` and leaves such columns to a path that scales them.

    Examples
    --------
    >>> import numpy as np
    >>> A, B = np.eye(2), np.array([[1.0, -1.0], [2.0, 0.0]])
    >>> kkt, objective, complementarity, bb = certify_columns(
    ...     A, B, np.array([[1.0, 0.0], [2.0, 0.0]]), np.ones(2), compiled_kernel())
    >>> kkt.tolist(), objective.tolist(), complementarity.tolist(), bb.tolist()
    ([0.0, 0.0], [0.0, 0.5], [0.0, 0.0], [5.0, 1.0])
    """
    R = A @ X
    k = X.shape[1]
    if compiled:
        rr = np.empty(k)
        if bb is None:
            bb = np.empty(k)
            _bppc.sub_sumsq(R, B, rr, bb)
        else:
            _bppc.sub_sumsq(R, B, rr)
        G = A.T @ R
        parts = np.empty((2, k))
        _bppc.kkt_columns(X, G, c, parts, bb)
        rr *= 0.5
        return parts[0], rr, parts[1], bb
    if bb is None:
        bb = np.einsum("ij,ij->j", B, B)
    R -= B
    G = A.T @ R
    kkt = orthant_kkt_positive(X, G, c[:, None], np.maximum(np.sqrt(bb), _TINY))
    return (kkt, 0.5 * np.einsum("ij,ij->j", R, R), np.abs(np.einsum("ij,ij->j", X, G)), bb)


def solve_small_compiled(A, b, max_iter, lo, hi):
    """One small system ``m >= n`` in one compiled call: :func:`bpp_small`'s pivoting on the
    Gram pair (``A^T A`` and ``A^T b`` by BLAS) and :func:`compiled_certificate`'s certificate
    of its answer, with the caller's range checks (``|b|^2`` and every ``|a_i|^2`` in
    ``(lo, hi)``) done on the way. At 80 x 40 the Python glue between the separate calls cost
    as much as the pivoting and the certificate together.

    ``A``, ``b``: float64, ``A`` C- or Fortran-contiguous, ``b`` contiguous, ``n <= 256``; the
    caller checks :func:`compiled_kernel`. Returns ``(code, x, rounds, kkt, rr, xg)``: code 0
    when pivoting finished, with the certificate ``kkt`` (:func:`~reparam.domains.orthant_kkt`
    of ``x``), ``rr = |A x - b|^2`` and ``xg = x^T A^T (A x - b)``; 1 when it did not (a
    singular passive block or ``max_iter`` rounds); -1 when a range check failed.
    """
    n = A.shape[1]
    x, c = np.empty(n), np.empty(n)
    code, rounds, kkt, rr, xg = _bppc.solve_small(A, b, A.T.dot(A), A.T.dot(b), x, c, max_iter,
                                                  _TOL, _FULL_EXCHANGES, lo, hi)
    return code, x, rounds, kkt, rr, xg


def bpp_small(G, c, col_norms, b_norm, max_iter, compiled=None):
    """Block principal pivoting for one right-hand side on the Gram pair ``(G, c) = (A^T A,
    A^T b)``, started as Kim & Park do from ``x = 0`` (the passive set ``c > 0``).

    ``col_norms`` (``||a_i||``) and ``b_norm`` (``||b||``) set per-variable tolerances
    ``tol_i = 1e-13 ||b|| ||a_i||`` in the units of ``c``: a passive ``x_i`` is infeasible when
    ``G_ii x_i < -tol_i``, an active one when its gradient ``y_i < -tol_i``; both tests are
    unchanged by scaling column ``i``, so ``G`` needs no equilibration (nor does Cholesky's
    accuracy: it does not depend on a diagonal scaling).
    Returns ``(x, rounds)`` (no round when ``c <= 0``: ``x = 0`` is optimal), or
    ``(None, rounds)`` when a passive block is numerically singular or ``max_iter`` rounds did
    not finish; the caller certifies ``x`` on ``A``.

    Runs compiled where :func:`compiled_kernel` says so (``G`` and ``c`` contiguous float64):
    the same rules and tolerances with no numpy call per round, its factorizations keeping
    the rows of the unchanged leading passive variables (measured 4-10x faster at 40-200
    unknowns); its pivot test is stricter than LAPACK's (a pivot below ``1e-14 G_ii``
    fails), which only sends a nearly singular block to the caller's fallback sooner.
    ``compiled``: :func:`compiled_kernel`'s answer for ``n`` when the caller has it.
    """
    n = c.size
    if compiled_kernel(n) if compiled is None else compiled:
        x = np.empty(n)
        rounds, done = _bppc.bpp_gram(G, c, col_norms, _TOL * b_norm, x, max_iter,
                                      _FULL_EXCHANGES)
        return (x if done else None), rounds
    d = G.diagonal()
    neg_tol = (-_TOL * b_norm) * col_norms
    passive = c > 0
    if not passive.any():  # A^T b <= 0: x = 0 is optimal (its gradient -c >= 0), no round
        return np.zeros(n), 0
    best, budget = n + 1, _FULL_EXCHANGES
    for rounds in range(1, max_iter + 1):
        idx = passive.nonzero()[0]
        if idx.size:
            # take() is cheaper than fancy indexing; the transpose of the (symmetric) block is
            # Fortran-ordered, so LAPACK factors it in place instead of copying it first. The
            # rows G_F. give the gradient y = G x - c without scattering x_F into x.
            rows = G.take(idx, 0)
            _, xF, info = _dposv(rows.take(idx, 1).T, c.take(idx), 1, 1, 1)
            if info:
                return None, rounds
            y = xF.dot(rows)
            y -= c
            y[idx] = xF * d.take(idx)  # the passive entries are tested on G_ii x_i
        else:
            y = -c
        infeasible = y < neg_tol
        flips = infeasible.nonzero()[0]
        count = flips.size
        if not count:
            x = np.zeros(n)
            if idx.size:
                x[idx] = np.maximum(xF, 0.0)
            return x, rounds
        if count < best:
            best, budget = count, _FULL_EXCHANGES
            passive ^= infeasible
        elif budget:
            budget -= 1
            passive ^= infeasible
        else:  # Júdice–Pires backup rule: flip the infeasible variable of largest index
            j = flips[-1]
            passive[j] = not passive[j]
    return None, max_iter


# Entries of the buffer in which all_columns_bpp certifies a block of columns at a time.
_CERTIFY_ENTRIES = 1 << 17


def all_columns_bpp(G, C, P0, max_iter):
    """:func:`bpp_columns` on a Gram pair ``(G, C) = (A^T A, A^T B)`` in any units:
    equilibrated by powers of two (exact, undone exactly), checked by :func:`gram_is_safe`,
    and every finished column certified on the Gram pair as the kernel's other paths are
    (``max|min(y, G y - c)| <= 1e-11 max|c|`` in the equilibrated units). ``P0``: passive sets
    to start from (a warm start), or None for the unconstrained solution's sign pattern.

    Returns ``(X, n_iter, certified)``, or None when ``G`` has a zero diagonal or fails the
    conditioning test (the caller's grouped path and its fallbacks handle those).
    """
    d = np.diagonal(G)
    if not (d.size and float(d.min()) > 0.0 and float(d.max()) < np.inf):
        return None
    s = np.ldexp(1.0, -(np.frexp(d)[1] // 2))  # about 1 / ||a_i||, a power of two
    Gs = G * s[:, None]
    Gs *= s
    Cs = C * s[:, None]
    L = gram_is_safe(Gs)
    if L is None:
        return None
    Y, n_iter, done = bpp_columns(Gs, Cs, L, max_iter, P0)
    cmax = np.maximum(np.maximum.reduce(Cs, axis=0), -np.minimum.reduce(Cs, axis=0))
    kkt = np.empty(Y.shape[1])
    # A block of columns at a time through one buffer: the residual of all columns at once
    # would be fresh memory (as large as C) every call, paid a page fault per page.
    width = max(1, _CERTIFY_ENTRIES // Y.shape[0])
    R = np.empty((Y.shape[0], min(width, Y.shape[1])), order="F")
    for lo in range(0, Y.shape[1], width):
        hi = min(Y.shape[1], lo + width)
        r = R[:, :hi - lo]
        np.matmul(Gs, Y[:, lo:hi], out=r)
        r -= Cs[:, lo:hi]
        np.minimum(Y[:, lo:hi], r, out=r)  # in place: a third of the product's time at n = 200
        np.abs(r, out=r)
        kkt[lo:hi] = np.maximum.reduce(r, axis=0)
    certified = done & (kkt <= _ACCEPT * np.maximum(cmax, _TINY))
    Y *= s[:, None]
    return Y, n_iter, certified


def bpp_columns(G, C, L, max_iter, P0=None):
    """Block principal pivoting for many right-hand sides (columns of ``C``) on a
    well-conditioned, equilibrated Gram matrix ``G`` with Cholesky factor ``L``.

    Kim & Park (2011), Algorithm 3, with the Júdice & Pires backup rule; the block pivoting
    of Portugal, Júdice & Vicente (1994). ``P0``: the passive sets to start from; None starts
    from the sign pattern of the unconstrained solution ``G^{-1} C``. Every column keeps its
    own passive set, exchange budget and backup rule. Runs the compiled kernel when
    :func:`compiled_kernel` says so (one column at a time, a small Cholesky factorization per
    round that keeps the rows of the unchanged leading passive variables), else the numpy
    version (:func:`bpp_columns_numpy`); both follow the same rules and tolerances.
    Returns ``(X, rounds, done)``: ``done[j]`` is False for the columns that did not finish
    within ``max_iter`` rounds (their ``X`` column is not an answer).
    """
    n, k = C.shape
    if not compiled_kernel(n):
        return bpp_columns_numpy(G, C, L, max_iter, P0)
    # The start for all columns at once, as the numpy version does.
    X_ls, H, positive = None, None, None
    if P0 is None:
        X_ls, positive = _unconstrained_start(L, C)
        P = X_ls > 0
    else:
        P = np.asarray(P0, dtype=bool)
    # The dual solves pay off where passive sets are large; they need G^{-1} and G^{-1} C.
    if positive is None:
        positive = np.count_nonzero(P)
    if n >= _DUAL_N and positive > _DUAL_SHARE * P.size:
        H = _inverse_if_well_conditioned(G, L)
        if H is not None and X_ls is None:
            X_ls = _unconstrained_start(L, C)[0]
    X = np.empty((n, k))
    rounds = np.empty(k, dtype=np.intp)
    done = np.empty(k, dtype=bool)
    _bppc.bpp_columns(np.asarray(G, dtype=np.float64), np.asarray(C, dtype=np.float64), P, X,
                      rounds, done, max_iter, _TOL, H, X_ls)
    return X, rounds, done


def _unconstrained_start(L, C):
    """``(G^{-1} C, its number of positive entries or None)`` for ``G = L L^T``: by the
    compiled substitutions for at most :data:`_SOLVE_N` unknowns (LAPACK's ``dpotrs`` took
    2-3x their time there, at 0.28 ms for 16 unknowns and 1797 columns), else by
    ``dpotrs``, whose blocking wins on larger triangles. The caller checks
    :func:`compiled_kernel`."""
    n, k = C.shape
    if n <= _SOLVE_N:
        X = np.empty((n, k))
        return X, _bppc.chol_solve(L, C, X)
    return _dpotrs(L, C, 1)[0], None


def _inverse_if_well_conditioned(G, L):
    """``G^{-1}`` when ``G = L L^T`` is conditioned well enough for the dual solves
    (:func:`_well_conditioned`), else None. Up to :data:`_SOLVE_N` unknowns the inverse and
    the exact ``cond_1(G) = |G|_1 |G^{-1}|_1`` come from one compiled call (LAPACK's
    ``dpocon`` and ``dpotrs`` took 20 us at n = 16); beyond, the estimate and LAPACK."""
    n = G.shape[0]
    if n <= _SOLVE_N:
        H = np.empty((n, n))
        return H if _bppc.inverse_cond(G, L, H) <= _DUAL_COND else None
    return _dpotrs(L, np.eye(n), 1)[0] if _well_conditioned(G, L) else None


def _well_conditioned(G, L) -> bool:
    """Whether ``G = L L^T`` is conditioned well enough for the dual solves (through
    ``G^{-1}``, whose rounding error grows with cond(G) as the primal one does with
    cond(G_FF)): LAPACK's estimate of cond_1(G) (``dpocon``, O(n^2) from the factor) at most
    :data:`_DUAL_COND`."""
    rcond, info = _dpocon(L, float(np.max(np.sum(np.abs(G), axis=0))), "L")
    return info == 0 and rcond * _DUAL_COND >= 1.0


def bpp_columns_numpy(G, C, L, max_iter, P0=None):
    """:func:`bpp_columns` in numpy: a round solves all live columns' masked systems at once
    (:func:`masked_solve`), so it costs ``O(n)`` numpy calls whatever the number of columns.
    """
    n, k = C.shape
    if P0 is None:
        X, _ = _dpotrs(L, C, 1)
        P = X > 0
    else:
        P = np.array(P0, dtype=bool)
    tol = _TOL * np.maximum(np.maximum.reduce(np.abs(C), axis=0), 1e-300)
    best = np.full(k, n + 1)
    budget = np.full(k, _FULL_EXCHANGES)
    rounds = np.zeros(k, dtype=np.intp)
    done = np.zeros(k, dtype=bool)
    X = np.zeros((n, k))
    live = np.arange(k)
    for it in range(1, max_iter + 1):
        whole = live.size == k
        Cl, Pl, tl = (C, P, tol) if whole else (C[:, live], P[:, live], tol[live])
        Xl = masked_solve(G, Cl, Pl)
        Yl = G @ Xl
        Yl -= Cl
        Yl[Pl] = 0.0
        infeasible = (Xl < -tl) | (Yl < -tl)
        count = np.count_nonzero(infeasible, axis=0)
        rounds[live] = it
        fin = count == 0
        if fin.any():
            np.maximum(Xl, 0.0, out=Xl)
            if whole:
                X = Xl
            else:
                X[:, live] = Xl
            done[live[fin]] = True
            keep = ~fin
            live, infeasible, count, Pl = live[keep], infeasible[:, keep], count[keep], Pl[:, keep]
        if live.size == 0:
            break
        exchange_columns(P, Pl, live, infeasible, count, best, budget, n)
    return X, rounds, done


def masked_solve(G, C, P):
    """``X`` with ``X[F_j, j] = G_FF^{-1} C[F_j, j]`` and zero elsewhere, for every column
    ``j`` with passive set ``F_j`` (the True entries of ``P[:, j]``), in one pass.

    Each column's system is the masked ``P G P + (I - P)``, factored by Cholesky (the
    column-oriented, left-looking variant; Golub & Van Loan, *Matrix Computations*, Alg.
    4.2.1) with the columns of ``C`` as the innermost, vectorized dimension, in slices of
    columns whose factors stay in cache. ``G`` must be positive definite with every
    principal block safely so (:func:`gram_is_safe`).
    """
    n, k = C.shape
    X = np.empty((n, k))
    step = max(64, _SLICE_ENTRIES // (n * n))
    for lo in range(0, k, step):
        sl = slice(lo, lo + step)
        X[:, sl] = _masked_slice(G, C[:, sl], P[:, sl])
    return X


# Entries of the stacked factors of one slice of columns (n * n * slice float64: 4 MiB).
_SLICE_ENTRIES = 2**19


def _masked_slice(G, C, P):
    n, k = C.shape
    Pf = P.astype(np.float64)
    # L[i, j, :] for i >= j; the masked matrix's entry (i, j) is G_ij P_i P_j (+ 1 - P_i on
    # the diagonal), so row i of a non-passive variable is e_i and its x_i = 0.
    L = np.empty((n, n, k))
    inv = np.empty((n, k))  # 1 / L_jj: products instead of divisions in the loops
    Y = C * Pf
    for j in range(n):
        Lj = L[j, :j]  # (j, k): row j of L so far
        # column j below and on the diagonal: a_ij - sum_p L_ip L_jp
        col = L[j:, j]  # filled in place
        np.multiply(Pf[j:], Pf[j], out=col)
        col *= G[j:, j, None]
        if j:
            col -= np.einsum("ipk,pk->ik", L[j:, :j], Lj)
            Y[j] -= np.add.reduce(Lj * Y[:j])  # forward substitution, row j
        col[0] += 1.0 - Pf[j]
        d = inv[j]
        np.sqrt(col[0], out=d)
        np.divide(1.0, d, out=d)
        col *= d
        Y[j] *= d
    for j in range(n - 1, -1, -1):  # back substitution with L^T
        if j < n - 1:
            Y[j] -= np.add.reduce(L[j + 1:, j] * Y[j + 1:])
        Y[j] *= inv[j]
    Y *= Pf
    return Y
