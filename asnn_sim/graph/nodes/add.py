"""``add``: the element-wise sum of two or more inputs of one shape (residual connections).

* **Events only** (SEW residuals: spikes added after the neurons): ``y = sum_i x_i`` as
  events; sums of spikes are *graded* (0, 1, 2, ...), analog if any input is analog.
* **Any current** (standard residuals: the shortcut joins before the neuron):
  ``I = sum_i (I_i + b_i) + sum_j x_j``: every current operand with its pending bias,
  then event operands added as values (an identity shortcut adds its spikes). The biases
  are added here, so the neuron reading the sum adds none.

Counting (``elementwise_adds``): an addition of two non-zero values. Events only: one per
event landing on an element another operand already holds. With currents: one per
element for each pending bias, one per element for each current operand after the
first, and one per event of each event operand after the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from asnn_sim.graph import counts_schema
from asnn_sim.graph.counts_schema import Column
from asnn_sim.graph.nodes.base import (
    BINARY,
    CLASS_CODE,
    CLASS_NAME,
    CURRENT,
    EVENT_COUNTS,
    Current,
    Events,
    Node,
    TorchValue,
    combined_class,
    event_row_counts,
    expected_events,
    fail,
    n_elements,
)
from asnn_sim.graph.nodes.registry import register


@dataclass
class AddCurrentState:
    """A compiled add of currents: the sum ``buf`` and its ``marks`` (bias already added:
    ``zero_bias``), the ``adds`` every step does regardless of the events (the pending
    biases, and each current operand after the first, over every element), and a
    ``discard`` counter for the first operand's copies."""

    adds: int
    buf: np.ndarray
    marks: np.ndarray
    zero_bias: np.ndarray
    discard: np.ndarray


@dataclass
class AddEventsState:
    """A compiled add of events: the output events (``idx``/``cnt``/``val``), scratch
    (``acc``, ``mark``) and, for three or more operands, a copy of the running sum (``tmp_*``)."""

    idx: np.ndarray
    cnt: np.ndarray
    val: np.ndarray
    acc: np.ndarray
    mark: np.ndarray
    tmp_idx: np.ndarray | None = None
    tmp_cnt: np.ndarray | None = None
    tmp_val: np.ndarray | None = None


