"""Tolerances and helpers shared by the paths of the active-set solver."""

from __future__ import annotations

import numpy as np

from .outcome import CERTIFIED, Exit, Reason

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


def final_exit(x, w, cnorm: float) -> Exit:
    """The end test of the Lawson-Hanson paths once no column may enter: ``CERTIFIED`` when
    the scaled KKT residual ``max |min(x, -w)| / cnorm`` (``w`` the negative gradient) is at
    most :data:`_ACCEPT`, otherwise ``KKT_ABOVE_BOUND`` naming the residual."""
    kkt = float(np.max(np.abs(np.minimum(x, -w)), initial=0.0)) / cnorm
    if kkt <= _ACCEPT:
        return CERTIFIED
    return Exit(Reason.KKT_ABOVE_BOUND, f"KKT residual {kkt:.1e} at the finish")


def _step_to_boundary(x, F, z, neg, passive):
    """Lawson & Hanson's interpolation step: move x_F toward the unconstrained point z as far
    as feasibility allows, zero the variables that reach the boundary (at least the first
    blocker, so each inner iteration drops one), and take them out of the passive set.
    Updates ``x`` and ``passive`` in place; returns the boolean mask of dropped positions.

    Only variables headed for the boundary (``z_i <= 0``) leave: when a block of variables
    has just entered at zero and one of them blocks at once (a step of zero), the others of
    the block, whose z_i are positive, stay to move up on the next step instead of leaving
    with it."""
    xF = x[F]
    # z_i <= 0 <= x_i; a variable at zero headed nowhere (z_i = 0) blocks at once.
    den = xF[neg] - z[neg]
    ratio = np.divide(xF[neg], den, out=np.zeros_like(den), where=den > 0)
    xF = xF + float(np.min(ratio)) * (z - xF)
    drop = (xF <= 0) & neg
    drop[np.flatnonzero(neg)[np.argmin(ratio)]] = True
    x[F] = np.where(drop, 0.0, xF)
    passive[F[drop]] = False
    return drop


def exchange_columns(P, Pl, live, infeasible, count, best, budget, n: int) -> None:
    """One exchange of block principal pivoting for the ``live`` columns, in place on ``P``.

    A column whose number of infeasible variables ``count`` fell below its ``best`` regains
    :data:`_FULL_EXCHANGES` full exchanges (flip every infeasible variable); once its budget is
    spent it flips only the infeasible variable of largest index, the backup rule of Júdice &
    Pires (1994) that guarantees termination. ``Pl`` is ``P[:, live]`` before the exchange.
    """
    better = count < best[live]
    best[live[better]] = count[better]
    budget[live[better]] = _FULL_EXCHANGES
    full = better | (budget[live] > 0)
    budget[live[full & ~better]] -= 1
    flip = infeasible & full
    backup = np.flatnonzero(~full)
    if backup.size:
        last = n - 1 - np.argmax(infeasible[::-1, backup], axis=0)
        flip[last, backup] = True
    P[:, live] = Pl ^ flip
