"""Exact NNLS: reparam against scipy.optimize.nnls and against a BLAS bound, in the same run.

Run from the repository root::

    python -m benchmarks.nnls_vs_scipy            # the whole table (a few minutes)
    python -m benchmarks.nnls_vs_scipy --quick    # smaller batched rows, under two minutes

Every time is the best of ``--repeats`` runs (default 3) after one untimed warm-up: on a shared
machine the minimum is the least noisy estimate of what the code costs.

The "bound" column, by which a row is judged, is the work any exact method must do once it
knows the answer's support S (the positive entries of x), whatever the shape: for one
right-hand side, ``A.T @ A``, ``A.T @ b`` and one Cholesky solve of the Gram block G_SS. For
wide problems (m < n) the Gram matrix of all n columns is more than the answer needs, so the
"wide bnd" column shows a stricter bound for information (not judged): the gradient
``A.T @ (A x - b)`` that certifies the answer plus the Gram block ``A[:, S].T @ A[:, S]`` and its
Cholesky solve; ``ours/wb`` is the time against it. For many right-hand sides: ``A.T @ A``,
``A.T @ B`` and one Cholesky solve per distinct passive set. The reference for many right-hand
sides is a Python loop of scipy.optimize.nnls, timed on at most 300 columns and extrapolated
linearly (the output says so).

``--only NAME`` runs the rows whose name contains NAME (``--only shaw``, ``--only wide``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

if __name__ == "__main__" and "--threads" in sys.argv:
    # Must happen before numpy loads OpenBLAS. scipy.optimize.nnls is single-threaded C, so
    # --threads 1 compares like with like.
    _n = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _n

import numpy as np
import scipy.optimize
from scipy.linalg import cho_factor, cho_solve

import reparam
from benchmarks import problems
from reparam import problems as rp_problems


def _ours(A, b):
    return reparam.nnls(A, b)


def _scipy(A, b):
    try:
        return scipy.optimize.nnls(A, b)[0]
    except RuntimeError:  # scipy raises at its iteration cap (3 n)
        return np.full(A.shape[1], np.nan)


def _scipy_loop(A, B):
    return np.column_stack([_scipy(A, B[:, j]) for j in range(B.shape[1])])


def _best(fn, *args, repeats=3, budget=20.0):
    """Best wall time of up to ``repeats`` runs after a warm-up; one run if a run is slow.
    A call under a millisecond is timed as the mean of a batch of calls (about 20 ms), so
    that the timer's resolution and one scheduler hiccup do not decide the row."""
    t0 = time.perf_counter()
    out = fn(*args)
    first = time.perf_counter() - t0
    times = []
    if first * repeats > budget:
        return first, out
    calls = max(1, min(1000, int(0.02 / first))) if first < 1e-3 else 1
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            out = fn(*args)
        times.append((time.perf_counter() - t0) / calls)
    return min(times), out


def _bound_single(A, b, x):
    """A.T @ A, A.T @ b and one Cholesky solve of the support's Gram block: the judged bound."""
    S = np.flatnonzero(x > 0)
    G, c = A.T @ A, A.T @ b
    if S.size:
        cho_solve(cho_factor(G[np.ix_(S, S)], lower=True, check_finite=False), c[S],
                  check_finite=False)


def _bound_wide(A, b, x):
    """The stricter bound of a wide problem, without A.T @ A: the certificate's gradient, the
    support's Gram block from its columns and one Cholesky solve (for information only)."""
    S = np.flatnonzero(x > 0)
    A.T @ (A @ x - b)
    AS = A[:, S]
    if S.size:
        cho_solve(cho_factor(AS.T @ AS, lower=True, check_finite=False), AS.T @ b,
                  check_finite=False)


def _bound_multi(A, B, X):
    """A.T @ A, A.T @ B, and one factorization per distinct passive set: shared sets by one
    Cholesky solve each, the others stacked by size into one batched LAPACK solve per size
    (no Python iteration per column)."""
    G, C = A.T @ A, A.T @ B
    P = X > 0
    packed = np.ascontiguousarray(np.packbits(P, axis=0).T)
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True,
                                          return_counts=True)
    for g in np.flatnonzero(counts >= 4):
        S = np.flatnonzero(P[:, first[g]])
        if S.size:
            cols = np.flatnonzero(inverse == g)
            fac = cho_factor(G[np.ix_(S, S)], lower=True, check_finite=False)
            cho_solve(fac, C[np.ix_(S, cols)], check_finite=False)
    lone = np.flatnonzero(counts[inverse] < 4)
    sizes = P[:, lone].sum(axis=0)
    for s in np.unique(sizes):
        cols = lone[sizes == s]
        if s == 0:
            continue
        idx = np.nonzero(P[:, cols].T)[1].reshape(cols.size, s)
        np.linalg.solve(G[idx[:, :, None], idx[:, None, :]], C[idx, cols[:, None]][..., None])


