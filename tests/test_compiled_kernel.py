"""The compiled block-pivoting kernel for many right-hand sides (``small.bpp_columns`` when the
extension ``_bppc`` was built) against its numpy version and against scipy, column by column.

Both versions follow the same pivoting rules on a well-conditioned Gram matrix whose NNLS
problems have unique solutions, so they must return the same passive sets and the same ``x`` up
to rounding (cond(G) ~ 1e2 here: 1e-12 relative leaves a factor 1e2 of room). Through
``rp.nnls`` every column is then certified on ``A`` either way.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.optimize

import reparam as rp
from reparam.solvers.active_set import small


@pytest.fixture
def _kernel_on(monkeypatch):
    """The tests of the compiled kernel run it whatever REPARAM_NO_EXTENSION says outside."""
    monkeypatch.delenv("REPARAM_NO_EXTENSION", raising=False)


def compiled(test):
    skip = pytest.mark.skipif(small._bppc is None, reason="the extension was not built")
    return skip(pytest.mark.usefixtures("_kernel_on")(test))


def test_extension_built_where_required():
    """CI sets REPARAM_REQUIRE_EXTENSION: there a failed build must fail the suite instead of
    skipping the tests of the compiled kernel."""
    if os.environ.get("REPARAM_REQUIRE_EXTENSION", "") in ("", "0"):
        pytest.skip("REPARAM_REQUIRE_EXTENSION is not set")
    assert small._bppc is not None, "the C extension was not built (see pip's build log)"


def _nmf_like(m, n, k, seed, density=0.5, noise=0.1):
    rng = np.random.default_rng(seed)
    W = np.abs(rng.standard_normal((m, n)))
    H = np.where(rng.random((n, k)) < density, rng.random((n, k)), 0.0)
    return W, W @ H + noise * rng.standard_normal((m, k))


def _gram_pair(A, B):
    """The equilibrated Gram pair and its Cholesky factor, as the callers build them."""
    s = 1.0 / np.linalg.norm(A, axis=0)
    As = A * s
    G = As.T @ As
    L = small.gram_is_safe(G)
    assert L is not None
    return G, As.T @ B, L, s


def _degenerate_B(A, seed):
    """Right-hand sides that make pivoting work: zero columns, duplicated columns, exact fits
    with zeros in the solution (degenerate complementarity) and negatively correlated ones."""
    rng = np.random.default_rng(seed)
    m, n = A.shape
    X = np.where(rng.random((n, 40)) < 0.3, rng.random((n, 40)), 0.0)
    B = np.hstack([A @ X, rng.standard_normal((m, 40)), -np.abs(A) @ rng.random((n, 10)),
                   np.zeros((m, 5))])
    return np.hstack([B, B[:, :12]])  # duplicated columns


def _both(G, C, L, max_iter, P0=None):
    out = small.bpp_columns(G, C, L, max_iter, P0)
    ref = small.bpp_columns_numpy(G, C, L, max_iter, P0)
    return out, ref


@compiled
@pytest.mark.parametrize("m, n, seed", [(5, 1, 0), (9, 2, 1), (30, 7, 2), (64, 16, 3),
                                        (200, 20, 4), (100, 32, 5), (150, 64, 6)])
def test_compiled_equals_numpy(m, n, seed):
    A, B = _nmf_like(m, n, 300, seed)
    B = np.hstack([B, _degenerate_B(A, seed)])
    G, C, L, _ = _gram_pair(A, B)
    (X, rounds, done), (Xr, rounds_r, done_r) = _both(G, C, L, 3 * n + 50)
    assert done.all() and done_r.all()
    scale = np.max(np.abs(Xr), axis=0, initial=0.0)
    # the same supports, but for entries that are zero up to rounding (exact fits with zeros in
    # the solution, where either version may keep a passive entry of 1e-17)
    np.testing.assert_array_equal(X > 1e-9 * scale, Xr > 1e-9 * scale)
    np.testing.assert_array_less(np.max(np.abs(X - Xr), axis=0), 1e-12 * scale + 1e-300)
    # the same rules: the same rounds, but for a rare tie at the tolerance
    assert np.mean(rounds == rounds_r) > 0.99


@compiled
@pytest.mark.parametrize("dual", [True, False])
def test_compiled_matches_scipy_per_column(monkeypatch, dual):
    if not dual:  # the primal solves only (no G^{-1})
        monkeypatch.setattr(small, "_DUAL_COND", 0.0)
    calls, kernel = [], small._bppc.bpp_columns

    def spy(*args):  # records whether the kernel was given G^{-1}
        calls.append(args[8] is not None)
        return kernel(*args)

    monkeypatch.setattr(small._bppc, "bpp_columns", spy)
    A, B = _nmf_like(80, 24, 150, 7)
    B = np.hstack([B, _degenerate_B(A, 8)])
    G, C, L, s = _gram_pair(A, B)
    X, _, done = small.bpp_columns(G, C, L, 200)
    assert done.all() and calls == [dual]
    X *= s[:, None]
    for j in range(B.shape[1]):
        x_sp = scipy.optimize.nnls(A, B[:, j])[0]
        f, f_sp = (0.5 * np.sum((A @ x - B[:, j]) ** 2) for x in (X[:, j], x_sp))
        # exact fits end at residuals of rounding size, ~1e-15 ||b||: their squares may differ
        assert f <= f_sp * (1 + 1e-12) + 1e-24 * float(B[:, j] @ B[:, j]) + 1e-300
        assert rp.kkt_residual(A, B[:, j], X[:, j]) <= 1e-12


@compiled
def test_compiled_warm_start_and_iteration_cap():
    A, B = _nmf_like(60, 12, 200, 9)
    G, C, L, _ = _gram_pair(A, B)
    X, _, done = small.bpp_columns(G, C, L, 100)
    assert done.all()
    # warm start from the answer's own passive sets: one round each
    X2, rounds2, done2 = small.bpp_columns(G, C, L, 100, X > 0)
    assert done2.all() and np.all(rounds2 == 1)
    np.testing.assert_allclose(X2, X, rtol=1e-12, atol=1e-15)
    # a cold start from x = 0 (empty passive sets) needs more rounds, ends at the same answer
    P0 = np.zeros_like(X, dtype=bool)
    (X3, rounds3, done3), (X3r, _, _) = _both(G, C, L, 100, P0)
    assert done3.all() and rounds3.max() > 1
    np.testing.assert_allclose(X3, X, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(X3r, X, rtol=1e-11, atol=1e-14)
    # one round from x = 0 finishes only the columns whose answer is x = 0
    X1, rounds1, done1 = small.bpp_columns(G, C, L, 1, P0)
    np.testing.assert_array_equal(done1, ~np.any(X > 0, axis=0))
    assert np.all(rounds1 == 1) and not np.any(X1[:, ~done1])


@compiled
def test_compiled_leaves_a_singular_gram_unfinished_not_wrong():
    """On a singular G (a duplicated column of A: the callers never pass one) a pivot fails
    and the column is reported unfinished with x = 0, instead of an answer from rounding."""
    rng = np.random.default_rng(10)
    A = np.abs(rng.standard_normal((30, 6)))
    A[:, 5] = A[:, 2]
    B = A @ np.abs(rng.standard_normal((6, 50)))
    G = A.T @ A
    P0 = np.ones((6, 50), dtype=bool)
    X = np.empty((6, 50))
    rounds, done = np.empty(50, dtype=np.intp), np.empty(50, dtype=bool)
    small._bppc.bpp_columns(G, A.T @ B, P0, X, rounds, done, 20, small._TOL, None, None)
    assert not done.any() and not X.any() and np.all(rounds == 1)


@compiled
def test_compiled_rejects_bad_buffers():
    G, C = np.eye(3), np.ones((3, 4))
    P0 = np.ones((3, 4), dtype=bool)
    X, rounds, done = np.empty((3, 4)), np.empty(4, dtype=np.intp), np.empty(4, dtype=bool)
    kernel = small._bppc.bpp_columns
    kernel(G, C, P0, X, rounds, done, 5, 1e-13, None, None)
    np.testing.assert_allclose(X, C)
    with pytest.raises(ValueError, match="X"):
        kernel(G, C, P0, np.empty((4, 3)), rounds, done, 5, 1e-13, None, None)
    with pytest.raises(ValueError, match="G"):
        kernel(np.eye(4), C, P0, X, rounds, done, 5, 1e-13, None, None)
    with pytest.raises(ValueError, match="C"):
        kernel(np.eye(257), np.ones((257, 2)), P0, X, rounds, done, 5, 1e-13, None, None)
    with pytest.raises(TypeError, match="float64"):
        kernel(G, C.astype(np.float32), P0, X, rounds, done, 5, 1e-13, None, None)
    with pytest.raises(TypeError):  # G^{-1} without the unconstrained solutions
        kernel(G, C, P0, X, rounds, done, 5, 1e-13, G, None)
    with pytest.raises(ValueError, match="Xls"):
        kernel(G, C, P0, X, rounds, done, 5, 1e-13, G, np.ones((3, 5)))


@pytest.mark.parametrize("case", ["nmf", "zero rhs", "zero column", "duplicated column",
                                  "rank deficient", "float32"])
def test_nnls_same_answer_with_and_without_the_extension(monkeypatch, case):
    """``rp.nnls`` with the compiled kernel and with the numpy fallback (forced by the
    environment variable) against scipy per column, on the inputs that take other paths too."""
    A, B = _nmf_like(70, 14, 120, 11)
    if case == "zero rhs":
        B[:, ::5] = 0.0
    elif case == "zero column":
        A[:, 3] = 0.0
    elif case == "duplicated column":
        A[:, 7] = A[:, 2]
    elif case == "rank deficient":
        A[:, 9] = A[:, 1] + 2.0 * A[:, 4]
    B = np.hstack([B, B[:, :10]])
    if case == "float32":
        A, B = A.astype(np.float32), B.astype(np.float32)
    results = []
    for env in ("", "1"):
        monkeypatch.setenv("REPARAM_NO_EXTENSION", env)
        assert small.compiled_kernel() == (env == "" and small._bppc is not None)
        results.append(rp.nnls(A, B))
    A64, B64 = A.astype(np.float64), B.astype(np.float64)
    X_sp = np.column_stack([scipy.optimize.nnls(A64, B64[:, j])[0] for j in range(B.shape[1])])
    f_sp = 0.5 * np.sum((A64 @ X_sp - B64) ** 2, axis=0)
    for res in results:
        assert res.x.dtype == A.dtype
        f = 0.5 * np.sum((A64 @ res.x.astype(np.float64) - B64) ** 2, axis=0)
        rtol = 1e-5 if case == "float32" else 1e-10  # float32 x: rounding of x itself
        assert np.all(f <= f_sp * (1 + rtol) + 1e-300)
        kkt = [rp.kkt_residual(A64, B64[:, j], res.x[:, j]) for j in range(B.shape[1])]
        np.testing.assert_allclose(res.kkt, kkt, rtol=1e-6, atol=1e-14)
        if case != "float32":
            assert np.all(res.kkt <= 1e-10) and np.all(res.status == rp.Status.CONVERGED)
    if case == "zero rhs":
        assert not np.any(results[0].x[:, ::5])
    if case == "zero column":
        assert not np.any(results[0].x[3])
    if case in ("nmf", "zero rhs", "float32"):  # unique answers: the two runs agree
        np.testing.assert_allclose(results[0].x, results[1].x, rtol=1e-6 if case == "float32"
                                   else 1e-11, atol=1e-12)


# The compiled steps of the inexact rounds that guess the passive sets (float32, one column per
# row). Float32 rounding is ~6e-8 relative; a handful of steps on well-conditioned systems stays
# within 1e-4 of the numpy version's float32 result.


def _cg_problem(n, k, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((3 * n, n))
    G = A.T @ A / (3 * n)
    C = G @ rng.standard_normal((n, k))
    P = rng.random((n, k)) < 0.4
    return G.astype(np.float32), C.astype(np.float32), P


@compiled
@pytest.mark.parametrize("iters", [1, 3])
def test_compiled_cg_steps_equal_numpy(iters):
    from reparam.solvers.active_set.many_rhs import _masked_cg

    G, C, P = _cg_problem(37, 50, 30)
    rng = np.random.default_rng(31)
    X0 = (rng.standard_normal(C.shape) * P).astype(np.float32)
    X_ref = X0.copy()
    W_ref = _masked_cg(G, X_ref, C, P, iters)
    Xt = np.ascontiguousarray(X0.T)
    Wt = Xt @ G
    Ct, M = np.ascontiguousarray(C.T), np.ascontiguousarray(P.T).view(np.uint8)
    R, D, Q = np.empty_like(Xt), np.empty_like(Xt), np.empty_like(Xt)
    rr = np.empty(Xt.shape[0], dtype=np.float32)
    small._bppc.cg_start(Wt, Ct, M, R, D, rr)
    for step in range(iters):
        np.matmul(D, G, out=Q)
        small._bppc.cg_step(Xt, Wt, R, D, Q, M, rr, step == iters - 1)
    scale = np.abs(X_ref).max()
    np.testing.assert_allclose(Xt.T, X_ref, rtol=0, atol=1e-4 * scale)
    np.testing.assert_allclose(Wt.T, W_ref, rtol=0, atol=1e-4 * np.abs(W_ref).max())
    assert not Xt.T[~P].any()  # the steps stay on the passive sets


@compiled
def test_compiled_exchange_follows_the_rules_and_keeps_the_product():
    G, C, P = _cg_problem(29, 40, 32)
    rng = np.random.default_rng(33)
    X = (rng.standard_normal(C.shape) * P).astype(np.float32)
    W = G @ X
    infeasible = np.where(P, X < 0, W - C < 0)  # Kim & Park's full exchange
    Xt, Wt = np.ascontiguousarray(X.T), np.ascontiguousarray(W.T)
    M = np.ascontiguousarray(P.T).view(np.uint8)
    moved = np.empty(X.shape[1], dtype=np.uint8)
    small._bppc.cg_exchange(G, Xt, Wt, np.ascontiguousarray(C.T), M, moved)
    np.testing.assert_array_equal(M.T.view(bool), P ^ infeasible)
    np.testing.assert_array_equal(moved.view(bool), infeasible.any(axis=0))
    np.testing.assert_array_equal(Xt.T, np.where(P & ~infeasible, X, 0.0))
    # the leaving variables were taken out of W = G X by their rows of G
    np.testing.assert_allclose(Wt.T, G @ Xt.T, rtol=0, atol=1e-5 * np.abs(W).max())


@compiled
def test_compiled_cg_steps_reject_bad_buffers():
    X = np.zeros((4, 3), dtype=np.float32)
    M = np.zeros((4, 3), dtype=np.uint8)
    rr = np.zeros(4, dtype=np.float32)
    with pytest.raises(ValueError, match="C"):
        small._bppc.cg_start(X, X.astype(np.float64), M, X.copy(), X.copy(), rr)
    with pytest.raises(ValueError, match="rr"):
        small._bppc.cg_start(X, X.copy(), M, X.copy(), X.copy(), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="Q"):
        small._bppc.cg_step(X, X.copy(), X.copy(), X.copy(), X.T.copy(), M, rr, False)
    with pytest.raises(ValueError, match="G"):
        small._bppc.cg_exchange(np.eye(4, dtype=np.float32), X, X.copy(), X.copy(), M,
                                np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="C-contiguous"):  # the rows must be contiguous
        small._bppc.cg_start(np.asfortranarray(X), X.copy(), M, X.copy(), X.copy(), rr)


@pytest.mark.parametrize("shape", [(400, 200, 300), (120, 60, 600), (300, 80, 200)])
def test_guess_with_and_without_the_extension(monkeypatch, shape):
    """The inexact rounds' guess, compiled (fused steps) or in numpy, is a good start for the
    exact rounds, which reach the same certified answer from either (up to rounding)."""
    from reparam.solvers.active_set.many_rhs import _inexact_pivoting, _unconstrained

    m, n, k = shape
    A, B = _nmf_like(m, n, k, 34, density=0.1, noise=0.05)
    G, C, L, _ = _gram_pair(A, B)
    X_ls = _unconstrained(G, C)
    answers = []
    for env in ("", "1"):
        monkeypatch.setenv("REPARAM_NO_EXTENSION", env)
        P = _inexact_pivoting(G, C, X_ls)
        monkeypatch.delenv("REPARAM_NO_EXTENSION")
        X, rounds, done = small.bpp_columns(G, C, L, 3 * n, P)
        assert done.all() and rounds.max() <= 4 and rounds.mean() < 1.5
        answers.append(X)
    scale = np.max(np.abs(answers[1]), axis=0)
    np.testing.assert_array_less(np.max(np.abs(answers[0] - answers[1]), axis=0),
                                 1e-12 * scale + 1e-300)
    assert rp.kkt_residual(A, B, answers[0] * (1.0 / np.linalg.norm(A, axis=0))[:, None]).max() \
        <= 1e-11


@compiled
@pytest.mark.parametrize("n", [1, 2, 7, 16, 33, 64])
def test_chol_solve_matches_lapack(n):
    # the compiled start G^{-1} C against LAPACK's dpotrs, for every width of the last tile
    # of 32 columns, on a factor in LAPACK's layout whose upper triangle holds garbage
    from scipy.linalg import lapack

    rng = np.random.default_rng(n)
    M = rng.standard_normal((3 * n, n))
    G = M.T @ M
    L = lapack.dpotrf(G, 1, 0)[0]  # Fortran order, the upper triangle not cleared
    L[np.triu_indices(n, 1)] = np.nan  # never read
    for k in (0, 1, 5, 31, 32, 33, 70):
        C = rng.standard_normal((n, 2 * k))[:, ::2]  # no unit stride
        X = np.full((n, k), np.nan)
        positive = small._bppc.chol_solve(L, C, X)
        ref = lapack.dpotrs(np.tril(L), C, 1)[0]
        scale = max(1.0, float(np.abs(ref).max(initial=0.0)))
        np.testing.assert_allclose(X, ref, rtol=0, atol=1e-13 * scale)
        np.testing.assert_allclose(G @ X, C, rtol=0,
                                   atol=1e-12 * max(1.0, float(np.abs(C).max(initial=0.0))))
        assert positive == np.count_nonzero(X > 0)
        X2 = np.empty((n, k))
        small._bppc.chol_solve(np.ascontiguousarray(np.tril(L)), np.ascontiguousarray(C), X2)
        np.testing.assert_array_equal(X2, X)  # the layout does not change the arithmetic


@compiled
def test_chol_solve_checks_its_arguments():
    ext = small._bppc
    L, C = np.eye(3), np.ones((3, 4))
    with pytest.raises(ValueError, match="L: expected a square"):
        ext.chol_solve(np.ones((3, 2)), C, np.empty((3, 4)))
    with pytest.raises(ValueError, match="C: expected as many rows"):
        ext.chol_solve(L, np.ones((2, 4)), np.empty((3, 4)))
    with pytest.raises(ValueError, match="X: expected"):
        ext.chol_solve(L, C, np.empty((3, 4), order="F"))
    with pytest.raises(ValueError, match="X: expected"):
        ext.chol_solve(L, C, np.empty((3, 5)))
    with pytest.raises(ValueError, match="C: expected a 2-d float64"):
        ext.chol_solve(L, C.astype(np.float32), np.empty((3, 4)))


@compiled
def test_compiled_start_and_lapack_start_give_the_same_answers(monkeypatch):
    # bpp_columns from the compiled start and from LAPACK's: the same passive sets and x
    A, B = _nmf_like(80, 24, 150, 7)
    B = np.hstack([B, _degenerate_B(A, 8)])
    G, C, L, _ = _gram_pair(A, B)
    X, _, done = small.bpp_columns(G, C, L, 200)
    monkeypatch.setattr(small, "_SOLVE_N", 0)
    X_ref, _, done_ref = small.bpp_columns(G, C, L, 200)
    assert done.all() and done_ref.all()
    # the same passive sets where the solutions are unique and away from zero; the exact fits
    # with zeros in x (the degenerate columns after the first 150) may end with entries of
    # rounding size on either side
    np.testing.assert_array_equal(X[:, :150] > 0, X_ref[:, :150] > 0)
    np.testing.assert_allclose(X, X_ref, rtol=0, atol=1e-12 * np.abs(X_ref).max())
    assert np.abs(X - X_ref).max() > 0  # two computations, not one path taken twice


@compiled
@pytest.mark.parametrize("n", [1, 8, 16, 40])
def test_inverse_cond_matches_numpy(n):
    rng = np.random.default_rng(100 + n)
    M = rng.standard_normal((2 * n, n))
    G = M.T @ M
    L = small.gram_is_safe(G)
    H = np.full((n, n), np.nan)
    cond = small._bppc.inverse_cond(np.asfortranarray(G), L, H)  # L: LAPACK's, Fortran order
    np.testing.assert_allclose(H, np.linalg.inv(G), rtol=0,
                               atol=1e-12 * np.abs(np.linalg.inv(G)).max())
    assert cond == pytest.approx(np.linalg.cond(G, 1), rel=1e-10)
    G_nan = G.copy()
    G_nan[n - 1, 0] = np.nan  # G's norm is NaN: no condition number, no dual solves
    assert np.isnan(small._bppc.inverse_cond(G_nan, L, H))
    assert small._inverse_if_well_conditioned(G_nan, L) is None
    with pytest.raises(ValueError, match="H: expected"):
        small._bppc.inverse_cond(G, L, np.empty((n, n + 1)))
    with pytest.raises(ValueError, match="square arrays of one shape"):
        small._bppc.inverse_cond(G, np.eye(n + 1), H)


@compiled
@pytest.mark.parametrize("n", [12, 70])  # the compiled test, and dpocon's estimate beyond 64
def test_dual_solves_only_for_a_well_conditioned_gram_matrix(n):
    rng = np.random.default_rng(n)
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    for cond, dual in ((1e2, True), (1e6, False)):
        G = (Q * np.logspace(0, -np.log10(cond), n)) @ Q.T
        G = 0.5 * (G + G.T)
        L = np.linalg.cholesky(G)
        H = small._inverse_if_well_conditioned(G, L)
        assert (H is not None) == dual
        if dual:
            np.testing.assert_allclose(H @ G, np.eye(n), atol=1e-12)
