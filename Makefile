# Memo AI Coach. `make run` starts the whole stack; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help install run test test-unit test-integration test-ops test-e2e lint format migrate \
	bench bench-load bench-pdf bench-web screenshots clean up up-prod down alert-rules dashboards

help:
	@echo "make run    - install, migrate and start api, worker, beat and web (Ctrl-C stops all)"
	@echo "make test   - install and run the whole test suite"
	@echo "make lint   - ruff, mypy and import contracts"
	@echo "make bench  - load benchmark (figures to stdout and bench/results)"
	@echo "make bench-load USERS=1000 - the scale sweep on Postgres + Redis (docs/benchmarks.md)"
	@echo "make up     - development stack in Docker (infra/compose/docker-compose.yml)"
	@echo "make up-prod - production stack in Docker (secrets, certificate, then compose up)"
	@echo "make down   - stop either Docker stack (volumes are kept)"
	@echo "make test-e2e     - browser tests (Playwright driving Debian's Chromium)"
	@echo "make screenshots  - every tab at desktop and mobile widths, to docs/screenshots/"
	@echo "make bench-web    - page load and tab switch times in the browser (bench/results)"

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==25.3"
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	@touch $(STAMP)

# Front-end assets and tools (fonts, Markdown, sanitiser and diff libraries,
# Swagger UI and ReDoc for the API's /docs and /redoc, esbuild, axe-core for the
# accessibility test) come from npm, never committed. `npm run build` then
# bundles and minifies the web UI once into build/web (services/web/build.mjs),
# again whenever a source file changes. Without npm the web UI still works, with
# the system's fonts, unbundled modules and plain-text chat replies.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --no-audit --no-fund --loglevel=error && touch $(NODE_STAMP); \
	else echo "npm not found: the web UI will use system fonts and unbundled modules"; fi

WEB_BUILD := build/web/manifest.json
WEB_SOURCES := $(shell find services/web/memoai_web/static -type f) \
	services/web/build.mjs services/web/memoai_web/vendor.json
$(WEB_BUILD): $(NODE_STAMP) $(WEB_SOURCES)
	@if [ -x node_modules/.bin/esbuild ]; then npm run --silent build; \
	else echo "esbuild not installed: the web UI will load its modules unbundled"; fi

install: $(STAMP) $(NODE_STAMP) $(WEB_BUILD)

migrate: install
	$(BIN)/memoai migrate

run: install
	$(BIN)/memoai migrate
	exec $(BIN)/memoai stack

# Two processes, a test file each at a time: most tests wait on real servers
# (stacks starting, workers polling), so this halves the wall time on 2 cores.
# Every stack has its own ports, database and Redis key prefix.
TEST_WORKERS ?= 2
test: install
	$(BIN)/python -m pytest tests -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile

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

test-ops: install
	$(BIN)/python -m pytest tests/ops

# ---------------------------------------------------------------- containers
COMPOSE ?= docker compose
DEV_COMPOSE := $(COMPOSE) -f infra/compose/docker-compose.yml
PROD_COMPOSE := $(COMPOSE) -f infra/compose/docker-compose.prod.yml

up:
	$(DEV_COMPOSE) up --build

up-prod:
	infra/compose/init-secrets.sh
	infra/compose/init-secrets.sh --check
	infra/nginx/gen-cert.sh
	$(PROD_COMPOSE) up -d --build --wait

down:
	-$(DEV_COMPOSE) down --remove-orphans
	-$(PROD_COMPOSE) down --remove-orphans

# Regenerate after changing config/monitoring.yaml thresholds or the dashboards'
# generator; the test suite fails while the committed files are stale.
alert-rules: install
	env -u ERROR_RATE_THRESHOLD -u RESPONSE_TIME_THRESHOLD -u QUEUE_BACKLOG_THRESHOLD \
	  -u LLM_FAILURE_RATE_THRESHOLD -u BACKUP_MAX_AGE_HOURS -u DISK_THRESHOLD \
	  -u CRITICAL_THRESHOLD CONFIG_DIR=config \
	  $(BIN)/memoai alert-rules --output infra/prometheus/alerts.yml

dashboards: install
	$(BIN)/python infra/grafana/generate.py

bench: install bench-load bench-pdf bench-web

# Plain: both back ends, 100 users, then API CPU per endpoint class.
# USERS=N: the Postgres + Redis scale sweep (10/100/500/1000 up to N, one API
# and one worker process per core, 10 s think time) plus the zero-think-time
# knee at small counts; docs/benchmarks.md "Scale". BENCH_ARGS adds options.
bench-load: install
	@if [ -n "$(USERS)" ]; then \
	  sweep=$$(printf '%s\n' 10 100 500 1000 $(USERS) | awk '$$1 <= $(USERS)' | sort -nu | paste -sd, -); \
	  knee=$$(printf '%s\n' 10 25 50 100 | awk '$$1 <= $(USERS)' | paste -sd, -); \
	  set -x; $(BIN)/python -m bench.load --backends postgres --duration 120 --users-sweep $$sweep \
	    --knee-sweep $$knee --api-processes auto --workers auto --worker-concurrency auto \
	    $(BENCH_ARGS); \
	else \
	  set -x; $(BIN)/python -m bench.load $(BENCH_ARGS); \
	fi

bench-pdf: install
	$(BIN)/python -m bench.pdf

bench-web: install
	$(BIN)/python -m bench.web

screenshots: install
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build/web
