"""The ``reparam`` command, run as users run it: a real process, its exit code and its files."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.optimize
import scipy.sparse as sp
from conftest import wellposed_problem

import reparam as rp
from reparam import cli

README = Path(__file__).resolve().parents[1] / "README.md"


def reparam(*args: str, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m reparam ARGS`` and return the finished process."""
    return subprocess.run([sys.executable, "-m", "reparam", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, check=False)


def in_process(capsys, *args: str) -> tuple[int, str, str]:
    """``cli.main(ARGS)`` in this process (faster; for messages): (exit code, stdout, stderr)."""
    try:
        code = cli.main(list(map(str, args)))
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def problem():
    A, b = wellposed_problem(40, 20, seed=3)
    return A, b, scipy.optimize.nnls(A, b)[0]


# ----------------------------------------------------------------------------------------------
# reading every file type
# ----------------------------------------------------------------------------------------------
def _text(path: Path, M: np.ndarray, delimiter: str, header: str | None = None) -> None:
    with open(path, "w", encoding="utf-8") as f:
        if header is not None:
            f.write(header + "\n")
        np.savetxt(f, M, delimiter=delimiter, fmt="%.17g")


WRITERS = {
    "npy": lambda d, A, b: (np.save(d / "A.npy", A), np.save(d / "b.npy", b), ("A.npy", "b.npy")),
    "npz named": lambda d, A, b: (np.savez(d / "p.npz", A=A, b=b), ("p.npz", "p.npz")),
    "npz single": lambda d, A, b: (np.savez(d / "A.npz", A), np.savez(d / "b.npz", b),
                                   ("A.npz", "b.npz")),
    "scipy sparse npz": lambda d, A, b: (sp.save_npz(d / "A.npz", sp.csr_array(A)),
                                         np.save(d / "b.npy", b), ("A.npz", "b.npy")),
    "mtx": lambda d, A, b: (scipy.io.mmwrite(d / "A.mtx", sp.coo_array(A)),
                            scipy.io.mmwrite(d / "b.mtx", b[:, None]), ("A.mtx", "b.mtx")),
    "mtx dense": lambda d, A, b: (scipy.io.mmwrite(d / "A.mtx", A), np.save(d / "b.npy", b),
                                  ("A.mtx", "b.npy")),
    "csv with header": lambda d, A, b: (
        _text(d / "A.csv", A, ",", header=",".join(f"x{j}" for j in range(A.shape[1]))),
        _text(d / "b.csv", b[:, None], ",", header="b"), ("A.csv", "b.csv")),
    "csv semicolons": lambda d, A, b: (_text(d / "A.csv", A, ";"), _text(d / "b.csv", b[None], ";"),
                                       ("A.csv", "b.csv")),
    "txt blanks": lambda d, A, b: (_text(d / "A.txt", A, " "), _text(d / "b.txt", b, " "),
                                   ("A.txt", "b.txt")),
    "txt tabs": lambda d, A, b: (_text(d / "A.txt", A, "\t", header="# a comment"),
                                 _text(d / "b.txt", b, "\t"), ("A.txt", "b.txt")),
}


@pytest.mark.parametrize("kind", list(WRITERS))
def test_solve_reads_each_file_type(kind, problem, tmp_path):
    A, b, x_ref = problem
    names = WRITERS[kind](tmp_path, A, b)[-1]
    proc = reparam("solve", *names, "--out", "x.npy", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "status:     CONVERGED" in proc.stdout
    x = np.load(tmp_path / "x.npy")
    assert x.shape == (20,)  # a text or Matrix Market b of one column or row is one b
    np.testing.assert_allclose(x, x_ref, atol=1e-10)


def test_solve_many_right_hand_sides_from_text(problem, tmp_path):
    A, b, x_ref = problem
    _text(tmp_path / "A.csv", A, ",")
    _text(tmp_path / "B.csv", np.column_stack([b, 2 * b]), ",")
    proc = reparam("solve", "A.csv", "B.csv", "--out", "X.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "2 CONVERGED (of 2 right-hand sides)" in proc.stdout
    X = np.loadtxt(tmp_path / "X.csv", delimiter=",")
    np.testing.assert_allclose(X, np.column_stack([x_ref, 2 * x_ref]), atol=1e-9)


BAD_INPUTS = {
    # name: (files to write, arguments, what stderr must say)
    "missing file": ({}, ["nope.npy", "b.npy"], "nope.npy: no such file"),
    "unknown type": ({"A.xls": b"x"}, ["A.xls", "b.npy"], "A.xls: unknown file type '.xls'"),
    "word in csv": ({"A.csv": b"1,2\n3,oops\n"}, ["A.csv", "b.npy"],
                    "A.csv: line 2 has 'oops', not a number"),
    "ragged text": ({"A.txt": b"1 2\n3\n"}, ["A.txt", "b.npy"],
                    "A.txt: line 2 has 1 values, but line 1 has 2"),
    "empty value": ({"A.csv": b"1,,2\n"}, ["A.csv", "b.npy"], "A.csv: line 1 has an empty value"),
    "text named .npy": ({"A.npy": b"1,2\n3,4\n"}, ["A.npy", "b.npy"],
                        "A.npy: not a .npy file"),
    "binary text": ({"A.csv": b"\xff\xfe\x00\x81"}, ["A.csv", "b.npy"], "A.csv: not a text file"),
    "shapes": ({}, ["b.npy", "b.npy"], "A has shape (4,); expected a 2-D array"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_names_the_file_and_exits_2(case, tmp_path, monkeypatch, capsys):
    files, args, expected = BAD_INPUTS[case]
    np.save(tmp_path / "b.npy", np.ones(4))
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    monkeypatch.chdir(tmp_path)
    code, out, err = in_process(capsys, "solve", *args)
    assert code == 2 and expected in err and out == ""


def test_bad_npz_contents_exit_2(tmp_path, monkeypatch, capsys):
    np.savez(tmp_path / "two.npz", first=np.eye(2), second=np.ones(2))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "strings.npy", np.array(["a", "b"]))
    np.save(tmp_path / "b.npy", np.ones(2))
    monkeypatch.chdir(tmp_path)
    for args, expected in (
            (["two.npz", "b.npy"], ("two.npz: holds the arrays first, second; expected one "
                                    "array, or one named 'A'")),
            (["objects.npy", "b.npy"], "objects.npy: not a numeric .npy file"),
            (["strings.npy", "b.npy"], "strings.npy: A has dtype <U1; expected real numbers")):
        code, _, err = in_process(capsys, "solve", *args)
        assert code == 2 and expected in err, err


def test_a_bad_file_in_a_real_process_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "A.csv").write_text("x,y\n1,2\n3,oops\n")
    np.save(tmp_path / "b.npy", np.ones(2))
    proc = reparam("solve", "A.csv", "b.npy", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "reparam solve: A.csv: line 3 has 'oops', not a number (values " \
                          "separated by ',')\n"


# ----------------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["x.npy", "x.csv", "x.txt", "x.TXT"])
def test_out_writes_exactly_the_path_given(name, problem, tmp_path):
    A, b, _ = problem
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "b.npy", b)
    proc = reparam("solve", "A.npy", "b.npy", "--out", name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"x written to {name}" in proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["A.npy", "b.npy", name])
    path = tmp_path / name
    x = np.load(path) if name.endswith(".npy") else np.loadtxt(
        path, delimiter="," if name.endswith(".csv") else None)
    np.testing.assert_array_equal(x, rp.nnls(A, b).x)  # every bit survives the text format


# A solve that would run for hours: only a check made before it can end the command.
NEVER_ENDS = ["--method", "reparam-gd", "--tol", "0", "--max-iter", "1000000000"]


def test_output_folder_is_checked_before_the_solve(problem, tmp_path):
    A, b, _ = problem
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "b.npy", b)
    proc = reparam("solve", "A.npy", "b.npy", *NEVER_ENDS, "--out", "missing/x.npy",
                   cwd=tmp_path, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "reparam solve: --out missing/x.npy: the folder missing does not " \
                          "exist\n"


@pytest.mark.parametrize(("option", "path", "expected"), [
    ("--report", "missing/r.json", "--report missing/r.json: the folder missing does not exist"),
    ("--out", "x.dat", "--out x.dat: unknown output type '.dat'; use .npy, .csv, .txt"),
    ("--out", "x", "--out x: unknown output type '(no suffix)'"),
    ("--report", "r.txt", "--report r.txt: unknown output type '.txt'; use .json"),
    ("--out", ".", "--out .: is a folder"),
])
def test_unusable_outputs_exit_2_before_solving(option, path, expected, problem, tmp_path,
                                                monkeypatch, capsys):
    A, b, _ = problem
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "b.npy", b)
    monkeypatch.chdir(tmp_path)
    code, out, err = in_process(capsys, "solve", "A.npy", "b.npy", *NEVER_ENDS, option, path)
    assert code == 2 and expected in err and out == ""


def test_not_converged_exits_1_and_still_writes(problem, tmp_path):
    A, b, _ = problem
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "b.npy", b)
    proc = reparam("solve", "A.npy", "b.npy", "--method", "reparam-gd", "--max-iter", "3",
                   "--out", "x.npy", "--report", "r.json", cwd=tmp_path)
    assert proc.returncode == 1
    assert "status:     MAX_ITER" in proc.stdout and "try:" in proc.stdout  # with advice
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["status"] == "MAX_ITER" and report["exit_code"] == 1 and report["n_iter"] == 3
    x = np.load(tmp_path / "x.npy")
    assert np.all(x >= 0) and report["kkt"] == pytest.approx(rp.kkt_residual(A, b, x), rel=1e-9)


def test_json_report_for_many_right_hand_sides(problem, tmp_path):
    A, b, _ = problem
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "B.npy", np.column_stack([b, -b, 3 * b]))
    proc = reparam("solve", "A.npy", "B.npy", "--json", "--out", "X.npy", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)  # nothing else on stdout
    res = rp.nnls(A, np.load(tmp_path / "B.npy"))
    assert report["status"] == "CONVERGED" and report["status_counts"] == {"CONVERGED": 3}
    assert report["right_hand_sides"] == 3 and report["shape"] == [40, 20]
    assert report["method"] == res.method and report["exit_code"] == 0
    assert report["kkt"] == pytest.approx(float(np.max(res.kkt)), rel=1e-6, abs=1e-15)
    assert report["objective"] == pytest.approx(float(np.sum(res.objective)), rel=1e-9)
    assert set(report) >= {"message", "time", "n_iter", "success", "out"}
    assert "x written to X.npy" in proc.stderr


