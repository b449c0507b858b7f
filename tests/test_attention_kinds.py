"""The token_linear and attention kinds: simulator against the dense reference, brute-force
counts (coincidences, product ACs/MACs, the association order), hand cases, errors, the
.asnn round trip, the ANN twin, and pricing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asnn_sim.interop.builder import GraphBuilder
from asnn_sim.graph.counts_schema import SLOT
from asnn_sim.graph.encoding import EncoderSpec
from asnn_sim.graph.ir import Add, Flatten, Graph, GraphError, Input, Linear, Neuron, ReLU, Readout, load_graph, save_graph
from asnn_sim.graph.nodes import Attention, TokenLinear
from asnn_sim.sim import Conventions, Simulator, simulate
from asnn_sim.sim import kernels as K
from asnn_sim.interop.torch_graph import TorchGraph, count_mismatches
from dense_check import replay_against_dense

ENCODINGS = ("direct", "rate", "temporal", "binary", "hybrid")


@dataclass
class Spec:
    ann: bool
    encoding: str
    timesteps: int
    heads: int
    dh: int
    hw: tuple
    sources: tuple  # per q, k, v: "neuron", "graded" (an add of two spike maps) or "input"
    density: float  # bias of the token_linear layers: spike density
    scale: float
    residual: bool  # the attention current summed with a token_linear current before the neuron
    graded_proj: bool  # the projection reads a graded sum (attention output + q)
    zero_fraction: float
    seed: int


@st.composite
def specs(draw, ann=None):
    is_ann = draw(st.integers(0, 2)) == 0 if ann is None else ann  # a third ANN twins
    encoding = draw(st.sampled_from(ENCODINGS))
    return Spec(
        ann=is_ann,
        encoding=encoding,
        timesteps=1 if is_ann else draw(st.integers(2 if encoding == "hybrid" else 1, 3)),
        heads=draw(st.integers(1, 3)),
        dh=draw(st.integers(1, 3)),
        hw=(draw(st.integers(1, 3)), draw(st.integers(1, 4))),
        sources=tuple(draw(st.sampled_from(["neuron", "neuron", "graded", "input"])) for _ in range(3)),
        density=draw(st.sampled_from([-1.5, -0.3, 0.3, 1.5])),
        scale=draw(st.sampled_from([1.0, 0.125, 0.3])),
        residual=draw(st.booleans()),
        graded_proj=draw(st.booleans()),
        zero_fraction=draw(st.sampled_from([0.0, 0.3])),
        seed=draw(st.integers(0, 2**31 - 1)),
    )


def build(spec: Spec) -> Graph:
    """input -> token_linear/neuron (or graded sums, or the input itself) for q, k, v ->
    attention -> neuron -> token_linear -> neuron -> flatten -> linear -> readout."""
    rng = np.random.default_rng(spec.seed)
    T, D = spec.timesteps, spec.heads * spec.dh
    steps = np.zeros(T, int)
    encoder = None if spec.ann else {"name": spec.encoding, "timesteps": T, "thresholds": "uniform", "legacy": False,
                                     "seed": spec.seed % 1000}
    nodes = [Input("input", (), shape=(D, *spec.hw), encoder=encoder)]

    def token_linear(name, src, n_in, n_out=D):
        w = rng.normal(0, 1.5 / np.sqrt(n_in), (1, n_out, n_in))
        w[rng.random(w.shape) < spec.zero_fraction] = 0
        bias = rng.normal(spec.density, 0.3, (1, n_out)) if rng.random() < 0.8 else None
        nodes.append(TokenLinear(name, (src,), weight=w, bias=bias, weight_set=steps))
        return name

    def act(name, src):
        if spec.ann:
            nodes.append(ReLU(name, (src,)))
        else:
            nodes.append(Neuron(name, (src,), leak=rng.uniform(0.5, 1.0, T), gain=rng.uniform(0.5, 1.5, T),
                                threshold=np.asarray(rng.uniform(0.5, 1.5)), reset=str(rng.choice(["soft", "hard"]))))
        return name

    operands = []
    for role, source in zip("qkv", spec.sources):
        if source == "input":
            operands.append("input")
        elif source == "neuron":
            operands.append(act(role, token_linear(f"t{role}", "input", D)))
        else:
            a = act(f"{role}1", token_linear(f"t{role}1", "input", D))
            b = act(f"{role}2", token_linear(f"t{role}2", "input", D))
            nodes.append(Add(role, (a, b)))
            operands.append(role)
    nodes.append(Attention("att", tuple(operands), heads=spec.heads, scale=spec.scale))
    if spec.residual:
        nodes.append(Add("sum", ("att", token_linear("tr", "input", D))))
    an = act("an", "sum" if spec.residual else "att")
    if spec.graded_proj and operands[0] != "input":  # (an add reading the input node types its sum by the
        nodes.append(Add("g", (an, operands[0])))   # input's static "events" type: analog in the replay)
        an = "g"
    act("pn", token_linear("proj", an, D, 3))
    nodes.append(Flatten("flat", ("pn",)))
    n = 3 * spec.hw[0] * spec.hw[1]
    nodes.append(Linear("fc", ("flat",), weight=rng.normal(0, 1 / np.sqrt(n), (1, 2, n)), bias=rng.normal(0, 0.1, (1, 2)),
                        weight_set=steps))
    nodes.append(Readout("readout", ("fc",)))
    return Graph(nodes, "ann" if spec.ann else "snn", T)


def frames_for(graph: Graph, x: np.ndarray) -> np.ndarray:
    enc = graph.input.encoder
    return EncoderSpec.from_dict(enc).encode(x) if enc else x[None]


def images(spec: Spec, n: int) -> np.ndarray:
    rng = np.random.default_rng(spec.seed + 1)
    x = rng.random((n, spec.heads * spec.dh, *spec.hw))
    x[x < 0.3] = 0
    return x


CONVENTIONS = st.builds(Conventions, graded=st.sampled_from(["mac", "expand"]), skip_zero_weights=st.booleans(),
                        static_input=st.sampled_from(["per_step", "once"]))


@pytest.mark.slow
@settings(max_examples=50, deadline=None)
@given(specs(), CONVENTIONS)
def test_outputs_spikes_and_every_count_match_the_dense_reference(spec, conventions):
    graph = build(spec)
    frames = frames_for(graph, images(spec, 4))
    sim, result, _ = replay_against_dense(graph, frames, conventions)
    att = result.counts[:, sim.row_index["att"]].sum(axis=(0, 1))
    assert att[SLOT["kv_first"]] <= 4 * spec.heads * graph.timesteps
    if spec.ann:  # analog operands: multiply-accumulates only
        assert att[SLOT["coincidences"]] == att[SLOT["product_acs"]] == 0


@pytest.mark.slow
def test_spikes_and_binary_products_hold_in_float32():
    spec = Spec(False, "rate", 3, 2, 3, (2, 3), ("neuron", "neuron", "neuron"), 0.3, 0.125, False, False, 0.0, 7)
    graph = build(spec)
    frames = frames_for(graph, images(spec, 6))
    r64 = Simulator(graph, "float64", batch_size=6).run_batch(frames, record=True)
    r32 = Simulator(graph, "float32", batch_size=6).run_batch(frames, record=True)
    row = Simulator(graph, "float64", batch_size=1).row_index["att"]
    np.testing.assert_array_equal(r32.counts[:, row], r64.counts[:, row])  # q, k, v spikes agree, and so the products


# ---------------------------------------------------------------- a hand example, both orders


def _hand_qkv():
    """Two heads (dh = 2) over N = 4 tokens, as (N, D) 0/1 matrices; docs/counting.md works it out."""
    q, k, v = (np.zeros((4, 4)) for _ in range(3))
    # head 0 (features 0, 1): Q (K^T V) is cheaper (5 products against 15)
    q[[0, 1, 3], 0] = 1
    k[[0, 2, 3], 0] = 1
    v[[0, 1, 3], 0] = 1
    # head 1 (features 2, 3): (Q K^T) V is cheaper (3 products against 6)
    q[0, 2] = 1
    k[0, 2] = k[1, 3] = 1
    v[[0, 1], 2] = v[[0, 1], 3] = 1
    return q, k, v


@pytest.mark.slow
def test_hand_example_kernel_both_orders():
    q, k, v = _hand_qkv()
    lists = []
    for m in (q, k, v):
        flat = np.flatnonzero(m.ravel())  # token-major = the simulator's channels-last layout
        idx = np.zeros((1, 16), np.int32)
        idx[0, : len(flat)] = flat
        lists += [idx, np.array([len(flat)], np.int64), np.zeros((1, 1)), True]
    current = np.zeros((1, 16))
    marks = np.zeros((1, 16), np.uint8)
    counts = np.zeros((1, len(SLOT)), np.int64)
    slots = np.array([SLOT["coincidences"], SLOT["product_acs"], SLOT["coincidences"], SLOT["product_acs"], SLOT["kv_first"]])
    K.attention_products(*lists, 4, 2, 1.0, np.zeros((3, 16)), np.zeros(16 + 4 + 8), current, marks, counts, slots)
    expected = np.zeros((4, 4))
    expected[[0, 1, 3], 0] = 2  # head 0: M[0, 0] = 2
    expected[0, 2:] = 1  # head 1: S[0, 0] = 1 times V's row 0
    np.testing.assert_array_equal(current[0].reshape(4, 4), expected)
    np.testing.assert_array_equal(marks[0].reshape(4, 4), expected != 0)
    got = dict(zip(SLOT, counts[0]))
    assert (got["coincidences"], got["product_acs"], got["product_macs"], got["kv_first"]) == (2 + 1, 3 + 2, 0, 1)
    for j in range(2):  # the plain matrix product per head
        f = slice(2 * j, 2 * j + 2)
        np.testing.assert_array_equal(expected[:, f], q[:, f] @ k[:, f].T @ v[:, f])


def _hand_graph(threshold: float) -> Graph:
    """Input (12, 1, 4) of binary frames; q, k, v copy channels 0-3, 4-7, 8-11 through
    token_linear + neuron (threshold 0.5), so they spike exactly where the frame is 1."""
    steps = np.zeros(1, int)
    enc = {"name": "binary", "timesteps": 1, "thresholds": "uniform", "legacy": False, "seed": 0}
    nodes = [Input("input", (), shape=(12, 1, 4), encoder=enc)]
    for i, role in enumerate("qkv"):
        w = np.zeros((1, 4, 12))
        w[0, :, 4 * i : 4 * i + 4] = np.eye(4)
        nodes += [TokenLinear(f"t{role}", ("input",), weight=w, weight_set=steps),
                  Neuron(role, (f"t{role}",), leak=np.ones(1), gain=np.ones(1), threshold=np.asarray(0.5))]
    nodes += [Attention("att", ("q", "k", "v"), heads=2),
              Neuron("an", ("att",), leak=np.ones(1), gain=np.ones(1), threshold=np.asarray(threshold)),
              Flatten("flat", ("an",)),
              Linear("fc", ("flat",), weight=np.ones((1, 2, 16)), weight_set=steps),
              Readout("readout", ("fc",))]
    return Graph(nodes, "snn", 1)


@pytest.mark.parametrize("threshold, spiking", [(0.5, 5), (1.5, 3)])
def test_hand_example_in_a_graph(threshold, spiking):
    q, k, v = _hand_qkv()
    frame = np.concatenate([m.T for m in (q, k, v)])  # (12, 4): channel-first features x tokens
    frames = frame.reshape(1, 1, 12, 1, 4)
    graph = _hand_graph(threshold)
    sim = Simulator(graph, "float64", batch_size=1)
    result = sim.run_batch(frames, record=True)
    att = dict(zip(SLOT, result.counts[0, sim.row_index["att"], 0]))
    assert att["in_events_binary"] == 4 + 5 + 7
    assert (att["coincidences"], att["product_acs"], att["product_macs"], att["kv_first"]) == (3, 5, 0, 1)
    assert att["dense_macs"] == 2 * min(2 * 16 * 2, 2 * 4 * 4)
    an = dict(zip(SLOT, result.counts[0, sim.row_index["an"], 0]))
    assert an["neurons_touched"] == 5
    assert an["output_spikes"] == spiking  # the value-2 outputs of head 0 exceed 1.5, the value-1 outputs of head 1 do not
    _, _, dense = TorchGraph(graph).run(frames, count=True)
    assert not count_mismatches(graph, sim.rows, result.counts.sum(axis=0), dense.facts, Conventions())
    np.testing.assert_array_equal(result.spikes["an"], dense.spikes["an"].numpy())


def test_order_choice_follows_the_shape():
    """All-ones spikes: (Q K^T) V takes 2 N^2 dh products, Q (K^T V) 2 N dh^2, so few tokens
    with wide heads use (Q K^T) V and many tokens with narrow heads Q (K^T V)."""
    for (d, h, w), kv, products in (((8, 1, 2), 0, 2 * 4 * 8), ((2, 4, 4), 1, 2 * 16 * 4)):
        net = GraphBuilder((d, h, w), encoding="binary", timesteps=1, seed=0)
        for role in "qkv":
            net.token_linear(d, weight=np.eye(d), source="input", name=f"t{role}").neuron(threshold=0.5, name=role)
        graph = net.attention("q", "k", "v").neuron().flatten().linear(2).readout().build()
        sim = Simulator(graph, "float64", batch_size=1)
        row = sim.run_batch(np.ones((1, 1, d, h, w))).counts[0, sim.row_index["attn1"], 0]
        assert row[SLOT["kv_first"]] == kv
        assert row[SLOT["coincidences"]] + row[SLOT["product_acs"]] == products == row[SLOT["dense_macs"]]


# ---------------------------------------------------------------- errors


def _events_net(d=4, hw=(2, 2)):
    net = GraphBuilder((d, *hw), encoding="rate", timesteps=2, seed=0)
    for role in "qkv":
        net.token_linear(d, source="input", name=f"t{role}").neuron(name=role)
    return net


def test_errors_name_the_node_and_the_problem():
    with pytest.raises(GraphError, match="node 'att': a attention node takes 3 input"):
        Attention("att", ("q", "k"))
    with pytest.raises(GraphError, match="node 'att': heads must be a positive integer"):
        Attention("att", ("q", "k", "v"), heads=0)
    with pytest.raises(GraphError, match="node 'att': scale must be a positive finite number"):
        Attention("att", ("q", "k", "v"), scale=-1.0)
    with pytest.raises(GraphError, match="node 'attn1': heads=3 does not divide the 4 features"):
        _events_net().attention("q", "k", "v", heads=3)
    net = _events_net()
    net.token_linear(4, source="input", name="t_other").neuron(name="other")
    net.maxpool(2, source="other", name="small")
    with pytest.raises(GraphError, match=r"node 'attn1': q, k and v must have equal shapes, got \(4, 2, 2\), \(4, 2, 2\), \(4, 1, 1\)"):
        net.attention("q", "k", "small")
    net = _events_net()
    net.token_linear(4, source="q", name="cur")
    with pytest.raises(GraphError, match="node 'attn1': an attention node reads events for q, k and v, but its v input 'cur' gives a current"):
        net.attention("q", "k", "cur")
    with pytest.raises(GraphError, match="attention reads \\(D, H, W\\) maps"):
        Attention("att", ("a", "b", "c")).output_shape([(4,), (4,), (4,)])
    # token_linear
    with pytest.raises(GraphError, match=r"node 'tl': weight expects \(3, H, W\) inputs"):
        TokenLinear("tl", ("x",), weight=np.ones((1, 2, 3)), weight_set=np.zeros(1, int)).output_shape([(4, 2, 2)])
    with pytest.raises(GraphError, match="node 'tl': weight must have 3 dimensions"):
        TokenLinear("tl", ("x",), weight=np.ones((2, 3)), weight_set=np.zeros(1, int))
    with pytest.raises(GraphError, match="node 'tfc1': a token_linear layer reads a \\(D, H, W\\) map"):
        GraphBuilder((1, 4, 4), encoding="rate").conv(2, 3).neuron().flatten().token_linear(3)
    with pytest.raises(GraphError, match="a token_linear node reads events"):
        GraphBuilder((1, 4, 4), encoding="rate").token_linear(2).token_linear(2)


# ---------------------------------------------------------------- the .asnn file


def test_save_load_round_trip(tmp_path):
    spec = Spec(False, "hybrid", 2, 2, 2, (2, 2), ("neuron", "graded", "input"), 0.3, 0.3, True, True, 0.3, 3)
    graph = build(spec)
    path = tmp_path / "att.asnn"
    save_graph(graph, path)
    again = load_graph(path)
    assert [(n.name, n.kind, n.inputs) for n in again.nodes] == [(n.name, n.kind, n.inputs) for n in graph.nodes]
    att, tl = again.node("att"), again.node("tq")
    assert isinstance(att, Attention) and (att.heads, att.scale) == (2, 0.3)
    assert isinstance(tl, TokenLinear)
    for name in ("tq", "proj", "tr"):
        for key, arr in graph.node(name).arrays().items():
            np.testing.assert_array_equal(again.node(name).arrays()[key], arr)
    frames = frames_for(graph, images(spec, 3))
    a = Simulator(graph, "float64", batch_size=3).run_batch(frames)
    b = Simulator(again, "float64", batch_size=3).run_batch(frames)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.logits, b.logits)


# ---------------------------------------------------------------- the ANN twin and pricing


def _twin_nets(ann: bool):
    net = GraphBuilder((4, 2, 3), encoding="rate", timesteps=None if ann else 3, ann=ann, seed=5)
    act = net.relu if ann else net.neuron
    for role in "qkv":
        net.token_linear(4, bias=0.3, source="input", name=f"t{role}")
        act(name=role)
    net.attention("q", "k", "v", heads=2, scale=0.125, name="att")
    act(name="an")
    net.token_linear(4, name="proj")
    act(name="pn")
    return net.flatten().linear(3).readout().build()


def test_ann_twin_replays_attention_as_product_macs():
    graph = _twin_nets(ann=True)
    x = np.random.default_rng(0).random((5, 4, 2, 3))
    result = simulate(graph, x, batch_size=5)
    row = result.counts.set_index("layer").loc["att"]
    assert row["product_macs"] > 0 and row["coincidences"] == row["product_acs"] == 0
    assert row["in_events_analog"] > 0 and row["in_events_binary"] == 0
    assert row["product_macs"] <= row["dense_macs"]
    layers = result.layers.set_index("layer")
    assert layers.loc["att", "dense_macs_per_step"] == 2 * min(2 * 36 * 2, 2 * 6 * 4)
    assert layers.loc["proj", "dense_macs_per_step"] == 6 * 4 * 4 and layers.loc["proj", "fan_in"] == 4
    sim = Simulator(graph, "float64", batch_size=5)
    counts = sim.run_batch(x[None]).counts
    _, _, dense = TorchGraph(graph).run(x[None], count=True)
    assert not count_mismatches(graph, sim.rows, counts.sum(axis=0), dense.facts, Conventions())


def test_new_columns_are_priced(tmp_path):
    from hw_models import estimate, load_counts
    from hw_models.ann import dense_ann_counts

    x = np.random.default_rng(1).random((6, 4, 2, 3))
    snn = simulate(_twin_nets(ann=False), x, batch_size=6)
    ann = simulate(_twin_nets(ann=True), x, batch_size=6)
    snn.save(tmp_path / "snn")
    ann.save(tmp_path / "ann")
    counts = load_counts(tmp_path / "snn")
    att = counts.counts[counts.counts["layer"] == "att"]
    n = counts.n_samples
    products = float((att["coincidences"] + att["product_acs"]).sum()) / n
    assert products > 0

    b = estimate(counts, "cmos45-fp32-arith", ann_counts=tmp_path / "ann")
    snn_att = b[(b["system"] == "snn") & (b["layer"] == "att")].set_index(["t", "component"])["energy_pj"]
    assert snn_att.xs("synaptic_compute", level="component").sum() == pytest.approx(0.9 * products)
    assert snn_att.xs("weight_memory", level="component").sum() == 0  # no weights read
    ann_att = b[(b["system"] == "ann") & (b["layer"] == "att")].set_index("component")["energy_pj"]
    macs = float(ann.counts.set_index("layer").loc["att", "product_macs"]) / n
    assert ann_att["synaptic_compute"] == pytest.approx(4.6 * macs)

    twin = dense_ann_counts(counts).counts.set_index("layer")
    assert twin.loc["att", "product_macs"] == counts.layers.set_index("layer").loc["att", "dense_macs_per_step"]
    assert twin.loc["att", "in_events_analog"] == 3 * 4 * 2 * 3
    assert twin.loc["att", "coincidences"] == 0


def test_a_batch_split_over_threads_gives_the_same_replay():
    """The attention kernel works sample by sample; a batch is split over Numba's thread
    count (one scratch space per thread). 1, 2 and 3 slices: identical results."""
    import numba

    spec = Spec(False, "rate", 2, 2, 3, (2, 3), ("neuron", "graded", "neuron"), 0.3, 0.125, True, True, 0.1, 11)
    graph = build(spec)
    frames = frames_for(graph, images(spec, 7))
    before = numba.get_num_threads()
    results = []
    try:
        for threads in (1, 2, min(3, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            results.append(Simulator(graph, "float64", batch_size=7).run_batch(frames, record=True))
    finally:
        numba.set_num_threads(before)
    first = results[0]
    for other in results[1:]:
        assert np.array_equal(first.counts, other.counts) and np.array_equal(first.step_logits, other.step_logits)
        assert all(np.array_equal(first.spikes[k], other.spikes[k]) for k in first.spikes)
    assert first.counts[:, Simulator(graph, "float64", batch_size=1).row_index["att"]].sum() > 0
