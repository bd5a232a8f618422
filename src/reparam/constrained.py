"""Other constraints through the same machinery: reparametrize, then run plain gradient descent.

Chou et al. (2025, "Get rid of your constraints and reparametrize", arXiv 2207.08437, Sec. 6)
trade a constraint for a parametrization: gradient descent on ``f(φ(u))`` stays in the set φ
maps onto and, for a commuting φ, follows a mirror flow whose limit is a Bregman projection
(see :mod:`reparam.implicit_bias`). Here:

* :func:`box_least_squares` — ``lower ≤ x ≤ upper`` via ``x = c + h sin u`` (:class:`Box`);
* :func:`simplex_least_squares` — x in the probability simplex via ``x = u²/‖u‖²``
  (:class:`Simplex`), with an exact active-set method for reference;
* :func:`signed_least_squares` — signed sparse regression via ``x = u^L − v^L``
  (:class:`Difference`); with small ``init_scale`` it finds the minimum-ℓ1 interpolant, the
  end of the LASSO path (Woodworth et al. 2020);
* :func:`entropic_lp` / :func:`entropic_ot` — linear programs and optimal transport via a
  diagonal network ``x = u ⊙ u`` started at ``u0 = exp(−c/(2ε))``: its limit is the Bregman
  projection of ``exp(−c/ε)`` onto {Ax = b}, which is exactly the entropic regularization
  ``argmin cᵀx + ε Σ x(log x − 1)`` — Sinkhorn's problem for OT (:func:`sinkhorn`).

Every solver returns a :class:`reparam.Result` and reports success only when its certificate
meets ``tol``; ``kkt`` is the constraint set's optimality residual ``‖x − P(x − ∇f(x))‖∞ /
scale`` (P the Euclidean projection onto the set; scale = ‖Aᵀb‖∞, and for the box and the
simplex at least ``max_j ‖a_j‖² · max|x|`` so that b = 0 is measured too). For OT, ``kkt`` is
the ℓ1 marginal error relative to the mass. Gradient descent at the default ``tol = 1e-10``
can need many iterations on large ill-conditioned problems; a MAX_ITER message then names the
exact alternative (``method="active-set"``, BVLS, ``numpy.linalg.lstsq``).
"""

from __future__ import annotations

import numbers
import time
from typing import NamedTuple

import numpy as np
from scipy.sparse.linalg import LinearOperator
from scipy.special import logsumexp, xlogy

from . import domains
from ._result import Result, Status, raise_if_ctrl_c
from ._validation import check_option
from .domains import project_simplex
from .implicit_bias import _problem, _simplex_active_set, limit
from .objectives import LeastSquares
from .optimizers import OPTIMIZERS, Optimizer, Task, run
from .optimizers.steps import armijo
from .parametrizations import Box, Difference, Parametrization, Power, Simplex, as_vector

__all__ = [
    "box_least_squares",
    "entropic_lp",
    "entropic_ot",
    "ot_marginal_operator",
    "ot_marginals",
    "project_simplex",
    "reparametrized_gd",
    "signed_least_squares",
    "simplex_least_squares",
    "sinkhorn",
]

_TINY = np.finfo(float).tiny
# Armijo bounds: the step never exceeds _MAX_STEP (a zero-slope direction used to double it to
# inf) and one line search halves at most _MAX_HALVINGS times (1e100 · 2^-1100 < 1e-230).
_MAX_STEP = 1e100
_MAX_HALVINGS = 1100


