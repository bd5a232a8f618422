"""reparam: constrained least squares by reparametrization, and the implicit bias it carries.

>>> import numpy as np, reparam as rp
>>> A = np.array([[1.0, 0.0], [0.0, 1.0]]); b = np.array([1.0, -2.0])
>>> rp.nnls(A, b).x
array([1., 0.])

Submodules and the public names are imported on first use (PEP 562), so that ``import
reparam`` and ``reparam solve`` load only what they run: the clustering, constrained and
implicit-bias toolkits pull in large parts of SciPy (``scipy.spatial``, ``scipy.optimize``,
``scipy.integrate``) that exact NNLS never needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# Public name -> the module that defines it (None: the name is the submodule itself).
_LAZY: dict[str, str | None] = {
    "METHODS": ".solvers",
    "Interrupted": "._result",
    "Result": "._result",
    "Status": "._result",
    "clustering": None,
    "constrained": None,
    "domains": None,
    "flows": None,
    "implicit_bias": None,
    "kkt_residual": "._result",
    "nnls": "._nnls",
    "objectives": None,
    "optimizers": None,
    "parametrizations": None,
    "problems": None,
    "stability": None,
    "sweep": "._train",
    "train": "._train",
}
# Submodules that dir() lists but __all__ leaves out, so that `from reparam import *` needs only
# numpy and scipy: decomposition and estimators need scikit-learn (the `estimators` extra),
# distributed needs Dask. Like every other submodule they are imported on first use.
_OPTIONAL = ("decomposition", "distributed", "estimators", "models")

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

if TYPE_CHECKING:  # what the names are, for type checkers and IDEs
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


def __getattr__(name: str):
    where = _LAZY.get(name)
    if where is not None:
        value = getattr(importlib.import_module(where, __name__), name)
    elif name.startswith("__"):
        raise AttributeError(f"module 'reparam' has no attribute {name!r}")
    else:  # a public name that is a submodule, or any other submodule (reparam.solvers, ...)
        try:
            value = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise  # the submodule exists but needs a package that is missing
            raise AttributeError(f"module 'reparam' has no attribute {name!r}") from None
    globals()[name] = value  # the next access is a plain attribute lookup
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_OPTIONAL))
