"""Shared test configuration."""

from hypothesis import HealthCheck, settings

# Tests never depend on timing: a slow CI machine or a JIT compile must not fail them.
settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")

import pytest


def pytest_addoption(parser):
    parser.addoption("--fuzz-cases", type=int, default=60, metavar="N",
                     help="cases per input kind in tests/test_fuzz.py (default 60; more for a longer run)")

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
    """name -> run directory of a digits LeNet trained for 4 epochs (T=4, ASNN)."""
    from asnn_sim.training.train import TrainConfig, train

    root = tmp_path_factory.mktemp("runs")
    runs = {}
    for name, extra in TRAINED.items():
        runs[name] = root / name
        train(TrainConfig(epochs=4, timesteps=4, **extra), runs[name], device="cpu", progress=False)
    return runs
