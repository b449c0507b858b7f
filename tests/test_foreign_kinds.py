"""The node kinds and inputs that imported (NIR) graphs need: vector inputs fed supplied
frames, leaky integrators, sum pooling, and a readout of events. Each is checked like the
rest: the event-driven replay against the dense PyTorch replay, spikes and every count."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asnn_sim.graph.encoding import frame_kinds_of
from asnn_sim.graph.ir import Conv2d, Flatten, Graph, GraphError, Input, Linear, Neuron, Readout
from asnn_sim.graph.nodes import LeakyIntegrator, SumPool2d
from asnn_sim.sim import Simulator
from dense_check import replay_against_dense


def _steps(T: int, value: float) -> np.ndarray:
    return np.full(T, value)


def vector_graph(rng, T: int, n_in: int, hidden: int, out: int, readout_from: str) -> Graph:
    """input (n,) -> fc -> neuron -> fc -> (li | neuron | current) -> readout."""
    nodes = [
        Input("input", (), shape=(n_in,)),
        Linear("fc1", ("input",), weight=rng.normal(0, 0.8, (1, hidden, n_in)), bias=rng.normal(0, 0.1, (1, hidden)),
               weight_set=np.zeros(T, np.int64)),
        Neuron("lif1", ("fc1",), leak=_steps(T, 0.9), gain=_steps(T, 1.0), threshold=np.array([1.0]), reset="hard",
               per_timestep=False),
        Linear("fc2", ("lif1",), weight=rng.normal(0, 0.8, (1, out, hidden)), weight_set=np.zeros(T, np.int64)),
    ]
    if readout_from == "li":
        nodes.append(LeakyIntegrator("li", ("fc2",), leak=_steps(T, 0.8), gain=_steps(T, 0.2), bias=rng.normal(0, 0.1, out)))
        nodes.append(Readout("readout", ("li",)))
    elif readout_from == "spikes":
        nodes.append(Neuron("lif2", ("fc2",), leak=_steps(T, 0.9), gain=_steps(T, 1.0), threshold=np.array([0.5]),
                            reset="hard", per_timestep=False))
        nodes.append(Readout("readout", ("lif2",)))
    else:
        nodes.append(Readout("readout", ("fc2",)))
    return Graph(nodes, "snn", T)


def conv_sum_graph(rng, T: int) -> Graph:
    """input (2, 6, 6) -> conv -> neuron -> sumpool -> flatten -> fc -> readout."""
    return Graph([
        Input("input", (), shape=(2, 6, 6)),
        Conv2d("conv", ("input",), weight=rng.normal(0, 0.6, (1, 3, 2, 3, 3)), weight_set=np.zeros(T, np.int64), padding=(1, 1)),
        Neuron("lif", ("conv",), leak=_steps(T, 1.0), gain=_steps(T, 1.0), threshold=np.array([0.5]), reset="hard", per_timestep=False),
        SumPool2d("pool", ("lif",), kernel=(3, 3), stride=(2, 2), padding=(1, 1)),
        Flatten("flat", ("pool",)),
        Linear("fc", ("flat",), weight=rng.normal(0, 0.5, (1, 4, 27)), weight_set=np.zeros(T, np.int64)),
        Readout("readout", ("fc",)),
    ], "snn", T)


def replay_both(graph: Graph, frames: np.ndarray):
    _, result, step_logits = replay_against_dense(graph, frames)
    return result, step_logits


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), readout_from=st.sampled_from(["li", "spikes", "current"]), analog=st.booleans(),
       T=st.integers(1, 6))
def test_vector_graphs_on_supplied_frames_match_the_dense_replay(seed, readout_from, analog, T):
    rng = np.random.default_rng(seed)
    graph = vector_graph(rng, T, 7, 12, 4, readout_from)
    frames = rng.random((T, 5, 7)) if analog else (rng.random((T, 5, 7)) < 0.4).astype(float)
    result, step_logits = replay_both(graph, frames)
    # per-step outputs: spikes exactly; membranes and currents up to the order of the synaptic sums
    np.testing.assert_allclose(result.step_logits, step_logits.transpose(1, 0, 2), rtol=1e-12, atol=1e-12)
    if readout_from == "spikes":
        np.testing.assert_array_equal(result.step_logits, step_logits.transpose(1, 0, 2))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), T=st.integers(1, 4))
def test_sum_pooling_of_spikes_is_graded_and_exact(seed, T):
    rng = np.random.default_rng(seed)
    graph = conv_sum_graph(rng, T)
    assert graph.types["pool"] == "graded"
    frames = (rng.random((T, 3, 2, 6, 6)) < 0.5).astype(float)
    result, step_logits = replay_both(graph, frames)
    np.testing.assert_allclose(result.step_logits, step_logits.transpose(1, 0, 2), rtol=1e-12, atol=1e-12)


@pytest.mark.slow
def test_li_hand_case():
    """One LI fed a constant current: v_t = 0.5 v + 0.25 * 2 + 0.1."""
    T = 3
    graph = Graph([
        Input("input", (), shape=(1,)),
        Linear("fc", ("input",), weight=np.array([[[2.0]]]), weight_set=np.zeros(T, np.int64)),
        LeakyIntegrator("li", ("fc",), leak=_steps(T, 0.5), gain=_steps(T, 0.25), bias=np.array([0.1])),
        Readout("readout", ("li",)),
    ], "snn", T)
    result = Simulator(graph).run_batch(np.ones((T, 1, 1)))
    np.testing.assert_allclose(result.step_logits[0, :, 0], [0.6, 0.9, 1.05])
    row = Simulator(graph).rows.index(graph.node("li"))
    counts = result.counts[0, row]
    from asnn_sim.graph.counts_schema import SLOT
    assert counts[:, SLOT["neuron_mults"]].tolist() == [2, 2, 2]
    assert counts[:, SLOT["neuron_adds"]].tolist() == [2, 2, 2]  # integration + own bias
    assert counts[:, SLOT["output_spikes"]].tolist() == [1, 1, 1]


def test_frame_kinds_follow_the_data():
    frames = np.zeros((3, 2, 4))
    frames[1] = 1.0
    frames[2, 0, 0] = 0.5
    assert frame_kinds_of(frames) == ("binary", "binary", "analog")


def test_a_vector_input_takes_no_image_encoder():
    with pytest.raises(GraphError, match="node 'input': a vector input"):
        Input("input", (), shape=(5,), encoder={"name": "rate", "timesteps": 2})


def test_wrong_frames_are_named():
    rng = np.random.default_rng(0)
    graph = vector_graph(rng, 2, 7, 5, 3, "current")
    with pytest.raises(ValueError, match=r"expected frames \(T=2, B, 7\)"):
        Simulator(graph).run_batch(np.zeros((2, 1, 6)))
