"""Constraint sets for ``x``: each has its Euclidean projection and its optimality certificate.

The certificate of a domain is written here once; the iterative solvers stop on it, the final
certification of :func:`reparam.nnls` and :func:`reparam.train` reports it, and the tests and
benchmarks measure it. It is zero exactly at a stationary point of ``f`` over the set (a
minimizer when ``f`` is convex).

Every certificate takes ``(x, g, scale=None, norm=1.0)``: ``g = ∇f(x)``, ``scale`` a positive
per-coordinate scale ``s`` (for least squares, the column norms of ``A``) and ``norm`` the
normalization (for least squares, ``‖b‖₂``; per column for a block of right-hand sides). For a
block ``x`` of shape (n, k) the certificate is per column (``axis=0``); ``axis=None`` reduces
over every entry (matrix-valued ``x``).
"""

from __future__ import annotations

import numpy as np

from ._linalg import device as _device
from ._linalg import namespace

__all__ = ["Box", "Free", "Orthant", "Simplex", "orthant_kkt", "project_simplex"]

_TINY = np.finfo(np.float64).tiny


def orthant_kkt(x, g, col_norms, b_norm):
    """The orthant certificate from its parts, per column of ``x`` and ``g``: the one
    implementation behind :meth:`Orthant.certificate`, :func:`reparam.kkt_residual` and the
    stopping test of every NNLS method.

    ``max_i |min(c_i x_i, g_i / c_i)| / max(b_norm, tiny)`` with ``c = col_norms``. For least
    squares (``g = A^T (A x - b)``, ``c_i = ||a_i||_2``) both arguments of the minimum are in the
    units of ``b`` (``c_i x_i`` is the length of column ``i``'s contribution to ``A x``;
    ``g_i / c_i`` is the residual's component along that unit column), so the number is
    unchanged when any column of ``A`` is scaled (``x_i`` scales inversely) and when ``A`` and
    ``b`` are scaled together. It is zero exactly at an NNLS solution. A zero column
    (``c_i = 0``) has ``g_i = 0`` whatever ``x``; its ``x_i`` does not change the objective, and
    the answer certified there is ``x_i = 0``: a non-zero ``x_i`` on a zero column makes the
    residual ``inf``.

    Parameters
    ----------
    x, g : ndarray, shape (n,) or (n, k)
        The point and the gradient.
    col_norms : ndarray, shape (n,)
        ``||a_i||_2`` (ones for the unscaled residual ``||min(x, g)||_inf``).
    b_norm : float or ndarray of shape (k,)
        ``||b||_2`` (per column). Every argument may carry one common scale factor ``s``
        (``x``, ``g / s^2``, ``col_norms / s``, ``b_norm / s``) to keep products in range.

    Examples
    --------
    >>> import numpy as np
    >>> float(orthant_kkt(np.array([2.0, 0.0]), np.array([0.0, -3.0]), np.array([1.0, 2.0]), 3.0))
    0.5
    """
    if type(x) is not np.ndarray:
        return _orthant_kkt_xp(x, g, col_norms, b_norm)
    c = col_norms if x.ndim == 1 else col_norms[:, None]
    norm = max(b_norm, _TINY) if isinstance(b_norm, float) else np.maximum(b_norm, _TINY)
    if col_norms.all():  # no zero column (norms are >= 0): the common case, kept cheap
        return orthant_kkt_positive(x, g, c, norm)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.minimum(c * x, g / c)
    t = np.where(c == 0, np.where(x != 0, np.inf, 0.0), t)
    t = np.abs(t, out=t)
    worst = t.max(axis=0) if t.shape[0] else np.zeros(t.shape[1:])
    return worst / norm


