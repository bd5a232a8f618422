"""Lifted tensor sensing (Ma, Lavaei & Sojoudi 2023) on the sharp-RIP instance family of Zhang,
Sojoudi & Lavaei (2019): the instances are what they claim to be, and lifting escapes the
spurious point from random starts, on the δ = 1/2 instance and at δ = 0.55 where plain gradient
descent gets stuck."""

from __future__ import annotations

from functools import reduce
from itertools import permutations

import numpy as np
import pytest

from reparam.models import lifted_tensor as T


@pytest.fixture(scope="module")
def inst():
    return T.spurious_instance(T.RUN_DELTA)


@pytest.fixture(scope="module")
def starts(inst):
    return T.random_starts(inst, order=3, starts=20, seed=0)


@pytest.fixture(scope="module")
def sharp_starts():
    return T.random_starts(T.spurious_instance(), order=3, starts=20, seed=0)


def _f(inst, x):
    return inst.value(np.asarray(x, dtype=float))


@pytest.mark.parametrize("delta", [T.SHARP_DELTA, T.RUN_DELTA, 0.6])
def test_rip_constant_from_the_gram_eigenvalues(delta):
    inst = T.spurious_instance(delta)
    measured, lam = T.rip_constant(inst.ops)
    # eigenvalues 1 − δ, 3(1 − δ), 1 + δ of the Gram on symmetric 2 × 2 (all of rank ≤ 2)
    np.testing.assert_allclose(lam, np.sort([1 - delta, 3 * (1 - delta), 1 + delta]),
                               atol=1e-12)
    assert measured <= delta + 1e-12
    assert measured >= delta - 1e-12
    # independent of the Gram: ‖𝒜(X)‖² / ‖X‖² of random symmetric X stays in [1 − δ, 1 + δ]
    X = np.random.default_rng(0).standard_normal((500, 2, 2))
    X = X + X.transpose(0, 2, 1)
    ratio = (np.einsum("kab,nab->nk", inst.ops, X) ** 2).sum(1) / (X ** 2).sum((1, 2))
    assert ratio.min() >= 1 - delta - 1e-12 and ratio.max() <= 1 + delta + 1e-12


def test_sharp_instance_has_a_spurious_second_order_critical_point():
    inst = T.spurious_instance(0.5)
    check = T.critical_point_check(inst)
    assert check["grad_norm"] < 1e-12
    # Hessian 2(1 − δ) diag(η − 3/2, 2) = diag(0, 2): positive semi-definite, singular
    np.testing.assert_allclose(check["hessian"], [0.0, 2.0], atol=1e-12)
    assert check["value"] == pytest.approx(0.375, abs=1e-12)  # ¾(1 − δ) > 0
    assert _f(inst, inst.z) < 1e-15 and _f(inst, -inst.z) < 1e-15  # the global value is 0


def test_default_is_the_sharp_instance():
    inst = T.spurious_instance()
    assert inst.delta == T.SHARP_DELTA == 0.5
    # in the coordinates (X11, X22, √2 X12) the Gram is ½ [[2, 1, 0], [1, 2, 0], [0, 0, 3]]
    r2 = np.sqrt(2)
    basis = np.array([[[1, 0], [0, 0]], [[0, 0], [0, 1]], [[0, 1 / r2], [1 / r2, 0]]])
    coords = np.einsum("kab,jab->kj", inst.ops, basis)
    np.testing.assert_allclose(coords.T @ coords, 0.5 * np.array([[2, 1, 0], [1, 2, 0],
                                                                  [0, 0, 3]]), atol=1e-12)
    np.testing.assert_allclose(inst.spurious, [0, np.sqrt(0.5)], atol=1e-15)


def _hessian_min_block_diagonal(H):
    # f(x) = m(xxᵀ − e1e1ᵀ)ᵀ H m(xxᵀ − e1e1ᵀ) with H block diagonal (h13 = h23 = 0): the only
    # critical point (0, a), a > 0, off the axis of the truth has a² = h12/h22; its Hessian
    # is diag(4(a² h33 + s), 8 a² h22), s = −h11 + a² h12, computed here by differences of f
    a2 = H[0, 1] / H[1, 1]
    r2 = np.sqrt(2)

    def f(x):
        D = np.outer(x, x) - np.diag([1.0, 0.0])
        v = np.array([D[0, 0], D[1, 1], r2 * D[0, 1]])
        return v @ H @ v

    x, h = np.array([0.0, np.sqrt(a2)]), 1e-4
    fd = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h, np.eye(2)[j] * h
            fd[i, j] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej)
                        + f(x - ei - ej)) / (4 * h * h)
    return np.linalg.eigvalsh(fd)[0]


