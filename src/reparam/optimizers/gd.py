"""Gradient descent and Nesterov momentum on the parameters of ``x = φ(params)``.

Chou, Maly, Verdun, Freitas Paulo da Costa, Mirandola, "Get rid of your constraints and
reparametrize: a study in NNLS and implicit bias", AISTATS 2025 (arXiv:2207.08437), Sec. 3:
gradient descent on ``h(params) = f(φ(params))`` with step decay. The gradient in the
parameters is the parametrization's ``vjp``: ``∇h = J_φᵀ ∇f(φ(params))``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .._linalg import to_host
from ._task import Stalled, Task
from ._tree import tdot, tmap
from .steps import armijo, armijo_columns, decayed, inverse

# Armijo steps never grow above this (a zero gradient would otherwise double them forever).
_ETA_MAX = 1e300
# Extrapolated parameters of a positive parametrization are kept at least this fraction of the
# current ones, so that they stay positive (x = u^L in the orthant also for odd depth).
_KEEP = 0.5


class GDState(NamedTuple):
    params: Any
    x: np.ndarray
    g: np.ndarray
    f: Any
    eta: float = 1.0  # last accepted Armijo step
    stalled: str | None = None


class NesterovState(NamedTuple):
    params: Any
    params_prev: Any
    j: Any  # steps since the last restart (per column for a block)
    x: np.ndarray
    g: np.ndarray
    f: Any


def _uses_armijo(task: Task) -> bool:
    if isinstance(task.step, str):
        return task.step == "armijo" or not hasattr(task.param, "curvature")
    return False


def step_size(task: Task, params, g, k: int):
    """``η_k = η / (k + 1)^γ`` from the fixed step or, for ``step="auto"``, the safe step
    ``1 / curvature`` of the parametrization (see e.g. ``Power.curvature``)."""
    base = task.step
    if isinstance(base, str):
        base = inverse(task.param.curvature(params, g, task.lipschitz(), task.columns))
    return decayed(base, k - 1, task.decay)


def gd_init(task: Task, params) -> GDState:
    x = task.param.forward(params)
    f, g = task.evaluate(x)
    return GDState(params, x, g, f)


def gd_step(task: Task, state: GDState, k: int) -> GDState:
    r"""``params_{k+1} = params_k − η_k J_φᵀ ∇f(φ(params_k))``.

    For ``x = u^L`` this is ``u_{k+1} = u_k − η_k L u_k^{L−1} ⊙ ∇f(u_k^L)`` with
    ``η_k = η / (k + 2)^γ`` (arXiv:2207.08437, Sec. 3; ``γ = decay``). With ``step="armijo"``
    (or ``"auto"`` for a parametrization without a curvature bound) the step backtracks from
    twice the last accepted one (Armijo 1966).
    """
    if _uses_armijo(task):
        return _armijo_step(task, state)
    p = task.param
    grad = p.vjp(state.params, state.g)
    eta = step_size(task, state.params, state.g, k)
    params = tmap(lambda u, d: u - eta * d, state.params, grad)
    x = p.forward(params)
    f, g = task.evaluate(x)
    return GDState(params, x, g, f, state.eta)


def _armijo_step(task: Task, state: GDState) -> GDState:
    p = task.param
    grad = p.vjp(state.params, state.g)
    if task.columns and np.ndim(state.f):
        return _armijo_block(task, state, grad)
    slope = -tdot(grad, grad, False)
    if not slope < 0:
        # ∇_u F ≡ 0 away from a solution (u on a critical set of φ, e.g. u = 0 for u^L): no
        # step can move, and an Armijo step grown from twice the last one would only overflow.
        return state._replace(stalled="the gradient in u is zero, so gradient descent cannot "
                                      "move (u sits on a critical point of the map, e.g. all x "
                                      "collapsed to 0; is the constraint set empty?)")

    def trial(eta):
        params = tmap(lambda u, d: u - eta * d, state.params, grad)
        x = p.forward(params)
        f, g = task.evaluate(x)
        return f, (params, x, g, f)

    found = armijo(trial, state.f, slope, min(2.0 * state.eta, _ETA_MAX))
    if found is None:
        return state._replace(stalled="the line search found no decrease; the problem may be "
                                      "ill-scaled")
    eta, (params, x, g, f) = found
    return GDState(params, x, g, f, eta)


def _armijo_block(task: Task, state: GDState, grad) -> GDState:
    """:func:`_armijo_step` on a block: each column its own slope, step and backtracking
    (:func:`steps.armijo_columns`); a column with a zero gradient or no decrease stalls."""
    p = task.param
    slope = -tdot(grad, grad, True)
    xp = task.xp
    eta0 = state.eta if np.ndim(state.eta) else (
        np.full(np.shape(state.f), state.eta) if xp is np else xp.full_like(state.f, state.eta))
    eta0 = xp.minimum(2.0 * eta0, xp.full_like(eta0, _ETA_MAX))

    def trial(eta):
        params = tmap(lambda u, d: u - eta * d, state.params, grad)
        x = p.forward(params)
        f, g = task.evaluate(x)
        return f, (params, x, g, f)

    eta, (params, x, g, f), failed = armijo_columns(
        trial, state.f, slope, eta0, start=(state.params, state.x, state.g, state.f))
    flat = np.asarray(slope >= 0) if xp is np else np.asarray(to_host(slope >= 0))
    new = GDState(params, x, g, f, eta)  # the failed columns leave the block
    if failed.any() or flat.any():
        why = ("the gradient in u is zero, so gradient descent cannot move" if flat.any()
               else "the line search found no decrease; the problem may be ill-scaled")
        return new._replace(stalled=Stalled(why, failed | flat))
    return new


def nesterov_init(task: Task, params) -> NesterovState:
    state = gd_init(task, params)
    j = 0
    if task.columns and np.ndim(state.f):  # a float counter per column for another library
        j = np.zeros(np.shape(state.f), dtype=int) if task.xp is np else \
            task.xp.zeros_like(state.f)
    return NesterovState(params, params, j, state.x, state.g, state.f)


def nesterov_step(task: Task, state: NesterovState, k: int) -> NesterovState:
    r"""Nesterov momentum on the parameters with adaptive restart.

    ``v = u_k + β_j (u_k − u_{k−1})`` with ``β_j = (j − 1) / (j + 2)`` (``j`` counts steps
    since the last restart; for a positive parametrization ``v`` is clipped to ``v >= u_k/2``);
    ``u_{k+1} = v − η ∇h(v)``. The point certified and returned is ``x = φ(v)``, where the
    gradient is known. Restart (``j = 0``) when ``⟨∇h(v), u_{k+1} − u_k⟩ > 0`` — the gradient
    scheme of O'Donoghue & Candès, "Adaptive restart for accelerated gradient schemes" (2015).
    """
    p = task.param
    u, u_prev, j = state.params, state.params_prev, state.j + 1
    beta = (j - 1) / (j + 2)
    v = tmap(lambda a, b: a + beta * (a - b), u, u_prev)
    if getattr(p, "positive_params", False):
        xp = task.xp
        v = tmap(lambda c, a: xp.where(c < _KEEP * a, a, c), v, u)
    xv = p.forward(v)
    fv, gv = task.evaluate(xv)
    grad = p.vjp(v, gv)
    if _uses_armijo(task):  # no curvature bound: a safe constant step of 1 / Lipschitz of f
        eta = decayed(inverse(task.lipschitz()), k - 1, task.decay)
    else:
        eta = step_size(task, v, gv, k)
    u_next = tmap(lambda a, d: a - eta * d, v, grad)
    if task.restart:
        moved = tmap(lambda a, b: a - b, u_next, u)
        restart = tdot(grad, moved, task.columns) > 0
        if not np.ndim(restart):
            j = 0 if restart else j
        elif task.xp is np:
            j = np.where(restart, 0, j)
        else:
            j = task.xp.where(restart, task.xp.zeros_like(j), j)
    return NesterovState(u_next, u, j, xv, gv, fv)
