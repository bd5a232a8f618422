"""The lean exact paths of rp.nnls: small single systems and many right-hand sides with few
unknowns. Every answer is compared with scipy.optimize.nnls (one column at a time) and its
certificate is re-measured by rp.kkt_residual; degenerate inputs must either be solved there
or handed, certified, to the general path."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize

import reparam as rp
import reparam.solvers.active_set as active_set_module
from reparam import _nnls
from reparam.solvers.active_set import small

# Exact answers: the objective agrees with scipy's to this relative precision (both are
# Lawson-Hanson / pivoting answers in float64; 1e-10 leaves room for conditioning up to ~1e5).
OBJ_RTOL = 1e-10


def _objective(A, b, x):
    r = np.asarray(A, float) @ np.asarray(x, float) - np.asarray(b, float)
    return 0.5 * float(r @ r)


def _scipy_columns(A, B):
    A64, B64 = np.asarray(A, float), np.asarray(B, float)
    return np.column_stack([scipy.optimize.nnls(A64, B64[:, j])[0] for j in range(B.shape[1])])


def _check_single(A, b, res, tol=1e-10):
    x_sp = scipy.optimize.nnls(np.asarray(A, float), np.asarray(b, float))[0]
    f_sp = _objective(A, b, x_sp)
    assert res.objective <= f_sp + OBJ_RTOL * max(f_sp, 1e-300) + 1e-300
    assert res.objective == pytest.approx(_objective(A, b, res.x), rel=1e-12, abs=1e-300)
    # the same certificate up to its own rounding (about 1e-16 of ||A|| ||x|| / ||b||)
    assert res.kkt == pytest.approx(rp.kkt_residual(A, b, res.x), rel=1e-6, abs=1e-14)
    assert np.all(res.x >= 0)
    if A.dtype == np.float64:
        assert res.success and res.kkt <= tol, res.message


def _check_many(A, B, res, tol=1e-10):
    X_sp = _scipy_columns(A, B)
    A64, B64 = np.asarray(A, float), np.asarray(B, float)
    f_sp = 0.5 * np.sum((A64 @ X_sp - B64) ** 2, axis=0)
    f = 0.5 * np.sum((A64 @ np.asarray(res.x, float) - B64) ** 2, axis=0)
    assert np.all(f <= f_sp + OBJ_RTOL * np.maximum(f_sp, 1e-300) + 1e-300)
    np.testing.assert_allclose(res.objective, f, rtol=1e-10, atol=1e-300)
    # column by column: the reference scales each right-hand side's norm on its own
    reference = [rp.kkt_residual(A, B[:, j], res.x[:, j]) for j in range(B.shape[1])]
    np.testing.assert_allclose(res.kkt, reference, rtol=1e-6, atol=1e-14)
    assert res.x.shape == (A.shape[1], B.shape[1]) and np.all(res.x >= 0)
    assert res.x.dtype == (np.float32 if A.dtype == B.dtype == np.float32 else np.float64)
    if A.dtype == np.float64:
        assert res.success and np.all(res.kkt <= tol), res.message


# ---------------------------------------------------------------------------------------------
# one right-hand side


def _skip_fused_call(monkeypatch):
    """Make the one-call compiled attempt report that pivoting did not finish, so that the
    steps behind it (which the tests below spoil or spy on) run as without the extension."""
    monkeypatch.setattr(_nnls, "solve_small_compiled",
                        lambda *args: (1, None, 1, np.nan, np.nan, np.nan))


@pytest.mark.parametrize("m, n, seed", [(7, 5, 0), (20, 10, 1), (50, 39, 2), (80, 40, 3),
                                        (64, 48, 4), (120, 60, 5), (64, 64, 6)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_small_systems_match_scipy(m, n, seed, dtype):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)).astype(dtype)
    b = rng.standard_normal(m).astype(dtype)
    res = rp.nnls(A, b)
    assert res.x.dtype == dtype
    _check_single(A, b, res)


@pytest.mark.parametrize("m, n", [(7, 5), (80, 40)])  # Lawson-Hanson and pivoting
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_small_system_reports_the_returned_x(m, n, dtype):
    # The report (computed when first read) describes the x returned, float32 or not.
    rng = np.random.default_rng(13)
    A = rng.standard_normal((m, n)).astype(dtype)
    b = rng.standard_normal(m).astype(dtype)
    res = rp.nnls(A, b)
    A64, x64 = A.astype(float), res.x.astype(float)
    g = A64.T @ (A64 @ x64 - b.astype(float))
    assert res.x.dtype == dtype and res.status is rp.Status.CONVERGED
    assert res.kkt == pytest.approx(rp.kkt_residual(A, b, res.x), rel=1e-6, abs=1e-14)
    assert res.objective == pytest.approx(_objective(A, b, res.x), rel=1e-12)
    # |x^T g| sums n terms of size |x_i g_i|, each g_i a sum of products whose order of
    # rounding differs between BLAS and the compiled certificate: equal up to the rounding
    # of g (m eps |A|^T (|A| |x| + |b|), Higham's bound for a product) and of the sum
    A_abs = np.abs(A64)
    g_err = m * np.finfo(float).eps * (A_abs.T @ (A_abs @ np.abs(x64) + np.abs(b.astype(float))))
    assert res.complementarity == pytest.approx(
        abs(x64 @ g), abs=1e-12 * np.abs(x64) @ np.abs(g) + np.abs(x64) @ g_err)
    rounded = "x rounded to float32 has kkt"
    assert (rounded in res.message) == (dtype == np.float32)
    if dtype == np.float32:
        assert res.message.endswith(f"{rounded} {res.kkt:.2e}")
        assert res.kkt > 1e-10  # the rounding shows; the status judged the float64 answer


@pytest.mark.parametrize("m, n", [(200, 100), (700, 100)])  # 2e4 and 7e4 entries of A
def test_float32_report_is_deferred_only_for_small_a(m, n):
    # The deferred report of a float32 x holds A in float64: only while A is small.
    rng = np.random.default_rng(16)
    A = rng.standard_normal((m, n)).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32)
    res = rp.nnls(A, b)
    assert ("_report" in vars(res)) == (m * n <= _nnls._DEFER_ENTRIES)
    _check_single(A, b, res)
    assert "x rounded to float32 has kkt" in res.message and "_report" not in vars(res)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_small_system_with_a_non_finite_answer_is_not_converged(monkeypatch, bad):
    # A certificate that is NaN or inf fails the tolerance test: never CONVERGED.
    def broken(A, b, cap):
        x = np.zeros(A.shape[1])
        x[0] = bad
        return x, 0.0, 1

    monkeypatch.setattr(_nnls, "_raw_lawson_hanson", broken)
    _skip_fused_call(monkeypatch)  # pivoting on the Gram pair fails: Lawson-Hanson runs
    monkeypatch.setattr(_nnls, "bpp_small", lambda *args: (None, 1))
    rng = np.random.default_rng(14)
    res = rp.nnls(rng.standard_normal((7, 5)), rng.standard_normal(7))
    assert res.status is rp.Status.STALLED and not res.kkt <= 1e-10


@pytest.mark.parametrize("m, n", [(100, 65), (89, 70), (160, 80), (300, 255)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_larger_systems_run_the_kernel_here(monkeypatch, m, n, dtype):
    # 64 < n <= 255 with m >= n: the exact kernel on the Gram pair, certified here.
    def general(*args, **kwargs):
        raise AssertionError("the general path ran")

    monkeypatch.setattr(_nnls, "_general", general)
    rng = np.random.default_rng(n)
    A = rng.standard_normal((m, n)).astype(dtype)
    b = rng.standard_normal(m).astype(dtype)
    res = rp.nnls(A, b)
    assert res.x.dtype == dtype and "block principal pivoting" in res.message
    _check_single(A, b, res)


@pytest.mark.parametrize("m, n", [(300, 256), (70, 80)])  # above the bound; wide
def test_larger_systems_outside_the_bound_take_the_general_path(monkeypatch, m, n):
    general, shapes = _nnls._general, []

    def spy(A, b, *args):
        shapes.append(A.shape)
        return general(A, b, *args)

    monkeypatch.setattr(_nnls, "_general", spy)
    rng = np.random.default_rng(n)
    A, b = rng.standard_normal((m, n)), rng.standard_normal(m)
    res = rp.nnls(A, b)
    assert shapes == [(m, n)]
    _check_single(A, b, res)


@pytest.mark.parametrize("failure", ["not converged", "rejected by the certificate"])
def test_larger_system_the_kernel_fails_goes_to_the_general_path(monkeypatch, failure):
    # An answer on the Gram pair that the kernel does not finish or the certificate rejects
    # is not returned: the general path (equilibrated kernel) solves the problem again.
    kernel, calls = active_set_module.active_set_nnls, []
    pivoting = _nnls.bpp_small

    def spoiled(A, b, **kwargs):
        out = kernel(A, b, **kwargs)
        calls.append(kwargs.get("gram") is not None)
        if kwargs.get("gram") is not None:
            if failure == "not converged":
                out.converged = False
            else:
                out.x = out.x + 1e-3
        return out

    def spoiled_pivoting(*args):  # the first attempt on the Gram pair, compiled or not
        x, rounds = pivoting(*args)
        return (None if failure == "not converged" else x + 1e-3), rounds

    monkeypatch.setattr(active_set_module, "active_set_nnls", spoiled)
    monkeypatch.setattr(_nnls, "bpp_small", spoiled_pivoting)
    _skip_fused_call(monkeypatch)
    rng = np.random.default_rng(15)
    A, b = rng.standard_normal((120, 90)), rng.standard_normal(120)
    res = rp.nnls(A, b)
    assert calls == [True, False]
    _check_single(A, b, res)


@pytest.mark.parametrize("failure", ["not converged", "rejected by the certificate"])
def test_larger_system_pivoting_fails_goes_to_the_kernel_on_the_gram_pair(monkeypatch, failure):
    # 64 < n <= 255: an answer of the first attempt (bpp_small) that it does not finish or
    # that the certificate rejects goes to the exact kernel on the same Gram pair, and its
    # answer is returned, certified, with the kernel's message.
    kernel, grams = active_set_module.active_set_nnls, []
    pivoting = _nnls.bpp_small

    def spy(A, b, **kwargs):
        grams.append(kwargs.get("gram"))
        return kernel(A, b, **kwargs)

    def spoiled_pivoting(*args):
        x, rounds = pivoting(*args)
        return (None if failure == "not converged" else x + 1e-3), rounds

    monkeypatch.setattr(active_set_module, "active_set_nnls", spy)
    monkeypatch.setattr(_nnls, "bpp_small", spoiled_pivoting)
    _skip_fused_call(monkeypatch)
    rng = np.random.default_rng(15)
    A, b = rng.standard_normal((120, 90)), rng.standard_normal(120)
    res = rp.nnls(A, b)
    assert len(grams) == 1 and grams[0] is not None
    np.testing.assert_allclose(grams[0][0], A.T @ A, rtol=1e-12, atol=1e-12)
    assert "(compiled)" not in res.message and "block principal pivoting" in res.message
    _check_single(A, b, res)


def test_pivoting_runs_from_forty_unknowns_and_says_so():
    rng = np.random.default_rng(7)
    A, b = rng.standard_normal((80, 40)), rng.standard_normal(80)
    res = rp.nnls(A, b)
    assert "block principal pivoting" in res.message and res.n_iter >= 1
    _check_single(A, b, res)


def test_pivoting_scale_free_on_badly_scaled_columns():
    # Column norms over 1e+-8: the tolerances are per column, so the answer does not change.
    rng = np.random.default_rng(8)
    A, b = rng.standard_normal((90, 45)), rng.standard_normal(90)
    scale = 10.0 ** rng.uniform(-8, 8, 45)
    res = rp.nnls(A * scale, b)
    ref = rp.nnls(A, b)
    _check_single(A * scale, b, res)
    np.testing.assert_allclose(res.x * scale, ref.x, rtol=1e-6, atol=1e-9 * ref.x.max())


@pytest.mark.parametrize("case", ["duplicated", "rank-deficient", "zero column"])
def test_small_degenerate_systems_are_certified(case):
    rng = np.random.default_rng(9)
    A = rng.standard_normal((90, 48))
    if case == "duplicated":
        A[:, 24:] = A[:, :24]
    elif case == "rank-deficient":
        A = A[:, :20] @ rng.standard_normal((20, 48))
    else:
        A[:, 5] = 0.0
    b = A @ np.abs(rng.standard_normal(48)) + 0.1 * rng.standard_normal(90)
    res = rp.nnls(A, b)
    _check_single(A, b, res, tol=1e-10)
    if case == "zero column":
        assert res.x[5] == 0.0


def test_max_iter_is_honoured_by_the_pivoting_path():
    rng = np.random.default_rng(10)
    A = rng.standard_normal((100, 50))
    b = A @ rng.uniform(1.0, 2.0, 50)  # every variable passive: Lawson-Hanson needs 50 steps
    b += 0.5 * rng.standard_normal(100)
    res = rp.nnls(A, b, max_iter=1)
    assert res.status is not rp.Status.CONVERGED or res.kkt <= 1e-10


def test_bpp_small_matches_scipy_on_the_gram_pair():
    rng = np.random.default_rng(11)
    A, b = rng.standard_normal((70, 45)), rng.standard_normal(70)
    G, c = A.T @ A, A.T @ b
    x, rounds = small.bpp_small(G, c, np.sqrt(np.diag(G)), float(np.linalg.norm(b)), 100)
    assert rounds >= 1
    np.testing.assert_allclose(x, scipy.optimize.nnls(A, b)[0], atol=1e-12)


def test_bpp_small_backup_rule_finds_the_answer(monkeypatch):
    # No full exchange without progress: every stalled round flips one variable (Júdice-Pires).
    # Seeds 9 and 11 take more rounds that way, so the backup rule ran there.
    extra = 0
    for seed in (9, 11):
        rng = np.random.default_rng(seed)
        A, b = rng.standard_normal((70, 45)), rng.standard_normal(70)
        G, c = A.T @ A, A.T @ b
        args = (G, c, np.sqrt(np.diag(G)), float(np.linalg.norm(b)), 500)
        _, rounds = small.bpp_small(*args)
        with monkeypatch.context() as patch:
            patch.setattr(small, "_FULL_EXCHANGES", 0)
            x, backup_rounds = small.bpp_small(*args)
        np.testing.assert_allclose(x, scipy.optimize.nnls(A, b)[0], atol=1e-12)
        extra += backup_rounds - rounds
    assert extra > 0


# ---------------------------------------------------------------------------------------------
# many right-hand sides with few unknowns


def _nmf_like(m, n, k, seed):
    rng = np.random.default_rng(seed)
    W = np.abs(rng.standard_normal((m, n)))
    H = np.where(rng.random((n, k)) < 0.5, rng.random((n, k)), 0.0)
    return W, W @ H + 0.1 * rng.standard_normal((m, k))


@pytest.mark.parametrize("m, n, k, seed", [(64, 16, 300, 0), (300, 16, 40, 1), (50, 32, 200, 2),
                                           (12, 1, 30, 3), (40, 20, 1, 4)])
def test_many_columns_match_scipy(m, n, k, seed):
    A, B = _nmf_like(m, n, k, seed)
    res = rp.nnls(A, B)
    assert "all" in res.message and "columns at once" in res.message
    _check_many(A, B, res)


def test_many_columns_with_zero_right_hand_sides_and_float32():
    A, B = _nmf_like(60, 12, 80, 5)
    B[:, ::7] = 0.0
    res = rp.nnls(A, B)
    _check_many(A, B, res)
    assert not np.any(res.x[:, ::7]) and np.all(res.kkt[::7] == 0)
    res32 = rp.nnls(A.astype(np.float32), B.astype(np.float32))
    _check_many(A.astype(np.float32), B.astype(np.float32), res32)
    assert res32.success  # the status judges the float64 answer before rounding
    np.testing.assert_allclose(res32.x, res.x, rtol=1e-5, atol=1e-5 * np.abs(res.x).max())


@pytest.mark.parametrize("case", ["duplicated", "rank-deficient", "zero column", "tiny column",
                                  "huge column"])
def test_many_columns_degenerate_inputs_are_certified(case):
    A, B = _nmf_like(60, 12, 50, 6)
    if case == "duplicated":
        A[:, 6:] = A[:, :6]
    elif case == "rank-deficient":
        A = A[:, :5] @ np.abs(np.random.default_rng(6).standard_normal((5, 12)))
    elif case == "zero column":
        A[:, 3] = 0.0
    elif case == "tiny column":  # one right-hand side whose squares underflow
        B[:, 4] *= 1e-170
    else:  # |b|^2 ~ 1e202: outside the lean path's range, which the general path scales
        B[:, 4] *= 1e100
    res = rp.nnls(A, B)
    _check_many(A, B, res)
    if case == "zero column":
        assert not np.any(res.x[3])


@pytest.mark.parametrize("where", ["A first column", "A last column", "B first column",
                                   "B last column"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_many_columns_non_finite_input_raises_its_name(where, bad):
    # the lean path's range checks send such input to the general path, which names it
    A, B = _nmf_like(40, 8, 30, 9)
    target = A if where.startswith("A") else B
    target[5, 0 if "first" in where else -1] = bad
    name = "A" if where.startswith("A") else "b"  # the parameter's name
    with pytest.raises(ValueError, match=f"{name} contains 1 non-finite"):
        rp.nnls(A, B)


def test_many_columns_chunked_equal_unchunked(monkeypatch):
    A, B = _nmf_like(80, 10, 700, 7)
    whole = rp.nnls(A, B)
    monkeypatch.setattr(_nnls, "_MANY_CHUNK", 256)
    monkeypatch.setattr(small, "_SLICE_ENTRIES", 100 * 64)
    chunked = rp.nnls(A, B)
    np.testing.assert_allclose(chunked.x, whole.x, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(chunked.n_iter, whole.n_iter)
    _check_many(A, B, chunked)


def test_many_columns_max_iter_never_claims_convergence():
    A, B = _nmf_like(80, 20, 100, 8)
    res = rp.nnls(A, B, max_iter=1)
    converged = np.asarray(res.status == rp.Status.CONVERGED)
    assert np.all(res.kkt[converged] <= 1e-10)


def test_many_columns_ctrl_c(monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_nnls, "bpp_columns", interrupted)
    A, B = _nmf_like(40, 8, 30, 9)
    with pytest.raises(rp.Interrupted) as caught:
        rp.nnls(A, B)
    res = caught.value.result
    assert np.all(res.status == rp.Status.INTERRUPTED) and not np.any(res.x)
    np.testing.assert_allclose(res.kkt, rp.kkt_residual(A, B, res.x), rtol=1e-12)
    np.testing.assert_allclose(res.objective, 0.5 * np.sum(B**2, axis=0), rtol=1e-12)


@pytest.mark.parametrize("n, k", [(1, 5), (7, 40), (20, 300)])
def test_masked_solve_solves_every_passive_block(n, k):
    rng = np.random.default_rng(n)
    A = rng.standard_normal((3 * n, n))
    G, C = A.T @ A, A.T @ rng.standard_normal((3 * n, k))
    P = rng.random((n, k)) < 0.5
    P[:, 0], P[:, -1] = False, True  # an empty and a full passive set
    X = small.masked_solve(G, C, P)
    for j in range(k):
        F = np.flatnonzero(P[:, j])
        expected = np.zeros(n)
        if F.size:
            expected[F] = np.linalg.solve(G[np.ix_(F, F)], C[F, j])
        np.testing.assert_allclose(X[:, j], expected, rtol=1e-9, atol=1e-12)


def _unaligned(a):
    """A copy of ``a`` at a 4-byte offset into a byte buffer: float64 items not on 8-byte
    boundaries (as a view into a byte stream or some memory maps gives)."""
    buf = np.zeros(a.nbytes + 8, dtype=np.uint8)
    out = np.frombuffer(buf.data, dtype=a.dtype, count=a.size, offset=4).reshape(a.shape)
    out[...] = a
    assert not out.flags.aligned
    return out


@pytest.mark.parametrize("m, n, k", [(30, 10, None), (200, 100, None), (60, 12, 40),
                                     (300, 200, None), (500, 1000, None), (400, 200, 300),
                                     (50, 80, None)])
@pytest.mark.parametrize("which", ["A", "b", "both"])
def test_unaligned_input_gives_the_aligned_answer(m, n, k, which):
    # the compiled kernels read aligned float64 only: unaligned input is copied, not refused
    rng = np.random.default_rng(m + n)
    A = rng.standard_normal((m, n))
    b = rng.standard_normal(m if k is None else (m, k))
    Au = _unaligned(A) if which in ("A", "both") else A
    bu = _unaligned(b) if which in ("b", "both") else b
    res, ref = rp.nnls(Au, bu), rp.nnls(A, b)
    assert np.all(np.asarray(res.status) == rp.Status.CONVERGED)
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-9, atol=1e-9 * np.abs(ref.x).max())
    assert np.all(np.asarray(res.kkt) <= 1e-10)
    np.testing.assert_array_equal(Au, A)  # the input is left as it was
    np.testing.assert_array_equal(bu, b)
