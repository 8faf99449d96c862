# onec_pipeline — developer and operator entry points. Every target creates .venv when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export ONEC_HOME ?= $(CURDIR)/var

.PHONY: install test lint demo bench bench-quick clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# ruff (style, imports, complexity limits), ruff format, and the type checker (mypy, config in pyproject.toml)
lint: $(STAMP)
	$(BIN)/ruff check onec_pipeline onec_pipeline_tests
	$(BIN)/ruff format --check onec_pipeline onec_pipeline_tests
	$(BIN)/mypy

test: $(STAMP)
	$(BIN)/ruff check onec_pipeline onec_pipeline_tests
	$(BIN)/mypy
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/onec-pipeline demo

bench: $(STAMP)
	$(BIN)/onec-pipeline bench $(BENCH_ARGS)

bench-quick: $(STAMP)
	$(BIN)/onec-pipeline bench --quick

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
