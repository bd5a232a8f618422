"""reparam.distributed: column blocks of B solved on a Dask cluster of worker processes.

One two-process LocalCluster serves the module (starting one costs seconds); the test that
kills a worker runs last and waits for the nanny to bring it back.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import signal
import subprocess
import sys

import dask
import dask.array as da
import numpy as np
import pytest
import zarr
from distributed import Client, LocalCluster

import reparam as rp
from reparam import cli, distributed


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as cl:
        yield cl


def problem(m=40, n=8, k=300, seed=0):
    """A Gaussian A and k right-hand sides b = A x* + noise with x* >= 0 sparse: a mix of
    active and inactive constraints in every column."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    X = np.where(rng.random((n, k)) < 0.5, rng.random((n, k)), 0.0)
    return A, A @ X + 0.1 * rng.standard_normal((m, k))


def by_blocks(A, B, size):
    """What the in-process solver gives for the same blocks of columns."""
    return np.hstack([rp.nnls(A, B[:, s:s + size]).x for s in range(0, B.shape[1], size)])


# ----------------------------------------------------------------------------------------------
# answers
# ----------------------------------------------------------------------------------------------
def test_equals_the_in_process_solver_block_by_block(client):
    A, B = problem()
    res = distributed.nnls(A, B, client, chunks=50)
    x = res.x
    # Every task is a pure function of its block: no rounding differs from the same call here.
    assert np.array_equal(x, by_blocks(A, B, 50))
    # and against one call on all columns, the batched solver's grouping of columns changes
    # roundings only: the exact solutions agree to a few ulps of their size (about 1)
    assert np.max(np.abs(x - rp.nnls(A, B).x)) < 1e-12
    assert res.success and res.status_counts() == {"CONVERGED": 300}
    assert res.kkt.shape == (300,) and np.max(res.kkt) < 1e-12
    assert np.allclose(res.kkt, rp.kkt_residual(A, B, x), rtol=0, atol=1e-15)
    assert res.info["blocks"] == 6 and res.info["workers"] == 2


def test_dask_zarr_inputs_and_zarr_output(client, tmp_path):
    A, B = problem(k=210, seed=1)
    expected = by_blocks(A, B, 70)
    path = tmp_path / "B.zarr"
    zarr.open_array(str(path), mode="w", shape=B.shape, chunks=(B.shape[0], 70),
                    dtype=B.dtype)[...] = B
    for source in (da.from_array(B, chunks=(20, 70)), str(path), zarr.open_array(str(path))):
        res = distributed.nnls(A, source, client)  # chunks: the input's own (70 columns)
        assert res.info["chunks"] == 70
        assert np.array_equal(res.x, expected)
    out = tmp_path / "x.zarr"
    res = distributed.nnls(A, str(path), client, out=out)
    assert np.array_equal(np.asarray(zarr.open_array(str(out))), expected)
    assert isinstance(res.x, da.Array)  # reads the store
    assert np.array_equal(res.x.compute(), expected)
    with pytest.raises(ValueError, match="exists"):
        distributed.nnls(A, B, client, out=out)
    distributed.nnls(A, 2 * B, client, out=out, overwrite=True, chunks=70)
    assert np.array_equal(np.asarray(zarr.open_array(str(out))), by_blocks(A, 2 * B, 70))


def write_store(path, B, columns):
    """B in a Zarr store chunked as (m, columns): whole columns per chunk."""
    zarr.open_array(str(path), mode="w", shape=B.shape, chunks=(B.shape[0], columns),
                    dtype=B.dtype)[...] = B
    return str(path)