# ----------------------------------------------------------------------------------------------
# the one loop: gradient descent on u, run by the solvers' shared driver
# ----------------------------------------------------------------------------------------------
def reparametrized_gd(A, b, parametrization, u0, kkt, *, step="auto", tol=1e-10,
                      max_iter=100_000, record=False, method="reparam-gd", callback=None):
    """Gradient descent on ``F(u) = ½‖Aφ(u) − b‖²`` until ``kkt(x, ∇f(x)) ≤ tol``.

    The loop is the one every :func:`reparam.nnls` method runs (stopping, recording,
    callbacks, Ctrl-C and non-finite values behave the same); only the update differs.

    Parameters
    ----------
    A : array_like, shape (m, n), or a LinearOperator
        A LinearOperator (``matvec``, ``rmatvec``) keeps memory at the size of x, as for
        :func:`ot_marginal_operator`.
    b : array_like, shape (m,)
    parametrization : Parametrization
    u0 : array_like
        Initial parameters.
    kkt : callable
        ``kkt(x, g) -> float``, the stopping certificate (g = Aᵀ(Ax − b)).
    step : "auto" or float
        A float gives plain GD with that constant step (the flow's implicit bias up to O(step));
        "auto" backtracks (Armijo) from the last accepted step times 2.
    tol, max_iter, record, callback
        Stopping rule; ``record`` keeps the objective and kkt per iteration; ``callback`` as
        in :func:`reparam.nnls`.

    Returns
    -------
    Result
        ``info["u"]`` holds the parameters of the returned point.

    Raises
    ------
    reparam.Interrupted
        On Ctrl-C, with the best point so far as ``.result``, as :func:`reparam.nnls` does.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.constrained import reparametrized_gd
    >>> from reparam.parametrizations import Power
    >>> A = np.array([[1.0, 2.0]]); b = np.array([2.0])
    >>> kkt = lambda x, g: float(np.abs(np.minimum(x, g)).max())
    >>> res = reparametrized_gd(A, b, Power(2), np.full(2, 0.1), kkt, tol=1e-12)
    >>> res.success, bool(abs(A @ res.x - b)[0] < 1e-9)
    (True, True)
    """
    if isinstance(A, LinearOperator):
        b = as_vector(b, "b")
        if b.size != A.shape[0] or not np.all(np.isfinite(b)):
            raise ValueError(f"b must be finite with length {A.shape[0]}, got shape {b.shape}")
    else:
        A, b = _problem(A, b)
    if not isinstance(parametrization, Parametrization):
        raise TypeError("parametrization must be a reparam.parametrizations.Parametrization")
    opts = {name: check_option(name, value) for name, value in
            {"step": step, "tol": tol, "max_iter": max_iter, "record": record,
             "callback": callback}.items()}
    if opts["max_iter"] is None:
        raise ValueError("max_iter must be a positive integer, got None")
    u0 = as_vector(u0, "u0").copy()
    # Armijo from twice the last accepted step ("auto"), or a constant step; the residual form
    # of the objective (no Gram matrix) keeps the Armijo test exact near the optimum.
    task = Task(LeastSquares(A, b, use_gram=False), param=parametrization,
                step="armijo" if opts["step"] == "auto" else opts["step"])
    return raise_if_ctrl_c(run(
        task, OPTIMIZERS["gd"], u0, lambda x, g, cols: kkt(x, g), tol=opts["tol"],
        max_iter=opts["max_iter"], callback=opts["callback"],
        record=("objective", "kkt") if opts["record"] else (), method=method))


def _scale(A, b, x_bound=0.0):
    """The certificate's denominator: ‖Aᵀb‖∞, and at least the size of AᵀAx for |x| ≤ x_bound.

    ``max_j ‖a_j‖² = max |(AᵀA)_ij|`` (Cauchy–Schwarz) bounds ‖AᵀAx‖∞ / ‖x‖₁ without the Gram;
    with it, b = 0 (or Aᵀb ≈ 0) on a set that excludes 0 still gives a meaningful residual.
    """
    col = float(np.einsum("ij,ij->j", A, A).max()) if x_bound > 0 else 0.0
    return max(float(np.abs(A.T @ b).max()), col * x_bound, _TINY)


def _advise(res: Result, advice: str) -> Result:
    """Add what to try to the message of a solve that missed its tolerance."""
    if not res.success:
        res.message = f"{res.message}; or: {advice}"
    return res


# ----------------------------------------------------------------------------------------------
# box
# ----------------------------------------------------------------------------------------------
def box_least_squares(A, b, lower=-1.0, upper=1.0, *, init_scale=0.0, x0=None, step="auto",
                      tol=1e-10, max_iter=100_000, record=False) -> Result:
    """min ½‖Ax − b‖² s.t. lower ≤ x ≤ upper, by gradient descent on u with x = c + h sin u.

    Parameters
    ----------
    A : array_like, shape (m, n)
    b : array_like, shape (m,)
    lower, upper : float or array_like
        Finite bounds, lower < upper.
    init_scale : float, default 0
        u0 = init_scale·1 (x0 = the box centre for 0); ignored when ``x0`` is given.
    x0 : array_like, optional
        Start strictly inside the box.
    step, tol, max_iter, record
        See :func:`reparametrized_gd`.

    Returns
    -------
    Result

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.constrained import box_least_squares
    >>> res = box_least_squares(np.eye(2), np.array([3.0, 0.5]), 0.0, 1.0)
    >>> np.round(res.x, 6)
    array([1. , 0.5])
    """
    A, b = _problem(A, b)
    n = A.shape[1]
    for name, bound in (("lower", lower), ("upper", upper)):
        shape = np.shape(bound)
        if shape not in ((), (1,), (n,)):
            raise ValueError(f"{name} has shape {shape}, but A has {n} columns: give a float "
                             f"or an array of length {n}")
    box = Box(lower, upper)
    u0 = box.initial_u(x0=x0) if x0 is not None else box.initial_u(init_scale=init_scale, n=n)
    lo = np.broadcast_to(box.lower, (n,))
    hi = np.broadcast_to(box.upper, (n,))
    scale = _scale(A, b, float(max(np.abs(lo).max(), np.abs(hi).max())))
    domain = domains.Box(lo, hi)

    def kkt(x, g):
        return domain.certificate(x, g, norm=scale)

    res = reparametrized_gd(A, b, box, u0, kkt, step=step, tol=tol, max_iter=max_iter,
                            record=record, method="box-reparam-gd")
    return _advise(res, "a looser tol (1e-6 is reached much sooner), or "
                        "scipy.optimize.lsq_linear(A, b, bounds, method='bvls') for an exact "
                        "answer")


