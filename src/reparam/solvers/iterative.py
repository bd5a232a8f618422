"""``rp.nnls``'s iterative methods on the engine: ``LeastSquares``, ``Power(depth)``, ``Orthant``.

Each method is an optimizer of :mod:`reparam.optimizers` run by its driver loop. Several
right-hand sides (or several initial scales) run as one (n, k) block with per-column stopping
when the optimizer supports blocks, else one run per column sharing the Gram matrix.

Step convention: ``reparam-gd`` takes ``u ← u − step·L·u^{L−1} ⊙ g`` (``g = Aᵀ(Ax − b)``),
whose first order in ``x`` is ``x ← x − step·L²·x^{2−2/L} ⊙ g``, the step ``riemannian-gd``
takes. The scripts of Chou et al. (arXiv:2207.08437) write their Riemannian GD as
``x ← x − L·η·x^{2−2/L} ⊙ g``, so their ``η`` is our ``step = η / L`` for both methods, and
``decay = γ`` gives their ``η/(t+2)^γ`` (counted from t = 0 at the first step). Their GD has no
step cap; ``riemannian-gd`` caps a step only where it would shrink an entry by more than 90%,
and wherever the cap does not bind the iterates are theirs.
"""

from __future__ import annotations

import numpy as np

from .._result import CTRL_C, Result, Status
from .._validation import Problem
from ..domains import Orthant, orthant_kkt, orthant_kkt_positive
from ..objectives import LeastSquares
from ..optimizers import Task, run
from ..parametrizations import Power

_TINY = np.finfo(np.float64).tiny

_ORTHANT = Orthant()


def initial_u(n: int, opts: dict, x0: np.ndarray | None, k: int | None = None) -> np.ndarray:
    """``u0 = α·1`` (``x0 = α^L``), or ``u0 = x0^{1/L}`` with entries below ``α^L`` raised to it.

    Zero entries of a warm start would stay zero forever (``u = 0`` is a fixed point of the
    flow), so they start at the initial scale instead. For a block, ``α`` may be one value
    per column.
    """
    depth, alpha = opts.get("depth", 2), opts["init_scale"]
    if k is not None:
        alpha = np.broadcast_to(np.asarray(alpha, dtype=float), (k,))
    if x0 is None:
        return np.full(n, alpha) if k is None else np.tile(alpha, (n, 1))
    return np.maximum(x0, alpha**depth) ** (1.0 / depth)


def expand_sweep(problem: Problem, opts: dict) -> tuple[Problem, dict]:
    """An ``init_scale`` array of ``k`` values on one right-hand side: ``k`` copies of ``b`` (and
    of ``x0``), one column per scale, so that the sweep runs as one block."""
    scales = np.asarray(opts.get("init_scale", 1.0))
    if scales.ndim == 0:
        return problem, opts
    k = scales.size
    if problem.batched:
        if problem.b.shape[1] != k:
            raise ValueError(f"init_scale has {k} values, but b has {problem.b.shape[1]} "
                             "columns; give one value per column or a single value")
        return problem, opts
    opts = dict(opts)
    if opts.get("x0") is not None:
        opts["x0"] = np.repeat(opts["x0"][:, None], k, axis=1)
    b = np.repeat(problem.b[:, None], k, axis=1)
    return Problem(op=problem.op, b=b, out_dtype=problem.out_dtype), opts


def _task(objective: LeastSquares, spec, opts: dict, columns: bool) -> Task:
    return Task(
        objective,
        param=Power(opts.get("depth", 2)),
        domain=_ORTHANT,
        step=opts.get("step", "auto"),
        decay=opts.get("decay", 0.0),
        restart=opts.get("restart", True),
        bb=opts.get("bb", "alternating"),
        columns=columns,
    )


def _start(spec, n: int, opts: dict, x0, k=None):
    if spec.start == "zero":
        shape = (n,) if k is None else (n, k)
        return np.zeros(shape) if x0 is None else x0.copy()
    return initial_u(n, opts, x0, k)


