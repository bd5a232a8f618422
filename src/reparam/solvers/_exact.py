"""Adapters from the exact kernels (our active-set method, SciPy's Lawson–Hanson) to Result."""

from __future__ import annotations

import time
import warnings

import numpy as np
import scipy  # scipy.optimize loads on first use (a lazy SciPy submodule): 0.2 s at import

from .._result import CTRL_C, Result, Status, times_pow2
from .._validation import Problem


def _dense(problem: Problem, method: str) -> np.ndarray:
    op = problem.op
    if op.kind == "dense":
        return op.A
    if op.kind == "sparse":
        m, n = op.shape
        if m * n > 50_000_000:
            raise ValueError(
                f"method {method!r} needs a dense matrix, and A ({m} x {n}, sparse) is too "
                "large to densify; use method='accelerated' or 'auto'"
            )
        return op.A.toarray()
    raise ValueError(
        f"method {method!r} needs an explicit matrix; A is a LinearOperator. "
        "Use method='accelerated' or 'auto'"
    )


# Column norms within this factor of one another leave A as it is: the kernel's relative tests
# then mean what they mean on equilibrated columns up to this factor, and the copy of A that
# equilibration makes (1.1 ms of a 10 ms solve at 1000 x 500) is saved.
_TAME_SPREAD = 4.0


