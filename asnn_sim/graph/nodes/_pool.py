"""What maxpool2d, avgpool2d and sumpool2d share: window geometry, the event kernel call, counting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from asnn_sim.graph import counts_schema
from asnn_sim.graph.counts_schema import Column
from asnn_sim.graph.nodes.base import BINARY, CLASS_CODE, EVENT_COLUMNS, EVENT_COUNTS, Events, Node, event_row_counts, fail, in_bounds_pairs, n_elements, pair, window_facts



@dataclass
class PoolState:
    """A compiled pool: the window tables of both axes (``table``, see ``window_table``), its output events (``idx``/``cnt``/``val``) and scratch (``acc``, ``mark``, ``windows``)."""

    table: tuple
    idx: np.ndarray
    cnt: np.ndarray
    val: np.ndarray
    acc: np.ndarray
    mark: np.ndarray
    windows: np.ndarray

@dataclass
class Pool(Node):
    """2-D pooling over ``kernel`` windows moved by ``stride``, with ``padding`` zeros on
    each side (PyTorch's semantics: a max ignores the padding, a mean divides by the
    whole window, padding included).

    Counting (``window_ops``): one per (input event, window containing it): an OR for
    spikes, a compare for a max of values, an add for a mean. A dense pass does one per
    (input element, window) pair (``dense_ops_per_step``; padding holds no elements).
    """

    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] = (2, 2)
    padding: tuple[int, int] = (0, 0)
    ATTRS = ("kernel", "stride", "padding")
    ROLE = "elementwise"
    COUNTS = (*EVENT_COUNTS, "window_ops")
    OWN_COLUMNS = (Column("window_ops", "pooling: one per (input event, window containing it): an OR for spikes, a compare for a max, an add for a mean"),)
    MODE: ClassVar[str] = ""

    def check(self) -> None:
        self.kernel = pair(self, "kernel", self.kernel)
        self.stride = pair(self, "stride", self.stride)
        self.padding = pair(self, "padding", self.padding)
        if min(self.kernel) < 1 or min(self.stride) < 1:
            raise fail(self.name, "kernel and stride must be >= 1")
        if min(self.padding) < 0 or any(2 * p > k for p, k in zip(self.padding, self.kernel)):
            raise fail(self.name, f"padding must be >= 0 and at most half the kernel {self.kernel}; got {self.padding}")

    def output_shape(self, in_shapes):
        (shape,) = in_shapes
        if len(shape) != 3:
            raise fail(self.name, f"pooling needs a (C, H, W) input, got {shape}")
        h = (shape[1] + 2 * self.padding[0] - self.kernel[0]) // self.stride[0] + 1
        w = (shape[2] + 2 * self.padding[1] - self.kernel[1]) // self.stride[1] + 1
        if h < 1 or w < 1:
            raise fail(self.name, f"pool {self.kernel} does not fit the input {shape}")
        return (shape[0], h, w)

    # -- simulator

    def compile(self, ctx) -> PoolState:
        _, h, w = ctx.in_shapes[0]
        _, h_out, w_out = ctx.out_shape
        n = n_elements(ctx.out_shape)
        K = ctx.kernels
        table = (*K.window_table(h, h_out, self.kernel[0], self.stride[0], self.padding[0]),
                 *K.window_table(w, w_out, self.kernel[1], self.stride[1], self.padding[1]))
        return PoolState(
            table=table,
            idx=ctx.output(n, np.int32),
            cnt=ctx.output((), np.int64),
            val=ctx.output(n),
            acc=ctx.scratch(n),
            mark=ctx.scratch(n, np.uint8),
            windows=ctx.scratch(table[1].shape[1] * table[3].shape[1], np.int64, zeroed=False),
        )

    def _weight(self) -> float:
        """What an averaging kernel multiplies each value by (``MODE_AVG``)."""
        return 1.0 / (self.kernel[0] * self.kernel[1])

    def _mode(self, event_class: int, K) -> tuple[int, int]:
        """The kernel mode and the output's event class for an input class."""
        raise NotImplementedError

    def step(self, st, inputs, t, ctx):
        (src,) = inputs
        K = ctx.kernels
        c = ctx.counts
        event_row_counts(c, src)
        channels, _, width = src.shape
        _, _, w_out = ctx.out_shape
        mode, cls = self._mode(src.event_class, K)
        inv = self._weight()
        K.pool_events(src.idx, src.cnt, src.val, src.event_class == CLASS_CODE[BINARY], mode, channels, width, *st.table, w_out, inv,
                      st.acc, st.mark, st.windows, st.idx, st.cnt, st.val, c[:, counts_schema.SLOT["window_ops"]])
        return Events(st.idx, st.cnt, st.val, cls, ctx.out_shape)

    # -- dense reference

    def _window_pairs(self, x):
        import torch.nn.functional as F

        return F.avg_pool2d(x, self.kernel, self.stride, self.padding) * (self.kernel[0] * self.kernel[1])

    def _brute_force(self, x, t, ctx) -> None:
        if ctx.count:
            nz = (x.tensor != 0).to(x.tensor.dtype)
            facts = ctx.facts(self.name, t)
            facts["events"] = [(x.type, int(nz.sum().item()))]
            facts["window_ops"] = int(round(self._window_pairs(nz).sum().item()))

    def expected_counts(self, facts, conventions, reused):
        ((kind, n_events),) = facts["events"]
        return {EVENT_COLUMNS[kind]: n_events, "window_ops": facts["window_ops"]}

    # -- layers table and hardware

    def facts(self, graph):
        c, h, w = graph.shapes[self.inputs[0]]
        _, h_out, w_out = graph.shapes[self.name]
        rows = in_bounds_pairs(h, h_out, self.kernel[0], self.stride[0], self.padding[0])
        cols = in_bounds_pairs(w, w_out, self.kernel[1], self.stride[1], self.padding[1])
        return {"dense_ops_per_step": int(c * rows * cols), **window_facts(self.kernel, self.stride, self.padding)}

    @staticmethod
    def snn_cost(q):
        return {"elementwise": q["window_ops"]}

    @staticmethod
    def ann_cost(q):
        return {"elementwise": q["window_ops"]}

    @staticmethod
    def ann_twin_counts(layer):
        return {"in_events_analog": layer["in_elements"], "window_ops": layer["dense_ops_per_step"]}

    @staticmethod
    def spike_free(q):
        return {"window_ops": q["window_ops"] * (1.0 - q["event_share"])}

