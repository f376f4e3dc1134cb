# Two entry points for a fresh machine: `make demo` (set up, run the stills job on the default model)
# and `make test`. Both create .venv on first use and reinstall when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

.PHONY: setup demo test lint
setup: $(BIN)/.installed

demo: setup
	$(BIN)/livematte stills ../shared/testdata/stills_people -o out/stills

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check src tests tools
