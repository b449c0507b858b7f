"""What every node kind provides, and the vocabulary the kinds share.

A *node kind* (``conv2d``, ``neuron``, ``add``, ...) is one class in one module of
:mod:`asnn_sim.graph.nodes`. The class is at once

* the **IR record**: its dataclass fields (numpy arrays in ``ARRAYS``, JSON attributes in
  ``ATTRS``, a free ``metadata`` dict), the checks it can make alone (:meth:`Node.check`),
  its output shape (:meth:`Node.output_shape`) and the kind's equation in its docstring;
* its **typed edges**: :meth:`Node.output_type` says what it emits given what it reads,
  and refuses inputs it cannot read (see "Value types" below);
* its **simulator**: :meth:`Node.compile` (buffers, tables) and :meth:`Node.step` (one
  timestep of a batch, through a Numba kernel of :mod:`asnn_sim.sim.kernels`);
* its **dense PyTorch reference** with brute-force counts (:meth:`Node.torch_step`), the
  independent check of the simulator;
* its **counting rule**: the count columns it fills (``COUNTS``) and defines
  (``OWN_COLUMNS``, when no other kind does that work), the counts that depend
  on the graph alone (:meth:`Node.fixed_counts`) and its row of static facts
  (:meth:`Node.facts`);
* its **hardware cost**: which operations the energy model prices for its rows, for the
  event-driven SNN and for the dense ANN twin (:meth:`Node.snn_cost`,
  :meth:`Node.ann_cost`, :meth:`Node.ann_twin_counts`).

The engine, the dense reference, the layer table and ``hw_models`` dispatch through the
registry (:data:`asnn_sim.graph.nodes.KINDS`) and never test ``node.kind`` themselves.

Value types
-----------
A value travelling along an edge is one of

``current``  what a neuron integrates: a synaptic layer's weighted sum (its bias still
             pending) or a sum of such; dense, one consumer, cleared by that consumer;
``binary``   spikes (event lists);
``graded``   small integer sums of spikes (event lists with values, e.g. SEW residuals);
``analog``   real values (image pixels, ReLU or average-pool outputs; event lists with values).

The last three are *events*. The input node's class changes per step with the encoder
(hybrid: analog at step 0, spikes after); its static type is ``events``.

This module imports numpy only: torch and Numba are imported inside the methods that
need them, so ``hw_models`` can use the registry without either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from asnn_sim.graph import counts_schema
from asnn_sim.graph.counts_schema import Column

FLOAT_DTYPES = (np.float32, np.float64)

# ---------------------------------------------------------------- value types

CURRENT, BINARY, GRADED, ANALOG, EVENTS = "current", "binary", "graded", "analog", "events"
EVENT_TYPES = (BINARY, GRADED, ANALOG, EVENTS)
#: the count column of each event class
EVENT_COLUMNS = {BINARY: "in_events_binary", GRADED: "in_events_graded", ANALOG: "in_events_analog"}
#: the columns of the events a node reads, for a kind's ``COUNTS``
EVENT_COUNTS = tuple(EVENT_COLUMNS.values())
#: Event classes as the Numba kernels know them (see asnn_sim.sim.kernels).
CLASS_CODE = {BINARY: 0, GRADED: 1, ANALOG: 2}
CLASS_NAME = {v: k for k, v in CLASS_CODE.items()}


class GraphError(ValueError):
    """An invalid graph or graph file; the message names the node and the problem."""


def fail(node: str, problem: str) -> GraphError:
    """The error for ``node``: ``node 'name': problem``."""
    return GraphError(f"node {node!r}: {problem}")


def is_events(value_type: str) -> bool:
    return value_type in EVENT_TYPES


def combined_class(types: list[str]) -> str:
    """The event type of a sum of event values: analog if any is analog, else graded."""
    return ANALOG if ANALOG in types or EVENTS in types else GRADED


# ---------------------------------------------------------------- runtime values (simulator)


@dataclass
class Events:
    """A tensor of a batch as event lists (see ``asnn_sim/sim/kernels/`` for the layout).

    Attributes
    ----------
    idx : (B, capacity) int32
        Flat channels-last indices of the non-zero elements, ``idx[b, :cnt[b]]``.
    cnt : (B,) int64
    val : (B, capacity) float, or a (B, 1) placeholder for binary events (never read)
    event_class : int
        ``CLASS_CODE`` of binary, graded or analog.
    shape : tuple
        Per-sample shape, channel-first as in the graph.
    chw : tuple or None
        For a flattened map: the ``(C, H, W)`` it came from (elements stay channels-last).
    """

    idx: np.ndarray
    cnt: np.ndarray
    val: np.ndarray
    event_class: int
    shape: tuple
    chw: tuple | None = None


@dataclass
class Current:
    """A dense input current of a batch, channels-last, with its pending bias.

    Attributes
    ----------
    buf : (B, n) float
        The synaptic sums; the consumer adds ``bias``, reads, and clears ``buf``.
    bias : (n,) float
        Added by the consumer (zeros when there is none).
    has_bias : bool
        Whether ``bias`` is a real bias (it is counted as an add) or zeros.
    marks : (B, m) uint8
        Which neurons an input event reached: mark ``i`` covers elements
        ``i * per .. i * per + per - 1`` (a conv marks output positions, ``per`` = its
        channels; a linear layer one mark for all). The consumer counts and clears them.
    per : int
    shape : tuple
    """

    buf: np.ndarray
    bias: np.ndarray
    has_bias: bool
    marks: np.ndarray
    per: int
    shape: tuple


# ---------------------------------------------------------------- runtime values (dense reference)


@dataclass
class TorchValue:
    """A value of the dense PyTorch replay: the tensor, its type, and for currents the
    brute-force mask of neurons that an input event reached (same shape as ``tensor``)."""

    tensor: Any
    type: str
    touched: Any = None


# ---------------------------------------------------------------- hardware cost vocabulary

#: Operation quantities a kind's cost rule may return (per inference, one entry per row);
#: ``hw_models.ops`` turns them into priced operations for a profile. Absent = 0.
HW_QUANTITIES = {
    "ac": "accumulates (spike x weight)",
    "mac": "multiply-accumulates (value x weight)",
    "weight_reads": "synaptic weight reads (one per synaptic op)",
    "synops": "synaptic ops that update a target potential (priced per access under sram-per-synop)",
    "neurons": "neuron updates of a clock-driven chip (every neuron every step)",
    "neurons_touched": "neuron updates of an event-driven chip (neurons an event reached)",
    "nrn_mult": "neuron-update multiplications (clock-driven; scaled by touched/neurons when event-driven)",
    "nrn_add": "neuron-update additions, likewise",
    "nrn_cmp": "threshold compares, likewise",
    "nrn_reset": "resets (one per spike)",
    "bias_reads": "bias reads per update (1 where the neuron integrates a bias)",
    "elementwise": "element-wise operations outside neurons (residual adds, pooling windows), priced as adds",
    "addr_mac": "address computations priced as MACs (Lemaire et al. 2022, conv input events)",
    "addr_add": "address computations priced as adds",
    "in_reads_bin": "1-bit input-buffer reads (spike events)",
    "in_reads_multi": "multi-bit input-buffer reads (graded or analog events, ANN activations)",
    "out_writes": "output-buffer writes (spikes, or ANN activations)",
    "spikes_out": "spikes sent on the chip's network (per-spike routing)",
    # the input encoder (priced where the profile runs it on chip: model.encoder)
    "enc_cmp": "encoder compares (threshold or random number against a pixel), priced as adds",
    "enc_rand": "encoder random numbers (priced only where a profile cites an energy for one: constant rng)",
    "enc_bits": "encoder bit extractions (a shift and a mask), priced as adds",
    "enc_add": "encoder additions",
    "enc_mult": "encoder multiplications and divisions",
    "enc_special": "encoder exponentials and square roots (no shipped profile cites an energy for them: counted, not priced)",
    "enc_reads": "reads of the stored image by the encoder (one per compare or bit extraction)",
    # memory sizes (elements; bytes = elements x bits / 8) and widths
    "weight_elems": "weights held for the row",
    "bias_elems": "bias values read by the row's neurons",
    "pot_elems": "membrane potentials (or partial sums) the row reads and writes; a cuba_neuron's synaptic currents too",
    "in_elems": "input elements of the row (input buffer size)",
    "enc_elems": "pixels of the image the encoder reads (its buffer size)",
    "out_elems": "output elements of the row (output buffer size)",
    "potential_updates": "state words each neuron update reads and writes in memory (event-driven SNN): 1, the membrane; 2 for a cuba_neuron, with its synaptic current",
}


# ---------------------------------------------------------------- helpers for kinds


def expect_rank(node: "Node", what: str, array: np.ndarray, rank: int) -> None:
    if array.ndim != rank:
        raise fail(node.name, f"{what} must have {rank} dimensions, got shape {array.shape}")


def expect_broadcast(node: "Node", what: str, array: np.ndarray | None, shape: tuple) -> None:
    """A per-neuron array (threshold, bias) must broadcast to the node's ``shape``."""
    if array is None:
        return
    try:
        fits = np.broadcast_shapes(array.shape, shape) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise fail(node.name, f"{what} of shape {array.shape} does not broadcast to the neurons' shape {shape}")


