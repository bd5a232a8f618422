"""Law of parsimony (Yaras et al. 2023): equal tail singular values, the exact compressed network."""

from __future__ import annotations

import numpy as np
import pytest

from reparam.models import deep_factorization as D
from reparam.parametrizations import DeepProduct


def _step(prob):
    return 0.75 * D.edge_of_stability(prob.Phi, prob.depth)


def test_orthogonal_init_keeps_the_tail_singular_values_equal():
    prob = D.factorization_problem(d=30, rank=2, seed=1)
    run = D.train_full(prob, step=_step(prob), max_iter=300)
    assert run.loss[-1] < 0.2 * run.loss[0]  # the layers did move
    assert np.max(run.spread) <= D.SPREAD_TOL


def test_control_gaussian_init_fails_the_spread_check():
    prob = D.factorization_problem(d=30, rank=2, init="gaussian", init_scale=0.1, seed=1)
    run = D.train_full(prob, step=_step(prob), max_iter=300)
    assert not np.max(run.spread) <= D.SPREAD_TOL


@pytest.mark.parametrize(("d", "rank", "seed"), [(30, 2, 2), (100, 5, 0)])
def test_compressed_factorization_matches_the_full_loss_curve(d, rank, seed):
    prob = D.factorization_problem(d=d, rank=rank, seed=seed)
    full = D.train_full(prob, step=_step(prob), max_iter=300, spread=False)
    comp = D.train_compressed(prob, step=_step(prob), max_iter=300)
    assert full.loss[-1] < 1e-2 * full.loss[0]  # the curve covers the whole fit
    assert np.max(np.abs(full.loss - comp.loss)) / full.loss[0] <= D.CURVE_TOL
    param, params0 = D.compress(prob)
    assert params0[0].shape == (2 * rank, d) and params0[1].shape == (2 * rank, 2 * rank)
    np.testing.assert_allclose(param.forward(params0), DeepProduct(3).forward(prob.params0),
                               atol=1e-15)


def test_control_compressed_from_a_random_subspace_does_not_match():
    prob = D.factorization_problem(d=30, rank=2, seed=2)
    full = D.train_full(prob, step=_step(prob), max_iter=300, spread=False)
    # the same construction, with the first gradient replaced by a random matrix
    noise = np.random.default_rng(0).standard_normal(prob.Phi.shape)
    comp = D.train_compressed(prob, step=_step(prob), max_iter=300, first_gradient=noise)
    assert not np.max(np.abs(full.loss - comp.loss)) / full.loss[0] <= D.CURVE_TOL


def test_compressed_completion_reaches_the_test_error_of_the_full_network():
    prob = D.completion_problem(d=40, rank=1, init_scale=3e-2, seed=0)
    step = 1.0 / (0.2 * 3 * np.linalg.norm(prob.Phi, 2) ** (4 / 3))
    full = D.train_full(prob, step=step, max_iter=3000, spread=False, target=1e-3)
    comp = D.train_compressed(prob, step=step, max_iter=3000, target=1e-3)
    assert full.reached and comp.reached
    assert comp.test_error[-1] <= 1e-3


def _perturbed(prob, size, seed=5):
    rng = np.random.default_rng(seed)
    layers = tuple(W * (1 + size * rng.standard_normal(W.shape)) for W in prob.params0)
    return D.Problem(prob.Phi, prob.objective, prob.rank, prob.depth, prob.init_scale, layers)


def test_above_the_edge_of_stability_rounding_decides_the_loss_curve():
    # 0.45 > 2/λ = 0.265 (σ₁(Φ) = 2, depth 3): the top direction oscillates chaotically, and
    # the full network started 1e-15 away from itself ends on another loss curve — the same
    # O(1) gap as between the full and compressed networks there. Below the edge both agree
    # to rounding.
    prob = D.factorization_problem(d=30, rank=2, seed=0)
    edge = D.edge_of_stability(prob.Phi, prob.depth)
    assert abs(edge - 2 / (3 * 2 ** (4 / 3))) < 1e-12
    gaps = {}
    for step in (0.45, _step(prob)):
        a = D.train_full(prob, step=step, max_iter=300, spread=False)
        b = D.train_full(_perturbed(prob, 1e-15), step=step, max_iter=300, spread=False)
        assert np.all(np.isfinite(a.loss))
        gaps[step] = np.max(np.abs(a.loss - b.loss)) / a.loss[0]
    assert gaps[0.45] > 1e-2
    assert gaps[_step(prob)] <= 1e-12
