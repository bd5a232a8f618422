"""Ctrl-C and callbacks: a solve stops cleanly with its best iterate; Ctrl-C then raises."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.optimize
from conftest import gaussian_problem

import reparam as rp
import reparam.solvers.active_set as active_set_module


@pytest.mark.parametrize("method", ["reparam-gd", "accelerated", "fista", "riemannian-bb"])
def test_keyboard_interrupt_raises_with_the_best_iterate(method):
    A, b, _ = gaussian_problem(40, 80, seed=0)

    def callback(state):
        if state.k == 25:
            raise KeyboardInterrupt

    with pytest.raises(rp.Interrupted) as caught:
        rp.nnls(A, b, method=method, tol=0, max_iter=10_000, callback=callback)
    assert isinstance(caught.value, KeyboardInterrupt)  # a script stops as on any Ctrl-C
    res = caught.value.result
    assert res.status is rp.Status.INTERRUPTED
    assert "interrupted" in res.message
    assert res.n_iter == 25
    assert np.all(np.isfinite(res.x)) and np.all(res.x >= 0)
    # the partial result is certified like any other
    assert res.kkt == pytest.approx(rp.kkt_residual(A, b, res.x), rel=1e-12)
    start = rp.nnls(A, b, method=method, tol=0, max_iter=1)
    assert res.objective <= start.objective  # progress is kept, not thrown away


def test_callback_that_asks_to_stop_returns_without_raising():
    A, b, _ = gaussian_problem(40, 80, seed=0)
    res = rp.nnls(A, b, method="reparam-gd", tol=0, max_iter=10_000,
                  callback=lambda state: state.k == 7)
    assert res.status is rp.Status.INTERRUPTED
    assert res.n_iter == 7 and "callback" in res.message


@pytest.mark.parametrize("method", ["active-set", "scipy"])
def test_interrupt_inside_exact_kernel(monkeypatch, method):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(active_set_module, "active_set_nnls", interrupted)
    monkeypatch.setattr(scipy.optimize, "nnls", interrupted)
    # the small-problem path calls scipy's compiled routine without its wrapper, or pivots
    # on the Gram pair (in one compiled call where the extension was built)
    monkeypatch.setattr(rp._nnls, "_raw_lawson_hanson", interrupted)
    monkeypatch.setattr(rp._nnls, "solve_small_compiled", interrupted)
    monkeypatch.setattr(rp._nnls, "bpp_small", interrupted)
    for shape in [(20, 10), (100, 80)]:  # the small-problem path and the general one
        A, b, _ = gaussian_problem(*shape, seed=1)
        with pytest.raises(rp.Interrupted) as caught:
            rp.nnls(A, b, method=method)
        assert caught.value.result.status is rp.Status.INTERRUPTED
        np.testing.assert_array_equal(caught.value.result.x, 0.0)


SCRIPT = textwrap.dedent(
    """
    import sys, numpy as np, reparam as rp
    rng = np.random.default_rng(0)
    A = rng.standard_normal((300, 600)) / np.sqrt(300)
    b = A @ np.abs(rng.standard_normal(600))
    B = np.column_stack([b, 2 * b, 3 * b]) if sys.argv[1] == "batched" else b
    def callback(state):
        if state.k == 1:
            print("started", flush=True)
    try:
        rp.nnls(A, B, method="reparam-gd", tol=0, max_iter=10**9, callback=callback)
    except rp.Interrupted as exc:
        res = exc.result
        print(np.atleast_1d(res.status)[0].name, bool(np.all(np.isfinite(res.x))), flush=True)
        if sys.argv[2] == "reraise":
            raise
    print("the script went on", flush=True)
    """
)


def _sigint_after_start(*args: str) -> tuple[subprocess.Popen, str, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "started"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return proc, out, err


@pytest.mark.skipif(os.name != "posix", reason="SIGINT delivery needs a POSIX system")
@pytest.mark.parametrize("shape", ["single", "batched"])
def test_real_sigint_stops_the_script(shape):
    proc, out, err = _sigint_after_start(shape, "reraise")
    # The script stops with a traceback that names the exception. (CPython ends as killed by
    # SIGINT only for KeyboardInterrupt itself; for a subclass the exit status is 1.)
    assert proc.returncode == 1, err
    assert out.split() == ["INTERRUPTED", "True"]  # the partial result was there to read
    assert "the script went on" not in out
    assert "reparam.Interrupted: interrupted (Ctrl-C)" in err


@pytest.mark.skipif(os.name != "posix", reason="SIGINT delivery needs a POSIX system")
def test_real_sigint_can_be_caught_for_the_partial_result():
    proc, out, err = _sigint_after_start("single", "catch")
    assert proc.returncode == 0, err
    assert out.splitlines() == ["INTERRUPTED True", "the script went on"]


def test_interrupt_ends_a_batched_iterative_solve():
    A, b, _ = gaussian_problem(40, 80, seed=0)
    B = np.column_stack([b, 2 * b, 3 * b])
    calls = []

    def callback(state):
        calls.append(state.k)
        if len(calls) == 10:
            raise KeyboardInterrupt

    with pytest.raises(rp.Interrupted) as caught:
        rp.nnls(A, B, method="fista", tol=0, max_iter=10_000, callback=callback)
    res = caught.value.result
    assert len(calls) == 10  # the solve stopped at the interrupt
    assert list(res.status) == [rp.Status.INTERRUPTED] * 3
    # the columns run as one block: each holds its best iterate when the interrupt came
    assert np.all(res.x >= 0) and np.all(np.any(res.x > 0, axis=0))
    np.testing.assert_array_equal(res.n_iter, [10, 10, 10])


def test_ctrl_c_in_a_constrained_solve_raises_too():
    from reparam.constrained import reparametrized_gd
    from reparam.parametrizations import Power

    A, b, _ = gaussian_problem(20, 40, seed=2)

    def callback(state):
        if state.k == 5:
            raise KeyboardInterrupt

    def kkt(x, g):
        return float(np.abs(np.minimum(x, g)).max())

    with pytest.raises(rp.Interrupted) as caught:
        reparametrized_gd(A, b, Power(2), np.full(40, 0.1), kkt, tol=0, max_iter=1000,
                          callback=callback)
    assert caught.value.result.status is rp.Status.INTERRUPTED
    assert caught.value.result.n_iter == 5
