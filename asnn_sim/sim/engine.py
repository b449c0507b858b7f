"""Event-driven replay of a graph, timestep by timestep, with exact operation counts.

:class:`Simulator` compiles a :class:`~asnn_sim.ir.Graph` once (weights re-laid out
channels-last, buffers for a batch) and then runs batches of encoded frames: for each
timestep, for each node in order, one Numba kernel over all samples of the batch
(parallel over samples). Spikes travel as event lists; see :mod:`asnn_sim.sim.kernels`.

This module imports nothing from torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asnn_sim.counts_schema import CONVENTIONS, count_names
from asnn_sim.encoding import EncoderSpec
from asnn_sim.ir import Graph
from asnn_sim.sim import kernels as K

COUNTS = count_names()
SLOT = {name: i for i, name in enumerate(COUNTS)}
EVENT_SLOT = {K.BINARY: SLOT["in_events_binary"], K.GRADED: SLOT["in_events_graded"], K.ANALOG: SLOT["in_events_analog"]}
PRECISIONS = {"float32": np.float32, "float64": np.float64}


@dataclass(frozen=True)
class Conventions:
    """Counting conventions (see ``docs/counting.md``).

    Attributes
    ----------
    graded : {"mac", "expand"}
        A graded event (e.g. a residual sum of 2 spikes) counts one MAC per synapse, or
        ``value`` ACs per synapse.
    skip_zero_weights : bool
        Count only synapses with a non-zero weight (hardware that skips them); by default
        zero weights count, since hardware fetches them.
    static_input : {"per_step", "once"}
        With direct coding the analog first layer sees the same image every step: count
        (and compute) its synaptic operations every step, or once at step 0 and reuse the
        current.
    """

    graded: str = "mac"
    skip_zero_weights: bool = False
    static_input: str = "per_step"

    def __post_init__(self) -> None:
        for name, allowed in CONVENTIONS.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}; got {getattr(self, name)!r}")


@dataclass
class Events:
    """One tensor of a batch as event lists, plus what the consumers need to know."""

    idx: np.ndarray  # (B, capacity) int32 flat channels-last indices
    cnt: np.ndarray  # (B,) int64
    val: np.ndarray  # (B, capacity) values (all ones for spikes)
    event_class: int  # K.BINARY / K.GRADED / K.ANALOG
    shape: tuple  # per-sample shape, channel-first as in the graph
    chw: tuple | None = None  # for a flattened map: the (C, H, W) it came from


@dataclass
class BatchResult:
    """What one batch produced.

    Attributes
    ----------
    counts : (B, L, T, n_counts) int64
    step_logits : (B, T, K) per-step scaled logits
    logits : (B, K) prediction logits (mean over steps)
    spikes : dict name -> (T, B, ...) uint8 channel-first, when recorded
    """

    counts: np.ndarray
    step_logits: np.ndarray
    logits: np.ndarray
    spikes: dict


def _chw_to_hwc_perm(c: int, h: int, w: int) -> np.ndarray:
    """perm[j] = channel-first index of the element at channels-last index j."""
    return np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).ravel()


def _conv_dense_pairs(in_shape, out_shape, kernel, stride, padding) -> int:
    """In-bounds (input element, synapse) pairs of one dense pass of a conv (padding excluded)."""
    c_in, h, w = in_shape
    c_out, h_out, w_out = out_shape

    def valid(n_out, n_in, k, s, p):
        starts = np.arange(n_out) * s - p
        taps = starts[:, None] + np.arange(k)[None, :]
        return ((taps >= 0) & (taps < n_in)).sum()

    return int(valid(h_out, h, kernel[0], stride[0], padding[0]) * valid(w_out, w, kernel[1], stride[1], padding[1]) * c_in * c_out)


class Simulator:
    """A graph compiled for event-driven replay.

    Parameters
    ----------
    graph : Graph
    precision : {"float32", "float64"}
        Arithmetic of weights, currents and membranes. float64 reproduces a float64
        PyTorch run spike for spike.
    conventions : Conventions
    batch_size : int
        Samples per batch (buffers are sized for it).
    """

    def __init__(self, graph: Graph, precision: str = "float64", conventions: Conventions | None = None, batch_size: int = 128) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be float32 or float64; got {precision!r}")
        self.graph = graph
        self.dtype = PRECISIONS[precision]
        self.precision = precision
        self.conventions = conventions or Conventions()
        self.batch_size = int(batch_size)
        self.timesteps = graph.timesteps
        self.layers = graph.synaptic_layers()
        self.layer_index = {syn.name: i for i, (syn, _) in enumerate(self.layers)}
        encoder = graph.input.encoder
        # An ANN graph has no encoder: its single step sees the analog image.
        self.frame_kinds = EncoderSpec.from_dict(encoder).frame_kinds if encoder else ("analog",)
        self.static_first = self.conventions.static_input == "once" and bool(encoder) and encoder["name"] == "direct"
        self._compile()

    # ---------------------------------------------------------------- compile

    def _compile(self) -> None:
        g, dt, B = self.graph, self.dtype, self.batch_size
        self.ops: dict[str, dict] = {}
        for node in g.nodes:
            out_shape = g.shapes[node.name]
            n_out = int(np.prod(out_shape))
            op: dict = {"node": node, "n_out": n_out}
            if node.kind in ("conv2d", "linear"):
                in_shape = g.shapes[node.inputs[0]]
                sets = []
                for s in range(node.n_sets):
                    w = node.weight[s]
                    if node.kind == "conv2d":
                        wt = np.ascontiguousarray(w.transpose(2, 3, 1, 0), dtype=dt)  # (kh, kw, c_in, c_out)
                        nnz = np.ascontiguousarray((wt != 0).sum(axis=3), dtype=np.int64)
                        bias = np.tile(node.bias[s].astype(dt), out_shape[1] * out_shape[2])
                    else:
                        wt = np.ascontiguousarray(w.T, dtype=dt)  # (n_in, n_out)
                        src = self._tensor_shape_origin(node.inputs[0])
                        if src is not None:  # input is a flattened feature map in channels-last order
                            wt = np.ascontiguousarray(wt[_chw_to_hwc_perm(*src)])
                        nnz = np.ascontiguousarray((wt != 0).sum(axis=1), dtype=np.int64)
                        bias = node.bias[s].astype(dt)
                    sets.append((wt, nnz, np.ascontiguousarray(bias)))
                op["sets"] = sets
                op["current"] = np.zeros((B, n_out), dt)
                if node.kind == "conv2d":
                    op["touched"] = np.zeros((B, out_shape[1] * out_shape[2]), np.uint8)
                    op["dense"] = _conv_dense_pairs(in_shape, out_shape, node.weight.shape[3:], node.stride, node.padding)
                else:
                    op["dense"] = int(node.weight.shape[1] * node.weight.shape[2])
                op["static"] = self.static_first and node.inputs[0] == g.input.name
                if op["static"]:
                    op["cache"] = np.zeros((B, n_out), dt)
            elif node.kind == "neuron":
                op["mem"] = np.zeros((B, n_out), dt)
                op.update(self._event_buffers(n_out, ones=True))
            elif node.kind in ("relu", "maxpool2d", "avgpool2d", "add", "input"):
                op.update(self._event_buffers(n_out))
                if node.kind in ("maxpool2d", "avgpool2d", "add"):
                    op["acc"] = np.zeros((B, n_out), dt)
                    op["mark"] = np.zeros((B, n_out), np.uint8)
            elif node.kind == "readout":
                op["total"] = np.zeros((B, n_out), dt)
            self.ops[node.name] = op

    def _event_buffers(self, n: int, ones: bool = False) -> dict:
        B = self.batch_size
        val = np.ones((B, n), self.dtype) if ones else np.zeros((B, n), self.dtype)
        return {"idx": np.zeros((B, n), np.int32), "cnt": np.zeros(B, np.int64), "val": val}

    def _tensor_shape_origin(self, name: str) -> tuple | None:
        """For a flatten output, the (C, H, W) map it flattened (stored channels-last)."""
        node = self.graph.node(name)
        if node.kind == "flatten":
            shape = self.graph.shapes[node.inputs[0]]
            return tuple(shape) if len(shape) == 3 else self._tensor_shape_origin(node.inputs[0])
        return None

    # ---------------------------------------------------------------- run

    def run_batch(self, frames: np.ndarray, record: bool = False) -> BatchResult:
        """Replay one batch of encoded frames ``(T, B, C, H, W)`` (B <= batch_size).

        For an ANN graph pass the images with a leading axis of 1.
        """
        T = self.timesteps
        if frames.ndim != 5 or frames.shape[0] != T or tuple(frames.shape[2:]) != tuple(self.graph.input.shape):
            raise ValueError(f"expected frames (T={T}, B, {self.graph.input.shape}); got {frames.shape}")
        n = frames.shape[1]
        if n > self.batch_size:
            raise ValueError(f"batch of {n} exceeds the simulator's batch_size {self.batch_size}")
        if n < self.batch_size:
            # Pad with empty samples so every buffer keeps its shape; their counts are dropped.
            pad = np.zeros((T, self.batch_size - n) + frames.shape[2:], frames.dtype)
            frames = np.concatenate([frames, pad], axis=1)
        B, L = self.batch_size, len(self.layers)
        counts = np.zeros((B, L, T, len(COUNTS)), np.int64)
        n_classes = self.graph.n_classes
        step_logits = np.zeros((B, T, n_classes), self.dtype)
        spikes = {syn.name: np.zeros((T, B) + self.graph.shapes[syn.name], np.uint8) for syn, act in self.layers if act.kind == "neuron"} if record else {}
        self._reset_state()
        # channels-last, flattened per sample
        hwc = np.ascontiguousarray(frames.transpose(0, 1, 3, 4, 2).reshape(T, B, -1), dtype=self.dtype)
        for t in range(T):
            tensors: dict[str, Events] = {}
            for node in self.graph.nodes:
                op = self.ops[node.name]
                kind = node.kind
                if kind == "input":
                    K.dense_to_events(hwc[t], op["idx"], op["cnt"], op["val"])
                    cls = K.ANALOG if self.frame_kinds[t] == "analog" else K.BINARY
                    tensors[node.name] = Events(op["idx"], op["cnt"], op["val"], cls, self.graph.shapes[node.name])
                elif kind in ("conv2d", "linear"):
                    self._synaptic(node, op, tensors[node.inputs[0]], t, counts)
                elif kind == "neuron":
                    self._neuron(node, op, t, counts, spikes)
                    tensors[node.name] = Events(op["idx"], op["cnt"], op["val"], K.BINARY, self.graph.shapes[node.name])
                elif kind == "relu":
                    syn = self.ops[node.inputs[0]]
                    _, _, bias = syn["sets"][syn["node"].weight_set[t]]
                    K.relu_update(syn["current"], bias, op["idx"], op["cnt"], op["val"])
                    self._activation_counts(node, counts, t, op["cnt"], mults=0, adds=1, compares=1, resets=False)
                    tensors[node.name] = Events(op["idx"], op["cnt"], op["val"], K.ANALOG, self.graph.shapes[node.name])
                elif kind in ("maxpool2d", "avgpool2d"):
                    src = tensors[node.inputs[0]]
                    c, h, w = src.shape
                    _, h_out, w_out = self.graph.shapes[node.name]
                    if kind == "avgpool2d":
                        mode, cls = K.MODE_AVG, K.ANALOG
                    else:
                        mode, cls = (K.MODE_OR, K.BINARY) if src.event_class == K.BINARY else (K.MODE_MAX, src.event_class)
                    K.pool_events(src.idx, src.cnt, src.val, mode, c, w, *node.kernel, *node.stride, h_out, w_out,
                                  op["acc"], op["mark"], op["idx"], op["cnt"], op["val"])
                    tensors[node.name] = Events(op["idx"], op["cnt"], op["val"], cls, self.graph.shapes[node.name])
                elif kind == "flatten":
                    src = tensors[node.inputs[0]]
                    chw = tuple(src.shape) if len(src.shape) == 3 else src.chw
                    tensors[node.name] = Events(src.idx, src.cnt, src.val, src.event_class, self.graph.shapes[node.name], chw)
                elif kind == "add":
                    tensors[node.name] = self._add(node, op, [tensors[s] for s in node.inputs])
                elif kind == "readout":
                    syn = self.ops[node.inputs[0]]
                    _, _, bias = syn["sets"][syn["node"].weight_set[t]]
                    scale = 1.0 if node.scale is None else node.scale[t]
                    K.readout_update(syn["current"], bias, self.dtype(scale), step_logits[:, t], op["total"])
                    l = self.layer_index[node.inputs[0]]
                    k = op["n_out"]
                    counts[:, l, t, SLOT["neurons"]] += k
                    counts[:, l, t, SLOT["neuron_mults"]] += k if node.scale is not None else 0
                    counts[:, l, t, SLOT["neuron_adds"]] += k + (k if t > 0 else 0)  # bias, then accumulate over steps
        logits = self.ops[self.graph.nodes[-1].name]["total"] / T
        return BatchResult(counts[:n], step_logits[:n], logits[:n].copy(), {k: v[:, :n] for k, v in spikes.items()})

    def _reset_state(self) -> None:
        for op in self.ops.values():
            for key in ("mem", "total", "current"):
                if key in op:
                    op[key].fill(0)

    def _synaptic(self, node, op, src: Events, t: int, counts: np.ndarray) -> None:
        l = self.layer_index[node.name]
        c = counts[:, l, t]
        c[:, SLOT["dense_macs"]] = op["dense"]
        if op.get("static") and t > 0:
            op["current"][:] = op["cache"]  # reuse step 0's current: no synaptic work this step
            return
        wt, nnz, _ = op["sets"][node.weight_set[t]]
        c[:, EVENT_SLOT[src.event_class]] += src.cnt
        conv = self.conventions
        acs, macs, touched = (np.zeros(self.batch_size, np.int64) for _ in range(3))
        expand = conv.graded == "expand"
        if node.kind == "conv2d":
            c_in, _, width = src.shape
            _, h_out, w_out = self.graph.shapes[node.name]
            kh, kw = node.weight.shape[3:]
            K.conv_scatter(src.idx, src.cnt, src.val, src.event_class, expand, conv.skip_zero_weights,
                           c_in, width, kh, kw, *node.stride, *node.padding, h_out, w_out,
                           wt, nnz, op["current"], op["touched"], acs, macs, touched)
        else:
            K.linear_scatter(src.idx, src.cnt, src.val, src.event_class, expand, conv.skip_zero_weights,
                             wt, nnz, op["current"], acs, macs, touched)
        c[:, SLOT["synaptic_acs"]] += acs
        c[:, SLOT["synaptic_macs"]] += macs
        c[:, SLOT["neurons_touched"]] += touched
        if op.get("static"):
            op["cache"][:] = op["current"]

    def _neuron(self, node, op, t: int, counts: np.ndarray, spikes: dict) -> None:
        syn = self.ops[node.inputs[0]]
        _, _, bias = syn["sets"][syn["node"].weight_set[t]]
        K.neuron_update(syn["current"], bias, op["mem"], self.dtype(node.leak[t]), self.dtype(node.gain[t]),
                        self.dtype(node.threshold), op["idx"], op["cnt"])
        # leak x mem and gain x current; bias add and integration add; one threshold compare
        self._activation_counts(node, counts, t, op["cnt"], mults=2, adds=2, compares=1, resets=True)
        if spikes:
            name = node.inputs[0]
            rec = spikes[name][t].reshape(self.batch_size, -1)
            shape = self.graph.shapes[name]
            for b in range(self.batch_size):
                rec[b, op["idx"][b, : op["cnt"][b]]] = 1
            if len(shape) == 3:  # stored channels-last; present channel-first like torch
                c, h, w = shape
                spikes[name][t] = rec.reshape(self.batch_size, h, w, c).transpose(0, 3, 1, 2).copy()

    def _activation_counts(self, node, counts, t, out_cnt, mults, adds, compares, resets) -> None:
        l = self.layer_index[node.inputs[0]]
        n = self.ops[node.name]["n_out"]
        c = counts[:, l, t]
        c[:, SLOT["neurons"]] += n
        c[:, SLOT["neuron_mults"]] += mults * n
        c[:, SLOT["neuron_adds"]] += adds * n
        c[:, SLOT["neuron_compares"]] += compares * n
        c[:, SLOT["output_spikes"]] += out_cnt
        if resets:
            c[:, SLOT["neuron_resets"]] += out_cnt

    def _add(self, node, op, srcs: list[Events]) -> Events:
        first = srcs[0]
        idx, cnt, val = first.idx, first.cnt, first.val
        analog = any(s.event_class == K.ANALOG for s in srcs)
        for other in srcs[1:]:
            if idx is op["idx"]:  # a third input: the running sum must not be read and written at once
                idx, cnt, val = idx.copy(), cnt.copy(), val.copy()
            K.add_events(idx, cnt, val, other.idx, other.cnt, other.val, op["acc"], op["mark"], op["idx"], op["cnt"], op["val"])
            idx, cnt, val = op["idx"], op["cnt"], op["val"]
        return Events(idx, cnt, val, K.ANALOG if analog else K.GRADED, first.shape, first.chw)

