"""Does a model fit a chip: cores, chips and utilisation from a simple layer-by-layer mapping.

A neuromorphic chip is a grid of cores, each with a neuron limit, a synaptic memory and
(on crossbar chips) a limit on distinct inputs. A profile states them in its
``[capacity]`` table (:class:`hw_models.profile.Capacity`, each cited). The mapping here
is the simple one hardware papers start from, stated so a reader can redo it by hand:

* **Groups.** Every node that holds neurons (``n_neurons > 0`` in the layers table: spiking
  neurons, leaky integrators, the readout's accumulators) is one group, mapped on cores of
  its own (no two layers share a core).
* **Its synapses** are the synaptic layers feeding it, unrolled: a convolution stores a
  synapse per (output neuron, input tap), ``dense_macs_per_step`` of the layers table
  (neuromorphic cores hold no shared kernels). A current reaching the neurons through an
  ``add`` brings the synapses of every synaptic operand; an operand that is events (an
  identity shortcut) is one synapse of weight 1 per neuron. Its fan-in is the sum of the
  operands' fan-ins (1 for an identity operand).
* **Cores of a group** = the largest of what each stated limit needs:
  ``ceil(N / neurons_per_core) * ceil(fan_in / axons_per_core)`` (neurons, with a neuron
  whose inputs exceed one core's axons split over ``ceil(fan_in / axons)`` cores: an
  optimistic bound, the partial sums still have to meet) and
  ``ceil(synapses * synapse_bits / 8 / synapse_bytes_per_core)`` (synaptic memory).
* **Chips** = ``ceil(total cores / cores_per_chip)``; the model fits when that is 1.

Utilisation is neurons placed / neuron slots of the cores used, and synaptic bytes /
synaptic memory of the cores used. What the mapping leaves out (and so under-counts):
routing tables, axon/dendrite indices beside each weight, cores lost to placement, and
any compression a chip's synapse formats allow (which would over-count).

**Spikes between chips** (:func:`messages_per_spike`). The groups' cores are placed in
the table's order, filling chip 0, then chip 1, ...; a group whose cores straddle chips
has a share of them on each. A spike is sent once to every *other* chip that holds part
of a group it feeds (the groups its spikes reach through synaptic layers, adds and
pools), and travels on that chip's own network from there. So a spike of group ``A``
costs ``sum over consumer groups B, over A's chips a: share_A(a) x |chips(B) - {a}|``
inter-chip messages on average. One chip: 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from .profile import Profile


@dataclass(frozen=True)
class Mapping:
    """A model mapped on a profile's chips.

    Attributes
    ----------
    layers : pandas.DataFrame
        One row per neuron group: ``layer``, ``neurons``, ``synapses``, ``fan_in``,
        ``cores``, ``limited_by`` (``neurons``, ``axons`` or ``synapse memory``).
    cores, chips : int
    fits : bool
        One chip is enough.
    neuron_utilisation, synapse_utilisation : float
        Used / available in the cores the mapping occupies (NaN where the profile states
        no such limit).
    """

    layers: pd.DataFrame
    cores: int
    chips: int
    fits: bool
    neuron_utilisation: float
    synapse_utilisation: float


def neuron_groups(layers: pd.DataFrame) -> pd.DataFrame:
    """Neurons, unrolled synapses and fan-in of every node that holds neurons.

    Parameters
    ----------
    layers : pandas.DataFrame
        The ``layers`` table of a counts directory (``layer``, ``inputs``, ``output``,
        ``n_weights``, ``n_neurons``, ``fan_in``, ``dense_macs_per_step``).

    Returns
    -------
    pandas.DataFrame
        ``layer``, ``neurons``, ``synapses``, ``fan_in``, in the table's order.
    """
    rows = {r.layer: r for r in layers.itertuples(index=False)}

    def inputs_of(name: str) -> list[str]:
        text = rows[name].inputs
        return [s for s in str(text).split(",") if s] if isinstance(text, str) else []

    def feeding(name: str, neurons: int) -> tuple[int, int]:
        """(synapses, fan_in) of the current that node ``name`` produces, for ``neurons`` readers."""
        row = rows[name]
        if row.n_weights > 0:  # a synaptic layer: its connections, unrolled
            return int(row.dense_macs_per_step), int(row.fan_in)
        if row.output != "current":  # events added into a current: an identity synapse each
            return neurons, 1
        synapses = fan_in = 0
        for source in inputs_of(name):  # a sum of currents (an add): every operand's synapses
            s, f = feeding(source, neurons)
            synapses, fan_in = synapses + s, fan_in + f
        return synapses, fan_in

    out = []
    for row in layers.itertuples(index=False):
        if row.n_neurons <= 0:
            continue
        synapses = fan_in = 0
        for source in inputs_of(row.layer):
            s, f = feeding(source, int(row.n_neurons))
            synapses, fan_in = synapses + s, fan_in + f
        out.append({"layer": row.layer, "neurons": int(row.n_neurons), "synapses": synapses, "fan_in": fan_in})
    return pd.DataFrame(out, columns=["layer", "neurons", "synapses", "fan_in"])


def map_model(layers: pd.DataFrame, profile: Profile) -> Mapping | None:
    """Map the model of a ``layers`` table on ``profile``'s chips; None if it states no capacity."""
    cap = profile.capacity
    if cap is None:
        return None
    groups = neuron_groups(layers)
    cores, limits = [], []
    for g in groups.itertuples(index=False):
        need = {}
        if cap.neurons_per_core:
            split = math.ceil(g.fan_in / cap.axons_per_core) if cap.axons_per_core and g.fan_in else 1
            need["axons" if split > 1 else "neurons"] = math.ceil(g.neurons / cap.neurons_per_core) * split
        if cap.synapse_bytes_per_core:
            need["synapse memory"] = math.ceil(g.synapses * cap.synapse_bits / 8 / cap.synapse_bytes_per_core)
        limit = max(need, key=need.get)
        cores.append(max(1, need[limit]))
        limits.append(limit)
    table = groups.assign(cores=cores, limited_by=limits)
    total = int(table["cores"].sum())
    chips = max(1, math.ceil(total / cap.cores_per_chip))
    neuron_use = table["neurons"].sum() / (total * cap.neurons_per_core) if cap.neurons_per_core else math.nan
    synapse_use = (table["synapses"].sum() * cap.synapse_bits / 8 / (total * cap.synapse_bytes_per_core)
                   if cap.synapse_bytes_per_core else math.nan)
    return Mapping(table, total, chips, chips == 1, float(neuron_use), float(synapse_use))


