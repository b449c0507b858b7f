"""``sumpool2d``: the sum over each window, ``y[c, i, j] = sum_{window(i, j)} x[c, ...]`` (NIR's SumPool2d).

A sum of spikes is a small integer, so spikes in give graded events out (values in
give values). Each event adds its value to every window containing it; counted like the
other pools (``window_ops``, one add per event and window).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from asnn_sim.graph.nodes._pool import Pool
from asnn_sim.graph.nodes.base import ANALOG, BINARY, CLASS_CODE, GRADED, TorchValue
from asnn_sim.graph.nodes.registry import register


@register
@dataclass
class SumPool2d(Pool):
    """Sum pooling; see the module docstring."""

    kind: ClassVar[str] = "sumpool2d"

    def output_type(self, in_types, graph_kind):
        self._expect_events(in_types)
        return GRADED if in_types[0] in (BINARY, GRADED) else ANALOG

    def _weight(self):
        return 1.0

    def _mode(self, event_class, K):
        out = GRADED if event_class in (CLASS_CODE[BINARY], CLASS_CODE[GRADED]) else ANALOG
        return K.MODE_AVG, CLASS_CODE[out]

    def torch_step(self, p, xs, state, t, ctx):
        import torch.nn.functional as F

        (x,) = xs
        self._brute_force(x, t, ctx)
        out = GRADED if x.type in (BINARY, GRADED) else ANALOG
        return TorchValue(F.avg_pool2d(x.tensor, self.kernel, self.stride, self.padding, divisor_override=1), out)
