"""Fashion-MNIST, the real files: the loader, and a short train -> export -> replay with float64 parity.

The files come from Debian's package ``dataset-fashion-mnist`` (``make setup`` installs it
where apt-get runs as root, as on CI) and are found without ``--data-dir``. These tests
never skip: a machine without the files fails them with the loader's one-line message,
which names the package to install.
"""

from __future__ import annotations

import numpy as np
import pytest

import asnn_sim.api as asnn
from asnn_sim.training.data import FASHION_MNIST_CLASSES, load_dataset


@pytest.fixture(scope="module")
def fashion(tmp_path_factory):
    return load_dataset("fashion-mnist")


def test_the_real_files_load_with_their_published_shape_and_balance(fashion):
    assert fashion.x_train.shape == (60_000, 1, 28, 28) and fashion.x_test.shape == (10_000, 1, 28, 28)
    assert fashion.x_train.dtype == np.float32 and fashion.y_train.dtype == np.int64
    # Balanced by construction (Xiao et al. 2017): 6,000 training and 1,000 test images per class.
    assert np.bincount(fashion.y_train, minlength=10).tolist() == [6_000] * 10
    assert np.bincount(fashion.y_test, minlength=10).tolist() == [1_000] * 10
    for x in (fashion.x_train, fashion.x_test):
        assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    # Values are bytes / 255: every one is a multiple of 1/255.
    assert np.allclose(fashion.x_test[:100] * 255, np.round(fashion.x_test[:100] * 255), atol=1e-4)
    assert fashion.class_names == FASHION_MNIST_CLASSES and fashion.n_classes == 10


@pytest.mark.slow
def test_a_short_real_training_learns_and_replays_spike_for_spike(tmp_path):
    # 3,000 training images, one epoch (a few seconds): enough to learn well above chance.
    run = asnn.train(
        tmp_path / "run", dataset="fashion-mnist", encoding="hybrid", timesteps=4, epochs=1, limit=3_000, device="cpu"
    )
    assert run.summary["n_train"] == 3_000 and run.config.data_dir is None
    assert run.summary["test_accuracy"] > 0.6, run.summary  # chance is 0.1
    graph = asnn.export(run, tmp_path / "model.asnn")
    assert graph.metadata["dataset"] == "fashion-mnist"
    # The replay finds the same files by itself, and agrees with PyTorch in float64.
    result = asnn.simulate(tmp_path / "model.asnn", limit=100, check_parity=run)
    parity = result.summary["parity"]
    assert parity["identical"], parity
    assert parity["spikes_compared"] > 100 * 4 * 1_000 and parity["n_samples"] == 100
    assert result.summary["dataset"] == {"name": "fashion-mnist", "split": "test"}
