"""The experiments at their tiny size: schema, verdicts that can fail, the paper's conventions."""

from __future__ import annotations

import json

import numpy as np
import pytest

import reparam as rp
from reparam import experiments
from reparam.experiments._common import (
    VERDICTS,
    decide,
    jsonable,
    loglog_slope,
    paper_gd,
    paper_problem,
)
from reparam.experiments.init_scale import (
    interior_point_nnls,
    references,
    signed_basis_pursuit,
)
from reparam.experiments.report import write_report

PAPER_SECTION = {"init-scale", "step-decay", "coordinates", "large-scale", "paper-sparsity",
                 "paper-timing"}
# the models of reparam.models, each with its own paper's claim
RELATED_SECTION = {"matrix-sensing", "matrix-factorization", "landscape", "diagonal-networks",
                   "balancing", "deep-factorization", "lifted-tensor"}


@pytest.fixture(scope="module")
def outcomes():
    return {name: experiments.run(name, size="tiny") for name in experiments.NAMES}


@pytest.mark.parametrize("name", experiments.NAMES)
def test_outcome_schema_and_control(outcomes, name):
    o = outcomes[name]
    assert o.name == name and o.size == "tiny"
    assert o.verdict in VERDICTS
    assert o.claim and o.criterion and np.isfinite(o.margin)
    assert o.section == ("paper" if name in PAPER_SECTION
                         else "related" if name in RELATED_SECTION else "ours")
    if o.section == "ours":
        assert o.claim.startswith("Ours:")
    # the criterion can fail: its negative control does
    assert o.control["verdict"] == "not supported", o.control
    assert o.control["margin"] < 0
    assert o.figure.get_axes()
    json.dumps(jsonable(o.table), allow_nan=False)


def test_verdict_follows_margin_and_completeness():
    assert decide(0.1) == "supported"
    assert decide(-0.1) == "not supported"
    assert decide(float("nan")) == "not supported"
    assert decide(0.1, complete=False) == "inconclusive"


def test_paper_problem_is_the_legacy_global_draw():
    # the authors' order: np.random.seed, truth first, then A
    np.random.seed(3)
    x = np.zeros(50)
    x[:3] = np.random.normal(0, 1, 3)
    x = np.abs(x / np.linalg.norm(x))
    A = np.random.normal(0, 1, (10, 50)) / np.sqrt(10)
    A2, b2, x2 = paper_problem(50, 10, 3, 3)
    np.testing.assert_array_equal(A2, A)
    np.testing.assert_array_equal(x2, x)
    np.testing.assert_array_equal(b2, A @ x)


