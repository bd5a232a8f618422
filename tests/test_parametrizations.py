"""Parametrizations: forward/inverse consistency, closed-form geometry, validation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reparam.parametrizations import Box, Custom, Difference, Domain, Hadamard, Power, Simplex

RNG = np.random.default_rng(20240501)


def _cases():
    n = 5
    return [
        (Power(2), RNG.uniform(0.1, 2.0, n), None),
        (Power(3), RNG.uniform(0.1, 2.0, n), None),
        (Power(4), RNG.uniform(0.1, 2.0, n), None),
        (Difference(2), RNG.normal(size=n), Difference(2).initial_u(init_scale=0.3, n=n)),
        (Difference(3), RNG.normal(size=n), Difference(3).initial_u(init_scale=0.3, n=n)),
        (Hadamard(), RNG.normal(size=n), Hadamard().initial_u(init_scale=0.3, n=n)),
        (Box(), RNG.uniform(-0.9, 0.9, n), None),
        (Box(-2.0, 3.0), RNG.uniform(-1.9, 2.9, n), None),
        (Simplex(), RNG.dirichlet(np.ones(n)), None),
    ]


@pytest.mark.parametrize("param,x,u0", _cases(), ids=lambda v: repr(v)[:20])
def test_inverse_mirror_map_inverts_mirror_map(param, x, u0):
    z = param.mirror_map(x, u0)
    np.testing.assert_allclose(param.inverse_mirror_map(z, u0), x, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("param,x,u0", _cases(), ids=lambda v: repr(v)[:20])
def test_inverse_metric_is_derivative_of_inverse_mirror_map(param, x, u0):
    # dx/dz by central differences against the closed form (∇²ψ)⁻¹
    z = param.mirror_map(x, u0)
    h = 1e-6
    cols = []
    for i in range(z.size):
        dz = np.zeros_like(z)
        dz[i] = h
        cols.append((param.inverse_mirror_map(z + dz, u0) - param.inverse_mirror_map(z - dz, u0))
                    / (2 * h))
    fd = np.array(cols).T
    metric = param.inverse_metric(x, u0)
    metric = np.diag(metric) if metric.ndim == 1 else metric
    np.testing.assert_allclose(fd, metric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("param,x,u0", _cases(), ids=lambda v: repr(v)[:20])
def test_metric_equals_jacobian_product(param, x, u0):
    """J Jᵀ at the parameters that reach x from u0 equals the closed-form inverse metric."""
    if u0 is None:
        u = param.initial_u(x0=x)
    elif isinstance(param, Hadamard):  # any (u, v) with |u| != |v| is its own reference
        u = np.concatenate([RNG.uniform(1.0, 2.0, x.size), RNG.uniform(-0.9, 0.9, x.size)])
        x = param.forward(u)
    else:
        u = param.initial_u(x0=x, init_scale=0.3)
    np.testing.assert_allclose(param.forward(u), x, rtol=1e-10, atol=1e-12)
    J = param.jacobian(u)
    metric = param.inverse_metric(x, u if param.needs_u0 else None)
    metric = np.diag(metric) if metric.ndim == 1 else metric
    if isinstance(param, Simplex):
        u = u / np.linalg.norm(u)
        J = param.jacobian(u)
    np.testing.assert_allclose(J @ J.T, metric, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("param,x,u0", _cases(), ids=lambda v: repr(v)[:20])
def test_bregman_is_nonnegative_and_zero_on_diagonal(param, x, u0):
    if isinstance(param, Simplex):
        y = RNG.dirichlet(np.ones(x.size))
    elif isinstance(param, Box):
        y = np.clip(x + 0.05, param.lower + 0.01, param.upper - 0.01)
    else:
        y = x + 0.1 * np.abs(x) + 0.05
    assert param.bregman(x, x, u0) == pytest.approx(0.0, abs=1e-12)
    assert param.bregman(x, y, u0) > 0


@pytest.mark.parametrize("param,x,u0", _cases(), ids=lambda v: repr(v)[:20])
def test_fenchel_young_equality(param, x, u0):
    z = param.mirror_map(x, u0)
    assert param.potential(x, u0) + param.conjugate(z, u0) == pytest.approx(z @ x, rel=1e-9,
                                                                            abs=1e-10)


def test_power_closed_forms_match_design():
    x = np.array([0.5, 2.0])
    np.testing.assert_allclose(Power(2).mirror_map(x), 0.25 * np.log(x))
    np.testing.assert_allclose(Power(3).mirror_map(x), -(x ** (-1 / 3)) / 3)
    np.testing.assert_allclose(Power(2).inverse_metric(x), 4 * x)
    np.testing.assert_allclose(Power(3).inverse_metric(x), 9 * x ** (4 / 3))


def test_box_mirror_map_is_artanh():
    x = np.array([-0.5, 0.0, 0.7])
    np.testing.assert_allclose(Box().mirror_map(x), np.arctanh(x))


def test_difference_depth2_is_hyperbolic_entropy():
    alpha = 0.2
    x = np.array([-1.0, 0.3])
    u0 = Difference(2).initial_u(init_scale=alpha, n=2)
    np.testing.assert_allclose(Difference(2).mirror_map(x, u0), 0.25 * np.arcsinh(x / (2 * alpha ** 2)))
    # a float u0 means init_scale
    np.testing.assert_allclose(Difference(2).mirror_map(x, alpha), Difference(2).mirror_map(x, u0))


def test_difference_initial_u_with_x0_reaches_x0():
    x0 = np.array([0.3, -0.2, 0.0])
    for depth in (2, 3):
        u = Difference(depth).initial_u(x0=x0, init_scale=0.5)
        np.testing.assert_allclose(Difference(depth).forward(u), x0, atol=1e-12)


@pytest.mark.parametrize("depth", [1, 0, -3])
def test_depth_below_two_is_rejected(depth):
    with pytest.raises(ValueError, match="depth"):
        Power(depth)
    with pytest.raises(ValueError, match="depth"):
        Difference(depth)


@pytest.mark.parametrize("depth", [2.5, "2", True])
def test_non_integer_depth_is_a_type_error(depth):
    with pytest.raises(TypeError, match="depth"):
        Power(depth)


def test_constructor_and_initial_u_validation():
    with pytest.raises(ValueError, match="lower < upper"):
        Box(1.0, 1.0)
    with pytest.raises(ValueError, match="finite"):
        Box(0.0, np.inf)
    with pytest.raises(ValueError, match="exactly one"):
        Power(2).initial_u()
    with pytest.raises(ValueError, match="init_scale"):
        Power(2).initial_u(init_scale=-1.0, n=3)
    with pytest.raises(ValueError, match="strictly positive"):
        Power(2).initial_u(x0=[1.0, 0.0])
    with pytest.raises(ValueError, match="u0"):
        Difference(2).mirror_map([1.0])
    with pytest.raises(ValueError, match="equal scales"):
        Hadamard().mirror_map([0.1], u0=np.array([0.5, 0.5]))
    with pytest.raises(TypeError, match="forward"):
        Custom(forward=3)


def test_check_point_explains():
    ok, reason = Power(2).check_point([1.0, -0.5], explain=True)
    assert not ok and "x[1]" in reason and "orthant" in reason
    assert Power(2).check_point([1.0, 0.0]) is True
    ok, reason = Simplex().check_point([0.5, 0.6], explain=True)
    assert not ok and "sum" in reason
    ok, reason = Box(0, 1).check_point([0.5, 1.5], explain=True)
    assert not ok and "upper" in reason
    assert Box(0, 1).check_point([[0.5]], explain=True)[0] is False
    assert Difference(2).check_point([-3.0, 4.0]) is True
    assert Domain().explain(np.array([np.nan])) is not None


def test_inputs_are_not_mutated():
    x = np.array([0.2, 0.5])
    x_copy = x.copy()
    p = Power(2)
    p.mirror_map(x)
    p.bregman(x, x + 1)
    p.potential(x)
    np.testing.assert_array_equal(x, x_copy)


def test_simplex_forward_is_on_simplex():
    u = RNG.normal(size=7)
    assert Simplex().check_point(Simplex().forward(u), tol=1e-12)


def test_custom_coordinatewise_matches_power3():
    cube = Custom(lambda u: u ** 3)
    u0 = np.full(3, 0.5)
    x = np.array([0.3, 1.2, 2.0])
    expected = Power(3).mirror_map(x) - Power(3).mirror_map(u0 ** 3)  # centred at x0
    np.testing.assert_allclose(cube.mirror_map(x, u0), expected, rtol=1e-7)
    np.testing.assert_allclose(cube.inverse_metric(x, u0), np.diag(9 * x ** (4 / 3)), rtol=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.01, 50.0), min_size=1, max_size=6), st.integers(2, 5))
def test_power_roundtrip_property(values, depth):
    x = np.array(values)
    p = Power(depth)
    np.testing.assert_allclose(p.inverse_mirror_map(p.mirror_map(x)), x, rtol=1e-10)
    np.testing.assert_allclose(p.forward(p.initial_u(x0=x)), x, rtol=1e-12)


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_power_curvature_of_a_block_is_that_of_each_column(depth):
    # a block reduces its columns in one call; each column's bound must be the single one,
    # bit for bit (the block's steps equal its columns' single runs)
    rng = np.random.default_rng(depth)
    u = rng.uniform(0.01, 2.0, (40, 6))
    g = rng.standard_normal((40, 6)) * np.geomspace(1e-3, 1e3, 6)
    p = Power(depth)
    block = p.curvature(u, g, 3.7, columns=True)
    assert block.shape == (6,)
    for j in range(6):
        assert block[j] == p.curvature(u[:, j], g[:, j], 3.7)
    # not a block: one bound over every entry, at least each column's
    assert p.curvature(u, g, 3.7) >= max(block)
