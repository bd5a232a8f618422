r"""Lifted tensor matrix sensing: spurious local minima become strict saddles.

Ma, Lavaei & Sojoudi, "Over-parametrization via lifting for low-rank matrix sensing: conversion
of spurious solutions to strict saddle points", ICML 2023. Symmetric rank-1 matrix sensing
``min_x f(x) = ½‖𝒜(x xᵀ) − y‖²`` (``y = 𝒜(z zᵀ)``) is lifted to order-``l`` tensors: the
variable is ``w ∈ (R^n)^{⊗l}`` (a vector of length ``n^l``) and the objective is matrix sensing
again, ``f_l(w) = ½‖𝒜^{⊗l}(w wᵀ) − y^{⊗l}‖²`` with the Kronecker power of the measurement
operator (measurement matrices ``A_{i_1} ⊗ ⋯ ⊗ A_{i_l}``). On rank-1 tensors ``w = x^{⊗l}``,
``w wᵀ = (x xᵀ)^{⊗l}`` and ``f_l(x^{⊗l}) = ½‖𝒜(x xᵀ)^{⊗l} − y^{⊗l}‖²``, so the global
minimizers ``±z^{⊗l}`` are kept; the paper shows that the lifting turns spurious local minima
of ``f`` into strict saddles of ``f_l``, and that gradient descent from a small initialization
ends near a rank-1 tensor ``λ u^{⊗l}`` from which ``x x̂ᵀ = |λ|^{2/l} u uᵀ`` is read off.

The instance. Zhang, Josz, Sojoudi & Lavaei ("How much restricted isometry is needed in
nonconvex matrix recovery?", NeurIPS 2018) give a 2 × 2 rank-1 counterexample with RIP constant
``1/2`` and a spurious point, and Zhang, Sojoudi & Lavaei ("Sharp restricted isometry bounds
for the inexistence of spurious local minima in nonconvex matrix recovery", JMLR 20(114), 2019)
prove that ``δ < 1/2`` excludes spurious second-order critical points, so ``1/2`` is sharp.
:func:`spurious_instance` builds a family in ``δ ∈ [1/2, 1)`` whose member at ``δ = 1/2`` is that
instance; the operator is derived here, not transcribed (``f`` depends on ``𝒜`` only through its
Gram operator, so any operator with the same Gram gives the same landscape). In the orthonormal
coordinates ``m(X) = (X₁₁, X₂₂, √2 X₁₂)`` of the symmetric 2 × 2 matrices,

    ‖𝒜(X)‖² = m(X)ᵀ H m(X),   H = 2(1 − δ) [[1, ½, 0], [½, 1, 0], [0, 0, η]],
    η = (1 + δ) / (2(1 − δ)),

so that the eigenvalues of ``H`` are ``1 − δ``, ``3(1 − δ)`` and ``1 + δ``: the RIP constant
over all symmetric 2 × 2 matrices (all of rank ≤ 2) is exactly ``δ``. The ground truth is
``z = e₁`` (``M* = e₁e₁ᵀ``), the spurious point ``x_s = (0, 1/√2)`` for every ``δ``: its
gradient is zero, its Hessian is ``2(1 − δ)·diag(η − 3/2, 2)`` and
``f(x_s) = ¾(1 − δ) = ¾ f(0) > 0 = f(±e₁)``.

Why the member at ``δ = 1/2`` is *the* instance: with ``x = (0, a)`` the gradient vanishes iff
``H m(x xᵀ − e₁e₁ᵀ)`` is a multiple of ``e₁``, and with ``H`` block diagonal the Hessian is
positive semi-definite iff ``h₁₂ h₃₃ ≥ λ₁λ₂`` (``λ₁ ≤ λ₂`` the eigenvalues of the upper 2 × 2
block); under ``cond(H) ≤ 3`` (that is ``δ ≤ 1/2``) this forces ``H ∝ [[2, 1, 0], [1, 2, 0],
[0, 0, 3]]`` and ``a² = 1/2``. A constrained search over all ``(H, x)`` — any ``H`` with
``cond(H) ≤ 3``, any ``x`` with ``‖x xᵀ − e₁e₁ᵀ‖_F ≥ 0.1``, gradient zero, Hessian positive
semi-definite; sequential quadratic programming from random starts, maximizing the distance to
that ``H`` — found no other one. So up to scale and the reflection ``e₂ ↦ −e₂`` it is the only
2 × 2 rank-1 operator with RIP constant ``≤ 1/2`` and a spurious second-order critical point,
and for any ``n`` the restriction to ``span(x, z)`` reduces to it.

* At ``δ = 1/2`` exactly (``η = 3/2``) the Hessian at ``x_s`` is singular: ``x_s`` is a
  spurious second-order critical point (what the sharp bound is about) but not a local minimum
  — along ``(t, √(½ − 2t²))`` the value drops by ``(3/2) t⁴``. With the uniqueness above, no
  rank-1 instance with RIP constant exactly ``1/2`` has a spurious local minimum in the strict
  sense: gradient descent escapes ``x_s`` (slowly), and from random starts it is not stuck there.
* For ``δ > 1/2`` the Hessian is positive definite: a strict spurious local minimum, whose basin
  grows with ``δ``. The claim that plain gradient descent gets stuck is checked at
  :data:`RUN_DELTA` ``= 0.55``, slightly above the sharp bound.

Claims checked (thresholds fixed here, used by the tests and ``reparam reproduce``):

* from a small random symmetric tensor, lifted gradient descent ends with rank-1 energy
  fraction ``‖best rank-1 part‖² / ‖w‖² ≥`` :data:`RANK1_TOL` ``= 0.99`` and the matrix read
  off is within :data:`RECOVERY_TOL` ``= 1e-3`` (relative Frobenius) of ``M*``;
* from :data:`STARTS` ``= 50`` random starts on the ``δ = 0.55`` instance — plain
  ``x₀ = G/√n``, ``G ~ N(0, I_n)``, and lifted ``w₀ = P_sym(G_l)/√dim Sym``, ``G_l`` standard
  Gaussian in ``R^{n^l}`` projected on the symmetric tensors, both with
  ``E‖start‖² = 1 = ‖truth‖²``, and the plain starts lifted, ``x₀^{⊗l}`` — plain factorized
  gradient descent ends stuck at ``x_s`` in a fraction ``≥`` :data:`PLAIN_STUCK_MIN` ``= 0.1``
  of the runs, while the order-3 lifted gradient descent recovers ``M*`` (error ≤
  :data:`RECOVERY_TOL`, rank-1 fraction ≥ :data:`RANK1_TOL`) in a fraction ``≥``
  :data:`LIFTED_GLOBAL_MIN` ``= 0.9`` from either kind of start. Order 1 (no lifting) through
  the same criterion is the control;
* on the ``δ = 1/2`` instance, from the same kind of random starts, the order-3 lifted gradient
  descent recovers ``M*`` in a fraction ``≥`` :data:`LIFTED_GLOBAL_MIN` too (the plain stuck
  fraction there is reported, not required: ``x_s`` is not a local minimum).

Examples
--------
>>> from reparam.models import lifted_tensor as T
>>> T.spurious_instance().delta                        # the sharp instance, δ = 1/2
0.5
>>> inst = T.spurious_instance(T.RUN_DELTA)            # δ = 0.55
>>> round(T.rip_constant(inst.ops)[0], 12)
0.55
>>> check = T.critical_point_check(inst)
>>> bool(check["grad_norm"] < 1e-12 and check["hessian_min"] > 0 and check["value"] > 0)
True
>>> run = T.lifted_run(inst, order=3, seed=0)
>>> bool(run.rank1_fraction >= T.RANK1_TOL and run.error <= T.RECOVERY_TOL)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from itertools import permutations
from math import comb

import numpy as np

import reparam as rp

from ..objectives import MatrixSensing
from ..parametrizations import SymmetricProduct

__all__ = [
    "LIFTED_GLOBAL_MIN",
    "PLAIN_STUCK_MIN",
    "RANK1_TOL",
    "RECOVERY_TOL",
    "RUN_DELTA",
    "SHARP_DELTA",
    "STARTS",
    "VALUE_TOL",
    "Instance",
    "LiftedRun",
    "Starts",
    "critical_point_check",
    "lift",
    "lifted_run",
    "random_starts",
    "rank1_part",
    "rip_constant",
    "spurious_instance",
]

RANK1_TOL = 0.99
RECOVERY_TOL = 1e-3
SHARP_DELTA = 0.5
RUN_DELTA = 0.55
STARTS = 50
# thresholds of the random-start claim, fixed before any run: the lifted runs must recover M*
# from at least 90% of the starts, the plain runs must be stuck in at least 10% of them
LIFTED_GLOBAL_MIN = 0.9
PLAIN_STUCK_MIN = 0.1
# a plain run ending at f / f(0) above this is stuck (the global value is 0)
VALUE_TOL = 1e-8


@dataclass
class Instance:
    """Symmetric rank-1 sensing: ``ops`` (m, n, n) symmetric measurement matrices, truth ``z``,
    a spurious second-order critical point ``spurious`` (or None) and the RIP constant
    ``delta``."""

    ops: np.ndarray
    z: np.ndarray
    spurious: np.ndarray | None
    delta: float

    @property
    def objective(self) -> MatrixSensing:
        return MatrixSensing(self.ops, np.einsum("kij,i,j->k", self.ops, self.z, self.z))

    def value(self, x) -> float:
        return self.objective.value(np.outer(x, x))


def spurious_instance(delta: float = SHARP_DELTA) -> Instance:
    """The 2 × 2 rank-1 instance with RIP constant ``delta`` and a spurious critical point.

    Zhang, Sojoudi & Lavaei (JMLR 2019) show that ``δ = 1/2`` is the sharp RIP bound for
    rank-1 sensing; the default, ``delta = 0.5``, is the instance with RIP constant ``1/2`` and a
    spurious second-order critical point of Zhang, Josz, Sojoudi & Lavaei (NeurIPS 2018), the
    only one up to scale and symmetry (module docstring). This is the family of the module
    docstring: ``z = e₁``, spurious point
    ``x_s = (0, 1/√2)``, measurements ::

        A₁ = s (√3/2) I,   A₂ = s (½) diag(1, −1),   A₃ = s √(η/2) (e₁e₂ᵀ + e₂e₁ᵀ),

    ``s = √(2(1 − δ))``, ``η = (1 + δ)/(2(1 − δ))``, so that the Gram operator on symmetric
    matrices has eigenvalues ``1 − δ``, ``3(1 − δ)``, ``1 + δ``. At ``delta = 0.5`` the point
    ``x_s`` is a degenerate second-order critical point (Hessian eigenvalues 0 and 2, not a
    local minimum); above, a strict local minimum (the runs of the stuck claim use
    :data:`RUN_DELTA` ``= 0.55``).

    Parameters
    ----------
    delta : float
        The RIP constant, in ``[0.5, 1)``; default :data:`SHARP_DELTA` (0.5).

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.models.lifted_tensor import critical_point_check, spurious_instance
    >>> inst = spurious_instance()
    >>> inst.delta, inst.spurious, round(inst.value(inst.spurious), 12), inst.value(inst.z)
    (0.5, array([0.        , 0.70710678]), 0.375, 0.0)
    >>> np.round(critical_point_check(inst)["hessian"], 12) + 0.0   # singular: not strict
    array([0., 2.])
    """
    if isinstance(delta, bool) or not isinstance(delta, (int, float, np.floating)):
        raise TypeError(f"delta must be a float, got {type(delta).__name__}")
    delta = float(delta)
    if not SHARP_DELTA <= delta < 1.0:
        raise ValueError(f"delta must be in [0.5, 1) (below 1/2 there is no spurious point); "
                         f"got {delta}")
    eta = (1.0 + delta) / (2.0 * (1.0 - delta))
    s = np.sqrt(2.0 * (1.0 - delta))
    ops = s * np.array([np.sqrt(3.0) / 2.0 * np.eye(2),
                        0.5 * np.diag([1.0, -1.0]),
                        np.sqrt(eta / 2.0) * np.array([[0.0, 1.0], [1.0, 0.0]])])
    return Instance(ops, np.array([1.0, 0.0]), np.array([0.0, np.sqrt(0.5)]), delta)


def rip_constant(ops) -> tuple[float, np.ndarray]:
    """``(δ, eigenvalues)``: the RIP constant of the operator ``X ↦ (⟨A_i, X⟩)_i`` over all
    symmetric ``n × n`` matrices, ``δ = max |λ − 1|`` over the eigenvalues ``λ`` of its Gram
    matrix in an orthonormal basis (``E_ii``, ``(E_ij + E_ji)/√2``), so that
    ``(1 − δ)‖X‖²_F ≤ ‖𝒜(X)‖² ≤ (1 + δ)‖X‖²_F``.

    For ``n = 2`` every symmetric matrix has rank ≤ 2, so this is the RIP constant on rank-2
    matrices that the rank-1 theory uses; for larger ``n`` it is an upper bound of it.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.models.lifted_tensor import rip_constant
    >>> delta, lam = rip_constant(np.array([np.diag([1.0, 0.0]), np.diag([0.0, 1.0]),
    ...                                     np.array([[0.0, 0.5], [0.5, 0.0]])]))
    >>> round(delta, 12), np.round(lam, 12)
    (0.5, array([0.5, 1. , 1. ]))
    """
    ops = np.asarray(ops, dtype=float)
    if ops.ndim != 3 or ops.shape[1] != ops.shape[2]:
        raise ValueError(f"ops must have shape (m, n, n); got {ops.shape}")
    n = ops.shape[1]
    basis = []
    for i in range(n):
        for j in range(i, n):
            B = np.zeros((n, n))
            B[i, j] = B[j, i] = 1.0 if i == j else np.sqrt(0.5)
            basis.append(B)
    coords = np.einsum("kab,jab->kj", ops, np.array(basis))  # 𝒜 in the orthonormal basis
    lam = np.linalg.eigvalsh(coords.T @ coords)
    return float(np.max(np.abs(lam - 1.0))), lam


def critical_point_check(inst: Instance, x=None, order: int = 1) -> dict:
    """Gradient norm, Hessian eigenvalues (``hessian``, ``hessian_min``) and value of ``f`` at
    ``x`` (default: the instance's spurious point), in closed form: ``∇f = 2 S x`` and
    ``∇²f = 2 S + 4 Σ_i (A_i x)(A_i x)ᵀ`` with ``S = Σ_i r_i A_i``, ``r = 𝒜(x xᵀ) − y``.

    With ``order = l > 1`` the same for the lifted ``f_l`` at ``x^{⊗l}`` (``x`` of length
    ``n``), the Hessian restricted to the symmetric tensors — the space gradient descent on
    ``f_l`` moves in. A negative ``hessian_min`` there makes ``x^{⊗l}`` a strict saddle of the
    lifted problem, the conversion Ma, Lavaei & Sojoudi (2023) prove.

    Examples
    --------
    >>> from reparam.models.lifted_tensor import critical_point_check, spurious_instance
    >>> inst = spurious_instance()
    >>> plain, lifted = critical_point_check(inst), critical_point_check(inst, order=3)
    >>> bool(plain["hessian_min"] > 0 > lifted["hessian_min"] and lifted["grad_norm"] < 1e-12)
    True
    """
    x = inst.spurious if x is None else np.asarray(x, dtype=float)
    obj = inst.objective if order == 1 else lift(inst, order)
    n = x.size
    w = reduce(np.kron, [x] * order)
    S = obj.grad(np.outer(w, w))
    Aw = np.stack([obj.adjoint(e) for e in np.eye(obj.y.size)]) @ w  # rows A_i w: (m, n^l)
    hess = 2.0 * S + 4.0 * Aw.T @ Aw
    if order > 1:  # an orthonormal basis of the symmetric tensors: the range of P_sym
        P = np.stack([_symmetrize(e, n, order) for e in np.eye(w.size)])
        lam, vec = np.linalg.eigh(P)
        basis = vec[:, lam > 0.5]
        hess = basis.T @ hess @ basis
    hess = np.linalg.eigvalsh(hess)
    return {"grad_norm": float(np.linalg.norm(2.0 * S @ w)), "hessian": hess,
            "hessian_min": float(hess[0]), "value": obj.value(np.outer(w, w))}


def lift(inst: Instance, order: int) -> MatrixSensing:
    """The lifted objective ``½‖𝒜^{⊗l}(W) − y^{⊗l}‖²`` on ``n^l × n^l`` matrices ``W``."""
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)):
        raise TypeError(f"order must be an integer, got {type(order).__name__}")
    if order < 1:
        raise ValueError(f"order must be >= 1; got {order}")
    ops = inst.ops
    m = ops.shape[0]
    lifted = [reduce(np.kron, (ops[i] for i in idx))
              for idx in np.ndindex(*(m,) * order)]
    y = inst.objective.y
    return MatrixSensing(np.stack(lifted), reduce(np.kron, [y] * order))


def _symmetrize(w, n, order):
    t = w.reshape((n,) * order)
    perms = list(permutations(range(order)))
    return sum(np.transpose(t, p) for p in perms).reshape(-1) / len(perms)


def rank1_part(w, n: int, order: int) -> tuple[float, np.ndarray]:
    """``(λ, u)`` of the best symmetric rank-1 approximation ``λ u^{⊗l}`` of the tensor ``w``,
    by the higher-order power method (De Lathauwer, De Moor & Vandewalle, SIAM J. Matrix Anal.
    Appl. 2000) from the leading left singular vector of the unfolding."""
    t = np.asarray(w, dtype=float).reshape((n,) * order)
    if order == 1:
        lam = float(np.linalg.norm(t))
        return lam, t / max(lam, np.finfo(float).tiny)
    u = np.linalg.svd(t.reshape(n, -1))[0][:, 0]
    for _ in range(500):
        v = t
        for _ in range(order - 1):
            v = v @ u
        new = v / max(np.linalg.norm(v), np.finfo(float).tiny)
        if np.linalg.norm(new - u) < 1e-14:
            u = new
            break
        u = new
    lam = t
    for _ in range(order):
        lam = lam @ u
    return float(lam), u


@dataclass
class LiftedRun:
    """A lifted gradient-descent run: ``x_read`` (so that ``x_read x_readᵀ`` is the matrix read
    off), ``rank1_fraction``, ``error`` (relative to ``M*``), ``value`` of the original ``f`` at
    ``x_read``, the engine's ``result`` (of the last phase of the step, see ``_descend``),
    whether it ``finished`` (reached a stationary point before ``max_iter``) and ``n_iter``, its
    iterations in all."""

    x_read: np.ndarray
    rank1_fraction: float
    error: float
    value: float
    result: object
    finished: bool = True
    n_iter: int = 0

    @property
    def recovered(self) -> bool:
        """Finished, rank-1 fraction ≥ :data:`RANK1_TOL` and error ≤ :data:`RECOVERY_TOL`."""
        return bool(self.finished and self.rank1_fraction >= RANK1_TOL
                    and self.error <= RECOVERY_TOL)


# a run stops once the gradient in the parameters is this small (a stationary point, spurious
# or not: the sensing certificate measures ∇f in X, which is not zero at a spurious point)
_STATIONARY = 1e-9


def _descend(obj, w0, step, max_iter):
    """Gradient descent on ``f(w wᵀ)`` from ``w0`` until the parameter gradient is below
    :data:`_STATIONARY`; returns ``(w, finished, result, n_iter)``.

    The curvature in ``w`` grows like ``‖w‖²``, so the step is ``step / max(1, ‖w‖²)`` with
    ``‖w‖`` the norm where the current phase began; a phase that started outside the unit ball
    ends once ``‖w‖²`` has halved (or fallen to 1), and the next one continues from there with
    the larger step. Without the refresh a far start (``‖w₀‖² ≈ 60`` for a lifted start
    ``x₀^{⊗3}`` with ``‖x₀‖ ≈ 2``) would crawl to the minimum with its first, tiny step.
    """
    w = np.asarray(w0, dtype=float).copy()
    n_iter = 0
    while True:
        scale = max(1.0, float(w @ w))
        shrunk = []

        def stop(state, scale=scale, shrunk=shrunk) -> bool:
            if state.k % 10:  # the parameter gradient costs another gradient: look now and then
                return False
            p = state.params
            if scale > 1.0 and float(np.vdot(p, p)) <= max(1.0, scale / 2.0):
                shrunk.append(True)
                return True
            return bool(np.linalg.norm(obj.grad(state.x) @ p) * 2.0 <= _STATIONARY)

        res = rp.train(obj, SymmetricProduct(1), init_scale=1.0, params0=w[:, None],
                       step=step / scale, max_iter=max_iter - n_iter, tol=0.0, callback=stop)
        n_iter += int(res.n_iter)
        w = np.asarray(res.params)[:, 0].copy()
        if not shrunk or n_iter >= max_iter:
            break
    return w, bool(res.status is rp.Status.INTERRUPTED and not shrunk), res, n_iter


def _read_off(inst, w, order):
    n = inst.z.size
    lam, u = rank1_part(w, n, order)
    fraction = lam ** 2 / max(float(w @ w), np.finfo(float).tiny)
    x_read = np.abs(lam) ** (1.0 / order) * u
    M = np.outer(inst.z, inst.z)
    error = float(np.linalg.norm(np.outer(x_read, x_read) - M) / np.linalg.norm(M))
    return x_read, float(fraction), error


def lifted_run(inst: Instance, order: int = 3, *, init_scale: float = 1e-3, step: float = 0.1,
               max_iter: int = 20_000, seed=0, w0=None) -> LiftedRun:
    """Gradient descent on the lifted problem from a small random symmetric tensor of norm
    ``init_scale`` (or from ``w0``), by :func:`reparam.train` with
    :class:`~reparam.parametrizations.SymmetricProduct` (width 1) on the lifted sensing
    objective, until a stationary point. Gradient descent keeps ``w`` symmetric (the lifted
    operator commutes with permutations of the tensor factors). ``order = 1`` is plain
    factorized gradient descent."""
    n = inst.z.size
    if w0 is None:
        rng = np.random.default_rng(seed)
        w0 = _symmetrize(rng.standard_normal(n ** order), n, order)
        w0 *= init_scale / np.linalg.norm(w0)
    return _lifted_from(inst, lift(inst, order), order, w0, step, max_iter)


def _lifted_from(inst, lifted_obj, order, w0, step, max_iter) -> LiftedRun:
    w, finished, res, n_iter = _descend(lifted_obj, w0, step, max_iter)
    x_read, fraction, error = _read_off(inst, w, order)
    return LiftedRun(x_read, fraction, error, inst.value(x_read), res, finished, n_iter)


@dataclass
class Starts:
    """What :func:`random_starts` found, one entry per start.

    ``plain_values``: ``f(x_T) / f(0)`` of plain gradient descent (``plain_start_values``: the
    same at its start ``x₀``); ``plain_stuck``: it ended at a stationary point with
    ``f / f(0) > VALUE_TOL``; ``lifted_gaussian`` and ``lifted_power``: the order-``l`` run
    recovered ``M*`` (:attr:`LiftedRun.recovered`) from a Gaussian symmetric tensor and from the
    plain start lifted, ``x₀^{⊗l}``; ``plain_recovered``: the plain run judged by that same
    criterion (it is the order-1 lifted run from ``x₀``, the control); ``unfinished``: runs of
    any kind stopped at ``max_iter`` before a stationary point, ``plain_unfinished`` the plain
    ones among them (neither stuck nor recovered: still moving, e.g. escaping slowly from the
    degenerate critical point of the ``δ = 1/2`` instance).
    """

    plain_values: np.ndarray
    plain_stuck: np.ndarray
    plain_recovered: np.ndarray
    plain_start_values: np.ndarray
    lifted_gaussian: np.ndarray
    lifted_power: np.ndarray
    unfinished: int
    order: int
    delta: float
    plain_unfinished: int = 0

    @property
    def stuck_fraction(self) -> float:
        return float(np.mean(self.plain_stuck))

    @property
    def lifted_fraction(self) -> float:
        """The smaller of the two lifted recovery fractions."""
        return float(min(np.mean(self.lifted_gaussian), np.mean(self.lifted_power)))


def random_starts(inst: Instance, order: int = 3, *, starts: int = STARTS, seed=0,
                  step: float = 0.1, max_iter: int = 20_000, lifted: bool = True) -> Starts:
    """Plain and lifted gradient descent from the same seeded random starts.

    Start ``i`` draws ``G ~ N(0, I_n)`` and ``G_l ~ N(0, I_{n^l})``; plain gradient descent
    starts at ``x₀ = G/√n``, the lifted one at ``P_sym(G_l)/√dim Sym`` (``P_sym`` the orthogonal
    projection on the symmetric tensors, of dimension ``C(n + l − 1, l)``) and at ``x₀^{⊗l}``:
    every start has ``E‖·‖² = 1``, the squared norm of the truth ``z = e₁`` and of ``z^{⊗l}``.
    Each run is gradient descent with step ``step / max(1, ‖w‖²)`` (``‖w‖`` refreshed each
    time the squared norm halves) to a stationary point (parameter gradient ≤ 1e-9) or
    ``max_iter`` iterations. ``lifted=False`` runs the plain starts only
    (the lifted entries are then empty).
    """
    if isinstance(starts, bool) or not isinstance(starts, (int, np.integer)) or starts < 1:
        raise ValueError(f"starts must be an integer >= 1; got {starts!r}")
    n = inst.z.size
    lifted_obj = lift(inst, order)
    # two streams, so that the plain starts do not depend on the order of the lifting
    plain_rng, lifted_rng = (np.random.default_rng(s)
                             for s in np.random.SeedSequence(seed).spawn(2))
    plain_obj = inst.objective
    f0 = 0.5 * plain_obj.rhs_norm ** 2
    values, stuck, plain_ok = np.zeros(starts), np.zeros(starts, bool), np.zeros(starts, bool)
    start_values = np.zeros(starts)
    gauss, power = [], []
    unfinished = plain_unfinished = 0
    dim_sym = comb(n + order - 1, order)
    for i in range(starts):
        x0 = plain_rng.standard_normal(n) / np.sqrt(n)
        g_l = lifted_rng.standard_normal(n ** order)
        start_values[i] = inst.value(x0) / f0
        x, done, res, n_iter = _descend(plain_obj, x0, step, max_iter)
        values[i] = inst.value(x) / f0
        stuck[i] = done and values[i] > VALUE_TOL
        plain_ok[i] = LiftedRun(*_read_off(inst, x, 1), values[i], res, done, n_iter).recovered
        unfinished += not done
        plain_unfinished += not done
        if not lifted:
            continue
        for w0, out in ((_symmetrize(g_l, n, order) / np.sqrt(dim_sym), gauss),
                        (reduce(np.kron, [x0] * order), power)):
            run = _lifted_from(inst, lifted_obj, order, w0, step, max_iter)
            out.append(run.recovered)
            unfinished += not run.finished
    return Starts(values, stuck, plain_ok, start_values, np.array(gauss, bool),
                  np.array(power, bool), unfinished, int(order), inst.delta, plain_unfinished)
