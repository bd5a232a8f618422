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


# ----------------------------------------------------------------------------------------------
# no hangs, no silent failures
# ----------------------------------------------------------------------------------------------
def _within(seconds, fn, *args, **kwargs):
    """Run fn in a daemon thread; fail (instead of hanging the suite) if it does not return."""
    import threading

    out = {}

    def run():
        out["value"] = fn(*args, **kwargs)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"{fn.__name__} did not return within {seconds} s"
    return out["value"]


@pytest.mark.parametrize("step", ["auto", 0.1])
def test_infeasible_entropic_lp_by_gradient_descent_returns_a_failure(step):
    """Σx = −1 has no x ≥ 0: x collapses to 0, the gradient in u vanishes. The Armijo step
    used to double to inf there and never return."""
    res = _within(60, entropic_lp, np.ones(3), np.ones((1, 3)), [-1.0], 0.1,
                  method="reparam-gd", step=step, max_iter=5_000)
    assert not res.success and res.status in (Status.STALLED, Status.MAX_ITER)
    assert res.kkt >= 0.99  # the constraint is violated by the whole of |b|


def test_reparametrized_gd_with_zero_gradient_stalls():
    from reparam.constrained import reparametrized_gd
    from reparam.parametrizations import Power

    A, b = np.array([[1.0, 2.0]]), np.array([1.0])
    res = _within(60, reparametrized_gd, A, b, Power(2), np.zeros(2),
                  lambda x, g: float(np.abs(np.minimum(x, g)).max()), max_iter=10_000)
    assert res.status is Status.STALLED and "gradient in u is zero" in res.message
    assert res.n_iter == 1


def test_infeasible_entropic_lp_limit_is_not_a_success():
    res = entropic_lp(np.ones(3), np.ones((1, 3)), [-1.0], 0.1)
    assert not res.success and res.kkt >= 0.99
    assert "empty" in res.message


def test_sinkhorn_reports_max_iter_and_numerical_errors():
    rng = np.random.default_rng(0)
    a = np.full(6, 1 / 6)
    b = np.full(6, 1 / 6)
    C = rng.uniform(0, 1, (6, 6))
    short = sinkhorn(a, b, C, 0.01, max_iter=2)
    assert short.status is Status.MAX_ITER and short.kkt > 1e-12
    assert "max_iter" in short.message
    broken = sinkhorn(a, b, C + 1.0, 1e-320)  # C/ε overflows: the kernel has no digits
    assert broken.status is Status.NUMERICAL_ERROR and not broken.success
    good = sinkhorn(a, b, C, 0.1)
    assert good.success and good.kkt <= 1e-12
    marginal = np.abs(good.x.sum(axis=1) - a).sum() + np.abs(good.x.sum(axis=0) - b).sum()
    assert marginal <= 1e-12


@pytest.mark.parametrize("eps", [0.5, 0.1, 0.03])
def test_entropic_ot_by_default_gradient_descent_is_sinkhorns_plan(eps):
    """The default step keeps the flow's conservation law, so the plan is Sinkhorn's to the
    solvers' tolerances (1e-10 marginal error each), far below 1e-6 in ℓ1."""
    rng = np.random.default_rng(int(eps * 100))
    a = rng.uniform(1, 2, 7)
    a /= a.sum()
    b = rng.uniform(1, 2, 9)
    b /= b.sum()
    C = rng.uniform(0, 1, (7, 9))
    res = entropic_ot(a, b, C, eps, method="reparam-gd")
    ref = sinkhorn(a, b, C, eps)
    assert res.success and ref.success
    assert np.abs(res.x - ref.x).sum() <= 1e-6


def test_entropic_ot_never_builds_the_dense_marginal_matrix(monkeypatch):
    import reparam.constrained as rc

    def dense(*args):
        raise AssertionError("the (m + n) x mn marginal matrix was built")

    monkeypatch.setattr(rc, "ot_marginals", dense)
    rng = np.random.default_rng(1)
    a = np.full(5, 0.2)
    b = np.full(4, 0.25)
    C = rng.uniform(0, 1, (5, 4))
    for method in ("limit", "reparam-gd"):
        res = entropic_ot(a, b, C, 0.2, method=method)
        assert res.success and res.x.shape == (5, 4)
    # the fixed step too: plain GD on u through the marginal operator
    res = entropic_ot(a, b, C, 0.2, method="reparam-gd", step=0.05, tol=1e-8)
    assert res.success and res.x.shape == (5, 4)


def test_reparametrized_gd_on_an_operator_takes_the_dense_matrix_steps():
    """The operator and the dense matrix of the same map give the same iterates (the same
    products up to summation order), so a fixed step stops at the same iteration."""
    from reparam.constrained import ot_marginal_operator, reparametrized_gd
    from reparam.parametrizations import Power

    rng = np.random.default_rng(3)
    m, n = 4, 6
    a, b = rng.uniform(0.5, 1.5, m), rng.uniform(0.5, 1.5, n)
    a, b = a / a.sum(), b / b.sum()
    target = np.concatenate([a, b])
    u0 = np.exp(-rng.uniform(0, 1, m * n))
    M = ot_marginals(m, n)

    def kkt(x, g):
        return float(np.abs(M @ x - target).sum())

    dense = reparametrized_gd(M, target, Power(2), u0, kkt, step=0.05, tol=1e-9)
    lean = reparametrized_gd(ot_marginal_operator(m, n), target, Power(2), u0, kkt,
                             step=0.05, tol=1e-9)
    assert dense.success and lean.success and dense.n_iter == lean.n_iter
    np.testing.assert_allclose(lean.x, dense.x, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="length 10"):
        reparametrized_gd(ot_marginal_operator(m, n), target[:-1], Power(2), u0, kkt)


