"""The related work, runnable: each model of the implicit-bias literature around
reparametrized gradient descent, one module per family, built on :func:`reparam.train`.

Every module has a seeded problem generator, a runner that records the quantity the theory is
about through ``record=``, and a docstring that cites the paper, states its claim and the
threshold the tests and ``reparam reproduce`` check it against.

Submodules are imported on first use: ``reparam.models.matrix_sensing`` works after
``import reparam``, and ``reparam.models.NAMES`` lists what is available.
"""

from __future__ import annotations

import pkgutil
from importlib import import_module

NAMES = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")))

__all__ = ["NAMES"]


def __getattr__(name: str):
    if name in NAMES:
        return import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}; models: {', '.join(NAMES)}")
