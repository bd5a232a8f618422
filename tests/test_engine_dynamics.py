"""The NNLS methods on the engine take the same steps as their update rules written plainly.

Each reference below re-implements one method from its formulas (Gram-form gradient, the
safe step of each method, the boundary cap, momentum with restart, Barzilai–Borwein with the
non-monotone line search) and is compared iterate by iterate with ``rp.nnls`` (captured by the
callback). Both sides do the same arithmetic up to the order of a few products, so the
iterates agree to a few ulps per step: 1e-12 relative over the lengths run here.
"""

from __future__ import annotations

import numpy as np
import pytest

import reparam as rp
from reparam import problems

RTOL = 1e-12


def _trajectory(A, b, method, n_iter, **opts):
    xs = []

    def callback(state):
        xs.append(np.array(state.x, copy=True))

    rp.nnls(A, b, method=method, tol=0.0, max_iter=n_iter, callback=callback, **opts)
    return np.array(xs)


def _gram(A, b):
    return A.T @ A, A.T @ b, np.linalg.norm(A, 2) ** 2


def _ref_reparam_gd(A, b, depth, alpha, n_iter, step="auto", decay=0.0):
    G, c, lip = _gram(A, b)
    L = depth
    u = np.full(A.shape[1], alpha)
    g = G @ u**L - c
    out = []
    for k in range(1, n_iter + 1):
        if step == "auto":
            curv = L * L * np.max(np.abs(u)) ** (2 * L - 2) * lip
            curv += 2.0 * L * (L - 1) * np.max(np.abs(u ** (L - 2) * g))
            eta = 1.0 / curv
        else:
            eta = step
        eta = eta / (k + 1) ** decay
        u = u - eta * L * u ** (L - 1) * g
        x = u**L
        g = G @ x - c
        out.append(x)
    return np.array(out)


def _metric(x, L):
    return L * L * x ** (2.0 - 2.0 / L)


def _cap(x, d):
    worst = np.max(-d / np.maximum(x, np.finfo(float).tiny), initial=0.0)
    return 0.9 / worst if worst > 0 else np.inf


def _ref_riemannian_gd(A, b, depth, alpha, n_iter, decay=0.0):
    G, c, lip = _gram(A, b)
    x = np.full(A.shape[1], alpha) ** depth
    g = G @ x - c
    out = []
    for k in range(1, n_iter + 1):
        P = _metric(x, depth)
        d = -P * g
        eta = min(1.0 / (np.max(P) * lip) / (k + 1) ** decay, _cap(x, d))
        x = x + eta * d
        g = G @ x - c
        out.append(x)
    return np.array(out)


def _ref_nesterov(A, b, depth, alpha, n_iter):
    G, c, lip = _gram(A, b)
    L = depth
    u = u_prev = np.full(A.shape[1], alpha)
    j = 0
    out = []
    for _ in range(n_iter):
        j += 1
        v = u + (j - 1) / (j + 2) * (u - u_prev)
        v = np.where(v < 0.5 * u, u, v)
        x = v**L
        g = G @ x - c
        grad = L * v ** (L - 1) * g
        curv = L * L * np.max(np.abs(v)) ** (2 * L - 2) * lip
        curv += 2.0 * L * (L - 1) * np.max(np.abs(v ** (L - 2) * g))
        u_next = v - grad / curv
        if grad @ (u_next - u) > 0:
            j = 0
        u_prev, u = u, u_next
        out.append(x)
    return np.array(out)


def _ref_bb(A, b, alpha, n_iter):
    G, c, lip = _gram(A, b)
    half_bb = 0.5 * b @ b

    def fg(x):
        g = G @ x - c
        return max(0.5 * x @ (g - c) + half_bb, 0.0), g

    x = np.full(A.shape[1], alpha) ** 2
    f, g = fg(x)
    x_prev = g_prev = None
    hist = [f]
    out = []
    for k in range(1, n_iter + 1):
        P = _metric(x, 2)
        d = -P * g
        safe = 1.0 / (np.max(P) * lip)
        eta = None
        if x_prev is not None:
            s, y = x - x_prev, g - g_prev
            if s @ y > 0:
                long = (s @ (s / P)) / (s @ y)
                short = (s @ y) / (y @ (P * y))
                eta = long if k % 2 else short
        eta = safe if eta is None else np.clip(eta, 1e-8 * safe, 1e8 * safe)
        eta = min(eta, _cap(x, d))
        f_ref = max(hist)
        slack = 8 * np.finfo(float).eps * (abs(f_ref) + half_bb)
        for _ in range(40):
            x_new = x + eta * d
            f_new, g_new = fg(x_new)
            if f_new <= f_ref + 1e-4 * eta * (g @ d) + slack:
                break
            eta *= 0.5
        x_prev, g_prev, x, g = x, g, x_new, g_new
        hist = (hist + [f_new])[-10:]
        out.append(x)
    return np.array(out)


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=0.0)


@pytest.mark.parametrize("depth", [2, 3])
@pytest.mark.parametrize("decay", [0.0, 0.5])
def test_reparam_gd_takes_the_plain_steps(depth, decay):
    A, b, _ = problems.gaussian(20, 30, sparsity=4, seed=1)
    ours = _trajectory(A, b, "reparam-gd", 300, depth=depth, init_scale=0.1, decay=decay)
    _close(ours, _ref_reparam_gd(A, b, depth, 0.1, 300, decay=decay))


def test_reparam_gd_fixed_step():
    A, b, _ = problems.gaussian(20, 30, sparsity=4, seed=2)
    ours = _trajectory(A, b, "reparam-gd", 300, init_scale=0.1, step=0.02)
    _close(ours, _ref_reparam_gd(A, b, 2, 0.1, 300, step=0.02))


