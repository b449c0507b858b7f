"""``relu``: the ANN twin's activation, ``y = max(0, I + b)`` of a current, as analog events.

Counting per neuron: 1 add (the pending bias) and 1 compare with 0; ``output_spikes``
counts the non-zero outputs (the activations a zero-skipping ANN passes on).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from asnn_sim.counts_schema import SLOT
from asnn_sim.nodes.base import ANALOG, CLASS_CODE, Events, Node, TorchValue, fail, n_elements
from asnn_sim.nodes.neuron import neuron_cost


@dataclass
class ReLU(Node):
    """ReLU of a current (ANN graphs only)."""

    kind: ClassVar[str] = "relu"
    ROLE = "neuron"
    COUNTS = ("neurons", "neurons_touched", "neuron_adds", "neuron_compares", "output_spikes")

    def output_shape(self, in_shapes):
        return in_shapes[0]

    def output_type(self, in_types, graph_kind):
        if graph_kind != "ann":
            raise fail(self.name, f"a relu node does not belong in an {graph_kind} graph")
        self._expect_currents(in_types)
        return ANALOG

    # -- simulator

    def compile(self, ctx) -> dict:
        n = n_elements(ctx.out_shape)
        return {"idx": ctx.output(n, np.int32), "cnt": ctx.output((), np.int64), "val": ctx.output(n), "n": n,
                "adds": int(ctx.graph.node(self.inputs[0]).pending_bias())}

    def step(self, st, inputs, t, ctx):
        (cur,) = inputs
        c = ctx.counts
        ctx.kernels.relu_update(cur.buf, cur.bias, cur.marks, cur.per, st["idx"], st["cnt"], st["val"], c[:, SLOT["neurons_touched"]])
        c[:, SLOT["output_spikes"]] = st["cnt"]
        return Events(st["idx"], st["cnt"], st["val"], CLASS_CODE[ANALOG], ctx.out_shape)

    def fixed_counts(self, st, t):
        n = st["n"]
        return {"neurons": n, "neuron_adds": st["adds"] * n, "neuron_compares": n}

    # -- dense reference

    def torch_step(self, p, xs, state, t, ctx):
        (x,) = xs
        y = ctx.torch.relu(x.tensor)
        if ctx.count:
            ctx.facts(self.name, t)["touched"] = int(x.touched.sum().item())
        return TorchValue(y, ANALOG)

    def expected_counts(self, facts, conventions, reused):
        return {"neurons_touched": facts["touched"]}

    # -- layers table and hardware

    def facts(self, graph):
        n = n_elements(graph.shapes[self.name])
        return {"neuron": "relu", "n_neurons": n, "n_bias": graph.node(self.inputs[0]).integrated_bias(graph), "dense_ops_per_step": n}

    @staticmethod
    def snn_cost(q):
        return neuron_cost(q, spiking=False)

    @staticmethod
    def ann_cost(q):
        return neuron_cost(q, spiking=False)

    @staticmethod
    def ann_twin_counts(layer):
        n = layer["n_neurons"]
        return {"neurons": n, "neurons_touched": n, "neuron_adds": n, "neuron_compares": n, "output_spikes": n}
