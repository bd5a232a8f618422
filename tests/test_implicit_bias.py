"""Implicit bias: the predicted limit, its α → 0 LP, the commuting condition."""

import numpy as np
import pytest
from scipy.optimize import lsq_linear, nnls

import reparam as rp
from reparam.flows import gradient_flow, least_squares_loss
from reparam.implicit_bias import is_commuting, l1_limit, lie_bracket, limit
from reparam.parametrizations import Box, Custom, Difference, Hadamard, Power, Simplex


def paper_problem(m, n, sparsity, seed):
    """A ~ N(0, 1/m), x* s-sparse with |N(0,1)| entries of unit norm, b = A x* (DESIGN.md)."""
    rng = np.random.default_rng(seed)
    A = rng.normal(scale=1 / np.sqrt(m), size=(m, n))
    x = np.zeros(n)
    idx = rng.choice(n, sparsity, replace=False)
    x[idx] = np.abs(rng.normal(size=sparsity))
    return A, A @ (x / np.linalg.norm(x)), x / np.linalg.norm(x)


@pytest.fixture(scope="module")
def wide():
    return paper_problem(20, 60, 4, seed=11)


@pytest.mark.parametrize("param,kw", [
    (Power(2), {"init_scale": 1e-2}),
    (Power(3), {"init_scale": 1e-1}),
    (Difference(2), {"init_scale": 1e-2}),
    (Difference(3), {"init_scale": 1e-1}),
    (Hadamard(), {"init_scale": 1e-1}),
    (Box(-2.0, 2.0), {"init_scale": 0.0}),
], ids=repr)
def test_limit_satisfies_the_bregman_projection_kkt(wide, param, kw):
    """Ax = b, x in the domain, and ∇ψ(x) − ∇ψ(x0) ⟂ null(A): the KKT system of (1)."""
    A, b, _ = wide
    u0 = param.initial_u(n=A.shape[1], **kw)
    res = limit(A, b, param, u0=u0)
    x, info = res.x, res.info
    assert res.success and info["converged"] and info["feasible"]
    assert np.abs(A @ x - b).max() <= 1e-10 * np.abs(b).max()
    assert param.check_point(x)
    ref = u0 if param.needs_u0 else None
    dz = param.mirror_map(x, ref) - param.mirror_map(param.forward(u0), ref)
    null_part = dz - np.linalg.pinv(A) @ (A @ dz)
    assert np.linalg.norm(null_part) <= 1e-8 * max(1.0, np.linalg.norm(dz))


def test_limit_is_where_gradient_flow_ends():
    A, b, _ = paper_problem(6, 12, 2, seed=3)
    f, g = least_squares_loss(A, b)
    for param in (Power(2), Difference(2)):
        traj = gradient_flow(f, g, param, (0, 3000), init_scale=0.3, n=12, t_eval=[0, 3000])
        assert np.abs(traj.final - limit(A, b, param, init_scale=0.3).x).max() <= 1e-7


@pytest.mark.parametrize("init_scale,step", [(1.0, 2e-3), (0.5, 3e-4), (0.3, 2e-4)])
def test_reparam_gd_ends_at_the_predicted_limit(init_scale, step):
    """Discrete GD with a small step follows the flow: its limit differs by O(step)."""
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 8)) / 2
    b = A @ rng.uniform(0.5, 1.5, 8)
    res = rp.nnls(A, b, method="reparam-gd", init_scale=init_scale, step=step, tol=1e-11,
                  max_iter=400_000)
    x_lim = limit(A, b, Power(2), init_scale=init_scale).x
    assert np.linalg.norm(res.x - x_lim) <= 1e-4 * np.linalg.norm(x_lim)


