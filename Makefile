# One command from a fresh clone to a working tool: `make test` or `make demo`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# pyproject.toml declares ranges (torch>=2.3,<3); the venvs and CI take the exact versions
# in this file (torch 2.13.0, whose CPU build lies on this machine's disk).
CONSTRAINTS := constraints.txt
# --no-compile: pip byte-compiles what it installs on one core; BYTECOMPILE below does it
# once on every core, leaving out the packages' own test folders, which nothing imports.
PIP := python -m pip install --quiet --no-compile -c $(CONSTRAINTS)
# The byte-compiled files must exist before the tests: where PYTHONDONTWRITEBYTECODE is set
# (as on CI-like machines) every test process would otherwise compile torch from source
# again. Files written for newer Pythons fail to compile, as they do under pip: quiet=2.
BYTECOMPILE := python -c "import compileall, re, sysconfig; compileall.compile_dir(sysconfig.get_paths()['purelib'], quiet=2, workers=0, rx=re.compile(r'/tests?/'))"

# Where torch comes from. Empty (the default): pip's usual sources, which here hold the
# CPU wheel; on another Linux machine that is PyPI, whose torch is the multi-GB CUDA
# build. For a CPU-only venv there: make setup TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
TORCH_INDEX_URL ?=

.PHONY: setup data test test-fast demo bench bench-peers bench-sanafe notebooks clean

# snnTorch and SpikingJelly, so that tests/test_builder.py checks our neuron mappings and
# tests/test_nir.py our NIR import spike for spike against theirs instead of skipping (nir
# and nirtorch, which their NIR exporters need, come with the dev extra). --no-deps: spikingjelly's own list
# pulls torchvision/torchaudio (which do not load beside the CPU torch) and a newer torch;
# the parts the tests import need only torch, numpy and loguru (in the dev extra).
FRAMEWORKS := snntorch==1.0.0 spikingjelly==2.0.0

setup: $(STAMP) data

# Fashion-MNIST, the real dataset of the tests and the study (docs/fashion-mnist.md), from
# Debian's package: installed where apt-get runs as root (CI does); elsewhere the command
# to run is printed and nothing else changes (digits needs no files).
FASHION_PACKAGE := dataset-fashion-mnist
data:
	@if dpkg -s $(FASHION_PACKAGE) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get install -y -qq $(FASHION_PACKAGE) >/dev/null 2>&1 || \
	  { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $(FASHION_PACKAGE) >/dev/null 2>&1; } || \
	  echo "apt-get could not install $(FASHION_PACKAGE); the real-data tests will fail until it is installed"; \
	else echo "Fashion-MNIST is not installed; for the real-data tests and study run: sudo apt-get install $(FASHION_PACKAGE)"; fi

# Reinstall when the dependency list or the pins change.
$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(if $(TORCH_INDEX_URL),$(BIN)/$(PIP) --index-url $(TORCH_INDEX_URL) torch)
	$(BIN)/$(PIP) -e '.[dev,cluster,events]'
	$(BIN)/$(PIP) --no-deps $(FRAMEWORKS)
	$(BIN)/$(BYTECOMPILE)
	touch $(STAMP)

# Two worker processes, one per core, each on one thread (tests/conftest.py); a test
# file's tests stay on one worker so that its module fixtures are built once.
TEST_WORKERS ?= 2
test: setup
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# The quick subset while editing: no test marked slow, cluster or frameworks (markers in
# pyproject.toml). `make test` is what CI runs; this is not a substitute for it.
test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow and not cluster and not frameworks"

demo: setup
	$(BIN)/asnn demo --out reports/demo

bench: setup
	$(BIN)/python benchmarks/bench_sim.py

# Counting throughput against NeuroBench, SpikingJelly and Sinabs, in a venv of its own
# (never .venv; CI and `make test` need none of it). spikingjelly goes in with --no-deps:
# its dependencies pull torch 2.14 + CUDA (GBs) or a torchvision that does not load with
# the CPU torch. See benchmarks/README-peers.md.
PEERS := .venv-peers
PEERS_PIP := python -m pip install --quiet -c benchmarks/peers-constraints.txt
$(PEERS)/.installed: benchmarks/peers-constraints.txt
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet --upgrade pip
	$(if $(TORCH_INDEX_URL),$(PEERS)/bin/$(PEERS_PIP) --index-url $(TORCH_INDEX_URL) torch)
	$(PEERS)/bin/$(PEERS_PIP) -e '.[peers]'
	$(PEERS)/bin/$(PEERS_PIP) --no-deps spikingjelly==2.0.0
	touch $@

bench-peers: $(PEERS)/.installed
	$(PEERS)/bin/python benchmarks/peers.py

# asnn-sim's Loihi energy and latency beside SANA-FE's on the same forced spikes, in
# a venv of its own (never .venv; SANA-FE is GPL-3.0 and no test needs it). The nir extra
# for the imported model. Options: make bench-sanafe SANAFE_ARGS="--models lenet --samples 2"
SANAFE := .venv-sanafe
SANAFE_PIP := python -m pip install --quiet -c $(CONSTRAINTS) -c benchmarks/sanafe-constraints.txt
SANAFE_ARGS ?=
$(SANAFE)/.installed: benchmarks/sanafe-constraints.txt $(CONSTRAINTS) pyproject.toml
	$(PYTHON) -m venv $(SANAFE)
	$(SANAFE)/bin/python -m pip install --quiet --upgrade pip
	$(if $(TORCH_INDEX_URL),$(SANAFE)/bin/$(SANAFE_PIP) --index-url $(TORCH_INDEX_URL) torch)
	$(SANAFE)/bin/$(SANAFE_PIP) -e '.[nir]' sanafe
	touch $@

bench-sanafe: $(SANAFE)/.installed
	$(SANAFE)/bin/python benchmarks/sanafe_check.py $(SANAFE_ARGS)

# Jupyter in .venv (the `notebooks` extra; not needed by make test), then a server on
# notebooks/. Headless, it prints the URL with its token to open in a browser; Ctrl-C
# stops it. Pass options with JUPYTER_ARGS, e.g. make notebooks JUPYTER_ARGS=--no-browser
# As root (containers, CI-like machines) Jupyter refuses to start without --allow-root.
JUPYTER_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
NB_STAMP := $(VENV)/.notebooks
$(NB_STAMP): $(STAMP)
	$(BIN)/$(PIP) -e '.[dev,cluster,events,notebooks]'
	touch $@

notebooks: $(NB_STAMP)
	$(BIN)/jupyter notebook --ServerApp.root_dir=notebooks $(JUPYTER_ROOT) $(JUPYTER_ARGS)

clean:
	rm -rf $(VENV) $(PEERS) $(SANAFE) build *.egg-info .pytest_cache .hypothesis
