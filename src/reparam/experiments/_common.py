"""What every experiment shares: its outcome record, the paper's test problem, slope fits.

Figures are built as :class:`matplotlib.figure.Figure` objects without ``pyplot``, so running an
experiment never changes the user's matplotlib backend or opens a window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import problems

SIZES = ("tiny", "quick", "full")

DEMO_EXTRA = "pip install 'reparam[demo]'"


def require(module: str):
    """Import an optional dependency, or fail with the command that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"this needs the optional package {module.split('.')[0]!r}: {DEMO_EXTRA}"
        ) from exc


def new_figure(ncols: int = 1, width: float = 5.0, height: float = 3.6, nrows: int = 1):
    """A figure with ``nrows x ncols`` axes, not registered with pyplot (no backend change)."""
    figure_mod = require("matplotlib.figure")
    fig = figure_mod.Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes.ravel()


@dataclass
class Outcome:
    """One experiment's result: its data, its figure and the computed verdict on the claim.

    Attributes
    ----------
    name : str
        The ``--only`` name, e.g. ``"init-scale"``.
    title : str
    claim : str
        One line: what the paper claims.
    criterion : str
        How the verdict is computed, with this run's numbers filled in.
    verdict : bool
        Whether this run supports the claim by that criterion.
    table : dict
        Every number plotted (lists / arrays, JSON-serializable after :func:`jsonable`).
    figure : matplotlib.figure.Figure
    size : str
        ``"tiny"``, ``"quick"`` or ``"full"``.
    seconds : float
        Wall time of the run.
    notes : str
        Caveats worth reading next to the verdict.
    """

    name: str
    title: str
    claim: str
    criterion: str
    verdict: bool
    table: dict
    figure: Any
    size: str = "quick"
    seconds: float = 0.0
    notes: str = ""
    summary: dict = field(default_factory=dict)


def check_size(size: str) -> str:
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size!r}")
    return size


def timed(run: Callable[..., Outcome]) -> Callable[..., Outcome]:
    """Decorator: validate ``size``, record the wall time in the outcome."""

    def wrapper(size: str = "quick", seed: int = 0) -> Outcome:
        check_size(size)
        t0 = time.perf_counter()
        outcome = run(size=size, seed=seed)
        outcome.size = size
        outcome.seconds = time.perf_counter() - t0
        return outcome

    wrapper.__name__ = run.__name__
    wrapper.__doc__ = run.__doc__
    wrapper.__module__ = run.__module__
    return wrapper


def gaussian_problem(m: int, n: int, sparsity: int, *, seed: int = 0, noise: float = 0.0):
    """The paper's test problem ``(A, b, x_true)``: :func:`reparam.problems.gaussian`."""
    return problems.gaussian(m, n, sparsity=sparsity, noise=noise, seed=seed)


def loglog_slope(t, y, lo: float | None = None, hi: float | None = None) -> float:
    """Least-squares slope of ``log y`` against ``log t`` on ``lo <= t <= hi`` (positive y only)."""
    t, y = np.asarray(t, float), np.asarray(y, float)
    keep = (t > 0) & (y > 0) & np.isfinite(y)
    if lo is not None:
        keep &= t >= lo
    if hi is not None:
        keep &= t <= hi
    if np.count_nonzero(keep) < 2:
        return float("nan")
    return float(np.polyfit(np.log(t[keep]), np.log(y[keep]), 1)[0])


def relative_error(x, x_ref) -> float:
    return float(np.linalg.norm(np.asarray(x) - x_ref) / max(np.linalg.norm(x_ref), 1e-300))


def jsonable(value):
    """Arrays, numpy scalars, enums and nested containers as plain JSON values (NaN → None)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if np.isfinite(v) else None
    if hasattr(value, "name") and hasattr(value, "value"):  # enums such as Status
        return value.name
    return value
