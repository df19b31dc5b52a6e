# Memo AI Coach. `make run` starts the whole stack; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help install run test test-unit test-integration test-e2e lint format migrate bench bench-web screenshots clean

help:
	@echo "make run    - install, migrate and start api, worker, beat and web (Ctrl-C stops all)"
	@echo "make test   - install and run the whole test suite"
	@echo "make lint   - ruff, mypy and import contracts"
	@echo "make bench  - load benchmark (figures to stdout and bench/results)"
	@echo "make test-e2e     - browser tests (Playwright driving Debian's Chromium)"
	@echo "make screenshots  - every tab at desktop and mobile widths, to docs/screenshots/"
	@echo "make bench-web    - page load and tab switch times in the browser (bench/results)"

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==25.3"
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	@touch $(STAMP)

# Front-end assets (fonts; later a chart library) come from npm, never committed.
# Without npm the web UI still works, with the system's fonts.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --no-audit --no-fund --loglevel=error && touch $(NODE_STAMP); \
	else echo "npm not found: the web UI will use system fonts"; fi

install: $(STAMP) $(NODE_STAMP)

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

test-e2e: install
	$(BIN)/python -m pytest tests/e2e tests/unit/web

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m bench.load

bench-web: install
	$(BIN)/python -m bench.web

screenshots: install
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