@pytest.mark.parametrize("init_scale", [1e-1, 1e-2, 1e-3])
def test_reparam_gd_step_error_is_first_order(init_scale):
    """For small init scales the O(step) gap is removed by Richardson extrapolation."""
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 8)) / 2
    b = A @ rng.uniform(0.5, 1.5, 8)
    x_lim = limit(A, b, Power(2), init_scale=init_scale).x
    x1, x2 = (rp.nnls(A, b, method="reparam-gd", init_scale=init_scale, step=s, tol=1e-11,
                      max_iter=400_000).x for s in (0.005, 0.0025))
    gap1 = np.linalg.norm(x1 - x_lim)
    gap2 = np.linalg.norm(x2 - x_lim)
    assert gap2 == pytest.approx(gap1 / 2, rel=0.1)  # first order in the step
    # the extrapolate is second order: 1.6e-4 at α = 1e-3, against 8e-3 for x2 itself
    assert np.linalg.norm(2 * x2 - x1 - x_lim) <= 5e-4 * np.linalg.norm(x_lim)


def test_l1_norm_decreases_to_the_lp_value():
    A, b, _ = paper_problem(50, 200, 10, seed=0)
    lp = l1_limit(A, b).x.sum()
    norms = [limit(A, b, Power(2), init_scale=a).x.sum() for a in (1e-1, 1e-2, 1e-3, 1e-4)]
    assert np.all(np.diff(norms) < 0)
    assert np.all(np.array(norms) >= lp * (1 - 1e-9))
    assert norms[-1] <= 1.01 * lp


def test_l1_limit_is_a_minimum_l1_solution():
    A, b, _ = paper_problem(10, 30, 3, seed=5)
    x = l1_limit(A, b).x
    assert np.all(x >= -1e-12) and np.allclose(A @ x, b)
    # any other feasible point (here the entropic limit) has a larger l1 norm
    assert limit(A, b, Power(2), init_scale=0.5).x.sum() > x.sum()
    xs = l1_limit(A, b, nonnegative=False).x
    assert np.abs(xs).sum() <= x.sum() + 1e-9


def test_infeasible_problem_gives_the_nnls_solution():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(30, 10))
    b = rng.normal(size=30)
    res = limit(A, b, Power(2), init_scale=1e-2)
    x, info = res.x, res.info
    assert not info["feasible"]
    np.testing.assert_allclose(x, nnls(A, b)[0], atol=1e-10)


def test_boundary_only_feasible_set_gives_the_sparse_solution():
    rng = np.random.default_rng(4)
    A = rng.normal(size=(40, 15))
    x_true = np.zeros(15)
    x_true[:4] = [1.0, 2.0, 0.5, 3.0]
    x = limit(A, A @ x_true, Power(2), init_scale=1e-2).x
    np.testing.assert_allclose(x, x_true, atol=1e-10)


def test_box_limit_outside_reach_is_bvls():
    rng = np.random.default_rng(6)
    A = rng.normal(size=(25, 8))
    b = 3 * rng.normal(size=25)
    x = limit(A, b, Box(-0.5, 0.5), init_scale=0.0).x
    ref = lsq_linear(A, b, bounds=(-0.5, 0.5), method="bvls", tol=1e-14).x
    np.testing.assert_allclose(x, ref, atol=1e-10)


def test_simplex_limit_is_the_kl_projection():
    rng = np.random.default_rng(8)
    A = rng.normal(size=(2, 6))
    x_feasible = rng.dirichlet(np.ones(6))
    b = A @ x_feasible
    x = limit(A, b, Simplex()).x
    assert Simplex().check_point(x, tol=1e-12)
    np.testing.assert_allclose(A @ x, b, atol=1e-12)
    # KL projection of the uniform x0: log x ∈ span(rows of A, 1)
    basis = np.vstack([A, np.ones(6)]).T
    logx = np.log(x)
    assert np.linalg.norm(logx - basis @ np.linalg.lstsq(basis, logx, rcond=None)[0]) < 1e-9


