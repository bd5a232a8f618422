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
        # The scale-free NNLS certificate of reparam.kkt_residual, written out so that the
        # objective needs numpy only: max_i |min(c_i x_i, g_i / c_i)| / ||b|| (c_i = ||a_i||).
        c = np.linalg.norm(A, axis=0)
        self.col_norms = np.where(c > 0, c, 1.0)
        self.scale = max(float(np.linalg.norm(b)), np.finfo(float).tiny)

    def get_objective(self):
        return {"A": self.A, "b": self.b}

    def evaluate_result(self, x):
        x = np.asarray(x, dtype=float)
        r = self.A @ x - self.b
        g = self.A.T @ r
        return {
            "value": 0.5 * float(r @ r),
            "kkt": float(np.max(np.abs(np.minimum(self.col_norms * x, g / self.col_norms))))
            / self.scale,
            "min_x": float(np.min(x)),
        }

    def get_one_result(self):
        return {"x": np.zeros(self.A.shape[1])}
