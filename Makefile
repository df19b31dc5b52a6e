# Memo AI Coach. `make run` starts the whole stack; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help install run test test-unit test-integration lint format migrate bench bench-load bench-pdf clean

help:
	@echo "make run    - install, migrate and start api, worker, beat and web (Ctrl-C stops all)"
	@echo "make test   - install and run the whole test suite"
	@echo "make lint   - ruff, mypy and import contracts"
	@echo "make bench  - load benchmark (figures to stdout and bench/results)"

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==25.3"
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/memoai migrate

run: install
	$(BIN)/memoai migrate
	exec $(BIN)/memoai stack

test: install
	$(BIN)/python -m pytest tests -p no:cacheprovider

test-unit: install
	$(BIN)/python -m pytest tests/unit

test-integration: install
	$(BIN)/python -m pytest tests/integration

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install bench-load bench-pdf

bench-load: install
	$(BIN)/python -m bench.load

bench-pdf: install
	$(BIN)/python -m bench.pdf

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
