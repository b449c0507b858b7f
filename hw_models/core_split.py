"""How a neuron group's work divides over its cores: evenly, or as recorded spikes place it.

The per-core timing (:mod:`hw_models.timing`) asks, per step, how much work the busiest
core of every group does. The counts hold each group's totals, not each core's, so by
default a group's work is split **evenly** over its cores: the mean sample's activity on
balanced cores. That is a lower bound on a real placement's busiest core, whose neurons may
fire more than the group's mean (a busy channel held on a core of its own).

Where the replay **recorded the spikes** of a group's neurons (``simulate(record=...)``,
``asnn simulate --record``: ``recording.npz`` beside the counts), the split follows them.
A group's cores hold *slices*, runs of consecutive neurons in ``C x H x W`` order
(:func:`hw_models.reach.slice_bounds`, as the capacity mapping and SANA-FE place them), and
for every step and slice ``s`` of group ``g``:

* **spikes sent**: the recorded spikes of the slice's neurons;
* **messages sent**: each of those spikes is one message per slice holding one of its
  targets, counted neuron by neuron (a convolution's border neuron reaches fewer slices);
* **messages received** from a source ``f``: the recorded spikes of the neurons of ``f``
  that reach ``s`` (:func:`hw_models.reach.slice_sources`), exactly the messages a chip
  delivers to that core; a source without a recording (the model's input) is taken as
  spread evenly over its neurons;
* **neuron updates**: the slice's share of the group's neurons;
* **synaptic ops**: the group's ops in proportion to the messages each slice receives. This
  is the one approximation left: exact for a dense link (every message drives every neuron
  of the slice, and slices differ by one neuron at most), close for a convolution, whose
  window covers fewer of a slice's neurons at the slice's edges.

Shares come from the recorded samples (the replay's first ``N``) and are applied to the
counts' totals (all samples): a recording of every sample gives the same activity as the
counts. A slice that spans several cores (an axon split) has its work spread over them.
An even split is the same record with one slice holding all of a group's cores.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import EnergyError
from .reach import nodes_of, slice_bounds, slice_sources, union_indices

__all__ = ["NeuronActivity", "SliceSplit", "even_split", "neuron_hops", "recorded_split"]


@dataclass(frozen=True)
class NeuronActivity:
    """Recorded spikes per neuron, the input to :func:`recorded_split`.

    Attributes
    ----------
    spikes : dict
        Node -> ``(T, n)`` float64: spikes of each neuron (flat, ``C x H x W`` order) at each
        step, summed over the recorded samples.
    samples : int
        Samples recorded.
    """

    spikes: dict[str, np.ndarray]
    samples: int

    @classmethod
    def from_trains(cls, trains: dict[str, np.ndarray]) -> NeuronActivity | None:
        """From spike trains ``(T, N, *shape)`` (:attr:`asnn_sim.sim.recording.Recording.spikes`);
        None when there are none."""
        if not trains:
            return None
        summed = {name: np.asarray(a).reshape(a.shape[0], a.shape[1], -1).sum(axis=1, dtype=np.float64)
                  for name, a in trains.items()}
        return cls(summed, int(next(iter(trains.values())).shape[1]))

    @classmethod
    def load(cls, path: str | Path) -> NeuronActivity | None:
        """From a ``recording.npz`` (:meth:`asnn_sim.sim.recording.Recording.save`); None
        where the file does not exist."""
        path = Path(path)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                trains = {key.split("/", 1)[1]: data[key] for key in data.files if key.startswith("spikes/")}
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise EnergyError(f"{path}: cannot read the recording ({type(exc).__name__}: {exc})") from exc
        return cls.from_trains(trains)

    def describe(self) -> str:
        """How the timing split work over cores, for the timing table."""
        return f"recorded ({self.samples} samples)"


@dataclass(frozen=True)
class SliceSplit:
    """How one group's work divides over its slices (columns), step by step (rows).

    Attributes
    ----------
    neurons : numpy.ndarray
        ``(S,)`` share of the group's neurons on each slice.
    spikes, messages : numpy.ndarray
        ``(T, S)`` or ``(1, S)`` (the same every step): share of the group's spikes and of
        the messages they send, per slice.
    received : dict
        Source (a group, ``""`` for the input) -> ``(T, S)`` or ``(1, S)``: messages a slice
        receives per spike of the source.
    cores_per_slice : float
        The group's cores / its slices (a slice's work is spread over its cores).
    destinations : numpy.ndarray or None
        ``(T,)`` messages one spike of the group sends at each step (recorded activity);
        None: the mean over its neurons (:meth:`hw_models.timing.CoreMap.destinations`).
    hops : numpy.ndarray or None
        ``(T,)`` hops those messages travel in all, per spike (recorded activity, on a
        profile that states its mesh); None: the mean over its neurons.
    """

    neurons: np.ndarray
    spikes: np.ndarray
    messages: np.ndarray
    received: dict[str, np.ndarray]
    cores_per_slice: float
    destinations: np.ndarray | None = field(default=None)
    hops: np.ndarray | None = field(default=None)


def even_split(cores: dict[str, int], feeders: dict[str, list[str]], reach: dict) -> dict[str, SliceSplit]:
    """One slice per group holding all its cores: a spike of ``f`` (a feeder of ``g``;
    ``""``, the input) reaches ``reach(f, g) x cores(g)`` of them (``reach``:
    :attr:`hw_models.timing.CoreMap.reach`)."""
    one = np.ones((1, 1))
    out = {}
    for g, n in cores.items():
        received = {f: one * reach.get((f, g), 1.0) * n for f in feeders.get(g, [])}
        out[g] = SliceSplit(np.ones(1), one, one, received, float(n))
    return out


def recorded_split(layers: pd.DataFrame, mapping: pd.DataFrame, neurons_per_core: int | None,
                   activity: NeuronActivity, hops: dict[str, np.ndarray] | None = None) -> dict[str, SliceSplit]:
    """The split of every mapped group from recorded spikes (module docstring).

    Parameters
    ----------
    layers : pandas.DataFrame
        A validated layers table.
    mapping : pandas.DataFrame
        :attr:`hw_models.capacity.Mapping.layers`.
    neurons_per_core : int or None
        The profile's ``[capacity]`` neuron limit.
    activity : NeuronActivity
    hops : dict, optional
        Group -> hops each neuron's spike travels (:func:`neuron_hops`), to weigh by the
        recorded spikes.

    Returns
    -------
    dict
        Group -> :class:`SliceSplit`.

    Raises
    ------
    EnergyError
        A recorded node's neurons or steps do not match the layers table.
    """
    nodes = nodes_of(layers)
    inputs = set(layers.loc[layers["kind"] == "input", "layer"])
    steps = {a.shape[0] for a in activity.spikes.values()}
    if len(steps) != 1:
        raise EnergyError(f"the recording's nodes have different step counts: {sorted(steps)}")
    T = steps.pop()
    spikes = {}
    for name, a in activity.spikes.items():
        if name not in nodes:
            continue  # a recorded node the counts do not map (nothing to split)
        if a.shape[1] != math.prod(nodes[name].out_shape):
            raise EnergyError(f"recording: node {name!r} has {a.shape[1]} neurons, the layers table "
                              f"{math.prod(nodes[name].out_shape)}")
        spikes[name] = a
    groups = list(mapping.itertuples(index=False))
    bounds_of = {g.layer: slice_bounds(g, neurons_per_core) for g in groups}
    reaches = {g.layer: np.zeros(int(g.neurons)) for g in groups}  # slices each neuron's spike reaches
    received: dict[str, dict[str, np.ndarray]] = {}
    for g in groups:
        bounds = bounds_of[g.layer]
        columns: dict[str, np.ndarray] = {}
        for s, (_, per_source) in enumerate(slice_sources(nodes, g, neurons_per_core)):
            for source, boxes in per_source.items():
                key = "" if source in inputs else source
                size = math.prod(nodes[source].out_shape)
                idx = union_indices(boxes, nodes[source].out_shape)
                if key in reaches:
                    reaches[key][slice(None) if idx is None else idx] += 1
                column = columns.setdefault(key, np.zeros((T, len(bounds) - 1)))
                even = 1.0 if idx is None else len(idx) / size
                if key in spikes:
                    a = spikes[key]
                    total = a.sum(axis=1)
                    part = total if idx is None else a[:, idx].sum(axis=1)
                    column[:, s] = np.where(total > 0, part / np.maximum(total, 1e-300), even)
                else:
                    column[:, s] = even
        received[g.layer] = columns
    out = {}
    for g in groups:
        bounds = bounds_of[g.layer]
        sizes = np.diff(bounds)
        share = sizes / sizes.sum()
        dest = reaches[g.layer]
        per_slice = np.add.reduceat(dest, bounds[:-1])
        dest_share = per_slice / per_slice.sum() if per_slice.sum() > 0 else share  # spikes spread evenly
        if g.layer in spikes:
            a = spikes[g.layer]
            sent = np.add.reduceat(a, bounds[:-1], axis=1)
            messages = np.add.reduceat(a * dest[None, :], bounds[:-1], axis=1)
            total, total_messages = sent.sum(axis=1, keepdims=True), messages.sum(axis=1, keepdims=True)
            spike_share = np.where(total > 0, sent / np.maximum(total, 1e-300), share)
            message_share = np.where(total_messages > 0, messages / np.maximum(total_messages, 1e-300), dest_share)
            destinations = np.where(total[:, 0] > 0, total_messages[:, 0] / np.maximum(total[:, 0], 1e-300), dest.mean())
            travelled = None
            if hops is not None and g.layer in hops:
                travelled = np.where(total[:, 0] > 0, a @ hops[g.layer] / np.maximum(total[:, 0], 1e-300), hops[g.layer].mean())
        else:  # no recording: spikes spread evenly over the neurons, each sending its own messages
            spike_share, message_share, destinations, travelled = share[None, :], dest_share[None, :], None, None
        out[g.layer] = SliceSplit(share, spike_share, message_share, received[g.layer],
                                  int(g.cores) / (len(bounds) - 1), destinations, travelled)
    return out


def _slice_cores(mapping: pd.DataFrame, neurons_per_core: int | None) -> dict[str, np.ndarray]:
    """Group -> the first core of each of its slices: the groups take consecutive cores from
    core 0 in the mapping's order, as :mod:`hw_models.capacity` places them."""
    out, start = {}, 0
    for g in mapping.itertuples(index=False):
        slices = len(slice_bounds(g, neurons_per_core)) - 1
        out[g.layer] = start + (np.arange(slices) * int(g.cores)) // slices
        start += int(g.cores)
    return out