def test_zarr_in_zarr_out_equals_the_in_process_solver(client, tmp_path):
    A, B = problem(k=600, seed=12)
    source = write_store(tmp_path / "B.zarr", B, 25)
    res = distributed.nnls(A, source, client, out=tmp_path / "x.zarr")
    # default blocks: whole stored chunks, as many as fit the default size (75 columns here:
    # at least four blocks per worker), so that no chunk is read by two blocks
    assert distributed.block_columns(40, 600, 2) == 75
    assert res.info["chunks"] == 75 and res.info["blocks"] == 8
    stored = zarr.open_array(str(tmp_path / "x.zarr"))
    assert stored.shape == (8, 600) and stored.chunks == (8, 75)
    # the workers read and wrote the blocks; the numbers are those of the same blocks solved
    # here, bit for bit (every task is a pure function of its block)
    assert np.array_equal(np.asarray(stored), by_blocks(A, B, 75))
    assert np.max(np.abs(np.asarray(stored) - rp.nnls(A, B).x)) < 1e-12
    assert res.status_counts() == {"CONVERGED": 600}


def test_zarr_inputs_are_read_on_the_workers_only(client, tmp_path, monkeypatch):
    A, B = problem(k=200, seed=13)
    source = write_store(tmp_path / "B.zarr", B, 50)
    lazy = da.from_zarr(source)

    def read_here(self, selection):
        raise AssertionError("B was read in the client process")

    # this process cannot read the store any more; the worker processes are not patched
    monkeypatch.setattr(zarr.Array, "__getitem__", read_here)
    with pytest.raises(AssertionError, match="read in the client"):
        zarr.open_array(source)[:, :1]
    expected = by_blocks(A, B, 50)
    for given in (source, zarr.open_array(source), lazy):
        res = distributed.nnls(A, given, client, out=tmp_path / "x.zarr", overwrite=True)
        assert res.info["chunks"] == 50
        monkeypatch.undo()
        assert np.array_equal(np.asarray(zarr.open_array(str(tmp_path / "x.zarr"))), expected)
        monkeypatch.setattr(zarr.Array, "__getitem__", read_here)


def test_a_corrupted_chunk_of_a_zarr_store_is_named(client, tmp_path):
    A, B = problem(k=200, seed=14)
    source = write_store(tmp_path / "B.zarr", B, 50)
    chunk = next(p for p in (tmp_path / "B.zarr" / "c" / "0" / "2", tmp_path / "B.zarr" / "0.2")
                 if p.exists())  # the stored chunk of columns 100:150 (Zarr 3, Zarr 2 keys)
    chunk.write_bytes(b"not a chunk" * 10)
    with pytest.raises(distributed.BlockError, match=r"block 2 \(columns 100:150\) of B: "):
        distributed.nnls(A, source, client)
    # a readable chunk holding NaN: the block, the row and the column are named
    zarr.open_array(source, mode="r+")[:, 100:150] = B[:, 100:150]
    zarr.open_array(source, mode="r+")[7, 123] = np.nan
    with pytest.raises(distributed.BlockError,
                       match=r"block 2 \(columns 100:150\) of B: .*nan at row 7, column 123"):
        distributed.nnls(A, source, client)


def test_blocks_in_memory_pass_through_shared_memory_and_are_removed(client, monkeypatch):
    """On a LocalCluster, the blocks of an in-memory B go to the workers as files in
    /dev/shm (no socket, no serialization), each removed once solved; when shared memory is
    full they travel inside their tasks: the same answer either way."""
    if not os.access("/dev/shm", os.W_OK):
        pytest.skip("no writable /dev/shm on this machine")
    A, B = problem(k=300, seed=16)
    expected = by_blocks(A, B, 50)
    seen = []

    def look(done, total, seconds):  # blocks still in flight are in shared memory
        seen.extend(glob.glob("/dev/shm/reparam-nnls-*/block-*.npy"))

    for given in (B, np.asfortranarray(B), np.repeat(B, 2, axis=1)[:, ::2]):  # C, F, strided
        seen.clear()
        assert np.array_equal(distributed.nnls(A, given, client, chunks=50, progress=look).x,
                              expected)
        assert seen and not any(os.path.exists(os.path.dirname(f)) for f in seen)

    def full(file, mode="r", *args, **kwargs):  # a tmpfs that is full
        raise OSError(28, "No space left on device", file)

    monkeypatch.setattr(distributed, "open", full, raising=False)
    seen.clear()
    assert np.array_equal(distributed.nnls(A, B, client, chunks=50, progress=look).x, expected)
    assert not seen  # every block travelled inside its task
    monkeypatch.undo()
    # a client of a scheduler address is not a LocalCluster: blocks travel inside their tasks
    seen.clear()
    res = distributed.nnls(A, B, client.scheduler.address, chunks=50, progress=look)
    assert np.array_equal(res.x, expected) and not seen


