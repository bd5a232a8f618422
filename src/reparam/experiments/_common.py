"""What every experiment shares: its outcome record, the paper's data and GD, verdicts, fits.

Figures are built as :class:`matplotlib.figure.Figure` objects without ``pyplot``, so running an
experiment never changes the user's matplotlib backend or opens a window.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import problems

# tiny: seconds (tests); quick: minutes; full: under 30 minutes on 2 cores; paper: every
# setting of the paper, hours. Where ``full`` departs from the paper's settings to fit its
# time, the outcome lists each departure in ``deviations``; ``paper`` has none.
SIZES = ("tiny", "quick", "full", "paper")

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE)

# The authors' GD stops once ||A x_t - b||_2 < 1e-6 (the default tolerance of their solver).
PAPER_RESIDUAL_TOL = 1e-6

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
        One line: what the paper claims (or, in the section ``"ours"``, what we claim).
    criterion : str
        How the verdict is computed, with this run's numbers filled in.
    verdict : str
        ``"supported"``, ``"not supported"`` or ``"inconclusive"`` (evidence includes a run
        that stopped at its iteration limit before the stopping rule the claim needs).
    margin : float
        Signed distance of the tested quantity from the criterion's threshold, in the units
        the criterion states: positive when the criterion holds.
    control : dict
        The negative control run through the same criterion: ``name``, ``verdict``,
        ``margin`` and ``criterion``; a criterion that can fail gives ``"not supported"``.
    table : dict
        Every number plotted (lists / arrays, JSON-serializable after :func:`jsonable`).
    figure : matplotlib.figure.Figure
    size : str
        One of :data:`SIZES`: ``"tiny"``, ``"quick"``, ``"full"`` or ``"paper"``.
    seconds : float
        Wall time of the run.
    cpu_seconds : float
        CPU time of the process during the run (all threads): on a loaded machine, the
        measure of the work done that the wall time is not.
    deviations : list of str
        Every setting of this run that departs from the paper's (empty at ``"paper"`` size,
        and at ``"full"`` for an experiment that fits its time at the paper's settings).
    notes : str
        Caveats worth reading next to the verdict.
    section : str
        ``"paper"`` (the paper's experiment at its settings), ``"ours"`` (beyond the paper) or
        ``"related"`` (a model of :mod:`reparam.models`, with the claim of its own paper).
    seed : int
        The seed the data came from.
    """

    name: str
    title: str
    claim: str
    criterion: str
    verdict: str
    table: dict
    figure: Any
    size: str = "quick"
    seconds: float = 0.0
    notes: str = ""
    summary: dict = field(default_factory=dict)
    margin: float = float("nan")
    control: dict = field(default_factory=dict)
    section: str = "paper"
    seed: int = 0
    cpu_seconds: float = 0.0
    deviations: list = field(default_factory=list)


def check_size(size: str) -> str:
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size!r}")
    return size


def timed(run: Callable[..., Outcome] | None = None, *,
          paper_size: bool = False) -> Callable[..., Outcome]:
    """Decorator: validate ``size``, record the wall and CPU time in the outcome.

    ``seed=None`` (the default) means the seed of the paper's script for that experiment.
    An experiment whose ``full`` size already has the paper's settings (or, in the section
    ``"ours"``, has no paper settings) runs ``size="paper"`` as ``"full"``; one that departs
    from them at ``full`` declares ``@timed(paper_size=True)`` and handles ``"paper"`` itself.
    """
    if run is None:
        return functools.partial(timed, paper_size=paper_size)

    def wrapper(size: str = "quick", seed: int | None = None) -> Outcome:
        check_size(size)
        t0, c0 = time.perf_counter(), time.process_time()
        outcome = run(size="full" if size == "paper" and not paper_size else size, seed=seed)
        outcome.size = size
        outcome.seconds = time.perf_counter() - t0
        outcome.cpu_seconds = time.process_time() - c0
        return outcome

    wrapper.__name__ = run.__name__
    wrapper.__doc__ = run.__doc__
    wrapper.__module__ = run.__module__
    return wrapper


def decide(margin: float, complete: bool = True) -> str:
    """The verdict of a criterion with this signed ``margin`` (≥ 0: it holds).

    ``complete=False`` (some run of the evidence stopped at its iteration limit before the
    stopping rule the claim needs) gives ``"inconclusive"`` whatever the margin.
    """
    if not complete:
        return INCONCLUSIVE
    return SUPPORTED if np.isfinite(margin) and margin >= 0 else NOT_SUPPORTED


def control_record(name: str, margin: float, criterion: str, complete: bool = True) -> dict:
    """The negative control's entry of an outcome, judged by :func:`decide`."""
    return {"name": name, "verdict": decide(margin, complete), "margin": float(margin),
            "criterion": criterion}


def paper_problem(n: int, m: int, s: int, seed: int):
    """The authors' data ``(A, b, x_true)``: ``m`` rows, ``n`` unknowns, ``s``-sparse truth.

    Their scripts call the legacy ``np.random.seed(seed)`` and then draw the truth first —
    ``x[:s] ~ N(0, 1)``, the rest 0, ``x ← |x| / ‖x‖₂`` — then ``A_ij ~ N(0, 1)/√m``;
    ``b = A x``. ``np.random.RandomState(seed)`` is the same legacy generator, so the numbers
    are theirs, without touching numpy's global state.
    """
    rng = np.random.RandomState(seed)
    x = np.zeros(n)
    x[:s] = rng.normal(0.0, 1.0, s)
    x = np.abs(x / np.linalg.norm(x))
    A = rng.normal(0.0, 1.0, (m, n)) / np.sqrt(m)
    return A, A @ x, x


