"""Per-call overhead on small problems: reparam.nnls against scipy.optimize.nnls, same run.

Run from the repository root (one BLAS thread, as scipy.optimize.nnls uses)::

    OPENBLAS_NUM_THREADS=1 python -m benchmarks.tiny [--repeats 30] [--only 80]

Shapes: 7 x 5 in float32 (the size where a call is all overhead), 20 x 10, 80 x 40, 120 x 60,
160 x 80 (past the few-unknowns path: the exact kernel on the Gram pair), and a 3000 x 324
time-series design whose columns come in identical triples (lagged exponential responses, each
entered three times, as in a regression design built from overlapping feature groups). Batches
of many calls of the two are interleaved, so that a burst of load on a shared machine hits both
alike; the table gives the best batch of each and their ratio reparam / scipy (below 1: reparam
is faster), and the median over the batches of the ratio of the two batches timed side by side.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import scipy.optimize

import reparam as rp


def _best_pair(f, g, min_time: float = 0.2, repeats: int = 9) -> tuple[float, float, float]:
    """Seconds per call of ``f`` and of ``g`` (best of ``repeats`` batches each, the batches of
    the two interleaved so that a burst of load on a shared machine hits both alike), and the
    median over the batches of the ratio g / f of the two batches timed side by side."""
    f(), g()
    calls = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(calls):
            f()
        if time.perf_counter() - t0 >= min_time / repeats or calls >= 1 << 20:
            break
        calls *= 2
    times = np.empty((repeats, 2))
    for k in range(repeats):
        for i, fn in enumerate((f, g)):
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            times[k, i] = (time.perf_counter() - t0) / calls
    best = times.min(axis=0)
    return float(best[0]), float(best[1]), float(np.median(times[:, 1] / times[:, 0]))


def gaussian(m: int, n: int, dtype=np.float64, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n)).astype(dtype), rng.standard_normal(m).astype(dtype)


def time_series_design(m: int = 3000, seed: int = 0):
    """3000 x 324: 108 lagged exponential responses (36 lags x 3 time constants), each
    entered three times; b is a noisy non-negative combination of the responses."""
    rng = np.random.default_rng(seed)
    t = np.arange(m, dtype=float)
    base = []
    for tau in (5.0, 30.0, 200.0):
        for lag in np.linspace(0, m * 0.9, 36):
            base.append(np.where(t >= lag, np.exp(-(t - lag) / tau), 0.0))
    B = np.column_stack(base)  # 3000 x 108
    A = np.column_stack([B, B, B])  # every response entered three times
    x = np.where(rng.random(108) < 0.3, rng.uniform(0.5, 2.0, 108), 0.0)
    b = B @ x + 0.01 * rng.standard_normal(m)
    return A, b


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="interleaved batches per row")
    parser.add_argument("--only", default="", help="run the rows whose name contains this")
    args = parser.parse_args(argv)
    cases = [
        ("7 x 5 float32", *gaussian(7, 5, np.float32)),
        ("20 x 10", *gaussian(20, 10)),
        ("80 x 40", *gaussian(80, 40)),
        ("120 x 60", *gaussian(120, 60)),
        ("160 x 80", *gaussian(160, 80)),
        ("3000 x 324 time series, duplicated columns", *time_series_design()),
    ]
    print(f"BLAS threads: {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}; "
          f"{args.repeats} interleaved batches per row")
    print(f"{'problem':<44}{'scipy':>11}{'reparam':>11}{'ratio':>8}{'median':>8}"
          f"{'obj rel diff':>14}")
    for name, A, b in cases:
        if args.only not in name:
            continue
        heavy = A.shape[0] * A.shape[1] > 100_000
        t_sp, t_rp, median = _best_pair(lambda A=A, b=b: scipy.optimize.nnls(A, b),
                                        lambda A=A, b=b: rp.nnls(A, b), 2.0 if heavy else 0.5,
                                        max(3, args.repeats // 3) if heavy else args.repeats)
        res = rp.nnls(A, b)
        A64, b64 = np.asarray(A, float), np.asarray(b, float)
        f_sp = 0.5 * float(np.sum((A64 @ scipy.optimize.nnls(A, b)[0] - b64) ** 2))
        rel = (res.objective - f_sp) / max(f_sp, 1e-300)
        print(f"{name:<44}{t_sp * 1e6:>9.1f}us{t_rp * 1e6:>9.1f}us{t_rp / t_sp:>8.2f}"
              f"{median:>8.2f}{rel:>14.1e}", flush=True)


if __name__ == "__main__":
    main()
