"""The peers' stock models (benchmarks/peer_models.py): a graph read for stock LIF classes, spike for spike.

A tiny plain-LIF ResNet (``resnet-small`` on 1x8x8, direct coding, T=4, calibrated so that
every layer fires) has both cases of the gain rewrite: neurons fed by conv currents only
(the gain folded into the weights) and a block neuron fed by an identity shortcut's
spikes plus a conv current (threshold 1/gain). The plain torch model must equal our
float64 replay spike for spike; the peers' stock classes too where their packages are
installed (SpikingJelly, Sinabs: exactly; snnTorch: up to its own reset rule, checked
with ``peers.snntorch_layerwise``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import peer_models as pm  # noqa: E402

from asnn_sim.graph.encoding import EncoderSpec  # noqa: E402
from asnn_sim.graph.ir import Conv2d, Flatten, Graph, Input, Linear, Neuron, Readout, ReLU  # noqa: E402
from asnn_sim.sim import Simulator  # noqa: E402

T = 4


@pytest.fixture(scope="module")
def tiny():
    """(graph, frames (T, N, 1, 8, 8) float64): resnet-small, plain LIF, calibrated to ~20 % firing."""
    from asnn_sim.interop.export import EXPORTERS
    from asnn_sim.training.models import build_model
    from asnn_sim.training.models.calibrate import calibrate_rate

    enc = EncoderSpec("direct", T)
    torch.manual_seed(0)
    model = build_model("resnet-small", input_shape=(1, 8, 8), n_classes=10, encoder=enc, asnn=False)
    rng = np.random.default_rng(0)
    calibrate_rate(model, torch.from_numpy(enc.encode(rng.random((8, 1, 8, 8)))).float(), target=0.2)
    model = model.double().eval()
    with torch.no_grad():
        graph = Graph(EXPORTERS["resnet-small"](model, (1, 8, 8), T), "snn", T)
    return graph, enc.encode(rng.random((6, 1, 8, 8)))


@pytest.fixture(scope="module")
def ours(tiny):
    """Our float64 replay: (logits, spikes {neuron: (T, N, ...)})."""
    graph, frames = tiny
    res = Simulator(graph, "float64", batch_size=frames.shape[1]).run_batch(frames, record=True)
    return res.logits, res.spikes


def test_gain_is_folded_where_only_currents_feed_the_neuron_else_the_threshold_is_one_over_gain(tiny):
    graph, _ = tiny
    net = pm.stock_net(graph)
    kinds = {n.name: n.kind for n in graph.nodes}
    add_of = {n.name: graph.node(n.inputs[0]) for n in graph.nodes_of_role("neuron")}
    identity = [k for k, a in add_of.items() if a.kind == "add" and any(kinds[i] != "conv2d" for i in a.inputs)]
    projected = [k for k, a in add_of.items() if a.kind == "add" and all(kinds[i] == "conv2d" for i in a.inputs)]
    assert identity == ["s1b0_lif2"] and projected == ["s2b0_lif2"]
    for name in net.neurons:
        assert net.folded[name] == (name not in identity)
        assert net.threshold[name] == (1.0 / net.gain[name] if name in identity else 1.0)
    # both currents into the projected block's neuron carry its gain; the identity block's conv keeps its weights
    g = net.gain["s2b0_lif2"]
    for conv in ("s2b0_conv2", "s2b0_short_conv"):
        np.testing.assert_array_equal(net.weights[conv][0], graph.node(conv).weight[0] * g)
        np.testing.assert_array_equal(net.weights[conv][1], graph.node(conv).bias[0] * g)
    np.testing.assert_array_equal(net.weights["s1b0_conv2"][0], graph.node("s1b0_conv2").weight[0])
    np.testing.assert_array_equal(net.weights["fc"][0], graph.node("fc").weight[0])  # feeds the readout


def test_every_layer_fires(ours):
    _, spikes = ours
    rates = {k: float(v.mean()) for k, v in spikes.items()}
    assert all(0.01 < r < 0.9 for r in rates.values()), rates


def test_plain_torch_model_equals_the_simulator_spike_for_spike(tiny, ours):
    graph, frames = tiny
    logits, spikes = ours
    net = pm.stock_net(graph)
    model = pm.build("torch", net, torch.float64)
    got_logits, got = pm.record_spikes("torch", model, torch.from_numpy(frames), [slice(0, 4), slice(4, 6)])
    assert list(got) == net.neurons == list(spikes)
    for k in spikes:
        np.testing.assert_array_equal(got[k], spikes[k], err_msg=k)
    np.testing.assert_allclose(got_logits.numpy(), logits, rtol=1e-9, atol=1e-9)


def test_schedule_drops_each_value_after_its_last_reader(tiny):
    graph, _ = tiny
    net = pm.stock_net(graph)
    plan = pm._schedule(net.steps, net.input)
    dropped = [v for *_, done in plan for v in done]
    assert len(dropped) == len(set(dropped))
    # the stem's spikes are read by s1b0's conv1 and its identity shortcut (the add): dropped at the add
    assert next(name for name, _, _, done in plan if "stem_lif" in done) == "s1b0_add"


def _lif_chain(leak=(0.5,) * T, kind="neuron") -> Graph:
    """input -> conv -> lif (a neuron, or a ReLU in an ANN graph) -> flatten -> fc -> readout."""
    rng = np.random.default_rng(1)
    spiking = kind == "neuron"
    zero = np.zeros(T if spiking else 1, np.int64)
    act = (Neuron("lif", ("conv",), leak=np.array(leak), gain=np.full(T, 0.7), per_timestep=len(set(leak)) > 1)
           if spiking else ReLU("lif", ("conv",)))
    return Graph([Input("input", (), shape=(1, 4, 4), encoder=EncoderSpec("direct", T).to_dict() if spiking else None),
                  Conv2d("conv", ("input",), weight=rng.normal(size=(1, 2, 1, 3, 3)), bias=np.zeros((1, 2)), weight_set=zero),
                  act, Flatten("flatten", ("lif",)),
                  Linear("fc", ("flatten",), weight=rng.normal(size=(1, 3, 8)), bias=np.zeros((1, 3)), weight_set=zero),
                  Readout("readout", ("fc",))], "snn" if spiking else "ann", len(zero))


def test_stock_net_refuses_what_no_stock_lif_expresses():
    pm.stock_net(_lif_chain())  # plain LIF: accepted
    with pytest.raises(ValueError, match="lif: leak/gain change over time"):
        pm.stock_net(_lif_chain(leak=(0.5, 0.6, 0.5, 0.5)))
    with pytest.raises(ValueError, match="lif: node kind 'relu' has no stock module"):
        pm.stock_net(_lif_chain(kind="relu"))


@pytest.mark.frameworks
@pytest.mark.parametrize("kind", ["spikingjelly", "sinabs"])
def test_stock_lif_classes_equal_the_simulator_in_float64(tiny, ours, kind):
    pytest.importorskip({"spikingjelly": "spikingjelly.activation_based.neuron", "sinabs": "sinabs.layers"}[kind])
    graph, frames = tiny
    logits, spikes = ours
    model = pm.build(kind, net := pm.stock_net(graph), torch.float64)
    x = torch.from_numpy(frames)
    got_logits, got = pm.record_spikes(kind, model, x.transpose(0, 1).contiguous() if model.layout == "BT" else x, [slice(0, 6)])
    assert list(got) == net.neurons
    for k in spikes:
        np.testing.assert_array_equal(got[k], spikes[k], err_msg=k)
    np.testing.assert_array_equal(got_logits.numpy().argmax(1), logits.argmax(1))


@pytest.mark.frameworks
def test_snntorch_differs_only_by_its_reset_rule(tiny, ours):
    pytest.importorskip("snntorch")
    import peers

    graph, frames = tiny
    _, spikes = ours
    lw = peers.snntorch_layerwise(pm.stock_net(graph), torch.from_numpy(frames), spikes, [slice(0, 3), slice(3, 6)])
    assert set(lw) == set(spikes)
    assert all(v["unexplained"] == 0 and v["reference_differs"] == 0 for v in lw.values()), lw
