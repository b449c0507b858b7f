"""Shared test configuration."""

import os

from hypothesis import HealthCheck, settings

# Tests never depend on timing: a slow CI machine or a JIT compile must not fail them.
settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")

import pytest


def pytest_addoption(parser):
    parser.addoption("--fuzz-cases", type=int, default=60, metavar="N",
                     help="cases per input kind in tests/test_fuzz.py (default 60; more for a longer run)")


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


# Real (briefly) trained digits models, shared by the export, parity and CLI tests.
# Four epochs are enough for >90% accuracy and non-trivial spiking in every layer.
TRAINED = {
    "direct": dict(encoding="direct"),
    "temporal": dict(encoding="temporal"),
    "hybrid": dict(encoding="hybrid"),
    "ann": dict(ann=True),
}


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
