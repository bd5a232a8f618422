"""Riemannian gradient descent in ``x`` for the metric induced by ``x = u**L``.

Gradient descent on ``u`` with ``x = u^{⊙L}`` is, to first order in the step, the update
``x ← x − η L² x^{2−2/L} ⊙ ∇f(x)``: a Riemannian gradient step for the metric
``diag(x^{2/L−2}) / L²`` on the open orthant, taken without geodesics or exponential maps
(Chou et al., arXiv:2207.08437, Sec. 2; DESIGN.md "The maths"). Here ``L`` is ``depth``.

Step convention: the authors' scripts take ``x ← x − L·η·x^{2−2/L} ⊙ g`` with
``g = Aᵀ(Ax − b)``; ours is ``x ← x − step·L²·x^{2−2/L} ⊙ g``, so ``step = η / L`` gives the
same iterates (and ``decay = γ`` their ``η/(t+2)^γ``, counted from t = 0 at the first step).
Their GD has no step cap; ours caps a step only where it would shrink an entry by more than
90%, and wherever the cap does not bind the iterates are theirs.

Step rule that keeps ``x > 0``: an entry with ``g_i > 0`` shrinks by the factor
``1 − η L² x_i^{1−2/L} g_i``; the step is capped so that this factor is at least ``1 − θ``
with ``θ = 0.9`` ("fraction to the boundary"), hence ``x_{k+1} >= 0.1 x_k > 0``.
"""

from __future__ import annotations

import numpy as np

from ._loop import Oracle, decayed
from .reparam_gd import initial_u

_THETA = 0.9  # fraction to the boundary
_ARMIJO = 1e-4
_BB_MEMORY = 10  # non-monotone line search window (Grippo, Lampariello, Lucidi 1986)
_BACKTRACKS = 40


def metric(x: np.ndarray, depth: int) -> np.ndarray:
    """Diagonal preconditioner ``P = L² x^{2−2/L}`` (inverse metric)."""
    return depth * depth * x ** (2.0 - 2.0 / depth)


def boundary_cap(x: np.ndarray, direction: np.ndarray) -> float:
    """Largest step ``η`` with ``x + η d >= (1 − θ) x`` for ``d = direction``."""
    shrink = -direction / np.maximum(x, np.finfo(float).tiny)
    worst = float(np.max(shrink, initial=0.0))
    return _THETA / worst if worst > 0 else np.inf


def auto_step(oracle: Oracle, x: np.ndarray, depth: int) -> float:
    """``1 / (||P||_∞ ||A||²)``: a step below the inverse Lipschitz constant in the metric."""
    curv = float(np.max(metric(x, depth))) * oracle.lipschitz()
    return 1.0 / curv if curv > 0 else 1.0


def _init(oracle: Oracle, opts: dict) -> dict:
    x = initial_u(oracle, opts) ** opts["depth"]
    g, f = oracle.grad(x)
    return {"x": x, "g": g, "f": f}


gd_init = _init


def gd_step(oracle: Oracle, state: dict, k: int, opts: dict) -> dict:
    """``x_{k+1} = x_k − η_k L² x_k^{2−2/L} ⊙ g_k``, ``η_k`` capped by the boundary rule."""
    x, g, depth = state["x"], state["g"], opts["depth"]
    d = -metric(x, depth) * g
    base = auto_step(oracle, x, depth) if opts["step"] == "auto" else opts["step"]
    eta = min(decayed(base, k - 1, opts["decay"]), boundary_cap(x, d))
    x = x + eta * d
    g, f = oracle.grad(x)
    return {"x": x, "g": g, "f": f}


def bb_init(oracle: Oracle, opts: dict) -> dict:
    state = _init(oracle, opts)
    state.update(x_prev=None, g_prev=None, f_hist=[state["f"]])
    return state


def _bb_step_length(state: dict, P: np.ndarray, k: int, rule: str) -> float | None:
    """Barzilai–Borwein step in the metric ``P^{-1}``; None where it is not defined."""
    if state["x_prev"] is None:
        return None
    s = state["x"] - state["x_prev"]
    y = state["g"] - state["g_prev"]
    sy = float(s @ y)
    if not sy > 0:
        return None
    long = float(s @ (s / np.maximum(P, np.finfo(float).tiny))) / sy  # BB1
    ypy = float(y @ (P * y))  # 0 when y lives where x (hence P) has underflowed to 0
    short = sy / ypy if ypy > 0 else long  # BB2
    if rule == "long":
        return long
    if rule == "short":
        return short
    return long if k % 2 else short


def bb_step(oracle: Oracle, state: dict, k: int, opts: dict) -> dict:
    """Riemannian gradient step with Barzilai–Borwein lengths and safeguards.

    Barzilai & Borwein, "Two-point step size gradient methods" (1988), in the metric of the
    reparametrization: ``s = x_k − x_{k−1}``, ``y = g_k − g_{k−1}``, long step
    ``⟨s, P^{-1} s⟩ / ⟨s, y⟩``, short step ``⟨s, y⟩ / ⟨y, P y⟩``, or the two alternating.
    Safeguards: the length is clipped to ``[1e-8, 1e8]`` times the safe step
    :func:`auto_step`; it falls back to the safe step when ``⟨s, y⟩ <= 0``; the boundary cap keeps
    ``x > 0``; a non-monotone Armijo line search (Grippo, Lampariello & Lucidi 1986; Raydan
    1997) over the last 10 objective values backtracks by halving.
    """
    x, g, depth = state["x"], state["g"], opts["depth"]
    P = metric(x, depth)
    d = -P * g
    safe = auto_step(oracle, x, depth)
    eta = _bb_step_length(state, P, k, opts["bb"])
    eta = safe if eta is None else float(np.clip(eta, 1e-8 * safe, 1e8 * safe))
    eta = min(eta, boundary_cap(x, d))
    f_ref = max(state["f_hist"])
    slope = float(g @ d)  # <= 0
    # Rounding in f is ~eps |f|: accept steps whose decrease is below what f can resolve.
    slack = 8 * np.finfo(float).eps * (abs(f_ref) + oracle.half_bb)
    for _ in range(_BACKTRACKS):
        x_new = x + eta * d
        g_new, f_new = oracle.grad(x_new)
        if f_new <= f_ref + _ARMIJO * eta * slope + slack:
            break
        eta *= 0.5
    else:
        return dict(state, stalled=f"line search failed at iteration {k}")
    hist = (state["f_hist"] + [f_new])[-_BB_MEMORY:]
    return {"x": x_new, "g": g_new, "f": f_new, "x_prev": x, "g_prev": g, "f_hist": hist}
