"""Print the newest benchopt result of this benchmark as one table.

Per dataset and solver: the time to the first sampled point with kkt <= 1e-6 (or, where no
point reached it, the last point's time marked "not reached"), that point's objective gap to
the best objective any solver found, and its kkt.

Run after ``benchopt run benchmarks/benchopt_nnls ...``:
``python benchmarks/benchopt_nnls/summarize.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

TOL = 1e-6


def main() -> None:
    outputs = Path(__file__).parent / "outputs"
    files = sorted(outputs.glob("*.parquet"), key=lambda p: p.stat().st_mtime)
    if not files:
        sys.exit(f"no benchopt results in {outputs}; run benchopt first")
    df = pd.read_parquet(files[-1])
    best = df.groupby("dataset_name")["objective_value"].min()
    print(f"{'dataset':<36} {'solver':<34} {'time to kkt<=1e-6 [s]':>22} "
          f"{'objective gap':>14} {'kkt':>9}")
    for (data, solver), runs in df.groupby(["dataset_name", "solver_name"], sort=True):
        runs = runs.sort_values("stop_val")
        reached = runs[runs["objective_kkt"] <= TOL]
        row = reached.iloc[0] if len(reached) else runs.iloc[-1]
        when = f"{row['time']:.4f}" if len(reached) else f"not reached ({row['time']:.1f})"
        gap = row["objective_value"] - best[data]
        print(f"{data:<36} {solver:<34} {when:>22} {gap:>14.2e} {row['objective_kkt']:>9.1e}")


if __name__ == "__main__":
    main()
