"""The current-based LIF neuron (``cuba_neuron``): equation, counts, file, and the frameworks.

The simulator is checked against a plain numpy loop of the equation, against the dense
PyTorch reference with brute-force counts (hand-built and random graphs).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import assume, given, settings

from asnn_sim.builder import GraphBuilder
from asnn_sim.encoding import EncoderSpec
from asnn_sim.ir import CubaNeuron, Graph, GraphError, load_graph, save_graph
from asnn_sim.sim import Conventions, Simulator
from asnn_sim.sim.engine import SLOT
from graph_factory import build, images_for, specs

T = 5


def _reference(current, syn_leak, syn_gain, leak, gain, threshold, reset="soft", v_reset=0.0, compare="gt", bias=0.0):
    """Spikes ``(T, B, n)`` of the equation, step by step in numpy (the simulator's order of operations)."""
    i = np.zeros(current.shape[1:])
    v = np.zeros(current.shape[1:])
    out = []
    for t in range(len(current)):
        i = syn_leak[t] * i + syn_gain[t] * current[t]
        v = leak[t] * v + gain[t] * i + bias
        d = v - threshold
        s = d >= 0 if compare == "ge" else d > 0
        v = np.where(s, v_reset if reset == "hard" else d, v)
        out.append(s.astype(np.uint8))
    return np.array(out)


def _direct_graph(x: np.ndarray, timesteps: int = T, **cuba) -> Graph:
    """``(1, 1, n)`` images, direct coding, an identity linear layer: neuron j's current is ``x[j]`` at every step."""
    n = x.shape[-1]
    return (GraphBuilder((1, 1, n), encoding="direct", timesteps=timesteps)
            .flatten().linear(weight=np.eye(n)).cuba_neuron(**cuba, name="cuba").linear(2).readout().build())


# ---------------------------------------------------------------- the equation, by hand

# Dyadic values: every step is exact in float32 and float64, and x = 1.0 puts the membrane
# exactly on the threshold at step 0.
HAND = dict(syn_leak=0.5, syn_gain=1.0, leak=1.0, gain=1.0, threshold=1.0)
X = np.array([[[[0.375, 1.0, 0.0]]]])


@pytest.mark.parametrize("precision", ["float32", "float64"])
@pytest.mark.parametrize(("reset", "compare", "trains"), [
    # neuron 0: i = 0.375, 0.5625, 0.65625, 0.703125, 0.7265625 (never reset);
    #   soft: v = 0.375, 0.9375, 1.59375 (fires, 0.59375), 1.296875 (fires, 0.296875), 1.0234375 (fires)
    #   hard: v = 0.375, 0.9375, 1.59375 (fires, 0), 0.703125, 1.4296875 (fires)
    # neuron 1: v = 1.0 exactly at step 0: fires with "ge" only; then i >= 1 and it fires every step
    ("soft", "gt", [[0, 0, 1, 1, 1], [0, 1, 1, 1, 1], [0] * 5]),
    ("hard", "gt", [[0, 0, 1, 0, 1], [0, 1, 1, 1, 1], [0] * 5]),
    ("hard", "ge", [[0, 0, 1, 0, 1], [1, 1, 1, 1, 1], [0] * 5]),
    ("soft", "ge", [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1], [0] * 5]),
])
def test_hand_traced_resets_and_ties(precision, reset, compare, trains):
    graph = _direct_graph(X[0], **HAND, reset=reset, compare=compare)
    frames = EncoderSpec.from_dict(graph.input.encoder).encode(X)
    result = Simulator(graph, precision, batch_size=1).run_batch(frames, record=True)
    spikes = result.spikes["cuba"][:, 0].T  # (n, T)
    np.testing.assert_array_equal(spikes, np.array(trains))
    steps = np.ones(T)
    np.testing.assert_array_equal(result.spikes["cuba"], _reference(
        frames.reshape(T, 1, -1), *(HAND[k] * steps for k in ("syn_leak", "syn_gain", "leak", "gain")), 1.0, reset, 0.0, compare))


def test_random_currents_match_the_equation_step_for_step():
    rng = np.random.default_rng(0)
    T_, n = 12, 40
    x = rng.random((6, 1, 1, n))
    params = dict(syn_leak=rng.uniform(0, 1, T_), syn_gain=rng.uniform(0.5, 1.5, T_), leak=rng.uniform(0.3, 1, T_),
                  gain=rng.uniform(0.5, 1.5, T_))
    threshold, bias = rng.uniform(0.5, 1.5, n), rng.normal(0, 0.2, n)
    for reset, compare in (("soft", "gt"), ("hard", "ge")):
        graph = _direct_graph(x[0], T_, **params, threshold=threshold, bias=bias,
                              reset=reset, v_reset=-0.25, compare=compare)
        frames = EncoderSpec.from_dict(graph.input.encoder).encode(x)
        ours = Simulator(graph, "float64", batch_size=6).run_batch(frames, record=True).spikes["cuba"]
        want = _reference(frames.reshape(T_, 6, n), *params.values(), threshold, reset, -0.25, compare, bias)
        assert want.sum() > 50
        np.testing.assert_array_equal(ours, want)