def capacity_table(layers: pd.DataFrame, profiles: list[Profile]) -> pd.DataFrame:
    """Per profile and neuron group: the mapping's rows (profiles without capacity are left out)."""
    frames = []
    for p in profiles:
        m = map_model(layers, p)
        if m is not None:
            frames.append(m.layers.assign(profile=p.name))
    if not frames:
        return pd.DataFrame(columns=["profile", "layer", "neurons", "synapses", "fan_in", "cores", "limited_by"])
    table = pd.concat(frames, ignore_index=True)
    return table[["profile", "layer", "neurons", "synapses", "fan_in", "cores", "limited_by"]]


def _placement(mapping: Mapping, cores_per_chip: int) -> dict[str, dict[int, float]]:
    """Each group's share of its cores on each chip, with groups placed in table order."""
    shares, start = {}, 0
    for g in mapping.layers.itertuples(index=False):
        per_chip: dict[int, int] = {}
        for chip in range(start // cores_per_chip, (start + g.cores - 1) // cores_per_chip + 1):
            lo, hi = max(start, chip * cores_per_chip), min(start + g.cores, (chip + 1) * cores_per_chip)
            per_chip[chip] = hi - lo
        shares[g.layer] = {chip: n / g.cores for chip, n in per_chip.items()}
        start += g.cores
    return shares


def _readers(layers: pd.DataFrame) -> dict[str, list[str]]:
    """For each node, the nodes that read its output (the layers table's ``inputs``)."""
    readers: dict[str, list[str]] = {}
    for row in layers.itertuples(index=False):
        for source in str(row.inputs).split(",") if isinstance(row.inputs, str) else []:
            readers.setdefault(source, []).append(row.layer)
    return readers


def _consumer_groups(layers: pd.DataFrame, groups: set[str]) -> dict[str, list[str]]:
    """For each node, the neuron groups its output reaches without passing another group."""
    readers = _readers(layers)

    def reached(name: str, seen: set[str]) -> list[str]:
        found = []
        for reader in readers.get(name, []):
            if reader in seen:
                continue
            seen.add(reader)
            found += [reader] if reader in groups else reached(reader, seen)
        return found

    return {name: reached(name, set()) for name in layers["layer"]}


def messages_per_spike(layers: pd.DataFrame, profile: Profile) -> dict[str, float]:
    """Inter-chip messages one output spike of each neuron group causes (module docstring).

    Parameters
    ----------
    layers : pandas.DataFrame
        A layers table.
    profile : Profile
        With a ``[capacity]``; without one every group gets 0.

    Returns
    -------
    dict
        Group name -> mean messages per spike (0 for a model on one chip).
    """
    mapping = map_model(layers, profile)
    if mapping is None or mapping.chips == 1:
        return {}
    shares = _placement(mapping, profile.capacity.cores_per_chip)
    consumers = _consumer_groups(layers, set(shares))
    out = {}
    for name, mine in shares.items():
        out[name] = float(sum(share * len(set(shares[b]) - {chip}) for b in consumers[name] for chip, share in mine.items()))
    return out
