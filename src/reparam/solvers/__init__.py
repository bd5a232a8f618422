"""Solver registry: each method's update rule and its declared options with defaults.

Iterative methods are ``(init, step)`` pairs run by :func:`reparam.solvers._loop.iterate`;
exact methods take the whole problem. ``auto.py`` chooses among them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import _exact, accelerated, first_order, reparam_gd, riemannian

_COMMON = {"tol": 1e-6, "max_iter": 20_000, "callback": None, "record": False}
_REPARAM = {"depth": 2, "init_scale": 1e-3, "step": "auto", "decay": 0.0}


@dataclass(frozen=True)
class Method:
    name: str
    summary: str
    defaults: dict
    init: Callable | None = None
    step: Callable | None = None
    exact: Callable | None = None


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
            reparam_gd.gd_init,
            reparam_gd.gd_step,
        ),
        Method(
            "riemannian-gd",
            "the same descent written in x: x <- x - step * depth² x^(2-2/depth) * grad",
            {**_COMMON, **_REPARAM},
            riemannian.gd_init,
            riemannian.gd_step,
        ),
        Method(
            "riemannian-bb",
            "Riemannian descent with Barzilai-Borwein steps and a non-monotone line search",
            {**_COMMON, "depth": 2, "init_scale": 1e-3, "bb": "alternating"},
            riemannian.bb_init,
            riemannian.bb_step,
        ),
        Method(
            "accelerated",
            "discretized second-order ODE (accelerated mirror descent) with restart",
            {**_COMMON, "init_scale": 1e-3, "step": "auto", "restart": True},
            accelerated.init,
            accelerated.step,
        ),
        Method(
            "reparam-nesterov",
            "Nesterov momentum on u with adaptive restart",
            {**_COMMON, **_REPARAM, "restart": True},
            reparam_gd.nesterov_init,
            reparam_gd.nesterov_step,
        ),
        Method(
            "projected-gd",
            "baseline: projected gradient descent with step 1/||A||²",
            {**_COMMON, "step": "auto"},
            first_order.init,
            first_order.pgd_step,
        ),
        Method(
            "fista",
            "baseline: FISTA with projection and adaptive restart",
            {**_COMMON, "step": "auto", "restart": True},
            first_order.init,
            first_order.fista_step,
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
