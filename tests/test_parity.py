"""Parity: the simulator replays the trained PyTorch models spike for spike (float64)."""

from __future__ import annotations

import pytest

from asnn_sim.training.data import load_dataset
from asnn_sim.interop.export import export_run
from asnn_sim.interop.parity import check_parity
from asnn_sim.sim.recording import record_spec


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.mark.parametrize("name", ["direct", "temporal", "hybrid"])
def test_float64_replay_is_identical(trained_runs, digits, name):
    graph = export_run(trained_runs[name])
    result, report = check_parity(graph, trained_runs[name], digits.x_test, digits.y_test, precision="float64", progress=False)
    assert report.n_samples == 360
    assert report.spikes_compared == 360 * 4 * (2048 + 768 + 256 + 256)
    assert report.spike_mismatches == 0
    assert report.prediction_mismatches == 0
    assert result.summary["parity"]["identical"] is True
    # The network really spikes in every layer, so the comparison is not vacuous.
    assert all(rate > 0.001 for rate in result.summary["firing_rate"].values())


@pytest.mark.parametrize("name", ["direct", "temporal", "hybrid"])
def test_float32_replay_keeps_predictions(trained_runs, digits, name):
    graph = export_run(trained_runs[name])
    record = record_spec(graph, True, membranes=True, samples=5)  # a recording rides along with the check
    result, report = check_parity(graph, trained_runs[name], digits.x_test, digits.y_test, precision="float32",
                                  progress=False, record=record)
    assert report.prediction_mismatches == 0
    assert report.spike_mismatch_rate <= 1e-4
    recorded = result.recording
    assert recorded.nodes == list(record.nodes) and recorded.samples.tolist() == list(range(5))
    first = result.per_sample[result.per_sample["sample"] < 5].groupby("layer")["output_spikes"].sum()
    assert {name: int(spikes.sum()) for name, spikes in recorded.spikes.items()} == {n: int(first[n]) for n in recorded.nodes}
    assert recorded.membranes_before_reset[recorded.nodes[0]].dtype.name == "float32"


def test_ann_replay_matches(trained_runs, digits):
    graph = export_run(trained_runs["ann"])
    result, report = check_parity(graph, trained_runs["ann"], digits.x_test, digits.y_test, precision="float64", progress=False)
    assert report.prediction_mismatches == 0 and report.max_logit_difference < 1e-9
    assert report.spikes_compared == 0
    # The ANN replay counts MACs with non-zero inputs only; dense MACs are all of them.
    per = result.summary["per_inference"]
    assert 0 < per["synaptic_macs"] < per["dense_macs"] and per["synaptic_acs"] == 0


@pytest.mark.slow
def test_rate_coded_replay_reports_the_training_accuracy(tmp_path, digits):
    # Both sides draw each test image's Bernoulli spikes from its own (seed, index) stream.
    from asnn_sim.sim import simulate
    from asnn_sim.training.train import TrainConfig, train

    summary = train(TrainConfig(encoding="rate", epochs=2, timesteps=4, seed=3), tmp_path / "rate", device="cpu", progress=False)
    graph = export_run(tmp_path / "rate")
    result = simulate(graph, digits.x_test, digits.y_test, batch_size=100, progress=False)
    assert result.summary["accuracy"] == summary["test_accuracy"]
