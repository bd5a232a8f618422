"""Bad input gives a clear error that names the argument; nothing crashes deep in numpy."""

from __future__ import annotations

import numpy as np
import pytest

import reparam as rp

A = np.arange(12, dtype=float).reshape(4, 3) + np.eye(4, 3)
b = np.ones(4)


@pytest.mark.parametrize(
    "args, kwargs, exc, match",
    [
        ((A, np.ones(5)), {}, ValueError, r"b has shape \(5,\), but A has 4 rows"),
        ((A, np.ones((4, 2, 2))), {}, ValueError, "b has shape"),
        ((A, np.ones((4, 0))), {}, ValueError, "at least one right-hand side"),
        ((np.ones(4), b), {}, ValueError, "A has shape"),
        ((np.where(A > 5, np.nan, A), b), {}, ValueError, "A contains .* non-finite"),
        ((A, np.array([1, np.inf, 0, 0])), {}, ValueError, "b contains 1 non-finite"),
        ((A.astype(str), b), {}, TypeError, "A has dtype"),
        ((A, b.astype(str)), {}, TypeError, "b has dtype"),  # complex b is accepted
        ((A, b), {"method": "newton"}, ValueError, "method must be one of"),
        ((A, b), {"method": "reparam-gd", "depth": 1}, ValueError, "depth must be >= 2"),
        ((A, b), {"method": "reparam-gd", "depth": 2.5}, TypeError, "depth must be an integer"),
        ((A, b), {"method": "reparam-gd", "init_scale": 0.0}, ValueError, "init_scale must be > 0"),
        ((A, b), {"method": "reparam-gd", "init_scale": -1}, ValueError, "init_scale must be > 0"),
        ((A, b), {"method": "reparam-gd", "step": "big"}, ValueError, "step must be 'auto'"),
        ((A, b), {"method": "reparam-gd", "step": -0.1}, ValueError, "step must be > 0"),
        ((A, b), {"method": "reparam-gd", "decay": 2}, ValueError, r"decay must lie in \[0, 1\]"),
        ((A, b), {"method": "fista", "depth": 2}, TypeError, "unknown option.*depth"),
        ((A, b), {"method": "reparam-gd", "tolerance": 1}, TypeError, "unknown option"),
        ((A, b), {"tol": -1.0}, ValueError, "tol must be >= 0"),
        ((A, b), {"max_iter": 0}, ValueError, "max_iter must be >= 1"),
        ((A, b), {"callback": 3}, TypeError, "callback must be callable"),
        ((A, b), {"x0": -np.ones(3)}, ValueError, "x0 has 3 negative entries"),
        ((A, b), {"x0": np.ones(4)}, ValueError, r"x0 has shape \(4,\)"),
        ((A, b), {"method": "riemannian-bb", "bb": "medium"}, ValueError, "bb must be one of"),
    ],
)
def test_bad_input_raises_a_named_error(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        rp.nnls(*args, **kwargs)


def test_ragged_input_is_a_type_error():
    with pytest.raises((TypeError, ValueError), match="A"):
        rp.nnls([[1.0, 2.0], [3.0]], [1.0, 2.0])


def test_operator_input_needs_a_matrix_for_exact_methods():
    from scipy.sparse.linalg import aslinearoperator

    with pytest.raises(ValueError, match="LinearOperator"):
        rp.nnls(aslinearoperator(A), b, method="active-set")


def test_kkt_residual_checks_shapes():
    with pytest.raises(ValueError, match="do not fit"):
        rp.kkt_residual(A, b, np.ones(4))
