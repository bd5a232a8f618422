r"""The optimization landscape: no spurious local minima under RIP, and short gradient paths.

Two claims about where gradient descent goes, from any start rather than a small one.

**No spurious local minima** (Ge, Jin & Zheng, "No spurious local minima in nonconvex low rank
problems: a unified geometric analysis", ICML 2017). For matrix sensing
``f(U) = ½ ‖A(U Uᵀ) − y‖²`` with ``U`` of width ``r`` (the rank of ``X* ⪰ 0``) and a
measurement operator with the restricted isometry property, every local minimum is global and
every saddle has a direction of negative curvature, so gradient descent from a random start
reaches the global value. Checked: from :data:`STARTS` (= 50) random starts on a Gaussian
instance, every run ends with ``f(U_T) / f(0) ≤`` :data:`VALUE_TOL` (= 1e-8; the global value
is 0). The control, through the same check, is an instance whose RIP constant 0.55 is just
above the sharp bound 1/2 and that has a spurious local minimum (:func:`spurious_instance`,
the instance of :mod:`reparam.models.lifted_tensor`): some starts end there.

**The short path** (Oymak & Soltanolkotabi, "Overparameterized nonlinear learning: gradient
descent takes the shortest path?", ICML 2019). For an overparametrized problem with a
well-conditioned Jacobian, gradient descent converges to a global minimizer near the start, and
its path is nearly straight: ``length of the path / distance from θ₀ to the nearest global
minimizer`` stays close to 1 — checked as at most :data:`PATH_RATIO_MAX` (= 1.5) for

* least squares ``min ½‖Ax − b‖²`` with ``A`` (m × n), ``n = 4m`` Gaussian: the nearest
  minimizer is the projection ``x₀ + A⁺(b − A x₀)``, exact;
* a low-rank regression, ``(U, V) ↦ ½ ‖A(U Vᵀ) − y‖²`` with ``U, V`` (d × d) and fewer
  measurements than parameters: the nearest global minimizer is found by a Newton projection
  of ``θ₀ = (U₀, V₀)`` onto ``{A(U Vᵀ) = y}`` started at the GD limit
  (:func:`nearest_minimizer`). That is a local search: the distance it finds is an upper bound
  on the true one, so the ratio reported is a lower bound of the true ratio.

The control, through the same check, is least squares with a step near the stability limit
(``1.9 / ‖A‖²``): the iterate swings across the valley and the path is long.

Examples
--------
>>> from reparam.models import landscape
>>> obj = landscape.spurious_instance()
>>> found = landscape.random_starts(obj, rank=1, starts=20, seed=0)
>>> c = landscape.check_starts(found)
>>> c.reached < 1, round(c.worst, 6)     # some starts end at the spurious minimum, f = 3/8
(True, 0.75)
>>> A, b, x0 = landscape.least_squares_instance(20, 80, seed=0)
>>> bool(landscape.path_ratio_least_squares(A, b, x0)["ratio"] < landscape.PATH_RATIO_MAX)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import reparam as rp
from reparam.objectives import LeastSquares, MatrixSensing
from reparam.parametrizations import Custom, Product, SymmetricProduct

__all__ = [
    "PATH_RATIO_MAX",
    "STARTS",
    "VALUE_TOL",
    "Starts",
    "StartsCheck",
    "check_starts",
    "least_squares_instance",
    "low_rank_instance",
    "nearest_minimizer",
    "path_ratio_least_squares",
    "path_ratio_low_rank",
    "random_starts",
    "sensing_instance",
    "spurious_instance",
]

STARTS = 50
VALUE_TOL = 1e-8
PATH_RATIO_MAX = 1.5


def _count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return int(value)


def sensing_instance(dim: int = 10, rank: int = 2, measurements: int | None = None, *,
                     seed: int = 0) -> MatrixSensing:
    """Symmetric matrix sensing with Gaussian ``A_i`` (entries ``N(0, 1/m)``) and ``X* = P Pᵀ``.

    ``m`` defaults to ``10 · dim · rank``, enough for the restricted isometry property to hold
    with a small constant on rank-``2 rank`` matrices (about ``δ ≈ √(d r / m)``). ``X*`` has
    Frobenius norm 1.

    Examples
    --------
    >>> from reparam.models.landscape import sensing_instance
    >>> sensing_instance(5, 1, seed=0).y.shape
    (50,)
    """
    dim, rank = _count(dim, "dim"), _count(rank, "rank")
    m = 10 * dim * rank if measurements is None else _count(measurements, "measurements")
    rng = np.random.default_rng(seed)
    P = rng.standard_normal((dim, rank))
    truth = P @ P.T
    truth /= np.linalg.norm(truth)
    ops = rng.standard_normal((m, dim, dim)) / np.sqrt(m)
    return MatrixSensing(ops, np.einsum("ijk,jk->i", ops, truth))


def spurious_instance(delta: float | None = None) -> MatrixSensing:
    r"""A 2 × 2 rank-one sensing instance with RIP constant ``delta`` (default 0.55) and a
    spurious local minimum.

    The family of the sharp RIP bound 1/2 of Zhang, Sojoudi & Lavaei (JMLR 2019), built in
    :func:`reparam.models.lifted_tensor.spurious_instance`: ``X* = e₁e₁ᵀ``, and in the
    coordinates ``v(M) = (M₁₁, M₂₂, √2 M₁₂)`` of symmetric 2 × 2 matrices
    ``‖A(M)‖² = v(M)ᵀ H v(M)`` with ``H = 2(1 − δ)[[1, ½, 0], [½, 1, 0], [0, 0, η]]``,
    ``η = (1 + δ)/(2(1 − δ))`` (eigenvalues ``1 − δ``, ``3(1 − δ)``, ``1 + δ``). With
    ``u = (u₁, u₂)``, ``f(u) = (1 − δ)[(u₁² − 1)² + u₂⁴ + (u₁² − 1) u₂² + 2η u₁² u₂²]``: at
    ``u = (0, ±1/√2)`` the gradient vanishes and the Hessian is ``2(1 − δ) diag(η − 3/2, 2)``
    (positive definite for ``δ > 1/2``) — a strict local minimum with ``f = ¾ f(0)``, while
    the global value is 0 (at ``±e₁``). The default is the lifted-tensor model's
    :data:`~reparam.models.lifted_tensor.RUN_DELTA`, not the sharp instance ``δ = 1/2`` (the
    default of :func:`reparam.models.lifted_tensor.spurious_instance`): there the Hessian at
    ``(0, ±1/√2)`` is singular and the point is not a local minimum, so no run stops there — runs
    that pass near it escape slowly (some are still there at ``max_iter``), which would make the
    control inconclusive rather than failing.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.models.landscape import spurious_instance
    >>> f = spurious_instance()
    >>> u = np.array([[0.0], [np.sqrt(0.5)]])
    >>> round(f.value(u @ u.T), 12), bool(np.abs(f.grad(u @ u.T) @ u).max() < 1e-12)
    (0.3375, True)
    """
    from . import lifted_tensor

    return lifted_tensor.spurious_instance(
        lifted_tensor.RUN_DELTA if delta is None else delta).objective


@dataclass
class Starts:
    """What :func:`random_starts` found: ``values[i] = f(U_T) / f(0)`` per start, and
    ``at_limit[i]``: the run stopped at ``max_iter`` or on a non-finite value (neither at the
    global value nor at a stationary point)."""

    values: np.ndarray
    at_limit: np.ndarray


def random_starts(objective: MatrixSensing, rank: int, *, starts: int = STARTS, seed: int = 0,
                  scale: float = 1.0, step: float | None = None,
                  max_iter: int = 5000) -> Starts:
    """Gradient descent on ``U`` (d × rank) for ``½‖A(U Uᵀ) − y‖²`` from ``starts`` random
    starts.

    Each start is ``U₀ = scale · G / √d`` (``G`` standard Gaussian); the runs are
    :func:`reparam.train` with ``SymmetricProduct(rank)`` and a fixed step (default ``0.25 /
    ‖A*A‖``, divided by ``max(1, ‖U₀‖₂²)``), stopped by a callback once ``f(U) ≤ f(0) · VALUE_TOL / 100`` (the global value)
    or once the gradient in ``U``, ``‖(G + Gᵀ) U‖_F``, is below ``1e-9 ‖y‖`` (a stationary
    point: a spurious local minimum or a saddle; looked at every 20 iterations), else at
    ``max_iter``. ``f(0) = ½‖y‖²``.
    """
    if not isinstance(objective, MatrixSensing):
        raise TypeError(f"objective must be a MatrixSensing, got {type(objective).__name__}")
    rank, starts = _count(rank, "rank"), _count(starts, "starts")
    d = objective.shape[0]
    f0 = 0.5 * objective.rhs_norm**2
    step = 0.25 / objective.lipschitz() if step is None else float(step)
    param = SymmetricProduct(rank)
    gen = np.random.default_rng(seed)
    values, at_limit = np.empty(starts), np.zeros(starts, dtype=bool)

    def done(state) -> bool:
        if state.objective <= 1e-2 * VALUE_TOL * f0:
            return True
        if state.k % 20:  # the gradient in U costs another gradient: look now and then
            return False
        g = param.vjp(state.params, objective.grad(state.x))
        return bool(np.linalg.norm(g) <= 1e-9 * objective.rhs_norm)

    for i in range(starts):
        U0 = scale / np.sqrt(d) * gen.standard_normal((d, rank))
        # the curvature in U grows like ‖U‖²: a start far out gets a proportionally smaller step
        res = rp.train(objective, param, init_scale=1.0, params0=U0,
                       step=step / max(1.0, float(np.linalg.norm(U0, 2)) ** 2), tol=0.0,
                       max_iter=max_iter, callback=done)
        values[i] = res.objective / f0
        at_limit[i] = res.status is not rp.Status.INTERRUPTED
    return Starts(values, at_limit)


@dataclass
class StartsCheck:
    """The no-spurious-minima check: ``worst`` ratio, the fraction of starts at the global
    value, ``margin = log10(VALUE_TOL / worst)`` (positive when every start got there) and
    ``at_limit``, the number of runs stopped at ``max_iter``."""

    worst: float
    reached: float
    margin: float
    at_limit: int


def check_starts(found: Starts) -> StartsCheck:
    """Judge :func:`random_starts`: every value must be at most :data:`VALUE_TOL`."""
    values = np.asarray(found.values, dtype=float)
    worst = float(np.max(values))
    return StartsCheck(worst, float(np.mean(values <= VALUE_TOL)),
                       float(np.log10(VALUE_TOL / max(worst, 1e-300))),
                       int(np.count_nonzero(found.at_limit)))


def least_squares_instance(m: int = 50, n: int = 200, *, seed: int = 0):
    """``(A, b, x0)``: Gaussian ``A`` (m × n, entries ``N(0, 1/n)``), Gaussian ``b`` and start."""
    m, n = _count(m, "m"), _count(n, "n")
    if n <= m:
        raise ValueError(f"overparametrized least squares needs n > m; got m = {m}, n = {n}")
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((m, n)) / np.sqrt(n), rng.standard_normal(m),
            rng.standard_normal(n))


def _path(states: np.ndarray) -> float:
    steps = np.diff(states.reshape(states.shape[0], -1), axis=0)
    return float(np.sum(np.linalg.norm(steps, axis=1)))


def path_ratio_least_squares(A, b, x0, *, step: float | None = None,
                             max_iter: int = 20_000) -> dict:
    """Path length of GD on ``½‖Ax − b‖²`` from ``x0`` over ``‖x0 − x̂‖``, ``x̂ = x0 + A⁺(b − Ax0)``.

    The engine runs it with the identity map as a :class:`reparam.parametrizations.Custom`
    parametrization and a fixed step (default ``1 / ‖A‖²``) to a certificate of 1e-12.
    Returns ``ratio``, ``path``, ``distance``, ``n_iter`` and ``converged``.
    """
    A, b, x0 = (np.asarray(v, dtype=float) for v in (A, b, x0))
    step = 1.0 / np.linalg.norm(A, 2) ** 2 if step is None else float(step)
    identity = Custom(lambda u: u, jacobian=lambda u: np.eye(u.size))

    def position(params, x):
        return x.copy()

    res = rp.train(LeastSquares(A, b), identity, init_scale=1.0, params0=x0.copy(), step=step,
                   tol=1e-12, max_iter=max_iter, record=(position,))
    nearest = x0 + np.linalg.pinv(A) @ (b - A @ x0)
    path, dist = _path(np.asarray(res.history["position"])), float(np.linalg.norm(nearest - x0))
    return {"ratio": path / dist, "path": path, "distance": dist, "n_iter": int(res.n_iter),
            "converged": bool(res.success)}


def low_rank_instance(dim: int = 10, rank: int = 2, measurements: int = 30, *, seed: int = 0,
                      scale: float = 1.0):
    """``(objective, (U0, V0))``: Gaussian sensing of a rank-``rank`` ``X*`` (``measurements``
    fewer than the ``2 dim²`` entries of ``U``, ``V``) and a start ``U₀ = scale · Q₁``,
    ``V₀ = scale · Q₂``, ``Q₁, Q₂`` Haar orthogonal (every singular value equal: a
    well-conditioned Jacobian)."""
    obj = sensing_instance(dim, rank, measurements, seed=seed)
    rng = np.random.default_rng(seed + 1)
    factors = []
    for _ in range(2):
        q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
        factors.append(scale * q * np.sign(np.diag(r)))
    return obj, tuple(factors)


def _measurements(obj: MatrixSensing) -> np.ndarray:
    """The ``A_i`` as an (m, d1, d2) array, ``A_i = A*(e_i)``."""
    return np.stack([obj.adjoint(e) for e in np.eye(obj.y.size)])


def _constraint(obj: MatrixSensing, theta: np.ndarray, shapes, ops: np.ndarray):
    """``c = A(U Vᵀ) − y`` and its Jacobian in ``θ = (vec U, vec V)``: rows
    ``(vec(A_i V), vec(A_iᵀ U))``."""
    U, V = _split(theta, shapes)
    c = obj.measure(U @ V.T) - obj.y
    J = np.concatenate([np.einsum("ijk,kl->ijl", ops, V).reshape(len(c), -1),
                        np.einsum("ikj,kl->ijl", ops, U).reshape(len(c), -1)], axis=1)
    return c, J


def _split(theta, shapes):
    n = shapes[0][0] * shapes[0][1]
    return theta[:n].reshape(shapes[0]), theta[n:].reshape(shapes[1])


def nearest_minimizer(obj: MatrixSensing, start0, start, *, iterations: int = 50,
                      tol: float = 1e-10) -> tuple[tuple[np.ndarray, np.ndarray], bool]:
    """A point of ``{(U, V) : A(U Vᵀ) = y}`` nearest to ``start0`` near ``start``, by Newton's
    method on the optimality conditions.

    The Lagrangian of ``min ½‖θ − θ₀‖²`` s.t. ``c(θ) = A(U Vᵀ) − y = 0`` is ``½‖θ − θ₀‖² +
    μᵀc(θ)``; its stationary points solve ``θ − θ₀ + J(θ)ᵀμ = 0``, ``c(θ) = 0``. Each Newton
    step solves the KKT system with the Hessian ``I + Σ μ_i ∇²c_i`` (``∇²c_i`` couples ``U``
    and ``V`` through ``A_i``), from ``θ = start`` and the least-squares multipliers there.
    Returns the point and whether both residuals fell below ``tol`` (relative to ``‖y‖`` and
    to ``‖θ − θ₀‖``): a local nearest point, not necessarily the global one.
    """
    shapes = [np.shape(a) for a in start0]
    k = shapes[0][1]
    theta0 = np.concatenate([np.ravel(a) for a in start0])
    theta = np.concatenate([np.ravel(a) for a in start])
    ops = _measurements(obj)
    n, nu = theta.size, shapes[0][0] * k
    c, J = _constraint(obj, theta, shapes, ops)
    mu = np.linalg.lstsq(J.T, theta0 - theta, rcond=None)[0]
    ok = False
    for _ in range(iterations):
        stationarity = theta - theta0 + J.T @ mu
        if (np.linalg.norm(c) <= tol * obj.rhs_norm and np.linalg.norm(stationarity)
                <= tol * max(float(np.linalg.norm(theta - theta0)), 1e-300)):
            ok = True
            break
        coupling = np.kron(np.einsum("i,ijk->jk", mu, ops), np.eye(k))
        H = np.eye(n)
        H[:nu, nu:] += coupling
        H[nu:, :nu] += coupling.T
        kkt = np.block([[H, J.T], [J, np.zeros((J.shape[0], J.shape[0]))]])
        step = np.linalg.lstsq(kkt, -np.concatenate([stationarity, c]), rcond=None)[0]
        theta, mu = theta + step[:n], mu + step[n:]
        c, J = _constraint(obj, theta, shapes, ops)
    return _split(theta, shapes), ok


def path_ratio_low_rank(obj: MatrixSensing, start0, *, step: float | None = None,
                        max_iter: int = 20_000) -> dict:
    """Path length of GD on ``(U, V) ↦ ½‖A(U Vᵀ) − y‖²`` from ``start0 = (U0, V0)`` over the
    distance to the nearest global minimizer found by :func:`nearest_minimizer` (from the GD
    limit).

    Step default ``0.2 / (‖A*A‖ ‖U0‖₂²)``; the run stops at a certificate of 1e-10. Returns
    ``ratio``, ``ratio_to_limit`` (path over ``‖θ_T − θ₀‖``), ``path``, ``distance``,
    ``n_iter``, ``converged`` and ``projected`` (whether the projection settled; else the
    distance is that to the GD limit).
    """
    U0, V0 = (np.asarray(a, dtype=float) for a in start0)
    step = (0.2 / (obj.lipschitz() * max(np.linalg.norm(U0, 2) ** 2, 1.0))
            if step is None else float(step))

    def position(params, x):
        return np.concatenate([params[0].ravel(), params[1].ravel()])

    res = rp.train(obj, Product(U0.shape[1]), init_scale=1.0, params0=(U0.copy(), V0.copy()),
                   step=step, tol=1e-10, max_iter=max_iter, record=(position,))
    states = np.asarray(res.history["position"])
    theta0 = states[0]
    path, limit = _path(states), float(np.linalg.norm(states[-1] - theta0))
    near, projected = nearest_minimizer(obj, (U0, V0), res.params)
    if projected:
        dist = min(float(np.linalg.norm(np.concatenate([a.ravel() for a in near]) - theta0)),
                   limit)
    else:
        dist = limit
    return {"ratio": path / dist, "ratio_to_limit": path / limit, "path": path,
            "distance": dist, "n_iter": int(res.n_iter), "converged": bool(res.success),
            "projected": projected}
