"""The paper's experiments (Chou et al., AISTATS 2025, arXiv:2207.08437), one module each.

Each module has ``run(size="quick", seed=0) -> Outcome``: the data plotted (``table``), a
matplotlib figure, the paper's claim in one line and a verdict computed by a stated criterion.
``size`` is ``"tiny"`` (seconds, for tests), ``"quick"`` (minutes) or ``"full"`` (the paper's
sizes). :func:`reparam.experiments.report.write_report` turns outcomes into an HTML report and
``results.json``; ``reparam reproduce`` runs them from the command line. Needs the ``demo``
extra (matplotlib): ``pip install 'reparam[demo]'``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from ._common import SIZES, Outcome

_MODULES = {
    "init-scale": "init_scale",
    "coordinates": "coordinates",
    "step-decay": "step_decay",
    "acceleration": "acceleration",
    "large-scale": "large_scale",
    "timing": "timing",
    "sparsity": "sparsity",
    "negative-perturbations": "negative_perturbations",
}

NAMES = tuple(_MODULES)

__all__ = ["NAMES", "SIZES", "Outcome", "get", "run"]


def get(name: str) -> Callable[..., Outcome]:
    """The ``run`` function of the experiment called ``name`` (one of :data:`NAMES`)."""
    if name not in _MODULES:
        raise ValueError(f"unknown experiment {name!r}; choose from {', '.join(NAMES)}")
    return import_module(f"{__name__}.{_MODULES[name]}").run


def run(name: str, size: str = "quick", seed: int = 0) -> Outcome:
    """Run one experiment: ``run("init-scale", size="tiny").verdict``."""
    return get(name)(size=size, seed=seed)