def test_limit_validates_input(wide):
    A, b, _ = wide
    with pytest.raises(ValueError, match="rows"):
        limit(A, b[:-1], Power(2), init_scale=0.1)
    with pytest.raises(TypeError, match="parametrization"):
        limit(A, b, "power", init_scale=0.1)
    with pytest.raises(ValueError, match="non-finite"):
        limit(np.full((2, 2), np.nan), np.ones(2), init_scale=0.1)
    b_copy = b.copy()
    limit(A, b, Power(2), init_scale=0.1)
    np.testing.assert_array_equal(b, b_copy)


@pytest.mark.parametrize("param,u", [
    (Power(2), [0.3, 0.5, 0.9]),
    (Power(3), [0.3, 0.5, 0.9]),
    (Difference(2), [0.3, 0.5, 0.9, 0.2]),
    (Difference(3), [0.3, 0.5, 0.9, 0.2]),
    (Hadamard(), [0.3, 0.5, 0.9, -0.2]),
    (Box(), [0.3, -0.5, 1.1]),
    (Custom(lambda u: u ** 3), [0.3, 0.5, 0.9]),
    (Custom(lambda u: np.sinh(u)), [0.3, -0.5, 0.9]),
], ids=repr)
def test_lie_brackets_vanish_for_commuting_parametrizations(param, u):
    assert is_commuting(param, np.array(u))


def test_lie_brackets_do_not_vanish_when_outputs_share_a_weight():
    shared = Custom(lambda u: np.array([u[0] * u[1], u[0] * u[2]]), n_params=3)
    u = np.array([1.0, 2.0, 3.0])
    # [∇φ_1, ∇φ_2] = ∇²φ_2 ∇φ_1 − ∇²φ_1 ∇φ_2 = (0, −u_3, u_2) for φ = (u1 u2, u1 u3)
    np.testing.assert_allclose(lie_bracket(shared, u, 0, 1), [0.0, -3.0, 2.0], atol=1e-6)
    assert not is_commuting(shared, u)
    # a limit prediction is refused for it
    with pytest.raises(ValueError, match="not commuting"):
        limit(np.eye(2), np.ones(2), shared, u0=u)


def test_lie_bracket_argument_checks():
    with pytest.raises(ValueError, match="both"):
        lie_bracket(Power(2), np.ones(2), i=0)
    with pytest.raises(ValueError, match="j"):
        lie_bracket(Power(2), np.ones(2), i=0, j=5)


# ----------------------------------------------------------------------------------------------
# small initializations, statuses and memory
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [2, 3])
def test_limit_at_tiny_init_scales_tends_to_the_lp(wide, depth):
    """init_scale down to 1e-300 (x0 = 1e-600 underflows): the limit still converges, stays
    feasible and approaches the minimum-ℓ1 solution (unique here) as init_scale → 0."""
    A, b, _ = wide
    lp = l1_limit(A, b)
    assert lp.success
    gaps = []
    for alpha in (1e-10, 1e-100, 1e-300):
        res = limit(A, b, Power(depth), init_scale=alpha)
        assert res.success, res.message
        assert np.all(res.x >= 0) and np.abs(A @ res.x - b).max() <= 1e-10
        gaps.append(np.abs(res.x - lp.x).max())
    # Power(2) is the LP with entropy weight 1/(2 log(1/α)²)-ish: slow in α; Power(3) has a
    # perturbation of relative size ~α, below rounding from 1e-10 on
    assert gaps[2] <= 1e-8 and gaps[1] <= 1e-8
    if depth == 3:
        assert gaps[0] <= 1e-8
    else:
        assert gaps[0] <= 1e-2


@pytest.mark.parametrize("depth,alpha", [(2, 1e-4), (2, 3e-5), (3, 1e-3)])
def test_lp_anchored_dual_equals_the_direct_dual(wide, depth, alpha, monkeypatch):
    """The LP re-anchoring is an exact change of variables: where the direct dual Newton
    still converges, both give the same limit (also for a non-uniform start)."""
    import reparam.implicit_bias as ib

    A, b, _ = wide
    u0 = alpha * np.linspace(0.5, 2.0, A.shape[1])
    anchored = limit(A, b, Power(depth), u0=u0)
    monkeypatch.setattr(ib, "_SMALL_X0", 0.0)  # never anchor
    direct = limit(A, b, Power(depth), u0=u0)
    assert anchored.info["anchored"] and not direct.info["anchored"]
    assert anchored.success and direct.success
    assert np.abs(anchored.x - direct.x).max() <= 1e-9 * np.abs(direct.x).max()


