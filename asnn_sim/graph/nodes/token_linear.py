"""``token_linear``: the same fully connected layer applied to every token of a map.

``I_t[o, y, x] = sum_i W_s[o, i] * x_t[i, y, x]`` with ``s = weight_set[t]``, for every
token (position ``(y, x)``) of an ``(in, H, W)`` events map; the output is an
``(out, H, W)`` current, whose bias ``b_s[o]`` is added by the neuron that integrates it.
It is a transformer's ``nn.Linear`` on ``(N, D)`` tokens (BatchNorm folded by the
exporter) in the graph's channel-first layout, and it is a 1x1 convolution: the
simulator runs the conv kernel with a 1x1 kernel.

Counting as for ``linear``/``conv2d``: every (event, synapse) pair is one AC (spike) or
MAC (analog, or graded by default); ``dense_macs = H * W * in * out``. Hardware cost as
a linear layer's (one address add per synaptic op, each input event read once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from asnn_sim.graph.nodes._synaptic import Synaptic, SynapticState, synaptic_ann_cost, synaptic_snn_cost
from asnn_sim.graph.nodes.conv2d import compile_conv_map, scatter_conv_map
from asnn_sim.graph.nodes.base import TorchValue, fail
from asnn_sim.graph.nodes.registry import register


@register
@dataclass
class TokenLinear(Synaptic):
    """Token-wise fully connected: weights ``(S, out, in)``, bias ``(S, out)``; see the module docstring."""

    kind: ClassVar[str] = "token_linear"
    NAME_PREFIX = "tfc"
    WEIGHT_RANK = 3

    def output_shape(self, in_shapes):
        (shape,) = in_shapes
        _, out, n_in = self.weight.shape
        if len(shape) != 3 or shape[0] != n_in:
            raise fail(self.name, f"weight expects ({n_in}, H, W) inputs ({n_in} features per token), but the input has shape {shape}")
        return (out, shape[1], shape[2])

    # -- simulator

    def compile(self, ctx) -> SynapticState:
        _, h, w = ctx.out_shape
        dense = h * w * self.weight.shape[1] * self.weight.shape[2]
        return compile_conv_map(self, ctx, lambda wt: wt.T, (1, 1), (1, 1), (0, 0), dense)  # (in, out): 1x1 conv rows

    def _scatter(self, st, src, wt, nnz, acs, macs, ctx):
        scatter_conv_map(st, src, wt, nnz, acs, macs, ctx)

    # -- dense reference

    def _nonzero_weight_pairs(self, nz, xv, w):
        per_input = (w != 0).to(nz.dtype).sum(0)  # non-zero weights leaving each input feature
        return int((nz * per_input[:, None, None]).sum().item()), int(round((xv * per_input[:, None, None]).sum().item()))

    def torch_step(self, p, xs, state, t, ctx):
        import torch.nn.functional as F

        (x,) = xs
        s = int(self.weight_set[t])
        # nn.Linear on the (B, H, W, in) tokens, as a transformer applies it
        y = F.linear(x.tensor.permute(0, 2, 3, 1), p["weight"][s], p["bias"][s] if "bias" in p else None).permute(0, 3, 1, 2)
        n_out = self.weight.shape[1]
        self._brute_force(x.tensor, x.type, t, ctx, lambda v: v.sum(1), n_out)
        touched = (x.tensor != 0).any(1, keepdim=True).expand_as(y)
        return TorchValue(y, "current", touched)

    # -- layers table and hardware

    def facts(self, graph):
        _, h, w = graph.shapes[self.name]
        return self._facts(graph, self.weight.shape[2], h * w * self.weight.shape[1] * self.weight.shape[2])

    @staticmethod
    def snn_cost(q):
        return synaptic_snn_cost(q, is_conv=False)

    @staticmethod
    def ann_cost(q):
        return synaptic_ann_cost(q, is_conv=False)
