"""scikit-learn compatible regression estimators built on the package's solvers.

* :class:`NNLSRegression`: linear regression with non-negative coefficients, solved exactly by
  the active-set method (``rp.nnls(..., method="active-set")``), all outputs at once.
* :class:`ImplicitSparseRegression`: signed sparse regression by gradient descent on the
  ``Difference`` parametrization ``x = u^L − v^L`` from a small initialization ``u0 = v0 = α``
  (Woodworth et al., "Kernel and rich regimes in overparametrized models", COLT 2020;
  Vaskevicius, Kanade & Rebeschini, "Implicit regularization for optimal sparse recovery",
  NeurIPS 2019). No penalty: the initialization scale α and the number of steps play the role
  of the Lasso's penalty (a coordinate enters once its correlation has been integrated over a
  time of order log(1/α)).
* :class:`ImplicitSparseRegressionCV`: picks α (and the number of steps) by K-fold
  cross-validation, running the whole grid of α as one block of parameters of shape
  (n_features, n_grid) per fold.
"""

from __future__ import annotations

import numpy as np

from ._nnls import nnls
from ._sklearn import (  # a clear error where scikit-learn is missing
    BaseEstimator,
    RegressorMixin,
    check_cv,
    check_is_fitted,
)
from ._sklearn import check_sample_weight as _check_sample_weight
from ._sklearn import validate_data as _validate_data

__all__ = ["ImplicitSparseRegression", "ImplicitSparseRegressionCV", "NNLSRegression",
           "difference_gd"]


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _check_positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _center(X, y, sample_weight, fit_intercept):
    """Weighted centering: the intercept of a least-squares fit is free, so it is eliminated
    by subtracting weighted means, and the weights enter as sqrt(w) row scalings."""
    w = sample_weight
    if fit_intercept:
        x_mean = np.average(X, axis=0, weights=w)
        y_mean = np.average(y, axis=0, weights=w)
    else:
        x_mean = np.zeros(X.shape[1])
        y_mean = np.zeros(y.shape[1:])
    root = np.sqrt(w)
    Xc = (X - x_mean) * root[:, None]
    yc = (y - y_mean) * (root[:, None] if y.ndim == 2 else root)
    return Xc, yc, x_mean, y_mean


# --------------------------------------------------------------------------------------------
# NNLS regression


class NNLSRegression(RegressorMixin, BaseEstimator):
    """Least squares with non-negative coefficients, solved exactly.

    ``min_β,c Σ_i w_i ‖y_i − X_i β − c‖²  s.t.  β >= 0`` (the intercept c is free). After
    eliminating c by weighted centering this is one NNLS problem per output, all solved by one
    batched call of the exact active-set method (``rp.nnls(A, Y, method="active-set")``, block
    principal pivoting, Kim & Park 2011), so the coefficients are those of
    ``sklearn.linear_model.LinearRegression(positive=True)`` up to rounding.

    Parameters
    ----------
    fit_intercept : bool, default True
    tol : float, default 1e-10
        KKT residual (:func:`reparam.kkt_residual`) the solver must reach.

    Attributes
    ----------
    coef_ : ndarray (n_features,) or (n_targets, n_features), >= 0
    intercept_ : float or ndarray (n_targets,)
    n_iter_ : int, pivoting rounds (the largest over outputs)

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.estimators import NNLSRegression
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])
    >>> y = X @ np.array([2.0, -1.0]) + 0.5
    >>> model = NNLSRegression().fit(X, y)
    >>> bool(model.coef_[1] == 0.0), bool(model.coef_[0] > 0)
    (True, True)
    """

    def __init__(self, *, fit_intercept=True, tol=1e-10):
        self.fit_intercept = fit_intercept
        self.tol = tol

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _more_tags(self):  # pragma: no cover - scikit-learn < 1.6
        return {"multioutput": True}

    def fit(self, X, y, sample_weight=None):
        """Fit the coefficients; zero sample weights drop their rows. Returns self."""
        fit_intercept = _check_bool(self.fit_intercept, "fit_intercept")
        if not isinstance(self.tol, (int, float, np.floating)) or not self.tol > 0:
            raise ValueError(f"tol must be a positive number, got {self.tol!r}")
        X, y = _validate_data(self, X, y, dtype=np.float64, multi_output=True, y_numeric=True)
        w = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if np.any(w < 0):
            raise ValueError("sample_weight must be non-negative")
        keep = w > 0
        if not np.any(keep):
            raise ValueError("sample_weight has no positive entry")
        X, y, w = X[keep], y[keep], w[keep]
        Xc, yc, x_mean, y_mean = _center(X, y, w, fit_intercept)
        res = nnls(Xc, yc, method="active-set", tol=float(self.tol))
        coef = np.maximum(np.asarray(res.x, dtype=np.float64), 0.0)
        self.n_iter_ = int(np.max(res.n_iter))
        if y.ndim == 1:
            self.coef_ = coef
            self.intercept_ = float(y_mean - x_mean @ coef) if fit_intercept else 0.0
        else:
            self.coef_ = coef.T
            self.intercept_ = (y_mean - x_mean @ coef) if fit_intercept else np.zeros(y.shape[1])
        return self

    def predict(self, X):
        """``X @ coef_.T + intercept_``."""
        check_is_fitted(self)
        X = _validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_.T + self.intercept_


