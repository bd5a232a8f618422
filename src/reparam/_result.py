"""The result type every solver returns, its status enum, and the KKT certificate."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._linalg import abs_max
from .domains import orthant_kkt

# Smallest denominator used when normalizing the KKT residual (b with A^T b = 0 has x = 0).
_TINY = np.finfo(np.float64).tiny

# Key of ``Result.info`` set to True by a solver that stopped on Ctrl-C (KeyboardInterrupt).
CTRL_C = "ctrl_c"

# The fields that Result.deferred may compute on first read.
_DEFERRED = frozenset({"message", "objective", "kkt", "complementarity"})


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
        Scale-free KKT residual of ``x`` (see :func:`kkt_residual`), measured in float64.
    complementarity : float or ndarray
        ``|x^T g|`` with ``g = A^T (A x - b)``.
    method : str
        The method that produced ``x``.
    history : dict or None
        With ``record=True``: arrays ``"objective"`` and ``"kkt"``, one entry per iteration.
    time : float
        Wall-clock seconds spent in the solver.
    info : dict
        Method-specific extras, e.g. ``info["u"]`` (the parameters of a reparametrized
        method) and ``info["ctrl_c"]`` (True when Ctrl-C ended the solve).
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

    @classmethod
    def deferred(cls, report, **fields: Any) -> Result:
        """A result whose report fields (``message``, ``objective``, ``kkt``,
        ``complementarity``) missing from ``fields`` are computed by ``report()``, a dict of
        them, when one of them is first read (or the result copied or pickled).

        For the small problems where computing them costs as much as the solve; a read gives
        the same values as if they had been computed at once. ``report=None``: every field is
        given. The other fields take their defaults when missing.
        """
        res = object.__new__(cls)
        res.__dict__ = {"method": "", "history": None, "time": 0.0, "info": {}, "params": None,
                        **fields}
        if report is not None:
            res.__dict__["_report"] = report
        return res

    def __getattr__(self, name: str) -> Any:
        # Reached only for a missing attribute: a deferred field of Result.deferred.
        if name in _DEFERRED and "_report" in self.__dict__:
            self._resolve()
            if name in self.__dict__:
                return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __getstate__(self) -> dict:
        self._resolve()  # copies and pickles carry the computed fields
        return self.__dict__

    def _resolve(self) -> None:
        fields = self.__dict__
        report = fields.get("_report")
        if report is not None:
            for key, value in report().items():
                fields.setdefault(key, value)  # a field set meanwhile keeps its value
            fields.pop("_report", None)

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

        return (
            f"Result(method={self.method!r}, status={self._status_text()}, "
            f"n_iter={short(self.n_iter)}, objective={short(self.objective)}, "
            f"kkt={short(self.kkt)}, x={short(self.x)}, message={self.message!r})"
        )

    def __str__(self) -> str:
        """A short summary for people: method, status, kkt, objective, iterations, time, message.

        For several right-hand sides the status line counts the columns per status, and kkt,
        objective and iterations are summarized over the columns (largest, total, largest).

        Examples
        --------
        >>> import numpy as np, reparam as rp
        >>> print(rp.nnls(np.eye(2), np.array([1.0, -1.0])))  # doctest: +ELLIPSIS
        method:     active-set
        status:     CONVERGED
        kkt:        0.000e+00
        objective:  5.000000e-01
        iterations: ...
        time:       ... s
        message:    ...
        """
        batched = not isinstance(self.status, Status)
        kkt, objective, n_iter = self.kkt, self.objective, self.n_iter
        lines = [f"method:     {self.method}", f"status:     {self._status_text()}"]
        if batched:
            lines += [f"kkt:        {np.max(kkt):.3e} (largest over the columns)",
                      f"objective:  {np.sum(objective):.6e} (sum over the columns)",
                      f"iterations: {int(np.max(n_iter))} (most in one column)"]
        else:
            lines += [f"kkt:        {float(kkt):.3e}", f"objective:  {float(objective):.6e}",
                      f"iterations: {int(n_iter)}"]
        lines += [f"time:       {self.time:.3f} s", f"message:    {self.message}"]
        return "\n".join(lines)

    def status_counts(self) -> dict[str, int]:
        """How many right-hand sides ended with each status, as ``{name: count}``.

        Examples
        --------
        >>> import numpy as np, reparam as rp
        >>> A = np.eye(2); B = np.array([[1.0, 0.0], [1.0, 0.0]])
        >>> rp.nnls(A, B).status_counts()
        {'CONVERGED': 2}
        """
        statuses = [self.status] if isinstance(self.status, Status) else list(self.status)
        return {s.name: statuses.count(s) for s in Status if s in statuses}

    def _status_text(self) -> str:
        if isinstance(self.status, Status):
            return self.status.name
        counts = self.status_counts()
        return ", ".join(f"{count} {name}" for name, count in counts.items()) + (
            f" (of {sum(counts.values())} right-hand sides)")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (``KeyboardInterrupt``) ended a solve; ``.result`` holds what it had reached.

    :func:`reparam.nnls` lets the solver finish its current step, certifies the best point
    so far, and raises this exception so that a script stops as it does on any other Ctrl-C.
    ``.result`` is a :class:`Result` with ``Status.INTERRUPTED`` (per column when batched).
    Being a ``KeyboardInterrupt``, it is not caught by ``except Exception``.

    Examples
    --------
    >>> import reparam as rp
    >>> issubclass(rp.Interrupted, KeyboardInterrupt)
    True
    """

    __module__ = "reparam"  # tracebacks name it as users import it

    def __init__(self, result: Result):
        super().__init__(f"interrupted (Ctrl-C); the partial result is in .result: "
                         f"{result.message}")
        self.result = result


