"""The one driver loop every iterative method runs.

An optimizer is a pair of pure functions ``init(task, start) -> state`` and
``step(task, state, k) -> state``; a state is a typed record with at least the point ``x``,
its gradient ``g`` and objective ``f``. :func:`run` owns stopping on the certificate,
``max_iter``, callbacks, recording, Ctrl-C and non-finite values, so each optimizer is only its
update rule. For a block task (``task.columns``) the certificate and the objective are per
column; a column that meets the tolerance (or fails) is frozen while the others go on.
"""

from __future__ import annotations

import math
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
_SUM = np.add.reduce


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


# A small block takes its per-column decisions a window of iterations at a time: the
# certificate of the window's iterates side by side (one call), then the stopping, the best
# iterate and the frozen columns, vectorized over the window. Taken every iteration, these
# dozen NumPy calls on k values cost as much as the step of a block of a few hundred entries
# (measured on the 10 x 50 five-scale sweep: about a third of the iteration). The window
# grows 1, 2, 4, ... up to _WINDOW iterations and holds at most _WINDOW_ENTRIES entries of x
# (larger blocks take them every iteration: there the step dominates).
_WINDOW = 16
_WINDOW_ENTRIES = 1 << 16


def _loop_columns(task, optimizer, state, cert, certify, tol, max_iter, callback, recorders,
                  hist):
    """The loop for a block: per-column stopping. A finished (or failed) column is frozen at
    its answer and dropped from the block, so later iterations work on the live columns only.

    Without a callback or recording, a small block of NumPy arrays is checked a window of
    iterations at a time (:data:`_WINDOW`): a column that meets the tolerance (or fails)
    inside a window runs to the window's end, but those extra steps are discarded, and its
    answer, status and iteration count are those of the iteration where it met it, as when
    checked every iteration. The columns are independent problems, so the others' steps do
    not depend on when a column leaves the block.
    """
    xp = task.xp
    k_all = cert.size
    out = _Block(state, k_all)
    cols = np.arange(k_all)
    best_f, best_cert = np.asarray(to_host(state.f), dtype=float), cert
    full_f, full_cert = np.array(best_f, dtype=float), np.array(cert, dtype=float)
    k, detail = 0, ""
    best = _BestColumns(state, xp)
    stepwise = callback is not None or bool(recorders) or xp is not np
    tiles: dict[int, np.ndarray] = {}  # the live columns' indices repeated, per window width

    def finish(groups, ended):
        """Freeze each group's columns (mask, status, iteration) at their best iterate, then
        drop the ``ended`` ones (a mask over the live columns) from the block."""
        nonlocal state, best, best_f, best_cert, cols, task
        now = best.get()
        for mask, status, it in groups:
            out.finish(now, best_f, best_cert, mask, cols, status, it)
        keep = ~ended
        state, best = _take(state, keep), _BestColumns(_take(now, keep), xp)
        best_f, best_cert = best_f[keep], best_cert[keep]
        cols = cols[keep]
        task = task.take(keep)
        tiles.clear()
        return keep

    def measure(batch):
        """The objectives and certificates of the states in ``batch``, one after the other
        (NumPy floats; run under ``np.errstate(all="ignore")``)."""
        w = len(batch)
        if w == 1:
            xs, gs, cw = batch[0].x, batch[0].g, cols
        else:  # the window's iterates side by side: one certificate call
            xs = np.concatenate([s.x for s in batch], axis=-1)
            gs = np.concatenate([s.g for s in batch], axis=-1)
            cw = tiles.get(w)
            if cw is None:
                cw = tiles[w] = np.tile(cols, w)
        c = certify(xs, gs, cw)
        if xp is not np:
            return to_host(batch[0].f), to_host(c)
        f = batch[0].f if w == 1 else np.concatenate([s.f for s in batch])
        return np.asarray(f, dtype=float), np.asarray(c, dtype=float)

    def settle(batch, k0, f, c):
        """The decisions of iterations ``k0 + 1 ..`` (the states in ``batch``, their
        objectives ``f`` and certificates ``c`` from :func:`measure`), as if taken one
        iteration at a time; returns the live columns' objectives and certificates at the last
        iteration, and the last iteration that counts (where the last column left, if all did).
        """
        nonlocal detail, best_f, best_cert
        w, m = len(batch), cols.size
        if w == 1 and not getattr(batch[0], "stalled", None) and math.isfinite(f @ c) and \
                _MIN(c) > tol:  # the common iteration: nobody stops
            return improve(batch[0], f, c), c, k0 + 1
        f, c = f.reshape(w, m), c.reshape(w, m)
        fin = np.isfinite(f) & np.isfinite(c)
        met = c <= tol
        event = met | ~fin
        messages = {}
        for i, s in enumerate(batch):
            stalled = getattr(s, "stalled", None)
            if isinstance(stalled, Stalled):
                event[i] |= stalled.mask
                messages[i] = stalled.message
            elif stalled:
                event[i] = True
                messages[i] = stalled
        hit = _ANY(event, axis=0)
        if recorders and _ANY(fin[0]):  # stepwise: record the finite columns
            ok = fin[0]
            full_f[cols[ok]], full_cert[cols[ok]] = f[0, ok], c[0, ok]
            now = batch[0] if _ALL(ok) else _take(batch[0], ok)
            for name, fn in recorders:
                hist[name].append(fn(now, full_f.copy(), full_cert.copy()))
        # each column's last iteration in the window (its first event, else the window's
        # end) and the best iterate up to it: the lowest objective, then the lowest
        # certificate, then the earliest, where it improves on the best so far
        last = np.where(hit, event.argmax(axis=0), w - 1)
        rows = np.arange(w)[:, None]
        valid = (rows < last) | ((rows == last) & fin)
        f_low = _MIN(np.where(valid, f, np.inf), axis=0)
        tie = valid & (f == f_low)
        c_low = _MIN(np.where(tie, c, np.inf), axis=0)
        pick = (tie & (c == c_low)).argmax(axis=0)
        take = (f_low < best_f) | ((f_low == best_f) & (c_low < best_cert))
        j = np.arange(m)
        conv = hit & met[last, j] & fin[last, j]
        pick = np.where(conv, last, pick)  # a column that meets tol keeps that iterate
        take |= conv
        if _ANY(take):
            best_f = np.where(take, f[pick, j], best_f)
            best_cert = np.where(take, c[pick, j], best_cert)
            for i in np.unique(pick[take]):
                mask = take & (pick == i)
                best.update(mask, bool(_ALL(mask)), batch[i])
        if not _ANY(hit):
            return f[-1], c[-1], k0 + w
        bad = hit & ~fin[last, j]
        stuck = hit & ~bad & ~conv
        groups = []
        for i in np.unique(last[hit]):
            at = last == i
            it = k0 + int(i) + 1
            for mask, status in ((at & bad, Status.NUMERICAL_ERROR),
                                 (at & conv, Status.CONVERGED), (at & stuck, Status.STALLED)):
                if _ANY(mask):
                    groups.append((mask, status, it))
            if _ANY(at & bad):
                detail = f"non-finite iterate at iteration {it}"
            if _ANY(at & stuck):
                detail = messages[int(i)]
        end = k0 + int(np.max(last[hit])) + 1 if _ALL(hit) else k0 + w
        keep = finish(groups, hit)
        return f[-1, keep], c[-1, keep], end

    def improve(state, f, c):
        """One iteration in which no column stops (every ``f`` and ``c`` finite, none met
        ``tol``, none stalled): record it and keep the better iterates; returns ``f``."""
        nonlocal best_f, best_cert
        if recorders:
            full_f[cols], full_cert[cols] = f, c
            for name, fn in recorders:
                hist[name].append(fn(state, full_f.copy(), full_cert.copy()))
        take = f < best_f  # a lower objective, or as low and better certified
        every = _ALL(take)
        if not every:
            tie = f == best_f
            if _ANY(tie):
                take |= tie & (c < best_cert)
            every = _ALL(take)
        best.update(take, every, state)
        if every:
            best_f, best_cert = f, c
        elif _ANY(take):
            best_f = np.where(take, f, best_f)
            best_cert = np.where(take, c, best_cert)
        return f

    pending: list = []
    done = cert <= tol
    if done.any():
        finish([(done, Status.CONVERGED, 0)], done)
    try:
        width = 1
        while cols.size and k < max_iter:
            w = 1
            if not stepwise:
                w = min(width, max_iter - k, max(1, _WINDOW_ENTRIES // max(state.x.size, 1)))
                width = min(2 * width, _WINDOW)
            k0 = k
            with np.errstate(all="ignore"):
                for _ in range(w):
                    k += 1
                    state = optimizer.step(task, state, k)
                    pending.append(state)
                    # a stalled or non-finite column ends the window at once
                    if w > 1 and (getattr(state, "stalled", None) or
                                  not math.isfinite(_SUM(state.f))):
                        break
                f, cert = measure(pending)
            batch, pending = pending, []
            f, cert, k = settle(batch, k0, f, cert)
            if not cols.size:
                break
            if callback is not None and callback(
                IterationState(k, state.x, f, cert, getattr(state, "params", None))
            ):
                detail = f"stopped by the callback at iteration {k}"
                finish([(np.ones(cols.size, dtype=bool), Status.INTERRUPTED, k)],
                       np.ones(cols.size, dtype=bool))
                break
    except KeyboardInterrupt:
        if pending and cols.size:  # the iterations done before the interrupt count
            batch, pending = pending, []
            with np.errstate(all="ignore"):
                f, cert = measure(batch)
            settle(batch, k0, f, cert)
        detail = _CtrlC(f"interrupted (Ctrl-C) at iteration {k}")
        if cols.size:
            every = np.ones(cols.size, dtype=bool)
            finish([(every, Status.INTERRUPTED, k)], every)
    if cols.size:
        every = np.ones(cols.size, dtype=bool)
        finish([(every, Status.MAX_ITER, k)], every)
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
