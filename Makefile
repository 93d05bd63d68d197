# tradeplane — every habit has a target. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROTO_SRC := $(wildcard proto/tradeplane/v1/*.proto)
ARGS ?=

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# The venv is (re)built when missing or when pyproject.toml is newer than the last install.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tradeplane needs Python 3.11+")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## Create or refresh .venv with the project and its dev tools

demo: $(STAMP) ## Run the demo offline; options go in ARGS="--grpc-listen 127.0.0.1:0 --duration 60"
	$(BIN)/tradeplane demo $(ARGS)

fmt: $(STAMP) ## Format and auto-fix the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lint: $(STAMP) ## Lint, format check and the dependency rule
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit/test_dependency_rule.py

typecheck: $(STAMP) ## mypy --strict on domain/ and application/
	$(BIN)/mypy

test: lint typecheck ## Lint, type check and run the whole test suite
	$(BIN)/python -m pytest -n auto -q

bench: $(STAMP) ## Run the benchmarks (JSON in bench/results/, table on stdout)
	$(BIN)/python -m bench

proto: $(STAMP) ## Generate Python stubs from proto/
	$(BIN)/python -m entrypoints.protogen

clean: ## Remove the venv, caches and build output
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build dist *.egg-info bench/results
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

.PHONY: help venv demo fmt lint typecheck test bench proto clean
