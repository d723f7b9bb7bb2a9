# Every target creates and reuses .venv; nothing relies on what is installed by hand.
# Two install stamps: `demo` needs only the grader and its runtime dependencies;
# `test`, `lint` and `bench` need the dev tools as well (the dev install also
# satisfies the runtime stamp, so `make test` then `make demo` installs once).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint bench check-workflows clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --no-compile -e .
	touch $(RUNTIME)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP) $(RUNTIME)

demo: $(RUNTIME)
	$(BIN)/grader demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

check-workflows: $(STAMP)
	@if ls .github/workflows/*.yml >/dev/null 2>&1; then scripts/lint-workflows; fi

test: lint check-workflows
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) demo-output node_modules
