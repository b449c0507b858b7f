"""``input``: the encoded network input.

``x_t = encode(image)[t]`` with the encoder recorded in ``encoder`` (an
:class:`asnn_sim.encoding.EncoderSpec` as a dict; absent for an ANN graph, whose single
step sees the analog image). Its events are spikes on the steps where the encoder emits
spike frames and analog values where it emits the image (direct coding; hybrid step 0).
The encoder's own work is not counted here (yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from asnn_sim.nodes.base import ANALOG, BINARY, CLASS_CODE, EVENTS, Events, Node, TorchValue, fail


@dataclass
class Input(Node):
    """The network input: ``shape`` ``(C, H, W)`` per sample; ``encoder`` as ``EncoderSpec.to_dict``."""

    shape: tuple[int, ...] = ()
    encoder: dict | None = None
    kind: ClassVar[str] = "input"
    ATTRS = ("shape", "encoder")
    N_INPUTS = 0
    COUNTED = False
    ROLE = "input"

    def check(self) -> None:
        self.shape = tuple(int(s) for s in self.shape)
        if len(self.shape) != 3 or min(self.shape) < 1:
            raise fail(self.name, f"input shape must be (C, H, W) with positive sizes, got {self.shape}")

    def output_shape(self, in_shapes):
        return self.shape

    def output_type(self, in_types, graph_kind):
        return ANALOG if self.encoder is None else EVENTS

    # -- simulator

    def compile(self, ctx) -> dict:
        c, h, w = self.shape
        n = c * h * w
        many = c > 1  # channel-first to channels-last needs a counting sort (see frame_to_events)
        return {
            "idx": ctx.output(n, np.int32),
            "cnt": ctx.output((), np.int64),
            "val": ctx.output(n),
            "tmp_pos": ctx.scratch(n if many else 0, np.int32, zeroed=False),
            "tmp_val": ctx.scratch(n if many else 0, zeroed=False),
            "start": ctx.scratch(h * w + 1 if many else 0, np.int64, zeroed=False),
        }

    def step(self, st, inputs, t, ctx):
        # read channel-first (converted to the replay's dtype in the kernel): no transposed copy
        ctx.kernels.frame_to_events(np.ascontiguousarray(ctx.frames[t]), st["idx"], st["cnt"], st["val"],
                                    st["tmp_pos"], st["tmp_val"], st["start"])
        cls = CLASS_CODE[ANALOG if ctx.frame_kinds[t] == "analog" else BINARY]
        return Events(st["idx"], st["cnt"], st["val"], cls, self.shape)

    # -- dense reference

    def torch_step(self, p, xs, state, t, ctx):
        return TorchValue(ctx.frames[t], ANALOG if ctx.frame_kinds[t] == "analog" else BINARY)
