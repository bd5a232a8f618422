"""NMF: monotone objective, KKT at the end, agreement with scikit-learn, input handling."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.decomposition import NMF as SklearnNMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from reparam.decomposition import NMF, NMFData, _fit, nndsvd, projected_gradient_norm


def _low_rank(m=40, n=30, k=4, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((m, k)) @ rng.random((k, n))
    return X + noise * rng.random((m, n))


def _objective(X, W, H):
    return 0.5 * np.linalg.norm(X - W @ H) ** 2


@pytest.mark.parametrize("extrapolate", [True, False])
@pytest.mark.parametrize("solver", ["anls", "hals"])
def test_objective_decreases_monotonically(solver, extrapolate, monkeypatch):
    # Every half-step is an exact minimization (a whole block for anls, one row at a time for
    # hals), so f can only go down; extrapolated steps are accepted only if they lower f. The
    # slack is float64 rounding of f itself.
    from reparam import decomposition

    if not extrapolate:
        monkeypatch.setattr(decomposition, "_BETA0", 0.0)
    X = _low_rank()
    W0, H0 = nndsvd(X, 4, fill="mean")
    seen = []
    _fit(NMFData(X), W0, H0, solver, 0.0, 30, 0,
         callback=lambda it, W, H, obj: seen.append(_objective(X, W, H)))
    diffs = np.diff(seen)
    assert len(seen) == 31
    assert np.all(diffs <= 1e-12 * seen[0]), diffs.max()
    assert seen[-1] < 0.5 * seen[0]


@pytest.mark.parametrize("solver", ["anls", "hals", "reparam-gd", "reparam-nesterov"])
def test_converges_to_a_kkt_point(solver):
    X = _low_rank(noise=0.0)
    W0, H0 = nndsvd(X, 4, fill="mean")
    pg0 = projected_gradient_norm(X, W0, H0)
    # First-order methods get a looser target than the exact block method.
    tol, max_iter = {"anls": (1e-6, 500), "hals": (1e-4, 3000)}.get(solver, (1e-3, 3000))
    model = NMF(4, init="custom", solver=solver, tol=tol, max_iter=max_iter)
    W = model.fit_transform(X, W=W0, H=H0)
    H = model.components_
    assert model.n_iter_ < max_iter
    # fit_transform ends with an exact W step, which can only lower the W part of the residual.
    assert projected_gradient_norm(X, W, H) <= tol * pg0 * 1.01
    assert (W >= 0).all() and (H >= 0).all()
    # reconstruction_err_ comes from the expanded ||X||^2 - 2 <W, X H^T> + <W^T W, H H^T>, whose
    # rounding is a few eps ||X||^2 in err^2, so (that) / (2 err) in err: on this exact fit
    # (err ~ 4e-5, ||X||^2 ~ 2e3) about 1e-8, above rtol=1e-6; 16 eps leaves a factor 4 of room.
    err = np.linalg.norm(X - W @ H)
    slack = 16 * np.finfo(float).eps * float(np.sum(X * X)) / (2 * err)
    assert abs(model.reconstruction_err_ - err) <= 1e-6 * err + slack


def _reparam_run(solver, max_iter, tol=0.0, init_scale=1e-2):
    X = _low_rank(noise=0.0)
    W0, H0 = nndsvd(X, 4, fill="mean")
    seen = []
    fit = _fit(NMFData(X), W0, H0, solver, tol, max_iter, 0, init_scale=init_scale,
               callback=lambda it, W, H, obj: seen.append((W, H, _objective(X, W, H), obj)))
    return X, W0, H0, fit, seen


def test_reparam_gd_objective_decreases_at_every_step():
    # Armijo backtracking accepts a step only if it lowers f((U⊙U)(V⊙V)ᵀ): monotone up to the
    # rounding of f (1e-12 relative).
    seen = _reparam_run("reparam-gd", 60)[-1]
    values = np.array([s[2] for s in seen])
    assert len(values) == 61
    assert np.all(np.diff(values) <= 1e-12 * values[0]), np.diff(values).max()
    assert values[-1] < 0.05 * values[0]
    # the objective the monitor reports is the one of the factors it reports
    np.testing.assert_allclose([s[3] for s in seen], values, rtol=1e-9)


def test_reparam_nesterov_decreases_overall():
    # Momentum is not monotone; guaranteed is only that the returned iterate is the best one
    # seen (the engine's rule), hence below the start.
    X, _, _, fit, seen = _reparam_run("reparam-nesterov", 100)
    values = np.array([s[2] for s in seen])
    final = _objective(X, fit.W, fit.H)
    assert final == pytest.approx(values.min(), rel=1e-12)
    assert final < 0.05 * values[0]


@pytest.mark.parametrize("solver", ["reparam-gd", "reparam-nesterov"])
@pytest.mark.parametrize("init_scale", [1e-2, 1e-3])
def test_reparam_starts_small_in_the_direction_of_init(solver, init_scale):
    _, W0, H0, _, seen = _reparam_run(solver, 3, init_scale=init_scale)
    W_first, H_first = seen[0][:2]
    np.testing.assert_allclose(W_first, init_scale * W0, rtol=1e-12)
    np.testing.assert_allclose(H_first, init_scale * H0, rtol=1e-12)
    assert np.linalg.norm(W_first @ H_first) <= 1.01 * init_scale**2 * np.linalg.norm(W0 @ H0)


@pytest.mark.parametrize("solver", ["reparam-gd", "reparam-nesterov"])
def test_reparam_is_the_engine_run(solver):
    # The solver is rp.train on Factorization(X) with NonnegativeProduct(k): the same run by
    # hand gives the same factors (tol = 0: both run all iterations).
    import reparam as rp
    from reparam.objectives import Factorization
    from reparam.parametrizations import NonnegativeProduct

    X = _low_rank()
    W0, H0 = nndsvd(X, 4, fill="mean")
    fit = _fit(NMFData(X), W0, H0, solver, 0.0, 25, 0, init_scale=1e-2)
    optimizer = solver.removeprefix("reparam-")
    res = rp.train(Factorization(X), NonnegativeProduct(4), init_scale=1e-2,
                   params0=(np.sqrt(1e-2 * W0), np.sqrt(1e-2 * H0.T)), optimizer=optimizer,
                   step="armijo" if optimizer == "gd" else "auto", tol=0.0, max_iter=25)
    np.testing.assert_allclose(fit.W @ fit.H, res.x, rtol=1e-10, atol=1e-12)
    if optimizer == "gd":  # Nesterov's params are one step past the returned point
        V = res.params[1]
        np.testing.assert_allclose(fit.H, (V * V).T, rtol=1e-10, atol=1e-14)


def test_reparam_gd_stalled_line_search_returns_the_start(monkeypatch):
    # A line search that finds no decrease ends the run (engine status STALLED): the factors
    # returned are those of the start, certified once.
    from reparam.optimizers import gd

    monkeypatch.setattr(gd, "armijo", lambda *args, **kwargs: None)
    _, W0, _, fit, seen = _reparam_run("reparam-gd", 10)
    assert not fit.converged and fit.n_iter == 1 and len(seen) == 1
    np.testing.assert_allclose(fit.W, 1e-2 * W0, rtol=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_reparam_sparse_input_densified_below_the_limit(monkeypatch):
    from reparam import decomposition

    rng = np.random.default_rng(3)
    X = sp.random(30, 20, density=0.3, random_state=3, data_rvs=rng.random).tocsr()
    a = NMF(3, solver="reparam-gd", random_state=0, max_iter=20).fit(X)
    b = NMF(3, solver="reparam-gd", random_state=0, max_iter=20).fit(X.toarray())
    np.testing.assert_allclose(a.components_, b.components_, rtol=1e-8, atol=1e-12)
    monkeypatch.setattr(decomposition, "_REPARAM_DENSE_MAX", 599)
    with pytest.raises(ValueError, match="dense product W H of shape"):
        NMF(3, solver="reparam-gd", random_state=0, max_iter=20).fit(X)


@pytest.mark.parametrize("value", [0.0, -1.0, np.inf, "small", True])
def test_bad_init_scale(value):
    with pytest.raises(ValueError, match="init_scale"):
        NMF(3, solver="reparam-gd", init_scale=value).fit(_low_rank())


def test_hals_matches_sklearn_cd_with_one_sweep(monkeypatch):
    # With one sweep per Gram product, HALS is the coordinate descent of scikit-learn's "cd"
    # (same order of the components, same update), so the iterates agree to rounding.
    from reparam import decomposition

    monkeypatch.setattr(decomposition, "_HALS_INNER_MAX", 1)
    monkeypatch.setattr(decomposition, "_BETA0", 0.0)  # no extrapolation
    X = _low_rank(noise=0.05, seed=1)
    W0, H0 = nndsvd(X, 4, fill="mean")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = SklearnNMF(4, init="custom", solver="cd", tol=0.0, max_iter=50)
        W_ref = ref.fit_transform(X, W=W0.copy(), H=H0.copy())
        ours = NMF(4, init="custom", solver="hals", tol=0.0, max_iter=50)
        ours.fit(X, W=W0, H=H0)
    np.testing.assert_allclose(ours.components_, ref.components_, rtol=1e-6, atol=1e-9)
    # Our W is then the exact minimizer given H: never worse than scikit-learn's last W.
    assert ours.reconstruction_err_ <= np.linalg.norm(X - W_ref @ ref.components_) * (1 + 1e-9)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["anls", "hals"])
def test_final_error_close_to_sklearn(solver):
    X = _low_rank(noise=0.05, seed=2)
    W0, H0 = nndsvd(X, 4, fill="mean")
    ref = SklearnNMF(4, init="custom", solver="cd", tol=1e-8, max_iter=2000)
    ref.fit(X, W=W0.copy(), H=H0.copy())
    ours = NMF(4, init="custom", solver=solver, tol=1e-8, max_iter=2000).fit(X, W=W0, H=H0)
    # Both stop at a stationary point from the same start; on this well-separated problem it
    # is the same one, up to the stopping tolerance.
    assert ours.reconstruction_err_ <= ref.reconstruction_err_ * (1 + 1e-3)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_transform_is_exact_nnls():
    X = _low_rank()
    model = NMF(4, random_state=0, max_iter=50).fit(X)
    H = model.components_
    W = model.transform(X)
    from scipy.optimize import nnls

    for i in range(0, X.shape[0], 7):
        w_ref, _ = nnls(H.T, X[i])
        np.testing.assert_allclose(W[i], w_ref, atol=1e-8)
    np.testing.assert_allclose(model.inverse_transform(W), W @ H)


@pytest.mark.parametrize("solver", ["anls", "hals"])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sparse_input_gives_the_dense_result(solver, monkeypatch):
    from reparam import decomposition

    # The number of HALS sweeps per product depends on nnz(X): fix it to compare.
    monkeypatch.setattr(decomposition, "_HALS_INNER_MAX", 2)
    rng = np.random.default_rng(3)
    X = sp.random(60, 40, density=0.2, random_state=3, data_rvs=rng.random).tocsr()
    W0, H0 = nndsvd(X.toarray(), 3, fill="mean")
    a = NMF(3, init="custom", solver=solver, tol=1e-12, max_iter=20).fit(X, W=W0, H=H0)
    b = NMF(3, init="custom", solver=solver, tol=1e-12, max_iter=20).fit(X.toarray(), W=W0,
                                                                          H=H0)
    np.testing.assert_allclose(a.components_, b.components_, rtol=1e-8, atol=1e-12)


def test_float32_kept():
    X = _low_rank().astype(np.float32)
    model = NMF(3, random_state=0, max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W = model.fit_transform(X)
    assert W.dtype == np.float32 and model.components_.dtype == np.float32
    assert model.transform(X).dtype == np.float32


@pytest.mark.parametrize("init", ["random", "nndsvd", "nndsvda"])
def test_inits_are_seeded_and_non_negative(init):
    X = _low_rank()
    a = NMF(3, init=init, random_state=0, max_iter=5, tol=0.0)
    b = NMF(3, init=init, random_state=0, max_iter=5, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        np.testing.assert_array_equal(a.fit_transform(X), b.fit_transform(X))
    assert (a.components_ >= 0).all()


def test_nndsvd_reproduces_a_rank_one_matrix():
    # Perron-Frobenius: the leading singular pair of a positive matrix is positive, so NNDSVD
    # of a positive rank-one matrix is exact.
    rng = np.random.default_rng(4)
    X = np.outer(rng.random(8) + 0.1, rng.random(5) + 0.1)
    W, H = nndsvd(X, 1)
    np.testing.assert_allclose(W @ H, X, rtol=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_verbose_prints_progress(capsys):
    NMF(3, random_state=0, max_iter=10, tol=1e-12, verbose=1).fit(_low_rank())
    assert "rel. error" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_inputs_not_mutated():
    X = _low_rank()
    W0, H0 = nndsvd(X, 3)
    copies = X.copy(), W0.copy(), H0.copy()
    NMF(3, init="custom", max_iter=10).fit(X, W=W0, H=H0)
    for a, b in zip((X, W0, H0), copies):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "fit_kwargs", "match"),
    [
        ({"solver": "sgd"}, {}, "solver"),
        ({"init": "svd"}, {}, "init"),
        ({"n_components": 0}, {}, "n_components"),
        ({"max_iter": -1}, {}, "max_iter"),
        ({"tol": -1.0}, {}, "tol"),
        ({"init": "custom"}, {}, "W"),
        ({"init": "custom"}, {"W": np.ones((40, 2)), "H": np.ones((3, 30))}, "W has shape"),
        ({"init": "custom"}, {"W": -np.ones((40, 3)), "H": np.ones((3, 30))}, "Negative"),
        ({"init": "nndsvd", "n_components": 50}, {}, "n_components"),
    ],
)
def test_bad_input(kwargs, fit_kwargs, match):
    with pytest.raises(ValueError, match=match):
        NMF(**{"n_components": 3, **kwargs}).fit(_low_rank(), **fit_kwargs)


def test_negative_x_rejected():
    with pytest.raises(ValueError, match="Negative values"):
        NMF(2).fit(-_low_rank())


@parametrize_with_checks([NMF(n_components=2, max_iter=500),
                          NMF(n_components=2, solver="reparam-nesterov", max_iter=300)])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_nndsvd_sparse_matches_dense():
    # The truncated sparse SVD (ARPACK) and the dense SVD give the same singular triplets up to
    # sign, and NNDSVD is invariant to the sign of each pair (it keeps the larger part).
    X = sp.random(50, 40, density=0.2, random_state=0, format="csr")
    W, H = nndsvd(X, 3, random_state=0)
    W_dense, H_dense = nndsvd(X.toarray(), 3)
    np.testing.assert_allclose(W, W_dense, atol=1e-10)
    np.testing.assert_allclose(H, H_dense, atol=1e-10)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_feature_names_out():
    model = NMF(3, random_state=0, max_iter=5).fit(_low_rank())
    assert list(model.get_feature_names_out()) == ["nmf0", "nmf1", "nmf2"]
