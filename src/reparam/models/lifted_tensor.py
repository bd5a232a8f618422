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
ends near a rank-1 tensor ``λ u^{⊗l}`` from which ``x x̂ᵀ = λ^{2/l} u uᵀ`` is read off.

The instance. Zhang, Sojoudi & Lavaei ("Sharp restricted isometry property bounds for low-rank
matrix recovery problems with corrupted measurements", JMLR 2019) show that ``δ < 1/2`` is the
sharp RIP bound for symmetric rank-1 sensing: below it there is no spurious local minimum, and
a 2 × 2 counterexample with ``δ = 1/2`` has one. We do not reproduce their operator from
memory; :func:`spurious_instance` builds our own 2 × 2 instance with the same structure and
verifies it numerically (:func:`critical_point_check`): with ``m(X) = (X₁₁, √2 X₁₂, X₂₂)``
(an isometry of the symmetric 2 × 2 matrices) and ``‖𝒜(X)‖² = m(X)ᵀ H m(X)``,

    H ∝ [[0.9, 0, 0.5], [0, 1.45, 0], [0.5, 0, 1]],   z = e₁ (M* = e₁e₁ᵀ),

the point ``x_s = (0, 1/√2)`` has zero gradient, a positive definite Hessian (eigenvalues
``0.15 c`` and ``2 c``, ``c`` the normalization) and ``f(x_s) > 0 = f(±e₁)``. The eigenvalues
of ``H`` (0.447, 1.45, 1.45 before normalization) give the RIP constant ``δ ≈ 0.53``, just
above the sharp 1/2 (at ``δ = 1/2`` exactly this family's Hessian becomes singular).

Claims checked (thresholds used by the tests and ``reparam reproduce``):

* the lifted run from a small random symmetric tensor ends with rank-1 energy fraction
  ``‖best rank-1 part‖² / ‖w‖² ≥`` :data:`RANK1_TOL` = 0.99, and the matrix read off is within
  :data:`RECOVERY_TOL` = 1e-3 (relative Frobenius) of ``M*``;
* from random starts around the spurious point (``x_s + 0.2·N(0, I)``, lifted:
  ``x_s^{⊗l} + 0.2·N``), the lifted gradient descent recovers ``M*`` in every run (fraction
  1), while plain factorized gradient descent — the control, order ``l = 1`` through the same
  criterion — stays stuck at ``x_s`` in a positive fraction of runs (both fractions reported).
  From small initializations and from ``N(0, I)`` starts the spurious basin is rarely met (the
  landscape is benign away from ``x_s``), which is why the starts are placed around it.

Examples
--------
>>> from reparam.models import lifted_tensor as T
>>> inst = T.spurious_instance()
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

import numpy as np

import reparam as rp

from ..objectives import MatrixSensing
from ..parametrizations import SymmetricProduct

__all__ = [
    "RANK1_TOL",
    "RECOVERY_TOL",
    "Instance",
    "LiftedRun",
    "critical_point_check",
    "fractions",
    "lift",
    "lifted_run",
        "rank1_part",
    "spurious_instance",
]

RANK1_TOL = 0.99
RECOVERY_TOL = 1e-3


@dataclass
class Instance:
    """Symmetric rank-1 sensing: ``ops`` (m, n, n) symmetric measurement matrices, truth ``z``,
    a spurious local minimizer ``spurious`` (or None) and the RIP constant ``delta``."""

    ops: np.ndarray
    z: np.ndarray
    spurious: np.ndarray | None
    delta: float

    @property
    def objective(self) -> MatrixSensing:
        return MatrixSensing(self.ops, np.einsum("kij,i,j->k", self.ops, self.z, self.z))

    def value(self, x) -> float:
        return self.objective.value(np.outer(x, x))


def spurious_instance() -> Instance:
    """The 2 × 2 instance with a verified spurious local minimum (see the module docstring)."""
    H = np.array([[0.9, 0.0, 0.5], [0.0, 1.45, 0.0], [0.5, 0.0, 1.0]])
    lam = np.linalg.eigvalsh(H)
    H = H * 2.0 / (lam[0] + lam[-1])  # eigenvalues in [1 − δ, 1 + δ]
    delta = float((lam[-1] - lam[0]) / (lam[-1] + lam[0]))
    R = np.linalg.cholesky(H).T  # ‖R m‖² = mᵀ H m
    basis = np.array([[[1.0, 0.0], [0.0, 0.0]],
                      [[0.0, 1.0], [1.0, 0.0]] / np.sqrt(2.0),
                      [[0.0, 0.0], [0.0, 1.0]]])  # ⟨basis_k, X⟩ = m(X)_k
    ops = np.einsum("ik,kab->iab", R, basis)
    return Instance(ops, np.array([1.0, 0.0]), np.array([0.0, np.sqrt(0.5)]), delta)


def critical_point_check(inst: Instance, x=None) -> dict:
    """Gradient norm, smallest Hessian eigenvalue and value of ``f`` at ``x`` (default: the
    instance's spurious point), in closed form: ``∇f = 2 S x`` and ``∇²f = 2 S + 4 Σ_i
    (A_i x)(A_i x)ᵀ`` with ``S = Σ_i r_i A_i``, ``r = 𝒜(x xᵀ) − y``."""
    x = inst.spurious if x is None else np.asarray(x, dtype=float)
    obj = inst.objective
    S = obj.grad(np.outer(x, x))
    Ax = inst.ops @ x  # (m, n)
    hess = 2.0 * S + 4.0 * Ax.T @ Ax
    return {"grad_norm": float(np.linalg.norm(2.0 * S @ x)),
            "hessian_min": float(np.linalg.eigvalsh(hess)[0]), "value": inst.value(x)}


def lift(inst: Instance, order: int) -> MatrixSensing:
    """The lifted objective ``½‖𝒜^{⊗l}(W) − y^{⊗l}‖²`` on ``n^l × n^l`` matrices ``W``."""
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
    from itertools import permutations

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
    ``x_read``, the engine's ``result`` and whether it ``finished`` (reached a stationary point
    before ``max_iter``)."""

    x_read: np.ndarray
    rank1_fraction: float
    error: float
    value: float
    result: object
    finished: bool = True


# a run stops once the gradient in the parameters is this small (a stationary point, spurious
# or not: the sensing certificate measures ∇f in X, which is not zero at a spurious point)
_STATIONARY = 1e-9


def _descend(obj, w0, step, max_iter):
    """Gradient descent on ``f(w wᵀ)`` from ``w0`` until the parameter gradient is below
    :data:`_STATIONARY`; returns ``(w, finished)``."""
    def stationary(state) -> bool:
        return bool(np.linalg.norm(obj.grad(state.x) @ state.params) * 2.0 <= _STATIONARY)

    res = rp.train(obj, SymmetricProduct(1), init_scale=1.0, params0=np.asarray(w0)[:, None],
                   step=step, max_iter=max_iter, tol=0.0, callback=stationary)
    return res.params[:, 0], res.status.name == "INTERRUPTED", res


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
    operator commutes with permutations of the tensor factors)."""
    n = inst.z.size
    if w0 is None:
        rng = np.random.default_rng(seed)
        w0 = _symmetrize(rng.standard_normal(n ** order), n, order)
        w0 *= init_scale / np.linalg.norm(w0)
    w, finished, res = _descend(lift(inst, order), w0, step, max_iter)
    x_read, fraction, error = _read_off(inst, w, order)
    return LiftedRun(x_read, fraction, error, inst.value(x_read), res, finished)


def fractions(inst: Instance, *, runs: int = 20, order: int = 3, spread: float = 0.2, seed=0,
              step: float = 0.1, max_iter: int = 20_000) -> dict:
    """Random starts around the spurious point: plain gradient descent from
    ``x_s + spread·N(0, I)``, lifted gradient descent from ``x_s^{⊗l} + spread·N`` (``N`` a
    symmetrized Gaussian tensor), each to a stationary point.

    Returns the fraction of plain runs that end stuck (``f > 1e-8`` at a stationary point),
    the fraction of lifted runs that recover ``M*`` (error ≤ :data:`RECOVERY_TOL`, rank-1
    fraction ≥ :data:`RANK1_TOL`), and the number of runs of either that stopped at
    ``max_iter`` before a stationary point (``unfinished``).
    """
    rng = np.random.default_rng(seed)
    n, xs = inst.z.size, inst.spurious
    plain_obj = inst.objective
    stuck = recovered = unfinished = 0
    ws = reduce(np.kron, [xs] * order)
    for _ in range(runs):
        x, done, _ = _descend(plain_obj, xs + spread * rng.standard_normal(n), step, max_iter)
        stuck += inst.value(x) > 1e-8
        unfinished += not done
        w0 = ws + spread * _symmetrize(rng.standard_normal(n ** order), n, order)
        lr = lifted_run(inst, order, w0=w0, step=step, max_iter=max_iter)
        recovered += lr.error <= RECOVERY_TOL and lr.rank1_fraction >= RANK1_TOL
        unfinished += not lr.finished
    return {"plain_stuck": stuck / runs, "lifted_recovered": recovered / runs,
            "unfinished": unfinished, "runs": runs, "order": order, "spread": spread}
