"""The shared machinery of the iterative solvers: gradient oracle and the thin driver loop.

A solver is a pair of pure functions ``init(oracle, opts) -> state`` and
``step(oracle, state, k, opts) -> state``; ``state`` is a dict that holds at least the point to
certify ``"x"``, its gradient ``"g"`` and objective ``"f"``. :func:`iterate` owns stopping on
the KKT residual, ``max_iter``, callbacks, recording, interrupts and non-finite values, so each
solver is only its update rule.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._linalg import Operator
from .._result import CTRL_C, Result, Status, column_norms, orthant_kkt, vector_norm


class Oracle:
    """Objective and gradient of ``f(x) = 0.5 ||A x - b||^2`` for one right-hand side.

    Dense ``A`` with ``n <= m`` works on the Gram matrix ``A^T A`` (``n^2`` flops a gradient
    instead of ``2 m n``) unless ``use_gram=False``, which keeps the objective free of the
    cancellation in ``x^T A^T A x - 2 b^T A x``; otherwise two products with ``A``. The
    gradient is affine in ``x``, which lets momentum methods combine gradients instead of
    recomputing them.
    """

    def __init__(
        self, op: Operator, b: np.ndarray, gram: np.ndarray | None = None, use_gram: bool = True,
        col_norms: np.ndarray | None = None,
    ):
        self.op = op
        self.b = b
        self.c = op.rmatvec(b)  # A^T b
        self.half_bb = 0.5 * float(b @ b)
        self.scale = float(vector_norm(b))  # ||b||_2, the certificate's normalizer
        m, n = op.shape
        if gram is None and use_gram and op.kind == "dense" and n <= m and n <= 8000:
            gram = op.todense_gram()
        self.gram = gram
        self.n = n
        self._col_norms = col_norms

    @property
    def col_norms(self) -> np.ndarray:
        """``||a_i||_2``, computed on first use: from the Gram diagonal when there is one,
        else by :func:`reparam._result.column_norms` (one pass over A; ``n`` products with
        A for a LinearOperator)."""
        if self._col_norms is None:
            sq = np.diagonal(self.gram) if self.gram is not None else None
            self._col_norms = column_norms(self.op, squares=sq)
        return self._col_norms

    @functools.cached_property
    def _zero_columns(self) -> np.ndarray | None:
        c = self.col_norms
        return None if c.all() else c == 0

    def grad(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """Return ``(g, f)`` at ``x``."""
        if self.gram is not None:
            g = self.gram @ x - self.c
            f = 0.5 * float(x @ (g - self.c)) + self.half_bb
            return g, max(f, 0.0)
        r = self.op.matvec(x) - self.b
        return self.op.rmatvec(r), 0.5 * float(r @ r)

    def kkt(self, x: np.ndarray, g: np.ndarray) -> float:
        """The NNLS certificate :func:`reparam._result.orthant_kkt` of ``(x, g)``.

        Entries of ``x`` on zero columns are left out: they do not change the objective or
        the gradient, and the returned answer sets them to 0.
        """
        if self._zero_columns is not None:
            x = np.where(self._zero_columns, 0.0, x)
        return float(orthant_kkt(x, g, self.col_norms, self.scale))

    def lipschitz(self) -> float:
        """``||A||_2^2``, the Lipschitz constant of the gradient."""
        return self.op.norm2() ** 2


@dataclass
class IterationState:
    """What a ``callback`` receives after every iteration. Return True from it to stop."""

    k: int
    x: np.ndarray
    objective: float
    kkt: float


_ADVICE = {
    "reparam-gd": "raise max_iter, use method='accelerated' or 'reparam-nesterov', "
    "or a larger init_scale",
    "riemannian-gd": "raise max_iter or use method='riemannian-bb'",
    "riemannian-bb": "raise max_iter or use method='accelerated'",
    "accelerated": "raise max_iter, or use method='active-set' for an exact answer",
    "reparam-nesterov": "raise max_iter, or use method='active-set' for an exact answer",
    "projected-gd": "raise max_iter or use method='fista'",
    "fista": "raise max_iter, or use method='active-set' for an exact answer",
}


def iterate(
    oracle: Oracle,
    init: Callable[[Oracle, dict], dict],
    step: Callable[[Oracle, dict, int, dict], dict],
    opts: dict,
    method: str,
    kkt: Callable[[np.ndarray, np.ndarray], float] | None = None,
) -> Result:
    """Run ``step`` until the KKT residual meets ``opts['tol']`` or ``opts['max_iter']`` passes.

    ``kkt(x, g)`` is the certificate (default: the NNLS one, :meth:`Oracle.kkt`; other
    constraint sets pass their own). Returns the first point that meets the tolerance;
    otherwise the iterate with the lowest objective seen, with a status that says why the loop
    ended. Ctrl-C returns that best iterate with ``Status.INTERRUPTED`` and
    ``info["ctrl_c"] = True`` (a stopping callback does not set it); it never raises for
    non-convergence. Steps must return new arrays (states are kept by reference); the
    parameters ``"u"`` of the returned point, where a method has them, go to ``info["u"]``.
    """
    tol, max_iter = opts["tol"], opts["max_iter"]
    callback, record = opts.get("callback"), opts.get("record", False)
    certify = kkt or oracle.kkt
    t0 = time.perf_counter()
    hist_f: list[float] = []
    hist_kkt: list[float] = []
    state = init(oracle, opts)
    res_kkt = certify(state["x"], state["g"])
    best, best_kkt = state, res_kkt
    if record:
        hist_f.append(state["f"])
        hist_kkt.append(res_kkt)
    status, k, detail, ctrl_c = Status.MAX_ITER, 0, "", False
    try:
        if res_kkt <= tol:
            status = Status.CONVERGED
        while status is not Status.CONVERGED and k < max_iter:
            k += 1
            # Overflow and invalid values end the loop as NUMERICAL_ERROR just below; NumPy's
            # warnings about them would only say it first, mid-run (the callback is not muted).
            with np.errstate(all="ignore"):
                state = step(oracle, state, k, opts)
            x, f = state["x"], state["f"]
            if not (np.isfinite(f) and np.all(np.isfinite(x))):
                status, detail = Status.NUMERICAL_ERROR, f"non-finite iterate at iteration {k}"
                break
            res_kkt = certify(x, state["g"])
            if record:
                hist_f.append(f)
                hist_kkt.append(res_kkt)
            if res_kkt <= tol:
                status, best, best_kkt = Status.CONVERGED, state, res_kkt
                break
            if f < best["f"] or (f == best["f"] and res_kkt < best_kkt):
                best, best_kkt = state, res_kkt
            if state.get("stalled"):
                status, detail = Status.STALLED, state["stalled"]
                break
            if callback is not None and callback(IterationState(k, x, f, res_kkt)):
                status, detail = Status.INTERRUPTED, f"stopped by the callback at iteration {k}"
                break
    except KeyboardInterrupt:
        status, detail = Status.INTERRUPTED, f"interrupted (Ctrl-C) at iteration {k}"
        ctrl_c = True  # the public entry re-raises it as reparam.Interrupted
    history = None
    if record:
        history = {"objective": np.asarray(hist_f), "kkt": np.asarray(hist_kkt)}
    res = Result(
        x=best["x"].copy(),
        status=status,
        message=_message(status, method, k, best_kkt, tol, detail),
        n_iter=k,
        objective=best["f"],
        kkt=best_kkt,
        complementarity=abs(float(best["x"] @ best["g"])),
        method=method,
        history=history,
        time=time.perf_counter() - t0,
        info={"u": best["u"].copy()} if "u" in best else {},
    )
    if ctrl_c:
        res.info[CTRL_C] = True
    return res


def _message(status: Status, method: str, k: int, kkt: float, tol: float, detail: str) -> str:
    advice = _ADVICE.get(method, "raise max_iter")
    if status is Status.CONVERGED:
        return f"converged: kkt {kkt:.2e} <= tol {tol:.0e} after {k} iterations"
    if status is Status.MAX_ITER:
        return (
            f"reached max_iter={k} with kkt {kkt:.2e} > tol {tol:.0e}; returning the best "
            f"iterate; try: {advice}"
        )
    if status is Status.NUMERICAL_ERROR:
        return f"{detail}; returning the best finite iterate (kkt {kkt:.2e}); try a smaller step"
    if status is Status.STALLED:
        return f"{detail}; kkt {kkt:.2e} > tol {tol:.0e}; try: {advice}"
    return f"{detail}; returning the best iterate so far (kkt {kkt:.2e})"


def decayed(step0: float, k: int, decay: float) -> float:
    """Step-size decay ``step_k = step0 / (k + 2)**decay`` (decay = 0: constant step)."""
    return step0 if decay == 0.0 else step0 / (k + 2) ** decay
