"""``multiply``: the element-wise product of two event maps of one shape (gates).

``y = a * b`` per element and step: an element is an event when both operands are
non-zero there. Spikes times spikes are spikes (an AND); with a graded operand the
product is graded, with an analog one analog. Currents are refused (multiply what a
neuron emits, not what it integrates). Gating a spike map by another (a mask, an
attention variant that multiplies instead of summing) is the use.

Counting: the events of both operands (``in_events_*``) and one product per element
where both are non-zero, in the column of the operands' classes (``coincidences``,
``product_acs``, ``product_macs``: the columns :mod:`asnn_sim.graph.nodes._products`
shares with ``attention``). A dense pass does one multiplication per element.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from asnn_sim.graph import counts_schema
from asnn_sim.graph.nodes._products import PRODUCT_COLUMNS, PRODUCT_COUNTS, product_column, product_prices, products_without_spikes
from asnn_sim.graph.nodes.base import (
    ANALOG,
    BINARY,
    CLASS_CODE,
    CLASS_NAME,
    CURRENT,
    EVENT_COUNTS,
    EVENTS,
    GRADED,
    Events,
    Node,
    TorchValue,
    event_row_counts,
    expected_events,
    fail,
    n_elements,
)
from asnn_sim.graph.nodes.registry import register


def product_class(a: str, b: str) -> str:
    """The value type of ``a * b``: binary for two spike maps, analog if either is analog, else graded."""
    if a == b == BINARY:
        return BINARY
    return ANALOG if ANALOG in (a, b) or EVENTS in (a, b) else GRADED


@dataclass
class MultiplyState:
    """The compiled buffers of one multiply node (``(B, ...)`` arrays)."""

    idx: np.ndarray
    cnt: np.ndarray
    val: np.ndarray
    acc: np.ndarray


@register
@dataclass
class Multiply(Node):
    """``a * b`` element-wise; see the module docstring."""

    kind: ClassVar[str] = "multiply"
    NAME_PREFIX = "mul"
    N_INPUTS = 2
    ROLE = "product"
    COUNTS = (*EVENT_COUNTS, *PRODUCT_COUNTS)
    OWN_COLUMNS = PRODUCT_COLUMNS

    def output_shape(self, in_shapes):
        if in_shapes[0] != in_shapes[1]:
            raise fail(self.name, f"the operands of a multiply must have equal shapes, got {in_shapes[0]} and {in_shapes[1]}")
        return in_shapes[0]

    def output_type(self, in_types, graph_kind):
        for src, t in zip(self.inputs, in_types):
            if t == CURRENT:
                raise fail(self.name, f"a multiply reads events, but {src!r} gives a current; put a neuron (or relu) after {src!r}")
        return product_class(*in_types)

    # -- simulator

    def compile(self, ctx) -> MultiplyState:
        n = n_elements(ctx.out_shape)
        return MultiplyState(idx=ctx.output(n, np.int32), cnt=ctx.output((), np.int64), val=ctx.output(n), acc=ctx.scratch(n))

    def step(self, st: MultiplyState, inputs, t, ctx):
        a, b = inputs
        c = ctx.counts
        for x in inputs:
            event_row_counts(c, x)
        # classes per step: the input node's static type is "events" (hybrid: analog, then spikes)
        ta, tb = CLASS_NAME[a.event_class], CLASS_NAME[b.event_class]
        products = c[:, counts_schema.SLOT[product_column(ta, tb)]]
        binary = CLASS_CODE[BINARY]
        ctx.kernels.multiply_events(a.idx, a.cnt, a.val, a.event_class == binary, b.idx, b.cnt, b.val, b.event_class == binary,
                                    st.acc, st.idx, st.cnt, st.val, products)
        return Events(st.idx, st.cnt, st.val, CLASS_CODE[product_class(ta, tb)], ctx.out_shape, a.chw)

    # -- dense reference

    def torch_step(self, p, xs, state, t, ctx):
        a, b = xs
        if ctx.count:
            facts = ctx.facts(self.name, t)
            facts["events"] = [(x.type, int((x.tensor != 0).sum().item())) for x in xs]
            facts["products"] = (product_column(a.type, b.type), int(((a.tensor != 0) & (b.tensor != 0)).sum().item()))
        return TorchValue(a.tensor * b.tensor, product_class(a.type, b.type))

    def expected_counts(self, facts, conventions, reused):
        expected = expected_events(facts["events"])
        column, products = facts["products"]
        expected.update({name: 0 for name in PRODUCT_COUNTS})
        expected[column] = products
        return expected

    # -- layers table and hardware

    def facts(self, graph):
        return {"dense_ops_per_step": n_elements(graph.shapes[self.name])}

    @staticmethod
    def snn_cost(q):
        """Event-driven: a product with a spike operand is an AC (the other operand passed or
        added on), two multi-bit operands a MAC; each input event read once. Nothing is
        accumulated, so no potential traffic and no weight read."""
        return {**product_prices(q), "in_elems": 2.0 * q["in_elements"]}

    @staticmethod
    def ann_cost(q):
        """Dense dataflow: one MAC-priced multiplication per element with non-zero operands."""
        return {**product_prices(q, event_driven=False), "in_elems": 2.0 * q["in_elements"]}

    @staticmethod
    def ann_twin_counts(layer):
        # one dense pass: both inputs read in full, one product per element
        return {"in_events_analog": 2 * layer["in_elements"], "product_macs": layer["dense_ops_per_step"]}

    @staticmethod
    def spike_free(q):
        return products_without_spikes(q)  # bilinear in a, b
