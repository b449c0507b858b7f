"""``conv2d`` with dilation and groups (PyTorch semantics): hand-checked events and counts,
the dense reference, the builder, the layers-table facts and the file format."""

from __future__ import annotations

import json

import numpy as np
import pytest

from asnn_sim.interop.builder import GraphBuilder
from asnn_sim.graph.encoding import EncoderSpec
from asnn_sim.graph.ir import Conv2d, GraphError, load_graph, save_graph
from asnn_sim.graph.nodes.base import in_bounds_pairs
from asnn_sim.sim import Conventions, Simulator
from asnn_sim.sim.engine import SLOT
from asnn_sim.sim.kernels import tap_table
from dense_check import replay_against_dense


def _one_event(graph, c, y, x):
    frame = np.zeros((1,) + graph.input.shape)
    frame[0, c, y, x] = 1.0
    frames = EncoderSpec.from_dict(graph.input.encoder).encode(frame)
    return Simulator(graph, "float64", batch_size=1).run_batch(frames, record=True)


def _counts(result, row=1):  # row 0: the input
    return dict(zip(SLOT, result.counts[0, row, 0]))


def test_tap_table_follows_the_dilation():
    # oy * s + ky * d - p == y: with k=3, d=2, p=2, s=1 input row 3 reaches rows 5, 3, 1 through taps 0, 1, 2
    count, tap, out = tap_table(7, 7, 3, 1, 2, 2)
    assert count[3] == 3 and tap[3].tolist() == [0, 1, 2] and out[3].tolist() == [5, 3, 1]
    assert count[0] == 2 and tap[0, :2].tolist() == [0, 1] and out[0, :2].tolist() == [2, 0]
    for n_in, k, s, p, d in [(7, 3, 1, 2, 2), (9, 3, 2, 1, 3), (6, 2, 1, 0, 2)]:
        n_out = (n_in + 2 * p - d * (k - 1) - 1) // s + 1
        assert tap_table(n_in, n_out, k, s, p, d)[0].sum() == in_bounds_pairs(n_in, n_out, k, s, p, d)


