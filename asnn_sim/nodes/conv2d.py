"""``conv2d``: a 2-D convolution of events into a current.

``I_t[co, y, x] = sum_{ci, ky, kx} W_s[co, ci, ky, kx] * x_t[ci, y*sy + ky - py, x*sx + kx - px]``
with ``s = weight_set[t]``; out-of-bounds (padding) taps have no synapse. The bias
``b_s[co]`` is added by the neuron that integrates ``I_t``.

Counting: one AC per (spike, in-bounds synapse) pair, one MAC per (analog event,
in-bounds synapse) pair; graded events count as MACs or as ``value`` ACs
(``graded="expand"``); zero weights count unless ``skip_zero_weights``. ``dense_macs`` is
the same pairs for every input element (the ANN's work, padding excluded).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from asnn_sim.nodes._synaptic import Synaptic, synaptic_ann_cost, synaptic_snn_cost
from asnn_sim.nodes.base import TorchValue, fail, in_bounds_pairs, pair


def dense_pairs(in_shape, out_shape, kernel, stride, padding) -> int:
    """In-bounds (input element, synapse) pairs of one dense pass of a conv (padding excluded)."""
    c_in, h, w = in_shape
    c_out, h_out, w_out = out_shape
    rows = in_bounds_pairs(h, h_out, kernel[0], stride[0], padding[0])
    return int(rows * in_bounds_pairs(w, w_out, kernel[1], stride[1], padding[1]) * c_in * c_out)


def compile_conv_map(node: Synaptic, ctx, rows, kernel, stride, padding, dense: int) -> dict:
    """The compiled state of a synaptic node that runs the conv kernel on a ``(C, H, W)``
    map (``conv2d``, and ``token_linear`` as a 1x1 conv): per weight set the weight rows
    ``rows(weight[s])`` (``(taps * C_in, C_out)``, see ``kernels.conv_scatter``), their
    non-zero counts and the bias tiled over the output positions; the output current and
    its per-position marks; the tap tables."""
    in_shape, out_shape = ctx.in_shapes[0], ctx.out_shape
    c_out, h_out, w_out = out_shape
    sets = []
    for s in range(node.n_sets):
        wt = np.ascontiguousarray(rows(node.weight[s]), dtype=ctx.dtype)
        nnz = np.ascontiguousarray((wt != 0).sum(axis=1), dtype=np.int64)
        bias = np.zeros(c_out) if node.bias is None else node.bias[s]
        sets.append((wt, nnz, np.ascontiguousarray(np.tile(bias.astype(ctx.dtype), h_out * w_out))))
    st = {
        "sets": sets,
        "current": ctx.output(c_out * h_out * w_out, zeroed=True),
        "marks": ctx.output(h_out * w_out, np.uint8, zeroed=True),
        "per": c_out,
        "shape": out_shape,
        "taps": ctx.kernels.conv_tables(in_shape, out_shape, kernel, stride, padding),
        "dense": dense,
    }
    node._static_buffers(ctx, st, c_out * h_out * w_out, h_out * w_out)
    return st


def scatter_conv_map(st, src, wt, nnz, acs, macs, ctx) -> None:
    """One step's scatter of a node compiled by :func:`compile_conv_map`."""
    conv = ctx.conventions
    c_in, _, width = src.shape
    current = st["current"]
    ctx.kernels.conv_scatter(
        src.idx, src.cnt, src.val, src.event_class, conv.graded == "expand", conv.skip_zero_weights,
        c_in, width, *st["taps"], wt, nnz, current.reshape(current.shape[0], -1, wt.shape[1]), st["marks"], acs, macs,
    )


@dataclass
class Conv2d(Synaptic):
    """2-D convolution: weights ``(S, C_out, C_in, kh, kw)``, bias ``(S, C_out)``; see the module docstring."""

    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    kind: ClassVar[str] = "conv2d"
    ATTRS = ("stride", "padding")
    WEIGHT_RANK = 5

    def check(self) -> None:
        super().check()
        self.stride = pair(self, "stride", self.stride)
        self.padding = pair(self, "padding", self.padding)
        if min(self.stride) < 1 or min(self.padding) < 0:
            raise fail(self.name, f"stride must be >= 1 and padding >= 0; got {self.stride}, {self.padding}")

    def output_shape(self, in_shapes):
        (shape,) = in_shapes
        _, c_out, c_in, kh, kw = self.weight.shape
        if len(shape) != 3 or shape[0] != c_in:
            raise fail(self.name, f"weight expects {c_in} input channels, but the input has shape {shape}")
        h = (shape[1] + 2 * self.padding[0] - kh) // self.stride[0] + 1
        w = (shape[2] + 2 * self.padding[1] - kw) // self.stride[1] + 1
        if h < 1 or w < 1:
            raise fail(self.name, f"kernel {kh}x{kw} does not fit the padded input {shape}")
        return (c_out, h, w)

    # -- simulator

    def compile(self, ctx) -> dict:
        # rows (ky, kx, c_in) flattened, c_out contiguous: a spike adds one row per tap
        kernel = self.weight.shape[3:]
        dense = dense_pairs(ctx.in_shapes[0], ctx.out_shape, kernel, self.stride, self.padding)
        return compile_conv_map(self, ctx, lambda w: w.transpose(2, 3, 1, 0).reshape(-1, w.shape[0]), kernel, self.stride,
                                self.padding, dense)

    def _scatter(self, st, src, wt, nnz, acs, macs, ctx):
        scatter_conv_map(st, src, wt, nnz, acs, macs, ctx)

    # -- dense reference

    def _receptive_sum(self, x):
        """Per output position, the sum of ``x`` over the receptive field (all input channels)."""
        import torch.nn.functional as F

        kh, kw = self.weight.shape[3:]
        ones = x.new_ones((1, x.shape[1], kh, kw))
        return F.conv2d(x, ones, stride=self.stride, padding=self.padding)

    def _nonzero_weight_pairs(self, nz, xv, w):
        import torch.nn.functional as F

        kernel = (w != 0).to(nz.dtype).sum(0, keepdim=True)  # (1, C_in, kh, kw): non-zero weights per tap
        pairs = F.conv2d(nz, kernel, stride=self.stride, padding=self.padding).sum().item()
        value_pairs = F.conv2d(xv, kernel, stride=self.stride, padding=self.padding).sum().item()
        return int(pairs), int(round(value_pairs))

    def torch_step(self, p, xs, state, t, ctx):
        import torch.nn.functional as F

        (x,) = xs
        s = int(self.weight_set[t])
        y = F.conv2d(x.tensor, p["weight"][s], p["bias"][s] if "bias" in p else None, stride=self.stride, padding=self.padding)
        c_out = self.weight.shape[1]
        self._brute_force(x.tensor, x.type, t, ctx, self._receptive_sum, c_out)
        touched = (self._receptive_sum((x.tensor != 0).to(x.tensor.dtype)) > 0).expand_as(y)
        return TorchValue(y, "current", touched)

    # -- layers table and hardware

    def facts(self, graph):
        in_shape = graph.shapes[self.inputs[0]]
        out_shape = graph.shapes[self.name]
        dense = dense_pairs(in_shape, out_shape, self.weight.shape[3:], self.stride, self.padding)
        return self._facts(graph, int(np.prod(self.weight.shape[2:])), dense)

    @staticmethod
    def snn_cost(q):
        return synaptic_snn_cost(q, is_conv=True)

    @staticmethod
    def ann_cost(q):
        return synaptic_ann_cost(q, is_conv=True)
