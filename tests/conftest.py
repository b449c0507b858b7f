"""Shared test configuration."""

import json
import os
from pathlib import Path

from hypothesis import HealthCheck, settings

# Tests never depend on timing: a slow CI machine or a JIT compile must not fail them.
settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")

import pytest


def pytest_addoption(parser):
    parser.addoption("--fuzz-cases", type=int, default=60, metavar="N",
                     help="cases per input kind in tests/test_fuzz.py (default 60; more for a longer run)")
    parser.addoption("--write-file-seconds", action="store_true",
                     help=f"record each test file's seconds in tests/{FILE_SECONDS.name} (the order of the next runs)")


# The longest test files first: `make test` hands whole files to two workers, and a long file
# started last would leave one worker running alone at the end. The seconds are one run's
# (`pytest -n 2 --dist loadfile --write-file-seconds` on 2 cores); a file not listed counts
# as a short one. They only order the files: a stale table makes a run slower, never wrong.
FILE_SECONDS = Path(__file__).with_name("file_seconds.json")


def pytest_collection_modifyitems(config, items):
    seconds = json.loads(FILE_SECONDS.read_text()) if FILE_SECONDS.exists() else {}
    # sort is stable: each file's tests keep their order and stay together
    items.sort(key=lambda item: (-seconds.get(item.nodeid.split("::")[0], 0.0), item.nodeid.split("::")[0]))


_spent: dict[str, float] = {}


def pytest_runtest_logreport(report):
    file = report.nodeid.split("::")[0]
    _spent[file] = _spent.get(file, 0.0) + report.duration


def pytest_sessionfinish(session):
    # the controller (or a run without workers) sees every test's report
    if session.config.getoption("--write-file-seconds") and not os.environ.get("PYTEST_XDIST_WORKER"):
        table = {f: round(s, 1) for f, s in sorted(_spent.items(), key=lambda kv: -kv[1])}
        FILE_SECONDS.write_text(json.dumps(table, indent=1) + "\n")


# Real (briefly) trained digits models, shared by the export, parity and CLI tests.
# Four epochs are enough for >90% accuracy and non-trivial spiking in every layer.
TRAINED = {
    "direct": dict(encoding="direct"),
    "temporal": dict(encoding="temporal"),
    "hybrid": dict(encoding="hybrid"),
    "ann": dict(ann=True),
}


def pytest_configure(config):
    # `make test` runs two pytest-xdist workers on a 2-core machine. Each keeps torch and
    # Numba on one thread: two workers with two spinning OpenMP threads each would slow
    # each other down several times over (NOTES.md measured up to 9x). Tests that need more
    # threads ask for them and put the count back.
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import numba
        import torch

        torch.set_num_threads(1)
        numba.set_num_threads(1)


@pytest.fixture(scope="session")
def trained_runs(tmp_path_factory):
    """name -> run directory of a digits LeNet trained for 4 epochs (T=4, ASNN).

    Under pytest-xdist the first worker to ask trains them and the others wait for it and
    read the same folders, so the four models are trained once per test run.
    """
    from filelock import FileLock

    from asnn_sim.training.train import TrainConfig, train

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # this run's folder, above every worker's own
    root = shared / "trained_runs"
    runs = {name: root / name for name in TRAINED}
    with FileLock(str(shared / "trained_runs.lock")):
        if not (root / "complete").exists():
            for name, extra in TRAINED.items():
                train(TrainConfig(epochs=4, timesteps=4, **extra), runs[name], device="cpu", progress=False)
            (root / "complete").touch()
    return runs
