"""Continuous time: gradient flow on u, mirror flow on x, and the accelerated second-order ODE.

All three integrate with :func:`scipy.integrate.solve_ivp` for any smooth loss given as a
function and its gradient, and return a :class:`Trajectory` whose ``status`` is
``NUMERICAL_ERROR`` when the integrator failed or a value became non-finite.

Which integrator: ``LSODA`` (the default) switches between stiff and non-stiff steps and is the
fastest here. ``Radau`` and ``BDF`` work too, but build their Jacobian from 2n finite
differences, so they are slow beyond a few dozen unknowns (the accelerated flow on a 20 × 60
problem: 0.5 s with LSODA, ~10 s with BDF, over a minute with Radau). At small initialization
the mirror flow of ``Power(L)``, L > 2, is integrated in w = log(−z), where no trial step can
leave the domain; the accelerated flow starts from its series at a small time instead of the
singular t = 0. The mirror flow of ``Power(2)`` in z = ¼ log x can overflow when a non-stiff
step overshoots from a tiny x0: if its status is NUMERICAL_ERROR, use :func:`gradient_flow`, a
stiff method, or a tighter ``rtol``.

* :func:`gradient_flow`: ``u' = −J(u)ᵀ ∇f(φ(u))``, x = φ(u).
* :func:`mirror_flow`: ``z' = −∇f(x)``, x = ∇ψ*(z), z(0) = ∇ψ(x0). For a commuting
  parametrization it traces the same curve as :func:`gradient_flow` (Li, Wang, Lee & Arora 2022,
  Thm. 4.8), and integrating in z keeps x strictly inside the domain.
* :func:`accelerated_flow`: ``x' = (2/t)(y − x)``, ``y' = −(t/2) y ⊙ ∇f(x)``, the paper's
  second-order ODE for x = u² whose loss decays like t⁻² (Chou et al. 2025, Sec. 4).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from ._result import Status
from .parametrizations import Parametrization, Power, as_vector

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
        Whether the integrator reached the final time with finite values everywhere.
    message : str
        The integrator's message, or what went wrong and what to try.
    nfev : int
        Right-hand-side evaluations.
    status : Status
        ``CONVERGED`` when ``success`` (the flow was integrated to the final time to the
        requested tolerances); ``NUMERICAL_ERROR`` when the integrator failed or a value
        (x, the loss or the gradient) became non-finite.
    """

    t: np.ndarray
    x: np.ndarray
    loss: np.ndarray
    u: np.ndarray | None
    success: bool
    message: str
    nfev: int
    status: Status = Status.CONVERGED

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
    for name, v in (("rtol", rtol), ("atol", atol)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (
                np.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive finite float, got {v!r}")
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # a trial step may overflow and is then rejected by the error control; only the
            # accepted trajectory is checked for non-finite values (in _trajectory)
            sol = solve_ivp(rhs, (t0, t1), y0, method=method, t_eval=t_eval, rtol=rtol,
                            atol=atol)
    except (np.linalg.LinAlgError, ZeroDivisionError, FloatingPointError) as exc:
        return None, f"the integrator {method} failed ({exc})"
    except ValueError as exc:
        if "infs or NaNs" not in str(exc):
            raise
        return None, f"the integrator {method} failed ({exc})"
    return sol, "" if sol.success else sol.message


def _trajectory(sol, detail, to_x, loss, t0, y0, method) -> Trajectory:
    """A Trajectory whose status says whether the whole flow was integrated with finite values."""
    if sol is None:
        ts, ys, nfev = np.array([t0]), y0[None, :], 0
    else:
        ts, ys, nfev = sol.t, sol.y.T, int(sol.nfev)
    with np.errstate(over="ignore", invalid="ignore"):
        xs = np.array([to_x(y) for y in ys])
        losses = np.array([loss(x) for x in xs])
    finite = bool(np.all(np.isfinite(xs)) and np.all(np.isfinite(losses))
                  and np.all(np.isfinite(ys)))
    if not detail and not finite:
        detail = "x(t) or the loss became non-finite"
    ok = not detail and sol is not None and bool(sol.success)
    message = sol.message if ok else (
        f"{detail}; try method='LSODA' (switches between stiff and non-stiff steps) or looser "
        f"rtol/atol, and check that the gradient is finite")
    return Trajectory(ts, xs, losses, ys, ok, message, nfev,
                      Status.CONVERGED if ok else Status.NUMERICAL_ERROR)


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
        Any :func:`scipy.integrate.solve_ivp` method; LSODA (recommended), Radau and BDF
        handle stiffness (see the module docstring for when each fits).
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

    sol, detail = _solve(rhs, t0, t1, u_start, t_eval, method, rtol, atol)
    return _trajectory(sol, detail, p.forward, loss, t0, u_start, method)


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
    if isinstance(p, Power) and p.depth > 2:
        # z = ∇ψ(x) < 0 on the whole domain; a stiff solver's Newton iterates can cross z = 0
        # (x = inf) at small init. Integrate w = log(−z) instead: x = (L(L−2) e^w)^(L/(2−L))
        # is finite for every w, and w' = ∇f(x) e^{−w}.
        L = p.depth
        k = L * (L - 2)

        def x_of(w):
            return np.exp((L / (2.0 - L)) * (np.log(k) + w))

        def rhs(_, w):
            return grad(x_of(w)) * np.exp(-w)

        sol, detail = _solve(rhs, t0, t1, np.log(-z_start), t_eval, method, rtol, atol)
        traj = _trajectory(sol, detail, x_of, loss, t0, np.log(-z_start), method)
        traj.u = -np.exp(traj.u)
        return traj

    def to_x(z):
        return p.mirror_state(z, u_ref)[0]

    def rhs(_, z):
        return -grad(to_x(z))

    sol, detail = _solve(rhs, t0, t1, z_start, t_eval, method, rtol, atol)
    return _trajectory(sol, detail, to_x, loss, t0, z_start, method)


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
    if t0 < 0:
        raise ValueError(f"t_span must start at t0 >= 0 for the accelerated flow (its 2/t "
                         f"factor is singular at 0), got {t_span!r}")
    n = x0.size
    g0 = np.asarray(grad(x0), dtype=float)
    if g0.shape != x0.shape or not np.all(np.isfinite(g0)):
        raise ValueError("grad(x0) must be a finite array of the shape of x0")
    if t0 > 0:
        start, w0 = t0, np.concatenate([x0, x0])
    else:
        # Near t = 0 the 2/t factor makes the system stiff; start at a small time s from the
        # series x = x0 (1 − s² g/8), y = x0 exp(−s² g/4) (error O(s⁴ |g|²) ≤ rtol).
        s_start = min(1e-3 * t1, (rtol / (1.0 + float(np.max(np.abs(g0))) ** 2)) ** 0.25)
        start = s_start
        w0 = np.concatenate([x0 * (1.0 - s_start ** 2 * g0 / 8.0),
                             x0 * np.exp(-s_start ** 2 * g0 / 4.0)])
    t_eval = np.maximum(t_eval, start)

    def rhs(t, w):
        x, y = w[:n], w[n:]
        return np.concatenate([(2.0 / t) * (y - x), -(0.5 * t) * y * grad(x)])

    sol, detail = _solve(rhs, start, t1, w0, t_eval, method, rtol, atol)
    traj = _trajectory(sol, detail, lambda w: w[:n], loss, start, w0, method)
    traj.u = traj.u[:, n:]
    return traj