def raise_if_ctrl_c(res: Result) -> Result:
    """Raise :class:`Interrupted` when ``res`` was ended by Ctrl-C, else return ``res``.

    A solver that catches ``KeyboardInterrupt`` marks its result with ``info[CTRL_C] = True``;
    a callback that asks to stop does not, so its ``INTERRUPTED`` result is returned.
    """
    if res.info.get(CTRL_C):
        raise Interrupted(res)
    return res


def times_pow2(a, k, out=None):
    """``a * 2**k`` exactly (``k`` an int or an int array broadcast against ``a``), into
    ``out`` where given (which may be ``a`` itself).

    A multiplication by the power of two where it is a normal float (several times faster
    than ``np.ldexp`` on arrays), ``np.ldexp`` beyond.
    """
    if isinstance(k, (int, np.integer)):
        normal = -1000 <= k <= 1000
    else:
        normal = k.size == 0 or (-1000 <= k.min() and k.max() <= 1000)
    if normal:
        return np.multiply(a, np.ldexp(1.0, k), out=out)
    return np.ldexp(a, k, out=out)


def column_norms(op, p: int = 0, squares: np.ndarray | None = None) -> np.ndarray:
    """``||a_i||_2 / 2^p`` for every column of ``A`` (``p`` keeps the squares in range).

    ``squares``: the squared norms when the caller has them (the diagonal of a dense Gram
    matrix); columns whose squares left the float64 range are recomputed from ``A``.

    Dense and sparse ``A``: one pass over the entries (``m n`` or ``nnz`` flops). A
    ``LinearOperator`` with at most ``_EXACT_OPERATOR_N`` columns: ``A e_i`` for blocks of 256
    unit vectors, i.e. ``n`` products with ``A``. A larger ``LinearOperator``: ``n`` products
    would cost far more than a solve (16 384 columns of a blur took 90 s), so every column gets
    one common scale, the root-mean-square column norm ``||A||_F / sqrt(n)``, estimated from
    ``_PROBES`` products with fixed-seed Rademacher vectors (Hutchinson's estimator of
    ``trace(A^T A)``, within about 25%). The certificate then stays invariant to scaling ``A``
    and ``b`` together, but not to scaling single columns.
    """
    if op.kind == "dense":
        return times_pow2(_dense_column_norms(op.A, squares), -p)
    if op.kind == "sparse":
        A = op.A
        sq = np.asarray(A.multiply(A).sum(axis=0), dtype=np.float64).ravel()
        out = np.sqrt(sq)
        suspect = np.flatnonzero(~((sq > 1e-290) & (sq < 1e290)))
        if suspect.size:
            csc = A.tocsc()
            for j in suspect:
                out[j] = vector_norm(csc.data[csc.indptr[j]:csc.indptr[j + 1]])
        return times_pow2(out, -p)
    n = op.shape[1]
    if n > _EXACT_OPERATOR_N:
        z = np.random.default_rng(0).choice([-1.0, 1.0], size=(n, _PROBES))
        rms = vector_norm(np.asarray(op.matvec(z), dtype=np.float64).ravel()) / math.sqrt(
            _PROBES * n)
        return times_pow2(np.full(n, rms), -p)
    out = np.empty(n)
    for lo in range(0, n, 256):
        hi = min(n, lo + 256)
        block = np.zeros((n, hi - lo))
        block[np.arange(lo, hi), np.arange(hi - lo)] = 1.0
        out[lo:hi] = np.linalg.norm(np.asarray(op.matvec(block), dtype=np.float64), axis=0)
    return times_pow2(out, -p)


