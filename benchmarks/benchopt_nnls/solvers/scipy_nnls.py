"""scipy.optimize.nnls, compiled Lawson-Hanson."""

import scipy.optimize
from benchopt import BaseSolver


class Solver(BaseSolver):
    name = "scipy"
    requirements = ["scipy"]
    sampling_strategy = "run_once"

    def set_objective(self, A, b):
        self.A, self.b = A, b

    def run(self, _):
        self.x = scipy.optimize.nnls(self.A, self.b)[0]

    def get_result(self):
        return {"x": self.x}
