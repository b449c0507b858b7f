"""``input``: the encoded network input.

``x_t = encode(image)[t]`` with the encoder recorded in ``encoder`` (an
:class:`asnn_sim.graph.encoding.EncoderSpec` as a dict). Its events are spikes on the steps
where the encoder emits spike frames and analog values where it emits the image (direct
coding; hybrid step 0). Without an encoder, an ANN graph's single step sees the analog
image, and a spiking graph reads frames the user supplies (``asnn simulate --inputs``;
graphs imported from NIR or built with ``GraphBuilder(..., encoding="frames")``): each
step is binary when every value in it is 0 or 1, else analog.

Counting: the encoder's own work, per sample and step, is the rule of
:func:`asnn_sim.graph.encoding.encoder_work` (threshold compares, random numbers, bit
extractions, and the arithmetic that prepares them), in the ``encoder_*`` columns of the
input's rows. It depends on the image size alone. Supplied frames and an ANN's image
cost nothing here: their encoding, if any, happened elsewhere.

``shape`` is ``(C, H, W)`` or, for a vector input (an imported fully connected net),
``(n,)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from asnn_sim.graph.counts_schema import Column
from asnn_sim.graph.nodes.base import ANALOG, BINARY, CLASS_CODE, EVENTS, Events, Node, TorchValue, fail, n_elements
from asnn_sim.graph.nodes.registry import register


#: What an input without an encoder streams, by graph kind: (its value type, its frame
#: kinds). An ANN sees the image once as dense analog values; a spiking graph reads frames
#: the user supplies, each step classified from the data (None).
UNENCODED = {"ann": (ANALOG, ("analog",)), "snn": (EVENTS, None)}



@dataclass
class InputState:
    """A compiled input: the encoder's counted ``work`` per step (None without an encoder), the frame's events (``idx``/``cnt``/``val``) and the scan's scratch (``tmp_pos``, ``tmp_val``, ``start``; see ``frame_to_events``)."""

    work: tuple | None
    idx: np.ndarray
    cnt: np.ndarray
    val: np.ndarray
    tmp_pos: np.ndarray
    tmp_val: np.ndarray
    start: np.ndarray

@register
@dataclass
class Input(Node):
    """The network input: ``shape`` ``(C, H, W)`` or ``(n,)`` per sample; ``encoder`` as ``EncoderSpec.to_dict`` or None."""

    shape: tuple[int, ...] = ()
    encoder: dict | None = None
    kind: ClassVar[str] = "input"
    ATTRS = ("shape", "encoder")
    N_INPUTS = 0
    ROLE = "input"
    # The encoder's own work (asnn_sim.graph.encoding.encoder_work has the rule).
    OWN_COLUMNS = (
        Column("encoder_compares", "input: comparisons of a pixel with a threshold (temporal, hybrid) or a random number (rate)"),
        Column("encoder_randoms", "input: uniform random numbers drawn (rate coding, one per pixel and step)"),
        Column("encoder_bits", "input: bit extractions of a pixel's quantised level (binary, hybrid-binary: a shift and a mask)"),
        Column("encoder_adds", "input: additions and subtractions (quantisation; LayerNorm + sigmoid of equal-mass thresholds)"),
        Column("encoder_mults", "input: multiplications and divisions, likewise"),
        Column("encoder_specials", "input: exponentials and square roots (the sigmoid and LayerNorm of equal-mass thresholds)"),
    )
    COUNTS = tuple(c.name for c in OWN_COLUMNS)

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
        step then classified from the data by :func:`asnn_sim.graph.encoding.frame_kinds_of`)."""
        if self.encoder:
            from asnn_sim.graph.encoding import EncoderSpec

            return EncoderSpec.from_dict(self.encoder).frame_kinds
        return UNENCODED[graph_kind][1]

    def reads_supplied_frames(self, graph_kind: str) -> bool:
        """True for a spiking graph without an encoder (imported from NIR, or built with
        ``encoding="frames"``): it replays frames the user supplies, not images."""
        return self.frame_kinds(graph_kind) is None

    def encoder_work(self) -> tuple[dict[str, int], ...] | None:
        """The encoder's operations per sample, one dict per step
        (:func:`asnn_sim.graph.encoding.encoder_work`), or None without an encoder."""
        if not self.encoder:
            return None
        from asnn_sim.graph.encoding import EncoderSpec, encoder_work

        return encoder_work(EncoderSpec.from_dict(self.encoder), n_elements(self.shape))

    # -- simulator

    def compile(self, ctx) -> InputState:
        c, h, w = _as_map(self.shape)
        n = c * h * w
        many = c > 1  # channel-first to channels-last needs a counting sort (see frame_to_events)
        return InputState(
            work=self.encoder_work(),
            idx=ctx.output(n, np.int32),
            cnt=ctx.output((), np.int64),
            val=ctx.output(n),
            tmp_pos=ctx.scratch(n if many else 0, np.int32, zeroed=False),
            tmp_val=ctx.scratch(n if many else 0, zeroed=False),
            start=ctx.scratch(h * w + 1 if many else 0, np.int64, zeroed=False),
        )

    def step(self, st, inputs, t, ctx):
        # read channel-first (converted to the replay's dtype in the kernel): no transposed copy
        frame = np.ascontiguousarray(ctx.frames[t])
        ctx.kernels.frame_to_events(frame.reshape((len(frame),) + _as_map(self.shape)), st.idx, st.cnt, st.val,
                                    st.tmp_pos, st.tmp_val, st.start)
        cls = CLASS_CODE[ANALOG if ctx.frame_kinds[t] == "analog" else BINARY]
        return Events(st.idx, st.cnt, st.val, cls, self.shape)

    def fixed_counts(self, st, t):
        return dict(st.work[t]) if st.work else {}

    # -- dense reference

    def torch_step(self, p, xs, state, t, ctx):
        frame = ctx.frames[t]
        if ctx.count:
            # the rule applied to the frame the dense replay actually holds: its samples and pixels
            work = self.encoder_work()
            per_sample = int(frame[0].numel()) if len(frame) else 0
            if work and per_sample != n_elements(self.shape):
                raise fail(self.name, f"frames hold {per_sample} values per sample, the input {n_elements(self.shape)}")
            ctx.facts(self.name, t)["encoder"] = {k: v * len(frame) for k, v in (work[t] if work else {}).items()}
        return TorchValue(frame, ANALOG if ctx.frame_kinds[t] == "analog" else BINARY)

    def expected_counts(self, facts, conventions, reused):
        return {name: facts["encoder"].get(name, 0) for name in self.COUNTS}

    # -- the layers table

    def facts(self, graph):
        return {"in_shape": "x".join(map(str, self.shape))}

    # -- hardware cost

    @staticmethod
    def snn_cost(q):
        # Each compare and each bit extraction reads one stored value of the image (its
        # remaining value, its level); the preparation passes are priced as arithmetic only.
        return {
            "enc_cmp": q["encoder_compares"],
            "enc_rand": q["encoder_randoms"],
            "enc_bits": q["encoder_bits"],
            "enc_add": q["encoder_adds"],
            "enc_mult": q["encoder_mults"],
            "enc_special": q["encoder_specials"],
            "enc_reads": q["encoder_compares"] + q["encoder_bits"],
            "enc_elems": q["out_elements"],
        }


def _as_map(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """``(C, H, W)`` as it is; a vector ``(n,)`` as one row ``(1, 1, n)``, whose
    channels-last order is its own order (so event ``j`` is element ``j``)."""
    return shape if len(shape) == 3 else (1, 1, shape[0])
