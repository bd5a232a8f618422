"""The iterative methods on PyTorch tensors (array API) give the NumPy answers.

The same seeded problems run with NumPy arrays and with CPU tensors in float64; both sides do
the same arithmetic (the Gram form, the same steps and stopping rule) up to the order of a
few sums inside BLAS, so the answers agree to 1e-10 after the iterations run here (rounding
differences of ~1e-16 per step, damped by the contraction of each method).
"""

from __future__ import annotations

import numpy as np
import pytest

import reparam as rp
from reparam import problems
from reparam.objectives import LeastSquares
from reparam.parametrizations import Power
from reparam.solvers.iterative import ARRAY_API_METHODS

torch = pytest.importorskip("torch")

TOL = 1e-10


def _problem():
    A, b, _ = problems.wellposed(30, 20, seed=7)
    B = np.column_stack([b, 0.5 * b + A[:, 0], A @ (0.5 + np.abs(np.sin(np.arange(20)))), 0 * b])
    return A, b, B


def _same(res_np, res_t):
    assert isinstance(res_t.x, torch.Tensor) and res_t.x.device.type == "cpu"
    assert res_t.x.dtype == torch.float64
    np.testing.assert_allclose(res_t.x.numpy(), res_np.x, rtol=0.0, atol=TOL)
    np.testing.assert_array_equal(np.asarray(res_t.status), np.asarray(res_np.status))
    np.testing.assert_allclose(res_t.kkt, res_np.kkt, rtol=1e-6, atol=1e-13)
    np.testing.assert_allclose(res_t.objective, res_np.objective, rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("method", ARRAY_API_METHODS)
def test_single_right_hand_side_matches_numpy(method):
    A, b, _ = _problem()
    opts = {"method": method, "tol": 1e-7, "max_iter": 1000}
    res_np = rp.nnls(A, b, **opts)
    res_t = rp.nnls(torch.from_numpy(A), torch.from_numpy(b), **opts)
    _same(res_np, res_t)
    assert isinstance(res_t.kkt, float) and isinstance(res_t.objective, float)
    assert res_t.n_iter == res_np.n_iter


@pytest.mark.parametrize("method", ARRAY_API_METHODS)
def test_block_of_right_hand_sides_matches_numpy(method):
    # The last column is b = 0 (x = 0 is optimal): it is not iterated on either side.
    A, _, B = _problem()
    opts = {"method": method, "tol": 1e-7, "max_iter": 1000}
    res_np = rp.nnls(A, B, **opts)
    res_t = rp.nnls(torch.from_numpy(A), torch.from_numpy(B), **opts)
    _same(res_np, res_t)
    np.testing.assert_array_equal(res_t.n_iter, res_np.n_iter)
    assert not torch.any(res_t.x[:, -1])


def test_init_scale_sweep_and_warm_start_match_numpy():
    A, b, _ = problems.gaussian(10, 50, sparsity=5, seed=3)
    scales = np.array([3e-1, 1e-1, 3e-2])
    opts = {"method": "riemannian-gd", "tol": 1e-6, "max_iter": 300}
    _same(rp.nnls(A, b, init_scale=scales, **opts),
          rp.nnls(torch.from_numpy(A), torch.from_numpy(b), init_scale=scales, **opts))
    x0 = np.abs(np.sin(np.arange(50.0)))
    _same(rp.nnls(A, b, x0=x0, **opts),
          rp.nnls(torch.from_numpy(A), torch.from_numpy(b), x0=torch.from_numpy(x0), **opts))


def test_float32_stays_float32():
    A, b, _ = _problem()
    At, bt = torch.from_numpy(A).float(), torch.from_numpy(b).float()
    res = rp.nnls(At, bt, method="fista", tol=1e-6, max_iter=5000)
    assert res.x.dtype == torch.float32 and res.success
    ref = rp.nnls(A.astype(np.float32), b.astype(np.float32), method="fista", tol=1e-6,
                  max_iter=5000)
    np.testing.assert_allclose(res.x.numpy(), ref.x, rtol=0.0, atol=1e-6)


def test_exact_method_converts_a_cpu_tensor_and_returns_a_tensor():
    A, b, _ = _problem()
    res = rp.nnls(torch.from_numpy(A), torch.from_numpy(b))
    assert isinstance(res.x, torch.Tensor) and res.x.dtype == torch.float64
    np.testing.assert_allclose(res.x.numpy(), rp.nnls(A, b).x, rtol=0.0, atol=1e-12)


def test_bad_tensor_input_names_the_argument():
    A, b, _ = _problem()
    At, bt = torch.from_numpy(A), torch.from_numpy(b)
    with pytest.raises(ValueError, match="b has 29 rows"):
        rp.nnls(At, bt[:-1], method="fista")
    with pytest.raises(ValueError, match="A has non-finite"):
        bad = At.clone()
        bad[0, 0] = torch.nan
        rp.nnls(bad, bt, method="fista")
    with pytest.raises(TypeError, match="complex|real"):
        rp.nnls(At.to(torch.complex128), bt, method="fista")
    with pytest.raises(ValueError, match="x0 must be >= 0"):
        rp.nnls(At, bt, method="fista", x0=-torch.ones(20, dtype=torch.float64))
    A_before = At.clone()
    rp.nnls(At, bt, method="reparam-gd", max_iter=10)
    assert torch.equal(At, A_before)


def test_train_with_a_torch_least_squares_objective():
    # An underdetermined problem far from convergence: Barzilai-Borwein lengths amplify
    # rounding differences there (1e-15 after 10 steps, 1e-7 after 100), so it runs 30 steps.
    A, b, _ = problems.gaussian(20, 30, sparsity=4, seed=1)
    for optimizer in ("gd", "nesterov", "riemannian", "bb", "accelerated"):
        n_iter = 30 if optimizer == "bb" else 300
        ref = rp.train(LeastSquares(A, b), Power(2), init_scale=0.1, optimizer=optimizer,
                       max_iter=n_iter, tol=0.0)
        res = rp.train(LeastSquares(torch.from_numpy(A), torch.from_numpy(b)), Power(2),
                       init_scale=0.1, optimizer=optimizer, max_iter=n_iter, tol=0.0)
        assert isinstance(res.x, torch.Tensor)
        np.testing.assert_allclose(res.x.numpy(), ref.x, rtol=0.0, atol=TOL)
        assert abs(res.kkt - ref.kkt) <= 1e-9 * max(ref.kkt, 1.0)


def test_exact_method_refuses_an_array_off_the_host():
    # A tensor on PyTorch's "meta" device stands for one on a GPU: not in host memory.
    A = torch.empty((6, 3), dtype=torch.float64, device="meta")
    b = torch.empty((6,), dtype=torch.float64, device="meta")
    with pytest.raises(ValueError, match="NumPy/LAPACK.*fista"):
        rp.nnls(A, b)
    with pytest.raises(ValueError, match="NumPy/LAPACK"):
        rp.nnls(A, b, method="active-set")


def test_a_numpy_operand_joins_the_tensor_one():
    A, b, _ = _problem()
    res = rp.nnls(A, torch.from_numpy(b), method="fista", tol=1e-8)
    assert isinstance(res.x, torch.Tensor)
    np.testing.assert_allclose(res.x.numpy(), rp.nnls(A, b, method="fista", tol=1e-8).x,
                               rtol=0.0, atol=TOL)
