"""Tests of the compressed path of the exact NNLS kernel
(:mod:`reparam.solvers.active_set.compressed`): a numerically low-rank A is compressed to
k x n, the small problem is solved by Lawson-Hanson, and the answer is certified on A itself,
falling back to the paths that work on A when it is not.

References: ``scipy.optimize.nnls``, and the same problem with the compression turned off
(the path the kernel took before). Tolerances: the kernel certifies ``max|min(x, g)| <= 1e-11
||A^T b||_inf`` on A; on Shaw's noisy problem the optimal objective is ~1e-6 ||b||^2 and both
solvers reach the same support, so the objectives agree to rounding (measured 2e-15 to 6e-15
relative; 1e-12 asked). Where b is (nearly) in the range of A the optimal objective is at
rounding level, and the objectives are compared on the scale of ||b||^2 instead.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize

import reparam as rp
from reparam import problems
from reparam.solvers.active_set import Path, Reason, active_set_nnls, compressed
from reparam.solvers.active_set import _front as front


def kkt(A, b, x):
    g = A.T @ (A @ x - b)
    return float(np.max(np.abs(np.minimum(x, g))) / max(np.max(np.abs(A.T @ b)), 1e-300))


def objective(A, b, x):
    return 0.5 * float(np.sum((A @ x - b) ** 2))


def low_rank(m, n, rank, noise, seed):
    """A = U diag(logspace(0, -6)) W^T (orthonormal U, W) plus i.i.d. noise of size
    ``noise``, and a non-negative x* with about 5% of its entries positive."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, rank)))
    W, _ = np.linalg.qr(rng.standard_normal((n, rank)))
    A = (U * np.logspace(0, -6, rank)) @ W.T + noise * rng.standard_normal((m, n)) / np.sqrt(m)
    x = np.abs(rng.standard_normal(n)) * (rng.random(n) < 0.05)
    return A, U, x, rng


def without_compression(monkeypatch, A, b):
    """The kernel's answer with the compressed path turned off: the path it took before."""
    with monkeypatch.context() as patch:
        patch.setattr(front, "compressed_nnls", lambda *args, **kwargs: None)
        return active_set_nnls(A, b)


def trail(out):
    return [(attempt.path, attempt.exit.reason) for attempt in out.trail]


@pytest.mark.parametrize("n", [300, 1000])
def test_shaw_is_solved_on_its_compression_and_matches_scipy(n):
    A, b, _ = problems.shaw(n)
    out = active_set_nnls(A, b)
    assert out.converged and out.path == "compressed" == Path.COMPRESSED.value
    assert trail(out) == [(Path.BLOCK_PIVOTING, Reason.DEPENDENT_SAMPLE),
                          (Path.COMPRESSED, Reason.CERTIFIED)]
    assert "compression" in out.message
    assert np.all(out.x >= 0) and kkt(A, b, out.x) <= 1e-11
    x_ref, _ = scipy.optimize.nnls(A, b)
    f, f_ref = objective(A, b, out.x), objective(A, b, x_ref)
    assert abs(f - f_ref) <= 1e-12 * f_ref


def test_shaw_through_nnls_names_the_path():
    A, b, _ = problems.shaw(1000)
    res = rp.nnls(A, b)
    assert res.success and res.kkt <= 1e-10
    assert "compression" in res.message and "certified on A" in res.message


@pytest.mark.parametrize("seed", [1, 2])
def test_rank_20_plus_noise_matches_scipy_where_b_is_in_range(seed):
    # b = A x* plus noise inside the rank-20 range: the optimum is at rounding level, and
    # scipy's answer is a KKT point too, so the objectives agree on the scale of ||b||^2.
    A, U, x_true, rng = low_rank(1000, 800, 20, 1e-14, seed)
    g = rng.standard_normal(20)
    for b in (A @ x_true, A @ x_true + 1e-3 * np.linalg.norm(A @ x_true) * U @ g / np.linalg.norm(g)):
        out = active_set_nnls(A, b)
        assert out.path == "compressed" and out.converged
        assert kkt(A, b, out.x) <= 1e-11
        x_ref, _ = scipy.optimize.nnls(A, b)
        assert kkt(A, b, x_ref) <= 1e-10  # the reference is optimal itself
        assert abs(objective(A, b, out.x) - objective(A, b, x_ref)) <= 1e-12 * float(b @ b)


def test_rank_20_plus_noise_matches_the_uncompressed_path(monkeypatch):
    # With noise outside the range, scipy.optimize.nnls stops short of a KKT point (its
    # residual ~1e-6 here) at a lower objective bought with entries in the 1e-14 noise
    # directions; the certified answer to compare with is the uncompressed path's.
    A, _, x_true, rng = low_rank(1000, 800, 20, 1e-14, 1)
    b = A @ x_true + 1e-3 * np.linalg.norm(A @ x_true) * rng.standard_normal(1000) / np.sqrt(1000)
    out = active_set_nnls(A, b)
    before = without_compression(monkeypatch, A, b)
    assert out.path == "compressed" and before.path == "lawson-hanson-qr"
    assert kkt(A, b, out.x) <= 1e-11 and kkt(A, b, before.x) <= 1e-11
    f, f_before = objective(A, b, out.x), objective(A, b, before.x)
    assert abs(f - f_before) <= 1e-12 * f_before


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fallback_when_the_compression_misses_columns(monkeypatch, seed):
    # Control: a rank-20 A with a few columns replaced by spikes (coordinate vectors) that b
    # needs. A sample of 32 columns misses them, so the compressed answer fails the
    # certificate on A, and the path that works on A runs and certifies, with the answer it
    # gives without the compression.
    rng = np.random.default_rng(seed)
    A, _, x_true, rng = low_rank(600, 500, 20, 0.0, seed)
    spikes = rng.choice(500, 6, replace=False)
    A[:, spikes] = 0.0
    A[rng.choice(600, 6, replace=False), spikes] = 1.0 / np.sqrt(500)
    x_true[spikes] = 1.0
    b = A @ x_true
    out = active_set_nnls(A, b)
    assert trail(out) == [(Path.BLOCK_PIVOTING, Reason.DEPENDENT_SAMPLE),
                          (Path.COMPRESSED, Reason.KKT_ABOVE_BOUND),
                          (Path.LAWSON_HANSON_QR, Reason.CERTIFIED)]
    assert "compression" in out.message and "stopped" in out.message
    assert kkt(A, b, out.x) <= 1e-11
    np.testing.assert_array_equal(out.x, without_compression(monkeypatch, A, b).x)
    x_ref, _ = scipy.optimize.nnls(A, b)
    assert abs(objective(A, b, out.x) - objective(A, b, x_ref)) <= 1e-12 * float(b @ b)