# ----------------------------------------------------------------------------------------------
# simplex
# ----------------------------------------------------------------------------------------------
def simplex_least_squares(A, b, *, method="reparam-gd", x0=None, step="auto", tol=1e-10,
                          max_iter=100_000, record=False) -> Result:
    """min ½‖Ax − b‖² over the probability simplex {x ≥ 0, Σx = 1}.

    ``method="reparam-gd"`` runs gradient descent on u with x = u²/‖u‖² (:class:`Simplex`;
    gradient flow is the replicator / exponentiated-gradient flow); ``method="active-set"`` is
    an exact Lawson–Hanson-type active-set method with the equality kept in every subproblem.

    Parameters
    ----------
    A : array_like, shape (m, n)
    b : array_like, shape (m,)
    method : {"reparam-gd", "active-set"}
    x0 : array_like, optional
        Start in the interior of the simplex (uniform by default).
    step, tol, max_iter, record
        See :func:`reparametrized_gd`.

    Returns
    -------
    Result

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.constrained import simplex_least_squares
    >>> A = np.eye(3); b = np.array([1.0, 0.5, -1.0])
    >>> np.round(simplex_least_squares(A, b).x, 6)
    array([0.75, 0.25, 0.  ])
    """
    A, b = _problem(A, b)
    scale = _scale(A, b, 1.0)  # x in the simplex: ‖x‖₁ = 1

    def kkt(x, g):
        return domains.Simplex().certificate(x, g, norm=scale)

    if method == "active-set":
        start = time.perf_counter()
        x = _simplex_active_set(A, b)
        r = A @ x - b
        cert = kkt(x, A.T @ r)
        ok = cert <= max(tol, 1e-10)
        return Result(x=x, status=Status.CONVERGED if ok else Status.NUMERICAL_ERROR,
                      message="exact active-set solution" if ok else
                      f"active set ended with kkt {cert:.2e}; the problem may be degenerate",
                      n_iter=0, objective=0.5 * float(r @ r), kkt=cert, method="active-set",
                      time=time.perf_counter() - start)
    if method != "reparam-gd":
        raise ValueError(f"method must be 'reparam-gd' or 'active-set', got {method!r}")
    simplex = Simplex()
    u0 = simplex.initial_u(x0=x0, n=A.shape[1])
    res = reparametrized_gd(A, b, simplex, u0, kkt, step=step, tol=tol, max_iter=max_iter,
                            record=record, method="simplex-reparam-gd")
    return _advise(res, "a looser tol (1e-6 is reached much sooner), or method='active-set' "
                        "for the exact answer")


