"""Parametrizations x = φ(u) and the mirror geometry they induce.

Gradient flow on the parameters, ``u' = -J(u)ᵀ ∇f(φ(u))``, moves x = φ(u) by
``x' = -J Jᵀ ∇f(x)``. When the gradient fields ∇φ_i commute (zero Lie brackets), this is
the mirror flow ``d/dt ∇ψ(x) = -∇f(x)`` of a potential ψ with ``∇²ψ(x) = (J Jᵀ)⁻¹``
(Li, Wang, Lee & Arora 2022, "Implicit bias of gradient descent on reparametrized models: on
equivalence to mirror descent", Thm. 4.8). Each class below gives φ, its Jacobian, an
initialization, and ψ in closed form: the mirror map ∇ψ, its inverse ∇ψ* = (∇ψ)⁻¹, the potential
ψ, its convex conjugate ψ*, the Bregman divergence D_ψ, and the inverse metric dx/dz = ∇²ψ*(z).

The potentials are normalized so that the *time* of gradient flow on u equals the time of the
mirror flow: e.g. for x = u², ``x' = -4 x ∇f`` so ``ψ''(x) = 1/(4x)`` and ``∇ψ(x) = ¼ log x``.

For some parametrizations (Difference, Hadamard, Simplex, Custom) ψ depends on the initial
parameter u0 through a conserved quantity of the flow (u·v for u² − v², u² − v² for u⊙v, ‖u‖²
for the simplex). Their geometry methods take ``u0=`` (an array, or a float meaning
``initial_u(init_scale=u0, n=len(x))``).

References
----------
Z. Li, T. Wang, J. D. Lee, S. Arora, NeurIPS 2022 (commuting parametrizations).
B. Woodworth et al., "Kernel and rich regimes in overparametrized models", COLT 2020
(u² − v² and the hyperbolic entropy).
H.-H. Chou, J. Maly, C. M. Verdun, B. Freitas Paulo da Costa, H. Mirandola, "Get rid of your
constraints and reparametrize: a study in NNLS and implicit bias", AISTATS 2025 (arXiv 2207.08437).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp, xlogy

__all__ = [
    "Box",
    "Custom",
    "DeepProduct",
    "Difference",
    "Domain",
    "Hadamard",
    "NonnegativeProduct",
    "Parametrization",
    "Power",
    "Product",
    "Simplex",
    "SymmetricProduct",
    "WeightNormalized",
]

ArrayLike = "np.typing.ArrayLike"


# ----------------------------------------------------------------------------------------------
# small validation helpers (kept local: this module is self-contained)
# ----------------------------------------------------------------------------------------------
def as_vector(x, name: str) -> np.ndarray:
    """A finite 1-D float copy of ``x``, or a ValueError naming ``name``."""
    try:
        arr = np.array(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a 1-D array of numbers, got {type(x).__name__}") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has non-finite entries")
    return arr


_vector = as_vector  # the former private name


def _positive_scale(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be positive and finite, got {value}")
    return value


def _size(n, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {n!r}")
    if n < 1:
        raise ValueError(f"{name} must be >= 1, got {n}")
    return int(n)


@dataclass(frozen=True)
class Domain:
    """The set where x = φ(u) lives (its closure: limits may sit on the boundary).

    Attributes
    ----------
    lower, upper : float or ndarray
        Coordinate-wise bounds (``-inf`` / ``inf`` when unbounded).
    simplex : bool
        Whether x must also sum to one.
    description : str
        Words for error messages, e.g. ``"the non-negative orthant x >= 0"``.
    """

    lower: float | np.ndarray = -np.inf
    upper: float | np.ndarray = np.inf
    simplex: bool = False
    description: str = "R^n"

    def contains(self, x: np.ndarray, tol: float = 0.0) -> bool:
        return self.explain(x, tol) is None

    def explain(self, x: np.ndarray, tol: float = 0.0) -> str | None:
        """``None`` if x lies in the (closed) domain, else what is wrong."""
        x = np.asarray(x, dtype=float)
        if x.ndim != 1:
            return f"x must be 1-D, got shape {x.shape}"
        if not np.all(np.isfinite(x)):
            return f"x has {int(np.sum(~np.isfinite(x)))} non-finite entries"
        low = np.broadcast_to(self.lower, x.shape)
        high = np.broadcast_to(self.upper, x.shape)
        below = np.flatnonzero(x < low - tol)
        if below.size:
            i = below[np.argmin((x - low)[below])]
            return (f"x leaves {self.description}: {below.size} entries below the lower bound, "
                    f"worst x[{i}] = {x[i]:.3g} < {low[i]:.3g}")
        above = np.flatnonzero(x > high + tol)
        if above.size:
            i = above[np.argmax((x - high)[above])]
            return (f"x leaves {self.description}: {above.size} entries above the upper bound, "
                    f"worst x[{i}] = {x[i]:.3g} > {high[i]:.3g}")
        if self.simplex and abs(x.sum() - 1.0) > max(tol, 1e-9 * x.size):
            return f"x leaves {self.description}: its entries sum to {x.sum():.12g}, not 1"
        return None


# ----------------------------------------------------------------------------------------------
# base class
# ----------------------------------------------------------------------------------------------
class Parametrization:
    """Base class: x = φ(u) with its Jacobian and (when commuting) its mirror geometry.

    A subclass defines :meth:`forward` and, ideally, :meth:`jacobian`; the closed-form geometry
    is given by :meth:`_mirror_state` (z ↦ x, dx/dz, ψ*(z)) and :meth:`mirror_map`. Subclasses
    without a closed form can use :class:`Custom`, which derives everything numerically.

    Attributes
    ----------
    domain : Domain
        Where x lives.
    commuting : bool
        Whether the gradient fields ∇φ_i commute, so that gradient flow on u is a mirror flow.
    signed : bool
        Whether x can take both signs (no boundary the limit could sit on).
    """

    domain: Domain = Domain()
    commuting: bool = True
    signed: bool = False
    needs_u0: bool = False  # does ψ depend on the initialization?

    # -- the map ---------------------------------------------------------------------------------
    def n_params(self, n: int) -> int:
        """Length of u for an x of length ``n``."""
        return _size(n)

    def forward(self, u: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def jacobian(self, u: np.ndarray) -> np.ndarray:
        """J[i, j] = ∂φ_i/∂u_j (central differences unless a subclass knows better)."""
        return _numerical_jacobian(self.forward, np.asarray(u, dtype=float))

    def vjp(self, u: np.ndarray, g: np.ndarray) -> np.ndarray:
        """J(u)ᵀ g: the gradient in u of f(φ(u)) when g = ∇f(φ(u))."""
        return self.jacobian(u).T @ g

    def initial_u(self, x0=None, init_scale=None, n=None) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def init(self, shape, init_scale, rng=None, kind: str = "identical"):
        """Parameters for an ``x`` of ``shape`` at scale ``init_scale`` (the engine's protocol).

        ``kind="identical"`` is :meth:`initial_u` (every parameter equal to ``init_scale``
        for the orthant maps); ``"gaussian"`` multiplies it by |N(0, 1)| entries drawn from
        ``rng``. A shape ``(n, k)`` gives a block of ``k`` columns; ``init_scale`` may then be
        an array of ``k`` scales, one per column (a sweep).
        """
        kind = _check_kind(kind, ("identical", "gaussian"))
        shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
        scales = np.atleast_1d(np.asarray(init_scale, dtype=float))
        if len(shape) == 2:
            if scales.size not in (1, shape[1]):
                raise ValueError(f"init_scale has {scales.size} values, but the block has "
                                 f"{shape[1]} columns")
            cols = [self.initial_u(init_scale=float(a), n=shape[0])
                    for a in np.broadcast_to(scales, (shape[1],))]
            u = np.stack(cols, axis=1)
        elif len(shape) == 1:
            if scales.size != 1:
                raise ValueError("an array of init_scale values needs a shape (n, k)")
            u = self.initial_u(init_scale=float(scales[0]), n=shape[0])
        else:
            raise ValueError(f"{type(self).__name__} takes x of shape (n,) or (n, k); got {shape}")
        if kind == "gaussian":
            u = u * np.abs(np.random.default_rng(rng).standard_normal(u.shape))
        return u

    # -- the mirror geometry ---------------------------------------------------------------------
    def reference_u0(self, u0, n: int):
        """The ``u0`` argument of the geometry methods as an array of parameters (a float means
        ``initial_u(init_scale=u0, n=n)``), or None where the potential does not need it."""
        if u0 is None:
            if self.needs_u0:
                raise ValueError(
                    f"{type(self).__name__}'s potential depends on the initialization: pass u0 "
                    f"(an array of length {self.n_params(n)}, or a float init_scale)")
            return None
        if isinstance(u0, numbers.Real) and not isinstance(u0, bool):
            return self.initial_u(init_scale=u0, n=n)
        u0 = as_vector(u0, "u0")
        if u0.size != self.n_params(n):
            raise ValueError(f"u0 has length {u0.size}, but x of length {n} needs "
                             f"{self.n_params(n)} parameters")
        return u0

    def mirror_state(self, z: np.ndarray, u0):  # pragma: no cover - abstract
        """(x, dx/dz, ψ*(z)) at mirror coordinates z; dx/dz is 1-D (diagonal) or 2-D.

        ``u0`` is the reference initialization from :meth:`reference_u0`.
        """
        raise NotImplementedError

    # Former private names, kept so that code written against them still runs.
    def _mirror_state(self, z, u0):
        return self.mirror_state(z, u0)

    def _u0(self, u0, n: int):
        return self.reference_u0(u0, n)

    def mirror_map(self, x, u0=None) -> np.ndarray:  # pragma: no cover - abstract
        """∇ψ(x): the mirror coordinates z of x."""
        raise NotImplementedError

    def inverse_mirror_map(self, z, u0=None) -> np.ndarray:
        """∇ψ*(z) = (∇ψ)⁻¹(z): the point x with mirror coordinates z."""
        z = as_vector(z, "z")
        return self.mirror_state(z, self.reference_u0(u0, self._n_from_z(z)))[0]

    def conjugate(self, z, u0=None) -> float:
        """ψ*(z) = sup_x ⟨z, x⟩ − ψ(x), the convex conjugate of the potential."""
        z = as_vector(z, "z")
        return float(self.mirror_state(z, self.reference_u0(u0, self._n_from_z(z)))[2])

    def potential(self, x, u0=None) -> float:
        """ψ(x) = ⟨∇ψ(x), x⟩ − ψ*(∇ψ(x)) (Fenchel–Young equality)."""
        x = self._point(x)
        z = self.mirror_map(x, u0)
        finite = np.isfinite(z)
        # boundary points (x_i at a bound where ∇ψ = ±inf) contribute their limit value
        zz = np.where(finite, z, 0.0)
        state = self.mirror_state(zz, self.reference_u0(u0, x.size))
        return float(np.dot(zz, x) - state[2] + self._boundary_correction(x, ~finite))

    def _boundary_correction(self, x, at_boundary) -> float:
        if np.any(at_boundary):
            raise ValueError(f"x has {int(at_boundary.sum())} entries on the boundary of "
                             f"{self.domain.description}, where ψ is not defined here")
        return 0.0

    def bregman(self, x, y, u0=None) -> float:
        """D_ψ(x, y) = ψ(x) − ψ(y) − ⟨∇ψ(y), x − y⟩ ≥ 0."""
        x, y = self._point(x, "x"), self._point(y, "y")
        if x.shape != y.shape:
            raise ValueError(f"x has shape {x.shape} but y has shape {y.shape}")
        return float(self.potential(x, u0) - self.potential(y, u0)
                     - np.dot(self.mirror_map(y, u0), x - y))

    def inverse_metric(self, x, u0=None) -> np.ndarray:
        """dx/dz = (∇²ψ(x))⁻¹ = J Jᵀ: 1-D (its diagonal) when diagonal, else 2-D."""
        x = self._point(x)
        return self.mirror_state(self.mirror_map(x, u0), self.reference_u0(u0, x.size))[1]

    def _n_from_z(self, z: np.ndarray) -> int:
        return z.size

    # -- domain checks ---------------------------------------------------------------------------
    def check_point(self, x, explain: bool = False, tol: float = 0.0):
        """Whether ``x`` is a valid point of the domain (geoopt's ``check_point`` style).

        Parameters
        ----------
        x : array_like
            The candidate point.
        explain : bool, default False
            If True, return ``(ok, reason)`` where ``reason`` says what is wrong (or is None).
        tol : float, default 0
            Slack allowed on the bounds.

        Returns
        -------
        bool or (bool, str or None)
        """
        try:
            arr = np.asarray(x, dtype=float)
        except (TypeError, ValueError):
            reason = f"x must be an array of numbers, got {type(x).__name__}"
        else:
            reason = self.domain.explain(arr, tol)
        return (reason is None, reason) if explain else reason is None

    def _point(self, x, name: str = "x") -> np.ndarray:
        x = as_vector(x, name)
        reason = self.domain.explain(x, 1e-12)
        if reason is not None:
            raise ValueError(f"{name}: {reason}")
        return x

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _numerical_jacobian(fun: Callable, u: np.ndarray, rel_step: float = 1e-6) -> np.ndarray:
    """Central-difference Jacobian of ``fun`` at ``u`` (error O(h²), h = rel_step·max(1, |u|))."""
    f0 = np.asarray(fun(u), dtype=float)
    jac = np.empty((f0.size, u.size))
    for j in range(u.size):
        h = rel_step * max(1.0, abs(u[j]))
        up, um = u.copy(), u.copy()
        up[j] += h
        um[j] -= h
        jac[:, j] = (np.asarray(fun(up)) - np.asarray(fun(um))) / (2 * h)
    return jac


def _check_kind(kind, kinds) -> str:
    if kind not in kinds:
        raise ValueError(f"kind must be one of {', '.join(map(repr, kinds))}; got {kind!r}")
    return kind


def _check_depth(depth) -> int:
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral):
        raise TypeError(f"depth must be an integer >= 2, got {depth!r}")
    if depth < 2:
        raise ValueError(f"depth must be >= 2 (depth 1 is plain least squares, no "
                         f"reparametrization), got depth={depth}")
    return int(depth)


# ----------------------------------------------------------------------------------------------
# x = u^L
# ----------------------------------------------------------------------------------------------
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
        umax = np.abs(u).max(axis=axis)
        curv = L * L * umax ** (2 * L - 2) * lipschitz
        ug = g if L == 2 else u ** (L - 2) * g  # u**0 * g == g exactly
        curv += 2.0 * L * (L - 1) * np.abs(ug).max(axis=axis)
        return curv if axis is not None else float(curv)

    def forward(self, u):
        return np.asarray(u, dtype=float) ** self.depth

    def jacobian(self, u):
        return np.diag(self.vjp(u, np.ones_like(u, dtype=float)))

    def vjp(self, u, g):
        u = np.asarray(u, dtype=float)
        return self.depth * u ** (self.depth - 1) * g

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
        w = np.asarray(w, dtype=float)
        if w.ndim != 1 or w.size % 2:
            raise ValueError(f"{name} must be 1-D of even length (u then v), got shape {w.shape}")
        n = w.size // 2
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

    def forward(self, u):
        return self.center + self.half_width * np.sin(np.asarray(u, dtype=float))

    def jacobian(self, u):
        return np.diag(self.vjp(u, np.ones_like(u, dtype=float)))

    def vjp(self, u, g):
        return self.half_width * np.cos(np.asarray(u, dtype=float)) * g

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
class Custom(Parametrization):
    r"""A parametrization given by its forward map alone; the geometry is derived numerically.

    Gradient flow on u moves x = φ(u) by ``x' = −J Jᵀ ∇f(x)`` (J the Jacobian, by central
    differences unless ``jacobian`` is given). When the gradient fields ∇φ_i commute, the flows
    of the fields ∇φ_i from u0 commute too, and the point reached by following
    ``u' = J(u)ᵀ z`` for unit time is ``F(z)``; then (Li, Wang, Lee & Arora 2022, Thm. 4.8)

    * ``∇ψ*(z) = φ(F(z))`` — the inverse mirror map, mirror coordinates centred at x0 = φ(u0);
    * ``∇²ψ*(z) = J Jᵀ`` at F(z) — the inverse metric;
    * ``ψ*(z) = ∫₀¹ ⟨φ(F(s z)), z⟩ ds`` — integrated along the same ODE;
    * ∇ψ(x) solves ∇ψ*(z) = x (Newton's method).

    For a coordinate-wise map x_i = g(u_i) this is the familiar ``∇ψ(x) = ∫ dx / g'(g⁻¹(x))²
    = ∫_{u0}^{g⁻¹(x)} du / g'(u)``. The geometry methods need ``u0`` (an array). Use
    :func:`reparam.implicit_bias.is_commuting` first: for a non-commuting map these formulas do
    not describe the flow.

    Parameters
    ----------
    forward : callable
        ``forward(u) -> x`` on 1-D arrays.
    jacobian : callable, optional
        ``jacobian(u) -> J`` with ``J[i, j] = ∂x_i/∂u_j``.
    n_params : int or callable, optional
        Length of u for an x of length n (``n_params(n)``); by default n.
    domain : Domain, optional
        Where x lives (default: R^n).

    Examples
    --------
    A non-commuting map that mixes coordinates (two outputs share the weight u[0]):

    >>> import numpy as np
    >>> from reparam.parametrizations import Custom
    >>> from reparam.implicit_bias import is_commuting
    >>> shared = Custom(lambda u: np.array([u[0] * u[1], u[0] * u[2]]), n_params=3)
    >>> is_commuting(shared, np.array([0.3, 0.5, 0.7]))
    False
    >>> cube = Custom(lambda u: u ** 3)               # the same as Power(3)
    >>> is_commuting(cube, np.array([0.3, 0.5]))
    True
    """

    def __init__(self, forward: Callable, jacobian: Callable | None = None, n_params=None,
                 domain: Domain | None = None, name: str = "custom"):
        if not callable(forward):
            raise TypeError(f"forward must be callable, got {type(forward).__name__}")
        if jacobian is not None and not callable(jacobian):
            raise TypeError(f"jacobian must be callable or None, got {type(jacobian).__name__}")
        if n_params is not None and not callable(n_params):
            n_params = _size(n_params, "n_params")
        if domain is not None and not isinstance(domain, Domain):
            raise TypeError("domain must be a reparam.parametrizations.Domain")
        self._forward, self._jacobian, self._n_params = forward, jacobian, n_params
        self.domain = domain if domain is not None else Domain()
        self.name = name
        self.needs_u0 = True

    def __repr__(self) -> str:
        return f"Custom(name={self.name!r})"

    @property
    def has_jacobian(self) -> bool:
        """Whether the Jacobian is given in closed form (else: central differences)."""
        return self._jacobian is not None

    def n_params(self, n):
        if self._n_params is None:
            return _size(n)
        if callable(self._n_params):
            return _size(self._n_params(n), "n_params(n)")
        return self._n_params

    def forward(self, u):
        return np.asarray(self._forward(np.asarray(u, dtype=float)), dtype=float)

    def jacobian(self, u):
        u = np.asarray(u, dtype=float)
        if self._jacobian is not None:
            return np.asarray(self._jacobian(u), dtype=float)
        return _numerical_jacobian(self.forward, u)

    def initial_u(self, x0=None, init_scale=None, n=None):
        """u0 = init_scale·1 (length n_params(n)); a Custom map cannot be inverted for x0."""
        if x0 is not None:
            raise ValueError("Custom cannot invert forward for x0; pass u0 directly")
        if init_scale is None:
            raise ValueError("give init_scale (and n)")
        return np.full(self.n_params(_size(n)),
                       _positive_scale(init_scale, "init_scale"))

    def _n_from_z(self, z):
        return z.size

    def _flow(self, z, u0):
        from scipy.integrate import solve_ivp

        p = u0.size

        def rhs(_, y):
            u = y[:p]
            return np.concatenate([self.jacobian(u).T @ z, [np.dot(self.forward(u), z)]])

        sol = solve_ivp(rhs, (0.0, 1.0), np.concatenate([u0, [0.0]]), method="DOP853",
                        rtol=1e-11, atol=1e-13)
        if not sol.success:
            raise RuntimeError(f"Custom: the flow of the fields ∇φ_i failed: {sol.message}")
        return sol.y[:p, -1], sol.y[p, -1]

    def mirror_state(self, z, u0):
        u, conj = self._flow(z, u0)
        jac = self.jacobian(u)
        return self.forward(u), jac @ jac.T, conj

    def mirror_map(self, x, u0=None):
        x = as_vector(x, "x")
        u0 = self.reference_u0(u0, x.size)
        z = np.zeros_like(x)
        xz, metric, _ = self.mirror_state(z, u0)
        r = xz - x
        for _ in range(100):
            # the flow is integrated to rtol 1e-11 and J may come from finite differences
            if np.linalg.norm(r) <= 1e-9 * max(1.0, np.linalg.norm(x)):
                return z
            step = np.linalg.lstsq(metric, r, rcond=None)[0]
            t = 1.0
            while t > 1e-10:  # damped Newton on ‖x(z) − x‖: the flow can blow up for big steps
                try:
                    state = self.mirror_state(z - t * step, u0)
                except RuntimeError:
                    state = None
                if state is not None and np.linalg.norm(state[0] - x) < np.linalg.norm(r):
                    break
                t *= 0.5
            else:
                if np.linalg.norm(r) <= 1e-7 * max(1.0, np.linalg.norm(x)):
                    return z  # stalled at the accuracy of the numerical derivatives
                break
            z = z - t * step
            xz, metric, _ = state
            r = xz - x
        raise RuntimeError("Custom.mirror_map: Newton did not converge; is x reachable from u0?")

    def potential(self, x, u0=None):
        x = as_vector(x, "x")
        u0 = self.reference_u0(u0, x.size)
        z = self.mirror_map(x, u0)
        return float(np.dot(z, x) - self.mirror_state(z, u0)[2])


def _positive_pair(param, x, y):
    """``(x, y)`` checked for a Bregman divergence on the orthant: same shape, ``y > 0``."""
    x, y = param._point(x, "x"), param._point(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x has shape {x.shape} but y has shape {y.shape}")
    if np.any(y <= 0):
        raise ValueError("y must be strictly positive: ∇ψ(y) is infinite on the boundary")
    return x, y


# ----------------------------------------------------------------------------------------------
# matrix parametrizations: parameters are a tuple of matrices
# ----------------------------------------------------------------------------------------------
def _matrix_shape(shape) -> tuple[int, int]:
    shape = tuple(int(s) for s in np.atleast_1d(shape))
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"a matrix parametrization needs shape (d1, d2); got {shape}")
    return shape


def _factor(rows: int, cols: int, scale: float, rng, kind: str) -> np.ndarray:
    """``scale`` times the rectangular identity, a Gaussian matrix, or orthonormal columns/rows."""
    if kind == "identical":
        return scale * np.eye(rows, cols)
    gen = np.random.default_rng(rng)
    g = gen.standard_normal((rows, cols))
    if kind == "gaussian":
        return scale * g
    q, r = np.linalg.qr(g if rows >= cols else g.T)
    q = q * np.sign(np.diag(r))  # the Haar-distributed orthogonal factor
    return scale * (q if rows >= cols else q.T)


_MATRIX_KINDS = ("identical", "gaussian", "orthogonal")


class _MatrixParametrization(Parametrization):
    commuting = False
    signed = True
    domain = Domain(description="R^{d1 x d2}")
    default_init = "gaussian"

    def initial_u(self, x0=None, init_scale=None, n=None):
        raise ValueError(f"{type(self).__name__} parameters are matrices: use "
                         f"init(shape, init_scale, rng, kind)")


class Product(_MatrixParametrization):
    r"""``X = U Vᵀ`` with ``U`` of shape (d1, width) and ``V`` of shape (d2, width).

    Gradient descent on ``(U, V)`` from a small initialization is biased towards low rank
    (Gunasekar et al., "Implicit regularization in matrix factorization", NeurIPS 2017;
    Li, Ma & Zhang, COLT 2018): the engine's model of matrix sensing.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.parametrizations import Product
    >>> p = Product(width=2)
    >>> U, V = p.init((3, 4), 0.1, rng=0, kind="identical")
    >>> p.forward((U, V)).shape, float(p.forward((U, V))[0, 0])
    ((3, 4), 0.010000000000000002)
    """

    def __init__(self, width: int):
        self.width = _size(width, "width")

    def __repr__(self) -> str:
        return f"Product(width={self.width})"

    def forward(self, params):
        U, V = params
        return U @ V.T

    def vjp(self, params, g):
        U, V = params
        return g @ V, g.T @ U

    def init(self, shape, init_scale, rng=None, kind="gaussian"):
        """``U0, V0`` of scale ``init_scale`` (kind: identical, gaussian, orthogonal)."""
        d1, d2 = _matrix_shape(shape)
        kind = _check_kind(kind, _MATRIX_KINDS)
        alpha = _positive_scale(init_scale, "init_scale")
        gen = np.random.default_rng(rng)
        return (_factor(d1, self.width, alpha, gen, kind),
                _factor(d2, self.width, alpha, gen, kind))


def _spectral2(F: np.ndarray) -> float:
    """``‖F‖₂²`` of a thin matrix, from the eigenvalues of its small Gram matrix ``FᵀF``."""
    return float(np.linalg.eigvalsh(F.T @ F)[-1]) if F.size else 0.0


class NonnegativeProduct(_MatrixParametrization):
    r"""``X = (U⊙U)(V⊙V)ᵀ`` with ``U`` of shape (d1, width), ``V`` of shape (d2, width).

    Non-negative matrix factorization ``X = W Hᵀ``, ``W, H >= 0``, by the reparametrization
    ``W = U⊙U``, ``H = V⊙V`` of Chou, Maly, Verdun, Freitas Paulo da Costa, Mirandola, "Get rid
    of your constraints and reparametrize" (AISTATS 2025, arXiv 2207.08437), which names NMF as
    its first application: gradient steps on the unconstrained ``(U, V)`` keep both factors
    non-negative. A zero entry of ``U`` or ``V`` never moves (its gradient is zero).

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.parametrizations import NonnegativeProduct
    >>> p = NonnegativeProduct(width=2)
    >>> U, V = p.init((3, 4), 0.1, rng=0, kind="identical")
    >>> X = p.forward((U, V))
    >>> X.shape, round(float(X[0, 0]), 12), bool((p.forward(p.init((3, 4), 0.1, rng=0)) >= 0).all())
    ((3, 4), 0.0001, True)
    """

    signed = False
    domain = Domain(0.0, np.inf, description="the non-negative matrices X >= 0")

    def __init__(self, width: int):
        self.width = _size(width, "width")

    def __repr__(self) -> str:
        return f"NonnegativeProduct(width={self.width})"

    def forward(self, params):
        U, V = params
        return (U * U) @ (V * V).T

    def vjp(self, params, g):
        U, V = params
        return 2.0 * U * (g @ (V * V)), 2.0 * V * (g.T @ (U * U))

    def curvature(self, params, g, lipschitz: float, columns: bool = False) -> float:
        """A bound on the curvature of ``h(U, V) = f((U⊙U)(V⊙V)ᵀ)`` near ``(U, V)``.

        Along a direction ``(D, E)``, ``h'' = ∇²f[X', X'] + ⟨G, X''⟩`` with ``G = ∇f(X)``,
        ``X' = 2(U⊙D)Hᵀ + 2W(V⊙E)ᵀ`` and ``X'' = 2D²Hᵀ + 2W(E²)ᵀ + 8(U⊙D)(V⊙E)ᵀ``
        (``W = U⊙U``, ``H = V⊙V``). Hence ``h'' <= (4 u²‖H‖² + 4 v²‖W‖²) lipschitz +
        2 max(|GH|_max, |GᵀW|_max) + 4 u v ‖G‖`` per unit ``‖(D, E)‖²``, with ``u, v`` the
        largest ``|U|``, ``|V|``, ``‖H‖``, ``‖W‖`` spectral norms (from the width × width Gram
        matrices) and ``‖G‖`` bounded by its Frobenius norm. The middle term is
        doubled (as in ``Power.curvature``) so that a step of ``1 / curvature`` changes each
        entry of ``U`` and ``V`` by at most half of itself, which keeps their signs.
        """
        U, V = params
        W, H = U * U, V * V
        u, v = float(np.max(np.abs(U), initial=0.0)), float(np.max(np.abs(V), initial=0.0))
        fit = 4.0 * (u * u * _spectral2(H) + v * v * _spectral2(W)) * lipschitz
        side = max(float(np.max(np.abs(g @ H), initial=0.0)),
                   float(np.max(np.abs(g.T @ W), initial=0.0)))
        return fit + 4.0 * side + 4.0 * u * v * float(np.linalg.norm(g))

    def init(self, shape, init_scale, rng=None, kind="gaussian"):
        """``U0, V0`` of scale ``init_scale`` (kind: identical, gaussian, orthogonal; the
        absolute values are taken, so ``X0 >= 0`` has scale ``width · init_scale⁴``)."""
        d1, d2 = _matrix_shape(shape)
        kind = _check_kind(kind, _MATRIX_KINDS)
        alpha = _positive_scale(init_scale, "init_scale")
        gen = np.random.default_rng(rng)
        return (np.abs(_factor(d1, self.width, alpha, gen, kind)),
                np.abs(_factor(d2, self.width, alpha, gen, kind)))


class SymmetricProduct(_MatrixParametrization):
    r"""``X = U Uᵀ`` with ``U`` of shape (d, width): symmetric positive semi-definite matrices.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.parametrizations import SymmetricProduct
    >>> p = SymmetricProduct(width=2)
    >>> U = p.init((3, 3), 1.0, kind="identical")
    >>> p.forward(U)
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 0.]])
    """

    signed = False

    def __init__(self, width: int):
        self.width = _size(width, "width")

    def __repr__(self) -> str:
        return f"SymmetricProduct(width={self.width})"

    def forward(self, U):
        return U @ U.T

    def vjp(self, U, g):
        return (g + g.T) @ U

    def init(self, shape, init_scale, rng=None, kind="gaussian"):
        d1, d2 = _matrix_shape(shape)
        if d1 != d2:
            raise ValueError(f"SymmetricProduct needs a square shape; got {(d1, d2)}")
        return _factor(d1, self.width, _positive_scale(init_scale, "init_scale"), rng,
                       _check_kind(kind, _MATRIX_KINDS))


class DeepProduct(_MatrixParametrization):
    r"""``X = W_L ⋯ W_2 W_1`` (a deep linear network), ``W_1`` of shape (width, d2), inner
    layers (width, width), ``W_L`` of shape (d1, width); ``width`` defaults to ``max(d1, d2)``.

    Deeper products sharpen the low-rank bias of small initialization (Arora, Cohen, Hu & Luo,
    "Implicit regularization in deep matrix factorization", NeurIPS 2019).

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.parametrizations import DeepProduct
    >>> p = DeepProduct(depth=3)
    >>> Ws = p.init((2, 2), 0.5, kind="identical")
    >>> p.forward(Ws)
    array([[0.125, 0.   ],
           [0.   , 0.125]])
    """

    def __init__(self, depth: int, width: int | None = None):
        if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 1:
            raise ValueError(f"depth must be an integer >= 1; got {depth!r}")
        self.depth = int(depth)
        self.width = None if width is None else _size(width, "width")

    def __repr__(self) -> str:
        return f"DeepProduct(depth={self.depth}, width={self.width})"

    def forward(self, Ws):
        X = Ws[0]
        for W in Ws[1:]:
            X = W @ X
        return X

    def vjp(self, Ws, g):
        # left[i] = W_L ⋯ W_{i+1}, right[i] = W_{i-1} ⋯ W_1 (identity where empty)
        L = len(Ws)
        right = [None] * L
        acc = None
        for i in range(L):
            right[i] = acc
            acc = Ws[i] if acc is None else Ws[i] @ acc
        grads = [None] * L
        left = None
        for i in reversed(range(L)):
            gi = g if left is None else left.T @ g
            grads[i] = gi if right[i] is None else gi @ right[i].T
            left = Ws[i] if left is None else left @ Ws[i]
        return tuple(grads)

    def init(self, shape, init_scale, rng=None, kind="gaussian"):
        """Each layer at scale ``init_scale`` (so ``X0`` is of order ``init_scale**depth``)."""
        d1, d2 = _matrix_shape(shape)
        kind = _check_kind(kind, _MATRIX_KINDS)
        alpha = _positive_scale(init_scale, "init_scale")
        h = self.width or max(d1, d2)
        dims = [d2] + [h] * (self.depth - 1) + [d1]
        gen = np.random.default_rng(rng)
        return tuple(_factor(dims[i + 1], dims[i], alpha, gen, kind) for i in range(self.depth))


class WeightNormalized(Parametrization):
    r"""Weight normalization of the diagonal network ``x = u² − v²``: magnitude and direction.

    Per coordinate, ``(u_i, v_i) = r_i d_i`` with a magnitude ``r_i`` and a unit direction
    ``d_i = w_i / ‖w_i‖`` in the plane, so ``x_i = r_i² (w_{i1}² − w_{i2}²) / ‖w_i‖²``
    (parameters ``(r, W)``, ``W`` of shape (n, 2)). Gradient descent on ``(r, W)`` is the
    weight-normalized diagonal linear network (Salimans & Kingma 2016; Chou, Rauhut & Ward,
    "Robust implicit regularization via weight normalization", 2023).

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.parametrizations import WeightNormalized
    >>> p = WeightNormalized()
    >>> r, W = p.init(3, 0.1)                 # direction (1, 1)/√2: x0 = 0
    >>> p.forward((r, W))
    array([0., 0., 0.])
    """

    commuting = False
    signed = True
    domain = Domain(description="R^n (signed)")

    def __repr__(self) -> str:
        return "WeightNormalized()"

    def forward(self, params):
        r, W = params
        s = np.sum(W * W, axis=-1)
        return r * r * (W[..., 0] ** 2 - W[..., 1] ** 2) / s

    def vjp(self, params, g):
        r, W = params
        a, b = W[..., 0], W[..., 1]
        s = a * a + b * b
        c = (a * a - b * b) / s
        rr = r * r * g / (s * s)
        dW = np.stack([4.0 * a * b * b * rr, -4.0 * a * a * b * rr], axis=-1)
        return 2.0 * r * c * g, dW

    def initial_u(self, x0=None, init_scale=None, n=None):
        raise ValueError("WeightNormalized parameters are (r, W): use init(n, init_scale)")

    def init(self, shape, init_scale, rng=None, kind="identical"):
        """``r = init_scale·√2`` and ``W = (1, 1)`` (so ``x0 = 0``, as ``u0 = v0`` for
        ``Difference``), or Gaussian magnitudes and directions."""
        n = _size(int(np.atleast_1d(shape)[0]), "n")
        kind = _check_kind(kind, ("identical", "gaussian"))
        alpha = _positive_scale(init_scale, "init_scale")
        if kind == "identical":
            return np.full(n, alpha * np.sqrt(2.0)), np.ones((n, 2))
        gen = np.random.default_rng(rng)
        return alpha * np.abs(gen.standard_normal(n)), gen.standard_normal((n, 2))
