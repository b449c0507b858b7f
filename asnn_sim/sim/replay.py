"""Replay a dataset through a graph in bounded-memory batches and collect the counts tables.

:func:`simulate` (images through the graph's encoder) and :func:`simulate_frames`
(supplied frames, e.g. for graphs imported from NIR) are the Python entry points behind
``asnn simulate``; they return a :class:`SimResult` whose tables follow
:mod:`asnn_sim.graph.counts_schema`.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from asnn_sim import __version__
from asnn_sim.util import atomic
from asnn_sim.graph.counts_schema import SCHEMA_VERSION
from asnn_sim.graph.encoding import EncoderSpec
from asnn_sim.graph.ir import Graph
from asnn_sim.util.progress import progress as make_progress
from asnn_sim.sim.engine import COUNTS, SLOT, BatchResult, Conventions, Simulator
from asnn_sim.sim.recording import Recording, RecordSpec, merge_recordings
from asnn_sim.sim.reuse import structure
from asnn_sim.sim.shards import (ReplayInput, ShardCounts, binary_steps, check_replay_request, merge_shards, replay_range,
                                 step_kinds)

if TYPE_CHECKING:
    import pandas as pd

OUTPUT_FILES = (
    "counts.parquet", "counts.csv", "per_sample.parquet", "per_sample.csv",
    "layers.parquet", "layers.csv", "summary.json", "manifest.json", "recording.npz",
)


@dataclass
class SimResult:
    """Everything a replay measured.

    Attributes
    ----------
    counts : pandas.DataFrame
        One row per layer x timestep; int64 totals over all samples.
    per_sample : pandas.DataFrame
        One row per sample x layer; counts summed over timesteps, plus label and prediction.
    layers : pandas.DataFrame
        Static facts per layer.
    summary : dict
        Accuracy, conventions, per-inference means, firing rates.
    step_logits : numpy.ndarray
        ``(N, T, K)`` per-step scaled logits (the prediction uses their mean).
    recording : Recording, optional
        Spike trains (and membranes) of the recorded nodes and samples, when asked for
        (:mod:`asnn_sim.sim.recording`).
    """

    counts: pd.DataFrame
    per_sample: pd.DataFrame
    layers: pd.DataFrame
    summary: dict
    step_logits: np.ndarray = field(repr=False)
    recording: Recording | None = field(default=None, repr=False)

    def firing_rates(self, per_step: bool = True) -> pd.DataFrame:
        """Firing rate of every spiking layer, per step or over the whole replay.

        The firing rate is output spikes per neuron per sample and step (over every
        replayed sample); ``summary["firing_rate"]`` holds the per-layer values as a dict.

        Parameters
        ----------
        per_step : bool
            One row per layer and step (``t``), or one row per layer.

        Returns
        -------
        pandas.DataFrame
            ``layer``, ``kind``, (``t``), ``output_spikes`` (total over the samples),
            ``neuron_updates`` (neurons x samples (x steps)) and ``firing_rate``.
        """
        spiking = set(self.summary["firing_rate"])
        rows = self.counts[self.counts["layer"].isin(spiking)]
        keys = ["layer", "kind", "t"] if per_step else ["layer", "kind"]
        table = rows.groupby(keys, sort=False)[["output_spikes", "neurons"]].sum().reset_index()
        table = table.rename(columns={"neurons": "neuron_updates"})
        table["firing_rate"] = table["output_spikes"] / table["neuron_updates"]
        return table

    def save(self, out: str | Path) -> None:
        """Write the tables (Parquet and CSV) and ``summary.json`` as folder ``out``, all at once.

        The folder appears complete or not at all (:func:`asnn_sim.util.folders.output_folder`);
        earlier results in it are replaced, other files kept.
        """
        from asnn_sim.util.folders import output_folder

        with output_folder(out, OUTPUT_FILES, force=True) as stage:
            self.write(stage)

    def write(self, folder: str | Path) -> None:
        """Write the tables, ``summary.json`` and, last, ``manifest.json`` into an existing ``folder``.

        The manifest (:mod:`asnn_sim.graph.counts_schema`) ties the files to one replay: a reader
        refuses a folder whose files do not match it.
        """
        import uuid

        from asnn_sim.graph.counts_schema import write_manifest

        folder = Path(folder)
        for name in ("counts", "per_sample", "layers"):
            frame = getattr(self, name)
            frame.to_parquet(folder / f"{name}.parquet", index=False)
            frame.to_csv(folder / f"{name}.csv", index=False)
        if self.recording is not None:
            self.recording.save(folder / "recording.npz")
        run_id = uuid.uuid4().hex
        atomic.write_json(folder / "summary.json", {**self.summary, "run_id": run_id})
        write_manifest(folder, run_id)


@dataclass
class ReplayFacts:
    """What the tables say about a replay besides its counts: the graph, its counted nodes
    (in row order, as :class:`~asnn_sim.sim.engine.Simulator` numbers them), the
    arithmetic and the conventions. Cheap to make: building the tables needs no compiled
    simulator (a client merging shards never replays)."""

    graph: Graph
    precision: str
    conventions: Conventions
    rows: list = field(init=False)

    def __post_init__(self) -> None:
        self.rows = self.graph.counted_nodes()


#: The layers tables of the last few graphs: id(graph) -> (weak reference, structure, table).
_LAYER_TABLES: dict[int, tuple] = {}
KEEP_LAYER_TABLES = 8


def layer_table(sim: Simulator | ReplayFacts) -> pd.DataFrame:
    """Static facts of every counted node (``layers`` table of the counts schema).

    Each kind supplies its own facts (:meth:`asnn_sim.graph.nodes.base.Node.facts`); the
    columns a kind does not set are 0 (or empty). The facts depend on the graph's
    structure only, so the table of a graph replayed again (a notebook's loop) is kept
    and copied: building it with pandas costs about 1.5 ms, 4 % of a 360-sample LeNet
    ``simulate()`` (NOTES.md, issue 23).
    """
    graph = sim.graph
    key = (structure(graph), tuple(node.name for node in sim.rows))
    kept = _LAYER_TABLES.get(id(graph))
    if kept is None or kept[0]() is not graph or kept[1] != key:
        kept = (weakref.ref(graph), key, _build_layer_table(sim))
        _LAYER_TABLES.pop(id(graph), None)
        _LAYER_TABLES[id(graph)] = kept
        while len(_LAYER_TABLES) > KEEP_LAYER_TABLES:
            _LAYER_TABLES.pop(next(iter(_LAYER_TABLES)))
    return kept[2].copy()


def _build_layer_table(sim: Simulator | ReplayFacts) -> pd.DataFrame:
    import pandas as pd

    g = sim.graph
    rows = []
    for i, node in enumerate(sim.rows):
        in_shape = g.shapes[node.inputs[0]] if node.inputs else ()
        row = {
            "layer": node.name,
            "layer_index": i,
            "kind": node.kind,
            "neuron": "",
            "inputs": ",".join(_through_reshapes(g, s) for s in node.inputs),
            "output": g.types[node.name],
            "in_shape": "x".join(map(str, in_shape)),
            "out_shape": "x".join(map(str, g.shapes[node.name])),
            "n_weights": 0,
            "n_weight_sets": 1,
            "n_bias": 0,
            "n_neurons": 0,
            "fan_in": 0,
            "kernel": "",
            "stride": "",
            "padding": "",
            "dilation": "",
            "groups": 0,
            "dense_macs_per_step": 0,
            "dense_ops_per_step": 0,
        }
        row.update(node.facts(g))
        rows.append(row)
    columns = list(dict.fromkeys(k for row in rows for k in row))  # first-seen order, as DataFrame(rows) gives
    return pd.DataFrame({c: [row.get(c, np.nan) for row in rows] for c in columns})


def _through_reshapes(graph: Graph, name: str) -> str:
    """The node whose values ``name`` passes on unchanged (a flatten's source), else ``name``:
    reshapes have no rows, so the layers table names what they reshape."""
    node = graph.node(name)
    return _through_reshapes(graph, node.inputs[0]) if getattr(node, "ALIASES_INPUT", False) else name


def simulate(
    graph: Graph,
    images: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    precision: str = "float64",
    conventions: Conventions | None = None,
    batch_size: int = 128,
    seed: int | None = None,
    progress: bool = True,
    on_batch: Callable[[np.ndarray, np.ndarray, BatchResult], None] | None = None,
    record_spikes: bool = False,
    record: RecordSpec | None = None,
) -> SimResult:
    """Encode and replay ``images`` through ``graph``; count every operation.

    Parameters
    ----------
    graph : Graph
    images : numpy.ndarray
        ``(N, C, H, W)`` in [0, 1].
    labels : numpy.ndarray, optional
        ``(N,)`` class indices; without them accuracy is not reported.
    precision : {"float32", "float64"}
    conventions : Conventions, optional
    batch_size : int
        Samples per batch; memory is bounded by it, not by N.
    seed : int, optional
        Seed for the rate encoder (default: the graph's encoder seed). Each sample draws
        from its own stream seeded with ``(seed, sample index)``, so results do not
        depend on ``batch_size``.
    progress : bool
        Show progress: a bar on a terminal, plain lines otherwise (:mod:`asnn_sim.util.progress`).
    on_batch : callable, optional
        ``on_batch(frames, labels, result)`` after each batch (used by the parity check);
        ``result.counts`` is overwritten by the next batch (copy it to keep it).
    record_spikes : bool
        Keep each batch's spikes in the ``result`` handed to ``on_batch``.
    record : RecordSpec, optional
        Keep the spikes (and membranes) of these nodes and samples in ``recording``
        (:func:`asnn_sim.sim.recording.record_spec` makes one).

    Returns
    -------
    SimResult
    """
    stream = image_input(graph, images, seed=seed)
    return replay(graph, stream, labels, precision=precision, conventions=conventions, batch_size=batch_size,
                  progress=progress, on_batch=on_batch, record_spikes=record_spikes, record=record)


def image_input(graph: Graph, images: np.ndarray, *, seed: int | None = None, limit: int | None = None) -> ReplayInput:
    """Images ``(N, *input_shape)`` for ``graph``'s encoder, checked; a memory map stays one.

    ``seed`` replaces the encoder's seed; ``limit`` keeps the first ``limit`` samples.
    """
    images = images if isinstance(images, np.ndarray) else np.asarray(images)
    if images.ndim != 1 + len(graph.input.shape) or tuple(images.shape[1:]) != tuple(graph.input.shape):
        raise ValueError(f"images must be (N, {', '.join(map(str, graph.input.shape))}); got {images.shape}")
    if graph.input.reads_supplied_frames(graph.kind):
        raise ValueError("this graph reads supplied frames (it has no input encoder): use simulate_frames")
    encoder = EncoderSpec.from_dict(graph.input.encoder) if graph.input.encoder else None
    if encoder is not None and seed is not None:
        encoder = replace(encoder, seed=seed)
    return ReplayInput(images, encoder=encoder, limit=limit)


def simulate_frames(
    graph: Graph,
    frames: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    layout: str = "TN",
    precision: str = "float64",
    conventions: Conventions | None = None,
    batch_size: int = 128,
    progress: bool = True,
    on_batch: Callable[[np.ndarray, np.ndarray, BatchResult], None] | None = None,
    record_spikes: bool = False,
    record: RecordSpec | None = None,
) -> SimResult:
    """Replay supplied frames (spikes or values, not made by an encoder here) through ``graph``.

    Parameters
    ----------
    graph : Graph
        Its timesteps must equal the frames' T (see :func:`asnn_sim.graph.ir.retimed`).
    frames : numpy.ndarray
        ``(T, N, *input_shape)`` with ``layout="TN"`` or ``(N, T, *input_shape)`` with
        ``"NT"``; may be a memory map (only one batch is read at a time). A step is binary
        (spikes: ACs downstream) when every value in it, over all samples, is 0 or 1;
        otherwise analog (MACs).
    labels : numpy.ndarray, optional
    layout : {"TN", "NT"}
    precision, conventions, batch_size, progress, on_batch, record_spikes, record
        As in :func:`simulate`.

    Returns
    -------
    SimResult
    """
    stream = frame_input(graph, frames, layout)
    return replay(graph, stream, labels, precision=precision, conventions=conventions, batch_size=batch_size,
                  progress=progress, on_batch=on_batch, record_spikes=record_spikes, record=record)


def frame_input(graph: Graph, frames: np.ndarray, layout: str, *, limit: int | None = None) -> ReplayInput:
    """Supplied frames for ``graph`` in ``layout``, checked (their step kinds are found later)."""
    if layout not in ("TN", "NT"):
        raise ValueError(f"layout must be 'TN' (frames are (T, N, ...)) or 'NT' ((N, T, ...)); got {layout!r}")
    shape = tuple(graph.input.shape)
    if frames.ndim != 2 + len(shape) or tuple(frames.shape[2:]) != shape:
        axes = "T, N" if layout == "TN" else "N, T"
        raise ValueError(f"frames must be ({axes}, {', '.join(map(str, shape))}) for this graph; got {frames.shape}")
    T = frames.shape[0] if layout == "TN" else frames.shape[1]
    if T != graph.timesteps:
        raise ValueError(f"the frames have {T} timesteps but the graph runs {graph.timesteps}")
    if graph.input.encoder:
        raise ValueError(f"this graph encodes images itself ({graph.input.encoder['name']} coding); pass images to simulate")
    return ReplayInput(frames, layout=layout, limit=limit)


def with_frame_kinds(stream: ReplayInput, batch_size: int = 128) -> ReplayInput:
    """``stream`` with its steps classified binary or analog over the whole dataset (one pass)."""
    if stream.layout is None or stream.frame_kinds is not None:
        return stream
    return replace(stream, frame_kinds=step_kinds(binary_steps(stream, 0, stream.n, batch_size)))


def replay(
    graph: Graph,
    stream: ReplayInput,
    labels: np.ndarray | None = None,
    *,
    precision: str = "float64",
    conventions: Conventions | None = None,
    batch_size: int = 128,
    progress: bool = True,
    on_batch: Callable[[np.ndarray, np.ndarray, BatchResult], None] | None = None,
    record_spikes: bool = False,
    record: RecordSpec | None = None,
) -> SimResult:
    """Replay ``stream`` (from :func:`image_input` or :func:`frame_input`) in this process.

    The loop behind :func:`simulate` and :func:`simulate_frames`: all samples as one
    shard (:func:`asnn_sim.scale.cluster.replay_sharded` runs many shards on Dask workers).
    Parameters as in :func:`simulate`.
    """
    n = stream.n
    check_replay_request(n, labels, graph.n_classes)
    if record is not None:
        record.check_size(graph, n, precision)
    stream = with_frame_kinds(stream, batch_size)
    start = time.perf_counter()
    bar = make_progress(n, "simulate", "sample", enabled=progress)  # a bar on a terminal, else plain lines
    try:
        shard = replay_range(graph, stream, 0, n, precision=precision, conventions=conventions, batch_size=batch_size,
                             on_batch=on_batch, labels=labels, record_spikes=record_spikes, advance=bar.update,
                             record=record)
    finally:
        bar.close()
    facts = ReplayFacts(graph, precision, conventions or Conventions())
    return assemble(facts, [shard], labels, time.perf_counter() - start)


def assemble(sim: Simulator | ReplayFacts, shards: list[ShardCounts], labels, seconds: float) -> SimResult:
    """The tables of a replay from its shards' int64 counts (any order; they must tile the samples).

    Totals are sums of int64 per-sample counts and every per-sample row comes from exactly
    one shard, so the result does not depend on how the samples were split.
    """
    totals, per_sample, step_logits = merge_shards(shards)
    result = _tables(sim, totals, per_sample, step_logits, labels, seconds)
    result.recording = merge_recordings([s.recording for s in shards])
    if result.recording is not None:
        rec = result.recording
        result.summary["recording"] = {"nodes": rec.nodes, "samples": len(rec.samples), "membranes": bool(rec.membranes_after_reset),
                                       "bytes": rec.nbytes}
    return result


def _tables(sim: Simulator | ReplayFacts, totals, per_sample, step_logits, labels, seconds) -> SimResult:
    # Each table is built as one int64 block (its integer key columns and the counts) and
    # one string column: pandas' cost grows with the number of columns it must take one
    # by one, and the tables must cost little beside the replay (docs/performance.md).
    # pandas is imported here, after the replay, so a command's first sample does not wait for it.
    graph = sim.graph
    n, T = len(per_sample), graph.timesteps
    R = len(sim.rows)
    names = _strings([node.name for node in sim.rows])
    row_of_step = np.repeat(np.arange(R, dtype=np.int64), T)
    counts = _frame(
        ["layer_index", "t", "n_samples"], [row_of_step, np.tile(np.arange(T, dtype=np.int64), R), n],
        totals.reshape(R * T, len(COUNTS)), [], [],
        {0: ("layer", names.take(row_of_step)), 2: ("kind", _strings([node.kind for node in sim.rows]).take(row_of_step))},
    )
    predictions = step_logits.mean(axis=1).argmax(axis=1)
    after = ["prediction"] + (["label"] if labels is not None else [])
    after_values = [np.repeat(predictions, R)] + ([np.repeat(np.asarray(labels), R)] if labels is not None else [])
    ps = _frame(["sample"], [np.repeat(np.arange(n, dtype=np.int64), R)], per_sample.reshape(n * R, len(COUNTS)),
                after, after_values, {1: ("layer", names.take(np.tile(np.arange(R, dtype=np.int64), n)))})
    layers = layer_table(sim)
    summary = _summary(sim, totals, step_logits, predictions, labels, seconds)
    return SimResult(counts, ps, layers, summary, step_logits)


def _strings(values: list[str]):
    """A pandas string array of ``values``; rows repeat it with ``take`` (converting each
    repeated Python string on its own costs more than the rest of the table)."""
    import pandas as pd

    return pd.array(values, dtype=pd.StringDtype(na_value=np.nan))


def _frame(before: list[str], before_values: list, counts: np.ndarray, after: list[str], after_values: list,
           strings: dict[int, tuple]):
    """A table of int64 columns ``before`` + COUNTS + ``after`` in one block, with the
    string columns ``strings`` (position -> (name, values)) inserted where they belong."""
    import pandas as pd

    block = np.empty((len(counts), len(before) + len(COUNTS) + len(after)), np.int64)
    for j, values in enumerate(before_values):
        block[:, j] = values
    block[:, len(before):len(before) + len(COUNTS)] = counts
    for j, values in enumerate(after_values):
        block[:, len(before) + len(COUNTS) + j] = values
    frame = pd.DataFrame(block, columns=before + list(COUNTS) + after, copy=False)  # the block is the table's own
    for at in sorted(strings):
        name, values = strings[at]
        frame.insert(at, name, values)
    return frame


def _summary(sim, totals, step_logits, predictions, labels, seconds) -> dict:
    graph = sim.graph
    n, T = len(predictions), graph.timesteps
    by_node = totals.sum(axis=1)  # (rows, counts)
    spikes, neurons = by_node[:, SLOT["output_spikes"]], by_node[:, SLOT["neurons"]]
    firing_rows = [i for i, node in enumerate(sim.rows) if node.ROLE == "neuron"]
    firing = {sim.rows[i].name: float(spikes[i] / neurons[i]) for i in firing_rows}
    per_inference = by_node.sum(axis=0) / n
    summary = {
        "schema_version": SCHEMA_VERSION,
        "asnn_sim_version": __version__,
        "n_samples": int(n),
        "timesteps": T,
        "encoding": graph.input.encoder["name"] if graph.input.encoder else
        ("frames" if graph.input.reads_supplied_frames(graph.kind) else "none"),
        "graph": {"kind": graph.kind, **{k: graph.metadata.get(k) for k in ("model", "dataset", "asnn", "source_run")}},
        "precision": sim.precision,
        "conventions": asdict(sim.conventions),
        "accuracy": None,
        "accuracy_by_timesteps": None,
        "per_inference": {c: float(per_inference[j]) for j, c in enumerate(COUNTS)},
        "spikes_per_inference": float(spikes[firing_rows].sum() / n) if graph.kind == "snn" else None,
        "firing_rate": firing,
        "wall_seconds": round(seconds, 3),
        "samples_per_second": round(n / seconds, 1) if seconds > 0 else None,
    }
    if labels is not None:
        labels = np.asarray(labels)
        summary["accuracy"] = float((predictions == labels).mean())
        # Early exit: predict from the mean of the first t steps' logits.
        cumulative = np.cumsum(step_logits, axis=1)
        summary["accuracy_by_timesteps"] = [float((cumulative[:, t].argmax(1) == labels).mean()) for t in range(T)]
    return summary
