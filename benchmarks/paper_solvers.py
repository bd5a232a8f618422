"""Iterations and time of every method to a fixed KKT tolerance on the paper's test problems.

Run from the repository root: ``python -m benchmarks.paper_solvers [--max-iter N] [--tol T]``.
Problems (seeded): A ~ N(0, 1/m), x* with n/10 non-zero |N(0, 1)| entries scaled to unit norm;
a 200 x 500 underdetermined problem with b = A x*, and a 500 x 200 overdetermined one with
noise 0.01. Times are relative to ``scipy.optimize.nnls`` measured in the same run.
"""

from __future__ import annotations

import argparse
import time

import scipy.optimize

import reparam as rp
from reparam import problems


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iter", type=int, default=200_000)
    parser.add_argument("--tol", type=float, default=1e-6)
    args = parser.parse_args(argv)
    for name, (m, n, noise) in {"under 200x500": (200, 500, 0.0),
                                "over 500x200": (500, 200, 0.01)}.items():
        A, b, _ = problems.gaussian(m, n, noise=noise)
        t0 = time.perf_counter()
        scipy.optimize.nnls(A, b)
        t_scipy = time.perf_counter() - t0
        print(f"\n{name}: scipy.optimize.nnls {t_scipy:.4f} s")
        print(f"{'method':<18} {'status':<10} {'iterations':>10} {'kkt':>9} {'time [s]':>9} "
              f"{'/ scipy':>8}")
        for method, spec in rp.METHODS.items():
            opts = {} if spec.exact else {"tol": args.tol, "max_iter": args.max_iter}
            res = rp.nnls(A, b, method=method, **opts)
            print(f"{method:<18} {res.status.name:<10} {res.n_iter:>10} {res.kkt:>9.1e} "
                  f"{res.time:>9.3f} {res.time / t_scipy:>8.1f}")


if __name__ == "__main__":
    main()
