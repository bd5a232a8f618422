"""Continuous time: gradient flow on u, mirror flow on x, and the accelerated second-order ODE.

All three integrate with :func:`scipy.integrate.solve_ivp` (``LSODA`` by default, which switches
to a stiff method when the problem asks for it; ``Radau`` and ``BDF`` work too) for any smooth
loss given as a function and its gradient, and return a :class:`Trajectory`.

* :func:`gradient_flow`: ``u' = −J(u)ᵀ ∇f(φ(u))``, x = φ(u).
* :func:`mirror_flow`: ``z' = −∇f(x)``, x = ∇ψ*(z), z(0) = ∇ψ(x0). For a commuting
  parametrization it traces the same curve as :func:`gradient_flow` (Li, Wang, Lee & Arora 2022,
  Thm. 4.8), and integrating in z keeps x strictly inside the domain.
* :func:`accelerated_flow`: ``x' = (2/t)(y − x)``, ``y' = −(t/2) y ⊙ ∇f(x)``, the paper's
  second-order ODE for x = u² whose loss decays like t⁻² (Chou et al. 2025, Sec. 4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from .parametrizations import Parametrization, as_vector

__all__ = [
    "Trajectory",
    "accelerated_flow",
    "gradient_flow",
    "least_squares_loss",
    "mirror_flow",
]


@dataclass
class Trajectory:
    """A solved flow.

    Attributes
    ----------
    t : ndarray, shape (k,)
        Times.
    x : ndarray, shape (k, n)
        x(t), one row per time.
    loss : ndarray, shape (k,)
        f(x(t)).
    u : ndarray, shape (k, p) or None
        The parameters (gradient flow), mirror coordinates (mirror flow) or the auxiliary y
        (accelerated flow).
    success : bool
        Whether the integrator reached the final time.
    message : str
        The integrator's message.
    nfev : int
        Right-hand-side evaluations.
    """

    t: np.ndarray
    x: np.ndarray
    loss: np.ndarray
    u: np.ndarray | None
    success: bool
    message: str
    nfev: int

    @property
    def final(self) -> np.ndarray:
        """x at the last time."""
        return self.x[-1]


def least_squares_loss(A, b) -> tuple[Callable, Callable]:
    """``(f, ∇f)`` for ``f(x) = ½‖Ax − b‖²``.

    Examples
    --------
    >>> import numpy as np
    >>> f, grad = least_squares_loss(np.eye(2), np.array([1.0, 2.0]))
    >>> f(np.zeros(2)), grad(np.zeros(2))
    (2.5, array([-1., -2.]))
    """
    A = np.array(A, dtype=float)
    b = as_vector(b, "b")
    if A.ndim != 2 or A.shape[0] != b.size:
        raise ValueError(f"A must be 2-D with {b.size} rows (the length of b), got shape {A.shape}")

    def loss(x):
        r = A @ x - b
        return 0.5 * float(r @ r)

    def grad(x):
        return A.T @ (A @ x - b)

    return loss, grad


def _check_callables(loss, grad):
    if not callable(loss):
        raise TypeError(f"loss must be callable, got {type(loss).__name__}")
    if not callable(grad):
        raise TypeError(f"grad must be callable, got {type(grad).__name__}")


def _times(t_span, t_eval):
    try:
        t0, t1 = (float(v) for v in t_span)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"t_span must be a pair (t0, t1), got {t_span!r}") from exc
    if not (np.isfinite(t0) and np.isfinite(t1) and t1 > t0):
        raise ValueError(f"t_span must satisfy t0 < t1 (finite), got {t_span!r}")
    if t_eval is None:
        return t0, t1, np.linspace(t0, t1, 51)
    t_eval = as_vector(t_eval, "t_eval")
    if np.any(np.diff(t_eval) < 0) or t_eval[0] < t0 or t_eval[-1] > t1:
        raise ValueError("t_eval must be sorted and inside t_span")
    return t0, t1, t_eval


def _start(parametrization, u0, init_scale, x0, n):
    if not isinstance(parametrization, Parametrization):
        raise TypeError("parametrization must be a reparam.parametrizations.Parametrization, "
                        f"got {type(parametrization).__name__}")
    if u0 is not None:
        return as_vector(u0, "u0")
    if n is None and x0 is None:
        raise ValueError("give u0, or init_scale with n, or x0")
    return parametrization.initial_u(x0=x0, init_scale=init_scale, n=n)


def _solve(rhs, t0, t1, y0, t_eval, method, rtol, atol):
    return solve_ivp(rhs, (t0, t1), y0, method=method, t_eval=t_eval, rtol=rtol, atol=atol)


def gradient_flow(loss, grad, parametrization, t_span, *, u0=None, init_scale=None, x0=None,
                  n=None, t_eval=None, method="LSODA", rtol=1e-10, atol=1e-12) -> Trajectory:
    """Gradient flow ``u' = −J(u)ᵀ ∇f(φ(u))`` of ``f ∘ φ`` on the parameters.

    Parameters
    ----------
    loss, grad : callable
        f(x) and ∇f(x) for 1-D x.
    parametrization : Parametrization
    t_span : (float, float)
    u0 : array_like, optional
        Initial parameters; otherwise ``parametrization.initial_u(x0, init_scale, n)``.
    init_scale, x0, n : optional
        Passed to :meth:`~reparam.parametrizations.Parametrization.initial_u`.
    t_eval : array_like, optional
        Output times (51 equispaced by default).
    method : str, default "LSODA"
        Any :func:`scipy.integrate.solve_ivp` method; LSODA, Radau and BDF handle stiffness.
    rtol, atol : float
        Integrator tolerances.

    Returns
    -------
    Trajectory
        With ``u`` the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.flows import gradient_flow, least_squares_loss
    >>> from reparam.parametrizations import Power
    >>> f, g = least_squares_loss(np.array([[1.0, 2.0]]), np.array([1.0]))
    >>> traj = gradient_flow(f, g, Power(2), (0, 50), init_scale=0.1, n=2)
    >>> bool(traj.loss[-1] < 1e-10 and np.all(traj.final >= 0))
    True
    """
    _check_callables(loss, grad)
    t0, t1, t_eval = _times(t_span, t_eval)
    u_start = _start(parametrization, u0, init_scale, x0, n)
    p = parametrization

    def rhs(_, u):
        return -p.vjp(u, grad(p.forward(u)))

    sol = _solve(rhs, t0, t1, u_start, t_eval, method, rtol, atol)
    us = sol.y.T
    xs = np.array([p.forward(u) for u in us])
    return Trajectory(sol.t, xs, np.array([loss(x) for x in xs]), us, bool(sol.success),
                      sol.message, int(sol.nfev))


def mirror_flow(loss, grad, parametrization, t_span, *, u0=None, init_scale=None, x0=None,
                n=None, t_eval=None, method="LSODA", rtol=1e-10, atol=1e-12) -> Trajectory:
    """Mirror flow ``d/dt ∇ψ(x) = −∇f(x)`` of the parametrization's potential, solved in z = ∇ψ(x).

    The initialization arguments mean the same as in :func:`gradient_flow` (ψ may depend on u0);
    the flow starts at x0 = φ(u0).

    Returns
    -------
    Trajectory
        With ``u`` the mirror coordinates z(t).

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.flows import gradient_flow, mirror_flow, least_squares_loss
    >>> from reparam.parametrizations import Box
    >>> f, g = least_squares_loss(np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([3.0, 0.0]))
    >>> a = gradient_flow(f, g, Box(), (0, 5), init_scale=0.0, n=2)
    >>> b = mirror_flow(f, g, Box(), (0, 5), init_scale=0.0, n=2)
    >>> bool(np.abs(a.x - b.x).max() < 1e-7)
    True
    """
    _check_callables(loss, grad)
    t0, t1, t_eval = _times(t_span, t_eval)
    p = parametrization
    u_start = _start(p, u0, init_scale, x0, n)
    x_start = p.forward(u_start)
    ref = u_start if p.needs_u0 else None
    z_start = p.mirror_map(x_start, ref)
    if not np.all(np.isfinite(z_start)):
        raise ValueError("x0 = φ(u0) is on the boundary of the domain, where the mirror map is "
                         "infinite; start strictly inside")
    u_ref = p.reference_u0(ref, x_start.size)

    def rhs(_, z):
        return -grad(p.mirror_state(z, u_ref)[0])

    sol = _solve(rhs, t0, t1, z_start, t_eval, method, rtol, atol)
    zs = sol.y.T
    xs = np.array([p.mirror_state(z, u_ref)[0] for z in zs])
    return Trajectory(sol.t, xs, np.array([loss(x) for x in xs]), zs, bool(sol.success),
                      sol.message, int(sol.nfev))


def accelerated_flow(loss, grad, x0, t_span, *, t_eval=None, method="LSODA", rtol=1e-10,
                     atol=1e-12) -> Trajectory:
    """The paper's second-order ODE ``x' = (2/t)(y − x)``, ``y' = −(t/2) y ⊙ ∇f(x)``.

    It starts from x = y = x0 > 0; y stays positive (``y' ∝ y``) and so does x, a convex
    combination of past y. The loss decays like O(t⁻²) (Chou et al. 2025, "Get rid of your
    constraints and reparametrize", the accelerated flow for x = u ⊙ u). At t = 0 the factor
    2/t is singular, so a ``t_span`` starting at 0 starts the integration at ``1e-12·t1``.

    Parameters
    ----------
    loss, grad : callable
    x0 : array_like
        Strictly positive start.
    t_span : (float, float)
    t_eval, method, rtol, atol
        As in :func:`gradient_flow`.

    Returns
    -------
    Trajectory
        With ``u`` the auxiliary variable y(t).

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.flows import accelerated_flow, least_squares_loss
    >>> f, g = least_squares_loss(np.array([[1.0, 2.0]]), np.array([1.0]))
    >>> traj = accelerated_flow(f, g, np.array([0.1, 0.1]), (0, 30))
    >>> bool(traj.loss[-1] < 1e-3 * traj.loss[0])
    True
    """
    _check_callables(loss, grad)
    t0, t1, t_eval = _times(t_span, t_eval)
    x0 = as_vector(x0, "x0")
    if np.any(x0 <= 0):
        raise ValueError("x0 must be strictly positive for the accelerated flow")
    start = t0 if t0 > 0 else 1e-12 * t1
    t_eval = np.maximum(t_eval, start)
    n = x0.size

    def rhs(t, w):
        x, y = w[:n], w[n:]
        return np.concatenate([(2.0 / t) * (y - x), -(0.5 * t) * y * grad(x)])

    sol = _solve(rhs, start, t1, np.concatenate([x0, x0]), t_eval, method, rtol, atol)
    xs, ys = sol.y[:n].T, sol.y[n:].T
    return Trajectory(sol.t, xs, np.array([loss(x) for x in xs]), ys, bool(sol.success),
                      sol.message, int(sol.nfev))
