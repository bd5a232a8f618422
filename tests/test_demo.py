"""`reparam demo` end to end at its tiny size: the table, an HTML report whose images decode."""

from __future__ import annotations

import base64
import io
import re

# The demo extra (matplotlib, scikit-image, scikit-learn, rich) is part of the test extra:
# a missing package fails here instead of skipping.
import matplotlib.image
import pytest

from reparam.cli import main


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
    for text in ("deblurring", "Richardson", "implicit bias", "exact NNLS", "scipy", "kkt"):
        assert text in printed


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


def test_deblurring_beats_the_blurred_input():
    from reparam.demo import deblurring

    table = deblurring("tiny")["table"]
    assert table["psnr_reparam"] > table["psnr_observed"] + 1.0
    assert table["psnr_rl"] > table["psnr_observed"]


def test_exact_speed_certifies_both_solvers():
    from reparam.demo import exact_speed

    table = exact_speed("tiny")["table"]
    assert table["kkt_reparam"] <= 1e-10 and table["kkt_scipy"] <= 1e-10
