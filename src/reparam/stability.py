"""Stability of reparametrized NNLS against negative perturbations of the ground truth.

Chou et al. (2025, "Get rid of your constraints and reparametrize: a study in NNLS and implicit
bias", arXiv 2207.08437, Sec. 5): let b = A(x₊ + e) with x₊ ≥ 0 sparse and e a small perturbation
with negative entries, so the data are not exactly explained by a non-negative vector close to
x₊. Gradient descent on x = u ⊙ u from a small initialization is implicitly biased towards the
minimum-ℓ1 non-negative interpolant, and under a null-space property of A its error obeys
``‖x̂ − x₊‖ ≲ ‖e‖`` — it grows at most linearly with the perturbation. An exact NNLS solver has
no such bias in the underdetermined case and can return any non-negative interpolant.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._result import Result
from .implicit_bias import _problem, l1_limit, limit
from .parametrizations import Power, as_vector

__all__ = ["negative_perturbation_error", "negative_perturbation_experiment",
           "perturbed_problem"]

_METHODS = ("reparam-gd", "limit", "nnls", "l1")


def _solve(A, b, method, depth, init_scale, step, tol, max_iter) -> Result:
    if method == "reparam-gd":
        import reparam  # the package's solver; imported lazily (it imports this module's peers)

        return reparam.nnls(A, b, method="reparam-gd", depth=depth, init_scale=init_scale,
                            step=step, tol=tol, max_iter=max_iter)
    if method == "limit":
        return limit(A, b, Power(depth), init_scale=init_scale)
    if method == "nnls":
        import reparam

        return reparam.nnls(A, b, method="active-set")
    if method == "l1":
        return l1_limit(A, b)
    raise ValueError(f"method must be one of {_METHODS}, got {method!r}")


def negative_perturbation_error(A, x_plus, e, *, method="reparam-gd", depth=2, init_scale=1e-3,
                                step="auto", tol=1e-8, max_iter=50_000) -> Result:
    """Solve NNLS for b = A(x₊ + e) and report ‖x̂ − x₊‖ against ‖e‖.

    Parameters
    ----------
    A : array_like, shape (m, n)
    x_plus : array_like, shape (n,)
        The non-negative ground truth x₊.
    e : array_like, shape (n,)
        The perturbation (typically small negative entries off the support of x₊).
    method : {"reparam-gd", "limit", "nnls", "l1"}
        ``"reparam-gd"``: gradient descent on u with x = u^depth (:func:`reparam.nnls`);
        ``"limit"``: its predicted gradient-flow limit; ``"nnls"``: an exact NNLS solution
        (SciPy's active set); ``"l1"``: minimum-ℓ1 non-negative interpolant (the α → 0 limit).
    depth, init_scale, step, tol, max_iter
        Options of the reparametrized solver.

    Returns
    -------
    Result
        The solver's result (``x``, ``status``, ``message``, certificate), with ``info``
        holding ``error`` = ‖x̂ − x₊‖₂, ``perturbation`` = ‖e‖₂, ``ratio`` = error /
        perturbation (inf when e = 0) and ``residual`` = ‖Ax̂ − b‖₂.

    Examples
    --------
    >>> import numpy as np
    >>> from reparam.stability import negative_perturbation_error, perturbed_problem
    >>> A, x_plus, e = perturbed_problem(20, 60, sparsity=3, level=1e-2, seed=0)
    >>> out = negative_perturbation_error(A, x_plus, e, method="limit", init_scale=1e-3)
    >>> out.success, bool(out.info["error"] < 10 * out.info["perturbation"])
    (True, True)
    """
    A = np.array(A, dtype=float)
    x_plus = as_vector(x_plus, "x_plus")
    e = as_vector(e, "e")
    if np.any(x_plus < 0):
        raise ValueError("x_plus must be non-negative")
    if e.shape != x_plus.shape:
        raise ValueError(f"e has shape {e.shape}, but x_plus has shape {x_plus.shape}")
    A, b = _problem(A, A @ (x_plus + e)) if A.ndim == 2 and A.shape[1] == x_plus.size else (
        _raise_shape(A, x_plus))
    res = _solve(A, b, method, depth, init_scale, step, tol, max_iter)
    x = res.x
    error = float(np.linalg.norm(x - x_plus))
    pert = float(np.linalg.norm(e))
    res.info.update(error=error, perturbation=pert,
                    ratio=error / pert if pert > 0 else np.inf,
                    residual=float(np.linalg.norm(A @ x - b)))
    return res


def _raise_shape(A, x_plus):
    raise ValueError(f"A has shape {A.shape}, but x_plus has length {x_plus.size}")


def perturbed_problem(m, n, *, sparsity=5, level=1e-2, n_negative=None, seed=0):
    """The paper's test problem with a negative perturbation.

    A has i.i.d. N(0, 1/m) entries; x₊ is ``sparsity``-sparse with |N(0, 1)| entries scaled to
    unit norm; e = −level·d where d ≥ 0 has unit norm and is supported on ``n_negative``
    coordinates off the support of x₊ (default: ``sparsity``), so ‖e‖ = level.

    Returns
    -------
    A : ndarray, shape (m, n)
    x_plus : ndarray, shape (n,)
    e : ndarray, shape (n,)
    """
    for name, v in (("m", m), ("n", n), ("sparsity", sparsity)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    n_negative = sparsity if n_negative is None else n_negative
    if isinstance(n_negative, bool) or not isinstance(n_negative, numbers.Integral) or (
            n_negative < 0):
        raise ValueError(f"n_negative must be a non-negative integer, got {n_negative!r}")
    if sparsity + n_negative > n:
        raise ValueError(f"sparsity + n_negative = {sparsity + n_negative} exceeds n = {n}")
    if isinstance(level, bool) or not (isinstance(level, numbers.Real) and np.isfinite(level)
                                       and level >= 0):
        raise ValueError(f"level must be a non-negative float, got {level!r}")
    if n_negative == 0 and level > 0:
        raise ValueError(f"n_negative=0 leaves no coordinate to perturb, so level must be 0, "
                         f"got {level!r}")
    rng = np.random.default_rng(seed)
    A = rng.normal(scale=1.0 / np.sqrt(m), size=(m, n))
    idx = rng.permutation(n)
    x_plus = np.zeros(n)
    x_plus[idx[:sparsity]] = np.abs(rng.normal(size=sparsity))
    x_plus /= np.linalg.norm(x_plus)
    d = np.zeros(n)
    d[idx[sparsity:sparsity + n_negative]] = np.abs(rng.normal(size=n_negative))
    if n_negative > 0:
        d /= np.linalg.norm(d)
    return A, x_plus, -float(level) * d


def negative_perturbation_experiment(m=50, n=200, *, sparsity=5, levels=None, n_negative=None,
                                     methods=("reparam-gd", "nnls", "l1"), init_scale=1e-3,
                                     depth=2, step="auto", tol=1e-8, max_iter=50_000,
                                     seed=0) -> dict:
    """Error ‖x̂ − x₊‖ of each method as the negative perturbation grows (one seeded problem).

    Parameters
    ----------
    m, n, sparsity, n_negative, seed
        The problem (:func:`perturbed_problem`); the perturbation direction is fixed, only its
        size changes.
    levels : sequence of float, optional
        Values of ‖e‖ (default ``0, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1``).
    methods : sequence of str
        Any of ``"reparam-gd"``, ``"limit"``, ``"nnls"``, ``"l1"``.
    init_scale, depth, step, tol, max_iter
        Options of the reparametrized solver.

    Returns
    -------
    dict of ndarray
        ``"perturbation"`` (the levels), ``"error_<method>"`` and ``"success_<method>"``
        (whether that solve met its certificate) for each method.

    Examples
    --------
    >>> from reparam.stability import negative_perturbation_experiment
    >>> table = negative_perturbation_experiment(20, 60, sparsity=3, levels=[1e-3, 1e-2],
    ...                                          methods=("limit", "l1"))
    >>> sorted(table)
    ['error_l1', 'error_limit', 'perturbation', 'success_l1', 'success_limit']
    """
    levels = np.array([0.0, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1] if levels is None else levels, float)
    if levels.ndim != 1 or np.any(levels < 0):
        raise ValueError("levels must be a 1-D sequence of non-negative numbers")
    for method in methods:
        if method not in _METHODS:
            raise ValueError(f"methods must be among {_METHODS}, got {method!r}")
    A, x_plus, direction = perturbed_problem(m, n, sparsity=sparsity, level=1.0,
                                             n_negative=n_negative, seed=seed)
    table = {"perturbation": levels}
    for method in methods:
        runs = [negative_perturbation_error(A, x_plus, level * direction, method=method,
                                            depth=depth, init_scale=init_scale, step=step,
                                            tol=tol, max_iter=max_iter) for level in levels]
        table[f"error_{method}"] = np.array([r.info["error"] for r in runs])
        table[f"success_{method}"] = np.array([r.success for r in runs])
    return table