# A LinearOperator with more columns than this gets one common, estimated column scale (see
# column_norms): exact norms would cost n products with A, eight blocks of 256 at this size.
_EXACT_OPERATOR_N = 2048
_PROBES = 32


def _dense_column_norms(A: np.ndarray, sq: np.ndarray | None = None) -> np.ndarray:
    """Column 2-norms of a dense array from the squared norms ``sq`` (computed if not given);
    columns whose squares leave the float64 range, zero ones included, are recomputed by
    :func:`vector_norm` (rare: entries beyond 1e±145)."""
    if sq is None:
        sq = np.einsum("ij,ij->j", A, A)
    out = np.sqrt(sq)
    for j in np.flatnonzero(~((sq > 1e-290) & (sq < 1e290))):
        out[j] = vector_norm(A[:, j])
    return out


def vector_norm(b: np.ndarray) -> np.ndarray | float:
    """``||b||_2`` per column, without overflow or underflow of the squares.

    Each column is scaled by its own power of two when its entries leave 1e±140, so a
    column of tiny entries beside columns of ordinary size keeps its norm.

    Examples
    --------
    >>> vector_norm(np.array([[3e-170, 1.0], [4e-170, 0.0]]))
    array([5.e-170, 1.e+000])
    """
    big = np.max(np.abs(b), axis=0, initial=0.0)
    nz = big > 0
    if not np.any(nz):
        return np.zeros(b.shape[1:]) if b.ndim == 2 else 0.0
    if np.all((big < 1e140) & ((big > 1e-140) | ~nz)):
        return np.sqrt(np.einsum("i...,i...->...", b, b))
    q = np.where(nz, np.frexp(np.where(nz, big, 1.0))[1], 0)
    q = int(q) if b.ndim == 1 else q
    bs = times_pow2(b, -q)
    return np.ldexp(np.sqrt(np.einsum("i...,i...->...", bs, bs)), q)


def demote_unmet(res: Result, kkt, tol: float) -> None:
    """Report ``CONVERGED`` only where the measured ``kkt`` meets ``tol``.

    A column (or single answer) that a solver called converged but whose certificate, measured
    on the final float64 answer, exceeds ``tol`` (rounding on an ill-conditioned problem) is
    reported as ``STALLED``, and the message says so. Shared by the final certification of
    every path, whatever the array library of the problem.
    """
    missed = (np.asarray(res.status) == Status.CONVERGED) & (np.asarray(kkt) > tol)
    if np.any(missed):
        status = np.where(missed, Status.STALLED, res.status)
        res.status = status.item() if status.ndim == 0 else status.astype(object)
        res.message += (
            f"; the answer's kkt exceeds tol={tol:.0e} (max {np.max(kkt):.2e}): the problem "
            "is ill-conditioned at this precision"
        )


def settle_history(res: Result, record: bool, objective, kkt) -> None:
    """Recorded histories as NumPy arrays; a method without iterations of its own records its
    final point when ``record`` is set."""
    if res.history is not None:
        res.history = {key: np.asarray(v) for key, v in res.history.items()}
    elif record:
        res.history = {"objective": np.atleast_1d(objective), "kkt": np.atleast_1d(kkt)}


def certify(op, b: np.ndarray, x: np.ndarray, col_norms: np.ndarray | None = None,
            b_norm=None):
    """``(kkt, objective, complementarity)`` of ``x`` in float64, per column for 2-D ``b``.

    ``kkt`` is :func:`orthant_kkt`. Products with ``A`` are taken with ``A`` divided by a
    power of two ``s = 2^p`` near its largest entry, so that ``A^T A x`` neither overflows nor
    underflows for entries as large as 1e150 or as small as 1e-150; the power of two is
    restored exactly afterwards. ``col_norms`` (``||a_i||_2``) and ``b_norm`` (``||b||_2``)
    are reused when the caller has them.
    """
    x = np.asarray(x, dtype=np.float64)
    p = _exponent(op)
    c_s = column_norms(op, p) if col_norms is None else times_pow2(col_norms, -p)
    bn = vector_norm(b) if b_norm is None else b_norm
    if _chunked(op, b, x) and np.all(c_s > 0):
        norm = np.broadcast_to(np.maximum(times_pow2(bn, -p), _TINY), b.shape[1:])
        return _certify_chunks(op.A, b, x, c_s, norm, p)
    r = op.matvec(x) - b  # residual at the user's scale, for the objective
    # g / s^2 = A^T (r / s^2): every part of the certificate divided by the same s.
    g_s2 = op.rmatvec(times_pow2(r, -2 * p))
    kkt = orthant_kkt(x, g_s2, c_s, times_pow2(bn, -p))
    objective = 0.5 * np.sum(r * r, axis=0)
    complementarity = np.ldexp(np.abs(np.sum(x * g_s2, axis=0)), 2 * p)
    return kkt, objective, complementarity