def test_sharp_instance_is_the_only_block_diagonal_one():
    # the derivation of the module docstring: with cond(H) ≤ 3 (RIP constant ≤ 1/2) and H
    # block diagonal, (0, √(h12/h22)) is a second-order critical point only for
    # H ∝ [[2, 1, 0], [1, 2, 0], [0, 0, 3]]; every other such H has negative curvature there
    assert abs(_hessian_min_block_diagonal(np.array([[2.0, 1, 0], [1, 2, 0], [0, 0, 3]]))) < 1e-6
    rng = np.random.default_rng(0)
    worst = -np.inf
    for k in range(200):
        if k % 2:  # anywhere with cond(H) ≤ 3 (smallest eigenvalue 1)
            lam = rng.uniform(1.0, 3.0, 3)
            lam[rng.integers(3)] = 1.0
            t = rng.uniform(0, np.pi / 2)
        else:  # near the sharp instance: eigenvalues (1, 3, 3) of the block and h33, 45°
            lam = np.array([1.0, 3.0, 3.0]) - [0, *rng.uniform(0, 1e-2, 2)]
            t = np.pi / 4 + rng.uniform(-1e-2, 1e-2)
        c, s = np.cos(t), np.sin(t)
        R = np.array([[c, s], [-s, c]])
        B = R @ np.diag(np.sort(lam[:2])) @ R.T  # h12 = (λ2 − λ1) cs ≥ 0
        if B[0, 1] <= 1e-3:
            continue
        H = np.zeros((3, 3))
        H[:2, :2], H[2, 2] = B, lam[2]
        worst = max(worst, _hessian_min_block_diagonal(H))
    assert worst < -1e-6
    # the check itself can pass: above the bound (δ = 0.55) the point is a strict minimum
    delta = T.RUN_DELTA
    eta = (1 + delta) / (2 * (1 - delta))
    H = 2 * (1 - delta) * np.array([[1, 0.5, 0], [0.5, 1, 0], [0, 0, eta]])
    assert _hessian_min_block_diagonal(H) > 0.3


def test_sharp_instance_point_is_not_a_local_minimum():
    # δ = 1/2 is the boundary: along (t, √(½ − 2t²)) the value drops by exactly (3/2) t⁴
    inst = T.spurious_instance(0.5)
    fs = _f(inst, inst.spurious)
    for t in (0.05, 0.1):
        drop = fs - _f(inst, [t, np.sqrt(0.5 - 2 * t * t)])
        assert drop == pytest.approx(1.5 * t ** 4, rel=1e-6)


def test_run_instance_has_a_strict_spurious_local_minimum(inst):
    check = T.critical_point_check(inst)
    delta = inst.delta
    eta = (1 + delta) / (2 * (1 - delta))
    assert check["grad_norm"] < 1e-12
    np.testing.assert_allclose(check["hessian"], [2 * (1 - delta) * (eta - 1.5),
                                                  4 * (1 - delta)], atol=1e-12)
    assert check["hessian_min"] > 0.19  # 0.2: positive definite, far from rounding
    assert check["value"] == pytest.approx(0.75 * (1 - delta), abs=1e-12)
    # the closed-form Hessian against central differences of f (error O(h²) ≈ 1e-8)
    h, x = 1e-4, inst.spurious
    fd = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h, np.eye(2)[j] * h
            fd[i, j] = (_f(inst, x + ei + ej) - _f(inst, x + ei - ej) - _f(inst, x - ei + ej)
                        + _f(inst, x - ei - ej)) / (4 * h * h)
    np.testing.assert_allclose(np.linalg.eigvalsh(fd), check["hessian"], atol=1e-6)


