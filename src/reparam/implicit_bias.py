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

import numbers
import time
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog, lsq_linear
from scipy.optimize import nnls as _scipy_nnls
from scipy.special import logsumexp

from ._result import Result, Status
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


def _dual_newton(param, u0, V, c, z0, tol, max_iter, mu0=None):
    """Newton with Armijo backtracking on D(μ) = ψ*(z0 + Vμ) − cᵀμ (V orthonormal columns)."""
    if isinstance(param, Simplex):
        # ψ*(z) = (s/4) logsumexp(4z/s), ∇²ψ* = (4/s)(diag x − x xᵀ): kept as diagonal minus
        # rank one, never as an n × n matrix
        s_u = 1.0 if u0 is None else float(np.dot(u0, u0))

        def state(mu):
            w = 4.0 * (z0 + V @ mu) / s_u
            lse = logsumexp(w)
            x = np.exp(w - lse)
            return x, ((4.0 / s_u) * x, np.sqrt(4.0 / s_u) * x), 0.25 * s_u * lse - c @ mu
    else:
        def state(mu):
            z = z0 + V @ mu
            try:
                x, hess, conj = param.mirror_state(z, u0)
            except RuntimeError:  # a Custom map's flow blew up: outside the domain of ψ*
                return np.full(V.shape[0], np.nan), None, np.nan
            return x, hess, conj - c @ mu

    mu = np.zeros(V.shape[1]) if mu0 is None else mu0
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        return _newton_loop(state, mu, V, c, tol, max_iter)


def _reduced_hessian(V, hess):
    """Vᵀ H V for H diagonal (1-D), dense (2-D) or diagonal minus rank one ((d, w): D − wwᵀ)."""
    if isinstance(hess, tuple):
        d, w = hess
        Vw = V.T @ w
        return (V.T * d) @ V - np.outer(Vw, Vw)
    return (V.T * hess) @ V if hess.ndim == 1 else V.T @ hess @ V


