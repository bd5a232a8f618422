"""Tests of the exact NNLS kernel ``reparam.solvers.active_set.active_set_nnls``.

Reference: ``scipy.optimize.nnls`` (compiled Lawson–Hanson). Where the solution is unique
(A of full column rank) the answers must agree to rounding; elsewhere the objective and the
KKT residual are compared. Tolerances: the kernel certifies kkt <= 1e-11 before returning from
its fast paths, so 1e-10 leaves a margin; solutions of well-conditioned problems agree to
~1e-12 relative to ||x||.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st

from reparam import problems
from reparam.solvers.active_set import Path, Reason, _front, active_set_nnls, working_set
from reparam.solvers.active_set.lawson_hanson_gram import (
    _LH_CORRELATED,
    PackedFactor,
    _entering,
    _GramRows,
    _lawson_hanson_gram,
    _lh_gram_inner,
)
from reparam.solvers.active_set.lawson_hanson_qr import _lawson_hanson_qr, _qr_remove
from reparam.solvers.active_set.many_rhs import (
    _bpp_multi,
    _inexact_pivoting,
    _masked_cg,
    _stacked_solve,
    _unconstrained,
)


def kkt(A, b, x):
    g = A.T @ (A @ x - b)
    scale = np.maximum(np.max(np.abs(A.T @ b), axis=0), np.finfo(float).tiny)
    return float(np.max(np.max(np.abs(np.minimum(x, g)), axis=0) / scale))


def objective(A, b, x):
    return 0.5 * float(np.sum((A @ x - b) ** 2))


@pytest.mark.parametrize("m,n", [(30, 10), (60, 40), (200, 100), (400, 200), (50, 50)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_overdetermined_matches_scipy(m, n, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    b = rng.standard_normal(m)
    out = active_set_nnls(A, b)
    x_ref, _ = scipy.optimize.nnls(A, b)
    assert out.converged
    assert out.x.shape == (n,) and out.x.dtype == np.float64
    assert np.all(out.x >= 0)
    assert kkt(A, b, out.x) <= 1e-10
    np.testing.assert_allclose(out.x, x_ref, rtol=0, atol=1e-10 * max(1.0, np.abs(x_ref).max()))


@pytest.mark.parametrize("m,n", [(10, 30), (40, 200), (100, 400)])
@pytest.mark.parametrize("seed", [0, 1])
def test_underdetermined_is_optimal(m, n, seed):
    # The solution set is a polytope: compare the optimal value, and certify with KKT.
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    b = rng.standard_normal(m)
    out = active_set_nnls(A, b)
    x_ref, _ = scipy.optimize.nnls(A, b)
    assert out.converged
    assert np.all(out.x >= 0)
    assert kkt(A, b, out.x) <= 1e-10
    assert objective(A, b, out.x) <= objective(A, b, x_ref) + 1e-10 * float(b @ b)
    assert np.count_nonzero(out.x) <= m  # a vertex: at most rank(A) positive entries


@pytest.mark.parametrize("m,n", [(10, 30), (40, 200), (60, 700)])
@pytest.mark.parametrize("seed", [0, 1])
def test_lawson_hanson_path_is_optimal(m, n, seed):
    # The kernel's own wide path (small wide problems are otherwise handed to scipy).
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    b = rng.standard_normal(m)
    x, _, ok, why = _lawson_hanson_qr(A, b, None, 10 * n)
    assert ok, why
    assert np.all(x >= 0) and np.count_nonzero(x) <= m
    assert kkt(A, b, x) <= 1e-10


def test_wide_default_path_is_the_working_set():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((120, 700))  # m n above the size handed to scipy
    b = rng.standard_normal(120)
    out = active_set_nnls(A, b)
    assert out.message.startswith("working set") and out.path == "working-set"
    assert out.converged and kkt(A, b, out.x) <= 1e-10


def test_underdetermined_infeasible_matches_scipy():
    # Nonnegative A and b with negative entries: the optimum has a nonzero residual.
    rng = np.random.default_rng(3)
    A = np.abs(rng.standard_normal((30, 80)))
    b = rng.standard_normal(30)
    out = active_set_nnls(A, b)
    x_ref, _ = scipy.optimize.nnls(A, b)
    assert kkt(A, b, out.x) <= 1e-10
    assert objective(A, b, out.x) == pytest.approx(objective(A, b, x_ref), rel=1e-10, abs=1e-14)


def test_inputs_not_modified():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((50, 20))
    b = rng.standard_normal(50)
    x0 = np.abs(rng.standard_normal(20))
    copies = A.copy(), b.copy(), x0.copy()
    active_set_nnls(A, b, x0=x0)
    active_set_nnls(A, np.column_stack([b, b]))
    for before, after in zip(copies, (A, b, x0)):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("m,n,k", [(80, 40, 50), (300, 120, 200)])
def test_batched_equals_column_by_column(m, n, k):
    rng = np.random.default_rng(5)
    A = rng.standard_normal((m, n))
    B = rng.standard_normal((m, k))
    B[:, 1] = B[:, 0]  # a repeated column shares its passive set
    out = active_set_nnls(A, B)
    assert out.x.shape == (n, k)
    assert out.n_iter.shape == (k,) and out.converged.shape == (k,)
    assert out.converged.all()
    cols = np.column_stack([active_set_nnls(A, B[:, j]).x for j in range(k)])
    np.testing.assert_allclose(out.x, cols, rtol=0, atol=1e-10)
    assert kkt(A, B, out.x) <= 1e-10


def _nmf_like(m, n, k, seed):
    # Nonnegative A with a dominant Perron direction (as in NMF sub-problems), sparse X*, noise:
    # almost every column ends with its own passive set.
    rng = np.random.default_rng(seed)
    A = np.abs(rng.standard_normal((m, n)))
    X = np.where(rng.random((n, k)) < 0.1, rng.random((n, k)), 0.0)
    return A, A @ X + 0.05 * rng.standard_normal((m, k))


def test_batched_many_distinct_passive_sets_equals_column_by_column():
    A, B = _nmf_like(120, 60, 600, seed=18)
    out = active_set_nnls(A, B)
    assert "inexact pivoting" in out.message  # the conjugate-gradient guess ran
    assert out.converged.all()
    support = np.packbits(out.x > 0, axis=0)
    assert np.unique(support, axis=1).shape[1] > 500  # nearly all passive sets distinct
    cols = np.column_stack([scipy.optimize.nnls(A, B[:, j])[0] for j in range(B.shape[1])])
    np.testing.assert_allclose(out.x, cols, rtol=0, atol=1e-10 * max(1.0, np.abs(cols).max()))
    assert kkt(A, B, out.x) <= 1e-11


def test_inexact_guess_is_only_a_start():
    # A useless guess (every variable passive) must still end in the exact answer: the
    # guess only seeds the exact pivoting, which decides and certifies.
    A, B = _nmf_like(120, 60, 100, seed=19)
    G, C = A.T @ A, A.T @ B
    X, _, certified, _ = _bpp_multi(G, C, np.ones(C.shape, dtype=bool), 200)
    assert certified.all()
    np.testing.assert_allclose(X, active_set_nnls(A, B).x, rtol=0, atol=1e-12)


def test_single_precision_guess_does_not_change_the_answer():
    # The inexact rounds run in float32 only to propose passive sets; the float64 rounds that
    # follow must reach the same certified x as from a float64 guess, and scipy's x column by
    # column (the float32 test on 600 columns against scipy is the test above).
    A, B = _nmf_like(120, 60, 600, seed=21)
    G, C = A.T @ A, A.T @ B
    X_ls = _unconstrained(G, C)
    answers = []
    for dtype in (np.float32, np.float64):
        P = _inexact_pivoting(G, C, X_ls, dtype=dtype)
        X, n_iter, certified, _ = _bpp_multi(G, C, P, 200)
        assert certified.all()
        assert n_iter.max() <= 4  # both guesses are good starts
        answers.append(X)
    np.testing.assert_allclose(answers[0], answers[1], rtol=0, atol=1e-12)
    assert kkt(A, B, answers[0]) <= 1e-11


def test_single_precision_guess_survives_float32_overflow():
    # A ~ 2**100 puts A^T A near 2**200, far past float32's range (2**128) yet inside the
    # float64 range where no rescaling happens. The guess normalizes G and C by powers it
    # can represent, so the run must be the scaled image of the unscaled one, round for round.
    A, B = _nmf_like(120, 60, 200, seed=22)
    base = active_set_nnls(A, B)
    big = active_set_nnls(np.ldexp(A, 100), np.ldexp(B, -20))
    assert "one at a time" not in big.message and big.converged.all()
    np.testing.assert_array_equal(big.n_iter, base.n_iter)
    np.testing.assert_allclose(np.ldexp(big.x, 120), base.x, rtol=0,
                               atol=1e-12 * base.x.max())


def test_stacked_solve_hands_back_failed_blocks():
    # A Gram block that is not positive definite (rounding can make a singular block so) fails
    # its Cholesky: that column is handed back for the fallback, and the others are solved.
    rng = np.random.default_rng(23)
    A = rng.standard_normal((40, 8))
    G, C = A.T @ A, A.T @ rng.standard_normal((40, 3))
    G[2, 5] = G[5, 2] = 2.0 * np.sqrt(G[2, 2] * G[5, 5])  # |correlation| 2: indefinite
    P = np.zeros((8, 3), dtype=bool)
    P[[0, 2, 5], 0] = True  # holds the indefinite 2 x 2 block
    P[[0, 2, 4], 1] = True
    P[[1, 3, 6], 2] = True
    X = np.zeros((8, 3))
    bad = _stacked_solve(G, C, P, np.arange(3), X)
    np.testing.assert_array_equal(bad, [0])
    for j in (1, 2):
        F = P[:, j]
        np.testing.assert_allclose(X[F, j], np.linalg.solve(G[np.ix_(F, F)], C[F, j]),
                                   rtol=1e-12)
        assert np.all(X[~F, j] == 0)


def test_masked_cg_solves_passive_systems():
    # Enough steps of the masked conjugate gradient give every column's G_FF^{-1} c_F.
    rng = np.random.default_rng(20)
    A = rng.standard_normal((80, 30))
    G, C = A.T @ A, A.T @ rng.standard_normal((80, 7))
    P = rng.random((30, 7)) < 0.5
    X = np.zeros((30, 7))
    W = _masked_cg(G, X, C, P, 60)
    np.testing.assert_allclose(W, G @ X, rtol=0, atol=1e-9 * np.abs(W).max())
    for j in range(7):
        F = P[:, j]
        np.testing.assert_allclose(X[F, j], np.linalg.solve(G[np.ix_(F, F)], C[F, j]),
                                   rtol=1e-9, atol=1e-12)
        assert np.all(X[~F, j] == 0)


def test_batched_wide():
    rng = np.random.default_rng(6)
    A = rng.standard_normal((20, 60))
    B = rng.standard_normal((20, 7))
    out = active_set_nnls(A, B)
    assert out.x.shape == (60, 7) and out.converged.all()
    assert kkt(A, B, out.x) <= 1e-10


def test_gram_pair_gives_the_same_answer():
    rng = np.random.default_rng(7)
    A = rng.standard_normal((120, 60))
    b = rng.standard_normal(120)
    plain = active_set_nnls(A, b)
    with_gram = active_set_nnls(A, b, gram=(A.T @ A, A.T @ b))
    np.testing.assert_allclose(with_gram.x, plain.x, rtol=0, atol=1e-12)


def test_warm_start_same_answer_fewer_iterations():
    rng = np.random.default_rng(8)
    A = rng.standard_normal((400, 200))
    b = rng.standard_normal(400)
    cold = active_set_nnls(A, b)
    warm = active_set_nnls(A, b, x0=cold.x)
    np.testing.assert_allclose(warm.x, cold.x, rtol=0, atol=1e-12)
    assert warm.n_iter < cold.n_iter
    assert warm.n_iter == 1


def test_warm_start_many_right_hand_sides():
    rng = np.random.default_rng(9)
    A = rng.standard_normal((150, 60))
    B = rng.standard_normal((150, 30))
    cold = active_set_nnls(A, B)
    warm = active_set_nnls(A, B, x0=cold.x)
    np.testing.assert_allclose(warm.x, cold.x, rtol=0, atol=1e-12)
    assert np.all(warm.n_iter <= cold.n_iter) and np.all(warm.n_iter == 1)


def test_duplicate_columns():
    rng = np.random.default_rng(10)
    A0 = rng.standard_normal((60, 15))
    A = np.column_stack([A0, A0[:, :5]])  # rank 15, 20 columns
    b = rng.standard_normal(60)
    out = active_set_nnls(A, b)
    x_ref, _ = scipy.optimize.nnls(A, b)
    assert out.converged
    assert kkt(A, b, out.x) <= 1e-10
    assert objective(A, b, out.x) == pytest.approx(objective(A, b, x_ref), rel=1e-10)


def test_rank_deficient():
    rng = np.random.default_rng(11)
    A = rng.standard_normal((80, 8)) @ rng.standard_normal((8, 30))  # rank 8
    b = rng.standard_normal(80)
    out = active_set_nnls(A, b)
    x_ref, _ = scipy.optimize.nnls(A, b)
    assert np.all(np.isfinite(out.x)) and np.all(out.x >= 0)
    assert kkt(A, b, out.x) <= 1e-10
    assert objective(A, b, out.x) == pytest.approx(objective(A, b, x_ref), rel=1e-9)


def test_b_in_the_span_of_one_column():
    rng = np.random.default_rng(12)
    A = rng.standard_normal((40, 25))
    b = 3.0 * A[:, 7]
    out = active_set_nnls(A, b)
    expected = np.zeros(25)
    expected[7] = 3.0
    np.testing.assert_allclose(out.x, expected, rtol=0, atol=1e-12)
    assert out.converged


def test_tied_gradients_degenerate():
    # Every column has the same correlation with b and b is in the span: many vertices tie.
    A = np.array([[1.0, 0.0, 1.0, 0.5],
                  [0.0, 1.0, 1.0, 0.5],
                  [1.0, 1.0, 2.0, 1.0]])
    b = np.array([1.0, 1.0, 2.0])
    out = active_set_nnls(A, b)
    assert out.converged
    assert kkt(A, b, out.x) <= 1e-12
    assert objective(A, b, out.x) <= 1e-24


def test_negative_correlation_gives_zero():
    rng = np.random.default_rng(13)
    A = np.abs(rng.standard_normal((30, 40)))
    b = -np.abs(rng.standard_normal(30))
    out = active_set_nnls(A, b)
    np.testing.assert_array_equal(out.x, np.zeros(40))


@pytest.mark.parametrize("scale", [1e150, 1e-150])
@pytest.mark.parametrize("m,n", [(60, 30), (20, 50)])
def test_scale_invariance(scale, m, n):
    rng = np.random.default_rng(14)
    A = rng.standard_normal((m, n))
    b = rng.standard_normal(m)
    base = active_set_nnls(A, b).x
    scaled = active_set_nnls(A * scale, b * scale).x  # same x
    assert np.all(np.isfinite(scaled))
    np.testing.assert_allclose(scaled, base, rtol=0, atol=1e-10 * base.max())
    only_b = active_set_nnls(A, b * scale).x  # x scales with b
    np.testing.assert_allclose(only_b / scale, base, rtol=0, atol=1e-10 * base.max())


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), log_scale=st.integers(-140, 140),
       shape=st.sampled_from([(30, 12), (12, 30), (40, 40)]))
def test_property_scaling_and_permutation(seed, log_scale, shape):
    rng = np.random.default_rng(seed)
    m, n = shape
    A = rng.standard_normal((m, n))
    b = rng.standard_normal(m)
    base = active_set_nnls(A, b).x
    s = 2.0 ** log_scale
    assert kkt(A * s, b * s, active_set_nnls(A * s, b * s).x) <= 1e-10
    perm = rng.permutation(n)
    xp = active_set_nnls(A[:, perm], b).x
    assert kkt(A[:, perm], b, xp) <= 1e-10
    if m >= n:  # unique solution: permuting the columns permutes x
        np.testing.assert_allclose(xp, base[perm], rtol=0, atol=1e-9 * max(1.0, base.max()))


def test_shaw_ill_conditioned_no_cycling():
    A, _, x_true = problems.shaw(300, noise=0.0)
    rng = np.random.default_rng(15)
    b = A @ x_true
    b = b + 1e-3 * np.linalg.norm(b) / np.sqrt(b.size) * rng.standard_normal(b.size)
    out = active_set_nnls(A, b, max_iter=200)
    assert np.all(np.isfinite(out.x)) and np.all(out.x >= 0)
    assert out.converged
    assert kkt(A, b, out.x) <= 1e-8
    x_ref, _ = scipy.optimize.nnls(A, b)
    assert objective(A, b, out.x) <= objective(A, b, x_ref) * (1 + 1e-6) + 1e-14
    if "block principal pivoting" not in out.message.split(":")[0]:
        assert "fell back" in out.message or "skipped" in out.message
    # The outcome record says the same: every path before the last was left uncertified,
    # and the last one named the output's path.
    assert not any(attempt.exit.certified for attempt in out.trail[:-1])
    assert out.trail[-1].path.value == out.path


def test_blur_ill_conditioned_terminates():
    n, sigma = 300, 3.0
    d = np.arange(n)[:, None] - np.arange(n)[None, :]
    A = np.exp(-0.5 * (d / sigma) ** 2)
    rng = np.random.default_rng(16)
    x_true = np.zeros(n)
    x_true[50:90] = 1.0
    x_true[rng.choice(n, 5, replace=False)] += 2.0
    b = A @ x_true + 1e-3 * rng.standard_normal(n)
    out = active_set_nnls(A, b)
    assert np.all(np.isfinite(out.x)) and np.all(out.x >= 0)
    assert kkt(A, b, out.x) <= 1e-8
    x_ref, _ = scipy.optimize.nnls(A, b)
    assert objective(A, b, out.x) <= objective(A, b, x_ref) * (1 + 1e-6) + 1e-14
    assert isinstance(out.message, str) and out.message


@pytest.mark.parametrize("n", [300, 600])
def test_blur_exact_through_gram_lawson_hanson(n):
    # Block pivoting's passive sets turn singular here; Lawson-Hanson on the Gram matrix must
    # take over and still be exact (kkt measured on A), with scipy's optimal value.
    A, b, _ = problems.blur(n, sigma=4.0, seed=21)
    out = active_set_nnls(A, b)
    assert out.converged
    assert "Lawson-Hanson on the Gram matrix" in out.message
    assert kkt(A, b, out.x) <= 1e-11
    x_ref, _ = scipy.optimize.nnls(A, b)
    assert objective(A, b, out.x) == pytest.approx(objective(A, b, x_ref), rel=1e-9)


@pytest.mark.parametrize("m,n", [(60, 40), (200, 100), (400, 200)])
def test_gram_lawson_hanson_matches_scipy(m, n):
    rng = np.random.default_rng(22)
    A = rng.standard_normal((m, n))
    b = rng.standard_normal(m)
    x, _, ok, why = _lawson_hanson_gram(A.T @ A, A.T @ b, None, 10 * n)
    assert ok, why
    x_ref, _ = scipy.optimize.nnls(A, b)
    np.testing.assert_allclose(x, x_ref, rtol=0, atol=1e-10 * max(1.0, x_ref.max()))
    # A warm start from the answer finishes at once.
    x2, it, ok2, _ = _lawson_hanson_gram(A.T @ A, A.T @ b, x > 0, 10 * n)
    assert ok2 and it == 1
    np.testing.assert_allclose(x2, x, rtol=0, atol=1e-12 * max(1.0, x.max()))


@pytest.mark.parametrize("compiled", [True, False])
def test_cholesky_downdate(compiled, monkeypatch):
    # The packed factor of the Gram Lawson-Hanson path, compiled and in numpy: removing
    # variables leaves the factor of the kept ones (cond(A) ~ 3: 1e-12 is far above rounding).
    if compiled and working_set._cholc is None:
        pytest.skip("the extension _cholc was not built")
    monkeypatch.setenv("REPARAM_NO_EXTENSION", "" if compiled else "1")
    rng = np.random.default_rng(23)
    A = rng.standard_normal((50, 20))
    G = A.T @ A
    for _ in range(5):
        U = PackedFactor.from_lower(np.linalg.cholesky(G))
        drop = rng.random(20) < 0.3
        U.remove(drop)
        Un = U.dense()
        np.testing.assert_allclose(Un.T @ Un, G[np.ix_(~drop, ~drop)], rtol=0,
                                   atol=1e-12 * np.abs(G).max())
        y = rng.standard_normal(Un.shape[0])
        np.testing.assert_allclose(U.solve(y), np.linalg.solve(Un.T @ Un, y), rtol=1e-10)


def test_compiled_gram_inner_loop_matches_numpy(monkeypatch):
    # Lawson-Hanson's inner loop on the packed factor, in one compiled call and in numpy
    # (solve, step to the boundary, downdate per variable that leaves) from the same state:
    # the same variables leave, the same x, the factor of the variables kept.
    if working_set._cholc is None:
        pytest.skip("the extension _cholc was not built")
    rng = np.random.default_rng(35)
    A = rng.standard_normal((120, 60))
    G = A.T @ A
    c = A.T @ rng.standard_normal(120)
    F0 = np.sort(rng.choice(60, 40, replace=False))
    x0 = np.zeros(60)
    x0[F0[::2]] = rng.random(20)  # half positive, half entering at zero
    results = []
    for compiled in (True, False):
        monkeypatch.setenv("REPARAM_NO_EXTENSION", "" if compiled else "1")
        U = PackedFactor.from_lower(np.linalg.cholesky(G[np.ix_(F0, F0)]))
        passive = np.zeros(60, dtype=bool)
        passive[F0] = True
        blocked = np.ones(60, dtype=bool)
        x, F = _lh_gram_inner(G, c, x0.copy(), U, F0.copy(), passive, blocked)
        results.append((x, F, U.dense(), passive, blocked))
    (xc, Fc, Uc, pc, bc), (xn, Fn, Un, pn, bn) = results
    assert 0 < Fc.size < F0.size  # some variables left
    np.testing.assert_array_equal(Fc, Fn)
    np.testing.assert_array_equal(pc, pn)
    np.testing.assert_array_equal(bc, bn)
    np.testing.assert_allclose(xc, xn, rtol=1e-10, atol=1e-12)
    for U in (Uc, Un):  # (the rows' signs may differ between the two sweeps)
        np.testing.assert_allclose(U.T @ U, G[np.ix_(Fc, Fc)], atol=1e-10 * np.abs(G).max())
    assert np.all(xc[Fc] > 0) and np.all(xc[np.setdiff1d(np.arange(60), Fc)] == 0)


def test_packed_factor_grows_past_its_buffer():
    # Columns appended one by one (as Lawson-Hanson enters variables) give the factor of the
    # whole Gram matrix, across the buffer's reallocations (first capacity 64 columns).
    rng = np.random.default_rng(24)
    A = rng.standard_normal((200, 150))
    G = A.T @ A
    U = PackedFactor()
    for j in range(150):
        ell = U.lower_solve(G[:j, j]) if j else np.zeros(0)
        U.append(ell, np.sqrt(G[j, j] - ell @ ell))
    Ud = U.dense()
    np.testing.assert_allclose(Ud.T @ Ud, G, rtol=0, atol=1e-10 * np.abs(G).max())


def test_iteration_cap_reports_not_converged_or_falls_back():
    rng = np.random.default_rng(17)
    A = rng.standard_normal((200, 100))
    b = rng.standard_normal(200)
    out = active_set_nnls(A, b, max_iter=1)
    # One pivoting round cannot finish from x = 0: a fallback must say so, and the last
    # resort, scipy.optimize.nnls, is held to the same cap (3 max_iter Lawson-Hanson steps),
    # so the answer is reported as not converged.
    assert "fell back" in out.message
    assert not out.converged
    assert np.all(out.x >= 0)
    out = active_set_nnls(A, b, max_iter=None)
    assert out.converged and kkt(A, b, out.x) <= 1e-10


def test_qr_remove_keeps_a_thin_qr_of_the_kept_columns():
    # Deleting columns by Givens sweeps must leave Q orthonormal, R upper triangular and
    # Q R equal to the kept columns; square Q (|F| = m) included, where the library returns
    # the full factorization.
    rng = np.random.default_rng(31)
    for m, s in [(40, 25), (25, 25)]:
        V = rng.standard_normal((m, s))
        Q, R = np.linalg.qr(V)
        drop = rng.random(s) < 0.3
        drop[0] = drop[-1] = True
        Qn, Rn = _qr_remove(Q.copy(), R.copy(), drop)
        assert Qn.shape == (m, s - drop.sum()) and Rn.shape == (s - drop.sum(),) * 2
        assert np.allclose(np.tril(Rn, -1), 0)
        np.testing.assert_allclose(Qn.T @ Qn, np.eye(Qn.shape[1]), atol=1e-13)
        np.testing.assert_allclose(Qn @ Rn, V[:, ~drop], atol=1e-12 * np.abs(V).max())


def test_gram_rows_gradient_matches_the_full_product():
    # The cached rows must give c - G x for any passive set, across entries, exits,
    # re-entries and the compaction of the buffer (more entries than its first capacity).
    rng = np.random.default_rng(32)
    n = 150
    A = rng.standard_normal((200, n))
    G, c = A.T @ A, rng.standard_normal(n)
    rows = _GramRows(G)
    x = np.zeros(n)
    for _ in range(12):
        F = np.flatnonzero(rng.random(n) < 0.5)
        x[:] = 0.0
        x[F] = rng.random(F.size)
        np.testing.assert_allclose(rows.gradient(c, x, F), c - G @ x, atol=1e-10)


def test_path_field_names_the_kernel():
    rng = np.random.default_rng(33)
    tall = active_set_nnls(rng.standard_normal((120, 80)), rng.standard_normal(120))
    wide = active_set_nnls(rng.standard_normal((120, 700)), rng.standard_normal(120))
    small = active_set_nnls(rng.standard_normal((30, 10)), rng.standard_normal(30))
    assert tall.path == "block-pivoting" and wide.path == "working-set"
    assert small.path == "scipy" and "scipy" in small.message


def test_trail_records_each_path_and_why_it_was_left(monkeypatch):
    rng = np.random.default_rng(33)
    tall = active_set_nnls(rng.standard_normal((120, 80)), rng.standard_normal(120))
    assert [(a.path, a.exit.reason) for a in tall.trail] == [
        (Path.BLOCK_PIVOTING, Reason.CERTIFIED)]
    assert tall.trail[-1].n_iter == tall.n_iter
    small = active_set_nnls(rng.standard_normal((30, 10)), rng.standard_normal(30))
    assert [(a.path, a.exit.reason) for a in small.trail] == [(Path.SCIPY, Reason.FINISHED)]
    # Blur, without the probe of adjacent columns that sends it to the Gram Lawson-Hanson
    # at once: columns enter the working set a few at a time, so it hands over to the Gram
    # path; block pivoting's passive sets turn singular, Lawson-Hanson on the Gram matrix
    # finishes; each exit is in the message.
    A, b, _ = problems.blur(300, sigma=4.0, seed=21)
    with monkeypatch.context() as patch:
        patch.setattr(_front, "_dependent_neighbours", lambda A: False)
        blur = active_set_nnls(A, b)
    patient, first, last = blur.trail[0], blur.trail[1], blur.trail[-1]
    assert patient.path is Path.WORKING_SET and patient.exit.reason is Reason.ROUND_BUDGET
    assert patient.exit.text in blur.message
    assert first.path is Path.BLOCK_PIVOTING and first.exit.reason.ill_conditioned
    assert first.exit.text and first.exit.text in blur.message
    assert last.path is Path.LAWSON_HANSON_GRAM and last.exit.certified
    assert blur.path == last.path.value
    # Many right-hand sides, wide: every column goes one at a time.
    B = rng.standard_normal((120, 3))
    wide = active_set_nnls(rng.standard_normal((120, 700)), B)
    assert [a.path for a in wide.trail] == [Path.COLUMNS] and wide.path == "columns"
    assert wide.trail[0].exit.certified == bool(np.all(wide.converged))


@pytest.mark.parametrize("compiled", [True, False])
def test_blur_goes_straight_to_gram_lawson_hanson(compiled, monkeypatch):
    # Adjacent columns of a blur are nearly parallel: the working set gets its few rounds,
    # block pivoting is skipped (the trail says why) and Lawson-Hanson on the Gram matrix,
    # several variables entering per iteration, gives scipy's optimum, certified on A. The
    # same problem through the old route (probe off) gives the same optimum; a Gaussian
    # problem of the same shape keeps the working set, to its end.
    if compiled and working_set._cholc is None:
        pytest.skip("the extension _cholc was not built")
    monkeypatch.setenv("REPARAM_NO_EXTENSION", "" if compiled else "1")
    A, b, _ = problems.blur(400, sigma=4.0, seed=3)
    out = active_set_nnls(A, b)
    assert [(a.path, a.exit.reason) for a in out.trail] == [
        (Path.WORKING_SET, Reason.ROUND_BUDGET),
        (Path.BLOCK_PIVOTING, Reason.DEPENDENT_NEIGHBOURS),
        (Path.LAWSON_HANSON_GRAM, Reason.CERTIFIED)]
    assert out.trail[0].n_iter == _front._WS_NEIGHBOUR_PATIENCE
    assert out.path == "lawson-hanson-gram" and out.trail[1].exit.text in out.message
    assert out.converged and kkt(A, b, out.x) <= 1e-11
    x_ref, _ = scipy.optimize.nnls(A, b, maxiter=50 * A.shape[1])
    f_ref = objective(A, b, x_ref)
    assert objective(A, b, out.x) <= f_ref * (1 + 1e-9)
    with monkeypatch.context() as patch:
        patch.setattr(_front, "_dependent_neighbours", lambda A: False)
        old = active_set_nnls(A, b)
    assert old.trail[0].path is Path.WORKING_SET and old.converged
    assert objective(A, b, out.x) == pytest.approx(objective(A, b, old.x), rel=1e-9)
    # the control: Gaussian columns are not dependent, neighbours or not
    rng = np.random.default_rng(34)
    G = rng.standard_normal((600, 400))
    g = G @ np.abs(rng.standard_normal(400)) + rng.standard_normal(600)
    assert not _front._dependent_neighbours(G)
    gauss = active_set_nnls(G, g)
    assert [(a.path, a.exit.reason) for a in gauss.trail] == [
        (Path.WORKING_SET, Reason.CERTIFIED)]
    # nearly parallel neighbours, an answer of a few columns: the working set's rounds finish
    rng = np.random.default_rng(0)
    C = np.cumsum(rng.random((800, 400)), axis=1)
    r = 100 * rng.random(800)
    assert _front._dependent_neighbours(C)
    few = active_set_nnls(C, r)
    assert [(a.path, a.exit.reason) for a in few.trail] == [
        (Path.WORKING_SET, Reason.CERTIFIED)]
    x_ref, _ = scipy.optimize.nnls(C, r)
    assert objective(C, r, few.x) <= objective(C, r, x_ref) * (1 + 1e-9)


@pytest.mark.parametrize("sigma", [2.0, 8.0])
def test_gram_lawson_hanson_blocks_match_the_classical_algorithm(sigma):
    # Several variables per iteration (block 32) and one (the classical algorithm) reach the
    # same optimum; a blur short of the KKT bound by rounding (sigma = 8) is finished by the
    # QR path from the Gram path's support, certified on A.
    A, b, _ = problems.blur(500, sigma=sigma, seed=4)
    G, c = A.T @ A, A.T @ b
    x1, it1, _, _ = _lawson_hanson_gram(G, c, None, 5000, block=1)
    x32, it32, _, _ = _lawson_hanson_gram(G, c, None, 5000, block=32)
    assert it32 < it1
    assert objective(A, b, x32) == pytest.approx(objective(A, b, x1), rel=1e-8)
    out = active_set_nnls(A, b)
    assert out.converged and kkt(A, b, out.x) <= 1e-11
    x_ref, _ = scipy.optimize.nnls(A, b, maxiter=50 * A.shape[1])
    assert objective(A, b, out.x) <= objective(A, b, x_ref) * (1 + 1e-9)


def test_iteration_cap_leaves_a_trail_of_exits():
    rng = np.random.default_rng(17)
    A = rng.standard_normal((200, 100))
    b = rng.standard_normal(200)
    out = active_set_nnls(A, b, max_iter=1)
    paths = [a.path for a in out.trail]
    assert paths[0] is Path.BLOCK_PIVOTING and paths[-1] is Path.SCIPY
    assert all(not a.exit.certified for a in out.trail[:-1])
    assert out.trail[-1].exit.reason is (Reason.FINISHED if out.converged
                                         else Reason.ITERATION_CAP)


@pytest.mark.parametrize("width", [1, 3, 8, 32])
def test_entering_takes_the_most_violating_weakly_correlated_candidates(width):
    # _entering against its rule written out: among the 2 width candidates of largest w, in
    # that order, those whose |cos| with every candidate ranked above them is at most
    # _LH_CORRELATED, the first width of them; the largest w always enters
    rng = np.random.default_rng(width)
    A = rng.standard_normal((40, 90))
    A[:, 1::2] = A[:, 0:-1:2] + 0.3 * rng.standard_normal((40, 45))  # correlated neighbours
    G = A.T @ A
    norms = np.sqrt(np.diag(G))
    w = rng.standard_normal(90)
    cand = np.flatnonzero(w > 0)
    got = _entering(G, norms, w, cand, width)
    ranked = cand[np.argsort(-w[cand], kind="stable")][:2 * width]
    cos = np.abs(G / norms[:, None] / norms[None, :])
    expect = [j for r, j in enumerate(ranked)
              if all(cos[i, j] <= _LH_CORRELATED for i in ranked[:r])]
    expect = expect[:1] if width == 1 else expect[:width]
    np.testing.assert_array_equal(got, expect)
    assert got[0] == cand[np.argmax(w[cand])]
    if width > 1:
        assert 1 < len(got) < len(ranked)  # some enter together, some wait
