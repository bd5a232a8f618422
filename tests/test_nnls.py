"""rp.nnls: every method reaches its tolerance and agrees with an exact solver."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
from conftest import gaussian_problem, wellposed_problem

import reparam as rp
from reparam.solvers import METHODS

ITERATIVE = [name for name, m in METHODS.items() if m.exact is None]
EXACT = [name for name, m in METHODS.items() if m.exact is not None]

# (m, n, seed): an overdetermined problem with a strictly complementary solution, and an
# underdetermined interpolation problem (reparametrized descent converges like O(1/k) there,
# hence the generous iteration cap).
SHAPES = {"over": (40, 20, 3), "under": (20, 40, 4)}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("method", ITERATIVE)
def test_iterative_methods_reach_tolerance(method, shape):
    A, b = wellposed_problem(*SHAPES[shape])
    res = rp.nnls(A, b, method=method, tol=1e-6, max_iter=200_000)
    assert res.status is rp.Status.CONVERGED, res.message
    assert res.success
    assert res.kkt <= 1e-6
    assert res.kkt == pytest.approx(rp.kkt_residual(A, b, res.x), rel=1e-12)
    assert np.all(res.x >= 0)
    if shape == "over":  # unique solution: compare with the exact one
        x_exact, _ = scipy.optimize.nnls(A, b)
        assert np.max(np.abs(res.x - x_exact)) <= 1e-4 * np.max(x_exact)


@pytest.mark.parametrize("method", EXACT + ["auto"])
@pytest.mark.parametrize("m, n, seed", [(40, 20, 0), (200, 100, 1), (20, 40, 2), (100, 300, 3)])
def test_exact_methods_match_scipy(method, m, n, seed):
    A, b, _ = gaussian_problem(m, n, seed=seed, noise=0.05)
    res = rp.nnls(A, b, method=method)
    assert res.success, res.message
    assert res.kkt <= 1e-10
    x_ref, rnorm = scipy.optimize.nnls(A, b)
    assert res.objective == pytest.approx(0.5 * rnorm**2, rel=1e-8, abs=1e-14)
    if m > n:  # full column rank: the solution is unique
        np.testing.assert_allclose(res.x, x_ref, atol=1e-9)


def test_result_fields_and_history():
    A, b = wellposed_problem(40, 20, seed=3)
    res = rp.nnls(A, b, method="fista", record=True)
    assert set(res.history) == {"objective", "kkt"}
    assert len(res.history["kkt"]) == res.n_iter + 1
    assert res.history["kkt"][-1] == pytest.approx(res.kkt, rel=1e-6)
    assert res.complementarity >= 0
    assert res.objective == pytest.approx(0.5 * np.sum((A @ res.x - b) ** 2))
    assert "fista" in repr(res)


def test_max_iter_returns_status_with_advice():
    A, b = wellposed_problem(40, 20, seed=3)
    res = rp.nnls(A, b, method="reparam-gd", max_iter=5)
    assert res.status is rp.Status.MAX_ITER
    assert not res.success
    assert res.n_iter == 5
    assert "max_iter" in res.message and "try" in res.message
    assert np.all(np.isfinite(res.x)) and np.all(res.x >= 0)


def test_callback_sees_every_iteration_and_can_stop():
    A, b = wellposed_problem(40, 20, seed=3)
    seen = []

    def callback(state):
        seen.append((state.k, state.kkt))
        return state.k == 7

    res = rp.nnls(A, b, method="riemannian-gd", callback=callback)
    assert [k for k, _ in seen] == list(range(1, 8))
    assert res.status is rp.Status.INTERRUPTED
    assert res.n_iter == 7


def test_zero_rhs_gives_zero_at_once():
    A = np.random.default_rng(0).standard_normal((5, 3))
    for method in ["auto", "reparam-gd", "accelerated"]:
        res = rp.nnls(A, np.zeros(5), method=method)
        assert res.success and res.n_iter == 0
        np.testing.assert_array_equal(res.x, np.zeros(3))


def test_float32_stays_float32_and_int_works():
    A, b = wellposed_problem(40, 20, seed=3)
    res32 = rp.nnls(A.astype(np.float32), b.astype(np.float32))
    assert res32.x.dtype == np.float32
    res64 = rp.nnls(A, b)
    np.testing.assert_allclose(res32.x, res64.x, atol=1e-5)
    Ai = np.array([[1, 0], [0, 1], [1, 1]])
    bi = np.array([2, -1, 1])
    res = rp.nnls(Ai, bi)
    assert res.x.dtype == np.float64
    x_ref, _ = scipy.optimize.nnls(Ai.astype(float), bi.astype(float))
    np.testing.assert_allclose(res.x, x_ref, atol=1e-12)


@pytest.mark.parametrize("method", ITERATIVE + EXACT)
def test_inputs_are_never_modified(method):
    A, b = wellposed_problem(40, 20, seed=3)
    x0 = np.full(20, 0.5)
    copies = A.copy(), b.copy(), x0.copy()
    kwargs = {} if method in EXACT else {"max_iter": 50}
    rp.nnls(A, b, method=method, x0=x0, **kwargs)
    for before, after in zip(copies, (A, b, x0)):
        np.testing.assert_array_equal(before, after)


def test_batched_iterative_equals_column_by_column():
    A, b1 = wellposed_problem(40, 20, seed=3)
    _, b2 = wellposed_problem(40, 20, seed=5)
    B = np.column_stack([b1, np.zeros(40), b2])
    res = rp.nnls(A, B, method="fista", tol=1e-9)
    assert res.x.shape == (20, 3)
    assert res.kkt.shape == (3,) and res.n_iter.shape == (3,)
    for j, bj in enumerate([b1, np.zeros(40), b2]):
        np.testing.assert_allclose(res.x[:, j], rp.nnls(A, bj, method="fista", tol=1e-9).x)


def test_warm_start_from_solution_converges_immediately():
    A, b = wellposed_problem(40, 20, seed=3)
    x = rp.nnls(A, b).x
    res = rp.nnls(A, b, method="fista", x0=x)
    assert res.n_iter <= 1


def test_methods_table_has_a_summary_for_each():
    assert set(ITERATIVE + EXACT) == set(METHODS)
    assert all(m.summary for m in METHODS.values())


def test_batched_exact_returns_per_column_certificates():
    A, _ = wellposed_problem(60, 30, seed=1)
    B = np.random.default_rng(9).standard_normal((60, 50))
    B[:, 3] = 0.0
    res = rp.nnls(A, B)
    assert res.x.shape == (30, 50)
    assert res.kkt.shape == res.n_iter.shape == res.status.shape == res.objective.shape == (50,)
    assert res.success and np.all(res.status == rp.Status.CONVERGED)
    assert np.all(res.kkt <= 1e-10)
    for j in (0, 3, 49):
        np.testing.assert_allclose(res.x[:, j], scipy.optimize.nnls(A, B[:, j])[0], atol=1e-10)
