"""The README's Python examples run as written, and each shows the status it gets."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np

import reparam as rp

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def test_readme_examples_run_and_show_their_status(monkeypatch):
    blocks = python_blocks()
    assert len(blocks) >= 2
    results = []
    solve = rp.nnls

    def recording(*args, **kwargs):
        res = solve(*args, **kwargs)
        results.append(res)
        return res

    monkeypatch.setattr(rp, "nnls", recording)
    namespace: dict = {"__name__": "readme"}
    for i, block in enumerate(blocks, 1):
        printed = io.StringIO()
        first = len(results)
        with contextlib.redirect_stdout(printed):
            exec(compile(block, f"README.md, python block {i}", "exec"), namespace)  # noqa: S102
        assert printed.getvalue(), f"block {i} prints nothing: a reader cannot see what it got"
        for res in results[first:]:
            # A solve either converges or its block prints the status it got: a silent
            # MAX_ITER teaches the reader the wrong settings.
            names = {s.name for s in np.atleast_1d(np.asarray(res.status, dtype=object))}
            assert res.success or all(n in printed.getvalue() for n in names), (i, res)
    assert results, "the README shows rp.nnls"
