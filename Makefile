# Two entry points do all the set-up (README): `make repro` runs the pipeline, `make test` the tests.
VENV ?= .venv
PYTHON ?= python3
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
# nothing in the pipeline may reach a model hub: fail fast instead of hanging
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1

.PHONY: setup repro test bench
setup: $(VENV)/.installed

# torch first and pinned: an unpinned torch pulls several GB of CUDA packages
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

repro: setup
	dvc repro

test: setup
	pytest -q

bench: setup
	python bench/run.py
