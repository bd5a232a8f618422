"""Init scale: which solution reparametrized gradient descent finds, as a function of α.

Chou et al. (2025, arXiv:2207.08437), implicit ℓ1 bias, at the settings of the authors'
script: 10 rows, 50 unknowns, a 3-sparse truth, seed 3 (:func:`._common.paper_problem`);
their Riemannian GD with η = 0.1 (their convention: our ``step = η/L``), γ = 0, L ∈ {2, 3},
u0 = α·1 for α ∈ logspace(−3, −1, 5), at most T = 5·10⁵ steps, stopping when
‖A x_t − b‖₂ < 1e-6 as their solver does. The reference lines of their figure are
Lawson–Hanson (scipy), the signed basis-pursuit minimum and a generic convex NNLS solution
(theirs from a conic solver; here :func:`interior_point_nnls`, which lands in the interior of
the solution set); we add the minimum-ℓ1 non-negative solution (the LP) and the predicted
limits of :func:`reparam.implicit_bias.limit`.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize

import reparam as rp
from reparam.implicit_bias import l1_limit, limit
from reparam.parametrizations import Power

from ._common import (
    Outcome,
    control_record,
    decide,
    log_samples,
    new_figure,
    paper_gd,
    paper_problem,
    timed,
    unfinished_note,
)

NAME = "init-scale"
CLAIM = ("The paper: gradient descent on x = u^L (L = 2, 3) from u0 = α·1 is implicitly biased "
         "towards small ℓ1 norm — ‖x_T‖₁ decreases as α → 0 towards the minimum ℓ1 norm of the "
         "non-negative solutions of Ax = b, while Lawson–Hanson and a generic convex NNLS "
         "solver return other solutions.")

PAPER = {"n": 50, "m": 10, "s": 3, "seed": 3, "eta": 0.1, "gamma": 0.0, "depths": (2, 3),
         "alphas": np.logspace(-3, -1, 5), "T": 500_000}
_T = {"tiny": 3_000, "quick": 10_000, "full": PAPER["T"]}
_TINY_ALPHAS = np.logspace(-1.5, -1, 2)

# The criterion's thresholds, fixed before the runs: within 5% of the LP value at the smallest
# α, at least 1% of the LP value between the largest and the smallest α (α matters), and
# ‖x‖₁ non-decreasing in α up to 0.1% (the discrete steps wobble around the flow).
GAP_MAX, SPREAD_MIN, WOBBLE = 0.05, 0.01, 1e-3


def interior_point_nnls(A, b, *, tol: float = 1e-10, max_iter: int = 200) -> np.ndarray:
    """A generic convex solution of ``min ½‖Az − b‖², z ≥ 0`` by a primal-dual interior point.

    Path following on the optimality conditions ``AᵀA z − Aᵀb = s``, ``z ⊙ s = σμ·1``,
    ``z, s > 0`` with centring σ = 0.1, Newton steps and the fraction to the boundary 0.99,
    from ``z = s = 1`` until the dual residual and the mean complementarity ``zᵀs / n`` are
    below ``tol`` (Wright, Primal-Dual Interior-Point Methods, 1997, Ch. 5, for this monotone
    complementarity problem). Every iterate is strictly positive, so when the solution set
    is more than a point the answer lies in its relative interior — the kind of solution a
    general-purpose interior-point solver returns, and not a sparse one. When that set is
    unbounded (a non-negative null vector of A exists), which interior point comes out depends
    on the start, as for any such solver.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 1.0]]); b = np.array([2.0])
    >>> np.round(interior_point_nnls(A, b), 4)  # inside the segment x1 + x2 = 2, x >= 0
    array([1., 1.])
    """
    A, b = np.asarray(A, float), np.asarray(b, float)
    n = A.shape[1]
    G, c = A.T @ A, A.T @ b
    scale = 1.0 + float(np.max(np.abs(c)))
    z, s = np.ones(n), np.ones(n)
    for _ in range(max_iter):
        r = G @ z - c - s
        mu = float(z @ s) / n
        if np.max(np.abs(r)) <= tol * scale and mu <= tol * scale:
            break
        rhs = -r + 0.1 * mu / z - s
        dz = np.linalg.solve(G + np.diag(s / z), rhs)
        ds = (0.1 * mu - z * s - s * dz) / z
        step = 1.0
        for v, dv in ((z, dz), (s, ds)):
            neg = dv < 0
            if np.any(neg):
                step = min(step, 0.99 * float(np.min(-v[neg] / dv[neg])))
        z, s = z + step * dz, s + step * ds
    return z


def signed_basis_pursuit(A, b) -> np.ndarray:
    """``argmin ‖x‖₁ s.t. Ax = b`` (no sign constraint): the LP over x = p − q, p, q ≥ 0."""
    A, b = np.asarray(A, float), np.asarray(b, float)
    n = A.shape[1]
    res = scipy.optimize.linprog(np.ones(2 * n), A_eq=np.hstack([A, -A]), b_eq=b,
                                 bounds=(0, None), method="highs")
    if res.status != 0:
        raise RuntimeError(f"basis pursuit LP failed: {res.message}")
    return res.x[:n] - res.x[n:]


def references(A, b) -> dict:
    """The reference lines: Lawson–Hanson, signed basis pursuit, interior-point NNLS, LP."""
    x_lh = scipy.optimize.nnls(A, b)[0]
    return {"lawson_hanson": float(np.sum(np.abs(x_lh))),
            "signed_basis_pursuit": float(np.sum(np.abs(signed_basis_pursuit(A, b)))),
            "interior_point": float(np.sum(interior_point_nnls(A, b))),
            "lp": float(np.sum(l1_limit(A, b).x))}


def judge(l1: np.ndarray, lp: float) -> tuple[float, dict]:
    """The criterion on ‖x‖₁ against increasing α: signed margin and its three parts."""
    l1 = np.asarray(l1, float)
    gap = (l1[0] - lp) / lp
    spread = (l1[-1] - l1[0]) / lp
    steps = np.diff(l1) / l1[:-1]
    worst_step = float(np.min(steps)) if steps.size else 0.0
    parts = {"gap_to_lp": float(gap), "spread": float(spread), "worst_step": worst_step}
    margin = min(GAP_MAX - gap, spread - SPREAD_MIN, worst_step + WOBBLE)
    return float(margin), parts


def _text(parts: dict) -> str:
    return (f"gap to the LP at the smallest α {parts['gap_to_lp']:.2%} ≤ {GAP_MAX:.0%}, "
            f"spread over α {parts['spread']:.2%} ≥ {SPREAD_MIN:.0%}, smallest relative "
            f"step in α {parts['worst_step']:+.2%} ≥ −{WOBBLE:.1%}")


def sweep(A, b, x_true, alphas, *, max_iter: int, tol: float = 1e-7) -> dict:
    """reparam-gd (x = u², our step convention) for each init scale α, with its predicted limit.

    Used by ``reparam demo``. Returns a table: ``alpha``, ``l1_gd``, ``l1_limit``, ``l1_lp``
    (repeated), ``error_gd``, ``error_limit``, ``error_lp`` (‖x − x_true‖₂), ``n_iter``,
    ``kkt``, ``deviation`` (‖x_gd − x_limit‖∞ / ‖x_limit‖∞), and the solutions ``x_gd``,
    ``x_limit``, ``x_lp``.
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


