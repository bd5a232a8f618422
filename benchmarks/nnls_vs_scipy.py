"""Exact NNLS: reparam against scipy.optimize.nnls, timed in the same run.

Run from the repository root::

    python -m benchmarks.nnls_vs_scipy            # full suite (several minutes: scipy is slow)
    python -m benchmarks.nnls_vs_scipy --quick    # under two minutes on two cores

Times are medians over repeats (fewer repeats for slow problems). For many right-hand sides the
reference is a Python loop of scipy.optimize.nnls; on large k it is timed on a subset of columns
and extrapolated linearly, which the output says.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

if __name__ == "__main__" and "--threads" in sys.argv:
    # Must happen before numpy loads OpenBLAS. scipy.optimize.nnls is single-threaded C, so
    # --threads 1 compares like with like; on a busy machine it also removes the spin-waiting
    # of idle BLAS threads that makes small multi-threaded calls erratic.
    _n = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _n

import numpy as np
import scipy.optimize

from benchmarks import problems


def _our_solver():
    try:
        import reparam

        def solve(A, b):
            return np.asarray(reparam.nnls(A, b).x)

        return solve, "reparam.nnls (method='auto')"
    except (ImportError, AttributeError):  # the public API may be mid-edit
        from reparam.solvers.active_set import active_set_nnls

        return (lambda A, b: active_set_nnls(A, b).x), "reparam.solvers.active_set"


def _scipy(A, b):
    try:
        return scipy.optimize.nnls(A, b)[0]
    except RuntimeError:  # scipy raises at its iteration cap (3 n)
        return np.full(A.shape[1], np.nan)


def _scipy_loop(A, B):
    return np.column_stack([_scipy(A, B[:, j]) for j in range(B.shape[1])])


def _time(fn, *args, budget=3.0, max_repeats=5):
    """Median wall time over up to ``max_repeats`` runs, fewer if one run is slow."""
    times, out = [], None
    t0 = time.perf_counter()
    out = fn(*args)  # warm-up (BLAS threads, caches), timed only if it is the sole run
    first = time.perf_counter() - t0
    if first > budget or max_repeats == 1:
        return first, out, 1
    while len(times) < max_repeats:
        t0 = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t0)
        if sum(times) > budget:
            break
    return float(np.median(times)), out, len(times)


def _objective(A, b, x):
    return 0.5 * float(np.sum((A @ x - b) ** 2))


def _obj_diff(A, b, x, xs):
    """(f(x) - f(x_scipy)) / f(0): comparable across problems, fine when f* = 0."""
    return (_objective(A, b, x) - _objective(A, b, xs)) / max(0.5 * float(b @ b), 1e-300)


def _suite(quick):
    sizes = (200, 500, 1000) if quick else (200, 500, 1000, 2000, 4000)
    dense = [(f"gaussian {2 * n}x{n}", problems.gaussian(2 * n, n, seed=n)) for n in sizes]
    dense += [
        ("tall 10000x200", problems.gaussian(10000, 200, seed=1)),
        ("wide 200x2000", problems.gaussian(200, 2000, seed=2)),
        ("small 80x40", problems.gaussian(80, 40, seed=3)),
        ("small 400x200 planted", problems.planted(400, 200, seed=4)),
        ("shaw 1000x1000", problems.shaw(1000)),
    ]
    if not quick:
        dense.append(("blur 2000x2000", problems.blur(2000)))
    batched = (1000, 10000) if quick else (1000, 10000, 100000)
    return dense, batched


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller suite, under 2 minutes")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads for both solvers (set before numpy loads)")
    args = parser.parse_args(argv)
    solve, label = _our_solver()
    dense, batched = _suite(args.quick)
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"ours: {label}; reference: scipy.optimize.nnls {scipy.__version__}; "
          f"BLAS threads: {threads}; obj diff = (f(ours) - f(scipy)) / f(0)")
    head = (f"{'problem':<26}{'ours [s]':>10}{'scipy [s]':>11}{'speed-up':>10}"
            f"{'kkt ours':>10}{'kkt scipy':>11}{'obj diff':>11}")
    print(head)
    print("-" * len(head))
    ratios = []
    for name, (A, b) in dense:
        big = A.shape[1] >= 2000
        t_ours, x, _ = _time(solve, A, b, max_repeats=3 if big else 5)
        t_sp, xs, _ = _time(_scipy, A, b, budget=1.0 if big else 3.0,
                            max_repeats=1 if big else 5)
        ratio = t_sp / t_ours
        ratios.append(ratio)
        obj_diff = _obj_diff(A, b, x, xs)
        print(f"{name:<26}{t_ours:>10.4f}{t_sp:>11.4f}{ratio:>9.2f}x"
              f"{problems.kkt(A, b, x):>10.1e}{problems.kkt(A, b, xs):>11.1e}{obj_diff:>11.1e}",
              flush=True)
    gmean = float(np.exp(np.mean(np.log(ratios))))
    print(f"geometric-mean speed-up over the dense single-RHS suite: {gmean:.2f}x "
          f"(min {min(ratios):.2f}x)")
    print()
    for k in batched:
        A, B = problems.batched(400, 200, k)
        # Both sides: one untimed warm-up run, then the median of up to 3 (a single timed
        # run of a ~1 s call swung by 30% on a shared machine).
        t_ours, X, _ = _time(solve, A, B, budget=4.0, max_repeats=3)
        sub = min(k, 300)
        t_sub, Xs, _ = _time(_scipy_loop, A, B[:, :sub], budget=4.0, max_repeats=3)
        t_sp = t_sub * k / sub
        note = "" if sub == k else f"  (scipy loop timed on {sub} columns, x{k / sub:g})"
        diff = float(np.max(np.abs(X[:, :sub] - Xs)))
        print(f"batched 400x200 k={k:<7}{t_ours:>10.3f}{t_sp:>11.3f}{t_sp / t_ours:>9.1f}x"
              f"{problems.kkt(A, B, X):>10.1e}  max|x - x_scipy| {diff:.1e}{note}", flush=True)


if __name__ == "__main__":
    main()
