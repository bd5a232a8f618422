"""First call of the command line: ``reparam solve`` on a 300 x 100 problem in a fresh process.

Run from the repository root::

    python -m benchmarks.cli_first_call [--runs 10] [--importtime 15] [--package DIR]

A user who types ``reparam solve A.npy b.npy`` pays for starting Python, importing the package
and solving once, with nothing cached in the process. This times that whole command (the
wall-clock time of the child process, imports included) ``--runs`` times, each in a fresh
process, and as the reference the least any NumPy + SciPy command can cost,
``python -c "import numpy, scipy.linalg"``, in the same run. The runs are interleaved, so that a
burst of load on a shared machine hits all alike. The table gives min / median / max wall time
of each, the ratios to the reference, and the load average before and after (on a busy machine
every number grows; the ratios much less).

The command runs twice over: with the package's bytecode compiled, as after ``pip install``,
and with the sources compiled on every run, as in an editable install under
``PYTHONDONTWRITEBYTECODE=1`` (NumPy and SciPy keep their bytecode in both). Each runs on a copy
of the package (``--package``, default the ``reparam`` imported here: give the folder of another
version to compare) placed first on ``PYTHONPATH``.

``--importtime N`` then prints the N largest cumulative entries of ``python -X importtime`` for
the same command, and the modules it imports that the reference does not, their self times
summed by package: the import cost that is reparam's own.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import reparam

REFERENCE = [sys.executable, "-c", "import numpy, scipy.linalg"]


def write_problem(folder: Path, m: int = 300, n: int = 100, seed: int = 0) -> None:
    """A.npy and b.npy of a noisy Gaussian problem whose answer has about half its entries
    zero (the exact solver then runs a few rounds of pivoting, as on real data)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    x = np.maximum(rng.standard_normal(n), 0.0)
    b = A @ x + 0.01 * rng.standard_normal(m)
    np.save(folder / "A.npy", A)
    np.save(folder / "b.npy", b)


def solve_command(folder: Path) -> list[str]:
    return [sys.executable, "-m", "reparam", "solve", str(folder / "A.npy"),
            str(folder / "b.npy"), "--out", str(folder / "x.npy"), "--report",
            str(folder / "r.json")]


def package_copy(package: Path, folder: Path, compiled: bool) -> dict[str, str]:
    """Copy ``package`` into ``folder``; the environment that imports it from there, with its
    bytecode compiled beforehand or compiled from source on every import."""
    shutil.copytree(package, folder / "reparam", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(folder)}
    if compiled:
        compileall.compile_dir(folder / "reparam", quiet=1)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def wall(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Seconds from starting ``command`` to its exit (it must succeed), and the CPU seconds
    (user + system) it used: on a loaded machine the wall time waits for a core, the CPU time
    much less."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=False, env=env,
                          cwd=tempfile.gettempdir())  # no folder named reparam on sys.path[0]
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {proc.returncode}:\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def import_times(command: list[str], env: dict[str, str] | None) -> list[tuple[int, int, str]]:
    """(cumulative µs, self µs, module) of each module ``command`` imports (``-X importtime``);
    the module's name keeps the indentation that shows who imported it."""
    proc = subprocess.run([command[0], "-X", "importtime", *command[1:]], capture_output=True,
                          text=True, check=True, env=env, cwd=tempfile.gettempdir())
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line[len("import time:"):].split("|")
        rows.append((int(cumulative), int(own), name.rstrip()))
    return rows


def print_import_times(command: list[str], env: dict[str, str], top: int) -> None:
    """The largest cumulative entries of ``-X importtime``, then the modules that the reference
    does not import: the import cost of reparam's own command, by package."""
    rows = import_times(command, env)
    shared = {name.strip() for _, _, name in import_times(REFERENCE, None)}
    print(f"\n-X importtime of the command (bytecode compiled), the {top} largest cumulative (ms)")
    print(f"{'cumulative':>10} {'self':>7}  module")
    for cumulative, own, name in sorted(rows, reverse=True)[:top]:
        print(f"{cumulative / 1e3:10.1f} {own / 1e3:7.1f}  {name}")
    extra = [(own, name.strip()) for _, own, name in rows if name.strip() not in shared]
    groups: dict[str, list[int]] = {}
    for own, name in extra:
        parts = name.split(".")
        group = ".".join(parts[:2]) if parts[0] == "scipy" else parts[0]
        groups.setdefault(group, []).append(own)
    print(f"\nmodules the reference does not import: {len(extra)}, "
          f"{sum(own for own, _ in extra) / 1e3:.1f} ms (self times summed), by package")
    for group, owns in sorted(groups.items(), key=lambda item: -sum(item[1])):
        print(f"{sum(owns) / 1e3:10.1f} ms  {group} ({len(owns)} modules)")
    print(f"the {top} largest of them (self, ms)")
    for own, name in sorted(extra, reverse=True)[:top]:
        print(f"{own / 1e3:10.1f}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--importtime", type=int, default=15, metavar="N",
                        help="print the N largest cumulative import times (0: none)")
    parser.add_argument("--package", type=Path, default=Path(reparam.__file__).parent,
                        help="the reparam package folder to time (default: the one imported)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_problem(folder)
        command = solve_command(folder)
        envs = {"compiled": package_copy(args.package, folder / "compiled", compiled=True),
                "source": package_copy(args.package, folder / "source", compiled=False)}
        check = subprocess.run([sys.executable, "-c", "import reparam; print(reparam.__file__)"],
                               capture_output=True, text=True, check=True, env=envs["source"])
        assert check.stdout.startswith(str(folder)), check.stdout  # the copy is the one run
        rows = {"reparam solve, bytecode compiled": (command, envs["compiled"]),
                "reparam solve, sources compiled": (command, envs["source"]),
                'python -c "import numpy, scipy.linalg"': (REFERENCE, None)}
        for run, env in rows.values():  # untimed: files and modules into the OS cache
            wall(run, env)
        load_before = os.getloadavg()
        times = np.empty((args.runs, len(rows)))
        cpu = np.empty((args.runs, len(rows)))
        for k in range(args.runs):
            times[k], cpu[k] = zip(*(wall(run, env) for run, env in rows.values()))
        load_after = os.getloadavg()
        print(f"reparam solve A.npy b.npy --out x.npy --report r.json, A 300 x 100, a fresh "
              f"process each time ({args.runs} runs each, interleaved)")
        print(f"package {args.package}")
        print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
              f"({os.cpu_count()} CPUs)")
        print(f"{'command':<40} {'min':>6} {'median':>6} {'max':>6} {'min / ref':>9} "
              f"{'ratio':>6} {'CPU':>6} {'CPU / ref':>9}")
        reference = times[:, -1]
        for label, column, used in zip(rows, times.T, cpu.T):
            ratio = np.median(column / reference)  # of the runs timed side by side
            print(f"{label:<40} {column.min():6.3f} {np.median(column):6.3f} "
                  f"{column.max():6.3f} {column.min() / reference.min():9.2f} {ratio:6.2f} "
                  f"{np.median(used):6.3f} {np.median(used) / np.median(cpu[:, -1]):9.2f}")
        print("wall seconds; min / ref: the best run over the reference's best; ratio: the "
              "median over the runs of the ratio to the reference run timed next to it; CPU: "
              "the median CPU seconds (user + system) of a run")
        if args.importtime:
            print_import_times(command, envs["compiled"], args.importtime)


if __name__ == "__main__":
    main()
