"""Tests of the working-set path of the exact NNLS kernel
(:mod:`reparam.solvers.active_set.working_set`) and of where it runs.

Reference: ``scipy.optimize.nnls``. Where A has full column rank the solution is unique and
the answers must agree to rounding (atol 1e-9 relative to ||x||: the kernel solves the normal
equations of the final set, cond(A_F)^2 eps ~ 1e-12 for these Gaussian blocks); elsewhere the
optimal objectives must agree (rel 1e-9) and the KKT residual, which the kernel certifies at
1e-11 of ||A^T b||, must be below 1e-10.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.optimize

import reparam as rp
from reparam import problems
from reparam.solvers.active_set import Path, Reason, active_set_nnls
from reparam.solvers.active_set import _front as front
from reparam.solvers.active_set import working_set as ws
from reparam.solvers.active_set._common import _step_to_boundary
from reparam.solvers.active_set.working_set import _upper_remove, _working_set


def kkt(A, b, x):
    g = A.T @ (A @ x - b)
    return float(np.max(np.abs(np.minimum(x, g))) / max(np.max(np.abs(A.T @ b)), 1e-300))


def objective(A, b, x):
    return 0.5 * float(np.sum((A @ x - b) ** 2))


def gaussian(m, n, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n)), rng.standard_normal(m)


def check_optimal(A, b, x, unique):
    x_ref, _ = scipy.optimize.nnls(A, b, maxiter=50 * A.shape[1])
    assert np.all(x >= 0)
    assert kkt(A, b, x) <= 1e-10
    f, f_ref = objective(A, b, x), objective(A, b, x_ref)
    assert f == pytest.approx(f_ref, rel=1e-9, abs=1e-12 * float(b @ b))
    if unique:
        np.testing.assert_allclose(x, x_ref, rtol=0, atol=1e-9 * max(1.0, np.abs(x_ref).max()))


@pytest.mark.parametrize("m,n", [(60, 300), (100, 1000), (150, 300), (200, 250)])
@pytest.mark.parametrize("seed", [0, 1])
def test_wide_gaussian_is_optimal(m, n, seed):
    # The cone of the columns is (almost surely) all of R^m or nearly: the solution set is a
    # polytope, so objectives are compared; an exact method returns a vertex (<= m entries).
    A, b = gaussian(m, n, seed)
    x, it, ok, stop = _working_set(A, b, None, 3 * n)
    assert ok and stop.certified and 1 <= it <= 3 * n
    check_optimal(A, b, x, unique=False)
    assert np.count_nonzero(x) <= m


@pytest.mark.parametrize("m,n", [(200, 100), (300, 300), (1000, 200)])
def test_square_and_tall_match_scipy(m, n):
    A, b = gaussian(m, n, m + n)
    x, _, ok, _ = _working_set(A, b, None, 3 * n)
    assert ok
    check_optimal(A, b, x, unique=True)


def test_sparse_interpolation_recovers_the_unique_solution():
    # b = A x* with x* 20-sparse and 200 x 500 Gaussian A: x* is the unique NNLS solution.
    A, b, x_true = problems.gaussian(200, 500, sparsity=20, seed=20)[:3]
    x, _, ok, _ = _working_set(A, b, None, 1500)
    assert ok
    np.testing.assert_allclose(x, x_true, rtol=0, atol=1e-9)
    check_optimal(A, b, x, unique=True)


@pytest.mark.parametrize("shape", [(80, 40), (40, 200)])
def test_rank_deficient(shape):
    # Rank 12: at most 12 columns can be in the factor; the others wait as dependent.
    m, n = shape
    rng = np.random.default_rng(5)
    A = rng.standard_normal((m, 12)) @ rng.standard_normal((12, n))
    b = rng.standard_normal(m)
    x, _, ok, _ = _working_set(A, b, None, 3 * n)
    assert ok
    assert np.count_nonzero(x) <= 12
    check_optimal(A, b, x, unique=False)


def test_duplicated_columns():
    # The kernel itself (the public entry merges identical columns before it runs): a copy of
    # a column in F is dependent and waits, the answer is still optimal.
    rng = np.random.default_rng(6)
    A0 = rng.standard_normal((50, 120))
    A = np.column_stack([A0, A0[:, :40], 2.0 * A0[:, 40:60]])
    b = rng.standard_normal(50)
    x, _, ok, _ = _working_set(A, b, None, 3 * A.shape[1])
    assert ok
    check_optimal(A, b, x, unique=False)


@pytest.mark.parametrize("shape", [(100, 700), (400, 300)])
def test_badly_scaled_columns_through_the_public_entry(shape):
    # Column norms spread over 1e-8 .. 1e8: the exact method equilibrates the columns, so the
    # working set runs and gives the answer of the unscaled problem, scaled back.
    m, n = shape
    A, b = gaussian(m, n, 7)
    scale = 10.0 ** np.random.default_rng(8).uniform(-8, 8, n)
    res = rp.nnls(A * scale, b)
    ref = rp.nnls(A, b)
    assert res.success and res.kkt <= 1e-10
    assert res.message.startswith("working set")
    assert res.objective == pytest.approx(ref.objective, rel=1e-9, abs=1e-12 * float(b @ b))
    if m >= n:
        np.testing.assert_allclose(res.x * scale, ref.x, rtol=0,
                                   atol=1e-9 * max(1.0, np.abs(ref.x).max()))


def test_infeasible_wide_problem_matches_scipy():
    # Non-negative A, b with negative entries: the optimum keeps a residual; unique here since
    # the few active columns are independent.
    rng = np.random.default_rng(9)
    A = np.abs(rng.standard_normal((100, 600)))
    b = rng.standard_normal(100)
    x, _, ok, _ = _working_set(A, b, None, 1800)
    assert ok
    check_optimal(A, b, x, unique=False)


def test_warm_start_from_the_answer_takes_one_round():
    A, b = gaussian(120, 700, 10)
    x, it, ok, _ = _working_set(A, b, None, 2100)
    warm, it_warm, ok_warm, _ = _working_set(A, b, x > 0, 2100)
    assert ok and ok_warm and it_warm == 1 < it
    np.testing.assert_allclose(warm, x, rtol=0, atol=1e-10 * np.abs(x).max())


def test_max_iter_caps_the_rounds():
    A, b = gaussian(120, 700, 11)
    x, it, ok, stop = _working_set(A, b, None, 2)
    assert not ok and it == 2 and stop.reason is Reason.ITERATION_CAP
    assert np.all(x >= 0)
    # Through the public entry the cap also holds for the paths after it: 3 max_iter rounds.
    out = active_set_nnls(A, b, max_iter=1)
    assert out.trail[0].path is Path.WORKING_SET and out.trail[0].n_iter == 3


def test_patience_hands_a_blur_over_to_the_gram_path():
    # Neighbouring columns nearly parallel: blocks never enter whole.
    A, b, _ = problems.blur(300, sigma=4.0, seed=21)
    x, it, ok, stop = _working_set(A, b, None, 900, patience=4)
    assert not ok and it == 4 and stop.reason is Reason.ROUND_BUDGET
    assert np.all(x >= 0)
    # Without patience it finishes, exactly, just more slowly.
    x, _, ok, _ = _working_set(A, b, None, 900)
    assert ok and kkt(A, b, x) <= 1e-10


@pytest.mark.parametrize("extension", ["used", "not used"])
def test_dispatch_wide_both_sides_of_the_scipy_threshold(extension, monkeypatch):
    # Wide problems with m n below the threshold go to scipy's compiled loop, from it on to
    # the working set; both certified. The threshold is lower where the working set runs
    # compiled.
    if extension == "used":
        if ws._cholc is None:
            pytest.skip("the extension _cholc was not built")
        monkeypatch.delenv("REPARAM_NO_EXTENSION", raising=False)
        assert front._small_wide() == front._SMALL_WIDE
    else:
        monkeypatch.setenv("REPARAM_NO_EXTENSION", "1")
        assert front._small_wide() == front._SMALL_WIDE_NUMPY
    m = 100 if extension == "not used" else 40
    n_below = (front._small_wide() - 1) // m
    for n, expected in ((n_below, "scipy"), (n_below + 2, "working-set")):
        A, b = gaussian(m, n, n)
        out = active_set_nnls(A, b)
        assert out.path == expected and out.converged
        assert kkt(A, b, out.x) <= 1e-10


def test_dispatch_m_ge_n_both_sides_of_the_thresholds():
    # m >= n: the working set runs first from _PROBE_N unknowns on and up to _WS_TALL n rows;
    # below or beyond, block pivoting on the Gram matrix; a Gram pair given by the caller
    # keeps block pivoting too.
    n0, tall = front._PROBE_N, front._WS_TALL
    for m, n, expected in ((n0 + 20, n0 - 1, "block-pivoting"), (n0 + 20, n0, "working-set"),
                           (tall * n0, n0, "working-set"),
                           (tall * n0 + 1, n0, "block-pivoting")):
        A, b = gaussian(m, n, m + n)
        out = active_set_nnls(A, b)
        assert out.path == expected and out.converged
        assert kkt(A, b, out.x) <= 1e-10
    A, b = gaussian(300, 300, 12)
    out = active_set_nnls(A, b, gram=(A.T @ A, A.T @ b))
    assert out.path == "block-pivoting"


def test_public_result_names_the_working_set():
    A, b = gaussian(200, 2000, 2)
    res = rp.nnls(A, b)
    assert res.success and res.kkt <= 1e-10 and res.method == "active-set"
    assert res.message.startswith("working set") and res.n_iter >= 1


def test_block_entering_at_zero_keeps_the_variables_that_move_up():
    # Three variables of F = [0, 1, 2, 3] have just entered at zero (1, 2, 3); variable 2's
    # least-squares value is negative, so the step is zero and it leaves; 1 and 3, headed up,
    # stay passive at zero for the next step.
    x = np.array([0.5, 0.0, 0.0, 0.0])
    passive = np.ones(4, dtype=bool)
    F = np.arange(4)
    z = np.array([0.4, 0.3, -0.2, 0.1])
    drop = _step_to_boundary(x, F, z, z <= 0, passive)
    assert drop.tolist() == [False, False, True, False]
    assert passive.tolist() == [True, True, False, True]
    np.testing.assert_array_equal(x, [0.5, 0.0, 0.0, 0.0])


def test_step_with_a_zero_variable_headed_nowhere():
    x = np.array([1.0, 0.0])
    passive = np.ones(2, dtype=bool)
    z = np.array([2.0, 0.0])
    with np.errstate(all="raise"):
        drop = _step_to_boundary(x, np.arange(2), z, z <= 0, passive)
    assert drop.tolist() == [False, True] and np.all(np.isfinite(x))


@pytest.fixture(params=["compiled", "numpy"])
def downdate(request, monkeypatch):
    """Both versions of the factor downdate: the compiled sweep and its numpy fallback."""
    if request.param == "compiled":
        if ws._cholc is None:
            pytest.skip("the extension _cholc was not built")
        monkeypatch.delenv("REPARAM_NO_EXTENSION", raising=False)
    else:
        monkeypatch.setenv("REPARAM_NO_EXTENSION", "1")
    return request.param


def test_downdate_extension_built_where_required():
    """CI sets REPARAM_REQUIRE_EXTENSION: there a failed build must fail the suite."""
    if os.environ.get("REPARAM_REQUIRE_EXTENSION", "") in ("", "0"):
        pytest.skip("REPARAM_REQUIRE_EXTENSION is not set")
    assert ws._cholc is not None, "the C extension _cholc was not built (see pip's build log)"


@pytest.mark.parametrize("k", [0, 1, 97, 198, 199])
def test_upper_delete_matches_a_fresh_factor(downdate, k):
    # The factor of the kept columns' Gram block, to rounding: cond(X) ~ 10 here, so 1e-12 of
    # the largest entry of the Gram block leaves a wide margin over eps * s.
    rng = np.random.default_rng(k)
    X = rng.standard_normal((260, 200))
    U = np.asfortranarray(np.linalg.cholesky(X.T @ X).T)
    before = U.copy()
    U2 = ws.upper_delete(U, k)
    kept = np.delete(X, k, axis=1)
    assert ws._compiled_downdate() is (downdate == "compiled")
    assert U2.shape == (199, 199) and U2.flags.f_contiguous
    np.testing.assert_array_equal(U, before)  # the caller's factor is left alone
    np.testing.assert_array_equal(np.tril(U2, -1), 0.0)
    G = kept.T @ kept
    np.testing.assert_allclose(U2.T @ U2, G, rtol=0, atol=1e-12 * np.abs(G).max())


def test_upper_delete_of_a_view_and_of_the_last_variable(downdate):
    # A factor that is a slice of a larger one (not contiguous) is accepted; removing the last
    # of one variable leaves an empty factor.
    rng = np.random.default_rng(3)
    X = rng.standard_normal((20, 8))
    U = np.asfortranarray(np.linalg.cholesky(X.T @ X).T)[:6, :6]
    U2 = ws.upper_delete(U, 2)
    kept = X[:, [0, 1, 3, 4, 5]]
    np.testing.assert_allclose(U2.T @ U2, kept.T @ kept, atol=1e-12 * np.abs(X).max() ** 2)
    assert ws.upper_delete(np.ones((1, 1), order="F"), 0).shape == (0, 0)


@pytest.mark.parametrize("drops", [[0], [5], [11], [0, 4, 5, 11], list(range(12))])
def test_upper_remove_is_the_factor_of_the_kept_columns(downdate, drops):
    rng = np.random.default_rng(13)
    X = rng.standard_normal((30, 12))
    U = np.asfortranarray(np.linalg.qr(X, mode="r"))
    drop = np.zeros(12, dtype=bool)
    drop[drops] = True
    U2 = _upper_remove(U, drop)
    kept = X[:, ~drop]
    assert U2.shape == (kept.shape[1],) * 2 and U2.flags.f_contiguous
    np.testing.assert_allclose(U2.T @ U2, kept.T @ kept, atol=1e-12)
    np.testing.assert_array_equal(np.tril(U2, -1), 0.0)


@pytest.mark.parametrize("n", [256, 300])
def test_probe_flags_integral_equations_and_not_gaussian_columns(n):
    # The cheap probe (a Cholesky factor of the Gram block of 64 sampled columns): Shaw's
    # columns are numerically dependent (cond(A) ~ 1e18), Gaussian ones are not, and one
    # column sampled twice makes the sample dependent exactly.
    A_shaw = problems.shaw(n)[0]
    A, _ = gaussian(n + 40, n, n)
    assert front._looks_ill_conditioned(A_shaw)
    assert not front._looks_ill_conditioned(A)
    twin = A.copy()
    cols = np.sort(np.random.default_rng(0).choice(n, size=64, replace=False))
    twin[:, cols[1]] = twin[:, cols[0]]
    assert front._looks_ill_conditioned(twin)
    # Either way the answer is certified: Shaw, numerically of rank ~20, by Lawson-Hanson on
    # its compression (tests/test_compressed.py).
    b = problems.shaw(n)[1]
    out = active_set_nnls(A_shaw, b)
    assert out.converged and out.path == "compressed"
    assert kkt(A_shaw, b, out.x) <= 1e-10
