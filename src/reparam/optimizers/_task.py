"""What an optimizer step sees: the objective, the parametrization, the domain, the options."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np


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
        step = self.step[keep] if isinstance(self.step, np.ndarray) and self.step.ndim else \
            self.step
        return replace(self, objective=objective, step=step)

    @property
    def depth(self) -> int:
        return int(getattr(self.param, "depth", 2))
