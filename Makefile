# hrjax: the two commands are `make demo` and `make test`.
# Uses the active virtualenv if there is one, else creates .venv in the repo.

PYTHON ?= python3
VENV := $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV),.venv)
PY := $(VENV)/bin/python
WORKDIR ?= runs/demo

.PHONY: demo test setup setup-dev faces data train eval bench transfer real lint clean-data

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

# MediaPipe's FaceMesh (--face_detector=mediapipe) in a virtualenv of its own: mediapipe
# 0.10.14, the last wheel holding its models, needs protobuf < 5 and grain >= 5.28.
FACES_VENV := .venv-faces
# Its wheels are for Python 3.9-3.12: elsewhere `make test` goes on, the FaceMesh tests skipped.
$(FACES_VENV)/.installed:
	$(PYTHON) -m venv $(FACES_VENV)
	$(FACES_VENV)/bin/python -m pip install -q mediapipe==0.10.14 && touch $@ || \
	    (rm -rf $(FACES_VENV); echo "mediapipe 0.10.14 did not install: no FaceMesh here")
faces: $(FACES_VENV)/.installed

# Generate the synthetic dataset, extract it, train the CPU quick config, evaluate, print.
demo: setup
	$(PY) -m hrjax.main --config configs/quick.py --workdir $(WORKDIR)

# Two test processes side by side (pytest-xdist): the suite is mostly one-threaded compiles.
test: setup-dev faces
	$(PY) -m pytest -n 2

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

# The out-of-domain protocol for the demo recipe: 5 seeds, each tested on faces it never saw
# (ubfc-dev real faces from ../shared/data when present), beside GREEN/CHROM/POS.
transfer: setup
	$(PY) scripts/transfer.py --config configs/quick.py --seeds 0,1,2,3,4 --out runs/transfer/quick.md

# The model for real faces: the synthetic model, then fine-tuned with real recordings mixed
# in (configs/real.py); its leave-one-subject-out table first, then the model on every
# subject in runs/real (what `python -m hrjax.predict --workdir runs/real` uses).
REAL_DATA ?= ../shared/data/ubfc-dev
real: setup
	$(PY) -m hrjax.main --config configs/real.py:pretrain --workdir runs/real-synthetic
	$(PY) scripts/transfer.py --config configs/real.py --seeds 0 --ubfc_root $(REAL_DATA) \
	    --set=train.init_from=runs/real-synthetic --runs runs/real-transfer --out runs/real-transfer/table.md
	$(PY) -m hrjax.main --config configs/real.py --workdir runs/real \
	    --config.train.init_from=runs/real-synthetic
	cat runs/real-transfer/table.md

lint: setup-dev
	$(PY) -m ruff check hrjax configs scripts tests

clean-data:
	rm -rf data/synthetic-*
