"""``maxpool2d``: the maximum over each window, ``y[c, i, j] = max_{window(i, j)} x[c, ...]``.

On spikes this is an OR of the window (an output spike where any input in the window
spiked) and the output stays binary; on graded or analog events it is the maximum
(absent elements are 0, never above a present non-negative value), keeping the class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from asnn_sim.graph.nodes._pool import Pool
from asnn_sim.graph.nodes.base import BINARY, CLASS_CODE, TorchValue
from asnn_sim.graph.nodes.registry import register


@register
@dataclass
class MaxPool2d(Pool):
    """Max pooling (an OR on spikes); see the module docstring."""

    kind: ClassVar[str] = "maxpool2d"
    NAME_PREFIX = "pool"

    def output_type(self, in_types, graph_kind):
        self._expect_events(in_types)
        return in_types[0]

    def _mode(self, event_class, K):
        if event_class == CLASS_CODE[BINARY]:
            return K.MODE_OR, event_class
        return K.MODE_MAX, event_class

    def torch_step(self, p, xs, state, t, ctx):
        import torch.nn.functional as F

        (x,) = xs
        self._brute_force(x, t, ctx)
        return TorchValue(F.max_pool2d(x.tensor, self.kernel, self.stride, self.padding), x.type)
