"""The multiply kind (element-wise product of two event maps): its kernel against numpy, a
hand example, replays against the dense reference with brute-force counts for spikes,
graded sums, analog pixels and the ANN twin, errors, the .asnn round trip and pricing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asnn_sim.graph.counts_schema import SLOT
from asnn_sim.graph.encoding import EncoderSpec
from asnn_sim.graph.ir import GraphError, load_graph, save_graph
from asnn_sim.interop.builder import GraphBuilder
from asnn_sim.sim import kernels as K
from asnn_sim.sim import simulate
from dense_check import replay_against_dense


def _events(dense: np.ndarray):
    """Event lists (idx, cnt, val) of a (B, n) array, in index order."""
    b, n = dense.shape
    idx, val = np.zeros((b, n), np.int32), np.zeros((b, n))
    cnt = np.zeros(b, np.int64)
    for s in range(b):
        nz = np.flatnonzero(dense[s])
        cnt[s] = nz.size
        idx[s, :nz.size], val[s, :nz.size] = nz, dense[s, nz]
    return idx, cnt, val


def _multiply(a: np.ndarray, b: np.ndarray, bin_a: bool, bin_b: bool):
    """The kernel on dense operands; returns the dense product and the products counted."""
    out_idx, out_cnt, out_val = np.zeros(a.shape, np.int32), np.zeros(a.shape[0], np.int64), np.zeros(a.shape)
    products = np.zeros(a.shape[0], np.int64)
    acc = np.zeros(a.shape)
    K.multiply_events(*_events(a), bin_a, *_events(b), bin_b, acc, out_idx, out_cnt, out_val, products)
    assert not acc.any(), "the scratch must be left zeroed"
    dense = np.zeros(a.shape)
    for s in range(a.shape[0]):
        dense[s, out_idx[s, :out_cnt[s]]] = out_val[s, :out_cnt[s]]
    return dense, products


def test_hand_example():
    spikes = np.array([[1, 0, 1, 0, 0, 1.0]])
    graded = np.array([[0, 0, 2, 1, 0, 3.0]])
    dense, products = _multiply(spikes, graded, True, False)
    np.testing.assert_array_equal(dense, [[0, 0, 2, 0, 0, 3]])  # elements 2 and 5 hold both operands
    assert products.tolist() == [2]


operand = st.integers(1, 4).flatmap(lambda b: st.integers(1, 30).flatmap(lambda n: st.tuples(
    st.lists(st.lists(st.sampled_from([0.0, 0.0, 1.0, 2.0, -0.5, 1e-200]), min_size=n, max_size=n), min_size=b, max_size=b),
    st.lists(st.lists(st.sampled_from([0.0, 0.0, 1.0, 3.0, 0.25, 1e-200]), min_size=n, max_size=n), min_size=b, max_size=b))))


@settings(max_examples=60, deadline=None)
@given(operand, st.booleans(), st.booleans())
def test_kernel_equals_numpy(operands, bin_a, bin_b):
    a, b = (np.array(x) for x in operands)
    if bin_a:
        a = (a != 0).astype(float)
    if bin_b:
        b = (b != 0).astype(float)
    dense, products = _multiply(a, b, bin_a, bin_b)
    np.testing.assert_array_equal(dense, a * b)  # 1e-200 squared underflows to 0: counted, not an event
    np.testing.assert_array_equal(products, ((a != 0) & (b != 0)).sum(axis=1))


def _gated_net(encoding: str, operands: str, ann: bool = False):
    """conv -> act (a), conv -> act (b), a multiply of the chosen operands, then a classifier."""
    net = GraphBuilder((2, 5, 5), encoding=encoding, timesteps=None if ann else 3, ann=ann, seed=3)
    act = net.relu if ann else net.neuron
    net.conv(3, 3, padding=1, bias=0.2, source="input", name="ca")
    act(name="a")
    net.conv(3, 3, padding=1, bias=0.2, source="input", name="cb")
    act(name="b")
    if operands == "spikes":
        net.node("multiply", "a", "b", name="gate")
    elif operands == "graded":
        net.add("a", "b", name="ab")
        net.node("multiply", "ab", "a", name="gate")
    elif operands == "pixels":
        net.conv(2, 1, source="input", name="c1").neuron(name="s1")
        net.node("multiply", "input", "s1", name="gate")
    net.conv(4, 3, source="gate", name="c2")
    act(name="d")
    return net.flatten().linear(3).readout().build()


def _images(n=4, seed=0):
    x = np.random.default_rng(seed).random((n, 2, 5, 5))
    x[x < 0.3] = 0
    return x


def _frames(graph, n=4, seed=0):
    x = _images(n, seed)
    enc = graph.input.encoder
    return EncoderSpec.from_dict(enc).encode(x) if enc else x[None]


@pytest.mark.parametrize("encoding,operands,column", [
    ("rate", "spikes", "coincidences"),
    ("temporal", "graded", "product_acs"),
    ("direct", "pixels", "product_acs"),
    ("hybrid", "pixels", None),  # analog pixels at t = 0, spikes after
])
def test_replay_matches_the_dense_reference(encoding, operands, column):
    graph = _gated_net(encoding, operands)
    sim, result, _ = replay_against_dense(graph, _frames(graph))
    gate = result.counts[:, sim.row_index["gate"]].sum(axis=(0, 1))
    products = gate[[SLOT["coincidences"], SLOT["product_acs"], SLOT["product_macs"]]]
    assert products.sum() > 0
    if column:
        assert gate[SLOT[column]] == products.sum()
    else:  # hybrid: pixels x spikes at t = 0, spikes x spikes after
        assert gate[SLOT["product_acs"]] > 0 and gate[SLOT["coincidences"]] > 0
    assert gate[SLOT["synaptic_acs"]] == gate[SLOT["elementwise_adds"]] == 0


def test_ann_twin_multiplies_values():
    graph = _gated_net("direct", "spikes", ann=True)
    sim, result, _ = replay_against_dense(graph, _frames(graph))
    gate = result.counts[:, sim.row_index["gate"]].sum(axis=(0, 1))
    assert gate[SLOT["product_macs"]] > 0 and gate[SLOT["coincidences"]] == gate[SLOT["product_acs"]] == 0
    assert graph.types["gate"] == "analog"


def test_errors_name_the_node_and_the_problem():
    net = GraphBuilder((2, 5, 5), encoding="rate", timesteps=2)
    net.conv(3, 3, name="c").neuron(name="a").conv(2, 3, padding=1, source="input", name="c2")
    with pytest.raises(GraphError, match="node 'g': the operands of a multiply must have equal shapes, got \\(3, 3, 3\\) and \\(2, 5, 5\\)"):
        net.node("multiply", "a", "c2", name="g")
    with pytest.raises(GraphError, match="node 'g': a multiply reads events, but 'c2' gives a current; put a neuron"):
        net.node("multiply", "input", "c2", name="g")
    with pytest.raises(GraphError, match="node 'g': a multiply node takes 2 input"):
        net.node("multiply", "a", name="g")


def test_save_load_round_trip_and_nir_refusal(tmp_path):
    from asnn_sim.interop.nir_export import nir_problems

    graph = _gated_net("rate", "spikes")
    save_graph(graph, tmp_path / "g.asnn")
    again = load_graph(tmp_path / "g.asnn")
    assert [n.kind for n in again.nodes] == [n.kind for n in graph.nodes]
    a, b = simulate(graph, _images()), simulate(again, _images())
    assert a.counts.equals(b.counts)
    assert any("node 'gate': multiply (no NIR primitive)" in p for p in nir_problems(graph))


def test_products_are_priced(tmp_path):
    from hw_models import estimate, load_counts

    graph = _gated_net("rate", "spikes")
    simulate(graph, _images(6)).save(tmp_path / "snn")
    counts = load_counts(tmp_path / "snn")
    gate = counts.counts[counts.counts["layer"] == "gate"]
    coincidences = float(gate["coincidences"].sum()) / counts.n_samples
    assert coincidences > 0
    b = estimate(counts, "cmos45-fp32-arith")
    snn_gate = b[(b["system"] == "snn") & (b["layer"] == "gate")].groupby("component")["energy_pj"].sum()
    assert snn_gate["synaptic_compute"] == pytest.approx(0.9 * coincidences)  # an AC each (Horowitz 2014: 0.9 pJ fp32 add)
    assert snn_gate.get("weight_memory", 0) == 0


def test_brute_force_facts_of_two_batches_add_up():
    """The benchmarks check counts over several batches by merging each batch's facts."""
    from asnn_sim.interop.torch_graph import TorchGraph, count_mismatches, merge_facts
    from asnn_sim.sim import Conventions, Simulator

    graph = _gated_net("hybrid", "pixels")  # input facts hold the encoder's work (a dict)
    frames = _frames(graph, n=6)
    sim = Simulator(graph, "float64", batch_size=3)
    totals, facts = 0, {}
    for part in (frames[:, :3], frames[:, 3:]):
        totals = totals + sim.run_batch(np.ascontiguousarray(part)).counts.sum(axis=0)
        merge_facts(facts, TorchGraph(graph).run(part, count=True)[2].facts)
    assert not count_mismatches(graph, sim.rows, totals, facts, Conventions(), sim.static_first)
