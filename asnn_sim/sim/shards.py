"""Replay a range of samples, and merge ranges into one replay exactly.

A replay is a sum over samples: every count is an int64 per sample, node, step and
column, and each sample's spikes and logits depend on that sample alone (the rate
encoder draws from a stream keyed by the sample's index, not by its batch). So any split
of the samples into ranges, replayed anywhere and merged by :func:`merge_shards`, gives
the same tables, bit for bit, as one pass over all of them. :func:`replay_range` is the
one batch loop; the single-process replay (:mod:`asnn_sim.sim.replay`) runs it over all
samples and :mod:`asnn_sim.scale.cluster` over shards on Dask workers.

:class:`ReplayInput` says what is replayed and ships to a worker cheaply: a
memory-mapped ``.npy`` travels as its file name and offset (each worker maps the file
itself and reads only its range), an array in memory as the slice a shard needs.
"""

from __future__ import annotations

import math
import mmap
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from asnn_sim.graph.encoding import EncoderSpec, frame_kinds_of
from asnn_sim.graph.ir import Graph
from asnn_sim.sim.engine import COUNTS, BatchResult, Conventions
from asnn_sim.sim.kernels import tally_counts
from asnn_sim.sim.recording import Recorder, Recording, RecordSpec
from asnn_sim.sim.reuse import compiled


@dataclass(frozen=True)
class MappedArray:
    """A ``.npy`` file's array by reference: what a memory map pickles to here.

    NumPy pickles a memory map as a full in-memory copy; a worker given this record maps
    the file itself instead (the file must be visible to it: a shared file system on a
    cluster).
    """

    filename: str
    dtype: str
    shape: tuple[int, ...]
    offset: int
    fortran_order: bool

    @classmethod
    def of(cls, array: np.memmap) -> "MappedArray":
        order = bool(array.flags.f_contiguous and not array.flags.c_contiguous)
        return cls(str(array.filename), array.dtype.str, tuple(array.shape), int(array.offset), order)

    def open(self) -> np.ndarray:
        return np.memmap(self.filename, dtype=np.dtype(self.dtype), mode="r", shape=self.shape,
                         offset=self.offset, order="F" if self.fortran_order else "C")


@dataclass
class ReplayInput:
    """What a replay reads: images for the graph's encoder, or supplied frames.

    Attributes
    ----------
    data : numpy.ndarray or MappedArray
        Images ``(N, *input_shape)`` (``layout`` None), or frames ``(T, N, ...)`` /
        ``(N, T, ...)`` (``layout`` ``"TN"`` / ``"NT"``). A memory map is read one batch
        at a time.
    encoder : EncoderSpec, optional
        Encodes images; each sample draws from the stream of its global index.
    layout : {None, "TN", "NT"}
    frame_kinds : tuple of str, optional
        ``"binary"``/``"analog"`` per step over the whole dataset (supplied frames).
    first : int
        Global index of ``data``'s first sample (a shard's slice starts at its range).
    limit : int, optional
        Replay only the first ``limit`` samples (so a memory map need not be sliced).
    """

    data: np.ndarray | MappedArray
    encoder: EncoderSpec | None = None
    layout: str | None = None
    frame_kinds: tuple[str, ...] | None = None
    first: int = 0
    limit: int | None = None

    @property
    def array(self) -> np.ndarray:
        return self.data.open() if isinstance(self.data, MappedArray) else self.data

    @property
    def n(self) -> int:
        shape = self.data.shape
        n = self.first + (shape[1] if self.layout == "TN" else shape[0])
        return n if self.limit is None else min(n, self.limit)

    def batch(self, lo: int, hi: int, dtype) -> np.ndarray:
        """Simulator frames ``(T, B, ...)`` of samples ``lo:hi`` (global indices).

        Raises ``ValueError`` naming the sample, step and position of a NaN or infinite
        value: one would silently turn a whole step analog, or silence every neuron.
        """
        data, a, b = self.array, lo - self.first, hi - self.first
        if self.layout is not None:
            frames = np.ascontiguousarray(data[:, a:b] if self.layout == "TN" else np.swapaxes(data[a:b], 0, 1),
                                          dtype=dtype)
            bad = first_non_finite(frames)
            if bad is not None:
                t, s, *where = bad
                raise ValueError(f"input frames hold {frames[bad]} at step {t}, sample {lo + s}, position {tuple(where)}: "
                                 "frames must be finite")
            return frames
        x = np.asarray(data[a:b]).astype(dtype, copy=False)
        bad = first_non_finite(x)
        if bad is not None:
            s, *where = bad
            raise ValueError(f"image {lo + s} holds {x[bad]} at position {tuple(where)}: images must be finite")
        return self.encoder.encode(x, sample_ids=np.arange(lo, hi)) if self.encoder else x[None]

    def part(self, lo: int, hi: int) -> "ReplayInput":
        """What a worker needs for samples ``lo:hi``: the file by name, or that slice of memory."""
        if isinstance(self.data, MappedArray):
            return self
        if isinstance(self.data, np.memmap) and isinstance(self.data.base, mmap.mmap):
            # the whole file's map (a view of one would pickle as a copy of the view)
            return replace(self, data=MappedArray.of(self.data))
        a, b = lo - self.first, hi - self.first
        piece = self.data[:, a:b] if self.layout == "TN" else self.data[a:b]
        return replace(self, data=np.ascontiguousarray(piece), first=lo)


