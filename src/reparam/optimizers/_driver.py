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
from typing import Any, NamedTuple

import numpy as np

from .._linalg import device, take_columns, to_host
from .._result import CTRL_C, Result, Status
from ._task import Stalled, Task
from ._tree import copy, tcopy, tfinite, tmap


class _CtrlC(str):
    """The detail of a loop that Ctrl-C ended (a type, so no caller parses the text)."""


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


class _Best(NamedTuple):
    """What a block keeps of its best iterate per column: the answer ``_Block.finish`` reads."""

    x: np.ndarray
    g: np.ndarray
    params: Any


def _best_of(state) -> _Best:
    return _Best(state.x, state.g, getattr(state, "params", None))


def _merge(mask, new: _Best, old: _Best, xp=np) -> _Best:
    """``new`` on the columns in ``mask``, ``old`` elsewhere (the fields of :class:`_Best`)."""
    if xp is not np:
        mask = xp.asarray(mask, device=device(new.x))
    new_params = getattr(new, "params", None)  # ``new`` may be a state
    params = None if new_params is None else tmap(
        lambda a, b: xp.where(mask, a, b), new_params, old.params)
    return _Best(xp.where(mask, new.x, old.x), xp.where(mask, new.g, old.g), params)


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
    certify: Callable[[np.ndarray, np.ndarray, Any], Any],
    *,
    tol: float,
    max_iter: int,
    callback: Callable | None = None,
    record: Sequence = (),
    method: str = "",
    advice: str = "raise max_iter",
) -> Result:
    """Run ``optimizer`` from ``start`` until ``certify(x, g, cols) <= tol`` or ``max_iter`` steps.

    ``cols`` is None for a single problem, and for a block the indices of the columns ``x``
    holds (finished columns leave the block; ``task.take`` restricts the task to the others).
    Callbacks and recording callables see the live columns only; the recorded "objective" and
    "certificate" of a block are full-width (a finished column keeps its final value).

    Returns the first point that meets the tolerance; otherwise the iterate with the lowest
    objective seen, with a status that says why the loop ended (per column for a block).
    Ctrl-C returns that best iterate with ``Status.INTERRUPTED``; nothing raises for
    non-convergence. Steps run under ``np.errstate(all="ignore")``: overflow shows up as a
    non-finite iterate (``Status.NUMERICAL_ERROR``), never as a warning.
    """
    t0 = time.perf_counter()
    recorders = _recorder(record)
    hist: dict[str, list] = {name: [] for name, _ in recorders}
    xp = task.xp
    with np.errstate(all="ignore"):
        state = optimizer.init(task, start)
        cert = certify(state.x, state.g, None)
    columns = task.columns and getattr(cert, "ndim", 0) == 1
    if columns:
        cert = np.asarray(to_host(cert), dtype=float)
    for name, fn in recorders:
        hist[name].append(fn(state, state.f, cert))
    if columns:
        block, k, detail = _loop_columns(
            task, optimizer, state, cert, certify, tol, max_iter, callback, recorders, hist)
        x, g, params = block.assemble(xp)
        best_f, best_cert, st, n_iter = block.f, block.cert, block.status, block.n_iter
        compl = np.abs(np.einsum("ij,ij->j", x, g)) if xp is np else np.abs(
            to_host(xp.sum(x * g, axis=0)))
        message = _block_message(st, k, best_cert, tol, detail, advice)
    else:
        st, k, detail, best, best_f, best_cert = _loop_single(
            task, optimizer, state, cert, lambda x, g: certify(x, g, None), tol, max_iter,
            callback, recorders, hist)
        n_iter = k
        x, g = best.x, best.g
        params = getattr(best, "params", None)
        compl = abs(float(np.vdot(x, g) if xp is np else xp.sum(x * g)))
        message = _message(st, k, float(best_cert), tol, detail, advice)
        best_f, best_cert = float(best_f), float(best_cert)
    history = {name: np.asarray(v) for name, v in hist.items()} if recorders else None
    return Result(
        x=copy(x),
        status=st,
        message=message,
        n_iter=n_iter,
        objective=best_f,
        kkt=best_cert,
        complementarity=compl,
        method=method,
        history=history,
        time=time.perf_counter() - t0,
        info={**({"u": copy(params)} if hasattr(params, "shape") else {}),
              **({CTRL_C: True} if isinstance(detail, _CtrlC) else {})},
        params=None if params is None else tcopy(params),
    )