def _figure(table: dict, curves: dict, T: int):
    fig, ax = new_figure(3, width=4.6, height=3.8)
    a = table["alpha"]
    refs = (("lawson_hanson", "Lawson–Hanson (scipy)", "tab:brown", "--"),
            ("interior_point", "interior-point NNLS", "salmon", "--"),
            ("signed_basis_pursuit", "signed basis pursuit", "k", "--"),
            ("lp", "non-negative LP (min ℓ1)", "tab:green", ":"))
    for depth, marker, color in (("2", "x", "C0"), ("3", "o", "C1")):
        ax[0].semilogx(a, table["l1"][depth], marker=marker, color=color, label=f"GD, L = {depth}")
        ax[0].semilogx(a, table["predicted_limit"][depth], ls=(0, (1, 1)), color=color, lw=1,
                       label=f"predicted limit, L = {depth}")
    shown = np.concatenate([table["l1"]["2"], table["l1"]["3"]])
    top = 1.15 * max(float(np.max(shown)), table["lawson_hanson"])
    bottom = 0.97 * min(float(np.min(shown)), table["signed_basis_pursuit"])
    for key, label, color, ls in refs:
        if table[key] > top:  # a generic interior solution can be far off this scale
            ax[0].plot([], [], color=color, ls=ls, label=f"{label}: {table[key]:.4g} (off scale)")
        else:
            ax[0].axhline(table[key], color=color, ls=ls, lw=1, label=label)
    ax[0].set(xlabel="magnitude of initialization α", ylabel="‖x_T‖₁", ylim=(bottom, top),
              title="implicit bias")
    ax[0].legend(fontsize=7)
    for panel, depth in zip(ax[1:], ("2", "3")):
        for alpha, (t, r) in zip(a, curves[depth]):
            panel.semilogy(np.maximum(t, 1), r, label=f"{alpha:.2e}")
        panel.set(xlabel="iteration t", ylabel="‖A x_t − b‖₂", ylim=(1e-7, 1e1),
                  title=f"GD, L = {depth} (T = {T:g})")
        panel.axhline(1e-6, color="0.5", lw=0.8, ls=":")
        panel.legend(title="α", fontsize=7)
    return fig


