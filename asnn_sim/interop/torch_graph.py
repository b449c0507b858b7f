"""A dense PyTorch executor for exported graphs, with NeuroBench-style brute-force counts.

This is the simulator's independent check and its speed baseline: it runs the same
:class:`~asnn_sim.graph.ir.Graph` with ordinary dense tensor operations, each node through its
kind's :meth:`~asnn_sim.graph.nodes.base.Node.torch_step`, and (optionally) counts the way
NeuroBench does, from each node's dense input alone: the (non-zero input, in-bounds
synapse) pairs of a conv are the sum of a convolution of the input's non-zero indicator
with an all-ones kernel (times the output channels); a linear layer's are the non-zero
inputs times the outputs; touched neurons are those whose receptive field holds a
non-zero input (ORed over every path into a current); pooling pairs are window sums
of the indicator. It shares no code with the event-driven kernels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from asnn_sim.graph.encoding import frame_kinds_of
from asnn_sim.graph.ir import Graph


@dataclass
class DenseCounts:
    """Brute-force facts per node and timestep (totals over the batch).

    ``facts[(node, t)]`` holds what that node's kind measured (see each kind's
    ``torch_step``): synaptic nodes ``events`` ``(class, non-zero inputs)``, ``pairs``
    (non-zero input, in-bounds synapse), ``value_pairs`` (the same weighted by the input
    value), ``dense`` (pairs for every input), ``nonzero_weight_pairs`` and
    ``nonzero_weight_value_pairs``; neurons ``touched`` and ``spikes``; adds ``events``
    (one entry per event operand) and ``adds``; pools ``events`` and ``window_ops``.
    ``spikes[name]`` is a neuron node's ``(T, B, ...)`` uint8 spikes; with membranes asked
    for, ``membranes_before_reset[name]`` and ``membranes_after_reset[name]`` are its
    ``(T, B, ...)`` membranes before and after the reset.
    """

    facts: dict = field(default_factory=dict)
    spikes: dict = field(default_factory=dict)
    membranes_before_reset: dict = field(default_factory=dict)
    membranes_after_reset: dict = field(default_factory=dict)


class _Context:
    """What a kind's ``torch_step`` may use."""

    def __init__(self, graph: Graph, frames, frame_kinds, count: bool, membranes: bool = False) -> None:
        self.torch = torch
        self.graph = graph
        self.frames = frames
        self.frame_kinds = frame_kinds
        self.count = count
        self.counts = DenseCounts() if count else None
        self.spikes: dict[str, list] = {}
        #: name -> ([before reset per step], [after reset per step]) when asked for
        self.membranes: dict[str, tuple[list, list]] | None = {} if membranes else None
        self.step_logits: list = []

    def facts(self, name: str, t: int) -> dict:
        return self.counts.facts.setdefault((name, t), {})


class TorchGraph:
    """Run a graph densely in PyTorch.

    Parameters
    ----------
    graph : Graph
    dtype : torch.dtype
    device : str or torch.device
    """

    def __init__(self, graph: Graph, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> None:
        self.graph = graph
        self.dtype = dtype
        self.device = torch.device(device)
        self.params: dict[str, dict[str, torch.Tensor]] = {
            n.name: {k: torch.as_tensor(v).to(self.device, dtype if v.dtype.kind == "f" else torch.int64) for k, v in n.arrays().items()}
            for n in graph.nodes
        }
        self.frame_kinds = graph.input.frame_kinds(graph.kind)

    @torch.no_grad()
    def run(self, frames: torch.Tensor | np.ndarray, count: bool = False,
            frame_kinds: tuple[str, ...] | None = None,
            membranes: bool = False) -> tuple[torch.Tensor, torch.Tensor, DenseCounts | None]:
        """Replay frames ``(T, B, C, H, W)`` (``(T, B, n)`` for a vector input); ``frame_kinds``
        as in :meth:`asnn_sim.sim.Simulator.run_batch`; ``membranes`` (with ``count``) also
        keeps every neuron node's membranes before and after the reset.

        Returns
        -------
        logits : (B, K) prediction logits
        step_logits : (T, B, K) per-step scaled logits
        counts : DenseCounts or None
            Brute-force facts, and every neuron node's spikes, when ``count`` is True.
        """
        if membranes and not count:
            raise ValueError("membranes are kept with the brute-force facts: pass count=True")
        g = self.graph
        frames = torch.as_tensor(frames).to(self.device, self.dtype)
        ctx = _Context(g, frames, frame_kinds or self.frame_kinds or frame_kinds_of(frames), count, membranes)
        states: dict[str, dict] = {n.name: {} for n in g.nodes}
        for t in range(g.timesteps):
            out: dict = {}
            for node in g.nodes:
                xs = [out[s] for s in node.inputs]
                out[node.name] = node.torch_step(self.params[node.name], xs, states[node.name], t, ctx)
        step_logits = torch.stack(ctx.step_logits)
        if ctx.counts is not None:
            ctx.counts.spikes = {k: torch.stack(v) for k, v in ctx.spikes.items()}
            for name, (before, after) in (ctx.membranes or {}).items():
                ctx.counts.membranes_before_reset[name] = torch.stack(before)
                ctx.counts.membranes_after_reset[name] = torch.stack(after)
        return step_logits.mean(0), step_logits, ctx.counts


def count_mismatches(graph: Graph, rows: list, totals: np.ndarray, facts: dict, conventions, static_first: bool = False) -> list[str]:
    """Every count of every counted node and step against the brute-force facts.

    What each column must hold is the node kind's rule
    (:meth:`~asnn_sim.graph.nodes.base.Node.expected_counts`).

    Parameters
    ----------
    graph : Graph
    rows : list of Node
        The simulator's counted nodes (``Simulator.rows``), the first axis of ``totals``.
    totals : (len(rows), T, n_counts) int64
        The simulator's counts summed over the same samples the facts cover.
    facts : dict
        ``DenseCounts.facts`` of :meth:`TorchGraph.run` (summed the same way).
    conventions : Conventions
        The replay's counting conventions.
    static_first : bool
        ``static_input="once"`` applied (the layer reading the input did no work after step 0).

    Returns
    -------
    list of str
        One line per disagreement (empty when every count matches).
    """
    from asnn_sim.graph.counts_schema import SLOT

    problems: list[str] = []
    for r, node in enumerate(rows):
        for t in range(graph.timesteps):
            reused = static_first and t > 0 and graph.input.name in node.inputs
            try:
                expected = node.expected_counts(facts[(node.name, t)], conventions, reused)
            except KeyError as e:
                problems.append(f"{node.name} t={t}: no brute-force fact {e}")
                continue
            for column, want in expected.items():
                got = int(totals[r, t, SLOT[column]])
                if got != want:
                    problems.append(f"{node.name} t={t} {column}: simulator {got} vs brute force {want}")
    return problems


def merge_facts(into: dict, more: dict) -> dict:
    """Add the brute-force facts of another batch, node by node and step by step."""
    for key, facts in more.items():
        mine = into.setdefault(key, {})
        for name, value in facts.items():
            mine[name] = _added(mine[name], value) if name in mine else value
    return into


def _added(a, b):
    """Two batches' values of one fact: numbers add; ``(label, n)`` pairs add their counts
    (one event class, one product column); lists of such pairs add pair by pair (the
    events of each operand); dicts add key by key (the encoder's work)."""
    if isinstance(a, dict):
        return {k: _added(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k)) for k in {**a, **b}}
    if isinstance(a, tuple):
        return (a[0], a[1] + b[1])
    if isinstance(a, list):
        return [_added(x, y) for x, y in zip(a, b)]
    return a + b
