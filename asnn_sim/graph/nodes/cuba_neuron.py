"""``cuba_neuron``: current-based LIF neurons (NIR's ``CubaLIF``), current in, spikes out.

One timestep ``t``, per neuron::

    i  = syn_leak[t] * i + syn_gain[t] * I_t      # I_t: the input current, its bias included
    v  = leak[t] * v + gain[t] * i + bias         # the membrane integrates the *new* i
    s  = v > threshold                            # compare="gt"; v >= threshold with "ge"
    v  = v - threshold   where s   (reset="soft")
    v  = v_reset         where s   (reset="hard")

The synaptic current ``i`` is a second state per neuron; a spike never resets it. Both
states start at 0. Everything else is the ``neuron`` kind's (:mod:`asnn_sim.graph.nodes.neuron`):
``leak``, ``gain``, ``syn_leak`` and ``syn_gain`` have one entry per timestep;
``threshold`` and the optional ``bias`` are per neuron (anything that broadcasts to the
node's shape); ``reset``, ``v_reset``, ``compare`` and ``per_timestep`` mean the same.

The order (current first, then the membrane with the updated current) is NIR's forward
Euler and snnTorch's ``Synaptic``. NIR's ``CubaLIF`` with step ``dt`` is
``syn_leak = 1 - dt/tau_syn``, ``syn_gain = dt*w_in/tau_syn``, ``leak = 1 - dt/tau_mem``,
``gain = dt*r/tau_mem``, ``bias = dt*v_leak/tau_mem``, ``compare="gt"``, a hard reset to
``v_reset``. :func:`asnn_sim.interop.builder.snntorch_synaptic` and
:func:`asnn_sim.interop.builder.spikingjelly_cuba_lif` give the arguments for snnTorch's
``Synaptic`` and SpikingJelly's ``CUBALIFNode``.

Counting, per neuron and step (every neuron updates every step): 4 mults
(syn_leak x i, syn_gain x I, leak x v, gain x i), 2 adds (the two integrations) plus 1
for the current's pending synaptic bias and 1 for the neuron's own bias where present,
1 compare; one reset per spike. ``neurons_touched`` counts, as for ``neuron``, the
neurons an input event reached at this step through any path into their current (a
neuron whose decaying ``i`` alone moves its membrane is not touched). Hardware cost: the
``neuron`` kind's rule, with two state words per neuron (membrane and synaptic current)
read and written per update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from asnn_sim.graph.nodes._integrating import neuron_cost
from asnn_sim.graph.nodes.base import expect_rank, fail
from asnn_sim.graph.nodes.neuron import Neuron, NeuronState
from asnn_sim.graph.nodes.registry import register


@dataclass
class CubaState(NeuronState):
    """A neuron's state plus the synaptic currents ``syn (B, n)`` and their per-step ``syn_leak``/``syn_gain``."""

    syn: np.ndarray | None = None
    syn_leak: np.ndarray | None = None
    syn_gain: np.ndarray | None = None


@register
@dataclass
class CubaNeuron(Neuron):
    """Current-based LIF neurons; see the module docstring for the equation."""

    syn_leak: np.ndarray = None
    syn_gain: np.ndarray = None
    kind: ClassVar[str] = "cuba_neuron"
    NAME_PREFIX = "cuba"
    ARRAYS = Neuron.ARRAYS + ("syn_leak", "syn_gain")
    PER_STEP = Neuron.PER_STEP + ("syn_leak", "syn_gain")
    MULTS = 4
    ADDS = 2
    STATE = CubaState

    def check(self) -> None:
        super().check()
        if self.syn_leak is None or self.syn_gain is None:
            raise fail(self.name, "syn_leak and syn_gain are required")
        for what in ("syn_leak", "syn_gain"):
            arr = getattr(self, what)
            expect_rank(self, what, arr, 1)
            if arr.shape != self.leak.shape:
                raise fail(self.name, f"{what} {arr.shape} and leak {self.leak.shape} differ in length")

    # -- simulator

    def compile(self, ctx) -> CubaState:
        st = super().compile(ctx)
        st.syn, st.syn_leak, st.syn_gain = ctx.persistent(st.n), self.syn_leak.astype(ctx.dtype), self.syn_gain.astype(ctx.dtype)
        return st

    def _update(self, st, cur, t, ctx, touched, before):
        ctx.kernels.cuba_update(
            cur.buf, cur.bias, st.own_bias, st.syn, st.mem, st.syn_leak[t], st.syn_gain[t],
            st.leak[t], st.gain[t], st.threshold, st.hard, st.ge, st.v_reset, t == 0,
            cur.marks, cur.per, st.idx, st.cnt, touched, before,
        )

    # -- dense reference

    def _integrate(self, p, x, state, t):
        i = state.get("syn")
        if i is None:
            i = x.new_zeros(x.shape)
        i = p["syn_leak"][t] * i + p["syn_gain"][t] * x
        state["syn"] = i
        return super()._integrate(p, i, state, t)

    # -- layers table and hardware cost

    def _label(self) -> str:
        return "cuba"

    @staticmethod
    def snn_cost(q):
        out = neuron_cost(q, spiking=True)
        # two state words per neuron, both read and written at every update
        out.update(pot_elems=2 * q["n_neurons"], potential_updates=2.0 + 0.0 * q["n_neurons"])
        return out
