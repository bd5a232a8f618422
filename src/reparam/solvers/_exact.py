"""Adapters from the exact kernels (our active-set method, SciPy's Lawson–Hanson) to Result."""

from __future__ import annotations

import time
import warnings

import numpy as np
import scipy.optimize

from .._result import CTRL_C, Result, Status
from .._validation import Problem


def _dense(problem: Problem, method: str) -> np.ndarray:
    op = problem.op
    if op.kind == "dense":
        return op.A
    if op.kind == "sparse":
        m, n = op.shape
        if m * n > 50_000_000:
            raise ValueError(
                f"method {method!r} needs a dense matrix, and A ({m} x {n}, sparse) is too "
                "large to densify; use method='accelerated' or 'auto'"
            )
        return op.A.toarray()
    raise ValueError(
        f"method {method!r} needs an explicit matrix; A is a LinearOperator. "
        "Use method='accelerated' or 'auto'"
    )


def active_set(problem: Problem, opts: dict) -> Result:
    """Exact NNLS by our active-set kernel (see :mod:`reparam.solvers.active_set`)."""
    from .active_set import active_set_nnls

    A = _dense(problem, "active-set")
    t0 = time.perf_counter()
    try:
        out = active_set_nnls(A, problem.b, x0=opts.get("x0"), max_iter=opts["max_iter"])
    except KeyboardInterrupt:
        return _interrupted(problem, "active-set", time.perf_counter() - t0)
    elapsed = time.perf_counter() - t0
    converged = np.asarray(out.converged)
    status = np.where(converged, Status.CONVERGED, Status.MAX_ITER)
    if status.ndim == 0:
        status = status.item()
    msg = out.message
    if not np.all(converged):
        msg += "; some columns did not reach optimality: raise max_iter or try method='scipy'"
    return Result(
        x=out.x, status=status, message=msg, n_iter=out.n_iter, objective=0.0, kkt=0.0,
        method="active-set", time=elapsed,
    )


def zero_result(problem: Problem, status: Status, message: str, method: str) -> Result:
    """A result at ``x = 0`` with one ``status`` for every right-hand side."""
    k = problem.b.shape[1:]
    return Result(
        x=np.zeros((problem.shape[1], *k)),
        status=status if not k else np.full(k, status, dtype=object),
        n_iter=0 if not k else np.zeros(k, dtype=int),
        message=message, objective=0.0, kkt=0.0, method=method,
    )


def _interrupted(problem: Problem, method: str, elapsed: float) -> Result:
    """Ctrl-C inside an exact kernel: its partial state is not a solution, so the result is
    the feasible point x = 0, and the status says so."""
    res = zero_result(
        problem, Status.INTERRUPTED,
        f"interrupted (Ctrl-C) inside the exact {method} kernel; returning x = 0", method,
    )
    res.time = elapsed
    res.info[CTRL_C] = True
    return res


def scipy_nnls(problem: Problem, opts: dict) -> Result:
    """``scipy.optimize.nnls`` (Lawson–Hanson), its failures turned into a :class:`Status`."""
    A = _dense(problem, "scipy")
    n = A.shape[1]
    t0 = time.perf_counter()
    cols = problem.b[:, None] if problem.b.ndim == 1 else problem.b
    xs = np.zeros((n, cols.shape[1]))
    statuses, messages = [], []
    for j in range(cols.shape[1]):  # SciPy takes one right-hand side at a time.
        try:
            if statuses and statuses[-1] is Status.INTERRUPTED:
                statuses.append(Status.INTERRUPTED)
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                xs[:, j], _ = scipy.optimize.nnls(A, cols[:, j], maxiter=opts["max_iter"])
            statuses.append(Status.CONVERGED)
        except RuntimeError as exc:  # "Maximum number of iterations reached"
            statuses.append(Status.MAX_ITER)
            messages.append(f"column {j}: {exc}")
        except KeyboardInterrupt:
            statuses.append(Status.INTERRUPTED)
            messages.append(f"interrupted (Ctrl-C) at column {j}; later columns are x = 0")
        except (ValueError, np.linalg.LinAlgError) as exc:
            statuses.append(Status.NUMERICAL_ERROR)
            messages.append(f"column {j}: {exc}")
    elapsed = time.perf_counter() - t0
    if problem.b.ndim == 1:
        x, status = xs[:, 0], statuses[0]
    else:
        x, status = xs, np.array(statuses, dtype=object)
    msg = "scipy.optimize.nnls finished" if not messages else "; ".join(messages)
    return Result(
        x=x, status=status, message=msg, n_iter=0, objective=0.0, kkt=0.0, method="scipy",
        time=elapsed, info={CTRL_C: True} if Status.INTERRUPTED in statuses else {},
    )
