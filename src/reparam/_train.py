"""``reparam.train``: gradient-based training of any objective over any parametrization."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import domains as _domains
from ._linalg import device, take_columns
from ._result import Result
from ._validation import check_option
from .objectives import as_objective
from .optimizers import OPTIMIZERS, Task, run
from .optimizers._tree import tmap

_ADVICE = "raise max_iter, try optimizer='nesterov', or a fixed step"
_PARAM_SPACE = ("gd", "nesterov")
_X_SPACE = ("riemannian", "bb", "accelerated")


def train(
    objective,
    parametrization,
    *,
    init_scale,
    optimizer: str = "gd",
    step="auto",
    decay: float = 0.0,
    max_iter: int = 10_000,
    tol: float = 1e-8,
    callback: Callable | None = None,
    record: Sequence = (),
    seed=None,
    domain=None,
    init: str | None = None,
    params0: Any = None,
) -> Result:
    r"""Minimize ``f(φ(params))`` by an optimizer of :mod:`reparam.optimizers` until the
    domain's certificate of ``x = φ(params)`` is at most ``tol``.

    This is the engine :func:`reparam.nnls` runs for its reparametrized methods
    (``LeastSquares``, ``Power(depth)``, the orthant), open to any objective and
    parametrization: matrix sensing with ``Product``, deep factorizations, diagonal networks.

    Parameters
    ----------
    objective : reparam.objectives objective, or any object with ``value(x)`` and ``grad(x)``
        Its ``shape`` gives the shape of ``x`` (pass ``params0`` for an objective without one).
    parametrization : reparam.parametrizations.Parametrization
        ``forward(params) -> x``, ``vjp(params, grad_x)``, ``init(shape, init_scale, rng,
        kind)``.
    init_scale : float or array_like
        The scale of the initialization. For least squares, an array of ``k`` values runs a
        sweep: ``x`` of shape (n, k), one column per scale, as one block.
    optimizer : {"gd", "nesterov", "riemannian", "bb", "accelerated"}
        The last three move ``x`` in the metric of the parametrization (it needs a
        ``preconditioner``, as ``Power`` has).
    step : "auto", "armijo" or float
        "auto": the safe step of the parametrization's curvature bound where it has one
        (``Power``), else Armijo backtracking.
    decay : float
        Step decay ``step_k = step / (k + 2)^decay``.
    max_iter, tol : int, float
        Stopping rule; ``tol`` bounds ``domain.certificate(x, ∇f(x))`` (for least squares with
        the column norms of ``A`` as scale and ``‖b‖`` as normalization).
    callback : callable, optional
        ``callback(state) -> bool`` after every iteration; True stops.
    record : sequence
        Names ``"objective"``, ``"certificate"`` and callables ``fn(params, x)``; the result's
        ``history`` holds one array per entry (callables under their ``__name__``).
    seed : int or Generator, optional
        For random initializations.
    domain : reparam.domains domain, optional
        Default: the set the parametrization maps onto (``Power``: the orthant; free otherwise).
    init : {"identical", "gaussian", "orthogonal"}, optional
        The kind of initialization (default: the parametrization's own).
    params0 : optional
        Start from these parameters instead (``init_scale`` is then ignored).

    Returns
    -------
    Result
        ``x``, ``params``, ``status``, ``message``, ``n_iter``, ``objective``, ``kkt`` (the
        certificate), ``history``.

    Examples
    --------
    >>> import numpy as np, reparam as rp
    >>> from reparam.objectives import LeastSquares
    >>> from reparam.parametrizations import Power
    >>> A = np.array([[1.0, 2.0]]); b = np.array([2.0])
    >>> res = rp.train(LeastSquares(A, b), Power(2), init_scale=1e-2, tol=1e-10)
    >>> res.status.name, bool(abs(A @ res.x - b)[0] < 1e-8)
    ('CONVERGED', True)
    """
    obj = as_objective(objective)
    if optimizer not in _PARAM_SPACE + _X_SPACE:
        raise ValueError(f"optimizer must be one of {', '.join(_PARAM_SPACE + _X_SPACE)}; "
                         f"got {optimizer!r}")
    if optimizer in _X_SPACE and not hasattr(parametrization, "preconditioner"):
        raise TypeError(f"optimizer={optimizer!r} moves x in the metric of the "
                        f"parametrization, but {parametrization!r} has no preconditioner")
    if not (isinstance(step, str) and step == "armijo"):
        step = check_option("step", step)
    decay = check_option("decay", decay)
    max_iter = check_option("max_iter", max_iter)
    tol = check_option("tol", tol)
    callback = check_option("callback", callback)
    if max_iter is None:
        raise ValueError("max_iter must be a positive integer, got None")
    xp = getattr(obj, "xp", np)
    if params0 is None:
        params0 = _initial_params(obj, parametrization, init_scale, seed, init)
        if xp is not np:  # the objective's array library (array API) and device
            like = obj.b
            params0 = tmap(lambda a: xp.asarray(a, dtype=like.dtype, device=device(like)),
                           params0)
    x0 = parametrization.forward(params0)
    columns = bool(getattr(obj, "columns", False)) and np.ndim(x0) == 2
    domain = _domains.for_parametrization(parametrization) if domain is None else domain
    task = Task(obj, param=parametrization, domain=domain, step=step, decay=decay,
                columns=columns)
    scale = getattr(obj, "col_norms", None)
    norm = getattr(obj, "rhs_norm", 1.0)
    if np.ndim(norm) == 0 or xp is np:
        norm = np.where(np.asarray(norm) > 0, norm, 1.0)
    else:
        norm = xp.where(norm > 0, norm, xp.ones_like(norm))
    axis = 0 if columns else None

    def certify(x, g, cols):
        sub = norm if cols is None or np.ndim(norm) == 0 else take_columns(norm, cols)
        return domain.certificate(x, g, scale, sub, axis=axis)

    return run(task, OPTIMIZERS[optimizer], params0, certify, tol=tol, max_iter=max_iter,
               callback=callback, record=tuple(record), method=f"train-{optimizer}",
               advice=_ADVICE)


def _initial_params(obj, param, init_scale, seed, kind):
    shape = getattr(obj, "shape", None)
    if shape is None:
        raise ValueError("the objective has no shape attribute: pass params0")
    scales = np.asarray(init_scale, dtype=float)
    if scales.ndim == 1 and len(shape) == 1:
        shape = (shape[0], scales.size)  # a sweep over initial scales, one column each
    elif scales.ndim > 1:
        raise ValueError(f"init_scale must be a number or a 1-D array; got shape {scales.shape}")
    rng = np.random.default_rng(seed)
    if kind is None:
        return param.init(shape, init_scale if scales.ndim else float(scales), rng)
    return param.init(shape, init_scale if scales.ndim else float(scales), rng, kind=kind)


def sweep(problem, parametrization=None, init_scales=(1e-3,), **options) -> list[Result]:
    r"""Train from several initial scales at once: one :class:`Result` per value.

    The runs are one block (parameters of shape (n, k), one column per scale, per-column
    stopping), so a sweep costs matrix products rather than ``k`` loops. Each result is the
    one :func:`train` gives for that scale alone (up to the rounding of matrix against vector
    products). The same block is what ``train(..., init_scale=array)`` and
    ``rp.nnls(A, b, init_scale=array)`` run; this entry splits it per value.

    The init-scale experiments of Chou et al. (arXiv:2207.08437, Sec. 5) are such sweeps:
    smaller scales bias gradient descent towards sparser solutions.

    Parameters
    ----------
    problem : objective with one right-hand side, or a pair ``(A, b)``
        ``(A, b)`` means ``LeastSquares(A, b)``.
    parametrization : Parametrization, optional
        Default ``Power(2)``.
    init_scales : sequence of float
        One run per value.
    **options
        Passed to :func:`train` (``optimizer``, ``step``, ``decay``, ``max_iter``, ``tol``,
        ``record``, ...).

    Returns
    -------
    list of Result
        In the order of ``init_scales``; ``x``, ``params``, ``status``, ``n_iter``,
        ``objective``, ``kkt`` of each run (``history``: its column of the block's).

    Examples
    --------
    >>> import numpy as np, reparam as rp
    >>> A = np.array([[1.0, 2.0]]); b = np.array([2.0])
    >>> runs = rp.sweep((A, b), init_scales=[1e-1, 1e-3], tol=1e-10)
    >>> [r.status.name for r in runs], [bool(abs(A @ r.x - b)[0] < 1e-8) for r in runs]
    (['CONVERGED', 'CONVERGED'], [True, True])
    """
    from .objectives import LeastSquares
    from .parametrizations import Power

    if isinstance(problem, tuple) and len(problem) == 2:
        problem = LeastSquares(*problem)
    scales = np.asarray(init_scales, dtype=float)
    if scales.ndim != 1 or not scales.size:
        raise ValueError(f"init_scales must be a non-empty 1-D sequence; got shape "
                         f"{scales.shape}")
    if len(getattr(problem, "shape", ())) != 1:
        raise ValueError("sweep needs an objective of a vector x with one right-hand side "
                         f"(shape (n,)); got shape {getattr(problem, 'shape', None)}")
    if "init_scale" in options or "params0" in options:
        raise TypeError("sweep takes its scales from init_scales (no init_scale or params0)")
    block = train(problem, Power(2) if parametrization is None else parametrization,
                  init_scale=scales, **options)
    return [_column(block, j) for j in range(scales.size)]


def _column(block: Result, j: int) -> Result:
    """Column ``j`` of a block result as the result of its own run."""
    def pick(a):
        return a[..., j]

    status = block.status[j]
    kkt = float(block.kkt[j])
    history = None if block.history is None else {
        name: (v[:, j] if np.ndim(v) == 2 and v.shape[1] == block.status.size else v)
        for name, v in block.history.items()}
    return Result(
        x=pick(block.x), status=status, n_iter=int(block.n_iter[j]),
        message=f"{status.value} after {int(block.n_iter[j])} iterations (kkt {kkt:.2e}); "
                f"the sweep: {block.message}",
        objective=float(block.objective[j]), kkt=kkt,
        complementarity=float(block.complementarity[j]), method=block.method,
        history=history, time=block.time, params=tmap(pick, block.params)
        if block.params is not None else None)
