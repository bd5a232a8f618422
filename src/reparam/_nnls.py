"""``reparam.nnls``: one entry point for every NNLS method."""

from __future__ import annotations

import math
import time
from functools import partial
from typing import Any

import numpy as np
import scipy  # scipy.optimize loads on first use (a lazy SciPy submodule): 0.2 s at import

from ._linalg import is_foreign
from ._result import (
    CTRL_C,
    Result,
    Status,
    certify,
    demote_unmet,
    raise_if_ctrl_c,
    settle_history,
)
from ._validation import Problem, validate_options, validate_problem, validate_x0
from .domains import orthant_kkt_positive
from .solvers import METHOD_NAMES, METHODS, active_set
from .solvers._exact import zero_result
from .solvers.active_set.small import (
    bpp_columns,
    bpp_small,
    certify_columns,
    compiled_certificate,
    compiled_kernel,
    equilibrated_gram,
    solve_small_compiled,
)
from .solvers.auto import choose
from .solvers.iterative import expand_sweep, solve, solve_arrays, solve_columns


def nnls(A, b, method: str = "auto", *, x0=None, **options: Any) -> Result:
    """Solve ``min_x 0.5 ||A x - b||^2`` subject to ``x >= 0``.

    Parameters
    ----------
    A : array_like, scipy.sparse matrix/array or LinearOperator, shape (m, n)
        Integer and floating-point entries; float32 inputs give a float32 ``x``. ``n = 0``
        gives ``x = []``; ``m = 0`` gives ``x = 0`` (every ``x >= 0`` is optimal).
    b : array_like, shape (m,) or (m, k)
        One right-hand side, or ``k`` of them (then ``x`` has shape (n, k) and the status,
        ``n_iter`` and ``kkt`` of the result are per-column arrays).
    method : str
        ``"auto"`` (exact for explicit matrices, ``"fista"`` for large sparse or
        matrix-free ``A``), ``"active-set"`` (exact), ``"reparam-gd"``, ``"riemannian-gd"``,
        ``"riemannian-bb"``, ``"accelerated"``, ``"reparam-nesterov"``, ``"projected-gd"``,
        ``"fista"``, ``"scipy"``. ``reparam.solvers.METHODS`` lists each with its defaults.
    x0 : array_like, optional
        Warm start, ``>= 0``. The exact method uses its support; the reparametrized methods
        start at ``u0 = x0**(1/depth)`` (entries below ``init_scale**depth`` raised to it).
    **options
        ``tol`` (stop when :func:`reparam.kkt_residual` ``<= tol``; default 1e-6, exact
        methods 1e-10), ``max_iter``, ``callback(state) -> bool`` (True stops),
        ``record`` (keep a history), and per method: ``depth`` (L >= 2), ``init_scale``
        (α > 0, u0 = α·1; an array of k values runs a sweep: k columns, one per scale, as one
        block), ``step`` ("auto" or a float), ``decay`` (γ in [0, 1],
        step_k = step / (k+2)^γ), ``bb`` ("alternating", "long", "short"), ``restart``.

    Returns
    -------
    Result
        ``x``, ``status``, ``success``, ``message``, ``n_iter``, ``objective``, ``kkt``
        (measured in float64 on the returned ``x``), ``history``. Not converging is a status,
        never an exception; bad input raises ``ValueError`` or ``TypeError``.

    Raises
    ------
    reparam.Interrupted
        On Ctrl-C (``KeyboardInterrupt``): the solver ends its current step, the best point so
        far is certified, and this ``KeyboardInterrupt`` subclass is raised with that partial
        result as ``.result`` (``Status.INTERRUPTED``), so a script stops as on any Ctrl-C.
        A ``callback`` that returns True instead returns ``Status.INTERRUPTED`` normally.

    Examples
    --------
    >>> import numpy as np, reparam as rp
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((30, 10)); b = A @ np.abs(rng.standard_normal(10))
    >>> res = rp.nnls(A, b)
    >>> res.success, bool(res.kkt < 1e-10)
    (True, True)
    >>> res = rp.nnls(A, b, method="reparam-gd", depth=2, init_scale=1e-3, tol=1e-6)
    >>> res.status.name
    'CONVERGED'
    """
    if not isinstance(method, str) or method not in METHOD_NAMES:
        raise ValueError(f"method must be one of {', '.join(METHOD_NAMES)}; got {method!r}")
    if (x0 is None and (method == "auto" or method == "active-set")
            and type(A) is np.ndarray and type(b) is np.ndarray):
        res = _lean(A, b, options)
        if res is not None:
            return raise_if_ctrl_c(res)
    elif is_foreign(A) or is_foreign(b) or is_foreign(x0):  # PyTorch, CuPy, JAX, ... arrays
        return raise_if_ctrl_c(solve_arrays(A, b, method, x0, options))
    return raise_if_ctrl_c(_general(A, b, method, x0, options))


