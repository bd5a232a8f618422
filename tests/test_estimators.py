"""NNLSRegression against LinearRegression(positive=True); implicit sparse regression against
the predicted limit of its gradient flow; scikit-learn compatibility of every estimator."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from reparam import implicit_bias
from reparam.estimators import (
    ImplicitSparseRegression,
    ImplicitSparseRegressionCV,
    NNLSRegression,
    difference_gd,
)
from reparam.parametrizations import Difference


def _regression(m, n, k, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    y = X @ rng.standard_normal((n, k)) + rng.standard_normal((m, k)) + 3.0
    return X, (y[:, 0] if k == 1 else y)


@pytest.mark.parametrize(("m", "n", "k", "seed"), [(50, 8, 1, 0), (200, 40, 1, 1),
                                                    (300, 30, 4, 2)])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_nnls_regression_matches_linear_regression_positive(m, n, k, seed, fit_intercept):
    # Full column rank: the NNLS solution is unique, so both exact solvers must agree to
    # rounding (1e-8 leaves room for cond(X) ~ 1e2 times the 1e-10 KKT tolerance).
    X, y = _regression(m, n, k, seed)
    ours = NNLSRegression(fit_intercept=fit_intercept).fit(X, y)
    ref = LinearRegression(positive=True, fit_intercept=fit_intercept).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-8)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-8)
    assert (ours.coef_ >= 0).all()
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), atol=1e-7)
    assert abs(ours.score(X, y) - ref.score(X, y)) < 1e-10


def test_nnls_regression_sample_weight_with_zeros():
    X, y = _regression(120, 10, 2, 3)
    w = np.random.default_rng(3).random(120)
    w[::5] = 0.0
    ours = NNLSRegression().fit(X, y, sample_weight=w)
    ref = LinearRegression(positive=True).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-8)
    # A zero weight is the same as leaving the row out.
    keep = w > 0
    dropped = NNLSRegression().fit(X[keep], y[keep], sample_weight=w[keep])
    np.testing.assert_allclose(ours.coef_, dropped.coef_, atol=1e-12)


def test_nnls_regression_multi_output_is_per_column():
    X, Y = _regression(80, 6, 3, 4)
    joint = NNLSRegression().fit(X, Y)
    for j in range(3):
        single = NNLSRegression().fit(X, Y[:, j])
        np.testing.assert_allclose(joint.coef_[j], single.coef_, atol=1e-10)
        np.testing.assert_allclose(joint.intercept_[j], single.intercept_, atol=1e-10)


@pytest.mark.parametrize(("kwargs", "exc", "match"), [
    ({"fit_intercept": "yes"}, TypeError, "fit_intercept"),
    ({"tol": 0.0}, ValueError, "tol"),
])
def test_nnls_regression_bad_params(kwargs, exc, match):
    X, y = _regression(20, 3, 1, 0)
    with pytest.raises(exc, match=match):
        NNLSRegression(**kwargs).fit(X, y)


def test_nnls_regression_bad_weights():
    X, y = _regression(20, 3, 1, 0)
    with pytest.raises(ValueError, match="sample_weight"):
        NNLSRegression().fit(X, y, sample_weight=-np.ones(20))
    with pytest.raises(ValueError, match="(?i)sample.weight"):
        NNLSRegression().fit(X, y, sample_weight=np.zeros(20))


def test_inputs_not_mutated():
    X, y = _regression(40, 5, 1, 5)
    w = np.ones(40)
    copies = X.copy(), y.copy(), w.copy()
    NNLSRegression().fit(X, y, sample_weight=w)
    ImplicitSparseRegression(max_iter=20).fit(X, y)
    for a, b in zip((X, y, w), copies):
        np.testing.assert_array_equal(a, b)


def test_difference_gd_uses_the_difference_parametrization():
    # One column of the block is the Difference parametrization's forward map.
    rng = np.random.default_rng(6)
    A = rng.standard_normal((10, 6))
    y = rng.standard_normal((10, 1))
    X, _, _ = difference_gd(A, y, np.array([0.3]), max_iter=1)
    # After one step from u0 = v0 = α, u = α(1 − 2η g) and v = α(1 + 2η g): x = −8 α² η g.
    g = A.T @ y[:, 0] / 10  # gradient at x0 = 0 is −Aᵀy/m, so x has the sign of Aᵀy
    assert np.all(np.sign(X[:, 0]) == np.sign(g))
    p = Difference(2)
    u = p.initial_u(init_scale=0.3, n=6)
    np.testing.assert_allclose(p.forward(u), 0.0)


def test_implicit_sparse_regression_reaches_the_predicted_limit():
    # Run to interpolation, gradient descent with small steps follows the gradient flow,
    # whose limit is the hyperbolic-entropy Bregman projection predicted by implicit_bias.
    rng = np.random.default_rng(7)
    A = rng.standard_normal((15, 30))
    x_true = np.zeros(30)
    x_true[[1, 4, 9]] = [1.0, -0.7, 0.5]
    y = A @ x_true
    alpha = 0.05
    model = ImplicitSparseRegression(init_scale=alpha, max_iter=20000, tol=1e-9,
                                     fit_intercept=False).fit(A, y)
    scale = np.sqrt(np.mean(y**2))  # the estimator works on y / RMS(y)
    predicted = implicit_bias.limit(A, y / scale, Difference(2), init_scale=alpha).x * scale
    assert model.n_iter_ < 20000
    np.testing.assert_allclose(A @ model.coef_, y, atol=1e-6 * np.linalg.norm(y))
    # Backtracking steps are not infinitesimal: the discrete path differs from the flow by
    # O(step); a few percent of ||x|| is the accuracy to expect here.
    assert np.linalg.norm(model.coef_ - predicted) <= 0.03 * np.linalg.norm(predicted)


def test_small_init_recovers_a_sparse_vector():
    rng = np.random.default_rng(8)
    A = rng.standard_normal((40, 120))
    x_true = np.zeros(120)
    x_true[[2, 50, 99]] = [1.5, -2.0, 1.0]
    # Coordinates that entered early by mistake are left at ~1e-4 after a fast first phase and
    # then decay only polynomially (their speed is proportional to their size): 1000 steps
    # reach 2.4e-4 here, hence atol=1e-3, not machine precision.
    model = ImplicitSparseRegression(init_scale=1e-5, max_iter=1000, tol=1e-9).fit(
        A, A @ x_true + 1.0)
    np.testing.assert_allclose(model.coef_, x_true, atol=1e-3)
    assert abs(model.intercept_ - 1.0) < 1e-3


def test_cv_grid_runs_as_one_block_and_picks_a_grid_value():
    rng = np.random.default_rng(9)
    A = rng.standard_normal((60, 80))
    x_true = np.zeros(80)
    x_true[:4] = [2.0, -1.0, 1.0, 1.5]
    y = A @ x_true + 0.2 * rng.standard_normal(60)
    grid = [1e-5, 1e-3, 1e-1]
    model = ImplicitSparseRegressionCV(init_scales=grid, max_iter=300, cv=3).fit(A, y)
    assert model.init_scale_ in grid
    assert model.cv_mse_.shape[1] == 3
    # The chosen (init scale, steps) has the smallest mean validation error of the grid.
    assert model.cv_mse_.min() == pytest.approx(np.min(model.cv_mse_))
    assert model.score(A, y) > 0.9


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"init_scale": 0.0}, "init_scale"),
    ({"init_scale": -1.0}, "init_scale"),
    ({"depth": 1}, "depth"),
    ({"max_iter": 0}, "max_iter"),
    ({"tol": -1.0}, "tol"),
])
def test_implicit_bad_params(kwargs, match):
    X, y = _regression(20, 3, 1, 0)
    with pytest.raises(ValueError, match=match):
        ImplicitSparseRegression(**kwargs).fit(X, y)


def test_cv_bad_grid():
    X, y = _regression(20, 3, 1, 0)
    with pytest.raises(ValueError, match="init_scales"):
        ImplicitSparseRegressionCV(init_scales=[1e-3, -1.0]).fit(X, y)


@parametrize_with_checks([
    NNLSRegression(),
    ImplicitSparseRegression(max_iter=200),
    ImplicitSparseRegressionCV(init_scales=[1e-3, 1e-1], max_iter=100, cv=3, n_checkpoints=5),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)
