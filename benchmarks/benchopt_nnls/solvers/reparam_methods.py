"""reparam's methods: iterative ones sampled by iteration count, the exact one run once."""

import numpy as np
from benchopt import BaseSolver

import reparam as rp


class Solver(BaseSolver):
    name = "reparam"
    requirements = ["pip::reparam"]
    parameters = {
        "method": ["auto", "accelerated", "reparam-nesterov", "riemannian-bb", "reparam-gd",
                   "projected-gd", "fista"],
    }
    sampling_strategy = "iteration"

    def set_objective(self, A, b):
        self.A, self.b = A, b

    def run(self, n_iter):
        if rp.METHODS[self.method if self.method != "auto" else "active-set"].exact:
            self.x = rp.nnls(self.A, self.b, method=self.method).x
        else:
            self.x = rp.nnls(self.A, self.b, method=self.method, tol=0,
                             max_iter=max(1, n_iter)).x

    def get_result(self):
        return {"x": np.asarray(self.x)}