def test_float32_stays_float32_and_statuses_per_column(client):
    A, B = problem(k=60, seed=2)
    A32, B32 = A.astype(np.float32), B.astype(np.float32)
    res = distributed.nnls(A32, B32, client, chunks=25)
    assert res.x.dtype == np.float32
    assert np.array_equal(res.x, by_blocks(A32, B32, 25))
    # max_iter=1 cannot finish every column: statuses come back per column, no exception
    res = distributed.nnls(A, B, client, chunks=25, max_iter=1)
    expected = np.concatenate([np.atleast_1d(rp.nnls(A, B[:, s:s + 25], max_iter=1).status)
                               for s in range(0, 60, 25)])
    assert list(res.status) == list(expected)
    assert not res.success and "block" in res.message


def test_scheduler_address(client):
    A, B = problem(k=30, seed=3)
    res = distributed.nnls(A, B, client.scheduler.address, chunks=10)
    assert np.array_equal(res.x, by_blocks(A, B, 10))


def test_connect_shares_a_client_and_reaches_an_address(client):
    with distributed.connect(client) as same:
        assert same is client
    with distributed.connect(client.scheduler.address) as other:
        assert other is not client
        assert other.gather(other.map(abs, [-1, -2])) == [1, 2]  # e.g. a sweep of a function
    assert client.status == "running"  # neither closed the cluster


def test_progress_is_called_after_each_block(client):
    A, B = problem(k=100, seed=4)
    calls = []
    distributed.nnls(A, B, client, chunks=30, progress=lambda *a: calls.append(a))
    done = [d for d, _, _ in calls]  # cumulative: blocks of 30, 30, 30, 10 in any order
    assert len(done) == 4 and done[-1] == 100 and np.all(np.diff(done) > 0)
    assert all(total == 100 for _, total, _ in calls)
    assert all(seconds > 0 for _, _, seconds in calls)


# ----------------------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("B_rows", "error", "match"), [
    ((39, 5), ValueError, "B has 39 rows, but A has 40"),
    ((40,), ValueError, "B must be 2-D"),
])
def test_shapes_are_checked_before_any_work(B_rows, error, match):
    A, _ = problem()
    with pytest.raises(error, match=match):
        distributed.nnls(A, np.ones(B_rows), client=object())


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"chunks": 0}, ValueError, "chunks must be a positive"),
    ({"method": "newton"}, ValueError, "method must be one of"),
    ({"tol": -1.0}, ValueError, "tol"),
    ({"x0": np.zeros(8)}, ValueError, "x0"),
    ({"progress": 3}, TypeError, "progress"),
    ({"out": 3}, TypeError, "out must be the path"),
])
def test_options_are_checked_before_any_work(kwargs, error, match):
    A, B = problem(k=5)
    with pytest.raises(error, match=match):
        distributed.nnls(A, B, client=object(), **kwargs)