def _loop_single(task, optimizer, state, cert, certify, tol, max_iter, callback, recorders,
                 hist):
    """The loop for one problem: plain Python scalars, no per-column bookkeeping."""
    xp = task.xp
    if xp is not np:
        state, cert = state._replace(f=float(state.f)), float(cert)
    best, best_cert = state, cert
    status, k, detail = Status.MAX_ITER, 0, ""
    try:
        if cert <= tol:
            status = Status.CONVERGED
        while status is not Status.CONVERGED and k < max_iter:
            k += 1
            with np.errstate(all="ignore"):
                state = optimizer.step(task, state, k)
                f = state.f
                if xp is np:
                    finite = np.isfinite(f) and np.all(np.isfinite(state.x))
                else:
                    f = float(f)
                    finite = np.isfinite(f) and bool(xp.all(xp.isfinite(state.x)))
                if not finite:
                    status, detail = Status.NUMERICAL_ERROR, f"non-finite iterate at iteration {k}"
                    break
                cert = certify(state.x, state.g)
                if xp is not np:
                    cert = float(cert)
            for name, fn in recorders:
                hist[name].append(fn(state, f, cert))
            if cert <= tol:
                status, best, best_cert = Status.CONVERGED, state, cert
                break
            if f < best.f or (f == best.f and cert < best_cert):
                best, best_cert = state, cert
            stalled = getattr(state, "stalled", None)
            if stalled:
                status, detail = Status.STALLED, stalled
                break
            if callback is not None and callback(
                IterationState(k, state.x, f, cert, getattr(state, "params", None))
            ):
                status, detail = Status.INTERRUPTED, f"stopped by the callback at iteration {k}"
                break
    except KeyboardInterrupt:
        status, detail = Status.INTERRUPTED, _CtrlC(f"interrupted (Ctrl-C) at iteration {k}")
    return status, k, detail, best, best.f, best_cert


def _take(state, keep):
    """The state restricted to the columns ``keep`` (a bool mask over its columns)."""
    fields = {}
    for name in state._fields:
        v = getattr(state, name)
        if hasattr(v, "shape") and getattr(v, "ndim", 0):
            fields[name] = take_columns(v, keep)
        elif isinstance(v, Stalled):
            mask = v.mask[keep]
            fields[name] = Stalled(v.message, mask) if mask.any() else None
        elif isinstance(v, tuple):
            fields[name] = tmap(lambda a: take_columns(a, keep), v)
        else:
            fields[name] = v
    return type(state)(**fields)


# ufunc reductions called directly: the loop's per-iteration tests without Python wrappers
_MIN, _ALL, _ANY = np.minimum.reduce, np.logical_and.reduce, np.logical_or.reduce


class _BestColumns:
    """The best iterate of every column of a block, merged lazily: ``src`` on the columns in
    ``mask`` (all of them when ``mask`` is None), ``old`` on the others. While the same
    columns keep improving (and the others not), nothing is copied. ``src`` and ``old`` are
    states or :class:`_Best` records (the fields ``x``, ``g`` and ``params`` are read)."""

    __slots__ = ("mask", "old", "src", "xp")

    def __init__(self, src: _Best, xp):
        self.src, self.mask, self.old, self.xp = src, None, None, xp

    def update(self, take: np.ndarray, every: bool, src: _Best) -> None:
        """``src`` becomes the best of the columns in ``take`` (all of them if ``every``)."""
        if every:
            self.src, self.mask, self.old = src, None, None
            return
        if self.mask is None:
            self.old = self.src
        elif _ANY(self.mask > take):  # a column whose best was src stops improving
            self.old = _merge(self.mask, self.src, self.old, self.xp)
        self.src, self.mask = src, take

    def get(self) -> _Best:
        if self.mask is None:
            return _best_of(self.src)
        return _merge(self.mask, self.src, _best_of(self.old), self.xp)


class _Block:
    """The final per-column answers of a block, filled as columns finish (chunks of columns
    kept in the block's array library, put in order once at the end)."""

    def __init__(self, state, k: int):
        self.chunks: list = []  # (columns, x, g, params)
        self.f = np.empty(k)
        self.cert = np.empty(k)
        self.status = np.full(k, Status.MAX_ITER, dtype=object)
        self.n_iter = np.zeros(k, dtype=int)

    def finish(self, best, f, cert, mask, cols, status, k: int) -> None:
        j = cols[mask]
        pick = (lambda a: take_columns(a, mask))
        params = None if best.params is None else tmap(pick, best.params)
        self.chunks.append((j, pick(best.x), pick(best.g), params))
        self.f[j], self.cert[j] = f[mask], cert[mask]
        self.status[j] = status
        self.n_iter[j] = k

    def assemble(self, xp):
        """``x``, ``g`` and the parameters of every column, in column order."""
        order = np.argsort(np.concatenate([c[0] for c in self.chunks]), kind="stable")
        if len(self.chunks) == 1 and np.all(order == np.arange(order.size)):
            _, x, g, params = self.chunks[0]
            return x, g, params

        def join(parts):
            a = xp.concat(parts, axis=parts[0].ndim - 1) if xp is not np else \
                np.concatenate(parts, axis=-1)
            return take_columns(a, order)

        x = join([c[1] for c in self.chunks])
        g = join([c[2] for c in self.chunks])
        params = None
        if self.chunks[0][3] is not None:
            trees = [c[3] for c in self.chunks]
            if isinstance(trees[0], tuple):
                params = tuple(join([t[i] for t in trees]) for i in range(len(trees[0])))
            else:
                params = join(trees)
        return x, g, params


