"""Known-hard NNLS problems, each a regression test for the default (exact) solver.

Several are the kinds of input that made ``scipy.optimize.nnls`` return x = 0, stall or raise
its iteration limit in some releases: tiny-scale data, degenerate ties, long pivoting
sequences. The answer is judged by the KKT certificate and by the objective against an
independent solution, never by trusting one solver.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize

import reparam as rp


def _objective(A, b, x):
    return 0.5 * float(np.sum((A @ x - b) ** 2))


def _reference_objective(A, b):
    """The optimum by a bounded least-squares solver of another family (trust-region)."""
    ref = scipy.optimize.lsq_linear(A, b, bounds=(0, np.inf), method="bvls", tol=1e-14)
    return _objective(A, b, ref.x)


@pytest.mark.parametrize("scale", [1e-10, 1e-100, 1e-150, 1e100, 1e150])
def test_tiny_and_huge_scale_data_is_solved_not_zeroed(scale):
    rng = np.random.default_rng(0)
    A = rng.uniform(0, 1, (30, 10))
    x_true = rng.uniform(0.5, 1.5, 10)
    b = A @ x_true
    res = rp.nnls(A * scale, b * scale)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, x_true, rtol=1e-8)
    res = rp.nnls(A, b * scale)  # only b tiny/huge: x scales with it
    np.testing.assert_allclose(res.x / scale, x_true, rtol=1e-8)


def test_degenerate_problem_with_tied_gradients_terminates_exactly():
    # Columns in symmetric pairs and b symmetric: every gradient comes in exact ties.
    rng = np.random.default_rng(1)
    base = rng.standard_normal((20, 6))
    A = np.hstack([base, base[::-1]])
    b = base.sum(axis=1) + base[::-1].sum(axis=1)
    res = rp.nnls(A, b)
    assert res.success and res.kkt <= 1e-10, res.message
    assert _objective(A, b, res.x) <= 1e-20 * np.sum(b**2)


def test_many_duplicate_columns():
    rng = np.random.default_rng(2)
    col = rng.standard_normal((15, 1))
    A = np.hstack([col] * 8 + [rng.standard_normal((15, 4))])
    b = 3 * col[:, 0] + 0.1 * rng.standard_normal(15)
    res = rp.nnls(A, b)
    assert res.success and res.kkt <= 1e-10, res.message
    assert _objective(A, b, res.x) <= _reference_objective(A, b) * (1 + 1e-9) + 1e-14


def test_highly_collinear_columns():
    rng = np.random.default_rng(3)
    base = rng.standard_normal((50, 1))
    A = base + 1e-8 * rng.standard_normal((50, 20))
    b = A @ rng.uniform(0, 1, 20) + 1e-3 * rng.standard_normal(50)
    res = rp.nnls(A, b)
    assert np.all(np.isfinite(res.x)) and np.all(res.x >= 0)
    assert res.status in (rp.Status.CONVERGED, rp.Status.STALLED)
    assert res.kkt <= 1e-6
    assert _objective(A, b, res.x) <= _reference_objective(A, b) * (1 + 1e-6) + 1e-14


def test_condition_number_1e14_is_not_garbage():
    rng = np.random.default_rng(4)
    U, _ = np.linalg.qr(rng.standard_normal((80, 40)))
    V, _ = np.linalg.qr(rng.standard_normal((40, 40)))
    A = U @ np.diag(np.logspace(0, -14, 40)) @ V.T
    b = A @ rng.uniform(0, 1, 40) + 1e-6 * rng.standard_normal(80)
    res = rp.nnls(A, b)
    assert np.all(np.isfinite(res.x)) and np.all(res.x >= 0)
    # Honest: converged means certified; otherwise the status says so.
    assert (res.status is rp.Status.CONVERGED) == (res.kkt <= 1e-10)
    assert res.kkt <= 1e-8
    assert _objective(A, b, res.x) <= _reference_objective(A, b) * (1 + 1e-6) + 1e-20


def test_b_in_the_span_of_one_column():
    rng = np.random.default_rng(5)
    A = rng.uniform(0, 1, (25, 12))
    b = 2.5 * A[:, 7]
    res = rp.nnls(A, b)
    expected = np.zeros(12)
    expected[7] = 2.5
    assert res.success
    np.testing.assert_allclose(res.x, expected, atol=1e-12)


def test_many_pivots_beyond_three_n():
    # Non-negative data with a dense solution: every variable enters, the kind of problem
    # where an iteration cap of 3n was reached.
    rng = np.random.default_rng(6)
    A = rng.uniform(0, 1, (300, 150))
    b = A @ rng.uniform(0.1, 1, 150)
    res = rp.nnls(A, b)
    assert res.success and res.kkt <= 1e-10, res.message


def test_negative_b_gives_zero():
    A = np.abs(np.random.default_rng(7).standard_normal((10, 4)))
    res = rp.nnls(A, -np.ones(10))
    assert res.success and res.n_iter == 0
    np.testing.assert_array_equal(res.x, 0.0)