def _general(A, b, method: str, x0, options: dict) -> Result:
    """The general path: validate, dispatch to the method, certify (:func:`_finish`)."""
    problem = validate_problem(A, b)
    if method == "auto":
        method = choose(problem)
    spec = METHODS[method]
    opts = validate_options(method, spec.defaults, options)
    opts["x0"] = validate_x0(x0, problem.shape[1], problem.b)
    problem, opts = expand_sweep(problem, opts)
    t0 = time.perf_counter()
    trivial = _zero_is_optimal(problem)
    if np.all(trivial):
        res = _zero_result(problem, method, opts)
    elif spec.exact is not None:
        res = spec.exact(problem, opts)
    elif problem.batched:
        res = solve_columns(problem, spec, opts, trivial)
    else:
        res = solve(problem, spec, opts)
    res.time = time.perf_counter() - t0
    return _finish(problem, res, opts)


# The lean paths. A small dense system with one right-hand side, or many right-hand sides with
# few unknowns, is solved and certified here without the general validation, dispatch and
# certification, whose numpy calls cost several times scipy's own call at 7 x 5. Anything
# these paths do not handle (other inputs or options, zero or huge columns, non-finite
# entries, an ill-conditioned Gram matrix, an answer that misses tol) goes to the general
# path, which checks and reports it in full.
_LEAN_N = 64
_LEAN_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
_F64, _F32 = _LEAN_DTYPES
_TINY = np.finfo(np.float64).tiny
# Squared norms inside this range: the entries are finite, no column is zero, and the
# certificate's products cannot overflow or underflow, so no power-of-two scaling is needed.
_LEAN_LO, _LEAN_HI = 1e-200, 1e200
# One right-hand side with m >= n and at least this many unknowns: block principal pivoting on
# the Gram matrix in numpy (three or four rounds of about ten calls) beats scipy's compiled
# Lawson-Hanson, which makes one Householder pass over A per variable that enters
# (measured: equal at 80 x 40, twice as fast at 120 x 60; scipy is faster below). Where the
# compiled kernel runs, pivoting on the Gram pair takes every m >= n system: measured (CPU
# time, one thread) 0.5-0.85x the time of the Lawson-Hanson path from 5 x 5 to 20 x 5 and
# 0.35-0.65x from 8 x 8 to 140 x 35.
_LEAN_GRAM_N = 40
# Beyond _LEAN_N unknowns, m >= n problems up to this many run the exact kernel on their Gram
# pair here, without the general path's validation, equilibration and certification (which
# cost twice scipy's whole call at 100 x 80 and 160 x 80); an answer that the kernel or the
# certificate does not accept goes to the general path, which equilibrates the columns first.
# Below the size from which the kernel first probes A for ill-conditioned columns (256, a
# probe that needs A, not its Gram pair).
_LEAN_GRAM_MAX = 255
# A float32 result computes the report of its rounded x when first read (it needs A in
# float64) only up to this many entries of A; beyond, at once, where it costs little.
_DEFER_ENTRIES = 2**16
# Many right-hand sides: block pivoting on all columns at once for at most this many unknowns
# (a round costs O(n^3) flops per column in vectorized numpy, O(n) calls per chunk).
_MANY_N = 32
# Columns per chunk: the residual block (m * chunk float64) stays near 16 MiB, with at most
# 16 384 columns, so that the later pivoting rounds, on the few columns still moving, still
# amortize their per-call costs.
_MANY_ENTRIES = 2**21
_MANY_CHUNK = 16_384
# With the compiled kernel a chunk costs few calls, so the residual block is kept at 4 MiB, in
# cache while it is certified (measured at 200 x 20: 20% faster than 16 MiB, and than 2 MiB).
_MANY_ENTRIES_COMPILED = 2**19


