"""scikit-learn's Lasso(positive=True) with alpha -> 0: coordinate descent for NNLS."""

import warnings

from benchopt import BaseSolver


class Solver(BaseSolver):
    name = "sklearn-lasso"
    requirements = ["scikit-learn"]
    parameters = {"alpha": [1e-10]}
    sampling_strategy = "iteration"

    def set_objective(self, A, b):
        self.A, self.b = A, b

    def run(self, n_iter):
        from sklearn.linear_model import Lasso

        model = Lasso(alpha=self.alpha, positive=True, fit_intercept=False,
                      max_iter=max(1, n_iter), tol=0.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at small n_iter, by design
            self.x = model.fit(self.A, self.b).coef_

    def get_result(self):
        return {"x": self.x}
