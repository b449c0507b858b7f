"""``linear``: a fully connected layer of events into a current.

``I_t[o] = sum_i W_s[o, i] * x_t[i]`` with ``s = weight_set[t]``; the bias ``b_s[o]`` is
added by the neuron that integrates ``I_t``. Counting as for ``conv2d``: every
(event, synapse) pair is one AC (spike) or MAC (analog, or graded by default).

A flattened feature map arrives with its elements channels-last (the simulator's
layout); the weight rows are permuted once at compile time to match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from asnn_sim.graph.nodes._synaptic import Synaptic, SynapticState, synaptic_ann_cost, synaptic_snn_cost
from asnn_sim.graph.nodes.base import TorchValue, chw_to_hwc_perm, fail
from asnn_sim.graph.nodes.registry import register


@register
@dataclass
class Linear(Synaptic):
    """Fully connected: weights ``(S, out, in)``, bias ``(S, out)``; see the module docstring."""

    kind: ClassVar[str] = "linear"
    NAME_PREFIX = "fc"
    WEIGHT_RANK = 3

    def output_shape(self, in_shapes):
        (shape,) = in_shapes
        _, out, n_in = self.weight.shape
        if shape != (n_in,):
            raise fail(self.name, f"weight expects {n_in} input features, but the input has shape {shape}")
        return (out,)

    # -- simulator

    def compile(self, ctx) -> SynapticState:
        n_out = self.weight.shape[1]
        origin = ctx.origins.get(self.inputs[0])  # a flattened (C, H, W) map, stored channels-last
        sets = []
        for s in range(self.n_sets):
            wt = np.ascontiguousarray(self.weight[s].T, dtype=ctx.dtype)  # (n_in, n_out)
            if origin is not None:
                wt = np.ascontiguousarray(wt[chw_to_hwc_perm(*origin)])
            nnz = np.ascontiguousarray((wt != 0).sum(axis=1), dtype=np.int64)
            bias = np.zeros(n_out) if self.bias is None else self.bias[s]
            sets.append((wt, nnz, np.ascontiguousarray(bias, dtype=ctx.dtype)))
        st = SynapticState(
            sets=sets,
            current=ctx.output(n_out, zeroed=True),
            marks=ctx.output(1, np.uint8, zeroed=True),
            per=n_out,
            shape=(n_out,),
            dense=int(self.weight.shape[1] * self.weight.shape[2]),
        )
        self._static_buffers(ctx, st, n_out, 1)
        return st

    def _scatter(self, st, src, wt, nnz, acs, macs, ctx):
        conv = ctx.conventions
        ctx.kernels.linear_scatter(src.idx, src.cnt, src.val, src.event_class, conv.graded == "expand",
                                   conv.skip_zero_weights, wt, nnz, st.current, st.marks, acs, macs)

    # -- dense reference

    def _nonzero_weight_pairs(self, nz, xv, w):
        per_input = (w != 0).to(nz.dtype).sum(0)  # non-zero weights leaving each input
        return int((nz @ per_input).sum().item()), int(round((xv @ per_input).sum().item()))

    def torch_step(self, p, xs, state, t, ctx):
        import torch.nn.functional as F

        (x,) = xs
        s = int(self.weight_set[t])
        y = F.linear(x.tensor, p["weight"][s], p["bias"][s] if "bias" in p else None)
        n_out = self.weight.shape[1]
        self._brute_force(x.tensor, x.type, t, ctx, lambda v: v.sum(1), n_out)
        touched = ((x.tensor != 0).any(1, keepdim=True)).expand_as(y)
        return TorchValue(y, "current", touched)

    # -- layers table and hardware

    def facts(self, graph):
        return self._facts(graph, self.weight.shape[2], self.weight.shape[1] * self.weight.shape[2])

    @staticmethod
    def snn_cost(q):
        return synaptic_snn_cost(q, is_conv=False)

    @staticmethod
    def ann_cost(q):
        return synaptic_ann_cost(q, is_conv=False)
