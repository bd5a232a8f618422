"""The floor of Lawson–Hanson on a wide problem near its phase transition, against the bound.

Run from the repository root::

    python -m benchmarks.wide_floor                 # Gaussian 500 x 1000, seed 10
    python -m benchmarks.wide_floor --m 300 --n 600 --seed 1

The exact solver's wide path (:mod:`reparam.solvers.active_set.working_set`, Lawson & Hanson
1974, ch. 23, as column generation with a packed Cholesky factor) is judged in
``benchmarks.nnls_vs_scipy`` against a bound: ``A.T @ A``, ``A.T @ b`` and one Cholesky solve
of the support's Gram block. Near the phase transition of a Gaussian wide problem (n = 2m: the
columns' cone misses R^m half the time, Wendel 1962) the support has nearly m columns and many
columns enter only to leave again; this script asks how much of the gap to the bound that churn
forces on any implementation of the algorithm.

It runs the working set once with the numpy kernels (same iterates as the compiled ones) and
records every operation with its size: each round's gradient ``A.T @ r``, each entering block
(``A_F.T @ V`` for the block's columns V, ``U^{-T}`` of that, ``V.T @ V`` and the block's
Cholesky), each least-squares solve (one triangular solve, ``U z = y``) and each downdate (a
Givens sweep from the leaving variable's position). It then times those kernels alone at the
recorded sizes, each at its fastest available form (dense ``dtrsm``/``dtrsv`` with one BLAS
thread, the compiled packed sweep), and prints their sum — the time the algorithm's own work
takes with no bookkeeping at all — beside the solver's time and the bound, all measured in
this run (CPU time, best of ``--repeats``, one BLAS thread).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import ClassVar

import numpy as np
from scipy.linalg import blas, cho_factor, cho_solve, lapack
from threadpoolctl import threadpool_limits

import reparam
from benchmarks import problems
from reparam.solvers.active_set import working_set, working_set_wide


class _Recording(working_set_wide.PackedSet):
    """The packed working set with every kernel call written to ``log`` as (kind, s, k)."""

    log: ClassVar[list] = []

    def _extension(self, cand):
        self.log.append(("enter", self.F.size, cand.size))
        return super()._extension(cand)

    def _least_squares(self):
        self.log.append(("solve", self.F.size, 0))
        return super()._least_squares()

    def _remove(self, drop):
        s = self.F.size
        for k in np.flatnonzero(drop)[::-1]:
            self.log.append(("leave", s, int(k)))
            s -= 1
        super()._remove(drop)


def record(A, b):
    """The kernel calls of one working-set solve of (A, b), and its number of rounds."""
    before = os.environ.get("REPARAM_NO_EXTENSION")
    os.environ["REPARAM_NO_EXTENSION"] = "1"  # the numpy kernels: every call is visible
    saved = working_set_wide.PackedSet
    working_set_wide.PackedSet = _Recording
    _Recording.log = []
    try:
        x, rounds, certified, _ = working_set._working_set(A, b, None, 100 * A.shape[1])
    finally:
        working_set_wide.PackedSet = saved
        if before is None:
            del os.environ["REPARAM_NO_EXTENSION"]
        else:
            os.environ["REPARAM_NO_EXTENSION"] = before
    if not certified:
        raise SystemExit("the working set did not certify its answer: no floor to measure")
    return _Recording.log, rounds, x


def _best(fn, repeats):
    fn()
    best = np.inf
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def _per_call(fn, calls=20):
    """CPU seconds of one call of a sub-millisecond kernel (mean over a batch, best of 3)."""
    def batch():
        for _ in range(calls):
            fn()
    return _best(batch, 3) / calls


def _kernel(kind, s, k, A, U, At, rng):
    """CPU seconds of one recorded kernel call (kind, s, k), timed alone at its size."""
    n = A.shape[1]
    if kind == "enter":  # k candidates against a set of s columns
        V = A[:, rng.choice(n, size=k, replace=False)]
        t = _per_call(lambda: lapack.dpotrf(V.T @ V, lower=False))
        if s:
            Us, Ats = U[:s, :s].copy(order="F"), At[:s]
            C = np.asfortranarray(Ats @ V)
            t += _per_call(lambda: Ats @ V)
            t += _per_call(lambda: blas.dtrsm(1.0, Us, C, trans_a=1))
        return t
    if kind == "solve":
        if not s:
            return 0.0
        Us, y = U[:s, :s].copy(order="F"), rng.standard_normal(s)
        return _per_call(lambda: blas.dtrsv(Us, y))
    # a downdate of the s + 1 packed columns (U and [y; rho]) at position k
    ap = np.asarray(U[:s + 1, :s + 1].T[np.tril_indices(s + 1)])
    return max(_per_call(lambda: working_set.packed_delete(ap.copy(), s + 1, k))
               - _per_call(ap.copy), 0.0)


def floor(A, log, rounds):
    """Seconds of the recorded kernels, by kind, each timed alone at its recorded size."""
    m = A.shape[0]
    s_max = max(s for _, s, _ in log) + 1
    rng = np.random.default_rng(0)
    W = rng.standard_normal((m + s_max, s_max))
    U = np.asfortranarray(np.linalg.cholesky(W.T @ W).T)  # a well-conditioned factor
    At = np.ascontiguousarray(A[:, :s_max].T)  # s_max <= rank(A) <= m < n
    r = rng.standard_normal(m)
    cost = {"gradients": rounds * _per_call(lambda: A.T @ r)}
    cache: dict = {}
    for call in log:
        if call not in cache:
            cache[call] = _kernel(*call, A, U, At, rng)
        cost[call[0]] = cost.get(call[0], 0.0) + cache[call]
    return cost


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--m", type=int, default=500)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if not args.n > args.m >= working_set._WS_PACKED:
        raise SystemExit(f"the packed working set runs for n > m >= {working_set._WS_PACKED}")
    A, b = problems.gaussian(args.m, args.n, seed=args.seed)
    with threadpool_limits(1):
        log, rounds, x = record(A, b)
        S = np.flatnonzero(x > 0)

        def bound():
            G, c = A.T @ A, A.T @ b
            cho_solve(cho_factor(G[np.ix_(S, S)], lower=True, check_finite=False), c[S],
                      check_finite=False)

        t_bound = _best(bound, args.repeats)
        t_ours = _best(lambda: reparam.nnls(A, b), args.repeats)
        cost = floor(A, log, rounds)
    kinds = [kind for kind, _, _ in log]
    print(f"Gaussian {args.m} x {args.n}, seed {args.seed}: support {S.size}, {rounds} rounds, "
          f"{sum(k for kind, _, k in log if kind == 'enter')} candidates priced in "
          f"{kinds.count('enter')} blocks, {kinds.count('solve')} least-squares solves, "
          f"{kinds.count('leave')} variables leave")
    print("| kernel | seconds | / bound |")
    print("|---|---|---|")
    for kind, t in cost.items():
        print(f"| {kind} | {t:.4f} | {t / t_bound:.2f} |")
    total = sum(cost.values())
    print(f"| **kernels alone** | {total:.4f} | **{total / t_bound:.2f}** |")
    print(f"| reparam.nnls | {t_ours:.4f} | {t_ours / t_bound:.2f} |")
    print(f"| bound | {t_bound:.4f} | 1.00 |")


if __name__ == "__main__":
    main()