# --------------------------------------------------------------------------------------------
# implicit sparse regression: gradient descent on x = u^L − v^L


def difference_gd(A, Y, init_scale, *, depth=2, max_iter=1000, tol=1e-6, checkpoints=None,
                  A_val=None, Y_val=None, patience=None):
    """Gradient descent on ``f(x) = ‖A x − y‖² / (2m)`` with ``x = u^L − v^L`` for many columns.

    Each column j of ``Y`` (m, g) is fitted with its own ``init_scale[j]`` (``u0 = v0 = α_j``,
    so ``x0 = 0``; :class:`reparam.parametrizations.Difference` with ``depth`` L), all columns
    as one block of parameters of shape (n, g). The gradient in u is ``L u^{L−1} ⊙ ∇f(x)`` and
    in v its negative with ``v``. Per-column steps by Armijo backtracking, grown by 1.5 after
    each accepted step, keep u, v > 0 and f non-increasing whatever the scale of the data.
    A column stops at interpolation (``‖A x − y‖ <= tol ‖y‖``) or at stationarity
    (``‖∇f‖∞ <= tol ‖Aᵀy‖∞ / m``).

    Parameters
    ----------
    A : ndarray (m, n)
    Y : ndarray (m, g)
    init_scale : ndarray (g,)
    depth, max_iter, tol : see above
    checkpoints : sorted int array, optional
        Iteration counts at which the validation error ``‖A_val x − Y_val‖²`` per column is
        recorded (a column that stopped keeps its last value).
    patience : int, optional
        With checkpoints, stop a column whose validation error has not improved for this many
        checkpoints.

    Returns
    -------
    X : ndarray (n, g); n_iter : ndarray (g,); val : ndarray (len(checkpoints), g) or None

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.estimators import difference_gd
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((20, 40)); x = np.zeros(40); x[[3, 7]] = [1.0, -2.0]
    >>> X, n_iter, _ = difference_gd(A, (A @ x)[:, None], np.array([1e-4]), max_iter=5000)
    >>> bool(np.abs(X[:, 0] - x).max() < 1e-2)
    True
    """
    m, n = A.shape
    g = Y.shape[1]
    L = depth
    alpha = np.asarray(init_scale, dtype=np.float64)
    U = np.broadcast_to(alpha, (n, g)).copy()
    V = U.copy()
    step = np.full(g, 1.0 / max(np.linalg.norm(A, 2) ** 2 / m, 1e-300))
    y_norm = np.linalg.norm(Y, axis=0)
    grad_scale = np.max(np.abs(A.T @ Y), axis=0) / m
    active = np.ones(g, dtype=bool)
    n_iter = np.zeros(g, dtype=np.intp)
    X = U**L - V**L
    R = A @ X - Y
    f = 0.5 * np.sum(R * R, axis=0) / m
    val = None
    if checkpoints is not None:
        checkpoints = np.asarray(checkpoints)
        val = np.empty((checkpoints.size, g))
    next_cp = 0

    best = np.full(g, np.inf)
    since_best = np.zeros(g, dtype=np.intp)

    def record(it):
        nonlocal next_cp
        while val is not None and next_cp < checkpoints.size and checkpoints[next_cp] <= it:
            Rv = A_val @ X - Y_val
            val[next_cp] = np.sum(Rv * Rv, axis=0)
            improved = val[next_cp] < best
            best[improved] = val[next_cp][improved]
            since_best[:] = np.where(improved, 0, since_best + 1)
            next_cp += 1
        if patience is not None:
            # Validation error past its minimum for `patience` checkpoints: overfitting noise.
            active[since_best >= patience] = False

    record(0)
    for it in range(1, max_iter + 1):
        if not active.any():
            break
        Gx = (A.T @ R) / m
        stop = (np.linalg.norm(R, axis=0) <= tol * y_norm) | \
            (np.max(np.abs(Gx), axis=0) <= tol * grad_scale)
        active &= ~stop
        if not active.any():
            break
        cols = np.flatnonzero(active)
        Gu = L * U[:, cols] ** (L - 1) * Gx[:, cols]
        Gv = -L * V[:, cols] ** (L - 1) * Gx[:, cols]
        g2 = np.sum(Gu * Gu, axis=0) + np.sum(Gv * Gv, axis=0)
        s = step[cols]
        todo = np.ones(cols.size, dtype=bool)
        Un, Vn = U[:, cols].copy(), V[:, cols].copy()
        Rn = R[:, cols].copy()
        fn = f[cols].copy()
        for _ in range(60):
            Ut = U[:, cols] - s * Gu
            Vt = V[:, cols] - s * Gv
            Xt = Ut**L - Vt**L
            Rt = A @ Xt - Y[:, cols]
            ft = 0.5 * np.sum(Rt * Rt, axis=0) / m
            ok = todo & (ft <= f[cols] - 0.5 * s * g2) & (Ut > 0).all(axis=0) & \
                (Vt > 0).all(axis=0)
            Un[:, ok], Vn[:, ok], Rn[:, ok], fn[ok] = Ut[:, ok], Vt[:, ok], Rt[:, ok], ft[ok]
            todo &= ~ok
            s = np.where(todo, 0.5 * s, s)
            if not todo.any():
                break
        s = np.where(todo, s, 1.5 * s)
        U[:, cols], V[:, cols], R[:, cols], f[cols] = Un, Vn, Rn, fn
        X[:, cols] = Un**L - Vn**L
        step[cols] = s
        n_iter[cols] = it
        record(it)
    if val is not None:
        record(np.iinfo(np.intp).max)
    return X, n_iter, val


