"""Operator helpers: one interface over dense arrays, scipy.sparse and LinearOperator inputs."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator


class Operator:
    """``A`` seen through ``matvec`` / ``rmatvec`` whatever its storage.

    ``kind`` is ``"dense"``, ``"sparse"`` or ``"operator"``. Both products accept a vector or a
    2-D block of vectors. ``norm2()`` is an upper estimate of the spectral norm, cached.
    """

    def __init__(self, A, kind: str):
        self.A = A
        self.kind = kind
        self.shape = tuple(A.shape)
        self.dtype = np.dtype(A.dtype)
        self._norm2: float | None = None

    def matvec(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "operator":
            return self.A.matmat(x) if x.ndim == 2 else self.A.matvec(x)
        return self.A @ x

    def rmatvec(self, r: np.ndarray) -> np.ndarray:
        if self.kind == "operator":
            return self.A.rmatmat(r) if r.ndim == 2 else self.A.rmatvec(r)
        return self.A.T @ r

    def norm2(self) -> float:
        """Spectral norm of ``A``: exact for small dense ``A``, else a safe power-iteration bound."""
        if self._norm2 is None:
            m, n = self.shape
            if self.kind == "dense" and min(m, n) <= 300:
                self._norm2 = float(np.linalg.norm(self.A, 2)) if min(m, n) else 0.0
            else:
                self._norm2 = _power_norm(self)
        return self._norm2

    def todense_gram(self) -> np.ndarray:
        """``A^T A`` as a dense array (only for dense ``A``)."""
        A = self.A
        return A.T @ A


def _power_norm(op: Operator, iters: int = 100, rtol: float = 1e-4) -> float:
    """Power iteration on ``A^T A`` from a fixed seed, inflated slightly to bound from above.

    Power iteration underestimates ``||A||_2``; with relative change below ``rtol`` the estimate
    is within a few percent, and the 1.05 factor keeps derived step sizes on the safe side.
    """
    n = op.shape[1]
    rng = np.random.default_rng(0)
    v = rng.standard_normal(n).astype(op.dtype if op.dtype.kind == "f" else np.float64)
    v /= np.linalg.norm(v)
    est = 0.0
    for _ in range(iters):
        w = op.rmatvec(op.matvec(v))
        nw = float(np.linalg.norm(w))
        if nw == 0.0 or not np.isfinite(nw):
            return 0.0 if nw == 0.0 else float("inf")
        v = w / nw
        if abs(nw - est) <= rtol * nw:
            est = nw
            break
        est = nw
    return 1.05 * float(np.sqrt(est))


def as_operator(A, dtype=None) -> Operator:
    """Wrap ``A`` (ndarray, scipy.sparse matrix/array, or LinearOperator) as an :class:`Operator`.

    ``dtype`` converts dense and sparse storage (never in place); operators are used as given.
    """
    if isinstance(A, Operator):
        return A
    if isinstance(A, LinearOperator):
        return Operator(A, "operator")
    if sp.issparse(A):
        A = sp.csr_array(A) if A.format not in ("csr", "csc") else A
        if dtype is not None and A.dtype != dtype:
            A = A.astype(dtype)
        return Operator(A, "sparse")
    A = np.asarray(A, dtype=dtype)
    return Operator(A, "dense")
