# Set-up and entry points. `make test` and `make run` work on a fresh machine: they create
# the virtual environment when it is missing and install what they need into it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= results

.PHONY: run test bench lint docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# one stamp per extra set, so each target installs only what it needs
$(VENV)/.stamp-%: pyproject.toml hatch_build.py src/mlpgradientflow/_kernels/activations.c | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[$(subst +,$(comma),$*)]"
	touch $@

comma := ,

run: $(VENV)/.stamp-plot+progress
	$(BIN)/python -m mlpgradientflow run --out $(OUT)

# the suite, then the derivative tests once more on the NumPy kernels (the C kernels' fallback)
test: $(VENV)/.stamp-test+plot
	$(BIN)/python -m pytest
	MLPGRADIENTFLOW_NO_C=1 $(BIN)/python -m pytest -q tests/test_derivatives.py tests/test_activations.py tests/test_no_c_switch.py

bench: $(VENV)/.stamp-bench+test
	$(BIN)/python benchmarks/bench_derivatives.py
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_solvers.py
	$(BIN)/python benchmarks/bench_neti.py
	$(BIN)/python benchmarks/bench_parallel.py
	$(BIN)/python benchmarks/bench_end_state.py
	$(BIN)/python benchmarks/bench_time_to_solution.py

# the site, into docs/_build/html/: every warning is an error (all of them listed first);
# SPHINXOPTS="-D plot_gallery=0" skips running the examples
SPHINXOPTS ?=
docs: $(VENV)/.stamp-docs+plot
	rm -f docs/sg_execution_times.rst  # sphinx-gallery's timing page, rewritten by each build
	$(BIN)/python -m sphinx -b html -W --keep-going $(SPHINXOPTS) docs docs/_build/html

lint: $(VENV)/.stamp-test
	$(BIN)/python -m pip install -q ruff mypy
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache docs/_build docs/api/generated docs/gallery docs/sg_execution_times.rst
