"""The paper's test problem: A ~ N(0, 1/m), a sparse non-negative x*, b = A x* + noise."""

import numpy as np
from benchopt import BaseDataset


class Dataset(BaseDataset):
    name = "simulated"
    parameters = {"m, n": [(500, 200), (200, 500), (2000, 1000)], "noise": [0.01]}

    def get_data(self):
        rng = np.random.default_rng(0)
        A = rng.standard_normal((self.m, self.n)) / np.sqrt(self.m)
        x = np.zeros(self.n)
        support = rng.choice(self.n, self.n // 10, replace=False)
        x[support] = np.abs(rng.standard_normal(support.size))
        x /= np.linalg.norm(x)
        return {"A": A, "b": A @ x + self.noise * rng.standard_normal(self.m)}
