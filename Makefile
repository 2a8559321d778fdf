# Leadloop: `make demo` runs it, `make test` proves it. Both install what they need the first time.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tests keep their compiled modules between runs (an environment that sets PYTHONDONTWRITEBYTECODE
# makes every run compile the whole tree again: about 6 s of `make test-fast`). Empty means unset.
export PYTHONDONTWRITEBYTECODE :=

.PHONY: demo test test-fast check fmt bench serve clean system

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Build a fresh demo world on SQLite and serve it at http://127.0.0.1:8000
demo: $(STAMP)
	$(BIN)/leadloop demo

serve: $(STAMP)
	$(BIN)/leadloop serve

## Chromium for the browser tests and a running PostgreSQL for the integration tests
system:
	bash scripts/ensure-system.sh

## Every test, on SQLite and PostgreSQL, browser walks included
test: $(STAMP) system
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q --durations=25

## Unit tests that are not marked slow: seconds, no services (`make test` runs everything)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m "not slow" --hypothesis-profile=fast tests/unit

## Format check, lint and types
check: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(STAMP)
	$(BIN)/python bench/capture.py
	$(BIN)/python bench/import.py
	$(BIN)/python bench/scoring.py
	$(BIN)/python bench/speed_to_lead.py
	$(BIN)/python bench/dedupe.py
	$(BIN)/python bench/realtime_match.py
	$(BIN)/python bench/nurture.py

clean:
	rm -rf $(VENV) leadloop.db leadloop.db-wal leadloop.db-shm leadloop.db-intake* .pytest_cache .mypy_cache .ruff_cache
