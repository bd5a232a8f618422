"""Optimizers as pure ``init`` / ``step`` pairs with typed state, and the one driver loop.

* :mod:`.gd` — gradient descent on the parameters (constant, decaying, safe or Armijo step)
  and Nesterov momentum with adaptive restart;
* :mod:`.metric` — Riemannian gradient descent in ``x``, its Barzilai–Borwein variant, and the
  discretized accelerated flow;
* :mod:`.projected` — projected gradient descent and FISTA (baselines);
* :mod:`.steps` — every step-size policy;
* :func:`run` — stopping on the certificate, ``max_iter``, callbacks, recording, interrupts.
"""

from __future__ import annotations

from . import gd, metric, projected, steps
from ._driver import IterationState, Optimizer, run
from ._task import Task

__all__ = ["OPTIMIZERS", "IterationState", "Optimizer", "Task", "gd", "metric", "projected",
           "run", "steps"]

OPTIMIZERS: dict[str, Optimizer] = {
    o.name: o
    for o in [
        Optimizer("gd", gd.gd_init, gd.gd_step, blocks=True),
        Optimizer("nesterov", gd.nesterov_init, gd.nesterov_step, blocks=True),
        Optimizer("riemannian", metric.riemannian_init, metric.riemannian_step, blocks=True),
        Optimizer("bb", metric.bb_init, metric.bb_step, blocks=True),
        Optimizer("accelerated", metric.accelerated_init, metric.accelerated_step,
                  blocks=True),
        Optimizer("projected", projected.projected_init, projected.projected_step, blocks=True),
        Optimizer("fista", projected.fista_init, projected.fista_step, blocks=True),
    ]
}
