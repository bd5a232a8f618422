"""Entrywise parametrizations with a closed-form mirror geometry: Power, Difference, Hadamard,
Box and Simplex (see :mod:`reparam.parametrizations`)."""

from __future__ import annotations

import numbers

import numpy as np

from .._linalg import is_foreign, namespace
from ._base import (
    Domain,
    Parametrization,
    _check_depth,
    _positive_pair,
    _positive_scale,
    _size,
    as_vector,
)


# scipy.special costs 0.1 s to import and only the potentials below use it: imported on their
# first call, so that importing the parametrizations (as every iterative solve does) skips it.
def xlogy(x, y):
    """``x log y``, 0 where ``x = 0`` (:func:`scipy.special.xlogy`)."""
    from scipy.special import xlogy

    return xlogy(x, y)


def logsumexp(a):
    """``log sum exp a``, computed stably (:func:`scipy.special.logsumexp`)."""
    from scipy.special import logsumexp

    return logsumexp(a)


def _floats(u):
    """``u`` as floats: a NumPy float array, or an array of another library as it is."""
    if type(u) is np.ndarray and u.dtype == np.float64:
        return u
    return u if is_foreign(u) else np.asarray(u, dtype=float)


class Power(Parametrization):
    r"""x = u^L (entrywise), the non-negative orthant; the paper's reparametrization.

    Gradient flow gives ``x' = -L² x^{2-2/L} ⊙ ∇f(x)``, the mirror flow of

    * L = 2: ``∇ψ(x) = ¼ log x``, ``ψ(x) = ¼ Σ (x log x − x)`` (entropy),
    * L > 2: ``∇ψ(x) = −x^{(2−L)/L} / (L(L−2))``, ``ψ(x) = −Σ x^{2/L} / (2(L−2))``,

    with ``ψ*(z) = Σ x^{2/L}/(2L)`` at x = ∇ψ*(z). ψ does not depend on u0.

    Parameters
    ----------
    depth : int, default 2
        L ≥ 2.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.parametrizations import Power
    >>> p = Power(depth=2)
    >>> u0 = p.initial_u(init_scale=0.1, n=3)
    >>> p.forward(u0)
    array([0.01, 0.01, 0.01])
    >>> x = np.array([0.5, 1.0, 2.0])
    >>> np.allclose(p.inverse_mirror_map(p.mirror_map(x)), x)
    True
    """

    domain = Domain(0.0, np.inf, description="the non-negative orthant x >= 0")
    positive_params = True  # u > 0 throughout: momentum keeps extrapolations positive

    def __init__(self, depth: int = 2):
        self.depth = _check_depth(depth)

    def __repr__(self) -> str:
        return f"Power(depth={self.depth})"

    def preconditioner(self, x):
        """``P(x) = L² x^{2−2/L}``: gradient descent on u moves x by ``−η P ⊙ ∇f`` to first
        order (the inverse of the Riemannian metric, diagonal)."""
        L = self.depth
        return L * L * x ** (2.0 - 2.0 / L)

    def curvature(self, u, g, lipschitz: float, columns: bool = False):
        """A bound on the curvature of ``h(u) = f(u^L)`` near ``u`` (per column for a block).

        The Hessian of ``h`` is ``J G J + diag(L (L-1) u^{L-2} g)`` with ``J = diag(L u^{L-1})``,
        so its norm is at most ``L² max(u)^{2L-2} ||A||² + L (L-1) max|u^{L-2} g|``. The second
        term is doubled so that ``|L η u^{L-2} g| <= 1/2`` at ``η = 1 / curvature``: one step
        changes each ``u_i`` by at most half, which keeps ``u > 0``.
        """
        L = self.depth
        axis = 0 if columns and np.ndim(u) == 2 else None
        if type(u) is np.ndarray:  # ufunc reductions: the least overhead per call
            def big(a):
                return np.maximum.reduce(np.abs(a), axis=axis)
        else:
            xp = namespace(u)

            def big(a):
                return xp.max(xp.abs(a), axis=axis)
        ug = g if L == 2 else u ** (L - 2) * g  # u**0 * g == g exactly
        if axis is not None and type(u) is np.ndarray and type(ug) is np.ndarray:
            # a block: both column maxima from one reduction over [u, ug] side by side (for a
            # small block the calls, not the arithmetic, are the cost)
            k = u.shape[1]
            both = np.concatenate((u, ug), axis=1)
            top = np.maximum.reduce(np.abs(both, out=both), axis=0)
            big_u, big_ug = top[:k], top[k:]
        else:
            big_u, big_ug = big(u), big(ug)
        curv = L * L * big_u ** (2 * L - 2) * lipschitz
        curv += 2.0 * L * (L - 1) * big_ug
        return curv if axis is not None else float(curv)

    def forward(self, u):
        return _floats(u) ** self.depth

    def jacobian(self, u):
        return np.diag(self.vjp(u, np.ones_like(u, dtype=float)))

    def vjp(self, u, g):
        return self.depth * _floats(u) ** (self.depth - 1) * g

    def initial_u(self, x0=None, init_scale=None, n=None):
        """u0 = init_scale·1 (so x0 = init_scale^L·1), or u0 = x0^{1/L} for x0 > 0."""
        if (x0 is None) == (init_scale is None):
            raise ValueError("give exactly one of x0 and init_scale")
        if x0 is not None:
            x0 = as_vector(x0, "x0")
            if np.any(x0 <= 0):
                raise ValueError("x0 must be strictly positive: gradient flow from a zero "
                                 "coordinate of x = u^L never leaves zero")
            return x0 ** (1.0 / self.depth)
        return np.full(_size(n), _positive_scale(init_scale, "init_scale"))

    def mirror_map(self, x, u0=None):
        x = self._point(x)
        L = self.depth
        with np.errstate(divide="ignore"):
            if L == 2:
                return 0.25 * np.log(x)
            return -(x ** ((2.0 - L) / L)) / (L * (L - 2))

    def mirror_state(self, z, u0):
        L = self.depth
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if L == 2:
                x = np.exp(4.0 * z)
            else:
                x = np.where(z < 0, (-L * (L - 2) * z) ** (L / (2.0 - L)), np.inf)
            return x, L * L * x ** (2.0 - 2.0 / L), np.sum(x ** (2.0 / L)) / (2 * L)

    def potential(self, x, u0=None):
        x = self._point(x)
        L = self.depth
        if L == 2:  # xlogy keeps ψ finite on the boundary x_i = 0
            return float(0.25 * np.sum(xlogy(x, x) - x))
        return float(-np.sum(x ** (2.0 / L)) / (2 * (L - 2)))

    def bregman(self, x, y, u0=None):
        x, y = _positive_pair(self, x, y)
        if self.depth == 2:  # ¼ KL(x‖y), written without cancellation
            return float(0.25 * np.sum(xlogy(x, x) - xlogy(x, y) - x + y))
        return super().bregman(x, y)