def _newton_loop(state, mu, V, c, tol, max_iter):
    x, hess, value = state(mu)
    scale = max(np.linalg.norm(c), np.finfo(float).tiny)
    if hess is None or not np.all(np.isfinite(x)) or not np.isfinite(value):
        return x, 0, np.inf, False
    for it in range(1, max_iter + 1):
        grad = V.T @ x - c
        if np.linalg.norm(grad) <= tol * scale:
            return x, it - 1, np.linalg.norm(grad) / scale, True
        H = _reduced_hessian(V, hess)
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
    (x, τ), every coordinate that can be positive reaches y_i = 1. The constraint matrices are
    sparse: only A itself is dense.
    """
    m, n = A.shape
    cost = np.concatenate([np.zeros(n), -np.ones(n), [0.0]])
    A_eq = sp.hstack([sp.csr_array(A), sp.csr_array((m, n)), sp.csr_array(-target[:, None])])
    eye = sp.identity(n, format="csr")
    A_ub = sp.hstack([-eye, eye, sp.csr_array((n, 1))])
    bounds = [(0, None)] * n + [(0, 1)] * n + [(1, None)]
    res = linprog(cost, A_ub=A_ub.tocsr(), b_ub=np.zeros(n), A_eq=A_eq.tocsr(),
                  b_eq=np.zeros(m), bounds=bounds, method="highs")
    if res.status != 0:
        return np.ones(n, dtype=bool)
    return res.x[n:2 * n] > 0.5


def _check_positive(name, value, *, integer=False):
    if integer:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
        return int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
            np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite float, got {value!r}")
    return float(value)


def _mirror_start(param, u0, x_start):
    """∇ψ(x0), for Power from u0 itself so that an x0 = u0^L below the float range is fine."""
    if isinstance(param, Power):
        L = param.depth
        with np.errstate(over="ignore", divide="ignore"):
            if L == 2:
                return 0.5 * np.log(u0)  # ¼ log(u0²)
            return -(u0 ** (2.0 - L)) / (L * (L - 2))
    return None


# Power's start counts as small-scale (the dual is re-anchored at the LP's dual, below) when
# init_scale^L is below this: the direct dual then starts with ∇²ψ* ≈ x0 ≈ 0 (Newton has no
# curvature to use), and for L > 2 cancellation in z0 + Aᵀλ costs digits ~ 1/init_scale^(L−2).
_SMALL_X0 = 1e-6


def _lp_anchor(A, target, z0, V, L):
    """Re-anchor the dual of (1) at a weighted minimum-ℓ1 LP's dual (Power(L), small x0).

    With z0 = −K·w (K = max(−z0) > 0, 0 < w ≤ 1; w = 1 for u0 = α·1) write λ = K y + λ', y the
    dual of min wᵀx, Ax = target, x ≥ 0. Then z = −K r + Aᵀλ' with the reduced costs
    r = w − Aᵀy ≥ 0, which vanish on the LP's optimal face: there z = Aᵀλ' has no cancellation,
    elsewhere z ≤ −K r is far negative (x tiny). This is an exact change of variables; r is set
    to 0 where the LP says it is 0 (|r| ≤ 1e-9), which is exact for the true dual. Returns
    (z0', μ0), or None if the LP fails.
    """
    if not np.all(np.isfinite(z0)) or not np.all(z0 < 0):
        return None
    K = -float(np.min(z0))
    w = z0 / -K
    res = linprog(w, A_eq=A, b_eq=target, bounds=(0, None), method="highs",
                  options={"dual_feasibility_tolerance": 1e-10,
                           "primal_feasibility_tolerance": 1e-10})
    if res.status != 0 or res.eqlin is None:
        return None
    aty = A.T @ res.eqlin.marginals
    r = w - aty
    r[np.abs(r) <= 1e-9] = 0.0
    face = r == 0
    if np.any(r < 0) or not np.any(face):
        return None
    z_anchor = np.where(face, 0.0, -K * r)
    mean = float(np.mean(res.x[res.x > 0])) if np.any(res.x > 0) else 1.0
    # start with x ≈ mean on the face: z = −t·(Aᵀy) = −t·w there, with ∇ψ(mean) = −t
    t = -0.25 * np.log(mean) if L == 2 else mean ** ((2.0 - L) / L) / (L * (L - 2))
    return z_anchor, -t * (V.T @ aty)


def limit(A, b, parametrization=None, *, init_scale=None, x0=None, u0=None, tol=1e-11,
          max_iter=500, feasibility_tol=1e-9) -> Result:
    """Predicted limit of gradient flow on ½‖Aφ(u) − b‖²: the Bregman projection (1).

    Parameters
    ----------
    A : array_like, shape (m, n)
    b : array_like, shape (m,)
    parametrization : Parametrization, default ``Power(2)``
        Must be commuting (checked at u0 for :class:`~reparam.parametrizations.Custom`).
    init_scale : float, optional
        The initialization ``u0 = parametrization.initial_u(init_scale=..., n=n)``. Any
        positive float works, 1e-300 included: for :class:`Power` the start is handled through
        u0 (log domain for L = 2) and, when ``init_scale^L < 1e-6``, the dual is re-anchored at
        the minimum-ℓ1 LP's dual (an exact change of variables), so that an x0 below the float
        range costs no accuracy.
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

    Returns
    -------
    Result
        ``x`` the limit; ``status`` CONVERGED when the dual residual met ``tol``, otherwise
        MAX_ITER / STALLED / NUMERICAL_ERROR with a message (and a RuntimeWarning);
        ``kkt`` the relative dual residual; ``objective`` ½‖Ax − b‖²; ``info`` holds
        ``feasible``, ``n_iter``, ``dual_residual``, ``converged``, ``free`` (coordinates not
        fixed on the boundary), ``target`` (the b actually matched) and ``anchored`` (whether
        the LP re-anchoring was used).

    Notes
    -----
    When {Ax = b, x in the domain} is empty, the flow converges to a constrained least-squares
    solution: exact NNLS (``scipy.optimize.nnls``) for the orthant, BVLS for boxes, an active
    set for the simplex, least squares for signed domains. Coordinates whose gradient
    ``Aᵀ(Ax̂ − b)`` is nonzero there end on the boundary; the others are the Bregman projection
    of x0 onto {A_E x_E = Ax̂ − A_{E^c} x̂_{E^c}}. When the feasible set touches no interior
    point (e.g. a consistent overdetermined system with a sparse solution), coordinates that are
    zero on the whole set are found with one LP and fixed at zero. For signed parametrizations
    b is replaced by its projection onto range(A). Memory: A, one orthonormal basis of
    range(Aᵀ) and r × r Hessians (r = rank A); nothing n × n.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.implicit_bias import limit, l1_limit
    >>> from reparam.parametrizations import Power
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(5, 12))
    >>> b = A @ np.abs(rng.normal(size=12))
    >>> res = limit(A, b, Power(2), init_scale=1e-3)
    >>> res.success, bool(np.allclose(A @ res.x, b)), bool(np.all(res.x >= 0))
    (True, True, True)
    >>> bool(np.sum(res.x) >= np.sum(l1_limit(A, b).x) - 1e-9)
    True
    """
    start = time.perf_counter()
    A, b = _problem(A, b)
    param = _parametrization(parametrization)
    tol = _check_positive("tol", tol)
    feasibility_tol = _check_positive("feasibility_tol", feasibility_tol)
    max_iter = _check_positive("max_iter", max_iter, integer=True)
    n = A.shape[1]
    if u0 is None:
        u0 = param.initial_u(x0=x0, init_scale=init_scale, n=n)
    else:
        u0 = param.reference_u0(u0, n)
    with np.errstate(under="ignore", over="ignore"):
        x_start = param.forward(u0)
    if not np.all(np.isfinite(x_start)):
        raise ValueError("x0 = φ(u0) overflows: init_scale (or u0, x0) is too large")
    if isinstance(param, Custom) and not is_commuting(param, u0):
        raise ValueError("the parametrization is not commuting at u0: gradient flow is not a "
                         "mirror flow and has no Bregman-projection limit (Li et al. 2022)")
    z_start = _mirror_start(param, u0, x_start)
    kind = _domain_kind(param)
    it, res = 0, 0.0
    if kind == "simplex":
        # b reachable from the simplex's interior: the dual Newton alone certifies it, and the
        # exact active set (costly for wide A) is needed only when it is not
        V, c = _reduce_constraints(A, b)
        xs, it, res, ok = _dual_newton(param, u0, V, c, param.mirror_map(x_start, u0), tol,
                                       max_iter)
        if ok and np.all(np.isfinite(xs)):
            x_hat, free, target, feasible = xs, np.zeros(n, dtype=bool), b, True
        else:
            x_hat, free, target, feasible = _boundary_solution(A, b, param, kind,
                                                               feasibility_tol, u0)
    else:
        x_hat, free, target, feasible = _boundary_solution(A, b, param, kind, feasibility_tol,
                                                           u0)
    x = x_hat.copy()
    info = {"feasible": feasible, "n_iter": it, "dual_residual": res if feasible else 0.0,
            "converged": True,
            "anchored": False}
    for attempt in range(2):
        if np.any(free):
            sub, sub_u0 = (param, u0) if np.all(free) else _restrict(param, u0, free)
            V, c = _reduce_constraints(A[:, free], target)
            if z_start is not None:
                z0 = z_start[free]
            else:
                xs = x_start[free]
                if kind == "simplex":  # the flow on the free face stays on its simplex
                    xs = xs / xs.sum()
                z0 = sub.mirror_map(xs, sub_u0)
            mu0 = None
            if isinstance(param, Power) and (np.max(x_start) < _SMALL_X0
                                             or not np.all(np.isfinite(z0))):
                anchor = _lp_anchor(A[:, free], target, z0, V, param.depth)
                if anchor is not None:
                    z0, mu0 = anchor
                    info["anchored"] = True
            if not np.all(np.isfinite(z0)):
                raise ValueError(f"init_scale is too small for {param!r}: ∇ψ(x0) overflows "
                                 "and the minimum-ℓ1 LP that replaces it failed")
            # a Custom map's geometry is only as accurate as its ODE solves (rtol 1e-11)
            eff_tol = max(tol, 1e-9) if isinstance(param, Custom) else tol
            xf, it, res, ok = _dual_newton(sub, sub_u0, V, c, z0, eff_tol, max_iter, mu0)
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
    info.update(free=free, target=A[:, free] @ x[free] + A[:, ~free] @ x[~free])
    r = A @ x - b
    if info["converged"] and np.all(np.isfinite(x)):
        status = Status.CONVERGED
        message = (f"dual Newton converged: relative dual residual {info['dual_residual']:.2e} "
                   f"<= tol {tol:.0e} after {info['n_iter']} iterations")
    else:
        status = Status.NUMERICAL_ERROR if not np.all(np.isfinite(x)) else (
            Status.MAX_ITER if info["n_iter"] >= max_iter else Status.STALLED)
        message = (f"the dual Newton method stopped at relative residual "
                   f"{info['dual_residual']:.2e} > tol={tol:g}; the returned x is not the "
                   "limit; try a larger tol or max_iter, or a larger init_scale")
        warnings.warn(f"limit: {message}", RuntimeWarning, stacklevel=2)
    return Result(x=x, status=status, message=message, n_iter=info["n_iter"],
                  objective=0.5 * float(r @ r), kkt=float(info["dual_residual"]),
                  method="limit", time=time.perf_counter() - start, info=info)


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
    # max |(AᵀA)_ij| = max_j ‖a_j‖² (Cauchy–Schwarz): the scale without forming AᵀA
    scale = max(np.abs(A.T @ b).max(), np.einsum("ij,ij->j", A, A).max(), np.finfo(float).tiny)

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
def l1_limit(A, b, *, nonnegative=True) -> Result:
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
    Result
        ``x`` the LP solution, ``objective`` its ℓ1 norm, ``kkt`` the relative constraint
        residual ``‖Ax − target‖∞ / ‖target‖∞``; ``info["target"]`` the right-hand side matched
        and ``info["feasible"]`` whether it is b itself. A HiGHS failure is NUMERICAL_ERROR.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.implicit_bias import l1_limit
    >>> l1_limit(np.array([[1.0, 1.0, 2.0]]), np.array([2.0])).x
    array([0., 0., 1.])
    """
    start = time.perf_counter()
    A, b = _problem(A, b)
    n = A.shape[1]
    feasible = True
    if nonnegative:
        target = b
        res = linprog(np.ones(n), A_eq=A, b_eq=b, bounds=(0, None), method="highs")
        if res.status == 2:  # infeasible: match the NNLS fit instead
            feasible = False
            target = A @ _scipy_nnls(A, b, maxiter=50 * n)[0]
            res = linprog(np.ones(n), A_eq=A, b_eq=target, bounds=(0, None), method="highs")
        x = res.x if res.status == 0 else np.zeros(n)
    else:
        target = A @ np.linalg.lstsq(A, b, rcond=None)[0]
        feasible = bool(np.linalg.norm(target - b) <= 1e-9 * max(np.linalg.norm(b), 1e-300))
        res = linprog(np.ones(2 * n), A_eq=np.hstack([A, -A]), b_eq=target, bounds=(0, None),
                      method="highs")
        x = res.x[:n] - res.x[n:] if res.status == 0 else np.zeros(n)
    resid = float(np.abs(A @ x - target).max(initial=0.0)) / max(
        float(np.abs(target).max(initial=0.0)), np.finfo(float).tiny)
    if res.status == 0:
        status, message = Status.CONVERGED, f"HiGHS: optimal (constraint residual {resid:.1e})"
    else:
        status, message = Status.NUMERICAL_ERROR, f"HiGHS failed: {res.message}"
    return Result(x=x, status=status, message=message, n_iter=int(getattr(res, "nit", 0)),
                  objective=float(np.abs(x).sum()), kkt=resid, method="l1-limit",
                  time=time.perf_counter() - start, info={"target": target, "feasible": feasible})


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
