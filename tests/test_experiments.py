"""Each of the paper's experiments at its tiny size: the data, the figure, the expected verdict."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reparam import experiments
from reparam.experiments._common import jsonable, loglog_slope
from reparam.experiments.report import write_report

# The verdict each claim-check gives at the tiny size. The timing claim (reparametrized
# solvers faster than scipy.optimize.nnls) does not hold on small problems: scipy's compiled
# active set needs a fraction of a millisecond there.
EXPECTED = {
    "init-scale": True,
    "coordinates": True,
    "step-decay": True,
    "acceleration": True,
    "large-scale": True,
    "timing": False,
    "sparsity": True,
    "negative-perturbations": True,
}


@pytest.fixture(scope="module")
def outcomes():
    return {name: experiments.run(name, size="tiny") for name in experiments.NAMES}


def test_every_experiment_is_registered():
    assert set(experiments.NAMES) == set(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_tiny_run_gives_the_expected_verdict(outcomes, name):
    outcome = outcomes[name]
    assert outcome.verdict is EXPECTED[name], outcome.criterion
    assert outcome.name == name and outcome.size == "tiny"
    assert outcome.claim and outcome.criterion
    assert outcome.figure.get_axes()


@pytest.mark.parametrize("name", list(EXPECTED))
def test_table_is_json_serializable(outcomes, name):
    json.dumps(jsonable(outcomes[name].table), allow_nan=False)


def test_runs_are_seeded():
    a = experiments.run("negative-perturbations", size="tiny", seed=3)
    b = experiments.run("negative-perturbations", size="tiny", seed=3)
    np.testing.assert_array_equal(a.table["error_l1"], b.table["error_l1"])


def test_unknown_experiment_and_size_are_rejected():
    with pytest.raises(ValueError, match="unknown experiment"):
        experiments.get("nope")
    with pytest.raises(ValueError, match="size must be one of"):
        experiments.run("coordinates", size="huge")


def test_loglog_slope_recovers_a_power_law():
    t = np.geomspace(1, 1e3, 20)
    assert loglog_slope(t, 3 * t**-2.0) == pytest.approx(-2.0)
    assert np.isnan(loglog_slope(t, np.zeros_like(t)))


def test_report_writes_html_json_and_figures(outcomes, tmp_path):
    import base64
    import io
    import re

    import matplotlib.image

    chosen = [outcomes["init-scale"], outcomes["timing"]]
    index = write_report(chosen, tmp_path)
    page = index.read_text(encoding="utf-8")
    assert "supported" in page and "not supported" in page
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 2
    for data in images:
        assert matplotlib.image.imread(io.BytesIO(base64.b64decode(data)), format="png").ndim == 3
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results) == {"init-scale", "timing"}
    assert results["timing"]["verdict"] is False
    assert (tmp_path / "figures" / "init-scale.png").stat().st_size > 0


def test_reproduce_cli_only(tmp_path, capsys):
    from reparam.cli import main

    assert main(["reproduce", "--tiny", "--only", "step-decay", "--out", str(tmp_path)]) == 0
    assert "step-decay" in capsys.readouterr().out
    assert json.loads((tmp_path / "results.json").read_text())["step-decay"]["verdict"] is True
