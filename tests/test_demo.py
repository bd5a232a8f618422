"""`reparam demo` end to end at its tiny size: the table, an HTML report whose images decode."""

from __future__ import annotations

import base64
import html
import io
import re
from types import SimpleNamespace

# The demo extra (matplotlib, scikit-image, scikit-learn, rich) is part of the test extra:
# a missing package fails here instead of skipping.
import matplotlib.image
import numpy as np
import pytest

from reparam.cli import main
from reparam.demo import (
    COLUMNS,
    deblurring,
    discrepancy_stop,
    exact_speed,
    implicit_bias,
    lcurve_corner,
)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    import contextlib

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["demo", "--tiny", "--out", str(out)])
    return code, out, buf.getvalue()


def test_demo_exits_cleanly_and_prints_the_table(demo_run):
    code, _, printed = demo_run
    assert code == 0
    for text in ("deblurring", "discrepancy principle", "L-curve corner", "best-PSNR oracle",
                 "Richardson", "implicit bias", "exact NNLS", "scipy", "kkt"):
        assert text in printed


def test_every_column_is_defined_under_the_table(demo_run):
    _, out, printed = demo_run
    header = next(line for line in printed.splitlines() if "part" in line and "method" in line)
    names = [cell.strip() for cell in re.split(r"[┃│|]", header) if cell.strip()]
    assert names == [name for name, _ in COLUMNS]
    page = (out / "index.html").read_text(encoding="utf-8")
    for name, meaning in COLUMNS:
        assert f"{name}: {meaning.split()[0]}" in printed
        if name != "part":  # the report has one section per part
            assert f"<b>{html.escape(name)}</b>: {html.escape(meaning)}" in page
    for term in ("PSNR", "‖x‖₁", "limit", "error", "kkt", "it."):
        assert term in dict(COLUMNS)["result"] + dict(COLUMNS)["method"], term


@pytest.mark.parametrize("part", [deblurring, implicit_bias, exact_speed])
def test_every_row_has_its_time(part):
    rows = part("tiny")["rows"]
    for row in rows:
        assert float(row[-1]) >= 0.0, row


def test_demo_writes_html_with_decodable_images(demo_run):
    _, out, _ = demo_run
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 3  # one figure per part
    for data in images:
        pixels = matplotlib.image.imread(io.BytesIO(base64.b64decode(data)), format="png")
        assert pixels.ndim == 3 and min(pixels.shape[:2]) > 100
    assert 'src="http' not in page and "<script" not in page  # self-contained


@pytest.fixture(scope="module")
def deblurred():
    return deblurring("tiny")["table"]


def test_rules_without_ground_truth_beat_the_blurred_input(deblurred):
    t = deblurred
    assert t["psnr_dp"] > t["psnr_observed"] + 1.0
    assert t["psnr_lcurve"] > t["psnr_observed"]
    assert t["psnr_rl"] > t["psnr_observed"]
    # the oracle is the best point of the same path, so no rule can beat it
    assert t["psnr_oracle"] >= max(t["psnr_dp"], t["psnr_lcurve"])
    assert t["psnr_curve"][t["iterations_oracle"] - 1] == max(t["psnr_curve"])


def test_discrepancy_principle_stops_at_the_first_iterate_within_the_noise(deblurred):
    t = deblurred
    bound = t["tau"] * t["noise_norm"]
    assert t["noise_norm"] == pytest.approx(t["noise"] * np.sqrt(t["n"]))
    k = t["iterations_dp"]
    assert t["residual_dp"] <= bound < t["residual_curve"][k - 2]
    assert t["residual_curve"][k - 1] == pytest.approx(t["residual_dp"], rel=1e-12)


def test_discrepancy_callback_needs_only_the_residual():
    stop = discrepancy_stop(noise_norm=2.0, tau=1.0)
    assert stop(SimpleNamespace(objective=0.5 * 2.0**2)) is True  # ||r|| = 2
    assert stop(SimpleNamespace(objective=0.5 * 2.1**2)) is False


def test_lcurve_corner_finds_the_elbow():
    # steep leg (residual falls, seminorm flat), then flat leg (seminorm grows): elbow at 3
    residual = [10.0, 5.0, 2.0, 1.0, 0.99, 0.98, 0.97]
    seminorm = [1.0, 1.01, 1.02, 1.03, 2.0, 4.0, 8.0]
    assert lcurve_corner(residual, seminorm) == 3
    # a flat start (zero seminorm) is skipped, not taken for the corner
    assert lcurve_corner([20.0, *residual], [0.0, *seminorm]) == 4
    with pytest.raises(ValueError, match="positive"):
        lcurve_corner([1.0, 2.0], [0.0, 0.0])


def test_exact_speed_certifies_both_solvers():
    table = exact_speed("tiny")["table"]
    assert table["kkt_reparam"] <= 1e-10 and table["kkt_scipy"] <= 1e-10
