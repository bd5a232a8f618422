"""Diagonal linear networks: the weight-normalized map's gradients, the plain network against
its predicted limit, and the claim of Chou, Rauhut & Ward with its control."""

from __future__ import annotations

import numpy as np
import pytest

from reparam.experiments import diagonal_networks as experiment
from reparam.experiments._common import decide
from reparam.implicit_bias import l1_limit, limit
from reparam.models import diagonal_networks as dn
from reparam.parametrizations import Difference, Power


def _fd(fun, p, h=1e-6):
    g = np.zeros_like(p)
    for i in range(p.size):
        e = np.zeros_like(p)
        e[i] = h
        g[i] = (fun(p + e) - fun(p - e)) / (2 * h)
    return g


@pytest.fixture(scope="module")
def outcome():
    return experiment.run(size="tiny")


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_weight_normalized_vjp_is_the_gradient_of_forward(depth):
    p = dn.WeightNormalizedDifference(depth)
    rng = np.random.default_rng(depth)
    r, D = p.init(6, 0.7, rng, kind="gaussian")
    G = rng.standard_normal(6)
    gr, gD = p.vjp((r, D), G)
    # central differences of a polynomial map: error O(h²) ≈ 1e-10, rounding ≈ 1e-10 / h
    np.testing.assert_allclose(gr, _fd(lambda t: p.forward((t, D)) @ G, r), rtol=1e-6,
                               atol=1e-8)
    full = _fd(lambda t: p.forward((r, t.reshape(D.shape))) @ G, D.ravel()).reshape(D.shape)
    # the direction's gradient is the Euclidean one projected on the spheres' tangent spaces
    tangent = full - np.sum(full * D, axis=1, keepdims=True) * D
    np.testing.assert_allclose(gD, tangent, rtol=1e-6, atol=1e-8)
    assert np.all(np.abs(np.sum(gD * D, axis=1)) <= 1e-12 * np.linalg.norm(gD))


def test_difference_vjp_at_depth_three():
    p = Difference(3)
    rng = np.random.default_rng(1)
    u = rng.uniform(0.2, 1.0, 10)
    G = rng.standard_normal(5)
    np.testing.assert_allclose(p.vjp(u, G), _fd(lambda t: p.forward(t) @ G, u), rtol=1e-7)


def test_weight_normalized_starts_at_the_plain_weights():
    p = dn.WeightNormalizedDifference(depth=3)
    r, D = p.init(5, 0.4)
    u, v = p.weights((r, D))
    np.testing.assert_allclose(u, 0.4, rtol=1e-12)
    np.testing.assert_allclose(v, 0.4, rtol=1e-12)
    assert np.all(p.forward((r, D)) == 0)
    # one magnitude per layer vector: r_u = ‖u‖, r_v = ‖v‖, unit directions
    np.testing.assert_allclose(r, [np.linalg.norm(u), np.linalg.norm(v)], rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1.0, rtol=1e-12)


def test_weight_normalized_run_interpolates_and_is_lazy_at_scale_one():
    A, b, _ = dn.problem(10, 40, 2, seed=1)
    plain = dn.train(A, b, "plain", init_scale=1.0, max_iter=5_000)
    lp = l1_limit(A, b, nonnegative=False).objective
    for network in ("normalized", "normalized-layers"):
        wn = dn.train(A, b, network, init_scale=1.0, max_iter=5_000)
        assert wn.converged and wn.status == "CONVERGED"
        # kkt ≤ 1e-7 with A of full row rank: the residual is of the same order
        assert np.linalg.norm(A @ wn.x - b) <= 1e-5 * np.linalg.norm(b)
        # from u0 = v0 = 1 the magnitudes stay put (within 1%) and both networks end at the
        # same point up to the 2% the discrete paths are allowed from the flow's limit
        assert abs(wn.growth - 1.0) <= 1e-2
        assert abs(wn.l1 - plain.l1) <= dn.AGREE * lp


@pytest.mark.parametrize(("model", "shape", "alpha", "kappa"),
                         [("signed", (20, 100, 3), 0.1, 10.0),
                          ("positive", (10, 40, 2), 1.0, 0.3)])
