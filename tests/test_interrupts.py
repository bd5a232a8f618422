"""Ctrl-C and callbacks: a long solve stops cleanly with its best iterate so far."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import gaussian_problem

import reparam as rp
import reparam.solvers.active_set as active_set_module


@pytest.mark.parametrize("method", ["reparam-gd", "accelerated", "fista", "riemannian-bb"])
def test_keyboard_interrupt_returns_best_iterate(method):
    A, b, _ = gaussian_problem(40, 80, seed=0)

    def callback(state):
        if state.k == 25:
            raise KeyboardInterrupt

    res = rp.nnls(A, b, method=method, tol=0, max_iter=10_000, callback=callback)
    assert res.status is rp.Status.INTERRUPTED
    assert "interrupted" in res.message
    assert res.n_iter == 25
    assert np.all(np.isfinite(res.x)) and np.all(res.x >= 0)
    start = rp.nnls(A, b, method=method, tol=0, max_iter=1)
    assert res.objective <= start.objective  # progress is kept, not thrown away


def test_interrupt_inside_exact_kernel(monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(active_set_module, "active_set_nnls", interrupted)
    A, b, _ = gaussian_problem(100, 80, seed=1)  # n > 64: not the small-problem path
    res = rp.nnls(A, b, method="active-set")
    assert res.status is rp.Status.INTERRUPTED
    np.testing.assert_array_equal(res.x, 0.0)


SCRIPT = textwrap.dedent(
    """
    import sys, numpy as np, reparam as rp
    rng = np.random.default_rng(0)
    A = rng.standard_normal((300, 600)) / np.sqrt(300)
    b = A @ np.abs(rng.standard_normal(600))
    def callback(state):
        if state.k == 1:
            print("started", flush=True)
    res = rp.nnls(A, b, method="reparam-gd", tol=0, max_iter=10**9, callback=callback)
    print(res.status.name, res.n_iter, bool(np.all(np.isfinite(res.x))), flush=True)
    """
)


@pytest.mark.skipif(os.name != "posix", reason="SIGINT delivery needs a POSIX system")
def test_real_sigint_during_a_solve():
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "started"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    status, n_iter, finite = out.split()
    assert status == "INTERRUPTED" and int(n_iter) >= 1 and finite == "True"


def test_interrupt_ends_a_batched_iterative_solve():
    A, b, _ = gaussian_problem(40, 80, seed=0)
    B = np.column_stack([b, 2 * b, 3 * b])
    calls = []

    def callback(state):
        calls.append(state.k)
        if len(calls) == 10:
            raise KeyboardInterrupt

    res = rp.nnls(A, B, method="fista", tol=0, max_iter=10_000, callback=callback)
    assert len(calls) == 10  # no further column was started
    assert list(res.status) == [rp.Status.INTERRUPTED] * 3
    np.testing.assert_array_equal(res.x[:, 1:], 0.0)