def test_bad_arrays_and_clients():
    A, B = problem(k=5)
    with pytest.raises(TypeError, match="B must hold real numbers"):
        distributed.nnls(A, B.astype(complex))
    bad = A.copy()
    bad[3, 2] = np.inf
    with pytest.raises(ValueError, match="A holds NaN or infinity"):
        distributed.nnls(bad, B)
    with pytest.raises(ValueError, match="no Zarr store"):
        distributed.nnls(A, "/nonexistent/B.zarr")
    with pytest.raises(TypeError, match="client must be None"):
        distributed.nnls(A, B, client=3)
    with pytest.raises(ValueError, match="workers sets the size of a local cluster"):
        distributed.nnls(A, B, client="tcp://127.0.0.1:1", workers=2)
    assert not np.isinf(A).any()  # inputs are never changed


def test_a_corrupted_block_is_named(client):
    A, B = problem(k=300, seed=5)
    B_bad = B.copy()
    B_bad[7, 123] = np.nan
    with pytest.raises(distributed.BlockError,
                       match=r"block 2 \(columns 100:150\) of B: .*nan at row 7, column 123"):
        distributed.nnls(A, B_bad, client, chunks=50)
    assert np.isnan(B_bad[7, 123]) and np.isfinite(B).all()


def test_a_block_of_the_wrong_shape_is_named(client):
    A, B = problem(k=100, seed=6)
    # a Dask array whose second block is one column short of what it declares
    parts = [da.from_delayed(dask.delayed(np.array)(B[:, s:s + 25] if s != 25 else B[:, s:49]),
                             shape=(40, 25), dtype=B.dtype) for s in range(0, 100, 25)]
    with pytest.raises(distributed.BlockError,
                       match=r"block 1 \(columns 25:50\) of B: .*shape \(40, 24\); expected"):
        distributed.nnls(A, da.concatenate(parts, axis=1), client)


# ----------------------------------------------------------------------------------------------
# reparam solve --scheduler / --workers
# ----------------------------------------------------------------------------------------------
def test_cli_on_a_running_cluster_with_a_progress_bar(client, tmp_path, capsys):
    A, B = problem(k=120, seed=8)
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "B.npy", B)
    code = cli.main(["solve", str(tmp_path / "A.npy"), str(tmp_path / "B.npy"), "--scheduler",
                     client.scheduler.address, "--chunks", "40", "--progress", "--out",
                     str(tmp_path / "x.npy"), "--report", str(tmp_path / "r.json")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "120 CONVERGED" in out
    assert np.array_equal(np.load(tmp_path / "x.npy"), by_blocks(A, B, 40))
    assert "120/120 columns (100%)" in err and "columns/s" in err and "ETA" in err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["right_hand_sides"] == 120 and report["status_counts"] == {"CONVERGED": 120}
    assert report["method"] == "active-set" and "3 blocks" in report["message"]


def test_cli_names_a_corrupted_block(client, tmp_path, capsys):
    A, B = problem(k=120, seed=9)
    B[0, 95] = np.inf
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "B.npy", B)
    code = cli.main(["solve", str(tmp_path / "A.npy"), str(tmp_path / "B.npy"), "--scheduler",
                     client.scheduler.address, "--chunks", "40"])
    _, err = capsys.readouterr()
    assert code == 2
    assert "block 2 (columns 80:120) of B" in err and "column 95" in err


def test_cli_refuses_zarr_without_a_cluster_and_replaces_no_folder(tmp_path, capsys):
    A, B = problem(k=4)
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "B.npy", B)
    args = ["solve", str(tmp_path / "A.npy"), str(tmp_path / "B.npy")]
    assert cli.main([*args, "--out", str(tmp_path / "x.zarr")]) == 2
    assert "need --workers or --scheduler" in capsys.readouterr().err
    (tmp_path / "old.zarr").mkdir()  # a folder that is not a store is never replaced
    (tmp_path / "old.zarr" / "keep.txt").write_text("mine")
    assert cli.main([*args, "--workers", "1", "--out", str(tmp_path / "old.zarr")]) == 2
    assert "is not a Zarr array" in capsys.readouterr().err
    assert (tmp_path / "old.zarr" / "keep.txt").read_text() == "mine"