def neuron_hops(layers: pd.DataFrame, mapping: pd.DataFrame, capacity) -> dict[str, np.ndarray]:
    """Per group, the hops one spike of each of its neurons travels in all: for every slice
    holding one of its targets, the Manhattan distance on the chip's mesh between the
    tiles of the neuron's core and of that slice's.

    A chip's tiles (``capacity.cores_per_tile`` cores each) fill its mesh column by column,
    ``capacity.mesh_rows`` to a column (tile ``t`` at column ``t // mesh_rows``, row
    ``t % mesh_rows``, as SANA-FE lays Loihi's out); a message within a tile travels no hop.
    A model on several chips is measured within each chip (the way between chips is the
    inter-chip traffic, priced apart).

    Parameters
    ----------
    layers : pandas.DataFrame
        A validated layers table.
    mapping : pandas.DataFrame
        :attr:`hw_models.capacity.Mapping.layers`.
    capacity : hw_models.profile.Capacity
        With ``cores_per_tile`` and ``mesh_rows``.

    Returns
    -------
    dict
        Group -> ``(n,)`` float64 hops per spike of each neuron (0 for a group that feeds
        none). The input is off chip: it has none.
    """
    nodes = nodes_of(layers)
    npc = capacity.neurons_per_core
    first_core = _slice_cores(mapping, npc)

    def place(cores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tile = (cores % capacity.cores_per_chip) // capacity.cores_per_tile
        return tile // capacity.mesh_rows, tile % capacity.mesh_rows

    groups = list(mapping.itertuples(index=False))
    bounds = {g.layer: slice_bounds(g, npc) for g in groups}
    hops = {g.layer: np.zeros(int(g.neurons)) for g in groups}
    for g in groups:
        gx, gy = place(first_core[g.layer])
        for s, (_, per_source) in enumerate(slice_sources(nodes, g, npc)):
            for source, boxes in per_source.items():
                if source not in hops:
                    continue  # the input, off chip
                fx, fy = place(first_core[source])
                distance = np.abs(fx - gx[s]) + np.abs(fy - gy[s])  # per slice of the source
                idx = union_indices(boxes, nodes[source].out_shape)
                idx = np.arange(len(hops[source])) if idx is None else idx
                hops[source][idx] += distance[np.searchsorted(bounds[source], idx, side="right") - 1]
    return hops
