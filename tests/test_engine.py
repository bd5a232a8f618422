"""The engine's parts: objectives, domains, parametrizations' vjp, step policies, the driver,
and ``rp.train`` on a matrix model."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator

import reparam as rp
from reparam import domains, objectives, problems
from reparam.objectives import LeastSquares
from reparam.optimizers import OPTIMIZERS, Task, run
from reparam.optimizers.steps import armijo
from reparam.parametrizations import Box as BoxParam
from reparam.parametrizations import (
    DeepProduct,
    Difference,
    Hadamard,
    NonnegativeProduct,
    Power,
    Product,
    SymmetricProduct,
    WeightNormalized,
)


def _fd_grad(fun, x, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (fun(x + e) - fun(x - e)) / (2 * h)
    return g


def _sensing(d=6, m=30, seed=0):
    rng = np.random.default_rng(seed)
    ops = rng.standard_normal((m, d, d)) / np.sqrt(m)
    X = rng.standard_normal((d, d))
    return ops, np.einsum("ijk,jk->i", ops, X), rng


@pytest.mark.parametrize("kind", ["dense", "sparse", "operator", "nogram"])
def test_least_squares_gradient_and_storage(kind):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((12, 7))
    b = rng.standard_normal(12)
    A_in = {"dense": A, "nogram": A, "sparse": sp.csr_array(A),
            "operator": aslinearoperator(A)}[kind]
    f = objectives.LeastSquares(A_in, b, use_gram=kind != "nogram")
    x = rng.standard_normal(7)
    val, g = f.value_and_grad(x)
    # central differences on a quadratic are exact up to rounding (~1e-9 at h = 1e-6)
    np.testing.assert_allclose(g, _fd_grad(f.value, x), rtol=1e-6, atol=1e-7)
    assert val == pytest.approx(0.5 * np.sum((A @ x - b) ** 2), rel=1e-12)
    np.testing.assert_allclose(f.col_norms, np.linalg.norm(A, axis=0), rtol=1e-12)
    assert f.rhs_norm == pytest.approx(np.linalg.norm(b))
    assert f.lipschitz() >= np.linalg.norm(A, 2) ** 2 * (1 - 1e-12)


def test_least_squares_columns_are_independent_problems():
    rng = np.random.default_rng(1)
    A, B, X = rng.standard_normal((9, 4)), rng.standard_normal((9, 3)), rng.standard_normal((4, 3))
    f, g = objectives.LeastSquares(A, B).value_and_grad(X)
    for j in range(3):
        fj, gj = objectives.LeastSquares(A, B[:, j]).value_and_grad(X[:, j])
        assert f[j] == pytest.approx(fj, rel=1e-12)
        np.testing.assert_allclose(g[:, j], gj, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("form", ["tensor", "matrix", "rank_one"])
def test_matrix_sensing_gradient(form):
    ops, y, rng = _sensing()
    if form == "tensor":
        f = objectives.MatrixSensing(ops, y)
    elif form == "matrix":
        f = objectives.MatrixSensing(ops.reshape(len(y), -1), y, shape=(6, 6))
    else:
        left, right = rng.standard_normal((30, 6)), rng.standard_normal((30, 6))
        f = objectives.MatrixSensing.rank_one(left, right, y)
        ops = np.einsum("ij,ik->ijk", left, right)  # the same measurements, stored densely
    X = rng.standard_normal((6, 6))
    assert f.value(X) == pytest.approx(0.5 * np.sum((np.einsum("ijk,jk->i", ops, X) - y) ** 2))
    np.testing.assert_allclose(f.grad(X), _fd_grad(f.value, X), rtol=1e-6, atol=1e-6)
    # ‖A*A‖ bounds the curvature: f(X + D) − f(X) − <∇f, D> = ½‖A(D)‖² <= ½ L ‖D‖²
    D = rng.standard_normal((6, 6))
    gap = f.value(X + D) - f.value(X) - np.sum(f.grad(X) * D)
    assert gap <= 0.5 * f.lipschitz() * np.sum(D * D) * (1 + 1e-9)


def test_completion_and_factorization_gradients():
    rng = np.random.default_rng(2)
    M, X = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    mask = rng.random((4, 5)) < 0.5
    for f in (objectives.MatrixCompletion(M, mask), objectives.Factorization(M)):
        np.testing.assert_allclose(f.grad(X), _fd_grad(f.value, X), rtol=1e-6, atol=1e-7)
    assert objectives.Factorization(M).value(M) == 0.0


def test_user_objective_and_bad_objective():
    class Quad:
        shape = (3,)

        def value(self, x):
            return 0.5 * float(np.sum((x - 1.0) ** 2))

        def grad(self, x):
            return x - 1.0

    res = rp.train(Quad(), Difference(2), init_scale=0.1, tol=1e-10, max_iter=5000)
    assert res.success
    np.testing.assert_allclose(res.x, 1.0, atol=1e-9)
    with pytest.raises(TypeError, match="value"):
        rp.train(object(), Power(2), init_scale=0.1)


def test_orthant_certificate_contract():
    cert = domains.Orthant().certificate
    x, g = np.array([2.0, 0.0, 1.0]), np.array([0.0, 3.0, -0.5])
    assert cert(x, g) == 0.5
    s = np.array([2.0, 1.0, 4.0])
    # max_i |min(s_i x_i, g_i / s_i)| / norm: the third term is |min(4, -0.125)| = 0.125
    assert cert(x, g, scale=s, norm=0.5) == pytest.approx(0.25)
    # scaling column i of A by c scales x_i by 1/c and g_i by c: the certificate is unchanged
    c = np.array([10.0, 0.1, 3.0])
    assert cert(x / c, g * c, scale=s * c, norm=0.5) == pytest.approx(0.25)
    # zero scale: x_i must be zero
    assert cert(np.array([0.0, 1.0]), np.zeros(2), scale=np.array([1.0, 0.0])) == np.inf
    assert cert(np.array([1.0, 0.0]), np.zeros(2), scale=np.array([1.0, 0.0])) == 0.0
    # per column for a block, with a per-column norm
    X = np.column_stack([x, 2 * x])
    G = np.column_stack([g, g])
    np.testing.assert_allclose(cert(X, G, norm=np.array([1.0, 2.0])), [0.5, 0.25])


def test_orthant_certificate_is_zero_at_the_exact_solution():
    A, b, _ = problems.gaussian(30, 12, sparsity=4, seed=8)
    x = rp.nnls(A, b, method="active-set", tol=1e-12).x
    f = objectives.LeastSquares(A, b)
    assert domains.Orthant().certificate(x, f.grad(x), f.col_norms, f.rhs_norm) < 1e-12


def test_box_simplex_free_certificates_and_projections():
    box = domains.Box(0.0, 1.0)
    np.testing.assert_allclose(box.project(np.array([-1.0, 0.5, 2.0])), [0.0, 0.5, 1.0])
    assert box.certificate(np.array([0.0, 1.0]), np.array([1.0, -1.0])) == 0.0
    assert box.certificate(np.array([0.5]), np.array([0.2])) == pytest.approx(0.2)
    simplex = domains.Simplex()
    assert simplex.certificate(np.array([0.5, 0.5]), np.array([1.0, 1.0])) == 0.0
    assert simplex.certificate(np.array([0.5, 0.5]), np.array([0.0, 1.0])) > 0.0
    np.testing.assert_allclose(simplex.project(np.array([0.6, 0.6])), [0.5, 0.5])
    assert domains.Free().certificate(np.ones(2), np.array([0.1, -0.3]), norm=3.0) == \
        pytest.approx(0.1)
    assert repr(domains.for_parametrization(Power(2))) == "Orthant()"
    assert repr(domains.for_parametrization(Difference(2))) == "Free()"


@pytest.mark.parametrize(
    "param, shape",
    [(Product(3), (4, 5)), (NonnegativeProduct(3), (4, 5)), (SymmetricProduct(3), (4, 4)),
     (DeepProduct(3, width=4), (3, 5)),
     (DeepProduct(1), (3, 2)), (WeightNormalized(), 5), (Power(3), 4), (Difference(2), 4)],
)
def test_vjp_is_the_gradient_of_the_forward_map(param, shape):
    rng = np.random.default_rng(3)
    params = param.init(shape, 0.7, rng, kind="gaussian")
    x = param.forward(params)
    G = rng.standard_normal(x.shape)
    grads = param.vjp(params, G)
    leaves = params if isinstance(params, tuple) else (params,)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for i, (p, gp) in enumerate(zip(leaves, grads)):

        def inner(p_i, i=i):
            new = list(leaves)
            new[i] = p_i
            arg = tuple(new) if isinstance(params, tuple) else new[0]
            return float(np.sum(param.forward(arg) * G))

        np.testing.assert_allclose(gp, _fd_grad(inner, p), rtol=1e-6, atol=1e-7)


def test_matrix_inits():
    p = Product(2)
    U, V = p.init((3, 4), 0.5, kind="orthogonal", rng=0)
    np.testing.assert_allclose(U.T @ U, 0.25 * np.eye(2), atol=1e-12)
    np.testing.assert_allclose(V.T @ V, 0.25 * np.eye(2), atol=1e-12)
    np.testing.assert_allclose(p.forward(p.init((3, 4), 0.5, kind="identical")),
                               0.25 * np.eye(3, 2) @ np.eye(4, 2).T)  # rank = width = 2
    with pytest.raises(ValueError, match="kind"):
        p.init((3, 4), 0.5, kind="uniform")
    Ws = DeepProduct(2).init((3, 3), 0.5, kind="identical")
    np.testing.assert_allclose(DeepProduct(2).forward(Ws), 0.25 * np.eye(3))
    r, W = WeightNormalized().init(3, 0.2)
    np.testing.assert_allclose(WeightNormalized().forward((r, W)), 0.0, atol=1e-15)
    u = Power(2).init((4, 3), np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(u[0], [1.0, 2.0, 3.0])


def test_armijo_is_bounded():
    calls = []

    def flat(t):
        calls.append(t)
        return 1.0, t

    # zero gradient: accepted at once, no doubling loop
    assert armijo(flat, 1.0, 0.0, 1.0) == (1.0, 1.0)
    # infinite slope or step: refused without evaluating
    calls.clear()
    assert armijo(flat, 1.0, -np.inf, 1.0) is None and calls == []
    assert armijo(flat, 1.0, -1.0, np.inf) is None and calls == []
    # never accepted: stops after max_backtracks halvings
    calls.clear()
    assert armijo(lambda t: (np.nan, t), 1.0, -1.0, 1.0, max_backtracks=30) is None
    calls.clear()
    assert armijo(lambda t: (2.0, calls.append(t)), 1.0, -1.0, 1.0, max_backtracks=30) is None
    assert len(calls) == 30


def test_armijo_gd_with_zero_gradient_stays_finite():
    # b = 0 and x0 = 0 (Difference from u0 = v0): g = 0 at every step; the step stops at once
    # with STALLED (no step can move) instead of doubling its Armijo step towards overflow.
    A = np.eye(2)
    task = Task(objectives.LeastSquares(A, np.zeros(2)), param=Difference(2), step="armijo")
    res = run(task, OPTIMIZERS["gd"], np.full(4, 0.1), lambda x, g, cols: 1.0, tol=0.0,
              max_iter=3000)
    assert res.status is rp.Status.STALLED and res.n_iter == 1 and np.all(np.isfinite(res.x))


def test_driver_turns_overflow_into_a_status_without_warnings():
    A, b, _ = problems.gaussian(20, 10, seed=9)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = rp.nnls(A, b, method="reparam-gd", step=1e6, max_iter=200)
    assert res.status is rp.Status.NUMERICAL_ERROR and np.all(np.isfinite(res.x))


def test_driver_ctrl_c_returns_interrupted():
    A, b, _ = problems.gaussian(20, 10, seed=9)
    f = objectives.LeastSquares(A, b)

    def callback(state):
        if state.k == 5:
            raise KeyboardInterrupt

    res = rp.train(f, Power(2), init_scale=0.1, callback=callback, tol=0.0)
    assert res.status is rp.Status.INTERRUPTED and res.n_iter == 5


def test_train_record_names_and_callables():
    A, b, _ = problems.wellposed(20, 8, seed=10)

    def x_sum(params, x):
        return float(np.sum(x))

    res = rp.train(objectives.LeastSquares(A, b), Power(2), init_scale=0.1, tol=1e-9,
                   max_iter=20_000, record=("objective", "certificate", x_sum))
    assert res.success
    assert set(res.history) == {"objective", "certificate", "x_sum"}
    assert len(res.history["objective"]) == res.n_iter + 1
    assert np.all(np.diff(res.history["objective"]) <= 1e-12)  # safe steps descend
    assert res.history["x_sum"][-1] == pytest.approx(np.sum(res.x))
    np.testing.assert_allclose(res.params**2, res.x, rtol=1e-12)
    exact = rp.nnls(A, b, method="active-set").x
    np.testing.assert_allclose(res.x, exact, atol=1e-6 * np.max(exact))
    with pytest.raises(ValueError, match="record"):
        rp.train(objectives.LeastSquares(A, b), Power(2), init_scale=0.1, record=("norm",))


def test_train_sweep_runs_as_one_block():
    A, b, _ = problems.gaussian(10, 50, sparsity=5, seed=3)
    f = objectives.LeastSquares(A, b)
    scales = np.array([0.3, 0.1, 0.03])
    res = rp.train(f, Power(2), init_scale=scales, optimizer="nesterov", tol=1e-7,
                   max_iter=20_000)
    assert res.x.shape == (50, 3) and res.success
    for j, alpha in enumerate(scales):
        one = rp.train(f, Power(2), init_scale=alpha, optimizer="nesterov", tol=1e-7,
                       max_iter=20_000)
        np.testing.assert_allclose(res.x[:, j], one.x, rtol=1e-8, atol=1e-12)
    # smaller scales pick sparser (smaller ℓ1) solutions: the implicit bias
    assert np.all(np.diff(res.x.sum(axis=0)) < 0)


def test_matrix_sensing_recovers_a_low_rank_matrix_from_small_init():
    # d = 20, rank 2, m = 5 d r Gaussian measurements (fewer than the d² = 400 unknowns): the
    # small initialization picks the low-rank interpolant; a larger one picks a worse one.
    d, r = 20, 2
    m = 5 * d * r
    rng = np.random.default_rng(0)
    X_true = rng.standard_normal((d, r)) @ rng.standard_normal((r, d))
    X_true /= np.linalg.norm(X_true)
    ops = rng.standard_normal((m, d, d)) / np.sqrt(m)
    f = objectives.MatrixSensing(ops, np.einsum("ijk,jk->i", ops, X_true))
    errors = {}
    for alpha in (1e-2, 1e-4):
        res = rp.train(f, Product(width=20), init_scale=alpha, optimizer="nesterov", step=0.5,
                       tol=1e-9, max_iter=20_000, seed=1)
        assert res.success, res.message
        errors[alpha] = np.linalg.norm(res.x - X_true) / np.linalg.norm(X_true)
    assert errors[1e-4] <= 1e-2
    assert errors[1e-4] < errors[1e-2]


def test_nonnegative_product_curvature_bounds_the_second_derivative():
    # h(t) = f(φ(params + t d)) for f = ½‖X − M‖²: the curvature bound must dominate h''(0)
    # (central differences, step 1e-4, error O(1e-8) relative) along random directions.
    from reparam.objectives import Factorization

    rng = np.random.default_rng(5)
    p = NonnegativeProduct(3)
    f = Factorization(rng.random((6, 5)))
    for scale in (0.1, 1.0, 2.0):
        U, V = p.init((6, 5), scale, rng, kind="gaussian")
        g = f.grad(p.forward((U, V)))
        bound = p.curvature((U, V), g, f.lipschitz())
        for _ in range(20):
            D, E = rng.standard_normal(U.shape), rng.standard_normal(V.shape)
            norm2 = np.sum(D * D) + np.sum(E * E)

            def h(t, U=U, V=V, D=D, E=E):
                return f.value(p.forward((U + t * D, V + t * E)))

            t = 1e-4
            second = (h(t) - 2 * h(0.0) + h(-t)) / t**2 / norm2
            assert second <= bound * (1 + 1e-6)


@pytest.mark.parametrize("param, scales, optimizer", [
    (Power(2), [0.3, 0.1, 0.03], "gd"),
    (Power(2), [0.3, 0.1, 0.03], "bb"),
    (Difference(2), [0.3, 0.1, 0.03], "gd"),
    (Hadamard(), [0.5, 0.2, 0.1], "gd"),
    (BoxParam(-0.5, 1.5), [0.3, 0.0, -0.2], "gd"),
])
def test_sweep_is_one_block_equal_to_its_single_runs(param, scales, optimizer):
    # Each value of the sweep runs as a column of one block (Armijo steps per column for the
    # parametrizations without a curvature bound) and equals its own run: same stopping
    # iteration and status, iterates to the rounding of matrix against vector products.
    A, b, _ = problems.wellposed(20, 12, seed=3)
    opts = {"optimizer": optimizer, "tol": 1e-7, "max_iter": 400}
    runs = rp.sweep((A, b), param, scales, **opts)
    assert len(runs) == len(scales)
    for alpha, res in zip(scales, runs):
        one = rp.train(LeastSquares(A, b), param, init_scale=alpha, **opts)
        assert res.status is one.status and res.n_iter == one.n_iter
        np.testing.assert_allclose(res.x, one.x, rtol=0.0, atol=1e-12)
        if one.params is not None:  # the methods in x (bb) have no parameters
            np.testing.assert_allclose(res.params, one.params, rtol=0.0, atol=1e-12)
        assert abs(res.kkt - one.kkt) <= 1e-12  # kkt <= 1e-7 carries rounding of ~1e-15


def test_sweep_rejects_bad_scales():
    A, b, _ = problems.wellposed(20, 12, seed=3)
    with pytest.raises(ValueError, match="init_scales"):
        rp.sweep((A, b), Power(2), [[0.1, 0.2]])
    with pytest.raises(TypeError, match="init_scales"):
        rp.sweep((A, b), Power(2), [0.1], init_scale=0.2)
