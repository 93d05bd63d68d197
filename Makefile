# tradeplane — every habit has a target. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two install levels in one venv, each with its stamp: the runtime (what `make demo` and
# `make bench` need) and, on top of it, the development tools (tests, linters, type checker).
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev
PROTO_SRC := $(wildcard proto/tradeplane/v1/*.proto)
ARGS ?=

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# Each level is (re)installed when missing or when pyproject.toml is newer than its last
# install; the dev level follows the runtime one, so `make demo` then `make test` adds the tools.
$(RUNTIME): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tradeplane needs Python 3.11+")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $(RUNTIME)

$(DEV): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(DEV)

venv: $(DEV) ## Create or refresh .venv with the project and its dev tools

demo: $(RUNTIME) ## Run the demo offline (runtime dependencies only); options go in ARGS="--duration 60"
	$(BIN)/tradeplane demo $(ARGS)

fmt: $(DEV) ## Format and auto-fix the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lint: $(DEV) ## Lint, format check and the dependency rule
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit/test_dependency_rule.py

typecheck: $(DEV) ## mypy --strict on domain/, application/, adapters/ and entrypoints/
	$(BIN)/mypy

test: $(DEV) lint typecheck ## Lint, type check and run the whole test suite
	$(BIN)/python -m pytest -n auto -q

bench: $(RUNTIME) ## Run the benchmarks (JSON in bench/results/, table on stdout)
	$(BIN)/python -m bench

proto: $(DEV) ## Generate Python stubs from proto/
	$(BIN)/python -m entrypoints.protogen

clean: ## Remove the venv, caches and build output
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build dist *.egg-info bench/results
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

.PHONY: help venv demo fmt lint typecheck test bench proto clean
