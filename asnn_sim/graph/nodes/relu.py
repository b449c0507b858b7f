"""``relu``: the ANN twin's activation, ``y = max(0, I + b)`` of a current, as analog events.

Counting per neuron: 1 add (the pending bias) and 1 compare with 0; ``output_spikes``
counts the non-zero outputs (the activations a zero-skipping ANN passes on).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from asnn_sim.graph import counts_schema
from asnn_sim.graph.nodes._integrating import Integrating, neuron_cost
from asnn_sim.graph.nodes.base import ANALOG, CLASS_CODE, Events, TorchValue, n_elements
from asnn_sim.graph.nodes.registry import register



@dataclass
class ReluState:
    """A compiled ReLU node: its outputs as events (``idx``/``cnt``/``val``), ``n`` neurons, ``adds`` per update."""

    idx: np.ndarray
    cnt: np.ndarray
    val: np.ndarray
    n: int
    adds: int

@register
@dataclass
class ReLU(Integrating):
    """ReLU of a current (ANN graphs only)."""

    kind: ClassVar[str] = "relu"
    GRAPH_KINDS = ("ann",)
    LABEL = "relu"
    COUNTS = ("neurons", "neurons_touched", "neuron_adds", "neuron_compares", "output_spikes")

    def output_shape(self, in_shapes):
        return in_shapes[0]

    def output_type(self, in_types, graph_kind):
        self._expect_currents(in_types)
        return ANALOG

    # -- simulator

    def compile(self, ctx) -> ReluState:
        n = n_elements(ctx.out_shape)
        return ReluState(idx=ctx.output(n, np.int32), cnt=ctx.output((), np.int64), val=ctx.output(n), n=n,
                         adds=int(ctx.graph.node(self.inputs[0]).pending_bias()))

    def step(self, st, inputs, t, ctx):
        (cur,) = inputs
        c = ctx.counts
        ctx.kernels.relu_update(cur.buf, cur.bias, cur.marks, cur.per, st.idx, st.cnt, st.val, c[:, counts_schema.SLOT["neurons_touched"]])
        c[:, counts_schema.SLOT["output_spikes"]] = st.cnt
        return Events(st.idx, st.cnt, st.val, CLASS_CODE[ANALOG], ctx.out_shape)

    def fixed_counts(self, st, t):
        n = st.n
        return {"neurons": n, "neuron_adds": st.adds * n, "neuron_compares": n}

    # -- dense reference

    def torch_step(self, p, xs, state, t, ctx):
        (x,) = xs
        y = ctx.torch.relu(x.tensor)
        self._record_touched(x, t, ctx)
        return TorchValue(y, ANALOG)

    # -- hardware (the rest: asnn_sim.graph.nodes._integrating)

    @staticmethod
    def snn_cost(q):  # an ANN graph: ReLUs write activations, whichever dataflow prices them
        return neuron_cost(q, spiking=False)
