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

import time

import numpy as np

from .._linalg import device, namespace, on_cpu, take_columns, to_host, to_numpy
from .._result import CTRL_C, Result, Status, demote_unmet, settle_history
from .._validation import Problem, validate_options
from ..domains import Orthant, orthant_kkt, orthant_kkt_positive
from ..objectives import LeastSquares
from ..optimizers import Task, run

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
    # here, not at import: the exact methods, which import this module, never need it
    from ..parametrizations import Power

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


def _start(spec, n: int, opts: dict, x0, k=None, like=None):
    """The starting parameters; ``like``: an array of another library to start in (on its
    device, float64), else NumPy."""
    if like is not None:
        xp = namespace(like)
        if x0 is None:
            return xp.asarray(_start(spec, n, opts, None, k), dtype=xp.float64,
                              device=device(like))
        if spec.start == "zero":
            return xp.asarray(x0, copy=True)
        depth, alpha = opts.get("depth", 2), opts["init_scale"]
        if k is not None:
            alpha = xp.asarray(np.broadcast_to(np.asarray(alpha, dtype=float), (k,)),
                               dtype=xp.float64, device=device(like))
        floor = alpha**depth
        return xp.maximum(x0, floor if k is not None else xp.full_like(x0, floor)) \
            ** (1.0 / depth)
    if spec.start == "zero":
        shape = (n,) if k is None else (n, k)
        return np.zeros(shape) if x0 is None else x0.copy()
    return initial_u(n, opts, x0, k)


def _certify(objective: LeastSquares):
    """The orthant certificate (:func:`reparam.domains.orthant_kkt`) with the column norms of
    ``A`` and ``‖b‖₂``. Entries of ``x`` on zero columns are left out: they change neither the
    objective nor the gradient, and the returned answer sets them to 0."""
    c, norm = objective.col_norms, objective.rhs_norm
    xp = objective.xp
    if bool(xp.all(c > 0)):  # the common case: the parts prepared once, not every iteration
        c_x = c if np.ndim(objective.b) == 1 else c[:, None]
        safe = np.maximum(norm, _TINY) if xp is np or np.ndim(norm) == 0 else xp.clip(
            norm, min=_TINY)
        last = [None, safe]  # the norms of the live columns, re-sliced when the block shrinks

        def certify(x, g, cols):
            if cols is not None and cols is not last[0]:
                last[:] = cols, take_columns(safe, cols)
            return orthant_kkt_positive(x, g, c_x, last[1])

        return certify
    zero = c == 0 if np.ndim(objective.b) == 1 else (c == 0)[:, None]

    def certify(x, g, cols):
        x = xp.where(zero, xp.zeros_like(x), x) if xp is not np else np.where(zero, 0.0, x)
        return orthant_kkt(x, g, c, norm if cols is None else take_columns(norm, cols))

    return certify


def _run(objective, spec, opts, x0, columns, k=None) -> Result:
    task = _task(objective, spec, opts, columns)
    like = None if objective.xp is np else objective.b
    start = _start(spec, objective.op.shape[1], opts, x0, k, like)
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
    sub = dict(opts, init_scale=scales[live])
    objective = LeastSquares(problem.op, problem.b[:, live], col_norms=problem.col_norms)
    res = _run(objective, spec, sub, None if x0 is None else x0[:, live], True, live.size)
    x[:, live], status[live], n_iter[live] = res.x, res.status, res.n_iter
    message, ctrl_c = res.message, bool(res.info.get(CTRL_C))
    n_conv = int(np.sum(status == Status.CONVERGED))
    if live.size < k:
        message = f"{n_conv} of {k} right-hand sides converged; iterated columns: {message}"
    return Result(x=x, status=status, n_iter=n_iter, objective=0.0, kkt=0.0, message=message,
                  method=spec.name, info={CTRL_C: True} if ctrl_c else {})


# --------------------------------------------------------------------------------------------
# Arrays of other libraries (PyTorch, CuPy, JAX, ...): the iterative methods run in the input's
# library and on its device through the array API (:func:`reparam._linalg.namespace`), without
# a copy to NumPy; the exact kernels are NumPy/LAPACK.

ARRAY_API_METHODS = ("reparam-gd", "riemannian-gd", "riemannian-bb", "accelerated",
                     "reparam-nesterov", "projected-gd", "fista")


