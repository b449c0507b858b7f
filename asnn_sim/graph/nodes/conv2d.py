"""``conv2d``: a 2-D convolution of events into a current.

``I_t[co, y, x] = sum_{j, ky, kx} W_s[co, j, ky, kx] * x_t[g*C_in/G + j, y*sy + ky*dy - py, x*sx + kx*dx - px]``
with ``s = weight_set[t]``, ``G = groups``, ``g = co // (C_out/G)`` the output channel's
group and ``j < C_in/G`` (PyTorch's ``conv2d`` with stride ``s``, padding ``p``,
dilation ``d`` and groups); out-of-bounds (padding) taps have no synapse, nor has an
input channel outside the output channel's group. The bias ``b_s[co]`` is added by the
neuron that integrates ``I_t``.

Counting: one AC per (spike, in-bounds synapse) pair, one MAC per (analog event,
in-bounds synapse) pair: an event reaches ``C_out/G`` synapses per in-bounds tap;
graded events count as MACs or as ``value`` ACs (``graded="expand"``); zero weights
count unless ``skip_zero_weights``. ``dense_macs`` is the same pairs for every input
element (the ANN's work, padding excluded).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from asnn_sim.graph.nodes._synaptic import Synaptic, SynapticState, synaptic_ann_cost, synaptic_snn_cost
from asnn_sim.graph.nodes.base import TorchValue, fail, in_bounds_pairs, pair, window_facts
from asnn_sim.graph.nodes.registry import register


def dense_pairs(in_shape, out_shape, kernel, stride, padding, dilation=(1, 1), groups: int = 1) -> int:
    """In-bounds (input element, synapse) pairs of one dense pass of a conv (padding excluded)."""
    c_in, h, w = in_shape
    c_out, h_out, w_out = out_shape
    rows = in_bounds_pairs(h, h_out, kernel[0], stride[0], padding[0], dilation[0])
    return int(rows * in_bounds_pairs(w, w_out, kernel[1], stride[1], padding[1], dilation[1]) * c_in * (c_out // groups))


def ungroup(w: np.ndarray, groups: int) -> np.ndarray:
    """A grouped conv's ``(C_out, C_in/G, kh, kw)`` weight as the dense ``(C_out, C_in, kh, kw)``
    one, with zeros where an input channel is outside the output channel's group."""
    if groups == 1:
        return w
    c_out, per_in = w.shape[:2]
    per_out = c_out // groups
    full = np.zeros((c_out, per_in * groups) + w.shape[2:], w.dtype)
    for g in range(groups):
        full[g * per_out:(g + 1) * per_out, g * per_in:(g + 1) * per_in] = w[g * per_out:(g + 1) * per_out]
    return full


def compile_conv_map(node: Synaptic, ctx, rows, kernel, stride, padding, dense: int, dilation=(1, 1), groups: int = 1) -> SynapticState:
    """The compiled state of a synaptic node that runs the conv kernel on a ``(C, H, W)``
    map (``conv2d``, and ``token_linear`` as a 1x1 conv): per weight set the weight rows
    ``rows(weight[s])`` (``(taps * C_in, C_out)``, dense even for a grouped conv, see
    ``kernels.conv_scatter``), their non-zero counts and the bias tiled over the output
    positions; the output current and its per-position marks; the tap tables; the
    existing synapses per weight row (``C_out / groups``)."""
    in_shape, out_shape = ctx.in_shapes[0], ctx.out_shape
    c_out, h_out, w_out = out_shape
    sets = []
    for s in range(node.n_sets):
        wt = np.ascontiguousarray(rows(node.weight[s]), dtype=ctx.dtype)
        nnz = np.ascontiguousarray((wt != 0).sum(axis=1), dtype=np.int64)
        bias = np.zeros(c_out) if node.bias is None else node.bias[s]
        sets.append((wt, nnz, np.ascontiguousarray(np.tile(bias.astype(ctx.dtype), h_out * w_out))))
    st = SynapticState(
        sets=sets,
        current=ctx.output(c_out * h_out * w_out, zeroed=True),
        marks=ctx.output(h_out * w_out, np.uint8, zeroed=True),
        per=c_out,
        shape=out_shape,
        dense=dense,
        taps=ctx.kernels.conv_tables(in_shape, out_shape, kernel, stride, padding, dilation),
        n_syn=c_out // groups,
    )
    node._static_buffers(ctx, st, c_out * h_out * w_out, h_out * w_out)
    return st


def scatter_conv_map(st, src, wt, nnz, acs, macs, ctx) -> None:
    """One step's scatter of a node compiled by :func:`compile_conv_map`."""
    conv = ctx.conventions
    c_in, _, width = src.shape
    current = st.current
    parts = ctx.kernels.column_parts(current.shape[0], wt.shape[1], ctx.threads)
    ctx.kernels.conv_scatter(
        src.idx, src.cnt, src.val, src.event_class, conv.graded == "expand", conv.skip_zero_weights,
        c_in, width, *st.taps, wt, nnz, st.n_syn, current.reshape(current.shape[0], -1, wt.shape[1]), st.marks, acs, macs, parts,
    )