def _raw_lawson_hanson(A, b, cap):
    """scipy's compiled Lawson-Hanson without its wrapper's checks (done here already), looked
    up on the first call: it lives in scipy.optimize, 0.2 s to import, which `import reparam`
    and most solves never need."""
    global _raw_lawson_hanson
    try:
        from scipy.optimize._slsqplib import nnls as raw
    except ImportError:  # pragma: no cover - another scipy layout: info 0 = use the public one
        def raw(A, b, cap):
            return None, None, 0
    _raw_lawson_hanson = raw
    return raw(A, b, cap)


def _lawson_hanson(A, b, cap):
    """``(x, finished)`` by scipy's compiled Lawson-Hanson; ``A`` and ``b`` float64."""
    if _raw_lawson_hanson is not None:
        x, _, info = _raw_lawson_hanson(A, b, cap)
        if info == 1 or info == 3:
            return x, info == 1
    try:
        return scipy.optimize.nnls(A, b, maxiter=cap)[0], True
    except RuntimeError:  # its iteration cap
        return np.zeros(A.shape[1]), False


def _lean(A, b, options: dict) -> Result | None:
    """``method='active-set'`` for a small dense problem (``n <= 64``, or ``m >= n`` with
    ``n <= 255``) or for many right-hand sides with few unknowns; None when the general path
    must run."""
    if type(A) is not np.ndarray or type(b) is not np.ndarray or A.ndim != 2:
        return None
    if not (A.flags.aligned and b.flags.aligned):
        # Memory at an offset that is no multiple of the item size (a view into a byte
        # buffer, some memory maps): the compiled kernels read aligned float64 only, numpy
        # any memory, so such input is copied here (numpy's own calls run on the copy too).
        A, b = np.require(A, requirements="A"), np.require(b, requirements="A")
    if b.ndim == 2:
        return _lean_many(A, b, options)
    if b.ndim != 1:
        return None
    m, n = A.shape
    if not (0 < n and 0 < m == b.shape[0] and (n <= _LEAN_N or n <= min(m, _LEAN_GRAM_MAX))):
        return None
    da, db = A.dtype, b.dtype
    if da not in _LEAN_DTYPES or db not in _LEAN_DTYPES:
        return None
    opts = _lean_options(options)
    if opts is None:
        return None
    t0 = time.perf_counter()
    compiled = compiled_kernel(n)
    if (compiled and m >= n and da is _F64 and db is _F64 and b.flags.c_contiguous
            and (A.flags.c_contiguous or A.flags.f_contiguous)):
        res = _lean_compiled(A, b, opts, t0)
        if res is not None:
            return res
    A64 = A if da is _F64 else A.astype(_F64)
    b64 = b if db is _F64 else b.astype(_F64)
    # ndarray.dot rather than the @ operator: at this size the matmul ufunc's dispatch costs
    # more than the product.
    bb = float(b64.dot(b64))
    gram = m >= n and (compiled or n >= _LEAN_GRAM_N)
    if gram:
        G = A64.T.dot(A64)
        sq = G.diagonal()
    else:
        sq = np.add.reduce(A64 * A64)  # cheaper than einsum's parsing at this size
    # Non-finite input goes to the general path (which raises the error that names it): inf
    # fails the bounds, and NaN fails every comparison, but Python's min and max skip a NaN
    # that is not first, so their sum (which keeps it) is tested too.
    sq_list = sq.tolist()  # n <= 255: Python's min and max beat two numpy reductions
    lo, hi = min(sq_list), max(sq_list)
    if not (_LEAN_LO < bb < _LEAN_HI and _LEAN_LO < lo and hi < _LEAN_HI
            and _LEAN_LO < sum(sq_list)):
        return None
    c = np.sqrt(sq)
    max_iter = opts["max_iter"] or max(50, 3 * n)
    norm = max(math.sqrt(bb), _TINY)
    f32 = da is _F32 and db is _F32
    tol = opts["tol"]
    status, n_iter, x = Status.CONVERGED, 0, None
    try:
        if gram:
            # Per-variable tolerances in the units of A^T b make the pivoting scale-free
            # without equilibrating G (bpp_small); a numerically singular passive block
            # (duplicated or dependent columns) or an answer that the certificate rejects goes
            # on: up to _LEAN_N unknowns to Lawson-Hanson, which does not mind them, beyond to
            # the exact kernel on this Gram pair, and the general path takes what it leaves.
            atb = A64.T.dot(b64)
            if compiled or n <= _LEAN_N:
                x, n_iter = bpp_small(G, atb, c, norm, max_iter, compiled)
                message = (f"block principal pivoting on the Gram matrix"
                           f"{' (compiled)' if compiled else ''}: {n_iter} rounds")
                if x is not None:
                    kkt, report = _certify_small(A64, b64, x, c, norm, compiled)
                    if not kkt <= tol:
                        x = None
            if x is None and n > _LEAN_N:
                out = active_set.active_set_nnls(A64, b64, max_iter=max_iter, gram=(G, atb))
                if not np.all(out.converged):
                    return None
                x, n_iter, message = out.x, out.n_iter, out.message
                kkt, report = _certify_small(A64, b64, x, c, norm, compiled)
                if not kkt <= tol:
                    return None  # the general path equilibrates the columns first
        if x is None:
            x, status, message = _lean_lawson_hanson(A64, b64, c, hi > 1e8 * lo, max_iter)
            n_iter = 0
            kkt, report = _certify_small(A64, b64, x, c, norm, compiled)
    except KeyboardInterrupt:  # as in the exact kernel: a partial state is no answer
        x = np.zeros(n)
        status = Status.INTERRUPTED
        message = "interrupted (Ctrl-C) inside the exact kernel; returning x = 0"
        kkt, report = _certify_small(A64, b64, x, c, norm, compiled)
    if status is Status.CONVERGED and not kkt <= tol:
        status = Status.STALLED
        message += (f"; the answer's kkt exceeds tol={tol:.0e} ({kkt:.2e}): the problem is "
                    "ill-conditioned at this precision")
    # The report (objective, complementarity; for float32 output, the certificate of x
    # rounded to float32) is computed when first read where it costs numpy calls: at 7 x 5
    # it costs as much as the solve. The compiled certificate has it already.
    if f32:
        x = x.astype(_F32)
        fields = {}
        report = partial(_report_rounded, A64, b64, x, c, norm, message)
        if m * n > _DEFER_ENTRIES:  # no float64 copy of a large A kept alive by the result
            fields, report = report(), None
    elif type(report) is dict:
        fields, report = report, None
        fields["message"], fields["kkt"] = message, kkt
    else:
        fields = {"message": message, "kkt": kkt}
    return Result.deferred(report, x=x, status=status, n_iter=n_iter, method="active-set",
                           time=time.perf_counter() - t0,
                           info={CTRL_C: True} if status is Status.INTERRUPTED else {},
                           **fields)