@register
@dataclass
class Add(Node):
    """Element-wise sum of its inputs; see the module docstring."""

    kind: ClassVar[str] = "add"
    N_INPUTS = None
    ROLE = "elementwise"
    COUNTS = (*EVENT_COUNTS, "elementwise_adds")
    OWN_COLUMNS = (Column("elementwise_adds", "additions of two non-zero values in an add node (residual sums, biases of summed currents)"),)

    def check(self) -> None:
        if len(self.inputs) < 2:
            raise fail(self.name, f"an add node needs at least 2 inputs, got {len(self.inputs)}")

    def output_shape(self, in_shapes):
        if len(set(in_shapes)) != 1:
            raise fail(self.name, f"inputs of an add must have equal shapes, got {in_shapes}")
        return in_shapes[0]

    def output_type(self, in_types, graph_kind):
        if CURRENT in in_types:
            return CURRENT
        self._expect_events(in_types)
        return combined_class(in_types)

    def integrated_bias(self, graph) -> int:
        return sum(graph.node(s).integrated_bias(graph) for s in self.inputs)

    # -- simulator

    def compile(self, ctx) -> AddCurrentState | AddEventsState:
        n = n_elements(ctx.out_shape)
        if CURRENT in ctx.in_types:
            is_current = [t == CURRENT for t in ctx.in_types]
            pending = sum(cur and ctx.graph.node(s).pending_bias() for s, cur in zip(self.inputs, is_current))
            return AddCurrentState(
                adds=(pending + sum(is_current[1:])) * n,
                buf=ctx.output(n, zeroed=True),
                marks=ctx.output(n, np.uint8, zeroed=True),
                zero_bias=np.zeros(n, ctx.dtype),
                discard=ctx.persistent((), np.int64),  # adds of a first operand (copies) are not counted
            )
        st = AddEventsState(idx=ctx.output(n, np.int32), cnt=ctx.output((), np.int64), val=ctx.output(n),
                            acc=ctx.scratch(n), mark=ctx.scratch(n, np.uint8))
        if len(self.inputs) > 2:  # the running sum is copied before it is read and written again
            st.tmp_idx, st.tmp_cnt, st.tmp_val = ctx.output(n, np.int32), ctx.output((), np.int64), ctx.output(n)
        return st

    def step(self, st, inputs, t, ctx):
        c = ctx.counts
        adds = c[:, counts_schema.SLOT["elementwise_adds"]]
        K = ctx.kernels
        if isinstance(st, AddCurrentState):
            for i, x in enumerate(inputs):
                if isinstance(x, Current):
                    K.add_current(st.buf, st.marks, x.buf, x.bias, x.marks, x.per)
                else:
                    event_row_counts(c, x)
                    K.add_events_to_current(st.buf, st.marks, x.idx, x.cnt, x.val, x.event_class == CLASS_CODE[BINARY],
                                            adds if i > 0 else st.discard)
            return Current(st.buf, st.zero_bias, False, st.marks, 1, ctx.out_shape)
        for x in inputs:
            event_row_counts(c, x)
        a = inputs[0]
        binary = CLASS_CODE[BINARY]
        # The class of the sum is decided per step from what actually arrives: the input
        # node's static type is "events" (hybrid: analog at t = 0, spikes after).
        out_class = CLASS_CODE[combined_class([CLASS_NAME[x.event_class] for x in inputs])]
        for other in inputs[1:]:
            if a.idx is st.idx:
                st.tmp_idx[:] = a.idx
                st.tmp_cnt[:] = a.cnt
                st.tmp_val[:] = a.val
                a = Events(st.tmp_idx, st.tmp_cnt, st.tmp_val, a.event_class, a.shape, a.chw)
            K.add_events(a.idx, a.cnt, a.val, a.event_class == binary, other.idx, other.cnt, other.val, other.event_class == binary,
                         st.acc, st.mark, st.idx, st.cnt, st.val, adds)
            a = Events(st.idx, st.cnt, st.val, out_class, a.shape, a.chw)
        return a

    def fixed_counts(self, st, t):
        if not isinstance(st, AddCurrentState):
            return {}
        return {"elementwise_adds": st.adds}

    # -- dense reference

    def torch_step(self, p, xs, state, t, ctx):
        total = xs[0].tensor
        for x in xs[1:]:
            total = total + x.tensor
        facts = ctx.facts(self.name, t) if ctx.count else None
        if any(x.type == CURRENT for x in xs):
            touched = None
            adds = 0
            for i, (src, x) in enumerate(zip(self.inputs, xs)):
                mask = x.touched if x.type == CURRENT else x.tensor != 0
                touched = mask if touched is None else touched | mask
                per_sample = x.tensor[0].numel()
                if x.type == CURRENT:
                    adds += (int(ctx.graph.node(src).pending_bias()) + int(i > 0)) * per_sample * x.tensor.shape[0]
                else:
                    if facts is not None:
                        facts.setdefault("events", []).append((x.type, int((x.tensor != 0).sum().item())))
                    adds += int((x.tensor != 0).sum().item()) if i > 0 else 0
            if facts is not None:
                facts["adds"] = adds
            return TorchValue(total, CURRENT, touched)
        nz = [x.tensor != 0 for x in xs]
        if facts is not None:
            facts["events"] = [(x.type, int(z.sum().item())) for x, z in zip(xs, nz)]
            union = nz[0]
            for z in nz[1:]:
                union = union | z
            facts["adds"] = sum(int(z.sum().item()) for z in nz) - int(union.sum().item())
        return TorchValue(total, combined_class([x.type for x in xs]))

    def expected_counts(self, facts, conventions, reused):
        return {**expected_events(facts.get("events", [])), "elementwise_adds": facts["adds"]}

    # -- layers table and hardware

    def facts(self, graph):
        n = n_elements(graph.shapes[self.name])
        return {"dense_ops_per_step": n * (len(self.inputs) - 1)}

    @staticmethod
    def snn_cost(q):
        return {"elementwise": q["elementwise_adds"]}

    @staticmethod
    def ann_cost(q):
        return {"elementwise": q["elementwise_adds"]}

    @staticmethod
    def ann_twin_counts(layer):
        return {"elementwise_adds": layer["dense_ops_per_step"]}

    @staticmethod
    def spike_free(q):
        # Into a current every event is one add on top of the dense adds (which stay);
        # an add of events only adds coinciding events, in proportion to the spikes.
        adds, spikes = q["elementwise_adds"], q["in_events_binary"] + q["in_events_graded"]
        into_current = q["output"] == "current"
        return {"elementwise_adds": np.where(into_current, np.maximum(adds - spikes, 0.0), adds * (1.0 - q["event_share"]))}
