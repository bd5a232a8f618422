"""Coordinates: the path of each entry of x under reparametrized gradient descent.

Chou et al. (2025, arXiv:2207.08437): gradient descent on u with x = u ⊙ u keeps x > 0 without
any projection (u = 0 is never crossed for small steps); from a small initialization the entries
of the solution's support rise one after another (incremental learning) while the others decay,
and the path ends at the predicted Bregman limit.
"""

from __future__ import annotations

import numpy as np

import reparam as rp
from reparam.implicit_bias import limit
from reparam.parametrizations import Power

from ._common import Outcome, gaussian_problem, new_figure, timed

NAME = "coordinates"
CLAIM = ("Reparametrized GD keeps every coordinate of x strictly positive without projection; "
         "support coordinates rise while the others decay, and the path ends at the predicted "
         "limit.")

_SIZES = {"tiny": ((10, 20, 2), 5_000), "quick": ((30, 50, 4), 30_000),
          "full": ((30, 50, 4), 200_000)}
_ALPHA = 1e-3


@timed
def run(size: str = "quick", seed: int = 0) -> Outcome:
    """Trajectories of the coordinates of x for one underdetermined problem (30 × 50)."""
    (m, n, s), max_iter = _SIZES[size]
    A, b, x_true = gaussian_problem(m, n, s, seed=seed)
    marks = set(np.unique(np.geomspace(1, max_iter, 200).astype(int)).tolist())
    path_k, path_x = [0], [np.full(n, _ALPHA**2)]
    smallest = [_ALPHA**2]

    def record(state) -> bool:
        smallest[0] = min(smallest[0], float(np.min(state.x)))
        if state.k in marks:
            path_k.append(state.k)
            path_x.append(state.x.copy())
        return False

    res = rp.nnls(A, b, method="reparam-gd", init_scale=_ALPHA, tol=1e-10, max_iter=max_iter,
                  callback=record)
    path_k.append(res.n_iter)
    path_x.append(res.x.copy())
    x_lim = limit(A, b, Power(2), init_scale=_ALPHA).x
    deviation = float(np.max(np.abs(res.x - x_lim)) / np.max(x_lim))
    positive = smallest[0] > 0
    verdict = bool(positive and deviation <= 0.02)
    criterion = (f"min over the whole path of min_i x_i > 0 ({smallest[0]:.1e}); final "
                 f"‖x − x_limit‖∞ / ‖x_limit‖∞ ≤ 2% ({deviation:.2%}) after {res.n_iter} "
                 f"iterations (kkt {res.kkt:.1e})")
    X = np.array(path_x)
    support = x_lim > 1e-3 * np.max(x_lim)
    fig, ax = new_figure(2, width=5.0)
    k = np.maximum(np.array(path_k), 1)
    for i in range(n):
        style = {"color": "tab:blue", "lw": 1.4} if support[i] else {"color": "0.6", "lw": 0.7}
        ax[0].loglog(k, np.maximum(X[:, i], 1e-300), **style)
        ax[1].semilogx(k, X[:, i], **style)
    ax[0].set_ylim(max(np.min(X[X > 0]), 1e-20), 2 * np.max(X))
    ax[0].set(xlabel="iteration k", ylabel="x_i (log scale)",
              title=f"{m} × {n}, α = {_ALPHA:g}: all {n} coordinates")
    ax[1].plot([], [], color="tab:blue", label="support of the limit")
    ax[1].plot([], [], color="0.6", label="other coordinates")
    ax[1].scatter(np.full(int(support.sum()), k[-1]), x_lim[support], marker="x", color="k",
                  zorder=3, label="predicted limit")
    ax[1].set(xlabel="iteration k", ylabel="x_i", title="linear scale")
    ax[1].legend()
    table = {"iteration": path_k, "x": X, "x_limit": x_lim, "x_true": x_true,
             "min_entry": smallest[0], "deviation": deviation, "n_iter": res.n_iter,
             "kkt": res.kkt, "shape": [m, n], "init_scale": _ALPHA}
    return Outcome(NAME, "Coordinate trajectories", CLAIM, criterion, verdict, table, fig)
