"""benchopt objective: non-negative least squares, min 0.5 ||A x - b||^2 s.t. x >= 0.

Run from the repository root with ``make bench-peers`` (it installs the ``bench`` extra:
benchopt, cvxpy-base, clarabel, scikit-learn), or by hand:
``benchopt run benchmarks/benchopt_nnls --no-plot -n 20 --timeout 60``.
"""

import numpy as np
from benchopt import BaseObjective


class Objective(BaseObjective):
    name = "Non-negative least squares"
    url = "https://github.com/reparam/reparam"
    requirements = ["numpy", "scipy"]
    min_benchopt_version = "1.5"
    sampling_strategy = "iteration"

    def set_data(self, A, b):
        self.A, self.b = A, b
        self.scale = max(float(np.max(np.abs(A.T @ b))), np.finfo(float).tiny)

    def get_objective(self):
        return {"A": self.A, "b": self.b}

    def evaluate_result(self, x):
        x = np.asarray(x, dtype=float)
        r = self.A @ x - self.b
        g = self.A.T @ r
        return {
            "value": 0.5 * float(r @ r),
            "kkt": float(np.max(np.abs(np.minimum(x, g)))) / self.scale,
            "min_x": float(np.min(x)),
        }

    def get_one_result(self):
        return {"x": np.zeros(self.A.shape[1])}