@dataclass
class PaperRun:
    """One run of the paper's Riemannian GD.

    ``reached`` says whether it stopped by the residual rule ``‖A x_t − b‖ < tol`` (else it
    ran to ``T``); ``n_iter`` is the authors' count (the first ``t`` with the residual below
    ``tol``, or ``T``); ``residual[t] = ‖A x_t − b‖₂`` for ``t = 0 … n_iter``.
    """

    x: np.ndarray
    n_iter: int
    reached: bool
    residual: np.ndarray
    path: dict = field(default_factory=dict)


def paper_gd(A, b, *, alpha: float, eta: float, T: int, depth: int, gamma: float = 0.0,
             tol: float = PAPER_RESIDUAL_TOL, watch=None) -> PaperRun:
    """The paper's Riemannian GD ``x ← x − (L·η/(t+2)^γ) x^{2−2/L} ⊙ Aᵀ(Ax − b)``, x0 = α^L·1.

    Run as ``rp.nnls(method="riemannian-gd", step=η/L, depth=L, decay=γ)``: our step
    ``step·L²`` equals the paper's ``L·η`` for ``step = η/L``. Stops when
    ``‖A x_t − b‖₂ < tol`` (their rule) or after ``T`` steps. ``watch`` (optional): iterations
    at which to keep ``x_t`` in ``path``.
    """
    import reparam as rp

    marks = set() if watch is None else {int(k) for k in watch}
    path: dict = {}

    def stop(state) -> bool:
        if state.k in marks:
            path[state.k] = state.x.copy()
        return bool(np.sqrt(2.0 * max(state.objective, 0.0)) < tol)

    res = rp.nnls(A, b, method="riemannian-gd", depth=depth, init_scale=float(alpha),
                  step=eta / depth, decay=gamma, tol=0.0, max_iter=int(T), callback=stop,
                  record=True)
    residual = np.sqrt(2.0 * np.maximum(np.asarray(res.history["objective"]), 0.0))
    reached = bool(residual[-1] < tol)
    return PaperRun(np.asarray(res.x), int(res.n_iter), reached, residual, path)


def rate_exponent(residual: np.ndarray) -> float:
    """The decay exponent over the run's last decade: log(r(t_end)/r(t0)) / log 10, t0 = t_end/10.

    ``t_end`` is the last step (the one that met the stopping rule, or T). The paper's
    reference lines bound the residual's asymptotic decay; the last decade is the part of the
    run closest to that regime. A run that stopped before t = 10 counts as −inf.
    """
    t_end = residual.size - 1
    if t_end < 10:
        return float("-inf")
    t0 = t_end // 10
    return float(np.log(residual[t_end] / residual[t0]) / np.log(t_end / t0))


def unfinished_note(runs: dict, T: int, tol: float = PAPER_RESIDUAL_TOL) -> str:
    """A note on the runs (``label -> PaperRun``) that ended at ``T`` without the residual rule.

    Gives each one's final ``‖A x_T − b‖`` and :func:`rate_exponent`, so a reader sees whether
    it was still decreasing (exponent below ``-FLAT``: slow convergence, the rule not yet met,
    explained by :data:`AT_T_REASON`) or flat (a floor, said as such). Empty when every run met
    the rule.
    """
    cut = {k: r for k, r in runs.items() if not r.reached}
    if not cut:
        return ""
    exps = {k: rate_exponent(r.residual) for k, r in cut.items()}
    parts = [f"{k}: {r.residual[-1]:.1e}, exponent {exps[k]:.2f}" for k, r in cut.items()]
    text = (f"{len(cut)} of {len(runs)} runs ended at T = {T:g} with ‖A x_T − b‖ above "
            f"{tol:g} (final residual, and its decay exponent over the last decade "
            f"[T/10, T]: " + "; ".join(parts) + "). ")
    flat = [k for k, p in exps.items() if not p < -FLAT]
    if flat:
        return text + (f"Flat over the last decade (exponent ≥ −{FLAT:g}): {', '.join(flat)} — "
                       "a plateau (not yet escaped, or a floor), not a slow decay.")
    return text + AT_T_REASON + " The exponents above show it still decreasing, not at a floor."


# A residual whose decay exponent over the last decade is above -FLAT has stopped decreasing.
FLAT = 0.05
# Why a run of the paper's GD can end at T without the residual rule, at the paper's settings.
AT_T_REASON = (
    "A run at T is not a defect of the stopping test: the rule ‖A x_t − b‖₂ < 1e-6 is the "
    "authors' (an absolute tolerance on the 2-norm of the residual, in the same units) and is "
    "evaluated after every step, and the iterates are the authors' update to rounding, so "
    "their own runs at these settings end at T without meeting it either. Near a solution of "
    "Ax = b the gradient Aᵀ(Ax − b) vanishes, and the entries that must still shrink move by "
    "x^(2−2/L) times that vanishing gradient, so the last part of the decay is slow.")


def log_samples(curve, count: int = 200) -> tuple[list[int], list[float]]:
    """``(t, curve[t])`` at about ``count`` log-spaced ``t`` (for figures and results.json)."""
    curve = np.asarray(curve)
    t = np.unique(np.concatenate([[0], np.geomspace(1, max(curve.size - 1, 1), count)
                                  .astype(int), [curve.size - 1]]))
    return t.tolist(), curve[t].tolist()


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
