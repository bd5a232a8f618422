"""Solver registry: one record per method (its optimizer, options with defaults, advice).

Iterative methods run an optimizer of :mod:`reparam.optimizers` on ``LeastSquares``,
``Power(depth)`` and the orthant (:mod:`.iterative`); exact methods take the whole problem.
``auto.py`` chooses among them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..optimizers import OPTIMIZERS, Optimizer
from . import _exact

_COMMON = {"tol": 1e-6, "max_iter": 20_000, "callback": None, "record": False}
_REPARAM = {"depth": 2, "init_scale": 1e-3, "step": "auto", "decay": 0.0}


@dataclass(frozen=True)
class Method:
    name: str
    summary: str
    defaults: dict
    optimizer: Optimizer | None = None
    exact: Callable | None = None
    advice: str = "raise max_iter"
    start: str = "power"  # "power": u0 = init_scale (x0 = init_scale**depth); "zero": x0 = 0


METHODS: dict[str, Method] = {
    m.name: m
    for m in [
        Method(
            "active-set",
            "exact active-set NNLS (block principal pivoting on the Gram matrix, safeguarded)",
            {"tol": 1e-10, "max_iter": None, "callback": None, "record": False},
            exact=_exact.active_set,
        ),
        Method(
            "reparam-gd",
            "gradient descent on u with x = u**depth, step 'auto' or fixed, optional decay",
            {**_COMMON, **_REPARAM},
            OPTIMIZERS["gd"],
            advice="raise max_iter, use method='accelerated' or 'reparam-nesterov', "
            "or a larger init_scale",
        ),
        Method(
            "riemannian-gd",
            "the same descent written in x: x <- x - step * depth² x^(2-2/depth) * grad",
            {**_COMMON, **_REPARAM},
            OPTIMIZERS["riemannian"],
            advice="raise max_iter or use method='riemannian-bb'",
        ),
        Method(
            "riemannian-bb",
            "Riemannian descent with Barzilai-Borwein steps and a non-monotone line search",
            {**_COMMON, "depth": 2, "init_scale": 1e-3, "bb": "alternating"},
            OPTIMIZERS["bb"],
            advice="raise max_iter or use method='accelerated'",
        ),
        Method(
            "accelerated",
            "discretized second-order ODE (accelerated mirror descent) with restart",
            {**_COMMON, "init_scale": 1e-3, "step": "auto", "restart": True},
            OPTIMIZERS["accelerated"],
            advice="raise max_iter, or use method='active-set' for an exact answer",
        ),
        Method(
            "reparam-nesterov",
            "Nesterov momentum on u with adaptive restart",
            {**_COMMON, **_REPARAM, "restart": True},
            OPTIMIZERS["nesterov"],
            advice="raise max_iter, or use method='active-set' for an exact answer",
        ),
        Method(
            "projected-gd",
            "baseline: projected gradient descent with step 1/||A||²",
            {**_COMMON, "step": "auto"},
            OPTIMIZERS["projected"],
            advice="raise max_iter or use method='fista'",
            start="zero",
        ),
        Method(
            "fista",
            "baseline: FISTA with projection and adaptive restart",
            {**_COMMON, "step": "auto", "restart": True},
            OPTIMIZERS["fista"],
            advice="raise max_iter, or use method='active-set' for an exact answer",
            start="zero",
        ),
        Method(
            "scipy",
            "scipy.optimize.nnls (Lawson-Hanson), for comparison",
            {"tol": 1e-10, "max_iter": None, "callback": None, "record": False},
            exact=_exact.scipy_nnls,
        ),
    ]
}

METHOD_NAMES = ("auto", *METHODS)
