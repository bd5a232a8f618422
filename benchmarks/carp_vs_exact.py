"""CARP against the exact convex clustering path on the same grid of gamma.

``python -m benchmarks.carp_vs_exact [--steps 1.1 1.05 1.02] [--tol 1e-4] [--max-iter 5000]
[--only iris] [--back-track] [--extrapolate]`` runs :func:`reparam.clustering.carp` (one ADMM
step per level, Weylandt, Nagorski & Allen 2020; default step ratio 1.05; ``--back-track``: its
CARP-VIZ variant, ``--extrapolate``: the first-order predictor, see :func:`carp`) and then its
exact mode on CARP's own grid (with back-tracking, the levels CARP-VIZ placed), with the same
weights, on iris, wine and breast cancer (bundled with scikit-learn, raw features) and a seeded
1000-point mixture of four Gaussians in 2-D. ``--steps`` gives one row per step ratio (the same
ratio for every data set: nothing is tuned per data set).

The exact reference solves every level to a certified accuracy, warm-started from the level
before: over-relaxed ADMM (relaxation 1.6) with residual balancing of ``rho`` (one sparse LU per
value of ``rho``, kept and reused), the duality gap checked after 1, 2, 3 and 5 steps and then
every 10, and the level accepted once ``sqrt(2 gap) <= tol ||X_c||_F`` — which bounds
``||U - U*||_F`` since the objective is 1-strongly convex. ``tol = 1e-4`` by default: 100 times
below the path-error target, so the reference's own error moves the max error by at most 1e-4.
Medians below about 1e-4 are at the reference's resolution. Measured: the exact paths at
``tol`` 1e-4 and 1e-6 differ by at most 3.4e-5 (iris) and 4.2e-5 (wine) relative, and CARP's
max and median errors against either agree to three digits (iris 3.9e-2 raw at both), so none
of the error below is the reference's.

Printed, per data set and step ratio:

- speed-up: exact CPU seconds / CARP CPU seconds, measured here with one BLAS thread (CPU time
  because the machine these numbers come from is shared: wall time there measures the
  neighbours); the weights, the same for both, are computed once and timed apart. Also the ratio
  of ADMM steps, which does not depend on the machine at all;
- path error, relative: ``e(gamma) = ||U_carp(gamma) - U_exact(gamma)||_F / ||X_c||_F``, its max
  and median over the grid, for CARP's reported centroids (each fused group at its mean, the
  default ``smooth=True``) and, as ``raw``, for the ADMM iterate ``U`` itself. The denominator is the spread of the centred data, where every path
  starts: dividing by ``||U_exact(gamma)||_F`` instead would count the column means (which hide
  the error on raw iris) or, after centring, divide by ~0 once everything is fused at the mean.
  We could not tell which number the paper's experiments use; its convergence theorem is stated
  for the Hausdorff distance between the two paths. ``max at`` is where along the grid the max
  is reached (0: first level, 1: last);
- path error, per point: ``max_i ||u_i,carp(gamma) - u_i,exact(gamma)||_2 / s`` with
  ``s = ||X_c||_F / sqrt(n)`` the root-mean-square distance of a point to the mean (max and
  median over the grid): the worst single centroid, in units of the data's spread;
- Hausdorff distance between the two paths as sets of centroid matrices, ``max(sup_a inf_b,
  sup_b inf_a) ||U_carp(a) - U_exact(b)||_F / ||X_c||_F`` over the grid: the distance in which
  the paper's convergence theorem is stated. It forgives a lag in ``gamma``: one ADMM step per
  level leaves CARP a few levels behind the exact path (the fusions below come a few levels
  late), and on a geometric grid a lag of ``k`` levels is an error of about ``k (t - 1) gamma
  ||dU/dgamma||`` at the same ``gamma``, which only a smaller ``t`` shrinks;
- the worst certified bound of the exact path (``sqrt(2 gap) / ||X_c||_F``);
- exact ADMM steps per level (warm-started): with CARP's one step per level, the speed-up can
  not exceed about this number times the ratio of the cost of a step (the exact mode's steps
  also balance ``rho`` and check the gap), so it is the ceiling of the speed-up on a common
  grid, and it falls as ``t`` falls;
- fusion lag: the mean, over the edges fused in both paths, of CARP's fusion level minus the
  exact path's (in levels); ``same clusters``: the fraction of levels at which the two paths
  have the same partition;
- cophenetic correlation of the two dendrograms (``scipy.cluster.hierarchy.cophenet``; heights
  are the gammas of the fusions). CARP declares its last fusions before the exact path makes
  them, so on CARP's grid the exact path is not finished and its last merges would sit at a
  placeholder height (``cophenetic, CARP's grid``); the main column compares with the exact
  path run on, on the same geometric grid, until every point is fused (``exact levels``; this
  extra run is not timed).

Targets: speed-up >= 100 at max path error <= 1e-2 and cophenetic correlation >= 0.99.

What limits CARP on a common grid (measured with ``--steps 1.05 1.02 1.01``):

- the speed-up is capped by ``exact steps/level``: warm-started from the level before, the
  exact path needs only about 15-20 ADMM steps per level on iris and wine (more on breast
  cancer and the mixture, whose fused groups hang together by few edges), and CARP takes one.
  A finer grid lowers the cap (each exact level starts closer to its solution). The CARP step
  itself is one sparse LU solve (``splu``, factorized once, without pivoting in symmetric
  mode, valid for this diagonally dominant system: 0.02, 0.12 and 0.48 ms on iris, the mixture
  and breast cancer, against 0.03, 0.44 and 1.0 ms with SuperLU's partial pivoting, measured
  side by side; a dense Cholesky takes 0.08, 1.6 and 1.3 ms) plus vectorized edge gathers and
  the group soft-thresholding, which are now most of a step (iris 0.12 ms a step, breast cancer
  1.2 ms; writing the edge-sized temporaries into kept scratch arrays was measured 10% slower,
  not adopted). The dendrogram is one minimum spanning tree and a union-find over n - 1
  merges. Storing the path costs as much as the steps on breast cancer (569 x 30 centroids
  per level); smoothing it level by level in place, instead of with whole-path temporaries,
  took CARP there from about 4 s to 2.3 s;
- the error has two sources, both in the lag of the ADMM multipliers behind a growing
  ``gamma`` (measured on iris at t = 1.05; the reference's own error is 1e-4 times smaller).
  First, inside fused groups: the multipliers of a group's edges must carry the pull of the
  edges that leave it, a pull ``gamma w`` that grows by a factor ``t`` per level, and they
  catch up only through the primal residual ``D U - V``, so the group's centroids stay apart by
  about ``(t - 1) gamma w / rho`` (on iris, 0.036 of the raw max error 0.039 at the last
  levels is this spread inside the two groups both paths agree on, and the groups' means are
  within 1e-3 of the exact ones). The reported path gives each fused group its mean (the
  ``smooth_U`` post-processing of clustRviz), which removes it: the median error falls up to 7
  times (iris 3.7e-3 to 5.5e-4, the mixture 2.0e-3 to 3.0e-4, breast cancer 1.2e-3 to
  7.7e-4; wine stays at 2.6e-4). Second, the last fusions come
  early: the same spread pulls the two end points of the last edges between large groups
  towards each other, and the split variable ``V`` of an edge is set to zero (the fusion CARP
  reads) once ``||D U||`` on it falls below about ``(t - 1) gamma w / rho``, a threshold that
  grows with ``gamma``. CARP then declares one cluster while the exact path still has two
  (iris: at ``gamma`` 107 vs 316, 22 levels early; 25 on wine, 27 on the mixture), and the
  reported centroids of the merged groups jump to their common mean: the max error, at the
  last levels (``max at`` 0.98-1.00; 0.82 on breast cancer, whose partitions differ from
  the exact ones on a third of the levels), is the distance of the exact path's last groups from
  their mean there (0.57 on iris; 0.039 for the raw iterate, whose groups are still apart
  although CARP has declared them fused). It shrinks slowly with ``t`` (iris, reported/raw:
  0.57/0.039 at 1.05, 0.40/0.028 at 1.02, 0.26/0.018 at 1.01). Moving the split variable and
  the multipliers of the edges between clusters along their last change before each step
  (``extrapolate``; their exact values are affine in ``gamma``) removes the threshold effect on
  those edges: the median error falls 10-300 times and the cophenetic correlation rises (table
  below), but the spread inside the groups still fuses large groups early (iris max 0.25 at
  1.05, wine 0.36); predicting the multipliers inside the groups too makes the iterate diverge
  on breast cancer (ADMM damps their slow modes by less than the extrapolation amplifies them).
  Back-tracking (``back_track``, CARP-VIZ) halves the number of levels where several pairs of
  clusters merge at once, but a step that merges several pairs does so even when it is made
  tiny, and it does not touch the early fusions: max and median errors stay about where they
  were. Measured and not adopted: declaring a merge only once the two groups' mean centroids
  are within 1e-2 of the data's root-mean-square spread (instead of at the first zero of
  ``V``) makes the last merges late instead of early (iris: 589 levels against the exact 402,
  max error 0.35 raw and smoothed): once ``V`` is zero on the edges between two groups, ADMM
  pulls them together only as fast as those multipliers accumulate, and the iterate's groups
  are still apart when the exact path has fused them; a constant
  ``rho`` of 4 or 16 makes the early fusions late (iris 149 clusters where the exact path has
  33); ``rho = max(1, gamma / 10)`` in powers of two (one more LU per doubling) puts the last
  fusions within a level or two of the exact ones (cophenetic iris 1.0000, wine 0.9971, the
  mixture 0.9916, against 1.0000, 0.9530 and 0.9989 with ``rho = 1``; max error 0.039, 0.35
  and 0.039: wine's last fusion then comes late), but
  it is not the method's fixed ``rho`` and it still misses 1e-2.

Measured with ``--steps 1.05 1.02``, ``--extrapolate`` and ``--back-track`` (exact ``tol``
1e-4; CPU seconds on a machine shared by several jobs, so the speed-ups move by up to 2x
between runs with the same step ratio: the ADMM step ratio is the robust number; max and
median error: reported path / raw iterate; rows not listed were not measured):

| data | t | options | speed-up | step ratio | max err | median err | same partition | exact steps/level | cophenetic |
|---|---|---|---|---|---|---|---|---|---|
| iris | 1.05 | - | 18x | 19x | 0.57 / 0.039 | 5.5e-4 / 3.7e-3 | 0.85 | 22.0 | 1.0000 |
| iris | 1.05 | extrapolate | 16x | 20x | 0.25 / 0.081 | 2.0e-6 / 2.7e-4 | 0.90 | 22.7 | 1.0000 |
| iris | 1.05 | back_track | 9x | 11x | 0.58 / 0.038 | 1.7e-3 / 5.1e-3 | 0.70 | 23.2 | 1.0000 |
| iris | 1.05 | both | 7x | 10x | 0.25 / 0.082 | 1.2e-5 / 9.2e-4 | 0.76 | 23.1 | 1.0000 |
| iris | 1.02 | - | 20x | 18x | 0.40 / 0.027 | 2.2e-4 / 1.7e-3 | 0.89 | 18.8 | 1.0000 |
| iris | 1.02 | extrapolate | 14x | 18x | 0.12 / 0.043 | 6.0e-7 / 1.9e-4 | 0.93 | 19.3 | 1.0000 |
| wine | 1.05 | - | 11x | 13x | 0.55 / 0.13 | 2.6e-4 / 2.6e-4 | 0.73 | 15.0 | 0.9530 |
| wine | 1.05 | extrapolate | 11x | 16x | 0.36 / 0.22 | 4.2e-6 / 4.2e-6 | 0.80 | 17.6 | 0.9955 |
| wine | 1.05 | back_track | 9x | 7x | 0.57 / 0.13 | 1.7e-3 / 1.7e-3 | 0.62 | 14.9 | 0.9395 |
| wine | 1.05 | both | 8x | 8x | 0.35 / 0.22 | 2.0e-5 / 2.0e-5 | 0.67 | 16.6 | 0.9961 |
| wine | 1.02 | - | 21x | 14x | 0.31 / 0.15 | 1.8e-4 / 1.8e-4 | 0.79 | 14.6 | 0.9943 |
| wine | 1.02 | extrapolate | 10x | 15x | 0.20 / 0.12 | 2.9e-6 / 2.9e-6 | 0.81 | 16.0 | 0.9993 |
| breast cancer | 1.05 | - | 64x | 79x | 0.64 / 0.47 | 7.7e-4 / 1.2e-3 | 0.68 | 86.1 | 0.9436 |
| breast cancer | 1.05 | extrapolate | 42x | 79x | 0.51 / 0.37 | 1.6e-5 / 2.0e-5 | 0.70 | 86.9 | 0.9701 |
| mixture 1000 | 1.05 | - | 31x | 40x | 0.74 / 0.065 | 3.0e-4 / 2.0e-3 | 0.65 | 44.7 | 0.9989 |
| mixture 1000 | 1.05 | extrapolate | 25x | 50x | 0.51 / 0.25 | 2.0e-5 / 5.0e-5 | 0.68 | 56.2 | 0.9942 |
No row reaches the targets: the max error stays at 0.1-0.6 because fusions between large
groups still come early (see above), and the speed-up is capped by the exact path's steps per
level. With ``extrapolate`` the median error is 1e-6 ... 2e-5, below the exact path's
certified tolerance: CARP follows the exact path to the reference's resolution at most levels
and misses it around those fusions. Back-tracking costs steps (the step ratio halves) and does
not improve the errors.

The paper's "over 100-fold" is against existing solvers computing the path (its abstract:
while CARP attains a finer grid than they do), not against a warm-started solver on CARP's
own grid, which is what this benchmark measures.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.cluster.hierarchy import cophenet
from scipy.spatial.distance import cdist
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
            "where": float(np.argmax(frob) / max(len(frob) - 1, 1)),
            "point_error": float(point.max()), "median_point_error": float(np.median(point))}


def hausdorff(fast, exact, X: np.ndarray) -> float:
    """Hausdorff distance between the two paths (sets of centroid matrices), relative to
    ``||X_c||_F``."""
    scale = np.linalg.norm(X - X.mean(axis=0))
    a = fast.centroids.reshape(len(fast.gammas), -1)
    b = exact.centroids.reshape(len(exact.gammas), -1)
    d = cdist(a, b)
    return float(max(d.min(axis=1).max(), d.min(axis=0).max()) / scale)


def cpu_timed(fn):
    """``fn()`` and the CPU seconds it took (one BLAS thread: CPU time is compute time, which a
    machine shared with other jobs does not inflate the way it inflates wall time)."""
    t0 = time.process_time()
    out = fn()
    return out, time.process_time() - t0


def compare(X: np.ndarray, *, step: float, tol: float, max_iter: int, **options) -> dict:
    """CARP with ``options`` (``back_track``, ``extrapolate``) against the exact path
    on CARP's grid."""
    with threadpool_limits(1):
        (edges, w, _), t_weights = cpu_timed(lambda: gaussian_knn_weights(X))
        fast, t_carp = cpu_timed(lambda: carp(X, step=step, weights=(edges, w), **options))
        raw = carp(X, step=step, weights=(edges, w), smooth=False, **options)  # untimed
        exact, t_exact = cpu_timed(lambda: carp(
            X, method="exact", weights=(edges, w), gammas=fast.gammas, step=step, tol=tol,
            max_iter=max_iter))
    full = exact
    if exact.n_clusters[-1] > 1:
        # CARP fused every point before the exact path did: the exact dendrogram's last merges
        # would sit at a placeholder height above CARP's grid. Untimed, the exact path on the
        # same geometric grid (gamma_start * step**s) run on until every point is fused gives
        # them their own heights.
        if options.get("back_track"):
            # back-tracking levels are not a geometric grid: CARP's grid continued geometrically
            # up to 1e3 times its last level
            tail = fast.gammas[-1] * step ** np.arange(1, int(np.log(1e3) / np.log(step)) + 1)
            full = carp(X, method="exact", weights=(edges, w), step=step, tol=tol,
                        max_iter=max_iter, gammas=np.concatenate([fast.gammas, tail]))
        else:
            full = carp(X, method="exact", weights=(edges, w), step=step, tol=tol,
                        max_iter=max_iter)
            assert np.allclose(full.gammas[: len(fast.gammas)], fast.gammas, rtol=1e-12, atol=0)
    coph = np.corrcoef(cophenet(fast.linkage), cophenet(full.linkage))[0, 1]
    coph_grid = np.corrcoef(cophenet(fast.linkage), cophenet(exact.linkage))[0, 1]
    both = (fast.fusion_step >= 0) & (exact.fusion_step >= 0)
    lag = float(np.mean(fast.fusion_step[both] - exact.fusion_step[both])) if both.any() else 0.0
    return {"n": X.shape[0], "p": X.shape[1], "levels": len(fast.gammas), "t_weights": t_weights,
            "t_carp": t_carp, "t_exact": t_exact, "speedup": t_exact / t_carp,
            "step_ratio": exact.n_iter / fast.n_iter, **path_errors(fast, exact, X),
            "raw_error": path_errors(raw, exact, X)["error"],
            "raw_median_error": path_errors(raw, exact, X)["median_error"],
            "partitions_agree": float(np.mean([np.array_equal(fast.labels_at(g), exact.labels_at(g))
                                               for g in fast.gammas])),
            "bound": exact.max_gap_bound, "cophenetic": float(coph),
            "cophenetic_grid": float(coph_grid),
            "hausdorff": hausdorff(fast, exact, X), "lag": lag,
            "exact_per_level": exact.n_iter / len(exact.gammas),
            "exact_levels": len(full.gammas),
            "unsolved": exact.message if "did not reach" in exact.message else ""}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=float, nargs="+", default=[1.05],
                        help="step ratios t to compare (one row per data set and ratio)")
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--max-iter", type=int, default=5000)
    parser.add_argument("--only", action="append")
    parser.add_argument("--back-track", action="store_true")
    parser.add_argument("--extrapolate", action="store_true")
    args = parser.parse_args(argv)
    options = {"back_track": args.back_track, "extrapolate": args.extrapolate}
    print(f"CARP options {options}; exact tol {args.tol:g} (certified), exact max_iter "
          f"{args.max_iter} per level; "
          "times: CPU seconds, one BLAS thread; the weights (same for both) are timed apart")
    header = ("data", "n x p", "step", "levels", "weights s", "CARP s", "exact s", "speed-up",
              "step ratio", "max err", "max at", "median err", "raw max err", "raw median err",
              "same clusters", "max point err", "median point err",
              "Hausdorff", "exact bound", "exact steps/level", "fusion lag", "exact levels",
              "cophenetic", "cophenetic, CARP's grid")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, X in datasets(args.only).items():
        for step in args.steps:
            r = compare(X, step=step, tol=args.tol, max_iter=args.max_iter, **options)
            print(f"| {name} | {r['n']} x {r['p']} | {step} | {r['levels']} | "
                  f"{r['t_weights']:.2f} | {r['t_carp']:.2f} | {r['t_exact']:.1f} | {r['speedup']:.0f}x | "
                  f"{r['step_ratio']:.0f}x | {r['error']:.1e} | {r['where']:.2f} | "
                  f"{r['median_error']:.1e} | {r['raw_error']:.1e} | {r['raw_median_error']:.1e} | "
                  f"{r['partitions_agree']:.2f} | "
                  f"{r['point_error']:.1e} | {r['median_point_error']:.1e} | "
                  f"{r['hausdorff']:.1e} | {r['bound']:.1e} | {r['exact_per_level']:.1f} | "
                  f"{r['lag']:+.1f} | {r['exact_levels']} | {r['cophenetic']:.4f} | "
                  f"{r['cophenetic_grid']:.4f} |", flush=True)
            if r["unsolved"]:
                print(f"  exact: {r['unsolved']}")


if __name__ == "__main__":
    main()
