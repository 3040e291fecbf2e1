# msimg developer entry points. `make demo` and `make test` each install everything first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed
# what pip installs as torch, first, so nothing pulls a multi-GB CUDA build: here, the CPU wheel on this
# machine's disk (pip's find-links); on another machine, e.g.
#   make clean install TORCH="torch --index-url https://download.pytorch.org/whl/cpu"
TORCH  ?= torch==2.13.0

.PHONY: install demo test test-fast lint bench weights clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) -m benchmarks.demo

test: install
	$(PY) -m pytest

# the tests not marked slow (pyproject.toml): under a minute on 2 cores, for the edit-test loop
test-fast: install
	$(PY) -m pytest -m "not slow"

lint: install
	$(VENV)/bin/ruff check msimg tests benchmarks hatch_build.py
	$(VENV)/bin/ruff format --check msimg tests benchmarks hatch_build.py

bench: install
	$(PIP) install --quiet -e ".[bench]"
	$(PY) -m benchmarks.bench

weights: install
	$(PY) -m msimg.tasks.recipes

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache demo-output
