"""The result type every solver returns, its status enum, and the KKT certificate."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Smallest denominator used when normalizing the KKT residual (b with A^T b = 0 has x = 0).
_TINY = np.finfo(np.float64).tiny


class Status(enum.Enum):
    """How a solve ended. Only ``CONVERGED`` means the tolerance was met."""

    CONVERGED = "converged"
    MAX_ITER = "max_iter"
    STALLED = "stalled"
    NUMERICAL_ERROR = "numerical_error"
    INTERRUPTED = "interrupted"


@dataclass
class Result:
    """Outcome of :func:`reparam.nnls`.

    Attributes
    ----------
    x : ndarray
        The returned point, ``(n,)`` or ``(n, k)`` for ``k`` right-hand sides; always ``>= 0``.
    status : Status or ndarray of Status
        Why the solve ended (per column for several right-hand sides).
    message : str
        What happened and, when the tolerance was not met, what to try.
    n_iter : int or ndarray
        Iterations used (per column for several right-hand sides).
    objective : float or ndarray
        ``0.5 * ||A x - b||^2`` at ``x``.
    kkt : float or ndarray
        Relative KKT residual of ``x`` (see :func:`kkt_residual`), measured in float64.
    complementarity : float or ndarray
        ``|x^T g|`` with ``g = A^T (A x - b)``.
    method : str
        The method that produced ``x``.
    history : dict or None
        With ``record=True``: arrays ``"objective"`` and ``"kkt"``, one entry per iteration.
    time : float
        Wall-clock seconds spent in the solver.
    params : array, tuple of arrays or None
        The parameters of ``x = φ(params)`` for the methods that have them.
    """

    x: np.ndarray
    status: Any
    message: str
    n_iter: Any
    objective: Any
    kkt: Any
    complementarity: Any = 0.0
    method: str = ""
    history: dict | None = None
    time: float = 0.0
    info: dict = field(default_factory=dict)
    params: Any = None

    @property
    def success(self) -> bool:
        """True when every right-hand side reached the tolerance."""
        if isinstance(self.status, Status):
            return self.status is Status.CONVERGED
        return bool(np.all(self.status == Status.CONVERGED))

    def __repr__(self) -> str:
        def short(v: Any) -> str:
            if isinstance(v, np.ndarray):
                return f"array(shape={v.shape})"
            if isinstance(v, float):
                return f"{v:.3e}"
            return repr(v)

        status = self.status.name if isinstance(self.status, Status) else "per-column"
        return (
            f"Result(method={self.method!r}, status={status}, n_iter={short(self.n_iter)}, "
            f"objective={short(self.objective)}, kkt={short(self.kkt)}, x={short(self.x)})"
        )


def _kkt_parts(g: np.ndarray, x: np.ndarray, scale: np.ndarray | float) -> np.ndarray | float:
    # x - max(x - g, 0) == min(x, g), taken entrywise; its sup-norm is zero exactly at a KKT point.
    return np.max(np.abs(np.minimum(x, g)), axis=0) / scale


def certify(op, b: np.ndarray, x: np.ndarray, atb: np.ndarray | None = None):
    """``(kkt, objective, complementarity)`` of ``x`` in float64, per column for 2-D ``b``.

    Products with ``A`` are taken with ``A`` divided by a power of two near its largest entry,
    so that ``A^T A x`` neither overflows nor underflows for entries as large as 1e150 or as
    small as 1e-150; the power of two is restored exactly afterwards. ``atb`` is ``A^T b``
    when the caller has it already.
    """
    x = np.asarray(x, dtype=np.float64)
    p = _exponent(op)
    r = op.matvec(x) - b  # residual at the user's scale, for the objective
    # g = A^T r = 2^p (A / 2^p)^T r, computed without forming A / 2^p: rescale r instead.
    g_scaled = op.rmatvec(np.ldexp(r, -p))  # = A^T r / 2^p
    # A^T b / 2^p; a given A^T b is reused only where it cannot have lost digits to underflow.
    big = 0.0 if atb is None else float(np.max(np.abs(atb), initial=0.0))
    reuse = 1e-280 < big < 1e300
    c_scaled = np.ldexp(atb, -p) if reuse else op.rmatvec(np.ldexp(b, -p))
    scale = np.maximum(np.max(np.abs(c_scaled), axis=0), _TINY)
    # min(x, g) / ||A^T b|| = min(x / 2^p, g / 2^p) / (||A^T b|| / 2^p)
    kkt = _kkt_parts(g_scaled, np.ldexp(x, -p), scale)
    objective = 0.5 * np.sum(r * r, axis=0)
    complementarity = np.ldexp(np.abs(np.sum(x * g_scaled, axis=0)), p)
    return kkt, objective, complementarity


def _exponent(op) -> int:
    """Binary exponent of the largest entry of an explicit ``A``; 0 for operators."""
    if op.kind == "dense":
        big = float(np.max(np.abs(op.A)))
    elif op.kind == "sparse":
        big = float(np.max(np.abs(op.A.data))) if op.A.nnz else 0.0
    else:
        return 0
    return int(np.frexp(big)[1]) if big > 0 else 0


def kkt_residual(A, b, x) -> float | np.ndarray:
    """Relative KKT residual of ``x`` for ``min 0.5 ||A x - b||^2, x >= 0``.

    ``kkt = ||x - max(x - g, 0)||_inf / max(||A^T b||_inf, tiny)`` with ``g = A^T (A x - b)``.
    It is zero exactly at an NNLS solution and unchanged when ``A`` and ``b`` are scaled
    together near a solution. Computed in float64 whatever the input dtype.

    Parameters
    ----------
    A : array_like, sparse matrix or LinearOperator, shape (m, n)
    b : array_like, shape (m,) or (m, k)
    x : array_like, shape (n,) or (n, k)

    Returns
    -------
    float, or ndarray of shape (k,) for several right-hand sides.

    Examples
    --------
    >>> import numpy as np, reparam as rp
    >>> A = np.eye(2); b = np.array([1.0, -1.0])
    >>> float(rp.kkt_residual(A, b, np.array([1.0, 0.0])))
    0.0
    """
    from ._linalg import as_operator

    op = as_operator(A, dtype=np.float64)
    b64 = np.asarray(b, dtype=np.float64)
    x64 = np.asarray(x, dtype=np.float64)
    if x64.ndim != b64.ndim or x64.shape[0] != op.shape[1] or b64.shape[0] != op.shape[0]:
        raise ValueError(
            f"kkt_residual: A has shape {op.shape}, b has shape {b64.shape}, "
            f"x has shape {x64.shape}; they do not fit together"
        )
    out = certify(op, b64, x64)[0]
    return float(out) if np.ndim(out) == 0 else out