@register
@dataclass
class Conv2d(Synaptic):
    """2-D convolution: weights ``(S, C_out, C_in / groups, kh, kw)``, bias ``(S, C_out)``;
    ``dilation`` and ``groups`` as in PyTorch (defaults 1: files without them load
    unchanged); see the module docstring."""

    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    kind: ClassVar[str] = "conv2d"
    SHARED_SYNAPSES = True
    NAME_PREFIX = "conv"
    ATTRS = ("stride", "padding", "dilation", "groups")
    WEIGHT_RANK = 5

    def check(self) -> None:
        super().check()
        self.stride = pair(self, "stride", self.stride)
        self.padding = pair(self, "padding", self.padding)
        self.dilation = pair(self, "dilation", self.dilation)
        if min(self.stride) < 1 or min(self.padding) < 0:
            raise fail(self.name, f"stride must be >= 1 and padding >= 0; got {self.stride}, {self.padding}")
        if min(self.dilation) < 1:
            raise fail(self.name, f"dilation must be >= 1; got {self.dilation}")
        if isinstance(self.groups, (bool, np.bool_)) or not isinstance(self.groups, (int, np.integer)) or self.groups < 1:
            raise fail(self.name, f"groups must be an integer >= 1; got {self.groups!r}")
        self.groups = int(self.groups)
        c_out = self.weight.shape[1]
        if c_out % self.groups:
            raise fail(self.name, f"groups {self.groups} must divide C_out {c_out}")

    def kernel_extent(self) -> tuple[int, int]:
        """The dilated kernel's extent ``d * (k - 1) + 1`` along rows and columns."""
        kh, kw = self.weight.shape[3:]
        return self.dilation[0] * (kh - 1) + 1, self.dilation[1] * (kw - 1) + 1

    def output_shape(self, in_shapes):
        (shape,) = in_shapes
        _, c_out, per_in, kh, kw = self.weight.shape
        c_in = per_in * self.groups
        if len(shape) != 3 or shape[0] != c_in:
            grouped = f" ({self.groups} groups of {per_in})" if self.groups > 1 else ""
            raise fail(self.name, f"weight expects {c_in} input channels{grouped}, but the input has shape {shape}")
        eh, ew = self.kernel_extent()
        h = (shape[1] + 2 * self.padding[0] - eh) // self.stride[0] + 1
        w = (shape[2] + 2 * self.padding[1] - ew) // self.stride[1] + 1
        if h < 1 or w < 1:
            dilated = f" (dilated to {eh}x{ew})" if (eh, ew) != (kh, kw) else ""
            raise fail(self.name, f"kernel {kh}x{kw}{dilated} does not fit the padded input {shape}")
        return (c_out, h, w)

    # -- simulator

    def compile(self, ctx) -> SynapticState:
        # rows (ky, kx, c_in) flattened, c_out contiguous: a spike adds one row per tap
        # a grouped conv's weight is made dense (zeros off the groups), counted as C_out/G per row
        kernel = self.weight.shape[3:]
        g = self.groups
        dense = dense_pairs(ctx.in_shapes[0], ctx.out_shape, kernel, self.stride, self.padding, self.dilation, g)
        return compile_conv_map(self, ctx, lambda w: ungroup(w, g).transpose(2, 3, 1, 0).reshape(-1, w.shape[0]), kernel,
                                self.stride, self.padding, dense, self.dilation, g)

    def _scatter(self, st, src, wt, nnz, acs, macs, ctx):
        scatter_conv_map(st, src, wt, nnz, acs, macs, ctx)

    # -- dense reference

    def _conv(self, x, kernel):
        import torch.nn.functional as F

        return F.conv2d(x, kernel, stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups)

    def _receptive_sum(self, x):
        """Per output position, the sum of ``x`` over the receptive field (all input channels)."""
        import torch.nn.functional as F

        kh, kw = self.weight.shape[3:]
        ones = x.new_ones((1, x.shape[1], kh, kw))
        return F.conv2d(x, ones, stride=self.stride, padding=self.padding, dilation=self.dilation)

    def _synapse_sum(self, x):
        """Per output element, the sum of ``x`` over its synapses (a ones kernel
        ``(C_out, C_in/G, kh, kw)``, same stride, padding, dilation and groups)."""
        return self._conv(x, x.new_ones(self.weight.shape[1:]))

    def _nonzero_weight_pairs(self, nz, xv, w):
        kernel = (w != 0).to(nz.dtype)  # (C_out, C_in/G, kh, kw): the non-zero synapses
        pairs = self._conv(nz, kernel).sum().item()
        value_pairs = self._conv(xv, kernel).sum().item()
        return int(pairs), int(round(value_pairs))

    def torch_step(self, p, xs, state, t, ctx):
        import torch.nn.functional as F

        (x,) = xs
        s = int(self.weight_set[t])
        y = F.conv2d(x.tensor, p["weight"][s], p["bias"][s] if "bias" in p else None, stride=self.stride, padding=self.padding,
                     dilation=self.dilation, groups=self.groups)
        self._brute_force(x.tensor, x.type, t, ctx, self._synapse_sum, 1)
        touched = (self._receptive_sum((x.tensor != 0).to(x.tensor.dtype)) > 0).expand_as(y)
        return TorchValue(y, "current", touched)

    # -- layers table and hardware

    def facts(self, graph):
        in_shape = graph.shapes[self.inputs[0]]
        out_shape = graph.shapes[self.name]
        dense = dense_pairs(in_shape, out_shape, self.weight.shape[3:], self.stride, self.padding, self.dilation, self.groups)
        window = window_facts(self.weight.shape[3:], self.stride, self.padding, self.dilation)
        return {**self._facts(graph, int(np.prod(self.weight.shape[2:])), dense), **window, "groups": self.groups}

    @staticmethod
    def snn_cost(q):
        return synaptic_snn_cost(q, is_conv=True)

    @staticmethod
    def ann_cost(q):
        return synaptic_ann_cost(q, is_conv=True)
