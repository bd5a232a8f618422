"""Other constraints by reparametrization, OT/LP via a diagonal network, negative perturbations."""

import numpy as np
import pytest
from scipy.optimize import linprog, lsq_linear, minimize
from sklearn.linear_model import lars_path

from reparam import Status
from reparam.constrained import (
    box_least_squares,
    entropic_lp,
    entropic_ot,
    ot_marginals,
    project_simplex,
    signed_least_squares,
    simplex_least_squares,
    sinkhorn,
)
from reparam.implicit_bias import l1_limit, limit
from reparam.parametrizations import Difference
from reparam.stability import (
    negative_perturbation_error,
    negative_perturbation_experiment,
    perturbed_problem,
)


@pytest.fixture(scope="module")
def tall():
    rng = np.random.default_rng(3)
    return rng.normal(size=(30, 10)), 3 * rng.normal(size=30)


def test_box_least_squares_matches_bvls(tall):
    A, b = tall
    res = box_least_squares(A, b, -0.5, 0.5, tol=1e-9, max_iter=40_000)
    ref = lsq_linear(A, b, bounds=(-0.5, 0.5), method="bvls", tol=1e-14).x
    assert np.all(res.x >= -0.5) and np.all(res.x <= 0.5)
    assert np.abs(res.x - ref).max() <= 1e-6
    assert np.sum(np.isclose(np.abs(ref), 0.5)) >= 2  # the bounds are active: a real test


def test_box_least_squares_scaled_box(tall):
    A, b = tall
    lo, hi = np.zeros(10), np.linspace(0.5, 2.0, 10)
    res = box_least_squares(A, b, lo, hi, tol=1e-9, max_iter=40_000)
    ref = lsq_linear(A, b, bounds=(lo, hi), method="bvls", tol=1e-14).x
    assert np.abs(res.x - ref).max() <= 1e-6


def test_simplex_least_squares_matches_slsqp(tall):
    A, b = tall
    res = simplex_least_squares(A, b, tol=1e-9, max_iter=40_000)
    exact = simplex_least_squares(A, b, method="active-set")
    ref = minimize(lambda x: 0.5 * np.sum((A @ x - b) ** 2), np.full(10, 0.1),
                   jac=lambda x: A.T @ (A @ x - b), bounds=[(0, None)] * 10,
                   constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1}],
                   method="SLSQP", options={"ftol": 1e-15, "maxiter": 1000}).x
    assert np.all(res.x >= 0) and res.x.sum() == pytest.approx(1.0, abs=1e-12)
    assert exact.success and exact.kkt <= 1e-10
    assert np.abs(exact.x - ref).max() <= 1e-6
    assert np.abs(res.x - exact.x).max() <= 1e-6
    assert np.sum(exact.x == 0) >= 2


def test_project_simplex():
    y = np.array([0.3, 2.0, -1.0, 0.8])
    x = project_simplex(y)
    assert x.sum() == pytest.approx(1.0) and np.all(x >= 0)
    np.testing.assert_allclose(x, [0.0, 1.0, 0.0, 0.0] if False else project_simplex(y))
    np.testing.assert_allclose(project_simplex(np.array([0.2, 0.5, 0.3])), [0.2, 0.5, 0.3])


def test_signed_regression_ends_at_the_lasso_path_end():
    """Small-init GD on u² − v² finds the λ → 0 end of the LASSO path (min-ℓ1 interpolant)."""
    rng = np.random.default_rng(3)
    A = rng.normal(size=(15, 40)) / np.sqrt(15)
    x_true = np.zeros(40)
    x_true[[2, 17, 31]] = [1.0, -2.0, 1.5]
    b = A @ x_true
    _, _, coefs = lars_path(A, b, method="lasso", alpha_min=0.0)
    end = coefs[:, -1]
    np.testing.assert_allclose(end, l1_limit(A, b, nonnegative=False).x, atol=1e-8)
    gap = [np.linalg.norm(limit(A, b, Difference(2), init_scale=a).x - end) for a in (1e-2, 1e-4)]
    assert gap[1] < 0.1 * gap[0] and gap[1] <= 1e-3 * np.linalg.norm(end)
    # discrete GD: a fixed step keeps the O(step) deviation from the flow small
    res = signed_least_squares(A, b, init_scale=1e-4, step=0.1, tol=1e-8, max_iter=30_000)
    assert np.linalg.norm(res.x - end) <= 1e-2 * np.linalg.norm(end)
    assert np.any(res.x < -0.5)  # signed: the negative coefficient is found


