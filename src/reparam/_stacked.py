"""Complex LinearOperators as real ones, ``[Re A; Im A]`` (see :func:`reparam._linalg.real_form`).

A module of its own so that ``scipy.sparse.linalg``, which defines LinearOperator, is imported
only when such an operator is given.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.linalg import LinearOperator

from ._linalg import is_complex


class StackedReal(LinearOperator):
    """A complex operator ``A`` (m × n) as the real operator ``[Re A; Im A]`` (2m × n).

    For real ``x``, ``matvec(x) = [Re(A x); Im(A x)]``; for a stacked residual ``[r1; r2]``,
    ``rmatvec = Re(A^H (r1 + i r2))``, the gradient of ``0.5 ||A x - b||^2`` over real ``x``.
    ``A.rmatvec`` must be the adjoint ``A^H`` (scipy's convention).
    """

    def __init__(self, A: LinearOperator):
        m, n = A.shape
        super().__init__(dtype=np.float64, shape=(2 * m, n))
        self.complex_operator = A
        self.rows = m
        self._real_source = not is_complex(A)  # then Im(A) = 0: skip complex arithmetic

    def _matvec(self, x):
        y = np.ravel(self.complex_operator.matvec(np.ravel(x).astype(np.float64)))
        return np.concatenate([y.real, np.zeros(y.shape) if self._real_source else y.imag])

    def _rmatvec(self, r):
        r = np.ravel(r)
        if self._real_source:
            return np.real(np.ravel(self.complex_operator.rmatvec(r[: self.rows])))
        z = r[: self.rows] + 1j * r[self.rows:]
        return np.real(np.ravel(self.complex_operator.rmatvec(z)))

    def _matmat(self, X):
        return np.column_stack([self._matvec(col) for col in X.T])

    def _rmatmat(self, R):
        return np.column_stack([self._rmatvec(col) for col in R.T])

    def _adjoint(self):
        return _StackedAdjoint(self)


class _StackedAdjoint(LinearOperator):
    def __init__(self, op: StackedReal):
        super().__init__(dtype=np.float64, shape=(op.shape[1], op.shape[0]))
        self.op = op

    def _matvec(self, r):
        return self.op._rmatvec(r)

    def _rmatvec(self, x):
        return self.op._matvec(x)
