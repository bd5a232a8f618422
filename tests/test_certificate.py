"""The scale-free NNLS certificate, the equilibrated exact method, empty problems, max_iter.

The certificate ``max_i |min(c_i x_i, g_i / c_i)| / ||b||`` (``c_i = ||a_i||``) must not depend
on the units of any column, and no method may report ``CONVERGED`` at a point whose objective is
far from the optimum, whatever the column scales.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_array
from scipy.sparse.linalg import aslinearoperator

import reparam as rp
from reparam import _result
from reparam._linalg import as_operator
from reparam._result import column_norms, orthant_kkt
from reparam.solvers import METHODS

DATA = pathlib.Path(__file__).parent / "data"


def gh20302():
    """scipy's regression problem for its gh-20302: 89 x 5, column norms 0.4 to 2e13."""
    return np.loadtxt(DATA / "gh20302.txt"), np.ones(89)


def gh20302_wide(n: int = 70, seed: int = 0):
    """89 x n built from the same five columns: each new column is one of them with entries
    perturbed by a factor exp(N(0, 0.3^2)) and scaled by 10^U(-8, 8), so the columns are
    near-collinear in groups and their norms span about 1e-8 to 1e20."""
    A, b = gh20302()
    rng = np.random.default_rng(seed)
    cols = [A[:, j % 5] * np.exp(0.3 * rng.standard_normal(89)) * 10 ** rng.uniform(-8, 8)
            for j in range(n)]
    return np.column_stack(cols), b


def scipy_objective(A, b):
    """scipy.optimize.nnls's optimal objective (its iteration cap raised, never hit here)."""
    _, rnorm = scipy.optimize.nnls(A, b, maxiter=100 * A.shape[1])
    return 0.5 * rnorm**2


# ---------------------------------------------------------------------------------------------
# the certificate


def test_certificate_is_zero_at_the_solution_and_positive_elsewhere():
    A, b = gh20302()
    x = scipy.optimize.nnls(A, b)[0]
    assert rp.kkt_residual(A, b, x) < 1e-12
    # The reparametrized methods' starting point, x = 1e-6: the old certificate called it
    # solved (3e-20); the scale-free one sees that it is not.
    assert rp.kkt_residual(A, b, np.full(5, 1e-6)) > 1.0


