"""The event-driven simulator against an independent dense PyTorch replay and brute-force counts."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from asnn_sim.graph.encoding import EncoderSpec
from asnn_sim.graph.ir import Conv2d, Flatten, Graph, GraphError, Input, Linear, Neuron, Readout
from asnn_sim.sim import Conventions, Simulator, simulate
from asnn_sim.sim.engine import SLOT
from asnn_sim.interop.torch_graph import TorchGraph, count_mismatches
from graph_factory import build, images_for, specs

CONVENTIONS = st.builds(
    Conventions,
    graded=st.sampled_from(["mac", "expand"]),
    skip_zero_weights=st.booleans(),
    static_input=st.sampled_from(["per_step", "once"]),
)


def frames_for(graph: Graph, x: np.ndarray) -> np.ndarray:
    enc = graph.input.encoder
    return EncoderSpec.from_dict(enc).encode(x) if enc else x[None]


def check_against_brute_force(graph: Graph, sim: Simulator, result, dense, conventions: Conventions) -> None:
    """Every count of every node and step equals the dense replay's brute-force count."""
    problems = count_mismatches(graph, sim.rows, result.counts.sum(axis=0), dense.facts, conventions, sim.static_first)
    assert not problems, "\n".join(problems[:20])
    assert {key for key in dense.facts} == {(n.name, t) for n in sim.rows for t in range(graph.timesteps)}


@pytest.mark.slow
@settings(max_examples=80)
@given(specs(), CONVENTIONS)
def test_counts_and_spikes_match_dense_replay(spec, conventions):
    try:
        graph = build(spec)
    except GraphError:
        assume(False)
    x = images_for(spec, 5)
    frames = frames_for(graph, x)
    sim = Simulator(graph, "float64", conventions, batch_size=8)
    result = sim.run_batch(frames, record=True)
    logits, _, dense = TorchGraph(graph).run(frames, count=True)

    np.testing.assert_allclose(result.logits, logits.numpy(), rtol=1e-9, atol=1e-9)
    assert (result.logits.argmax(1) == logits.numpy().argmax(1)).all()
    assert set(result.spikes) == set(dense.spikes) == {n.name for n in graph.nodes if getattr(n, "RECORDS", False)}
    for name, spikes in dense.spikes.items():
        np.testing.assert_array_equal(result.spikes[name], spikes.numpy(), err_msg=name)
    check_against_brute_force(graph, sim, result, dense, conventions)


@settings(max_examples=30)
@given(specs(encodings=("direct",)).filter(lambda s: not s.ann))
def test_static_input_once_changes_counts_not_spikes(spec):
    try:
        graph = build(spec)
    except GraphError:
        assume(False)
    frames = frames_for(graph, images_for(spec, 4))
    every = Simulator(graph, "float64", Conventions(static_input="per_step"), batch_size=4).run_batch(frames, record=True)
    once = Simulator(graph, "float64", Conventions(static_input="once"), batch_size=4).run_batch(frames, record=True)
    for name in every.spikes:
        np.testing.assert_array_equal(every.spikes[name], once.spikes[name])
    sim = Simulator(graph, "float64", batch_size=4)
    first = sim.row_index[graph.consumers("input")[0].name]
    assert once.counts[:, first, 1:, SLOT["synaptic_macs"]].sum() == 0
    np.testing.assert_array_equal(once.counts[:, first, 0], every.counts[:, first, 0])


def _single_conv_graph(c_out: int, size: int = 5) -> Graph:
    """Input -> 3x3 conv (padding 1, all-ones weights) -> neurons -> flatten -> linear -> readout.

    One timestep of temporal coding, so every non-zero pixel is exactly one spike.
    """
    T = 1
    steps = np.zeros(T, int)
    encoder = {"name": "temporal", "timesteps": T, "thresholds": "uniform", "legacy": False, "seed": 0}
    nodes = [
        Input("input", (), shape=(1, size, size), encoder=encoder),
        Conv2d("conv", ("input",), weight=np.ones((1, c_out, 1, 3, 3)), bias=np.zeros((1, c_out)), weight_set=steps, stride=1, padding=1),
        Neuron("lif", ("conv",), leak=np.ones(T), gain=np.ones(T)),
        Flatten("flatten", ("lif",)),
        Linear("fc", ("flatten",), weight=np.ones((1, 2, c_out * size * size)), bias=np.zeros((1, 2)), weight_set=steps),
        Readout("readout", ("fc",)),
    ]
    return Graph(nodes, "snn", T)


