"""Lifted tensor sensing (Ma, Lavaei & Sojoudi 2023): a spurious minimum of f is escaped by lifting."""

from __future__ import annotations

from functools import reduce

import numpy as np
import pytest

from reparam.models import lifted_tensor as T


@pytest.fixture(scope="module")
def inst():
    return T.spurious_instance()


def test_instance_has_a_strict_spurious_local_minimum(inst):
    check = T.critical_point_check(inst)
    assert check["grad_norm"] < 1e-12
    assert check["hessian_min"] > 0.1  # strictly positive definite, far from rounding
    assert check["value"] > 0.3
    assert T.critical_point_check(inst, inst.z)["value"] < 1e-15  # the global minimum
    assert 0.5 < inst.delta < 0.55  # just above the sharp RIP bound 1/2


def test_lifted_objective_on_rank_one_tensors(inst):
    x = np.array([0.3, -0.7])
    for order in (2, 3):
        w = reduce(np.kron, [x] * order)
        y = inst.objective.y
        Ax = inst.objective.measure(np.outer(x, x))
        expected = 0.5 * np.sum((reduce(np.kron, [Ax] * order) - reduce(np.kron, [y] * order)) ** 2)
        assert T.lift(inst, order).value(np.outer(w, w)) == pytest.approx(expected, rel=1e-12)


def test_rank1_part_recovers_a_rank_one_tensor():
    u = np.array([0.6, 0.8])
    lam, v = T.rank1_part(-2.0 * reduce(np.kron, [u] * 3), 2, 3)
    np.testing.assert_allclose(lam * reduce(np.kron, [v] * 3), -2.0 * reduce(np.kron, [u] * 3),
                               atol=1e-12)


def test_lifted_gd_from_small_init_ends_rank_one_at_the_truth(inst):
    run = T.lifted_run(inst, order=3, seed=1)
    assert run.finished
    assert run.rank1_fraction >= T.RANK1_TOL
    assert run.error <= T.RECOVERY_TOL


def test_lifting_escapes_the_spurious_minimum_plain_gd_does_not(inst):
    out = T.fractions(inst, order=3, runs=8, seed=0)
    assert out["unfinished"] == 0
    assert out["lifted_recovered"] == 1.0
    assert out["plain_stuck"] > 0


def test_control_order_one_fails_the_same_criterion(inst):
    out = T.fractions(inst, order=1, runs=8, seed=0)
    assert out["unfinished"] == 0
    assert out["lifted_recovered"] < 1.0


def test_lift_rejects_a_bad_order(inst):
    with pytest.raises(ValueError, match="order"):
        T.lift(inst, 0)
