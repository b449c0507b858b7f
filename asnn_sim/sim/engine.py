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
# Per-sample buffers (first axis = batch); a smaller batch runs on views of their first rows.
BUFFERS = ("current", "touched", "cache", "mem", "idx", "cnt", "val", "acc", "mark", "total", "windows", "tmp_pos", "tmp_val", "start")
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

    Buffers are allocated once, for ``batch_size`` samples; a smaller batch runs on views
    of them. Performance: see ``docs/performance.md`` (throughput per batch size, and
    where the time goes).

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
                        # rows (ky, kx, c_in) flattened, c_out contiguous: a spike adds one row per tap
                        wt = np.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(-1, w.shape[0]), dtype=dt)
                        nnz = np.ascontiguousarray((wt != 0).sum(axis=1), dtype=np.int64)
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
                    op["taps"] = K.conv_tables(in_shape, out_shape, node.weight.shape[3:], node.stride, node.padding)
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
                if node.kind == "input":  # scratch of the channel-first to channels-last event listing
                    c, h, w = out_shape
                    op["tmp_pos"] = np.zeros((B, n_out if c > 1 else 0), np.int32)
                    op["tmp_val"] = np.zeros((B, n_out if c > 1 else 0), dt)
                    op["start"] = np.zeros((B, h * w + 1 if c > 1 else 0), np.int64)
                if node.kind in ("maxpool2d", "avgpool2d", "add"):
                    op["acc"] = np.zeros((B, n_out), dt)
                    op["mark"] = np.zeros((B, n_out), np.uint8)
                if node.kind in ("maxpool2d", "avgpool2d"):
                    _, h, w = g.shapes[node.inputs[0]]
                    op["table"] = (
                        *K.window_table(h, out_shape[1], node.kernel[0], node.stride[0]),
                        *K.window_table(w, out_shape[2], node.kernel[1], node.stride[1]),
                    )
                    op["windows"] = np.zeros((B, op["table"][1].shape[1] * op["table"][3].shape[1]), np.int64)
            elif node.kind == "readout":
                op["total"] = np.zeros((B, n_out), dt)
            self.ops[node.name] = op
        self._fixed = self._fixed_counts()
        self._views: dict[int, dict[str, dict]] = {B: self.ops}
        self._dirty = False  # True while a batch runs: an interrupted one leaves currents unclean

    def _fixed_counts(self) -> np.ndarray:
        """The counts that depend on the graph alone, per layer and step ``(L, T, n_counts)``.

        Dense-equivalent MACs and the neuron-update arithmetic (every neuron is updated
        every step); a batch starts from these and adds what its events did.
        """
        T = self.timesteps
        fixed = np.zeros((len(self.layers), T, len(COUNTS)), np.int64)
        for l, (syn, act) in enumerate(self.layers):
            n = self.ops[act.name]["n_out"]
            for t in range(T):
                c = fixed[l, t]
                c[SLOT["dense_macs"]] = self.ops[syn.name]["dense"]
                c[SLOT["neurons"]] = n
                if act.kind == "neuron":
                    # leak x mem and gain x current; bias add and integration add; one threshold compare
                    c[SLOT["neuron_mults"]], c[SLOT["neuron_adds"]], c[SLOT["neuron_compares"]] = 2 * n, 2 * n, n
                elif act.kind == "relu":
                    c[SLOT["neuron_adds"]], c[SLOT["neuron_compares"]] = n, n  # bias add, compare with 0
                else:  # readout: the scale, the bias, then the accumulation over steps
                    c[SLOT["neuron_mults"]] = n if act.scale is not None else 0
                    c[SLOT["neuron_adds"]] = n + (n if t > 0 else 0)
        return fixed

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
        if frames.dtype not in (np.float32, np.float64):
            frames = frames.astype(self.dtype)
        ops = self._ops_for(n)
        L = len(self.layers)
        counts = np.empty((n, L, T, len(COUNTS)), np.int64)
        counts[:] = self._fixed
        n_classes = self.graph.n_classes
        step_logits = np.zeros((n, T, n_classes), self.dtype)
        spikes = {syn.name: np.zeros((T, n) + self.graph.shapes[syn.name], np.uint8) for syn, act in self.layers if act.kind == "neuron"} if record else {}
        self._reset_state(ops)
        self._dirty = True
        for t in range(T):
            tensors: dict[str, Events] = {}
            for node in self.graph.nodes:
                op = ops[node.name]
                kind = node.kind
                if kind == "input":
                    # read channel-first (converted to the replay's dtype in the kernel): no transposed copy
                    K.frame_to_events(np.ascontiguousarray(frames[t]), op["idx"], op["cnt"], op["val"], op["tmp_pos"], op["tmp_val"], op["start"])
                    cls = K.ANALOG if self.frame_kinds[t] == "analog" else K.BINARY
                    tensors[node.name] = Events(op["idx"], op["cnt"], op["val"], cls, self.graph.shapes[node.name])
                elif kind in ("conv2d", "linear"):
                    self._synaptic(node, op, tensors[node.inputs[0]], t, counts)
                elif kind == "neuron":
                    self._neuron(node, op, ops[node.inputs[0]], t, counts, spikes)
                    tensors[node.name] = Events(op["idx"], op["cnt"], op["val"], K.BINARY, self.graph.shapes[node.name])
                elif kind == "relu":
                    syn = ops[node.inputs[0]]
                    _, _, bias = syn["sets"][syn["node"].weight_set[t]]
                    K.relu_update(syn["current"], bias, op["idx"], op["cnt"], op["val"])
                    counts[:, self.layer_index[node.inputs[0]], t, SLOT["output_spikes"]] = op["cnt"]
                    tensors[node.name] = Events(op["idx"], op["cnt"], op["val"], K.ANALOG, self.graph.shapes[node.name])
                elif kind in ("maxpool2d", "avgpool2d"):
                    src = tensors[node.inputs[0]]
                    c, h, w = src.shape
                    _, h_out, w_out = self.graph.shapes[node.name]
                    if kind == "avgpool2d":
                        mode, cls = K.MODE_AVG, K.ANALOG
                    else:
                        mode, cls = (K.MODE_OR, K.BINARY) if src.event_class == K.BINARY else (K.MODE_MAX, src.event_class)
                    inv = 1.0 / (node.kernel[0] * node.kernel[1])
                    K.pool_events(src.idx, src.cnt, src.val, mode, c, w, *op["table"], w_out, inv,
                                  op["acc"], op["mark"], op["windows"], op["idx"], op["cnt"], op["val"])
                    tensors[node.name] = Events(op["idx"], op["cnt"], op["val"], cls, self.graph.shapes[node.name])
                elif kind == "flatten":
                    src = tensors[node.inputs[0]]
                    chw = tuple(src.shape) if len(src.shape) == 3 else src.chw
                    tensors[node.name] = Events(src.idx, src.cnt, src.val, src.event_class, self.graph.shapes[node.name], chw)
                elif kind == "add":
                    tensors[node.name] = self._add(node, op, [tensors[s] for s in node.inputs])
                elif kind == "readout":
                    syn = ops[node.inputs[0]]
                    _, _, bias = syn["sets"][syn["node"].weight_set[t]]
                    scale = 1.0 if node.scale is None else node.scale[t]
                    K.readout_update(syn["current"], bias, self.dtype(scale), step_logits[:, t], op["total"])
        self._dirty = False
        logits = ops[self.graph.nodes[-1].name]["total"] / T
        return BatchResult(counts, step_logits, logits, spikes)

    def _ops_for(self, n: int) -> dict[str, dict]:
        """The compiled ops with every per-sample buffer cut to its first ``n`` rows (views, cached)."""
        if n not in self._views:
            self._views[n] = {
                name: {k: (v[:n] if k in BUFFERS else v) for k, v in op.items()} for name, op in self.ops.items()
            }
        return self._views[n]

    def _reset_state(self, ops: dict[str, dict]) -> None:
        """Clear what carries over between batches.

        Membranes need no clearing (the first step does not read them). Currents are
        cleared by their consumer every step, so they are clean after a completed batch;
        only a batch that was interrupted (an exception, Ctrl-C) leaves them dirty.
        """
        for op in ops.values():
            if "total" in op:
                op["total"].fill(0)
        if self._dirty:
            for op in self.ops.values():  # every row, whatever batch size was interrupted
                for key in ("current", "touched", "acc", "mark"):
                    if key in op:
                        op[key].fill(0)

    def _synaptic(self, node, op, src: Events, t: int, counts: np.ndarray) -> None:
        if op.get("static") and t > 0:
            op["current"][:] = op["cache"]  # reuse step 0's current: no synaptic work this step
            return
        c = counts[:, self.layer_index[node.name], t]
        wt, nnz, _ = op["sets"][node.weight_set[t]]
        c[:, EVENT_SLOT[src.event_class]] = src.cnt
        conv = self.conventions
        # the kernels add into the counts table directly (these slots start at 0)
        acs, macs, touched = c[:, SLOT["synaptic_acs"]], c[:, SLOT["synaptic_macs"]], c[:, SLOT["neurons_touched"]]
        expand = conv.graded == "expand"
        if node.kind == "conv2d":
            c_in, _, width = src.shape
            current = op["current"]
            K.conv_scatter(src.idx, src.cnt, src.val, src.event_class, expand, conv.skip_zero_weights,
                           c_in, width, *op["taps"],
                           wt, nnz, current.reshape(current.shape[0], -1, wt.shape[1]), op["touched"], acs, macs, touched)
        else:
            K.linear_scatter(src.idx, src.cnt, src.val, src.event_class, expand, conv.skip_zero_weights,
                             wt, nnz, op["current"], acs, macs, touched)
        if op.get("static"):
            op["cache"][:] = op["current"]

    def _neuron(self, node, op, syn, t: int, counts: np.ndarray, spikes: dict) -> None:
        _, _, bias = syn["sets"][syn["node"].weight_set[t]]
        K.neuron_update(syn["current"], bias, op["mem"], self.dtype(node.leak[t]), self.dtype(node.gain[t]),
                        self.dtype(node.threshold), t == 0, op["idx"], op["cnt"])
        c = counts[:, self.layer_index[node.inputs[0]], t]
        c[:, SLOT["output_spikes"]] = op["cnt"]
        c[:, SLOT["neuron_resets"]] = op["cnt"]
        if spikes:
            name = node.inputs[0]
            rec = spikes[name][t]  # channel-first, like torch; the events are channels-last
            n = rec.shape[0]
            K.events_to_dense(op["idx"], op["cnt"], self.graph.shapes[name][0], rec.reshape(n, -1))

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

