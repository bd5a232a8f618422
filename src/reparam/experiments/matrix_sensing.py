"""Matrix sensing from small random initialization (:mod:`reparam.models.matrix_sensing`).

Stöger & Soltanolkotabi (NeurIPS 2021) for ``X = U Uᵀ``, Soltanolkotabi, Stöger & Xie (COLT
2023) for ``X = U Vᵀ``: rank-2 truth, Gaussian measurements (fewer than the unknowns), factors
of full width ``k = d``, gradient descent from scale α for a fixed number of steps. The
criterion is :func:`reparam.models.matrix_sensing.check` on a sweep α ∈ {1e-3, 1e-4, 1e-5};
the control is the same check on α ∈ {1, 1/2, 1/4}, where the factors start as large as the
truth. The imbalance of ``U Vᵀ`` is judged by :func:`reparam.models.matrix_sensing.
check_balance` on a sweep α ∈ {0.1, 0.05, 0.025} with the step 0.1 (where the drift of the
discrete steps, about 0.01 η, is below α²); its control starts V at scale 1.
"""

from __future__ import annotations

import numpy as np

from ..models import matrix_sensing as ms
from ._common import Outcome, control_record, decide, log_samples, new_figure, timed

NAME = "matrix-sensing"
CLAIM = ("Stöger & Soltanolkotabi 2021; Soltanolkotabi, Stöger & Xie 2023: gradient descent on "
         "X = U Uᵀ or U Vᵀ (width d) from a small random initialization of scale α recovers a "
         "rank-r matrix from m < d² Gaussian measurements with an error that shrinks as α "
         "shrinks, the iterate stays effectively rank r, and U, V stay balanced.")

# (dim, rank, m for U Vᵀ, m for U Uᵀ (None: U Vᵀ only), iterations)
_SIZES = {"tiny": (8, 1, 40, None, 800), "quick": (12, 2, 120, 72, 2000),
          "full": (20, 2, 200, 120, 6000)}
ALPHAS = (1e-3, 1e-4, 1e-5)
CONTROL_ALPHAS = (1.0, 0.5, 0.25)
STEP = 0.3
# the imbalance sweep: scales where √(2d) α² (the start) dominates the drift K η of gradient
# descent (K ≈ 0.01), and its step; iterations per size (every run must be fitted)
BALANCE_ALPHAS = (0.1, 0.05, 0.025)
BALANCE_STEP = 0.1
_BALANCE_ITERATIONS = {"tiny": 1000, "quick": 1500, "full": 3000}


def _text(c: dict) -> str:
    out = (f"slope of log error vs log α {c['slope']:.2f} ≥ {ms.SLOPE_MIN}, "
           f"max σ_(r+1)/σ_r after σ_r grew {c['rank_ratio']:.2g} ≤ {ms.RANK_RATIO_MAX}")
    return out


def _balance_text(c: dict) -> str:
    return (f"slope of log max_t ‖UᵀU − VᵀV‖_F vs log α {c['slope']:.3f} within "
            f"{ms.IMBALANCE_SLOPE_TOL} of 2, max_t ‖UᵀU − VᵀV‖_F / (√(2d) α²) {c['ratio']:.3g} "
            f"≤ {ms.IMBALANCE_RATIO_MAX:g}")


def _figure(runs: dict, checks: dict):
    fig, ax = new_figure(4, width=4.2, height=3.6)
    for key, color in (("asymmetric", "C0"), ("symmetric", "C1")):
        if key not in runs:
            continue
        for rs, ls in ((runs[key], "-"), (runs[key + " control"], ":")):
            for r in rs:
                t, e = log_samples(r.error)
                ax[0].loglog(np.maximum(t, 1), e, color=color, ls=ls, lw=1)
        c, cc = checks[key], checks[key + " control"]
        a, e = zip(*sorted(zip(c["alpha"] + cc["alpha"], c["final_error"] + cc["final_error"])))
        ax[2].loglog(a, e, "o-", color=color, label=f"{key} (slope {c['slope']:.2f} on α ≤ 1e-3)")
    ax[0].set(xlabel="iteration t", ylabel="‖X_t − X*‖ / ‖X*‖",
              title="error (solid: α ≤ 1e-3, dotted: α ≥ 1/4)")
    r = runs["asymmetric"][-1]
    rc = runs["asymmetric control"][0]
    for i in range(r.singular_values.shape[1]):
        t, s = log_samples(r.singular_values[:, i])
        ax[1].loglog(np.maximum(t, 1), s, color=f"C{i}", label=f"σ_{i + 1}, α = {r.init_scale:g}")
        t, s = log_samples(rc.singular_values[:, i])
        ax[1].loglog(np.maximum(t, 1), s, color=f"C{i}", ls=":", label=f"σ_{i + 1}, α = 1")
    ax[1].set(xlabel="iteration t", ylabel="singular value of X_t", title="U Vᵀ: spectrum")
    ax[1].legend(fontsize=6)
    ax[2].set(xlabel="α", ylabel="final relative error", title="error against α")
    ax[2].legend(fontsize=7)
    for key, ls, what in (("balance", "-", f"η = {BALANCE_STEP}"),
                          ("balance control", ":", "V₀ at scale 1"),
                          ("asymmetric", "--", f"η = {STEP}")):
        for i, rr in enumerate(runs[key]):
            t, v = log_samples(rr.imbalance / rr.init_scale**2)
            ax[3].loglog(np.maximum(t, 1), v, color=f"C{i}", ls=ls,
                         label=f"α = {rr.init_scale:g}, {what}")
    ax[3].set(xlabel="iteration t", ylabel="‖UᵀU − VᵀV‖_F / α²", title="U Vᵀ: imbalance")
    ax[3].legend(fontsize=5)
    return fig


