# One command from a fresh clone to a working tool: `make test` or `make demo`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup test demo bench bench-peers clean

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

# Counting throughput against NeuroBench, SpikingJelly and Sinabs, in a venv of its own
# (never .venv; CI and `make test` need none of it). spikingjelly goes in with --no-deps:
# its dependencies pull torch 2.14 + CUDA (GBs) or a torchvision that does not load with
# the CPU torch. See benchmarks/README-peers.md.
PEERS := .venv-peers
$(PEERS)/.installed:
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet --upgrade pip
	$(PEERS)/bin/python -m pip install --quiet -e '.[peers]'
	$(PEERS)/bin/python -m pip install --quiet --no-deps spikingjelly==2.0.0
	touch $@

bench-peers: $(PEERS)/.installed
	$(PEERS)/bin/python benchmarks/peers.py

clean:
	rm -rf $(VENV) $(PEERS) build *.egg-info .pytest_cache .hypothesis