@pytest.mark.parametrize("seed", range(5))
def test_certificate_is_invariant_to_column_scaling(seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((20, 8))
    b = rng.standard_normal(20)
    x = np.abs(rng.standard_normal(8)) * (rng.random(8) < 0.6)
    d = 10.0 ** rng.uniform(-12, 12, 8)
    base = rp.kkt_residual(A, b, x)
    # A D with x / D is the same point in other units: every term of the certificate is the
    # same number, up to the rounding of one product and one quotient (a few ulps).
    np.testing.assert_allclose(rp.kkt_residual(A * d, b, x / d), base, rtol=1e-12)


@pytest.mark.parametrize("scale", [1e150, 1e-150, 1e12, 1e-12])
def test_certificate_is_invariant_to_joint_scaling(scale):
    rng = np.random.default_rng(1)
    A = rng.standard_normal((15, 6))
    b = rng.standard_normal(15)
    x = np.abs(rng.standard_normal(6))
    np.testing.assert_allclose(rp.kkt_residual(scale * A, scale * b, x),
                               rp.kkt_residual(A, b, x), rtol=1e-12)


def test_certificate_per_column_equals_one_column_at_a_time():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((10, 4)) * 10.0 ** rng.uniform(-6, 6, 4)
    B = rng.standard_normal((10, 3))
    X = np.abs(rng.standard_normal((4, 3)))
    batched = rp.kkt_residual(A, B, X)
    single = [rp.kkt_residual(A, B[:, j], X[:, j]) for j in range(3)]
    np.testing.assert_allclose(batched, single, rtol=1e-14)


def test_per_column_certificate_keeps_each_column_scale():
    # a right-hand side of entries near 1e-170 beside ordinary ones: each column is
    # normalized by its own ‖b_j‖ (one common scale made the tiny column's norm 0)
    rng = np.random.default_rng(5)
    A = rng.standard_normal((12, 4))
    B = rng.standard_normal((12, 3))
    B[:, 1] *= 1e-170
    X = np.abs(rng.standard_normal((4, 3)))
    X[:, 1] *= 1e-170
    batched = rp.kkt_residual(A, B, X)
    single = [rp.kkt_residual(A, B[:, j], X[:, j]) for j in range(3)]
    np.testing.assert_allclose(batched, single, rtol=1e-12)
    assert 1e-3 < batched[1] < 1e3  # the same order as its ordinary neighbours


def test_a_zero_column_needs_a_zero_entry():
    A = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    b = np.array([1.0, 0.0, 1.0])
    assert rp.kkt_residual(A, b, np.array([1.0, 0.0])) == 0.0
    assert rp.kkt_residual(A, b, np.array([1.0, 2.0])) == np.inf
    res = rp.nnls(A, b, method="reparam-gd")  # x_2 never moves from its start: returned as 0
    assert res.x[1] == 0.0 and res.success


def test_orthant_kkt_formula_by_hand():
    x = np.array([2.0, 0.0, 1.0])
    g = np.array([0.0, -3.0, 8.0])
    c = np.array([1.0, 2.0, 4.0])
    # terms: min(2, 0) = 0; min(0, -1.5) = -1.5; min(4, 2) = 2  -> 2 / ||b|| with ||b|| = 4
    assert orthant_kkt(x, g, c, 4.0) == 0.5
    np.testing.assert_array_equal(orthant_kkt(np.c_[x, x], np.c_[g, 2 * g], c, np.array([4.0, 1.0])),
                                  [0.5, 4.0])


@pytest.mark.parametrize("kind", ["sparse", "operator"])
def test_column_norms_of_every_storage(kind):
    rng = np.random.default_rng(3)
    A = rng.standard_normal((30, 300)) * 10.0 ** rng.uniform(-5, 5, 300)
    A[:, 7] = 0.0
    stored = csr_array(A) if kind == "sparse" else aslinearoperator(A)
    np.testing.assert_allclose(column_norms(as_operator(stored)), np.linalg.norm(A, axis=0),
                               rtol=1e-14)


# ---------------------------------------------------------------------------------------------
# the equilibrated exact method on scipy's badly scaled regression problems


@pytest.mark.parametrize("method", ["active-set", "auto"])
@pytest.mark.parametrize("warm", [False, True])
@pytest.mark.parametrize("problem", [gh20302, gh20302_wide])
def test_exact_method_finds_scipys_optimum_on_badly_scaled_columns(problem, warm, method):
    A, b = problem()
    f_ref = scipy_objective(A, b)
    x0 = np.zeros(A.shape[1]) if warm else None
    res = rp.nnls(A, b, method=method, x0=x0)
    assert res.status is rp.Status.CONVERGED
    # Both are exact solvers; 1e-10 allows for the rounding of a residual of norm ~1.
    assert abs(res.objective - f_ref) <= 1e-10 * f_ref
    assert res.kkt <= 1e-10


def test_no_method_claims_convergence_on_gh20302():
    A, b = gh20302()
    f_ref = scipy_objective(A, b)
    for name in METHODS:
        opts = {} if METHODS[name].exact else {"max_iter": 300}
        res = rp.nnls(A, b, method=name, **opts)
        if res.status is rp.Status.CONVERGED:
            assert res.objective <= f_ref * (1 + 1e-6), name


def test_identical_columns_are_merged_without_changing_the_answer():
    rng = np.random.default_rng(4)
    B = np.abs(rng.standard_normal((200, 40)))
    A = np.column_stack([B, B, 4.0 * B])  # triplicated (the last copy scaled by a power of 2)
    b = B @ np.where(rng.random(40) < 0.4, 1.0, 0.0) + 0.1 * rng.standard_normal(200)
    res = rp.nnls(A, b)
    assert res.success and res.kkt <= 1e-10
    assert abs(res.objective - scipy_objective(B, b)) <= 1e-10 * scipy_objective(B, b)


def _kernel_inputs(monkeypatch):
    """Record the matrix that the exact kernel receives from the general path."""
    from reparam.solvers import active_set as kernel

    seen = []
    solve = kernel.active_set_nnls

    def spy(A, b, **kwargs):
        seen.append(A)
        return solve(A, b, **kwargs)

    monkeypatch.setattr(kernel, "active_set_nnls", spy)
    return seen


@pytest.mark.parametrize("spread", [1.0, 1e12])
def test_equilibration_copies_a_only_for_badly_scaled_columns(spread, monkeypatch):
    # Columns of similar norms reach the kernel as A itself (no copy); columns 1e12 apart are
    # equilibrated first (a copy), so that the small ones are not taken for dependent ones.
    # Either way: scipy's optimum on the equilibrated columns, certified, A unchanged.
    rng = np.random.default_rng(41)
    A = rng.standard_normal((400, 300)) * np.where(np.arange(300) % 2, spread, 1.0)
    b = rng.standard_normal(400)
    before = A.copy()
    seen = _kernel_inputs(monkeypatch)
    res = rp.nnls(A, b, method="active-set")
    assert len(seen) == 1 and np.shares_memory(seen[0], A) == (spread == 1.0)
    assert res.status is rp.Status.CONVERGED and res.kkt <= 1e-10
    c = np.linalg.norm(A, axis=0)
    f_ref = scipy_objective(A / c, b)
    assert abs(res.objective - f_ref) <= 1e-10 * f_ref
    np.testing.assert_array_equal(A, before)


def test_duplicate_check_reads_a_only_where_column_norms_coincide(monkeypatch):
    # Identical columns are merged (the kernel sees each once) with columns of similar norms,
    # where A is not copied; mirrored columns (equal norms, different columns) are candidates
    # but stay apart; when no two norms coincide the check returns without reading A.
    from reparam.solvers._exact import distinct_columns

    rng = np.random.default_rng(42)
    B = rng.standard_normal((400, 297))
    A = np.column_stack([B, B[:, :2], B[::-1, 5]])  # two twins and a mirrored column
    b = B @ np.abs(rng.standard_normal(297)) + rng.standard_normal(400)
    seen = _kernel_inputs(monkeypatch)
    res = rp.nnls(A, b)
    assert len(seen) == 1 and seen[0].shape[1] == 298  # the twins merged, the mirror kept
    assert res.status is rp.Status.CONVERGED and res.kkt <= 1e-10
    f_ref = scipy_objective(A, b)
    assert abs(res.objective - f_ref) <= 1e-10 * f_ref
    assert np.all(res.x[297:299] == 0.0)  # the weight is on the first copy
    norms = np.linalg.norm(A, axis=0)
    keep, group = distinct_columns(A, norms)
    assert keep.size == 298 and np.array_equal(group[297:299], [0, 1])
    assert distinct_columns(A, None)[0].size == 298  # without norms: every column probed
    # no two norms within 1e-12: nothing is read (a matrix of NaN would fail a comparison)
    assert distinct_columns(np.full((400, 300), np.nan), np.arange(1.0, 301.0)) == (None, None)


# ---------------------------------------------------------------------------------------------
# no false CONVERGED: badly scaled, duplicated, zero and near-collinear columns


@st.composite
def badly_scaled(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    kind = draw(st.sampled_from(["plain", "duplicate", "near-collinear", "zero"]))
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(2, 12)), int(rng.integers(2, 9))
    A = rng.standard_normal((m, n))
    if kind == "duplicate":
        A[:, -1] = A[:, 0]
    elif kind == "near-collinear":
        A[:, -1] = A[:, 0] * (1 + 1e-3 * rng.standard_normal(m))
    elif kind == "zero":
        A[:, rng.integers(n)] = 0.0
    A *= 10.0 ** rng.uniform(-12, 12, n)
    b = rng.standard_normal(m)
    return A, b


def _exact_optimum(A, b):
    """The optimal objective by the exact method (on the equilibrated problem), cross-checked
    against scipy.optimize.nnls on the same equilibrated columns."""
    ref = rp.nnls(A, b, method="active-set")
    assert ref.success
    c = np.linalg.norm(A, axis=0)
    live = c > 0
    f_sp = scipy_objective(A[:, live] / c[live], b)
    assert abs(ref.objective - f_sp) <= 1e-9 * f_sp + 1e-14 * (b @ b)
    return ref.objective


@settings(max_examples=15, deadline=None)
@given(problem=badly_scaled())
def test_converged_means_near_optimal_for_every_method(problem):
    """``CONVERGED`` implies an objective within 1e-6 relative of the optimum, plus a floor of
    1e-10 times the objective at x = 0 (``||b||^2 / 2``) for problems whose optimum is ~0.

    The iterative methods run with tol = 1e-8: the objective gap a certificate of ``tol`` can
    hide is about ``n tol^2 ||b||^2 / lambda_min`` (``lambda_min`` the smallest eigenvalue of
    the column-normalized Gram matrix on the support), which is ~1e-6 ||b||^2 for the
    near-collinear pairs drawn here at the default tol = 1e-6 and <= 1e-10 ||b||^2 at 1e-8.
    """
    A, b = problem
    f_opt = _exact_optimum(A, b)
    floor = 1e-10 * 0.5 * float(b @ b)
    for name, spec in METHODS.items():
        opts = {} if spec.exact else {"tol": 1e-8, "max_iter": 400}
        res = rp.nnls(A, b, method=name, **opts)
        if res.status is rp.Status.CONVERGED:
            assert res.objective - f_opt <= 1e-6 * f_opt + floor, (name, res.kkt)


# ---------------------------------------------------------------------------------------------
# empty problems


@pytest.mark.parametrize("method", ["auto", *METHODS])
def test_no_columns_gives_the_empty_solution(method):
    b = np.array([3.0, 4.0])
    res = rp.nnls(np.zeros((2, 0)), b, method=method)
    assert res.x.shape == (0,) and res.status is rp.Status.CONVERGED
    assert res.objective == 12.5 and res.kkt == 0.0


@pytest.mark.parametrize("method", ["auto", *METHODS])
def test_no_rows_gives_zero(method):
    res = rp.nnls(np.zeros((0, 3)), np.zeros(0), method=method)
    np.testing.assert_array_equal(res.x, np.zeros(3))
    assert res.status is rp.Status.CONVERGED and res.objective == 0.0


@pytest.mark.parametrize("storage", ["dense", "sparse", "operator"])
def test_empty_problems_batched_and_in_every_storage(storage):
    wrap = {"dense": np.asarray, "sparse": csr_array, "operator": aslinearoperator}[storage]
    B = np.arange(6.0).reshape(3, 2)
    res = rp.nnls(wrap(np.zeros((3, 0))), B)
    assert res.x.shape == (0, 2) and res.success
    np.testing.assert_allclose(res.objective, 0.5 * np.sum(B**2, axis=0))
    res = rp.nnls(wrap(np.zeros((0, 4))), np.zeros((0, 2)))
    assert res.x.shape == (4, 2) and res.success and not np.any(res.x)


# ---------------------------------------------------------------------------------------------
# max_iter on every path


def _needs_many_iterations(m=40, n=30, seed=5):
    """Every x_i > 0 at the optimum: Lawson-Hanson needs one iteration per column (n)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    return A, A @ rng.uniform(1.0, 2.0, n)


@pytest.mark.parametrize("method", ["auto", "active-set", "scipy"])
def test_max_iter_reaches_scipy_on_small_problems(method):
    A, b = _needs_many_iterations()
    assert rp.nnls(A, b, method=method).success
    res = rp.nnls(A, b, method=method, max_iter=2)  # at most 6 Lawson-Hanson steps < 30
    assert res.status is rp.Status.MAX_ITER


def test_max_iter_reaches_scipy_on_wide_problems():
    A, b = _needs_many_iterations(m=60, n=100)  # wide: the kernel hands it to scipy
    b = A[:, :50] @ np.ones(50)
    assert rp.nnls(A, b, method="active-set").success
    assert rp.nnls(A, b, method="active-set", max_iter=2).status is rp.Status.MAX_ITER


def test_max_iter_in_the_kernel_and_the_iterative_loop():
    A, b = _needs_many_iterations(m=300, n=100)  # the Gram path of the kernel
    res = rp.nnls(A, b, method="active-set", x0=np.zeros(100), max_iter=1)
    assert res.status is not rp.Status.CONVERGED
    res = rp.nnls(A, b, method="fista", max_iter=3)
    assert res.status is rp.Status.MAX_ITER and res.n_iter == 3


def test_interrupt_on_the_small_problem_path(monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(scipy.optimize, "nnls", interrupted)
    # the small-problem path calls scipy's compiled routine without its wrapper, or pivots
    # on the Gram pair
    monkeypatch.setattr(rp._nnls, "_raw_lawson_hanson", interrupted)
    monkeypatch.setattr(rp._nnls, "bpp_small", interrupted)
    A, b = _needs_many_iterations(m=7, n=5)
    with pytest.raises(rp.Interrupted) as caught:  # Ctrl-C stops the caller, as everywhere
        rp.nnls(A.astype(np.float32), b.astype(np.float32))
    res = caught.value.result
    assert res.status is rp.Status.INTERRUPTED and res.x.dtype == np.float32
    np.testing.assert_array_equal(res.x, 0.0)


def test_column_scale_of_a_large_operator_is_one_estimated_common_scale():
    # Exact norms of a matrix-free A would cost n products; above the threshold every column
    # gets the root-mean-square column norm, estimated by Hutchinson's trace estimator.
    rng = np.random.default_rng(4)
    n = _result._EXACT_OPERATOR_N + 1
    A = rng.standard_normal((50, n)) * rng.uniform(0.5, 2.0, n)
    calls = []  # count products: the cost is one block of probes, not n columns
    wrapped = as_operator(aslinearoperator(A))
    original = wrapped.matvec
    wrapped.matvec = lambda v: calls.append(v.shape) or original(v)
    c = column_norms(wrapped)
    rms = np.sqrt(np.mean(np.sum(A**2, axis=0)))
    assert np.all(c == c[0]) and abs(c[0] / rms - 1) < 0.25
    assert len(calls) == 1
    # the certificate stays invariant to scaling A and b together
    b = A @ rng.uniform(0, 1, n)
    x = rng.uniform(0, 1, n)
    k1 = rp.kkt_residual(aslinearoperator(A), b, x)
    k2 = rp.kkt_residual(aslinearoperator(A * 1e8), b * 1e8, x)
    assert k1 == pytest.approx(k2, rel=1e-12)


@pytest.mark.parametrize("scale", [1.0, 1e150, 1e-150])
def test_many_right_hand_sides_are_certified_block_by_block_as_all_at_once(scale, monkeypatch):
    # certify takes many columns through buffers a block at a time; a block of 7 columns
    # (8 x 5 entries over 56) with a last, shorter block must give what all columns at once
    # give, at ordinary and extreme scales (where products are taken at A / 2^p)
    rng = np.random.default_rng(11)
    A = rng.standard_normal((8, 5)) * scale
    B = rng.standard_normal((8, 45)) * scale
    X = np.abs(rng.standard_normal((5, 45)))
    X[rng.random((5, 45)) < 0.4] = 0.0
    op = as_operator(A)
    monkeypatch.setattr(_result, "_CHUNK_ENTRIES", 56)
    assert _result._chunked(op, B, X)
    blocks = _result.certify(op, B, X)
    monkeypatch.setattr(_result, "_CHUNK_ENTRIES", 1 << 40)
    assert not _result._chunked(op, B, X)
    whole = _result.certify(op, B, X)
    for got, want in zip(blocks, whole):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=0.0)
    single = [rp.kkt_residual(A, B[:, j], X[:, j]) for j in range(45)]
    np.testing.assert_allclose(blocks[0], single, rtol=1e-12)


def test_block_by_block_certificate_leaves_zero_columns_to_the_whole_block(monkeypatch):
    # a zero column makes the certificate inf where its entry is not zero; the blocks'
    # formula assumes positive norms, so such problems take the whole-block version
    rng = np.random.default_rng(12)
    A = rng.standard_normal((6, 3))
    A[:, 1] = 0.0
    B = rng.standard_normal((6, 20))
    X = np.abs(rng.standard_normal((3, 20)))
    X[1, :10] = 0.0
    monkeypatch.setattr(_result, "_CHUNK_ENTRIES", 18)
    kkt = _result.certify(as_operator(A), B, X)[0]
    assert np.all(np.isinf(kkt[10:])) and np.all(np.isfinite(kkt[:10]))


def test_exact_answer_for_many_right_hand_sides_leaves_the_warm_start_alone():
    # the exact method unscales the kernel's answer in place; a warm start must stay as given
    rng = np.random.default_rng(13)
    A = rng.standard_normal((40, 10)) * 10.0 ** rng.uniform(-3, 3, 10)  # scaled: d != 1
    B = rng.standard_normal((40, 6))
    x0 = np.abs(rng.standard_normal((10, 6)))
    keep = x0.copy()
    res = rp.nnls(A, B, method="active-set", x0=x0)
    np.testing.assert_array_equal(x0, keep)
    assert res.x is not x0 and np.all(res.success)
    ref = np.column_stack([scipy.optimize.nnls(A, B[:, j], maxiter=1000)[0] for j in range(6)])
    np.testing.assert_allclose(A @ res.x, A @ ref, atol=1e-9 * np.abs(B).max())
