"""``readout``: prediction logits, ``logits = mean_t(scale[t] * x_t)``.

``x_t`` is a current with its bias (``I_t + b``; the trained models' readout), or the
values of events: an imported NIR graph whose output is a spiking layer reads out spike
counts (``x_t`` = the spikes), one whose output is an ``li`` layer its membranes.
``scale`` (ASNN: one learned factor per step) is optional; without it the logits are the
plain mean. Counting per output and step: 1 mult where there is a scale, 1 add for a
current's pending bias, and 1 more from step 1 on (the running sum over steps); reading
events, ``neurons_touched`` is the number of events. The final division by T is a
constant scale that does not change the prediction and is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from asnn_sim.graph import counts_schema
from asnn_sim.graph.nodes._integrating import Integrating
from asnn_sim.graph.nodes.base import BINARY, CLASS_CODE, CURRENT, expect_rank, fail, is_events, n_elements
from asnn_sim.graph.nodes.registry import register



@dataclass
class ReadoutState:
    """A compiled readout: the running ``total (B, n)``, the per-step ``scale``, ``n`` outputs, whether it reads ``events`` (else a current), ``adds`` per update."""

    total: np.ndarray
    scale: np.ndarray
    n: int
    events: bool
    adds: int

@register
@dataclass
class Readout(Integrating):
    """Prediction logits: the mean over steps of ``scale[t] * x_t`` (no scale: plain mean);
    ``x_t`` a current or events (see the module docstring)."""

    scale: np.ndarray | None = None
    kind: ClassVar[str] = "readout"
    ARRAYS = ("scale",)
    PER_STEP = ("scale",)
    ROLE = "readout"
    LABEL = "readout"
    COUNTS = ("neurons", "neurons_touched", "neuron_mults", "neuron_adds")

    def check(self) -> None:
        if self.scale is not None:
            expect_rank(self, "scale", self.scale, 1)

    def output_shape(self, in_shapes):
        (shape,) = in_shapes
        if len(shape) != 1:
            raise fail(self.name, f"readout needs a vector of logits, got shape {shape}")
        return shape

    def output_type(self, in_types, graph_kind):
        if not is_events(in_types[0]):
            self._expect_currents(in_types)
        return "logits"

    # -- simulator

    def compile(self, ctx) -> ReadoutState:
        n = n_elements(ctx.out_shape)
        scale = np.ones(ctx.T) if self.scale is None else self.scale
        events = ctx.in_types[0] != CURRENT
        return ReadoutState(total=ctx.persistent(n), scale=scale.astype(ctx.dtype), n=n, events=events,
                            adds=0 if events else int(ctx.graph.node(self.inputs[0]).pending_bias()))

    def step(self, st, inputs, t, ctx):
        (x,) = inputs
        touched = ctx.counts[:, counts_schema.SLOT["neurons_touched"]]
        if st.events:
            ctx.kernels.readout_events(x.idx, x.cnt, x.val, x.event_class == CLASS_CODE[BINARY], st.scale[t], t,
                                       ctx.step_logits, st.total, touched)
        else:
            ctx.kernels.readout_update(x.buf, x.bias, st.scale[t], t, x.marks, x.per, ctx.step_logits, st.total, touched)
        return None

    def fixed_counts(self, st, t):
        n = st.n
        return {
            "neurons": n,
            "neuron_mults": n if self.scale is not None else 0,
            "neuron_adds": st.adds * n + (n if t > 0 else 0),
        }

    # -- dense reference

    def torch_step(self, p, xs, state, t, ctx):
        (x,) = xs
        scale = p["scale"][t] if "scale" in p else 1.0
        ctx.step_logits.append(scale * x.tensor)
        if x.type == CURRENT:
            self._record_touched(x, t, ctx)
        elif ctx.count:
            ctx.facts(self.name, t)["touched"] = int((x.tensor != 0).sum().item())
        return None

    # -- hardware (the rest: asnn_sim.graph.nodes._integrating)

    @staticmethod
    def ann_twin_counts(layer):
        n = layer["n_neurons"]
        # a bias add per logit; the logits are written out
        return {"neurons": n, "neurons_touched": n, "neuron_adds": n, "output_spikes": n}
