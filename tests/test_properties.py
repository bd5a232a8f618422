"""Property tests: for every method and any input, an honest result or a clear error.

Honest means: ``x`` finite and ``>= 0`` with the input's float dtype, the inputs unchanged, and
``status == CONVERGED`` only when the reported ``kkt`` (re-measured here) meets ``tol``. The
exact methods must be exact on every generated problem.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reparam as rp
from reparam.solvers import METHODS

ITERATIVE = [name for name, m in METHODS.items() if m.exact is None]


@st.composite
def problems(draw):
    m = draw(st.integers(1, 12))
    n = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    b = rng.standard_normal(m)
    if n > 1 and draw(st.booleans()):
        A[:, draw(st.integers(0, n - 1))] = 0.0  # an empty column
    if n > 1 and draw(st.booleans()):
        A[:, -1] = A[:, 0]  # a duplicate column
    if draw(st.integers(0, 9)) == 0:
        b[:] = 0.0
    scale = 10.0 ** draw(st.sampled_from([-150, -20, 0, 20, 150]))
    dtype = draw(st.sampled_from(["float64", "float32", "int"]))
    if dtype == "int":
        A, b = np.round(4 * A).astype(int), np.round(4 * b).astype(int)
    elif dtype == "float32":
        A, b = A.astype(np.float32), b.astype(np.float32)
        scale = 10.0 ** np.clip(np.log10(scale), -20, 20)  # float32 cannot hold 1e±150
        A, b = (A * np.float32(scale)), (b * np.float32(scale))
    else:
        A, b = A * scale, b * scale
    return A, b


def _kkt_rounding(A, b, x):
    """How far two evaluations of the certificate of ``x`` may differ by rounding alone
    (products summed in another order, with or without fused multiply-adds): each
    ``g_i = a_i^T (A x - b)`` is off by at most about ``(m + n) eps (|A|^T (|A| |x| + |b|))_i``
    (Higham, Accuracy and Stability of Numerical Algorithms, 3.5), divided as the certificate
    divides ``g_i`` by ``||a_i|| ||b||``. At a solution whose gradient is rounding noise
    (``kkt`` near 1e-16) this is the whole value."""
    A64, b64, x64 = (np.asarray(v, dtype=np.float64) for v in (A, b, x))
    m, n = A64.shape
    c = np.linalg.norm(A64, axis=0)
    A_abs = np.abs(A64)
    err = (m + n) * np.finfo(float).eps * (A_abs.T @ (A_abs @ np.abs(x64) + np.abs(b64)))
    live = c > 0
    bn = np.linalg.norm(b64)
    return float(np.max(err[live] / c[live], initial=0.0)) / bn if bn > 0 else 1e-300


def _check_honest(A, b, res, tol):
    assert res.x.shape == (A.shape[1],)
    assert np.all(np.isfinite(res.x)), "NaN or inf in x"
    assert np.all(res.x >= 0), "negative entry in x"
    assert res.x.dtype == (np.float32 if A.dtype == np.float32 else np.float64)
    kkt = rp.kkt_residual(A, b, res.x)
    assert res.kkt == pytest.approx(kkt, rel=1e-6, abs=_kkt_rounding(A, b, res.x))
    if res.status is rp.Status.CONVERGED:
        assert kkt <= tol, (res.method, kkt, res.message)


SETTINGS = settings(
    max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@SETTINGS
@given(problems())
def test_exact_solver_is_exact_everywhere(problem):
    A, b = problem
    copies = A.copy(), b.copy()
    res = rp.nnls(A, b, method="active-set")
    np.testing.assert_array_equal(A, copies[0])
    np.testing.assert_array_equal(b, copies[1])
    # float32 output is rounded to float32: its kkt is limited by that rounding.
    tol = 1e-10 if A.dtype != np.float32 else 1e-4
    _check_honest(A, b, res, tol)
    assert res.status is rp.Status.CONVERGED, res.message
    assert res.kkt <= tol
    A64, b64 = A.astype(float), b.astype(float)
    _x_ref, rnorm = scipy.optimize.nnls(A64, b64)
    f_ref = 0.5 * rnorm**2
    f = 0.5 * np.sum((A64 @ res.x - b64) ** 2)
    assert f <= f_ref * (1 + 1e-6) + 1e-12 * (np.sum(b64**2) + 1e-300)


@pytest.mark.parametrize("method", ITERATIVE)
def test_iterative_methods_are_honest(method):
    @SETTINGS
    @given(problems())
    def check(problem):
        A, b = problem
        copies = A.copy(), b.copy()
        res = rp.nnls(A, b, method=method, tol=1e-6, max_iter=300)
        np.testing.assert_array_equal(A, copies[0])
        np.testing.assert_array_equal(b, copies[1])
        _check_honest(A, b, res, 1e-6)

    check()
