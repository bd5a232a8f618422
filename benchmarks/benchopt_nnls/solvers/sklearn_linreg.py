"""scikit-learn's LinearRegression(positive=True) (it calls scipy's NNLS)."""

from benchopt import BaseSolver


class Solver(BaseSolver):
    name = "sklearn-linreg"
    requirements = ["scikit-learn"]
    sampling_strategy = "run_once"

    def set_objective(self, A, b):
        self.A, self.b = A, b

    def run(self, _):
        from sklearn.linear_model import LinearRegression

        self.x = LinearRegression(positive=True, fit_intercept=False).fit(self.A, self.b).coef_

    def get_result(self):
        return {"x": self.x}
