"""Methods that move ``x`` itself in the metric the parametrization induces (no parameters).

Gradient descent on ``u`` with ``x = u^{⊙L}`` is, to first order in the step, the update
``x ← x − η P(x) ⊙ ∇f(x)`` with ``P(x) = L² x^{2−2/L}`` (the parametrization's
``preconditioner``): a Riemannian gradient step for the metric ``diag(1/P)`` on the open
orthant, taken without geodesics (Chou et al., arXiv:2207.08437, Sec. 2). Steps are capped so
that ``x_{k+1} >= 0.1 x_k > 0`` ("fraction to the boundary", :func:`steps.boundary_cap`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..objectives import coldot
from ._task import Stalled, Task
from ._tree import copy
from .steps import (
    armijo,
    armijo_columns,
    bb_length,
    bb_lengths,
    boundary_cap,
    decayed,
    metric_step,
)

_ARMIJO = 1e-4
_BB_MEMORY = 10  # non-monotone line search window (Grippo, Lampariello, Lucidi 1986)
_BACKTRACKS = 40
# Bounds on the accelerated mirror step's exponent: growth of at most e^2 per step, and
# entries never flushed to exactly zero (zero is a fixed point of the multiplicative update).
_EXP_LO, _EXP_HI = -50.0, 2.0


class MetricState(NamedTuple):
    x: np.ndarray
    g: np.ndarray
    f: Any


class BBState(NamedTuple):
    x: np.ndarray
    g: np.ndarray
    f: Any
    x_prev: np.ndarray | None
    g_prev: np.ndarray | None
    f_hist: tuple  # the last objective values (per column for a block)
    stalled: Any = None  # a message; for a block, a Stalled record of the columns


class AcceleratedState(NamedTuple):
    x: np.ndarray
    g: np.ndarray
    f: Any
    y: np.ndarray  # mirror sequence
    xt: np.ndarray  # primal (gradient-step) sequence
    j: Any  # iterations since the last restart (per column for a block)


def _start(task: Task, params) -> MetricState:
    x = task.param.forward(params)
    f, g = task.evaluate(x)
    return MetricState(x, g, f)


def _minimum(a, b, xp):
    """Entrywise minimum of two step sizes (floats, or (k,) arrays for a block)."""
    if xp is np or np.ndim(a) == np.ndim(b) == 0:
        return np.minimum(a, b) if xp is np else min(float(a), float(b))
    if np.ndim(a) == 0:
        a = xp.full_like(b, float(a))
    if np.ndim(b) == 0:
        b = xp.full_like(a, float(b))
    return xp.minimum(a, b)


def _where(mask, a, b, xp):
    """``a`` on the columns in ``mask`` (host bools), ``b`` elsewhere."""
    if xp is not np and isinstance(mask, np.ndarray):
        from .._linalg import device

        mask = xp.asarray(mask, device=device(b))
    return xp.where(mask, a, b)


def riemannian_init(task: Task, params) -> MetricState:
    return _start(task, params)


def riemannian_step(task: Task, state: MetricState, k: int) -> MetricState:
    """``x_{k+1} = x_k − η_k P(x_k) ⊙ g_k``, ``η_k`` decayed and capped by the boundary rule."""
    x, g = state.x, state.g
    P = task.param.preconditioner(x)
    d = -P * g
    if isinstance(task.step, str):
        base = metric_step(P, task.lipschitz(), task.columns)
    else:
        base = task.step
    eta = _minimum(decayed(base, k - 1, task.decay), boundary_cap(x, d, task.columns), task.xp)
    x = x + eta * d
    f, g = task.evaluate(x)
    return MetricState(x, g, f)


def bb_init(task: Task, params) -> BBState:
    s = _start(task, params)
    return BBState(s.x, s.g, s.f, None, None, (s.f,))


def bb_step(task: Task, state: BBState, k: int) -> BBState:
    """Riemannian gradient step with Barzilai–Borwein lengths and safeguards.

    Barzilai & Borwein, "Two-point step size gradient methods" (1988), in the metric of the
    reparametrization (:func:`steps.bb_length`). Safeguards: the length is clipped to
    ``[1e-8, 1e8]`` times the safe step :func:`steps.metric_step`; it falls back to the safe
    step when ``⟨s, y⟩ <= 0``; the boundary cap keeps ``x > 0``; a non-monotone Armijo line
    search (Grippo, Lampariello & Lucidi 1986; Raydan 1997) over the last 10 objective values
    backtracks by halving, at most 40 times. A block runs the same rule column by column (one
    length, one line search and one history per column).
    """
    if task.columns:
        return _bb_block(task, state, k)
    x, g = state.x, state.g
    P = task.param.preconditioner(x)
    d = -P * g
    safe = metric_step(P, task.lipschitz())
    eta = None
    if state.x_prev is not None:
        eta = bb_length(x - state.x_prev, g - state.g_prev, P, k, task.bb)
    eta = safe if eta is None else float(np.clip(eta, 1e-8 * safe, 1e8 * safe))
    eta = min(eta, boundary_cap(x, d))
    f_ref = max(state.f_hist)
    slope = float(g @ d)  # <= 0
    # Rounding in f is ~eps |f|: accept steps whose decrease is below what f can resolve.
    half_bb = float(np.sum(getattr(task.objective, "half_bb", 0.0)))
    slack = 8 * np.finfo(float).eps * (abs(f_ref) + half_bb)

    def trial(t):
        x_new = x + t * d
        f_new, g_new = task.evaluate(x_new)
        return f_new, (x_new, g_new, f_new)

    found = armijo(trial, f_ref, slope, eta, c=_ARMIJO, slack=slack, floor=0.0,
                   max_backtracks=_BACKTRACKS)
    if found is None:
        return state._replace(stalled=f"line search failed at iteration {k}")
    x_new, g_new, f_new = found[1]
    hist = (state.f_hist + (f_new,))[-_BB_MEMORY:]
    return BBState(x_new, g_new, f_new, x, g, hist)


def _bb_block(task: Task, state: BBState, k: int) -> BBState:
    """:func:`bb_step` on an (n, k) block: per-column lengths, references and backtracking
    (:func:`steps.armijo` column by column: a column keeps the first halving it accepts)."""
    xp = task.xp
    x, g = state.x, state.g
    P = task.param.preconditioner(x)
    d = -P * g
    safe = metric_step(P, task.lipschitz(), True)
    if state.x_prev is not None:
        eta = bb_lengths(x - state.x_prev, g - state.g_prev, P, k, task.bb, safe)
    else:
        eta = safe
    t = _minimum(eta, boundary_cap(x, d, True), xp)
    f_ref = state.f_hist[0]
    for f_old in state.f_hist[1:]:
        f_ref = xp.maximum(f_ref, f_old)
    slope = coldot(g, d)
    half_bb = getattr(task.objective, "half_bb", 0.0)
    slack = 8 * np.finfo(float).eps * (xp.abs(f_ref) + half_bb)

    def trial(t):
        x_new = x + t * d
        f_new, g_new = task.evaluate(x_new)
        return f_new, (x_new, g_new, f_new)

    _, (x_new, g_new, f_new), failed = armijo_columns(
        trial, f_ref, slope, t, c=_ARMIJO, slack=slack, floor=0.0, max_backtracks=_BACKTRACKS,
        start=(x, g, state.f))
    hist = (state.f_hist + (f_new,))[-_BB_MEMORY:]
    new = BBState(x_new, g_new, f_new, x, g, hist)
    if failed.any():
        return new._replace(stalled=Stalled(f"line search failed at iteration {k}", failed))
    return new


def _host(a, xp) -> np.ndarray:
    if xp is np:
        return a
    from .._linalg import to_host

    return to_host(a)


def accelerated_init(task: Task, params) -> AcceleratedState:
    s = _start(task, params)
    j = 0
    if task.columns and np.ndim(s.f):
        xp = task.xp
        j = np.zeros(np.shape(s.f)) if xp is np else xp.zeros_like(s.f)
    return AcceleratedState(s.x, s.g, s.f, copy(s.x), s.x, j)


def accelerated_step(task: Task, state: AcceleratedState, k: int) -> AcceleratedState:
    r"""One iteration of the discretized accelerated flow (depth-2 metric ``P = 4x``).

    Continuous time (Chou et al., arXiv:2207.08437): ``x' = (2/t)(y − x)``,
    ``y' = −(t/2) y ⊙ ∇f(x)`` — the accelerated mirror-descent ODE with the entropy potential
    (Krichene, Bayen & Bartlett, NeurIPS 2015, Algorithm 1, r = 2):

    * coupling     ``x_{k+1} = λ_k y_k + (1 − λ_k) x̃_k``, ``λ_k = 2 / (j + 1)``;
    * mirror step  ``y_{k+1} = y_k ⊙ exp(−(j s / 2) ∇f(x_{k+1}))`` with ``s = 4 η``;
    * primal step  ``x̃_{k+1}`` = a Riemannian gradient step from ``x_{k+1}``.

    ``j`` counts iterations since the last restart; a restart (``j = 1``, ``y = x̃``) happens
    when the objective at the coupling point rises (function restart, O'Donoghue & Candès
    2015). The point certified and returned is the coupling point, where ``∇f`` is evaluated.
    A block restarts and steps column by column (``j`` and the steps per column).
    """
    if task.columns and np.ndim(state.j):
        return _accelerated_block(task, state)
    metric = task.param.preconditioner
    j = state.j + 1
    y, xt = state.y, state.xt
    lam = 2.0 / (j + 1.0)
    x = lam * y + (1.0 - lam) * xt
    f, g = task.evaluate(x)
    if task.restart and j > 1 and f > state.f:
        j, y = 1, xt
        x = xt
        f, g = task.evaluate(x)
    xp = task.xp
    fixed = None if isinstance(task.step, str) else task.step
    eta_y = fixed if fixed is not None else metric_step(metric(y), task.lipschitz())
    y = y * xp.exp(xp.clip(-(j * 4.0 * eta_y / 2.0) * g, _EXP_LO, _EXP_HI))
    d = -metric(x) * g
    eta_x = fixed if fixed is not None else metric_step(metric(x), task.lipschitz())
    xt = x + min(eta_x, boundary_cap(x, d)) * d
    return AcceleratedState(x, g, f, y, xt, j)


def _accelerated_block(task: Task, state: AcceleratedState) -> AcceleratedState:
    """:func:`accelerated_step` on an (n, k) block, every column with its own ``j``."""
    xp = task.xp
    metric = task.param.preconditioner
    j = state.j + 1.0
    y, xt = state.y, state.xt
    lam = 2.0 / (j + 1.0)
    x = lam * y + (1.0 - lam) * xt
    f, g = task.evaluate(x)
    if task.restart:
        back = _host((j > 1) & (f > state.f), xp)
        if back.any():
            j = _where(back, xp.ones_like(j) if xp is not np else 1.0, j, xp)
            y = _where(back, xt, y, xp)
            x = _where(back, xt, x, xp)
            f_back, g_back = task.evaluate(x)
            f = _where(back, f_back, f, xp)
            g = _where(back, g_back, g, xp)
    fixed = None if isinstance(task.step, str) else task.step
    eta_y = fixed if fixed is not None else metric_step(metric(y), task.lipschitz(), True)
    y = y * xp.exp(xp.clip(-(j * 4.0 * eta_y / 2.0) * g, _EXP_LO, _EXP_HI))
    d = -metric(x) * g
    eta_x = fixed if fixed is not None else metric_step(metric(x), task.lipschitz(), True)
    xt = x + _minimum(eta_x, boundary_cap(x, d, True), xp) * d
    return AcceleratedState(x, g, f, y, xt, j)
