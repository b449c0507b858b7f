# One command from a fresh clone to a working tool: `make test` or `make demo`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup test demo bench clean

setup: $(STAMP)

# Reinstall when the dependency list changes. torch is pinned in pyproject.toml so pip
# takes the CPU wheel that lies on disk instead of downloading a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest -q

demo: setup
	$(BIN)/asnn demo --out reports/demo

bench: setup
	$(BIN)/python benchmarks/bench_sim.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
