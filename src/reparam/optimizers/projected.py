"""Baselines that keep the constraint: projected gradient descent and FISTA with restart.

They move ``x`` and project onto the task's domain (:mod:`reparam.domains`); the
parametrization only gives the starting point.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..objectives import coldot
from ._task import Task
from .steps import inverse


class ProjectedState(NamedTuple):
    x: np.ndarray
    g: np.ndarray
    f: Any


class FistaState(NamedTuple):
    x: np.ndarray
    g: np.ndarray
    f: Any
    y: np.ndarray  # extrapolated point
    y_g: np.ndarray  # gradient at y (affine gradient: a combination, not a new evaluation)
    t: Any  # momentum counter (per column for a block)


def _step(task: Task) -> float:
    return task.step if not isinstance(task.step, str) else inverse(task.lipschitz())


def projected_init(task: Task, x0: np.ndarray) -> ProjectedState:
    f, g = task.evaluate(x0)
    return ProjectedState(x0, g, f)


def projected_step(task: Task, state: ProjectedState, k: int) -> ProjectedState:
    """``x ← P(x − g / L)`` (Goldstein 1964; Levitin & Polyak 1966)."""
    x = task.domain.project(state.x - _step(task) * state.g)
    f, g = task.evaluate(x)
    return ProjectedState(x, g, f)


def fista_init(task: Task, x0: np.ndarray) -> FistaState:
    f, g = task.evaluate(x0)
    t = 1.0
    if task.columns and np.ndim(f):
        t = np.ones(np.shape(f)) if task.xp is np else task.xp.ones_like(f)
    return FistaState(x0, g, f, x0, g, t)


def fista_step(task: Task, state: FistaState, k: int) -> FistaState:
    """FISTA (Beck & Teboulle 2009) with the gradient restart of O'Donoghue & Candès (2015).

    The least-squares gradient is affine in ``x``, so the gradient at the extrapolated point
    ``y = x_k + β (x_k − x_{k−1})`` is the same combination of ``g_k`` and ``g_{k−1}``: one
    gradient evaluation per iteration, at the point certified. A block restarts column by
    column (``t`` per column).
    """
    x, g, t = state.x, state.g, state.t
    x_new = task.domain.project(state.y - _step(task) * state.y_g)
    f_new, g_new = task.evaluate(x_new)
    if np.ndim(t):
        xp = task.xp
        t_new = 0.5 * (1.0 + xp.sqrt(1.0 + 4.0 * t * t))
        beta = (t - 1.0) / t_new
        if task.restart:
            restart = coldot(state.y - x_new, x_new - x) > 0
            t_new = xp.where(restart, xp.ones_like(t_new), t_new)
            beta = xp.where(restart, xp.zeros_like(beta), beta)
    else:
        t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        if task.restart and float((state.y - x_new) @ (x_new - x)) > 0:
            t_new, beta = 1.0, 0.0
        else:
            beta = (t - 1.0) / t_new
    y_next = x_new + beta * (x_new - x)
    y_g_next = g_new + beta * (g_new - g)
    return FistaState(x_new, g_new, f_new, y_next, y_g_next, t_new)
