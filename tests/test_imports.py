"""``import reparam`` loads only what is used: public names resolve on first use (PEP 562), and
neither the package nor ``reparam solve`` imports the heavy parts of SciPy or an optional
library. Each check runs in a fresh interpreter, where nothing has been imported yet."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import reparam

# Libraries that no exact NNLS solve needs: optional extras, and the parts of SciPy that only
# the clustering, constrained, implicit-bias and flow toolkits use (0.05 s to 0.5 s each).
OPTIONAL = ("matplotlib", "sklearn", "skimage", "dask", "distributed", "zarr", "torch",
            "pandas", "rich", "array_api_compat")
SCIPY_PARTS = ("scipy.optimize", "scipy.spatial", "scipy.integrate", "scipy.io",
               "scipy.special", "scipy.sparse.linalg", "scipy.fft", "scipy.stats")
TOOLKITS = ("reparam.clustering", "reparam.constrained", "reparam.implicit_bias",
            "reparam.flows", "reparam.stability", "reparam.models", "reparam.decomposition",
            "reparam.estimators", "reparam.distributed", "reparam.demo")


def modules_after(code: str, cwd=None) -> set[str]:
    """The names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    script = textwrap.dedent(code) + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=cwd, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.splitlines()[-1]))


def loaded(modules: set[str], names) -> list[str]:
    """Those of ``names`` that are in ``modules``, as themselves or through a submodule."""
    return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in modules))


def test_import_reparam_loads_no_heavy_module():
    modules = modules_after("import reparam")
    assert loaded(modules, OPTIONAL + SCIPY_PARTS + TOOLKITS) == []


def test_the_command_line_module_loads_no_heavy_module():
    # the solvers too are imported by the command that runs them (`reparam --help` needs none)
    modules = modules_after("import reparam.cli")
    assert loaded(modules, OPTIONAL + SCIPY_PARTS + TOOLKITS + ("reparam._nnls",)) == []


def test_solving_from_the_command_line_loads_no_heavy_module(tmp_path):
    # A dense 300 x 100 problem runs reparam's own exact kernel: reading the files, solving,
    # certifying and writing x and the report need only numpy, scipy.linalg and scipy.sparse.
    rng = np.random.default_rng(0)
    A = rng.standard_normal((300, 100))
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "b.npy", A @ np.maximum(rng.standard_normal(100), 0.0))
    modules = modules_after("""
        import contextlib, io
        from reparam.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["solve", "A.npy", "b.npy", "--out", "x.npy", "--report", "r.json"])
        assert code == 0, code
    """, cwd=tmp_path)
    assert (tmp_path / "x.npy").exists() and (tmp_path / "r.json").exists()
    assert loaded(modules, OPTIONAL + SCIPY_PARTS + TOOLKITS) == []


def test_every_public_name_resolves_in_a_fresh_interpreter():
    # Names first reached through the package, in a process where nothing is loaded yet: each
    # is the object of the module that defines it, and `import *` gives them all without an
    # optional dependency.
    modules = modules_after("""
        import importlib
        import reparam
        for name, where in reparam._LAZY.items():
            value = getattr(reparam, name)
            module = importlib.import_module(f"reparam{where or '.' + name}")
            expected = module if where is None else getattr(module, name)
            assert value is expected, name
        namespace = {}
        exec("from reparam import *", namespace)
        assert set(reparam.__all__) <= set(namespace), set(reparam.__all__) - set(namespace)
    """)
    assert loaded(modules, OPTIONAL) == []


@pytest.mark.parametrize("name", reparam.__all__)
def test_every_name_in_all_resolves(name):
    assert getattr(reparam, name) is not None
    assert name in dir(reparam)


def test_all_and_the_lazy_table_name_the_same_public_names():
    assert sorted(reparam.__all__) == sorted(reparam._LAZY)
    assert len(set(reparam.__all__)) == len(reparam.__all__)


def test_optional_submodules_are_listed_but_not_exported():
    for name in ("decomposition", "distributed", "estimators", "models"):
        assert name in dir(reparam) and name not in reparam.__all__


def test_any_submodule_is_an_attribute_on_first_use():
    # as when the package imported them all: `reparam.solvers.METHODS`, `reparam._nnls`
    modules_after("""
        import reparam
        assert reparam.solvers.METHODS is reparam.METHODS
        assert reparam._nnls.nnls is reparam.nnls
        assert reparam.cli.main is not None
    """)


def test_an_unknown_name_is_an_attribute_error_that_names_it():
    with pytest.raises(AttributeError, match="no_such_name"):
        reparam.no_such_name  # noqa: B018
    assert not hasattr(reparam, "no_such_name")
