"""Acceleration (our experiment): gradient flow versus a second-order ODE, and discretizations.

Beyond the paper's figures, with a claim we state ourselves. Motivated by Chou et al. (2025,
arXiv:2207.08437, Sec. 4): gradient flow on x = u ⊙ u decreases the
objective like O(1/t); the second-order ODE x' = (2/t)(y − x), y' = −(t/2) y ⊙ ∇f(x) like
O(1/t²). Their discretizations — reparam-gd with step η (time t = kη) and the ``accelerated``
method with mirror step s = 4η' (time t = k√s, Krichene, Bayen & Bartlett 2015) — follow them.
The problem is a square system with singular values 1/i and a positive solution, where neither
flow converges linearly within the time shown. On the paper's 10 × 50 data (the negative
control) gradient flow converges linearly and ends below the ODE, so the claim is about this
kind of problem only. The runs have a fixed horizon by design: the claim is a rate over the
time window, not a limit.
"""

from __future__ import annotations

import numpy as np

import reparam as rp
from reparam.flows import accelerated_flow, gradient_flow, least_squares_loss
from reparam.parametrizations import Power

from ._common import (
    Outcome,
    control_record,
    decide,
    loglog_slope,
    new_figure,
    paper_problem,
    timed,
)

NAME = "acceleration"
CLAIM = ("Ours: on a square system with singular values 1/i, the second-order ODE decreases "
         "the objective like O(t⁻²), faster than gradient flow's O(t⁻¹), ends lower, and the "
         "discrete methods follow their flows.")

_SIZES = {"tiny": (15, 300.0), "quick": (30, 2_000.0), "full": (30, 10_000.0)}
_ALPHA = 0.5
_ETA = 0.1  # reparam-gd step: t = k·η
_BASE = _ETA / 4  # accelerated base step: mirror step s = 4·base, t = k·√s


def problem(n: int, seed: int = 0):
    """A = Q diag(1/i) Vᵀ (n × n) with random orthogonal Q, V; positive x*, ‖x*‖ = 1."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = (Q / np.arange(1, n + 1)) @ V.T
    x = np.abs(rng.standard_normal(n)) + 0.1
    x /= np.linalg.norm(x)
    return A, A @ x, x


def _at_times(curve: np.ndarray, dt: float, times: np.ndarray) -> np.ndarray:
    idx = np.minimum(np.round(times / dt).astype(int), curve.size - 1)
    return curve[idx]


def evaluate(A, b, T: float) -> dict:
    """Both flows and both discretizations on ``(A, b)`` up to time ``T``, and the criterion."""
    n = A.shape[1]
    loss, grad = least_squares_loss(A, b)
    t = np.geomspace(0.1, T, 60)
    gf = gradient_flow(loss, grad, Power(2), (0.0, T), init_scale=_ALPHA, n=n, t_eval=t,
                       rtol=1e-8, atol=1e-14)
    ode = accelerated_flow(loss, grad, np.full(n, _ALPHA**2), (0.0, T), t_eval=t, rtol=1e-8,
                           atol=1e-14)
    gd = rp.nnls(A, b, method="reparam-gd", init_scale=_ALPHA, step=_ETA, tol=1e-16,
                 max_iter=int(T / _ETA), record=True)
    h = np.sqrt(4 * _BASE)
    acc = rp.nnls(A, b, method="accelerated", init_scale=_ALPHA, step=_BASE, restart=False,
                  tol=1e-16, max_iter=int(T / h), record=True)
    f_gd = _at_times(np.asarray(gd.history["objective"]), _ETA, t)
    f_acc = _at_times(np.asarray(acc.history["objective"]), h, t)
    s_gf = loglog_slope(t, gf.loss, lo=10.0)
    s_ode = loglog_slope(t, ode.loss, lo=10.0)
    late = t >= 1.0
    floor = 1e-300
    track = float(max(
        np.max(np.abs(np.log10(np.maximum(f_gd[late], floor) / np.maximum(gf.loss[late], floor)))),
        np.max(np.abs(np.log10(np.maximum(f_acc[late], floor) / np.maximum(ode.loss[late],
                                                                             floor))))))
    ends_lower = float(np.log10(max(gf.loss[-1], floor) / max(ode.loss[-1], floor)))
    margin = float(np.nanmin([-0.9 - s_gf, -1.9 - s_ode, (s_gf - 0.5) - s_ode,
                              0.3 - track, ends_lower]))
    text = (f"fitted log-log slopes on t ∈ [10, {T:g}]: gradient flow {s_gf:.2f} ≤ −0.9, "
            f"ODE {s_ode:.2f} ≤ −1.9 and ≥ 0.5 steeper; ODE ends lower (log10 ratio "
            f"{ends_lower:.2f} ≥ 0); discretizations within a factor 2 of their flows for t ≥ 1 "
            f"(max |log10 ratio| {track:.2f} ≤ 0.3)")
    return {"t": t, "gradient_flow": gf.loss, "ode": ode.loss, "reparam_gd": f_gd,
            "accelerated": f_acc, "slope_gradient_flow": s_gf, "slope_ode": s_ode,
            "tracking_log10": track, "margin": margin, "text": text}


@timed
def run(size: str = "quick", seed: int | None = None) -> Outcome:
    """Objective against time t for both flows (LSODA) and both discretizations."""
    seed = 0 if seed is None else seed
    n, T = _SIZES[size]
    A, b, _ = problem(n, seed)
    ev = evaluate(A, b, T)
    Ac, bc, _ = paper_problem(50, 10, 3, 3)
    cv = evaluate(Ac, bc, T)
    control = control_record("the paper's 10 × 50 data (seed 3), where the claim is in doubt",
                             cv["margin"], cv["text"])
    t, gf_loss, ode_loss = ev["t"], ev["gradient_flow"], ev["ode"]
    fig, ax = new_figure(2, width=5.4, height=4.2)
    for panel, data, title in ((ax[0], ev, f"{n} × {n}, singular values 1/i"),
                               (ax[1], cv, "control: the paper's 10 × 50 data")):
        panel.loglog(t, data["gradient_flow"], color="C0", lw=2, label="gradient flow")
        panel.loglog(t, data["reparam_gd"], "o", color="C0", ms=3, label=f"reparam-gd, η = {_ETA:g}")
        panel.loglog(t, data["ode"], color="C3", lw=2, label="second-order ODE")
        panel.loglog(t, data["accelerated"], "s", color="C3", ms=3,
                     label=f"accelerated, s = {4 * _BASE:g}")
        panel.set(xlabel="time t", ylabel="½‖Ax − b‖²", title=title)
    i0 = np.searchsorted(t, 10.0)
    ax[0].loglog(t[i0:], gf_loss[i0] * (t[i0:] / t[i0]) ** -1.0, "k:", lw=1, label="t⁻¹")
    ax[0].loglog(t[i0:], ode_loss[i0] * (t[i0:] / t[i0]) ** -2.0, "k--", lw=1, label="t⁻²")
    ax[0].legend(fontsize=7)
    table = {k: v for k, v in ev.items() if k != "text"} | {
        "step_gd": _ETA, "step_accelerated": _BASE, "n": n,
        "control": {k: v for k, v in cv.items() if k != "text"}}
    return Outcome(NAME, "Acceleration: gradient flow vs second-order ODE", CLAIM, ev["text"],
                   decide(ev["margin"]), table, fig, margin=ev["margin"], control=control,
                   section="ours", seed=seed)
