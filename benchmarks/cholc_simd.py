"""The compiled kernels of the wide working set at each vector level of ``_cholc``.

Run from the repository root::

    python -m benchmarks.cholc_simd                  # kernels, then whole solves
    python -m benchmarks.cholc_simd --repeats 21 --solves 0

``_cholc`` picks its kernels at import: 256-bit vectors with fused multiply-adds (AVX2 and FMA)
where the CPU has them, two-double SSE2 vectors otherwise; ``_cholc.simd(level)`` switches.
This script times each kernel alone at both levels at a few sizes of the factor s (U packed,
from the QR of a Gaussian matrix): ``solve_lower`` (``U^{-T} B``, 16 right-hand sides, and one),
the back substitution ``U z = y`` (one step of ``lh_inner`` that keeps every variable) and
the downdate ``delete_packed`` at a given distance from the end, ten in a row (the copy that
then restores the factor timed apart and subtracted), and ``gather_dot`` (A_F^T V with the
rows of A_F gathered by slot, w = 16 and 2 candidates); then, at the level chosen at import,
``gather_dot`` against what it replaces, BLAS on ``At[:used]`` and the product's rows taken by
slot (the table's "np" columns). Then the whole solve
``reparam.nnls(A, b)`` on wide Gaussian problems. The two levels alternate call by call
(kernels: block by block) so that the machine's load falls on both alike; CPU time, one BLAS
thread; best and median per level and the ratio of medians.
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np
from threadpoolctl import threadpool_limits

import reparam
from benchmarks import problems
from reparam.solvers.active_set import working_set


def _packed(s, seed=0):
    U = np.linalg.qr(np.random.default_rng(seed).standard_normal((s + 20, s)), mode="r")
    U *= np.sign(np.diag(U))[:, None]  # a positive diagonal, as a Cholesky factor has
    return U, U.T[np.tril_indices(s)].copy()


def _block_time(fn, inner):
    t = time.process_time()
    for _ in range(inner):
        fn()
    return (time.process_time() - t) / inner


def _interleaved(cholc, fn, repeats, inner=None):
    """{level: [seconds per call]} of fn (timed in blocks of ``inner`` calls, or returning its
    own time), the levels alternating block by block."""
    times = {0: [], 1: []}
    for _ in range(repeats):
        for level in (0, 1):
            cholc.simd(level)
            times[level].append(fn() if inner is None else _block_time(fn, inner))
    return times


def _row(name, times, unit=1e3):
    b, a = np.array(times[0]) * unit, np.array(times[1]) * unit
    print(f"{name:34s} {b.min():8.3f} {np.median(b):8.3f} {a.min():8.3f} {np.median(a):8.3f}"
          f"   {np.median(a) / np.median(b):5.2f}")


def kernels(cholc, sizes, repeats):
    print(f"{'kernel (ms per call)':34s} {'sse2 min':>8s} {'median':>8s} {'avx2 min':>8s} "
          f"{'median':>8s}   avx2/sse2")
    for s in sizes:
        U, ap = _packed(s, seed=s)
        inner = max(3, int(2e6 / s**2))
        B = np.random.default_rng(1).standard_normal((s, 16))
        for r in (16, 1):  # a block of right-hand sides, then one
            Br = B[:, :r].copy()
            work = Br.copy()

            def solve(Br=Br, work=work, ap=ap, s=s):
                np.copyto(work, Br)
                cholc.solve_lower(ap, s, work)

            t = _interleaved(cholc, solve, repeats, inner)
            _row(f"solve_lower s={s} r={r}", t)
        # U z = y with z = 1: one back substitution, every variable kept
        apy = np.concatenate([ap, U @ np.ones(s), [0.0]])
        x = np.ones(s)
        pos = np.arange(s)

        def upper(apy=apy, x=x, pos=pos, s=s):
            cholc.lh_inner(apy, s, x, None, pos)

        t = _interleaved(cholc, upper, repeats, inner)
        _row(f"lh_inner (one solve) s={s}", t)
        # ten downdates in a row at the same distance from the end, then the factor restored
        buf = ap.copy()
        copy = min(_block_time(partial(np.copyto, buf, ap), inner) for _ in range(5)) / 10
        for back in (3 * s // 4, 60):
            def down(back=back, buf=buf, ap=ap, s=s):
                np.copyto(buf, ap)
                for i in range(10):
                    cholc.delete_packed(buf, s - i, s - i - back)

            t = _interleaved(cholc, down, repeats, inner)
            t = {lv: [v / 10 - copy for v in t[lv]] for lv in t}
            _row(f"delete_packed s={s} k=s-{back}", t)
        # A_F^T V with the rows of At gathered by slot (s of s + 20 rows, 500 columns)
        At, slot = _gathered(s)
        for w in (16, 2):
            Vt = np.random.default_rng(w).standard_normal((w, At.shape[1]))
            out = np.empty((s, w))
            t = _interleaved(cholc, partial(cholc.gather_dot, At, slot, Vt, out), repeats, inner)
            _row(f"gather_dot s={s} w={w}", t)


def _gathered(s, m=500, free=20):
    """At with s rows in use among s + free, and slot, the used ones in a shuffled order (a
    working set after some columns left)."""
    rng = np.random.default_rng(s)
    return rng.standard_normal((s + free, m)), rng.permutation(s + free)[:s]


def products(cholc, sizes, repeats):
    """``PackedSet._extension``'s product A_F^T V at the level chosen at import: the kernel
    against BLAS on At[:used] and the rows of the product gathered by slot, alternating."""
    print(f"{'A_F^T V (ms per call)':34s} {'np min':>8s} {'median':>8s} {'kern min':>8s} "
          f"{'median':>8s}   kernel/np")
    for s in sizes:
        At, slot = _gathered(s)
        inner = max(3, int(2e6 / s**2))
        for w in (16, 7, 2):
            Vt = np.random.default_rng(w).standard_normal((w, At.shape[1]))
            V, out = Vt.T.copy(), np.empty((s, w))
            fns = {0: lambda At=At, V=V, slot=slot: (At @ V)[slot],
                   1: partial(cholc.gather_dot, At, slot, Vt, out)}
            times = {0: [], 1: []}
            for _ in range(repeats):
                for k in (0, 1):
                    times[k].append(_block_time(fns[k], inner))
            _row(f"gather_dot s={s} w={w}", times)


def solves(cholc, shapes, repeats):
    print(f"{'nnls (ms per solve)':34s} {'sse2 min':>8s} {'median':>8s} {'avx2 min':>8s} "
          f"{'median':>8s}   avx2/sse2")
    for m, n, seed in shapes:
        A, b = problems.gaussian(m, n, seed)
        reparam.nnls(A, b)  # warm up

        def one(A=A, b=b):
            t = time.process_time()
            reparam.nnls(A, b)
            return time.process_time() - t

        t = _interleaved(cholc, one, repeats)
        _row(f"gaussian {m} x {n} seed {seed}", t)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--sizes", type=int, nargs="*", default=[200, 420, 480])
    p.add_argument("--solves", type=int, default=15, help="interleaved solves per level")
    p.add_argument("--no-kernels", action="store_true")
    a = p.parse_args()
    cholc = working_set._cholc
    if cholc is None or cholc.simd_max < 1:
        raise SystemExit("needs the extension _cholc on a CPU with AVX2 and FMA")
    start = cholc.simd()
    with threadpool_limits(1):
        try:
            if not a.no_kernels:
                kernels(cholc, a.sizes, a.repeats)
                cholc.simd(start)
                products(cholc, a.sizes, a.repeats)
            if a.solves:
                solves(cholc, [(500, 1000, 10), (300, 600, 1)], a.solves)
        finally:
            cholc.simd(start)


if __name__ == "__main__":
    main()
