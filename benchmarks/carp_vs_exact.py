"""CARP against the exact convex clustering path on the same grid of gamma.

``python -m benchmarks.carp_vs_exact [--tol 1e-5] [--max-iter 3000] [--step 1.05] [--only iris]``
runs :func:`reparam.clustering.carp` (one ADMM step per level, Weylandt, Nagorski & Allen 2020)
and then the exact mode on CARP's own grid (ADMM warm-started at each level until the duality
gap certifies ``||U - U*||_F <= tol ||X_c||_F``), on iris, wine and breast cancer (bundled with
scikit-learn, raw features) and a seeded 1000-point mixture of four Gaussians in 2-D. It prints:

- speed-up: exact seconds / CARP seconds, both measured here, one run each (weights excluded);
  also the ratio of ADMM steps, which does not depend on the load of the machine;
- path error: ``max_gamma ||U_carp(gamma) - U_exact(gamma)||_F / ||X_c||_F`` (relative to the
  centred data, where every path starts; the centroids shrink towards the mean, which is 0 after
  centring, so a per-level relative error would divide by ~0 at the end);
- the worst certified bound of the exact path (``sqrt(2 gap) / ||X_c||_F``; it must be far below
  the path error for the comparison to mean something);
- cophenetic correlation of the two dendrograms (``scipy.cluster.hierarchy.cophenet``).

Targets of the issue: speed-up >= 100 at path error <= 1e-2 and cophenetic correlation >= 0.99.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.cluster.hierarchy import cophenet

from reparam.clustering import carp


def datasets(only: list[str] | None = None) -> dict[str, np.ndarray]:
    from sklearn.datasets import load_breast_cancer, load_iris, load_wine

    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0], [6.0, 6.0]])
    mixture = centres[rng.integers(0, 4, 1000)] + rng.normal(0.0, 1.0, (1000, 2))
    data = {"iris": load_iris().data, "wine": load_wine().data,
            "breast cancer": load_breast_cancer().data, "mixture 1000": mixture}
    return {k: v for k, v in data.items() if not only or k in only}


def compare(X: np.ndarray, *, step: float, tol: float, max_iter: int) -> dict:
    t0 = time.perf_counter()
    fast = carp(X, step=step)
    t_carp = time.perf_counter() - t0
    t0 = time.perf_counter()
    exact = carp(X, method="exact", gammas=fast.gammas, step=step, tol=tol, max_iter=max_iter)
    t_exact = time.perf_counter() - t0
    scale = np.linalg.norm(X - X.mean(axis=0))
    errors = np.linalg.norm(fast.centroids - exact.centroids, axis=(1, 2)) / scale
    coph = np.corrcoef(cophenet(fast.linkage), cophenet(exact.linkage))[0, 1]
    return {"n": X.shape[0], "p": X.shape[1], "levels": len(fast.gammas),
            "t_carp": t_carp, "t_exact": t_exact, "speedup": t_exact / t_carp,
            "step_ratio": exact.n_iter / fast.n_iter, "error": float(errors.max()),
            "median_error": float(np.median(errors)), "bound": exact.max_gap_bound,
            "cophenetic": float(coph), "exact_status": exact.status.name,
            "carp_status": fast.status.name}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=float, default=1.05)
    parser.add_argument("--tol", type=float, default=1e-5)
    parser.add_argument("--max-iter", type=int, default=3000)
    parser.add_argument("--only", action="append")
    args = parser.parse_args(argv)
    print(f"step {args.step}, exact tol {args.tol:g}, exact max_iter {args.max_iter} per level")
    header = ("data", "n x p", "levels", "CARP s", "exact s", "speed-up", "step ratio",
              "max err", "median err", "exact bound", "cophenetic", "exact status")
    print(" | ".join(header))
    for name, X in datasets(args.only).items():
        r = compare(X, step=args.step, tol=args.tol, max_iter=args.max_iter)
        print(f"{name} | {r['n']} x {r['p']} | {r['levels']} | {r['t_carp']:.2f} | "
              f"{r['t_exact']:.1f} | {r['speedup']:.0f}x | {r['step_ratio']:.0f}x | "
              f"{r['error']:.2e} | {r['median_error']:.1e} | {r['bound']:.1e} | "
              f"{r['cophenetic']:.4f} | {r['exact_status']}", flush=True)


if __name__ == "__main__":
    main()
