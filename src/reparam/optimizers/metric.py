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

from ._task import Task
from .steps import armijo, bb_length, boundary_cap, decayed, metric_step

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
    f: float
    x_prev: np.ndarray | None
    g_prev: np.ndarray | None
    f_hist: tuple
    stalled: str | None = None


class AcceleratedState(NamedTuple):
    x: np.ndarray
    g: np.ndarray
    f: float
    y: np.ndarray  # mirror sequence
    xt: np.ndarray  # primal (gradient-step) sequence
    j: int


def _start(task: Task, params) -> MetricState:
    x = task.param.forward(params)
    f, g = task.evaluate(x)
    return MetricState(x, g, f)


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
    eta = np.minimum(decayed(base, k - 1, task.decay), boundary_cap(x, d, task.columns))
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
    backtracks by halving, at most 40 times.
    """
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


def accelerated_init(task: Task, params) -> AcceleratedState:
    s = _start(task, params)
    return AcceleratedState(s.x, s.g, s.f, s.x.copy(), s.x, 0)


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
    """
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
    fixed = None if isinstance(task.step, str) else task.step
    eta_y = fixed if fixed is not None else metric_step(metric(y), task.lipschitz())
    y = y * np.exp(np.clip(-(j * 4.0 * eta_y / 2.0) * g, _EXP_LO, _EXP_HI))
    d = -metric(x) * g
    eta_x = fixed if fixed is not None else metric_step(metric(x), task.lipschitz())
    xt = x + min(eta_x, boundary_cap(x, d)) * d
    return AcceleratedState(x, g, f, y, xt, j)
