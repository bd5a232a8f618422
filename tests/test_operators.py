"""Sparse matrices and LinearOperators give the answers of the dense matrix."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import wellposed_problem
from scipy.sparse.linalg import aslinearoperator

import reparam as rp
from reparam.solvers import auto

FIRST_ORDER = ["fista", "accelerated", "reparam-nesterov", "riemannian-bb", "projected-gd"]


@pytest.fixture
def problem():
    A, b = wellposed_problem(40, 20, seed=3)
    A[np.abs(A) < 0.1] = 0.0  # make it genuinely sparse
    return A, b


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("method", ["auto", "active-set", *FIRST_ORDER])
def test_sparse_equals_dense(problem, fmt, method):
    A, b = problem
    dense = rp.nnls(A, b, method=method, tol=1e-9, max_iter=100_000)
    sparse = rp.nnls(sp.csr_array(A).asformat(fmt), b, method=method, tol=1e-9,
                     max_iter=100_000)
    assert dense.success and sparse.success, sparse.message
    np.testing.assert_allclose(sparse.x, dense.x, atol=1e-7)
    assert sparse.kkt <= 1e-9


@pytest.mark.parametrize("method", ["auto", *FIRST_ORDER])
def test_linear_operator_equals_dense(problem, method):
    A, b = problem
    exact = rp.nnls(A, b, method="active-set")
    res = rp.nnls(aslinearoperator(A), b, method=method, tol=1e-9, max_iter=100_000)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, exact.x, atol=1e-7)


def test_auto_never_densifies_a_large_sparse_matrix(monkeypatch):
    A = sp.random_array((3000, 2000), density=0.002, format="csr", rng=0)
    b = A @ np.ones(2000)

    def forbidden(*args, **kwargs):
        raise AssertionError("densified")

    monkeypatch.setattr(sp.csr_array, "toarray", forbidden)
    res = rp.nnls(A, b)
    assert res.method == "fista"
    assert res.kkt <= 1e-6 and res.success
    assert "kkt" in res.message and "tol 1e-06" in res.message


def test_auto_choice_by_kind():
    A, b = wellposed_problem(40, 20, seed=3)
    assert rp.nnls(A, b).method == "active-set"
    assert rp.nnls(sp.csr_array(A), b).method == "active-set"  # small: densified, exact
    assert rp.nnls(aslinearoperator(A), b).method == "fista"
    assert auto._DENSIFY_LIMIT < 3000 * 2000


def test_exact_method_refuses_an_operator(problem):
    A, b = problem
    with pytest.raises(ValueError, match="LinearOperator"):
        rp.nnls(aslinearoperator(A), b, method="scipy")


def test_sparse_input_is_not_modified(problem):
    A, b = problem
    S = sp.csr_array(A)
    data, indices = S.data.copy(), S.indices.copy()
    rp.nnls(S, b, method="fista")
    np.testing.assert_array_equal(S.data, data)
    np.testing.assert_array_equal(S.indices, indices)


def test_sparse_with_non_finite_data_is_rejected(problem):
    A, b = problem
    S = sp.csr_array(A)
    S.data[0] = np.nan
    with pytest.raises(ValueError, match="A contains 1 non-finite"):
        rp.nnls(S, b)


def test_warm_start_exact_takes_fewer_iterations():
    A, b = wellposed_problem(300, 150, seed=8)
    cold = rp.nnls(A, b, method="active-set")
    warm = rp.nnls(A, b, method="active-set", x0=cold.x)
    assert warm.success
    np.testing.assert_allclose(warm.x, cold.x, atol=1e-10)
    assert warm.n_iter < cold.n_iter
