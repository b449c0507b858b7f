"""The counts contract between the simulator and the energy model.

``asnn simulate --out DIR`` writes these files (each table as both Parquet and CSV):

``counts``
    One row per layer x timestep. Every count column is an ``int64`` *total over all
    samples replayed*; divide by ``n_samples`` for the per-inference mean.
``per_sample``
    One row per sample x layer, count columns summed over timesteps (``int64``), so
    distributions over samples can be plotted.
``layers``
    One row per layer: static facts about the graph (shapes, weights, neurons), enough
    for a memory model and for the equivalent ANN without reading the graph file.
``summary.json``
    Accuracy, ``n_samples``, the counting conventions used, per-inference means.

This module imports nothing but the standard library so that ``hw_models`` can use it.
Every column is defined, with a worked example, in ``docs/counting.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Column:
    """One column of a counts table: its name and what it counts."""

    name: str
    doc: str


# Keys of a row of the ``counts`` table (layer x timestep).
KEY_COLUMNS: tuple[Column, ...] = (
    Column("layer", "name of the synaptic layer (graph node), e.g. 'conv1'"),
    Column("layer_index", "position of the layer in the graph's execution order, from 0"),
    Column("t", "timestep, from 0"),
    Column("n_samples", "number of samples replayed (the divisor for per-inference means)"),
)

# Every count is an int64 total over the samples replayed.
COUNT_COLUMNS: tuple[Column, ...] = (
    Column("in_events_binary", "input elements equal to 1 (spikes) arriving at the layer"),
    Column("in_events_graded", "input elements that are non-zero integers other than 1 (e.g. residual sums of spikes)"),
    Column("in_events_analog", "non-zero input elements that are not integers (e.g. pixel intensities)"),
    Column("synaptic_acs", "accumulates: one per (binary input event, in-bounds synapse) pair; graded events add k each under graded='expand'"),
    Column("synaptic_macs", "multiply-accumulates: one per (analog input event, in-bounds synapse) pair; graded events count here under graded='mac'"),
    Column("dense_macs", "multiply-accumulates a dense (ANN-style) layer does for the same input: one per (input element, in-bounds synapse) pair, zeros included"),
    Column("neurons", "neuron updates performed: every neuron of the layer, every timestep"),
    Column("neurons_touched", "neurons that received at least one synaptic operation in this timestep"),
    Column("neuron_mults", "multiplications in neuron updates (leak x membrane, gain x current, readout scale)"),
    Column("neuron_adds", "additions in neuron updates (bias, leak + input, readout accumulation)"),
    Column("neuron_compares", "threshold comparisons"),
    Column("neuron_resets", "soft resets (membrane -= 1), one per output spike"),
    Column("output_spikes", "spikes emitted by the layer's neurons"),
)

# Static per-layer facts (the ``layers`` table).
LAYER_COLUMNS: tuple[Column, ...] = (
    Column("layer", "name of the synaptic layer"),
    Column("layer_index", "position in execution order"),
    Column("kind", "'conv2d' or 'linear'"),
    Column("neuron", "'lif', 'asnn' (per-timestep leak and gain) or 'readout' (no spikes; scaled logits)"),
    Column("in_shape", "input feature-map shape of one sample, e.g. '1x8x8'"),
    Column("out_shape", "output shape of one sample, e.g. '32x8x8'"),
    Column("n_weights", "weight parameters, zeros included, over all weight sets (hybrid first layers hold two)"),
    Column("n_weight_sets", "1, or 2 for a hybrid first layer (analog frame and spike frames use different weights)"),
    Column("n_bias", "bias values (after BatchNorm folding) over all weight sets"),
    Column("n_neurons", "neurons (membrane potentials) in the layer"),
    Column("fan_in", "synapses per output neuron (C_in*k*k for a conv, in_features for a linear)"),
    Column("dense_macs_per_step", "dense_macs of one sample in one timestep (the equivalent ANN's MACs for this layer)"),
)

#: Conventions a replay can use; summary.json records the ones used.
CONVENTIONS = {
    "graded": ("mac", "expand"),
    "skip_zero_weights": (False, True),
    "static_input": ("per_step", "once"),
}


def count_names() -> list[str]:
    """Names of the int64 count columns, in table order."""
    return [c.name for c in COUNT_COLUMNS]