# ----------------------------------------------------------------------------------------------
# options, generated from the method table
# ----------------------------------------------------------------------------------------------
def test_every_method_option_is_a_documented_command_line_option():
    proc = reparam("solve", "--help")
    assert proc.returncode == 0
    # each option's entry: from "  --name" at the start of a line to the next entry
    entries = dict(re.findall(r"^  (--[a-z-]+)(.*?)(?=^  -|^\S|\Z)", proc.stdout,
                              flags=re.MULTILINE | re.DOTALL))
    for method in rp.METHODS.values():
        for name, default in method.defaults.items():
            if name in ("callback", "record"):
                continue  # Python objects: API only
            flag = "--" + name.replace("_", "-")
            assert flag in entries, flag
            text = re.sub(r"\s+", " ", entries[flag])
            assert "Default: " in text and cli._shown(default) in text, (flag, default)
            every = cli.method_options()[name][cli._shown(default)] == list(rp.METHODS)
            assert every or method.name in text, (flag, method.name)


def test_options_follow_the_method_table(monkeypatch, capsys):
    # A method declared with new defaults shows up on the command line with no other edit.
    extra = rp.solvers.Method("slow-gd", "test only", {"tol": 0.5, "depth": 7})
    monkeypatch.setitem(rp.METHODS, "slow-gd", extra)
    options = cli.method_options()
    assert options["depth"]["7"] == ["slow-gd"] and options["tol"]["0.5"] == ["slow-gd"]
    with pytest.raises(SystemExit):
        cli.main(["solve", "--help"])
    assert "Default: 2 (reparam-gd, riemannian-gd, riemannian-bb, reparam-nesterov); 7 " \
           "(slow-gd)" in re.sub(r"\s+", " ", capsys.readouterr().out)


