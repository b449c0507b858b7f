"""``neuron``: LIF / ASNN spiking neurons integrating a current.

One timestep ``t``, per neuron::

    v  = leak[t] * v + gain[t] * I_t + bias       # I_t: the input current, its bias included
    s  = v > threshold                            # compare="gt" (NIR, snnTorch); v >= threshold with "ge" (SpikingJelly)
    v  = v - threshold   where s   (reset="soft", the reference's)
    v  = v_reset         where s   (reset="hard")

``leak`` and ``gain`` have one entry per timestep (ASNN learns them per step;
``per_timestep=False`` records that training shared one value). ``threshold`` and the
optional ``bias`` are per neuron: any array that broadcasts to the node's shape (a
scalar, per channel ``(C, 1, 1)``, or full). The output is binary spikes. ``compare``
decides a membrane exactly at the threshold: ``"gt"`` (the default, the reference's
strict test) does not fire, ``"ge"`` does; the simulator tests the sign of
``v - threshold``, which in IEEE arithmetic is the same test as comparing ``v`` with
``threshold``.

Counting, per neuron and step (every neuron updates every step, as on a clock-driven
chip): 2 mults (leak x v, gain x I), 1 add (integration) plus 1 for the current's
pending synaptic bias and 1 for the neuron's own bias where present, 1 compare; one
reset per spike. ``neurons_touched`` counts the neurons an input event reached through
any path into their current.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from asnn_sim.graph import counts_schema
from asnn_sim.graph.nodes._integrating import Integrating
from asnn_sim.graph.nodes.base import (BINARY, CLASS_CODE, Events, TorchValue, channels_first, channels_last, expect_broadcast, fail,
                                       n_elements)
from asnn_sim.graph.nodes.registry import register

RESETS = ("soft", "hard")
#: ``compare`` values: fire when ``v > threshold`` or when ``v >= threshold``
COMPARES = ("gt", "ge")



@dataclass
class NeuronState:
    """A compiled neuron node: membranes ``mem (B, n)``, the spikes of the step
    (``idx``/``cnt``), the per-step ``leak``/``gain``, per-neuron ``threshold`` and
    ``own_bias`` channels-last, the reset (``hard``, ``v_reset``) and compare (``ge``),
    ``n`` neurons, ``adds`` per update, and ``channels`` (for recording channel-first)."""

    mem: np.ndarray
    idx: np.ndarray
    cnt: np.ndarray
    leak: np.ndarray
    gain: np.ndarray
    threshold: np.ndarray
    own_bias: np.ndarray
    hard: bool
    ge: bool
    v_reset: float
    n: int
    adds: int
    channels: int

@register
@dataclass
class Neuron(Integrating):
    """LIF/ASNN neurons; see the module docstring for the equation."""

    leak: np.ndarray = None
    gain: np.ndarray = None
    threshold: np.ndarray | float = 1.0
    bias: np.ndarray | None = None
    reset: str = "soft"
    v_reset: float = 0.0
    per_timestep: bool = True
    compare: str = "gt"
    kind: ClassVar[str] = "neuron"
    NAME_PREFIX = "lif"
    GRAPH_KINDS = ("snn",)
    ARRAYS = ("leak", "gain", "threshold", "bias")
    ATTRS = ("reset", "v_reset", "per_timestep", "compare")
    PER_STEP = ("leak", "gain")
    RECORDS = True
    COUNTS = ("neurons", "neurons_touched", "neuron_mults", "neuron_adds", "neuron_compares", "neuron_resets", "output_spikes")
    #: per neuron and step: multiplications, and additions besides the two biases
    MULTS: ClassVar[int] = 2
    ADDS: ClassVar[int] = 1
    #: The compiled state's record (a cuba_neuron extends it).
    STATE: ClassVar[type] = NeuronState

    def check(self) -> None:
        self._check_leak_gain()
        self.threshold = np.asarray(self.threshold, dtype=np.float64 if self.threshold.dtype.kind != "f" else self.threshold.dtype)
        if self.threshold.ndim == 0:  # stored as (1,): safetensors has no 0-d tensors
            self.threshold = self.threshold.reshape(1)
        if not (self.threshold > 0).all():
            raise fail(self.name, f"threshold must be positive, got values down to {self.threshold.min()!r}")
        self._check_bias()
        if self.reset not in RESETS:
            raise fail(self.name, f"reset must be 'soft' or 'hard', got {self.reset!r}")
        if not (isinstance(self.v_reset, (int, float)) and not isinstance(self.v_reset, bool) and math.isfinite(self.v_reset)):
            raise fail(self.name, f"v_reset must be a finite number, got {self.v_reset!r}")
        self.v_reset = float(self.v_reset)
        self.per_timestep = bool(self.per_timestep)
        if self.compare not in COMPARES:
            raise fail(self.name, f"compare must be 'gt' (fire when v > threshold) or 'ge' (v >= threshold), got {self.compare!r}")

    def output_shape(self, in_shapes):
        (shape,) = in_shapes
        for what in ("threshold", "bias"):
            expect_broadcast(self, what, getattr(self, what), shape)
        return shape

    def output_type(self, in_types, graph_kind):
        self._expect_currents(in_types)
        return BINARY

    # -- simulator

    def compile(self, ctx) -> NeuronState:
        shape = ctx.out_shape
        n = n_elements(shape)
        dt = ctx.dtype
        own = np.zeros(n) if self.bias is None else channels_last(self.bias, shape)
        return self.STATE(
            mem=ctx.persistent(n),
            idx=ctx.output(n, np.int32),
            cnt=ctx.output((), np.int64),
            leak=self.leak.astype(dt),
            gain=self.gain.astype(dt),
            threshold=np.ascontiguousarray(channels_last(self.threshold, shape), dtype=dt),
            own_bias=np.ascontiguousarray(own, dtype=dt),
            hard=self.reset == "hard",
            ge=self.compare == "ge",
            v_reset=dt(self.v_reset),
            n=n,
            adds=self.ADDS + int(ctx.graph.node(self.inputs[0]).pending_bias()) + int(self.bias is not None),
            channels=shape[0] if len(shape) == 3 else n,
        )

    def step(self, st, inputs, t, ctx):
        (cur,) = inputs
        c = ctx.counts
        kept = ctx.membranes.get(self.name) if ctx.membranes else None  # (before, after, (B, n) scratch)
        self._update(st, cur, t, ctx, c[:, counts_schema.SLOT["neurons_touched"]], None if kept is None else kept[2])
        c[:, counts_schema.SLOT["output_spikes"]] = st.cnt
        c[:, counts_schema.SLOT["neuron_resets"]] = st.cnt
        spikes = ctx.record.get(self.name) if ctx.record else None
        if spikes is not None:
            rec = spikes[t]  # channel-first, like torch; the events are channels-last
            ctx.kernels.events_to_dense(st.idx, st.cnt, st.channels, rec.reshape(rec.shape[0], -1))
        if kept is not None:
            before, after, scratch = kept
            before[t] = channels_first(scratch, ctx.out_shape)
            after[t] = channels_first(st.mem, ctx.out_shape)
        return Events(st.idx, st.cnt, ctx.placeholder, CLASS_CODE[BINARY], ctx.out_shape)

    def _update(self, st, cur, t, ctx, touched, before):
        """The kernel call of one step: integrate, fire, reset; spikes into ``st.idx``/``st.cnt``;
        the membranes before the reset into ``before`` ``(B, n)`` unless it is None."""
        ctx.kernels.neuron_update(
            cur.buf, cur.bias, st.own_bias, st.mem, st.leak[t], st.gain[t], st.threshold,
            st.hard, st.ge, st.v_reset, t == 0, cur.marks, cur.per, st.idx, st.cnt, touched, before,
        )

    def fixed_counts(self, st, t):
        n = st.n
        return {"neurons": n, "neuron_mults": self.MULTS * n, "neuron_adds": st.adds * n, "neuron_compares": n}

    # -- dense reference

    def _integrate(self, p, x, state, t):
        """The membrane before the own bias, threshold and reset: ``leak[t] * v + gain[t] * x``."""
        m = state.get("mem")
        if m is None:
            m = x.new_zeros(x.shape)
        return p["leak"][t] * m + p["gain"][t] * x

    def torch_step(self, p, xs, state, t, ctx):
        (x,) = xs
        m = self._integrate(p, x.tensor, state, t)
        if "bias" in p:
            m = m + p["bias"]
        thr = p["threshold"]
        s = (m - thr >= 0 if self.compare == "ge" else m - thr > 0).to(m.dtype)
        before = m
        m = ctx.torch.where(s > 0, m.new_tensor(self.v_reset), m) if self.reset == "hard" else m - s * thr
        state["mem"] = m
        if ctx.membranes is not None:
            kept = ctx.membranes.setdefault(self.name, ([], []))
            kept[0].append(before)
            kept[1].append(m)
        self._record_touched(x, t, ctx)
        if ctx.count:
            ctx.facts(self.name, t)["spikes"] = int(s.sum().item())
            ctx.spikes.setdefault(self.name, []).append(s.to(ctx.torch.uint8))
        return TorchValue(s, BINARY)

    def expected_counts(self, facts, conventions, reused):
        return {**super().expected_counts(facts, conventions, reused), "output_spikes": facts["spikes"], "neuron_resets": facts["spikes"]}

    # -- layers table (hardware cost: asnn_sim.graph.nodes._integrating)

    def _label(self) -> str:
        return "asnn" if self.per_timestep else "lif"

    def _own_bias(self) -> int:
        return 0 if self.bias is None else int(self.bias.size)
