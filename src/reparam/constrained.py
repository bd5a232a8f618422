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

Every solver returns a :class:`reparam.Result`; ``kkt`` is the constraint set's optimality
residual ``‖x − P(x − ∇f(x))‖∞ / ‖Aᵀb‖∞`` (P the Euclidean projection onto the set).
"""

from __future__ import annotations

import numbers
import time

import numpy as np
from scipy.special import logsumexp

from . import domains
from ._result import Result, Status, raise_if_ctrl_c
from ._validation import check_option
from .domains import project_simplex
from .implicit_bias import _problem, _simplex_active_set, limit
from .objectives import LeastSquares
from .optimizers import OPTIMIZERS, Task, run
from .parametrizations import Box, Difference, Parametrization, Power, Simplex, as_vector

__all__ = [
    "box_least_squares",
    "entropic_lp",
    "entropic_ot",
    "ot_marginals",
    "project_simplex",
    "reparametrized_gd",
    "signed_least_squares",
    "simplex_least_squares",
    "sinkhorn",
]

_TINY = np.finfo(float).tiny


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
    A, b : array_like
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


def _scale(A, b):
    return max(float(np.abs(A.T @ b).max()), _TINY)


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
    box = Box(lower, upper)
    n = A.shape[1]
    u0 = box.initial_u(x0=x0) if x0 is not None else box.initial_u(init_scale=init_scale, n=n)
    domain = domains.Box(np.broadcast_to(box.lower, (n,)), np.broadcast_to(box.upper, (n,)))
    scale = _scale(A, b)

    def kkt(x, g):
        return domain.certificate(x, g, norm=scale)

    return reparametrized_gd(A, b, box, u0, kkt, step=step, tol=tol, max_iter=max_iter,
                             record=record, method="box-reparam-gd")


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
    scale = _scale(A, b)

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
    return reparametrized_gd(A, b, simplex, u0, kkt, step=step, tol=tol, max_iter=max_iter,
                             record=record, method="simplex-reparam-gd")


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

    return reparametrized_gd(A, b, diff, u0, kkt, step=step, tol=tol, max_iter=max_iter,
                             record=record, method="signed-reparam-gd")


# ----------------------------------------------------------------------------------------------
# linear programs and optimal transport
# ----------------------------------------------------------------------------------------------
def ot_marginals(m: int, n: int) -> np.ndarray:
    """The (m + n) × (m n) matrix mapping a row-major plan P to its (row, column) sums.

    Examples
    --------
    >>> ot_marginals(2, 2) @ np.array([1.0, 2.0, 3.0, 4.0])
    array([3., 7., 4., 6.])
    """
    return np.vstack([np.kron(np.eye(m), np.ones((1, n))), np.kron(np.ones((1, m)), np.eye(n))])


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
    return float(epsilon)


def sinkhorn(a, b, C, epsilon, *, tol=1e-12, max_iter=100_000) -> np.ndarray:
    """Entropic optimal transport by Sinkhorn's iterations in the log domain.

    Solves ``min ⟨C, P⟩ + ε Σ P(log P − 1)`` s.t. ``P1 = a``, ``Pᵀ1 = b``: P = diag(e^f) K
    diag(e^g) with K = exp(−C/ε), alternately matching the two marginals (Cuturi 2013).

    Parameters
    ----------
    a : array_like, shape (m,)
    b : array_like, shape (n,)
        Positive marginals with equal mass.
    C : array_like, shape (m, n)
    epsilon : float
    tol : float
        Stop when the column-marginal error (ℓ1) is below ``tol · Σb``.
    max_iter : int

    Returns
    -------
    P : ndarray, shape (m, n)

    Examples
    --------
    >>> import numpy as np
    >>> P = sinkhorn([0.5, 0.5], [0.5, 0.5], np.array([[0.0, 1.0], [1.0, 0.0]]), 0.1)
    >>> np.allclose(P.sum(axis=1), 0.5) and bool(P[0, 0] > P[0, 1])
    True
    """
    a, b = _marginals(a, b)
    C = _cost(C, (a.size, b.size))
    eps = _epsilon(epsilon)
    max_iter = check_option("max_iter", max_iter)
    log_k = -C / eps
    f, g = np.zeros(a.size), np.zeros(b.size)
    for _ in range(max_iter):
        f = np.log(a) - logsumexp(log_k + g[None, :], axis=1)
        g = np.log(b) - logsumexp(log_k + f[:, None], axis=0)
        P = np.exp(f[:, None] + log_k + g[None, :])
        if np.abs(P.sum(axis=1) - a).sum() <= tol * b.sum():
            break
    return np.exp(f[:, None] + log_k + g[None, :])


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
    A_eq : array_like, shape (m, n)
    b_eq : array_like, shape (m,)
    epsilon : float
        The entropic regularization (the initialization u0 = exp(−c/(2ε))).
    method : {"limit", "reparam-gd"}
        "limit" solves for the flow's limit exactly (dual Newton); "reparam-gd" runs gradient
        descent on u (the discrete limit differs by O(step)).
    step, tol, max_iter
        For "reparam-gd", see :func:`reparametrized_gd`; ``kkt = ‖Ax − b‖∞ / ‖b‖∞`` there.

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
    A, b = _problem(A_eq, b_eq)
    c = as_vector(c, "c")
    if c.size != A.shape[1]:
        raise ValueError(f"c has length {c.size}, but A_eq has {A.shape[1]} columns")
    eps = _epsilon(epsilon)
    shift = c.min()  # a constant shift of c changes nothing on {Σx fixed}, and avoids underflow
    x0 = np.exp(-(c - shift) / eps)
    if np.any(x0 == 0):
        raise ValueError(f"epsilon={eps:g} is too small for the spread of c: exp(-c/epsilon) "
                         "underflows; rescale c or raise epsilon")
    if method == "limit":
        start = time.perf_counter()
        x, info = limit(A, b, Power(2), x0=x0, full_output=True)
        r = A @ x - b
        cert = float(np.abs(r).max()) / max(float(np.abs(b).max()), _TINY)
        status = Status.CONVERGED if info["converged"] else Status.STALLED
        return Result(x=x, status=status, message="dual Newton: " + (
            "converged" if info["converged"] else "stalled"), n_iter=info["n_iter"],
            objective=float(c @ x), kkt=cert, method="entropic-limit",
            time=time.perf_counter() - start, info=info)
    if method != "reparam-gd":
        raise ValueError(f"method must be 'limit' or 'reparam-gd', got {method!r}")
    bscale = max(float(np.abs(b).max()), _TINY)

    def kkt(x, g):
        return float(np.abs(A @ x - b).max()) / bscale

    res = reparametrized_gd(A, b, Power(2), np.sqrt(x0), kkt, step=step, tol=tol,
                            max_iter=max_iter, method="entropic-reparam-gd")
    res.objective = float(c @ res.x)
    return res


def entropic_ot(a, b, C, epsilon, *, method="limit", step="auto", tol=1e-10,
                max_iter=100_000) -> np.ndarray:
    """Entropic optimal transport plan through the diagonal network (:func:`entropic_lp`).

    Parameters
    ----------
    a : array_like, shape (m,)
    b : array_like, shape (n,)
    C : array_like, shape (m, n)
    epsilon : float
    method, step, tol, max_iter
        See :func:`entropic_lp`.

    Returns
    -------
    P : ndarray, shape (m, n)
        Equal to :func:`sinkhorn`'s plan for the same ε (up to the solver's accuracy).

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.constrained import entropic_ot, sinkhorn
    >>> C = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> P = entropic_ot([0.5, 0.5], [0.5, 0.5], C, 0.5)
    >>> bool(np.allclose(P, sinkhorn([0.5, 0.5], [0.5, 0.5], C, 0.5), atol=1e-10))
    True
    """
    a, b = _marginals(a, b)
    C = _cost(C, (a.size, b.size))
    res = entropic_lp(C.ravel(), ot_marginals(a.size, b.size), np.concatenate([a, b]), epsilon,
                      method=method, step=step, tol=tol, max_iter=max_iter)
    return res.x.reshape(a.size, b.size)
