"""Activity metrics: spikes per synapse per inference, input event rate, and the zero-spike split.

Definitions (also in ``docs/energy.md``); only synaptic rows (conv2d, linear) take part
in the first three:

spike row
    A synaptic (layer, t) row whose input is spikes. A layer that only ever receives
    analog input (a direct-coded first layer) contributes no spike rows; in a layer that
    gets both (a hybrid first layer: analog frame at t = 0, spikes after), the rows with
    analog events and no spike events are left out.
spike-driven synaptic ops of a row
    ``synaptic_acs + synaptic_macs * graded / (graded + analog)``: ACs always come from
    spikes; MACs come from spikes only when their input events are graded (residual sums).
spikes per synapse per inference (``s``)
    Spike-driven synaptic ops per inference, summed over spike rows, divided by the
    synapses (dense connections, ``dense_macs_per_step``) of the layers that have spike
    rows. An ANN uses every connection exactly once per inference; an SNN uses a
    connection once per presynaptic spike. This is Dampfhoffer et al.'s (IEEE TETCI 2023)
    metric, whose break-even band is 0.15 to 1.38.
input event rate (``r``, ``input_event_rate``)
    Input events that are spikes (binary, or graded: residual sums of spikes) per input
    element per timestep, over the spike rows: what synaptic layers *receive*. Not the
    simulator's ``firing_rate``, which is output spikes per neuron per timestep (what
    neurons *send*); the two differ by the fan-in and by pooling between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from asnn_sim.graph.nodes import KINDS

from .counts import COUNT_NAMES, Counts, layer_geometry

#: Dampfhoffer et al., "Are SNNs really more energy-efficient than ANNs? An in-depth
#: hardware-aware study", IEEE TETCI 7(3):731-741, 2023 (abstract): SNNs compete with
#: efficient ANN implementations only between 0.15 and 1.38 spikes per synapse per
#: inference, depending on the ANN implementation.
DAMPFHOFFER_BAND = (0.15, 1.38)


@dataclass(frozen=True)
class Activity:
    """Network-level spike activity of one counts directory.

    Attributes
    ----------
    spikes_per_synapse : float
        ``s`` as defined in the module docstring (NaN if no layer has spike input).
    input_event_rate : float
        ``r``: input spike events per input element per timestep of the synaptic layers
        with spike input (NaN likewise). Not a firing rate (output spikes per neuron).
    spike_synops : float
        Spike-driven synaptic ops per inference.
    synapses : float
        Dense connections of the layers with spike input.
    """

    spikes_per_synapse: float
    input_event_rate: float
    spike_synops: float
    synapses: float


def is_synaptic(kinds) -> np.ndarray:
    """Boolean mask of the rows whose node kind is synaptic (conv2d, linear, ...)."""
    return np.array([KINDS[k].ROLE == "synapse" for k in kinds], dtype=bool)


def _shares(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Spike shares of MACs (graded / multi-bit events) and of events (spike / all)."""
    binary = table["in_events_binary"].to_numpy(dtype=float)
    graded = table["in_events_graded"].to_numpy(dtype=float)
    analog = table["in_events_analog"].to_numpy(dtype=float)
    multi, total = graded + analog, binary + graded + analog
    mac_share = np.divide(graded, multi, out=np.zeros_like(graded), where=multi > 0)
    event_share = np.divide(binary + graded, total, out=np.zeros_like(total), where=total > 0)
    return mac_share, event_share