def _loop_columns(task, optimizer, state, cert, certify, tol, max_iter, callback, recorders,
                  hist):
    """The loop for a block: per-column stopping. A finished (or failed) column is frozen at
    its answer and dropped from the block, so later iterations work on the live columns only."""
    xp = task.xp
    k_all = cert.size
    out = _Block(state, k_all)
    cols = np.arange(k_all)
    best_f, best_cert = np.asarray(to_host(state.f), dtype=float), cert
    full_f, full_cert = np.array(best_f, dtype=float), np.array(cert, dtype=float)
    k, detail = 0, ""

    best = _BestColumns(state, xp)

    def drop(mask, status):
        nonlocal state, best, best_f, best_cert, cols, task, cert
        now = best.get()
        out.finish(now, best_f, best_cert, mask, cols, status, k)
        keep = ~mask
        state, best = _take(state, keep), _BestColumns(_take(now, keep), xp)
        best_f, best_cert, cert = best_f[keep], best_cert[keep], cert[keep]
        cols = cols[keep]
        task = task.take(keep)

    done = cert <= tol
    if done.any():
        drop(done, Status.CONVERGED)
    try:
        while cols.size and k < max_iter:
            k += 1
            with np.errstate(all="ignore"):
                state = optimizer.step(task, state, k)
                cert = certify(state.x, state.g, cols)
            f = state.f
            if xp is not np:
                f, cert = to_host(f), to_host(cert)
            elif type(f) is not np.ndarray or f.dtype != np.float64:
                f = np.asarray(f, dtype=float)
            # x with a non-finite entry makes f or the certificate non-finite, and so their
            # inner product (one call; an overflow of the product only takes the slow check)
            if not np.isfinite(f @ cert):
                bad = ~(np.isfinite(f) & np.isfinite(cert))
                if bad.any():
                    detail = f"non-finite iterate at iteration {k}"
                    drop(bad, Status.NUMERICAL_ERROR)
                    f = f[~bad]
                    if not cols.size:
                        break
            if recorders:
                full_f[cols], full_cert[cols] = f, cert
                for name, fn in recorders:
                    hist[name].append(fn(state, full_f.copy(), full_cert.copy()))
            any_met = _MIN(cert) <= tol
            met = cert <= tol if any_met else None
            # the best iterate per column: met, a lower objective, or as low and better certified
            take = f < best_f
            every = _ALL(take)
            if not every:
                tie = f == best_f
                if _ANY(tie):
                    take |= tie & (cert < best_cert)
                if any_met:
                    take |= met
                every = _ALL(take)
            best.update(take, every, state)
            if every:
                best_f, best_cert = f, cert
            elif _ANY(take):
                best_f = np.where(take, f, best_f)
                best_cert = np.where(take, cert, best_cert)
            if any_met:
                drop(met, Status.CONVERGED)
                if not cols.size:
                    break
            stalled = getattr(state, "stalled", None)
            if isinstance(stalled, Stalled):  # some columns cannot go on: they leave the block
                detail = stalled.message
                drop(stalled.mask, Status.STALLED)
                if not cols.size:
                    break
            elif stalled:
                detail = stalled
                drop(np.ones(cols.size, dtype=bool), Status.STALLED)
                break
            if callback is not None and callback(
                IterationState(k, state.x, f, cert, getattr(state, "params", None))
            ):
                detail = f"stopped by the callback at iteration {k}"
                drop(np.ones(cols.size, dtype=bool), Status.INTERRUPTED)
                break
    except KeyboardInterrupt:
        detail = _CtrlC(f"interrupted (Ctrl-C) at iteration {k}")
        if cols.size:
            drop(np.ones(cols.size, dtype=bool), Status.INTERRUPTED)
    if cols.size:
        drop(np.ones(cols.size, dtype=bool), Status.MAX_ITER)
    return out, k, detail


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
