"""Millions of right-hand sides on a Dask cluster: :func:`nnls` maps the exact batched solver
over column blocks of ``B``.

One NNLS per column with one shared ``A`` (hyperspectral unmixing: one system per pixel; NMF
sub-problems) is embarrassingly parallel over columns. :func:`nnls` cuts ``B`` into blocks of
whole columns, sends ``A`` to every worker once, solves each block with
:func:`reparam.nnls` (the batched exact solver: block principal pivoting, Kim & Park 2011) on a
``dask.distributed`` cluster and gathers ``x`` in memory or has the workers write it to a Zarr
store. The scheduling, data movement and fault tolerance are Dask's: a worker that dies
mid-run has its blocks recomputed elsewhere, and every task is a pure function of its block,
so the answer does not depend on which worker solved what.

Where ``B`` lives decides what the client does: a Zarr store (path or array) is read by the
workers, each task its own columns, and ``out`` has them write ``x``, so nothing large passes
through the client; a ``B`` in memory is copied block by block to the workers (through shared
memory on a ``LocalCluster``).

:func:`connect` gives the same cluster to other work, e.g. a parameter sweep of the
experiments: ``with connect(workers=2) as client: client.map(...)``.

Needs ``pip install 'reparam[distributed]'`` (dask[array], distributed, zarr).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._result import Result, Status
from ._validation import validate_options, validate_problem
from .solvers import METHOD_NAMES, METHODS
from .solvers.auto import choose

__all__ = ["BlockError", "ProgressBar", "block_columns", "connect", "nnls"]

_STATUSES = list(Status)  # a block returns its statuses as int8 codes: indices in this list
# Default block size: about 32 MiB of float64 right-hand sides per block (2**22 values), so
# that a block amortizes the per-task cost of Dask (about a millisecond) and a worker's memory
# holds a few blocks at once; at most a quarter of each worker's share of the columns, so that
# every worker gets several blocks and a slow or lost worker delays little.
_BLOCK_VALUES = 2**22


def block_columns(m: int, k: int, workers: int) -> int:
    """The default number of columns per block of :func:`nnls` for ``B`` of shape (m, k) in
    memory on ``workers`` worker threads: about 32 MiB of float64 per block (2**22 values),
    and at least four blocks per worker.

    A Zarr store of ``B`` written for :func:`nnls` reads fastest when chunked as
    ``(m, block_columns(m, k, workers))``: each block is then one stored chunk, one file read
    and decoded straight into the C-ordered (m, c) array the solver takes, and no chunk is
    read by two blocks.

    Examples
    --------
    >>> block_columns(200, 1_000_000, 2)  # 2**22 // 200 columns: 32 MiB per block
    20971
    >>> block_columns(200, 40_000, 2)  # at least four blocks per worker
    5000
    """
    return int(max(1, min(_BLOCK_VALUES // max(m, 1), math.ceil(k / (4 * max(workers, 1))))))


class BlockError(ValueError):
    """A block of ``B`` could not be read or solved; the message names the block (its index
    and its column range ``start:stop``) and what was wrong with it."""


@contextlib.contextmanager
def connect(client=None, *, workers: int | None = None) -> Iterator[Any]:
    """A ``dask.distributed.Client``, created and closed as needed.

    Parameters
    ----------
    client : None, str or distributed.Client
        None starts a ``LocalCluster`` of ``workers`` processes (one thread each) on this
        machine and closes it on exit; a string is the address of a running scheduler
        (``"tcp://10.0.0.1:8786"``), whose cluster is left running; a ``Client`` is used as
        it is and left open.
    workers : int, optional
        Worker processes of the local cluster (default: the number of CPUs, at most 8).

    Examples
    --------
    Any Dask work may share the cluster, e.g. a sweep over seeds (here on threads of this
    process; ``connect(workers=4)`` would start four worker processes):

    >>> import numpy as np, reparam as rp
    >>> from distributed import Client
    >>> from reparam.distributed import connect
    >>> def solved(seed):
    ...     rng = np.random.default_rng(seed)
    ...     return rp.nnls(rng.standard_normal((20, 5)), rng.standard_normal(20)).success
    >>> with Client(processes=False, dashboard_address=None) as mine, connect(mine) as client:
    ...     client.gather(client.map(solved, range(3)))
    [True, True, True]
    """
    from distributed import Client, LocalCluster

    if workers is not None:
        if client is not None:
            raise ValueError("workers sets the size of a local cluster; it cannot be given "
                             "with client (the cluster at that address has its own workers)")
        if isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1:
            raise ValueError(f"workers must be a positive integer; got {workers!r}")
    if client is None:
        import dask

        n = int(workers) if workers is not None else max(1, min(os.cpu_count() or 1, 8))
        # Dask's nanny gives its workers MALLOC_TRIM_THRESHOLD_=65536 (returns freed memory
        # to the system sooner), which makes every large temporary a fresh mmap: the batched
        # solver ran 1.7x slower with it on 200 x 20 blocks of 5000 columns. Not for ours.
        # No dashboard: its port may be taken (several clusters on one machine) and it needs
        # bokeh; the scheduler's port is chosen free.
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_":
                              None}), \
                LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                             dashboard_address=None, scheduler_port=0,
                             silence_logs=logging.CRITICAL) as cluster, \
                Client(cluster) as own:
            yield own
    elif isinstance(client, str | os.PathLike):
        with Client(os.fspath(client)) as own:
            yield own
    elif isinstance(client, Client):
        yield client
    else:
        raise TypeError("client must be None (a local cluster), a scheduler address or a "
                        f"distributed.Client; got {type(client).__name__}")


def nnls(A, B, client=None, *, chunks: int | None = None, out: str | os.PathLike | None = None,
         overwrite: bool = False, workers: int | None = None, method: str = "active-set",
         progress: bool | Callable[[int, int, float], None] = False, **options: Any) -> Result:
    """Solve ``min_X 0.5 ||A X - B||_F^2`` subject to ``X >= 0``, column blocks in parallel.

    Each column of ``B`` is one NNLS problem with the same ``A``. The columns are cut into
    blocks of ``chunks`` whole columns, each block is solved by :func:`reparam.nnls` (the
    batched exact active-set solver by default) on a worker of a ``dask.distributed`` cluster,
    and ``x`` is gathered in memory or written by the workers to a Zarr store.

    Parameters
    ----------
    A : array_like or scipy.sparse matrix, shape (m, n)
        Real and finite; sent to every worker once.
    B : ndarray, dask.array.Array, zarr.Array or str, shape (m, k)
        The right-hand sides: in memory (each block travels from this process to a worker
        inside its task, or through a file in shared memory, ``/dev/shm``, when the workers
        are processes of a ``LocalCluster``), a Dask array (its graph computes the blocks on the workers, e.g.
        ``da.from_zarr``), a Zarr array or the path of a Zarr store (each task reads its own
        columns from the store on its worker: nothing large passes through this process; on
        a remote cluster the store must be one the workers can reach). A store chunked as
        ``(m, block_columns(m, k, workers))`` is read one chunk per block.
    client : None, str or distributed.Client
        Where to compute: None starts a local cluster of ``workers`` processes and closes it
        afterwards; a scheduler address or a ``Client`` uses that cluster (see
        :func:`connect`).
    chunks : int, optional
        Columns per block. Default: the column chunks of a Dask ``B``; for a Zarr ``B``, as
        many whole stored chunks as fit the in-memory default (one chunk when they are
        larger); for an in-memory ``B``, :func:`block_columns`: about 32 MiB of it per block
        and at least four blocks per worker.
    out : str or path, optional
        A Zarr store to create (shape (n, k), one Zarr chunk per block); the workers write
        their blocks into it and ``x`` reads from it. Default: ``x`` is gathered in memory.
    overwrite : bool
        Replace an existing store at ``out`` (default False: an existing path is an error).
    workers : int, optional
        Worker processes of the local cluster (only with ``client=None``).
    method : str
        The method of :func:`reparam.nnls` used on each block (default ``"active-set"``).
    progress : bool or callable
        True draws a progress bar on stderr (columns done, columns per second, time left); a
        callable is called as ``progress(columns_done, columns_total, seconds)`` after each
        block.
    **options
        Options of ``method`` (``tol``, ``max_iter``, ...), as for :func:`reparam.nnls`.

    Returns
    -------
    Result
        ``x`` of shape (n, k): a NumPy array, or with ``out`` a ``dask.array.Array`` that
        reads the store (``x`` need not fit in memory then); ``status``, ``n_iter``, ``objective``, ``kkt`` and ``complementarity`` are
        per-column NumPy arrays, as for :func:`reparam.nnls` with many right-hand sides.
        ``info`` has ``blocks``, ``chunks`` and ``workers``. A column's ``x`` equals what
        ``reparam.nnls(A, B[:, block])`` gives for its block, whichever worker solved it.

    Raises
    ------
    BlockError
        (a ``ValueError``) when a block of ``B`` cannot be read, has another shape than
        declared, or holds NaN or infinity; the message names the block and its columns.

    Examples
    --------
    Here on a cluster of threads in this process (starts in a blink); ``client=None`` would
    start worker processes, ``client="tcp://host:8786"`` use a running cluster.

    >>> import numpy as np
    >>> import reparam as rp
    >>> from distributed import Client
    >>> from reparam import distributed
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((30, 5)); B = rng.standard_normal((30, 40))
    >>> with Client(processes=False, n_workers=2, dashboard_address=None) as client:
    ...     res = distributed.nnls(A, B, client, chunks=10)
    >>> res.x.shape, res.info["blocks"], res.success
    ((5, 40), 4, True)
    >>> np.array_equal(res.x[:, :10], rp.nnls(A, B[:, :10]).x)
    True
    """
    t0 = time.perf_counter()
    A = _check_A(A)
    m, n = A.shape
    Bd, kind = _as_dask(B, m)
    k = Bd.shape[1]
    if not isinstance(method, str) or method not in METHOD_NAMES:
        raise ValueError(f"method must be one of {', '.join(METHOD_NAMES)}; got {method!r}")
    if "x0" in options or "callback" in options or "record" in options:
        bad = sorted({"x0", "callback", "record"} & options.keys())
        raise ValueError(f"{', '.join(bad)}: not available in distributed.nnls (per column "
                         "options do not travel to the workers); use reparam.nnls")
    if method == "auto":  # decided by A alone: the same for every block, and named here
        method = choose(validate_problem(A, np.zeros(m, dtype=A.dtype)))
    validate_options(method, METHODS[method].defaults, options)
    if not (isinstance(progress, bool) or callable(progress)):
        raise TypeError(f"progress must be a bool or a callable; got {type(progress).__name__}")
    if chunks is not None and (isinstance(chunks, bool) or not isinstance(chunks, int | np.integer)
                               or chunks < 1):
        raise ValueError(f"chunks must be a positive number of columns; got {chunks!r}")
    if out is not None:
        _check_out(out, overwrite)
    dtype = np.float32 if A.dtype == np.float32 and Bd.dtype == np.float32 else np.float64
    with connect(client, workers=workers) as cl:
        n_workers = max(1, len(cl.nthreads()))
        size = _chunks(chunks, Bd, kind, m, k, n_workers)
        bounds = [(s, min(s + size, k)) for s in range(0, k, size)]
        store = None if out is None else _create_store(out, (n, k), size, dtype)  # its path
        report = (ProgressBar(k) if progress is True else progress) or None
        X = None if store is not None else np.empty((n, k), dtype=dtype)
        codes = np.empty(k, dtype=np.int8)
        n_iter = np.empty(k, dtype=np.int64)
        objective, kkt, comp = (np.empty(k) for _ in range(3))
        messages: dict[int, str] = {}
        for i, (s, e), part in _run(cl, A, B, Bd, kind, bounds, store, method, options,
                                    report, k):
            if X is not None:
                X[:, s:e] = part["x"]
            codes[s:e], n_iter[s:e] = part["status"], part["n_iter"]
            objective[s:e], kkt[s:e], comp[s:e] = part["objective"], part["kkt"], part["comp"]
            messages[i] = part["message"]
    if store is not None:
        import dask.array as da

        x = da.from_zarr(store)
    else:
        x = X
    status = np.array(_STATUSES, dtype=object)[codes]
    first = next((i for i in sorted(messages) if messages[i].startswith("!")), 0)
    text = messages.get(first, "no right-hand sides").lstrip("!")
    message = (f"{k} right-hand sides in {len(bounds)} blocks of up to {size} columns on "
               f"{n_workers} workers; block {first}: {text}")
    return Result(x=x, status=status, message=message, n_iter=n_iter, objective=objective,
                  kkt=kkt, complementarity=comp, method=method, time=time.perf_counter() - t0,
                  info={"blocks": len(bounds), "chunks": size, "workers": n_workers})


# ----------------------------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------------------------
def _check_A(A):
    if sp.issparse(A):
        A = sp.csr_array(A)
        values = A.data
    else:
        try:
            A = np.asarray(A)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"A must be a 2-D array of real numbers: {exc}") from None
        values = A
    if A.ndim != 2:
        raise ValueError(f"A must be 2-D (m, n); got shape {A.shape}")
    if A.dtype.kind not in "biuf":
        raise TypeError(f"A must hold real numbers; got dtype {A.dtype}")
    if not np.all(np.isfinite(values)):
        raise ValueError("A holds NaN or infinity")
    return A


def _as_dask(B, m: int):
    """``B`` checked, and where its blocks come from: ``"memory"`` (a NumPy array: each block
    travels inside its task), ``"zarr"`` (a Zarr array, opened here from a path: each task
    reads its own columns from the store on its worker) or ``"dask"`` (a Dask array: its graph
    computes the blocks on the workers)."""
    import dask.array as da

    kind = "memory"
    if isinstance(B, str | os.PathLike):
        path = Path(B)
        if not path.exists():
            raise ValueError(f"B: no Zarr store at {path}")
        try:
            import zarr

            B = zarr.open_array(os.fspath(path), mode="r")
        except Exception as exc:  # zarr raises several types for a folder that is not a store
            raise ValueError(f"B: {path} is not a readable Zarr array: {exc}") from exc
        kind = "zarr"
    elif isinstance(B, da.Array):
        kind = "dask"
    elif type(B).__module__.startswith("zarr"):
        kind = "zarr"
    else:
        try:
            B = np.asarray(B)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"B must be an array, a Dask array, a Zarr array or a Zarr path: "
                            f"{exc}") from None
    if B.ndim != 2:
        raise ValueError(f"B must be 2-D (m, k): one right-hand side per column; got shape "
                         f"{B.shape} (for one right-hand side use reparam.nnls)")
    if B.shape[0] != m:
        raise ValueError(f"B has {B.shape[0]} rows, but A has {m}")
    if np.dtype(B.dtype).kind not in "biuf":
        raise TypeError(f"B must hold real numbers; got dtype {B.dtype}")
    return B, kind


def _chunks(chunks, Bd, kind: str, m: int, k: int, n_workers: int) -> int:
    if chunks is not None:
        return int(chunks)
    size = block_columns(m, k, n_workers)
    if kind == "dask" and len(Bd.chunks[1]) > 1:
        return int(max(Bd.chunks[1]))
    if kind == "zarr":
        # Whole stored chunks per block (a shard, with Zarr 3 sharding: the unit a read
        # fetches), as many as fit the default size: no chunk is read by two blocks.
        stored = int((getattr(Bd, "shards", None) or Bd.chunks)[1])
        if stored < k:
            return stored * max(1, size // stored)
    return size


def _check_out(out, overwrite: bool) -> None:
    if not isinstance(out, str | os.PathLike):
        raise TypeError(f"out must be the path of a Zarr store to create; got "
                        f"{type(out).__name__}")
    path = Path(out)
    if path.exists() and not overwrite:
        raise ValueError(f"out: {path} exists; remove it or pass overwrite=True")
    if not path.parent.is_dir():
        raise ValueError(f"out: the folder {path.parent} does not exist")


def _create_store(out, shape: tuple[int, int], size: int, dtype) -> str:
    import zarr

    # One Zarr chunk per block: each worker writes whole chunks, so no two writes overlap.
    path = os.fspath(out)
    zarr.open_array(path, mode="w", shape=shape, chunks=(max(shape[0], 1), size), dtype=dtype)
    return path


# ----------------------------------------------------------------------------------------------
# running the blocks
# ----------------------------------------------------------------------------------------------
def _run(cl, A, B, Bd, kind: str, bounds, path, method, options, report, k):
    """Submit the blocks, at most a few per worker thread at a time (memory stays bounded and a
    block in memory travels inside its task, a block of a Zarr store is read by its task, so
    Dask can rerun it after losing a worker), and yield ``(index, (start, stop), outcome)`` as
    blocks finish, in any order."""
    from distributed import as_completed

    t0 = time.perf_counter()  # the rate counts solving, not starting a cluster
    run_id = uuid.uuid4().hex
    # A once, as a task of its own that returns it, under a key of its own per call (a key
    # shared by two calls with the same A could be released by the earlier one while the
    # later one's blocks need it). Not scattered: scattered data has no recipe, and once the
    # scheduler has dropped its extra replicas (the Active Memory Manager does), losing the
    # worker that holds the last one forgets A and cancels every block that needs it. As a
    # task, A is kept by the scheduler and rebuilt on another worker.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Sending large graph", UserWarning)
        A_ref = cl.submit(_given, A, key=f"reparam-nnls-{run_id}-A", pure=False)
    threads = sum(cl.nthreads().values()) or 1
    window = 2 * threads
    blocks = None if kind != "dask" else Bd.rechunk({0: -1, 1: tuple(e - s for s, e in bounds)}
                                                    ).to_delayed().ravel()
    # A Zarr array goes to the cluster once, as A does (its handle: the store's address, not
    # its data, for a store on disk); each block's task reads its own columns from it.
    store = None if kind != "zarr" else cl.submit(_given, Bd, key=f"reparam-nnls-{run_id}-B",
                                                   pure=False)
    m = A.shape[0]
    shared = _shared_folder(cl) if kind == "memory" else None
    files: dict[int, str] = {}

    def submit(i):  # a block of B in memory, or a range of columns of a Zarr array
        s, e = bounds[i]
        data = file = None
        if shared is not None:
            file = _share(shared, i, B[:, s:e])
            if file is not None:
                files[i] = file
        if store is None and file is None:
            data = np.array(B[:, s:e])  # a copy: the task owns it
        with warnings.catch_warnings():
            # Dask advises scattering large data; a scattered block would be lost with its
            # worker, a block inside its task is sent again to another worker.
            warnings.filterwarnings("ignore", "Sending large graph", UserWarning)
            return cl.submit(_solve_block, A_ref, data, m, s, e, method, options, path,
                             source=store if file is None else file,
                             key=f"reparam-nnls-{run_id}-{i}")

    futures = {}
    queue = as_completed(loop=cl.loop)
    if kind != "dask":
        pending = iter(range(len(bounds)))
        for i in pending:
            f = submit(i)
            futures[f] = i
            queue.add(f)
            if len(futures) >= window:
                break
    else:
        # A Dask input's blocks share keys of its graph (the source array, the rechunk):
        # submitted as one graph, the scheduler counts their references; graphs submitted
        # one by one and released as they finish could lose a shared key that another block
        # still needs ("lost dependencies"). The scheduler bounds the memory of such input.
        import dask

        pending = iter(())
        graphs = [dask.delayed(_solve_block)(A_ref, blocks[i], m, *bounds[i], method, options,
                                             path) for i in range(len(bounds))]
        for i, f in enumerate(cl.compute(graphs)):
            futures[f] = i
            queue.add(f)
    done = 0
    try:
        for f in queue:
            i = futures.pop(f)
            s, e = bounds[i]
            try:
                part = f.result()
            except Exception as exc:
                raise BlockError(f"block {i} (columns {s}:{e}) of B: {exc}") from exc
            f.release()
            if i in files:  # solved: no task reads it again
                with contextlib.suppress(OSError):
                    os.remove(files.pop(i))
            nxt = next(pending, None)
            if nxt is not None:
                g = submit(nxt)
                futures[g] = nxt
                queue.add(g)
            done += e - s
            if report is not None:
                report(done, k, time.perf_counter() - t0)
            yield i, (s, e), part
    finally:
        for f in futures:
            f.cancel()
        if shared is not None:
            shutil.rmtree(shared, ignore_errors=True)
        if isinstance(report, ProgressBar):
            report.close()


def _shared_folder(cl) -> str | None:
    """A new folder in shared memory (``/dev/shm``) for the blocks of an in-memory ``B``, when
    the workers are processes of this machine (a ``LocalCluster``); None otherwise.

    Sent inside its task, a block is serialized and sent over a socket by this process and
    received by a worker: on a machine whose cores the workers share, that costs about as much
    CPU as solving it (200 x 20, measured). Written to a file in memory, it costs this process
    one copy and the worker none (it maps the file). Only for the few blocks in flight at a
    time; each file is removed when its block is solved, the folder when the call ends.
    """
    from distributed import LocalCluster

    if not isinstance(getattr(cl, "cluster", None), LocalCluster) \
            or not os.path.isdir("/dev/shm") or not os.access("/dev/shm", os.W_OK):
        return None
    if os.getpid() in cl.run(os.getpid).values():  # threads of this process: nothing to send
        return None
    return tempfile.mkdtemp(prefix="reparam-nnls-", dir="/dev/shm")


def _share(folder: str, i: int, block) -> str | None:
    """Write ``block`` to a ``.npy`` file in ``folder``; its path, or None when the shared
    memory is full (the block then travels inside its task)."""
    file = os.path.join(folder, f"block-{i}.npy")
    try:
        # write() fails cleanly on a full tmpfs (a mapping written there would crash the
        # process instead). The rows of a column block of a C-ordered B are contiguous:
        # written one by one, no copy of the block is made here (a third less CPU, measured).
        with open(file, "wb") as fh:
            if block.ndim == 2 and block.strides[1] == block.itemsize and block.shape[1] > 1:
                np.lib.format.write_array_header_1_0(fh, {
                    "descr": np.lib.format.dtype_to_descr(block.dtype),
                    "fortran_order": False, "shape": block.shape})
                fh.writelines(block)  # row by row, each a buffer of the block's memory
            else:
                np.save(fh, np.array(block))  # the layout a copy of the view would have
    except OSError:
        with contextlib.suppress(OSError):
            os.remove(file)
        return None
    return file


def _given(value):
    """The task that holds ``A`` on the cluster: it returns its argument."""
    return value


def _solve_block(A, block, m: int, start: int, stop: int, method: str, options: dict,
                 path: str | None, source=None) -> dict:
    """Check and solve one block on a worker (read from the Zarr array ``source`` when given);
    write its ``x`` to the store at ``path``."""
    import reparam

    if isinstance(source, str):  # a file in shared memory, mapped: read without a copy
        block = np.load(source, mmap_mode="r")
    elif source is not None:
        block = source[:, start:stop]
    block = np.asarray(block)
    if block.shape != (m, stop - start):
        raise ValueError(f"the block has shape {block.shape}; expected ({m}, {stop - start})"
                         " (a corrupted or mis-declared block)")
    if block.dtype.kind not in "biuf":
        raise TypeError(f"the block has dtype {block.dtype}; expected real numbers")
    finite = np.isfinite(block)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        raise ValueError(f"the block holds {block[row, col]} at row {row}, column "
                         f"{start + col} of B; every entry must be finite")
    res = reparam.nnls(A, block, method=method, **options)
    x = np.asarray(res.x).reshape(A.shape[1], stop - start)
    if path is not None:
        import zarr

        zarr.open_array(path, mode="r+")[:, start:stop] = x
    status = np.atleast_1d(np.asarray(res.status, dtype=object))
    codes = np.full(status.size, -1, dtype=np.int8)
    for i, code in enumerate(_STATUSES):  # a pass per status, not per column
        codes[status == code] = i
    if codes.min(initial=0) < 0:
        raise TypeError(f"a status outside {[s.value for s in _STATUSES]}")
    flag = "" if res.success else "!"  # the driver reports the first block that failed
    return {"x": None if path is not None else x, "status": codes, "n_iter": res.n_iter,
            "objective": res.objective, "kkt": res.kkt, "comp": res.complementarity,
            "message": flag + res.message}


# ----------------------------------------------------------------------------------------------
# progress
# ----------------------------------------------------------------------------------------------
class ProgressBar:
    """Columns done, columns per second and time left, on one line of ``stream``.

    Redrawn in place (carriage return) on a terminal, at most every ``every`` seconds; one
    line per update otherwise (a log file gets at most one line a second).

    Examples
    --------
    >>> import io
    >>> bar = ProgressBar(1000, stream=io.StringIO(), width=10)
    >>> bar.line(250, 1000, 2.0)
    '[##........]  250/1000 columns (25%)  125 columns/s  ETA 6 s'
    """

    def __init__(self, total: int, stream=None, every: float = 0.5, width: int = 24):
        self.total, self.stream, self.every, self.width = total, stream or sys.stderr, every, width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last = -math.inf
        self.drawn = False

    def line(self, done: int, total: int, seconds: float) -> str:
        filled = int(self.width * done / total) if total else self.width
        rate = done / seconds if seconds > 0 else 0.0
        eta = f"{(total - done) / rate:.0f} s" if rate > 0 else "?"
        return (f"[{'#' * filled}{'.' * (self.width - filled)}]  {done}/{total} columns "
                f"({100 * done / max(total, 1):.0f}%)  {rate:.0f} columns/s  ETA {eta}")

    def __call__(self, done: int, total: int, seconds: float) -> None:
        now = time.perf_counter()
        if done < total and now - self.last < self.every:
            return
        self.last = now
        end = "\r" if self.tty else "\n"
        print(self.line(done, total, seconds), end=end, file=self.stream, flush=True)
        self.drawn = True

    def close(self) -> None:
        if self.tty and self.drawn:
            print(file=self.stream, flush=True)
