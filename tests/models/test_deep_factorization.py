"""Law of parsimony (Yaras et al. 2023): equal tail singular values, the exact compressed network."""

from __future__ import annotations

import numpy as np

from reparam.models import deep_factorization as D
from reparam.parametrizations import DeepProduct


def test_orthogonal_init_keeps_the_tail_singular_values_equal():
    prob = D.factorization_problem(d=30, rank=2, seed=1)
    run = D.train_full(prob, step=0.3, max_iter=300)
    assert run.loss[-1] < 0.2 * run.loss[0]  # the layers did move
    assert np.max(run.spread) <= D.SPREAD_TOL


def test_control_gaussian_init_fails_the_spread_check():
    prob = D.factorization_problem(d=30, rank=2, init="gaussian", init_scale=0.1, seed=1)
    run = D.train_full(prob, step=0.3, max_iter=300)
    assert not np.max(run.spread) <= D.SPREAD_TOL


def test_compressed_factorization_matches_the_full_loss_curve():
    prob = D.factorization_problem(d=30, rank=2, seed=2)
    full = D.train_full(prob, step=0.3, max_iter=300, spread=False)
    comp = D.train_compressed(prob, step=0.3, max_iter=300)
    assert np.max(np.abs(full.loss - comp.loss)) / full.loss[0] <= D.CURVE_TOL
    param, params0 = D.compress(prob)
    assert params0[0].shape == (4, 30) and params0[1].shape == (4, 4)  # width 2r
    np.testing.assert_allclose(param.forward(params0), DeepProduct(3).forward(prob.params0),
                               atol=1e-15)


def test_control_compressed_from_a_random_subspace_does_not_match():
    prob = D.factorization_problem(d=30, rank=2, seed=2)
    full = D.train_full(prob, step=0.3, max_iter=300, spread=False)
    # the same construction, with the first gradient replaced by a random matrix
    noise = np.random.default_rng(0).standard_normal(prob.Phi.shape)
    comp = D.train_compressed(prob, step=0.3, max_iter=300, first_gradient=noise)
    assert not np.max(np.abs(full.loss - comp.loss)) / full.loss[0] <= D.CURVE_TOL


def test_compressed_completion_reaches_the_test_error_of_the_full_network():
    prob = D.completion_problem(d=40, rank=1, init_scale=3e-2, seed=0)
    step = 1.0 / (0.2 * 3 * np.linalg.norm(prob.Phi, 2) ** (4 / 3))
    full = D.train_full(prob, step=step, max_iter=3000, spread=False, target=1e-3)
    comp = D.train_compressed(prob, step=step, max_iter=3000, target=1e-3)
    assert full.reached and comp.reached
    assert comp.test_error[-1] <= 1e-3