def pair(node: "Node", what: str, value) -> tuple[int, int]:
    """An int or a pair of ints as a pair."""
    if isinstance(value, (int, np.integer)):
        value = (value, value)
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise fail(node.name, f"{what} must be an int or a pair, got {value}")
    return value


def window_facts(kernel, stride, padding, dilation=(1, 1)) -> dict[str, str]:
    """A window's geometry as the layers table writes it (``'3x3'``: rows x columns)."""
    text = lambda p: f"{int(p[0])}x{int(p[1])}"  # noqa: E731
    return {"kernel": text(kernel), "stride": text(stride), "padding": text(padding), "dilation": text(dilation)}


def channels_last(array: np.ndarray, shape: tuple) -> np.ndarray:
    """``array`` broadcast to the channel-first ``shape``, then flattened channels-last (a new,
    writable array: a read-only view would compile the kernels a second time)."""
    full = np.broadcast_to(array, shape)
    if len(shape) == 3:
        full = full.transpose(1, 2, 0)
    return np.array(full, order="C").reshape(-1)


def channels_first(flat: np.ndarray, shape: tuple) -> np.ndarray:
    """A view of per-sample channels-last rows ``flat`` ``(B, n)`` as ``(B, *shape)`` channel-first
    (the inverse of :func:`channels_last`, for what the simulator hands back: membranes)."""
    if len(shape) == 3:
        c, h, w = shape
        return flat.reshape(len(flat), h, w, c).transpose(0, 3, 1, 2)
    return flat.reshape((len(flat),) + tuple(shape))


