"""The ``reparam`` command: ``reparam demo`` and ``reparam solve A.npy b.npy``."""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from . import nnls
from ._result import Status
from .solvers import METHOD_NAMES, METHODS


def _demo_problem(m: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The paper's test problem: A ~ N(0, 1/m), sparse non-negative x*, b = A x*."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x = np.zeros(n)
    support = rng.choice(n, max(1, n // 10), replace=False)
    x[support] = np.abs(rng.standard_normal(support.size))
    return A, A @ x / np.linalg.norm(x)


def demo(args: argparse.Namespace) -> int:
    A, b = _demo_problem(args.rows, args.cols, args.seed)
    print(f"NNLS on a seeded {args.rows} x {args.cols} Gaussian problem (tol {args.tol:.0e})")
    header = f"{'method':<18} {'status':<10} {'iterations':>10} {'objective':>12} {'kkt':>10} {'time [s]':>9}"
    print(header)
    print("-" * len(header))
    for method in METHODS:
        opts = {} if METHODS[method].exact else {"tol": args.tol, "max_iter": args.max_iter}
        res = nnls(A, b, method=method, **opts)
        print(
            f"{method:<18} {res.status.name:<10} {res.n_iter:>10} {res.objective:>12.4e} "
            f"{res.kkt:>10.2e} {res.time:>9.3f}"
        )
    return 0


def _load(path: str, name: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"reparam solve: cannot read {name} from {path!r}: {exc}") from None


def solve(args: argparse.Namespace) -> int:
    A, b = _load(args.A, "A"), _load(args.b, "b")
    options = {}
    if args.tol is not None:
        options["tol"] = args.tol
    if args.max_iter is not None:
        options["max_iter"] = args.max_iter
    try:
        res = nnls(A, b, method=args.method, **options)
    except (ValueError, TypeError) as exc:
        print(f"reparam solve: {exc}", file=sys.stderr)
        return 2
    status = res.status if isinstance(res.status, Status) else None
    print(f"method:    {res.method}")
    print(f"status:    {status.name if status else 'per column'}")
    print(f"message:   {res.message}")
    print(f"objective: {np.sum(res.objective):.6e}")
    print(f"kkt:       {np.max(res.kkt):.3e}")
    print(f"time:      {res.time:.3f} s")
    if args.out:
        np.save(args.out, res.x)
        print(f"x written to {args.out}")
    return 0 if res.success else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reparam",
        description="Non-negative least squares, exact or by reparametrized gradient descent.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="solve one seeded problem with every method, print a table")
    p.add_argument("--rows", type=int, default=200, help="rows of A (default 200)")
    p.add_argument("--cols", type=int, default=100, help="columns of A (default 100)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tol", type=float, default=1e-6, help="KKT tolerance of iterative methods")
    p.add_argument("--max-iter", type=int, default=20_000)
    p.set_defaults(func=demo)
    p = sub.add_parser("solve", help="solve min ||A x - b||, x >= 0 from .npy files")
    p.add_argument("A", help="matrix A, a .npy file of shape (m, n)")
    p.add_argument("b", help="right-hand side(s) b, a .npy file of shape (m,) or (m, k)")
    p.add_argument("--method", default="auto", choices=METHOD_NAMES)
    p.add_argument("--tol", type=float, default=None)
    p.add_argument("--max-iter", type=int, default=None)
    p.add_argument("--out", default=None, help="write x to this .npy file")
    p.set_defaults(func=solve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
