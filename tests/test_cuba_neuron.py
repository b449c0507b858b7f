"""The current-based LIF neuron (``cuba_neuron``): equation, counts, file, and the frameworks.

The simulator is checked against a plain numpy loop of the equation, against the dense
PyTorch reference with brute-force counts (hand-built and random graphs), and spike for
spike against snnTorch's ``Synaptic`` and SpikingJelly's ``CUBALIFNode`` where those are
installed (they are not dependencies: those tests skip otherwise).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import assume, given, settings

from asnn_sim.interop.builder import GraphBuilder, snntorch_synaptic, spikingjelly_cuba_lif
from asnn_sim.graph.encoding import EncoderSpec
from asnn_sim.graph.ir import CubaNeuron, Graph, GraphError, load_graph, save_graph
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


@pytest.mark.slow
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


@pytest.mark.slow
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
    from asnn_sim.interop.torch_graph import TorchGraph, count_mismatches

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


# ---------------------------------------------------------------- snnTorch and SpikingJelly


def _currents(T_=24, B=5, n_in=12, n=16, seed=0, grid=None, scale=1.0):
    """Rate-coded frames, a weight, and the currents ``(T, B, n)`` the simulator computes from them
    (each output sums its inputs' weights in input order, as the event-driven layer does)."""
    rng = np.random.default_rng(seed)
    frames = EncoderSpec("rate", T_, seed=seed).encode(rng.random((B, 1, 1, n_in)))
    weight = rng.normal(0.3, 0.6, (n, n_in)) * scale
    if grid is not None:
        weight = np.round(weight / grid) * grid
    f = frames.reshape(T_, B, n_in)
    current = np.zeros((T_, B, n))
    for k in range(n_in):
        current = current + f[:, :, k, None] * weight[:, k]
    return frames, weight, current


def _our_spikes(cuba_kwargs: dict, frames: np.ndarray, weight: np.ndarray) -> np.ndarray:
    T_, B = frames.shape[:2]
    graph = (GraphBuilder(frames.shape[2:], encoding="rate", timesteps=T_)
             .flatten().linear(weight=weight).cuba_neuron(**cuba_kwargs, name="cuba").linear(2).readout().build())
    return Simulator(graph, "float64", batch_size=B).run_batch(frames, record=True).spikes["cuba"]


def _synaptic_spikes(current, alpha, beta, reset_mechanism, reset_delay):
    torch = pytest.importorskip("torch")
    snn = pytest.importorskip("snntorch")
    f64 = dict(dtype=torch.float64)
    lif = snn.Synaptic(alpha=torch.tensor(alpha, **f64), beta=torch.tensor(beta, **f64), threshold=torch.tensor(1.0, **f64),
                       reset_mechanism=reset_mechanism, reset_delay=reset_delay)
    syn = mem = None
    out = []
    with torch.no_grad():
        for t in range(len(current)):
            spk, syn, mem = lif(torch.from_numpy(current[t]), syn, mem)
            out.append(spk.numpy())
    return np.array(out)


def _max_syn(current, alpha):
    syn, top = np.zeros(current.shape[1:]), 0.0
    for t in range(len(current)):
        syn = alpha * syn + current[t]
        top = max(top, syn.max())
    return top


@pytest.mark.frameworks
@pytest.mark.parametrize(("reset_mechanism", "reset_delay", "alpha", "beta", "max_syn"), [
    ("zero", False, 0.8, 0.7, None),
    ("zero", False, 0.3, 0.95, None),
    ("subtract", False, 0.5, 0.8, 1.15),  # exact while syn stays below (2 - beta) * threshold (see snntorch_synaptic)
    ("subtract", True, 0.6, 1.0, None),  # beta = 1: subtracting later undecayed is the same
])
def test_snntorch_synaptic_gives_the_same_spikes(reset_mechanism, reset_delay, alpha, beta, max_syn):
    frames, weight, current = _currents()
    if max_syn is not None:
        frames, weight, current = _currents(scale=max_syn / _max_syn(current, alpha))
        assert _max_syn(current, alpha) < (2 - beta) * 1.0
    theirs = _synaptic_spikes(current, alpha, beta, reset_mechanism, reset_delay)
    mapped = snntorch_synaptic(alpha, beta, 1.0, reset_mechanism, reset_delay)
    ours = _our_spikes(mapped, frames, weight)
    assert theirs.sum() > 100
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.frameworks
def test_snntorch_synaptic_delayed_zero_reset_is_refused_for_a_reason():
    frames, weight, current = _currents()
    with pytest.raises(ValueError, match="never fires two steps in a row"):
        snntorch_synaptic(0.8, 0.7, reset_delay=True)
    theirs = _synaptic_spikes(current, 0.8, 0.7, "zero", True)
    nearest = _our_spikes(snntorch_synaptic(0.8, 0.7, reset_delay=True, exact=False), frames, weight)
    assert (nearest != theirs).any()
    assert not (theirs[1:] * theirs[:-1]).any()  # snnTorch: a refractory step after every spike


def test_snntorch_synaptic_mapping_values_and_refusals():
    assert snntorch_synaptic(0.9, 0.8) == {"syn_leak": 0.9, "syn_gain": 1.0, "leak": 0.8, "gain": 1.0, "threshold": 1.0,
                                            "compare": "gt", "reset": "hard", "v_reset": 0.0}
    assert snntorch_synaptic(1.4, -0.2)["syn_leak"] == 1.0 and snntorch_synaptic(1.4, -0.2)["leak"] == 0.0  # clipped
    assert snntorch_synaptic(0.9, 0.8, reset_mechanism="subtract")["reset"] == "soft"
    with pytest.raises(ValueError, match="subtracts the threshold one step later"):
        snntorch_synaptic(0.9, 0.8, reset_mechanism="subtract", reset_delay=True)
    assert snntorch_synaptic(0.9, 1.0, reset_mechanism="subtract", reset_delay=True)["reset"] == "soft"
    assert snntorch_synaptic(0.9, 0.8, reset_mechanism="subtract", reset_delay=True, exact=False)["reset"] == "soft"
    with pytest.raises(ValueError, match="never resets"):
        snntorch_synaptic(0.9, 0.8, reset_mechanism="none")
    with pytest.raises(ValueError, match="per-neuron alpha"):
        snntorch_synaptic(np.array([0.5, 0.6]), 0.8)
    with pytest.raises(ValueError, match="unknown snnTorch reset_mechanism"):
        snntorch_synaptic(0.5, 0.8, reset_mechanism="reset")


def _cubalif_spikes(current, **kwargs):
    torch = pytest.importorskip("torch")
    neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
    node = neuron.CUBALIFNode(**kwargs).eval()
    with torch.no_grad():
        return np.array([node(torch.from_numpy(current[t])).numpy() for t in range(len(current))])


@pytest.mark.frameworks
@pytest.mark.parametrize("kwargs", [
    {},  # SpikingJelly's defaults: c_decay 0.5, v_decay 0.75, v_threshold 0.5, hard reset to 0
    {"c_decay": 0.3, "v_decay": 0.9, "v_threshold": 1.0, "v_reset": None},
])
def test_spikingjelly_cuba_lif_gives_the_same_spikes(kwargs):
    frames, weight, current = _currents(seed=1, scale=0.5)
    theirs = _cubalif_spikes(current, **kwargs)
    ours = _our_spikes(spikingjelly_cuba_lif(**kwargs), frames, weight)
    assert theirs.sum() > 100
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.frameworks
@pytest.mark.parametrize("v_reset", [None, 0.0])
def test_spikingjelly_cuba_lif_fires_on_exact_ties(v_reset):
    # weights on a grid of 1/4, decays 1/2: every value is exact, many membranes sit on the threshold
    frames, weight, current = _currents(seed=2, grid=0.25)
    kwargs = dict(c_decay=0.5, v_decay=0.5, v_threshold=1.0, v_reset=v_reset)
    theirs = _cubalif_spikes(current, **kwargs)
    mapped = spikingjelly_cuba_lif(**kwargs)
    np.testing.assert_array_equal(_our_spikes(mapped, frames, weight), theirs)
    strict = _our_spikes({**mapped, "compare": "gt"}, frames, weight)
    assert (strict != theirs).sum() > 5


def test_spikingjelly_cuba_lif_mapping_values_and_refusals():
    assert spikingjelly_cuba_lif(0.25, 0.5, 1.0, None) == {"syn_leak": 0.25, "syn_gain": 1.0, "leak": 0.5, "gain": 1.0,
                                                            "threshold": 1.0, "compare": "ge", "reset": "soft"}
    with pytest.raises(ValueError, match="starts its membrane at v_reset"):
        spikingjelly_cuba_lif(v_reset=-0.2)
    assert spikingjelly_cuba_lif(v_reset=-0.2, exact=False)["v_reset"] == -0.2