def test_options_reach_the_solver(problem, tmp_path):
    A, b, _ = problem
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "b.npy", b)
    options = {"depth": 3, "init_scale": 0.05, "step": 0.01, "decay": 0.5, "max_iter": 40}
    args = [a for k, v in options.items() for a in ("--" + k.replace("_", "-"), str(v))]
    proc = reparam("solve", "A.npy", "b.npy", "--method", "reparam-gd", *args, "--out", "x.npy",
                   "--report", "r.json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    expected = rp.nnls(A, b, method="reparam-gd", **options)
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), expected.x)
    assert json.loads((tmp_path / "r.json").read_text())["n_iter"] == 40


@pytest.mark.parametrize(("args", "expected"), [
    (["--method", "fista", "--depth", "3"], "method 'fista' got unknown option(s) depth"),
    (["--method", "reparam-gd", "--depth", "1"], "argument --depth: depth must be >= 2"),
    (["--method", "reparam-gd", "--depth", "2.5"], "depth must be an integer"),
    (["--method", "fista", "--restart", "maybe"], "restart must be True or False"),
    (["--method", "riemannian-bb", "--bb", "longest"], "bb must be one of"),
    (["--method", "nope"], "invalid choice: 'nope'"),
    (["--step", "-1"], "step must be > 0"),
])
def test_bad_options_exit_2(args, expected, problem, tmp_path, monkeypatch, capsys):
    A, b, _ = problem
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "b.npy", b)
    monkeypatch.chdir(tmp_path)
    code, _, err = in_process(capsys, "solve", "A.npy", "b.npy", *args)
    assert code == 2
    assert expected in err