@timed
def run(size: str = "quick", seed: int | None = None) -> Outcome:
    """The three claims for U Vᵀ and U Uᵀ on a sweep of small α, the control at α ≥ 1/4."""
    seed = 0 if seed is None else seed
    dim, rank, m_asym, m_sym, iterations = _SIZES[size]
    runs, checks = {}, {}
    kinds = (("asymmetric", False, m_asym), ("symmetric", True, m_sym))
    for key, symmetric, m in kinds if m_sym else kinds[:1]:
        prob = ms.problem(dim, rank, m, symmetric=symmetric, seed=seed)
        for suffix, alphas in (("", ALPHAS), (" control", CONTROL_ALPHAS)):
            runs[key + suffix] = ms.sweep(prob, alphas, iterations=iterations, step=STEP,
                                               seed=seed + 1)
            checks[key + suffix] = ms.check(runs[key + suffix])
    claims = [k for k in checks if not k.endswith("control")]
    prob = ms.problem(dim, rank, m_asym, seed=seed)
    n_bal = _BALANCE_ITERATIONS[size]
    for suffix, v_scale in (("", None), (" control", 1.0)):
        runs["balance" + suffix] = ms.sweep(prob, BALANCE_ALPHAS, iterations=n_bal,
                                            step=BALANCE_STEP, seed=seed + 1,
                                            v_init_scale=v_scale)
    bal = ms.check_balance(runs["balance"])
    bal_control = ms.check_balance(runs["balance control"])
    margin = min(min(checks[k]["margin"] for k in claims), bal["margin"])
    complete = all(checks[k]["complete"] for k in claims) and bal["complete"]
    # the control fails when each of its parts fails its criterion
    c_margin = max(min(checks[k + " control"]["margin"] for k in claims), bal_control["margin"])
    c_complete = (all(checks[k + " control"]["complete"] for k in claims)
                  and bal_control["complete"])
    label = {"asymmetric": f"U Vᵀ (m = {m_asym})", "symmetric": f"U Uᵀ (m = {m_sym})"}
    criterion = (f"d = {dim}, r = {rank}, width d, T = {iterations} steps of size "
                 f"{STEP} (U Uᵀ: half), α ∈ {ALPHAS}. "
                 + ". ".join(f"{label[k]}: {_text(checks[k])}" for k in claims)
                 + f". U Vᵀ imbalance, α ∈ {BALANCE_ALPHAS}, {n_bal} steps of {BALANCE_STEP}: "
                 + _balance_text(bal)
                 + f". Every run must end with relative residual ≤ {ms.FIT_TOL:g}")
    control = control_record(
        f"α ∈ {CONTROL_ALPHAS} (claims 1–2); V₀ at scale 1, U₀ at α (imbalance)", c_margin,
        "; ".join(f"{label[k]}: {_text(checks[k + ' control'])}" for k in claims)
        + "; imbalance: " + _balance_text(bal_control), c_complete)
    table = {key: {**c, "error": [log_samples(r.error) for r in runs[key]],
                   "singular_values": [r.singular_values[:: max(1, iterations // 200)]
                                       for r in runs[key]],
                   "imbalance": [None if r.imbalance is None else log_samples(r.imbalance)
                                 for r in runs[key]]}
             for key, c in checks.items()}
    for key, c in (("balance", bal), ("balance control", bal_control)):
        table[key] = {**c, "imbalance_curves": [log_samples(r.imbalance) for r in runs[key]]}
    ratios = checks["asymmetric"]["imbalance_over_alpha2"]
    notes = ("Imbalance: conserved by the gradient flow, so it keeps its start, about "
             "√(2d) α²; each step of size η adds η²(VᵀGᵀGV − UᵀGGᵀU), a drift of about "
             "0.01 η gathered while X grows. On the sweep α ≤ 1e-3 with η = "
             f"{STEP} the drift dominates: max_t ‖UᵀU − VᵀV‖_F / α² is "
             + ", ".join(f"{v:.3g} (α = {a:g})" for v, a in zip(ratios, ALPHAS))
             + f" (relative to ½(‖U‖² + ‖V‖²) at the end: {checks['asymmetric']['balance']:.2g})"
             f"; the α² law is therefore judged on α ∈ {BALANCE_ALPHAS} with η = "
             f"{BALANCE_STEP}. The margin is the smallest of slope − {ms.SLOPE_MIN}, "
             f"{ms.IMBALANCE_SLOPE_TOL} − |imbalance slope − 2| and log10(threshold / "
             "measured ratio) of the other parts; the control's, the largest of its parts' "
             "(each part must fail).")
    return Outcome(NAME, "Matrix sensing from small random initialization", CLAIM, criterion,
                   decide(margin, complete), table, _figure(runs, checks), notes=notes,
                   margin=margin, control=control, section="related", seed=seed)
