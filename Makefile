# nsgw developer tasks.  Every target creates .venv and installs what it needs,
# so each works on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: run test lint typecheck pytest proto bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Installed stamps are rebuilt when pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[test,dev]'
	touch $@ $(VENV)/.installed-run

## run: the demo: nsgw with the embedded NSO simulator and the NSO backend (examples/demo.toml)
run: $(VENV)/.installed-run
	$(BIN)/nsgw serve --config examples/demo.toml

## test: lint, type-check and run the test suite
test: lint typecheck pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

pytest: $(VENV)/.installed-dev
	$(BIN)/pytest -q $(PYTEST_ARGS)

## proto: regenerate nsgw_proto/ from proto/*.proto
proto: $(VENV)/.installed-dev
	$(BIN)/python proto/generate.py

## bench: run the benchmarks under bench/ and print the table
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