def chw_to_hwc_perm(c: int, h: int, w: int) -> np.ndarray:
    """perm[j] = channel-first index of the element at channels-last index j."""
    return np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).ravel()


def in_bounds_pairs(n_in: int, n_out: int, k: int, s: int, p: int, d: int = 1) -> int:
    """Along one axis of a sliding window (conv taps, pool windows): the (input coordinate,
    window) pairs that fall inside the input; window ``o`` covers ``o*s - p + j*d`` for
    ``j < k`` (``d``: a conv's dilation; contiguous ``o*s - p .. o*s - p + k - 1`` when 1)."""
    starts = np.arange(n_out) * s - p
    if d == 1:
        return int((np.minimum(starts + k, n_in) - np.maximum(starts, 0)).clip(min=0).sum())
    taps = starts[:, None] + np.arange(k) * d
    return int(((taps >= 0) & (taps < n_in)).sum())


def n_elements(shape: tuple) -> int:
    return int(math.prod(shape))


def zeros(like: np.ndarray) -> np.ndarray:
    return np.zeros_like(np.asarray(like, dtype=float))


# ---------------------------------------------------------------- the base class


@dataclass
class Node:
    """Base class of every node kind: a named operation reading the outputs of ``inputs``.

    Subclasses list their numpy fields in ``ARRAYS`` and their JSON fields in ``ATTRS``;
    ``__post_init__`` normalises arrays (float32/float64 or int64, finite) and calls
    :meth:`check`; :meth:`output_shape` checks the node against its input shapes.

    Attributes
    ----------
    name : str
        Unique in the graph; no dots (arrays are stored as ``"<name>.<field>"``).
    inputs : tuple of str
        Names of the nodes it reads, in order (its incoming edges).
    metadata : dict
        Free-form JSON (provenance, the framework a node came from, notes).
    """

    name: str
    inputs: tuple[str, ...]
    metadata: dict = field(default_factory=dict)

    kind: ClassVar[str] = ""
    ARRAYS: ClassVar[tuple[str, ...]] = ()
    ATTRS: ClassVar[tuple[str, ...]] = ()
    #: Per-timestep arrays: each must have one entry per timestep.
    PER_STEP: ClassVar[tuple[str, ...]] = ()
    N_INPUTS: ClassVar[int | None] = 1
    #: Whether the node has rows in the counts tables (it does work).
    COUNTED: ClassVar[bool] = True
    #: What the node is, for summaries: "input", "synapse", "neuron", "elementwise",
    #: "reshape", "readout" or "product" (products of two computed values, e.g. attention).
    ROLE: ClassVar[str] = ""
    #: Count columns this kind fills (the rest of its rows stay 0).
    COUNTS: ClassVar[tuple[str, ...]] = ()
    #: Count columns this kind introduces, with their definitions (the shared ones are
    #: ``counts_schema.SHARED_COUNT_COLUMNS``); the counts tables append them in registry order.
    OWN_COLUMNS: ClassVar[tuple[Column, ...]] = ()
    #: Prefix of the names the builder generates (``conv1``, ``lif2``); empty: the kind's name.
    NAME_PREFIX: ClassVar[str] = ""
    #: Graph kinds the node may appear in (the graph refuses it elsewhere, naming it).
    GRAPH_KINDS: ClassVar[tuple[str, ...]] = ("snn", "ann")
    #: Its synapses share weights over positions (a convolution's kernel): a chip that stores
    #: them in a format of its own prices their ops at ``ac_conv`` and times them at
    #: ``t_synop_conv`` (hw_models).
    SHARED_SYNAPSES: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or "." in self.name:
            raise GraphError(f"invalid node name {self.name!r} (non-empty, no dots)")
        self.inputs = tuple(self.inputs)
        if not isinstance(self.metadata, dict):
            raise fail(self.name, f"metadata must be a dict, got {type(self.metadata).__name__}")
        if self.N_INPUTS is not None and len(self.inputs) != self.N_INPUTS:
            raise fail(self.name, f"a {self.kind} node takes {self.N_INPUTS} input(s), got {len(self.inputs)}")
        for a in self.ARRAYS:
            value = getattr(self, a)
            if value is None:
                continue
            value = np.asarray(value)
            if value.dtype.kind == "f":
                if value.dtype not in FLOAT_DTYPES:
                    raise fail(self.name, f"{a} has dtype {value.dtype}; expected float32 or float64")
                if not np.isfinite(value).all():
                    raise fail(self.name, f"{a} contains NaN or infinite values")
            elif value.dtype.kind in "iu":
                value = value.astype(np.int64)
            else:
                raise fail(self.name, f"{a} has unsupported dtype {value.dtype}")
            setattr(self, a, value)
        self.check()

    # -- IR

    def check(self) -> None:
        """Checks of the node's own fields (ranks, consistency)."""

    def output_shape(self, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        """Shape of one sample's output, given the input shapes; raises on mismatch."""
        raise NotImplementedError

    def output_type(self, in_types: list[str], graph_kind: str) -> str:
        """The value type the node emits given its input types; raises on a type it cannot read."""
        raise NotImplementedError

    def value_type(self, in_types: list[str], graph_kind: str) -> str:
        """:meth:`output_type` in a ``graph_kind`` graph, which must be one of :data:`GRAPH_KINDS`
        (the graph, the builder and the NIR importer all type nodes through here)."""
        if graph_kind not in self.GRAPH_KINDS:
            raise fail(self.name, f"a {self.kind} node does not belong in an {graph_kind} graph")
        return self.output_type(in_types, graph_kind)

    def pending_bias(self) -> bool:
        """For a current producer: whether its consumer still has a bias to add."""
        return False

    def integrated_bias(self, graph) -> int:
        """Bias values a neuron reading this node's current integrates (for memory sizing)."""
        return 0

    def arrays(self) -> dict[str, np.ndarray]:
        return {a: getattr(self, a) for a in self.ARRAYS if getattr(self, a) is not None}

    def attrs(self) -> dict:
        return {a: getattr(self, a) for a in self.ATTRS}

    def _expect_events(self, in_types: list[str], what: str = "events") -> None:
        for src, t in zip(self.inputs, in_types):
            if not is_events(t):
                raise fail(self.name, f"a {self.kind} node reads {what}, but {src!r} gives a {t}")

    def _expect_currents(self, in_types: list[str]) -> None:
        for src, t in zip(self.inputs, in_types):
            if t != CURRENT:
                raise fail(self.name, f"a {self.kind} node reads a current (from conv2d, linear or an add of currents), "
                                      f"but {src!r} gives {t} events")

    # -- simulator (see asnn_sim.sim.engine for the contexts)

    def compile(self, ctx):
        """Buffers and tables for replaying batches: the node's state record (a dataclass
        defined beside the kind), handed back to :meth:`step` and :meth:`fixed_counts`."""
        return None

    def step(self, st, inputs: list, t: int, ctx):
        """Run timestep ``t`` for the batch; returns the output value (Events or Current)."""
        raise NotImplementedError

    def fixed_counts(self, st, t: int) -> dict[str, int]:
        """Counts of one sample at step ``t`` that depend on the graph alone (``st``: the compiled state)."""
        return {}

    # -- dense reference (asnn_sim.interop.torch_graph)

    def torch_step(self, p: dict, xs: list[TorchValue], state: dict, t: int, ctx) -> TorchValue:
        """The node at step ``t`` with dense PyTorch ops; fills ``ctx.counts`` brute-force when counting."""
        raise NotImplementedError

    def expected_counts(self, facts: dict, conventions, reused: bool) -> dict[str, int]:
        """What this node's count columns must hold at one step, from the brute-force
        ``facts`` its :meth:`torch_step` recorded (summed over the same samples).
        ``reused``: the step reused step 0's input under ``static_input="once"``."""
        return {}

    # -- the layers table

    def facts(self, graph) -> dict:
        """Static facts of the node for the ``layers`` table (see counts_schema.LAYER_COLUMNS).

        They must follow from the graph's structure (shapes and settings), not from the
        contents of its arrays: the table is kept per structure (``sim.replay.layer_table``).
        """
        return {}

    # -- hardware cost (hw_models dispatches here; numpy only)

    @staticmethod
    def snn_cost(q: dict) -> dict:
        """Operations of the event-driven SNN for rows of this kind.

        ``q`` holds per-inference numpy arrays: every count column and the geometry
        columns of ``hw_models.counts.layer_geometry``. Returns arrays named in
        :data:`HW_QUANTITIES`.
        """
        return {}

    @staticmethod
    def ann_cost(q: dict) -> dict:
        """Operations of the dense ANN dataflow for rows of this kind (see :meth:`snn_cost`)."""
        return {}

    @staticmethod
    def ann_twin_counts(layer: dict) -> dict:
        """Counts (one sample, one pass) of the dense equivalent ANN for one ``layers`` row."""
        return {}

    @staticmethod
    def spike_free(q: dict) -> dict:
        """This kind's own count columns with spike activity removed (for break-even).

        ``q`` holds the rows' count columns (float arrays), ``output`` (the value type the
        node emits) and ``event_share`` (the spike share of the events it reads).
        Columns every kind shares (events, ACs, spikes, touched neurons) are handled by
        ``hw_models.activity.zero_spike_table``; a kind returns only its own.
        """
        return {}


def expected_events(events: list[tuple[str, int]]) -> dict[str, int]:
    """The ``in_events_*`` columns from a brute-force list of ``(value type, events)`` per operand."""
    return {column: sum(n for kind, n in events if kind == event) for event, column in EVENT_COLUMNS.items()}


def event_row_counts(counts_row: np.ndarray, src: Events) -> None:
    """Add the input events of ``src`` to the per-sample counts ``counts_row (B, n_counts)``."""
    counts_row[:, counts_schema.SLOT[EVENT_COUNTS[src.event_class]]] += src.cnt