def orthant_kkt_positive(x, g, c, norm):
    """:func:`orthant_kkt` when every column norm is positive, with its arguments prepared:
    ``c`` shaped to broadcast against ``x`` (``(n, 1)`` for a block) and ``norm`` already
    ``max(b_norm, tiny)``. A loop that certifies every iteration prepares them once.

    Parameters
    ----------
    x, g : ndarray, shape (n,) or (n, k)
        The point and the gradient.
    c : ndarray, shape (n,) or (n, 1)
        The (positive) column norms, shaped to broadcast against ``x``.
    norm : float or ndarray of shape (k,)
        ``max(||b||_2, tiny)`` (per column).

    Examples
    --------
    >>> import numpy as np
    >>> x, g = np.array([[2.0, 1.0], [0.0, 0.0]]), np.array([[0.0, 0.0], [-3.0, 4.0]])
    >>> c = np.array([1.0, 2.0])
    >>> kkt = orthant_kkt_positive(x, g, c[:, None], np.array([3.0, 4.0]))
    >>> kkt
    array([0.5, 0. ])
    >>> bool(np.all(kkt == orthant_kkt(x, g, c, np.array([3.0, 4.0]))))
    True
    """
    if type(x) is not np.ndarray:
        xp = namespace(x)
        t = xp.abs(xp.minimum(c * x, g / c))
        return (xp.max(t, axis=0) if t.shape[0] else xp.zeros_like(t[0, ...])) / norm
    t = np.minimum(c * x, g / c)
    t = np.abs(t, out=t)
    worst = np.maximum.reduce(t, axis=0) if t.shape[0] else np.zeros(t.shape[1:])
    return worst / norm


def _orthant_kkt_xp(x, g, col_norms, b_norm):
    """:func:`orthant_kkt` for arrays of another library than NumPy (array API), in it and on
    its device: a 0-d array for a vector ``x``, a (k,) array for a block."""
    xp = namespace(x, g, col_norms)
    c = col_norms if x.ndim == 1 else col_norms[:, None]
    norm = max(float(b_norm), _TINY) if np.ndim(b_norm) == 0 else xp.clip(b_norm, min=_TINY)
    pos = c > 0
    safe = xp.where(pos, c, xp.ones_like(c))
    t = xp.minimum(c * x, g / safe)
    t = xp.where(pos, t, xp.where(x != 0, xp.full_like(t, np.inf), xp.zeros_like(t)))
    t = xp.abs(t)
    worst = xp.max(t, axis=0) if t.shape[0] else xp.zeros_like(t[0, ...])
    return worst / norm


def _reduce(values: np.ndarray, norm, axis):
    out = np.max(values, axis=axis, initial=0.0) / norm
    return float(out) if np.ndim(out) == 0 else out


def _scale_for(scale, x: np.ndarray):
    s = np.asarray(scale, dtype=float)
    return s[:, None] if x.ndim == 2 and s.ndim == 1 else s


