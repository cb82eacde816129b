# `make run` and `make test` work on a fresh machine with Python 3.11+ and the package registries.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast install readme clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## The main job: create or migrate the database, then collect, classify and serve.
run: $(STAMP)
	$(BIN)/harvester up

## The whole test suite.
test: $(STAMP)
	$(BIN)/python -m pytest

## Everything but the slow tests (scheduler subprocesses, model training, browser, LibreOffice).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

## The README's command reference, from `harvester --help` and every command's --help.
readme: $(STAMP)
	$(BIN)/python -m harvester.cli.reference README.md

clean:
	rm -rf $(VENV) build *.egg-info
