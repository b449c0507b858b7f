"""``li``: leaky integrators (NIR's LI), a current in and the membrane out, no spikes.

One timestep ``t``, per neuron::

    v = leak[t] * v + gain[t] * I_t + bias        # I_t: the input current, its bias included

The output is ``v`` itself, as analog events (one per non-zero membrane). Its usual
place is before the readout: an imported NIR graph whose output is an LI layer replays
its membrane trace as the per-step logits. ``leak`` and ``gain`` are per step like the
neuron's; the optional ``bias`` (NIR's ``v_leak`` term, ``dt / tau * v_leak``) is per
neuron.

Counting, per neuron and step: 2 mults, 1 add (integration) plus 1 for the current's
pending synaptic bias and 1 for the own bias where present; ``output_spikes`` counts the
non-zero membranes passed on (analog values, not spikes). No compares, no resets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from asnn_sim.graph import counts_schema
from asnn_sim.graph.nodes._integrating import Integrating
from asnn_sim.graph.nodes.base import ANALOG, CLASS_CODE, Events, TorchValue, channels_last, expect_broadcast, n_elements
from asnn_sim.graph.nodes.registry import register



@dataclass
class LiState:
    """A compiled leaky integrator: membranes ``mem (B, n)``, the non-zero membranes of the step as events (``idx``/``val``/``cnt``), per-step ``leak``/``gain``, ``own_bias``, ``n`` neurons, ``adds`` per update."""

    mem: np.ndarray
    idx: np.ndarray
    val: np.ndarray
    cnt: np.ndarray
    leak: np.ndarray
    gain: np.ndarray
    own_bias: np.ndarray
    n: int
    adds: int

@register
@dataclass
class LeakyIntegrator(Integrating):
    """Leaky integrators; see the module docstring for the equation."""

    leak: np.ndarray = None
    gain: np.ndarray = None
    bias: np.ndarray | None = None
    kind: ClassVar[str] = "li"
    GRAPH_KINDS = ("snn",)
    ARRAYS = ("leak", "gain", "bias")
    PER_STEP = ("leak", "gain")
    LABEL = "li"
    COUNTS = ("neurons", "neurons_touched", "neuron_mults", "neuron_adds", "output_spikes")

    def check(self) -> None:
        self._check_leak_gain()
        self._check_bias()

    def output_shape(self, in_shapes):
        (shape,) = in_shapes
        expect_broadcast(self, "bias", self.bias, shape)
        return shape

    def output_type(self, in_types, graph_kind):
        self._expect_currents(in_types)
        return ANALOG

    # -- simulator

    def compile(self, ctx) -> LiState:
        shape = ctx.out_shape
        n = n_elements(shape)
        own = np.zeros(n) if self.bias is None else channels_last(self.bias, shape)
        return LiState(
            mem=ctx.persistent(n),
            idx=ctx.output(n, np.int32),
            val=ctx.output(n),
            cnt=ctx.output((), np.int64),
            leak=self.leak.astype(ctx.dtype),
            gain=self.gain.astype(ctx.dtype),
            own_bias=np.ascontiguousarray(own, dtype=ctx.dtype),
            n=n,
            adds=1 + int(ctx.graph.node(self.inputs[0]).pending_bias()) + int(self.bias is not None),
        )

    def step(self, st, inputs, t, ctx):
        (cur,) = inputs
        c = ctx.counts
        ctx.kernels.li_update(cur.buf, cur.bias, st.own_bias, st.mem, st.leak[t], st.gain[t], t == 0,
                              cur.marks, cur.per, st.idx, st.val, st.cnt, c[:, counts_schema.SLOT["neurons_touched"]])
        c[:, counts_schema.SLOT["output_spikes"]] = st.cnt
        return Events(st.idx, st.cnt, st.val, CLASS_CODE[ANALOG], ctx.out_shape)

    def fixed_counts(self, st, t):
        n = st.n
        return {"neurons": n, "neuron_mults": 2 * n, "neuron_adds": st.adds * n}

    # -- dense reference

    def torch_step(self, p, xs, state, t, ctx):
        (x,) = xs
        m = state.get("mem")
        if m is None:
            m = x.tensor.new_zeros(x.tensor.shape)
        m = p["leak"][t] * m + p["gain"][t] * x.tensor
        if "bias" in p:
            m = m + p["bias"]
        state["mem"] = m
        self._record_touched(x, t, ctx)
        if ctx.count:
            ctx.facts(self.name, t)["outputs"] = int((m != 0).sum().item())
        return TorchValue(m, ANALOG)

    def expected_counts(self, facts, conventions, reused):
        return {**super().expected_counts(facts, conventions, reused), "output_spikes": facts["outputs"]}

    def _own_bias(self) -> int:
        return 0 if self.bias is None else int(self.bias.size)
