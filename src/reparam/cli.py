"""The ``reparam`` command: ``reparam demo``, ``reparam reproduce`` and ``reparam solve``.

``solve`` needs only numpy and scipy; ``demo`` and ``reproduce`` import matplotlib, rich,
scikit-image and scikit-learn lazily and say how to install them when they are missing.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from . import nnls
from ._result import Status
from .solvers import METHOD_NAMES

# the names of reparam.experiments.NAMES, repeated so that --help works without matplotlib
_EXPERIMENTS = ("init-scale", "coordinates", "step-decay", "acceleration", "large-scale",
                "timing", "sparsity", "negative-perturbations")


def _extras_missing(command: str) -> int | None:
    """Exit code 3 with the install command when the ``demo`` extra is missing, else None."""
    missing = []
    for module in ("matplotlib", "rich", "skimage", "sklearn"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        print(f"reparam {command}: needs {', '.join(missing)}; install them with: "
              "pip install 'reparam[demo]'", file=sys.stderr)
        return 3
    return None


def demo(args: argparse.Namespace) -> int:
    code = _extras_missing("demo")
    if code is not None:
        return code
    from .demo import run_demo

    size = "tiny" if args.tiny else "quick" if args.quick else "full"
    run_demo(args.out, size=size, seed=args.seed)
    return 0


def reproduce(args: argparse.Namespace) -> int:
    code = _extras_missing("reproduce")
    if code is not None:
        return code
    from rich.console import Console
    from rich.table import Table

    from . import experiments
    from .experiments.report import write_report

    size = "tiny" if args.tiny else "quick" if args.quick else "full"
    names = args.only or list(experiments.NAMES)
    console = Console()
    outcomes = []
    t0 = time.perf_counter()
    for i, name in enumerate(names, 1):
        with console.status(f"[{i}/{len(names)}] {name} ({size})"):
            outcome = experiments.run(name, size=size, seed=args.seed)
        outcomes.append(outcome)
        mark = "[green]supported[/]" if outcome.verdict else "[red]not supported[/]"
        console.print(f"[{i}/{len(names)}] {name}: {mark} ({outcome.seconds:.1f} s)")
    index = write_report(outcomes, args.out)
    table = Table(title=f"reparam reproduce ({size}) — {time.perf_counter() - t0:.0f} s")
    for column in ("experiment", "verdict", "criterion", "time (s)"):
        table.add_column(column, justify="right" if column == "time (s)" else "left")
    for o in outcomes:
        table.add_row(o.name, "supported" if o.verdict else "not supported", o.criterion,
                      f"{o.seconds:.1f}")
    console.print(table)
    console.print(f"report written to {index} (data in {index.parent / 'results.json'})")
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
    if args.progress:
        options["callback"] = _progress_printer()
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
        partial = " (partial result: the best iterate so far)" if not res.success else ""
        print(f"x written to {args.out}{partial}")
    if status is Status.INTERRUPTED:
        return 130  # the shell's code for a run stopped by Ctrl-C
    return 0 if res.success else 1


def _progress_printer(every: float = 1.0):
    """A callback that prints the iteration, objective and kkt to stderr at most once a second."""
    last = [time.perf_counter()]

    def callback(state) -> bool:
        now = time.perf_counter()
        if now - last[0] >= every:
            last[0] = now
            print(f"iteration {state.k:>9}  objective {state.objective:.6e}  kkt {state.kkt:.2e}",
                  file=sys.stderr, flush=True)
        return False

    return callback


def carp(args: argparse.Namespace) -> int:
    """``reparam carp X.csv --out carp.html``: the convex clustering path as one HTML page."""
    from . import clustering
    from ._carp_html import render

    try:
        X = np.loadtxt(args.X, delimiter=args.delimiter, ndmin=2)
    except ValueError:  # a header line
        try:
            X = np.loadtxt(args.X, delimiter=args.delimiter, ndmin=2, skiprows=1)
        except (OSError, ValueError) as exc:
            print(f"reparam carp: cannot read numbers from {args.X!r}: {exc}", file=sys.stderr)
            return 2
    except OSError as exc:
        print(f"reparam carp: cannot read {args.X!r}: {exc}", file=sys.stderr)
        return 2
    try:
        path = clustering.carp(X, step=args.step, n_neighbors=args.n_neighbors,
                               max_steps=args.max_steps)
    except (ValueError, TypeError) as exc:
        print(f"reparam carp: {exc}", file=sys.stderr)
        return 2
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(render(path, X))
    print(f"status:  {path.status.name}")
    print(f"message: {path.message}")
    print(f"levels:  {len(path.gammas)} (gamma {path.gammas[0]:.3g} ... {path.gammas[-1]:.3g})")
    print(f"page written to {args.out}")
    return 0 if path.status is Status.CONVERGED else 1


def _add_carp_parser(sub) -> None:
    p = sub.add_parser(
        "carp", help="convex clustering path (CARP) of a CSV file as an interactive HTML page",
        description="Computes the convex clustering path of the rows of a CSV file by "
        "algorithmic regularization (Weylandt, Nagorski & Allen 2020) and writes one "
        "self-contained HTML page: centroid paths on the first two principal components with "
        "a slider over gamma, linked to the dendrogram.")
    p.add_argument("X", help="CSV file, one point per row (a header line is skipped)")
    p.add_argument("--out", default="carp.html", help="HTML file to write (default carp.html)")
    p.add_argument("--delimiter", default=",")
    p.add_argument("--step", type=float, default=1.05, help="gamma ratio between levels")
    p.add_argument("--n-neighbors", type=int, default=10)
    p.add_argument("--max-steps", type=int, default=5000)
    p.set_defaults(func=carp)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reparam",
        description="Non-negative least squares, exact or by reparametrized gradient descent.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "demo", help="the main job: deblurring, implicit bias and exact NNLS on bundled data",
        description="Runs three demonstrations on data bundled with scikit-image and "
        "scikit-learn (offline), prints a summary table and writes a self-contained HTML "
        "report. Needs: pip install 'reparam[demo]'.")
    p.add_argument("--out", default="reparam-demo",
                   help="folder for index.html (default ./reparam-demo)")
    p.add_argument("--quick", action="store_true", help="smaller sizes (seconds)")
    p.add_argument("--tiny", action="store_true", help="smallest sizes, for tests")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=demo)
    p = sub.add_parser(
        "reproduce", help="the paper's experiments as an HTML report with figures",
        description="Runs the experiments of Chou et al. (AISTATS 2025, arXiv:2207.08437), each "
        "with its claim and a computed verdict, and writes index.html (figures embedded), "
        "results.json and figures/*.png. Needs: pip install 'reparam[demo]'.")
    p.add_argument("--out", default="reparam-report", help="output folder (default "
                   "./reparam-report)")
    p.add_argument("--quick", action="store_true", help="quick sizes (minutes) instead of the "
                   "paper's")
    p.add_argument("--tiny", action="store_true", help="smallest sizes, for tests")
    p.add_argument("--only", action="append", metavar="NAME", choices=_EXPERIMENTS,
                   help=f"run only this experiment (repeatable): {', '.join(_EXPERIMENTS)}")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=reproduce)
    p = sub.add_parser("solve", help="solve min ||A x - b||, x >= 0 from .npy files")
    p.add_argument("A", help="matrix A, a .npy file of shape (m, n)")
    p.add_argument("b", help="right-hand side(s) b, a .npy file of shape (m,) or (m, k)")
    p.add_argument("--method", default="auto", choices=METHOD_NAMES)
    p.add_argument("--tol", type=float, default=None)
    p.add_argument("--max-iter", type=int, default=None)
    p.add_argument("--out", default=None, help="write x to this .npy file (also after Ctrl-C)")
    p.add_argument("--progress", action="store_true",
                   help="print iteration, objective and kkt to stderr once a second")
    p.set_defaults(func=solve)
    _add_carp_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
