"""A small block takes its per-column decisions a window of iterations at a time.

Without a callback the driver certifies and checks a small block every 1, 2, 4, ..., 16
iterations (windows end after iterations 1, 3, 7, 15, 31, 47, ...); with a callback it checks
every iteration. Both must give the same answers, statuses and iteration counts: a column that
stops inside a window is reported where it stopped, not at the window's end. The columns after
a stop may differ from the every-iteration run only by the rounding of matrix products over
more or fewer columns (the block shrinks at the window's end instead of at once): 1e-12.
"""

from __future__ import annotations

import numpy as np
import pytest

import reparam as rp
from reparam import problems

# the last iteration of each window: 1, 3, 7, 15, 31, then every 16
BOUNDARIES = {1, 3, 7, 15} | set(range(31, 100_000, 16))


def _both(A, B, **opts):
    """The block run windowed (no callback) and checked every iteration (a callback)."""
    windowed = rp.nnls(A, B, **opts)
    stepwise = rp.nnls(A, B, callback=lambda state: False, **opts)
    return windowed, stepwise


def _same(windowed, stepwise):
    assert list(windowed.status) == list(stepwise.status)
    np.testing.assert_array_equal(windowed.n_iter, stepwise.n_iter)
    np.testing.assert_allclose(windowed.x, stepwise.x, rtol=1e-12, atol=1e-300)
    # the certificate is a difference of O(1) quantities (relative to ||b||): x agreeing to
    # 1e-12 makes it agree to about 1e-12 in absolute terms, whatever its size
    np.testing.assert_allclose(windowed.kkt, stepwise.kkt, rtol=0.0, atol=1e-11)


def _separated(k, seed):
    """Strictly complementary NNLS solutions of different difficulty, so that the columns
    converge at different iterations (``x*`` on a random support, gradient off it >= 0.05)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((30, 20)) / np.sqrt(30)
    support = rng.random((20, k)) < 0.4
    X = np.where(support, rng.uniform(0.5, 1.5, (20, k)), 0.0)
    G = np.where(support, 0.0, rng.uniform(0.05, 0.5, (20, k)) * np.arange(1, k + 1))
    return A, A @ (X - np.linalg.solve(A.T @ A, G))


@pytest.mark.parametrize("method", ["reparam-gd", "riemannian-gd", "reparam-nesterov",
                                    "riemannian-bb", "accelerated"])
def test_columns_stop_inside_windows_as_when_checked_every_iteration(method):
    A, B = _separated(6, seed=11)
    windowed, stepwise = _both(A, B, method=method, tol=1e-9, max_iter=5000)
    _same(windowed, stepwise)
    assert np.all(windowed.status == rp.Status.CONVERGED)
    assert len(set(windowed.n_iter.tolist())) > 1
    # the test is void unless some column stops strictly inside a window
    assert set(windowed.n_iter.tolist()) - BOUNDARIES


def test_the_answer_is_the_first_iterate_that_meets_tol():
    A, B = _separated(4, seed=12)
    res = rp.nnls(A, B, method="reparam-gd", tol=1e-8, max_iter=5000)
    for j in range(B.shape[1]):
        n = int(res.n_iter[j])
        before = rp.nnls(A, B[:, j], method="reparam-gd", tol=0.0, max_iter=n - 1)
        at = rp.nnls(A, B[:, j], method="reparam-gd", tol=0.0, max_iter=n)
        assert before.kkt > 1e-8 >= at.kkt  # n is the first iteration that meets tol
        np.testing.assert_allclose(res.x[:, j], at.x, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("max_iter", [1, 2, 5, 16, 40])
def test_max_iter_inside_a_window(max_iter):
    # the windows are cut at max_iter: every column stops there, with its best iterate
    A, b, _ = problems.gaussian(10, 50, sparsity=5, seed=3)
    scales = np.geomspace(1e-2, 1.0, 5)
    windowed, stepwise = _both(A, b, method="reparam-gd", init_scale=scales, tol=0.0,
                               max_iter=max_iter)
    _same(windowed, stepwise)
    assert np.all(windowed.n_iter == max_iter)
    assert np.all(windowed.status == rp.Status.MAX_ITER)


def test_non_finite_columns_leave_at_the_iteration_they_overflow():
    # a fixed step too long for the larger right-hand sides: their iterates overflow at
    # iterations 21 and 6 (inside windows) and they keep their best finite iterate
    A, b, _ = problems.gaussian(20, 30, sparsity=4, seed=1)
    B = np.column_stack([b, 3 * b, 10 * b])
    windowed, stepwise = _both(A, B, method="reparam-gd", step=0.5, init_scale=0.5, tol=0.0,
                               max_iter=200)
    _same(windowed, stepwise)
    assert list(windowed.status) == [rp.Status.MAX_ITER] + [rp.Status.NUMERICAL_ERROR] * 2
    assert set(windowed.n_iter[1:].tolist()).isdisjoint(BOUNDARIES)
    assert np.all(np.isfinite(windowed.x))
    assert "non-finite iterate at iteration 21" in windowed.message


def test_best_iterate_of_a_non_monotone_method():
    # Barzilai-Borwein steps (non-monotone line search) raise the objective now and then: at
    # max_iter the answer is the iterate with the lowest objective, which the window must find
    # among its iterates as the loop checking every iteration would. Columns 0-2 rise at
    # iterations 8-9 (column 0) and 15 (columns 1, 2), inside windows.
    A, b, _ = problems.gaussian(20, 30, sparsity=4, seed=1)
    B = np.column_stack([b, 2 * b, 0.5 * b, b + A[:, 0]])
    opts = {"method": "riemannian-bb", "tol": 0.0, "init_scale": 0.3}
    for max_iter in (9, 15, 41):
        last = []
        windowed = rp.nnls(A, B, max_iter=max_iter, **opts)
        stepwise = rp.nnls(A, B, max_iter=max_iter, **opts,
                           callback=lambda state, last=last: last.append(state.x.copy()))
        _same(windowed, stepwise)
        # each column's answer is its iterate of lowest objective (x0 = 0.3² included)
        path = np.array([np.full((30, 4), 0.09)] + last)
        f = 0.5 * np.sum((np.einsum("mn,inj->imj", A, path) - B) ** 2, axis=1)
        lowest = path[np.argmin(f, axis=0), :, np.arange(B.shape[1])].T
        np.testing.assert_allclose(windowed.x, lowest, rtol=1e-12, atol=1e-300)
        # the best iterate is not the last one, so the selection is exercised
        assert np.any(np.argmin(f, axis=0) < max_iter)


def test_sweep_with_and_without_recording_agree():
    # recording needs every iteration: the recorded run is checked every iteration
    A, b, _ = problems.gaussian(10, 50, sparsity=5, seed=3)
    scales = np.array([1.0, 0.3, 0.1])
    opts = {"method": "riemannian-gd", "init_scale": scales, "tol": 1e-6, "max_iter": 3000}
    plain = rp.nnls(A, b, **opts)
    recorded = rp.nnls(A, b, record=True, **opts)
    _same(plain, recorded)
