"""The compiled small-system path of rp.nnls: block principal pivoting on the Gram pair
(``small.bpp_small``, in C as ``_bppc.bpp_gram`` where the extension was built) and the
certificate in one compiled call (``small.compiled_certificate``).

Every case runs with the extension and without it (``REPARAM_NO_EXTENSION=1``): both must give
the certified answer of the general path and of scipy.optimize.nnls, raise the same errors on
bad input and leave the input untouched. The compiled pivoting follows the numpy version's
rules and tolerances, so on problems with a unique solution it takes the same rounds to the
same ``x`` up to rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize

import reparam as rp
from reparam import _nnls
from reparam.domains import orthant_kkt
from reparam.solvers.active_set import small

# Both are exact answers in float64: objectives agree to this relative precision (room for
# conditioning up to ~1e5, as in the other exact-path tests).
OBJ_RTOL = 1e-10
EPS = np.finfo(float).eps


@pytest.fixture(params=["compiled", "numpy"])
def kernel(request, monkeypatch):
    """Runs a test with the extension (skipped where it was not built) and without it."""
    if request.param == "compiled":
        if small._bppc is None:
            pytest.skip("the extension was not built")
        monkeypatch.delenv("REPARAM_NO_EXTENSION", raising=False)
    else:
        monkeypatch.setenv("REPARAM_NO_EXTENSION", "1")
    return request.param


CASES = ["gaussian", "exact fit", "zero column", "duplicated", "b = 0", "x = 0 optimal",
         "badly scaled", "nearly dependent", "rank-deficient"]
# 30: Lawson-Hanson on A; 40-64: pivoting on the Gram pair, Lawson-Hanson behind it;
# 90-200: pivoting on the Gram pair, the exact kernel behind it.
SHAPES = [(60, 30), (80, 40), (70, 64), (120, 90), (300, 200)]
UNIQUE = {"gaussian", "exact fit", "zero column", "b = 0", "x = 0 optimal", "badly scaled"}


def _problem(case, m, n, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    b = rng.standard_normal(m)
    if case == "exact fit":  # degenerate complementarity: zeros of x* with zero gradient
        b = A @ np.where(rng.random(n) < 0.5, rng.random(n), 0.0)
    elif case == "zero column":
        A[:, n // 3] = 0.0
    elif case == "duplicated":
        A[:, n // 2:] = A[:, : n - n // 2]
    elif case == "b = 0":
        b = np.zeros(m)
    elif case == "x = 0 optimal":  # A^T b < 0: looks infeasible, x = 0 is the answer
        A, b = np.abs(A), -np.abs(b)
    elif case == "badly scaled":
        A *= 10.0 ** rng.uniform(-6, 6, n)
    elif case == "nearly dependent":
        A[:, 1] = A[:, 0] + 1e-7 * rng.standard_normal(m)
    elif case == "rank-deficient":
        A = A[:, : n // 3] @ rng.standard_normal((n // 3, n))
    return A, b


def _objective(A, b, x):
    r = A @ np.asarray(x, float) - b
    return 0.5 * float(r @ r)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("m, n", SHAPES)
def test_same_certified_answer_as_the_general_path_and_scipy(kernel, case, m, n):
    A, b = _problem(case, m, n, seed=m + n)
    res = rp.nnls(A, b)
    ref = _nnls._general(A, b, "active-set", None, {})  # validation, dispatch, _finish
    x_sp = scipy.optimize.nnls(A, b, maxiter=30 * n)[0]
    f, f_ref, f_sp = _objective(A, b, res.x), _objective(A, b, ref.x), _objective(A, b, x_sp)
    assert res.success and res.kkt <= 1e-10, res.message
    # an exact fit's residual is rounding: 1e-12 ||b|| (about m eps ||A|| ||x||) of it allowed
    f_abs = 0.5 * (1e-12 * np.linalg.norm(b)) ** 2
    assert f <= min(f_ref, f_sp) * (1 + OBJ_RTOL) + f_abs
    assert res.objective == pytest.approx(f, rel=1e-12, abs=f_abs)
    assert res.kkt == pytest.approx(rp.kkt_residual(A, b, res.x), rel=1e-6, abs=1e-14)
    assert res.x.dtype == np.float64 and np.all(res.x >= 0) and res.method == "active-set"
    if case in UNIQUE:  # full column rank: one answer, to rounding
        scale = np.linalg.norm(A, axis=0)  # compare the contributions c_i x_i
        np.testing.assert_allclose(res.x * scale, ref.x * scale, rtol=0,
                                   atol=1e-9 * max(np.linalg.norm(b), 1e-300))
    if case in ("b = 0", "x = 0 optimal"):
        assert not np.any(res.x)
    if case == "zero column":
        assert res.x[n // 3] == 0.0


@pytest.mark.parametrize("m, n", [(80, 40), (300, 200)])
def test_the_message_names_the_kernel(kernel, m, n):
    A, b = _problem("gaussian", m, n, seed=1)
    res = rp.nnls(A, b)
    assert "block principal pivoting" in res.message
    assert ("(compiled)" in res.message) == (kernel == "compiled")
    assert res.n_iter >= 1


@pytest.mark.parametrize("order", ["C", "F", "strided", "strided b"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layouts_and_float32(kernel, order, dtype):
    # F order is certified by the compiled certificate column by column, a strided view by
    # numpy; float32 gives a float32 x whose report describes the rounded x.
    A, b = _problem("gaussian", 90, 90, seed=2)
    if order == "strided b":
        A, b = np.ascontiguousarray(A[::2, :40]), b[::2]
    else:
        A = A[:, :45] if order == "strided" else np.asarray(A[:, :45], order=order)
    A, b = A.astype(dtype, copy=False), b.astype(dtype)
    res = rp.nnls(A, b)
    A64, b64 = A.astype(float), b.astype(float)
    x_sp = scipy.optimize.nnls(A64, b64)[0]
    assert res.x.dtype == dtype and res.success
    assert res.kkt == pytest.approx(rp.kkt_residual(A64, b64, res.x.astype(float)), rel=1e-6,
                                    abs=1e-14)
    rtol = 1e-5 if dtype == np.float32 else OBJ_RTOL
    assert _objective(A64, b64, res.x) <= _objective(A64, b64, x_sp) * (1 + rtol)


def test_compiled_pivoting_takes_the_numpy_rounds(monkeypatch):
    # The same rules and tolerances: the same rounds and the same x up to rounding, on
    # problems with a unique solution (cond(G) up to ~1e4 here, so 1e-10 relative is room).
    if small._bppc is None:
        pytest.skip("the extension was not built")
    for seed in range(40):
        rng = np.random.default_rng(seed)
        m = int(rng.integers(20, 300))
        n = int(rng.integers(1, min(m, 255) + 1))
        A, b = rng.standard_normal((m, n)), rng.standard_normal(m)
        if seed % 2:
            b = A @ np.where(rng.random(n) < 0.5, rng.random(n), 0.0) + 1e-2 * b
        G, c = A.T @ A, A.T @ b
        args = (G, c, np.sqrt(np.diag(G)), float(np.linalg.norm(b)), 3 * n + 50)
        x_c, rounds_c = small.bpp_small(*args, compiled=True)
        x_n, rounds_n = small.bpp_small(*args, compiled=False)
        assert rounds_c == rounds_n and x_c is not None and x_n is not None
        np.testing.assert_allclose(x_c, x_n, rtol=0, atol=1e-10 * max(1.0, np.abs(x_n).max()))


def test_compiled_pivoting_backup_rule(monkeypatch):
    # With no full exchange allowed every stalled round flips one variable (Júdice-Pires):
    # more rounds, the same answer; the compiled kernel reads the module's setting.
    if small._bppc is None:
        pytest.skip("the extension was not built")
    rng = np.random.default_rng(9)
    A, b = rng.standard_normal((70, 45)), rng.standard_normal(70)
    G, c = A.T @ A, A.T @ b
    args = (G, c, np.sqrt(np.diag(G)), float(np.linalg.norm(b)), 500)
    x, rounds = small.bpp_small(*args, compiled=True)
    monkeypatch.setattr(small, "_FULL_EXCHANGES", 0)
    x_backup, backup_rounds = small.bpp_small(*args, compiled=True)
    assert backup_rounds > rounds
    np.testing.assert_allclose(x_backup, x, atol=1e-12)
    assert small.bpp_small(*args[:4], 1, compiled=True)[0] is None  # the round cap holds


def test_compiled_pivoting_refuses_a_singular_block():
    # Duplicated columns make a passive block singular: no answer (the caller goes on).
    if small._bppc is None:
        pytest.skip("the extension was not built")
    rng = np.random.default_rng(3)
    A = rng.standard_normal((80, 40))
    A[:, 20:] = A[:, :20]
    b = A @ np.ones(40)
    G, c = A.T @ A, A.T @ b
    x, rounds = small.bpp_small(G, c, np.sqrt(np.diag(G)), float(np.linalg.norm(b)), 200,
                                compiled=True)
    assert x is None and rounds == 1


@pytest.mark.parametrize("order", ["C", "F"])
def test_compiled_certificate_matches_numpy(order):
    if small._bppc is None:
        pytest.skip("the extension was not built")
    rng = np.random.default_rng(4)
    A = np.asarray(rng.standard_normal((50, 30)), order=order)
    b = rng.standard_normal(50)
    x = np.where(rng.random(30) < 0.5, rng.random(30), 0.0)
    c = np.linalg.norm(A, axis=0)
    t, rr, xg = small.compiled_certificate(A, b, x, c, True)
    r = A @ x - b
    g = A.T @ r
    # each entry of r and g is a sum of products: equal up to its rounding (m eps |A| |x|)
    A_abs = np.abs(A)
    g_err = 50 * EPS * (A_abs.T @ (A_abs @ x + np.abs(b)))
    assert t == pytest.approx(float(orthant_kkt(x, g, c, 1.0)), abs=float(np.max(g_err / c)))
    assert rr == pytest.approx(float(r @ r), rel=1e-13)
    assert xg == pytest.approx(float(x @ g), abs=float(x @ g_err))
    assert small.compiled_certificate(A[:, ::2], b, x[::2].copy(), c[::2].copy(), True) is None
    assert small.compiled_certificate(A[::2], b[::2], x, c, True) is None  # strided b
    assert small.compiled_certificate(A, b, x, c, False) is None
    x[3] = np.nan  # a NaN anywhere makes the certificate NaN: never CONVERGED
    assert np.isnan(small.compiled_certificate(A, b, x, c, True)[0])


def test_compiled_functions_check_their_arguments():
    if small._bppc is None:
        pytest.skip("the extension was not built")
    G, c, x = np.eye(4), np.ones(4), np.empty(4)
    with pytest.raises(ValueError, match="G must be"):
        small._bppc.bpp_gram(np.ones((4, 3)), c, c, 1e-13, x, 10, 3)
    with pytest.raises(ValueError, match="c: expected"):
        small._bppc.bpp_gram(G, np.ones(5), c, 1e-13, x, 10, 3)
    with pytest.raises(ValueError, match="x: expected"):
        small._bppc.bpp_gram(G, c, c, 1e-13, np.empty(4, dtype=np.float32), 10, 3)
    with pytest.raises(ValueError, match="b: expected"):
        small._bppc.certify(np.ones((3, 4)), np.ones(4), x, c)
    with pytest.raises(ValueError, match="A must be"):
        small._bppc.certify(np.ones((3, 4), dtype=np.float32), np.ones(3), x, c)


@pytest.mark.parametrize("m, n", [(20, 10), (80, 40), (300, 200)])
@pytest.mark.parametrize("fault", ["nan in A", "inf in A", "inf in b", "rows", "dtype"])
def test_bad_input_raises_the_same_named_error(monkeypatch, m, n, fault):
    # A NaN inside A (not in its first column) once slipped past the small-system checks.
    A, b = _problem("gaussian", m, n, seed=5)
    if fault == "nan in A":
        A[3, 7] = np.nan
        exc, match = ValueError, "A contains 1 non-finite"
    elif fault == "inf in A":
        A[0, 0] = np.inf
        exc, match = ValueError, "A contains 1 non-finite"
    elif fault == "inf in b":
        b[5] = -np.inf
        exc, match = ValueError, "b contains 1 non-finite"
    elif fault == "rows":
        b = b[:-1]
        exc, match = ValueError, rf"b has shape \({m - 1},\), but A has {m} rows"
    else:
        A = A.astype(str)
        exc, match = TypeError, "A has dtype"
    messages = []
    for env in ("", "1"):
        monkeypatch.setenv("REPARAM_NO_EXTENSION", env)
        with pytest.raises(exc, match=match) as info:
            rp.nnls(A, b)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("m, n", [(60, 30), (80, 40), (300, 200)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_inputs_are_not_mutated(kernel, m, n, dtype):
    A, b = _problem("exact fit", m, n, seed=6)
    A, b = np.asfortranarray(A.astype(dtype)), b.astype(dtype)
    A_copy, b_copy = A.copy(order="K"), b.copy()
    res = rp.nnls(A, b)
    _ = res.objective, res.complementarity, res.kkt, res.message  # a deferred report too
    np.testing.assert_array_equal(A, A_copy)
    np.testing.assert_array_equal(b, b_copy)
    assert A.flags.f_contiguous and A.flags.writeable and b.flags.writeable
    assert not np.shares_memory(res.x, A) and not np.shares_memory(res.x, b)


@pytest.mark.parametrize("m, n", [(80, 40), (300, 200)])
def test_the_result_carries_its_report(kernel, m, n):
    A, b = _problem("gaussian", m, n, seed=7)
    res = rp.nnls(A, b)
    g = A.T @ (A @ res.x - b)
    A_abs = np.abs(A)
    g_err = m * EPS * (A_abs.T @ (A_abs @ res.x + np.abs(b)))
    assert res.status is rp.Status.CONVERGED and res.success
    assert res.objective == pytest.approx(_objective(A, b, res.x), rel=1e-12)
    assert res.complementarity == pytest.approx(abs(res.x @ g), abs=float(res.x @ g_err))
    assert res.time > 0 and res.info == {} and res.history is None
    assert isinstance(res.n_iter, int) and isinstance(res.kkt, float)
    text = str(res)
    assert "active-set" in text and "converged" in text.lower()


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("m, n", [(10, 5), (80, 40), (300, 200)])
def test_one_call_path_equals_the_separate_calls(monkeypatch, case, m, n):
    # solve_small_compiled runs the same C code as bpp_small + compiled_certificate: the same
    # x, rounds, objective and message, to the bit (the certificate's normalizer |b| is summed
    # in another order: a few ulps); what it does not finish, they handle.
    if small._bppc is None:
        pytest.skip("the extension was not built")
    monkeypatch.delenv("REPARAM_NO_EXTENSION", raising=False)
    A, b = _problem(case, m, n, seed=m * n)
    fused = rp.nnls(A, b)
    monkeypatch.setattr(_nnls, "solve_small_compiled",
                        lambda *args: (1, None, 1, np.nan, np.nan, np.nan))
    separate = rp.nnls(A, b)
    np.testing.assert_array_equal(fused.x, separate.x)
    assert (fused.n_iter, fused.status) == (separate.n_iter, separate.status)
    assert fused.kkt == pytest.approx(separate.kkt, rel=1e-14, abs=1e-300)
    assert fused.objective == separate.objective and fused.message == separate.message
    assert fused.complementarity == separate.complementarity


def test_all_columns_certified_block_by_block_as_all_at_once(monkeypatch):
    # all_columns_bpp measures every column's KKT residual through a buffer a block of
    # columns at a time: a block of 3 columns (and a shorter last one) must certify exactly
    # the columns that all at once certifies, with the same answer
    rng = np.random.default_rng(4)
    A = rng.standard_normal((30, 12))
    B = rng.standard_normal((30, 50))
    G, C = A.T @ A, A.T @ B
    whole = small.all_columns_bpp(G, C, None, 100)
    monkeypatch.setattr(small, "_CERTIFY_ENTRIES", 36)
    blocks = small.all_columns_bpp(G, C, None, 100)
    np.testing.assert_array_equal(blocks[0], whole[0])
    np.testing.assert_array_equal(blocks[2], whole[2])
    assert whole[2].all()
    ref = np.column_stack([scipy.optimize.nnls(A, B[:, j])[0] for j in range(50)])
    np.testing.assert_allclose(blocks[0], ref, atol=1e-10)


def _many_columns(rng, m, n, k):
    A = rng.standard_normal((m, n))
    X = np.where(rng.random((n, k)) < 0.5, rng.random((n, k)), 0.0)
    B = A @ X + 0.1 * rng.standard_normal((m, k))
    return A, B, X


@pytest.mark.parametrize("layout", ["C", "F", "column slice", "strided", "one column"])
def test_certify_columns_compiled_matches_numpy(layout):
    # the compiled passes (subtraction with the sums of squares; the n x k block) against
    # numpy's subtraction and reductions, on every memory layout the lean path can hand over
    if small._bppc is None:
        pytest.skip("the extension was not built")
    rng = np.random.default_rng(7)
    m, n, k = 90, 12, 41
    A, B, X = _many_columns(rng, m, n, 2 * k + 1)
    if layout == "C":
        B, X = B[:, :k].copy(), X[:, :k].copy()
    elif layout == "F":
        A, B, X = np.asfortranarray(A), np.asfortranarray(B[:, :k]), np.asfortranarray(X[:, :k])
    elif layout == "column slice":  # the lean path's chunks: rows longer than the chunk
        B, X = B[:, 3:3 + k], X[:, 3:3 + k]
    elif layout == "strided":  # no unit stride anywhere
        A, B, X = A[::1, :], B[:, ::2], X[:, ::2]
    else:
        B, X = B[:, :1], X[:, :1]
    c = np.linalg.norm(A, axis=0)
    norm = np.linalg.norm(B, axis=0)
    B_before = B.copy()
    ours = small.certify_columns(A, B, X, c, True)
    ref = small.certify_columns(A, B, X, c, False)
    np.testing.assert_array_equal(B, B_before)
    np.testing.assert_allclose(ours[3], norm**2, rtol=1e-14)  # |b_j|^2 from the same pass
    np.testing.assert_allclose(ref[3], norm**2, rtol=1e-14)
    given = small.certify_columns(A, B, X, c, True, ours[3])  # |b_j|^2 passed in
    for a, b in zip(given, ours):
        np.testing.assert_array_equal(a, b)
    R = A @ X - B
    G = A.T @ R
    A_abs = np.abs(A)
    g_err = m * EPS * (A_abs.T @ (A_abs @ np.abs(X) + np.abs(B)))  # rounding of each g_ij
    for j in range(X.shape[1]):
        kkt = float(orthant_kkt(X[:, j], G[:, j], c, norm[j]))
        tol = float(np.max(g_err[:, j] / c)) / norm[j]
        assert ours[0][j] == pytest.approx(kkt, abs=tol)
        assert ref[0][j] == pytest.approx(kkt, abs=tol)
    np.testing.assert_allclose(ours[1], 0.5 * np.sum(R * R, axis=0), rtol=1e-13)
    np.testing.assert_allclose(ours[1], ref[1], rtol=1e-13)
    xg_err = np.sum(X * g_err, axis=0)
    assert np.all(np.abs(ours[2] - np.abs(np.sum(X * G, axis=0))) <= xg_err)
    assert np.all(np.abs(ours[2] - ref[2]) <= 2 * xg_err)


def test_certify_columns_nan_makes_only_its_column_nan():
    if small._bppc is None:
        pytest.skip("the extension was not built")
    rng = np.random.default_rng(8)
    A, B, X = _many_columns(rng, 40, 6, 9)
    X[2, 4] = np.nan  # a NaN in x (every entry of its residual and gradient is NaN)
    c = np.linalg.norm(A, axis=0)
    for compiled in (True, False):
        kkt, objective, complementarity, _ = small.certify_columns(A, B, X, c, compiled)
        assert np.isnan(kkt[4]) and np.isnan(objective[4]) and np.isnan(complementarity[4])
        others = np.arange(9) != 4
        assert np.all(np.isfinite(kkt[others])) and np.all(np.isfinite(objective[others]))
    # a NaN gradient entry alone, after a larger finite term: the maximum stays NaN
    G = np.zeros((2, 1))
    G[1, 0] = np.nan
    out = np.empty((2, 1))
    small._bppc.kkt_columns(np.array([[1.0], [0.0]]), G, np.ones(2), out)
    assert np.isnan(out[0, 0])
    G[1, 0] = 0.0
    small._bppc.kkt_columns(np.array([[1.0], [0.0]]), G, np.ones(2), out)
    assert out[0, 0] == 0.0 and out[1, 0] == 0.0
    G[0, 0] = -3.0  # |min(1 * 1, -3 / 1)| = 3
    small._bppc.kkt_columns(np.array([[1.0], [0.0]]), G, np.ones(2), out)
    assert out[0, 0] == 3.0 and out[1, 0] == -3.0


@pytest.mark.parametrize("k", [1, 3, 4, 5, 8, 13, 64, 131])
def test_kkt_columns_unit_rows_match_strided_and_numpy(k):
    # rows with unit stride take the branch-free loop; every k covers another vector tail
    if small._bppc is None:
        pytest.skip("the extension was not built")
    rng = np.random.default_rng(k)
    n = 7
    X = np.where(rng.random((n, k)) < 0.5, rng.random((n, k)), 0.0)
    G = rng.standard_normal((n, k))
    c = rng.random(n) + 0.25
    G[3, k // 2] = np.nan  # after larger terms in earlier rows: the maximum becomes NaN
    G[0, k - 1] = np.nan  # in the first row, before larger terms: it stays NaN
    if k > 2:
        G[n - 1, 1] = np.nan  # in the last row
    terms = np.abs(np.minimum(X * c[:, None], G / c[:, None]))
    expect_t = np.max(terms, axis=0)  # numpy's maximum propagates NaN
    expect_xg = np.sum(X * G, axis=0)
    unit, strided = np.empty((2, k)), np.empty((2, k))
    small._bppc.kkt_columns(X, G, c, unit)
    wide_X, wide_G = np.zeros((n, 2 * k)), np.zeros((n, 2 * k))
    wide_X[:, ::2], wide_G[:, ::2] = X, G
    small._bppc.kkt_columns(wide_X[:, ::2], wide_G[:, ::2], c, strided)
    np.testing.assert_array_equal(unit[0], expect_t)  # same operations: bit for bit
    np.testing.assert_array_equal(strided[0], expect_t)
    # x.g: the vector loop may fuse multiply and add, so the sums agree to rounding
    np.testing.assert_allclose(unit[1], expect_xg, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(strided[1], expect_xg, rtol=1e-13, atol=1e-15)
    assert np.isnan(unit[0, k - 1]) and np.isnan(unit[0, k // 2])


def test_kkt_columns_normalizes_by_the_norms_of_b():
    # with |b_j|^2 given: orthant_kkt's division by max(|b_j|, tiny) and |x.g|, as numpy's
    if small._bppc is None:
        pytest.skip("the extension was not built")
    rng = np.random.default_rng(12)
    n, k = 5, 6
    X = np.where(rng.random((n, k)) < 0.5, rng.random((n, k)), 0.0)
    G = rng.standard_normal((n, k))
    c = rng.random(n) + 0.5
    bb = np.array([4.0, 0.0, 1e-320, np.nan, 2.5, 1e10])
    raw, out = np.empty((2, k)), np.empty((2, k))
    small._bppc.kkt_columns(X, G, c, raw)
    small._bppc.kkt_columns(X, G, c, out, bb)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(out[0], raw[0] / np.maximum(np.sqrt(bb), np.finfo(float).tiny))
    np.testing.assert_array_equal(out[1], np.abs(raw[1]))
    assert np.isnan(out[0, 3]) and out[0, 1] == raw[0, 1] / np.finfo(float).tiny
    with pytest.raises(ValueError, match="bb: expected"):
        small._bppc.kkt_columns(X, G, c, out, bb[:-1])


def test_sub_sumsq_writes_the_difference():
    if small._bppc is None:
        pytest.skip("the extension was not built")
    rng = np.random.default_rng(10)
    R, B = rng.standard_normal((25, 8)), rng.standard_normal((25, 16))[:, ::2]
    expect = R - B
    out, outb = np.empty(8), np.empty(8)
    small._bppc.sub_sumsq(R, B, out, outb)
    np.testing.assert_array_equal(R, expect)
    np.testing.assert_allclose(out, np.sum(expect**2, axis=0), rtol=1e-14)
    np.testing.assert_allclose(outb, np.sum(B**2, axis=0), rtol=1e-14)
    # unit strides (the vectorized loops), with and without the sums of B
    R, B = rng.standard_normal((25, 8)), rng.standard_normal((25, 8))
    expect = R - B
    small._bppc.sub_sumsq(R.copy(), B, out)
    np.testing.assert_allclose(out, np.sum(expect**2, axis=0), rtol=1e-14)
    small._bppc.sub_sumsq(R, B, out, outb)
    np.testing.assert_array_equal(R, expect)
    np.testing.assert_allclose(outb, np.sum(B**2, axis=0), rtol=1e-14)


def test_many_column_helpers_check_their_arguments():
    if small._bppc is None:
        pytest.skip("the extension was not built")
    ext = small._bppc
    R, out = np.ones((4, 3)), np.empty(3)
    with pytest.raises(ValueError, match="B: expected the shape of R"):
        ext.sub_sumsq(R, np.ones((4, 2)), out)
    with pytest.raises(ValueError, match="out: expected"):
        ext.sub_sumsq(R, R, np.empty(2))
    with pytest.raises(ValueError, match="outb: expected"):
        ext.sub_sumsq(R, R, out, np.empty(2))
    with pytest.raises(ValueError, match="R: expected a 2-d float64"):
        ext.sub_sumsq(R.astype(np.float32), R, out)
    read_only = np.ones((4, 3))
    read_only.flags.writeable = False
    with pytest.raises((ValueError, BufferError)):
        ext.sub_sumsq(read_only, R, out)  # R - B goes into R: it must be writable
    with pytest.raises(ValueError, match="G: expected the shape of X"):
        ext.kkt_columns(np.ones((2, 3)), np.ones((3, 2)), np.ones(2), np.empty((2, 3)))
    with pytest.raises(ValueError, match="c: expected"):
        ext.kkt_columns(np.ones((2, 3)), np.ones((2, 3)), np.ones(3), np.empty((2, 3)))
    with pytest.raises(ValueError, match="out: expected"):
        ext.kkt_columns(np.ones((2, 3)), np.ones((2, 3)), np.ones(2), np.empty((3, 3)))


@pytest.mark.parametrize("case", ["gaussian", "scaled columns", "one column", "F order"])
def test_equilibrated_gram_compiled_matches_numpy(case):
    # the compiled equilibration and Cholesky factor against numpy's and LAPACK's
    if small._bppc is None:
        pytest.skip("the extension was not built")
    rng = np.random.default_rng(11)
    A = rng.standard_normal((50, 1 if case == "one column" else 12))
    if case == "scaled columns":
        A *= np.logspace(-60, 60, A.shape[1])
    G = A.T @ A
    if case == "F order":
        G = np.asfortranarray(G)
    ours = small.equilibrated_gram(G, 1e-200, 1e200, True)
    ref = small.equilibrated_gram(G, 1e-200, 1e200, False)
    for a, b in zip(ours[:3], ref[:3]):  # powers of two and square roots: exact
        np.testing.assert_array_equal(a, b)
    Gs, s, c, L = ours
    assert np.all(s * c >= 0.5) and np.all(s * c < 1.0)
    np.testing.assert_array_equal(np.triu(L, 1), 0.0)
    np.testing.assert_allclose(L, np.tril(ref[3]), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(L @ L.T, Gs, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("fault", ["zero column", "huge column", "NaN first", "NaN later",
                                   "duplicated", "nearly dependent"])
def test_equilibrated_gram_refuses_what_the_general_path_handles(fault):
    if small._bppc is None:
        pytest.skip("the extension was not built")
    rng = np.random.default_rng(12)
    A = rng.standard_normal((40, 6))
    if fault == "zero column":
        A[:, 2] = 0.0
    elif fault == "huge column":
        A[:, 3] *= 1e101  # |a|^2 above 1e200
    elif fault == "duplicated":
        A[:, 5] = A[:, 1]
    elif fault == "nearly dependent":
        A[:, 5] = A[:, 1] + 1e-8 * A[:, 0]  # smallest squared pivot ~1e-16 of the largest
    G = A.T @ A
    if fault.startswith("NaN"):
        G[(0, 0) if fault == "NaN first" else (4, 4)] = np.nan
    for compiled in (True, False):
        assert small.equilibrated_gram(G, 1e-200, 1e200, compiled) is None


def test_equilibrate_factor_checks_its_arguments():
    if small._bppc is None:
        pytest.skip("the extension was not built")
    ext = small._bppc.equilibrate_factor
    G = np.eye(3)
    Gs, L, s, c = np.empty((3, 3)), np.empty((3, 3)), np.empty(3), np.empty(3)
    assert ext(G, 1e-200, 1e200, 1e-14, Gs, s, c, L) == 0
    with pytest.raises(ValueError, match="G: expected a square"):
        ext(np.ones((3, 2)), 1e-200, 1e200, 1e-14, Gs, s, c, L)
    with pytest.raises(ValueError, match="Gs: expected"):
        ext(G, 1e-200, 1e200, 1e-14, np.empty((3, 3), order="F")[:, :2], s, c, L)
    with pytest.raises(ValueError, match="L: expected"):
        ext(G, 1e-200, 1e200, 1e-14, Gs, s, c, np.empty((2, 2)))
    with pytest.raises(ValueError, match="s: expected"):
        ext(G, 1e-200, 1e200, 1e-14, Gs, np.empty(2), c, L)