# ----------------------------------------------------------------------------------------------
# signed
# ----------------------------------------------------------------------------------------------
def signed_least_squares(A, b, *, depth=2, init_scale=1e-3, step="auto", tol=1e-10,
                         max_iter=100_000, record=False) -> Result:
    """Signed (sparse) regression by gradient descent on x = u^L − v^L from u0 = v0 = init_scale.

    For an underdetermined system the limit is the hyperbolic-entropy projection of 0 onto
    {Ax = b} (:func:`reparam.implicit_bias.limit` with :class:`Difference`), which tends to the
    minimum-ℓ1 interpolant — the λ → 0 end of the LASSO path — as ``init_scale → 0``
    (Woodworth et al. 2020, "Kernel and rich regimes in overparametrized models").

    Parameters
    ----------
    A : array_like, shape (m, n)
    b : array_like, shape (m,)
    depth : int, default 2
    init_scale : float, default 1e-3
    step, tol, max_iter, record
        See :func:`reparametrized_gd`; ``kkt = ‖Aᵀ(Ax − b)‖∞ / ‖Aᵀb‖∞``.

    Returns
    -------
    Result

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.constrained import signed_least_squares
    >>> res = signed_least_squares(np.array([[1.0, 2.0]]), np.array([-4.0]), init_scale=1e-4,
    ...                            step=0.05)     # a small fixed step follows the flow's bias
    >>> bool(np.allclose(res.x, [0.0, -2.0], atol=1e-2))   # the minimum-ℓ1 solution
    True
    """
    A, b = _problem(A, b)
    diff = Difference(depth)
    u0 = diff.initial_u(init_scale=init_scale, n=A.shape[1])
    scale = _scale(A, b)

    def kkt(x, g):
        return domains.Free().certificate(x, g, norm=scale)

    if check_option("step", step) == "auto" and diff.depth == 2:
        # the flow integrated exactly for a frozen gradient: its limit is the flow's limit
        tol, max_iter = check_option("tol", tol), check_option("max_iter", max_iter)
        if max_iter is None:
            raise ValueError("max_iter must be a positive integer, got None")
        alpha = float(u0[0])
        res = _mirror_gd(A, b, np.zeros(A.shape[1]), kkt, tol=tol,
                         max_iter=max_iter, record=check_option("record", record),
                         method="signed-reparam-gd",
                         geometry=_hyperbolic_geometry(2.0 * alpha * alpha))
    else:
        res = reparametrized_gd(A, b, diff, u0, kkt, step=step, tol=tol, max_iter=max_iter,
                                record=record, method="signed-reparam-gd")
    return _advise(res, "an overdetermined A has one least-squares solution: "
                        "numpy.linalg.lstsq gives it directly")


# ----------------------------------------------------------------------------------------------
# linear programs and optimal transport
# ----------------------------------------------------------------------------------------------
def ot_marginals(m: int, n: int) -> np.ndarray:
    """The (m + n) × (m n) matrix mapping a row-major plan P to its (row, column) sums.

    Dense, for small problems and tests; :func:`ot_marginal_operator` is the same map in
    O(m + n) memory.

    Examples
    --------
    >>> ot_marginals(2, 2) @ np.array([1.0, 2.0, 3.0, 4.0])
    array([3., 7., 4., 6.])
    """
    return np.vstack([np.kron(np.eye(m), np.ones((1, n))), np.kron(np.ones((1, m)), np.eye(n))])


