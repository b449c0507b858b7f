"""``flatten``: ``(C, H, W)`` to a vector of ``C*H*W`` in C-major order, as ``torch.flatten``.

No work and no counts rows. In the simulator the elements stay where they are
(channels-last); the flattened value remembers the map it came from so that a linear
layer reading it permutes its weight rows once at compile time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from asnn_sim.graph.nodes.base import Events, Node, TorchValue, n_elements
from asnn_sim.graph.nodes.registry import register



@dataclass
class FlattenState:
    """A compiled flatten: the ``(C, H, W)`` its elements came from (they stay channels-last), or None."""

    chw: tuple | None

@register
@dataclass
class Flatten(Node):
    """Flatten a feature map to a vector; see the module docstring."""

    kind: ClassVar[str] = "flatten"
    COUNTED = False
    ROLE = "reshape"
    #: The output is the input's buffers, seen with another shape.
    ALIASES_INPUT = True

    def output_shape(self, in_shapes):
        (shape,) = in_shapes
        return (n_elements(shape),)

    def output_type(self, in_types, graph_kind):
        self._expect_events(in_types)
        return in_types[0]

    def compile(self, ctx) -> FlattenState:
        src = self.inputs[0]
        in_shape = ctx.in_shapes[0]
        ctx.origins[self.name] = tuple(in_shape) if len(in_shape) == 3 else ctx.origins.get(src)
        return FlattenState(chw=ctx.origins[self.name])

    def step(self, st, inputs, t, ctx):
        (src,) = inputs
        return Events(src.idx, src.cnt, src.val, src.event_class, ctx.out_shape, st.chw)

    def torch_step(self, p, xs, state, t, ctx):
        (x,) = xs
        return TorchValue(x.tensor.flatten(1), x.type)
