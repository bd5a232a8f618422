"""The seeded problems of :mod:`reparam.problems` are what their docstrings say."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize

from reparam import problems


@pytest.mark.parametrize("shape", [(40, 20), (200, 50), (30, 30)])
def test_wellposed_x_true_is_the_strictly_complementary_nnls_solution(shape):
    A, b, x_true = problems.wellposed(*shape, seed=1)
    g = A.T @ (A @ x_true - b)
    active = x_true > 0
    np.testing.assert_allclose(g[active], 0.0, atol=1e-12)
    assert np.all(g[~active] >= 0.05 - 1e-12) and np.all(g[~active] <= 0.15 + 1e-12)
    x_ref, _ = scipy.optimize.nnls(A, b)
    np.testing.assert_allclose(x_ref, x_true, atol=1e-10)
