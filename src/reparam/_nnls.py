"""``reparam.nnls``: one entry point for every NNLS method."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import scipy.optimize

from ._linalg import is_foreign
from ._result import CTRL_C, Result, Status, certify, orthant_kkt, raise_if_ctrl_c
from ._validation import Problem, validate_options, validate_problem, validate_x0
from .solvers import METHOD_NAMES, METHODS
from .solvers._exact import zero_result
from .solvers.auto import choose
from .solvers.iterative import expand_sweep, solve, solve_arrays, solve_columns


def nnls(A, b, method: str = "auto", *, x0=None, **options: Any) -> Result:
    """Solve ``min_x 0.5 ||A x - b||^2`` subject to ``x >= 0``.

    Parameters
    ----------
    A : array_like, scipy.sparse matrix/array or LinearOperator, shape (m, n)
        Integer and floating-point entries; float32 inputs give a float32 ``x``. ``n = 0``
        gives ``x = []``; ``m = 0`` gives ``x = 0`` (every ``x >= 0`` is optimal).
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

    Raises
    ------
    reparam.Interrupted
        On Ctrl-C (``KeyboardInterrupt``): the solver ends its current step, the best point so
        far is certified, and this ``KeyboardInterrupt`` subclass is raised with that partial
        result as ``.result`` (``Status.INTERRUPTED``), so a script stops as on any Ctrl-C.
        A ``callback`` that returns True instead returns ``Status.INTERRUPTED`` normally.

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
    if is_foreign(A) or is_foreign(b) or is_foreign(x0):  # PyTorch, CuPy, JAX, ... arrays
        return raise_if_ctrl_c(solve_arrays(A, b, method, x0, options))
    if x0 is None and (method == "auto" or method == "active-set"):
        res = _lean(A, b, options)
        if res is not None:
            return raise_if_ctrl_c(res)
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
    return raise_if_ctrl_c(_finish(problem, res, opts))


# The lean path: a small dense system with one right-hand side goes straight to
# scipy.optimize.nnls on its equilibrated columns, which is what the exact method does for it
# anyway (the kernel hands n <= 64 to scipy's compiled loop), without the general validation,
# dispatch and certification, whose numpy calls cost several times scipy's own call at 7 x 5.
_LEAN_N = 64
_LEAN_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
# Squared norms inside this range: the entries are finite, no column is zero, and the
# certificate's products cannot overflow or underflow, so no power-of-two scaling is needed.
_LEAN_LO, _LEAN_HI = 1e-200, 1e200


def _lean(A, b, options: dict) -> Result | None:
    """``method='active-set'`` for a small, dense, well-scaled problem; None when the general
    path must run (other inputs, or anything to check or to report in more detail)."""
    if type(A) is not np.ndarray or type(b) is not np.ndarray or A.ndim != 2 or b.ndim != 1:
        return None
    m, n = A.shape
    if not (0 < n <= _LEAN_N and 0 < m == b.shape[0]):
        return None
    if A.dtype not in _LEAN_DTYPES or b.dtype not in _LEAN_DTYPES:
        return None
    spec = METHODS["active-set"]
    if options:
        if not options.keys() <= {"tol", "max_iter"}:
            return None
        opts = validate_options("active-set", spec.defaults, options)
    else:
        opts = spec.defaults
    t0 = time.perf_counter()
    A64 = A if A.dtype == np.float64 else A.astype(np.float64)
    b64 = b if b.dtype == np.float64 else b.astype(np.float64)
    sq = np.add.reduce(A64 * A64)  # cheaper than einsum's parsing at this size
    bb = float(b64 @ b64)
    # NaN fails every comparison, so non-finite input also goes to the general path (which
    # raises the error that names it).
    sq_list = sq.tolist()  # n <= 64: Python's min and max beat two numpy reductions
    if not (_LEAN_LO < bb < _LEAN_HI and _LEAN_LO < min(sq_list) and max(sq_list) < _LEAN_HI):
        return None
    c = np.sqrt(sq)
    # Columns whose norms differ by more than 1e4 are equilibrated by powers of two (exact,
    # undone exactly), as the exact method does; below that Lawson-Hanson's choices do not
    # depend on the units in any way that matters, and the scaling would cost more than the
    # solve at this size.
    s = np.ldexp(1.0, -np.frexp(c)[1]) if max(sq_list) > 1e8 * min(sq_list) else None
    cap = 3 * (opts["max_iter"] or max(50, 3 * n))  # the kernel's Lawson-Hanson cap
    try:
        y, _ = scipy.optimize.nnls(A64 if s is None else A64 * s, b64, maxiter=cap)
        status = Status.CONVERGED
        message = "scipy.optimize.nnls (Lawson-Hanson), the fastest at this size"
    except RuntimeError:  # its iteration cap
        y = np.zeros(n)
        status, message = Status.MAX_ITER, (
            f"scipy.optimize.nnls reached its iteration cap ({cap} = 3 max_iter) before "
            "optimality; returning x = 0: raise max_iter"
        )
    except KeyboardInterrupt:  # as in the exact kernel: a partial state is no answer
        y = np.zeros(n)
        status = Status.INTERRUPTED
        message = "interrupted (Ctrl-C) inside scipy.optimize.nnls; returning x = 0"
    x = y if s is None else y * s
    f32 = A.dtype == np.float32 and b.dtype == np.float32
    # One certification pass; for float32 output it measures the solver's float64 answer
    # (for the status) and the rounded x returned (for kkt, objective) as two columns.
    X = np.array((x, x.astype(np.float32))).T if f32 else x
    R = A64 @ X - (b64[:, None] if f32 else b64)
    G = A64.T @ R
    kkts = orthant_kkt(X, G, c, math.sqrt(bb))
    kkt = float(kkts[0] if f32 else kkts)
    tol = opts["tol"]
    if status is Status.CONVERGED and kkt > tol:
        status = Status.STALLED
        message += (f"; the answer's kkt exceeds tol={tol:.0e} ({kkt:.2e}): the problem is "
                    "ill-conditioned at this precision")
    if f32:
        x, r, g, kkt = X[:, 1].astype(np.float32), R[:, 1], G[:, 1], float(kkts[1])
        message += f"; x rounded to float32 has kkt {kkt:.2e}"
    else:
        r, g = R, G
    return Result(x=x, status=status, message=message, n_iter=0, objective=0.5 * float(r @ r),
                  kkt=kkt, complementarity=abs(float(x @ g)), method="active-set",
                  time=time.perf_counter() - t0,
                  info={CTRL_C: True} if status is Status.INTERRUPTED else {})


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
    c = problem.col_norms
    if not np.all(c > 0):  # x_i on a zero column changes nothing; the answer is x_i = 0
        x64[c == 0] = 0.0
    kkt, objective, complementarity = certify(problem.op, problem.b, x64, c, problem.b_norm)
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
        kkt, objective, complementarity = certify(problem.op, problem.b, x, c, problem.b_norm)
        res.message += f"; x rounded to {problem.out_dtype} has kkt {np.max(kkt):.2e}"
    if not problem.batched:
        kkt, objective, complementarity = float(kkt), float(objective), float(complementarity)
    res.x, res.kkt, res.objective, res.complementarity = x, kkt, objective, complementarity
    if res.history is not None:
        res.history = {key: np.asarray(v) for key, v in res.history.items()}
    elif opts.get("record"):
        res.history = {"objective": np.atleast_1d(objective), "kkt": np.atleast_1d(kkt)}
    return res