@dataclass
class ShardCounts:
    """The int64 counts and logits of samples ``lo:hi``.

    Attributes
    ----------
    lo, hi : int
        The samples' global indices (``hi`` excluded).
    totals : (R, T, n_counts) int64
        Summed over the shard's samples.
    per_sample : (hi - lo, R, n_counts) int64
        Summed over steps.
    step_logits : (hi - lo, T, K) float64
    seconds : float
        Wall time of the shard's replay.
    recording : Recording, optional
        The shard's recorded samples, when a recording was asked for and it holds some.
    """

    lo: int
    hi: int
    totals: np.ndarray
    per_sample: np.ndarray
    step_logits: np.ndarray
    seconds: float = 0.0
    recording: Recording | None = None


def check_replay_request(n: int, labels, n_classes: int) -> None:
    """One-line errors for an empty replay, or labels that do not match the samples or the classes."""
    if n == 0:
        raise ValueError("no samples to simulate")
    if labels is None:
        return
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} samples")
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be integer class indices; got dtype {labels.dtype}")
    outside = np.flatnonzero((labels < 0) | (labels >= n_classes))
    if outside.size:
        i = int(outside[0])
        raise ValueError(f"label {int(labels[i])} of sample {i} is not a class of this graph (0 to {n_classes - 1}); "
                         f"{outside.size} label(s) out of range")


def first_non_finite(values: np.ndarray) -> tuple[int, ...] | None:
    """Index of the first NaN or infinite value of ``values`` (None: all finite; integers always are)."""
    if values.dtype.kind not in "fc":
        return None
    bad = ~np.isfinite(values)
    if not bad.any():
        return None
    return tuple(int(i) for i in np.argwhere(bad)[0])