def test_full_rank_problems_do_not_take_it():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((400, 300))
    b = rng.standard_normal(400)
    assert compressed.low_rank_basis(A) is None
    # Two equal columns make the probe's sample dependent, but A still has full rank.
    twin = A.copy()
    cols = np.sort(np.random.default_rng(0).choice(300, size=64, replace=False))
    twin[:, cols[1]] = twin[:, cols[0]]
    blur_A, blur_b, _ = problems.blur(300, sigma=3.0)
    for M, rhs in ((A, b), (twin, b), (blur_A, blur_b)):
        out = active_set_nnls(M, rhs)
        assert out.converged and Path.COMPRESSED not in [a.path for a in out.trail]
    assert front._looks_ill_conditioned(twin)


def test_compression_equals_the_projection_for_an_exactly_low_rank_matrix():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((500, 12)) @ rng.standard_normal((12, 400))
    b = rng.standard_normal(500)
    B = compressed.low_rank_basis(A)
    assert B.shape == (500, 12)
    np.testing.assert_allclose(B.T @ B, np.eye(12), atol=1e-13)
    C, c = compressed.compress(A, b, B)
    # the interpolative decomposition gives B^T A without the product (to rounding, times
    # ||B_I^{-1}||, a few units here)
    np.testing.assert_allclose(C, B.T @ A, atol=1e-11 * np.abs(A).max())
    np.testing.assert_allclose(c, B.T @ b, rtol=1e-14, atol=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_lawson_hanson_matches_scipy(seed):
    # A short wide problem with a unique solution (generic C): the same x as scipy.
    rng = np.random.default_rng(seed)
    C = rng.standard_normal((15, 200))
    c = rng.standard_normal(15)
    x, it = compressed.lawson_hanson_small(C, c, 600)
    x_ref, _ = scipy.optimize.nnls(C, c)
    assert it < 600 and np.all(x >= 0)
    assert kkt(C, c, x) <= 1e-13
    np.testing.assert_allclose(x, x_ref, atol=1e-10 * max(1.0, x_ref.max()))


def test_small_lawson_hanson_stops_at_its_iteration_cap():
    rng = np.random.default_rng(5)
    C = rng.standard_normal((10, 100))
    c = C @ np.abs(rng.standard_normal(100))
    x, it = compressed.lawson_hanson_small(C, c, 3)
    assert it == 3 and np.count_nonzero(x) <= 3 and np.all(x >= 0)


def test_polish_takes_the_values_from_the_columns_of_A():
    rng = np.random.default_rng(6)
    A = rng.standard_normal((200, 50))
    x_true = np.abs(rng.standard_normal(50)) * (rng.random(50) < 0.3)
    b = A @ x_true + 1e-3 * rng.standard_normal(200)
    F = np.flatnonzero(x_true)
    rough = np.where(x_true > 0, x_true * (1 + 1e-3 * rng.standard_normal(50)), 0.0)
    x, residual, floor = compressed.polish(A, b, rough)
    z, *_ = np.linalg.lstsq(A[:, F], b, rcond=None)
    np.testing.assert_allclose(x[F], z, rtol=1e-12)
    assert np.all(x[np.setdiff1d(np.arange(50), F)] == 0)
    np.testing.assert_allclose(residual, A @ x - b, rtol=0, atol=1e-13 * np.abs(b).max())
    assert floor == pytest.approx(np.abs(A[:, F].T @ b).max(), rel=1e-14)
    # A support whose least-squares values are not all positive keeps the values it had.
    bad = np.zeros(50)
    bad[:2] = 1.0
    A2 = A.copy()
    A2[:, 1] = A2[:, 0] + 1e-3 * A2[:, 1]  # nearly parallel: the LS values have mixed signs
    b2 = A2[:, 0] - A2[:, 1]
    x2, residual2, _ = compressed.polish(A2, b2, bad)
    np.testing.assert_array_equal(x2, bad)
    np.testing.assert_allclose(residual2, A2 @ bad - b2, rtol=0, atol=1e-13)
    # At the solution the certificate accepts on the floor, a lower bound of ||A^T b||_inf,
    # so its value bounds the exact residual from above.
    x_opt, _ = scipy.optimize.nnls(A, b)
    x_opt, residual, floor = compressed.polish(A, b, x_opt)
    assert 0 < floor <= np.abs(A.T @ b).max()
    on_floor = compressed.certify(A, b, x_opt, residual, floor)
    exact = compressed.certify(A, b, x_opt)
    assert on_floor <= 1e-11
    # (the two residuals A x - b differ by rounding, hence the margin)
    assert exact <= on_floor * (1 + 1e-6) + 1e-18