@pytest.mark.parametrize(
    "where, taps",
    [((2, 2), 9), ((0, 0), 4), ((0, 4), 4), ((4, 4), 4), ((0, 2), 6), ((2, 4), 6)],
)
@pytest.mark.parametrize("c_out", [1, 7])
def test_one_spike_hand_cases(where, taps, c_out):
    graph = _single_conv_graph(c_out)
    x = np.zeros((1, 1, 5, 5))
    x[0, 0][where] = 1.0
    result = Simulator(graph, "float64", batch_size=1).run_batch(frames_for(graph, x))
    conv = dict(zip(SLOT, result.counts[0, 1, 0]))  # row 0: the input (its encoder), row 1: the conv node
    lif = dict(zip(SLOT, result.counts[0, 2, 0]))  # row 2: its neurons
    assert conv["in_events_binary"] == 1
    assert conv["synaptic_acs"] == taps * c_out
    assert conv["synaptic_macs"] == 0
    assert lif["neurons_touched"] == taps * c_out
    assert conv["dense_macs"] == 13 * 13 * c_out  # see test_dense_macs_exclude_padding_hand_case


def test_dense_macs_exclude_padding_hand_case():
    graph = _single_conv_graph(3)
    result = Simulator(graph, "float64", batch_size=1).run_batch(frames_for(graph, np.zeros((1, 1, 5, 5))))
    # Along one axis the 5 output positions see 2, 3, 3, 3, 2 in-bounds taps: 13; squared, times C_out.
    assert result.counts[0, 1, 0, SLOT["dense_macs"]] == 13 * 13 * 3  # row 1: the conv
    assert result.counts[0, 1, 0, SLOT["synaptic_acs"]] == 0


def test_neuron_arithmetic_counts():
    graph = _single_conv_graph(2)
    x = np.zeros((3, 1, 5, 5))
    x[:, 0, 2, 2] = 1.0
    result = Simulator(graph, "float64", batch_size=4).run_batch(frames_for(graph, x))
    conv = dict(zip(SLOT, result.counts[:, 2, 0].sum(0)))  # row 2: the neurons the conv feeds
    n = 2 * 5 * 5 * 3  # neurons x samples
    assert conv["neurons"] == n and conv["neuron_compares"] == n
    assert conv["neuron_mults"] == 2 * n and conv["neuron_adds"] == 2 * n
    assert conv["neuron_resets"] == conv["output_spikes"]
    # all-ones 3x3 weights, gain 1: only the spike's own 9 positions get current 1, which
    # does not exceed the threshold (strict): no output spikes
    assert conv["output_spikes"] == 0


@pytest.mark.parametrize("precision", ["float32", "float64"])
@pytest.mark.parametrize("compare", ["gt", "ge"])
def test_a_membrane_exactly_at_threshold_fires_only_with_ge(compare, precision):
    # One spike through all-ones 3x3 weights: the 9 * 2 neurons it reaches hold exactly 1.0,
    # the threshold; every other membrane is 0.
    graph = _single_conv_graph(2)
    nodes = list(graph.nodes)
    nodes[2] = Neuron("lif", ("conv",), leak=np.ones(1), gain=np.ones(1), compare=compare)
    graph = Graph(nodes, "snn", 1)
    x = np.zeros((2, 1, 5, 5))
    x[:, 0, 2, 2] = 1.0
    frames = frames_for(graph, x)
    result = Simulator(graph, precision, batch_size=2).run_batch(frames, record=True)
    _, _, dense = TorchGraph(graph).run(frames, count=True)
    want = 2 * 9 * 2 if compare == "ge" else 0
    assert result.spikes["lif"].sum() == dense.spikes["lif"].sum() == want
    np.testing.assert_array_equal(result.spikes["lif"], dense.spikes["lif"].numpy())
    assert result.counts[:, 2, 0, SLOT["neuron_resets"]].sum() == want


def test_compare_is_checked():
    with pytest.raises(GraphError, match="node 'lif': compare must be 'gt' .* or 'ge' .*, got '>='"):
        Neuron("lif", ("conv",), leak=np.ones(1), gain=np.ones(1), compare=">=")


@settings(max_examples=10)
@given(specs())
def test_batches_do_not_leak_state_and_padding_is_dropped(spec):
    try:
        graph = build(spec)
    except GraphError:
        assume(False)
    x = images_for(spec, 11)
    labels = np.arange(11) % graph.n_classes
    one = simulate(graph, x, labels, batch_size=11, progress=False)
    many = simulate(graph, x, labels, batch_size=4, progress=False)
    np.testing.assert_array_equal(one.step_logits, many.step_logits)
    assert one.counts.equals(many.counts)
    assert one.summary["per_inference"] == many.summary["per_inference"]


