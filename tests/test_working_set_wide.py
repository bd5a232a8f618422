"""Tests of the packed working set of wide problems
(:mod:`reparam.solvers.active_set.working_set_wide`).

References: ``scipy.optimize.nnls`` for the optimum, and the square-factor working set
(``working_set._Set``, the same Lawson-Hanson algorithm with the factor held as a square
array).
Wide Gaussian problems have a zero residual when b lies in the cone of the columns (then the
solution set is a polytope and objectives are compared) and a positive one near n = 2 m,
where the solution is unique (compared entrywise, atol 1e-9 relative to ||x||: the kernel
solves the normal equations of the final set, cond(A_F)^2 eps ~ 1e-11 for these blocks).
The KKT residual, certified at 1e-11 of ||A^T b||, must be below 1e-10.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize

from reparam.solvers.active_set import Path, Reason, active_set_nnls
from reparam.solvers.active_set import working_set as ws
from reparam.solvers.active_set import working_set_wide as wide
from reparam.solvers.active_set.working_set import _working_set


def kkt(A, b, x):
    g = A.T @ (A @ x - b)
    return float(np.max(np.abs(np.minimum(x, g))) / max(np.max(np.abs(A.T @ b)), 1e-300))


def objective(A, b, x):
    return 0.5 * float(np.sum((A @ x - b) ** 2))


def gaussian(m, n, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n)), rng.standard_normal(m)


@pytest.fixture(autouse=True)
def packed(monkeypatch):
    """The packed set on every wide problem of these tests, the numpy version too (by default
    only from ``working_set._WS_PACKED_NUMPY`` rows on); yields the list of the sets it
    built."""
    monkeypatch.setattr(ws, "_WS_PACKED", 1)
    monkeypatch.setattr(ws, "_WS_PACKED_NUMPY", 1)
    built = []
    init = wide.PackedSet.__init__

    def counting_init(self, *args):
        init(self, *args)
        built.append(self)

    monkeypatch.setattr(wide.PackedSet, "__init__", counting_init)
    return built


@pytest.fixture(params=["compiled", "numpy"])
def downdate(request, monkeypatch):
    """Both versions of the in-place downdate: the compiled sweep and its numpy fallback."""
    if request.param == "compiled":
        if ws._cholc is None:
            pytest.skip("the extension _cholc was not built")
        monkeypatch.delenv("REPARAM_NO_EXTENSION", raising=False)
    else:
        monkeypatch.setenv("REPARAM_NO_EXTENSION", "1")
    return request.param


def with_square_factor(monkeypatch):
    """Run ``_working_set`` on a wide problem with the square factor of ``working_set._Set``."""
    monkeypatch.setattr(ws, "_WS_PACKED", np.inf)
    monkeypatch.setattr(ws, "_WS_PACKED_NUMPY", np.inf)


@pytest.mark.parametrize("m,n,seed,zero_residual", [
    (60, 300, 0, True),     # n = 5 m: b in the cone of the columns
    (100, 400, 1, True),
    (100, 190, 2, False),   # n < 2 m: b outside the cone, about m columns in the support
    (150, 300, 3, False),
])
def test_wide_gaussian_matches_scipy_and_the_square_factor(m, n, seed, zero_residual,
                                                           downdate, packed, monkeypatch):
    A, b = gaussian(m, n, seed)
    x, _, ok, stop = _working_set(A, b, None, 3 * n)
    assert ok and stop.certified and len(packed) == 1
    x_ref, res_ref = scipy.optimize.nnls(A, b, maxiter=50 * n)
    assert bool(res_ref <= 1e-9 * np.linalg.norm(b)) == zero_residual  # the case named
    assert np.all(x >= 0) and kkt(A, b, x) <= 1e-10
    assert objective(A, b, x) == pytest.approx(objective(A, b, x_ref), rel=1e-10,
                                               abs=1e-13 * float(b @ b))
    if not zero_residual:  # unique solution
        np.testing.assert_allclose(x, x_ref, rtol=0, atol=1e-9 * np.abs(x_ref).max())
    with_square_factor(monkeypatch)
    x_sq, _, ok_sq, _ = _working_set(A, b, None, 3 * n)
    assert ok_sq and len(packed) == 1
    # With a zero residual the last rounds compare objectives at the rounding level, so the
    # two factors may stop at different vertices of the solution set.
    if zero_residual:
        assert objective(A, b, x_sq) <= 1e-20 * float(b @ b)
    else:
        np.testing.assert_allclose(x, x_sq, rtol=0, atol=1e-9 * np.abs(x_sq).max())


@pytest.mark.parametrize("m,n,seed", [(300, 200, 4), (250, 250, 5), (600, 300, 6)])
def test_tall_and_square_problems_packed_match_the_square_factor(m, n, seed, packed,
                                                                  monkeypatch):
    # m >= n: the compiled packed set (its cap n columns) against the square factor, both
    # certified; the solution is unique (A of full column rank)
    if ws._cholc is None:
        pytest.skip("the extension _cholc was not built")
    monkeypatch.delenv("REPARAM_NO_EXTENSION", raising=False)
    A, b = gaussian(m, n, seed)
    x, _, ok, stop = _working_set(A, b, None, 3 * n)
    assert ok and stop.certified and len(packed) == 1 and packed[0].ap.size > 0
    assert packed[0].At.shape[0] == n
    with_square_factor(monkeypatch)
    x_sq, _, ok_sq, _ = _working_set(A, b, None, 3 * n)
    assert ok_sq and len(packed) == 1
    assert kkt(A, b, x) <= 1e-10 and kkt(A, b, x_sq) <= 1e-10
    np.testing.assert_allclose(x, x_sq, rtol=0, atol=1e-10 * np.abs(x_sq).max())
    x_ref, _ = scipy.optimize.nnls(A, b, maxiter=50 * n)
    np.testing.assert_allclose(x, x_ref, rtol=0, atol=1e-10 * np.abs(x_ref).max())


def test_near_the_phase_transition_many_variables_leave(downdate, packed, monkeypatch):
    # 250 x 500: b just outside the cone, the support about m columns, and dozens of
    # variables leave on the way; every leaving one goes through the in-place sweep.
    A, b = gaussian(250, 500, 10)
    left = []
    inner = wide.PackedSet.inner

    def counting(self, x, passive, blocked):
        before = self.F.size
        x = inner(self, x, passive, blocked)
        left.append(before - self.F.size)
        return x

    monkeypatch.setattr(wide.PackedSet, "inner", counting)
    x, _, ok, _ = _working_set(A, b, None, 1500)
    assert ok and sum(left) >= 20 and len(packed) == 1
    x_ref, _ = scipy.optimize.nnls(A, b, maxiter=50 * 500)
    np.testing.assert_allclose(x, x_ref, rtol=0, atol=1e-9 * np.abs(x_ref).max())
    assert kkt(A, b, x) <= 1e-10


def test_packed_factor_and_y_column_after_entries_and_exits(downdate):
    # The invariants the solves rely on: U^T U = A_F^T A_F and U^T y = A_F^T b, after a run
    # in which variables entered in blocks and left from the middle of the factor.
    A, b = gaussian(120, 240, 4)
    c = A.T @ b
    s = wide.PackedSet(A, b, c, 120)
    x = np.zeros(240)
    passive = np.zeros(240, dtype=bool)
    blocked = np.zeros(240, dtype=bool)
    order = np.argsort(-c)
    for start in range(0, 200, 25):  # blocks by decreasing correlation, as rounds would
        s.add(order[start:start + 25])
        passive[s.F] = True
        x = s.inner(x, passive, blocked)
    assert 0 < s.F.size <= 120 and np.all(x[s.F] > 0)
    AF = A[:, s.F]
    U = s.dense()
    np.testing.assert_allclose(U.T @ U, AF.T @ AF, rtol=0, atol=1e-10 * np.abs(AF).max() ** 2
                               * A.shape[0])
    np.testing.assert_allclose(U.T @ s._y(), AF.T @ b, rtol=0,
                               atol=1e-10 * float(np.abs(c).max()))
    # x_F is the least-squares point of the set (the inner loop stopped with z > 0).
    z, *_ = np.linalg.lstsq(AF, b, rcond=None)
    np.testing.assert_allclose(x[s.F], z, rtol=0, atol=1e-9 * np.abs(z).max())


def test_refactor_rebuilds_the_y_column():
    A, b = gaussian(80, 200, 5)
    c = A.T @ b
    s = wide.PackedSet(A, b, c, 80)
    s.add(np.argsort(-c)[:30])
    y = s._y().copy()
    s._y()[:] = 0.0
    assert s.refactor()
    np.testing.assert_allclose(s._y(), y, rtol=0, atol=1e-12 * np.abs(y).max())


def test_degenerate_columns(downdate):
    # Zero columns, exact copies, multiples and a column in the span of two others: copies
    # wait as dependent, the answer is optimal.
    rng = np.random.default_rng(6)
    A0 = rng.standard_normal((60, 150))
    A = np.column_stack([A0, np.zeros((60, 3)), A0[:, :30], 3.0 * A0[:, 30:40],
                         A0[:, 50] + A0[:, 51]])
    b = rng.standard_normal(60)
    x, _, ok, _ = _working_set(A, b, None, 3 * A.shape[1])
    assert ok and kkt(A, b, x) <= 1e-10
    x_ref, _ = scipy.optimize.nnls(A, b, maxiter=50 * A.shape[1])
    assert objective(A, b, x) == pytest.approx(objective(A, b, x_ref), rel=1e-10,
                                               abs=1e-13 * float(b @ b))


def test_rank_deficient_wide():
    # rank 40 < m = 80 < n: the set stops at rank(A) columns.
    rng = np.random.default_rng(7)
    A = rng.standard_normal((80, 40)) @ rng.standard_normal((40, 300))
    b = rng.standard_normal(80)
    x, _, ok, _ = _working_set(A, b, None, 900)
    assert ok and np.count_nonzero(x) <= 40 and kkt(A, b, x) <= 1e-10


def test_a_broken_factor_is_caught_and_the_front_falls_back(packed, monkeypatch):
    # Control: a packed set whose y column is corrupted on every entry solves the wrong
    # systems; the end test must refuse its answer, and the front must hand over to the QR
    # path, whose answer is certified.
    A, b = gaussian(200, 400, 3)  # m n above the threshold under which scipy runs alone
    add = wide.PackedSet.add

    def corrupted_add(self, cand):
        out = add(self, cand)
        self._y()[:] *= 1.001
        return out

    monkeypatch.setattr(wide.PackedSet, "add", corrupted_add)
    monkeypatch.setattr(wide.PackedSet, "refactor", lambda self: False)
    x_bad, _, ok, stop = _working_set(A, b, None, 1200)
    assert not ok and stop.reason is Reason.SMALL_PIVOT
    assert kkt(A, b, x_bad) > 1e-8  # the corruption changes the answer: the control bites
    out = active_set_nnls(A, b)
    assert len(packed) == 2  # the corrupted set ran in the front too
    assert [attempt.path for attempt in out.trail] == [Path.WORKING_SET,
                                                       Path.LAWSON_HANSON_QR]
    assert out.converged and kkt(A, b, out.x) <= 1e-10
    x_ref, _ = scipy.optimize.nnls(A, b, maxiter=50 * 400)
    np.testing.assert_allclose(out.x, x_ref, rtol=0, atol=1e-9 * np.abs(x_ref).max())


@pytest.mark.parametrize("m,n,numpy_version", [
    (300, 600, True), (255, 600, False), (40, 200, False), (300, 300, False), (400, 300, False)])
def test_which_problems_hold_the_factor_packed(m, n, numpy_version, downdate, packed,
                                               monkeypatch):
    # compiled, every problem; the numpy version wide ones from _WS_PACKED_NUMPY rows on
    monkeypatch.setattr(ws, "_WS_PACKED", 1)
    monkeypatch.setattr(ws, "_WS_PACKED_NUMPY", 256)
    A, b = gaussian(m, n, 8)
    x, _, ok, _ = _working_set(A, b, None, 3 * n)
    assert ok and kkt(A, b, x) <= 1e-10
    assert (len(packed) == 1) == (downdate == "compiled" or numpy_version)


# The compiled kernels of the packed set (``_cholc``) against the numpy/BLAS version of the
# same steps. Rounding differs (other orders of summation), so x agrees to a tolerance: the
# blocks here have cond(A_F) below ~1e3, and 1e-10 of max |x| is far above cond^2 eps.

def needs_extension():
    if ws._cholc is None:
        pytest.skip("the extension _cholc was not built")


def _compiled_then_numpy(A, b, monkeypatch):
    """(x, rounds) of the working set with the extension and then without it, each certified."""
    runs = []
    for env in ("", "1"):
        monkeypatch.setenv("REPARAM_NO_EXTENSION", env)
        x, it, ok, stop = _working_set(A, b, None, 3 * A.shape[1])
        assert ok and stop.certified and kkt(A, b, x) <= 1e-10
        runs.append((x, it))
    return runs


@pytest.mark.parametrize("m,n,seed", [(120, 240, 4), (250, 500, 10), (100, 400, 1),
                                      (150, 300, 3)])
def test_compiled_and_numpy_packed_sets_take_the_same_path(m, n, seed, packed, monkeypatch,
                                                          simd):
    needs_extension()
    A, b = gaussian(m, n, seed)
    products = []  # A_F^T V by the compiled kernel (the product of every round but the first)
    gather_dot = ws._cholc.gather_dot

    def counting(At, slot, Vt, out):
        products.append(out.shape)
        return gather_dot(At, slot, Vt, out)

    monkeypatch.setattr(ws._cholc, "gather_dot", counting)
    runs = _compiled_then_numpy(A, b, monkeypatch)
    assert [s.compiled for s in packed] == [True, False]
    assert len(products) >= 5 and any(w >= 8 for _, w in products)
    (xc, itc), (xn, itn) = runs
    assert itc == itn  # the same rounds
    np.testing.assert_array_equal(xc > 0, xn > 0)  # the same support
    np.testing.assert_allclose(xc, xn, rtol=0, atol=1e-10 * np.abs(xn).max())


def planted_set(s, drops, seed=0, extra=0):
    """A packed set of s columns (of 3 s rows) whose least-squares point on F is a chosen z:
    b = A_F z, so y = U z. ``drops`` are the positions given z_i = -1 from x_i = 1 (ratio 1/2,
    so they reach zero together in the first step); the others get z_i = 2, from x_i = 1 but
    for the last ``extra``, which have just entered at x_i = 0."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((3 * s + 3, s + 5))
    z = np.full(s, 2.0)
    z[list(drops)] = -1.0
    b = A[:, :s] @ z
    c = A.T @ b
    p = wide.PackedSet(A, b, c, 3 * s + 3)
    p.add(np.arange(s))
    assert p.F.size == s
    x = np.zeros(A.shape[1])
    x[:s - extra] = 1.0
    return p, x