# ----------------------------------------------------------------------------------------------
# x = u^L − v^L
# ----------------------------------------------------------------------------------------------
class Difference(Parametrization):
    r"""x = u^L − v^L with u, v > 0 (parameter vector ``concat(u, v)``): signed vectors.

    Gradient flow conserves ``u v`` (L = 2) or ``u^{2−L} + v^{2−L}`` (L > 2), so ψ depends on
    u0 through it (Woodworth et al. 2020):

    * L = 2, β = 2 u0 v0: ``∇ψ(x) = ¼ arsinh(x/β)``, ``ψ(x) = ¼ Σ (x arsinh(x/β) − √(x²+β²))``
      (hyperbolic entropy; → ‖x‖₁ log(1/β)/4 as β → 0);
    * L > 2, c = u0^{2−L} + v0^{2−L}: with a = u^{2−L}, b = v^{2−L}, a + b = c,
      ``z = ∇ψ(x) = (b − a)/(2L(L−2))``, ``ψ*(z) = Σ (u² + v²)/(2L)``.

    Parameters
    ----------
    depth : int, default 2

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.parametrizations import Difference
    >>> p = Difference(depth=2)
    >>> u0 = p.initial_u(init_scale=0.1, n=2)      # u0 = v0 = 0.1, so x0 = 0
    >>> p.forward(u0)
    array([0., 0.])
    >>> x = np.array([-1.0, 3.0])
    >>> np.allclose(p.inverse_mirror_map(p.mirror_map(x, u0), u0), x)
    True
    """

    domain = Domain(description="R^n (signed)")
    signed = True
    needs_u0 = True

    def __init__(self, depth: int = 2):
        self.depth = _check_depth(depth)

    def __repr__(self) -> str:
        return f"Difference(depth={self.depth})"

    def n_params(self, n):
        return 2 * _size(n)

    def _split(self, w, name="u"):
        """``(u, v)`` from ``concat(u, v)``; a block (2n, k) gives two (n, k) blocks."""
        w = np.asarray(w, dtype=float)
        if w.ndim not in (1, 2) or w.shape[0] % 2:
            raise ValueError(f"{name} must be 1-D of even length (u then v), or a block of an "
                             f"even number of rows, got shape {w.shape}")
        n = w.shape[0] // 2
        return w[:n], w[n:]

    def forward(self, u):
        a, b = self._split(u)
        return a ** self.depth - b ** self.depth

    def jacobian(self, u):
        a, b = self._split(u)
        L = self.depth
        return np.hstack([np.diag(L * a ** (L - 1)), np.diag(-L * b ** (L - 1))])

    def vjp(self, u, g):
        a, b = self._split(u)
        L = self.depth
        return np.concatenate([L * a ** (L - 1) * g, -L * b ** (L - 1) * g])

    def _n_from_z(self, z):
        return z.size

    def _conserved(self, u0):
        a, b = self._split(u0, "u0")
        if np.any(a <= 0) or np.any(b <= 0):
            raise ValueError("Difference needs u0 = (u, v) with all entries > 0")
        L = self.depth
        return 2 * a * b if L == 2 else a ** (2.0 - L) + b ** (2.0 - L)

    def initial_u(self, x0=None, init_scale=None, n=None):
        """u0 = v0 = init_scale (x0 = 0), or, given x0 too, the (u, v) with u^L − v^L = x0 on
        the same conserved level as (init_scale, init_scale)."""
        if init_scale is None:
            raise ValueError("Difference needs init_scale (the potential depends on it)")
        alpha = _positive_scale(init_scale, "init_scale")
        if x0 is None:
            return np.full(2 * _size(n), alpha)
        x0 = as_vector(x0, "x0")
        ref = np.full(2 * x0.size, alpha)
        z = self.mirror_map(x0, ref)
        return self._uv_from_z(z, self._conserved(ref))

    def _uv_from_z(self, z, c):
        L = self.depth
        if L == 2:  # u v = β/2, u² − v² = β sinh 4z
            half = 0.5 * c
            u = np.sqrt(half) * np.exp(2.0 * z)
            v = np.sqrt(half) * np.exp(-2.0 * z)
            return np.concatenate([u, v])
        k = L * (L - 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            a = 0.5 * c - k * z
            b = 0.5 * c + k * z
            ok = (a > 0) & (b > 0)
            u = np.where(ok, np.abs(a) ** (1.0 / (2 - L)), np.inf)
            v = np.where(ok, np.abs(b) ** (1.0 / (2 - L)), np.inf)
        return np.concatenate([u, v])

    def mirror_state(self, z, u0):
        c = self._conserved(u0)
        L = self.depth
        with np.errstate(over="ignore", invalid="ignore"):
            uv = self._uv_from_z(z, c)
            u, v = uv[: z.size], uv[z.size:]
            x = u ** L - v ** L
            if L == 2:
                x = c * np.sinh(4.0 * z)  # same value, no cancellation
            hess = L * L * (u ** (2 * L - 2) + v ** (2 * L - 2))
            conj = np.sum(u * u + v * v) / (2 * L)
        if not np.all(np.isfinite(u)):
            x = np.where(np.isfinite(u) & np.isfinite(v), x, np.nan)
        return x, hess, conj

    def mirror_map(self, x, u0=None):
        x = self._point(x)
        c = self._conserved(self.reference_u0(u0, x.size))
        L = self.depth
        if L == 2:
            return 0.25 * np.arcsinh(x / c)
        # solve x = a^p − (c − a)^p for a ∈ (0, c), p = L/(2−L) < 0; x decreases in a
        p = L / (2.0 - L)
        lo, hi = np.zeros_like(x), np.broadcast_to(c, x.shape).astype(float).copy()
        for _ in range(200):  # bisection to machine precision, vectorized
            mid = 0.5 * (lo + hi)
            val = mid ** p - (c - mid) ** p
            right = val > x
            lo = np.where(right, mid, lo)
            hi = np.where(right, hi, mid)
            if np.all(hi - lo <= 4 * np.finfo(float).eps * c):
                break
        a = 0.5 * (lo + hi)
        return (c - 2 * a) / (2 * L * (L - 2))


# ----------------------------------------------------------------------------------------------
# x = u ⊙ v
# ----------------------------------------------------------------------------------------------
class Hadamard(Parametrization):
    r"""x = u ⊙ v (parameter vector ``concat(u, v)``), signed, with unequal initial scales.

    Gradient flow conserves ``c = u² − v²`` and gives ``x' = −√(4x² + c²) ∇f(x)``: the mirror
    flow of ``∇ψ(x) = ½ arsinh(2x/|c|)``, ``ψ(x) = ½ Σ (x arsinh(x/β) − √(x² + β²))`` with
    β = |c|/2. It needs |u0| ≠ |v0| in every coordinate (c = 0 makes x keep its sign and ψ
    singular).

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.parametrizations import Hadamard
    >>> p = Hadamard()
    >>> u0 = p.initial_u(init_scale=0.1, n=2)      # u0 = 0.1, v0 = 0
    >>> p.forward(u0)
    array([0., 0.])
    >>> np.allclose(p.inverse_mirror_map(p.mirror_map([2.0, -1.0], u0), u0), [2.0, -1.0])
    True
    """

    domain = Domain(description="R^n (signed)")
    signed = True
    needs_u0 = True

    def n_params(self, n):
        return 2 * _size(n)

    _split = Difference._split

    def forward(self, u):
        a, b = self._split(u)
        return a * b

    def jacobian(self, u):
        a, b = self._split(u)
        return np.hstack([np.diag(b), np.diag(a)])

    def vjp(self, u, g):
        a, b = self._split(u)
        return np.concatenate([b * g, a * g])

    def initial_u(self, x0=None, init_scale=None, n=None):
        """u0 = init_scale·1 and v0 = x0 / init_scale (x0 = 0 by default); needs |x0| <
        init_scale² so that u0² − v0² ≠ 0."""
        if init_scale is None:
            raise ValueError("Hadamard needs init_scale (the scale of u0)")
        alpha = _positive_scale(init_scale, "init_scale")
        if x0 is None:
            n = _size(n)
            return np.concatenate([np.full(n, alpha), np.zeros(n)])
        x0 = as_vector(x0, "x0")
        if np.any(np.abs(x0) >= alpha * alpha):
            raise ValueError("Hadamard needs |x0| < init_scale**2 so that u0 and v0 have "
                             "unequal scales")
        return np.concatenate([np.full(x0.size, alpha), x0 / alpha])

    def _beta(self, u0):
        a, b = self._split(u0, "u0")
        c = np.abs(a * a - b * b)
        if np.any(c == 0):
            raise ValueError("Hadamard needs |u0| != |v0| in every coordinate (equal scales "
                             "make the potential singular)")
        return 0.5 * c

    def mirror_state(self, z, u0):
        beta = self._beta(u0)
        with np.errstate(over="ignore"):
            x = beta * np.sinh(2.0 * z)
            cosh = beta * np.cosh(2.0 * z)  # = √(x² + β²)
        return x, 2.0 * cosh, 0.5 * np.sum(cosh)

    def mirror_map(self, x, u0=None):
        x = self._point(x)
        return 0.5 * np.arcsinh(x / self._beta(self.reference_u0(u0, x.size)))


# ----------------------------------------------------------------------------------------------
# x = c + h sin u
# ----------------------------------------------------------------------------------------------
class Box(Parametrization):
    r"""x = c + h sin u with c = (lower + upper)/2, h = (upper − lower)/2: the box [lower, upper].

    Gradient flow gives ``x' = −(upper − x)(x − lower) ∇f(x)``, the mirror flow of
    ``∇ψ(x) = artanh((x − c)/h) / h`` (for [−1, 1]: ``∇ψ = artanh``), ``ψ*(z) = Σ c z +
    log cosh(h z)``. ψ does not depend on u0 (for u0 in (−π/2, π/2)).

    Parameters
    ----------
    lower, upper : float or array_like, default -1, 1
        Finite bounds with lower < upper (arrays give a different box per coordinate).

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.parametrizations import Box
    >>> p = Box(0.0, 2.0)
    >>> p.forward(np.array([0.0, np.pi / 2]))
    array([1., 2.])
    >>> p.check_point([0.5, 2.5], explain=True)[0]
    False
    """

    def __init__(self, lower=-1.0, upper=1.0):
        lo = np.array(lower, dtype=float)
        hi = np.array(upper, dtype=float)
        if lo.ndim > 1 or hi.ndim > 1:
            raise ValueError("lower and upper must be scalars or 1-D arrays")
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise ValueError("Box needs finite lower and upper bounds (use Power or Difference "
                             "for unbounded sides)")
        if np.any(lo >= hi):
            raise ValueError(f"Box needs lower < upper, got lower={lower!r}, upper={upper!r}")
        self.lower, self.upper = lo, hi
        self.center = 0.5 * (lo + hi)
        self.half_width = 0.5 * (hi - lo)
        self.domain = Domain(lo, hi, description=f"the box [{lower}, {upper}]")

    def __repr__(self) -> str:
        return f"Box(lower={self.lower.tolist()}, upper={self.upper.tolist()})"

    def _bounds(self, u):
        """Center and half width, as columns against a block ``u`` of shape (n, k)."""
        if u.ndim == 2 and self.center.ndim == 1:
            return self.center[:, None], self.half_width[:, None]
        return self.center, self.half_width

    def forward(self, u):
        u = np.asarray(u, dtype=float)
        center, half_width = self._bounds(u)
        return center + half_width * np.sin(u)

    def jacobian(self, u):
        return np.diag(self.vjp(u, np.ones_like(u, dtype=float)))

    def vjp(self, u, g):
        u = np.asarray(u, dtype=float)
        return self._bounds(u)[1] * np.cos(u) * g

    def initial_u(self, x0=None, init_scale=None, n=None):
        """u0 = init_scale·1 (x0 = c + h sin(init_scale)), or u0 = arcsin((x0 − c)/h) for x0
        strictly inside the box."""
        if (x0 is None) == (init_scale is None):
            raise ValueError("give exactly one of x0 and init_scale")
        if x0 is not None:
            x0 = as_vector(x0, "x0")
            s = (x0 - self.center) / self.half_width
            if np.any(np.abs(s) >= 1):
                raise ValueError("x0 must lie strictly inside the box")
            return np.arcsin(s)
        if isinstance(init_scale, bool) or not isinstance(init_scale, numbers.Real) or not (
                abs(init_scale) < np.pi / 2):
            raise ValueError(f"Box needs |init_scale| < pi/2, got {init_scale!r}")
        return np.full(_size(n), float(init_scale))

    def mirror_state(self, z, u0):
        h, c = self.half_width, self.center
        hz = h * z
        x = c + h * np.tanh(hz)
        hess = (h / np.cosh(np.clip(hz, -700, 700))) ** 2
        logcosh = np.logaddexp(hz, -hz) - np.log(2.0)
        return x, hess, float(np.sum(c * z + logcosh))

    def mirror_map(self, x, u0=None):
        x = self._point(x)
        with np.errstate(divide="ignore"):
            return np.arctanh((x - self.center) / self.half_width) / self.half_width

    def potential(self, x, u0=None):
        x = self._point(x)
        s = np.clip((x - self.center) / self.half_width, -1.0, 1.0)
        # s artanh s + ½ log(1 − s²), finite on the faces of the box
        return float(0.5 * np.sum(xlogy(1 + s, 1 + s) + xlogy(1 - s, 1 - s)))


# ----------------------------------------------------------------------------------------------
# x = u² / ‖u‖²
# ----------------------------------------------------------------------------------------------
class Simplex(Parametrization):
    r"""x = u ⊙ u / ‖u‖²: the probability simplex {x ≥ 0, Σ x = 1}.

    Gradient flow conserves s = ‖u‖² and gives the replicator equation
    ``x' = −(4/s)(diag(x) − x xᵀ) ∇f(x)`` — the mirror flow of the entropy ``ψ(x) = (s/4) Σ x log
    x`` restricted to the simplex, with ``ψ*(z) = (s/4) logsumexp(4z/s)`` and ∇ψ* = softmax
    (exponentiated gradient). ``u0=None`` in the geometry methods means s = 1.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.parametrizations import Simplex
    >>> p = Simplex()
    >>> p.forward(np.array([1.0, 1.0, 0.0, 1.0]))
    array([0.33333333, 0.33333333, 0.        , 0.33333333])
    >>> np.allclose(p.inverse_mirror_map(p.mirror_map([0.2, 0.3, 0.5])), [0.2, 0.3, 0.5])
    True
    """

    domain = Domain(0.0, 1.0, simplex=True, description="the probability simplex")

    def forward(self, u):
        u = np.asarray(u, dtype=float)
        return u * u / np.dot(u, u)

    def jacobian(self, u):
        u = np.asarray(u, dtype=float)
        s = np.dot(u, u)
        x = u * u / s
        return (2.0 / s) * (np.diag(u) - np.outer(x, u))

    def vjp(self, u, g):
        u = np.asarray(u, dtype=float)
        s = np.dot(u, u)
        x = u * u / s
        return (2.0 / s) * u * (g - np.dot(x, g))

    def initial_u(self, x0=None, init_scale=None, n=None):
        """u0 = √x0 (uniform x0 by default), scaled so that ‖u0‖² = n·init_scale² (the scale
        only sets the speed of the flow, not its limit)."""
        if x0 is None:
            n = _size(n)
            x0 = np.full(n, 1.0 / n)
        else:
            x0 = self._point(x0, "x0")
            if np.any(x0 <= 0):
                raise ValueError("x0 must be strictly positive (zero coordinates never move)")
        scale = 1.0 if init_scale is None else _positive_scale(init_scale, "init_scale") * np.sqrt(
            x0.size)
        return scale * np.sqrt(x0 / x0.sum())

    def _scale(self, u0):
        return 1.0 if u0 is None else float(np.dot(u0, u0))

    def mirror_state(self, z, u0):
        s = self._scale(u0)
        w = 4.0 * z / s
        lse = logsumexp(w)
        x = np.exp(w - lse)
        return x, (4.0 / s) * (np.diag(x) - np.outer(x, x)), 0.25 * s * lse

    def mirror_map(self, x, u0=None):
        x = self._point(x)
        with np.errstate(divide="ignore"):
            return 0.25 * self._scale(self.reference_u0(u0, x.size)) * np.log(x)

    def potential(self, x, u0=None):
        x = self._point(x)
        return float(0.25 * self._scale(self.reference_u0(u0, x.size)) * np.sum(xlogy(x, x)))

    def bregman(self, x, y, u0=None):
        x, y = _positive_pair(self, x, y)
        s = self._scale(self.reference_u0(u0, x.size))
        return float(0.25 * s * np.sum(xlogy(x, x) - xlogy(x, y)))


# ----------------------------------------------------------------------------------------------
# user-defined: forward alone
# ----------------------------------------------------------------------------------------------
