"""``avgpool2d``: the mean over each window, ``y[c, i, j] = mean_{window(i, j)} x[c, ...]``.

The output is analog (a mean of spikes is a fraction). Each event adds ``value / window
size`` to every window containing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from asnn_sim.graph.nodes._pool import Pool
from asnn_sim.graph.nodes.base import ANALOG, CLASS_CODE, TorchValue
from asnn_sim.graph.nodes.registry import register


@register
@dataclass
class AvgPool2d(Pool):
    """Average pooling; see the module docstring."""

    kind: ClassVar[str] = "avgpool2d"
    NAME_PREFIX = "pool"

    def output_type(self, in_types, graph_kind):
        self._expect_events(in_types)
        return ANALOG

    def _mode(self, event_class, K):
        return K.MODE_AVG, CLASS_CODE[ANALOG]

    def torch_step(self, p, xs, state, t, ctx):
        import torch.nn.functional as F

        (x,) = xs
        self._brute_force(x, t, ctx)
        return TorchValue(F.avg_pool2d(x.tensor, self.kernel, self.stride, self.padding), ANALOG)