def _lean_compiled(A, b, opts: dict, t0: float) -> Result | None:
    """A float64 system with ``m >= n`` in one compiled call
    (:func:`~reparam.solvers.active_set.small.solve_small_compiled`: pivoting on the Gram
    pair and the certificate), returned when pivoting finished and the certificate meets
    ``tol``; None sends it through the rest of :func:`_lean`, which checks and reports
    everything else (and meets the same pivoting first)."""
    max_iter = opts["max_iter"] or max(50, 3 * A.shape[1])
    try:
        code, x, rounds, kkt, rr, xg = solve_small_compiled(A, b, max_iter, _LEAN_LO, _LEAN_HI)
    except KeyboardInterrupt:  # as in the exact kernel: no answer, x = 0 certified
        x = np.zeros(A.shape[1])
        c = np.sqrt(np.einsum("ij,ij->j", A, A))
        kkt, report = _certify_small(A, b, x, c, max(math.sqrt(float(b.dot(b))), _TINY))
        return Result.deferred(
            report if callable(report) else None, x=x, status=Status.INTERRUPTED, n_iter=0,
            method="active-set", kkt=kkt, time=time.perf_counter() - t0, info={CTRL_C: True},
            message="interrupted (Ctrl-C) inside the exact kernel; returning x = 0",
            **(report if type(report) is dict else {}))
    if code or not kkt <= opts["tol"]:
        return None
    return Result.deferred(
        None, x=x, status=Status.CONVERGED, n_iter=rounds, method="active-set",
        message=f"block principal pivoting on the Gram matrix (compiled): {rounds} rounds",
        kkt=kkt, objective=0.5 * rr, complementarity=abs(xg),
        time=time.perf_counter() - t0, info={})


