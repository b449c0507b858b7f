"""Event-driven replay of a graph, timestep by timestep, with exact operation counts.

:class:`Simulator` compiles a :class:`~asnn_sim.graph.ir.Graph` once and then runs batches of
encoded frames: for each timestep, for each node in order, the node's kind runs one
Numba kernel over all samples of the batch (parallel over samples). What a kind does
at compile time and in a step lives in its module in :mod:`asnn_sim.graph.nodes`; this engine
only orders the work, hands out buffers and collects the counts. Spikes travel as
event lists and currents as dense buffers; see :mod:`asnn_sim.sim.kernels`.

Memory: a node's output buffers live only from the node to its last reader in the same
timestep, so they are drawn from pools and reused by later nodes (see
:class:`CompileContext`). What must persist across timesteps (membranes, readout sums,
static-input caches) is allocated per node.

This module imports nothing from torch.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, fields, replace

import numba
import numpy as np

from asnn_sim.graph.counts_schema import CONVENTIONS, SLOT, count_names
from asnn_sim.graph.encoding import frame_kinds_of
from asnn_sim.graph.ir import Graph
from asnn_sim.graph.nodes.base import n_elements
from asnn_sim.sim import kernels as K
from asnn_sim.sim.recording import check_recorded, spiking_nodes
from asnn_sim.util.threads import torch_threads_kept

COUNTS = count_names()
PRECISIONS = {"float32": np.float32, "float64": np.float64}

__all__ = ["BatchResult", "COUNTS", "Conventions", "SLOT", "Simulator"]


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
        its synaptic operations every step, or once at step 0. Either way the replay
        computes that layer's current once and reuses it (bit-identical to recomputing it)
        in every batch whose steps hold equal frames.
    """

    graded: str = "mac"
    skip_zero_weights: bool = False
    static_input: str = "per_step"

    def __post_init__(self) -> None:
        for name, allowed in CONVENTIONS.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}; got {getattr(self, name)!r}")


@dataclass
class BatchResult:
    """What one batch produced.

    Attributes
    ----------
    counts : (B, R, T, n_counts) int64
        Per sample, counted node (``Simulator.rows``), step and count column.
    step_logits : (B, T, K) per-step scaled logits
    logits : (B, K) prediction logits (mean over steps)
    spikes : dict name -> (T, B, ...) uint8 channel-first, for the recorded neuron nodes
    membranes_before_reset, membranes_after_reset : dict name -> (T, B, ...) channel-first
        The recorded nodes' membranes after integrating and before the reset (what the
        threshold is tested on), and after it (what the next step starts from), in the
        replay's precision; empty unless membranes were asked for.
    """

    counts: np.ndarray
    step_logits: np.ndarray
    logits: np.ndarray
    spikes: dict
    membranes_before_reset: dict = field(default_factory=dict)
    membranes_after_reset: dict = field(default_factory=dict)


def numba_threads() -> int:
    """Numba's thread count for the calling thread. Asking starts Numba's OpenMP pool,
    which resets the count torch shares (see :mod:`asnn_sim.util.threads`): kept."""
    with torch_threads_kept():
        return numba.get_num_threads()


class _Pool:
    """Flat buffers handed out by size and taken back after their last use (first fit by size)."""

    def __init__(self, rows: int, zeroed: bool) -> None:
        self.rows = rows
        self.zeroed = zeroed
        self.free: list[np.ndarray] = []
        self.all: list[np.ndarray] = []

    def take(self, size: int, dtype) -> np.ndarray:
        need = max(1, self.rows * size)
        fits = [i for i, b in enumerate(self.free) if b.dtype == dtype and b.size >= need]
        if fits:
            base = self.free.pop(min(fits, key=lambda i: self.free[i].size))
        else:
            base = np.zeros(need, dtype)
            self.all.append(base)
        return base

    def give(self, base: np.ndarray) -> None:
        self.free.append(base)


