"""``reparam.nnls``: one entry point for every NNLS method."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ._result import Result, Status, certify
from ._validation import Problem, validate_options, validate_problem, validate_x0
from .solvers import METHOD_NAMES, METHODS
from .solvers._exact import zero_result
from .solvers.auto import choose
from .solvers.iterative import expand_sweep, solve, solve_columns


def nnls(A, b, method: str = "auto", *, x0=None, **options: Any) -> Result:
    """Solve ``min_x 0.5 ||A x - b||^2`` subject to ``x >= 0``.

    Parameters
    ----------
    A : array_like, scipy.sparse matrix/array or LinearOperator, shape (m, n)
        Integer and floating-point entries; float32 inputs give a float32 ``x``.
    b : array_like, shape (m,) or (m, k)
        One right-hand side, or ``k`` of them (then ``x`` has shape (n, k) and the status,
        ``n_iter`` and ``kkt`` of the result are per-column arrays).
    method : str
        ``"auto"`` (exact for explicit matrices, ``"fista"`` for large sparse or
        matrix-free ``A``), ``"active-set"`` (exact), ``"reparam-gd"``, ``"riemannian-gd"``,
        ``"riemannian-bb"``, ``"accelerated"``, ``"reparam-nesterov"``, ``"projected-gd"``,
        ``"fista"``, ``"scipy"``. ``reparam.solvers.METHODS`` lists each with its defaults.
    x0 : array_like, optional
        Warm start, ``>= 0``. The exact method uses its support; the reparametrized methods
        start at ``u0 = x0**(1/depth)`` (entries below ``init_scale**depth`` raised to it).
    **options
        ``tol`` (stop when :func:`reparam.kkt_residual` ``<= tol``; default 1e-6, exact
        methods 1e-10), ``max_iter``, ``callback(state) -> bool`` (True stops),
        ``record`` (keep a history), and per method: ``depth`` (L >= 2), ``init_scale``
        (α > 0, u0 = α·1; an array of k values runs a sweep: k columns, one per scale, as one
        block), ``step`` ("auto" or a float), ``decay`` (γ in [0, 1],
        step_k = step / (k+2)^γ), ``bb`` ("alternating", "long", "short"), ``restart``.

    Returns
    -------
    Result
        ``x``, ``status``, ``success``, ``message``, ``n_iter``, ``objective``, ``kkt``
        (measured in float64 on the returned ``x``), ``history``. Not converging is a status,
        never an exception; bad input raises ``ValueError`` or ``TypeError``.

    Examples
    --------
    >>> import numpy as np, reparam as rp
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((30, 10)); b = A @ np.abs(rng.standard_normal(10))
    >>> res = rp.nnls(A, b)
    >>> res.success, bool(res.kkt < 1e-10)
    (True, True)
    >>> res = rp.nnls(A, b, method="reparam-gd", depth=2, init_scale=1e-3, tol=1e-6)
    >>> res.status.name
    'CONVERGED'
    """
    if not isinstance(method, str) or method not in METHOD_NAMES:
        raise ValueError(f"method must be one of {', '.join(METHOD_NAMES)}; got {method!r}")
    problem = validate_problem(A, b)
    if method == "auto":
        method = choose(problem)
    spec = METHODS[method]
    opts = validate_options(method, spec.defaults, options)
    opts["x0"] = validate_x0(x0, problem.shape[1], problem.b)
    problem, opts = expand_sweep(problem, opts)
    t0 = time.perf_counter()
    trivial = _zero_is_optimal(problem)
    if np.all(trivial):
        res = _zero_result(problem, method, opts)
    elif spec.exact is not None:
        res = spec.exact(problem, opts)
    elif problem.batched:
        res = solve_columns(problem, spec, opts, trivial)
    else:
        res = solve(problem, spec, opts)
    res.time = time.perf_counter() - t0
    return _finish(problem, res, opts)


def _zero_is_optimal(problem: Problem) -> np.ndarray:
    """``x = 0`` solves NNLS exactly when ``A^T b <= 0`` (then ``g(0) = -A^T b >= 0``)."""
    return np.all(problem.atb <= 0, axis=0)


def _zero_result(problem: Problem, method: str, opts: dict) -> Result:
    res = zero_result(
        problem, Status.CONVERGED,
        "x = 0 is optimal (A^T b <= 0, e.g. b = 0); no iterations needed", method,
    )
    if opts.get("record"):
        f0 = 0.5 * np.sum(problem.b**2, axis=0)
        res.history = {"objective": np.atleast_1d(f0), "kkt": np.zeros_like(np.atleast_1d(f0))}
    return res


def _finish(problem: Problem, res: Result, opts: dict) -> Result:
    """Certify the answer in float64 and cast ``x`` to the output dtype.

    A result is ``CONVERGED`` only when its measured kkt meets ``tol``; an answer that misses
    it (rounding on an ill-conditioned problem) is reported as ``STALLED``. For float32
    output the status judges the solver's float64 answer, while ``kkt``, ``objective`` and
    ``complementarity`` describe the float32 ``x`` returned. With ``record=True`` a method
    without iterations of its own records its final point.
    """
    tol = opts["tol"]
    x64 = np.maximum(np.asarray(res.x, dtype=np.float64), 0.0)  # guards rounding only
    kkt, objective, complementarity = certify(problem.op, problem.b, x64, problem.atb)
    missed = (np.asarray(res.status) == Status.CONVERGED) & (np.asarray(kkt) > tol)
    if np.any(missed):
        status = np.where(missed, Status.STALLED, res.status)
        res.status = status.item() if status.ndim == 0 else status.astype(object)
        res.message += (
            f"; the answer's kkt exceeds tol={tol:.0e} (max {np.max(kkt):.2e}): the problem "
            "is ill-conditioned at this precision"
        )
    x = x64.astype(problem.out_dtype)
    if problem.out_dtype != np.float64:
        kkt, objective, complementarity = certify(problem.op, problem.b, x, problem.atb)
        res.message += f"; x rounded to {problem.out_dtype} has kkt {np.max(kkt):.2e}"
    if not problem.batched:
        kkt, objective, complementarity = float(kkt), float(objective), float(complementarity)
    res.x, res.kkt, res.objective, res.complementarity = x, kkt, objective, complementarity
    if res.history is not None:
        res.history = {key: np.asarray(v) for key, v in res.history.items()}
    elif opts.get("record"):
        res.history = {"objective": np.atleast_1d(objective), "kkt": np.atleast_1d(kkt)}
    return res
