"""Weight-normalized (polar) parametrization of diagonal networks."""

from __future__ import annotations

import numpy as np

from ._base import (
    Domain,
    Parametrization,
    _check_kind,
    _positive_scale,
    _size,
)


class WeightNormalized(Parametrization):
    r"""Weight normalization of the diagonal network ``x = u² − v²``: magnitude and direction.

    Per coordinate, ``(u_i, v_i) = r_i d_i`` with a magnitude ``r_i`` and a unit direction
    ``d_i = w_i / ‖w_i‖`` in the plane, so ``x_i = r_i² (w_{i1}² − w_{i2}²) / ‖w_i‖²``
    (parameters ``(r, W)``, ``W`` of shape (n, 2)). Gradient descent on ``(r, W)`` is the
    weight-normalized diagonal linear network (Salimans & Kingma 2016; Chou, Rauhut & Ward,
    "Robust implicit regularization via weight normalization", 2023).

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.parametrizations import WeightNormalized
    >>> p = WeightNormalized()
    >>> r, W = p.init(3, 0.1)                 # direction (1, 1)/√2: x0 = 0
    >>> p.forward((r, W))
    array([0., 0., 0.])
    """

    commuting = False
    signed = True
    domain = Domain(description="R^n (signed)")

    def __repr__(self) -> str:
        return "WeightNormalized()"

    def forward(self, params):
        r, W = params
        s = np.sum(W * W, axis=-1)
        return r * r * (W[..., 0] ** 2 - W[..., 1] ** 2) / s

    def vjp(self, params, g):
        r, W = params
        a, b = W[..., 0], W[..., 1]
        s = a * a + b * b
        c = (a * a - b * b) / s
        rr = r * r * g / (s * s)
        dW = np.stack([4.0 * a * b * b * rr, -4.0 * a * a * b * rr], axis=-1)
        return 2.0 * r * c * g, dW

    def initial_u(self, x0=None, init_scale=None, n=None):
        raise ValueError("WeightNormalized parameters are (r, W): use init(n, init_scale)")

    def init(self, shape, init_scale, rng=None, kind="identical"):
        """``r = init_scale·√2`` and ``W = (1, 1)`` (so ``x0 = 0``, as ``u0 = v0`` for
        ``Difference``), or Gaussian magnitudes and directions."""
        n = _size(int(np.atleast_1d(shape)[0]), "n")
        kind = _check_kind(kind, ("identical", "gaussian"))
        alpha = _positive_scale(init_scale, "init_scale")
        if kind == "identical":
            return np.full(n, alpha * np.sqrt(2.0)), np.ones((n, 2))
        gen = np.random.default_rng(rng)
        return alpha * np.abs(gen.standard_normal(n)), gen.standard_normal((n, 2))

