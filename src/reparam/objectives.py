"""Data fits: the smooth objectives ``f(x)`` the engine minimizes over ``x = φ(params)``.

Every objective has ``value(x)``, ``grad(x)``, ``value_and_grad(x)`` and ``lipschitz()`` (a
bound, or a cheap upper estimate, of the Lipschitz constant of ``∇f``). Any object with
``value`` and ``grad`` works with :func:`reparam.train` as well (:func:`as_objective`).

``x`` may be a vector or a matrix. :class:`LeastSquares` with ``k`` right-hand sides (``b`` of
shape (m, k)), or with one right-hand side and ``x`` of shape (n, k), treats the columns as
``k`` independent problems (``columns = True``): its value is then one number per column.

Storage (dense, sparse, ``LinearOperator``) is known only to :mod:`reparam._linalg`.
"""

from __future__ import annotations

import copy
import functools
import numbers

import numpy as np
import scipy.sparse as sp

from ._linalg import (
    ArrayOperator,
    Operator,
    device,
    is_foreign,
    is_linear_operator,
    namespace,
    take_columns,
)
from ._result import column_norms, vector_norm
from ._validation import validate_matrix, validate_rhs

__all__ = [
    "Factorization",
    "LeastSquares",
    "MatrixCompletion",
    "MatrixSensing",
    "as_objective",
    "coldot",
]

# Below this many unknowns the Gram matrix A^T A (n^2 flops a gradient instead of 2 m n) is kept.
_GRAM_MAX_N = 8000


