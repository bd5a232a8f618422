"""The paper's experiments (Chou et al., AISTATS 2025, arXiv:2207.08437), one module each.

Each module has ``run(size="quick", seed=None) -> Outcome``: the data plotted (``table``), a
matplotlib figure, a claim in one line, a verdict (``"supported"``, ``"not supported"`` or
``"inconclusive"``) computed by a stated criterion with its margin, and a negative control run
through the same criterion. The paper's experiments (section ``"paper"``: init-scale,
step-decay, coordinates, large-scale, paper-sparsity, paper-timing) use its settings and data generation; ``seed=None`` is
the paper's seed. Our own experiments (section ``"ours"``) state their own claims.
``size`` is ``"tiny"`` (seconds, for tests), ``"quick"`` (the same figures with fewer
iterations), ``"full"`` (under 30 minutes on 2 cores: the paper's settings, except the
departures each outcome lists in ``deviations``) or ``"paper"`` (every setting of the paper,
hours). :func:`reparam.experiments.report.write_report` turns outcomes into an HTML report and
``results.json``; ``reparam reproduce`` runs them from the command line. Needs the ``demo``
extra (matplotlib): ``pip install 'reparam[demo]'``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._common import Outcome

_MODULES = {
    "init-scale": "init_scale",
    "step-decay": "step_decay",
    "coordinates": "coordinates",
    "large-scale": "large_scale",
    "paper-sparsity": "paper_sparsity",
    "paper-timing": "paper_timing",
    "acceleration": "acceleration",
    "sparsity": "sparsity",
    "negative-perturbations": "negative_perturbations",
    "timing": "timing",
    "matrix-sensing": "matrix_sensing",
    "matrix-factorization": "matrix_factorization",
    "landscape": "landscape",
    "diagonal-networks": "diagonal_networks",
    "balancing": "balancing",
    "deep-factorization": "deep_factorization",
    "lifted-tensor": "lifted_tensor",
}

NAMES = tuple(_MODULES)

__all__ = ["NAMES", "SIZES", "Outcome", "get", "run"]


def __getattr__(name: str):
    # SIZES and Outcome on first use: `reparam --help` and `reparam solve` read only NAMES.
    if name in ("SIZES", "Outcome"):
        return getattr(import_module(f"{__name__}._common"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get(name: str) -> Callable[..., Outcome]:
    """The ``run`` function of the experiment called ``name`` (one of :data:`NAMES`)."""
    if name not in _MODULES:
        raise ValueError(f"unknown experiment {name!r}; choose from {', '.join(NAMES)}")
    return import_module(f"{__name__}.{_MODULES[name]}").run


def run(name: str, size: str = "quick", seed: int | None = None) -> Outcome:
    """Run one experiment: ``run("init-scale", size="tiny").verdict``."""
    return get(name)(size=size, seed=seed)
