"""CARP against the exact convex clustering path on the same grid of gamma.

``python -m benchmarks.carp_vs_exact [--steps 1.1 1.05 1.02] [--tol 1e-4] [--max-iter 5000]
[--only iris]`` runs :func:`reparam.clustering.carp` (one ADMM step per level, Weylandt, Nagorski
& Allen 2020; default step ratio 1.05) and then its exact mode on CARP's own grid, with the same
weights, on iris, wine and breast cancer (bundled with scikit-learn, raw features) and a seeded
1000-point mixture of four Gaussians in 2-D. ``--steps`` gives one row per step ratio (the same
ratio for every data set: nothing is tuned per data set).

The exact reference solves every level to a certified accuracy, warm-started from the level
before: over-relaxed ADMM (relaxation 1.6) with residual balancing of ``rho`` (one sparse LU per
value of ``rho``, kept and reused), the duality gap checked after 1, 2, 3 and 5 steps and then
every 10, and the level accepted once ``sqrt(2 gap) <= tol ||X_c||_F`` — which bounds
``||U - U*||_F`` since the objective is 1-strongly convex. ``tol = 1e-4`` by default: 100 times
below the path-error target, so the reference's own error moves the max error by at most 1e-4.
Medians below about 1e-4 are at the reference's resolution.

Printed, per data set and step ratio:

- speed-up: exact CPU seconds / CARP CPU seconds, measured here with one BLAS thread (CPU time
  because the machine these numbers come from is shared: wall time there measures the
  neighbours); the weights, the same for both, are computed once and timed apart. Also the ratio
  of ADMM steps, which does not depend on the machine at all;
- path error, relative: ``e(gamma) = ||U_carp(gamma) - U_exact(gamma)||_F / ||X_c||_F``, its max
  and median over the grid. The denominator is the spread of the centred data, where every path
  starts: dividing by ``||U_exact(gamma)||_F`` instead would count the column means (which hide
  the error on raw iris) or, after centring, divide by ~0 once everything is fused at the mean.
  We could not tell which number the paper's experiments use; its convergence theorem is stated
  for the Hausdorff distance between the two paths;
- path error, per point: ``max_i ||u_i,carp(gamma) - u_i,exact(gamma)||_2 / s`` with
  ``s = ||X_c||_F / sqrt(n)`` the root-mean-square distance of a point to the mean (max and
  median over the grid): the worst single centroid, in units of the data's spread;
- the worst certified bound of the exact path (``sqrt(2 gap) / ||X_c||_F``);
- cophenetic correlation of the two dendrograms (``scipy.cluster.hierarchy.cophenet``; heights
  are the gammas of the fusions).

Targets: speed-up >= 100 at max path error <= 1e-2 and cophenetic correlation >= 0.99.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.cluster.hierarchy import cophenet
from threadpoolctl import threadpool_limits

from reparam.clustering import carp, gaussian_knn_weights


def datasets(only: list[str] | None = None) -> dict[str, np.ndarray]:
    from sklearn.datasets import load_breast_cancer, load_iris, load_wine

    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0], [6.0, 6.0]])
    mixture = centres[rng.integers(0, 4, 1000)] + rng.normal(0.0, 1.0, (1000, 2))
    data = {"iris": load_iris().data, "wine": load_wine().data,
            "breast cancer": load_breast_cancer().data, "mixture 1000": mixture}
    return {k: v for k, v in data.items() if not only or k in only}


def path_errors(fast, exact, X: np.ndarray) -> dict:
    """The two path errors of the module docstring, over the grid."""
    centred = X - X.mean(axis=0)
    scale = np.linalg.norm(centred)
    spread = scale / np.sqrt(X.shape[0])  # root mean square distance of a point to the mean
    diff = fast.centroids - exact.centroids
    frob = np.linalg.norm(diff, axis=(1, 2)) / scale
    point = np.linalg.norm(diff, axis=2).max(axis=1) / spread
    return {"error": float(frob.max()), "median_error": float(np.median(frob)),
            "point_error": float(point.max()), "median_point_error": float(np.median(point))}


def cpu_timed(fn):
    """``fn()`` and the CPU seconds it took (one BLAS thread: CPU time is compute time, which a
    machine shared with other jobs does not inflate the way it inflates wall time)."""
    t0 = time.process_time()
    out = fn()
    return out, time.process_time() - t0


def compare(X: np.ndarray, *, step: float, tol: float, max_iter: int) -> dict:
    with threadpool_limits(1):
        (edges, w, _), t_weights = cpu_timed(lambda: gaussian_knn_weights(X))
        fast, t_carp = cpu_timed(lambda: carp(X, step=step, weights=(edges, w)))
        exact, t_exact = cpu_timed(lambda: carp(
            X, method="exact", weights=(edges, w), gammas=fast.gammas, step=step, tol=tol,
            max_iter=max_iter))
    coph = np.corrcoef(cophenet(fast.linkage), cophenet(exact.linkage))[0, 1]
    return {"n": X.shape[0], "p": X.shape[1], "levels": len(fast.gammas), "t_weights": t_weights,
            "t_carp": t_carp, "t_exact": t_exact, "speedup": t_exact / t_carp,
            "step_ratio": exact.n_iter / fast.n_iter, **path_errors(fast, exact, X),
            "bound": exact.max_gap_bound, "cophenetic": float(coph),
            "unsolved": exact.message if "did not reach" in exact.message else ""}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=float, nargs="+", default=[1.05],
                        help="step ratios t to compare (one row per data set and ratio)")
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--max-iter", type=int, default=5000)
    parser.add_argument("--only", action="append")
    args = parser.parse_args(argv)
    print(f"exact tol {args.tol:g} (certified), exact max_iter {args.max_iter} per level; "
          "times: CPU seconds, one BLAS thread; the weights (same for both) are timed apart")
    header = ("data", "n x p", "step", "levels", "weights s", "CARP s", "exact s", "speed-up",
              "step ratio", "max err", "median err", "max point err", "median point err",
              "exact bound", "cophenetic")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, X in datasets(args.only).items():
        for step in args.steps:
            r = compare(X, step=step, tol=args.tol, max_iter=args.max_iter)
            print(f"| {name} | {r['n']} x {r['p']} | {step} | {r['levels']} | "
                  f"{r['t_weights']:.2f} | {r['t_carp']:.2f} | {r['t_exact']:.1f} | {r['speedup']:.0f}x | "
                  f"{r['step_ratio']:.0f}x | {r['error']:.1e} | {r['median_error']:.1e} | "
                  f"{r['point_error']:.1e} | {r['median_point_error']:.1e} | "
                  f"{r['bound']:.1e} | {r['cophenetic']:.4f} |", flush=True)
            if r["unsolved"]:
                print(f"  exact: {r['unsolved']}")


if __name__ == "__main__":
    main()
