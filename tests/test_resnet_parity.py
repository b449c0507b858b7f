"""Spiking ResNets end to end: trained on digits, exported, replayed spike for spike; ResNet-19 at CIFAR size."""

from __future__ import annotations

import numpy as np
import pytest

from asnn_sim.graph.counts_schema import SLOT
from asnn_sim.training.data import load_dataset
from asnn_sim.interop.export import export_run
from asnn_sim.interop.parity import check_parity

# (encoding, asnn, residual): every encoding family with ASNN and plain LIF, and SEW.
CONFIGS = [
    ("direct", True, "standard"),
    ("direct", False, "standard"),
    ("temporal", True, "standard"),
    ("temporal", False, "standard"),
    ("hybrid", True, "standard"),
    ("hybrid", False, "standard"),
    ("hybrid", True, "sew"),
    ("temporal", False, "sew"),
]


def _label(config) -> str:
    encoding, asnn, residual = config
    return f"{encoding}-{'asnn' if asnn else 'lif'}-{residual}"


@pytest.fixture(scope="module")
def resnet_runs(tmp_path_factory):
    """label -> run directory of resnet-small trained briefly on digits (T=4)."""
    from asnn_sim.training.train import TrainConfig, train

    root = tmp_path_factory.mktemp("resnet-runs")
    runs = {}
    for config in CONFIGS + [("ann", True, "standard"), ("ann", True, "sew")]:
        encoding, asnn, residual = config
        label = _label(config)
        extra = dict(ann=True) if encoding == "ann" else dict(encoding=encoding, asnn=asnn)
        train(TrainConfig(model="resnet-small", epochs=2, timesteps=4, residual=residual, **extra), root / label,
              device="cpu", progress=False)
        runs[label] = root / label
    return runs


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS, ids=_label)
def test_float64_replay_is_identical(resnet_runs, digits, config):
    run = resnet_runs[_label(config)]
    graph = export_run(run)
    result, report = check_parity(graph, run, digits.x_test, digits.y_test, precision="float64", progress=False)
    assert report.n_samples == 360 and report.spikes_compared > 0
    assert report.spike_mismatches == 0 and report.prediction_mismatches == 0
    # every neuron node spikes: the comparison is not vacuous
    assert all(rate > 0.001 for rate in result.summary["firing_rate"].values()), result.summary["firing_rate"]
    if config[2] == "sew":  # SEW block outputs are graded: some inputs carry 2s
        graded = result.counts.loc[result.counts["kind"] == "conv2d", "in_events_graded"].sum()
        assert graded > 0


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS[::2], ids=_label)
def test_float32_replay_keeps_predictions(resnet_runs, digits, config):
    run = resnet_runs[_label(config)]
    _, report = check_parity(export_run(run), run, digits.x_test, digits.y_test, precision="float32", progress=False)
    assert report.prediction_mismatches == 0
    assert report.spike_mismatch_rate <= 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("residual", ["standard", "sew"])
def test_ann_twin_replay_matches(resnet_runs, digits, residual):
    run = resnet_runs[_label(("ann", True, residual))]
    _, report = check_parity(export_run(run), run, digits.x_test, digits.y_test, precision="float64", progress=False)
    assert report.prediction_mismatches == 0 and report.max_logit_difference < 1e-9


@pytest.mark.slow
def test_resnet19_at_cifar_size_builds_exports_and_replays():
    """The full ResNet-19 (10 classes, 3x32x32): export, replay a few encoded samples in
    float64 with parity against the PyTorch model, and counts that add up."""
    import torch

    from asnn_sim.graph.encoding import EncoderSpec
    from asnn_sim.interop.export import export_resnet
    from asnn_sim.graph.ir import Graph
    from asnn_sim.training.models import build_model
    from asnn_sim.sim import Simulator

    from asnn_sim.training.models.calibrate import calibrate_rate

    torch.manual_seed(0)
    encoder = EncoderSpec("hybrid", 2)
    model = build_model("resnet19", input_shape=(3, 32, 32), n_classes=10, encoder=encoder)
    x = np.random.default_rng(0).random((2, 3, 32, 32))
    frames = encoder.encode(x)
    # untrained nets are silent or saturated: every layer calibrated to fire (coarsely) 15 %
    rates = calibrate_rate(model, torch.from_numpy(frames).float(), target=0.15, iterations=5)
    assert all(0.02 < r < 0.5 for r in rates.values()), rates
    model = model.double().eval()
    graph = Graph(export_resnet(model, (3, 32, 32), 2), "snn", 2)
    twin = build_model("resnet19", input_shape=(3, 32, 32), n_classes=10, ann=True)
    n_weights = sum(p.numel() for p in twin.parameters())
    assert n_weights == 12_697_994  # the layout's hand count (tests/test_resnet_models.py)
    # Folding turns each BatchNorm's 2 x C parameters into a C-wide bias of its bias-free
    # conv; the hybrid stem holds a second weight set (and bias) for the analog frame.
    bn_params = sum(2 * m.num_features for m in twin.modules() if isinstance(m, torch.nn.BatchNorm2d))
    analog_stem = graph.node("stem_conv").weight[0].size + graph.node("stem_conv").bias[0].size
    assert graph.n_parameters() == n_weights - bn_params // 2 + analog_stem

    sim = Simulator(graph, "float64", batch_size=2)
    result = sim.run_batch(frames, record=True)
    with torch.no_grad():
        out = model.forward_steps(torch.from_numpy(frames), record=True)
    for name, spikes in out.spikes.items():
        np.testing.assert_array_equal(result.spikes[name], spikes.numpy().astype(np.uint8), err_msg=name)
    np.testing.assert_allclose(result.logits, out.logits.mean(0).numpy(), rtol=1e-9, atol=1e-9)

    totals = result.counts.sum(axis=(0, 2))  # per node, over samples and steps
    for node in sim.rows:
        c = dict(zip(SLOT, totals[sim.row_index[node.name]]))
        if node.ROLE == "synapse":
            assert c["synaptic_acs"] + c["synaptic_macs"] <= c["dense_macs"]
        if node.kind == "neuron":
            assert 0 < c["output_spikes"] < c["neurons"], node.name
    # the dense twin's MACs per image (ANN): every synaptic node's dense MACs of one step
    dense_per_image = sum(totals[sim.row_index[n.name], SLOT["dense_macs"]] for n in sim.rows if n.ROLE == "synapse") / (2 * 2)
    assert 2.0e9 < dense_per_image < 2.5e9
