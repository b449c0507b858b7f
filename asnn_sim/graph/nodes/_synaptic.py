"""What conv2d and linear share: weight sets chosen per step, the counts of a scatter, and
the hardware cost of synaptic work. Each kind itself lives in its own module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from asnn_sim.graph import counts_schema
from asnn_sim.graph.nodes.base import BINARY, CURRENT, EVENT_COLUMNS, GRADED, Current, Node, event_row_counts, expect_rank, fail


@dataclass
class SynapticState:
    """A compiled synaptic node (``(B, ...)`` buffers).

    ``sets[s]`` = (weight rows, non-zero weights per row, bias laid out as the current)
    of weight set ``s``; ``current`` and ``marks`` what it hands its reader (``per``
    neurons per mark, ``shape`` of the current); ``dense`` its dense MACs per sample and
    step. A node reading a direct-coded input sees the same frame at every step: under
    ``static_input="once"`` (``static``) step 0's current, kept in ``cache``/``cache_marks``,
    stands for every step and is counted once; under ``"per_step"`` (``reuse``) it is
    computed once too but counted at every step, as if computed again (step 0's per-sample
    ACs and MACs kept in ``cache_acs``/``cache_macs``). Conv maps also hold their tap
    tables (``taps``) and the synapses per weight row (``n_syn``).
    """

    sets: list
    current: np.ndarray
    marks: np.ndarray
    per: int
    shape: tuple
    dense: int
    static: bool = False
    reuse: bool = False
    cache: np.ndarray | None = None
    cache_marks: np.ndarray | None = None
    cache_acs: np.ndarray | None = None
    cache_macs: np.ndarray | None = None
    taps: tuple = ()
    n_syn: int = 0


@dataclass
class Synaptic(Node):
    """Weights ``(S, out, ...)`` in ``S`` sets, ``weight_set[t]`` choosing one per step.

    The hybrid first layer holds two sets (the analog frame and the spike frames use
    different weights). ``bias`` ``(S, out)`` is optional; it is added by the neuron that
    integrates the current, where it is counted.
    """

    weight: np.ndarray = None
    bias: np.ndarray | None = None
    weight_set: np.ndarray = None  # (T,) index into the first axis of weight and bias
    ARRAYS = ("weight", "bias", "weight_set")
    PER_STEP = ("weight_set",)
    WEIGHT_RANK: ClassVar[int] = 0
    ROLE = "synapse"
    COUNTS = ("in_events_binary", "in_events_graded", "in_events_analog", "synaptic_acs", "synaptic_macs", "dense_macs")

    def check(self) -> None:
        if self.weight is None or self.weight_set is None:
            raise fail(self.name, "weight and weight_set are required")
        expect_rank(self, "weight", self.weight, self.WEIGHT_RANK)
        expect_rank(self, "weight_set", self.weight_set, 1)
        sets, out = self.weight.shape[:2]
        if self.bias is not None:
            expect_rank(self, "bias", self.bias, 2)
            if self.bias.shape != (sets, out):
                raise fail(self.name, f"bias has shape {self.bias.shape}, expected {(sets, out)}")
        if self.weight_set.size and (self.weight_set.min() < 0 or self.weight_set.max() >= sets):
            raise fail(self.name, f"weight_set entries must lie in [0, {sets}); got {self.weight_set.tolist()}")

    @property
    def n_sets(self) -> int:
        return self.weight.shape[0]

    def pending_bias(self) -> bool:
        return self.bias is not None

    def integrated_bias(self, graph) -> int:
        return 0 if self.bias is None else int(self.bias.size)

    def output_type(self, in_types, graph_kind):
        self._expect_events(in_types)
        return CURRENT

    # -- simulator, shared

    def step(self, st, inputs, t, ctx):
        (src,) = inputs
        c = ctx.counts
        acs, macs = c[:, counts_schema.SLOT["synaptic_acs"]], c[:, counts_schema.SLOT["synaptic_macs"]]
        if t > 0 and (st.static or (st.reuse and ctx.frames_static)):
            # the frame of step 0 again: its current, with no synaptic work
            st.current[:] = st.cache
            st.marks[:] = st.cache_marks
            if st.reuse:  # counted as the work it stands for: the same events reach the same synapses
                event_row_counts(c, src)
                acs += st.cache_acs
                macs += st.cache_macs
        else:
            wt, nnz, _ = st.sets[self.weight_set[t]]
            event_row_counts(c, src)
            if st.reuse:
                st.cache_acs[:] = acs
                st.cache_macs[:] = macs
            self._scatter(st, src, wt, nnz, acs, macs, ctx)
            if st.static or st.reuse:
                st.cache[:] = st.current
                st.cache_marks[:] = st.marks
            if st.reuse:
                np.subtract(acs, st.cache_acs, out=st.cache_acs)
                np.subtract(macs, st.cache_macs, out=st.cache_macs)
        _, _, bias = st.sets[self.weight_set[t]]
        return Current(st.current, bias, self.bias is not None, st.marks, st.per, st.shape)

    def _scatter(self, st, src, wt, nnz, acs, macs, ctx) -> None:
        """Add the events' weighted synapses into ``st.current``, marking the reached
        neurons and adding the ACs and MACs into ``acs``/``macs`` (the kind's kernel)."""
        raise NotImplementedError

    def _static_buffers(self, ctx, st: SynapticState, n_out: int, n_marks: int) -> None:
        reads_input = self.inputs[0] == ctx.graph.input.name
        st.static = ctx.static_first and reads_input
        st.reuse = ctx.static_frames and reads_input and not st.static and len(set(self.weight_set.tolist())) == 1
        if st.static or st.reuse:
            st.cache = ctx.persistent(n_out)
            st.cache_marks = ctx.persistent(n_marks, np.uint8)
        if st.reuse:
            st.cache_acs = ctx.persistent((), np.int64)
            st.cache_macs = ctx.persistent((), np.int64)

    def fixed_counts(self, st, t):
        return {"dense_macs": st.dense}

    # -- dense reference, shared

    def _brute_force(self, x, src_type: str, t: int, ctx, receptive_sum, n_out_channels: int) -> None:
        """NeuroBench-style counts from the layer's input alone (see asnn_sim.interop.torch_graph)."""
        if not ctx.count:
            return
        nz = (x != 0).to(x.dtype)
        facts = ctx.facts(self.name, t)
        facts["events"] = (src_type, int(nz.sum().item()))
        facts["pairs"] = int(receptive_sum(nz).sum().item()) * n_out_channels
        facts["value_pairs"] = int(round(receptive_sum(x * nz).sum().item())) * n_out_channels
        facts["dense"] = int(receptive_sum(x.new_ones(x.shape)).sum().item()) * n_out_channels
        w = ctx.torch.as_tensor(self.weight[self.weight_set[t]])
        facts["nonzero_weight_pairs"], facts["nonzero_weight_value_pairs"] = self._nonzero_weight_pairs(nz, x * nz, w)

    def _nonzero_weight_pairs(self, nz, xv, w):
        raise NotImplementedError

    def expected_counts(self, facts, conventions, reused):
        kind, n_events = facts["events"]
        if reused:  # static_input="once": step 0's current reused, no synaptic work
            return {EVENT_COLUMNS[kind]: 0, "synaptic_acs": 0, "synaptic_macs": 0, "dense_macs": facts["dense"]}
        skip = conventions.skip_zero_weights
        pairs = facts["nonzero_weight_pairs"] if skip else facts["pairs"]
        value_pairs = facts["nonzero_weight_value_pairs"] if skip else facts["value_pairs"]
        if kind == BINARY:
            acs, macs = pairs, 0
        elif kind == GRADED and conventions.graded == "expand":
            acs, macs = value_pairs, 0
        else:
            acs, macs = 0, pairs
        return {EVENT_COLUMNS[kind]: n_events, "synaptic_acs": acs, "synaptic_macs": macs, "dense_macs": facts["dense"]}

    # -- layers table and hardware, shared

    def _facts(self, graph, fan_in: int, dense: int) -> dict:
        return {
            "n_weights": int(self.weight.size),
            "n_weight_sets": int(self.n_sets),
            "n_bias": int(self.bias.size) if self.bias is not None else 0,
            "fan_in": int(fan_in),
            "dense_macs_per_step": int(dense),
            "dense_ops_per_step": int(dense),
        }

    @staticmethod
    def ann_twin_counts(layer: dict) -> dict:
        # one dense pass: every input element read, every MAC performed, zeros included
        return {
            "in_events_analog": layer["in_elements"],
            "synaptic_macs": layer["dense_macs_per_step"],
            "dense_macs": layer["dense_macs_per_step"],
        }


def synaptic_snn_cost(q: dict, is_conv: bool) -> dict:
    """Event-driven dataflow of a synaptic layer (Lemaire et al. 2022):

    every synaptic op reads its weight and updates a target potential; addressing: a conv
    input event costs 2 MACs plus one add per output position it reaches (synaptic ops /
    output channels), a linear input event one add per synaptic op; each input event is
    read from the input buffer (1 bit for spikes, ``bits`` for graded/analog values).
    """
    synops = q["synaptic_acs"] + q["synaptic_macs"]
    events_bin = q["in_events_binary"]
    events_multi = q["in_events_graded"] + q["in_events_analog"]
    c_out = q["c_out"]
    per_position = np.divide(synops, c_out, out=np.zeros_like(synops), where=c_out > 0)
    return {
        "ac": q["synaptic_acs"],
        "mac": q["synaptic_macs"],
        "weight_reads": synops,
        "synops": synops,
        "addr_mac": 2.0 * (events_bin + events_multi) if is_conv else 0.0 * synops,
        "addr_add": per_position if is_conv else synops,
        "in_reads_bin": events_bin,
        "in_reads_multi": events_multi,
        "weight_elems": q["n_weights"],
        "pot_elems": q["out_elements"],
        "in_elems": q["in_elements"],
    }


def synaptic_ann_cost(q: dict, is_conv: bool) -> dict:
    """Dense dataflow (Lemaire et al.'s FNN): one weight read per MAC, partial sums in
    registers; a conv reads an input activation per MAC (no reuse) and needs
    (inputs + outputs + C_out x k^2) address adds; a linear layer reads each input once
    and needs one address add per MAC. Driven by a replayed ANN's counts, only the MACs,
    reads and addressing of non-zero inputs are performed (zero-skipping)."""
    macs = q["synaptic_macs"]
    inputs = q["in_events_analog"] + q["in_events_graded"]
    return {
        "mac": macs,
        "weight_reads": macs,
        "addr_add": inputs + q["out_elements"] + q["c_out"] * q["kernel_area"] if is_conv else macs,
        "in_reads_multi": macs if is_conv else inputs,
        "weight_elems": q["n_weights"],
        "in_elems": q["in_elements"],
    }
