# Two commands for a new machine: `make demo` and `make test`. Both set up .venv/ first if needed.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
export AIRFLOW_HOME := $(CURDIR)
export GX_ANALYTICS_ENABLED := False

.PHONY: setup demo test test-fast services browser lint bench clean

# uv itself is pinned and installed into the venv by pip; everything else comes from uv.lock. Bytecode is
# compiled at install: every worker process (ingest workers, Airflow tasks) would otherwise compile
# Great Expectations, pandas and the rest from source at each start wherever PYTHONDONTWRITEBYTECODE is set
# (8 s instead of 3 s per process here).
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check uv==0.13.8

$(BIN)/zhiwang: $(BIN)/python pyproject.toml uv.lock
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --compile-bytecode --python $(BIN)/python -q
	@touch $(BIN)/zhiwang

setup: $(BIN)/zhiwang

demo: setup
	$(BIN)/zhiwang demo run --persons $${PERSONS:-5000} --seed $${SEED:-7}

services:
	@bash scripts/services.sh

browser:
	@bash scripts/browser.sh

test: setup services browser lint
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow and not services and not browser"

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/zhiwang bench --persons $${PERSONS:-100000} --seed $${SEED:-7}

clean:
	rm -rf var .pytest_cache
