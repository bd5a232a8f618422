"""Which solution does gradient descent find? Predicted limits and the commuting condition.

For a commuting parametrization x = φ(u) (zero Lie brackets of the fields ∇φ_i), gradient flow on
``f(φ(u))`` with ``f(x) = ½‖Ax − b‖²`` is the mirror flow ``d/dt ∇ψ(x) = −Aᵀ(Ax − b)``, so
``∇ψ(x(t)) − ∇ψ(x0)`` stays in range(Aᵀ). If it converges to a point x∞ with Ax∞ = b inside the
domain, x∞ is the Bregman projection

    x∞ = argmin { D_ψ(x, x0) : Ax = b, x in the domain }                                   (1)

(Li, Wang, Lee & Arora 2022, "Implicit bias of gradient descent on reparametrized models: on
equivalence to mirror descent", Thm. 4.10; Woodworth et al. 2020, "Kernel and rich regimes in
overparametrized models"; for NNLS, Chou et al. 2025, "Get rid of your constraints and
reparametrize", arXiv 2207.08437). :func:`limit` solves (1) through its smooth dual

    min_λ  ψ*(∇ψ(x0) + Aᵀλ) − bᵀλ,    x = ∇ψ*(∇ψ(x0) + Aᵀλ),                               (2)

by Newton's method with a backtracking line search. As the initialization shrinks, (1) tends to
the minimum-ℓ1 solution, an LP (:func:`l1_limit`).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import linprog, lsq_linear
from scipy.optimize import nnls as _scipy_nnls

from ._validation import validate_matrix, validate_rhs
from .parametrizations import Box, Custom, Parametrization, Power, Simplex, as_vector

__all__ = ["is_commuting", "l1_limit", "lie_bracket", "limit"]


# ----------------------------------------------------------------------------------------------
# input checks
# ----------------------------------------------------------------------------------------------
def _problem(A, b):
    """A dense float64 ``A`` (m, n) and one right-hand side ``b`` (m,), checked by the package's
    shared validators (:mod:`reparam._validation`); copies, so callers may not alias inputs."""
    op = validate_matrix(A)
    if op.kind != "dense":
        raise TypeError(f"A must be a dense array here; got a {op.kind} {type(A).__name__}")
    rhs = validate_rhs(b, op.shape[0])
    if rhs.ndim != 1:
        raise ValueError(f"b has shape {rhs.shape}; expected one right-hand side (m,)")
    return np.array(op.A, dtype=float), np.array(rhs, dtype=float)


def _parametrization(p) -> Parametrization:
    if p is None:
        return Power(2)
    if not isinstance(p, Parametrization):
        raise TypeError("parametrization must be a reparam.parametrizations.Parametrization, "
                        f"got {type(p).__name__}")
    return p


def _domain_kind(p: Parametrization) -> str:
    d = p.domain
    if d.simplex:
        return "simplex"
    lo, hi = np.asarray(d.lower), np.asarray(d.upper)
    if np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)):
        return "box"
    if np.all(lo == 0) and np.all(np.isinf(hi)):
        return "orthant"
    return "signed"


# ----------------------------------------------------------------------------------------------
# the dual Newton method
# ----------------------------------------------------------------------------------------------
def _reduce_constraints(A, target):
    """Orthonormal form of {Ax = target}: Vᵀx = c with V (n × r) from the SVD of A."""
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    rank = int(np.sum(s > s[0] * max(A.shape) * np.finfo(float).eps * 10)) if s.size else 0
    U, s, Vt = U[:, :rank], s[:rank], Vt[:rank]
    return Vt.T, (U.T @ target) / s


def _dual_newton(param, u0, V, c, z0, tol, max_iter):
    """Newton with Armijo backtracking on D(μ) = ψ*(z0 + Vμ) − cᵀμ (V orthonormal columns)."""

    def state(mu):
        z = z0 + V @ mu
        try:
            x, hess, conj = param.mirror_state(z, u0)
        except RuntimeError:  # a Custom map's flow blew up: outside the domain of ψ*
            return np.full(V.shape[0], np.nan), None, np.nan
        return x, hess, conj - c @ mu

    mu = np.zeros(V.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        return _newton_loop(state, mu, V, c, tol, max_iter)


def _newton_loop(state, mu, V, c, tol, max_iter):
    x, hess, value = state(mu)
    scale = max(np.linalg.norm(c), np.finfo(float).tiny)
    for it in range(1, max_iter + 1):
        grad = V.T @ x - c
        if np.linalg.norm(grad) <= tol * scale:
            return x, it - 1, np.linalg.norm(grad) / scale, True
        H = (V.T * hess) @ V if hess.ndim == 1 else V.T @ hess @ V
        try:
            step = -np.linalg.solve(H, grad)
        except np.linalg.LinAlgError:
            step = -np.linalg.lstsq(H, grad, rcond=None)[0]
        slope = grad @ step
        if not np.isfinite(slope) or slope >= 0:  # singular H: fall back to steepest descent
            step, slope = -grad, -(grad @ grad)
        t = 1.0
        for _ in range(60):
            x_new, hess_new, value_new = state(mu + t * step)
            if np.all(np.isfinite(x_new)) and np.isfinite(value_new) and (
                    value_new <= value + 1e-4 * t * slope
                    # near the optimum D's decrease is below rounding: accept a smaller gradient
                    or np.linalg.norm(V.T @ x_new - c) < 0.5 * np.linalg.norm(grad)):
                break
            t *= 0.5
        else:
            return x, it, np.linalg.norm(grad) / scale, False
        mu = mu + t * step
        x, hess, value = x_new, hess_new, value_new
    grad = V.T @ x - c
    ok = np.linalg.norm(grad) <= tol * scale
    return x, max_iter, np.linalg.norm(grad) / scale, ok


def _restrict(param, u0, free):
    """The parametrization and u0 seen on the coordinates ``free`` (coordinate-wise maps)."""
    if isinstance(param, Power):
        return param, None
    if isinstance(param, Box):
        lo = np.broadcast_to(param.lower, free.shape)[free]
        hi = np.broadcast_to(param.upper, free.shape)[free]
        return Box(lo, hi), None
    if isinstance(param, Simplex):
        sub = u0[free]
        return param, sub * np.linalg.norm(u0) / np.linalg.norm(sub)
    raise NotImplementedError(f"{param!r} cannot be restricted to a face")


def _positive_face(A, target):
    """Coordinates that are positive at some point of {x ≥ 0 : Ax = target} (one LP).

    max Σy s.t. Ax = τ·target, x ≥ y, 0 ≤ y ≤ 1, τ ≥ 1: since the feasible set is a cone in
    (x, τ), every coordinate that can be positive reaches y_i = 1.
    """
    m, n = A.shape
    cost = np.concatenate([np.zeros(n), -np.ones(n), [0.0]])
    A_eq = np.hstack([A, np.zeros((m, n)), -target[:, None]])
    A_ub = np.hstack([-np.eye(n), np.eye(n), np.zeros((n, 1))])
    bounds = [(0, None)] * n + [(0, 1)] * n + [(1, None)]
    res = linprog(cost, A_ub=A_ub, b_ub=np.zeros(n), A_eq=A_eq, b_eq=np.zeros(m),
                  bounds=bounds, method="highs")
    if res.status != 0:
        return np.ones(n, dtype=bool)
    return res.x[n:2 * n] > 0.5


def limit(A, b, parametrization=None, *, init_scale=None, x0=None, u0=None, tol=1e-11,
          max_iter=500, feasibility_tol=1e-9, full_output=False):
    """Predicted limit of gradient flow on ½‖Aφ(u) − b‖²: the Bregman projection (1).

    Parameters
    ----------
    A : array_like, shape (m, n)
    b : array_like, shape (m,)
    parametrization : Parametrization, default ``Power(2)``
        Must be commuting (checked at u0 for :class:`~reparam.parametrizations.Custom`).
    init_scale : float, optional
        The initialization ``u0 = parametrization.initial_u(init_scale=..., n=n)``.
    x0 : array_like, optional
        Initial point instead of (or, for Difference/Hadamard, together with) ``init_scale``.
    u0 : array_like, optional
        The initial parameters themselves (overrides ``init_scale`` and ``x0``).
    tol : float, default 1e-11
        Stop when the dual gradient (the reduced primal residual ‖Vᵀx − c‖, V an orthonormal
        basis of range(Aᵀ)) is below ``tol`` relative to ‖c‖.
    max_iter : int, default 500
        Newton iterations.
    feasibility_tol : float, default 1e-9
        {Ax = b, x in the domain} is taken as empty when the exact constrained least-squares
        residual exceeds ``feasibility_tol·‖b‖``.
    full_output : bool, default False
        Also return a dict with ``feasible``, ``n_iter``, ``dual_residual``, ``converged``,
        ``free`` (coordinates not fixed on the boundary), ``target`` (the b actually matched).

    Returns
    -------
    x : ndarray, shape (n,)
    info : dict, only if ``full_output``

    Notes
    -----
    When {Ax = b, x in the domain} is empty, the flow converges to a constrained least-squares
    solution: exact NNLS (``scipy.optimize.nnls``) for the orthant, BVLS for boxes, an active
    set for the simplex, least squares for signed domains. Coordinates whose gradient
    ``Aᵀ(Ax̂ − b)`` is nonzero there end on the boundary; the others are the Bregman projection
    of x0 onto {A_E x_E = Ax̂ − A_{E^c} x̂_{E^c}}. When the feasible set touches no interior
    point (e.g. a consistent overdetermined system with a sparse solution), coordinates that are
    zero on the whole set are found with one LP and fixed at zero. For signed parametrizations
    b is replaced by its projection onto range(A).

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.implicit_bias import limit, l1_limit
    >>> from reparam.parametrizations import Power
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(5, 12))
    >>> b = A @ np.abs(rng.normal(size=12))
    >>> x = limit(A, b, Power(2), init_scale=1e-3)
    >>> bool(np.allclose(A @ x, b)), bool(np.all(x >= 0))
    (True, True)
    >>> bool(np.sum(x) >= np.sum(l1_limit(A, b)) - 1e-9)
    True
    """
    A, b = _problem(A, b)
    param = _parametrization(parametrization)
    n = A.shape[1]
    if u0 is None:
        u0 = param.initial_u(x0=x0, init_scale=init_scale, n=n)
    else:
        u0 = param.reference_u0(u0, n)
    x_start = param.forward(u0)
    if isinstance(param, Custom) and not is_commuting(param, u0):
        raise ValueError("the parametrization is not commuting at u0: gradient flow is not a "
                         "mirror flow and has no Bregman-projection limit (Li et al. 2022)")
    kind = _domain_kind(param)
    x_hat, free, target, feasible = _boundary_solution(A, b, param, kind, feasibility_tol, u0)
    x = x_hat.copy()
    info = {"feasible": feasible, "n_iter": 0, "dual_residual": 0.0, "converged": True}
    for attempt in range(2):
        if np.any(free):
            sub, sub_u0 = (param, u0) if np.all(free) else _restrict(param, u0, free)
            V, c = _reduce_constraints(A[:, free], target)
            z0 = sub.mirror_map(x_start[free], sub_u0)
            # a Custom map's geometry is only as accurate as its ODE solves (rtol 1e-11)
            eff_tol = max(tol, 1e-9) if isinstance(param, Custom) else tol
            xf, it, res, ok = _dual_newton(sub, sub_u0, V, c, z0, eff_tol, max_iter)
            info.update(n_iter=info["n_iter"] + it, dual_residual=res, converged=ok)
            x[free] = xf
        # a stall at rounding level is not a missing interior point
        if info["dual_residual"] <= 1e-6 or kind != "orthant" or attempt == 1:
            break
        # no interior point on the free face: fix the coordinates that must vanish, retry
        face = np.zeros(n, dtype=bool)
        face[free] = _positive_face(A[:, free], target)
        x = np.where(face, x_hat, 0.0)
        free = face
    if not info["converged"]:
        warnings.warn(f"limit: the dual Newton method stopped at relative residual "
                      f"{info['dual_residual']:.2e} > tol={tol:g}", RuntimeWarning, stacklevel=2)
    info.update(free=free, target=A[:, free] @ x[free] + A[:, ~free] @ x[~free])
    return (x, info) if full_output else x


def _boundary_solution(A, b, param, kind, feasibility_tol, u0):
    """An exact constrained least-squares point x̂, the free coordinates, the target for them.

    Returns ``(x_hat, free, target, feasible)``: the limit has ``x[~free] = x_hat[~free]`` and
    ``A[:, free] @ x[free] = target``.
    """
    n = A.shape[1]
    bnorm = max(np.linalg.norm(b), np.finfo(float).tiny)
    if kind == "signed":
        x_hat = np.linalg.lstsq(A, b, rcond=None)[0]
        feasible = bool(np.linalg.norm(A @ x_hat - b) <= feasibility_tol * bnorm)
        return np.zeros(n), np.ones(n, dtype=bool), A @ x_hat, feasible
    if kind == "orthant":
        x_hat = _scipy_nnls(A, b, maxiter=50 * n)[0]
    elif kind == "box":
        lo = np.broadcast_to(param.lower, (n,))
        hi = np.broadcast_to(param.upper, (n,))
        x_hat = lsq_linear(A, b, bounds=(lo, hi), method="bvls", tol=1e-14).x
    else:
        x_hat = _simplex_active_set(A, b)
    resid = A @ x_hat - b
    if np.linalg.norm(resid) <= feasibility_tol * bnorm:
        return x_hat, np.ones(n, dtype=bool), b, True
    g = A.T @ resid
    gscale = max(np.abs(A.T @ b).max(), np.abs(g).max(), np.finfo(float).tiny)
    if kind == "simplex":
        # multiplier ν of Σx = 1: g + ν ≥ 0 everywhere, = 0 on the coordinates free to move
        free = g - np.min(g) <= 1e-9 * gscale
    else:
        free = np.abs(g) <= 1e-9 * gscale
    return x_hat, free, A[:, free] @ x_hat[free], False


# ----------------------------------------------------------------------------------------------
# exact simplex-constrained least squares (used when {Ax = b} misses the simplex)
# ----------------------------------------------------------------------------------------------
def _simplex_active_set(A, b, tol=1e-12, max_iter=None):
    """Exact argmin ½‖Ax − b‖² over the probability simplex, by a primal active-set method.

    Lawson & Hanson's NNLS loop with the equality Σx = 1 kept in every subproblem: the passive
    set P grows by the coordinate whose reduced gradient ``g_i + ν`` is most negative and shrinks
    when an equality-constrained least-squares step would leave the simplex.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.implicit_bias import _simplex_active_set
    >>> _simplex_active_set(np.eye(2), np.array([2.0, 0.0]))
    array([1., 0.])
    """
    A, b = _problem(A, b)
    n = A.shape[1]
    max_iter = 5 * n + 20 if max_iter is None else max_iter
    start = int(np.argmin(np.sum((A - b[:, None]) ** 2, axis=0)))
    x = np.zeros(n)
    x[start] = 1.0
    passive = np.zeros(n, dtype=bool)
    passive[start] = True
    scale = max(np.abs(A.T @ b).max(), np.abs(A.T @ A).max(), np.finfo(float).tiny)

    def subproblem(P):
        idx = np.flatnonzero(P)
        AP = A[:, idx]
        k = idx.size
        K = np.zeros((k + 1, k + 1))
        K[:k, :k] = AP.T @ AP
        K[:k, k] = K[k, :k] = 1.0
        rhs = np.concatenate([AP.T @ b, [1.0]])
        sol = np.linalg.lstsq(K, rhs, rcond=None)[0]
        y = np.zeros(n)
        y[idx] = sol[:k]
        return y

    for _ in range(max_iter):
        g = A.T @ (A @ x - b)
        nu = -np.mean(g[passive])
        w = g + nu
        w[passive] = np.inf
        j = int(np.argmin(w))
        if w[j] >= -tol * scale:
            break
        passive[j] = True
        for _ in range(n + 1):
            y = subproblem(passive)
            if np.all(y[passive] > 0):
                x = y
                break
            # step from x towards y until the first passive coordinate hits zero
            bad = passive & (y <= 0)
            ratios = x[bad] / (x[bad] - y[bad])
            t = np.min(ratios)
            x = x + t * (y - x)
            passive &= x > 1e-15
            x[~passive] = 0.0
            x /= x.sum()
    return x


# ----------------------------------------------------------------------------------------------
# α → 0: the LP
# ----------------------------------------------------------------------------------------------
def l1_limit(A, b, *, nonnegative=True):
    """The small-initialization limit: argmin ‖x‖₁ s.t. Ax = b (and x ≥ 0), by HiGHS.

    For ``Power(L)`` and ``Difference(L)`` the Bregman projection (1) tends to a minimum-ℓ1
    solution as ``init_scale → 0`` (Woodworth et al. 2020; Chou et al. 2025, Thm. on the implicit
    ℓ1 bias). If {Ax = b, x ≥ 0} is empty, b is replaced by A x̂ for an exact NNLS solution x̂
    (the point the flow's fit converges to).

    Parameters
    ----------
    A : array_like, shape (m, n)
    b : array_like, shape (m,)
    nonnegative : bool, default True
        False for the signed problem (basis pursuit).

    Returns
    -------
    x : ndarray, shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.implicit_bias import l1_limit
    >>> l1_limit(np.array([[1.0, 1.0, 2.0]]), np.array([2.0]))
    array([0., 0., 1.])
    """
    A, b = _problem(A, b)
    n = A.shape[1]
    if nonnegative:
        res = linprog(np.ones(n), A_eq=A, b_eq=b, bounds=(0, None), method="highs")
        if res.status == 2:  # infeasible: match the NNLS fit instead
            target = A @ _scipy_nnls(A, b, maxiter=50 * n)[0]
            res = linprog(np.ones(n), A_eq=A, b_eq=target, bounds=(0, None), method="highs")
        if res.status != 0:
            raise RuntimeError(f"l1_limit: HiGHS failed: {res.message}")
        return res.x
    target = A @ np.linalg.lstsq(A, b, rcond=None)[0]
    res = linprog(np.ones(2 * n), A_eq=np.hstack([A, -A]), b_eq=target, bounds=(0, None),
                  method="highs")
    if res.status != 0:
        raise RuntimeError(f"l1_limit: HiGHS failed: {res.message}")
    return res.x[:n] - res.x[n:]


# ----------------------------------------------------------------------------------------------
# the commuting condition
# ----------------------------------------------------------------------------------------------
def _directional_jacobians(param, u, rel_step):
    """D[i] = d/ds J(u + s ∇φ_i)|₀, whose row j is ∇²φ_j(u) ∇φ_i(u)."""
    J = param.jacobian(u)
    D = np.empty((J.shape[0],) + J.shape)
    for i in range(J.shape[0]):
        v = J[i]
        norm = np.linalg.norm(v)
        if norm == 0:
            D[i] = 0.0
            continue
        h = rel_step * max(1.0, np.linalg.norm(u)) / norm
        D[i] = (param.jacobian(u + h * v) - param.jacobian(u - h * v)) / (2 * h)
    return J, D


def lie_bracket(parametrization, u, i=None, j=None):
    """Numerical Lie brackets [∇φ_i, ∇φ_j](u) = ∇²φ_j ∇φ_i − ∇²φ_i ∇φ_j of the gradient fields.

    Gradient flow on u is a mirror flow in x for every loss exactly when these vanish (the
    commuting condition of Li, Wang, Lee & Arora 2022, Def. 4.1 and Thm. 4.8). Second derivatives
    come from central differences of the Jacobian (analytic for the built-in classes).

    Parameters
    ----------
    parametrization : Parametrization
    u : array_like
        The point in parameter space.
    i, j : int, optional
        One bracket; by default all of them.

    Returns
    -------
    ndarray
        Shape (p,) for one pair, else (n, n, p) with ``out[i, j] = [∇φ_i, ∇φ_j](u)``.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.parametrizations import Custom, Power
    >>> from reparam.implicit_bias import lie_bracket
    >>> float(np.abs(lie_bracket(Power(3), np.array([0.5, 0.7]))).max()) < 1e-8
    True
    >>> shared = Custom(lambda u: np.array([u[0] * u[1], u[0] * u[2]]), n_params=3)
    >>> np.round(lie_bracket(shared, np.array([1.0, 2.0, 3.0]), 0, 1), 6) + 0.0  # (0, −u3, u2)
    array([ 0., -3.,  2.])
    """
    param = _parametrization(parametrization)
    u = as_vector(u, "u")
    numeric = isinstance(param, Custom) and not param.has_jacobian
    J, D = _directional_jacobians(param, u, 1e-3 if numeric else 1e-5)
    n = J.shape[0]
    if i is not None or j is not None:
        if i is None or j is None:
            raise ValueError("give both i and j, or neither")
        for name, k in (("i", i), ("j", j)):
            if not (isinstance(k, (int, np.integer)) and 0 <= k < n):
                raise ValueError(f"{name} must be an integer in [0, {n}), got {k!r}")
        return D[i, j] - D[j, i]
    return D - np.transpose(D, (1, 0, 2))


def is_commuting(parametrization, u, rtol=None) -> bool:
    """Whether all Lie brackets of the fields ∇φ_i vanish at ``u`` (or at every point of a list).

    Parameters
    ----------
    parametrization : Parametrization
    u : array_like or sequence of array_like
        One point, or several points (a 2-D array, one point per row).
    rtol : float, optional
        Brackets count as zero below ``rtol · max|∇²φ_j ∇φ_i|``; default 1e-6 with an analytic
        Jacobian, 1e-4 with a finite-difference one.

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.parametrizations import Difference
    >>> from reparam.implicit_bias import is_commuting
    >>> is_commuting(Difference(2), np.array([0.3, 0.4, 0.2, 0.1]))
    True
    """
    param = _parametrization(parametrization)
    points = np.atleast_2d(np.asarray(u, dtype=float))
    numeric = isinstance(param, Custom) and not param.has_jacobian
    rtol = (1e-4 if numeric else 1e-6) if rtol is None else float(rtol)
    for point in points:
        _J, D = _directional_jacobians(param, as_vector(point, "u"), 1e-3 if numeric else 1e-5)
        bracket = D - np.transpose(D, (1, 0, 2))
        scale = max(np.abs(D).max(), np.finfo(float).tiny)
        if np.abs(bracket).max() > rtol * scale:
            return False
    return True