def test_simulator_does_not_import_torch():
    code = (
        "import sys, numpy as np\n"
        "from asnn_sim.sim import simulate\n"
        "from asnn_sim.graph.ir import load_graph\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bad_inputs_are_rejected():
    graph = _single_conv_graph(1)
    with pytest.raises(ValueError, match="images must be"):
        simulate(graph, np.zeros((2, 1, 4, 4)), progress=False)
    with pytest.raises(ValueError, match="labels for"):
        simulate(graph, np.zeros((2, 1, 5, 5)), np.zeros(3, int), progress=False)
    with pytest.raises(ValueError, match="precision"):
        Simulator(graph, "float16")
    with pytest.raises(ValueError, match="graded must be"):
        Conventions(graded="sometimes")


@pytest.mark.parametrize("encoding", ["temporal", "hybrid", "direct"])
def test_an_add_reading_the_input_node_classes_its_sum_per_step(encoding):
    # The input node's static type is "events"; its sum with spikes is graded on spike
    # steps and analog on analog steps, as the dense reference says.
    from asnn_sim.graph.ir import Add

    T = 3
    steps = np.zeros(T, np.int64)
    rng = np.random.default_rng(3)
    enc = EncoderSpec(encoding, T)
    nodes = [
        Input("input", (), shape=(1, 4, 4), encoder=enc.to_dict()),
        Conv2d("conv", ("input",), weight=rng.normal(0, 1, (1, 1, 1, 3, 3)), weight_set=steps, padding=(1, 1)),
        Neuron("lif", ("conv",), threshold=np.full(1, 0.3), leak=np.full(T, 0.5), gain=np.ones(T)),
        Add("sum", ("input", "lif")),
        Flatten("flat", ("sum",)),
        Linear("fc", ("flat",), weight=rng.normal(0, 1, (1, 3, 16)), weight_set=steps),
        Readout("readout", ("fc",)),
    ]
    graph = Graph(nodes, "snn", T)
    frames = frames_for(graph, rng.random((4, 1, 4, 4)))
    conventions = Conventions()
    sim = Simulator(graph, "float64", conventions, batch_size=4)
    result = sim.run_batch(frames)
    _, _, dense = TorchGraph(graph).run(frames, count=True)
    check_against_brute_force(graph, sim, result, dense, conventions)


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_padded_pools_match_the_dense_reference(pool):
    # 3x3 windows, stride 2, padding 1 (Spikformer's patch stages) on a 5x5 map: 3x3 out.
    from asnn_sim.graph.ir import AvgPool2d, MaxPool2d
    from asnn_sim.sim.replay import layer_table

    T = 2
    steps = np.zeros(T, np.int64)
    rng = np.random.default_rng(4)
    Pool = MaxPool2d if pool == "max" else AvgPool2d
    nodes = [
        Input("input", (), shape=(1, 5, 5), encoder=EncoderSpec("temporal", T).to_dict()),
        Conv2d("conv", ("input",), weight=rng.normal(0, 1, (1, 2, 1, 3, 3)), weight_set=steps, padding=(1, 1)),
        Neuron("lif", ("conv",), threshold=np.full(1, 0.2), leak=np.full(T, 0.5), gain=np.ones(T)),
        Pool("pool", ("lif",), kernel=3, stride=2, padding=1),
        Flatten("flat", ("pool",)),
        Linear("fc", ("flat",), weight=rng.normal(0, 1, (1, 3, 18)), weight_set=steps),
        Readout("readout", ("fc",)),
    ]
    graph = Graph(nodes, "snn", T)
    assert graph.shapes["pool"] == (2, 3, 3)
    frames = frames_for(graph, rng.random((6, 1, 5, 5)))
    sim = Simulator(graph, "float64", Conventions(), batch_size=8)
    result = sim.run_batch(frames, record=True)
    logits, _, dense = TorchGraph(graph).run(frames, count=True)
    np.testing.assert_allclose(result.logits, logits.numpy(), rtol=1e-12, atol=1e-12)
    check_against_brute_force(graph, sim, result, dense, Conventions())
    # in-bounds (element, window) pairs of a dense pass: per axis windows cover 2, 3, 2 of 5
    assert layer_table(sim).set_index("layer").loc["pool", "dense_ops_per_step"] == 2 * 7 * 7
