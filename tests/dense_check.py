"""The cross-check most simulator tests make: replay a graph event by event and densely in
PyTorch on the same frames, then require the same spikes at every neuron node, the same
logits (up to the order of float sums) and every count equal to the brute-force count."""

from __future__ import annotations

import numpy as np

from asnn_sim.sim import Conventions, Simulator
from asnn_sim.interop.torch_graph import TorchGraph, count_mismatches


def replay_against_dense(graph, frames, conventions: Conventions | None = None):
    """Replay ``frames`` both ways in float64 and assert they agree; returns
    ``(sim, result, dense_step_logits)`` for further checks."""
    conventions = conventions or Conventions()
    sim = Simulator(graph, "float64", conventions, batch_size=frames.shape[1])
    result = sim.run_batch(frames, record=True)
    logits, step_logits, dense = TorchGraph(graph).run(frames, count=True)
    np.testing.assert_allclose(result.logits, logits.numpy(), rtol=1e-9, atol=1e-9)
    for name, spikes in dense.spikes.items():
        np.testing.assert_array_equal(result.spikes[name], spikes.numpy(), err_msg=name)
    problems = count_mismatches(graph, sim.rows, result.counts.sum(axis=0), dense.facts, conventions, sim.static_first)
    assert not problems, "\n".join(problems[:20])
    assert set(dense.facts) == {(n.name, t) for n in sim.rows for t in range(graph.timesteps)}, "a node or step went unchecked"
    return sim, result, step_logits.numpy()
