"""The ``reparam`` command line."""

from __future__ import annotations

import signal
import subprocess
import sys

import numpy as np
import pytest
import scipy.optimize
from conftest import wellposed_problem

from reparam.cli import main


def test_solve_from_files_writes_x(tmp_path, capsys):
    A, b = wellposed_problem(40, 20, seed=3)
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "b.npy", b)
    out = tmp_path / "x.npy"
    code = main(["solve", str(tmp_path / "A.npy"), str(tmp_path / "b.npy"), "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "CONVERGED" in printed and "kkt" in printed
    np.testing.assert_allclose(np.load(out), scipy.optimize.nnls(A, b)[0], atol=1e-10)


def test_solve_reports_max_iter_with_nonzero_exit(tmp_path, capsys):
    A, b = wellposed_problem(40, 20, seed=3)
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "b.npy", b)
    code = main(
        ["solve", str(tmp_path / "A.npy"), str(tmp_path / "b.npy"), "--method", "reparam-gd",
         "--max-iter", "3"]
    )
    assert code == 1
    assert "MAX_ITER" in capsys.readouterr().out


def test_solve_bad_shapes_is_a_clean_error(tmp_path, capsys):
    np.save(tmp_path / "A.npy", np.ones((4, 3)))
    np.save(tmp_path / "b.npy", np.ones(5))
    code = main(["solve", str(tmp_path / "A.npy"), str(tmp_path / "b.npy")])
    assert code == 2
    assert "b has shape (5,), but A has 4 rows" in capsys.readouterr().err


def test_solve_missing_file(tmp_path):
    with pytest.raises(SystemExit, match="cannot read A"):
        main(["solve", str(tmp_path / "nope.npy"), str(tmp_path / "b.npy")])


def test_demo_without_extras_names_the_install_command(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib":
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    assert main(["demo", "--tiny"]) == 3
    assert "pip install 'reparam[demo]'" in capsys.readouterr().err


def test_reproduce_rejects_unknown_experiment(capsys):
    with pytest.raises(SystemExit):
        main(["reproduce", "--only", "nope"])
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args", [["--help"], ["demo", "--help"], ["reproduce", "--help"], ["solve", "--help"]])
def test_help_pages_exist(args):
    proc = subprocess.run(
        [sys.executable, "-m", "reparam.cli", *args], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    assert "usage: reparam" in proc.stdout


def test_ctrl_c_during_solve_writes_the_partial_result(tmp_path):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((300, 600)) / np.sqrt(300)
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "b.npy", A @ np.abs(rng.standard_normal(600)))
    out = tmp_path / "x.npy"
    proc = subprocess.Popen(
        [sys.executable, "-m", "reparam.cli", "solve", str(tmp_path / "A.npy"),
         str(tmp_path / "b.npy"), "--method", "reparam-gd", "--tol", "0", "--max-iter",
         "100000000", "--progress", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert "iteration" in proc.stderr.readline()  # a progress line: it is iterating
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "INTERRUPTED" in stdout and "partial result" in stdout
    x = np.load(out)
    assert x.shape == (600,) and np.all(np.isfinite(x)) and np.all(x >= 0)
