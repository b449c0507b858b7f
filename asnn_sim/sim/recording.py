"""What a replay recorded: spike trains and membrane potentials of chosen neuron nodes.

Layout, in memory and on disk: every array is ``(T, N, *shape)``, step first, then
sample, then the node's own shape channel-first (``(C, H, W)`` or ``(n,)``) as PyTorch
holds it. Spikes are uint8 0/1. Membranes are in the replay's precision, two per neuron
and step: *before the reset* (after integrating: what the threshold is tested on) and
*after the reset* (what the next step starts from). A neuron that did not fire has the
same value in both.

The file (:meth:`Recording.save`) is one ``.npz``, numpy's zip of ``.npy`` arrays, so
``numpy.load`` reads it without this package:

=================================  ========================  =====================================
key                                array                     holds
=================================  ========================  =====================================
``spikes/<node>``                  ``(T, N, ...)`` uint8     0/1 per neuron and step
``membranes_before_reset/<node>``  ``(T, N, ...)`` float     with ``record_membranes`` only
``membranes_after_reset/<node>``   ``(T, N, ...)`` float     with ``record_membranes`` only
``samples``                        ``(N,)`` int64            index of each recorded sample in the replay
``meta``                           0-d str                   JSON: format, layout, precision, nodes
=================================  ========================  =====================================

The recorded samples are the replay's first ``N`` (``record_samples``); a sharded replay
records each shard's part and :func:`merge_recordings` puts them in sample order, so
the arrays do not depend on how the samples were split. What a request will hold is
known before the replay (:meth:`RecordSpec.nbytes`), and one above its limit is refused
before any work.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from asnn_sim.graph.ir import Graph, GraphError
from asnn_sim.graph.nodes.base import n_elements
from asnn_sim.util.names import did_you_mean

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FORMAT", "Recorder", "Recording", "RecordSpec", "check_recorded", "merge_recordings", "record_spec",
           "spiking_nodes"]

#: Version of the ``.npz`` layout above.
FORMAT = 1
#: A request above this many bytes is refused unless the caller raises the limit.
DEFAULT_LIMIT_GB = 2.0
PRECISION_BYTES = {"float32": 4, "float64": 8}
#: The arrays a recording holds per node, by the attribute (and file key) that holds them.
RECORDED = ("spikes", "membranes_before_reset", "membranes_after_reset")


def spiking_nodes(graph: Graph) -> list[str]:
    """Names of the nodes whose spikes (and membranes) can be recorded, in execution order."""
    return [node.name for node in graph.nodes if getattr(node, "RECORDS", False)]


def check_recorded(graph: Graph, names: Sequence[str]) -> list[str]:
    """``names`` if each is a spiking node of ``graph`` (duplicates dropped, order kept).

    Raises
    ------
    GraphError
        One line naming the first name that is not a spiking node, with the closest
        spiking node and the list to choose from.
    """
    spiking = spiking_nodes(graph)
    if not spiking:
        raise GraphError("this graph has no spiking neurons to record (an ANN graph)")
    kinds = {node.name: node.kind for node in graph.nodes}
    for name in names:
        if name in spiking:
            continue
        if name in kinds:
            raise GraphError(f"node {name!r} is a {kinds[name]}, not a spiking neuron node: record one of {', '.join(spiking)}")
        hint = did_you_mean(name, spiking)
        raise GraphError(f"no spiking node {name!r} in this graph" + (f" ({hint})" if hint else "")
                         + f"; record one of {', '.join(spiking)}")
    return list(dict.fromkeys(names))


class RecordingTooLarge(ValueError):
    """A recording request above its memory limit (raised before any work)."""


@dataclass(frozen=True)
class RecordSpec:
    """What a replay records.

    Attributes
    ----------
    nodes : tuple of str
        Spiking nodes in execution order, checked against the graph (:func:`record_spec`).
    membranes : bool
        Also the membranes before and after the reset.
    samples : int, optional
        Record only the replay's first ``samples`` samples (the counts cover all).
    limit_gb : float
        Refuse a request whose arrays would take more (GB, 10^9 bytes).
    """

    nodes: tuple[str, ...]
    membranes: bool = False
    samples: int | None = None
    limit_gb: float = DEFAULT_LIMIT_GB

    def recorded(self, n: int) -> int:
        """How many of ``n`` replayed samples are recorded."""
        return n if self.samples is None else min(n, self.samples)

    def nbytes(self, graph: Graph, n: int, precision: str) -> int:
        """Bytes of the arrays recording ``n`` replayed samples of ``graph`` will hold."""
        neurons = sum(n_elements(graph.shapes[name]) for name in self.nodes)
        per_neuron_step = 1 + (2 * PRECISION_BYTES[precision] if self.membranes else 0)
        return graph.timesteps * self.recorded(n) * neurons * per_neuron_step

    def check_size(self, graph: Graph, n: int, precision: str) -> None:
        """Refuse, before any work, a request above ``limit_gb``, with its size and the ways to narrow it."""
        size = self.nbytes(graph, n, precision)
        if size <= self.limit_gb * 1e9:
            return
        what = "spikes and membranes" if self.membranes else "spikes"
        raise RecordingTooLarge(
            f"recording the {what} of {len(self.nodes)} node(s) for {self.recorded(n)} samples x T={graph.timesteps} "
            f"would take {_size(size)}, above the {self.limit_gb:g} GB limit: record fewer samples "
            f"(record_samples / --record-samples), fewer nodes{', no membranes' if self.membranes else ''}, "
            "or raise the limit (record_limit_gb / --record-limit-gb)")


def _size(nbytes: int) -> str:
    """``nbytes`` in GB, MB or kB, whichever reads best."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6)):
        if nbytes >= scale:
            return f"{nbytes / scale:.2f} {unit}"
    return f"{nbytes / 1e3:.1f} kB"