@pytest.mark.parametrize(("depth", "gamma"), [(2, 0.0), (3, 0.5)])
def test_paper_gd_is_the_authors_update(depth, gamma):
    # x <- x - (L eta / (t+2)^gamma) x^(2-2/L) * A^T (A x - b), x0 = alpha^L, written out here
    A, b, _ = paper_problem(50, 10, 3, 3)
    alpha, eta, T = 0.1, 0.1, 300
    x = np.full(50, alpha**depth)
    residual = []
    for t in range(T):
        r = A @ x - b
        residual.append(np.linalg.norm(r))
        x = x - (depth * eta / (t + 2) ** gamma) * (A.T @ r) * x ** (2 - 2 / depth)
    run = paper_gd(A, b, alpha=alpha, eta=eta, T=T, depth=depth, gamma=gamma)
    assert run.n_iter == T and not run.reached
    # same iterates up to rounding: our step eta/L reproduces their L*eta
    np.testing.assert_allclose(run.x, x, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(run.residual[:T], residual, rtol=1e-9)


def test_paper_gd_stops_by_the_residual_rule():
    A, b, _ = paper_problem(50, 10, 3, 3)
    run = paper_gd(A, b, alpha=0.1, eta=0.1, T=5_000, depth=2)
    assert run.reached and run.n_iter < 5_000
    assert run.residual[-1] < 1e-6 <= run.residual[-2]
    assert np.linalg.norm(A @ run.x - b) < 1e-6


def test_reference_solutions():
    A, b, _ = paper_problem(50, 10, 3, 3)
    refs = references(A, b)
    # basis pursuit without sign constraint <= non-negative LP <= any non-negative solution
    assert refs["signed_basis_pursuit"] <= refs["lp"] + 1e-9
    assert refs["lp"] <= refs["lawson_hanson"] + 1e-9
    assert refs["lp"] <= refs["interior_point"] + 1e-9
    x_bp = signed_basis_pursuit(A, b)
    np.testing.assert_allclose(A @ x_bp, b, atol=1e-9)


def test_interior_point_nnls_solves_nnls_in_the_interior():
    A, b, _ = paper_problem(50, 10, 3, 3)
    z = interior_point_nnls(A, b)
    assert np.all(z > 0)  # strictly inside the orthant: not a vertex solution
    assert rp.kkt_residual(A, b, z) < 1e-8
    rng = np.random.default_rng(0)
    A2 = rng.standard_normal((30, 8))
    b2 = rng.standard_normal(30)
    # a unique solution with active constraints: the interior point tends to it
    np.testing.assert_allclose(interior_point_nnls(A2, b2), rp.nnls(A2, b2).x, atol=1e-6)


def test_init_scale_table_schema(outcomes):
    t = outcomes["init-scale"].table
    k = len(t["alpha"])
    for key in ("l1", "iterations", "predicted_limit"):
        assert set(t[key]) == {"2", "3"}
        assert all(len(v) == k for v in t[key].values())
    for key in ("lawson_hanson", "signed_basis_pursuit", "lp"):
        assert isinstance(t[key], float)


def test_report_writes_html_json_and_figures(outcomes, tmp_path):
    import base64
    import io
    import re

    import matplotlib.image

    chosen = [outcomes["init-scale"], outcomes["acceleration"]]
    index = write_report(chosen, tmp_path)
    page = index.read_text(encoding="utf-8")
    assert "Our experiments, beyond the paper" in page and "not supported" in page
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 2
    for data in images:
        assert matplotlib.image.imread(io.BytesIO(base64.b64decode(data)), format="png").ndim == 3
    results = json.loads((tmp_path / "results.json").read_text())
    assert {"version", "seed", "size", "platform", "date"} <= set(results)
    assert set(results["experiments"]) == {"init-scale", "acceleration"}
    for entry in results["experiments"].values():
        assert {"claim", "criterion", "verdict", "margin", "control", "table"} <= set(entry)
    assert (tmp_path / "figures" / "init-scale.png").stat().st_size > 0


def test_unknown_experiment_and_size_are_rejected():
    with pytest.raises(ValueError, match="unknown experiment"):
        experiments.get("nope")
    with pytest.raises(ValueError, match="size must be one of"):
        experiments.run("coordinates", size="huge")


def test_loglog_slope_recovers_a_power_law():
    t = np.geomspace(1, 1e3, 20)
    assert loglog_slope(t, 3 * t**-2.0) == pytest.approx(-2.0)
    assert np.isnan(loglog_slope(t, np.zeros_like(t)))


def test_reproduce_cli_size_and_quick_alias(tmp_path, capsys):
    from reparam.cli import build_parser, main

    assert build_parser().parse_args(["reproduce", "--quick"]).quick
    assert build_parser().parse_args(["reproduce", "--size", "quick"]).size == "quick"
    assert build_parser().parse_args(["reproduce", "--size", "paper"]).size == "paper"
    assert main(["reproduce", "--size", "tiny", "--only", "negative-perturbations", "--out",
                 str(tmp_path)]) == 0
    assert "negative-perturbations" in capsys.readouterr().out
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["size"] == "tiny"
    entry = results["experiments"]["negative-perturbations"]
    assert entry["control"]["verdict"] == "not supported"


def test_paper_sparsity_draws_start_with_the_paper_problem():
    from reparam.experiments.paper_sparsity import draws

    first, second = draws(50, 10, 3, 3, 2)
    for got, want in zip(first, paper_problem(50, 10, 3, 3)):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(second[0], first[0])  # the next draw continues the stream


def test_paper_sparsity_gd_is_the_authors_update_from_x0_alpha():
    # GD from x0 = alpha*1 with the paper's eta: x <- x - L*eta*x^(2-2/L) * A^T(Ax - b), L = 2
    from reparam.experiments.paper_sparsity import METHODS, PAPER, solve

    A, b, _ = paper_problem(60, 20, 3, 3)
    alpha, T, eta = 1e-3, 200, PAPER["eta"]
    x = np.full(60, alpha)
    for _ in range(T):
        x = x - 2 * eta * x * (A.T @ (A @ x - b))
    method, options = METHODS["GD"]
    got, _, reached = solve(method, options, A, b, alpha, T)
    assert not reached
    np.testing.assert_allclose(got, x, rtol=1e-9, atol=1e-15)


def test_paper_sparsity_solve_stops_by_the_residual_rule():
    from reparam.experiments.paper_sparsity import solve

    A, b, _ = paper_problem(60, 20, 3, 3)
    x, _, reached = solve("fista", {}, A, b, 1e-3, 10_000)
    assert reached and np.linalg.norm(A @ x - b) < 1e-6
    assert np.all(x >= 0)


def test_paper_sparsity_separates_reparametrized_gd_from_projected_gradient(outcomes):
    from reparam.experiments.paper_sparsity import RATIO_SLACK, REPARAM_GD

    t = outcomes["paper-sparsity"].table
    assert all(len(v) == len(t["alpha"]) for v in t["l1_ratio"].values())
    # the control lands far from the sparse truth; every reparametrized GD ends nearer to it
    assert t["l1_ratio"]["projected gradient"][0] > 1 + RATIO_SLACK
    for label in REPARAM_GD:
        assert t["l1_ratio"][label][0] < t["l1_ratio"]["projected gradient"][0]


def test_paper_timing_exact_solvers_reach_the_tolerance_and_gd_does_not(outcomes):
    o = outcomes["paper-timing"]
    t = o.table
    assert o.verdict == "supported"
    for method in ("scipy", "active-set"):
        assert t["max_residual"][method] < 1e-6
    assert t["max_residual"]["reparam-gd"] > 1e-6
    for key in ("time", "residual"):
        for stats in t[key].values():
            assert len(stats["mean"]) == len(stats["std"]) == len(t["n"])


def test_cli_only_names_are_the_experiment_names():
    from reparam.cli import _EXPERIMENTS

    assert _EXPERIMENTS == experiments.NAMES


def test_paper_size_runs_full_unless_the_experiment_has_its_own():
    from reparam.experiments._common import Outcome, timed

    seen = []

    def fake(size, seed):
        seen.append(size)
        return Outcome("x", "x", "x", "x", "supported", {}, None)

    plain, own = timed(fake), timed(paper_size=True)(fake)
    o = plain(size="paper")
    assert seen == ["full"] and o.size == "paper" and o.cpu_seconds >= 0 and o.deviations == []
    own(size="paper")
    assert seen[-1] == "paper"
    assert "paper" in experiments.SIZES


def test_paper_timing_sizes_state_their_departures_from_the_paper():
    from reparam.experiments.paper_timing import _SIZES, PAPER, deviations

    points, T = _SIZES["paper"]
    assert [p.n for p in points] == list(PAPER["ns"]) and T == PAPER["T"]
    assert all(p.reps == PAPER["reps"] and p.iterative for p in points)
    assert deviations(points, T) == []
    points, T = _SIZES["full"]
    # full keeps every n and T; each n with fewer repetitions or no iterative run is listed
    assert [p.n for p in points] == list(PAPER["ns"]) and T == PAPER["T"]
    listed = deviations(points, T)
    for p in points:
        if p.reps != PAPER["reps"]:
            assert any(d.startswith(f"n = {p.n}: {p.reps} repetition") for d in listed)
        if not p.iterative:
            assert any(d.startswith(f"n = {p.n}: only the exact solvers") for d in listed)
    assert len(listed) == sum((p.reps != PAPER["reps"]) + (not p.iterative) for p in points)


def test_paper_timing_point_without_iterative_methods(monkeypatch, tmp_path):
    from reparam.experiments import paper_timing

    points = (paper_timing.Point(20, 2), paper_timing.Point(30, 1, iterative=False))
    monkeypatch.setitem(paper_timing._SIZES, "tiny", (points, 300))
    o = experiments.run("paper-timing", size="tiny")
    t = o.table
    assert t["n"] == [20, 30] and t["repetitions"] == [2, 1]
    for method in rp.METHODS:
        mean = t["time"][method]["mean"]
        assert mean[0] is not None
        assert (mean[1] is not None) == (method in paper_timing.EXACT)
    assert o.verdict == "supported" and o.control["verdict"] == "not supported"
    assert any("n = 30: only the exact solvers" in d for d in o.deviations)
    write_report([o], tmp_path)
    entry = json.loads((tmp_path / "results.json").read_text())["experiments"]["paper-timing"]
    assert entry["deviations"] == o.deviations and entry["cpu_seconds"] >= 0


def test_unfinished_note_tells_slow_decay_from_a_floor():
    from reparam.experiments._common import PaperRun, unfinished_note

    t = np.arange(1001.0)
    slow = PaperRun(np.zeros(2), 1000, False, 1.0 / (1.0 + t))
    flat = PaperRun(np.zeros(2), 1000, False, np.full(t.size, 1e-3))
    done = PaperRun(np.zeros(2), 10, True, np.geomspace(1, 1e-7, 11))
    assert unfinished_note({"a": done}, 1000) == ""
    note = unfinished_note({"a": slow, "b": done}, 1000)
    assert "1 of 2 runs" in note and "exponent -1.00" in note and "not at a floor" in note
    note = unfinished_note({"a": slow, "b": flat}, 1000)
    assert "a plateau (not yet escaped, or a floor), not a slow decay" in note
    assert "b" in note.split("Flat")[1]