def test_cli_workers_starts_a_local_cluster(tmp_path):
    """As users run it: a separate process that starts and closes its own cluster."""
    A, B = problem(k=90, seed=10)
    np.save(tmp_path / "A.npy", A)
    zarr.open_array(str(tmp_path / "B.zarr"), mode="w", shape=B.shape, chunks=(40, 30),
                    dtype=B.dtype)[...] = B
    proc = subprocess.run(
        [sys.executable, "-m", "reparam", "solve", "A.npy", "B.zarr", "--workers", "1",
         "--out", "x.zarr", "--progress"], cwd=tmp_path, capture_output=True, text=True,
        timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert np.array_equal(np.asarray(zarr.open_array(str(tmp_path / "x.zarr"))), by_blocks(A, B, 30))
    assert "90/90 columns (100%)" in proc.stderr
    assert "90 CONVERGED" in proc.stdout


# ----------------------------------------------------------------------------------------------
# faults (last: it kills a worker of the shared cluster and waits for its replacement)
# ----------------------------------------------------------------------------------------------
def test_killing_a_worker_mid_run_gives_the_same_answer(client):
    A, B = problem(m=60, n=12, k=4000, seed=7)
    expected = by_blocks(A, B, 100)
    pids = client.run(os.getpid)
    victim = min(pids.values())
    killed = []

    def kill_after_the_first_block(done, total, seconds):
        if not killed:  # 39 of 40 blocks are still to come, some running on the victim
            assert done < total
            os.kill(victim, signal.SIGKILL)
            killed.append(done)

    res = distributed.nnls(A, B, client, chunks=100, progress=kill_after_the_first_block)
    assert killed == [100]
    assert np.array_equal(res.x, expected)
    assert res.success
    client.wait_for_workers(2, timeout=120)  # the nanny restarts the killed process
    assert victim not in client.run(os.getpid).values()


def test_killing_a_worker_mid_run_on_a_zarr_store_gives_the_same_answer(client, tmp_path):
    """The tasks read B from the store and write x into another: a block lost with its worker
    is read and written again by another one (a half-written chunk is written whole)."""
    A, B = problem(m=60, n=12, k=4000, seed=15)
    source = write_store(tmp_path / "B.zarr", B, 100)
    pids = client.run(os.getpid)
    victim = max(pids.values())
    killed = []

    def kill_after_the_first_block(done, total, seconds):
        if not killed:
            os.kill(victim, signal.SIGKILL)
            killed.append(done)

    res = distributed.nnls(A, source, client, out=tmp_path / "x.zarr", chunks=100,
                           progress=kill_after_the_first_block)
    assert killed == [100]  # 39 of 40 blocks still to come, some on the victim
    assert np.array_equal(np.asarray(zarr.open_array(str(tmp_path / "x.zarr"))),
                          by_blocks(A, B, 100))
    assert res.success
    client.wait_for_workers(2, timeout=120)


def test_losing_every_worker_that_holds_A_gives_the_same_answer(client):
    """A lives on the cluster as a task, not as scattered data: when every worker holding it
    dies, the scheduler rebuilds it (scattered data would be forgotten, and every block that
    needs it cancelled)."""
    A, B = problem(m=60, n=12, k=3000, seed=11)
    expected = by_blocks(A, B, 100)
    killed = []

    def kill_the_holders_of_A(done, total, seconds):
        if killed:
            return
        holders = {w for key, ws in client.who_has().items()
                   if str(key).startswith("reparam-nnls-") and str(key).endswith("-A")
                   for w in ws}
        assert holders  # the blocks already solved needed A somewhere
        pids = client.run(os.getpid)
        for w in holders:
            os.kill(pids[w], signal.SIGKILL)
        killed.append(len(holders))

    res = distributed.nnls(A, B, client, chunks=100, progress=kill_the_holders_of_A)
    assert killed and killed[0] >= 1
    assert np.array_equal(res.x, expected)
    assert res.success
    client.wait_for_workers(2, timeout=120)
