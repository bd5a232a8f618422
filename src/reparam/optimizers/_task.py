"""What an optimizer step sees: the objective, the parametrization, the domain, the options."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from .._linalg import take_columns


class Stalled(NamedTuple):
    """The ``stalled`` field of a block's state: the columns that cannot go on (``mask``, over
    the live columns) and why; the driver freezes them with ``Status.STALLED``."""

    message: str
    mask: np.ndarray


@dataclass
class Task:
    """The problem a step works on and its step-size options (a small record, no string keys).

    ``columns`` is True when the last axis of ``x`` indexes independent problems (a block of
    right-hand sides or of initial scales): per-column scalars (objective, step, momentum
    counter) are then arrays of shape (k,) that broadcast against (n, k) blocks.
    """

    objective: Any
    param: Any = None
    domain: Any = None
    step: Any = "auto"
    decay: float = 0.0
    restart: bool = True
    bb: str = "alternating"
    columns: bool = False
    _lip: float | None = field(default=None, repr=False)

    @property
    def xp(self):
        """The array namespace the objective computes in (``numpy`` unless it says otherwise)."""
        return getattr(self.objective, "xp", np)

    def evaluate(self, x: np.ndarray):
        """``(f, g)`` at ``x``."""
        return self.objective.value_and_grad(x)

    def lipschitz(self) -> float:
        """Lipschitz constant of ``∇f`` (cached); ``inf`` when the objective gives none."""
        if self._lip is None:
            lip = self.objective.lipschitz() if hasattr(self.objective, "lipschitz") else None
            self._lip = float("inf") if lip is None else float(lip)
        return self._lip

    def take(self, keep) -> Task:
        """The task restricted to the columns ``keep`` of a block."""
        objective = self.objective.take(keep) if hasattr(self.objective, "take") else \
            self.objective
        step = take_columns(self.step, keep) if getattr(self.step, "ndim", 0) else self.step
        return replace(self, objective=objective, step=step)

    @property
    def depth(self) -> int:
        return int(getattr(self.param, "depth", 2))
