"""Balancedness (Du, Hu & Lee 2018): conserved by the flow, O(step) drift under GD; tanh breaks it."""

from __future__ import annotations

import numpy as np
import pytest

from reparam.models import balancing as B


@pytest.mark.parametrize("activation", ["linear", "relu", "tanh"])
def test_network_vjp_matches_finite_differences(activation):
    prob = B.problem(activation, depth=3 if activation != "relu" else 2, seed=4)
    net, Ws = prob.network, prob.params0
    rng = np.random.default_rng(0)
    G = rng.standard_normal(net.forward(Ws).shape)
    grads = net.vjp(Ws, G)
    flat = B.Flattened(net, [W.shape for W in Ws])
    u, d = flat.flatten(Ws), rng.standard_normal(flat.flatten(Ws).size)
    h = 1e-6
    numeric = (np.vdot(G, flat.forward(u + h * d).reshape(G.shape))
               - np.vdot(G, flat.forward(u - h * d).reshape(G.shape))) / (2 * h)
    # central differences: error O(h²) plus rounding ~1e-10 relative
    assert abs(numeric - np.vdot(flat.flatten(grads), d)) <= 1e-6 * max(1.0, abs(numeric))


@pytest.mark.parametrize(("activation", "depth"), [("linear", 2), ("linear", 3), ("relu", 2)])
def test_flow_conserves_the_balance(activation, depth):
    prob = B.problem(activation, depth=depth)
    flow = B.flow_drift(prob, time=2.0)
    assert flow.ok
    assert flow.loss < 0.5 * flow.detail["loss"][0]  # the flow did move the weights
    assert flow.drift <= B.FLOW_DRIFT_TOL


def test_control_tanh_drifts_under_the_flow():
    flow = B.flow_drift(B.problem("tanh"), time=2.0)
    assert flow.ok
    assert flow.drift > B.FLOW_DRIFT_TOL  # the same check fails
    assert flow.drift > 1e3 * B.FLOW_DRIFT_TOL


@pytest.mark.parametrize(("activation", "depth"), [("linear", 2), ("linear", 3), ("relu", 2)])
def test_gd_drift_is_first_order_in_the_step(activation, depth):
    order, runs = B.gd_order(B.problem(activation, depth=depth))
    assert all(r.ok for r in runs)
    assert abs(order - 1.0) <= B.ORDER_TOL


def test_control_tanh_gd_drift_does_not_vanish_with_the_step():
    order, runs = B.gd_order(B.problem("tanh"))
    assert all(r.ok for r in runs)
    assert not abs(order - 1.0) <= B.ORDER_TOL


def test_decaying_steps_stay_balanced_and_bounded():
    run = B.decaying_step_run(max_iter=3000)
    M = run["M"]
    growth = np.max(run["imbalance"]) - run["imbalance"][0]
    assert growth <= B.IMBALANCE_TOL * np.linalg.norm(M)
    assert np.max(run["norm"]) <= 2 * np.linalg.norm(M, "nuc") + 1.0
    assert run["loss"][-1] <= 1e-5 * 0.5 * np.linalg.norm(M) ** 2  # it reached the minimum


def test_balance_and_network_reject_bad_input():
    with pytest.raises(ValueError, match="activation"):
        B.Network(np.eye(2), (3,), 1, activation="sigmoid")
    with pytest.raises(ValueError, match="kind"):
        B.balance((np.eye(2), np.eye(2)), "other")
    with pytest.raises(ValueError, match="depth"):
        B.problem("linear", depth=1)
