"""Sparsity: how often each method recovers an s-sparse non-negative x* from M < N measurements.

Chou et al. (2025, arXiv:2207.08437, Sec. 5): reparametrized gradient descent from a small
initialization is biased towards the minimum-ℓ1 non-negative interpolant, so it recovers sparse
non-negative vectors as ℓ1 minimization does; an exact NNLS solver carries no such bias in the
underdetermined case. A trial succeeds when ‖x − x*‖ / ‖x*‖ ≤ 0.05.
"""

from __future__ import annotations

import numpy as np

import reparam as rp
from reparam.implicit_bias import l1_limit

from ._common import Outcome, gaussian_problem, new_figure, relative_error, timed

NAME = "sparsity"
CLAIM = ("Reparametrized GD with small initialization recovers sparse non-negative vectors as "
         "reliably as ℓ1 minimization (its implicit bias), across sparsity levels.")

_SIZES = {
    "tiny": ((30, 75), (2, 5, 8), 1, 3_000),
    "quick": ((200, 500), (10, 40, 70, 100), 2, 5_000),
    "full": ((200, 500), tuple(range(10, 101, 10)), 20, 50_000),
}
_SUCCESS = 0.05
_ALPHA = 1e-3
_METHODS = ("reparam-nesterov", "reparam-gd", "exact NNLS", "ℓ1 (LP)")


def _solve(method: str, A, b, max_iter: int):
    if method.startswith("reparam"):
        return rp.nnls(A, b, method=method, init_scale=_ALPHA, tol=1e-8, max_iter=max_iter).x
    if method == "exact NNLS":
        return rp.nnls(A, b, method="active-set").x
    return l1_limit(A, b).x


@timed
def run(size: str = "quick", seed: int = 0) -> Outcome:
    """Recovery rate against sparsity s for reparam-gd, exact NNLS and ℓ1 minimization."""
    (m, n), levels, trials, max_iter = _SIZES[size]
    rate = {k: [] for k in _METHODS}
    error = {k: [] for k in _METHODS}
    for s in levels:
        hits = {k: 0 for k in _METHODS}
        errs = {k: [] for k in _METHODS}
        for trial in range(trials):
            A, b, x_true = gaussian_problem(m, n, s, seed=seed + 1000 * s + trial)
            for method in _METHODS:
                e = relative_error(_solve(method, A, b, max_iter), x_true)
                errs[method].append(e)
                hits[method] += e <= _SUCCESS
        for method in _METHODS:
            rate[method].append(hits[method] / trials)
            error[method].append(float(np.median(errs[method])))
    gd, l1 = np.array(rate["reparam-nesterov"]), np.array(rate["ℓ1 (LP)"])
    gap = float(np.mean(np.abs(gd - l1)))
    verdict = bool(gap <= 0.2)
    criterion = (f"mean over s of |rate(reparam-nesterov) − rate(ℓ1)| ≤ 0.2 ({gap:.2f}); success "
                 f"= relative error ≤ {_SUCCESS:g}; reparametrized GD (x = u², Nesterov momentum "
                 f"on u) from α = {_ALPHA:g}, at most {max_iter} iterations")
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
             "shape": [m, n], "gap": gap}
    notes = ("Plain reparam-gd converges like O(1/k) on these interpolation problems, so within "
             "the same iteration budget its optimization error, not its limit, decides trials "
             "at large s; the verdict uses the momentum variant (same parametrization and "
             "initialization), plain reparam-gd is shown alongside.")
    return Outcome(NAME, "Recovery rate against sparsity", CLAIM, criterion, verdict, table, fig,
                   notes=notes)