class Orthant:
    r"""The non-negative orthant ``x >= 0``.

    Certificate: ``max_i |min(s_i x_i, g_i / s_i)| / norm``. With ``s = 1`` it is the sup-norm
    of ``x − max(x − g, 0)``, zero exactly at a KKT point (``x >= 0``, ``g >= 0``,
    ``x ⊙ g = 0``). With ``s_i = ‖A e_i‖`` and ``norm = ‖b‖`` it is invariant to scaling the
    columns of ``A`` (``s_i x_i`` and ``g_i / s_i`` do not change) and to scaling ``A`` and
    ``b`` together. A zero scale ``s_i`` means ``x_i`` must be 0: its term is 0 if ``x_i = 0``
    and infinite otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.domains import Orthant
    >>> Orthant().certificate(np.array([1.0, 0.0]), np.array([0.0, 2.0]))
    0.0
    >>> Orthant().certificate(np.array([1.0, 0.0]), np.array([0.5, -2.0]), norm=2.0)
    1.0
    """

    def project(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0.0) if type(x) is np.ndarray else namespace(x).clip(x, min=0.0)

    def certificate(self, x, g, scale=None, norm=1.0, *, axis=0):
        if type(x) is not np.ndarray and hasattr(x, "shape"):
            return self._certificate_xp(x, g, scale, norm, axis)
        x, g = np.asarray(x), np.asarray(g)
        if axis is None and x.ndim == 2:  # matrix-valued x: one number over every entry
            x, g = x.ravel(), g.ravel()
            scale = None if scale is None or np.ndim(scale) == 0 else np.repeat(
                np.asarray(scale, dtype=float), x.size // np.size(scale))
        n = x.shape[0]
        c = np.ones(n) if scale is None else np.broadcast_to(np.asarray(scale, float), (n,))
        out = orthant_kkt(x, g, c, norm if np.ndim(norm) else float(norm))
        return float(out) if np.ndim(out) == 0 else out

    def _certificate_xp(self, x, g, scale, norm, axis):
        xp = namespace(x)
        if axis is None and x.ndim == 2:
            if scale is not None and np.ndim(scale):
                scale = xp.broadcast_to(scale[:, None], x.shape)
                scale = xp.reshape(scale, (-1,))
            x, g = xp.reshape(x, (-1,)), xp.reshape(g, (-1,))
        if scale is None or np.ndim(scale) == 0:
            c = xp.full((x.shape[0],), 1.0 if scale is None else float(scale), dtype=x.dtype,
                        device=_device(x))
        else:
            c = scale
        out = orthant_kkt(x, g, c, norm)
        return float(out) if out.ndim == 0 else out

    def __repr__(self) -> str:
        return "Orthant()"


class Box:
    r"""The box ``lo <= x <= hi`` (finite bounds, scalars or per coordinate).

    Certificate: ``‖x − clip(x − g, lo, hi)‖∞ / norm`` (the projected-gradient residual).

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.domains import Box
    >>> Box(0.0, 1.0).certificate(np.array([1.0, 0.5]), np.array([-3.0, 0.0]))
    0.0
    """

    def __init__(self, lo=-1.0, hi=1.0):
        self.lo, self.hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
        if np.any(self.lo >= self.hi):
            raise ValueError(f"Box needs lo < hi; got lo={lo!r}, hi={hi!r}")

    def _bounds(self, x):
        return _scale_for(self.lo, x), _scale_for(self.hi, x)

    def project(self, x: np.ndarray) -> np.ndarray:
        lo, hi = self._bounds(x)
        return np.clip(x, lo, hi)

    def certificate(self, x, g, scale=None, norm=1.0, *, axis=0):
        return _reduce(np.abs(x - self.project(x - g)), norm, axis)

    def __repr__(self) -> str:
        return f"Box({self.lo.tolist()}, {self.hi.tolist()})"


def project_simplex(y) -> np.ndarray:
    """Euclidean projection onto the probability simplex (sort-based, O(n log n)).

    Examples
    --------
    >>> import numpy as np
    >>> project_simplex(np.array([2.0, 0.0]))
    array([1., 0.])
    """
    y = np.asarray(y, dtype=float)
    if y.ndim != 1 or y.size == 0 or not np.all(np.isfinite(y)):
        raise ValueError(f"y must be a non-empty finite 1-D array; got shape {y.shape}")
    # The projection commutes with adding a constant to y; entries more than 1 below max(y)
    # are 0 in it. Shifting and clipping keeps the cumulative sums finite for any finite y.
    with np.errstate(over="ignore"):  # 1e308 − (−1e308) = inf, then clipped
        y = np.maximum(y - y.max(), -2.0)
    s = np.sort(y)[::-1]
    cums = np.cumsum(s) - 1.0
    k = np.flatnonzero(s - cums / np.arange(1, y.size + 1) > 0)[-1]
    return np.maximum(y - cums[k] / (k + 1), 0.0)


class Simplex:
    r"""The probability simplex ``{x >= 0, Σ x = 1}``.

    Certificate: ``‖x − P(x − g)‖∞ / norm`` with ``P`` the Euclidean projection.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.domains import Simplex
    >>> Simplex().certificate(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    0.0
    """

    def project(self, x: np.ndarray) -> np.ndarray:
        return project_simplex(x)

    def certificate(self, x, g, scale=None, norm=1.0, *, axis=0):
        return _reduce(np.abs(x - project_simplex(x - g)), norm, axis)

    def __repr__(self) -> str:
        return "Simplex()"


class Free:
    r"""No constraint. Certificate: ``max_i |g_i / s_i| / norm`` (``s = 1`` by default).

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.domains import Free
    >>> Free().certificate(np.array([3.0]), np.array([-0.5]))
    0.5
    """

    def project(self, x: np.ndarray) -> np.ndarray:
        return x

    def certificate(self, x, g, scale=None, norm=1.0, *, axis=0):
        if scale is None:
            return _reduce(np.abs(g), norm, axis)
        s = _scale_for(scale, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(s > 0, np.abs(g) / s, 0.0)
        return _reduce(terms, norm, axis)

    def __repr__(self) -> str:
        return "Free()"


def for_parametrization(param) -> Orthant | Box | Simplex | Free:
    """The domain a parametrization maps onto (its ``domain`` bounds), used when none is given.

    Examples
    --------
    >>> from reparam.parametrizations import Power
    >>> for_parametrization(Power(2))
    Orthant()
    """
    bounds = getattr(param, "domain", None)
    if bounds is None:
        return Free()
    if getattr(bounds, "simplex", False):
        return Simplex()
    lo, hi = np.asarray(bounds.lower, dtype=float), np.asarray(bounds.upper, dtype=float)
    if np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)):
        return Box(lo, hi)
    if np.all(lo == 0) and np.all(np.isinf(hi)):
        return Orthant()
    return Free()