def coldot(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """``<a, b>`` for vectors, per column for (n, k) blocks (a (k,) array); arrays of any
    library (:func:`reparam._linalg.namespace`)."""
    if a.ndim == 1:
        return float(a @ b)
    if type(a) is np.ndarray:  # multiply and the ufunc's reduce: less overhead than einsum
        return np.add.reduce(a * b, axis=0)
    return namespace(a).sum(a * b, axis=0)


def _as_col(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A 1-D ``v`` broadcast against the columns of a 2-D ``x``."""
    return v[:, None] if x.ndim == 2 and v.ndim == 1 else v


class LeastSquares:
    r"""``f(x) = ½ ‖A x − b‖²``, one or many right-hand sides.

    Dense ``A`` with ``n <= m`` works on the Gram matrix ``AᵀA`` (``n²`` flops a gradient
    instead of ``2 m n``) unless ``use_gram=False``, which keeps the objective free of the
    cancellation in ``xᵀAᵀAx − 2 bᵀAx``; otherwise two products with ``A``.

    Parameters
    ----------
    A : array_like, scipy.sparse matrix or LinearOperator, shape (m, n)
    b : array_like, shape (m,) or (m, k)
        ``k`` right-hand sides are ``k`` independent problems (x of shape (n, k)).
    use_gram : bool, default True
    gram : ndarray, optional
        ``AᵀA`` when the caller has it already.
    col_norms : ndarray, optional
        ``‖A e_i‖₂`` when the caller has them already.

    Attributes
    ----------
    col_norms : ndarray, shape (n,)
        ``‖A e_i‖₂``, the per-coordinate scale of the orthant certificate.
    rhs_norm : float or ndarray
        ``‖b‖₂`` (per column), the normalization of the certificate.
    atb : ndarray
        ``Aᵀ b``.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.objectives import LeastSquares
    >>> f = LeastSquares(np.eye(2), np.array([1.0, 2.0]))
    >>> f.value(np.zeros(2)), f.grad(np.zeros(2))
    (2.5, array([-1., -2.]))
    """

    columns = True
    xp = np  # the array namespace of A and b (:func:`reparam._linalg.namespace`)

    def __init__(self, A, b, *, use_gram: bool = True, gram: np.ndarray | None = None,
                 col_norms: np.ndarray | None = None):
        if isinstance(A, (Operator, ArrayOperator)):
            self.op, self.b = A, b
        elif is_foreign(A) or is_foreign(b):
            self.op, self.b = _validate_arrays(A, b)
        else:
            self.op = validate_matrix(A)
            self.b = validate_rhs(b, self.op.shape[0])
        self.xp = getattr(self.op, "xp", np)
        self.atb = self.op.rmatvec(self.b)
        self.half_bb = 0.5 * (float(self.b @ self.b) if self.b.ndim == 1
                              else coldot(self.b, self.b))
        m, n = self.op.shape
        if gram is None and use_gram and self.op.kind == "dense" and n <= m and n <= _GRAM_MAX_N:
            gram = self.op.todense_gram()
        self.gram = gram
        self.shape = (n,) if self.b.ndim == 1 else (n, self.b.shape[1])
        if col_norms is not None:  # the caller's, e.g. those a validated problem computed
            self.__dict__["col_norms"] = col_norms

    def value_and_grad(self, x: np.ndarray):
        """``(f, g)`` at ``x`` (``f`` per column for a block)."""
        if self.gram is not None:
            c = _as_col(self.atb, x)
            g = self.gram @ x - c
            f = 0.5 * coldot(x, g - c) + self.half_bb
            if x.ndim == 1:
                return max(f, 0.0), g
            return (np.maximum(f, 0.0) if self.xp is np else self.xp.clip(f, min=0.0)), g
        r = self.op.matvec(x) - _as_col(self.b, x)
        return 0.5 * coldot(r, r), self.op.rmatvec(r)

    def value(self, x: np.ndarray):
        return self.value_and_grad(x)[0]

    def grad(self, x: np.ndarray) -> np.ndarray:
        return self.value_and_grad(x)[1]

    def take(self, keep: np.ndarray) -> LeastSquares:
        """The problems of the columns ``keep`` (a mask or indices), sharing ``A`` and its Gram."""
        if self.b.ndim == 1:
            return self
        new = copy.copy(self)
        new.b, new.atb, new.half_bb = (take_columns(v, keep)
                                       for v in (self.b, self.atb, self.half_bb))
        new.shape = (self.shape[0], new.b.shape[1])
        if "rhs_norm" in self.__dict__:
            new.__dict__["rhs_norm"] = take_columns(self.rhs_norm, keep)
        return new

    def lipschitz(self) -> float:
        """``‖A‖₂²`` (exact for small dense ``A``, a safe power-iteration bound otherwise)."""
        return self.op.norm2() ** 2

    @functools.cached_property
    def col_norms(self) -> np.ndarray:
        """``‖A e_i‖₂`` by :func:`reparam._result.column_norms` (from the Gram diagonal when
        there is one; one common estimated scale for a large ``LinearOperator``)."""
        if self.xp is not np:
            return self.xp.sqrt(self.xp.sum(self.op.A * self.op.A, axis=0))
        sq = np.diagonal(self.gram) if self.gram is not None else None
        return column_norms(self.op, squares=sq)

    @functools.cached_property
    def rhs_norm(self):
        if self.xp is not np:
            out = self.xp.linalg.vector_norm(self.b, axis=0)
            return out if self.b.ndim == 2 else float(out)
        out = vector_norm(self.b)
        return out if self.b.ndim == 2 else float(out)


def _validate_arrays(A, b):
    """A dense ``A`` and a ``b`` of one array library other than NumPy: shapes, a real dtype,
    finite entries; both as float64 on ``A``'s device (the arithmetic of the NumPy path)."""
    xp = namespace(A, b)
    if not (is_foreign(A) and is_foreign(b)):  # one NumPy (or list) operand joins the other
        dev = device(A if is_foreign(A) else b)
        A, b = (v if is_foreign(v) else xp.asarray(np.asarray(v), device=dev) for v in (A, b))
    for name, v, dims in (("A", A, (2,)), ("b", b, (1, 2))):
        if not (hasattr(v, "shape") and hasattr(v, "dtype")):
            raise TypeError(f"{name} must be an array of the same library as the other "
                            f"argument; got {type(v).__name__}")
        if v.ndim not in dims:
            raise ValueError(f"{name} must be {' or '.join(f'{d}-D' for d in dims)}; got shape "
                             f"{tuple(v.shape)}")
        if not (xp.isdtype(v.dtype, "real floating") or xp.isdtype(v.dtype, "integral")):
            raise TypeError(f"{name} must have a real floating-point or integer dtype; got "
                            f"{v.dtype}")
    if b.shape[0] != A.shape[0]:
        raise ValueError(f"b has {b.shape[0]} rows, but A has shape {tuple(A.shape)}")
    if device(b) != device(A):
        raise ValueError(f"A is on {device(A)} but b is on {device(b)}; put them on one device")
    A64, b64 = (xp.astype(v, xp.float64) for v in (A, b))
    for name, v in (("A", A64), ("b", b64)):
        if not bool(xp.all(xp.isfinite(v))):
            raise ValueError(f"{name} has non-finite entries (NaN or inf)")
    return ArrayOperator(A64, xp), b64


class MatrixSensing:
    r"""``f(X) = ½ Σ_i (⟨A_i, X⟩ − y_i)²`` for ``X`` in R^{d1×d2} (matrix sensing).

    Parameters
    ----------
    op : ndarray of shape (m, d1, d2), ndarray / sparse of shape (m, d1·d2), or LinearOperator
        The measurement matrices ``A_i`` (row-major flattening of ``X``).
    y : array_like, shape (m,)
    shape : (d1, d2), optional
        Needed when ``op`` is 2-D.

    Notes
    -----
    A stack of dense matrices is stored as one (m, d1·d2) matrix, so ``A(X)`` is one matrix-vector
    product. :meth:`rank_one` keeps rank-one measurements ``A_i = l_i r_iᵀ`` as two thin factors
    (memory ``m (d1 + d2)`` instead of ``m d1 d2``).

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.objectives import MatrixSensing
    >>> f = MatrixSensing(np.stack([np.eye(2), np.ones((2, 2))]), np.array([2.0, 4.0]))
    >>> f.value(np.eye(2)), f.grad(np.eye(2)).shape
    (2.0, (2, 2))
    """

    columns = False

    def __init__(self, op, y, shape: tuple[int, int] | None = None):
        self._rank_one = None
        if isinstance(op, tuple) and len(op) == 2:  # (left (m, d1), right (m, d2))
            left, right = (np.asarray(v, dtype=float) for v in op)
            if left.ndim != 2 or right.ndim != 2 or left.shape[0] != right.shape[0]:
                raise ValueError(f"rank-one factors must be (m, d1) and (m, d2); got "
                                 f"{left.shape} and {right.shape}")
            self._rank_one = (left, right)
            self.shape = (left.shape[1], right.shape[1])
            m = left.shape[0]
            self._op = None
        else:
            if not is_linear_operator(op) and not sp.issparse(op):
                op = np.asarray(op, dtype=float)
                if op.ndim == 3:
                    shape = op.shape[1:] if shape is None else shape
                    op = op.reshape(op.shape[0], -1)
            if shape is None:
                raise ValueError("shape=(d1, d2) is needed when op is a 2-D matrix or an operator")
            self.shape = tuple(int(s) for s in shape)
            self._op = validate_matrix(op)
            m = self._op.shape[0]
            if self._op.shape[1] != self.shape[0] * self.shape[1]:
                raise ValueError(f"op has {self._op.shape[1]} columns, but X of shape "
                                 f"{self.shape} has {self.shape[0] * self.shape[1]} entries")
        self.y = validate_rhs(y, m)
        if self.y.ndim != 1:
            raise ValueError(f"y has shape {self.y.shape}; expected (m,)")
        self.rhs_norm = float(np.linalg.norm(self.y))
        self.col_norms = None

    @classmethod
    def rank_one(cls, left, right, y) -> MatrixSensing:
        """Measurements ``y_i = l_iᵀ X r_i`` from the rows of ``left`` (m, d1), ``right`` (m, d2)."""
        return cls((left, right), y)

    def measure(self, X: np.ndarray) -> np.ndarray:
        """``A(X) = (⟨A_i, X⟩)_i``."""
        if self._rank_one is not None:
            left, right = self._rank_one
            return np.einsum("ij,ij->i", left @ X, right)
        return self._op.matvec(X.reshape(-1))

    def adjoint(self, r: np.ndarray) -> np.ndarray:
        """``A*(r) = Σ_i r_i A_i``."""
        if self._rank_one is not None:
            left, right = self._rank_one
            return left.T @ (r[:, None] * right)
        return self._op.rmatvec(r).reshape(self.shape)

    def value_and_grad(self, X: np.ndarray):
        r = self.measure(X) - self.y
        return 0.5 * float(r @ r), self.adjoint(r)

    def value(self, X):
        return self.value_and_grad(X)[0]

    def grad(self, X):
        return self.value_and_grad(X)[1]

    def lipschitz(self) -> float:
        if self._rank_one is not None:
            return _power_lipschitz(self.measure, self.adjoint, self.shape)
        return self._op.norm2() ** 2


def _power_lipschitz(measure, adjoint, shape, iters: int = 100) -> float:
    """``‖A*A‖`` by power iteration from a fixed seed, inflated by 10% to stay above it."""
    v = np.random.default_rng(0).standard_normal(shape)
    est = 0.0
    for _ in range(iters):
        w = adjoint(measure(v))
        nw = float(np.linalg.norm(w))
        if nw == 0.0:
            return 0.0
        v, done, est = w / nw, abs(nw - est) <= 1e-6 * nw, nw
        if done:
            break
    return 1.1 * est


class MatrixCompletion:
    r"""``f(X) = ½ ‖P_Ω(X − M)‖²_F``: the entries of ``M`` where ``mask`` is True are observed.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.objectives import MatrixCompletion
    >>> f = MatrixCompletion(np.ones((2, 2)), np.eye(2, dtype=bool))
    >>> f.value(np.zeros((2, 2)))
    1.0
    """

    columns = False

    def __init__(self, M, mask):
        self.M = np.array(M, dtype=float)
        self.mask = np.asarray(mask, dtype=bool)
        if self.M.ndim != 2 or self.mask.shape != self.M.shape:
            raise ValueError(f"M and mask must be 2-D of the same shape; got {self.M.shape} "
                             f"and {self.mask.shape}")
        if not np.all(np.isfinite(self.M[self.mask])):
            raise ValueError("M has non-finite observed entries")
        self.M = np.where(self.mask, self.M, 0.0)
        self.shape = self.M.shape
        self.rhs_norm = float(np.linalg.norm(self.M))
        self.col_norms = None

    def value_and_grad(self, X):
        r = np.where(self.mask, X - self.M, 0.0)
        return 0.5 * float(np.sum(r * r)), r

    def value(self, X):
        return self.value_and_grad(X)[0]

    def grad(self, X):
        return self.value_and_grad(X)[1]

    def lipschitz(self) -> float:
        return 1.0


class Factorization(MatrixCompletion):
    r"""``f(X) = ½ ‖M − X‖²_F`` (every entry observed).

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.objectives import Factorization
    >>> Factorization(np.eye(2)).grad(np.zeros((2, 2)))
    array([[-1.,  0.],
           [ 0., -1.]])
    """

    def __init__(self, M):
        M = np.asarray(M, dtype=float)
        super().__init__(M, np.ones(M.shape, dtype=bool))


class _UserObjective:
    """Wraps an object with ``value`` and ``grad`` (and, optionally, ``lipschitz``)."""

    columns = False
    col_norms = None

    def __init__(self, obj):
        self.obj = obj
        self.rhs_norm = float(getattr(obj, "rhs_norm", 1.0))
        self.shape = getattr(obj, "shape", None)

    def value_and_grad(self, x):
        if hasattr(self.obj, "value_and_grad"):
            f, g = self.obj.value_and_grad(x)
        else:
            f, g = self.obj.value(x), self.obj.grad(x)
        return float(f), np.asarray(g, dtype=float)

    def value(self, x):
        return float(self.obj.value(x))

    def grad(self, x):
        return np.asarray(self.obj.grad(x), dtype=float)

    def lipschitz(self) -> float | None:
        lip = getattr(self.obj, "lipschitz", None)
        return float(lip()) if callable(lip) else None


_KNOWN = (LeastSquares, MatrixSensing, MatrixCompletion)


def as_objective(obj):
    """``obj`` itself when it is one of this module's objectives, else a wrapper of its
    ``value`` and ``grad``; a TypeError names what is missing.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.objectives import as_objective
    >>> class Quad:
    ...     def value(self, x): return 0.5 * float(x @ x)
    ...     def grad(self, x): return x
    >>> as_objective(Quad()).value_and_grad(np.ones(2))
    (1.0, array([1., 1.]))
    """
    if isinstance(obj, _KNOWN):
        return obj
    if isinstance(obj, numbers.Number) or not (hasattr(obj, "value") and hasattr(obj, "grad")):
        raise TypeError(f"objective must have value(x) and grad(x) methods; got "
                        f"{type(obj).__name__}")
    return _UserObjective(obj)

