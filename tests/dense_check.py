"""The cross-check most simulator tests make: replay a graph event by event and densely in
PyTorch on the same frames, then require the same spikes at every neuron node, the same
logits and recorded membranes (up to the order of float sums), the recorded membranes
consistent with the spikes and the reset rule bit for bit, and every count equal to the
brute-force count."""

from __future__ import annotations

import numpy as np

from asnn_sim.sim import Conventions, Simulator
from asnn_sim.interop.torch_graph import TorchGraph, count_mismatches


def replay_against_dense(graph, frames, conventions: Conventions | None = None):
    """Replay ``frames`` both ways in float64 and assert they agree; returns
    ``(sim, result, dense_step_logits)`` for further checks."""
    conventions = conventions or Conventions()
    sim = Simulator(graph, "float64", conventions, batch_size=frames.shape[1])
    result = sim.run_batch(frames, record=True, membranes=True)
    logits, step_logits, dense = TorchGraph(graph).run(frames, count=True, membranes=True)
    np.testing.assert_allclose(result.logits, logits.numpy(), rtol=1e-9, atol=1e-9)
    assert set(result.spikes) == set(dense.spikes) == set(result.membranes_before_reset), "a neuron node went unrecorded"
    for name, spikes in dense.spikes.items():
        np.testing.assert_array_equal(result.spikes[name], spikes.numpy(), err_msg=name)
        for when in ("membranes_before_reset", "membranes_after_reset"):
            np.testing.assert_allclose(getattr(result, when)[name], getattr(dense, when)[name].numpy(), rtol=1e-9, atol=1e-9,
                                       err_msg=f"{name} {when}")
        assert_reset_rule(graph.node(name), result.spikes[name], result.membranes_before_reset[name],
                          result.membranes_after_reset[name])
    problems = count_mismatches(graph, sim.rows, result.counts.sum(axis=0), dense.facts, conventions, sim.static_first)
    assert not problems, "\n".join(problems[:20])
    assert set(dense.facts) == {(n.name, t) for n in sim.rows for t in range(graph.timesteps)}, "a node or step went unchecked"
    return sim, result, step_logits.numpy()


def assert_reset_rule(node, spikes, before, after) -> None:
    """The recorded membranes obey the node's reset exactly: unchanged where no spike,
    ``v_reset`` (hard) or ``v - threshold`` (soft, the same float operation) where one."""
    fired = spikes.astype(bool)
    np.testing.assert_array_equal(before[~fired], after[~fired], err_msg=f"{node.name}: a silent neuron changed at the reset")
    if node.reset == "hard":
        expected = np.full_like(before, node.v_reset)
    else:
        expected = before - np.broadcast_to(node.threshold, before.shape[2:])
    np.testing.assert_array_equal(after[fired], expected[fired], err_msg=f"{node.name}: the reset")
