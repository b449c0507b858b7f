"""Export: BatchNorm folding, the LeNet graphs, and the exact avg-pool folding pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from asnn_sim.graph.counts_schema import SLOT
from asnn_sim.interop.export import export_run, fold_avgpool, fold_batchnorm
from asnn_sim.graph.ir import AvgPool2d, Conv2d, Flatten, Graph, Input, Linear, Neuron, Readout
from asnn_sim.sim import Simulator


def _random_bn(bn: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(bn.weight.shape, generator=g) + 0.5)
        bn.bias.copy_(torch.randn(bn.bias.shape, generator=g))
        bn.running_mean.copy_(torch.randn(bn.running_mean.shape, generator=g))
        bn.running_var.copy_(torch.rand(bn.running_var.shape, generator=g) + 0.1)


def test_folded_conv_equals_conv_then_batchnorm():
    conv = torch.nn.Conv2d(3, 5, 3, padding=1, stride=2).double()
    bn = torch.nn.BatchNorm2d(5).double().eval()
    _random_bn(bn, 0)
    w, b = fold_batchnorm(conv, bn)
    x = torch.rand(4, 3, 9, 9, dtype=torch.float64)
    folded = F.conv2d(x, torch.from_numpy(w), torch.from_numpy(b), stride=2, padding=1)
    torch.testing.assert_close(folded, bn(conv(x)), rtol=1e-12, atol=1e-12)


def test_folded_linear_equals_linear_then_batchnorm():
    lin = torch.nn.Linear(7, 4).double()
    bn = torch.nn.BatchNorm1d(4).double().eval()
    _random_bn(bn, 1)
    w, b = fold_batchnorm(lin, bn)
    x = torch.rand(6, 7, dtype=torch.float64)
    torch.testing.assert_close(F.linear(x, torch.from_numpy(w), torch.from_numpy(b)), bn(lin(x)), rtol=1e-12, atol=1e-12)


def test_lenet_graphs(trained_runs):
    hybrid = export_run(trained_runs["hybrid"])
    assert hybrid.kind == "snn" and hybrid.timesteps == 4
    conv1 = hybrid.node("conv1")
    assert conv1.n_sets == 2 and conv1.weight_set.tolist() == [0, 1, 1, 1]
    assert [n.kind for n in hybrid.nodes].count("neuron") == 4
    assert hybrid.node("lif1").leak.shape == (4,) and hybrid.node("readout").scale.shape == (4,)
    assert hybrid.metadata["model"] == "lenet" and hybrid.metadata["dataset"] == "digits"
    assert hybrid.input.encoder["name"] == "hybrid"
    assert all(a.dtype == np.float64 for n in hybrid.nodes for a in n.arrays().values() if a.dtype.kind == "f")

    direct = export_run(trained_runs["direct"])
    assert direct.node("conv1").n_sets == 1 and direct.node("conv1").weight_set.tolist() == [0, 0, 0, 0]

    ann = export_run(trained_runs["ann"])
    assert ann.kind == "ann" and ann.timesteps == 1 and ann.input.encoder is None
    assert [n.kind for n in ann.nodes].count("relu") == 4 and ann.node("readout").scale is None
    # Layer names match across the SNN and its twin, so tables can be joined.
    assert [s.name for s in ann.nodes_of_role("synapse")] == [s.name for s in hybrid.nodes_of_role("synapse")]


def test_plain_lif_parameters_are_repeated_per_step(tmp_path):
    from asnn_sim.training.train import TrainConfig, train

    train(TrainConfig(encoding="temporal", asnn=False, epochs=1, limit=100, timesteps=3), tmp_path / "lif", device="cpu", progress=False)
    graph = export_run(tmp_path / "lif")
    lif = graph.node("lif2")
    assert lif.per_timestep is False and len(set(lif.leak.tolist())) == 1 and lif.leak.shape == (3,)
    assert graph.node("readout").scale is None


def _pool_graph(kernel: int, stride: int) -> Graph:
    rng = np.random.default_rng(0)
    T = 3
    zeros = np.zeros(T, int)
    enc = {"name": "rate", "timesteps": T, "thresholds": "uniform", "legacy": False, "seed": 0}
    conv = Conv2d("conv", ("input",), weight=rng.normal(0, 0.8, (1, 4, 2, 3, 3)), bias=rng.normal(0.3, 0.2, (1, 4)), weight_set=zeros, padding=1)
    nodes = [Input("input", (), shape=(2, 6, 6), encoder=enc), conv, Neuron("lif", ("conv",), leak=np.full(T, 0.8), gain=np.ones(T)),
             AvgPool2d("pool", ("lif",), kernel=kernel, stride=stride), Flatten("flat", ("pool",))]
    n_flat = 4 * ((6 - kernel) // stride + 1) ** 2
    nodes += [Linear("fc", ("flat",), weight=rng.normal(0, 1, (1, 3, n_flat)), bias=rng.normal(0, 0.1, (1, 3)), weight_set=zeros), Readout("out", ("fc",))]
    return Graph(nodes, "snn", T)


def test_avgpool_folds_into_the_linear_layer_exactly():
    graph = _pool_graph(kernel=2, stride=2)
    folded = fold_avgpool(graph)
    assert "avgpool2d" not in [n.kind for n in folded.nodes]
    assert folded.node("fc").weight.shape == (1, 3, 4 * 6 * 6)
    from asnn_sim.graph.encoding import EncoderSpec

    frames = EncoderSpec.from_dict(graph.input.encoder).encode(np.random.default_rng(1).random((8, 2, 6, 6)))
    sim_a, sim_b = Simulator(graph, "float64", batch_size=8), Simulator(folded, "float64", batch_size=8)
    a, b = sim_a.run_batch(frames), sim_b.run_batch(frames)
    np.testing.assert_allclose(a.logits, b.logits, rtol=1e-12, atol=1e-12)
    # The pooled analog values no longer travel: the linear layer reads spikes directly.
    macs = SLOT["synaptic_macs"]
    assert a.counts[:, sim_a.row_index["fc"], :, macs].sum() > 0 and b.counts[:, sim_b.row_index["fc"], :, macs].sum() == 0


def test_overlapping_avgpool_is_left_alone():
    graph = _pool_graph(kernel=2, stride=1)
    assert [n.kind for n in fold_avgpool(graph).nodes] == [n.kind for n in graph.nodes]


def test_export_of_a_missing_run_is_a_clear_error(tmp_path):
    from asnn_sim.training.train import TrainError

    with pytest.raises(TrainError, match="not a finished run: config.json is missing"):
        export_run(tmp_path)
