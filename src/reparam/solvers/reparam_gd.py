"""Gradient descent, plain and with momentum, on ``u`` for the reparametrization ``x = u**L``.

Chou, Maly, Verdun, Freitas Paulo da Costa, Mirandola, "Get rid of your constraints and
reparametrize: a study in NNLS and implicit bias", AISTATS 2025 (arXiv:2207.08437).
Writing ``x = u^{⊙L}`` removes the constraint ``x >= 0``; ``h(u) = f(u^L)`` is minimized
without constraint. Here ``L`` is the public ``depth``, ``α`` the public ``init_scale``.

Step convention: ``reparam-gd`` takes ``u ← u − step·L·u^{L−1} ⊙ g`` (``g = Aᵀ(Ax − b)``),
whose first order in ``x`` is ``x ← x − step·L²·x^{2−2/L} ⊙ g``. The authors' scripts write
their Riemannian GD as ``x ← x − L·η·x^{2−2/L} ⊙ g`` (u-GD with the objective ½‖Ax − b‖²
and a step η/L in u), so their ``η`` is our ``step = η / L``, for this method and for
``riemannian-gd`` alike; ``decay = γ`` gives their ``η/(t+2)^γ`` in the same way.
"""

from __future__ import annotations

import numpy as np

from ._loop import Oracle, decayed


def initial_u(oracle: Oracle, opts: dict) -> np.ndarray:
    """``u0 = α·1`` (``x0 = α^L``), or ``u0 = x0^{1/L}`` with entries below ``α^L`` raised to it.

    Zero entries of a warm start would stay zero forever (``u = 0`` is a fixed point of the
    flow), so they start at the initial scale instead.
    """
    depth, alpha = opts["depth"], opts["init_scale"]
    if opts.get("x0") is None:
        return np.full(oracle.n, alpha)
    return np.maximum(opts["x0"], alpha**depth) ** (1.0 / depth)


def auto_step(oracle: Oracle, u: np.ndarray, g: np.ndarray, depth: int) -> float:
    """A step below ``1 / Lip`` of ``h(u) = f(u^L)`` near ``u``.

    The Hessian of ``h`` is ``J G J + diag(L (L-1) u^{L-2} g)`` with ``J = diag(L u^{L-1})``,
    so its norm is at most ``L² max(u)^{2L-2} ||A||² + L (L-1) max|u^{L-2} g|``. The second
    term is doubled so that ``|L η u^{L-2} g| <= 1/2``: one step changes each ``u_i`` by at most
    half, which keeps ``u > 0`` (for depth 2, ``u ← u (1 - 2 η g)``).
    """
    L = depth
    umax = float(np.max(np.abs(u)))
    curv = L * L * umax ** (2 * L - 2) * oracle.lipschitz()
    curv += 2.0 * L * (L - 1) * float(np.max(np.abs(u ** (L - 2) * g)))
    return 1.0 / curv if curv > 0 else 1.0


def _step_size(oracle: Oracle, u: np.ndarray, g: np.ndarray, k: int, opts: dict) -> float:
    base = opts["step"]
    if base == "auto":
        base = auto_step(oracle, u, g, opts["depth"])
    return decayed(base, k - 1, opts["decay"])


def gd_init(oracle: Oracle, opts: dict) -> dict:
    u = initial_u(oracle, opts)
    x = u ** opts["depth"]
    g, f = oracle.grad(x)
    return {"u": u, "x": x, "g": g, "f": f}


def gd_step(oracle: Oracle, state: dict, k: int, opts: dict) -> dict:
    r"""One step of ``reparam-gd``.

    ``u_{k+1} = u_k - η_k L u_k^{L-1} ⊙ ∇f(u_k^L)`` with ``η_k = η / (k + 2)^γ``
    (arXiv:2207.08437, Sec. 3: gradient descent on the reparametrized objective with step
    decay; ``γ = decay``).
    """
    L = opts["depth"]
    u, g = state["u"], state["g"]
    eta = _step_size(oracle, u, g, k, opts)
    u = u - eta * L * u ** (L - 1) * g
    x = u**L
    g, f = oracle.grad(x)
    return {"u": u, "x": x, "g": g, "f": f}


def nesterov_init(oracle: Oracle, opts: dict) -> dict:
    state = gd_init(oracle, opts)
    state.update(u_prev=state["u"], j=0)
    return state


# Extrapolated points are kept at least this fraction of the current u, so u stays positive
# (x = u^L must stay in the orthant also for odd depth).
_KEEP = 0.5


def nesterov_step(oracle: Oracle, state: dict, k: int, opts: dict) -> dict:
    r"""One step of ``reparam-nesterov``: Nesterov momentum on ``u`` with adaptive restart.

    ``v = u_k + β_j (u_k - u_{k-1})`` with ``β_j = (j - 1) / (j + 2)`` (``j`` counts steps
    since the last restart), clipped to ``v >= u_k / 2``; ``u_{k+1} = v - η ∇h(v)``. The
    point certified and returned is ``x = v^L``, where the gradient is known. Restart
    (``j = 0``) when ``⟨∇h(v), u_{k+1} - u_k⟩ > 0`` — the gradient scheme of O'Donoghue &
    Candès, "Adaptive restart for accelerated gradient schemes" (2015).
    """
    L = opts["depth"]
    u, u_prev, j = state["u"], state["u_prev"], state["j"] + 1
    beta = (j - 1) / (j + 2)
    v = u + beta * (u - u_prev)
    v = np.where(v < _KEEP * u, u, v)
    xv = v**L
    gv, fv = oracle.grad(xv)
    grad_u = L * v ** (L - 1) * gv
    eta = _step_size(oracle, v, gv, k, opts)
    u_next = v - eta * grad_u
    if opts["restart"] and float(grad_u @ (u_next - u)) > 0:
        j = 0
    return {"u": u_next, "u_prev": u, "j": j, "x": xv, "g": gv, "f": fv}
