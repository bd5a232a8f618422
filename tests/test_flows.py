"""Flows: gradient flow on u and mirror flow on x trace the same curve; the accelerated ODE."""

import numpy as np
import pytest

from reparam import Status
from reparam.flows import accelerated_flow, gradient_flow, least_squares_loss, mirror_flow
from reparam.parametrizations import Box, Custom, Difference, Hadamard, Power, Simplex


@pytest.fixture
def problem():
    rng = np.random.default_rng(7)
    A = rng.normal(size=(4, 6)) / 2
    b = A @ np.abs(rng.normal(size=6))
    return least_squares_loss(A, b)


@pytest.mark.parametrize("param,init", [
    (Power(2), {"init_scale": 0.5}),
    (Power(3), {"init_scale": 0.7}),
    (Difference(2), {"init_scale": 0.5}),
    (Box(), {"init_scale": 0.1}),
    (Box(-2.0, 3.0), {"init_scale": 0.2}),
    (Hadamard(), {"init_scale": 0.6}),
    (Simplex(), {}),
], ids=repr)
def test_gradient_flow_equals_mirror_flow(problem, param, init):
    f, g = problem
    a = gradient_flow(f, g, param, (0, 10), n=6, **init)
    b = mirror_flow(f, g, param, (0, 10), n=6, **init)
    assert a.success and b.success
    assert np.abs(a.x - b.x).max() <= 1e-7
    # and the flow actually went somewhere, downhill
    assert np.abs(a.x[-1] - a.x[0]).max() > 0.05
    assert a.loss[-1] < a.loss[0]


def test_mirror_flow_of_wrong_potential_differs(problem):
    """The equality above is not automatic: Power(3)'s mirror flow is not Power(2)'s flow."""
    f, g = problem
    u0 = np.full(6, 0.5)
    a = gradient_flow(f, g, Power(2), (0, 10), u0=u0)
    b = mirror_flow(f, g, Power(3), (0, 10), x0=u0 ** 2)
    assert np.abs(a.x - b.x).max() > 1e-3


def test_stiff_methods_agree(problem):
    f, g = problem
    a = gradient_flow(f, g, Power(2), (0, 5), init_scale=0.3, n=6, method="Radau")
    b = mirror_flow(f, g, Power(2), (0, 5), init_scale=0.3, n=6, method="BDF")
    assert np.abs(a.x - b.x).max() <= 1e-6


def test_custom_forward_alone_gives_the_same_flow(problem):
    f, g = problem
    a = gradient_flow(f, g, Custom(lambda u: u ** 3), (0, 5), u0=np.full(6, 0.7))
    b = gradient_flow(f, g, Power(3), (0, 5), u0=np.full(6, 0.7))
    assert np.abs(a.x - b.x).max() <= 1e-6


def test_accelerated_flow_decays_like_t_minus_two(problem):
    f, g = problem
    t = np.array([0.0, 10.0, 20.0, 40.0])
    traj = accelerated_flow(f, g, np.full(6, 0.1), (0, 40), t_eval=t)
    assert traj.success and np.all(traj.x > 0)
    loss = traj.loss - 0.0  # consistent system: the minimum is 0
    # O(t^-2): t² f(x(t)) stays bounded
    assert np.all(traj.t[1:] ** 2 * loss[1:] <= 100 * loss[0])
    assert loss[-1] < 1e-2 * loss[0]


def test_flow_input_validation(problem):
    f, g = problem
    with pytest.raises(TypeError, match="loss"):
        gradient_flow(1.0, g, Power(2), (0, 1), init_scale=0.1, n=6)
    with pytest.raises(ValueError, match="t_span"):
        gradient_flow(f, g, Power(2), (1, 0), init_scale=0.1, n=6)
    with pytest.raises(TypeError, match="parametrization"):
        mirror_flow(f, g, "power", (0, 1), init_scale=0.1, n=6)
    with pytest.raises(ValueError, match="positive"):
        accelerated_flow(f, g, np.zeros(6), (0, 1))
    with pytest.raises(ValueError, match="rows"):
        least_squares_loss(np.ones((3, 2)), np.ones(2))


def test_nan_gradient_is_a_numerical_error(problem):
    f, _ = problem

    def nan_grad(x):
        return np.full_like(x, np.nan)

    traj = gradient_flow(f, nan_grad, Power(2), (0, 1), init_scale=0.1, n=6)
    assert not traj.success and traj.status is Status.NUMERICAL_ERROR
    assert "non-finite" in traj.message


@pytest.mark.parametrize("method", ["BDF", "Radau"])
def test_stiff_mirror_flow_at_small_init(problem, method):
    """Power(3) at init_scale 1e-6: z = ∇ψ(x) ≈ −3e5; a stiff solver's Newton iterates used to
    cross z = 0 (x = inf). Integrated in log(−z), it agrees with LSODA."""
    f, g = problem
    ref = mirror_flow(f, g, Power(3), (0, 1e6), init_scale=1e-6, n=6, t_eval=[0, 1e6])
    traj = mirror_flow(f, g, Power(3), (0, 1e6), init_scale=1e-6, n=6, t_eval=[0, 1e6],
                       method=method)
    assert ref.success and traj.success
    assert traj.loss[-1] < 0.5 * traj.loss[0]  # it moved
    assert np.abs(traj.final - ref.final).max() <= 1e-5 * np.abs(ref.final).max()


def test_accelerated_flow_starts_on_its_series(problem):
    """The start at t = s uses x = x0(1 − s²g/8), y = x0 exp(−s²g/4); a run from a much smaller
    start time with tight tolerances lands on the same point."""
    from scipy.integrate import solve_ivp

    f, g = problem
    x0 = np.full(6, 0.1)
    traj = accelerated_flow(f, g, x0, (0, 20), t_eval=[0, 20])
    assert traj.success

    def rhs(t, w):
        return np.concatenate([(2.0 / t) * (w[6:] - w[:6]), -(0.5 * t) * w[6:] * g(w[:6])])

    ref = solve_ivp(rhs, (1e-7, 20), np.concatenate([x0, x0]), method="LSODA", rtol=1e-12,
                    atol=1e-14)
    np.testing.assert_allclose(traj.final, ref.y[:6, -1], atol=1e-7)


def test_time_span_checks(problem):
    f, g = problem
    with pytest.raises(ValueError, match="t_span"):
        gradient_flow(f, g, Power(2), (0, -1), init_scale=0.1, n=6)
    with pytest.raises(ValueError, match="t0 >= 0"):
        accelerated_flow(f, g, np.full(6, 0.1), (-1, 1))
    with pytest.raises(ValueError, match="rtol"):
        gradient_flow(f, g, Power(2), (0, 1), init_scale=0.1, n=6, rtol=np.nan)