def solve_arrays(A, b, method: str, x0, options: dict) -> Result:
    """:func:`reparam.nnls` for a dense ``A`` and ``b`` of another array library than NumPy.

    The iterative methods (:data:`ARRAY_API_METHODS`) compute in float64 on the input's
    device (as the NumPy path computes in float64) and return ``x`` in the input's library and
    on its device, float32 when ``A`` and ``b`` are float32. The exact methods (``"auto"``,
    ``"active-set"``, ``"scipy"``) run NumPy/LAPACK: arrays in host memory are converted
    explicitly and ``x`` is converted back; arrays on an accelerator raise a ValueError that
    names the methods that run there.
    """
    from .. import _nnls
    from . import METHODS

    xp = namespace(A, b, x0)
    dev = device(A)
    if method not in ARRAY_API_METHODS:
        if not all(on_cpu(v) for v in (A, b, x0) if v is not None):
            raise ValueError(
                f"method {method!r} runs the exact NumPy/LAPACK kernel, but A is a "
                f"{type(A).__module__.split('.')[0]} array on {dev}; use one of the iterative "
                f"methods, which run on it ({', '.join(ARRAY_API_METHODS)}), or move the "
                "arrays to the CPU")
        res = _nnls.nnls(to_numpy(A), to_numpy(b), method,
                         x0=None if x0 is None else to_numpy(x0), **options)
        res.x = xp.asarray(res.x, device=dev)
        return res
    spec = METHODS[method]
    opts = validate_options(method, spec.defaults, options)
    t0 = time.perf_counter()
    objective = LeastSquares(A, b)
    out32 = A.dtype == xp.float32 and b.dtype == xp.float32
    n = objective.op.shape[1]
    x0 = _check_x0_array(x0, xp, objective)
    scales = np.asarray(opts.get("init_scale", 1.0))
    batched = objective.b.ndim == 2
    if scales.ndim == 1 and not batched:  # a sweep over initial scales: one column each
        k = scales.size
        objective = LeastSquares(objective.op, xp.stack([objective.b] * k, axis=1))
        x0 = None if x0 is None else xp.stack([x0] * k, axis=1)
        batched = True
    elif scales.ndim == 1 and scales.size != objective.b.shape[1]:
        raise ValueError(f"init_scale has {scales.size} values, but b has "
                         f"{objective.b.shape[1]} columns; give one value per column or one")
    if not batched:
        if bool(xp.all(objective.atb <= 0)):
            res = Result(x=xp.zeros((n,), dtype=xp.float64, device=dev),
                         status=Status.CONVERGED, n_iter=0, objective=0.0, kkt=0.0,
                         message="x = 0 is optimal (A^T b <= 0, e.g. b = 0); no iterations "
                         "needed", method=method)
        else:
            res = _run(objective, spec, opts, x0, False)
    else:
        res = _solve_block_arrays(objective, spec, opts, x0, scales)
    res.time = time.perf_counter() - t0
    return _finish_arrays(objective, res, opts, out32)


def _check_x0_array(x0, xp, objective):
    if x0 is None:
        return None
    expected = (objective.op.shape[1],) + tuple(objective.b.shape[1:])
    if tuple(x0.shape) != expected:
        raise ValueError(f"x0 has shape {tuple(x0.shape)}; expected {expected} to match A and b")
    x0 = xp.astype(x0, xp.float64)
    if not bool(xp.all(xp.isfinite(x0))):
        raise ValueError("x0 has non-finite entries (NaN or inf)")
    if bool(xp.any(x0 < 0)):
        raise ValueError("x0 must be >= 0 (a point of the constraint set)")
    return x0


def _solve_block_arrays(objective, spec, opts, x0, scales) -> Result:
    """:func:`solve_columns` for arrays of another library: columns where ``x = 0`` is
    optimal are not iterated; the others run as one block."""
    xp = objective.xp
    n, k = objective.op.shape[1], objective.b.shape[1]
    trivial = to_host(xp.all(objective.atb <= 0, axis=0)).astype(bool)
    live = np.flatnonzero(~trivial)
    status = np.full(k, Status.CONVERGED, dtype=object)
    n_iter = np.zeros(k, dtype=int)
    message, ctrl_c, x = "x = 0 is optimal for every column (A^T b <= 0)", False, None
    if live.size:
        sub = dict(opts, init_scale=np.broadcast_to(scales.astype(float), (k,))[live])
        res = _run(objective.take(live), spec, sub,
                   None if x0 is None else take_columns(x0, live), True, live.size)
        status[live], n_iter[live] = res.status, res.n_iter
        message, ctrl_c = res.message, bool(res.info.get(CTRL_C))
        x = res.x
    if live.size < k:  # zeros in the columns not iterated, in column order
        zeros = xp.zeros((n, k - live.size), dtype=xp.float64, device=device(objective.b))
        both = zeros if x is None else xp.concat([x, zeros], axis=1)
        order = np.argsort(np.concatenate([live, np.flatnonzero(trivial)]), kind="stable")
        x = take_columns(both, order)
        n_conv = int(np.sum(status == Status.CONVERGED))
        message = f"{n_conv} of {k} right-hand sides converged; iterated columns: {message}"
    return Result(x=x, status=status, n_iter=n_iter, objective=0.0, kkt=0.0, message=message,
                  method=spec.name, info={CTRL_C: True} if ctrl_c else {})


def _certify_arrays(objective, x):
    """kkt, objective and ``|xᵀg|`` of ``x`` in the array library of the problem (NumPy
    floats: one per column for a block)."""
    xp, A, b = objective.xp, objective.op.A, objective.b
    r = A @ x - b
    g = A.T @ r
    kkt = orthant_kkt(x, g, objective.col_norms, objective.rhs_norm)
    values = [to_host(v) for v in (kkt, 0.5 * xp.sum(r * r, axis=0),
                                   xp.abs(xp.sum(x * g, axis=0)))]
    return tuple(float(v) if v.ndim == 0 else np.asarray(v, dtype=float) for v in values)


def _finish_arrays(objective, res: Result, opts: dict, out32: bool) -> Result:
    """The certification of ``reparam._nnls._finish`` in the input's array library: float64,
    ``x >= 0``, zero columns of ``A`` give ``x_i = 0``; CONVERGED only when the measured kkt
    meets ``tol``; float32 inputs get a float32 ``x``, described as returned."""
    xp, tol = objective.xp, opts["tol"]
    x = xp.clip(xp.astype(res.x, xp.float64), min=0.0)
    c = objective.col_norms
    zero = c == 0
    if bool(xp.any(zero)):
        x = xp.where(zero if x.ndim == 1 else zero[:, None], xp.zeros_like(x), x)
    kkt, f, compl = _certify_arrays(objective, x)
    demote_unmet(res, kkt, tol)
    if out32:
        x = xp.astype(x, xp.float32)
        kkt, f, compl = _certify_arrays(objective, xp.astype(x, xp.float64))
        res.message += f"; x rounded to float32 has kkt {np.max(kkt):.2e}"
    res.x, res.kkt, res.objective, res.complementarity = x, kkt, f, compl
    settle_history(res, opts.get("record"), f, kkt)
    return res
