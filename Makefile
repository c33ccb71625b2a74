# hrjax: the two commands are `make demo` and `make test`.
# Uses the active virtualenv if there is one, else creates .venv in the repo.

PYTHON ?= python3
VENV := $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV),.venv)
PY := $(VENV)/bin/python
WORKDIR ?= runs/demo

.PHONY: demo test setup setup-dev data train eval bench lint clean-data

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.hrjax-installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.hrjax-dev-installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.hrjax-installed

setup: $(VENV)/.hrjax-installed
setup-dev: $(VENV)/.hrjax-dev-installed

# Generate the synthetic dataset, extract it, train the CPU quick config, evaluate, print.
demo: setup
	$(PY) -m hrjax.main --config configs/quick.py --workdir $(WORKDIR)

test: setup-dev
	$(PY) -m pytest

# Build the default clip store only (data/synthetic-default/store).
data: setup
	$(PY) -m hrjax.main --config configs/default.py --workdir runs/default --mode data

# Train the default config on it (resumes if runs/default has checkpoints).
train: setup
	$(PY) -m hrjax.main --config configs/default.py --workdir runs/default

eval: setup
	$(PY) -m hrjax.main --config configs/quick.py --workdir $(WORKDIR) --mode eval

# Benchmark suite (scripts/benchmark.py): step, matmul peak, loader, extraction, evaluation.
bench: setup
	$(PY) scripts/benchmark.py --config configs/quick.py --json runs/bench.json

lint: setup-dev
	$(PY) -m ruff check hrjax configs scripts tests

clean-data:
	rm -rf data/synthetic-*
