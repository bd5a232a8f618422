"""Discretized second-order ODE of the reparametrized flow: accelerated mirror descent.

Continuous time (Chou et al., arXiv:2207.08437, the accelerated flow; DESIGN.md):
``x' = (2/t)(y − x)``, ``y' = −(t/2) y ⊙ ∇f(x)``, with objective gap ``O(1/t²)``. Writing
``z = log y`` gives ``z' = −(t/2) ∇f(x)``: the accelerated mirror-descent ODE with the entropy
potential (Krichene, Bayen & Bartlett, "Accelerated mirror descent in continuous and discrete
time", NeurIPS 2015, with r = 2). It is discretized as their Algorithm 1:

* coupling     ``x_{k+1} = λ_k y_k + (1 − λ_k) x̃_k``, ``λ_k = 2 / (j + 2)``;
* mirror step  ``y_{k+1} = y_k ⊙ exp(−(j s / 2) ∇f(x_{k+1}))`` (multiplicative, stays > 0);
* primal step  ``x̃_{k+1}`` = a Riemannian gradient step from ``x_{k+1}`` (the depth-2 metric),
  which keeps ``x̃ > 0`` without any projection.

``j`` counts iterations since the last restart; a restart (``j = 0``, ``y = x̃``) happens when
the objective at the coupling point rises (function restart, O'Donoghue & Candès 2015). The
mirror step length is ``s = 4 η`` with ``η`` the safe Riemannian step at ``y`` (the depth-2
metric ``4x`` versus the entropy metric ``x``). The point certified and returned is the
coupling point ``x_{k+1}``, where the gradient is evaluated: one gradient per iteration.
"""

from __future__ import annotations

import numpy as np

from ._loop import Oracle
from .reparam_gd import initial_u
from .riemannian import auto_step, boundary_cap, metric

_DEPTH = 2
# Bounds on the mirror step's exponent: a factor of at most e^2 of growth per step, and
# entries never flushed to exactly zero (zero is a fixed point of the multiplicative update).
_EXP_LO, _EXP_HI = -50.0, 2.0


def init(oracle: Oracle, opts: dict) -> dict:
    x = initial_u(oracle, dict(opts, depth=_DEPTH)) ** _DEPTH
    g, f = oracle.grad(x)
    return {"x": x, "g": g, "f": f, "y": x.copy(), "xt": x, "j": 0}


def step(oracle: Oracle, state: dict, k: int, opts: dict) -> dict:
    """One iteration of the discretized accelerated flow (see the module docstring)."""
    j = state["j"] + 1
    y, xt = state["y"], state["xt"]
    lam = 2.0 / (j + 1.0)
    x = lam * y + (1.0 - lam) * xt
    g, f = oracle.grad(x)
    if opts["restart"] and j > 1 and f > state["f"]:
        # Restart from the primal sequence; the new coupling point is x̃ itself.
        j, y = 1, xt
        x = xt
        g, f = oracle.grad(x)
    base = opts["step"] if opts["step"] != "auto" else None
    eta_y = base if base is not None else auto_step(oracle, y, _DEPTH)
    y = y * np.exp(np.clip(-(j * 4.0 * eta_y / 2.0) * g, _EXP_LO, _EXP_HI))
    d = -metric(x, _DEPTH) * g
    eta_x = base if base is not None else auto_step(oracle, x, _DEPTH)
    xt = x + min(eta_x, boundary_cap(x, d)) * d
    return {"x": x, "g": g, "f": f, "y": y, "xt": xt, "j": j}