class CompileContext:
    """What a node's :meth:`~asnn_sim.graph.nodes.base.Node.compile` may use.

    Attributes
    ----------
    graph, dtype, B, T, conventions, kernels
    static_first : bool
        ``static_input="once"`` applies (direct coding): the synaptic node reading the
        input computes step 0 only and reuses its current.
    static_frames : bool
        The encoder repeats one frame at every step (direct coding): a synaptic node
        reading the input may compute step 0 only and reuse its current (counting every
        step), in every batch whose frames are indeed all equal.
    in_shapes, in_types, out_shape
        Of the node being compiled.
    origins : dict
        Value name -> the ``(C, H, W)`` map a flattened vector came from.
    placeholder : (B, 1) array
        The ``val`` of spike lists (never read by a kernel).
    threads : int
        Threads a kind splitting its own batch may use (:attr:`StepContext.threads`): a
        scratch space per thread is allocated for that many.
    """

    def __init__(self, sim: "Simulator") -> None:
        self.threads = max(1, min(sim.batch_size, numba_threads()))
        self.graph = sim.graph
        self.dtype = sim.dtype
        self.B = sim.batch_size
        self.T = sim.timesteps
        self.conventions = sim.conventions
        self.static_first = sim.static_first
        self.static_frames = sim.static_frames
        self.kernels = K
        self.origins: dict[str, tuple] = {}
        self._outputs = _Pool(self.B, zeroed=False)
        self._zeroed = _Pool(self.B, zeroed=True)
        self._held: dict[int, list[tuple[_Pool, np.ndarray]]] = {}
        self._scratch: dict[tuple, np.ndarray] = {}
        self._persistent: list[np.ndarray] = []
        self.per_sample: set[int] = set()
        self.placeholder = self._register(np.zeros((self.B, 1), self.dtype))

    def _register(self, arr: np.ndarray) -> np.ndarray:
        self.per_sample.add(id(arr))
        return arr

    @staticmethod
    def _tail(shape) -> tuple:
        return (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)

    def output(self, shape, dtype=None, zeroed: bool = False) -> np.ndarray:
        """A ``(B, *shape)`` buffer for the node's output value, valid until its last reader.

        ``zeroed``: the buffer starts at zero and whoever reads it last leaves it zeroed
        (currents and marks); otherwise it is overwritten before it is read.
        """
        tail = self._tail(shape)
        dtype = np.dtype(dtype or self.dtype)
        pool = self._zeroed if zeroed else self._outputs
        size = int(np.prod(tail)) if tail else 1
        base = pool.take(size, dtype)
        self._held.setdefault(self._index, []).append((pool, base))
        return self._register(base[: self.B * size].reshape((self.B,) + tail))

    def persistent(self, shape, dtype=None) -> np.ndarray:
        """A ``(B, *shape)`` zeroed buffer owned by the node for the whole run (membranes, caches)."""
        arr = np.zeros((self.B,) + self._tail(shape), dtype or self.dtype)
        self._persistent.append(arr)
        return self._register(arr)

    def scratch(self, shape, dtype=None, zeroed: bool = True) -> np.ndarray:
        """A ``(B, *shape)`` work buffer shared by every node asking for the same shape, dtype
        and ``zeroed``: a zeroed one starts at zero and every kernel leaves it zeroed; the
        others are overwritten before they are read."""
        key = (self._tail(shape), np.dtype(dtype or self.dtype), zeroed)
        if key not in self._scratch:
            self._scratch[key] = self._register(np.zeros((self.B,) + key[0], key[1]))
        return self._scratch[key]

    # -- driven by the engine

    def begin(self, index: int, node, in_shapes, in_types, out_shape, last_use: list[int]) -> None:
        for i in [i for i in self._held if last_use[i] < index]:
            for pool, base in self._held.pop(i):
                pool.give(base)
        self._index = index
        self.node = node
        self.in_shapes, self.in_types, self.out_shape = in_shapes, in_types, out_shape

    def zeroed_buffers(self) -> list[np.ndarray]:
        """Everything a completed batch leaves zeroed (cleared after an interrupted one)."""
        return self._zeroed.all + [a for key, a in self._scratch.items() if key[2]]

    def buffers(self) -> list[np.ndarray]:
        """Every buffer handed out: pools, scratch and persistent state."""
        return self._outputs.all + self._zeroed.all + list(self._scratch.values()) + self._persistent


class StepContext:
    """What a node's :meth:`~asnn_sim.graph.nodes.base.Node.step` may use; one per batch, updated per call.

    Attributes
    ----------
    t : int
    counts : (B, n_counts) int64 view of this node's row at step ``t`` (None for uncounted nodes)
    out_shape : tuple
    frames : (T, B, C, H, W) encoded frames
    frame_kinds : tuple of "analog"/"binary" per step
    record : dict or None
        name -> (T, B, ...) uint8 arrays to fill with spikes.
    membranes : dict or None
        name -> (before, after, scratch): ``(T, B, ...)`` arrays to fill with the membranes
        before and after the reset, and a ``(B, n)`` buffer for the kernel to write the
        former into.
    step_logits : (B, T, K) array the readout writes
    frames_static : bool
        Every step's frame equals step 0's (checked per batch when the encoder repeats
        its frame; see ``CompileContext.static_frames``).
    threads : int
        Numba's thread count for the calling thread: what the parallel kernels use, and
        what a serial kernel that releases the GIL may split the batch over.
    conventions, dtype, kernels, placeholder
    """

    def __init__(self, sim: "Simulator", frames, frame_kinds, record, step_logits, placeholder, membranes=None) -> None:
        self.threads = numba_threads()
        # only the "per_step" reuse depends on it ("once" reuses step 0 by convention)
        self.frames_static = (sim.static_frames and not sim.static_first
                              and all(np.array_equal(frames[0], frames[t]) for t in range(1, len(frames))))
        self.conventions = sim.conventions
        self.dtype = sim.dtype
        self.kernels = K
        self.frame_kinds = frame_kinds
        self.frames = frames
        self.record = record
        self.membranes = membranes
        self.step_logits = step_logits
        self.placeholder = placeholder
        self.t = 0
        self.counts = None
        self.out_shape = ()


