"""Turn counts tables into the operations a profile prices.

The counts say what the replay did (events, synaptic ops, neuron arithmetic). How many
memory accesses, address computations and neuron updates the *hardware* performs for
that work depends on its dataflow, which this module states explicitly:

event-driven dataflow (the SNN)
    * every synaptic op reads its weight (one read per AC or MAC);
    * ``sram-per-synop``: every synaptic op reads and writes the target potential, and
      every updated neuron's potential is read and written once per step (Lemaire et
      al. 2022); ``sram-per-update``: only the per-step read and write per updated
      neuron (accumulation happens in local registers);
    * a bias is read for every updated neuron every step;
    * clock-driven chips update every neuron every step; event-driven ones only the
      neurons touched by an event (neuron arithmetic scaled by touched / neurons);
    * addressing (Lemaire et al. 2022, Eqs. 16-17): a conv input event costs 2 MACs plus
      one add per output position it reaches (= synaptic ops / output channels); a
      linear input event costs one add per synaptic op; each input event is read from an
      input buffer and each output spike written to an output buffer.
dense dataflow (the ANN without zero-skipping; Lemaire et al.'s FNN)
    * one weight read per MAC, one bias read per neuron, partial sums in registers (no
      potential traffic);
    * a conv reads an input activation per MAC (no reuse), a linear layer reads each
      input once; every output activation is written once;
    * addressing: a conv needs (inputs + outputs + C_out x k^2) adds, a linear layer
      one add per MAC.

Everything here is per inference (totals divided by ``n_samples``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .counts import layer_geometry
from .profile import Profile


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den == 0."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


Ops = dict  # name -> numpy array (one entry per counts row); strings for layer names


def per_inference(table: pd.DataFrame, layers: pd.DataFrame) -> Ops:
    """Per-inference float counts joined with layer geometry, as numpy arrays.

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
        "t": table["t"].to_numpy(),
    }
    for name in (
        "in_events_binary",
        "in_events_graded",
        "in_events_analog",
        "synaptic_acs",
        "synaptic_macs",
        "neurons",
        "neurons_touched",
        "neuron_mults",
        "neuron_adds",
        "neuron_compares",
        "neuron_resets",
        "output_spikes",
    ):
        ops[name] = table[name].to_numpy(dtype=float) / n
    g = geo.loc[table["layer"].to_numpy()]
    ops["is_conv"] = (g["kind"] == "conv2d").to_numpy()
    for name in ("in_elements", "c_out", "kernel_area", "n_weights", "n_bias", "n_neurons"):
        ops[name] = g[name].to_numpy(dtype=float)
    return ops


def _memory_sizes(ops: Ops, profile: Profile, in_bits_multi: float, out_bits: float) -> None:
    """Add memory sizes (bytes) and access widths (bits) in place."""
    bits = float(profile.bits)
    ones = np.ones_like(ops["n_neurons"])
    ops["weight_bits"] = bits * ones
    ops["weight_mem_bytes"] = ops["n_weights"] * bits / 8
    ops["bias_mem_bytes"] = ops["n_bias"] * bits / 8
    ops["pot_bits"] = bits * ones
    ops["pot_mem_bytes"] = ops["n_neurons"] * bits / 8
    ops["in_bits_multi"] = in_bits_multi * ones
    ops["in_mem_bin_bytes"] = ops["in_elements"] / 8
    ops["in_mem_multi_bytes"] = ops["in_elements"] * in_bits_multi / 8
    ops["out_bits"] = out_bits * ones
    ops["out_mem_bytes"] = ops["n_neurons"] * out_bits / 8