def ot_marginal_operator(m: int, n: int) -> LinearOperator:
    """The map of :func:`ot_marginals` as a :class:`scipy.sparse.linalg.LinearOperator`.

    ``matvec`` takes a row-major plan (length m n) to its row and column sums; ``rmatvec`` takes
    potentials (f, g) to the plan-shaped ``f_i + g_j``. Nothing of size (m + n) × m n is stored.

    Examples
    --------
    >>> op = ot_marginal_operator(2, 2)
    >>> op.matvec(np.array([1.0, 2.0, 3.0, 4.0]))
    array([3., 7., 4., 6.])
    >>> op.rmatvec(np.array([1.0, 2.0, 10.0, 20.0]))
    array([11., 21., 12., 22.])
    """
    for name, v in (("m", m), ("n", n)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")

    def matvec(x):
        P = np.reshape(x, (m, n))
        return np.concatenate([P.sum(axis=1), P.sum(axis=0)])

    def rmatvec(y):
        y = np.ravel(y)
        return (y[:m, None] + y[None, m:]).ravel()

    return LinearOperator((m + n, m * n), matvec=matvec, rmatvec=rmatvec, dtype=float)


def _marginals(a, b):
    a, b = as_vector(a, "a"), as_vector(b, "b")
    for name, v in (("a", a), ("b", b)):
        if np.any(v <= 0):
            raise ValueError(f"{name} must be strictly positive")
    if abs(a.sum() - b.sum()) > 1e-10 * max(a.sum(), b.sum()):
        raise ValueError(f"a and b must have the same total mass, got {a.sum()} and {b.sum()}")
    return a, b


def _cost(C, shape):
    C = np.array(C, dtype=float)
    if C.shape != shape:
        raise ValueError(f"C has shape {C.shape}, but the marginals need {shape}")
    if not np.all(np.isfinite(C)):
        raise ValueError("C has non-finite entries")
    return C


def _epsilon(epsilon):
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not epsilon > 0:
        raise ValueError(f"epsilon must be a positive float, got {epsilon!r}")
    if not np.isfinite(epsilon):
        raise ValueError(f"epsilon must be finite, got {epsilon!r}")
    return float(epsilon)


def _plan_result(P, a, b, C, eps, status, detail, n_iter, method, start, tol) -> Result:
    """A Result for an OT plan: kkt = ℓ1 marginal error / Σa, objective = the entropic cost."""
    with np.errstate(all="ignore"):
        err = (np.abs(P.sum(axis=1) - a).sum() + np.abs(P.sum(axis=0) - b).sum()) / a.sum()
        cost = float(np.sum(C * P))
        objective = cost + eps * float(np.sum(xlogy(P, P) - P))
    if not (np.isfinite(err) and np.all(np.isfinite(P))):
        status, err = Status.NUMERICAL_ERROR, np.inf
        detail = detail or "non-finite plan"
    if status is Status.CONVERGED and not err <= tol:
        status = Status.NUMERICAL_ERROR
        detail = f"the plan's marginal error {err:.2e} exceeds tol {tol:.0e}"
    messages = {
        Status.CONVERGED: f"converged: marginal error {err:.2e} <= tol {tol:.0e}",
        Status.MAX_ITER: f"reached max_iter={n_iter} with marginal error {err:.2e} > tol "
                         f"{tol:.0e}; raise max_iter or epsilon",
    }
    message = messages.get(status, f"{detail}; marginal error {err:.2e}; raise epsilon or "
                                   "rescale C")
    return Result(x=P, status=status, message=message, n_iter=n_iter, objective=objective,
                  kkt=float(err), method=method, time=time.perf_counter() - start,
                  info={"transport_cost": cost, "marginal_error": float(err)})


def sinkhorn(a, b, C, epsilon, *, tol=1e-12, max_iter=100_000) -> Result:
    """Entropic optimal transport by Sinkhorn's iterations in the log domain.

    Solves ``min ⟨C, P⟩ + ε Σ P(log P − 1)`` s.t. ``P1 = a``, ``Pᵀ1 = b``: P = diag(e^f) K
    diag(e^g) with K = exp(−C/ε), alternately matching the two marginals (Cuturi 2013). Memory
    is O(m n).

    Parameters
    ----------
    a : array_like, shape (m,)
    b : array_like, shape (n,)
        Positive marginals with equal mass.
    C : array_like, shape (m, n)
    epsilon : float
    tol : float
        Stop when the marginal error ``(‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁) / Σa`` is below ``tol``.
    max_iter : int

    Returns
    -------
    Result
        ``x`` is the plan P, shape (m, n); ``kkt`` its marginal error; ``objective`` the
        entropic cost; ``info["transport_cost"]`` is ⟨C, P⟩; ``info["f"]``, ``info["g"]`` the
        log-potentials. ``MAX_ITER`` when the marginals are not met to ``tol``.

    Examples
    --------
    >>> import numpy as np
    >>> res = sinkhorn([0.5, 0.5], [0.5, 0.5], np.array([[0.0, 1.0], [1.0, 0.0]]), 0.1)
    >>> res.success, bool(np.allclose(res.x.sum(axis=1), 0.5)), bool(res.x[0, 0] > res.x[0, 1])
    (True, True, True)
    """
    start = time.perf_counter()
    a, b = _marginals(a, b)
    C = _cost(C, (a.size, b.size))
    eps = _epsilon(epsilon)
    tol = check_option("tol", tol)
    max_iter = check_option("max_iter", max_iter)
    if max_iter is None:
        raise ValueError("max_iter must be a positive integer, got None")
    with np.errstate(over="ignore"):
        log_k = -(C - C.min()) / eps  # shifted: the plan is unchanged, exp(log_k) ≤ 1
    log_a, log_b = np.log(a), np.log(b)
    f, g = np.zeros(a.size), np.zeros(b.size)
    status, detail, k = Status.MAX_ITER, "", 0
    if not np.all(np.isfinite(log_k)):
        status, detail = Status.NUMERICAL_ERROR, (f"C/epsilon overflows at epsilon={eps:g}, so "
                                                  "the kernel exp(-C/epsilon) has no digits")
        max_iter = 0
    for k in range(1, max_iter + 1):
        f = log_a - logsumexp(log_k + g[None, :], axis=1)
        g = log_b - logsumexp(log_k + f[:, None], axis=0)
        if not (np.all(np.isfinite(f)) and np.all(np.isfinite(g))):
            status, detail = Status.NUMERICAL_ERROR, f"non-finite potentials at iteration {k}"
            break
        # after the g-update the columns match exactly; the rows carry the whole error
        row = np.exp(f + logsumexp(log_k + g[None, :], axis=1))
        if np.abs(row - a).sum() <= 0.5 * tol * a.sum():
            status = Status.CONVERGED
            break
    with np.errstate(over="ignore", invalid="ignore"):
        P = np.exp(f[:, None] + log_k + g[None, :])
    res = _plan_result(P, a, b, C, eps, status, detail, k, "sinkhorn", start, tol)
    res.info.update(f=f, g=g)
    return res


def _entropy_geometry(z):
    """x = u ⊙ u in mirror coordinates z = ¼ log x: (x, dx/dz)."""
    x = np.exp(4.0 * z)
    return x, 4.0 * x


def _hyperbolic_geometry(c):
    """x = u ⊙ u − v ⊙ v with u v = c/2 conserved, z = ¼ arsinh(x/c): (x, dx/dz)."""
    def geometry(z):
        return c * np.sinh(4.0 * z), 4.0 * c * np.cosh(4.0 * z)
    return geometry


def _mirror_gd(op, b, z0, kkt, *, tol, max_iter, record, method, callback=None,
               geometry=_entropy_geometry):
    """Gradient flow on u for x = u ⊙ u (or u ⊙ u − v ⊙ v), integrated exactly for a frozen
    gradient.

    Over a step of length η with g = ∇f(x) held fixed, ``u' = −2 u ⊙ g`` gives
    ``u ← u ⊙ exp(−2ηg)`` (and ``v ← v ⊙ exp(2ηg)``): plain gradient descent on u to first
    order in η, but the mirror coordinate z (¼ log x, resp. ¼ arsinh(x/c)) moves by
    −ηg ∈ range(Aᵀ) exactly, so the iterates keep the flow's conservation law and the limit is
    the flow's limit — the Bregman projection — for every step size (mirror descent, Beck &
    Teboulle 2003). η backtracks (Armijo) from twice the last step.
    """

    def init(task, start):
        x, _ = geometry(start)
        f, g = task.evaluate(x)
        return _MirrorState(x, g, f, start, 1.0)

    def step(task, state, k):
        z, g, f = state.z, state.g, state.f
        slope = float(np.sum(geometry(z)[1] * g * g))  # −d/dη f(x(z − ηg)) at η = 0
        if not slope > 0:
            return state._replace(stalled="the gradient vanishes on the support of x, so the "
                                          "flow cannot move (is the constraint set empty?)")
        def trial(eta):
            z_new = z - eta * g
            x_new = geometry(z_new)[0]
            f_new, g_new = task.evaluate(x_new)
            return f_new, _MirrorState(x_new, g_new, f_new, z_new, eta)

        # c = 1/4, not 1e-4: steps near 2/curvature decrease f only to second order and make
        # the iterates oscillate around the limit instead of converging to it. Where the
        # decrease asked for is below the rounding of f, a non-increase is accepted.
        found = armijo(trial, f, -slope, min(2.0 * state.eta, _MAX_STEP), c=0.25, floor=0.0,
                       max_backtracks=_MAX_HALVINGS, rtol=1e-13)
        if found is not None:
            return found[1]
        return state._replace(stalled="the line search found no decrease; the problem may be "
                                      "ill-scaled")

    # The residual form of the objective (no Gram matrix) keeps the Armijo test exact.
    task = Task(LeastSquares(op, b, use_gram=False))
    return run(task, Optimizer("mirror-gd", init, step), z0, lambda x, g, cols: kkt(x, g),
               tol=tol, max_iter=max_iter, callback=callback,
               record=("objective", "kkt") if record else (), method=method)


class _MirrorState(NamedTuple):
    """State of :func:`_mirror_gd`: the point, its gradient and objective, the mirror
    coordinate and the last accepted step."""

    x: np.ndarray
    g: np.ndarray
    f: float
    z: np.ndarray
    eta: float
    stalled: str = ""


def _feasibility_result(res: Result, tol: float, residual: float) -> Result:
    """Downgrade a success whose constraint residual misses ``tol`` (no success without it)."""
    if res.success and not residual <= tol:
        res.status = Status.NUMERICAL_ERROR
        res.message = (f"the constraint residual {residual:.2e} exceeds tol {tol:.0e}; "
                       "{A_eq x = b_eq, x >= 0} may be empty")
    return res


def entropic_lp(c, A_eq, b_eq, epsilon, *, method="limit", step="auto", tol=1e-10,
                max_iter=100_000) -> Result:
    """``argmin cᵀx + ε Σ x(log x − 1)`` s.t. ``A_eq x = b_eq`` through a diagonal network.

    Gradient flow on ``½‖A_eq (u ⊙ u) − b_eq‖²`` from ``u0 = exp(−c/(2ε))`` is the mirror flow of
    ψ(x) = ¼ Σ (x log x − x) from x0 = exp(−c/ε); its limit is the Bregman projection
    ``argmin ¼ KL(x ‖ x0)`` over {A_eq x = b_eq}, and ``KL(x‖x0) = (cᵀx + ε Σ x(log x − 1))/ε +
    const``. So the initialization *is* the regularization: as ε → 0 the limit tracks the
    entropic path to the LP solution ``argmin cᵀx, A_eq x = b_eq, x ≥ 0`` (Chou et al. 2025,
    Sec. 6, generalization to other constrained problems).

    Parameters
    ----------
    c : array_like, shape (n,)
    A_eq : array_like, shape (m, n), or a LinearOperator (``method="reparam-gd"`` only)
    b_eq : array_like, shape (m,)
    epsilon : float
        The entropic regularization (the initialization u0 = exp(−c/(2ε))).
    method : {"limit", "reparam-gd"}
        "limit" solves for the flow's limit exactly (dual Newton,
        :func:`reparam.implicit_bias.limit`); "reparam-gd" follows the gradient flow on u.
    step : "auto" or float
        For "reparam-gd". "auto" integrates the flow on u exactly over each step with the
        gradient frozen (``u ← u ⊙ exp(−2ηg)``, η by Armijo backtracking): gradient descent on
        u to first order, and its limit is exactly the flow's, the entropic solution. A float
        runs plain gradient descent on u with that step (:func:`reparametrized_gd`), whose limit
        differs from the flow's by O(step).
    tol, max_iter
        Stop when ``kkt = ‖A_eq x − b_eq‖∞ / ‖b_eq‖∞ <= tol``. ``success`` is never reported
        with a larger residual: an empty {A_eq x = b_eq, x ≥ 0} ends STALLED or
        NUMERICAL_ERROR.

    Returns
    -------
    Result

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.constrained import entropic_lp
    >>> res = entropic_lp([1.0, 2.0], np.array([[1.0, 1.0]]), np.array([1.0]), 0.1)
    >>> np.round(res.x, 6)                       # ∝ exp(−c/ε)
    array([9.99955e-01, 4.50000e-05])
    """
    c = as_vector(c, "c")
    eps = _epsilon(epsilon)
    tol = check_option("tol", tol)
    max_iter = check_option("max_iter", max_iter)
    step = check_option("step", step)
    if max_iter is None:
        raise ValueError("max_iter must be a positive integer, got None")
    if method not in ("limit", "reparam-gd"):
        raise ValueError(f"method must be 'limit' or 'reparam-gd', got {method!r}")
    if isinstance(A_eq, LinearOperator):
        if method == "limit":
            raise TypeError("method='limit' needs A_eq as an array; use method='reparam-gd' "
                            "for a LinearOperator")
        op, b = A_eq, as_vector(b_eq, "b_eq")
        if b.size != op.shape[0] or not np.all(np.isfinite(b)):
            raise ValueError(f"b_eq must be finite with length {op.shape[0]}, got {b.shape}")
    else:
        op, b = _problem(A_eq, b_eq)
    if c.size != op.shape[1]:
        raise ValueError(f"c has length {c.size}, but A_eq has {op.shape[1]} columns")
    if not np.all(np.isfinite(c)):
        raise ValueError("c has non-finite entries")
    shift = c.min()  # a constant shift of c changes nothing on {Σx fixed}, and avoids underflow
    z0 = -(c - shift) / (4.0 * eps)  # mirror coordinates ¼ log x0 of x0 = exp(−c/ε)
    bscale = max(float(np.abs(b).max()), _TINY)

    def residual(x):
        return float(np.abs(op @ x - b).max()) / bscale

    if method == "limit":
        start = time.perf_counter()
        x0 = np.exp(4.0 * z0)
        if np.any(x0 == 0):
            raise ValueError(f"epsilon={eps:g} is too small for the spread of c: exp(-c/epsilon) "
                             "underflows; rescale c, raise epsilon or use method='reparam-gd'")
        lim = limit(op, b, Power(2), x0=x0, tol=min(max(tol, 1e-14), 1e-11))
        cert = residual(lim.x)
        ok = lim.success and cert <= tol
        status = Status.CONVERGED if ok else (
            lim.status if not lim.success else Status.NUMERICAL_ERROR)
        message = (f"dual Newton: converged, constraint residual {cert:.2e}" if ok else
                   f"{lim.message}; constraint residual {cert:.2e} > tol {tol:.0e}")
        if not lim.info.get("feasible", True):
            status = Status.STALLED
            message = (f"{{A_eq x = b_eq, x >= 0}} is empty (residual {cert:.2e}); x is the "
                       "limit of the flow, which fits b_eq in least squares")
        return Result(x=lim.x, status=status, message=message, n_iter=lim.n_iter,
                      objective=float(c @ lim.x), kkt=cert, method="entropic-limit",
                      time=time.perf_counter() - start, info=lim.info)
    if step == "auto":
        res = _mirror_gd(op, b, z0, lambda x, g: residual(x), tol=tol,
                                  max_iter=max_iter, record=False, method="entropic-reparam-gd")
    else:
        res = reparametrized_gd(op, b, Power(2), np.exp(2.0 * z0), lambda x, g: residual(x),
                                step=step, tol=tol, max_iter=max_iter,
                                method="entropic-reparam-gd")
    res.objective = float(c @ res.x)
    return _feasibility_result(res, tol, residual(res.x))


def entropic_ot(a, b, C, epsilon, *, method="limit", step="auto", tol=1e-10,
                max_iter=100_000) -> Result:
    """Entropic optimal transport plan through the diagonal network (:func:`entropic_lp`).

    The marginal constraints are applied as a LinearOperator (:func:`ot_marginal_operator`), so
    memory is O(m n), the size of the plan.

    Parameters
    ----------
    a : array_like, shape (m,)
    b : array_like, shape (n,)
    C : array_like, shape (m, n)
    epsilon : float
    method : {"limit", "reparam-gd"}
        "limit" computes the flow's limit, the entropic plan, by solving its dual exactly
        (alternating exact maximization in the log domain, :func:`sinkhorn`); "reparam-gd"
        follows the gradient flow on u (see ``step`` in :func:`entropic_lp`).
    step, tol, max_iter
        See :func:`entropic_lp`; ``tol`` bounds the marginal error (ℓ1, relative to Σa).

    Returns
    -------
    Result
        ``x`` is the plan P, shape (m, n) — equal to :func:`sinkhorn`'s plan for the same ε up
        to the tolerance; ``kkt`` its marginal error; ``info["transport_cost"]`` is ⟨C, P⟩.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.constrained import entropic_ot, sinkhorn
    >>> C = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> res = entropic_ot([0.5, 0.5], [0.5, 0.5], C, 0.5, method="reparam-gd")
    >>> ref = sinkhorn([0.5, 0.5], [0.5, 0.5], C, 0.5)
    >>> res.success, bool(np.abs(res.x - ref.x).sum() < 1e-9)
    (True, True)
    """
    start = time.perf_counter()
    a, b = _marginals(a, b)
    C = _cost(C, (a.size, b.size))
    eps = _epsilon(epsilon)
    tol = check_option("tol", tol)
    if method == "limit":
        res = sinkhorn(a, b, C, eps, tol=tol, max_iter=max_iter)
        res.method = "entropic-limit"
        return res
    if method != "reparam-gd":
        raise ValueError(f"method must be 'limit' or 'reparam-gd', got {method!r}")
    m, n = a.size, b.size
    step = check_option("step", step)
    max_iter = check_option("max_iter", max_iter)
    if max_iter is None:
        raise ValueError("max_iter must be a positive integer, got None")
    shift = C.min()
    target = np.concatenate([a, b])
    mass = float(a.sum())

    def marginal_error(x, g=None):
        P = x.reshape(m, n)
        return float(np.abs(P.sum(axis=1) - a).sum() + np.abs(P.sum(axis=0) - b).sum()) / mass

    if step == "auto":
        res = _mirror_gd(ot_marginal_operator(m, n), target,
                                  -(C.ravel() - shift) / (4.0 * eps), marginal_error, tol=tol,
                                  max_iter=max_iter, record=False, method="entropic-reparam-gd")
    else:  # plain GD on u, the marginals as an operator: O(m n) memory, like the plan
        u0 = np.exp(-(C.ravel() - shift) / (2.0 * eps))
        res = reparametrized_gd(ot_marginal_operator(m, n), target, Power(2), u0, marginal_error,
                                step=step, tol=tol, max_iter=max_iter,
                                method="entropic-reparam-gd")
    detail = "" if res.success else res.message
    return _plan_result(res.x.reshape(m, n), a, b, C, eps, res.status, detail, res.n_iter,
                        "entropic-reparam-gd", start, tol)