class Simulator:
    """A graph compiled for event-driven replay.

    Buffers are allocated once, for ``batch_size`` samples; a smaller batch runs on views
    of them. Performance: see ``docs/performance.md``.

    Parameters
    ----------
    graph : Graph
    precision : {"float32", "float64"}
        Arithmetic of weights, currents and membranes. float64 reproduces a float64
        PyTorch run spike for spike.
    conventions : Conventions
    batch_size : int
        Samples per batch (buffers are sized for it).

    Attributes
    ----------
    rows : list of Node
        The counted nodes, in execution order: the second axis of ``BatchResult.counts``.
    row_index : dict
        Node name -> its position in ``rows``.
    """

    def __init__(self, graph: Graph, precision: str = "float64", conventions: Conventions | None = None, batch_size: int = 128) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be float32 or float64; got {precision!r}")
        self.graph = graph
        self.dtype = PRECISIONS[precision]
        self.precision = precision
        self.conventions = conventions or Conventions()
        self.batch_size = int(batch_size)
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1; got {batch_size}")
        self.timesteps = graph.timesteps
        self.rows = graph.counted_nodes()
        self.row_index = {n.name: i for i, n in enumerate(self.rows)}
        encoder = graph.input.encoder
        self.frame_kinds = graph.input.frame_kinds(graph.kind)
        self.static_frames = bool(encoder) and encoder["name"] == "direct"
        self.static_first = self.conventions.static_input == "once" and self.static_frames
        self._compile()

    # ---------------------------------------------------------------- compile

    def _compile(self) -> None:
        g = self.graph
        nodes = g.nodes
        index = {n.name: i for i, n in enumerate(nodes)}
        self._inputs = [[index[s] for s in n.inputs] for n in nodes]
        last_use = [max((j for j, ins in enumerate(self._inputs) if i in ins), default=i) for i in range(len(nodes))]
        for j in reversed(range(len(nodes))):  # an aliasing node (flatten) keeps its source's buffers alive
            if getattr(nodes[j], "ALIASES_INPUT", False):
                src = self._inputs[j][0]
                last_use[src] = max(last_use[src], last_use[j])
        ctx = CompileContext(self)
        self.states = []
        for i, node in enumerate(nodes):
            ctx.begin(i, node, [g.shapes[s] for s in node.inputs], [g.types[s] for s in node.inputs], g.shapes[node.name], last_use)
            self.states.append(node.compile(ctx))
        self._ctx = ctx
        self._row_of = [self.row_index.get(n.name, -1) for n in nodes]
        self._shapes = [g.shapes[n.name] for n in nodes]
        self._fixed = np.zeros((len(self.rows), self.timesteps, len(COUNTS)), np.int64)
        for i, node in enumerate(nodes):
            r = self._row_of[i]
            if r < 0:
                continue
            for t in range(self.timesteps):
                for name, value in node.fixed_counts(self.states[i], t).items():
                    self._fixed[r, t, SLOT[name]] = value
        self._views: dict[int, tuple] = {self.batch_size: (self.states, ctx.placeholder)}
        self._dirty = False  # True while a batch runs: an interrupted one leaves zeroed buffers unclean

    @property
    def buffer_bytes(self) -> int:
        """Bytes of every buffer the compiled graph holds (pools, scratch, persistent state)."""
        return sum(a.nbytes for a in self.buffers())

    def buffers(self) -> list[np.ndarray]:
        """Every buffer the compiled graph holds (what the node states view into)."""
        return self._ctx.buffers()

    # ---------------------------------------------------------------- run

    def run_batch(self, frames: np.ndarray, record: bool | Collection[str] = False,
                  frame_kinds: tuple[str, ...] | None = None, membranes: bool = False) -> BatchResult:
        """Replay one batch of encoded frames ``(T, B, C, H, W)`` (B <= batch_size).

        For an ANN graph pass the images with a leading axis of 1. ``frame_kinds``
        (``"binary"``/``"analog"`` per step) overrides the encoder's; for supplied frames
        without it each step is classified from this batch (:func:`~asnn_sim.graph.encoding.frame_kinds_of`),
        so pass the kinds of the whole dataset to keep counts independent of batching.
        ``record``: keep the spikes of every neuron node (True) or of the named ones;
        ``membranes``: also their membranes before and after the reset.
        """
        return self.run_into(None, frames, record, frame_kinds, membranes)

    def counts_buffer(self) -> np.ndarray:
        """A ``(batch_size, rows, T, n_counts)`` int64 array for :meth:`run_into` to reuse batch after batch."""
        return np.empty((self.batch_size, len(self.rows), self.timesteps, len(COUNTS)), np.int64)

    def run_into(self, counts: np.ndarray | None, frames: np.ndarray, record: bool | Collection[str] = False,
                 frame_kinds: tuple[str, ...] | None = None, membranes: bool = False) -> BatchResult:
        """:meth:`run_batch` writing the counts into the first ``B`` rows of ``counts`` (from
        :meth:`counts_buffer`; None: a new array). A replay loop reuses one buffer, which
        spares it a few MB of fresh memory per batch; the result's ``counts`` is then a
        view that the next batch overwrites."""
        T = self.timesteps
        if frames.ndim != 2 + len(self.graph.input.shape) or frames.shape[0] != T or tuple(frames.shape[2:]) != tuple(self.graph.input.shape):
            raise ValueError(f"expected frames (T={T}, B, {', '.join(map(str, self.graph.input.shape))}); got {frames.shape}")
        n = frames.shape[1]
        if n > self.batch_size:
            raise ValueError(f"batch of {n} exceeds the simulator's batch_size {self.batch_size}")
        if frames.dtype not in (np.float32, np.float64):
            frames = frames.astype(self.dtype)
        states, placeholder = self._states_for(n)
        counts = np.empty((n, len(self.rows), T, len(COUNTS)), np.int64) if counts is None else counts[:n]
        counts[:] = self._fixed
        step_logits = np.zeros((n, T, self.graph.n_classes), self.dtype)
        names = self.recordable(record)
        shapes_of = self.graph.shapes
        spikes = {name: np.zeros((T, n) + shapes_of[name], np.uint8) for name in names} if names else None
        kept = (
            {name: (np.empty((T, n) + shapes_of[name], self.dtype), np.empty((T, n) + shapes_of[name], self.dtype),
                    np.empty((n, n_elements(shapes_of[name])), self.dtype)) for name in names}
            if names and membranes else None
        )
        if self._dirty:
            for arr in self._ctx.zeroed_buffers():
                arr.fill(0)
        kinds = frame_kinds or self.frame_kinds or frame_kinds_of(frames)
        ctx = StepContext(self, frames, kinds, spikes, step_logits, placeholder, kept)
        nodes, inputs, rows, shapes = self.graph.nodes, self._inputs, self._row_of, self._shapes
        values: list = [None] * len(nodes)
        self._dirty = True
        with torch_threads_kept():  # Numba's parallel kernels reset the OpenMP count torch shares
            for t in range(T):
                ctx.t = t
                for i, node in enumerate(nodes):
                    ctx.out_shape = shapes[i]
                    r = rows[i]
                    ctx.counts = counts[:, r, t] if r >= 0 else None
                    values[i] = node.step(states[i], [values[j] for j in inputs[i]], t, ctx)
        self._dirty = False
        logits = states[-1].total / T
        before = {name: k[0] for name, k in kept.items()} if kept else {}
        after = {name: k[1] for name, k in kept.items()} if kept else {}
        return BatchResult(counts, step_logits, logits, spikes or {}, before, after)

    def recordable(self, record: bool | Collection[str]) -> list[str]:
        """The neuron nodes ``record`` names: all of them for True, none for False, else the
        named ones (each checked: a one-line error for a name that is not a spiking node)."""
        if record is False or record is None:  # the usual replay: nothing to look up
            return []
        if record is True:
            return spiking_nodes(self.graph)
        return check_recorded(self.graph, [record] if isinstance(record, str) else list(record))

    def _states_for(self, n: int) -> tuple:
        """The compiled states with every per-sample buffer cut to its first ``n`` rows (views, cached)."""
        if n not in self._views:
            per_sample = self._ctx.per_sample
            cut = [_cut(st, per_sample, n) for st in self.states]
            self._views[n] = (cut, self._ctx.placeholder[:n])
        return self._views[n]


def _cut(state, per_sample: set, n: int):
    """A node's state record with its per-sample buffers cut to the first ``n`` rows."""
    if state is None:
        return None
    cut = {f.name: getattr(state, f.name)[:n] for f in fields(state) if id(getattr(state, f.name)) in per_sample}
    return replace(state, **cut) if cut else state