def _lean_lawson_hanson(A64, b64, c, spread: bool, max_iter: int):
    """``(x, status, message)`` by scipy's compiled Lawson-Hanson, capped at 3 max_iter.

    With ``spread`` (column norms that differ by more than 1e4) the columns are equilibrated
    by powers of two (exact, undone exactly), as the exact method does; below that
    Lawson-Hanson's choices do not depend on the units in any way that matters, and the
    scaling would cost more than the solve at this size.
    """
    s = np.ldexp(1.0, -np.frexp(c)[1]) if spread else None
    cap = 3 * max_iter  # the kernel's Lawson-Hanson cap
    y, finished = _lawson_hanson(A64 if s is None else A64 * s, b64, cap)
    if not finished:
        return np.zeros(c.size), Status.MAX_ITER, (
            f"scipy.optimize.nnls reached its iteration cap ({cap} = 3 max_iter) before "
            "optimality; returning x = 0: raise max_iter")
    return (y if s is None else y * s), Status.CONVERGED, (
        "scipy.optimize.nnls (Lawson-Hanson), the fastest at this size")


def _certify_small(A64, b64, x, c, norm, compiled=None):
    """``(kkt, report)`` of one small answer ``x`` (float64): its certificate
    (:func:`~reparam.domains.orthant_kkt`, as a float) and its report, the dict of its
    objective and complementarity, or a callable that computes them from the residual
    ``A x - b`` and gradient ``A^T r`` (so that they are computed only when read).

    One compiled call where the extension is built (:func:`compiled_certificate`); else a few
    numpy calls (ndarray.dot rather than @, whose dispatch costs more than the product at
    this size)."""
    parts = compiled_certificate(A64, b64, x, c, compiled)
    if parts is not None:
        return parts[0] / norm, {"objective": 0.5 * parts[1], "complementarity": abs(parts[2])}
    r = A64.dot(x)
    r -= b64
    g = r.dot(A64)
    t = np.minimum(x * c, g / c)
    return float(np.maximum.reduce(np.abs(t, out=t))) / norm, partial(_report, x, r, g)


def _report(x, r, g) -> dict:
    """The objective and complementarity of a small answer from its residual and gradient."""
    return {"objective": 0.5 * float(r.dot(r)), "complementarity": abs(float(x.dot(g)))}


def _report_rounded(A64, b64, x32, c, norm, message: str) -> dict:
    """The report of the float32 ``x32`` returned: its own certificate, measured in float64."""
    kkt, report = _certify_small(A64, b64, x32.astype(_F64), c, norm, compiled_kernel())
    return {"kkt": kkt, "message": f"{message}; x rounded to float32 has kkt {kkt:.2e}",
            **(report if type(report) is dict else report())}


def _lean_options(options: dict) -> dict | None:
    """The active-set options when only ``tol`` and ``max_iter`` are given, else None."""
    spec = METHODS["active-set"]
    if not options:
        return spec.defaults
    if not options.keys() <= {"tol", "max_iter"}:
        return None
    return validate_options("active-set", spec.defaults, options)


