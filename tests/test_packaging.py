"""The package metadata builds without warnings and carries an SPDX licence expression."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BUILD = textwrap.dedent(
    """
    import sys, warnings
    from setuptools import build_meta
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        name = build_meta.prepare_metadata_for_build_wheel(sys.argv[1])
    for w in caught:
        print("WARNING", w.category.__name__, str(w.message).splitlines()[0], file=sys.stderr)
    print(name)
    """
)


def test_metadata_builds_without_warnings_with_an_spdx_licence(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "src", project / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    out = tmp_path / "metadata"
    out.mkdir()
    proc = subprocess.run([sys.executable, "-c", BUILD, str(out)], cwd=project,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr  # e.g. "project.license as a TOML table"
    metadata = (out / proc.stdout.split()[-1] / "METADATA").read_text(encoding="utf-8")
    assert "License-Expression: BSD-3-Clause" in metadata.splitlines()
