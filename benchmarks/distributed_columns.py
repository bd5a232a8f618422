"""A hyperspectral-sized job: one A (200 x 20), a million right-hand sides.

``python -m benchmarks.distributed_columns [--k 1000000] [--workers 2] [--chunks C]
[--mode both|memory|zarr] [--codec none|zstd|lz4] [--store DIR]``

Every run (both sides) uses one BLAS thread per process (threadpoolctl; the Dask workers have
one by Dask's default), printed with the figures. Times are wall clock and CPU seconds: on a
shared machine the wall clock says as much about the neighbours as about the code, the CPU
seconds (this process, plus every worker process for Dask) say what the work cost. Every
in-process run comes first, before the cluster starts (its scheduler runs in this process).

Memory mode (B in this process's memory, as a user who built it would have it):

1. In process: ``reparam.nnls(A, B)`` on all k columns in one call (the batched exact solver):
   columns per second (target >= 1e5 on 2 cores) and peak resident memory above the problem
   itself. Then the same solver called block by block (the blocks Dask gets), in this process.
2. Dask: ``reparam.distributed.nnls(A, B, client)`` on a ``LocalCluster`` of ``--workers``
   processes (one thread each; started before the clock runs, its start time printed apart),
   B in this process's memory as a user would have it. Overhead = Dask time / in-process time
   - 1 (target < 30 % with 2 workers on 2 cores), against both in-process runs; the answers
   are compared (Dask equals the block-by-block run bit for bit). Each block is copied out of
   B by this process, into a file in shared memory that its worker maps (a LocalCluster):
   that, on the same cores as the workers, is the overhead beyond Dask's own.

Zarr mode (the realistic job: B on disk in a Zarr store, x written to a Zarr store, nothing
large passes through the client). B is written once to a store chunked ``(m, c)`` with ``c``
the solver's block (``reparam.distributed.block_columns``: 20 971 columns of 200 rows, 32 MiB):
each block is one chunk, one file, decoded straight into the C-ordered (m, c) array the solver
takes, and no chunk is read twice. Its codec is ``--codec`` (default none: noisy float64
compresses little, and the read stays a copy; ``lz4`` is Blosc-LZ4 with byte shuffle, ``zstd``
Zarr 3's default). x goes to stores created alike on both sides (chunks (n, c), Zarr's default
codec). The store is read while in the page cache (just written) by both sides.

3. In process: read all of B from the store, one ``reparam.nnls`` call, write x; and block by
   block (read a chunk, solve, write its x).
4. Dask: ``reparam.distributed.nnls(A, "B.zarr", client, out="x.zarr")`` (each task reads its
   own chunk on its worker) and the same with ``dask.array.from_zarr`` input (a graph whose
   getter tasks read the chunks on the workers). Overhead against the faster in-process run,
   in wall clock and in CPU seconds; the answers are compared bit for bit.

The problem (seeded): A = |N(0, 1)| "spectra" of 20 materials at 200 wavelengths, each column
of X* has about 5 materials with random abundances, B = A X* + 0.01 noise. Figures depend on the
machine's load: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

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


def _cpu() -> float:
    """CPU seconds of this process so far, all its threads (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _blas_threads() -> int:
    from threadpoolctl import threadpool_info

    return max((p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"),
               default=0)


class Clock:
    """Wall clock and CPU seconds of this process and of the cluster's workers."""

    def __init__(self, client=None):
        self.client = client

    def _workers(self) -> float:
        return sum(self.client.run(_cpu).values()) if self.client is not None else 0.0

    def __enter__(self):
        self.w0, self.c0, self.t0 = self._workers(), _cpu(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        self.here = _cpu() - self.c0
        self.there = self._workers() - self.w0
        self.cpu = self.here + self.there

    def line(self, k: int) -> str:
        where = f" (client {self.here:.2f} + workers {self.there:.2f})" if self.client else ""
        return (f"{self.wall:8.2f} s  {k / self.wall:10.0f} columns/s  CPU {self.cpu:6.2f} s"
                f"{where}")


def _overhead(dask: Clock, ref: Clock, what: str) -> str:
    return (f"  overhead against {what}: wall {100 * (dask.wall / ref.wall - 1):+.0f} %, "
            f"CPU {100 * (dask.cpu / ref.cpu - 1):+.0f} % (target < 30 %)")


def memory_mode(A, B, args):
    """The in-process runs, then (given the client: ``send``) the Dask run and the ratios."""
    from reparam import distributed

    m, k = B.shape
    size = args.chunks or distributed.block_columns(m, k, args.workers)
    print("-- memory mode, in process: B in this process's memory")
    before = _peak_gib()
    with Clock() as one:
        whole = rp.nnls(A, B)
    extra = _peak_gib() - before
    print(f"in process, one call:       {one.line(k)}  (target 1e5 columns/s: "
          f"{k / one.wall / 1e5:.2f}x)  peak memory {_peak_gib():.2f} GiB, +{extra:.2f} GiB "
          f"above the problem; {whole.status_counts()}, max kkt {np.max(whole.kkt):.1e}; "
          f"{_load()}")
    if not args.skip_blocks:
        with Clock() as blocks:
            xs = np.hstack([rp.nnls(A, B[:, s:s + size]).x for s in range(0, k, size)])
        print(f"in process, block by block: {blocks.line(k)}; {_load()}")
    client = yield
    print("-- memory mode, Dask: B in this process's memory")
    with Clock(client) as dask:
        res = distributed.nnls(A, B, client, chunks=size)
    x = res.x
    worker_peak = max(client.run(_peak_gib).values())
    print(f"Dask, {args.workers} workers, B in memory: {dask.line(k)}  ({res.info['blocks']} "
          f"blocks of {size} columns)  peak memory of a worker {worker_peak:.2f} GiB; "
          f"{res.status_counts()}; {_load()}")
    print(_overhead(dask, one, "one in-process call")
          + f"; max |x_dask - x_one_call| = {np.max(np.abs(x - whole.x)):.1e}")
    if not args.skip_blocks:
        print(_overhead(dask, blocks, "the same blocks in process")
              + f"; Dask equals them bit for bit: {np.array_equal(x, xs)}")


def _create(path: str, shape, chunks, dtype, codec: str):
    """A new Zarr array at ``path`` stored with ``codec`` (none, lz4 or zstd; Zarr 3 or 2)."""
    import zarr

    if int(zarr.__version__.split(".")[0]) >= 3:
        from zarr.codecs import BloscCodec, ZstdCodec

        compressors = {"none": None, "zstd": ZstdCodec(level=0),
                       "lz4": BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")}[codec]
        return zarr.create_array(path, shape=shape, chunks=chunks, dtype=dtype,
                                 compressors=compressors, overwrite=True)
    from numcodecs import Blosc, Zstd

    compressor = {"none": None, "zstd": Zstd(level=0),
                  "lz4": Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE)}[codec]
    return zarr.open_array(path, mode="w", shape=shape, chunks=chunks, dtype=dtype,
                           compressor=compressor)


def _stored(path: str) -> str:
    """The codec and size on disk of the Zarr array at ``path``."""
    import zarr

    z = zarr.open_array(path, mode="r")
    codecs = z.compressors if hasattr(z, "compressors") else z.compressor
    codecs = ", ".join(map(str, codecs)) if isinstance(codecs, tuple | list) else codecs
    size = sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
    return (f"codec {codecs or 'none'}, {z.nbytes / 2**30:.2f} GiB in {size / 2**30:.2f} GiB, "
            f"chunks {z.chunks}")


def zarr_mode(A, B, args, folder: str):
    """The in-process runs, then (given the client: ``send``) the Dask runs and the ratios."""
    import dask.array as da
    import zarr

    from reparam import distributed

    m, k = B.shape
    n = A.shape[1]
    c = args.chunks or distributed.block_columns(m, k, args.workers)
    print("-- Zarr mode, in process: B read from a Zarr store, x written to a Zarr store")
    source = os.path.join(folder, "B.zarr")
    t0 = time.perf_counter()
    _create(source, B.shape, (m, c), B.dtype, args.codec)[...] = B
    print(f"B written to {source} in {time.perf_counter() - t0:.1f} s (not counted): "
          f"{_stored(source)}")

    def x_store(name):  # as reparam.distributed creates its out store
        return zarr.open_array(os.path.join(folder, name), mode="w", shape=(n, k),
                               chunks=(n, c), dtype=B.dtype)

    with Clock() as one:
        whole = rp.nnls(A, zarr.open_array(source, mode="r")[...])
        x_store("x_one.zarr")[...] = whole.x
    print(f"in process, one read + one call + write: {one.line(k)}  {whole.status_counts()}; "
          f"{_load()}")
    del whole
    with Clock() as blocks:
        stored, out = zarr.open_array(source, mode="r"), x_store("x_blocks.zarr")
        for s in range(0, k, c):
            out[:, s:s + c] = rp.nnls(A, stored[:, s:s + c]).x
    print(f"in process, block by block (read, solve, write): {blocks.line(k)}; {_load()}")
    best = min(one, blocks, key=lambda clock: clock.wall)
    what = "the faster in-process run" + (" (one call)" if best is one else " (blocks)")
    xs = np.asarray(zarr.open_array(os.path.join(folder, "x_blocks.zarr"), mode="r"))
    x1 = np.asarray(zarr.open_array(os.path.join(folder, "x_one.zarr"), mode="r"))
    client = yield
    print("-- Zarr mode, Dask: B read from the same store by the workers, x written by them")
    for name, given in (("path", source), ("da.from_zarr", None)):
        if given is None:
            given = da.from_zarr(source)
        target = os.path.join(folder, "x_dask.zarr")
        with Clock(client) as dask:
            res = distributed.nnls(A, given, client, out=target, overwrite=True, chunks=c)
        x = np.asarray(zarr.open_array(target, mode="r"))
        print(f"Dask, {args.workers} workers, B from Zarr ({name}): {dask.line(k)}  "
              f"({res.info['blocks']} blocks of {res.info['chunks']} columns) "
              f"{res.status_counts()}; {_load()}")
        print(_overhead(dask, best, what) + f"; equals the in-process blocks bit for bit: "
              f"{np.array_equal(x, xs)}; max |x_dask - x_one_call| = "
              f"{np.max(np.abs(x - x1)):.1e}")
    for name in ("x_blocks.zarr", "x_dask.zarr"):
        print(f"{name}: {_stored(os.path.join(folder, name))}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=1_000_000, help="right-hand sides")
    parser.add_argument("--m", type=int, default=200)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunks", type=int, default=None,
                        help="columns per block (default: reparam.distributed's choice)")
    parser.add_argument("--skip-blocks", action="store_true",
                        help="memory mode: skip the block-by-block in-process run")
    parser.add_argument("--mode", choices=("both", "memory", "zarr"), default="both")
    parser.add_argument("--codec", choices=("none", "lz4", "zstd"), default="none",
                        help="codec of the Zarr store of B (default: none)")
    parser.add_argument("--store", default=None,
                        help="folder for the Zarr stores (default: a temporary folder, "
                             "removed at the end)")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    from reparam import distributed

    A, B = problem(args.m, args.n, args.k)
    k = args.k
    print(f"A {args.m} x {args.n}, k = {k} right-hand sides (B: {B.nbytes / 2**30:.2f} GiB); "
          f"{os.cpu_count()} CPUs; {_load()}")
    with contextlib.ExitStack() as stack:
        stack.enter_context(threadpool_limits(limits=1, user_api="blas"))
        # Every in-process run first, with no cluster running in this process (its scheduler
        # and client threads would add their CPU seconds to the in-process figures).
        modes = []
        if args.mode in ("both", "memory"):
            modes.append(memory_mode(A, B, args))
        if args.mode in ("both", "zarr"):
            folder = args.store or stack.enter_context(tempfile.TemporaryDirectory())
            if args.store:
                os.makedirs(folder, exist_ok=True)
                for name in ("B.zarr", "x_one.zarr", "x_blocks.zarr", "x_dask.zarr"):
                    stack.callback(shutil.rmtree, os.path.join(folder, name), True)
            modes.append(zarr_mode(A, B, args, folder))
        for mode in modes:
            next(mode)
        t0 = time.perf_counter()
        client = stack.enter_context(distributed.connect(workers=args.workers))
        # what any first task would pay (this process has imported both already)
        client.run(lambda: [__import__(name) for name in ("reparam", "zarr")])
        print(f"LocalCluster of {args.workers} workers started in "
              f"{time.perf_counter() - t0:.1f} s (not counted below); BLAS threads: "
              f"{_blas_threads()} here, {sorted(set(client.run(_blas_threads).values()))} "
              f"per worker")
        for mode in modes:
            with contextlib.suppress(StopIteration):
                mode.send(client)


if __name__ == "__main__":
    main()