def test_limit_at_small_init_is_where_gradient_descent_ends():
    """Against gradient descent itself at init_scale 1e-10 (x0 = 1e-20, LP-anchored dual):
    GD with step η ends O(η) from the predicted limit, so the Richardson extrapolation
    2·x(η/2) − x(η) lands on it to O(η²)."""
    A, b, _ = paper_problem(4, 8, 2, seed=5)
    pred = limit(A, b, Power(2), init_scale=1e-10)
    assert pred.success and pred.info["anchored"]
    runs = [rp.nnls(A, b, method="reparam-gd", depth=2, init_scale=1e-10, step=step, tol=1e-12,
                    max_iter=100_000) for step in (0.08, 0.04)]
    assert all(r.success for r in runs)
    errors = [np.abs(r.x - pred.x).max() for r in runs]
    assert errors[0] <= 2e-6 and 1.5 <= errors[0] / errors[1] <= 2.5  # first order in η
    assert np.abs(2 * runs[1].x - runs[0].x - pred.x).max() <= 0.25 * errors[1]


def test_limit_rejects_bad_iteration_options(wide):
    A, b, _ = wide
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="max_iter"):
            limit(A, b, Power(2), init_scale=0.1, max_iter=bad)
    for bad in (np.nan, -1.0, 0.0, np.inf):
        with pytest.raises(ValueError, match="tol"):
            limit(A, b, Power(2), init_scale=0.1, tol=bad)
    with pytest.raises(ValueError, match="feasibility_tol"):
        limit(A, b, Power(2), init_scale=0.1, feasibility_tol=np.nan)


def test_limit_reports_a_failure_loudly(wide):
    """Too few Newton steps: not success, a message that says so, and a warning."""
    A, b, _ = wide
    with pytest.warns(RuntimeWarning, match="dual Newton"):
        res = limit(A, b, Power(2), init_scale=1e-2, max_iter=1)
    assert not res.success and res.status is rp.Status.MAX_ITER
    assert "not the limit" in res.message and res.kkt > 1e-11


def test_simplex_limit_when_b_is_out_of_reach():
    """b outside A(simplex): the flow ends at the simplex least-squares fit (active set)."""
    from reparam.constrained import simplex_least_squares

    rng = np.random.default_rng(12)
    A = rng.normal(size=(3, 9))
    b = 5.0 * A @ rng.dirichlet(np.ones(9)) + rng.normal(size=3)
    res = limit(A, b, Simplex())
    assert res.success and not res.info["feasible"]
    assert Simplex().check_point(res.x, tol=1e-12)
    exact = simplex_least_squares(A, b, method="active-set")
    assert exact.success
    # the fit A x is unique even where x is not
    np.testing.assert_allclose(A @ res.x, A @ exact.x, atol=1e-8)


def test_simplex_limit_never_forms_an_n_by_n_hessian(monkeypatch):
    """The simplex dual Newton keeps ∇²ψ* as diagonal minus rank one (memory O(r n))."""
    rng = np.random.default_rng(8)
    A = rng.normal(size=(3, 40))
    b = A @ rng.dirichlet(np.ones(40))
    expected = limit(A, b, Simplex()).x

    def dense_hessian(*args, **kwargs):
        raise AssertionError("the n x n Hessian of the simplex was formed")

    monkeypatch.setattr(Simplex, "_mirror_state", dense_hessian)
    res = limit(A, b, Simplex())
    assert res.success
    np.testing.assert_allclose(res.x, expected, atol=1e-14)
    np.testing.assert_allclose(A @ res.x, b, atol=1e-10)
