"""The one driver loop every iterative method runs.

An optimizer is a pair of pure functions ``init(task, start) -> state`` and
``step(task, state, k) -> state``; a state is a typed record with at least the point ``x``,
its gradient ``g`` and objective ``f``. :func:`run` owns stopping on the certificate,
``max_iter``, callbacks, recording, Ctrl-C and non-finite values, so each optimizer is only its
update rule. For a block task (``task.columns``) the certificate and the objective are per
column; a column that meets the tolerance (or fails) is frozen while the others go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._result import Result, Status
from ._task import Task
from ._tree import tcopy, tfinite, tmap


@dataclass(frozen=True)
class Optimizer:
    """An ``init`` / ``step`` pair; ``blocks``: whether it runs (n, k) blocks column-wise."""

    name: str
    init: Callable
    step: Callable
    blocks: bool = False


@dataclass
class IterationState:
    """What a ``callback`` receives after every iteration. Return True from it to stop."""

    k: int
    x: np.ndarray
    objective: Any
    kkt: Any
    params: Any = None


def _select(mask, new, old):
    """``new`` where ``mask`` (a per-column bool, or one bool), else ``old``; leaf by leaf."""
    if np.ndim(mask) == 0:
        return new if mask else old
    return tmap(lambda a, b: np.where(mask, a, b), new, old)


def _merge(mask, new, old):
    """A state whose array fields take ``new`` on the columns in ``mask``, ``old`` elsewhere."""
    fields = {}
    for name in new._fields:
        a, b = getattr(new, name), getattr(old, name)
        if isinstance(a, (np.ndarray, tuple)) and not isinstance(a, str) and b is not None:
            fields[name] = _select(mask, a, b)
        else:
            fields[name] = a
    return type(new)(**fields)


def _finite_columns(x, f, columns: bool):
    if columns:
        return np.all(np.isfinite(x), axis=0) & np.isfinite(f)
    return bool(np.isfinite(f) and np.all(np.isfinite(x)))


def _recorder(record: Sequence) -> list[tuple[str, Callable]]:
    out = []
    for i, item in enumerate(record):
        if item in ("objective",):
            out.append(("objective", lambda s, f, c: f))
        elif item in ("certificate", "kkt"):
            out.append((item, lambda s, f, c: c))
        elif callable(item):
            name = getattr(item, "__name__", f"record_{i}")
            out.append((name, lambda s, f, c, fn=item: fn(getattr(s, "params", None), s.x)))
        else:
            raise ValueError(f"record entries must be 'objective', 'certificate' or callables "
                             f"of (params, x); got {item!r}")
    return out


def run(
    task: Task,
    optimizer: Optimizer,
    start,
    certify: Callable[[np.ndarray, np.ndarray], Any],
    *,
    tol: float,
    max_iter: int,
    callback: Callable | None = None,
    record: Sequence = (),
    method: str = "",
    advice: str = "raise max_iter",
) -> Result:
    """Run ``optimizer`` from ``start`` until ``certify(x, g) <= tol`` or ``max_iter`` steps.

    Returns the first point that meets the tolerance; otherwise the iterate with the lowest
    objective seen, with a status that says why the loop ended (per column for a block).
    Ctrl-C returns that best iterate with ``Status.INTERRUPTED``; nothing raises for
    non-convergence. Steps run under ``np.errstate(all="ignore")``: overflow shows up as a
    non-finite iterate (``Status.NUMERICAL_ERROR``), never as a warning.
    """
    t0 = time.perf_counter()
    recorders = _recorder(record)
    hist: dict[str, list] = {name: [] for name, _ in recorders}
    with np.errstate(all="ignore"):
        state = optimizer.init(task, start)
        cert = certify(state.x, state.g)
    columns = task.columns and np.ndim(cert) == 1
    best, best_f, best_cert = state, state.f, cert
    for name, fn in recorders:
        hist[name].append(fn(state, state.f, cert))
    done = np.asarray(cert <= tol)
    status = np.where(done, Status.CONVERGED, Status.MAX_ITER).astype(object)
    active = ~done
    n_iter = np.zeros(np.shape(cert), dtype=int)
    k, detail = 0, ""
    try:
        while np.any(active) and k < max_iter:
            k += 1
            with np.errstate(all="ignore"):
                new = optimizer.step(task, state, k)
                finite = _finite_columns(new.x, new.f, columns)
                bad = active & ~np.asarray(finite)
                if np.any(bad):
                    status[bad] = Status.NUMERICAL_ERROR
                    detail = f"non-finite iterate at iteration {k}"
                    active = active & ~bad
                    if not np.any(active):
                        break
                state = _merge(active, new, state) if columns else new
                cert = certify(state.x, state.g)
            n_iter = np.where(active, k, n_iter)
            f = state.f
            for name, fn in recorders:
                hist[name].append(fn(state, f, cert))
            met = active & np.asarray(cert <= tol)
            better = active & ~met & ((f < best_f) | ((f == best_f) & (cert < best_cert)))
            take = met | better
            if np.any(take):
                best = _merge(take, state, best) if columns else state
                best_f = np.where(take, f, best_f) if columns else f
                best_cert = np.where(take, cert, best_cert) if columns else cert
            if np.any(met):
                status[met] = Status.CONVERGED
                active = active & ~met
            if not np.any(active):
                break
            stalled = getattr(state, "stalled", None)
            if stalled:
                status[active] = Status.STALLED
                detail, active = stalled, active & False
                break
            if callback is not None and callback(
                IterationState(k, state.x, f, cert, getattr(state, "params", None))
            ):
                status[active] = Status.INTERRUPTED
                detail = f"stopped by the callback at iteration {k}"
                break
    except KeyboardInterrupt:
        status[np.asarray(active)] = Status.INTERRUPTED
        detail = f"interrupted (Ctrl-C) at iteration {k}"
    history = {name: np.asarray(v) for name, v in hist.items()} if recorders else None
    x, g = best.x, best.g
    params = getattr(best, "params", None)
    if columns:
        compl = np.abs(np.einsum("ij,ij->j", x, g)) if x.ndim == 2 else abs(float(x @ g))
        st, message = status, _block_message(status, k, best_cert, tol, detail, advice)
        best_f = np.asarray(best_f)
    else:
        st = status.item()
        compl = abs(float(np.vdot(x, g)))
        message = _message(st, k, float(best_cert), tol, detail, advice)
        best_f, best_cert = float(best_f), float(best_cert)
    return Result(
        x=x.copy(),
        status=st,
        message=message,
        n_iter=n_iter if columns else k,
        objective=best_f,
        kkt=best_cert,
        complementarity=compl,
        method=method,
        history=history,
        time=time.perf_counter() - t0,
        info={"u": params.copy()} if isinstance(params, np.ndarray) else {},
        params=None if params is None else tcopy(params),
    )


def _message(status: Status, k: int, kkt: float, tol: float, detail: str, advice: str) -> str:
    if status is Status.CONVERGED:
        return f"converged: kkt {kkt:.2e} <= tol {tol:.0e} after {k} iterations"
    if status is Status.MAX_ITER:
        return (
            f"reached max_iter={k} with kkt {kkt:.2e} > tol {tol:.0e}; returning the best "
            f"iterate; try: {advice}"
        )
    if status is Status.NUMERICAL_ERROR:
        return f"{detail}; returning the best finite iterate (kkt {kkt:.2e}); try a smaller step"
    if status is Status.STALLED:
        return f"{detail}; kkt {kkt:.2e} > tol {tol:.0e}; try: {advice}"
    return f"{detail}; returning the best iterate so far (kkt {kkt:.2e})"


def _block_message(status, k, kkt, tol, detail, advice) -> str:
    n_conv = int(np.sum(status == Status.CONVERGED))
    text = f"{n_conv} of {status.size} columns converged (kkt <= tol {tol:.0e})"
    if n_conv < status.size:
        first = int(np.flatnonzero(status != Status.CONVERGED)[0])
        text += (f"; column {first}: {status[first].value} after {k} iterations, kkt "
                 f"{kkt[first]:.2e}" + (f" ({detail})" if detail else "") + f"; try: {advice}")
    return text


def check_finite_start(start) -> None:
    if not tfinite(start):
        raise ValueError("the initial parameters have non-finite entries")