def _check_implicit_params(est):
    depth = _check_positive_int(est.depth, "depth", minimum=2)
    max_iter = _check_positive_int(est.max_iter, "max_iter")
    if not isinstance(est.tol, (int, float, np.floating)) or not est.tol >= 0:
        raise ValueError(f"tol must be a non-negative number, got {est.tol!r}")
    return depth, max_iter, _check_bool(est.fit_intercept, "fit_intercept")


def _scaled(X, y, fit_intercept):
    """Center, then scale y to unit RMS so that init_scale does not depend on y's units."""
    w = np.ones(X.shape[0])
    Xc, yc, x_mean, y_mean = _center(X, y, w, fit_intercept)
    y_scale = float(np.sqrt(np.mean(yc**2))) or 1.0
    return Xc, yc / y_scale, x_mean, y_mean, y_scale


class ImplicitSparseRegression(RegressorMixin, BaseEstimator):
    """Sparse linear regression by the implicit bias of ``x = u^L − v^L``, without a penalty.

    Gradient descent on ``‖X β − y‖² / (2m)`` with ``β = u^L − v^L`` (the ``Difference``
    parametrization, :mod:`reparam.parametrizations`) from ``u0 = v0 = init_scale``. Run to
    interpolation it converges, as ``init_scale → 0``, to a minimum-ℓ1 interpolant
    (Woodworth et al. 2020); stopped early (``max_iter``) it behaves like the Lasso, with
    ``init_scale`` and the number of steps in the role of the penalty (Vaskevicius et al. 2019).
    y is centered and scaled to unit RMS first, so ``init_scale`` is in those units.

    Parameters
    ----------
    init_scale : float, default 1e-3
    depth : int, default 2
    max_iter : int, default 2000
    tol : float, default 1e-6
        Stop at interpolation (relative residual) or stationarity (relative gradient).
    fit_intercept : bool, default True

    Attributes
    ----------
    coef_ : ndarray (n_features,); intercept_ : float; n_iter_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.estimators import ImplicitSparseRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 100)); beta = np.zeros(100); beta[:3] = [2.0, -1.0, 1.5]
    >>> model = ImplicitSparseRegression(init_scale=1e-4, max_iter=5000).fit(X, X @ beta)
    >>> bool(np.abs(model.coef_ - beta).max() < 1e-2)
    True
    """

    def __init__(self, init_scale=1e-3, *, depth=2, max_iter=2000, tol=1e-6, fit_intercept=True):
        self.init_scale = init_scale
        self.depth = depth
        self.max_iter = max_iter
        self.tol = tol
        self.fit_intercept = fit_intercept

    def fit(self, X, y):
        """Run gradient descent on (u, v); returns self."""
        depth, max_iter, fit_intercept = _check_implicit_params(self)
        alpha = self.init_scale
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) \
                or not alpha > 0 or not np.isfinite(alpha):
            raise ValueError(f"init_scale must be a positive number, got {alpha!r}")
        X, y = _validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        Xc, yc, x_mean, y_mean, y_scale = _scaled(X, y, fit_intercept)
        B, n_iter, _ = difference_gd(Xc, yc[:, None], np.array([float(alpha)]), depth=depth,
                                     max_iter=max_iter, tol=float(self.tol))
        self.coef_ = B[:, 0] * y_scale
        self.intercept_ = float(y_mean - x_mean @ self.coef_) if fit_intercept else 0.0
        self.n_iter_ = int(n_iter[0])
        return self

    def predict(self, X):
        """``X @ coef_ + intercept_``."""
        check_is_fitted(self)
        X = _validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_ + self.intercept_