def test_entropic_ot_fixed_step_runs_where_the_dense_marginals_cannot():
    """n = 1500: the dense (2n) x n^2 marginal matrix would take 54 GB; the plan takes 18 MB."""
    rng = np.random.default_rng(4)
    n = 1500
    a = np.full(n, 1.0 / n)
    C = rng.uniform(0, 1, (n, n))
    # exp(-C / eps) starts with a mass of about 1e5: small steps, and the marginal error falls
    one = entropic_ot(a, a, C, 0.1, method="reparam-gd", step=1e-6, max_iter=1)
    res = entropic_ot(a, a, C, 0.1, method="reparam-gd", step=1e-6, max_iter=2)
    assert res.status is Status.MAX_ITER and res.n_iter == 2 and res.x.shape == (n, n)
    assert np.all(np.isfinite(res.x)) and res.kkt < one.kkt


def test_ot_marginal_operator_is_the_dense_map():
    from reparam.constrained import ot_marginal_operator

    rng = np.random.default_rng(2)
    op, M = ot_marginal_operator(3, 4), ot_marginals(3, 4)
    x, y = rng.normal(size=12), rng.normal(size=7)
    np.testing.assert_allclose(op.matvec(x), M @ x, atol=1e-14)
    np.testing.assert_allclose(op.rmatvec(y), M.T @ y, atol=1e-14)


def test_simplex_active_set_with_zero_right_hand_side(tall):
    """Aᵀb = 0: the solution minimizes ‖Ax‖ on the simplex; the certificate is scaled by the
    columns of A, not by Aᵀb = 0, so the exact answer is reported as converged."""
    A, b = tall
    res = simplex_least_squares(A, 0 * b, method="active-set")
    assert res.success and res.kkt <= 1e-10
    ref = minimize(lambda x: 0.5 * np.sum((A @ x) ** 2), np.full(10, 0.1),
                   jac=lambda x: A.T @ (A @ x), bounds=[(0, None)] * 10,
                   constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1}],
                   method="SLSQP", options={"ftol": 1e-15, "maxiter": 1000}).x
    assert np.abs(res.x - ref).max() <= 1e-6


def test_project_simplex_at_the_ends_of_the_float_range():
    np.testing.assert_allclose(project_simplex([1e308, 1e308]), [0.5, 0.5])
    np.testing.assert_allclose(project_simplex([1e308, -1e308, 0.0]), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(project_simplex([-1e308, -1e308]), [0.5, 0.5])
    # shift invariance, which the overflow guard relies on
    y = np.random.default_rng(0).normal(size=7)
    np.testing.assert_allclose(project_simplex(y + 1e6), project_simplex(y), atol=1e-9)


def test_box_bounds_of_the_wrong_length(tall):
    A, b = tall
    with pytest.raises(ValueError, match="lower has shape"):
        box_least_squares(A, b, np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="upper has shape"):
        box_least_squares(A, b, 0.0, np.ones(11))


def test_signed_least_squares_default_step_ends_at_the_predicted_limit():
    """step='auto' keeps u v conserved exactly, so the limit is the flow's (Difference(2))."""
    rng = np.random.default_rng(3)
    A = rng.normal(size=(30, 80)) / np.sqrt(30)
    x = np.zeros(80)
    x[:4] = [1.0, -2.0, 1.5, 0.5]
    b = A @ x
    res = signed_least_squares(A, b, init_scale=1e-2)
    pred = limit(A, b, Difference(2), init_scale=1e-2)
    assert res.success and pred.success
    assert np.abs(res.x - pred.x).max() <= 1e-6 * np.abs(pred.x).max()


def test_max_iter_messages_say_what_to_try(tall):
    A, b = tall
    res = simplex_least_squares(A, b, max_iter=2)
    assert res.status is Status.MAX_ITER and "active-set" in res.message
    res = box_least_squares(A, b, max_iter=2)
    assert res.status is Status.MAX_ITER and "bvls" in res.message


def test_perturbed_problem_without_negative_coordinates():
    _, _, e = perturbed_problem(10, 30, sparsity=2, level=0.0, n_negative=0)
    assert np.all(e == 0) and np.all(np.isfinite(e))
    with pytest.raises(ValueError, match="n_negative"):
        perturbed_problem(10, 30, sparsity=2, level=1e-2, n_negative=0)
    with pytest.raises(ValueError, match="n_negative"):
        perturbed_problem(10, 30, sparsity=2, level=1e-2, n_negative=-1)


def test_negative_perturbation_error_by_the_limit_at_tiny_init():
    """The limit at init_scale 1e-12 is the ℓ1 solution's neighbour, not its start (error 1)."""
    A, x_plus, e = perturbed_problem(20, 60, sparsity=3, level=1e-3, seed=0)
    res = negative_perturbation_error(A, x_plus, e, method="limit", init_scale=1e-12)
    l1 = negative_perturbation_error(A, x_plus, e, method="l1")
    assert res.success and l1.success
    assert res.info["error"] <= 10 * res.info["perturbation"]
    # Power(2) at α = 1e-12 is the LP plus an entropy of weight ~1/log(1/α): 4e-6 apart here
    assert abs(res.info["error"] - l1.info["error"]) <= 1e-2 * res.info["perturbation"]
