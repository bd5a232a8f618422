"""A hyperspectral-sized job: one A (200 x 20), a million right-hand sides.

``python -m benchmarks.distributed_columns [--k 1000000] [--workers 2] [--chunks C]``

1. In process: ``reparam.nnls(A, B)`` on all k columns in one call (the batched exact solver):
   columns per second (target >= 1e5 on 2 cores) and peak resident memory above the problem
   itself. Then the same solver called block by block (the blocks Dask gets), in this process.
2. Dask: ``reparam.distributed.nnls(A, B, client)`` on a ``LocalCluster`` of ``--workers``
   processes (one thread each; started before the clock runs, its start time printed apart),
   B in this process's memory as a user would have it. Overhead = Dask time / in-process time
   - 1 (target < 30 % with 2 workers on 2 cores), against both in-process runs; the answers
   are compared (Dask equals the block-by-block run bit for bit). The workers run BLAS on one
   thread each (Dask's default); on a loaded machine run with ``OPENBLAS_NUM_THREADS=1`` so
   that the in-process runs do too (threads waiting for a busy core slowed them 3x here).

The problem (seeded): A = |N(0, 1)| "spectra" of 20 materials at 200 wavelengths, each column
of X* has about 5 materials with random abundances, B = A X* + 0.01 noise. Figures depend on the
machine's load: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

import reparam as rp


def problem(m: int, n: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    A = np.abs(rng.standard_normal((m, n)))
    B = np.empty((m, k))
    step = 100_000  # built in slices: no (n, k) or (m, k) temporaries beyond B itself
    for s in range(0, k, step):
        e = min(s + step, k)
        X = np.where(rng.random((n, e - s)) < 0.25, rng.random((n, e - s)), 0.0)
        B[:, s:e] = A @ X + 0.01 * rng.standard_normal((m, e - s))
    return A, B


def _peak_gib() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the
    parent of a spawned worker)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _load() -> str:
    return "load average " + ", ".join(f"{v:.1f}" for v in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=1_000_000, help="right-hand sides")
    parser.add_argument("--m", type=int, default=200)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunks", type=int, default=None,
                        help="columns per block (default: reparam.distributed's choice)")
    parser.add_argument("--skip-blocks", action="store_true",
                        help="skip the block-by-block in-process run")
    args = parser.parse_args(argv)
    from reparam import distributed

    A, B = problem(args.m, args.n, args.k)
    k = args.k
    print(f"A {args.m} x {args.n}, k = {k} right-hand sides (B: {B.nbytes / 2**30:.2f} GiB); "
          f"{os.cpu_count()} CPUs; {_load()}")

    before = _peak_gib()
    t0 = time.perf_counter()
    whole = rp.nnls(A, B)
    t_whole = time.perf_counter() - t0
    extra = _peak_gib() - before
    print(f"in process, one call:      {t_whole:8.2f} s  {k / t_whole:10.0f} columns/s "
          f"(target 1e5: {k / t_whole / 1e5:.2f}x)  peak memory {_peak_gib():.2f} GiB, "
          f"+{extra:.2f} GiB above the problem; {whole.status_counts()}, "
          f"max kkt {np.max(whole.kkt):.1e}; {_load()}")

    t0 = time.perf_counter()
    with distributed.connect(workers=args.workers) as client:  # the cluster users get
        client.run(lambda: __import__("reparam"))  # what any first task would pay
        print(f"LocalCluster of {args.workers} workers started in "
              f"{time.perf_counter() - t0:.1f} s (not counted below)")
        t0 = time.perf_counter()
        res = distributed.nnls(A, B, client, chunks=args.chunks)
        t_dask = time.perf_counter() - t0
        x = res.x
        worker_peak = max(client.run(_peak_gib).values())
    size = res.info["chunks"]
    print(f"Dask, {args.workers} workers:          {t_dask:8.2f} s  {k / t_dask:10.0f} columns/s "
          f"({res.info['blocks']} blocks of {size} columns)  peak memory of a worker "
          f"{worker_peak:.2f} GiB; {res.status_counts()}; {_load()}")
    print(f"  overhead against one in-process call: {100 * (t_dask / t_whole - 1):+.0f} % "
          f"(target < 30 %); max |x_dask - x_one_call| = {np.max(np.abs(x - whole.x)):.1e}")

    if not args.skip_blocks:
        t0 = time.perf_counter()
        blocks = np.hstack([rp.nnls(A, B[:, s:s + size]).x for s in range(0, k, size)])
        t_blocks = time.perf_counter() - t0
        print(f"in process, block by block: {t_blocks:7.2f} s  {k / t_blocks:10.0f} columns/s; "
              f"{_load()}")
        print(f"  overhead against the same blocks in process: "
              f"{100 * (t_dask / t_blocks - 1):+.0f} %; Dask equals them bit for bit: "
              f"{np.array_equal(x, blocks)}")


if __name__ == "__main__":
    main()