def test_polar_limit_is_the_plain_limit_at_the_effective_scale(model, shape, alpha, kappa):
    # at L = 2 the polar flow differs from the plain one by a factor common to every
    # coordinate: its limit is the plain network's predicted limit at a shrunk init scale
    A, b, _ = dn.problem(*shape, seed=0, nonnegative=model == "positive")
    run = dn.train(A, b, "normalized", init_scale=alpha, model=model, kappa=kappa,
                   max_iter=30_000)
    assert run.converged
    param = Difference(2) if model == "signed" else Power(2)
    beta = run.effective_scale
    assert beta < 0.9 * alpha
    x_eff = limit(A, b, param, init_scale=beta).x
    x_nom = limit(A, b, param, init_scale=alpha).x
    # the discrete path ends within 1% (sup norm) of the flow's limit at the effective
    # scale, as the plain runs do of theirs; the limit at the nominal scale (the control)
    # is more than 10% away
    scale = np.max(np.abs(x_eff))
    assert np.max(np.abs(run.x - x_eff)) <= 1e-2 * scale
    assert np.max(np.abs(run.x - x_nom)) > 0.1 * scale


def test_effective_scale_shrinks_only_on_one_side_of_kappa():
    # signed, from x0 = 0: ⟨x, ∇f⟩ < 0 along the fit, so the scale shrinks for κ > 1 (the
    # direction faster) and grows for κ < 1
    A, b, _ = dn.problem(10, 40, 2, seed=1)
    fast_direction = dn.train(A, b, "normalized", init_scale=0.2, kappa=10.0, max_iter=30_000)
    fast_magnitude = dn.train(A, b, "normalized", init_scale=0.2, kappa=0.1, max_iter=30_000)
    assert fast_direction.converged and fast_magnitude.converged
    assert fast_direction.effective_scale < 0.2 < fast_magnitude.effective_scale
    assert fast_direction.l1 < fast_magnitude.l1


@pytest.mark.parametrize(("model", "alpha", "kappa"),
                         [("signed", 0.1, 0.1), ("signed", 0.2, 10.0), ("signed", 0.2, 0.1),
                          ("signed", 0.3, 100.0), ("positive", 1.0, 0.3)])
def test_effective_scale_follows_the_derived_law(model, alpha, kappa):
    # α_eff = α √(ρ e^{−κ(ρ−1)}) with ρ the magnitude's measured growth: exact for the flow;
    # the discrete runs (half the inverse curvature) follow it to 1% (seen: ≤ 0.4%)
    A, b, _ = dn.problem(10, 40, 2, seed=0 if model == "positive" else 1,
                         nonnegative=model == "positive")
    run = dn.train(A, b, "normalized", init_scale=alpha, model=model, kappa=kappa,
                   max_iter=30_000)
    assert run.converged  # a run stopped at max_iter is no evidence
    law = dn.effective_scale_law(alpha, run.growth, kappa)
    assert run.effective_scale == pytest.approx(law, rel=1e-2)
    # control: the nominal scale (the common factor ignored, ρ = 1) fails the same check
    assert abs(run.effective_scale / alpha - 1) > 1e-2
    assert dn.effective_scale_law(alpha, 1.0, kappa) == pytest.approx(alpha)


@pytest.mark.parametrize("kappa", [0.1, 1.0, 10.0, 100.0])
def test_no_learning_rate_ratio_shrinks_the_scale_from_a_large_init(kappa):
    # α_eff² ≥ α² − ‖x∞‖₁/(2n) whatever κ: at α = 1 the polar form of w = (u, v) ends
    # where the plain network does, far outside the tolerance of the claim
    A, b, _ = dn.problem(10, 40, 2, seed=1)
    lp = l1_limit(A, b, nonnegative=False).objective
    plain = dn.train(A, b, "plain", init_scale=1.0, max_iter=5_000)
    run = dn.train(A, b, "normalized", init_scale=1.0, kappa=kappa, max_iter=5_000)
    assert run.converged and plain.converged
    floor = dn.effective_scale_floor(1.0, run.l1, 40)
    assert 0.98 < floor <= run.effective_scale
    assert run.growth >= 1.0 - 1e-9          # the magnitude cannot end below its start
    assert abs(run.l1 - plain.l1) <= dn.AGREE * lp and run.l1 > (1 + dn.TOL) * lp
    # control: a small init has no floor, and there κ = 100 does shrink the scale
    small = dn.train(A, b, "normalized", init_scale=0.3, kappa=100.0, max_iter=30_000)
    assert small.converged
    assert dn.effective_scale_floor(0.3, small.l1, 40) < small.effective_scale < 0.3 - 1e-3


