"""Optimal transport as a linear program: the diagonal network against HiGHS and Sinkhorn.

``python -m benchmarks.lp_ot_vs_highs [--sizes 100 200 400] [--epsilons 0.01 0.001]
[--highs-max 400] [--tol 1e-6] [--max-iter 20000]``; ``--sizes 100 200 400 800 1000 2000
--highs-max 2000`` for the full range (long: Sinkhorn and the network cost O(n^2) per iteration).

The transport LP ``min <C, P>`` s.t. ``P 1 = a``, ``P^T 1 = b``, ``P >= 0`` has n^2 variables.
A diagonal linear network ``P = u * u`` trained by gradient flow on ``0.5 ||marginals(P) -
(a, b)||^2`` from ``u0 = exp(-C / (2 eps))`` converges to the entropic plan of regularization
``eps``, which tends to an LP solution as ``eps -> 0`` (Wang, Ghosal & Mazumder 2023, "Linear
programming using diagonal linear networks", arXiv 2310.02535; Chou et al. 2025, Sec. 6). Here it
is :func:`reparam.constrained.entropic_ot` with ``method="reparam-gd"`` (the flow integrated
exactly for a frozen gradient, Armijo steps; the marginal map is a LinearOperator, O(n^2)
memory).

Problem (seeded, :func:`benchmarks.ot_vs_pot.problem`): n points uniform in the unit square on
each side, squared Euclidean cost scaled to max 1, random positive marginals (uniform on
[0.5, 1.5], normalized). For each n:

* ``HiGHS`` — ``scipy.optimize.linprog(method="highs")`` on the sparse 2n x n^2 marginal matrix
  (:func:`benchmarks.ot_vs_pot.marginal_matrix`, 2 n^2 nonzeros: 128 MB at n = 2000): the
  exact LP and the reference cost OT. Above ``--highs-max``, or when it stops at
  ``--highs-time-limit`` seconds, POT's exact network simplex ``ot.emd`` gives the reference
  instead (marked ``ref = emd``). Its CPU time measured 0.09, 0.44, 2.2, 25, 40 and 167 s at
  n = 100, 200, 400, 800, 1000, 2000 (one BLAS thread; 4 million variables at n = 2000, where
  its cost is within 5e-8 of emd's), against 0.65 s for emd at n = 2000;
* ``POT emd`` — the network simplex, a second exact solver, for its time;
* for each ``eps``: ``diagonal net`` (above) and ``Sinkhorn`` — POT's
  ``ot.sinkhorn(method="sinkhorn_log")``, the same entropic problem, so both should give the same
  cost up to ``--tol``; both stop when the l1 marginal error relative to the mass is below
  ``--tol``.

Columns: CPU seconds (one run each, measured in this run, one BLAS thread), the relative objective gap
``(<C, P> - OT) / OT`` (the entropic bias, which only ``eps`` controls), the l1 marginal error
relative to the mass, iterations and status. POT comes from the ``bench`` extra.

Memory: nothing of size n^2 x n^2 is built. The network keeps the plan, its gradient and a few
vectors of length n^2 (peak RSS 0.54 GB at n = 2000; 193 iterations, 43 CPU s at
``eps = 0.01`` there, against 26 s for POT's Sinkhorn). The
relative gap at a fixed ``eps`` grows with n (measured): the optimal cost falls with n, the
entropic bias falls slower, so ``eps`` must shrink with n for a fixed relative gap (and the
iterations of both entropic solvers grow like 1/eps).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks.ot_vs_pot import highs, problem
from reparam.constrained import entropic_ot


def marginal_error(P: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    return float((np.abs(P.sum(axis=1) - a).sum() + np.abs(P.sum(axis=0) - b).sum()) / a.sum())


def timed(fn):
    """``fn()`` and its CPU seconds (all threads): on a machine shared with other jobs, wall
    time measures the neighbours as much as the solver."""
    t0 = time.process_time()
    out = fn()
    return out, time.process_time() - t0


def run_size(n: int, epsilons: list[float], *, tol: float, max_iter: int, highs_max: int,
             highs_time_limit: float | None = None, seed: int = 0) -> list[dict]:
    import ot  # POT, from the bench extra

    a, b, C = problem(n, seed)
    rows = []

    def row(solver, eps, P, seconds, n_iter="-", status="-"):
        rows.append({"n": n, "solver": solver, "eps": eps, "time": seconds,
                     "cost": float(np.sum(C * P)), "marg": marginal_error(P, a, b),
                     "n_iter": n_iter, "status": status})

    ref = "emd"
    if n <= highs_max:
        P, seconds = timed(lambda: highs(a, b, C, time_limit=highs_time_limit))
        if P is None:  # stopped by the time limit: no plan, emd gives the reference
            rows.append({"n": n, "solver": "HiGHS", "eps": "-", "time": seconds,
                         "cost": np.nan, "marg": np.nan, "n_iter": "-",
                         "status": f"time limit {highs_time_limit:g} s"})
        else:
            row("HiGHS", "-", P, seconds, status="optimal")
            ref = "HiGHS"
    P, seconds = timed(lambda: ot.emd(a, b, C, numItermax=10**8))
    row("POT emd", "-", P, seconds)
    for eps in epsilons:
        res, seconds = timed(lambda eps=eps: entropic_ot(a, b, C, eps, method="reparam-gd",
                                                        tol=tol, max_iter=max_iter))
        row("diagonal net", eps, res.x, seconds, res.n_iter, res.status.name)
        # POT stops on the l2 norm of the one marginal it does not match exactly; l1 <= sqrt(n)
        # l2 (and the mass is 1), so tol / sqrt(n) asks for the same l1 marginal error
        (P, log), seconds = timed(lambda eps=eps: ot.sinkhorn(
            a, b, C, eps, method="sinkhorn_log", numItermax=max_iter, stopThr=tol / np.sqrt(n),
            log=True))
        n_iter = int(log.get("niter", -1))
        row("Sinkhorn (POT)", eps, P, seconds, n_iter,
            "CONVERGED" if marginal_error(P, a, b) <= tol else "MAX_ITER")
    reference = next(r["cost"] for r in rows if r["solver"] == ("HiGHS" if ref == "HiGHS"
                                                                  else "POT emd"))
    for r in rows:
        r["gap"] = (r["cost"] - reference) / reference
        r["ref"] = ref
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 400])
    parser.add_argument("--epsilons", type=float, nargs="+", default=[0.01, 0.001])
    parser.add_argument("--highs-max", type=int, default=400)
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--max-iter", type=int, default=20000)
    parser.add_argument("--highs-time-limit", type=float, default=600.0,
                        help="seconds; HiGHS stopped there gives no plan (ref = emd)")
    args = parser.parse_args(argv)
    print(f"marginal tol {args.tol:g}, max_iter {args.max_iter}; gap = (<C,P> - OT) / OT, "
          "OT from HiGHS (ref = emd above --highs-max)")
    print("| n | solver | eps | CPU s | rel. gap | marginal err | iterations | status | ref |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        with threadpool_limits(1):
            rows = run_size(n, args.epsilons, tol=args.tol, max_iter=args.max_iter,
                            highs_max=args.highs_max, highs_time_limit=args.highs_time_limit)
        for r in rows:
            print(f"| {r['n']} | {r['solver']} | {r['eps']} | {r['time']:.2f} | "
                  f"{r['gap']:.2e} | {r['marg']:.1e} | {r['n_iter']} | {r['status']} | "
                  f"{r['ref']} |", flush=True)


if __name__ == "__main__":
    main()