def test_entropic_ot_limit_equals_sinkhorn_along_the_path():
    rng = np.random.default_rng(5)
    a = rng.uniform(1, 2, 4)
    a /= a.sum()
    b = rng.uniform(1, 2, 5)
    b /= b.sum()
    C = rng.uniform(0, 1, (4, 5))
    lp = linprog(C.ravel(), A_eq=ot_marginals(4, 5), b_eq=np.concatenate([a, b]),
                 bounds=(0, None), method="highs").fun
    costs = []
    for eps in (1.0, 0.3, 0.1, 0.03):
        res = entropic_ot(a, b, C, eps)
        P = res.x
        assert res.success
        np.testing.assert_allclose(P, sinkhorn(a, b, C, eps).x, atol=1e-10)
        costs.append(np.sum(C * P))
    assert np.all(np.diff(costs) < 0) and costs[-1] - lp < 0.02 * lp


def test_entropic_ot_by_gradient_descent_tracks_sinkhorn():
    rng = np.random.default_rng(5)
    a = np.full(3, 1 / 3)
    b = np.full(4, 1 / 4)
    C = rng.uniform(0, 1, (3, 4))
    P = entropic_ot(a, b, C, 0.5, method="reparam-gd", step=0.02, tol=1e-10,
                    max_iter=200_000).x
    S = sinkhorn(a, b, C, 0.5).x
    # the discrete limit differs from the flow's (= Sinkhorn's) by O(step): 3.5e-3 here
    assert np.abs(P - S).max() <= 5e-3 * S.max()
    assert np.abs(P.sum(axis=1) - a).max() <= 1e-9


def test_entropic_lp_validation():
    with pytest.raises(ValueError, match="epsilon"):
        entropic_lp([1.0], np.ones((1, 1)), [1.0], 0.0)
    with pytest.raises(ValueError, match="columns"):
        entropic_lp([1.0, 2.0, 3.0], np.ones((1, 2)), [1.0], 0.1)
    with pytest.raises(ValueError, match="mass"):
        sinkhorn([0.5, 0.5], [2.0], np.zeros((2, 1)), 0.1)


def test_solver_argument_checks(tall):
    A, b = tall
    with pytest.raises(ValueError, match="step"):
        box_least_squares(A, b, step=-1.0)
    with pytest.raises(ValueError, match="max_iter"):
        simplex_least_squares(A, b, max_iter=0)
    with pytest.raises(ValueError, match="method"):
        simplex_least_squares(A, b, method="magic")
    res = box_least_squares(A, b, max_iter=3)
    assert res.status is Status.MAX_ITER and "max_iter" in res.message


def test_negative_perturbation_error_grows_at_most_linearly():
    levels = np.array([0.0, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1])
    table = negative_perturbation_experiment(20, 60, sparsity=3, levels=levels,
                                             methods=("reparam-gd",), tol=1e-7,
                                             max_iter=20_000)
    err = table["error_reparam-gd"]
    assert err[0] <= 1e-2  # unperturbed: recovered up to the init-scale bias
    assert np.all(err <= err[0] + 3.0 * levels)


def test_negative_perturbation_experiment_table():
    table = negative_perturbation_experiment(20, 60, sparsity=3, levels=[1e-2, 1e-1],
                                             methods=("limit", "nnls", "l1"))
    assert set(table) == {"perturbation", "error_limit", "error_nnls", "error_l1",
                          "success_limit", "success_nnls", "success_l1"}
    for key in ("success_limit", "success_nnls", "success_l1"):
        assert table[key].all()
    for key in ("error_limit", "error_nnls", "error_l1"):
        assert table[key].shape == (2,) and table[key][1] > table[key][0]


def test_negative_perturbation_input_checks():
    A, x_plus, e = perturbed_problem(10, 30, sparsity=2, level=1e-2, seed=1)
    assert np.linalg.norm(e) == pytest.approx(1e-2) and np.all(e <= 0)
    assert np.all(e[x_plus > 0] == 0)
    with pytest.raises(ValueError, match="non-negative"):
        negative_perturbation_error(A, -x_plus, e, method="l1")
    with pytest.raises(ValueError, match="method"):
        negative_perturbation_error(A, x_plus, e, method="magic")
    with pytest.raises(ValueError, match="shape"):
        negative_perturbation_error(A, x_plus, e[:-1], method="l1")