# ---------------------------------------------------------------- dense reference and counts


def _against_the_dense_reference(graph: Graph, x: np.ndarray, conventions=Conventions()) -> Simulator:
    from asnn_sim.torch_graph import TorchGraph, count_mismatches

    enc = graph.input.encoder
    frames = EncoderSpec.from_dict(enc).encode(x) if enc else x[None]
    sim = Simulator(graph, "float64", conventions, batch_size=len(x))
    result = sim.run_batch(frames, record=True)
    logits, _, dense = TorchGraph(graph).run(frames, count=True)
    np.testing.assert_allclose(result.logits, logits.numpy(), rtol=1e-9, atol=1e-9)
    assert set(result.spikes) == set(dense.spikes)
    for name, spikes in dense.spikes.items():
        np.testing.assert_array_equal(result.spikes[name], spikes.numpy(), err_msg=name)
    problems = count_mismatches(graph, sim.rows, result.counts.sum(axis=0), dense.facts, conventions, sim.static_first)
    assert not problems, "\n".join(problems[:20])
    return sim, result


def _conv_network(seed: int = 0) -> Graph:
    rng = np.random.default_rng(seed)
    net = GraphBuilder((2, 6, 6), encoding="rate", timesteps=4, seed=seed)
    net.conv(4, 3, padding=1, bias=0.1).cuba_neuron(syn_leak=[0.2, 0.5, 0.8, 0.9], syn_gain=0.7, leak=0.6, gain=1.2,
                                                   threshold=rng.uniform(0.4, 1.2, (4, 1, 1)), bias=0.05, reset="hard",
                                                   v_reset=-0.1)
    net.maxpool(2).flatten().linear(12, bias=0.1).cuba_neuron(syn_leak=0.5, leak=0.9, threshold=0.8, compare="ge")
    net.linear(5).neuron(leak=0.8).linear(3).readout()
    return net.build()


def test_a_conv_network_matches_the_dense_reference_and_brute_force_counts():
    graph = _conv_network()
    sim, result = _against_the_dense_reference(graph, np.random.default_rng(1).random((6, 2, 6, 6)))
    assert result.spikes["cuba1"].sum() > 0 and result.spikes["cuba2"].sum() > 0
    # counting rule: 4 mults; 2 adds + the conv's pending bias + the own bias (cuba1), 2 + fc1's bias (cuba2)
    cuba1 = dict(zip(SLOT, result.counts[:, sim.row_index["cuba1"]].sum(axis=(0, 1))))
    n = 4 * 6 * 6 * 6 * 4  # neurons x samples x steps
    assert (cuba1["neurons"], cuba1["neuron_mults"], cuba1["neuron_adds"], cuba1["neuron_compares"]) == (n, 4 * n, 4 * n, n)
    assert cuba1["neuron_resets"] == cuba1["output_spikes"] == result.spikes["cuba1"].sum()
    cuba2 = dict(zip(SLOT, result.counts[:, sim.row_index["cuba2"]].sum(axis=(0, 1))))
    assert cuba2["neuron_adds"] == 3 * 12 * 6 * 4


@settings(max_examples=15, deadline=None)
@given(specs(ann=False).map(lambda s: dataclasses.replace(s, neuron="cuba")))
def test_random_graphs_with_cuba_neurons_match_the_dense_reference(spec):
    try:
        graph = build(spec)
    except GraphError:
        assume(False)
    assume(any(isinstance(n, CubaNeuron) for n in graph.nodes))
    _against_the_dense_reference(graph, images_for(spec, 4))


# ---------------------------------------------------------------- the graph record


