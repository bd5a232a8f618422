"""Step decay: the paper's Riemannian GD with steps η/(t+2)^γ.

Chou et al. (2025, arXiv:2207.08437), at the settings of the authors' script: 20 rows, 50
unknowns, a 3-sparse truth, seed 3 (:func:`._common.paper_problem`); α = 0.1, η = 0.1 (their
convention; our ``step = η/L``), γ ∈ {0, 0.25, 0.5, 0.75}, L ∈ {2, 3}, at most T = 2·10⁵
steps, stopping when ‖A x_t − b‖₂ < 1e-6. Their figures plot ‖x_t − x*‖ and ‖A x_t − b‖
against t on log–log axes with reference lines ∝ t^{γ−1}.
"""

from __future__ import annotations

import numpy as np

from ._common import (
    Outcome,
    control_record,
    decide,
    log_samples,
    new_figure,
    paper_gd,
    paper_problem,
    rate_exponent,
    timed,
    unfinished_note,
)

NAME = "step-decay"
CLAIM = ("The paper: with decaying steps η/(t+2)^γ, γ ∈ [0, 1), GD on x = u^L (L = 2, 3) "
         "still converges, the residual ‖A x_t − b‖ decaying at least like t^(γ−1) (the "
         "reference lines of its figure).")

PAPER = {"n": 50, "m": 20, "s": 3, "seed": 3, "alpha": 0.1, "eta": 0.1,
         "gammas": (0.0, 0.25, 0.5, 0.75), "depths": (2, 3), "T": 200_000}
_SIZES = {"tiny": 2_000, "quick": 10_000, "full": PAPER["T"]}
SLACK = 0.1  # fitted exponent may exceed γ − 1 by at most this


def _flow_time(T: int, gamma: float) -> float:
    """``Σ_{t<T} η/(t+2)^γ``: the gradient-flow time that T decaying steps cover."""
    return float(np.sum(PAPER["eta"] / (np.arange(T) + 2.0) ** gamma))


def _inconsistent(A, b):
    """The control problem: row 0 repeated with its right-hand side moved by 0.1."""
    return np.vstack([A, A[:1]]), np.concatenate([b, b[:1] + 0.1])


@timed
def run(size: str = "quick", seed: int | None = None) -> Outcome:
    """‖x_t − x*‖ and ‖A x_t − b‖ against t for each γ and L on the paper's 20 × 50 problem."""
    seed = PAPER["seed"] if seed is None else seed
    A, b, x_true = paper_problem(PAPER["n"], PAPER["m"], PAPER["s"], seed)
    T = _SIZES[size]
    marks = np.unique(np.geomspace(1, T, 120).astype(int))
    table = {"gamma": list(PAPER["gammas"]), "depth": list(PAPER["depths"]), "T": T,
             "exponent": {}, "bound": {}, "iterations": {},
             "reached_tol": {}, "residual": {}, "error": {}}
    margins, runs = [], {}
    for depth in PAPER["depths"]:
        for gamma in PAPER["gammas"]:
            key = f"L={depth},gamma={gamma:g}"
            r = paper_gd(A, b, alpha=PAPER["alpha"], eta=PAPER["eta"], T=T, depth=depth,
                         gamma=gamma, watch=marks)
            runs[key] = r
            p = rate_exponent(r.residual)
            table["exponent"][key] = p
            table["bound"][key] = gamma - 1.0
            table["iterations"][key] = r.n_iter
            table["reached_tol"][key] = r.reached
            table["residual"][key] = dict(zip(("t", "value"), log_samples(r.residual)))
            ts = sorted(r.path)
            table["error"][key] = {"t": ts, "value": [float(np.linalg.norm(r.path[t] - x_true))
                                                      for t in ts]}
            margins.append(gamma - 1.0 + SLACK - p)
    margin = float(min(margins))
    at_T = [k for k, ok in table["reached_tol"].items() if not ok]
    verdict = decide(margin, complete=not at_T)
    shown = ", ".join(f"{k}: {v:.2f}" for k, v in table["exponent"].items())
    criterion = (f"for every γ and L, the decay exponent of ‖A x_t − b‖ over the last decade "
                 f"of the run [t_end/10, t_end] (t_end: the step that met ‖A x_t − b‖ < 1e-6, "
                 f"or T = {T:g}) must be ≤ γ − 1 + {SLACK:g} ({shown}); inconclusive when a run "
                 f"ends at T before the residual rule ({len(at_T)} of {len(margins)} did"
                 + (f": {', '.join(at_T)})" if at_T else ")"))
    Ac, bc = _inconsistent(A, b)
    rc = paper_gd(Ac, bc, alpha=PAPER["alpha"], eta=PAPER["eta"], T=min(T, 20_000), depth=2,
                  gamma=0.0)
    pc = rate_exponent(rc.residual)
    control = control_record(
        "an inconsistent system (the first row repeated with b moved by 0.1), γ = 0, L = 2",
        -1.0 + SLACK - pc, f"exponent {pc:.3f} ≤ −1 + {SLACK:g}")
    table["control_exponent"] = pc
    fig = _figure(table)
    notes = ("Step convention: the paper's η = 0.1 is our riemannian-gd step η/L with "
             "decay = γ. The margin is the smallest (γ − 1 + 0.1) − exponent over the runs. "
             "With γ > 0 the steps shrink: T steps of η/(t+2)^γ cover a time of only about "
             "η(T+2)^(1−γ)/(1−γ) of the gradient flow (γ = 0.75: "
             f"{_flow_time(T, 0.75):.3g} instead of {_flow_time(T, 0.0):.3g} at γ = 0), so "
             "the runs with large γ cannot reach the residual rule within T. "
             + unfinished_note(runs, T))
    return Outcome(NAME, "Step-size decay", CLAIM, criterion, verdict, table, fig, notes=notes,
                   margin=margin, control=control, seed=seed)


def _figure(table: dict):
    fig, ax = new_figure(2, width=5.2, height=3.8, nrows=2)
    for row, depth in enumerate(table["depth"]):
        for i, gamma in enumerate(table["gamma"]):
            key = f"L={depth},gamma={gamma:g}"
            color = f"C{i}"
            err, res = table["error"][key], table["residual"][key]
            ax[2 * row].loglog(np.maximum(err["t"], 1), err["value"], color=color,
                               label=f"γ = {gamma:g}")
            t = np.maximum(np.asarray(res["t"]), 1)
            ax[2 * row + 1].loglog(t, res["value"], color=color, label=f"γ = {gamma:g}")
            guide = t.astype(float) ** (gamma - 1.0)
            ax[2 * row + 1].loglog(t, guide * res["value"][0], ls=":", color=color, lw=1)
        ax[2 * row].set(xlabel="t", ylabel="‖x_t − x*‖", title=f"L = {depth}")
        ax[2 * row + 1].set(xlabel="t", ylabel="‖A x_t − b‖",
                            title=f"L = {depth} (dotted: ∝ t^(γ−1))", ylim=(1e-7, None))
        ax[2 * row].legend(fontsize=7)
    return fig
