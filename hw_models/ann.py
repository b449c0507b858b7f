"""The equivalent ANN, as a counts table the energy model can price like the SNN's.

Two baselines:

dense
    Built from the SNN's ``layers`` table alone: one pass (one "timestep"), every MAC of
    ``dense_macs_per_step`` performed, zeros included; every input element read; every
    neuron gets a bias add and a ReLU compare (the readout only the bias add); every
    activation written; residual adds and pools do their dense work. A hybrid first
    layer holds two weight sets in the SNN; the ANN has one, so its weight and bias
    counts are divided by ``n_weight_sets``.
zero-skip
    A replayed ANN counts directory (``graph.kind == 'ann'``) from the same simulator:
    ``synaptic_macs`` counts only MACs with a non-zero input, ``output_spikes`` the
    non-zero ReLU outputs. It is priced on the dense dataflow (partial sums in registers),
    performing only the MACs, input reads and address work of non-zero inputs, so it never
    costs more than the dense ANN.
"""

from __future__ import annotations

import math

import pandas as pd

from asnn_sim.graph.nodes import KINDS

from .counts import COUNT_NAMES, Counts, layer_geometry
from .errors import EnergyError


def matched_bits(timesteps: int) -> int:
    """Bits an ANN activation needs to carry what T binary timesteps carry.

    ``ceil(log2(T + 1))``: a rate code over T steps has T + 1 levels (Yan et al.,
    arXiv 2409.08290, map T-step SNNs to such quantised ANNs).

    Parameters
    ----------
    timesteps : int

    Returns
    -------
    int
    """
    if timesteps < 1:
        raise EnergyError(f"timesteps must be >= 1 to match bit-widths (got {timesteps})")
    return max(1, math.ceil(math.log2(timesteps + 1)))


def dense_ann_counts(counts: Counts) -> Counts:
    """Counts of the dense equivalent ANN, built from the SNN's layers table.

    Each node's twin counts come from its kind (``ann_twin_counts`` in
    :mod:`asnn_sim.graph.nodes`): a synaptic node performs all ``dense_macs_per_step`` MACs
    reading every input element, a neuron becomes a ReLU (a bias add and a compare per
    neuron, every activation written), the readout adds its biases, residual adds and
    pools do their dense work.

    Parameters
    ----------
    counts : Counts
        The SNN's validated counts (only its ``layers`` table is used).

    Returns
    -------
    Counts
        One row per node at ``t = 0`` with ``n_samples = 1`` and ``graph.kind = 'ann'``.
    """
    geo = layer_geometry(counts.layers)
    layers = counts.layers.copy()
    sets = layers["n_weight_sets"].clip(lower=1)
    synaptic = layers["kind"].map(lambda k: KINDS[k].ROLE == "synapse")
    # The ANN has one weight set where a hybrid SNN layer holds two; neurons read that one bias.
    layers["n_weights"] = (layers["n_weights"] // sets).astype("int64")
    layers.loc[synaptic, "n_bias"] = (layers.loc[synaptic, "n_bias"] // sets[synaptic]).astype("int64")
    first_sets = dict(zip(layers["layer"], sets))
    for i, row in layers[~synaptic].iterrows():
        feeding = [s for s in str(row["inputs"]).split(",") if s in first_sets and first_sets[s] > 1]
        if feeding and row["n_bias"]:
            layers.loc[i, "n_bias"] = int(row["n_bias"] // max(first_sets[s] for s in feeding))
    layers["n_weight_sets"] = 1

    rows = []
    for _, layer in layers.iterrows():
        name = layer["layer"]
        facts = {**layer.to_dict(), "in_elements": int(geo.loc[name, "in_elements"])}
        row = dict.fromkeys(COUNT_NAMES, 0)
        row.update(KINDS[layer["kind"]].ann_twin_counts(facts))
        row.update(layer=name, layer_index=int(layer["layer_index"]), kind=layer["kind"], t=0, n_samples=1)
        rows.append(row)
    table = pd.DataFrame(rows)
    for name in COUNT_NAMES + ("t", "n_samples", "layer_index"):
        table[name] = table[name].astype("int64")
    summary = {
        "schema_version": counts.summary.get("schema_version", 1),
        "n_samples": 1,
        "timesteps": 1,
        "encoding": "analog",
        "graph": {"kind": "ann"},
        "baseline": "dense (synthesised from layers)",
    }
    return Counts(counts=table, layers=layers, summary=summary, path=None)


def check_ann_counts(snn: Counts, ann: Counts) -> Counts:
    """Check a replayed ANN counts directory against the SNN it is compared with.

    Parameters
    ----------
    snn, ann : Counts

    Returns
    -------
    Counts
        ``ann`` unchanged.

    Raises
    ------
    EnergyError
        If ``ann`` is not an ANN replay, has more than one timestep, or its synaptic layer
        names differ from the SNN's.
    """
    label = ann.label("summary.json")
    if ann.kind != "ann":
        raise EnergyError(f"{label}: graph.kind must be 'ann' for --ann-counts (got {ann.kind!r})")
    if ann.timesteps != 1:
        raise EnergyError(f"{label}: an ANN replay must have timesteps 1 (got {ann.timesteps})")
    def synaptic(c: Counts) -> set:
        return set(c.layers.loc[c.layers["kind"].map(lambda k: KINDS[k].ROLE == "synapse"), "layer"])

    snn_layers, ann_layers = synaptic(snn), synaptic(ann)
    if snn_layers != ann_layers:
        diff = sorted(snn_layers ^ ann_layers)
        raise EnergyError(f"{ann.label('layers.csv')}: synaptic layer names differ from the SNN's (e.g. {diff[0]!r})")
    return ann
