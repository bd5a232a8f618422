"""reparam: constrained least squares by reparametrization, and the implicit bias it carries.

>>> import numpy as np, reparam as rp
>>> A = np.array([[1.0, 0.0], [0.0, 1.0]]); b = np.array([1.0, -2.0])
>>> rp.nnls(A, b).x
array([1., 0.])
"""

from . import clustering, constrained, flows, implicit_bias, parametrizations, problems, stability
from ._nnls import nnls
from ._result import Result, Status, kkt_residual
from .solvers import METHODS

__all__ = [
    "METHODS",
    "Result",
    "Status",
    "clustering",
    "constrained",
    "flows",
    "implicit_bias",
    "kkt_residual",
    "nnls",
    "parametrizations",
    "problems",
    "stability",
]
__version__ = "0.1.0"
