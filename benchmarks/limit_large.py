"""The predicted limit (:func:`reparam.implicit_bias.limit`) on a wide problem, every parametrization.

``python -m benchmarks.limit_large [--rows 1000 --cols 20000 --init-scale 1e-3]`` builds the
paper's problem (A with N(0, 1/m) entries, x* sparse with |N(0,1)| entries of unit norm,
b = A x*; for the box, x* in [-1, 1]; for the simplex, x* a point of the simplex) and prints,
for each parametrization, the time, the status, the Newton iterations, the relative residual
‖Ax − b‖ / ‖b‖ and the peak memory traced by tracemalloc (numpy's allocations) during the run,
next to the size of A itself.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from reparam.implicit_bias import limit
from reparam.parametrizations import Box, Difference, Hadamard, Power, Simplex


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--cols", type=int, default=20_000)
    parser.add_argument("--sparsity", type=int, default=50)
    parser.add_argument("--init-scale", type=float, default=1e-3)
    parser.add_argument("--only", nargs="*", default=None, help="names of parametrizations")
    args = parser.parse_args(argv)
    m, n, alpha = args.rows, args.cols, args.init_scale
    rng = np.random.default_rng(0)
    A = rng.normal(scale=1 / np.sqrt(m), size=(m, n))
    x = np.zeros(n)
    x[rng.choice(n, args.sparsity, replace=False)] = np.abs(rng.normal(size=args.sparsity))
    x /= np.linalg.norm(x)
    signs = np.where(rng.uniform(size=n) < 0.5, -1.0, 1.0)
    cases = {
        "Power(2)": (Power(2), x, {"init_scale": alpha}),
        "Power(3)": (Power(3), x, {"init_scale": alpha}),
        "Difference(2)": (Difference(2), signs * x, {"init_scale": alpha}),
        "Hadamard": (Hadamard(), signs * x, {"init_scale": alpha}),
        "Box(-1, 1)": (Box(-1.0, 1.0), signs * x, {"init_scale": 0.0}),
        "Simplex": (Simplex(), rng.dirichlet(np.ones(n)), {}),
    }
    print(f"A: {m} x {n} ({A.nbytes / 2**20:.0f} MiB), init_scale {alpha:g}")
    print(f"{'parametrization':<15} {'time s':>8} {'status':<10} {'newton':>6} {'resid':>9} "
          f"{'peak MiB':>9}")
    for name, (param, truth, kw) in cases.items():
        if args.only and name not in args.only:
            continue
        b = A @ truth
        tracemalloc.start()
        t0 = time.perf_counter()
        res = limit(A, b, param, **kw)
        elapsed = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        resid = np.linalg.norm(A @ res.x - b) / np.linalg.norm(b)
        print(f"{name:<15} {elapsed:>8.1f} {res.status.name:<10} {res.n_iter:>6} {resid:>9.1e} "
              f"{peak:>9.0f}", flush=True)


if __name__ == "__main__":
    main()