def _lean_many(A, B, options: dict) -> Result | None:
    """Many right-hand sides with few unknowns (``m >= n <= 32``): block principal pivoting
    on every column at once (:func:`~reparam.solvers.active_set.small.bpp_columns`), in
    chunks of columns so that memory stays bounded whatever ``k``, each chunk certified on
    ``A`` as it is solved. Columns it cannot certify go to the general path. None when the
    general path must run for the whole problem."""
    m, n = A.shape
    k = B.shape[1]
    if not (0 < n <= _MANY_N and n <= m == B.shape[0] and k > 0):
        return None
    da, db = A.dtype, B.dtype
    if da not in _LEAN_DTYPES or db not in _LEAN_DTYPES:
        return None
    opts = _lean_options(options)
    if opts is None:
        return None
    t0 = time.perf_counter()
    A64 = A if da is _F64 else A.astype(_F64)
    compiled = compiled_kernel(n)
    # Equilibration by powers of two, undone exactly: scaling G and A^T B afterwards gives
    # the same numbers as scaling A first, without a pass over A. Zero, huge, duplicated or
    # dependent columns (None): the general path handles them.
    gram = equilibrated_gram(A64.T @ A64, _LEAN_LO, _LEAN_HI, compiled)
    if gram is None:
        return None
    Gs, s, c, L = gram
    max_iter = opts["max_iter"] or max(50, 3 * n)
    f32 = da is _F32 and db is _F32
    X = np.empty((n, k), dtype=_F32 if f32 else _F64)
    kkt, objective, complementarity = np.empty(k), np.empty(k), np.empty(k)
    kkt64, n_iter, done = np.empty(k), np.zeros(k, dtype=np.intp), np.zeros(k, dtype=bool)
    entries = _MANY_ENTRIES_COMPILED if compiled else _MANY_ENTRIES
    chunk = min(_MANY_CHUNK, max(256, entries // m))
    for lo in range(0, k, chunk):
        hi = min(k, lo + chunk)
        Bc = B[:, lo:hi] if db is _F64 else B[:, lo:hi].astype(_F64)
        try:
            Cs = A64.T @ Bc
            # A non-finite entry of B makes A^T B non-finite (0 inf is NaN), as do products
            # that overflow: the general path checks, names and scales them.
            if not math.isfinite(float(Cs.sum())):
                return None
            Cs *= s[:, None]
            Y, n_iter[lo:hi], done[lo:hi] = bpp_columns(Gs, Cs, L, max_iter)
        except KeyboardInterrupt:
            return _lean_many_interrupted(A64, B, c, f32, t0)
        Y *= s[:, None]
        # |b_j|^2 comes from the certificate's pass over B (a pass of its own cost as much).
        kkt64[lo:hi], obj, comp, bn2 = certify_columns(A64, Bc, Y, c, compiled)
        if not (_LEAN_LO <= float(bn2.min()) and float(bn2.max()) < _LEAN_HI):
            # Squares that overflowed or underflowed (the certificate's too): the general
            # path scales such columns. A zero column of B (x = 0) is certified as it is.
            odd = np.flatnonzero(~((bn2 >= _LEAN_LO) & (bn2 < _LEAN_HI)))
            done[lo + odd[np.abs(Bc[:, odd]).max(axis=0) > 0]] = False
        if f32:
            Yr = Y.astype(_F32)
            X[:, lo:hi] = Yr
            kkt[lo:hi], objective[lo:hi], complementarity[lo:hi], _ = certify_columns(
                A64, Bc, Yr.astype(_F64), c, compiled, bn2)
        else:
            X[:, lo:hi] = Y
            kkt[lo:hi], objective[lo:hi], complementarity[lo:hi] = kkt64[lo:hi], obj, comp
    tol = opts["tol"]
    status = np.empty(k, dtype=object)
    status.fill(Status.CONVERGED)  # a third of np.full's time for an object array
    rounds = int(n_iter.max())
    kernel = ("compiled, a small Cholesky factorization per column and round"
              if compiled
              else "masked Cholesky factorizations over the stacked columns")
    message = (f"block principal pivoting on all {k} columns at once ({kernel}): at most "
               f"{rounds} rounds")
    redo = np.flatnonzero(~done | ~(kkt64 <= tol))
    info = {}
    if redo.size:
        # Columns the vectorized rounds did not finish or certify: the general exact path.
        sub = _general(A, B[:, redo], "active-set", None, dict(options))
        X[:, redo] = sub.x
        status[redo] = np.atleast_1d(sub.status)
        n_iter[redo] = np.atleast_1d(sub.n_iter)
        kkt[redo] = np.atleast_1d(sub.kkt)
        objective[redo] = np.atleast_1d(sub.objective)
        complementarity[redo] = np.atleast_1d(sub.complementarity)
        message += f"; {redo.size} columns left to the general path ({sub.message})"
        if sub.info.get(CTRL_C):
            info = {CTRL_C: True}
    if f32:
        message += f"; x rounded to float32 has kkt {float(kkt.max()):.2e}"
    return Result(x=X, status=status, message=message, n_iter=n_iter, objective=objective,
                  kkt=kkt, complementarity=complementarity, method="active-set",
                  time=time.perf_counter() - t0, info=info)


def _lean_many_interrupted(A, B, c, f32, t0) -> Result:
    """Ctrl-C inside the vectorized rounds: their state is no answer, so ``x = 0``, certified
    without a residual (``g = -A^T b``), chunk by chunk."""
    n, k = A.shape[1], B.shape[1]
    kkt, objective = np.empty(k), np.empty(k)
    for lo in range(0, k, 4096):
        Bc = np.asarray(B[:, lo:lo + 4096], dtype=_F64)
        bn2 = np.einsum("ij,ij->j", Bc, Bc)
        g = -(A.T @ Bc)
        kkt[lo:lo + 4096] = orthant_kkt_positive(np.zeros_like(g), g, c[:, None],
                                                 np.maximum(np.sqrt(bn2), _TINY))
        objective[lo:lo + 4096] = 0.5 * bn2
    res = Result(
        x=np.zeros((n, k), dtype=_F32 if f32 else _F64),
        status=np.full(k, Status.INTERRUPTED, dtype=object), n_iter=np.zeros(k, dtype=int),
        message="interrupted (Ctrl-C) inside the exact kernel; returning x = 0",
        objective=objective, kkt=kkt, complementarity=np.zeros(k), method="active-set",
        time=time.perf_counter() - t0,
    )
    res.info[CTRL_C] = True
    return res


def _zero_is_optimal(problem: Problem) -> np.ndarray:
    """``x = 0`` solves NNLS exactly when ``A^T b <= 0`` (then ``g(0) = -A^T b >= 0``)."""
    return np.all(problem.atb <= 0, axis=0)


def _zero_result(problem: Problem, method: str, opts: dict) -> Result:
    res = zero_result(
        problem, Status.CONVERGED,
        "x = 0 is optimal (A^T b <= 0, e.g. b = 0); no iterations needed", method,
    )
    if opts.get("record"):
        f0 = 0.5 * np.sum(problem.b**2, axis=0)
        res.history = {"objective": np.atleast_1d(f0), "kkt": np.zeros_like(np.atleast_1d(f0))}
    return res


def _finish(problem: Problem, res: Result, opts: dict) -> Result:
    """Certify the answer in float64 and cast ``x`` to the output dtype.

    A result is ``CONVERGED`` only when its measured kkt meets ``tol``; an answer that misses
    it (rounding on an ill-conditioned problem) is reported as ``STALLED``. For float32
    output the status judges the solver's float64 answer, while ``kkt``, ``objective`` and
    ``complementarity`` describe the float32 ``x`` returned. With ``record=True`` a method
    without iterations of its own records its final point.
    """
    tol = opts["tol"]
    x64 = np.maximum(np.asarray(res.x, dtype=np.float64), 0.0)  # guards rounding only
    c = problem.col_norms
    if not np.all(c > 0):  # x_i on a zero column changes nothing; the answer is x_i = 0
        x64[c == 0] = 0.0
    kkt, objective, complementarity = certify(problem.op, problem.b, x64, c, problem.b_norm)
    demote_unmet(res, kkt, tol)
    x = x64.astype(problem.out_dtype, copy=False)  # x64 is a copy already
    if problem.out_dtype != np.float64:
        kkt, objective, complementarity = certify(problem.op, problem.b, x, c, problem.b_norm)
        res.message += f"; x rounded to {problem.out_dtype} has kkt {np.max(kkt):.2e}"
    if not problem.batched:
        kkt, objective, complementarity = float(kkt), float(objective), float(complementarity)
    res.x, res.kkt, res.objective, res.complementarity = x, kkt, objective, complementarity
    settle_history(res, opts.get("record"), objective, kkt)
    return res
