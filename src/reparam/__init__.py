"""reparam: constrained least squares by reparametrization, and the implicit bias it carries.

>>> import numpy as np, reparam as rp
>>> A = np.array([[1.0, 0.0], [0.0, 1.0]]); b = np.array([1.0, -2.0])
>>> rp.nnls(A, b).x
array([1., 0.])
"""

from . import (
    clustering,
    constrained,
    domains,
    flows,
    implicit_bias,
    objectives,
    optimizers,
    parametrizations,
    problems,
    stability,
)
from ._nnls import nnls
from ._result import Interrupted, Result, Status, kkt_residual
from ._train import sweep, train
from .solvers import METHODS

__all__ = [
    "METHODS",
    "Interrupted",
    "Result",
    "Status",
    "clustering",
    "constrained",
    "domains",
    "flows",
    "implicit_bias",
    "kkt_residual",
    "nnls",
    "objectives",
    "optimizers",
    "parametrizations",
    "problems",
    "stability",
    "sweep",
    "train",
]
__version__ = "0.1.0"


def __getattr__(name):
    # decomposition and estimators need scikit-learn (the `estimators` extra) and distributed
    # needs Dask: imported on first use, and left out of __all__ so that `import *` needs only
    # numpy and scipy; models is imported on first use to keep `import reparam` quick.
    if name in ("decomposition", "distributed", "estimators", "models"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'reparam' has no attribute {name!r}")
