"""Baselines that keep the constraint: projected gradient descent and FISTA with restart."""

from __future__ import annotations

import numpy as np

from ._loop import Oracle


def _step(oracle: Oracle, opts: dict) -> float:
    if opts["step"] != "auto":
        return opts["step"]
    lip = oracle.lipschitz()
    return 1.0 / lip if lip > 0 else 1.0


def init(oracle: Oracle, opts: dict) -> dict:
    x = np.zeros(oracle.n) if opts.get("x0") is None else opts["x0"].copy()
    g, f = oracle.grad(x)
    return {"x": x, "g": g, "f": f, "y_g": g, "t": 1.0}


def pgd_step(oracle: Oracle, state: dict, k: int, opts: dict) -> dict:
    """Projected gradient descent ``x ← max(x − g / ||A||², 0)`` (Goldstein 1964; Levitin &
    Polyak 1966)."""
    x = np.maximum(state["x"] - _step(oracle, opts) * state["g"], 0.0)
    g, f = oracle.grad(x)
    return {"x": x, "g": g, "f": f}


def fista_step(oracle: Oracle, state: dict, k: int, opts: dict) -> dict:
    """FISTA (Beck & Teboulle 2009) with the gradient restart of O'Donoghue & Candès (2015).

    The gradient is affine in ``x``, so the gradient at the extrapolated point
    ``y = x_k + β (x_k − x_{k−1})`` is the same combination of ``g_k`` and ``g_{k−1}``: one
    gradient evaluation per iteration, at the point certified.
    """
    x, g, t = state["x"], state["g"], state["t"]
    y = state.get("y", x)
    y_g = state["y_g"]
    x_new = np.maximum(y - _step(oracle, opts) * y_g, 0.0)
    g_new, f_new = oracle.grad(x_new)
    t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
    if opts["restart"] and float((y - x_new) @ (x_new - x)) > 0:
        t_new, beta = 1.0, 0.0
    else:
        beta = (t - 1.0) / t_new
    y_next = x_new + beta * (x_new - x)
    y_g_next = g_new + beta * (g_new - g)
    return {"x": x_new, "g": g_new, "f": f_new, "y": y_next, "y_g": y_g_next, "t": t_new}