class ImplicitSparseRegressionCV(RegressorMixin, BaseEstimator):
    """:class:`ImplicitSparseRegression` with ``init_scale`` and the number of steps chosen by
    K-fold cross-validation.

    Per fold, the whole grid of init scales runs as one block (parameters of shape
    (n_features, n_grid)), and the validation error of every column is recorded at
    ``n_checkpoints`` log-spaced step counts: one run gives the error over the (init scale,
    steps) grid. The pair with the lowest mean validation error is refitted on all the data.

    Parameters
    ----------
    init_scales : array_like or None
        Grid of α; default ``np.logspace(-6, -1, 6)``.
    depth, max_iter, tol, fit_intercept : as in :class:`ImplicitSparseRegression`
    cv : int or cross-validation generator, default 5
    n_checkpoints : int, default 30
    patience : int or None, default 5
        A grid column stops once its validation error has not improved for this many
        checkpoints (log-spaced, so about a factor 3 in steps by default); None runs all steps.

    Attributes
    ----------
    init_scale_ : float; max_iter_ : int (the chosen number of steps); coef_; intercept_;
    cv_mse_ : ndarray (n_checkpoints, n_grid), mean validation error

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.estimators import ImplicitSparseRegressionCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 100)); beta = np.zeros(100); beta[:3] = [2.0, -1.0, 1.5]
    >>> y = X @ beta + 0.1 * rng.standard_normal(60)
    >>> model = ImplicitSparseRegressionCV(max_iter=500).fit(X, y)
    >>> bool(model.score(X, y) > 0.9)
    True
    """

    def __init__(self, init_scales=None, *, depth=2, max_iter=2000, tol=1e-6, fit_intercept=True,
                 cv=5, n_checkpoints=30, patience=5):
        self.init_scales = init_scales
        self.depth = depth
        self.max_iter = max_iter
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.n_checkpoints = n_checkpoints
        self.patience = patience

    def fit(self, X, y):
        """Cross-validate the grid, then refit the best (init scale, steps); returns self."""
        depth, max_iter, fit_intercept = _check_implicit_params(self)
        n_cp = _check_positive_int(self.n_checkpoints, "n_checkpoints")
        grid = np.logspace(-6, -1, 6) if self.init_scales is None else \
            np.asarray(self.init_scales, dtype=np.float64).ravel()
        if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid <= 0):
            raise ValueError(f"init_scales must be positive numbers, got {self.init_scales!r}")
        X, y = _validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        checkpoints = np.unique(np.geomspace(1, max_iter, n_cp).round().astype(int))
        cv = check_cv(self.cv)
        mse = np.zeros((checkpoints.size, grid.size))
        for train, test in cv.split(X, y):
            Xc, yc, x_mean, y_mean, y_scale = _scaled(X[train], y[train], fit_intercept)
            A_val = X[test] - x_mean
            y_val = (y[test] - y_mean) / y_scale
            _, _, val = difference_gd(Xc, np.repeat(yc[:, None], grid.size, axis=1), grid,
                                      depth=depth, max_iter=max_iter, tol=float(self.tol),
                                      checkpoints=checkpoints, A_val=A_val,
                                      Y_val=np.repeat(y_val[:, None], grid.size, axis=1),
                                      patience=self.patience)
            mse += val * y_scale**2 / max(len(test), 1)
        mse /= cv.get_n_splits(X, y)
        i, j = np.unravel_index(np.argmin(mse), mse.shape)
        self.cv_mse_ = mse
        self.init_scale_ = float(grid[j])
        self.max_iter_ = int(checkpoints[i])
        best = ImplicitSparseRegression(self.init_scale_, depth=depth, max_iter=self.max_iter_,
                                        tol=self.tol, fit_intercept=fit_intercept).fit(X, y)
        self.coef_, self.intercept_, self.n_iter_ = best.coef_, best.intercept_, best.n_iter_
        return self

    def predict(self, X):
        """``X @ coef_ + intercept_``."""
        check_is_fitted(self)
        X = _validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_ + self.intercept_
