# msimg developer entry points. `make demo` and `make test` each install everything first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint bench weights clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# the CPU build on this machine's disk first, so nothing pulls a multi-GB CUDA build
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) -m benchmarks.demo

test: install
	$(PY) -m pytest

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
