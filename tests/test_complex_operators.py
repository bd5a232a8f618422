"""Complex A and b with real x >= 0: the same answers as the stacked real form [Re A; Im A]."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, aslinearoperator

import reparam as rp


def _problem(m=12, n=8, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) + 1j * rng.standard_normal((m, n))
    x = np.abs(rng.standard_normal(n)) * (rng.random(n) < 0.6)
    b = A @ x + 0.3 * (rng.standard_normal(m) + 1j * rng.standard_normal(m))
    stacked = np.vstack([A.real, A.imag])
    return A, b, stacked, np.concatenate([b.real, b.imag])


def test_exact_solution_equals_the_stacked_real_form():
    A, b, S, c = _problem()
    res = rp.nnls(A, b)
    ref = rp.nnls(S, c)
    assert res.x.dtype == np.float64
    # both exact: the unique solution of a full-column-rank problem, to rounding
    np.testing.assert_allclose(res.x, ref.x, atol=1e-10)
    assert res.kkt <= 1e-10
    assert res.objective == pytest.approx(0.5 * np.linalg.norm(A @ res.x - b) ** 2, rel=1e-10)


@pytest.mark.parametrize("wrap", ["dense", "sparse", "operator"])
def test_iterative_method_on_every_storage(wrap):
    A, b, S, c = _problem(seed=1)
    given = {"dense": A, "sparse": sp.csr_array(A), "operator": aslinearoperator(A)}[wrap]
    res = rp.nnls(given, b, method="fista", tol=1e-9, max_iter=20_000)
    ref = rp.nnls(S, c)
    assert res.status is rp.Status.CONVERGED
    # kkt <= 1e-9 on a problem with condition number ~10 puts x within ~1e-7 of the solution
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)


def test_gradient_is_the_real_part_of_the_adjoint_residual():
    A, b, _, _ = _problem(seed=2)
    x = np.abs(np.random.default_rng(3).standard_normal(A.shape[1]))
    g = np.real(A.conj().T @ (A @ x - b))
    from reparam._validation import validate_problem

    problem = validate_problem(aslinearoperator(A), b)
    r = problem.op.matvec(x) - problem.b
    np.testing.assert_allclose(problem.op.rmatvec(r), g, rtol=1e-12, atol=1e-12)


def test_matrix_free_operator_with_only_matvec_and_adjoint():
    rng = np.random.default_rng(4)
    n, m = 64, 40
    rows = np.sort(rng.choice(n, m, replace=False))
    op = LinearOperator((m, n), dtype=np.complex128,
                        matvec=lambda x: np.fft.fft(np.ravel(x))[rows] / np.sqrt(m),
                        rmatvec=lambda r: n * np.fft.ifft(_fill(n, rows, r)) / np.sqrt(m))
    x = np.zeros(n)
    x[:3] = [1.0, 0.5, 2.0]
    b = op.matvec(x)
    dense = np.fft.fft(np.eye(n), axis=0)[rows] / np.sqrt(m)
    opts = {"method": "reparam-gd", "init_scale": 1e-2, "step": 0.2, "tol": 1e-6,
            "max_iter": 5_000}  # a fixed step: "auto" would differ by the norm estimate
    res = rp.nnls(op, b, **opts)
    ref = rp.nnls(np.vstack([dense.real, dense.imag]), np.concatenate([b.real, b.imag]), **opts)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-8)
    assert res.n_iter == ref.n_iter


def _fill(n, rows, r):
    z = np.zeros(n, dtype=complex)
    z[rows] = np.ravel(r)
    return z


def test_real_matrix_with_complex_rhs():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((10, 4))
    b = rng.standard_normal(10) + 1j * rng.standard_normal(10)
    res = rp.nnls(A, b)
    np.testing.assert_allclose(res.x, rp.nnls(A, b.real).x, atol=1e-12)


def test_complex_rows_mismatch_names_b():
    A, b, _, _ = _problem()
    with pytest.raises(ValueError, match="b has shape"):
        rp.nnls(A, b[:-1])


def test_inputs_are_not_modified():
    A, b, _, _ = _problem(seed=6)
    A0, b0 = A.copy(), b.copy()
    rp.nnls(A, b)
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(b, b0)


def test_kkt_residual_of_a_complex_problem_is_that_of_the_stacked_form():
    A, b, S, c = _problem(seed=7)
    x = rp.nnls(A, b).x
    assert rp.kkt_residual(A, b, x) == pytest.approx(rp.kkt_residual(S, c, x), abs=1e-15)
    y = x + 0.1
    assert rp.kkt_residual(A, b, y) == pytest.approx(rp.kkt_residual(S, c, y), rel=1e-12)
    assert rp.kkt_residual(A, b, y) > 1e-3
