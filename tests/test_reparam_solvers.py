"""The paper's solvers: first-order agreement, positivity, acceleration, step-size decay."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
from conftest import gaussian_problem, wellposed_problem

import reparam as rp
from reparam.objectives import LeastSquares
from reparam.optimizers import OPTIMIZERS, Task
from reparam.parametrizations import Power


def _one_step(name, A, b, eta, depth):
    task = Task(LeastSquares(A, b), param=Power(depth), step=eta)
    opt = OPTIMIZERS[name]
    return opt.step(task, opt.init(task, np.full(A.shape[1], 0.3)), 1).x


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_reparam_and_riemannian_steps_agree_to_second_order(depth):
    A, b = wellposed_problem(30, 15, seed=0)
    diffs = []
    for eta in [1e-2, 5e-3, 2.5e-3]:
        x_u = _one_step("gd", A, b, eta, depth)
        x_r = _one_step("riemannian", A, b, eta, depth)
        diffs.append(np.max(np.abs(x_u - x_r)))
    # O(η²): halving η divides the difference by about 4 (first order would give 2).
    ratios = np.array(diffs[:-1]) / np.array(diffs[1:])
    assert np.all(ratios > 3.5), ratios
    assert diffs[-1] < 1e-5


def test_reparam_and_riemannian_trajectories_agree_for_small_steps():
    A, b = wellposed_problem(30, 15, seed=0)
    runs = {}
    for eta in [2e-3, 1e-3]:
        for method in ["reparam-gd", "riemannian-gd"]:
            # same time horizon T = η k for both step sizes
            k = round(0.4 / eta)
            runs[method, eta] = rp.nnls(
                A, b, method=method, step=eta, init_scale=0.3, tol=0, max_iter=k
            ).x
    d_big = np.max(np.abs(runs["reparam-gd", 2e-3] - runs["riemannian-gd", 2e-3]))
    d_small = np.max(np.abs(runs["reparam-gd", 1e-3] - runs["riemannian-gd", 1e-3]))
    assert d_small < 0.6 * d_big  # the gap closes as η → 0 (global error O(η))


def test_depth_two_small_steps_stay_positive():
    A, b, _ = gaussian_problem(30, 60, seed=1)
    xs = []
    res = rp.nnls(
        A, b, method="reparam-gd", depth=2, step=1e-2, init_scale=1e-3, max_iter=3000, tol=0,
        callback=lambda s: xs.append(s.x.min()) and False,
    )
    assert min(xs) > 0
    assert np.all(res.x > 0)


@pytest.mark.parametrize("fast", ["accelerated", "reparam-nesterov", "riemannian-bb"])
@pytest.mark.parametrize("shape", [(40, 20, 3), (60, 30, 1), (20, 40, 4)])
def test_accelerated_methods_need_fewer_iterations(fast, shape):
    A, b = wellposed_problem(*shape)
    base = rp.nnls(A, b, method="reparam-gd", tol=1e-6, max_iter=200_000)
    res = rp.nnls(A, b, method=fast, tol=1e-6, max_iter=200_000)
    assert base.success and res.success
    assert res.n_iter < base.n_iter / 2, (res.n_iter, base.n_iter)


@pytest.mark.parametrize("bb", ["long", "short", "alternating"])
def test_barzilai_borwein_variants_converge(bb):
    A, b = wellposed_problem(40, 20, seed=3)
    res = rp.nnls(A, b, method="riemannian-bb", bb=bb, tol=1e-8, max_iter=20_000)
    assert res.success, res.message
    x_ref, _ = scipy.optimize.nnls(A, b)
    np.testing.assert_allclose(res.x, x_ref, atol=1e-6)


@pytest.mark.parametrize("gamma", [0.25, 0.5])
def test_objective_gap_decays_at_least_like_k_to_minus_gamma(gamma):
    A, b, _ = gaussian_problem(20, 50, seed=0)
    f_star = 0.5 * scipy.optimize.nnls(A, b)[1] ** 2
    res = rp.nnls(
        A, b, method="reparam-gd", decay=gamma, step=0.5, init_scale=0.1, tol=0,
        max_iter=20_000, record=True,
    )
    gap = res.history["objective"] - f_star
    k = np.arange(gap.size)
    window = (k >= 100) & (gap > 1e-13)
    slope = np.polyfit(np.log(k[window]), np.log(gap[window]), 1)[0]
    assert slope <= -gamma, slope
    assert np.all(np.diff(res.history["objective"][100:]) <= 1e-12)  # monotone descent


def test_step_decay_slows_a_constant_step():
    A, b, _ = gaussian_problem(20, 50, seed=0)
    runs = [
        rp.nnls(A, b, method="reparam-gd", decay=g, step=0.5, init_scale=0.1, tol=0,
                max_iter=2000).objective
        for g in (0.0, 0.5, 1.0)
    ]
    assert runs[0] < runs[1] < runs[2]


def test_warm_start_keeps_zero_entries_alive():
    A, b = wellposed_problem(40, 20, seed=3)
    x0 = np.zeros(20)
    x0[:3] = 1.0
    res = rp.nnls(A, b, method="reparam-gd", x0=x0, init_scale=1e-2, max_iter=200_000)
    assert res.success, res.message
