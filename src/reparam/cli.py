"""The ``reparam`` command: ``reparam demo``, ``reparam reproduce`` and ``reparam solve``.

Exit codes (:data:`EXIT_CODES`): 0 converged, 1 not converged (results still written), 2 bad
usage or input, 3 a missing optional dependency, 130 interrupted by Ctrl-C (partial result
written). ``solve`` needs only numpy and scipy; ``demo`` and ``reproduce`` import matplotlib, rich,
scikit-image and scikit-learn lazily and say how to install them when they are missing.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from . import __version__
from ._files import (
    WRITE_SUFFIXES,
    FileError,
    check_writable,
    read_matrix,
    suffix,
    write_array,
    write_text,
)
from ._result import Interrupted, Result, Status
from ._validation import OPTION_HELP, check_option
from .experiments import NAMES as EXPERIMENT_NAMES
from .solvers import METHOD_NAMES, METHODS

# reparam.experiments imports matplotlib only when an experiment runs, so --help needs none
_EXPERIMENTS = EXPERIMENT_NAMES


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

    size = "tiny" if args.tiny else "quick" if args.quick else args.size
    names = args.only or list(experiments.NAMES)
    console = Console()
    outcomes = []
    t0 = time.perf_counter()
    for i, name in enumerate(names, 1):
        with console.status(f"[{i}/{len(names)}] {name} ({size})"):
            outcome = experiments.run(name, size=size, seed=args.seed)
        outcomes.append(outcome)
        color = {"supported": "green", "not supported": "red"}.get(outcome.verdict, "yellow")
        console.print(f"[{i}/{len(names)}] {name}: [{color}]{outcome.verdict}[/] (control: "
                      f"{outcome.control.get('verdict', '-')}, {outcome.seconds:.1f} s, CPU "
                      f"{outcome.cpu_seconds:.1f} s)")
    index = write_report(outcomes, args.out, seed=args.seed)
    table = Table(title=f"reparam reproduce ({size}) — {time.perf_counter() - t0:.0f} s")
    for column in ("experiment", "verdict", "margin", "control", "criterion", "time (s)",
                   "CPU (s)"):
        table.add_column(column, justify="right" if column in ("time (s)", "CPU (s)", "margin")
                         else "left")
    for o in outcomes:
        table.add_row(o.name, o.verdict, f"{o.margin:.3g}", o.control.get("verdict", "-"),
                      o.criterion, f"{o.seconds:.1f}", f"{o.cpu_seconds:.1f}")
    console.print(table)
    console.print(f"report written to {index} (data in {index.parent / 'results.json'})")
    return 0


# ----------------------------------------------------------------------------------------------
# reparam solve
# ----------------------------------------------------------------------------------------------
EXIT_CODES = {
    0: "converged (every right-hand side met the tolerance)",
    1: "not converged (x and the report are still written)",
    2: "bad usage or input: an unknown option, an unreadable file, shapes that do not fit, "
       "an output that cannot be written (nothing is solved)",
    3: "a missing optional dependency (demo, reproduce; solve --workers or --scheduler)",
    130: "interrupted by Ctrl-C (the partial result is written)",
}
_API_ONLY = ("callback", "record")  # options a command line cannot carry


def method_options() -> dict[str, dict]:
    """``{option: {default: [methods]}}`` for every option of :data:`reparam.solvers.METHODS`.

    The ``solve`` command offers exactly these, so a method's new option appears on the
    command line by being declared in its record.

    Examples
    --------
    >>> method_options()["depth"]["2"]
    ['reparam-gd', 'riemannian-gd', 'riemannian-bb', 'reparam-nesterov']
    """
    table: dict[str, dict] = {}
    for method in METHODS.values():
        for name, default in method.defaults.items():
            if name not in _API_ONLY:
                table.setdefault(name, {}).setdefault(_shown(default), []).append(method.name)
    return table


def _shown(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _literal(text: str):
    """A command-line word as the value the API takes: bool, None, int, float or str."""
    lowered = text.strip().lower()
    words = {"true": True, "yes": True, "false": False, "no": False, "none": None}
    if lowered in words:
        return words[lowered]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _option_type(name: str):
    """argparse type for option ``name``: parse the word, then check it as the API does."""

    def convert(text: str):
        try:
            return check_option(name, _literal(text))
        except (TypeError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name
    return convert


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def _option_help(name: str, defaults: dict) -> str:
    if len(defaults) == 1:
        (value, methods), = defaults.items()
        every = len(methods) == len(METHODS)
        where = "" if every else f" ({', '.join(methods)})"
        return f"{OPTION_HELP[name]}. Default: {value}{where}"
    parts = "; ".join(f"{value} ({', '.join(methods)})" for value, methods in defaults.items())
    return f"{OPTION_HELP[name]}. Default: {parts}"


def _read(path: str, name: str):
    value = read_matrix(path, name)
    if name == "b" and suffix(path) not in (".npy", ".npz") and value.ndim == 2:
        if sp.issparse(value):
            value = value.toarray()
        if value.shape[1] == 1:  # one column of a text or Matrix Market file: one b
            value = value[:, 0]
    elif name == "b" and sp.issparse(value):
        value = value.toarray()
    return value


def solve(args: argparse.Namespace) -> int:
    """``reparam solve``: read A and b, check the outputs, solve, write; the exit code says how."""
    try:
        return _solve(args)
    except KeyboardInterrupt:  # before the solve started or while writing
        print("reparam solve: interrupted (Ctrl-C)", file=sys.stderr)
        return 130


def _solve(args: argparse.Namespace) -> int:
    out = sys.stderr if args.json else sys.stdout
    options = {name: getattr(args, name) for name in method_options() if hasattr(args, name)}
    if args.workers is not None or args.scheduler is not None:
        return _solve_distributed(args, options, out)
    if args.chunks is not None or suffix(args.b) == ".zarr" or \
            (args.out is not None and suffix(args.out) == ".zarr"):
        print("reparam solve: --chunks and .zarr stores need --workers or --scheduler",
              file=sys.stderr)
        return 2
    if args.progress:
        options["callback"] = _progress_printer()
    try:
        for path, what, suffixes in ((args.out, "--out", WRITE_SUFFIXES),
                                     (args.report, "--report", (".json",))):
            if path is not None:
                check_writable(path, what, suffixes)
        A = _read(args.A, "A")
        b = _read(args.b, "b")
        if suffix(args.b) not in (".npy", ".npz") and b.ndim == 2 and b.shape[0] == 1 \
                and A.shape[0] != 1:
            b = b[0]  # one row of a text or Matrix Market file: one b
    except FileError as exc:
        print(f"reparam solve: {exc}", file=sys.stderr)
        return 2
    from ._nnls import nnls  # the solvers: imported by the command that runs them

    try:
        res = nnls(A, b, method=args.method, **options)
    except Interrupted as exc:
        res = exc.result
    except (ValueError, TypeError) as exc:
        print(f"reparam solve: {exc} (A from {args.A}, b from {args.b})", file=sys.stderr)
        return 2
    code = _exit_code(res)
    report = _report(res, args, A.shape, code)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(res)
    try:
        if args.out:
            write_array(args.out, res.x)
            partial = " (partial result: the best iterate so far)" if code == 130 else ""
            print(f"x written to {args.out}{partial}", file=out)
        if args.report:
            write_text(args.report, json.dumps(report, indent=2) + "\n")
            print(f"report written to {args.report}", file=out)
    except (OSError, FileError) as exc:  # the folder vanished or filled up during the solve
        print(f"reparam solve: cannot write the result: {exc}", file=sys.stderr)
        return 2
    return code


def _solve_distributed(args: argparse.Namespace, options: dict, out) -> int:
    """``reparam solve --workers N`` or ``--scheduler ADDRESS``: the columns of b in blocks on
    a Dask cluster (:func:`reparam.distributed.nnls`), with a progress bar on stderr."""
    try:
        from . import distributed
    except ImportError as exc:
        print(f"reparam solve: --workers and --scheduler need {exc.name}; install them with: "
              "pip install 'reparam[distributed]'", file=sys.stderr)
        return 3
    store = args.out is not None and suffix(args.out) == ".zarr"
    try:
        if args.out is not None and not store:
            check_writable(args.out, "--out", WRITE_SUFFIXES)
        elif store:
            _check_store(args.out)
        if args.report is not None:
            check_writable(args.report, "--report", (".json",))
        A = _read(args.A, "A")
        b = args.b if suffix(args.b) == ".zarr" else _read(args.b, "b")
        if not isinstance(b, str) and b.ndim == 1:
            b = b[:, None]
    except FileError as exc:
        print(f"reparam solve: {exc}", file=sys.stderr)
        return 2
    progress = args.progress or sys.stderr.isatty()
    try:
        res = distributed.nnls(A, b, args.scheduler, workers=args.workers, chunks=args.chunks,
                               out=args.out if store else None, overwrite=True,
                               method=args.method, progress=progress, **options)
    except (ValueError, TypeError) as exc:
        print(f"reparam solve: {exc} (A from {args.A}, b from {args.b})", file=sys.stderr)
        return 2
    except OSError as exc:  # the scheduler cannot be reached
        print(f"reparam solve: {exc}", file=sys.stderr)
        return 2
    code = _exit_code(res)
    report = _report(res, args, A.shape, code)
    print(json.dumps(report, indent=2) if args.json else res)
    try:
        if args.out and not store:
            write_array(args.out, res.x)
        if args.out:
            print(f"x written to {args.out}", file=out)
        if args.report:
            write_text(args.report, json.dumps(report, indent=2) + "\n")
            print(f"report written to {args.report}", file=out)
    except (OSError, FileError) as exc:
        print(f"reparam solve: cannot write the result: {exc}", file=sys.stderr)
        return 2
    return code


def _check_store(path: str) -> None:
    """--out DIR.zarr: a new store, or an existing Zarr array to replace; never another
    folder (replacing a store deletes what it holds)."""
    target = Path(path)
    if target.exists() and not ((target / "zarr.json").exists()
                                or (target / ".zarray").exists()):
        raise FileError(f"--out {target}: exists and is not a Zarr array; give a new path")
    if not target.parent.is_dir():
        raise FileError(f"--out {target}: the folder {target.parent} does not exist")


def _progress_printer(every: float = 1.0):
    """A callback that prints the iteration, objective and kkt to stderr at most once a second.

    Many right-hand sides iterated as one block report per column: the line then gives the
    number of columns still iterating, the summed objective and the largest kkt among them.
    """
    last = [time.perf_counter()]

    def callback(state) -> bool:
        now = time.perf_counter()
        if now - last[0] >= every:
            last[0] = now
            kkt = np.asarray(state.kkt)
            live = f"  columns left {kkt.size:>6}" if kkt.ndim else ""
            print(f"iteration {state.k:>9}{live}  objective {np.sum(state.objective):.6e}  "
                  f"kkt {np.max(kkt):.2e}", file=sys.stderr, flush=True)
        return False

    return callback


def _exit_code(res: Result) -> int:
    statuses = np.atleast_1d(np.asarray(res.status, dtype=object))
    if any(s is Status.INTERRUPTED for s in statuses):
        return 130
    return 0 if res.success else 1


def _report(res: Result, args: argparse.Namespace, shape: tuple[int, int], code: int) -> dict:
    """The machine-readable summary: one record, the same for one b or many."""
    counts = res.status_counts()
    status = next(iter(counts)) if len(counts) == 1 else "MIXED"
    return {
        "reparam_version": __version__,
        "A": args.A, "b": args.b, "shape": list(shape),
        "right_hand_sides": int(np.shape(res.x)[1]) if np.ndim(res.x) == 2 else 1,
        "method": res.method,
        "status": status,
        "status_counts": counts,
        "success": bool(res.success),
        "exit_code": code,
        "kkt": float(np.max(res.kkt)),
        "objective": float(np.sum(res.objective)),
        "n_iter": int(np.max(res.n_iter)),
        "time": float(res.time),
        "message": res.message,
        "out": args.out,
    }


def _exit_code_text() -> str:
    return "exit codes:\n" + "\n".join(
        textwrap.fill(text, 78, initial_indent=f"  {code:>3}  ", subsequent_indent=" " * 7)
        for code, text in EXIT_CODES.items())


class _Formatter(argparse.HelpFormatter):
    """Wraps descriptions as usual but keeps text that has its own line breaks (exit codes),
    and never breaks a line inside a hyphenated name (``reparam-nesterov``)."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def carp(args: argparse.Namespace) -> int:
    """``reparam carp X.csv --out carp.html``: the convex clustering path as one HTML page."""
    from . import clustering
    from ._carp_html import render

    try:
        X = read_matrix(args.X, "X")  # the readers of `reparam solve`: delimiter, header found
    except FileError as exc:
        print(f"reparam carp: {exc}", file=sys.stderr)
        return 2
    if sp.issparse(X):
        X = X.toarray()
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
    p.add_argument("X", help="the points, one per row: a .csv/.txt file (delimiter and header "
                   "line found as for `reparam solve`), or .npy, .npz, .mtx")
    p.add_argument("--out", default="carp.html", help="HTML file to write (default carp.html)")
    p.add_argument("--step", type=float, default=1.05, help="gamma ratio between levels")
    p.add_argument("--n-neighbors", type=int, default=10)
    p.add_argument("--max-steps", type=int, default=5000)
    p.set_defaults(func=carp)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reparam",
        description="Non-negative least squares, exact or by reparametrized gradient descent.",
        epilog=_exit_code_text(), formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"reparam {__version__}")
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
    p.add_argument("--size", choices=("tiny", "quick", "full", "paper"), default="full",
                   help="full (default): under 30 min on 2 cores, the paper's settings "
                   "except the departures listed in the report and results.json (the timing "
                   "sweep: fewer repetitions at large n, exact solvers only at n = 4000); "
                   "paper: every setting of the paper, about 3 hours on 2 cores; quick: the "
                   "same figures with fewer iterations (under 3 min); tiny: seconds, for tests")
    p.add_argument("--quick", action="store_true", help="same as --size quick")
    p.add_argument("--tiny", action="store_true", help="same as --size tiny")
    p.add_argument("--only", action="append", metavar="NAME", choices=_EXPERIMENTS,
                   help=f"run only this experiment (repeatable): {', '.join(_EXPERIMENTS)}")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the data (default: each experiment's seed in the paper)")
    p.set_defaults(func=reproduce)
    _add_solve_parser(sub)
    _add_carp_parser(sub)
    return parser


def _add_solve_parser(sub) -> None:
    p = sub.add_parser(
        "solve", help="solve min ||A x - b||, x >= 0 from files (.npy, .npz, .mtx, .csv, .txt)",
        description="Solve min 0.5 ||A x - b||^2 subject to x >= 0 (reparam.nnls) with A and b "
        "read from files, print a summary, and write x and a JSON report. Files: .npy; .npz "
        "(one array, or arrays named A and b: the same file may be given twice; or a sparse "
        "matrix from scipy.sparse.save_npz); Matrix Market .mtx or .mtx.gz; numeric text .csv "
        "or .txt (values separated by commas, semicolons, tabs or blanks; a header line and "
        "lines starting with # are skipped). b of shape (m, k) solves k right-hand sides; a "
        "text or Matrix Market b with one column or one row is one right-hand side.",
        epilog=_exit_code_text(), formatter_class=_Formatter)
    p.add_argument("A", help="the matrix A, shape (m, n), dense or sparse")
    p.add_argument("b", help="the right-hand side b, shape (m,) or (m, k)")
    p.add_argument("--method", default="auto", choices=METHOD_NAMES, metavar="METHOD",
                   help=f"one of {', '.join(METHOD_NAMES)} (default: auto = the exact "
                   "active-set method for explicit matrices, fista for large sparse ones)")
    p.add_argument("--out", metavar="FILE",
                   help="write x to exactly FILE, as .npy, .csv or .txt by its suffix (also "
                   "when not converged or interrupted); its folder is checked before solving")
    p.add_argument("--report", metavar="FILE.json",
                   help="write the report as JSON: method, status, status_counts, kkt "
                   "(largest over the columns), objective (sum), n_iter (largest), time, "
                   "message, exit_code")
    p.add_argument("--json", action="store_true",
                   help="print the JSON report instead of the summary (other notes go to "
                   "stderr)")
    p.add_argument("--progress", action="store_true",
                   help="print iteration, objective and kkt to stderr once a second; with "
                   "--workers or --scheduler, a progress bar (columns done, columns per "
                   "second, time left), also shown by default on a terminal")
    group = p.add_argument_group(
        "many right-hand sides on a Dask cluster",
        "Solve the columns of b in blocks of whole columns with the exact batched solver on "
        "worker processes (reparam.distributed.nnls; needs pip install "
        "'reparam[distributed]'). b may then also be a Zarr store (DIR.zarr, read by the "
        "workers), and --out DIR.zarr has the workers write x into a new Zarr store.")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive_int, metavar="N",
                       help="start a local cluster of N worker processes (closed at the end)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="use the running Dask cluster at ADDRESS (e.g. tcp://host:8786)")
    group.add_argument("--chunks", type=_positive_int, metavar="COLUMNS",
                       help="columns per block (default: about 32 MiB of b per block, at "
                       "least four blocks per worker; a Zarr b: its own chunks)")
    group = p.add_argument_group(
        "method options",
        "Each method takes the options its record in reparam.solvers.METHODS declares; an "
        "option the chosen method does not take is an error (exit 2). With --method auto, "
        "the defaults are those of the method it picks.")
    for name, defaults in method_options().items():
        bools = all(v in ("true", "false") for v in defaults)
        group.add_argument(f"--{name.replace('_', '-')}", dest=name, type=_option_type(name),
                           default=argparse.SUPPRESS, metavar="{true,false}" if bools else None,
                           help=_option_help(name, defaults))
    p.set_defaults(func=solve)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
