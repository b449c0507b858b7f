"""``input``: the encoded network input.

``x_t = encode(image)[t]`` with the encoder recorded in ``encoder`` (an
:class:`asnn_sim.encoding.EncoderSpec` as a dict). Its events are spikes on the steps
where the encoder emits spike frames and analog values where it emits the image (direct
coding; hybrid step 0). Without an encoder, an ANN graph's single step sees the analog
image, and a spiking graph reads frames the user supplies (``asnn simulate --inputs``;
graphs imported from NIR): each step is binary when every value in it is 0 or 1, else
analog. The encoder's own work is not counted here (yet).

``shape`` is ``(C, H, W)`` or, for a vector input (an imported fully connected net),
``(n,)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from asnn_sim.nodes.base import ANALOG, BINARY, CLASS_CODE, EVENTS, Events, Node, TorchValue, fail


#: What an input without an encoder streams, by graph kind: (its value type, its frame
#: kinds). An ANN sees the image once as dense analog values; a spiking graph reads frames
#: the user supplies, each step classified from the data (None).
UNENCODED = {"ann": (ANALOG, ("analog",)), "snn": (EVENTS, None)}


@dataclass
class Input(Node):
    """The network input: ``shape`` ``(C, H, W)`` or ``(n,)`` per sample; ``encoder`` as ``EncoderSpec.to_dict`` or None."""

    shape: tuple[int, ...] = ()
    encoder: dict | None = None
    kind: ClassVar[str] = "input"
    ATTRS = ("shape", "encoder")
    N_INPUTS = 0
    COUNTED = False
    ROLE = "input"

    def check(self) -> None:
        self.shape = tuple(int(s) for s in self.shape)
        if len(self.shape) not in (1, 3) or min(self.shape) < 1:
            raise fail(self.name, f"input shape must be (C, H, W) or (n,) with positive sizes, got {self.shape}")
        if len(self.shape) == 1 and self.encoder is not None:
            raise fail(self.name, f"a vector input {self.shape} takes supplied frames, not the {self.encoder.get('name')!r} image encoder")

    def output_shape(self, in_shapes):
        return self.shape

    def output_type(self, in_types, graph_kind):
        return EVENTS if self.encoder else UNENCODED[graph_kind][0]

    def frame_kinds(self, graph_kind: str) -> tuple[str, ...] | None:
        """What each step of the input stream holds: the encoder's frame kinds, one
        ``"analog"`` step for an ANN, or None for a spiking graph fed supplied frames (each
        step then classified from the data by :func:`asnn_sim.encoding.frame_kinds_of`)."""
        if self.encoder:
            from asnn_sim.encoding import EncoderSpec

            return EncoderSpec.from_dict(self.encoder).frame_kinds
        return UNENCODED[graph_kind][1]

    def reads_supplied_frames(self, graph_kind: str) -> bool:
        """True for a spiking graph without an encoder (an imported graph): it replays
        frames the user supplies, not images."""
        return self.frame_kinds(graph_kind) is None

    # -- simulator

    def compile(self, ctx) -> dict:
        c, h, w = _as_map(self.shape)
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
        frame = np.ascontiguousarray(ctx.frames[t])
        ctx.kernels.frame_to_events(frame.reshape((len(frame),) + _as_map(self.shape)), st["idx"], st["cnt"], st["val"],
                                    st["tmp_pos"], st["tmp_val"], st["start"])
        cls = CLASS_CODE[ANALOG if ctx.frame_kinds[t] == "analog" else BINARY]
        return Events(st["idx"], st["cnt"], st["val"], cls, self.shape)

    # -- dense reference

    def torch_step(self, p, xs, state, t, ctx):
        return TorchValue(ctx.frames[t], ANALOG if ctx.frame_kinds[t] == "analog" else BINARY)


def _as_map(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """``(C, H, W)`` as it is; a vector ``(n,)`` as one row ``(1, 1, n)``, whose
    channels-last order is its own order (so event ``j`` is element ``j``)."""
    return shape if len(shape) == 3 else (1, 1, shape[0])
