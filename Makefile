# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8

.PHONY: run dev test test-fast test-reliability lint audit drift hooks fmt migrate seed openapi bench clean

run: $(VENV)/.runtime migrate ## install the runtime dependencies, migrate, start the production server on :8080
	$(BIN)/shelf serve

dev: $(VENV)/.synced migrate ## start the reloading development server
	$(BIN)/shelf serve --dev

test: $(VENV)/.synced ## run the test suite; fails below the coverage floor (fail_under, pyproject.toml)
	$(BIN)/pytest --cov -m "not reliability"

test-reliability: $(VENV)/.synced ## faults and abuse on private PostgreSQL and Redis servers (docs/RELIABILITY.md)
	$(BIN)/pytest -m reliability -s

test-fast: $(VENV)/.synced ## the suite without real servers, browsers and deployment checks, for local loops
	$(BIN)/pytest -m "not server and not browser and not deploy and not reliability"

lint: $(VENV)/.synced ## lint, format check, type check, import layers, security scan, Dockerfile lint, audit, drift
	$(BIN)/ruff check src tests bench scripts && $(BIN)/ruff format --check src tests bench scripts && $(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/bandit -q -c pyproject.toml --severity-level medium -r src && $(BIN)/hadolint --failure-threshold style Dockerfile
	@$(MAKE) --no-print-directory audit drift

# pip-audit reads advisories from PyPI's JSON API: where it cannot (no network to it, or a mirror
# that serves no release data), the audit is skipped and says so; where it can, any finding or
# error fails lint.
audit: $(VENV)/.synced ## known vulnerabilities in the locked dependencies
	@if reason=$$($(BIN)/python scripts/advisories.py); then $(BIN)/pip-audit --strict --skip-editable --progress-spinner off; else echo "audit: SKIPPED, not passed: PyPI's advisory data cannot be read from this machine ($$reason); run make audit where it can"; fi

drift: $(VENV)/.synced ## fail when the models and the migrations differ
	@db=$$(mktemp -d) && export APP_ENV=test DATABASE_URL=sqlite:///$$db/drift.db && $(BIN)/shelf db upgrade && $(BIN)/shelf db check; rc=$$?; rm -rf $$db; exit $$rc

hooks: $(VENV)/.synced ## run every pre-commit hook on the whole tree
	$(BIN)/pre-commit run --all-files --show-diff-on-failure

fmt: $(VENV)/.synced ## format the code and fix what ruff can
	$(BIN)/ruff check --fix src tests bench scripts && $(BIN)/ruff format src tests bench scripts

migrate: $(VENV)/.runtime ## apply database migrations
	$(BIN)/shelf db upgrade

seed: $(VENV)/.runtime ## load the demo data
	$(BIN)/shelf seed

openapi: $(VENV)/.runtime ## print the OpenAPI document
	$(BIN)/shelf openapi

bench: $(VENV)/.synced ## load-test the production server; results in bench/results/
	$(BIN)/python bench/run.py

clean: ## remove the virtualenv and local data
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*

# The virtualenv, with uv inside it, synced to uv.lock whenever the lock changes: the runtime
# dependencies alone for running the service (`.runtime`), the development tools as well for
# testing, linting and benchmarks (`.synced`). `--inexact` leaves what the other installed.
$(BIN)/uv:
	$(PYTHON) -m venv $(VENV) && $(BIN)/pip install -q uv==$(UV_VERSION)

$(VENV)/.runtime: pyproject.toml uv.lock | $(BIN)/uv
	$(BIN)/uv sync --frozen --no-dev --inexact --python $(BIN)/python
	touch $@

$(VENV)/.synced: pyproject.toml uv.lock | $(BIN)/uv
	$(BIN)/uv sync --frozen --inexact --python $(BIN)/python
	touch $@ $(VENV)/.runtime
