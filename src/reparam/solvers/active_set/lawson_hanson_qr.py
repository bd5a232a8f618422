"""Lawson–Hanson NNLS on the columns of A, with an updated thin QR factorization of A[:, F].

Lawson & Hanson, *Solving Least Squares Problems* (1974), ch. 23, Algorithm NNLS: columns
enter, up to ``_QR_BLOCK`` at a time, by block classical Gram–Schmidt with
reorthogonalization, and leave by the Givens sweep of Lawson & Hanson
(``scipy.linalg.qr_delete``, compiled). The passive set never holds more than rank(A)
columns and the conditioning is that of ``A[:, F]``, not of its square.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack, qr_delete

from ._common import _TINY, _TOL, _step_to_boundary, final_exit
from .outcome import CERTIFIED, ITERATION_CAP

# A column whose component orthogonal to range(A_F) is below this fraction of its norm is
# treated as dependent (Lawson & Hanson's test, with a margin).
_DEPENDENT = 1e-12
# Most columns entering the QR path at once: blocks of 16 measured 1.2-1.5x faster than 4 or
# min(m, n) / 4 on wide Gaussian problems (large blocks pay O(m |F| block) Gram-Schmidt work
# for columns that leave again at once).
_QR_BLOCK = 16


def _lawson_hanson_qr(A, b, passive0, max_iter, block=None):
    """Lawson & Hanson (1974) NNLS with an updated thin QR of A[:, F].

    Variables enter in blocks of up to ``block`` (the most negative gradients); a block that
    makes no progress falls back to single entries, which is the classical algorithm and
    terminates. Returns (x, n_outer, certified, exit).
    """
    m, n = A.shape
    w = A.T @ b  # minus the gradient at x = 0
    cnorm = max(float(np.max(np.abs(w), initial=0.0)), _TINY)
    tol_w = _TOL * cnorm
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
        Q, R, F, _ = _qr_add(A, Q, R, F, cand)
        passive[F] = True
        x, Q, R, F, passive = _lh_inner(A, b, x, Q, R, F, passive)
        w = A.T @ (b - A[:, F] @ x[F])
    f_prev = np.inf
    for it in range(1, max_iter + 1):
        cand_mask = (~passive) & (~blocked) & (w > tol_w)
        if not cand_mask.any():
            end = final_exit(x, w, cnorm)
            if end is CERTIFIED or refreshed:
                return x, it, end is CERTIFIED, end
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
        Q, R, F, dependent = _qr_add(A, Q, R, F, cand)
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
    return x, max_iter, False, ITERATION_CAP


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


def _qr_add(A, Q, R, F, cand):
    """Append the independent columns of A[:, cand] to the thin QR (Q, R) of A[:, F].

    Block classical Gram–Schmidt, twice (enough for orthogonality to working precision), then
    a QR of the projected block; candidates enter up to the first numerically dependent one.
    Returns (Q, R, F, dependent_candidates).
    """
    m = A.shape[0]
    V = A[:, cand]
    # The candidates' norms, for the dependence test (no pass over all of A).
    col_norm = np.sqrt(np.einsum("ij,ij->j", V, V))
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
        if rho <= _DEPENDENT * col_norm[0]:
            return Q, R, F, cand
        Qn, Rn, keep, r = V / rho, np.array([[rho]]), np.array([0]), 1
    else:
        # Candidates come sorted by gradient; keep the leading ones up to the first that is
        # numerically dependent on those before it (a plain QR's diagonal says so).
        Qv, Rv = np.linalg.qr(V)
        d = np.abs(np.diagonal(Rv))
        ok = d > _DEPENDENT * col_norm[: d.size]
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

