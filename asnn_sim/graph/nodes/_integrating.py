"""What neuron, relu and readout share: they integrate one current into as many neurons.

The layers-table facts, the brute-force check of touched neurons, and the hardware cost
of neuron updates (and of the ANN twin's activations) are the same rule for the three
kinds; each kind itself lives in its own module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from asnn_sim.graph.nodes.base import Node, expect_rank, fail, n_elements


@dataclass
class Integrating(Node):
    """A node updating ``prod(shape)`` neurons from one input current."""

    ROLE = "neuron"
    LABEL: ClassVar[str] = ""  # the layers table's ``neuron`` column

    def _label(self) -> str:
        return self.LABEL

    def _own_bias(self) -> int:
        """Bias values the node holds itself (besides its current's pending bias)."""
        return 0

    def _check_leak_gain(self) -> None:
        """Kinds with per-step ``leak`` and ``gain`` (neuron, cuba_neuron, li): both given, 1-D, as long."""
        if self.leak is None or self.gain is None:
            raise fail(self.name, "leak and gain are required")
        expect_rank(self, "leak", self.leak, 1)
        expect_rank(self, "gain", self.gain, 1)
        if self.leak.shape != self.gain.shape:
            raise fail(self.name, f"leak {self.leak.shape} and gain {self.gain.shape} differ in length")

    def _check_bias(self) -> None:
        """An optional neuron bias, as floats of at least one dimension (stored that way)."""
        if self.bias is not None:
            self.bias = np.atleast_1d(self.bias if np.issubdtype(self.bias.dtype, np.floating) else self.bias.astype(np.float64))

    def _record_touched(self, x, t: int, ctx) -> None:
        if ctx.count:
            ctx.facts(self.name, t)["touched"] = int(x.touched.sum().item())

    def expected_counts(self, facts, conventions, reused):
        return {"neurons_touched": facts["touched"]}

    def facts(self, graph):
        n = n_elements(graph.shapes[self.name])
        bias = graph.node(self.inputs[0]).integrated_bias(graph) + self._own_bias()
        return {"neuron": self._label(), "n_neurons": n, "n_bias": bias, "dense_ops_per_step": n}

    @staticmethod
    def snn_cost(q):
        return neuron_cost(q, spiking=True)

    @staticmethod
    def ann_cost(q):
        return neuron_cost(q, spiking=False)

    @staticmethod
    def ann_twin_counts(layer):
        n = layer["n_neurons"]
        # the twin's ReLU: a bias add and a compare with 0; every activation written
        return {"neurons": n, "neurons_touched": n, "neuron_adds": n, "neuron_compares": n, "output_spikes": n}


def neuron_cost(q: dict, spiking: bool) -> dict:
    """Neuron updates (and for the ANN, activations): arithmetic, bias reads, potential
    traffic per update (event-driven SNN), output-buffer writes and routed spikes.

    The SNN writes 1-bit spikes; the dense ANN writes every activation at full width
    (``out_writes = neurons``) and keeps partial sums in registers (no potential memory).
    """
    n = q["n_neurons"]
    out = {
        "neurons": q["neurons"],
        "neurons_touched": q["neurons_touched"],
        "nrn_mult": q["neuron_mults"],
        "nrn_add": q["neuron_adds"],
        "nrn_cmp": q["neuron_compares"],
        "bias_reads": (q["n_bias"] > 0).astype(float),
        "spikes_out": q["output_spikes"],
        "bias_elems": q["n_bias"],
        "out_elems": n,
    }
    if spiking:
        out.update(nrn_reset=q["neuron_resets"], out_writes=q["output_spikes"], pot_elems=n, potential_updates=1.0 + 0.0 * n)
    else:
        out.update(out_writes=q["neurons"])
    return out