def test_save_and_load_keep_it(tmp_path):
    graph = _conv_network()
    save_graph(graph, tmp_path / "cuba.asnn")
    back = load_graph(tmp_path / "cuba.asnn")
    for a, b in zip(graph.nodes, back.nodes):
        assert type(a) is type(b) and a.attrs() == b.attrs()
        assert a.arrays().keys() == b.arrays().keys()
        for k, arr in a.arrays().items():
            np.testing.assert_array_equal(arr, b.arrays()[k])
    node = back.node("cuba1")
    assert isinstance(node, CubaNeuron) and node.kind == "cuba_neuron"
    np.testing.assert_array_equal(node.syn_leak, [0.2, 0.5, 0.8, 0.9])
    assert (node.reset, node.v_reset, node.compare, back.node("cuba2").compare) == ("hard", -0.1, "gt", "ge")
    frames = EncoderSpec.from_dict(graph.input.encoder).encode(np.random.default_rng(2).random((3, 2, 6, 6)))
    np.testing.assert_array_equal(Simulator(graph, batch_size=3).run_batch(frames).logits,
                                  Simulator(back, batch_size=3).run_batch(frames).logits)


def test_builder_names_and_layers_table():
    from asnn_sim.sim import simulate

    graph = _conv_network()
    assert [n.name for n in graph.nodes if n.kind == "cuba_neuron"] == ["cuba1", "cuba2"]
    assert graph.node("cuba1").per_timestep and not graph.node("cuba2").per_timestep
    result = simulate(graph, np.random.default_rng(3).random((4, 2, 6, 6)), progress=False)
    layers = result.layers.set_index("layer")
    assert layers.loc["cuba1", "neuron"] == "cuba" and layers.loc["lif1", "neuron"] == "lif"
    assert layers.loc["cuba1", "n_bias"] == 4 + 1  # the conv's pending bias per channel + its own scalar bias
    assert 0 < result.summary["firing_rate"]["cuba1"] < 1


@pytest.mark.parametrize(("make", "message"), [
    (lambda: CubaNeuron("c", ("fc",), leak=np.ones(2), gain=np.ones(2)), "node 'c': syn_leak and syn_gain are required"),
    (lambda: CubaNeuron("c", ("fc",), leak=np.ones(2), gain=np.ones(2), syn_leak=np.ones(3), syn_gain=np.ones(3)),
     r"node 'c': syn_leak \(3,\) and leak \(2,\) differ in length"),
    (lambda: CubaNeuron("c", ("fc",), leak=np.ones(2), gain=np.ones(2), syn_leak=np.ones(2), syn_gain=np.ones(2), compare="geq"),
     "node 'c': compare must be 'gt'"),
    (lambda: GraphBuilder((1, 4, 4), timesteps=2).flatten().linear(3).cuba_neuron(syn_leak=[0.5, 0.5, 0.5], leak=1.0),
     "node 'cuba1': syn_leak has 3 values; give one value, or one per timestep"),
    (lambda: GraphBuilder((1, 4, 4), timesteps=2).flatten().cuba_neuron(syn_leak=0.5, leak=1.0),
     "node 'cuba1': a cuba_neuron node reads a current"),
    (lambda: GraphBuilder((1, 4, 4), ann=True).flatten().linear(3).cuba_neuron(syn_leak=0.5, leak=1.0),
     "node 'cuba1': a cuba_neuron node does not belong in an ann graph"),
    (lambda: GraphBuilder((1, 4, 4), timesteps=2).flatten().linear(3).cuba_neuron(syn_leak=0.5, leak=1.0, threshold=0.0),
     "node 'cuba1': threshold must be positive"),
])
def test_errors_name_the_node(make, message):
    with pytest.raises(GraphError, match=message):
        make()


# ---------------------------------------------------------------- hardware cost


def test_energy_of_a_graph_with_cuba_neurons(tmp_path):
    import hw_models as hw
    from asnn_sim.sim import simulate
    from hw_models.ops import per_inference, quantities

    simulate(_conv_network(), np.random.default_rng(4).random((5, 2, 6, 6)), progress=False).save(tmp_path / "counts")
    counts = hw.load_counts(tmp_path / "counts")
    result = hw.run_energy(tmp_path / "counts", "cmos45-fp32-arith,cmos45-int8-sram,loihi")
    assert (result.summary["snn_pj"] > 0).all() and (result.summary["ann_pj"] > 0).all()
    q = quantities(per_inference(counts.counts, counts.layers), "snn")
    rows = counts.counts["layer"].to_numpy()
    cuba, lif = rows == "cuba1", rows == "lif1"
    np.testing.assert_allclose(q["nrn_mult"][cuba], 4 * q["neurons"][cuba])
    np.testing.assert_allclose(q["nrn_mult"][lif], 2 * q["neurons"][lif])
    assert (q["pot_elems"][cuba] == 2 * 4 * 6 * 6).all() and (q["potential_updates"][cuba] == 2).all()
    assert (q["pot_elems"][lif] == 5).all() and (q["potential_updates"][lif] == 1).all()
