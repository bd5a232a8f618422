"""Landscape: every random start reaches the global value under RIP, some do not on the spurious
instance; gradient paths are short, and long with a step near the stability limit."""

from __future__ import annotations

import numpy as np
import pytest

from reparam.models import landscape as ls


def test_every_start_reaches_the_global_value_under_rip():
    c = ls.check_starts(ls.random_starts(ls.sensing_instance(6, 2, seed=1), 2, starts=20,
                                         seed=1))
    assert c.at_limit == 0
    assert c.reached == 1.0 and c.worst <= ls.VALUE_TOL and c.margin > 0


def test_spurious_instance_traps_some_starts():
    c = ls.check_starts(ls.random_starts(ls.spurious_instance(), 1, starts=20, seed=1))
    assert c.at_limit == 0  # the trapped runs stopped at a stationary point
    assert 0 < c.reached < 1
    assert c.worst == pytest.approx(0.75, abs=1e-8)  # f(0, ±1/√2) = ¾ f(0)
    assert c.margin < 0


def test_spurious_point_is_a_strict_local_minimum():
    # f(u) = (1 − δ)[(u1² − 1)² + u2⁴ + (u1² − 1)u2² + 2η u1²u2²], η = (1 + δ)/(2(1 − δ)),
    # δ = 0.55: compare with the instance, and check the Hessian at (0, 1/√2),
    # 2(1 − δ) diag(η − 3/2, 2) = diag(0.2, 1.8), by central differences (error O(h²) = 1e-8).
    f = ls.spurious_instance()
    delta = 0.55
    eta = (1 + delta) / (2 * (1 - delta))

    def value(u):
        return f.value(np.outer(u, u))

    rng = np.random.default_rng(0)
    for u in rng.standard_normal((5, 2)):
        closed = (1 - delta) * ((u[0] ** 2 - 1) ** 2 + u[1] ** 4 + (u[0] ** 2 - 1) * u[1] ** 2
                                + 2 * eta * u[0] ** 2 * u[1] ** 2)
        assert value(u) == pytest.approx(closed, rel=1e-12)
    u, h = np.array([0.0, np.sqrt(0.5)]), 1e-4
    hess = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h, np.eye(2)[j] * h
            hess[i, j] = (value(u + ei + ej) - value(u + ei - ej) - value(u - ei + ej)
                          + value(u - ei - ej)) / (4 * h * h)
    np.testing.assert_allclose(hess, np.diag([0.2, 1.8]), atol=1e-6)


def test_least_squares_path_is_short_and_a_large_step_is_not():
    A, b, x0 = ls.least_squares_instance(20, 80, seed=2)
    short = ls.path_ratio_least_squares(A, b, x0)
    assert short["converged"]
    assert 1.0 <= short["ratio"] <= ls.PATH_RATIO_MAX
    long = ls.path_ratio_least_squares(A, b, x0, step=1.9 / np.linalg.norm(A, 2) ** 2)
    assert long["converged"]
    assert long["ratio"] > ls.PATH_RATIO_MAX


def test_low_rank_regression_path_is_short():
    obj, start = ls.low_rank_instance(6, 1, 12, seed=3)
    r = ls.path_ratio_low_rank(obj, start)
    assert r["converged"] and r["projected"]
    # the projection is at least as close as the GD limit, and the path no shorter than it
    assert 1.0 <= r["ratio_to_limit"] <= r["ratio"] <= ls.PATH_RATIO_MAX


def test_nearest_minimizer_is_feasible_and_stationary():
    # from a perturbed GD limit, the projection lands on {A(U Vᵀ) = y} with θ − θ0 in the row
    # space of the constraint Jacobian there (the first-order condition of the nearest point)
    import reparam as rp
    from reparam.parametrizations import Product

    obj, (U0, V0) = ls.low_rank_instance(5, 1, 8, seed=4)
    res = rp.train(obj, Product(5), init_scale=1.0, params0=(U0, V0), step=0.05, tol=1e-10,
                   max_iter=20_000)
    assert res.success
    U1, V1 = res.params
    (U, V), ok = ls.nearest_minimizer(obj, (U0, V0), (1.01 * U1, 0.99 * V1))
    assert ok
    assert np.linalg.norm(obj.measure(U @ V.T) - obj.y) <= 1e-9 * obj.rhs_norm
    ops = np.stack([obj.adjoint(e) for e in np.eye(obj.y.size)])
    J = np.concatenate([np.einsum("ijk,kl->ijl", ops, V).reshape(8, -1),
                        np.einsum("ikj,kl->ijl", ops, U).reshape(8, -1)], axis=1)
    d = np.concatenate([(U - U0).ravel(), (V - V0).ravel()])
    normal = J.T @ np.linalg.lstsq(J.T, d, rcond=None)[0]
    assert np.linalg.norm(d - normal) <= 1e-8 * np.linalg.norm(d)


def test_bad_input():
    with pytest.raises(TypeError, match="objective"):
        ls.random_starts(np.eye(2), 1)
    with pytest.raises(ValueError, match="n > m"):
        ls.least_squares_instance(10, 5)
    with pytest.raises(ValueError, match="starts"):
        ls.random_starts(ls.spurious_instance(), 1, starts=0)