@pytest.mark.parametrize("alpha", [1e-1, 1e-2, 1e-3])
def test_riemannian_gd_paper_init_scale_setting(alpha):
    # The paper's init-scale experiment: 10 rows, 50 unknowns, seed 3, several init scales.
    A, b, _ = problems.gaussian(10, 50, sparsity=5, seed=3)
    ours = _trajectory(A, b, "riemannian-gd", 2000, init_scale=alpha)
    _close(ours, _ref_riemannian_gd(A, b, 2, alpha, 2000))


def test_riemannian_gd_depth_three_with_decay():
    A, b, _ = problems.gaussian(10, 50, sparsity=5, seed=3)
    ours = _trajectory(A, b, "riemannian-gd", 500, depth=3, init_scale=0.2, decay=0.3)
    _close(ours, _ref_riemannian_gd(A, b, 3, 0.2, 500, decay=0.3))


def test_reparam_nesterov_takes_the_plain_steps():
    A, b, _ = problems.gaussian(40, 30, sparsity=6, seed=4)
    _close(_trajectory(A, b, "reparam-nesterov", 400, init_scale=0.05),
           _ref_nesterov(A, b, 2, 0.05, 400))


def test_riemannian_bb_takes_the_plain_steps():
    A, b, _ = problems.gaussian(40, 30, sparsity=6, seed=5)
    _close(_trajectory(A, b, "riemannian-bb", 200, init_scale=0.05), _ref_bb(A, b, 0.05, 200))


@pytest.mark.parametrize("method", ["reparam-gd", "riemannian-gd", "reparam-nesterov"])
def test_block_of_columns_matches_one_run_per_column(method):
    # A block runs the same per-column rule; a column's steps see only its own data, so the
    # iterates agree with separate runs up to the rounding of matrix vs vector products.
    A, b, _ = problems.gaussian(30, 20, sparsity=4, seed=6)
    B = np.column_stack([b, 0.5 * b + A[:, 0], A @ np.abs(np.sin(np.arange(20)))])
    block = rp.nnls(A, B, method=method, tol=1e-7, max_iter=5000)
    for j in range(B.shape[1]):
        one = rp.nnls(A, B[:, j], method=method, tol=1e-7, max_iter=5000)
        assert block.status[j] is one.status
        assert abs(int(block.n_iter[j]) - one.n_iter) <= 1
        np.testing.assert_allclose(block.x[:, j], one.x, rtol=1e-8, atol=1e-12)


def test_init_scale_sweep_matches_one_run_per_scale():
    A, b, _ = problems.gaussian(10, 50, sparsity=5, seed=3)
    scales = np.array([3e-1, 1e-1, 3e-2])
    sweep = rp.nnls(A, b, method="riemannian-gd", init_scale=scales, tol=1e-6, max_iter=3000)
    assert sweep.x.shape == (50, 3)
    for j, alpha in enumerate(scales):
        one = rp.nnls(A, b, method="riemannian-gd", init_scale=alpha, tol=1e-6, max_iter=3000)
        assert sweep.status[j] is one.status
        np.testing.assert_allclose(sweep.x[:, j], one.x, rtol=1e-8, atol=1e-12)


def test_finished_columns_freeze():
    # A column that meets tol stops moving while the others go on.
    A, b, _ = problems.wellposed(30, 20, seed=7)
    B = np.column_stack([b, b])
    res = rp.nnls(A, B, method="reparam-nesterov", init_scale=[0.3, 1e-4], tol=1e-8,
                  max_iter=20_000)
    assert res.success and res.n_iter[0] != res.n_iter[1]
    for j, alpha in enumerate([0.3, 1e-4]):
        one = rp.nnls(A, b, method="reparam-nesterov", init_scale=alpha, tol=1e-8,
                      max_iter=20_000)
        assert one.n_iter == res.n_iter[j]
        np.testing.assert_allclose(res.x[:, j], one.x, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("method", ["riemannian-bb", "accelerated", "fista", "projected-gd",
                                    "reparam-gd", "riemannian-gd", "reparam-nesterov"])
def test_block_columns_equal_their_single_runs(method):
    # Strictly complementary solutions (x* on a random support, gradient in [0.05, 0.5] off
    # it) of different difficulty: the columns stop at different iterations and the frozen
    # ones must not move. Each column of the block follows its own single run: the block
    # computes column j of G X as the single run computes G x_j, which differ only in the
    # order of a few sums inside BLAS. (Barzilai-Borwein lengths amplify such differences on a
    # column that converges slowly, e.g. one with a nearly degenerate gradient: the problems
    # here are well separated, gradient >= 0.05 off the support.)
    rng = np.random.default_rng(8)
    A = rng.standard_normal((30, 20)) / np.sqrt(30)
    support = rng.random((20, 4)) < 0.4
    X = np.where(support, rng.uniform(0.5, 1.5, (20, 4)), 0.0)
    G = np.where(support, 0.0, rng.uniform(0.05, 0.5, (20, 4)) * [1.0, 2.0, 3.0, 5.0])
    B = A @ (X - np.linalg.solve(A.T @ A, G))
    opts = {"method": method, "tol": 1e-9, "max_iter": 5000}
    block = rp.nnls(A, B, **opts)
    assert len(set(block.n_iter.tolist())) > 1  # the columns stop at different iterations
    for j in range(B.shape[1]):
        one = rp.nnls(A, B[:, j], **opts)
        assert block.status[j] is one.status is rp.Status.CONVERGED
        assert block.n_iter[j] == one.n_iter
        np.testing.assert_allclose(block.x[:, j], one.x, rtol=0.0, atol=1e-12)