def record_spec(graph: Graph, record, *, membranes: bool = False, samples: int | None = None,
                limit_gb: float = DEFAULT_LIMIT_GB) -> RecordSpec | None:
    """A checked :class:`RecordSpec` from what a user passes, or None when nothing is recorded.

    Parameters
    ----------
    graph : Graph
    record : None, False, True, "all", str or list of str
        Nothing; every spiking node; one node; the named nodes.
    membranes : bool
    samples : int, optional
        At least 1.
    limit_gb : float
        Positive.

    Raises
    ------
    ValueError
        One line: an unknown or non-spiking node, membranes or samples asked for without
        a node to record, a bad count or limit.
    """
    if record is None or record is False:
        if membranes or samples is not None:
            raise ValueError("record_membranes and record_samples need nodes to record: pass record=True (every "
                             "spiking node) or their names (--record all / --record NODE,NODE)")
        return None
    if isinstance(samples, bool) or (samples is not None and (not isinstance(samples, (int, np.integer)) or samples < 1)):
        raise ValueError(f"record_samples must be a whole number of samples >= 1; got {samples!r}")
    if isinstance(limit_gb, bool) or not isinstance(limit_gb, (int, float)) or not limit_gb > 0:
        raise ValueError(f"record_limit_gb must be a positive number of GB; got {limit_gb!r}")
    if record is True or record == "all":
        names = spiking_nodes(graph)
        if not names:
            raise GraphError("this graph has no spiking neurons to record (an ANN graph)")
    else:
        asked = set(check_recorded(graph, [record] if isinstance(record, str) else list(record)))
        if not asked:
            raise ValueError("record names no node; pass record=True to record every spiking node")
        names = [name for name in spiking_nodes(graph) if name in asked]  # in execution order, like the tables
    return RecordSpec(tuple(names), bool(membranes), None if samples is None else int(samples), float(limit_gb))


