"""The landscape (:mod:`reparam.models.landscape`): no spurious local minima under RIP (Ge, Jin &
Zheng, ICML 2017) and the short gradient path (Oymak & Soltanolkotabi, ICML 2019).

The criterion: every one of the random starts on a Gaussian sensing instance ends at the global
value (``f(U_T)/f(0) ≤ 1e-8``), and the path ratio of least squares and of a low-rank
regression is at most 1.5. The control, through the same two checks: the 2 × 2 instance with a
spurious local minimum (RIP constant 0.55, just above the sharp bound 1/2 of Zhang, Sojoudi &
Lavaei 2019; the instance of the lifted-tensor experiment) and least squares with a step near
the stability limit; the control's margin is the larger of the two, so it fails only if both
fail.
"""

from __future__ import annotations

import numpy as np

from ..models import landscape as ls
from ._common import Outcome, control_record, decide, new_figure, timed

NAME = "landscape"
CLAIM = ("Ge, Jin & Zheng 2017: under RIP, matrix sensing has no spurious local minima — "
         "gradient descent from every random start reaches the global value; Oymak & "
         "Soltanolkotabi 2019: on overparametrized problems gradient descent takes a nearly "
         "shortest path — its length over the distance to the nearest global minimizer stays "
         "close to 1.")

# starts, (dim, rank) of the RIP instance, (m, n) of least squares, (dim, rank, m) low-rank
_SIZES = {"tiny": (20, (6, 1), (20, 80), (6, 1, 12)),
          "quick": (50, (8, 2), (50, 200), (10, 2, 30)),
          "full": (50, (20, 3), (200, 800), (20, 2, 100))}
LARGE_STEP = 1.9
SPURIOUS_DELTA = 0.55  # RIP constant of the control instance


def _starts_text(c: ls.StartsCheck, starts: int) -> str:
    return (f"{round(c.reached * starts)}/{starts} starts at f/f(0) ≤ {ls.VALUE_TOL:g} "
            f"(worst {c.worst:.3g})")


def _path_text(r: dict) -> str:
    return f"path/distance {r['ratio']:.3f} ≤ {ls.PATH_RATIO_MAX}"


def _path_margin(r: dict) -> float:
    return float(np.log10(ls.PATH_RATIO_MAX / r["ratio"]))


def _figure(values: dict, paths: dict):
    fig, ax = new_figure(2, width=5.0, height=3.6)
    for i, (label, v) in enumerate(values.items()):
        ax[0].semilogy(np.full(v.size, i) + np.linspace(-0.2, 0.2, v.size),
                       np.maximum(v, 1e-16), "o", ms=3, label=label)
    ax[0].axhline(ls.VALUE_TOL, color="k", ls=":", lw=1, label="1e-8")
    ax[0].set(xticks=range(len(values)), xticklabels=["RIP", "spurious"],
              ylabel="f(U_T) / f(0)", title="random starts")
    ax[0].legend(fontsize=7)
    names = list(paths)
    ax[1].bar(range(len(names)), [paths[k]["ratio"] for k in names],
              color=["C0", "C0", "C3"][: len(names)])
    ax[1].axhline(ls.PATH_RATIO_MAX, color="k", ls=":", lw=1, label="threshold")
    ax[1].axhline(1.0, color="0.6", lw=0.8)
    ax[1].set(xticks=range(len(names)), xticklabels=names, ylabel="path length / distance",
              title="short path")
    ax[1].tick_params(axis="x", labelsize=7)
    ax[1].legend(fontsize=7)
    return fig


@timed
def run(size: str = "quick", seed: int | None = None) -> Outcome:
    """Random starts on a RIP and a spurious instance; path ratios for LS and U Vᵀ regression."""
    seed = 0 if seed is None else seed
    starts, (dim, rank), (m, n), (ld, lr, lm) = _SIZES[size]
    rip = ls.random_starts(ls.sensing_instance(dim, rank, seed=seed), rank, starts=starts,
                           seed=seed)
    spurious = ls.random_starts(ls.spurious_instance(SPURIOUS_DELTA), 1, starts=starts,
                                seed=seed)
    c_rip, c_sp = ls.check_starts(rip), ls.check_starts(spurious)
    A, b, x0 = ls.least_squares_instance(m, n, seed=seed)
    lsq = ls.path_ratio_least_squares(A, b, x0)
    big = ls.path_ratio_least_squares(A, b, x0, step=LARGE_STEP / np.linalg.norm(A, 2) ** 2)
    obj, start = ls.low_rank_instance(ld, lr, lm, seed=seed)
    low = ls.path_ratio_low_rank(obj, start)
    margin = min(c_rip.margin, _path_margin(lsq), _path_margin(low))
    complete = (c_rip.at_limit == 0 and lsq["converged"] and low["converged"]
                and low["projected"])
    criterion = (f"Gaussian sensing d = {dim}, r = {rank}, m = {10 * dim * rank}, U of width r: "
                 + _starts_text(c_rip, starts)
                 + f"; least squares {m} × {n}, step 1/‖A‖²: " + _path_text(lsq)
                 + f"; U Vᵀ regression d = {ld}, rank {lr}, m = {lm}: "
                 + _path_text(low) + f" (to the GD limit {low['ratio_to_limit']:.3f}). "
                 "Every run must end at the global value, a stationary point or the "
                 "certificate, and the projection must settle")
    c_margin = max(c_sp.margin, _path_margin(big))
    control = control_record(
        f"spurious 2 × 2 instance (RIP {SPURIOUS_DELTA}) and least squares at step "
        f"{LARGE_STEP}/‖A‖²",
        c_margin, "spurious instance: " + _starts_text(c_sp, starts) + "; large step: "
        + _path_text(big), c_sp.at_limit == 0 and big["converged"])
    table = {"starts": starts, "rip_values": rip.values, "spurious_values": spurious.values,
             "rip_reached": c_rip.reached, "spurious_reached": c_sp.reached,
             "least_squares": lsq, "low_rank": low, "least_squares_large_step": big,
             "value_tol": ls.VALUE_TOL, "path_ratio_max": ls.PATH_RATIO_MAX}
    notes = ("Margins: log10(1e-8 / worst f/f(0)) for the starts (the runs stop at 1e-10, so "
             "a full success reads about 2) and log10(1.5 / ratio) for the paths. The spurious "
             "minimum has f/f(0) = 3/4 exactly. For U Vᵀ the nearest global minimizer comes "
             "from a local Newton projection, so its ratio is a lower bound of the true one. "
             "Bad conditioning alone hardly lengthens the least-squares path from a random "
             "start (measured 1.21 at condition number 10), hence the large step as control.")
    return Outcome(NAME, "Landscape: no spurious minima, short paths", CLAIM, criterion,
                   decide(margin, complete), table,
                   _figure({"RIP": rip.values, "spurious": spurious.values},
                           {"least squares": lsq, "U Vᵀ regression": low,
                            f"LS, step {LARGE_STEP}/L": big}),
                   notes=notes, margin=margin, control=control, section="related", seed=seed)