def _certify(objective: LeastSquares):
    """The orthant certificate (:func:`reparam.domains.orthant_kkt`) with the column norms of
    ``A`` and ``‖b‖₂``. Entries of ``x`` on zero columns are left out: they change neither the
    objective nor the gradient, and the returned answer sets them to 0."""
    c, norm = objective.col_norms, objective.rhs_norm
    if c.all():  # the common case: the certificate's parts prepared once, not every iteration
        c_x = c if np.ndim(objective.b) == 1 else c[:, None]
        safe = np.maximum(norm, _TINY)
        last = [None, safe]  # the norms of the live columns, re-sliced when the block shrinks

        def certify(x, g, cols):
            if cols is not None and cols is not last[0]:
                last[:] = cols, safe[cols]
            return orthant_kkt_positive(x, g, c_x, last[1])

        return certify
    zero = c == 0 if np.ndim(objective.b) == 1 else (c == 0)[:, None]

    def certify(x, g, cols):
        return orthant_kkt(np.where(zero, 0.0, x), g, c, norm if cols is None else norm[cols])

    return certify


def _run(objective, spec, opts, x0, columns, k=None) -> Result:
    task = _task(objective, spec, opts, columns)
    start = _start(spec, objective.op.shape[1], opts, x0, k)
    return run(
        task, spec.optimizer, start, _certify(objective), tol=opts["tol"],
        max_iter=opts["max_iter"], callback=opts.get("callback"),
        record=("objective", "kkt") if opts.get("record") else (), method=spec.name,
        advice=spec.advice,
    )


def solve(problem: Problem, spec, opts: dict) -> Result:
    """One right-hand side."""
    objective = LeastSquares(problem.op, problem.b, col_norms=problem.col_norms)
    return _run(objective, spec, opts, opts.get("x0"), False)


def solve_columns(problem: Problem, spec, opts: dict, trivial: np.ndarray) -> Result:
    """Several right-hand sides; columns where ``x = 0`` is optimal are not iterated."""
    k, n = problem.b.shape[1], problem.shape[1]
    live = np.flatnonzero(~trivial)
    x = np.zeros((n, k))
    status = np.full(k, Status.CONVERGED, dtype=object)
    n_iter = np.zeros(k, dtype=int)
    x0 = opts.get("x0")
    scales = np.broadcast_to(np.asarray(opts.get("init_scale", 1.0), dtype=float), (k,))
    if spec.optimizer.blocks:
        sub = dict(opts, init_scale=scales[live])
        objective = LeastSquares(problem.op, problem.b[:, live], col_norms=problem.col_norms)
        res = _run(objective, spec, sub,
                   None if x0 is None else x0[:, live], True, live.size)
        x[:, live], status[live], n_iter[live] = res.x, res.status, res.n_iter
        message, ctrl_c = res.message, bool(res.info.get(CTRL_C))
    else:
        message, ctrl_c = _column_loop(problem, spec, opts, live, scales, x, status, n_iter)
    n_conv = int(np.sum(status == Status.CONVERGED))
    if spec.optimizer.blocks and live.size < k:
        message = f"{n_conv} of {k} right-hand sides converged; iterated columns: {message}"
    return Result(x=x, status=status, n_iter=n_iter, objective=0.0, kkt=0.0, message=message,
                  method=spec.name, info={CTRL_C: True} if ctrl_c else {})


def _column_loop(problem, spec, opts, live, scales, x, status, n_iter) -> tuple[str, bool]:
    """One run per column; an interrupt ends the whole solve (later columns: x = 0). Returns
    the message and whether Ctrl-C ended it."""
    gram, first_failure, ctrl_c = None, "", False
    x0 = opts.get("x0")
    for pos, j in enumerate(live):
        objective = LeastSquares(problem.op, problem.b[:, j], gram=gram,
                                 col_norms=problem.col_norms)
        gram = objective.gram  # one Gram matrix for every column
        col_opts = dict(opts, init_scale=float(scales[j]))
        res = _run(objective, spec, col_opts, None if x0 is None else x0[:, j], False)
        x[:, j], status[j], n_iter[j] = res.x, res.status, res.n_iter
        if res.status is not Status.CONVERGED and not first_failure:
            first_failure = res.message
        if res.status is Status.INTERRUPTED:
            status[live[pos + 1:]] = Status.INTERRUPTED
            ctrl_c = bool(res.info.get(CTRL_C))
            break
    k = status.size
    n_conv = int(np.sum(status == Status.CONVERGED))
    return f"{n_conv} of {k} right-hand sides converged" + (
        "" if n_conv == k else f"; first failure: {first_failure}"), ctrl_c
