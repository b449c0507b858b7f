"""Turn counts tables into the operations a profile prices.

The counts say what the replay did (events, synaptic ops, neuron arithmetic). How many
memory accesses, address computations and neuron updates the *hardware* performs for
that work depends on the dataflow. Which operations each row stands for is its node
kind's rule (``snn_cost`` / ``ann_cost`` in :mod:`asnn_sim.graph.nodes`, quantities named in
:data:`asnn_sim.graph.nodes.base.HW_QUANTITIES`); this module applies the profile's choices
on top:

event-driven dataflow (the SNN)
    * clock-driven chips update every neuron every step; event-driven ones only the
      neurons an event reached (neuron arithmetic scaled by touched / neurons);
    * ``sram-per-synop``: every synaptic op reads and writes the target potential, and
      every updated neuron's potential is read and written once per step (Lemaire et
      al. 2022); ``sram-per-update``: only the per-step read and write per updated
      neuron (accumulation happens in local registers);
    * a bias is read for every updated neuron every step (where it has one);
    * outputs are 1-bit spikes.
dense dataflow (the ANN; Lemaire et al.'s FNN)
    * every neuron is computed once per pass, partial sums stay in registers (no
      potential traffic), every activation is written at the activation width;
    * driven by a replayed ANN's counts it performs only the work of non-zero inputs
      (zero-skipping), so it never costs more than the dense pass.

Everything here is per inference (totals divided by ``n_samples``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from asnn_sim.graph.nodes import KINDS
from asnn_sim.graph.nodes.base import HW_QUANTITIES

from .counts import COUNT_NAMES, layer_geometry
from .profile import Profile


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den == 0."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


Ops = dict  # name -> numpy array (one entry per counts row); strings for names

#: The input encoder's operations (the input kind's cost rule), priced by model.encoder.
ENCODER_OPS = ("enc_cmp", "enc_rand", "enc_bits", "enc_add", "enc_mult", "enc_special", "enc_reads")

GEOMETRY = ("in_elements", "out_elements", "c_out", "kernel_area", "n_weights", "n_bias", "n_neurons")


def per_inference(table: pd.DataFrame, layers: pd.DataFrame) -> Ops:
    """Per-inference float counts joined with node geometry, as numpy arrays.

    Profile-independent, so :mod:`hw_models.model` computes it once per table and
    reuses it for every profile.

    Parameters
    ----------
    table : pandas.DataFrame
        Counts rows (totals over ``n_samples``; floats allowed).
    layers : pandas.DataFrame
        The matching layers table.

    Returns
    -------
    dict of numpy.ndarray
    """
    geo = layer_geometry(layers)
    n = table["n_samples"].to_numpy(dtype=float)
    ops: Ops = {
        "layer": table["layer"].to_numpy(dtype=object),
        "layer_index": table["layer_index"].to_numpy(),
        "kind": table["kind"].to_numpy(dtype=object),
        "t": table["t"].to_numpy(),
    }
    for name in COUNT_NAMES:
        ops[name] = table[name].to_numpy(dtype=float) / n
    # rows whose synapses share weights (a convolution), as each kind declares it
    ops["shared_synapses"] = np.array([KINDS[k].SHARED_SYNAPSES for k in ops["kind"]], dtype=bool)
    g = geo.loc[table["layer"].to_numpy()]
    for name in GEOMETRY:
        ops[name] = g[name].to_numpy(dtype=float)
    return ops


def quantities(base: Ops, dataflow: str) -> dict[str, np.ndarray]:
    """The operation quantities of every row, from its kind's cost rule.

    Parameters
    ----------
    base : dict of numpy.ndarray
        From :func:`per_inference`.
    dataflow : {"snn", "ann"}
        The kind's ``snn_cost`` (event-driven) or ``ann_cost`` (dense).

    Returns
    -------
    dict of numpy.ndarray
        Every name of :data:`asnn_sim.graph.nodes.base.HW_QUANTITIES`, 0 where a kind does not set it.
    """
    rows = len(base["layer"])
    out = {name: np.zeros(rows) for name in HW_QUANTITIES}
    for kind in pd.unique(base["kind"]):
        mask = base["kind"] == kind
        part = {k: (v[mask] if isinstance(v, np.ndarray) and v.shape[:1] == (rows,) else v) for k, v in base.items()}
        rule = KINDS[kind].snn_cost if dataflow == "snn" else KINDS[kind].ann_cost
        for name, value in rule(part).items():
            if name not in out:
                raise ValueError(f"the {kind} cost rule returned {name!r}, which is not a known quantity")
            out[name][mask] = value
    return out


def _memory_sizes(ops: Ops, q: dict, profile: Profile, in_bits_multi: float, out_bits: np.ndarray) -> None:
    """Add memory sizes (bytes) and access widths (bits) in place."""
    bits = float(profile.bits)
    ones = np.ones_like(q["weight_elems"])
    ops["weight_bits"] = bits * ones
    ops["weight_mem_bytes"] = q["weight_elems"] * bits / 8
    ops["bias_mem_bytes"] = q["bias_elems"] * bits / 8
    ops["pot_bits"] = bits * ones
    ops["pot_mem_bytes"] = q["pot_elems"] * bits / 8
    ops["in_bits_multi"] = in_bits_multi * ones
    ops["in_mem_bin_bytes"] = q["in_elems"] / 8
    ops["in_mem_multi_bytes"] = q["in_elems"] * in_bits_multi / 8
    ops["out_bits"] = out_bits * ones
    ops["out_mem_bytes"] = q["out_elems"] * out_bits / 8
    ops["enc_mem_bytes"] = q["enc_elems"] * bits / 8


def _dram_tier(ops: Ops, q: dict, profile: Profile) -> None:
    """Move the traffic of memories larger than the on-chip SRAM to DRAM, in place.

    With ``model.dram`` set, a layer's weight array (or potential array) larger than the
    ``sram_capacity`` assumption does not fit on chip. How often its words cross from
    DRAM is the reuse switch (``dram_words``: 64-bit DRAM accesses per inference):

    * ``per-event``: every read of such a weight (every potential access) goes to DRAM,
      and nothing of it to SRAM (no reuse: the upper bound);
    * ``per-step``: each weight is fetched once per timestep for a batch of ``batch``
      samples into an on-chip buffer of ``sram_capacity`` bytes, from which the reads are
      then served (priced as SRAM of that size); each potential is read and written once
      per step (potentials are per sample: a batch does not share them);
    * ``per-batch``: each weight is fetched once per batch (spread over the layer's
      rows), potentials as ``per-step``.

    Memories that fit are untouched, so a model that fits costs exactly what it did.
    """
    reuse = profile.model["dram"]
    zeros = np.zeros_like(q["weight_elems"])
    ops["dram_words"] = zeros
    if reuse == "none":
        return
    capacity, batch = profile.param("sram_capacity"), max(1.0, profile.param("batch"))
    weights_off = ops["weight_mem_bytes"] > capacity
    pots_off = ops["pot_mem_bytes"] > capacity
    w_words, p_words = ops["weight_bits"] / 64.0, ops["pot_bits"] / 64.0
    if reuse == "per-event":
        words = np.where(weights_off, ops["weight_reads"] * w_words, 0.0)
        words += np.where(pots_off, ops["pot_accesses"] * p_words, 0.0)
        ops["weight_reads"] = np.where(weights_off, 0.0, ops["weight_reads"])
        ops["pot_accesses"] = np.where(pots_off, 0.0, ops["pot_accesses"])
    else:
        fetch = q["weight_elems"] * w_words / batch  # the layer's weights, once per step
        if reuse == "per-batch":
            _, index, rows = np.unique(ops["layer_index"], return_inverse=True, return_counts=True)
            fetch = fetch / rows[index]  # once per batch, spread over the layer's T rows
        words = np.where(weights_off, fetch, 0.0)
        words += np.where(pots_off & (ops["pot_accesses"] > 0), 2.0 * q["pot_elems"] * p_words, 0.0)
        ops["weight_mem_bytes"] = np.minimum(ops["weight_mem_bytes"], capacity)  # served from the buffer
        ops["pot_mem_bytes"] = np.minimum(ops["pot_mem_bytes"], capacity)
    ops["dram_words"] = words


def _messages(ops: Ops, q: dict, crossings: np.ndarray | None, destinations: np.ndarray | None,
              hops: np.ndarray | None = None) -> None:
    """Messages each routed spike (ANN: activation) sends: between chips, its group's mean
    crossings (:func:`hw_models.capacity.messages_per_spike`); on the chip, one to each core
    holding one of its targets (:meth:`hw_models.timing.CoreMap.destinations`; one per
    spike where the cores are not known)."""
    spikes = q["spikes_out"]
    ops["chip_messages"] = spikes * crossings if crossings is not None else np.zeros_like(spikes)
    ops["core_messages"] = spikes * destinations if destinations is not None else spikes.copy()
    # the hops those messages travel on the chip's mesh (hw_models.core_split.neuron_hops)
    ops["core_hops"] = spikes * hops if hops is not None else np.zeros_like(spikes)


def event_driven_ops(base: Ops, profile: Profile, crossings: np.ndarray | None = None,
                     destinations: np.ndarray | None = None, hops: np.ndarray | None = None) -> Ops:
    """Operations of the SNN's event-driven dataflow.

    Parameters
    ----------
    base : dict of numpy.ndarray
        From :func:`per_inference` (the counts may be floats, e.g. the zero-spike variant).
    profile : Profile
    crossings : numpy.ndarray, optional
        Inter-chip messages per output spike of each row (:func:`per_row`).
    destinations : numpy.ndarray, optional
        Cores each row's output spike is a message to (:func:`per_row` of
        :meth:`hw_models.timing.CoreMap.destinations`); one per spike where not given.
    hops : numpy.ndarray, optional
        Hops each row's output spike travels in all (:meth:`hw_models.timing.CoreMap.hops_per_row`).

    Returns
    -------
    dict of numpy.ndarray
        One entry per counts row for each operation priced in :mod:`hw_models.model`.
    """
    ops = dict(base)
    q = quantities(base, "snn")
    clock = profile.clocking == "clock-driven"
    neurons, touched = q["neurons"], q["neurons_touched"]
    frac = np.ones_like(neurons) if clock else _ratio(touched, neurons)
    updates = neurons if clock else touched

    ops["ac"] = q["ac"]
    ops["mac"] = q["mac"]
    ops["nrn_mult"] = q["nrn_mult"] * frac
    ops["nrn_add"] = q["nrn_add"] * frac
    ops["nrn_cmp"] = q["nrn_cmp"] * frac
    ops["nrn_reset"] = q["nrn_reset"]
    ops["nrn_updates"] = updates
    ops["nrn_active"] = touched
    ops["nrn_inactive"] = (neurons - touched) if clock else np.zeros_like(neurons)
    ops["elementwise"] = q["elementwise"]
    ops["weight_reads"] = q["weight_reads"]
    ops["bias_reads"] = q["bias_reads"] * updates
    per_update = 2.0 * updates * q["potential_updates"]
    if profile.model["potential_memory"] == "sram-per-synop":
        ops["pot_accesses"] = 2.0 * q["synops"] + per_update
    elif profile.model["potential_memory"] == "sram-per-update":
        ops["pot_accesses"] = per_update
    else:
        ops["pot_accesses"] = np.zeros_like(neurons)
    for name in ("addr_mac", "addr_add", "in_reads_bin", "in_reads_multi", "out_writes", "spikes_out") + ENCODER_OPS:
        ops[name] = q[name]
    _memory_sizes(ops, q, profile, in_bits_multi=float(profile.bits), out_bits=np.ones_like(neurons))  # 1-bit spikes
    _dram_tier(ops, q, profile)
    _messages(ops, q, crossings, destinations, hops)
    return ops


def dense_ann_ops(base: Ops, profile: Profile, *, act_bits: int | None = None, crossings: np.ndarray | None = None,
                  destinations: np.ndarray | None = None, hops: np.ndarray | None = None) -> Ops:
    """Operations of the dense ANN dataflow: partial sums in registers, outputs written once.

    Driven by the dense counts this is the plain dense ANN (every MAC, zeros included);
    driven by a replayed ANN's counts it is the same dataflow skipping zero inputs: only
    MACs with a non-zero input are performed, and only non-zero inputs are read and
    addressed. Zero-skipping can then never cost more than the dense pass.

    Parameters
    ----------
    base : dict of numpy.ndarray
        :func:`per_inference` of the dense ANN counts (see
        :func:`hw_models.ann.dense_ann_counts`, where every input element is an event) or
        of a replayed ANN (non-zero inputs only).
    profile : Profile
    act_bits : int, optional
        Activation width; defaults to ``profile.bits``.
    crossings, destinations, hops : numpy.ndarray, optional
        As for :func:`event_driven_ops`: the ANN on the same chips sends each activation
        across the same boundaries, to the same cores, over the same hops.

    Returns
    -------
    dict of numpy.ndarray
    """
    ops = dict(base)
    q = quantities(base, "ann")
    bits = float(act_bits or profile.bits)
    neurons = q["neurons"]
    zeros = np.zeros_like(neurons)

    ops["ac"] = zeros
    ops["mac"] = q["mac"]
    ops["nrn_mult"] = q["nrn_mult"]
    ops["nrn_add"] = q["nrn_add"]
    ops["nrn_cmp"] = q["nrn_cmp"]
    ops["nrn_reset"] = zeros
    ops["nrn_updates"] = neurons
    ops["nrn_active"] = q["neurons_touched"]
    ops["nrn_inactive"] = neurons - q["neurons_touched"]
    ops["elementwise"] = q["elementwise"]
    ops["weight_reads"] = q["weight_reads"]
    ops["bias_reads"] = q["bias_reads"] * neurons
    ops["pot_accesses"] = zeros  # partial sums stay in the MAC unit's register
    ops["addr_mac"] = zeros
    ops["addr_add"] = q["addr_add"]
    ops["in_reads_bin"] = zeros
    ops["in_reads_multi"] = q["in_reads_multi"]
    ops["out_writes"] = q["out_writes"]
    ops["spikes_out"] = q["spikes_out"]
    for name in ENCODER_OPS:  # the ANN reads the image itself: no encoder
        ops[name] = zeros
    _memory_sizes(ops, q, profile, in_bits_multi=bits, out_bits=bits * np.ones_like(neurons))
    _dram_tier(ops, q, profile)
    _messages(ops, q, crossings, destinations, hops)
    return ops


def group_crossings(layers: pd.DataFrame, profile: Profile) -> dict[str, float]:
    """Inter-chip messages per output spike of each neuron group, or ``{}`` where the
    profile does not price them (``model.inter_chip``) or the model fits one chip."""
    from .capacity import messages_per_spike

    return {} if profile.model["inter_chip"] == "none" else messages_per_spike(layers, profile)


def per_row(base: Ops, per_group: dict[str, float]) -> np.ndarray | None:
    """A per-group number (:func:`group_crossings`, :meth:`hw_models.timing.CoreMap.destinations`)
    for each row of ``base``, 0 for rows of other nodes (None when there are none)."""
    return np.array([per_group.get(name, 0.0) for name in base["layer"]]) if per_group else None
