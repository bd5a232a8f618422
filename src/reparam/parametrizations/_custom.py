"""A parametrization given by a user's forward map (and optionally its Jacobian)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._base import (
    Domain,
    Parametrization,
    _numerical_jacobian,
    _positive_scale,
    _size,
    as_vector,
)


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