def run_inner(p, x, compiled):
    p.compiled = compiled
    n = x.size
    passive = np.zeros(n, dtype=bool)
    passive[p.F] = True
    blocked = np.ones(n, dtype=bool)
    x = p.inner(x.copy(), passive, blocked)
    return x, passive, blocked


@pytest.mark.parametrize("s,drops,extra", [
    (1, [0], 0),                # the only variable leaves: the set empties
    (9, [0], 0),                # the first position
    (9, [8], 0),                # the last position
    (40, [3, 17, 39], 0),       # several at once, one of them the last
    (40, [], 0),                # none: one solve
    (40, [5], 6),               # variables entered at zero stay (z > 0)
    (200, [0, 1, 100, 198], 0),
])
def test_compiled_inner_loop_matches_the_python_loop(s, drops, extra, simd):
    needs_extension()
    import copy
    states = []
    for compiled in (True, False):
        p, x = planted_set(s, drops, seed=s, extra=extra)
        x, passive, blocked = run_inner(p, x, compiled)
        states.append((copy.deepcopy(p), x, passive, blocked))
    (pc, xc, passc, blc), (pn, xn, passn, bln) = states
    assert set(drops).isdisjoint(pn.F)  # the planted variables left
    np.testing.assert_array_equal(pc.F, pn.F)
    np.testing.assert_array_equal(pc.slot, pn.slot)
    np.testing.assert_array_equal(pc.free, pn.free)
    np.testing.assert_array_equal(passc, passn)
    np.testing.assert_array_equal(blc, bln)
    assert bool(blc.all()) == (not drops)  # a leaving variable unblocks every column
    scale = max(1.0, float(np.abs(xn).max()))
    np.testing.assert_allclose(xc, xn, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(pc.xs, pn.xs, rtol=0, atol=1e-12 * scale)
    # The factor and the column y that were rotated with it are those of the kept columns
    # (checked through U^T U and U^T y: the numpy downdate may flip the signs of rows of U).
    for p in (pc, pn):
        if p.F.size:
            AF = p.A[:, p.F]
            U = p.dense()
            np.testing.assert_allclose(U.T @ U, AF.T @ AF, rtol=0,
                                       atol=1e-10 * np.abs(AF).max() ** 2 * AF.shape[0])
            np.testing.assert_allclose(U.T @ p._y(), AF.T @ p.b, rtol=0,
                                       atol=1e-10 * float(np.abs(p.c).max()))


def test_compiled_inner_loop_on_an_empty_set():
    needs_extension()
    assert ws._cholc.lh_inner(np.zeros(1), 0, np.zeros(0), None, np.zeros(0, np.intp)) == 0


def packed_upper(s, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((s + 20, s))
    U = np.linalg.qr(X, mode="r") if s else np.zeros((0, 0))
    return U, U.T[np.tril_indices(s)].copy()


@pytest.mark.parametrize("s", [0, 1, 2, 5, 33, 130])
@pytest.mark.parametrize("r", [0, 1, 3, 4, 7, 16, 64])
def test_compiled_transposed_solve_matches_scipy(s, r):
    needs_extension()
    import scipy.linalg
    U, ap = packed_upper(s, seed=10 * s + r)
    C = np.random.default_rng(r).standard_normal((s, r))
    E = C.copy()
    ws._cholc.solve_lower(ap, s, E)
    if s:
        ref = scipy.linalg.solve_triangular(U, C, trans="T", lower=False)
    else:
        ref = C
    # cond(U) ~ 10 for these Gaussian blocks: 1e-12 is far above the rounding of a solve.
    np.testing.assert_allclose(E, ref, rtol=0, atol=1e-12 * max(1.0, np.abs(ref).max(initial=0.0)))


def test_packed_transposed_solve_compiled_and_in_numpy(monkeypatch):
    needs_extension()
    A, b = gaussian(80, 200, 12)
    c = A.T @ b
    p = wide.PackedSet(A, b, c, 80)
    p.add(np.argsort(-c)[:50])
    C = np.random.default_rng(1).standard_normal((50, 13))
    p.compiled = True
    Ec = p._solve_transposed(C.copy())
    p.compiled = False
    En = p._solve_transposed(C)
    np.testing.assert_allclose(Ec, En, rtol=0, atol=1e-12 * np.abs(En).max())


def test_compiled_kernels_refuse_bad_input():
    needs_extension()
    cholc = ws._cholc
    ap = np.zeros(100)
    x, pos = np.zeros(5), np.arange(5, dtype=np.intp)
    B = np.zeros((5, 3))
    bad_calls = [
        lambda: cholc.lh_inner(ap, -1, x, None, pos),
        lambda: cholc.lh_inner(ap, 2 ** 40, x, None, pos),
        lambda: cholc.lh_inner(np.zeros(20), 5, x, None, pos),  # no room for [y; rho]
        lambda: cholc.lh_inner(ap, 5, x.astype(np.float32), None, pos),
        lambda: cholc.lh_inner(ap, 5, x, None, pos.astype(np.int32)),
        lambda: cholc.lh_inner(ap, 5, x[:4], None, pos),
        lambda: cholc.lh_inner(ap, 5, x, np.zeros(3), pos),
        lambda: cholc.solve_lower(ap, -1, B),
        lambda: cholc.solve_lower(ap, 2 ** 40, B),
        lambda: cholc.solve_lower(np.zeros(10), 5, B),
        lambda: cholc.solve_lower(ap, 4, B),  # B has 5 rows
        lambda: cholc.solve_lower(ap, 5, np.zeros(5)),
        lambda: cholc.solve_lower(ap, 5, B.astype(np.float32)),
        lambda: cholc.solve_lower(ap, 5, np.zeros((3, 5)).T),  # not C-contiguous
        lambda: cholc.solve_lower(ap.astype(np.float32), 5, B),
        lambda: cholc.delete_packed(ap, 2 ** 40, 0),
    ]
    for call in bad_calls:
        with pytest.raises(ValueError):
            call()
    read_only = np.zeros((5, 3))
    read_only.flags.writeable = False
    with pytest.raises(ValueError):
        cholc.solve_lower(ap, 5, read_only)
    np.testing.assert_array_equal(ap, 0.0)  # nothing was written


@pytest.mark.parametrize("s,k", [(0, 5), (0, 1), (30, 1), (30, 7), (60, 16)])
def test_compiled_append_matches_numpy(s, k):
    # The entering columns and the grown y column written by one compiled call and by numpy
    # from the same state (E from the dtpsv loop when k < 4, in Fortran order, and from the
    # compiled solve otherwise, in C order: both memory orders are read).
    needs_extension()
    A, b = gaussian(90, 200, s + k)
    c = A.T @ b
    order = np.argsort(-c)
    aps = []
    for compiled in (True, False):
        p = wide.PackedSet(A, b, c, 90)
        p.compiled = compiled
        if s:
            p.add(order[:s])
        assert p.F.size == s
        p.add(order[s:s + k])
        assert p.F.size == s + k
        aps.append(p.ap[:(s + k + 1) * (s + k + 2) // 2].copy())
    np.testing.assert_allclose(aps[0], aps[1], rtol=0, atol=1e-12 * np.abs(aps[1]).max())
    U = p.dense()
    AF = A[:, p.F]
    np.testing.assert_allclose(U.T @ p._y(), AF.T @ b, rtol=0, atol=1e-10 * np.abs(c).max())


def test_compiled_append_refuses_bad_input():
    needs_extension()
    cholc = ws._cholc
    ap, E, D, cD = np.zeros(100), np.zeros((5, 3)), np.eye(3), np.ones(3)
    bad_calls = [
        lambda: cholc.append_packed(ap, -1, 3, E, D, cD),
        lambda: cholc.append_packed(ap, 5, -1, E, D, cD),
        lambda: cholc.append_packed(ap, 2 ** 40, 3, E, D, cD),
        lambda: cholc.append_packed(np.zeros(44), 5, 3, E, D, cD),  # (s + r + 1)(s + r + 2) / 2
        lambda: cholc.append_packed(ap, 4, 3, E, D, cD),  # E has 5 rows
        lambda: cholc.append_packed(ap, 5, 4, E, D, cD),  # E has 3 columns
        lambda: cholc.append_packed(ap, 5, 3, E, np.eye(2), cD),
        lambda: cholc.append_packed(ap, 5, 3, E.astype(np.float32), D, cD),
        lambda: cholc.append_packed(ap, 5, 3, E, D, cD[:2]),
        lambda: cholc.append_packed(ap, 5, 3, E[:, 0], D, cD),
    ]
    for call in bad_calls:
        with pytest.raises(ValueError):
            call()
    np.testing.assert_array_equal(ap, 0.0)
    cholc.append_packed(np.zeros(45), 5, 3, E, D, cD)  # the least room that serves


def block_reference(D, G, tol):
    """The numpy version of the entering block (``working_set._Set._extension``): U_D from
    LAPACK dpotrf of D - G and the number of leading pivots that pass the dependence test."""
    import scipy.linalg
    sq = D.diagonal().copy()
    UD, info = scipy.linalg.lapack.dpotrf(D - (0.0 if G is None else G), lower=False,
                                          clean=True)
    k = D.shape[0] if info == 0 else info - 1
    ok = np.diagonal(UD)[:k] ** 2 > tol * sq[:k]
    return UD, int(np.argmin(ok)) if not ok.all() else k


@pytest.mark.parametrize("k", [1, 2, 5, 16, 64])
@pytest.mark.parametrize("with_g", [False, True])
def test_compiled_block_cholesky_matches_lapack(k, with_g):
    needs_extension()
    rng = np.random.default_rng(k + 100 * with_g)
    V = rng.standard_normal((200, k))
    E = rng.standard_normal((30, k)) if with_g else None
    D = V.T @ V + (E.T @ E if with_g else 0.0)  # D - E^T E = V^T V: positive definite
    G = E.T @ E if with_g else None
    UD_ref, r_ref = block_reference(D, G, ws._WS_DEPENDENT)
    UD = D.copy()
    r = ws._cholc.block_cholesky(UD, G, ws._WS_DEPENDENT)
    assert r == r_ref == k
    # cond(V) <= ~3 for these blocks: 1e-12 relative is far above the rounding of a Cholesky.
    np.testing.assert_allclose(np.triu(UD), UD_ref, rtol=0, atol=1e-12 * np.abs(UD_ref).max())
    if G is not None:
        np.testing.assert_array_equal(G, E.T @ E)  # G is read only


@pytest.mark.parametrize("tol", [1e-12, 0.5])
def test_compiled_block_cholesky_stops_at_a_dependent_candidate(tol):
    # Candidate 3 is a combination of candidates 0 and 1 (its pivot is rounding, ~1e-8 of its
    # norm at most, its square far under 1e-12 of its squared norm, or not positive),
    # candidate 5 nearly one of candidate 2 (pivot^2 ~ 1e-4 of its squared norm: dependent
    # under tol = 0.5 only): the factor stops at the first that fails, as dpotrf and the
    # test on its diagonal do, and writes nothing that is not finite.
    needs_extension()
    rng = np.random.default_rng(7)
    V = rng.standard_normal((50, 8))
    V[:, 3] = V[:, 0] - 2.0 * V[:, 1]
    V[:, 5] = V[:, 2] + 1e-2 * rng.standard_normal(50)
    D = V.T @ V
    UD = D.copy()
    r = ws._cholc.block_cholesky(UD, None, tol)
    assert r == block_reference(D, None, tol)[1] == 3
    assert np.isfinite(UD).all()
    V[:, 3] = rng.standard_normal(50)
    D = V.T @ V
    UD = D.copy()
    r = ws._cholc.block_cholesky(UD, None, tol)
    assert r == block_reference(D, None, tol)[1] == (5 if tol == 0.5 else 8)
    # A pivot that is not positive stops the factor whatever the tolerance.
    D = np.array([[1.0, 2.0], [2.0, 1.0]])
    assert ws._cholc.block_cholesky(D.copy(), None, 0.0) == block_reference(D, None, 0.0)[1] == 1


def test_compiled_block_cholesky_refuses_bad_input():
    needs_extension()
    cholc = ws._cholc
    D, G = np.eye(4), np.zeros((4, 4))
    bad_calls = [
        lambda: cholc.block_cholesky(np.zeros((4, 3)), None, 1e-12),
        lambda: cholc.block_cholesky(np.zeros(4), None, 1e-12),
        lambda: cholc.block_cholesky(np.eye(4, dtype=np.float32), None, 1e-12),
        lambda: cholc.block_cholesky(np.asfortranarray(np.ones((4, 4)))[:, ::2], None, 1e-12),
        lambda: cholc.block_cholesky(D, np.zeros((3, 3)), 1e-12),
        lambda: cholc.block_cholesky(D, G.astype(np.float32), 1e-12),
        lambda: cholc.block_cholesky(D, G, -1.0),
        lambda: cholc.block_cholesky(D, G, float("nan")),
    ]
    for call in bad_calls:
        with pytest.raises(ValueError):
            call()
    read_only = np.eye(4)
    read_only.flags.writeable = False
    with pytest.raises(ValueError):
        cholc.block_cholesky(read_only, None, 1e-12)
    np.testing.assert_array_equal(D, np.eye(4))


def candidates_reference(w, passive, blocked, tol, width):
    """The numpy selection with ties broken by the lower index (argpartition's choice among
    values tied at the cut is its own): eligible indices, sorted by -w and then by index."""
    cand = np.flatnonzero(~passive & ~blocked & (w > tol))
    return cand[np.lexsort((cand, -w[cand]))][:width]


@pytest.mark.parametrize("n,width", [(1, 1), (7, 3), (50, 1), (50, 16), (1000, 16),
                                     (1000, 64), (30, 64)])
@pytest.mark.parametrize("seed", [0, 1])
def test_compiled_candidate_selection_matches_numpy(n, width, seed):
    needs_extension()
    rng = np.random.default_rng(100 * n + width + seed)
    w = rng.standard_normal(n)
    w[rng.random(n) < 0.1] = np.nan  # never a candidate (numpy: nan > tol is False)
    w[rng.random(n) < 0.2] = 0.75  # ties, also across the cut
    passive, blocked = rng.random(n) < 0.3, rng.random(n) < 0.1
    for tol in (0.0, 0.5, np.inf):
        ref = candidates_reference(w, passive, blocked, tol, width)
        got = ws._candidates(w, passive, blocked, tol, width, compiled=True)
        np.testing.assert_array_equal(got, ref)
        numpy_sel = ws._candidates(w, passive, blocked, tol, width, compiled=False)
        # numpy: the same values, largest first; the same indices wherever no tie is cut
        np.testing.assert_array_equal(w[numpy_sel], w[ref])
        if ref.size < width or w[ref[-1]] != 0.75:
            np.testing.assert_array_equal(np.sort(numpy_sel), np.sort(ref))


def test_compiled_candidate_selection_refuses_bad_input():
    needs_extension()
    cholc = ws._cholc
    w, p, bl, out = np.ones(5), np.zeros(5, bool), np.zeros(5, bool), np.zeros(3, np.intp)
    bad_calls = [
        lambda: cholc.select_candidates(w.astype(np.float32), p, bl, 0.0, out),
        lambda: cholc.select_candidates(np.ones((5, 1)), p, bl, 0.0, out),
        lambda: cholc.select_candidates(w, p[:4], bl, 0.0, out),
        lambda: cholc.select_candidates(w, p, bl.astype(np.uint8), 0.0, out),
        lambda: cholc.select_candidates(w, p, bl, 0.0, np.zeros(0, np.intp)),
        lambda: cholc.select_candidates(w, p, bl, 0.0, out.astype(np.int32)),
        lambda: cholc.select_candidates(w[::2], p[::2], bl[::2], 0.0, out),
    ]
    for call in bad_calls:
        with pytest.raises(ValueError):
            call()
    read_only = np.zeros(3, np.intp)
    read_only.flags.writeable = False
    with pytest.raises(ValueError):
        cholc.select_candidates(w, p, bl, 0.0, read_only)
    np.testing.assert_array_equal(out, 0)


@pytest.mark.parametrize("m,n,seed", [(300, 200, 5), (120, 120, 2)])
def test_compiled_and_numpy_selection_take_the_same_path_on_the_square_factor(m, n, seed,
                                                                             monkeypatch):
    # m >= n: the square factor (working_set._Set), where only the selection is compiled.
    needs_extension()
    A, b = gaussian(m, n, seed)
    runs = _compiled_then_numpy(A, b, monkeypatch)
    (xc, itc), (xn, itn) = runs
    assert itc == itn
    np.testing.assert_array_equal(xc > 0, xn > 0)
    np.testing.assert_allclose(xc, xn, rtol=0, atol=1e-10 * np.abs(xn).max())


# The vector levels of ``_cholc``: 0 the SSE2 kernels (any x86-64 CPU, and the only level
# elsewhere), 1 their AVX2 + FMA variants, chosen at import where the CPU has both. Fused
# multiply-adds round once where the baseline rounds twice and the sums run in another order,
# so the levels agree to rounding, not bit for bit: the triangular factors here come from the
# QR of Gaussian matrices with 20 more rows than columns, cond(U) below 30, where a solve's
# backward-stable error is below eps * cond * s ~ 1e-12 relative at s = 131 (the two solves
# from c: cond^2, but measured below 2e-14 at both levels) and 1e-11 is a wide margin that an
# error in one entry of a block (any wrong term of a sum) still breaks.

@pytest.fixture(params=[0, 1], ids=["sse2", "avx2"])
def simd(request):
    """Runs the test at each vector level of ``_cholc`` and restores the level chosen at import."""
    needs_extension()
    cholc = ws._cholc
    if request.param > cholc.simd_max:
        pytest.skip("this CPU lacks AVX2 and FMA: only the SSE2 kernels can run")
    start = cholc.simd(request.param)
    yield request.param
    cholc.simd(start)


def levels():
    """The vector levels this CPU runs."""
    return list(range(ws._cholc.simd_max + 1))


def test_simd_level_is_read_set_and_checked():
    needs_extension()
    cholc = ws._cholc
    start = cholc.simd()
    assert start == cholc.simd_max in (0, 1)  # the best level the CPU has, chosen at import
    try:
        for level in levels():
            cholc.simd(level)
            assert cholc.simd() == level
        with pytest.raises(ValueError, match="level"):
            cholc.simd(cholc.simd_max + 1)
        with pytest.raises(ValueError, match="level"):
            cholc.simd(-2)
        assert cholc.simd() == cholc.simd_max  # a refused level changes nothing
    finally:
        cholc.simd(start)


SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 12, 33, 130, 131]


@pytest.mark.parametrize("s", SIZES)
@pytest.mark.parametrize("r", [1, 3, 4, 5, 8, 9, 12, 16, 17, 20])
def test_transposed_solve_at_each_level_matches_scipy(simd, s, r):
    import scipy.linalg
    U, ap = packed_upper(s, seed=10 * s + r)
    C = np.random.default_rng(r).standard_normal((s, r))
    E = C.copy()
    ws._cholc.solve_lower(ap, s, E)
    ref = scipy.linalg.solve_triangular(U, C, trans="T", lower=False)
    np.testing.assert_allclose(E, ref, rtol=0, atol=1e-11 * np.abs(ref).max())


@pytest.mark.parametrize("s", [5, 33, 131])
def test_levels_agree_with_each_other(s):
    """The same solves and downdate at every level the CPU runs, to rounding."""
    needs_extension()
    if ws._cholc.simd_max < 1:
        pytest.skip("this CPU lacks AVX2 and FMA: there is only one level to compare")
    cholc = ws._cholc
    ap = packed_upper(s, seed=s)[1]
    C = np.random.default_rng(s).standard_normal((s, 16))
    start = cholc.simd()
    out = []
    try:
        for level in (0, 1):
            cholc.simd(level)
            E = C.copy()
            cholc.solve_lower(ap, s, E)
            down = ap.copy()
            cholc.delete_packed(down, s, s // 3)
            out.append((E, down))
    finally:
        cholc.simd(start)
    (E0, d0), (E1, d1) = out
    np.testing.assert_allclose(E1, E0, rtol=0, atol=1e-11 * np.abs(E0).max())
    np.testing.assert_allclose(d1, d0, rtol=0, atol=1e-11 * np.abs(d0).max())


@pytest.mark.parametrize("s", SIZES)
def test_per_step_solves_at_each_level_match_scipy_and_dtpsv(simd, s):
    """lh_inner's solves when every variable stays (z > 0): with the column [y; rho] one back
    substitution (U z = y), and from c two (U^T U z = c), against dense and packed BLAS."""
    import scipy.linalg
    U, ap = packed_upper(s, seed=s)
    U *= np.sign(np.diag(U))[:, None]  # the positive diagonal of a Cholesky factor
    ap = U.T[np.tril_indices(s)].copy()
    z = 1.0 + np.random.default_rng(s).random(s)  # positive: one step, nothing leaves
    y = U @ z
    apy = np.concatenate([ap, y, [0.0]])
    x = np.ones(s)
    assert ws._cholc.lh_inner(apy, s, x, None, np.arange(s)) == s
    ref = scipy.linalg.solve_triangular(U, y)
    np.testing.assert_allclose(x, ref, rtol=0, atol=1e-11 * np.abs(ref).max())
    ref_packed = wide._dtpsv(s, ap, y)  # upper, no transpose, non-unit
    np.testing.assert_allclose(x, ref_packed, rtol=0, atol=1e-11 * np.abs(ref).max())
    c = U.T @ y
    x = np.ones(s)
    assert ws._cholc.lh_inner(ap.copy(), s, x, c.copy(), np.arange(s)) == s
    ref = scipy.linalg.cho_solve((U, False), c)
    np.testing.assert_allclose(x, ref, rtol=0, atol=1e-11 * np.abs(ref).max())


@pytest.mark.parametrize("s,k", [(1, 0), (2, 0), (5, 1), (9, 0), (9, 8), (33, 3), (33, 20),
                                 (131, 0), (131, 60), (131, 127)])
def test_downdate_at_each_level_is_the_factor_of_the_kept_columns(simd, s, k):
    U, ap = packed_upper(s, seed=s + k)
    down = ap.copy()
    ws._cholc.delete_packed(down, s, k)
    n = s - 1
    V = np.zeros((n, n))
    V.T[np.tril_indices(n)] = down[:n * (n + 1) // 2]
    keep = np.delete(np.arange(s), k)
    G = U[:, keep].T @ U[:, keep]
    np.testing.assert_allclose(V.T @ V, G, rtol=0, atol=1e-11 * np.abs(G).max(initial=0.0))
    np.testing.assert_array_equal(np.tril(V, -1), 0.0)


# A_F^T V gathered by slot (_cholc.gather_dot, the product of PackedSet._extension): each entry
# is a dot product of m terms, summed in another order than BLAS sums it, so the two agree to
# rounding, not bit for bit: each is within gamma_m = m eps / (1 - m eps) of the exact sum
# times |a| . |v| (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., eq.
# 3.5), so they differ by at most 2 gamma_m |a| . |v| (2.1 m eps below); a term lost or taken
# twice, or a row of another slot, is an error of order |a_i v_i|, far above it.

def gather_case(s, m, w, seed, repeat=False):
    """(At, slot, Vt): At with 2 s + 3 rows, the s rows in slot in a shuffled order and the
    free ones NaN (a product that read one would be NaN); ``repeat``: slot names rows twice."""
    rng = np.random.default_rng(seed)
    cap = 2 * s + 3
    slot = rng.permutation(cap)[:s]
    if repeat and s >= 2:
        slot[s // 2:] = slot[:s - s // 2]
    At = np.full((cap, m), np.nan)
    At[slot] = rng.standard_normal((s, m))
    return At, slot.astype(np.intp), rng.standard_normal((w, m))


def assert_gather_product(At, slot, Vt, out):
    ref = At[slot] @ Vt.T
    bound = 2.1 * max(Vt.shape[1], 1) * np.finfo(float).eps * (np.abs(At[slot]) @ np.abs(Vt.T))
    assert out.shape == ref.shape
    assert np.all(np.abs(out - ref) <= bound)


@pytest.mark.parametrize("m", [0, 1, 3, 4, 7, 500])
@pytest.mark.parametrize("s", [0, 1, 2, 3, 5, 130])
def test_gather_dot_at_each_level_matches_numpy(simd, s, m):
    for w in range(17):  # every tile of the kernel: w % 4 and the rows per tile vary with w
        At, slot, Vt = gather_case(s, m, w, seed=100 * s + 10 * m + w)
        out = np.full((s, w), np.nan)
        ws._cholc.gather_dot(At, slot, Vt, out)
        assert_gather_product(At, slot, Vt, out)


@pytest.mark.parametrize("s,m,w", [(5, 9, 4), (13, 10, 16), (8, 3, 2), (11, 5, 1)])
def test_gather_dot_with_a_row_named_twice(simd, s, m, w):
    At, slot, Vt = gather_case(s, m, w, seed=s, repeat=True)
    assert np.unique(slot).size < s
    out = np.empty((s, w))
    ws._cholc.gather_dot(At, slot, Vt, out)
    assert_gather_product(At, slot, Vt, out)


def test_gather_dot_levels_agree():
    needs_extension()
    if ws._cholc.simd_max < 1:
        pytest.skip("this CPU lacks AVX2 and FMA: there is only one level to compare")
    cholc = ws._cholc
    At, slot, Vt = gather_case(130, 500, 16, seed=7)
    start = cholc.simd()
    out = []
    try:
        for level in (0, 1):
            cholc.simd(level)
            out.append(np.empty((130, 16)))
            cholc.gather_dot(At, slot, Vt, out[-1])
    finally:
        cholc.simd(start)
    assert_gather_product(At, slot, Vt, out[0])
    assert_gather_product(At, slot, Vt, out[1])
    assert not np.isnan(out[0]).any() and np.any(out[0] != out[1])  # summed in another order


def test_gather_dot_refuses_bad_input():
    needs_extension()
    gather_dot = ws._cholc.gather_dot
    At = np.ones((6, 5))
    slot = np.array([4, 0, 2], dtype=np.intp)
    Vt = np.ones((3, 5))
    out = np.full((3, 3), 7.0)
    read_only = out.copy()
    read_only.flags.writeable = False
    bad_calls = {
        "At": [(At.astype(np.float32), slot, Vt, out), (np.asfortranarray(At), slot, Vt, out),
               (At[:, ::2], slot, Vt[:, :3], out), (np.ones(5), slot, Vt, out),
               (np.ones((6, 5, 1)), slot, Vt, out)],
        "slot": [(At, slot.astype(np.int32), Vt, out), (At, slot.astype(np.float64), Vt, out),
                 (At, slot[:, None], Vt, out), (At, np.array([0, 6, 1]), Vt, out),
                 (At, np.array([0, -1, 1]), Vt, out), (At, np.zeros(6, np.intp)[::2], Vt, out)],
        "Vt": [(At, slot, np.ones((3, 4)), out), (At, slot, Vt.astype(np.float32), out),
               (At, slot, np.ones((5, 3)).T, out), (At, slot, np.ones(5), out)],
        "out": [(At, slot, Vt, np.zeros((2, 3))), (At, slot, Vt, np.zeros((3, 4))),
                (At, slot, Vt, np.zeros((3, 3), np.float32)),
                (At, slot, Vt, np.zeros((3, 6))[:, ::2]), (At, slot, Vt, read_only),
                (At, slot, Vt, np.zeros(9))],
    }
    for name, calls in bad_calls.items():
        for args in calls:
            with pytest.raises(ValueError, match=rf"gather_dot: {name}\b"):
                gather_dot(*args)
    for i, name in enumerate(["At", "slot", "Vt", "out"]):
        args = [At, slot, Vt, out]
        args[i] = args[i].tolist()
        with pytest.raises(TypeError, match=f"gather_dot: {name} must be a numpy array"):
            gather_dot(*args)
    assert np.all(out == 7.0)  # nothing was written
    gather_dot(At, slot, Vt, out)  # the same arguments, well formed
    np.testing.assert_array_equal(out, 5.0)


def test_packed_sets_product_gathered_by_slot_matches_numpy(simd, packed):
    # The product of _extension after variables have left (free rows of At among the used
    # ones, F's rows not in slot order), the kernel's against numpy's.
    A, b = gaussian(120, 240, 4)
    _working_set(A, b, None, 720)
    p = packed[-1]  # the set the solve built (the autouse fixture records them)
    s = p.F.size
    assert p.used > s and np.any(np.diff(p.slot) < 0)  # free rows, rows out of order
    cand = np.flatnonzero(~np.isin(np.arange(240), p.F))[:16]
    V = A[:, cand]
    out = np.empty((s, 16))
    ws._cholc.gather_dot(p.At, p.slot, np.ascontiguousarray(V.T), out)
    assert_gather_product(p.At, p.slot, np.ascontiguousarray(V.T), out)
    ref = (p.At[:p.used] @ V)[p.slot]
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
