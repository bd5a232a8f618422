"""Init scale: which solution reparametrized gradient descent finds, as a function of α.

Chou et al. (2025, arXiv:2207.08437), implicit ℓ1 bias: gradient descent on x = u ⊙ u from
u0 = α·1 converges to the Bregman projection of α²·1 onto {x ≥ 0 : Ax = b}
(:func:`reparam.implicit_bias.limit`); as α → 0 it tends to the minimum-ℓ1 non-negative solution
(an LP, :func:`reparam.implicit_bias.l1_limit`). When the NNLS solution is unique (M > N) α does
not matter.
"""

from __future__ import annotations

import numpy as np

import reparam as rp
from reparam.implicit_bias import l1_limit, limit
from reparam.parametrizations import Power

from ._common import Outcome, gaussian_problem, new_figure, timed

NAME = "init-scale"
CLAIM = ("Small initialization biases reparametrized GD towards the minimum-ℓ1 non-negative "
         "solution: ‖x∞‖₁ decreases to the LP value as α → 0 and equals the predicted Bregman "
         "limit; with a unique NNLS solution (M > N) α does not matter.")

_SIZES = {
    # (underdetermined (M, N, s)), alphas, max_iter
    "tiny": ((10, 30, 3), np.array([3e-2, 3e-1, 1.0]), 10_000),
    "quick": ((20, 60, 4), np.geomspace(1e-3, 1.0, 5), 20_000),
    "full": ((50, 200, 5), np.geomspace(1e-4, 1.0, 9), 100_000),
}
_OVER = (50, 10, 5)  # the paper's M = 50, N = 10
_TOL = 1e-7


def sweep(A, b, x_true, alphas, *, max_iter: int, tol: float = _TOL) -> dict:
    """reparam-gd for each init scale α, with its predicted limit and the LP solution.

    Returns a table: ``alpha``, ``l1_gd``, ``l1_limit``, ``l1_lp`` (repeated), ``error_gd``,
    ``error_limit``, ``error_lp`` (‖x − x_true‖₂), ``n_iter``, ``kkt``, ``deviation``
    (‖x_gd − x_limit‖∞ / ‖x_limit‖∞), and ``x_gd`` / ``x_limit`` / ``x_lp`` (solutions).
    """
    x_lp = l1_limit(A, b).x
    rows = {k: [] for k in ("alpha", "l1_gd", "l1_limit", "error_gd", "error_limit", "n_iter",
                            "kkt", "deviation", "x_gd", "x_limit")}
    for alpha in alphas:
        res = rp.nnls(A, b, method="reparam-gd", depth=2, init_scale=float(alpha), tol=tol,
                      max_iter=max_iter)
        x_lim = limit(A, b, Power(2), init_scale=float(alpha)).x
        rows["alpha"].append(float(alpha))
        rows["l1_gd"].append(float(np.sum(res.x)))
        rows["l1_limit"].append(float(np.sum(x_lim)))
        rows["error_gd"].append(float(np.linalg.norm(res.x - x_true)))
        rows["error_limit"].append(float(np.linalg.norm(x_lim - x_true)))
        rows["n_iter"].append(int(res.n_iter))
        rows["kkt"].append(float(res.kkt))
        rows["deviation"].append(float(np.max(np.abs(res.x - x_lim)) / np.max(np.abs(x_lim))))
        rows["x_gd"].append(res.x)
        rows["x_limit"].append(x_lim)
    rows["l1_lp"] = [float(np.sum(x_lp))] * len(rows["alpha"])
    rows["error_lp"] = float(np.linalg.norm(x_lp - x_true))
    rows["x_lp"] = x_lp
    rows["x_true"] = x_true
    return rows


def _judge(under: dict, over: dict) -> tuple[bool, str]:
    l1_gd, l1_lim = np.array(under["l1_gd"]), np.array(under["l1_limit"])
    lp = under["l1_lp"][0]
    agree = float(np.max(np.abs(l1_gd - l1_lim) / l1_lim))
    # ‖x∞‖₁ non-decreasing in α, up to 1% (the discrete steps wobble around the flow)
    monotone = bool(np.all(np.diff(l1_gd) >= -0.01 * l1_gd[:-1]))
    gap = float((l1_gd[0] - lp) / lp)
    over_l1 = np.array(over["l1_gd"])
    spread = float((over_l1.max() - over_l1.min()) / over_l1.max())
    ok = agree <= 0.05 and monotone and gap <= 0.10 and spread <= 0.01
    text = (f"underdetermined: ‖x_gd‖₁ within 5% of the predicted limit for every α (max "
            f"{agree:.1%}), non-decreasing in α ({'yes' if monotone else 'no'}), within 10% of "
            f"the LP value at the smallest α ({gap:.1%}); M > N: spread of ‖x_gd‖₁ over α ≤ 1% "
            f"({spread:.2%})")
    return ok, text


def _figure(under: dict, over: dict, shape_under, shape_over):
    fig, ax = new_figure(3, width=4.2)
    a = under["alpha"]
    ax[0].semilogx(a, under["l1_gd"], "o", label="reparam-gd")
    ax[0].semilogx(a, under["l1_limit"], "-", label="predicted limit")
    ax[0].axhline(under["l1_lp"][0], ls="--", color="k", label="LP (min ℓ1)")
    ax[0].set(xlabel="init scale α", ylabel="‖x∞‖₁", yscale="log",
              title=f"{shape_under[0]} × {shape_under[1]} (underdetermined)")
    ax[0].legend()
    ax[1].loglog(a, under["error_gd"], "o-", label="reparam-gd")
    ax[1].loglog(a, under["error_limit"], "--", label="predicted limit")
    if under["error_lp"] > 1e-8:
        ax[1].axhline(under["error_lp"], ls=":", color="k", label="LP")
    else:
        ax[1].plot([], [], " ", label=f"LP: error {under['error_lp']:.0e}")
    ax[1].set(xlabel="init scale α", ylabel="‖x∞ − x*‖₂", title="recovery error")
    ax[1].legend()
    ax[2].semilogx(over["alpha"], over["l1_gd"], "o", label="reparam-gd")
    ax[2].semilogx(over["alpha"], over["l1_limit"], "-", label="predicted limit")
    ax[2].axhline(over["l1_lp"][0], ls="--", color="k", label="LP")
    ax[2].set(xlabel="init scale α", ylabel="‖x∞‖₁",
              title=f"{shape_over[0]} × {shape_over[1]} (unique solution)")
    mid = over["l1_lp"][0]
    ax[2].set_ylim(0.98 * mid, 1.02 * mid)  # ±2%: flat in α
    ax[2].legend()
    return fig


@timed
def run(size: str = "quick", seed: int = 0) -> Outcome:
    """‖x∞‖₁ and recovery error against α on an underdetermined and an overdetermined problem."""
    (m, n, s), alphas, max_iter = _SIZES[size]
    A, b, x_true = gaussian_problem(m, n, s, seed=seed)
    under = sweep(A, b, x_true, alphas, max_iter=max_iter)
    A2, b2, x2 = gaussian_problem(*_OVER, seed=seed)
    over = sweep(A2, b2, x2, alphas, max_iter=max_iter)
    verdict, criterion = _judge(under, over)
    table = {
        f"under_{k}": v for k, v in under.items() if not k.startswith("x_")
    } | {f"over_{k}": v for k, v in over.items() if not k.startswith("x_")}
    table["shape_under"], table["shape_over"] = [m, n], list(_OVER[:2])
    return Outcome(NAME, "Init scale and the implicit ℓ1 bias", CLAIM, criterion, verdict, table,
                   _figure(under, over, (m, n), _OVER))