def test_kappa_sweep_reports_every_run():
    A, b, _ = dn.problem(10, 40, 2, seed=1)
    t = dn.kappa_sweep(A, b, [0.3, 1.0], [1.0, 10.0], max_iter=5_000)
    assert t["kappa"] == [1.0, 1.0, 10.0, 10.0] and t["init_scale"] == [0.3, 1.0, 0.3, 1.0]
    assert all(t["converged"])
    np.testing.assert_allclose(t["effective_scale"], t["law"], rtol=1e-2)
    assert all(e >= f for e, f in zip(t["effective_scale"], t["floor"]))
    np.testing.assert_allclose(t["gap"], np.asarray(t["l1"]) / t["min_l1"] - 1, rtol=1e-12)
    layers = dn.kappa_sweep(A, b, [1.0], [10.0], network="normalized-layers", max_iter=5_000)
    assert layers["converged"] == [True] and np.isnan(layers["law"][0])
    deep = dn.kappa_sweep(A, b, [1.0], [10.0], depth=3, max_iter=5_000)
    assert deep["converged"] == [True] and np.isnan(deep["law"][0])


@pytest.mark.parametrize(("depth", "alpha"), [(2, 0.1), (2, 0.5), (3, 0.3)])
def test_plain_network_reaches_its_predicted_limit(depth, alpha):
    A, b, _ = dn.problem(10, 40, 2, seed=1)
    run = dn.train(A, b, "plain", init_scale=alpha, depth=depth, max_iter=50_000)
    assert run.converged
    x_lim = limit(A, b, Difference(depth), init_scale=alpha).x
    # a fixed step of half the inverse curvature: the discrete path ends within 1% (sup norm)
    # of the flow's limit, and ‖x‖₁ within AGREE of it relative to the minimum ℓ1
    assert np.max(np.abs(run.x - x_lim)) <= 1e-2 * np.max(np.abs(x_lim))
    lp = l1_limit(A, b, nonnegative=False).objective
    assert abs(run.l1 - np.abs(x_lim).sum()) <= dn.AGREE * lp
    # the recorded path ends at the returned point
    assert run.l1_path[-1] == pytest.approx(run.l1)


def test_claim_against_its_threshold(outcome):
    t, parts = outcome.table, outcome.table["criterion_parts"]
    complete = experiment.evidence_complete(t)
    assert complete  # every run the criterion reads stopped on the certificate: evidence
    margin, again = experiment.judge(t)
    assert again == parts and outcome.margin == pytest.approx(margin)
    assert outcome.verdict == decide(margin, complete)
    # the plain network moves away from the minimum ℓ1 value as α grows to 1 ...
    assert parts["spread_plain"] >= experiment.SPREAD_MIN
    assert np.all(np.diff(t["l1_plain"]) > 0)
    # ... and the weight-normalized one (polar form of w = (u, v), started at the plain
    # weights) does not stay within TOL at α = 1: the start is lazy, its effective scale
    # stays at 1 and its magnitude does not grow
    assert parts["gap_normalized"] > dn.TOL
    assert abs(t["magnitude_growth"][-1] - 1.0) <= 1e-2
    assert abs(t["effective_scale"][-1] - 1.0) <= 1e-2
    assert outcome.verdict == "not supported"
    # the derived law holds in every converged polar run at L = 2, and the floor explains
    # the failure: at α = 1 the scale cannot shrink below it, whatever κ
    assert t["law_deviation"] <= 1e-2
    assert t["effective_scale"][-1] >= t["floor_at_largest_scale"] > 0.95
    # every run of the κ sweep is reported; at α = 1 none of the converged ones is within TOL
    for sw in t["kappa_sweeps"]:
        assert len(sw["gap"]) == len(experiment._KAPPAS["tiny"]) * len(
            experiment._SWEEP_SCALES["tiny"])
        at_one = [g for g, a, c in zip(sw["gap"], sw["init_scale"], sw["converged"])
                  if a == 1.0 and c]
        assert at_one and min(at_one) > dn.TOL
    # the positive network from an overshooting start: the polar form shrinks the effective
    # scale and ends much nearer the minimum ℓ1 than the plain one, but not within TOL
    pos = t["positive"]
    assert pos["converged_plain"][-1] and pos["converged_normalized"][-1]
    assert pos["effective_scale"][-1] < 0.9
    assert pos["l1_normalized"][-1] < 0.9 * pos["l1_plain"][-1]
    assert pos["l1_normalized"][-1] > (1 + dn.TOL) * pos["min_l1"]


