# The two set-up commands of the README: `make demo` and `make test`. Both create .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench bench-peers clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# setup.py and the C source: a changed kernel is rebuilt by the next make.
EXT := setup.py src/reparam/solvers/active_set/_bppc.c src/reparam/solvers/active_set/_cholc.c

$(VENV)/.installed-demo: pyproject.toml $(EXT) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[demo]"
	touch $@

$(VENV)/.installed-test: pyproject.toml $(EXT) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.installed-demo
	$(BIN)/reparam demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

$(VENV)/.installed-bench: pyproject.toml $(EXT) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $@

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks.nnls_vs_scipy
	$(BIN)/python -m benchmarks.paper_solvers
	$(BIN)/python -m benchmarks.sparse_large

bench-peers: $(VENV)/.installed-bench
	$(BIN)/benchopt run benchmarks/benchopt_nnls --no-plot -n 25 --timeout 60 -r 1
	$(BIN)/python benchmarks/benchopt_nnls/summarize.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
	find src -name '_bppc*.so' -delete
	find src -name '_cholc*.so' -delete
