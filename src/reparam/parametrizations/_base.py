"""The parametrization protocol, its domain record and the checks every parametrization shares."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

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

def _positive_pair(param, x, y):
    """``(x, y)`` checked for a Bregman divergence on the orthant: same shape, ``y > 0``."""
    x, y = param._point(x, "x"), param._point(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x has shape {x.shape} but y has shape {y.shape}")
    if np.any(y <= 0):
        raise ValueError("y must be strictly positive: ∇ψ(y) is infinite on the boundary")
    return x, y

