"""Entropic and exact optimal transport: reparam against POT (``ot.sinkhorn``, ``ot.emd``) and HiGHS.

``python -m benchmarks.ot_vs_pot [--sizes 200 1000 5000 --epsilon 0.05 --max-iter 5000]``
builds a seeded problem (n points uniform in the unit square on each side, squared distances
scaled to max 1, random positive marginals) and runs, for each n:

* ``reparam sinkhorn`` — :func:`reparam.constrained.sinkhorn` (log domain), the exact flow limit;
* ``reparam entropic-gd`` — :func:`reparam.constrained.entropic_ot` with ``method="reparam-gd"``
  (the diagonal network, default step), marginals as a LinearOperator;
* ``POT sinkhorn_log`` — ``ot.sinkhorn(..., method="sinkhorn_log")`` at the same ε;
* ``POT emd`` — the exact LP (network simplex), the reference optimal cost;
* ``HiGHS`` — ``scipy.optimize.linprog`` on the sparse marginal matrix (n ≤ ``--highs-max``).

Columns: time, gap = ⟨C, P⟩ − OT (OT from ``ot.emd``), ℓ1 marginal error relative to Σa, the
ℓ1 distance of the plan to reparam's Sinkhorn plan, and the peak memory traced by tracemalloc
(numpy's allocations) during the run. POT comes from the ``bench`` extra.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from reparam.constrained import entropic_ot, sinkhorn


def problem(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(size=(n, 2)), rng.uniform(size=(n, 2))
    C = ((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=2)
    C /= C.max()
    a, b = rng.uniform(0.5, 1.5, n), rng.uniform(0.5, 1.5, n)
    return a / a.sum(), b / b.sum(), C


def measured(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, elapsed, peak / 2**20


def marginal_matrix(m: int, n: int) -> sp.csr_matrix:
    """The (m + n) x m n marginal map of a row-major plan as a sparse matrix: 2 m n nonzeros
    (128 MB at m = n = 2000), never a dense (m + n) x m n array."""
    k = np.arange(m * n)
    rows = np.concatenate([k // n, m + k % n])
    data = np.ones(2 * m * n)
    return sp.csr_matrix((data, (rows, np.concatenate([k, k]))), shape=(m + n, m * n))


def highs(a, b, C, time_limit: float | None = None):
    """The transport LP by HiGHS; with ``time_limit`` (seconds) the plan is None when HiGHS
    stops before an optimal basis."""
    m, n = C.shape
    options = {} if time_limit is None else {"time_limit": float(time_limit)}
    res = linprog(C.ravel(), A_eq=marginal_matrix(m, n), b_eq=np.concatenate([a, b]),
                  bounds=(0, None), method="highs", options=options)
    return res.x.reshape(m, n) if res.status == 0 else None


def solvers_for(a, b, C, eps, max_iter, ot) -> dict:
    return {
        "reparam sinkhorn": lambda: sinkhorn(a, b, C, eps, tol=1e-9, max_iter=max_iter),
        "reparam entropic-gd": lambda: entropic_ot(a, b, C, eps, method="reparam-gd", tol=1e-9,
                                                   max_iter=max_iter),
        "POT sinkhorn_log": lambda: ot.sinkhorn(a, b, C, eps, method="sinkhorn_log",
                                                numItermax=max_iter, stopThr=1e-9),
        "POT emd": lambda: ot.emd(a, b, C, numItermax=10**8),
        "HiGHS": lambda: highs(a, b, C),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000, 5000])
    parser.add_argument("--epsilon", type=float, default=0.05)
    parser.add_argument("--max-iter", type=int, default=5000)
    parser.add_argument("--highs-max", type=int, default=1000)
    parser.add_argument("--skip", nargs="*", default=[], help="solver names to skip")
    args = parser.parse_args(argv)
    import ot  # POT, from the bench extra

    eps, max_iter = args.epsilon, args.max_iter
    print(f"epsilon {eps}, max_iter {max_iter}; gap = <C,P> - OT(emd); marg = l1 marginal "
          f"error / sum(a); d_sk = l1 distance to reparam's Sinkhorn plan")
    print(f"{'n':>6} {'solver':<22} {'time s':>8} {'gap':>10} {'marg':>9} {'d_sk':>9} "
          f"{'peak MiB':>9}  status")
    for n in args.sizes:
        a, b, C = problem(n)
        solvers = solvers_for(a, b, C, eps, max_iter, ot)
        opt, ref = np.nan, None
        # POT's exact plan first (the reference cost), then reparam's Sinkhorn (the reference
        # plan); every row is printed as soon as it is measured
        order = ["POT emd", "reparam sinkhorn"] + [k for k in solvers
                                                   if k not in ("POT emd", "reparam sinkhorn")]
        for name in order:
            if name in args.skip or (name == "HiGHS" and n > args.highs_max):
                continue
            out, elapsed, peak = measured(solvers[name])
            P = out.x if hasattr(out, "x") else out
            status = out.status.name if hasattr(out, "status") else "-"
            if name == "POT emd":
                opt = float(np.sum(C * P))
            if name == "reparam sinkhorn":
                ref = P
            marg = (np.abs(P.sum(axis=1) - a).sum() + np.abs(P.sum(axis=0) - b).sum()) / a.sum()
            d_sk = np.abs(P - ref).sum() if ref is not None else np.nan
            print(f"{n:>6} {name:<22} {elapsed:>8.2f} {np.sum(C * P) - opt:>10.2e} "
                  f"{marg:>9.1e} {d_sk:>9.1e} {peak:>9.1f}  {status}", flush=True)


if __name__ == "__main__":
    main()
