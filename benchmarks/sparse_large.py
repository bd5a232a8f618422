"""A large sparse NNLS problem that scipy.optimize.nnls cannot take (it needs a dense A).

``python -m benchmarks.sparse_large [--rows 100000 --cols 50000 --nnz 1000000]`` builds a
seeded sparse A (CSR, N(0, 1) entries at uniformly random positions), a 10 %-sparse
non-negative x* and b = A x* + 0.01 noise, solves it with ``rp.nnls(A, b)`` (method "auto",
tol 1e-6) and prints time, the peak resident memory of the process, and the reached kkt.
"""

from __future__ import annotations

import argparse
import resource
import time

import reparam as rp
from reparam import problems


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--cols", type=int, default=50_000)
    parser.add_argument("--nnz", type=int, default=1_000_000)
    parser.add_argument("--method", default="auto")
    args = parser.parse_args(argv)
    A, b, _ = problems.sparse_gaussian(args.rows, args.cols, args.nnz)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    t0 = time.perf_counter()
    res = rp.nnls(A, b, method=args.method)
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"A: {args.rows} x {args.cols}, {A.nnz} non-zeros ({A.format})")
    print(f"method {res.method}: {res.status.name} after {res.n_iter} iterations")
    print(f"time {elapsed:.2f} s, kkt {res.kkt:.2e}, objective {res.objective:.6e}")
    print(f"peak resident memory {peak:.2f} GiB (after building the problem: {before:.2f} GiB)")
    print(res.message)


if __name__ == "__main__":
    main()