def spike_rows(table: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the synaptic rows whose input is spikes (see module docstring)."""
    synaptic = is_synaptic(table["kind"])
    spikes = (table["in_events_binary"] + table["in_events_graded"]).to_numpy() > 0
    analog = table["in_events_analog"].to_numpy() > 0
    by_layer = pd.DataFrame({"layer": table["layer"].to_numpy(), "spikes": spikes, "analog": analog}).groupby("layer")
    layer_has_spikes = table["layer"].map(by_layer["spikes"].any()).to_numpy()
    layer_has_analog = table["layer"].map(by_layer["analog"].any()).to_numpy()
    analog_only_layer = layer_has_analog & ~layer_has_spikes
    analog_only_row = analog & ~spikes
    return synaptic & ~analog_only_layer & ~analog_only_row


def _source_event_share(table: pd.DataFrame, layers: pd.DataFrame) -> np.ndarray:
    """For each row, the spike share of the events that reach it.

    A node reading a current (a neuron, the readout) is reached by the events of every
    node that produced that current, following current-valued inputs back (through an
    add of currents, the events of all its operands, including an identity shortcut's
    spikes). Other rows get their own input events' share.
    """
    _, own = _shares(table)
    info = layers.set_index("layer")
    events = table.set_index(["layer", "t"])[["in_events_binary", "in_events_graded", "in_events_analog"]]

    def producers(name: str) -> list[str]:
        found = []
        for src in str(info.loc[name, "inputs"]).split(","):
            if src in info.index and info.loc[src, "output"] == "current":
                found += [src] + producers(src)
        return found

    share = own.copy()
    for i, (name, t) in enumerate(zip(table["layer"], table["t"])):
        rows = [(s, t) for s in producers(name) if (s, t) in events.index]
        if not rows:
            continue
        e = events.loc[rows].to_numpy(dtype=float).sum(axis=0)
        total = e.sum()
        share[i] = (e[0] + e[1]) / total if total > 0 else 0.0
    return share


def zero_spike_table(table: pd.DataFrame, layers: pd.DataFrame) -> pd.DataFrame:
    """The counts with every spike-driven count set to zero (activity scale 0).

    Input spike events, ACs, the graded share of MACs, the spike-reached share of touched
    neurons, output spikes and resets go to zero, and each kind removes the spike-driven
    part of its own columns (``spike_free`` in :mod:`asnn_sim.graph.nodes`: e.g. residual adds
    and pooling windows); everything that happens regardless of spikes (analog-input
    MACs, neurons updated every step, their arithmetic, dense additions of currents)
    stays.

    Parameters
    ----------
    table : pandas.DataFrame
        A counts table.
    layers : pandas.DataFrame
        Its layers table (which node feeds which).

    Returns
    -------
    pandas.DataFrame
        A float copy.
    """
    mac_share, event_share = _shares(table)
    out = table.copy()
    q = {name: table[name].to_numpy(dtype=float) for name in COUNT_NAMES}
    q["output"] = table["layer"].map(layers.set_index("layer")["output"]).to_numpy()
    q["event_share"] = event_share
    kinds = table["kind"].to_numpy()
    for kind in pd.unique(kinds):
        mask = kinds == kind
        part = {k: v[mask] for k, v in q.items()}
        for name, value in KINDS[kind].spike_free(part).items():
            column = out[name].to_numpy(dtype=float, copy=True)  # a float column is a read-only view otherwise
            column[mask] = value
            out[name] = column
    for name in ("in_events_binary", "in_events_graded", "synaptic_acs", "output_spikes", "neuron_resets"):
        out[name] = 0.0
    out["synaptic_macs"] = table["synaptic_macs"].to_numpy(dtype=float) * (1.0 - mac_share)
    out["neurons_touched"] = table["neurons_touched"].to_numpy(dtype=float) * (1.0 - _source_event_share(table, layers))
    return out


def layer_activity(counts: Counts) -> pd.DataFrame:
    """Per-node spikes per synapse and input event rate (synaptic rows), and firing (neuron rows).

    Parameters
    ----------
    counts : Counts

    Returns
    -------
    pandas.DataFrame
        Columns ``layer``, ``layer_index``, ``kind``, ``spike_input`` (bool),
        ``spikes_per_synapse``, ``input_event_rate`` (input spike events per input element
        per step; NaN except on synaptic rows with spike input),
        ``output_spikes_per_neuron_per_step`` (the firing rate; NaN except on neuron rows).
    """
    table = counts.counts
    geo = layer_geometry(counts.layers)
    mac_share, _ = _shares(table)
    n = float(counts.n_samples)
    mask = spike_rows(table)
    work = pd.DataFrame(
        {
            "layer": table["layer"],
            "spike_row": mask,
            "synops": np.where(mask, table["synaptic_acs"] + table["synaptic_macs"] * mac_share, 0.0) / n,
            "events": np.where(mask, table["in_events_binary"] + table["in_events_graded"], 0.0) / n,
            "elements": np.where(mask, geo.loc[table["layer"], "in_elements"].to_numpy(), 0.0),
            "out_spikes": table["output_spikes"] / n,
            "neurons": table["neurons"] / n,
        }
    )
    grouped = work.groupby("layer", sort=False).sum(numeric_only=True)
    rows = []
    for _, layer in counts.layers.iterrows():
        name = layer["layer"]
        g = grouped.loc[name] if name in grouped.index else None
        spike_input = bool(g is not None and work.loc[work["layer"] == name, "spike_row"].any())
        synapses = float(layer["dense_macs_per_step"])
        fires = KINDS[layer["kind"]].ROLE == "neuron"
        rows.append(
            {
                "layer": name,
                "layer_index": int(layer["layer_index"]),
                "kind": layer["kind"],
                "spike_input": spike_input,
                "spikes_per_synapse": (g["synops"] / synapses) if spike_input and synapses > 0 else np.nan,
                "input_event_rate": (g["events"] / g["elements"]) if spike_input and g["elements"] > 0 else np.nan,
                "output_spikes_per_neuron_per_step": (g["out_spikes"] / g["neurons"])
                if fires and g is not None and g["neurons"] > 0
                else np.nan,
            }
        )
    return pd.DataFrame(rows)


def activity(counts: Counts) -> Activity:
    """Network-level spikes per synapse per inference and input event rate.

    Parameters
    ----------
    counts : Counts
        An SNN counts directory.

    Returns
    -------
    Activity
    """
    table = counts.counts
    geo = layer_geometry(counts.layers)
    mac_share, _ = _shares(table)
    mask = spike_rows(table)
    n = float(counts.n_samples)
    synops = float(np.sum(np.where(mask, table["synaptic_acs"] + table["synaptic_macs"] * mac_share, 0.0))) / n
    events = float(np.sum(np.where(mask, table["in_events_binary"] + table["in_events_graded"], 0.0))) / n
    elements = float(np.sum(np.where(mask, geo.loc[table["layer"], "in_elements"].to_numpy(), 0.0)))
    spike_layers = sorted(set(table.loc[mask, "layer"]))
    synapses = float(geo.loc[spike_layers, "dense_macs_per_step"].sum()) if spike_layers else 0.0
    return Activity(
        spikes_per_synapse=synops / synapses if synapses > 0 else float("nan"),
        input_event_rate=events / elements if elements > 0 else float("nan"),
        spike_synops=synops,
        synapses=synapses,
    )
