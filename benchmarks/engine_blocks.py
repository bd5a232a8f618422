"""Blocks, not loops: many initial scales or right-hand sides as one (n, k) block.

Run from the repository root: ``python -m benchmarks.engine_blocks [--columns K] [--loop L]``.

1. A 5-value init-scale sweep on the paper's underdetermined problem (10 rows, 50 unknowns,
   seed 3), ``reparam-gd`` and ``riemannian-gd``: one call with ``init_scale`` as an array
   (one block, per-column stopping) against one call per value; for a fixed number of iterations (the cost of an
   iteration) and to a tolerance (the block runs as long as its slowest column, so the ratio
   is at most the total iterations over the largest).
2. ``reparam-nesterov`` on a 400 x 200 Gaussian problem with ``k`` right-hand sides whose
   NNLS solutions are known and strictly complementary (:func:`batched_problem`; every column
   converges): one block against a loop of single solves. The loop is timed on its first
   ``L`` columns and scaled to ``k`` (its cost is linear in the number of columns).

Ratios are loop time / block time, measured in the same run; the sweep's times are the best
of ``--repeat`` runs (the machine may be shared). The target of the fixed-iteration sweep is a
ratio of at least 3 (a block iteration at most 5/3 of a single one). On a block this small
every NumPy call costs about as much as its arithmetic, so the driver certifies and checks a
small block a window of up to 16 iterations at a time (same answers and iteration counts as
checking every iteration). The answers are compared too. On a loaded
machine run it with ``OPENBLAS_NUM_THREADS=1``: BLAS threads that wait for a busy core make
each small single solve slow, which inflates the batched ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import reparam as rp
from reparam import problems


def _time(fn, repeat: int = 1):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def sweep(max_iter: int, tol: float, fixed: int, repeat: int = 3) -> None:
    A, b, _ = problems.gaussian(10, 50, sparsity=5, seed=3)
    scales = np.geomspace(1e-2, 1.0, 5)
    for method in ("reparam-gd", "riemannian-gd"):
        rp.nnls(A, b, method=method, init_scale=0.1, max_iter=10)  # warm-up
        for label, opts in (
            (f"{fixed} iterations each", {"tol": 0.0, "max_iter": fixed}),
            (f"to tol {tol:.0e}", {"tol": tol, "max_iter": max_iter}),
        ):
            opts = dict(opts, method=method)
            t_block, block = _time(lambda opts=opts: rp.nnls(A, b, init_scale=scales, **opts),
                                   repeat)
            t_loop, loop = _time(
                lambda opts=opts: [rp.nnls(A, b, init_scale=float(a), **opts) for a in scales],
                repeat)
            dev = max(np.max(np.abs(block.x[:, j] - r.x)) for j, r in enumerate(loop))
            its = [r.n_iter for r in loop]
            target = ""
            if opts["tol"] == 0.0:
                target = f" (target >= 3x: {'met' if t_loop >= 3 * t_block else 'missed'})"
            print(f"init-scale sweep 10x50 {method}, 5 scales, {label} (iterations "
                  f"{', '.join(map(str, its))}; ideal ratio <= {sum(its) / max(its):.1f}): "
                  f"block {t_block:.3f} s, loop {t_loop:.3f} s, ratio {t_loop / t_block:.1f}x"
                  f"{target}, max |dx| {dev:.1e}")


def batched_problem(m: int, n: int, k: int, *, density: float = 0.2, seed: int = 0):
    """``A ~ N(0, 1/m)`` (overdetermined) and ``k`` right-hand sides whose NNLS solutions are
    known and strictly complementary, so that every column converges: ``x*`` has a random
    support (``density``) with values in [0.5, 1.5], the gradient off the support is set to
    ``g* ∈ [0.05, 0.15]`` and ``b = A (x* − (AᵀA)⁻¹ g*)``, so ``Aᵀ(A x* − b) = g*``."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    support = rng.random((n, k)) < density
    X = np.where(support, rng.uniform(0.5, 1.5, (n, k)), 0.0)
    G = np.where(support, 0.0, rng.uniform(0.05, 0.15, (n, k)))
    return A, A @ (X - np.linalg.solve(A.T @ A, G)), X


def columns(k: int, n_loop: int, max_iter: int, tol: float) -> None:
    A, B, X = batched_problem(400, 200, k)
    opts = {"method": "reparam-nesterov", "tol": tol, "max_iter": max_iter}
    t_block, block = _time(lambda: rp.nnls(A, B, **opts))
    n_loop = min(n_loop, k)
    t_sub, loop = _time(lambda: [rp.nnls(A, B[:, j], **opts) for j in range(n_loop)])
    t_loop = t_sub * k / n_loop
    dev = max(np.max(np.abs(block.x[:, j] - r.x)) for j, r in enumerate(loop))
    err = np.max(np.abs(block.x - X))
    print(f"reparam-nesterov 400x200, k={k}: block {t_block:.2f} s, max |x - x*| {err:.1e} "
          f"({int(np.sum(block.status == rp.Status.CONVERGED))}/{k} converged, max "
          f"{int(np.max(block.n_iter))} iterations), loop {t_loop:.2f} s (timed on {n_loop} "
          f"columns), ratio {t_loop / t_block:.1f}x, max |dx| {dev:.1e}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=1000)
    parser.add_argument("--loop", type=int, default=10)
    parser.add_argument("--max-iter", type=int, default=5000)
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--fixed", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-columns", action="store_true")
    args = parser.parse_args(argv)
    sweep(args.max_iter, args.tol, args.fixed, args.repeat)
    if args.skip_columns:
        return
    columns(args.columns, args.loop, args.max_iter, args.tol)


if __name__ == "__main__":
    main()
