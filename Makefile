# The commands a newcomer and CI use. `make run` starts Footfall; `make test` runs every test.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint format bench setup audit

$(BIN)/footfall: pyproject.toml scripts/setup.sh
	scripts/setup.sh
	@touch $@

setup: $(BIN)/footfall

## Start the embedded server with a ready demo site (prints the dashboard and demo URLs, website
## id, token, snippet).
run: setup
	$(BIN)/footfall serve --demo

## Run the whole test suite (starts PostgreSQL and Redis, installs Chromium if missing).
test: setup
	@test -x /usr/bin/chromium || scripts/install-chromium.sh
	scripts/start-services.sh
	$(BIN)/python -m pytest

lint: setup audit
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Fail on known vulnerabilities in the installed packages (pip-audit; see the script).
audit: setup
	$(BIN)/python scripts/audit_dependencies.py

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Run every benchmark scenario; writes bench/results/latest.{md,json} (see BENCHMARKS.md).
## The cluster and stats scenarios use the same local PostgreSQL and Redis as the tests.
bench: setup
	scripts/install-wrk.sh
	scripts/start-services.sh
	$(BIN)/python -m bench
