"""Tolerances and helpers shared by the paths of the active-set solver."""

from __future__ import annotations

import numpy as np

_TINY = np.finfo(np.float64).tiny
# Stop when every gradient sign is right to this fraction of ||A^T b||_inf ...
_TOL = 1e-13
# ... and accept a path's answer only when its KKT residual is at most this.
_ACCEPT = 1e-11
# A Cholesky pivot below this fraction of the block's largest diagonal means cond(A_F) > ~1e7:
# the Gram path would lose all accuracy, so it hands over to the QR path.
_CHOL_PIVOT = 1e-14
# Kim & Park's number of full exchanges allowed without progress before the backup rule.
_FULL_EXCHANGES = 3


def _step_to_boundary(x, F, z, neg, passive):
    """Lawson & Hanson's interpolation step: move x_F toward the unconstrained point z as far
    as feasibility allows, zero the variables that reach the boundary (at least the first
    blocker, so each inner iteration drops one), and take them out of the passive set.
    Updates ``x`` and ``passive`` in place; returns the boolean mask of dropped positions."""
    xF = x[F]
    ratio = xF[neg] / (xF[neg] - z[neg])
    xF = xF + float(np.min(ratio)) * (z - xF)
    drop = xF <= 0
    drop[np.flatnonzero(neg)[np.argmin(ratio)]] = True
    x[F] = np.where(drop, 0.0, xF)
    passive[F[drop]] = False
    return drop
