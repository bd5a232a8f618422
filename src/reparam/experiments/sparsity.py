"""Sparsity (our experiment): how often each method recovers a sparse non-negative x*.

Beyond the paper's figures, with a claim we state ourselves. Reparametrized gradient descent
from a small initialization is biased towards the minimum-ℓ1 non-negative interpolant (Chou et
al. 2025, arXiv:2207.08437), so on 20 × 100 Gaussian problems its ‖x‖₁ should end near the
minimum ℓ1 norm over the non-negative solutions on every draw, while exact NNLS (the negative
control) carries no such bias and lands on some vertex of the solution set. Recovery rates
(a trial succeeds when ‖x − x*‖ / ‖x*‖ ≤ 0.05) are shown too; on these problems the
non-negative solution is often unique, and then every exact method recovers x* as well.
"""

from __future__ import annotations

import numpy as np

import reparam as rp
from reparam.implicit_bias import l1_limit

from ._common import (
    Outcome,
    control_record,
    decide,
    gaussian_problem,
    new_figure,
    relative_error,
    timed,
)

NAME = "sparsity"
CLAIM = ("Ours: on 20 × 100 Gaussian problems with an s-sparse non-negative truth, "
         "reparametrized GD (x = u², Nesterov momentum on u, α = 1e-3) ends within 5% of the "
         "minimum ℓ1 norm of the non-negative solutions on every draw; exact NNLS does not.")

_SIZES = {
    "tiny": ((20, 100), (2, 6), 1, 20_000),
    "quick": ((20, 100), (2, 4, 6, 8), 2, 20_000),
    "full": ((20, 100), (2, 4, 6, 8), 10, 50_000),
}
GAP_MAX = 0.05
_SUCCESS = 0.05
_ALPHA = 1e-3
_METHODS = ("reparam-nesterov", "reparam-gd", "exact NNLS", "ℓ1 (LP)")


def _solve(method: str, A, b, max_iter: int):
    """``(x, finished)``: finished is False for an iterative run that stopped at max_iter."""
    if method.startswith("reparam"):
        res = rp.nnls(A, b, method=method, init_scale=_ALPHA, tol=1e-8, max_iter=max_iter)
        return res.x, res.status is not rp.Status.MAX_ITER
    if method == "exact NNLS":
        return rp.nnls(A, b, method="active-set").x, True
    return l1_limit(A, b).x, True


@timed
def run(size: str = "quick", seed: int | None = None) -> Outcome:
    """Recovery rate against sparsity s for reparam-gd, exact NNLS and ℓ1 minimization."""
    (m, n), levels, trials, max_iter = _SIZES[size]
    seed = 0 if seed is None else seed
    rate = {k: [] for k in _METHODS}
    error = {k: [] for k in _METHODS}
    unfinished = 0
    gaps = {"reparam-nesterov": [], "exact NNLS": []}
    for s in levels:
        hits = {k: 0 for k in _METHODS}
        errs = {k: [] for k in _METHODS}
        for trial in range(trials):
            l1_of = {}
            A, b, x_true = gaussian_problem(m, n, s, seed=seed + 1000 * s + trial)
            for method in _METHODS:
                x, finished = _solve(method, A, b, max_iter)
                unfinished += method == "reparam-nesterov" and not finished
                if method == "ℓ1 (LP)":
                    lp = float(np.sum(x))
                e = relative_error(x, x_true)
                errs[method].append(e)
                hits[method] += e <= _SUCCESS
                l1_of[method] = float(np.sum(x))
            for method, values in gaps.items():
                values.append(l1_of[method] / lp - 1.0)
        for method in _METHODS:
            rate[method].append(hits[method] / trials)
            error[method].append(float(np.median(errs[method])))
    worst = float(np.max(gaps["reparam-nesterov"]))
    margin = GAP_MAX - worst
    verdict = decide(margin, complete=unfinished == 0)
    criterion = (f"max over every draw (s ∈ {list(levels)}, {trials} each) of ‖x‖₁ / min-ℓ1 − 1 "
                 f"≤ {GAP_MAX:.0%} for reparam-nesterov ({worst:.2%}), each run to kkt ≤ 1e-8 "
                 f"within {max_iter} iterations ({unfinished} stopped at max_iter)")
    worst_nnls = float(np.max(gaps["exact NNLS"]))
    control = control_record("exact NNLS (active set) in place of reparametrized GD",
                             GAP_MAX - worst_nnls, f"max ℓ1 gap {worst_nnls:.2%}")
    fig, ax = new_figure(2, width=5.0)
    for method, marker in zip(_METHODS, ("o-", "o:", "s--", "^:")):
        ax[0].plot(levels, rate[method], marker, label=method)
        ax[1].semilogy(levels, error[method], marker, label=method)
    ax[0].set(xlabel="sparsity s", ylabel="recovery rate", ylim=(-0.05, 1.05),
              title=f"{m} × {n}, {trials} trial(s) per s")
    ax[1].axhline(_SUCCESS, color="k", lw=0.8, ls=":", label="success threshold")
    ax[1].set(xlabel="sparsity s", ylabel="median ‖x − x*‖ / ‖x*‖", title="recovery error")
    for a in ax:
        a.legend()
    table = {"sparsity": list(levels), "rate": rate, "median_error": error, "trials": trials,
             "shape": [m, n], "l1_gap": gaps, "unfinished": unfinished}
    notes = ("Plain reparam-gd converges like O(1/k) on these interpolation problems, so within "
             "the same iteration budget its optimization error, not its limit, decides trials "
             "at large s; the verdict uses the momentum variant (same parametrization and "
             "initialization), plain reparam-gd is shown alongside.")
    return Outcome(NAME, "Recovery rate against sparsity", CLAIM, criterion, verdict, table, fig,
                   notes=notes, margin=margin, control=control, section="ours", seed=seed)
