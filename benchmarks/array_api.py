"""NumPy against PyTorch (CPU, and a GPU where there is one): batched iterative NNLS.

Run from the repository root: ``python -m benchmarks.array_api [--columns K] [--iters N]``.

The same problem (A 400 x 200, ``k`` right-hand sides with known strictly complementary
solutions, :func:`benchmarks.engine_blocks.batched_problem`) is solved by ``reparam-nesterov``
and ``fista`` as one (n, k) block, once from NumPy arrays and once from PyTorch tensors (the
engine then computes in PyTorch through the array API, without a copy to NumPy). Both run a
fixed number of iterations (``tol=0``) so that they do the same work; the answers are compared.
Ratios are NumPy time / PyTorch time, measured in the same run (best of ``--repeat``). On a
shared machine run it with ``OPENBLAS_NUM_THREADS=1`` and the default ``--torch-threads 1``:
threads that wait for a busy core slow PyTorch's elementwise kernels by 10x or more.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import reparam as rp

from .engine_blocks import batched_problem


def _best(fn, repeat: int):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=1000)
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--torch-threads", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed (pip install torch==2.13.0 takes the CPU build)")
        return
    torch.set_num_threads(args.torch_threads)
    A, B, _ = batched_problem(400, 200, args.columns)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"A 400 x 200, k = {args.columns}, {args.iters} iterations (tol = 0), "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'method':18s} {'numpy s':>9s} " + " ".join(f"{'torch-' + d + ' s':>13s}"
                                                       for d in devices)
          + " " + " ".join(f"{'ratio ' + d:>10s}" for d in devices) + "  max |dx|")
    for method in ("reparam-nesterov", "fista"):
        opts = {"method": method, "tol": 0.0, "max_iter": args.iters}
        rp.nnls(A, B[:, :5], **dict(opts, max_iter=5))  # warm-up
        t_np, ref = _best(lambda opts=opts: rp.nnls(A, B, **opts), args.repeat)
        times, dev = [], 0.0
        for d in devices:
            At = torch.from_numpy(A).to(d)
            Bt = torch.from_numpy(B).to(d)
            rp.nnls(At, Bt[:, :5], **dict(opts, max_iter=5))  # warm-up

            def solve(At=At, Bt=Bt, opts=opts, d=d):
                res = rp.nnls(At, Bt, **opts)
                if d == "cuda":
                    torch.cuda.synchronize()
                return res

            t, res = _best(solve, args.repeat)
            times.append(t)
            dev = max(dev, float(np.max(np.abs(res.x.cpu().numpy() - ref.x))))
        print(f"{method:18s} {t_np:9.3f} " + " ".join(f"{t:13.3f}" for t in times) + " "
              + " ".join(f"{t_np / t:9.2f}x" for t in times) + f"  {dev:.1e}")


if __name__ == "__main__":
    main()
