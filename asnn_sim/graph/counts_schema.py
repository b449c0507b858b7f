"""The counts contract between the simulator and the energy model.

``asnn simulate --out DIR`` writes these files (each table as both Parquet and CSV):

``counts``
    One row per node x timestep, for every node that does work (the input encoder,
    synaptic layers, neurons, residual adds, pools, the readout). Every count column is an ``int64`` *total over all
    samples replayed*; divide by ``n_samples`` for the per-inference mean.
``per_sample``
    One row per sample x node, count columns summed over timesteps (``int64``), so
    distributions over samples can be plotted.
``layers``
    One row per counted node: static facts about the graph (shapes, weights, neurons), enough
    for a memory model and for the equivalent ANN without reading the graph file.
``summary.json``
    Accuracy, ``n_samples``, the counting conventions used, per-inference means.
``manifest.json``
    Written last: a ``run_id`` (also in ``summary.json``) and the SHA-256 of every other
    file. Readers check it (:func:`manifest_problem`), so files of two replays mixed in
    one folder, or a file changed afterwards, are refused instead of priced. Folders
    written before it existed have none and are read as before.

Columns several kinds share are defined here; a kind that does work of its own defines its
columns in its module (``OWN_COLUMNS``), and :data:`COUNT_COLUMNS` (with :data:`SLOT` and
:func:`count_names`) is assembled from the registry on first use, so a new kind adds its
columns without editing this file. At import this module needs only the standard
library; the assembly imports the kinds (numpy). Every column is defined, with a worked
example, in ``docs/counting.md``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 3  # 3: the input encoder's rows and columns; 2: one row per node that does work; 1: one row per synaptic layer


@dataclass(frozen=True)
class Column:
    """One column of a counts table: its name and what it counts."""

    name: str
    doc: str


# Keys of a row of the ``counts`` table (node x timestep).
KEY_COLUMNS: tuple[Column, ...] = (
    Column("layer", "name of the graph node the row counts, e.g. 'conv1', 'lif1', 'pool1'"),
    Column("layer_index", "position of the node among the counted nodes, in the graph's execution order, from 0"),
    Column("kind", "the node's kind (a name of asnn_sim.graph.nodes.KINDS: conv2d, neuron, ...; input rows count the encoder's work)"),
    Column("t", "timestep, from 0"),
    Column("n_samples", "number of samples replayed (the divisor for per-inference means)"),
)

# Every count is an int64 total over the samples replayed. A node fills the columns its
# kind does work in (its ``COUNTS``; docs/counting.md has the table); the others stay 0.
# These columns are shared by several kinds; a kind that does work of its own declares
# its columns in its module (``OWN_COLUMNS``) and :data:`COUNT_COLUMNS` appends them.
SHARED_COUNT_COLUMNS: tuple[Column, ...] = (
    # Events are classed by the kind of tensor that carries them, never by value: a pixel
    # of exactly 1.0 in an analog frame is an analog event.
    Column("in_events_binary", "spikes arriving at the node (non-zero elements of a binary spike tensor it reads)"),
    Column("in_events_graded", "non-zero elements of a graded tensor it reads (small integer sums of spikes, e.g. SEW residuals)"),
    Column("in_events_analog", "non-zero elements of an analog tensor it reads (e.g. image pixels, ANN activations, average-pool outputs)"),
    Column("synaptic_acs", "accumulates: one per (spike, in-bounds synapse) pair; a graded event of value k adds k per synapse under graded='expand'"),
    Column("synaptic_macs", "multiply-accumulates: one per (analog event, in-bounds synapse) pair, and per (graded event, synapse) under graded='mac'"),
    Column("dense_macs", "multiply-accumulates a dense (ANN-style) layer does for the same input: one per (input element, in-bounds synapse) pair, zeros included; attention: the dense products of the cheaper association order"),
    Column("neurons", "neuron updates performed: every neuron of a neuron, cuba_neuron, relu or readout node, every timestep"),
    Column("neurons_touched", "neurons that an input event reached in this timestep, through any path into their current (weight values not considered)"),
    Column("neuron_mults", "multiplications in neuron updates (leak x membrane, gain x current, readout scale; a cuba_neuron also decays and scales its synaptic current)"),
    Column("neuron_adds", "additions in neuron updates (integration, pending synaptic bias, own bias, readout accumulation; a cuba_neuron also integrates its synaptic current)"),
    Column("neuron_compares", "threshold comparisons (ReLU: comparisons with 0)"),
    Column("neuron_resets", "resets (soft: membrane -= threshold; hard: membrane = v_reset), one per output spike"),
    Column("output_spikes", "spikes emitted by a neuron or cuba_neuron node (for an ANN graph: non-zero ReLU outputs)"),
)

# Static per-node facts (the ``layers`` table): one row per counted node.
LAYER_COLUMNS: tuple[Column, ...] = (
    Column("layer", "name of the node"),
    Column("layer_index", "position among the counted nodes, in execution order"),
    Column("kind", "the node's kind (see the counts table)"),
    Column("neuron", "for neuron rows 'lif' (shared leak/gain) or 'asnn' (per-timestep leak and gain), for cuba_neuron rows 'cuba'; 'relu' (ANN twin) and 'readout' rows say so; empty for other kinds"),
    Column("inputs", "the nodes it reads, comma-separated; through a reshape (flatten), the node it reshapes"),
    Column("output", "what it emits: 'current' (what a neuron integrates), 'binary' spikes, 'graded' or 'analog' events, 'logits'"),
    Column("in_shape", "shape of one sample of its first input, e.g. '1x8x8'"),
    Column("out_shape", "output shape of one sample, e.g. '32x8x8'"),
    Column("n_weights", "weight parameters, zeros included, over all weight sets (hybrid first layers hold two); 0 for non-synaptic nodes"),
    Column("n_weight_sets", "1, or 2 for a hybrid first layer (analog frame and spike frames use different weights)"),
    Column("n_bias", "synaptic rows: their bias values (after BatchNorm folding) over all weight sets; neuron rows: the bias values their updates read"),
    Column("n_neurons", "neurons (membrane potentials) of a neuron, cuba_neuron, relu or readout node; 0 otherwise"),
    Column("fan_in", "synapses per output neuron (C_in/groups*kh*kw for a conv, in_features for a linear or token_linear); 0 otherwise"),
    Column("kernel", "window of a conv2d or pool, rows x columns, e.g. '3x3'; empty for other kinds"),
    Column("stride", "step of a conv2d or pool window, rows x columns, e.g. '2x2'; empty for other kinds"),
    Column("padding", "zeros on each side of a conv2d or pool input, rows x columns, e.g. '1x1'; empty for other kinds"),
    Column("dilation", "spacing of a window's taps, rows x columns ('1x1' for a pool); empty for other kinds"),
    Column("groups", "a conv2d's groups (1: every input channel reaches every output channel; C_in: depthwise); 0 for other kinds"),
    Column("dense_macs_per_step", "dense_macs of one sample in one timestep (the equivalent ANN's MACs for this node: synaptic nodes, and attention's products in the cheaper order); 0 otherwise"),
    Column("dense_ops_per_step", "the node's work in one dense pass of one sample: MACs (synaptic, attention), neuron updates, element additions (add), window pairs (pools)"),
)

#: Conventions a replay can use; summary.json records the ones used.
CONVENTIONS = {
    "graded": ("mac", "expand"),
    "skip_zero_weights": (False, True),
    "static_input": ("per_step", "once"),
}


def _assemble_count_columns() -> tuple[Column, ...]:
    """The shared columns, then each registered kind's own columns in registry order.

    Two kinds may own the same column (the same :class:`Column`, e.g. the product
    columns of ``attention`` and ``multiply``); a name defined twice differently is refused.
    """
    from asnn_sim.graph.nodes import KINDS  # the kinds import this module: assemble on first use

    columns = {c.name: c for c in SHARED_COUNT_COLUMNS}
    for kind, cls in KINDS.items():
        for column in cls.OWN_COLUMNS:
            if columns.setdefault(column.name, column) != column:
                raise ValueError(f"node kind {kind!r} redefines count column {column.name!r}")
    return tuple(columns.values())


def _input_columns() -> tuple[str, ...]:
    from asnn_sim.graph.nodes import KINDS

    return tuple(c.name for c in KINDS["input"].OWN_COLUMNS)


# Assembled on first use (module __getattr__), once every kind module has registered:
#   COUNT_COLUMNS  every count column, in table order (shared, then the kinds' own);
#   SLOT           column name -> its position in a counts vector;
#   ENCODER_COUNTS the input encoder's columns (asnn_sim.graph.encoding.encoder_work's rule).
_LAZY = {
    "COUNT_COLUMNS": _assemble_count_columns,
    "SLOT": lambda: {c.name: i for i, c in enumerate(_assemble_count_columns())},
    "ENCODER_COUNTS": _input_columns,
}


def _lazy(name: str):
    if name not in globals():
        globals()[name] = _LAZY[name]()
    return globals()[name]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _lazy(name)


def count_names() -> list[str]:
    """Names of the int64 count columns, in table order."""
    return [c.name for c in _lazy("COUNT_COLUMNS")]


MANIFEST = "manifest.json"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(folder: Path, run_id: str) -> None:
    """Write ``manifest.json`` for every other file in ``folder`` (call it last)."""
    folder = Path(folder)
    files = {p.name: file_sha256(p) for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST}
    (folder / MANIFEST).write_text(json.dumps({"run_id": run_id, "files": files}, indent=1) + "\n")


def manifest_problem(folder: Path) -> str | None:
    """What is wrong with ``folder`` against its manifest (None: it matches, or it has none).

    Every listed file must exist with its hash, and ``summary.json``'s ``run_id`` must be
    the manifest's.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
        run_id, files = manifest["run_id"], dict(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return f"{MANIFEST} is unreadable or malformed"
    for name, digest in files.items():
        if not (folder / str(name)).is_file():
            return f"{name} is listed in {MANIFEST} but missing (a partial folder)"
        if file_sha256(folder / str(name)) != digest:
            return f"{name} does not match {MANIFEST} (files of different replays, or changed after asnn simulate wrote them)"
    try:
        summary_id = json.loads((folder / "summary.json").read_text()).get("run_id")
    except (OSError, ValueError, AttributeError):
        summary_id = None
    if "summary.json" in files and summary_id != run_id:
        return f"summary.json belongs to replay {summary_id!r}, the folder's manifest to {run_id!r}"
    return None
