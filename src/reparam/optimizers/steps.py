"""Step-size policies, in one place: safe step from a curvature bound, decay, Armijo, BB.

Per-column quantities: for a block (``x`` of shape (n, k)) every rule works column by column
and returns a (k,) array, which broadcasts against the block; for a single problem it returns
a float.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._linalg import namespace
from ..objectives import coldot

_TINY = np.finfo(float).tiny
THETA = 0.9  # fraction to the boundary


def decayed(step0, k: int, decay: float):
    """Step-size decay ``step_k = step0 / (k + 2)**decay`` (decay = 0: constant step).

    Chou et al. (arXiv:2207.08437), gradient descent with decaying steps, ``γ = decay``.

    Examples
    --------
    >>> decayed(1.0, 2, 1.0)
    0.25
    """
    return step0 if decay == 0.0 else step0 / (k + 2) ** decay


def inverse(curv):
    """``1 / curv`` where ``curv > 0``, else 1 (a zero curvature bound puts no limit)."""
    if type(curv) is np.ndarray and curv.ndim:  # a block: per column
        if np.minimum.reduce(curv) > 0:  # False for NaN: then the general rule below
            return 1.0 / curv
    elif np.ndim(curv) == 0:
        return 1.0 / curv if curv > 0 else 1.0
    pos = curv > 0
    if pos.all():
        return 1.0 / curv
    if type(curv) is not np.ndarray:
        xp = namespace(curv)
        return xp.where(pos, 1.0 / curv, xp.ones_like(curv))
    return np.divide(1.0, curv, out=np.ones(np.shape(curv)), where=pos)


def column_max(values: np.ndarray, columns: bool):
    """Largest entry (per column for a block)."""
    if type(values) is np.ndarray:  # the ufunc's reduce: no Python wrapper per call
        if columns and values.ndim == 2:
            return np.maximum.reduce(values, axis=0)
        return float(np.maximum.reduce(values, axis=None))
    xp = namespace(values)
    if columns and values.ndim == 2:
        return xp.max(values, axis=0)
    return float(xp.max(values))


def metric_step(P: np.ndarray, lipschitz: float, columns: bool = False):
    """``1 / (‖P‖_∞ ‖A‖²)``: below the inverse Lipschitz constant in the metric ``P^{-1}``."""
    return inverse(column_max(P, columns) * lipschitz)


def boundary_cap(x: np.ndarray, direction: np.ndarray, columns: bool = False):
    """Largest ``η`` with ``x + η d >= (1 − θ) x`` (θ = 0.9, "fraction to the boundary")."""
    if type(x) is not np.ndarray:
        return _boundary_cap_xp(x, direction, columns)
    shrink = -direction / np.maximum(x, _TINY)
    if columns and x.ndim == 2:
        worst = np.maximum.reduce(shrink, axis=0, initial=0.0)
        if np.minimum.reduce(worst) > 0:  # the common case: every column has a bound
            return THETA / worst
        return np.divide(THETA, worst, out=np.full(worst.shape, np.inf), where=worst > 0)
    worst = float(np.max(shrink, initial=0.0))
    return THETA / worst if worst > 0 else np.inf


def _boundary_cap_xp(x, direction, columns: bool):
    """:func:`boundary_cap` for arrays of another library (the same numbers)."""
    xp = namespace(x)
    shrink = -direction / xp.clip(x, min=_TINY)
    if columns and x.ndim == 2:
        worst = xp.clip(xp.max(shrink, axis=0), min=0.0)
        pos = worst > 0
        return xp.where(pos, THETA / xp.where(pos, worst, 1.0), xp.full_like(worst, np.inf))
    worst = max(float(xp.max(shrink)), 0.0) if shrink.shape[0] else 0.0
    return THETA / worst if worst > 0 else np.inf


def bb_lengths(s, y, P, k: int, rule: str, safe):
    """:func:`bb_length` per column of (n, k) blocks, clipped to ``[1e-8, 1e8]·safe`` and
    ``safe`` where it is not defined (``⟨s, y⟩ <= 0``): the step of every column of a
    Barzilai–Borwein block."""
    xp = np if type(s) is np.ndarray else namespace(s)
    sy = coldot(s, y)
    ok = sy > 0
    sy_safe = xp.where(ok, sy, 1.0)
    long = coldot(s, s / xp.maximum(P, _TINY) if xp is np else s / xp.clip(P, min=_TINY))
    long = long / sy_safe
    if rule == "long" or (rule == "alternating" and k % 2):
        eta = long
    else:
        ypy = coldot(y, P * y)
        pos = ypy > 0
        eta = xp.where(pos, sy / xp.where(pos, ypy, 1.0), long)
    eta = xp.clip(eta, 1e-8 * safe, 1e8 * safe) if xp is np else xp.minimum(
        xp.maximum(eta, 1e-8 * safe), 1e8 * safe)
    return xp.where(ok, eta, safe)


def bb_length(s: np.ndarray, y: np.ndarray, P: np.ndarray, k: int, rule: str) -> float | None:
    """Barzilai–Borwein step in the metric ``P^{-1}``; None where it is not defined.

    Barzilai & Borwein (1988): long ``⟨s, P⁻¹s⟩ / ⟨s, y⟩`` (BB1), short ``⟨s, y⟩ / ⟨y, P y⟩``
    (BB2), or the two alternating (odd ``k`` long).
    """
    sy = float(s @ y)
    if not sy > 0:
        return None
    floor = np.maximum(P, _TINY) if type(P) is np.ndarray else namespace(P).clip(P, min=_TINY)
    long = float(s @ (s / floor)) / sy
    ypy = float(y @ (P * y))  # 0 when y lives where x (hence P) has underflowed to 0
    short = sy / ypy if ypy > 0 else long
    if rule == "long":
        return long
    if rule == "short":
        return short
    return long if k % 2 else short


def armijo(
    trial: Callable[[float], tuple[float, object]],
    f_ref: float,
    slope: float,
    eta: float,
    *,
    c: float = 1e-4,
    slack: float = 0.0,
    floor: float = 1e-300,
    max_backtracks: int = 2000,
    rtol: float = 0.0,
):
    """Backtracking (halving) from ``eta`` until ``f(eta) <= f_ref + c η slope + slack``.

    ``trial(η) -> (f, payload)``; ``slope <= 0`` is the directional derivative. Bounded: at
    most ``max_backtracks`` halvings and never below ``floor``; a non-finite ``slope`` or
    ``eta`` fails at once. Once the decrease asked for, ``c η |slope|``, is below
    ``rtol·|f_ref|`` (below the rounding of ``f``), a step that does not increase ``f`` is
    accepted. Returns ``(η, payload)``, or None when no step was accepted. (Armijo 1966.)

    Examples
    --------
    >>> armijo(lambda t: ((1.0 - t) ** 2, t), f_ref=1.0, slope=-2.0, eta=4.0)
    (1.0, 1.0)
    """
    if not (np.isfinite(slope) and np.isfinite(eta)):
        return None
    for _ in range(max_backtracks):
        if not eta >= floor:
            return None
        f_new, payload = trial(eta)
        required = -c * eta * slope
        if f_new <= f_ref - required + slack or (
                required <= rtol * abs(f_ref) and f_new <= f_ref + slack):
            return eta, payload
        eta *= 0.5
    return None


def armijo_columns(trial, f_ref, slope, eta, *, c: float = 1e-4, slack=0.0,
                   floor: float = 1e-300, max_backtracks: int = 2000, rtol: float = 0.0,
                   start=None):
    """:func:`armijo` column by column for an (n, k) block: every column backtracks from its
    own ``eta`` and keeps the first step it accepts, with the test of :func:`armijo`.

    ``trial(η) -> (f, payload)`` takes and gives per-column arrays (``payload`` a tuple of
    arrays or tuples of arrays whose last axis is the columns); ``start`` is the payload
    returned for a column that accepts no step. Returns ``(η, payload, failed)``: ``failed``
    is a NumPy bool mask of the columns that found no step (non-finite slope or step, the
    floor, or ``max_backtracks`` halvings), whose payload is ``start``.
    """
    from .._linalg import device, to_host
    from ._tree import tmap

    xp = np if type(eta) is np.ndarray else namespace(eta)

    def host(a):
        return a if xp is np else to_host(a)

    def where(mask, a, b):
        m = mask if xp is np else xp.asarray(mask, device=device(b))
        return xp.where(m, a, b)

    bad = host(~(xp.isfinite(slope) & xp.isfinite(eta)))
    done = bad.copy()
    payload = start
    for _ in range(max_backtracks):
        below = host(~(eta >= floor)) & ~done
        if below.any():
            bad |= below
            done |= below
            if done.all():
                break
        f_new, new = trial(eta)
        required = -c * eta * slope
        ok = (f_new <= f_ref - required + slack) | (
            (required <= rtol * abs(f_ref)) & (f_new <= f_ref + slack))
        take = host(ok) & ~done
        if take.any():
            payload = new if payload is None else tuple(
                tmap(lambda a, b, m=take: where(m, a, b), n_, p_)
                for n_, p_ in zip(new, payload))
            done |= take
        if done.all():
            break
        eta = where(done, eta, 0.5 * eta)
    return eta, payload, ~done | bad
