"""Regression estimators against scikit-learn, timed in the same run.

Run from the repository root::

    python -m benchmarks.regression_vs_sklearn           # about a minute on two cores

1. ``NNLSRegression`` against ``LinearRegression(positive=True)`` (both exact): wall time
   (median of 3 runs) and the largest coefficient difference.
2. ``ImplicitSparseRegressionCV`` (gradient descent on x = u⊙u − v⊙v, init scale and steps
   chosen by 5-fold CV, the init-scale grid run as one block) against ``LassoCV`` (5-fold, its
   default path of 100 penalties) on sparse regression: n = 200 samples, 1000 Gaussian
   features, 10 non-zeros (±(1 + |N(0,1)|)), SNR = var(X β) / σ² = 5, test R² on 2000 fresh
   samples, support F1 with the support ``{j : |β_j| > 1e-4 ‖β‖∞}`` (the Lasso's zeros are
   exact; the reparametrized coefficients are never exactly zero, entries that never entered
   stay of order init_scale²). BLAS on one thread (threadpoolctl) for both.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LassoCV, LinearRegression
from threadpoolctl import threadpool_limits

from reparam.estimators import ImplicitSparseRegressionCV, NNLSRegression


def _median_time(fit, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model = fit()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), model


def nnls_table():
    print("NNLSRegression vs LinearRegression(positive=True)")
    print(f"{'m x n (outputs)':<22}{'reparam (s)':>13}{'sklearn (s)':>13}{'speed-up':>10}"
          f"{'max |coef diff|':>17}")
    rng = np.random.default_rng(0)
    for m, n, k in [(500, 50, 1), (2000, 200, 1), (5000, 500, 1), (2000, 100, 10)]:
        X = rng.standard_normal((m, n))
        Y = X @ rng.standard_normal((n, k)) + rng.standard_normal((m, k)) + 1.0
        y = Y[:, 0] if k == 1 else Y
        ours_t, ours = _median_time(lambda X=X, y=y: NNLSRegression().fit(X, y))
        ref_t, ref = _median_time(lambda X=X, y=y: LinearRegression(positive=True).fit(X, y))
        diff = float(np.max(np.abs(ours.coef_ - ref.coef_)))
        print(f"{f'{m} x {n} ({k})':<22}{ours_t:>13.4f}{ref_t:>13.4f}{ref_t / ours_t:>10.2f}"
              f"{diff:>17.2e}")


def sparse_problem(seed, n=200, p=1000, s=10, snr=5.0, n_test=2000):
    rng = np.random.default_rng(seed)
    beta = np.zeros(p)
    support = rng.choice(p, s, replace=False)
    beta[support] = rng.choice([-1.0, 1.0], s) * (1.0 + np.abs(rng.standard_normal(s)))
    X = rng.standard_normal((n + n_test, p))
    signal = X @ beta
    sigma = np.sqrt(np.var(signal[:n]) / snr)
    y = signal + sigma * rng.standard_normal(n + n_test)
    return X[:n], y[:n], X[n:], y[n:], beta


def f1(coef, beta):
    est = np.abs(coef) > 1e-4 * max(float(np.max(np.abs(coef))), 1e-300)
    true = beta != 0
    tp = int(np.sum(est & true))
    if tp == 0:
        return 0.0, int(est.sum())
    precision, recall = tp / est.sum(), tp / true.sum()
    return 2 * precision * recall / (precision + recall), int(est.sum())


def sparse_table(seeds=(0, 1, 2)):
    print("\nSparse regression: n=200, p=1000, 10 non-zeros, SNR 5 (test R^2 on 2000 samples)")
    print(f"{'seed':<6}{'estimator':<30}{'F1':>6}{'|supp|':>8}{'test R2':>9}{'time (s)':>10}"
          "  chosen")
    for seed in seeds:
        X, y, X_test, y_test, beta = sparse_problem(seed)
        models = [
            ("LassoCV(cv=5)", lambda: LassoCV(cv=5)),
            ("ImplicitSparseRegressionCV", lambda: ImplicitSparseRegressionCV(cv=5)),
        ]
        for name, make in models:
            start = time.perf_counter()
            model = make().fit(X, y)
            seconds = time.perf_counter() - start
            score, size = f1(model.coef_, beta)
            chosen = (f"alpha={model.alpha_:.3g}" if hasattr(model, "alpha_") else
                      f"init_scale={model.init_scale_:.0e}, steps={model.max_iter_}")
            print(f"{seed:<6}{name:<30}{score:>6.2f}{size:>8}{model.score(X_test, y_test):>9.3f}"
                  f"{seconds:>10.2f}  {chosen}")


def main():
    warnings.simplefilter("ignore", ConvergenceWarning)
    with threadpool_limits(1):
        nnls_table()
        sparse_table()


if __name__ == "__main__":
    main()