def equilibrate(A: np.ndarray, col_norms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Columns of ``A`` scaled to norms in [1/2, 1) by powers of two: ``(A D^{-1}, d, live)``.

    ``d_i = 2^e_i`` with ``||a_i|| = f 2^e_i``, ``f`` in [1/2, 1), so the scaling and its undoing
    (``x = D^{-1} x_s``) are exact in binary floating point. ``live`` marks the non-zero
    columns; the zero ones are dropped from ``A D^{-1}`` (their ``x_i`` is 0). One pass over A.

    What it protects against: columns whose norms differ by orders of magnitude, which the
    kernel's tests (relative to the largest Gram diagonal and to ``||A^T b||_inf``) would
    misjudge, e.g. a column 1e18 times smaller than another taken for a dependent one. When
    every column is non-zero and the norms are within ``_TAME_SPREAD`` of one another, no such
    column exists: a float64 ``A`` is returned itself (no copy) with ``d = 1``.
    """
    live = col_norms > 0
    if (A.dtype == np.float64 and np.all(live) and col_norms.size
            and col_norms.max() <= _TAME_SPREAD * col_norms.min()):
        return A, np.ones(col_norms.size), live
    e = np.frexp(col_norms[live])[1]
    As = times_pow2(A if np.all(live) else A[:, live], -e)
    return As, np.ldexp(1.0, e), live


# Unknowns from which identical columns are merged before the kernel runs (below it the kernel
# hands the problem to scipy.optimize.nnls, which does not mind them).
_DEDUP_N = 64


def distinct_columns(As: np.ndarray, norms: np.ndarray | None = None
                     ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Identical columns of ``As``: ``(keep, group)`` with ``As[:, keep]`` the distinct ones
    and ``group[i]`` the position in ``keep`` of column ``i``'s copy; ``(None, None)`` when
    all columns differ (or there are at most ``_DEDUP_N``).

    NNLS with a column entered twice has the same optimal objective with the weight on one
    copy, and that point satisfies the KKT conditions for the other (same gradient, ``x = 0``),
    so merging identical columns changes no answer; it keeps an exact duplicate from making
    the kernel's Gram matrix singular, which would send it onto its slow, rank-revealing path.
    ``norms`` (the columns' 2-norms, known from validation): identical columns have norms
    equal to rounding, so when no two norms are within ``max(1e-12, 4 m eps)`` of each other
    there is nothing to merge and ``As`` is not read (measured 0.3 ms at 1000 x 500 for the
    product it saves); otherwise the columns that share a norm are the candidates, grouped
    by one product with a fixed random vector (``m`` flops per candidate column) and confirmed
    by exact comparison.
    """
    m, n = As.shape
    if n <= _DEDUP_N:
        return None, None
    cols = np.arange(n)
    if norms is not None:
        order = np.argsort(norms, kind="stable")
        s = norms[order]
        close = s[1:] - s[:-1] <= max(1e-12, 4 * m * np.finfo(np.float64).eps) * s[1:]
        if not close.any():
            return None, None
        twin = np.zeros(n, dtype=bool)
        twin[1:] |= close
        twin[:-1] |= close
        cols = np.sort(order[twin])
    else:
        norms = np.sqrt(np.einsum("ij,ij->j", As, As))
    probe = np.random.default_rng(0).standard_normal(m)
    # a gather of many columns would cost more than the product with all of them
    key = probe @ As[:, cols] if 8 * cols.size < n else (probe @ As)[cols]
    # The product's rounding depends on where a column sits in the BLAS kernel's lanes, so
    # identical columns can get keys a few ulps apart: keys within the rounding bound of a
    # dot product (4 m eps ||probe|| ||a_i||) are grouped, then compared exactly.
    tol = 4 * m * np.finfo(np.float64).eps * np.linalg.norm(probe) * norms[cols]
    order = np.argsort(key, kind="stable")
    near = np.diff(key[order]) <= np.maximum(tol[order[1:]], tol[order[:-1]])
    if not near.any():
        return None, None
    rep = np.arange(n)
    starts = np.flatnonzero(np.diff(np.concatenate([[False], near, [False]]).astype(np.int8)))
    for lo, hi in zip(starts[::2], starts[1::2]):  # runs of near keys: order[lo : hi + 1]
        reps = []  # the distinct columns of the run so far
        for j in cols[order[lo:hi + 1]]:
            for r in reps:
                if np.array_equal(As[:, j], As[:, r]):
                    rep[j] = r
                    break
            else:
                reps.append(j)
    # the first column of each class (in index order) carries the class
    first = np.full(n, n)
    np.minimum.at(first, rep, np.arange(n))
    rep = first[rep]
    keep = np.flatnonzero(rep == np.arange(n))
    if keep.size == n:
        return None, None
    position = np.empty(n, dtype=np.intp)
    position[keep] = np.arange(keep.size)
    return keep, position[rep]


def active_set(problem: Problem, opts: dict) -> Result:
    """Exact NNLS by our active-set kernel (see :mod:`reparam.solvers.active_set`), run on the
    column-equilibrated problem ``min ||A D^{-1} y - b||, y >= 0`` with ``x = D^{-1} y``.

    The kernel's pivot, dependence and acceptance tests are relative to the largest diagonal
    of the Gram matrix and to ``||A^T b||_inf``; with unit-size columns they mean the same
    whatever the units of each column, so a column 1e18 times smaller than another is not
    mistaken for a dependent one. Its acceptance (``max|min(y, A_s^T r)| <= 1e-11 ||A_s^T
    b||_inf``) then implies the package's certificate :func:`reparam.kkt_residual` ``<= 2e-11``
    (``d_i`` is within a factor 2 of ``||a_i||`` and ``||A_s^T b||_inf <= ||b||_2``). Columns
    whose norms are within ``_TAME_SPREAD`` (4) of one another are not copied
    (:func:`equilibrate`): the kernel's tests then shift by at most that factor, and the
    status is, as always, decided by the certificate measured on the answer.
    Identical columns are merged first (:func:`distinct_columns`); zero columns get ``x_i = 0``.
    """
    from .active_set import active_set_nnls

    A = _dense(problem, "active-set")
    t0 = time.perf_counter()
    As, d, live = equilibrate(A, problem.col_norms)
    keep, group = distinct_columns(As, problem.col_norms[live] / d)
    x0 = opts.get("x0")
    if x0 is not None:
        x0 = (x0[live] if x0.ndim == 1 else x0[live, :]) * (d if x0.ndim == 1 else d[:, None])
        if keep is not None:  # a twin's share of the warm start goes to the column kept
            merged = np.zeros((keep.size, *x0.shape[1:]))
            np.add.at(merged, group, x0)
            x0 = merged
    gram = None
    atb = vars(problem).get("atb")  # A^T B, when validation has computed it already
    if (keep is None and problem.batched and As.shape[0] >= As.shape[1]
            and atb is not None and atb.dtype == As.dtype == np.float64):
        # Many right-hand sides: (A D^{-1})^T B = D^{-1} A^T B exactly (d is a power of two),
        # which saves the kernel a second product with B.
        gram = (As.T @ As, atb[live] / d[:, None])
    try:
        out = active_set_nnls(
            As if keep is None else As[:, keep], problem.b, x0=x0, max_iter=opts["max_iter"],
            gram=gram,
        )
    except KeyboardInterrupt:
        return _interrupted(problem, "active-set", time.perf_counter() - t0)
    elapsed = time.perf_counter() - t0
    y = out.x
    if keep is not None:  # identical columns: the one kept carries the weight, its twins 0
        y = np.zeros((As.shape[1], *y.shape[1:]))
        y[keep] = out.x
    dd = d if y.ndim == 1 else d[:, None]
    if live.all():  # no zero column: x is the kernel's answer unscaled, without a second copy
        own = (y.dtype == np.float64 and y.flags.writeable
               and not any(np.may_share_memory(y, v) for v in (problem.b, opts.get("x0"))
                           if isinstance(v, np.ndarray)))
        x = np.divide(y, dd, out=y if own else None)
    else:
        x = np.zeros((problem.shape[1], *problem.b.shape[1:]))
        x[live] = y / dd
    converged = np.asarray(out.converged)
    status = np.where(converged, Status.CONVERGED, Status.MAX_ITER)
    if status.ndim == 0:
        status = status.item()
    msg = out.message
    if not np.all(converged):
        msg += "; some columns did not reach optimality: raise max_iter or try method='scipy'"
    return Result(
        x=x, status=status, message=msg, n_iter=out.n_iter, objective=0.0, kkt=0.0,
        method="active-set", time=elapsed,
    )


def zero_result(problem: Problem, status: Status, message: str, method: str) -> Result:
    """A result at ``x = 0`` with one ``status`` for every right-hand side."""
    k = problem.b.shape[1:]
    return Result(
        x=np.zeros((problem.shape[1], *k)),
        status=status if not k else np.full(k, status, dtype=object),
        n_iter=0 if not k else np.zeros(k, dtype=int),
        message=message, objective=0.0, kkt=0.0, method=method,
    )


def _interrupted(problem: Problem, method: str, elapsed: float) -> Result:
    """Ctrl-C inside an exact kernel: its partial state is not a solution, so the result is
    the feasible point x = 0, and the status says so."""
    res = zero_result(
        problem, Status.INTERRUPTED,
        f"interrupted (Ctrl-C) inside the exact {method} kernel; returning x = 0", method,
    )
    res.time = elapsed
    res.info[CTRL_C] = True
    return res


def scipy_nnls(problem: Problem, opts: dict) -> Result:
    """``scipy.optimize.nnls`` (Lawson–Hanson), its failures turned into a :class:`Status`."""
    A = _dense(problem, "scipy")
    n = A.shape[1]
    t0 = time.perf_counter()
    cols = problem.b[:, None] if problem.b.ndim == 1 else problem.b
    xs = np.zeros((n, cols.shape[1]))
    statuses, messages = [], []
    for j in range(cols.shape[1]):  # SciPy takes one right-hand side at a time.
        try:
            if statuses and statuses[-1] is Status.INTERRUPTED:
                statuses.append(Status.INTERRUPTED)
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                xs[:, j], _ = scipy.optimize.nnls(A, cols[:, j], maxiter=opts["max_iter"])
            statuses.append(Status.CONVERGED)
        except RuntimeError as exc:  # "Maximum number of iterations reached"
            statuses.append(Status.MAX_ITER)
            messages.append(f"column {j}: {exc}")
        except KeyboardInterrupt:
            statuses.append(Status.INTERRUPTED)
            messages.append(f"interrupted (Ctrl-C) at column {j}; later columns are x = 0")
        except (ValueError, np.linalg.LinAlgError) as exc:
            statuses.append(Status.NUMERICAL_ERROR)
            messages.append(f"column {j}: {exc}")
    elapsed = time.perf_counter() - t0
    if problem.b.ndim == 1:
        x, status = xs[:, 0], statuses[0]
    else:
        x, status = xs, np.array(statuses, dtype=object)
    msg = "scipy.optimize.nnls finished" if not messages else "; ".join(messages)
    return Result(
        x=x, status=status, message=msg, n_iter=0, objective=0.0, kkt=0.0, method="scipy",
        time=elapsed, info={CTRL_C: True} if Status.INTERRUPTED in statuses else {},
    )