@dataclass
class Recording:
    """Spike trains (and, when asked, membranes) of a replay's recorded nodes and samples.

    Every array is ``(T, N, *shape)``, channel-first (see the module docstring).

    Attributes
    ----------
    spikes : dict
        Node name -> uint8 0/1 spikes.
    membranes_before_reset, membranes_after_reset : dict
        Node name -> membranes in the replay's precision (empty unless recorded).
    samples : numpy.ndarray
        ``(N,)`` index in the replay of each recorded sample.
    precision : str
    """

    spikes: dict[str, np.ndarray]
    membranes_before_reset: dict[str, np.ndarray] = field(default_factory=dict)
    membranes_after_reset: dict[str, np.ndarray] = field(default_factory=dict)
    samples: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    precision: str = "float64"

    def __repr__(self) -> str:
        membranes = " with membranes" if self.membranes_after_reset else ""
        return (f"Recording({len(self.spikes)} node(s), {len(self.samples)} sample(s), T={self.timesteps}{membranes}, "
                f"{self.nbytes / 1e6:.1f} MB)")

    @property
    def nodes(self) -> list[str]:
        """The recorded nodes, in execution order."""
        return list(self.spikes)

    @property
    def timesteps(self) -> int:
        return next(iter(self.spikes.values())).shape[0] if self.spikes else 0

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for part in (self.spikes, self.membranes_before_reset, self.membranes_after_reset)
                   for a in part.values())

    def firing_rates(self) -> pd.DataFrame:
        """Firing rate per recorded node and step over the recorded samples.

        Returns
        -------
        pandas.DataFrame
            Columns ``layer``, ``t``, ``spikes`` (total over the samples), ``neurons``
            (the node's size) and ``firing_rate``: spikes per neuron per sample at that
            step, the same quantity as ``simulate``'s per-layer ``firing_rate`` (which
            is averaged over the steps and over every sample replayed).
        """
        import pandas as pd

        rows = []
        n = max(1, len(self.samples))
        for name, spikes in self.spikes.items():
            per_step = spikes.reshape(spikes.shape[0], -1).sum(axis=1, dtype=np.int64)
            size = int(np.prod(spikes.shape[2:], dtype=np.int64))
            for t, count in enumerate(per_step):
                rows.append((name, t, int(count), size, count / (size * n)))
        return pd.DataFrame(rows, columns=["layer", "t", "spikes", "neurons", "firing_rate"])

    def save(self, path: str | os.PathLike) -> Path:
        """Write the ``.npz`` file described in the module docstring, atomically (never half-written)."""
        from asnn_sim.util.atomic import atomic_path

        path = Path(path)
        arrays = {"samples": np.asarray(self.samples, np.int64), "meta": np.array(json.dumps(self._meta()))}
        for array in RECORDED:
            arrays.update({f"{array}/{name}": a for name, a in getattr(self, array).items()})
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        return path

    def _meta(self) -> dict:
        return {"format": FORMAT, "layout": "(T, N, *shape) channel-first", "precision": self.precision,
                "nodes": self.nodes, "membranes": bool(self.membranes_after_reset)}

    @classmethod
    def load(cls, path: str | os.PathLike) -> Recording:
        """Read a file written by :meth:`save` (checked: a one-line error for anything else)."""
        import zipfile

        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
            raise ValueError(f"{path}: not a readable recording (.npz): {e}") from None
        if "meta" not in arrays or "samples" not in arrays:
            raise ValueError(f"{path}: not a recording written by asnn-sim (no 'meta' or 'samples' array)")
        meta = json.loads(str(arrays.pop("meta")))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: recording format {meta.get('format')!r}; this version reads format {FORMAT}")
        parts: dict[str, dict] = {held: {} for held in RECORDED}
        for key, array in arrays.items():
            held, _, name = key.partition("/")
            if held in parts:
                parts[held][name] = array
        order = meta["nodes"]
        return cls(**{held: {name: part[name] for name in order if name in part} for held, part in parts.items()},
                   samples=arrays["samples"], precision=meta["precision"])


class Recorder:
    """Collects the recorded slices of a replay's batches for samples ``lo:hi`` (one shard)."""

    def __init__(self, spec: RecordSpec, lo: int, hi: int, precision: str) -> None:
        self.spec = spec
        self.lo = lo
        self.end = hi if spec.samples is None else max(lo, min(hi, spec.samples))
        self.precision = precision
        self.parts: dict[str, dict[str, list]] = {held: {name: [] for name in spec.nodes} for held in RECORDED}

    def wants(self, a: int) -> bool:
        """Whether a batch starting at sample ``a`` holds a recorded sample."""
        return a < self.end

    def add(self, a: int, b: int, result) -> None:
        """Keep samples ``a:min(b, end)`` of a batch's :class:`~asnn_sim.sim.engine.BatchResult` (copies)."""
        k = min(b, self.end) - a
        for name in self.spec.nodes:
            self.parts["spikes"][name].append(result.spikes[name][:, :k].copy())
            if self.spec.membranes:
                self.parts["membranes_before_reset"][name].append(result.membranes_before_reset[name][:, :k].copy())
                self.parts["membranes_after_reset"][name].append(result.membranes_after_reset[name][:, :k].copy())

    def finish(self) -> Recording | None:
        """This shard's recording, or None when it recorded no sample."""
        if self.end <= self.lo:
            return None
        arrays = {held: {name: np.concatenate(chunks, axis=1) for name, chunks in by_node.items() if chunks}
                  for held, by_node in self.parts.items()}
        return Recording(**arrays, samples=np.arange(self.lo, self.end, dtype=np.int64), precision=self.precision)


def merge_recordings(parts: Sequence[Recording | None]) -> Recording | None:
    """One recording of the parts' samples, in sample order (shards replayed anywhere)."""
    parts = sorted((p for p in parts if p is not None), key=lambda p: int(p.samples[0]) if len(p.samples) else 0)
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    merged = {held: {name: np.concatenate([getattr(p, held)[name] for p in parts], axis=1) for name in getattr(parts[0], held)}
              for held in RECORDED}
    return Recording(**merged, samples=np.concatenate([p.samples for p in parts]), precision=parts[0].precision)