@pytest.mark.parametrize("where, reached", [((3, 3), [1, 3, 5]), ((0, 0), [0, 2]), ((6, 1), None)])
def test_a_single_event_through_a_dilated_conv(where, reached):
    """3x3 kernel, dilation 2, padding 2, on 7x7: an event at (y, x) reaches the outputs
    (y + 2 - 2 ky, x + 2 - 2 kx) that lie in the map, one AC per (tap, output channel)."""
    graph = (GraphBuilder((1, 7, 7), encoding="temporal", timesteps=1)
             .conv(weight=np.ones((2, 1, 3, 3)), padding=2, dilation=2, name="conv").neuron(threshold=0.5, name="lif")
             .flatten().linear(2).readout().build())
    assert graph.shapes["conv"] == (2, 7, 7)
    y, x = where
    rows = [o for o in range(7) if (y + 2 - o) % 2 == 0 and 0 <= (y + 2 - o) // 2 <= 2]
    cols = [o for o in range(7) if (x + 2 - o) % 2 == 0 and 0 <= (x + 2 - o) // 2 <= 2]
    if reached is not None:
        assert rows == cols == reached
    result = _one_event(graph, 0, y, x)
    conv = _counts(result)
    assert (conv["in_events_binary"], conv["synaptic_acs"], conv["synaptic_macs"]) == (1, 2 * len(rows) * len(cols), 0)
    expected = np.zeros((2, 7, 7), bool)
    expected[:, np.ix_(rows, cols)[0], np.ix_(rows, cols)[1]] = True
    spikes = result.spikes["lif"][0, 0].reshape(2, 7, 7).astype(bool)
    np.testing.assert_array_equal(spikes, expected)
    # dense_macs: every input element's in-bounds taps, times C_out
    assert conv["dense_macs"] == in_bounds_pairs(7, 7, 3, 1, 2, 2) ** 2 * 2


def test_a_grouped_conv_counts_c_out_over_groups_synapses_per_tap():
    """4 -> 6 channels in 2 groups, 3x3, padding 1: an event in channel 3 (group 1) reaches
    only output channels 3..5, 3 synapses per in-bounds tap."""
    rng = np.random.default_rng(0)
    weight = rng.uniform(0.6, 1.0, (6, 2, 3, 3))
    graph = (GraphBuilder((4, 5, 5), encoding="temporal", timesteps=1)
             .conv(weight=weight, padding=1, groups=2, name="conv").neuron(threshold=0.5, name="lif")
             .flatten().linear(2).readout().build())
    node = graph.node("conv")
    assert node.groups == 2 and node.weight.shape == (1, 6, 2, 3, 3)
    for (c, y, x), taps in [((3, 2, 2), 9), ((0, 0, 0), 4), ((1, 0, 2), 6)]:
        result = _one_event(graph, c, y, x)
        conv = _counts(result)
        assert conv["synaptic_acs"] == taps * 3, (c, y, x)
        spikes = result.spikes["lif"][0, 0].reshape(6, 5, 5)
        group = slice(0, 3) if c < 2 else slice(3, 6)
        other = slice(3, 6) if c < 2 else slice(0, 3)
        assert spikes[group].sum() == taps * 3 and spikes[other].sum() == 0
        assert conv["dense_macs"] == 4 * in_bounds_pairs(5, 5, 3, 1, 1) ** 2 * 3
    facts = node.facts(graph)
    assert (facts["n_weights"], facts["fan_in"]) == (6 * 2 * 9, 2 * 9)
    assert facts["dense_macs_per_step"] == 4 * in_bounds_pairs(5, 5, 3, 1, 1) ** 2 * 3


def test_skip_zero_weights_counts_only_existing_non_zero_synapses():
    weight = np.ones((4, 1, 1, 1))
    weight[1] = 0.0  # output channel 1 (group 0) has a zero weight
    graph = (GraphBuilder((2, 3, 3), encoding="temporal", timesteps=1)
             .conv(weight=weight, groups=2, name="conv").neuron(threshold=0.5, name="lif")
             .flatten().linear(2).readout().build())
    frame = np.zeros((1, 2, 3, 3))
    frame[0, 0, 1, 1] = frame[0, 1, 2, 2] = 1.0
    frames = EncoderSpec.from_dict(graph.input.encoder).encode(frame)
    every = Simulator(graph, "float64", Conventions(), batch_size=1).run_batch(frames)
    skip = Simulator(graph, "float64", Conventions(skip_zero_weights=True), batch_size=1).run_batch(frames)
    assert every.counts[0, 1, 0, SLOT["synaptic_acs"]] == 4  # 2 events x 2 synapses (C_out / groups)
    assert skip.counts[0, 1, 0, SLOT["synaptic_acs"]] == 3  # the event in channel 0 meets one zero weight


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("encoding", ["rate", "hybrid", "binary"])
def test_dilated_grouped_convs_match_the_dense_reference(encoding, skip):
    """Spikes bit for bit in float64 and every count equal to the brute-force count."""
    pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    T = 3
    w0 = rng.normal(0, 0.5, (6, 2, 3, 3))
    w0[rng.random(w0.shape) < 0.3] = 0
    graph = (GraphBuilder((4, 9, 9), encoding=encoding, timesteps=T, seed=1)
             .conv(weight=w0, padding=2, dilation=2, groups=2, bias=0.1, name="c1").neuron(threshold=0.4)
             .conv(6, 3, stride=2, padding=(1, 3), dilation=(1, 3), groups=3, name="c2").neuron(threshold=0.3)
             .conv(3, 2, dilation=2, name="c3").neuron(threshold=0.3)
             .flatten().linear(4).neuron().linear(3).readout().build())
    x = rng.random((5, 4, 9, 9))
    frames = EncoderSpec.from_dict(graph.input.encoder).encode(x)
    conventions = Conventions(skip_zero_weights=skip, graded="expand" if skip else "mac")
    _, result, _ = replay_against_dense(graph, frames, conventions)
    assert sum(int(s.sum()) for s in result.spikes.values()) > 0


def test_checks_name_the_node():
    w = np.zeros((1, 4, 2, 3, 3))
    ok = dict(weight=w, weight_set=np.zeros(2, np.int64))
    with pytest.raises(GraphError, match="'c'.*dilation must be >= 1"):
        Conv2d("c", ("x",), dilation=0, **ok)
    with pytest.raises(GraphError, match="'c'.*groups must be an integer >= 1"):
        Conv2d("c", ("x",), groups=0, **ok)
    with pytest.raises(GraphError, match="'c'.*groups 3 must divide C_out 4"):
        Conv2d("c", ("x",), groups=3, **ok)
    node = Conv2d("c", ("x",), groups=2, **ok)
    with pytest.raises(GraphError, match="'c'.*expects 4 input channels \\(2 groups of 2\\)"):
        node.output_shape([(2, 5, 5)])
    assert node.output_shape([(4, 5, 5)]) == (4, 3, 3)
    dilated = Conv2d("c", ("x",), dilation=2, **ok)
    with pytest.raises(GraphError, match="'c'.*dilated to 5x5"):
        dilated.output_shape([(2, 4, 4)])
    with pytest.raises(GraphError, match="conv.*groups must be an integer >= 1 dividing the 3 input channels"):
        GraphBuilder((3, 5, 5), encoding="rate", timesteps=2).conv(4, 3, groups=2)
    with pytest.raises(GraphError, match="conv.*input channels per group"):
        GraphBuilder((4, 5, 5), encoding="rate", timesteps=2).conv(weight=np.ones((4, 4, 3, 3)), groups=2)


def test_files_keep_dilation_and_groups_and_old_files_default_to_one(tmp_path):
    graph = (GraphBuilder((4, 7, 7), encoding="rate", timesteps=2)
             .conv(4, 3, dilation=(2, 1), groups=4, name="conv").neuron()
             .flatten().linear(2).readout().build())
    save_graph(graph, tmp_path / "g.asnn")
    back = load_graph(tmp_path / "g.asnn")
    assert (back.node("conv").dilation, back.node("conv").groups) == ((2, 1), 4)
    # a file written before these attributes existed: no dilation or groups in its conv's attrs
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    path = tmp_path / "old.asnn"
    save_graph((GraphBuilder((1, 5, 5), encoding="rate", timesteps=2).conv(2, 3, name="conv").neuron()
                .flatten().linear(2).readout().build()), path)
    with safe_open(str(path), framework="numpy") as f:
        meta = dict(f.metadata())
    doc = json.loads(meta["graph"])
    for node in doc["nodes"]:
        if node["kind"] == "conv2d":
            del node["attrs"]["dilation"], node["attrs"]["groups"]
    meta["graph"] = json.dumps(doc)
    meta["schema_version"] = "3"  # written by a schema-3 asnn-sim: no content hash
    del meta["content_sha256"]
    save_file(load_file(str(path)), str(path), metadata=meta)
    old = load_graph(path).node("conv")
    assert (old.dilation, old.groups) == ((1, 1), 1)


def test_nir_same_padding_with_dilation_and_a_builder_graph_round_trip(tmp_path):
    """NIR ``padding="same"`` with dilation d (odd kernel, stride 1) is ``d * (k - 1) / 2``;
    a dilated grouped conv written to NIR reads back as the same graph."""
    nir = pytest.importorskip("nir")
    from asnn_sim.interop.nir_export import write_nir
    from asnn_sim.interop.nir_import import import_nir

    shape = (4, 7, 7)
    n = 4 * 7 * 7
    lif = nir.LIF(tau=np.full(n, 2e-4), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n))
    nodes = {"input": nir.Input(input_type=np.array(shape)),
             "conv": nir.Conv2d(input_shape=(7, 7), weight=np.ones((4, 2, 3, 3)), stride=1, padding="same", dilation=3,
                                groups=2, bias=np.zeros(4)),
             "lif": lif, "flat": nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0), "output": nir.Output(output_type=np.array([n]))}
    edges = [("input", "conv"), ("conv", "lif"), ("lif", "flat"), ("flat", "output")]
    graph = import_nir(nir.NIRGraph(nodes=nodes, edges=edges, type_check=False), timesteps=2)
    conv = graph.node("conv")
    assert (conv.padding, conv.dilation, conv.groups, graph.shapes["conv"]) == ((3, 3), (3, 3), 2, (4, 7, 7))

    built = (GraphBuilder((4, 9, 9), encoding="rate", timesteps=3, seed=2)
             .conv(6, 3, padding=2, dilation=(2, 1), groups=2, name="conv").neuron(leak=0.9, reset="hard", v_reset=0.0)
             .flatten().linear(3).readout().build())
    write_nir(built, tmp_path / "g.nir")
    back = import_nir(tmp_path / "g.nir", timesteps=3)
    node = back.node("conv")
    assert (node.dilation, node.groups, node.padding) == ((2, 1), 2, (2, 2))
    np.testing.assert_array_equal(node.weight, built.node("conv").weight)
    frames = EncoderSpec.from_dict(built.input.encoder).encode(np.random.default_rng(0).random((3, 4, 9, 9)))
    a = Simulator(built, "float64", batch_size=3).run_batch(frames, record=True)
    b = Simulator(back, "float64", batch_size=3).run_batch(frames, record=True)
    np.testing.assert_array_equal(a.counts, b.counts)