def replay_range(
    graph: Graph,
    stream: ReplayInput,
    lo: int,
    hi: int,
    *,
    precision: str = "float64",
    conventions: Conventions | None = None,
    batch_size: int = 128,
    on_batch: Callable[[np.ndarray, np.ndarray, BatchResult], None] | None = None,
    labels: np.ndarray | None = None,
    record_spikes: bool = False,
    advance: Callable[[int], object] | None = None,
    record: RecordSpec | None = None,
) -> ShardCounts:
    """Replay samples ``lo:hi`` in batches of ``batch_size``; memory is bounded by the batch
    (and by what ``record`` keeps).

    ``labels`` (all samples', indexed globally) only feed ``on_batch``; ``advance(k)``
    is called after every batch of ``k`` samples (a progress bar's ``update``);
    ``record_spikes`` hands every neuron node's spikes to ``on_batch``; ``record`` keeps
    the requested activity of the recorded samples in the shard's ``recording``.
    """
    import time

    start = time.perf_counter()
    batch_size = max(1, min(batch_size, hi - lo))  # a short range needs no buffers for a full batch
    with compiled(graph, precision, conventions, batch_size) as sim:
        T, R, n = graph.timesteps, len(sim.rows), hi - lo
        totals = np.zeros((R, T, len(COUNTS)), np.int64)
        per_sample = np.empty((n, R, len(COUNTS)), np.int64)
        step_logits = np.empty((n, T, graph.n_classes), np.float64)
        counts = sim.counts_buffer()
        recorder = None if record is None else Recorder(record, lo, hi, precision)
        for a in range(lo, hi, batch_size):
            b = min(hi, a + batch_size)
            frames = stream.batch(a, b, sim.dtype)
            keep = recorder is not None and recorder.wants(a)
            asked = True if record_spikes else (record.nodes if keep else False)
            result = sim.run_into(counts, frames, record=asked, frame_kinds=stream.frame_kinds,
                                  membranes=keep and record.membranes)
            if keep:
                recorder.add(a, b, result)
            tally_counts(result.counts, totals, per_sample[a - lo:b - lo])
            step_logits[a - lo:b - lo] = result.step_logits
            if on_batch is not None:
                on_batch(frames, None if labels is None else labels[a:b], result)
            if advance is not None:
                advance(b - a)
    return ShardCounts(lo, hi, totals, per_sample, step_logits, time.perf_counter() - start,
                       None if recorder is None else recorder.finish())


def binary_steps(stream: ReplayInput, lo: int, hi: int, batch_size: int = 128) -> np.ndarray:
    """``(T,)`` bools: whether every value of each step, over samples ``lo:hi``, is 0 or 1.

    Read one batch at a time. A step counts as spikes only when it is binary over the
    whole dataset (AND over all ranges), so counts do not depend on batching.
    """
    binary = None
    for a in range(lo, hi, batch_size):
        part = stream.batch(a, min(hi, a + batch_size), stream.array.dtype)
        kinds = np.array([k == "binary" for k in frame_kinds_of(part)])
        binary = kinds if binary is None else binary & kinds
    return binary


def step_kinds(binary: np.ndarray) -> tuple[str, ...]:
    """``"binary"`` / ``"analog"`` per step from :func:`binary_steps` (AND-ed over ranges)."""
    return tuple("binary" if b else "analog" for b in binary)


def split_samples(n: int, shards: int, multiple: int = 1) -> list[tuple[int, int]]:
    """``shards`` contiguous ranges tiling ``0:n``, each a multiple of ``multiple`` but the last.

    Fewer ranges come back when ``n`` is too small to give every one a sample.
    """
    if n < 1 or shards < 1 or multiple < 1:
        raise ValueError(f"split_samples needs n, shards and multiple >= 1; got {n}, {shards}, {multiple}")
    size = max(multiple, math.ceil(n / shards / multiple) * multiple)
    return [(lo, min(n, lo + size)) for lo in range(0, n, size)]


def merge_shards(shards: list[ShardCounts]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Totals, per-sample counts and step logits of all samples from shards that tile them.

    Raises ``ValueError`` when the shards miss a sample or hold one twice: a shard that
    ran twice (after a worker died) must arrive once.
    """
    ordered = sorted(shards, key=lambda s: s.lo)
    edge = 0
    for s in ordered:
        if s.lo != edge:
            what = "misses samples" if s.lo > edge else "holds samples twice"
            raise ValueError(f"the shards do not tile the samples: the merge {what} at index {min(s.lo, edge)}")
        edge = s.hi
    if len(ordered) == 1:  # one process's replay: its arrays are the result (no copies)
        return ordered[0].totals, ordered[0].per_sample, ordered[0].step_logits
    totals = ordered[0].totals.copy()
    for s in ordered[1:]:
        totals += s.totals
    per_sample = np.concatenate([s.per_sample for s in ordered])
    step_logits = np.concatenate([s.step_logits for s in ordered])
    return totals, per_sample, step_logits
