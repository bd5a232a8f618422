"""CVXPY with the Clarabel interior-point solver."""

from benchopt import BaseSolver


class Solver(BaseSolver):
    name = "cvxpy-clarabel"
    requirements = ["pip::cvxpy-base", "pip::clarabel"]
    sampling_strategy = "run_once"

    def set_objective(self, A, b):
        self.A, self.b = A, b

    def run(self, _):
        import cvxpy as cp

        x = cp.Variable(self.A.shape[1])
        problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(self.A @ x - self.b)), [x >= 0])
        problem.solve(solver=cp.CLARABEL)
        self.x = x.value.clip(min=0)

    def get_result(self):
        return {"x": self.x}