def _single_suite():
    def gauss(m, n, seed):
        return problems.gaussian(m, n, seed=seed)

    def paper(m, n, sparsity=None, noise=0.0, seed=0):
        return rp_problems.gaussian(m, n, sparsity=sparsity, noise=noise, seed=seed)[:2]

    return [
        ("gaussian 400x200", gauss(400, 200, 200)),
        ("gaussian 1000x500", gauss(1000, 500, 500)),
        ("gaussian 2000x1000", gauss(2000, 1000, 1000)),
        ("square 800x800", gauss(800, 800, 8)),
        ("noisy square 1500x1500", paper(1500, 1500, noise=1e-2, seed=15)),
        ("tall 5000x200", gauss(5000, 200, 1)),
        ("wide 200x2000", gauss(200, 2000, 2)),
        ("wide 100x5000", gauss(100, 5000, 5)),
        ("wide 500x1000", gauss(500, 1000, 10)),
        ("interp 200x500 s=20", paper(200, 500, sparsity=20, seed=20)),
        ("small 80x40", gauss(80, 40, 3)),
        ("shaw 1000", problems.shaw(1000)),
        ("blur 2000", problems.blur(2000)),
    ]


def _multi_suite(quick):
    rng = np.random.default_rng(64)
    rows = []
    for k in (2000,) if quick else (2000, 10000):
        A, B = problems.batched(400, 200, k)
        rows.append((f"batched 400x200 k={k}", A, B))
    # The NMF regime: a non-negative factor with few columns, many right-hand sides.
    for m, n, k in ((64, 16, 1797), (1797, 16, 64), (200, 20, 2000 if quick else 20000)):
        W = np.abs(rng.standard_normal((m, n)))
        H = np.where(rng.random((n, k)) < 0.5, rng.random((n, k)), 0.0)
        B = np.ascontiguousarray(W @ H + 0.1 * np.abs(rng.standard_normal((m, k))))
        rows.append((f"nmf {m}x{n} k={k}", W, B))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller batched rows")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    parser.add_argument("--only", default="", help="run the rows whose name contains this")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads for both solvers (set before numpy loads)")
    args = parser.parse_args(argv)
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"reparam.nnls (method='auto') against scipy.optimize.nnls {scipy.__version__}; "
          f"BLAS threads: {threads}; best of {args.repeats}; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    head = (f"{'problem':<25}{'ours [s]':>10}{'scipy [s]':>11}{'speed-up':>10}"
            f"{'bound [s]':>11}{'ours/bnd':>9}{'kkt ours':>10}{'kkt scipy':>11}"
            f"{'wide bnd':>10}{'ours/wb':>8}  path")
    print(head)
    print("-" * (len(head) + 20))
    ratios = []
    over = []  # rows with n >= 400 above twice the bound
    for name, (A, b) in _single_suite():
        if args.only not in name:
            continue
        t_ours, res = _best(_ours, A, b, repeats=args.repeats)
        t_sp, xs = _best(_scipy, A, b, repeats=args.repeats)
        t_bd, _ = _best(_bound_single, A, b, res.x, repeats=args.repeats)
        wide = ""
        if A.shape[0] < A.shape[1]:
            t_wb, _ = _best(_bound_wide, A, b, res.x, repeats=args.repeats)
            wide = f"{t_wb:>10.4f}{t_ours / t_wb:>7.1f}x"
        ratio = t_sp / t_ours
        ratios.append(ratio)
        if A.shape[1] >= 400 and t_ours > 2 * t_bd:
            over.append(f"{name} {t_ours / t_bd:.1f}x")
        print(f"{name:<25}{t_ours:>10.4f}{t_sp:>11.4f}{ratio:>9.2f}x{t_bd:>11.4f}"
              f"{t_ours / t_bd:>8.1f}x{problems.kkt(A, b, res.x):>10.1e}"
              f"{problems.kkt(A, b, xs):>11.1e}{wide:>18}  {res.message.split(':')[0][:40]}",
              flush=True)
    if ratios:
        gmean = float(np.exp(np.mean(np.log(ratios))))
        print(f"geometric-mean speed-up over {len(ratios)} single right-hand-side problems: "
              f"{gmean:.2f}x (min {min(ratios):.2f}x)")
        print("rows with n >= 400 above twice the bound: " + (", ".join(over) or "none"))
    print()
    for name, A, B in _multi_suite(args.quick):
        if args.only not in name:
            continue
        k = B.shape[1]
        t_ours, res = _best(_ours, A, B, repeats=args.repeats)
        sub = min(k, 300)
        t_sub, Xs = _best(_scipy_loop, A, B[:, :sub], repeats=args.repeats)
        t_sp = t_sub * k / sub
        t_bd, _ = _best(_bound_multi, A, B, res.x, repeats=args.repeats)
        note = "" if sub == k else f" (scipy on {sub} cols, x{k / sub:g})"
        print(f"{name:<25}{t_ours:>10.4f}{t_sp:>11.4f}{t_sp / t_ours:>9.1f}x{t_bd:>11.4f}"
              f"{t_ours / t_bd:>8.1f}x{problems.kkt(A, B, res.x):>10.1e}"
              f"{problems.kkt(A[:, :], B[:, :sub], Xs):>11.1e} {note}", flush=True)


if __name__ == "__main__":
    main()
