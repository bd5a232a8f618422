"""Print the newest benchopt result of this benchmark as one table: per dataset and solver,
the last sampled point's objective gap to the best objective seen, its kkt and its time.

Run after ``benchopt run benchmarks/benchopt_nnls ...``:
``python benchmarks/benchopt_nnls/summarize.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def main() -> None:
    outputs = Path(__file__).parent / "outputs"
    files = sorted(outputs.glob("*.parquet"), key=lambda p: p.stat().st_mtime)
    if not files:
        sys.exit(f"no benchopt results in {outputs}; run benchopt first")
    df = pd.read_parquet(files[-1])
    best = df.groupby("dataset_name")["objective_value"].min()
    print(f"{'dataset':<34} {'solver':<34} {'time [s]':>9} {'objective gap':>14} {'kkt':>9}")
    for (data, solver), runs in df.groupby(["dataset_name", "solver_name"], sort=True):
        last = runs.sort_values("stop_val").iloc[-1]
        gap = last["objective_value"] - best[data]
        print(f"{data:<34} {solver:<34} {last['time']:>9.4f} {gap:>14.2e} "
              f"{last['objective_kkt']:>9.1e}")


if __name__ == "__main__":
    main()