def test_max_iter_none_is_the_methods_own_limit(problem, tmp_path, monkeypatch, capsys):
    A, b, _ = problem
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "b.npy", b)
    monkeypatch.chdir(tmp_path)
    code, out, err = in_process(capsys, "solve", "A.npy", "b.npy", "--method", "reparam-gd",
                                "--max-iter", "none", "--json")
    assert code in (0, 1), err
    default = rp.METHODS["reparam-gd"].defaults["max_iter"]
    assert json.loads(out)["n_iter"] == rp.nnls(A, b, method="reparam-gd").n_iter <= default


def test_words_become_the_values_the_api_takes():
    assert cli._literal("true") is True and cli._literal("False") is False
    assert cli._literal("none") is None and cli._literal("auto") == "auto"
    assert cli._literal("3") == 3 and isinstance(cli._literal("3"), int)
    assert cli._literal("1e-3") == 1e-3


# ----------------------------------------------------------------------------------------------
# the command itself: version, python -m, help, exit codes
# ----------------------------------------------------------------------------------------------
def test_version_and_python_m():
    proc = reparam("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"reparam {rp.__version__}"
    script = Path(sys.executable).with_name("reparam")
    if script.exists():  # the installed console script is the same command
        proc = subprocess.run([str(script), "--version"], capture_output=True, text=True,
                              check=False)
        assert proc.stdout.strip() == f"reparam {rp.__version__}"


@pytest.mark.parametrize(
    "args", [["--help"], ["demo", "--help"], ["reproduce", "--help"], ["solve", "--help"]])
def test_help_pages_exist(args):
    proc = reparam(*args)
    assert proc.returncode == 0
    assert "usage: reparam" in proc.stdout


@pytest.mark.parametrize("args", [["--help"], ["solve", "--help"]])
def test_exit_codes_are_documented(args):
    page = reparam(*args).stdout
    codes = re.findall(r"^\s+(\d+)\s{2}", page[page.index("exit codes:"):], flags=re.MULTILINE)
    assert [int(c) for c in codes] == list(cli.EXIT_CODES)


def test_readme_documents_the_same_exit_codes():
    text = README.read_text(encoding="utf-8")
    codes = [int(c) for c in re.findall(r"^\| (\d+) \|", text, flags=re.MULTILINE)]
    assert codes == list(cli.EXIT_CODES)


def test_demo_without_extras_names_the_install_command(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib":
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    assert cli.main(["demo", "--tiny"]) == 3
    assert "pip install 'reparam[demo]'" in capsys.readouterr().err


def test_reproduce_rejects_unknown_experiment(capsys):
    with pytest.raises(SystemExit):
        cli.main(["reproduce", "--only", "nope"])
    assert "invalid choice" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------
# Ctrl-C: exit 130 with the partial result written
# ----------------------------------------------------------------------------------------------
@pytest.mark.skipif(os.name != "posix", reason="SIGINT delivery needs a POSIX system")
@pytest.mark.parametrize("columns", [1, 3])
def test_ctrl_c_writes_the_partial_result_and_exits_130(columns, tmp_path):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((300, 600)) / np.sqrt(300)
    B = A @ np.abs(rng.standard_normal((600, columns)))
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "b.npy", B[:, 0] if columns == 1 else B)
    proc = subprocess.Popen(
        [sys.executable, "-m", "reparam", "solve", "A.npy", "b.npy", "--method", "reparam-gd",
         "--tol", "0", "--max-iter", "100000000", "--progress", "--out", "x.npy", "--report",
         "r.json"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert "iteration" in proc.stderr.readline()  # a progress line: it is iterating
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "INTERRUPTED" in stdout and "partial result" in stdout
    assert "Traceback" not in stderr
    x = np.load(tmp_path / "x.npy")
    assert x.shape == ((600,) if columns == 1 else (600, columns))
    assert np.all(np.isfinite(x)) and np.all(x >= 0) and np.any(x > 0)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["status_counts"] == {"INTERRUPTED": columns} and report["exit_code"] == 130


def test_the_command_line_imports_no_plotting_library():
    # The experiment names come from reparam.experiments, which must not pull in matplotlib:
    # `reparam solve` and `--help` need only numpy and scipy.
    code = "import sys, reparam.cli; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