def event_driven_ops(base: Ops, profile: Profile) -> Ops:
    """Operations of the SNN's event-driven dataflow.

    Parameters
    ----------
    base : dict of numpy.ndarray
        From :func:`per_inference` (the counts may be floats, e.g. the zero-spike variant).
    profile : Profile

    Returns
    -------
    dict of numpy.ndarray
        One entry per counts row for each operation priced in :mod:`hw_models.model`.
    """
    ops = dict(base)
    clock = profile.clocking == "clock-driven"
    bits = float(profile.bits)  # analog or graded input events
    neurons, touched = ops["neurons"], ops["neurons_touched"]
    frac = np.ones_like(neurons) if clock else _ratio(touched, neurons)
    updates = neurons if clock else touched
    synops = ops["synaptic_acs"] + ops["synaptic_macs"]
    events_bin = ops["in_events_binary"]
    events_multi = ops["in_events_graded"] + ops["in_events_analog"]
    is_conv = ops["is_conv"]

    ops["ac"] = ops["synaptic_acs"]
    ops["mac"] = ops["synaptic_macs"]
    ops["nrn_mult"] = ops["neuron_mults"] * frac
    ops["nrn_add"] = ops["neuron_adds"] * frac
    ops["nrn_cmp"] = ops["neuron_compares"] * frac
    ops["nrn_reset"] = ops["neuron_resets"]
    ops["nrn_updates"] = updates
    ops["nrn_active"] = touched
    ops["nrn_inactive"] = (neurons - touched) if clock else np.zeros_like(neurons)
    ops["weight_reads"] = synops
    ops["bias_reads"] = np.where(ops["n_bias"] > 0, updates, 0.0)
    if profile.model["potential_memory"] == "sram-per-synop":
        ops["pot_accesses"] = 2.0 * synops + 2.0 * updates
    elif profile.model["potential_memory"] == "sram-per-update":
        ops["pot_accesses"] = 2.0 * updates
    else:
        ops["pot_accesses"] = np.zeros_like(neurons)
    ops["addr_mac"] = np.where(is_conv, 2.0 * (events_bin + events_multi), 0.0)
    ops["addr_add"] = np.where(is_conv, _ratio(synops, ops["c_out"]), synops)
    ops["in_reads_bin"] = events_bin
    ops["in_reads_multi"] = events_multi
    ops["out_writes"] = ops["output_spikes"]
    ops["spikes_out"] = ops["output_spikes"]
    _memory_sizes(ops, profile, in_bits_multi=bits, out_bits=1.0)  # outputs are 1-bit spikes
    return ops


def dense_ann_ops(base: Ops, profile: Profile, *, act_bits: int | None = None) -> Ops:
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

    Returns
    -------
    dict of numpy.ndarray
    """
    ops = dict(base)
    bits = float(act_bits or profile.bits)
    macs, neurons, is_conv = ops["synaptic_macs"], ops["neurons"], ops["is_conv"]
    zeros = np.zeros_like(neurons)

    ops["ac"] = zeros
    ops["mac"] = macs
    ops["nrn_mult"] = ops["neuron_mults"]
    ops["nrn_add"] = ops["neuron_adds"]
    ops["nrn_cmp"] = ops["neuron_compares"]
    ops["nrn_reset"] = zeros
    ops["nrn_updates"] = neurons
    ops["nrn_active"] = ops["neurons_touched"]
    ops["nrn_inactive"] = neurons - ops["neurons_touched"]
    ops["weight_reads"] = macs
    ops["bias_reads"] = np.where(ops["n_bias"] > 0, neurons, 0.0)
    ops["pot_accesses"] = zeros  # partial sums stay in the MAC unit's register
    ops["addr_mac"] = zeros
    inputs = ops["in_events_analog"] + ops["in_events_graded"]  # all elements for dense counts
    ops["addr_add"] = np.where(is_conv, inputs + neurons + ops["c_out"] * ops["kernel_area"], macs)
    ops["in_reads_bin"] = zeros
    ops["in_reads_multi"] = np.where(is_conv, macs, inputs)
    ops["out_writes"] = neurons
    ops["spikes_out"] = ops["output_spikes"]
    _memory_sizes(ops, profile, in_bits_multi=bits, out_bits=bits)
    return ops