def test_lifting_turns_the_spurious_minimum_into_a_strict_saddle(inst):
    # at x_s^{⊗3}: gradient zero, and the Hessian on symmetric tensors has a negative
    # eigenvalue; checked against central differences of f_3(w) = f_lifted(w wᵀ)
    check = T.critical_point_check(inst, order=3)
    assert check["grad_norm"] < 1e-12
    assert check["hessian_min"] < -1.0  # −1.20: far from rounding
    assert check["value"] > 0.3
    lifted = T.lift(inst, 3)
    w = reduce(np.kron, [inst.spurious] * 3)

    def f3(v):
        return lifted.value(np.outer(v, v))

    # an orthonormal basis of the symmetric 2 × 2 × 2 tensors (dimension 4): the range of the
    # average over the permutations of the three factors
    E = np.eye(8).reshape(8, 2, 2, 2)
    sym = sum(E.transpose((0, *(1 + q for q in p))) for p in permutations(range(3)))
    sym = sym.reshape(8, 8) / 6
    lam, vec = np.linalg.eigh(sym)
    B = vec[:, lam > 0.5].T  # (4, 8)
    h = 1e-4
    fd = np.array([[(f3(w + h * (a + b)) - f3(w + h * (a - b)) - f3(w - h * (a - b))
                     + f3(w - h * (a + b))) / (4 * h * h) for b in B] for a in B])
    np.testing.assert_allclose(np.linalg.eigvalsh(fd), check["hessian"], atol=1e-6)


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


def test_plain_gd_is_stuck_in_a_fraction_of_random_starts(inst, starts):
    assert starts.unfinished == 0
    assert starts.stuck_fraction >= T.PLAIN_STUCK_MIN
    # stuck means at the spurious point: f / f(0) = 3/4 there
    np.testing.assert_allclose(starts.plain_values[starts.plain_stuck], 0.75, atol=1e-8)


def test_starts_below_the_local_recovery_level_are_not_stuck(inst, starts):
    # Zhang, Sojoudi & Lavaei's local result: a descent method started at f(x0) ≤ (1 − δ)² f(0)
    # that converges to a second-order point recovers M*; the spurious value ¾ f(0) is above
    level = (1 - inst.delta) ** 2
    assert 0.75 > level
    below = starts.plain_start_values <= level
    assert below.any()  # the check is not empty
    assert starts.plain_recovered[below].all()


def test_lifted_gd_recovers_from_random_starts(starts):
    assert starts.unfinished == 0
    assert np.mean(starts.lifted_gaussian) >= T.LIFTED_GLOBAL_MIN
    assert np.mean(starts.lifted_power) >= T.LIFTED_GLOBAL_MIN
    # including from exactly the starts where plain gradient descent is stuck
    assert starts.plain_stuck.any() and starts.lifted_power[starts.plain_stuck].all()


def test_lifted_gd_recovers_on_the_sharp_instance(sharp_starts):
    # the instance with RIP constant 1/2: lifted GD recovers M* from every random start, and
    # x_s^{⊗3} is a strict saddle of the lifted problem
    assert sharp_starts.unfinished == 0
    assert sharp_starts.lifted_fraction >= T.LIFTED_GLOBAL_MIN
    assert sharp_starts.lifted_gaussian.all() and sharp_starts.lifted_power.all()
    assert T.critical_point_check(T.spurious_instance(), order=3)["hessian_min"] < -1.0


def test_plain_gd_is_not_stuck_on_the_sharp_instance(sharp_starts):
    # x_s is not a local minimum at δ = 1/2: the stuck check fails there, which is why the
    # stuck claim is checked at δ = 0.55
    assert sharp_starts.plain_unfinished == 0
    assert sharp_starts.stuck_fraction < T.PLAIN_STUCK_MIN
    assert sharp_starts.plain_recovered.all()


def test_control_order_one_fails_the_lifted_criterion(starts):
    # order 1 is plain gradient descent: the same runs judged by the lifted criterion
    assert np.mean(starts.plain_recovered) < T.LIFTED_GLOBAL_MIN
    np.testing.assert_array_equal(starts.plain_recovered, ~starts.plain_stuck)


def test_plain_starts_do_not_depend_on_the_order(inst):
    a = T.random_starts(inst, order=1, starts=4, seed=3, lifted=False)
    b = T.random_starts(inst, order=3, starts=4, seed=3, lifted=False)
    np.testing.assert_array_equal(a.plain_values, b.plain_values)
    assert a.lifted_gaussian.size == 0


def test_bad_input(inst):
    with pytest.raises(ValueError, match="order"):
        T.lift(inst, 0)
    with pytest.raises(ValueError, match="delta"):
        T.spurious_instance(0.4)
    with pytest.raises(TypeError, match="delta"):
        T.spurious_instance("0.5")
    with pytest.raises(ValueError, match="starts"):
        T.random_starts(inst, starts=0)
    with pytest.raises(ValueError, match="ops"):
        T.rip_constant(np.ones((3, 2, 3)))