# Many right-hand sides are certified a block of columns at a time, the block's arrays at most
# this many entries, in buffers allocated once (see _certify_chunks).
_CHUNK_ENTRIES = 1 << 17


def _chunked(op, b, x) -> bool:
    """Whether :func:`certify` takes the columns of ``b`` a block at a time: a dense float64
    NumPy ``A`` and more right-hand sides than one block holds."""
    if op.kind != "dense" or type(op.A) is not np.ndarray or op.A.dtype != np.float64:
        return False
    if type(b) is not np.ndarray or b.ndim != 2 or b.dtype != np.float64:
        return False
    return b.shape[1] > _CHUNK_ENTRIES // max(op.A.shape)


def _certify_chunks(A, b, x, c, norm, p: int):
    """:func:`certify` for a dense ``A`` and many right-hand sides, a block of columns at a
    time through three buffers allocated once (each at most ``_CHUNK_ENTRIES`` entries, 1
    MiB): the same operations, column by column, as the whole-block version, whose
    temporaries (the residual, the gradient and the certificate's terms, each as large as
    ``b`` or ``x``) are fresh memory every call, and fresh memory costs a page fault per page
    on first touch. Measured on a 400 x 200 problem with 10 000 right-hand sides, after the
    first solve: 2668-6388 page faults per solve before, 1-938 after; medians of interleaved
    solves 1.09 s before, 0.79 s after. ``c``: the column norms over ``2^p`` (all
    positive); ``norm``: ``max(||b_j|| / 2^p, tiny)`` per column."""
    m, n = A.shape
    k = b.shape[1]
    width = max(1, _CHUNK_ENTRIES // max(m, n))
    R = np.empty((m, width), order="F")  # F order: the first w columns are contiguous
    G = np.empty((n, width), order="F")
    T = np.empty((n, width), order="F")
    kkt, objective, complementarity = np.empty(k), np.empty(k), np.empty(k)
    cc = c[:, None]
    for lo in range(0, k, width):
        hi = min(k, lo + width)
        r, g, t, xc = R[:, :hi - lo], G[:, :hi - lo], T[:, :hi - lo], x[:, lo:hi]
        np.matmul(A, xc, out=r)
        r -= b[:, lo:hi]  # the residual at the user's scale, for the objective
        objective[lo:hi] = 0.5 * np.einsum("ij,ij->j", r, r)
        if p:
            times_pow2(r, -2 * p, out=r)  # r / s^2, in place
        np.matmul(A.T, r, out=g)  # g / s^2
        complementarity[lo:hi] = np.ldexp(np.abs(np.einsum("ij,ij->j", xc, g)), 2 * p)
        np.multiply(cc, xc, out=t)  # orthant_kkt_positive, in the buffers
        np.divide(g, cc, out=g)
        np.minimum(t, g, out=t)
        np.abs(t, out=t)
        kkt[lo:hi] = np.maximum.reduce(t, axis=0) / norm[lo:hi]
    return kkt, objective, complementarity


def _exponent(op) -> int:
    """Binary exponent of the largest entry of an explicit ``A``; 0 for operators."""
    if op.kind == "dense" and op.A.dtype.kind == "f" and op.A.size:
        big = abs_max(op.A)  # no temporary of |A|
    elif op.kind == "dense":
        big = float(np.max(np.abs(op.A))) if op.A.size else 0.0
    elif op.kind == "sparse":
        big = float(np.max(np.abs(op.A.data))) if op.A.nnz else 0.0
    else:
        return 0
    return int(np.frexp(big)[1]) if big > 0 else 0


def kkt_residual(A, b, x) -> float | np.ndarray:
    """Scale-free KKT residual of ``x`` for ``min 0.5 ||A x - b||^2, x >= 0``.

    ``kkt = max_i |min(c_i x_i, g_i / c_i)| / max(||b||_2, tiny)`` with column norms
    ``c_i = ||a_i||_2`` and ``g = A^T (A x - b)`` (:func:`orthant_kkt`). Both arguments of the
    minimum are in the units of ``b``, so the residual is unchanged when any column of ``A``
    is scaled (and ``x_i`` inversely) or ``A`` and ``b`` are scaled together: a problem whose
    columns differ by many orders of magnitude cannot look solved at a point that is not. It
    is zero exactly at an NNLS solution; a zero column must have ``x_i = 0``. Computed in
    float64 whatever the input dtype.

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
    from ._linalg import as_operator, is_complex, real_form, real_rhs

    if is_complex(A) or is_complex(b):  # real x: the stacked real problem [Re A; Im A]
        A, b = real_form(A), real_rhs(b)
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