def test_control_fails_the_criterion(outcome):
    c = outcome.control
    assert c["verdict"] == "not supported" and c["margin"] < 0
    t = outcome.table
    gap = (t["l1_plain"][-1] - t["min_l1"]) / t["min_l1"]
    assert c["margin"] == pytest.approx(dn.TOL - gap)


def test_criterion_can_hold():
    # a table that meets every part of the claim gives a non-negative margin
    table = {"min_l1": 1.0, "l1_plain": [1.0, 1.5], "l1_predicted": [1.0, 1.5],
             "l1_normalized": [1.0, 1.02], "iterations_plain": [100, 100],
             "iterations_normalized": [50, 50]}
    margin, _ = experiment.judge(table)
    assert margin >= 0 and decide(margin) == "supported"
    table["l1_normalized"] = [1.0, 1.2]
    assert experiment.judge(table)[0] < 0


def test_bad_input_is_rejected_with_the_argument_named():
    with pytest.raises(ValueError, match="depth"):
        dn.WeightNormalizedDifference(1)
    with pytest.raises(TypeError, match="depth"):
        dn.WeightNormalizedDifference(2.5)
    with pytest.raises(ValueError, match="shape"):
        dn.WeightNormalizedDifference().init((4, 2), 0.1)
    with pytest.raises(ValueError, match="init_scale"):
        dn.WeightNormalizedDifference().init(4, -1.0)
    A, b, _ = dn.problem(5, 10, 1)
    with pytest.raises(ValueError, match="network"):
        dn.train(A, b, "deep", init_scale=0.1)
    with pytest.raises(ValueError, match="ratio"):
        dn.train(A, b, "normalized-layers", init_scale=0.1, ratio=0.0)
    with pytest.raises(ValueError, match="kappa"):
        dn.train(A, b, "normalized", init_scale=0.1, kappa=0.0)
    with pytest.raises(ValueError, match="model"):
        dn.train(A, b, "plain", init_scale=0.1, model="nonnegative")
    with pytest.raises(ValueError, match="model"):
        dn.train(A, b, "normalized-layers", init_scale=0.1, model="positive")
    with pytest.raises(ValueError, match="shape"):
        dn.WeightNormalizedDifference().forward((np.ones(3), np.ones((2, 4))))
    with pytest.raises(ValueError, match="sparsity"):
        dn.problem(5, 10, 11)
    with pytest.raises(ValueError, match="growth"):
        dn.effective_scale_law(1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="l1"):
        dn.effective_scale_floor(1.0, -1.0, 10)
    with pytest.raises(ValueError, match="n must"):
        dn.effective_scale_floor(1.0, 1.0, 0)
    with pytest.raises(ValueError, match="network"):
        dn.kappa_sweep(A, b, [1.0], [1.0], network="plain")
    with pytest.raises(ValueError, match="kappas"):
        dn.kappa_sweep(A, b, [1.0], [-1.0])