@timed
def run(size: str = "quick", seed: int | None = None) -> Outcome:
    """‖x_T‖₁ against α for L = 2 and 3 on the paper's 10 × 50 problem, with reference lines."""
    seed = PAPER["seed"] if seed is None else seed
    A, b, _ = paper_problem(PAPER["n"], PAPER["m"], PAPER["s"], seed)
    alphas = _TINY_ALPHAS if size == "tiny" else PAPER["alphas"]
    T = _T[size]
    table = {"alpha": [float(a) for a in alphas], "l1": {}, "iterations": {},
             "reached_tol": {}, "predicted_limit": {}} | references(A, b)
    curves, margins, complete, parts, every = {}, {}, {}, {}, {}
    for depth in PAPER["depths"]:
        key = str(depth)
        runs = [paper_gd(A, b, alpha=a, eta=PAPER["eta"], T=T, depth=depth,
                         gamma=PAPER["gamma"]) for a in alphas]
        every.update({f"L = {depth}, α = {a:.0e}": r for a, r in zip(alphas, runs)})
        table["l1"][key] = [float(np.sum(r.x)) for r in runs]
        table["iterations"][key] = [r.n_iter for r in runs]
        table["reached_tol"][key] = [r.reached for r in runs]
        table["predicted_limit"][key] = [
            float(np.sum(limit(A, b, Power(depth), init_scale=float(a)).x)) for a in alphas]
        curves[key] = [log_samples(r.residual) for r in runs]
        margins[key], parts[key] = judge(table["l1"][key], table["lp"])
        complete[key] = all(r.reached for r in runs)
    table["residual"] = {k: [{"t": t, "residual": r} for t, r in v] for k, v in curves.items()}
    table["verdict_per_depth"] = {k: decide(margins[k], complete[k]) for k in margins}
    table["criterion_parts"] = parts
    margin = min(margins.values())
    verdict = decide(margin, all(complete.values()))
    cut = [f"L = {k}: {sum(not r for r in table['reached_tol'][k])} of {len(alphas)} runs at T"
           for k in margins if not complete[k]]
    criterion = ("for L = 2 and L = 3, on ‖x_T‖₁ against α: " + "; ".join(
        f"L = {k}: {_text(parts[k])} ({table['verdict_per_depth'][k]})" for k in margins)
        + f"; every run must stop by ‖A x_t − b‖ < 1e-6 within T = {T:g}"
        + (f" ({', '.join(cut)})" if cut else " (all did)"))
    lh = [table["lawson_hanson"]] * len(alphas)
    lh_margin, lh_parts = judge(lh, table["lp"])
    control = control_record("Lawson–Hanson (scipy.optimize.nnls, which has no α)", lh_margin,
                             _text(lh_parts))
    notes = ("Step convention: the paper's η = 0.1 is our riemannian-gd step η/L. "
             "The margin is the smallest slack of the three conditions over L (relative to the "
             "LP value). The authors' stopping rule ‖A x_t − b‖₂ < 1e-6 is applied; a run "
             "without it at T makes the verdict inconclusive. " + unfinished_note(every, T))
    return Outcome(NAME, "Init scale and the implicit ℓ1 bias", CLAIM, criterion, verdict, table,
                   _figure(table, curves, T), notes=notes, margin=margin, control=control,
                   seed=seed)
