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
    # Events are classed by the kind of tensor that carries them, never by value: a pixel
    # of exactly 1.0 in an analog frame is an analog event.
    Column("in_events_binary", "spikes arriving at the layer (non-zero elements of a binary spike tensor)"),
    Column("in_events_graded", "non-zero elements of a graded tensor (small integer sums of spikes, e.g. residual adds)"),
    Column("in_events_analog", "non-zero elements of an analog tensor (e.g. image pixels, ANN activations)"),
    Column("synaptic_acs", "accumulates: one per (spike, in-bounds synapse) pair; a graded event of value k adds k per synapse under graded='expand'"),
    Column("synaptic_macs", "multiply-accumulates: one per (analog event, in-bounds synapse) pair, and per (graded event, synapse) under graded='mac'"),
    Column("dense_macs", "multiply-accumulates a dense (ANN-style) layer does for the same input: one per (input element, in-bounds synapse) pair, zeros included"),
    Column("neurons", "neuron updates performed: every neuron of the layer, every timestep"),
    Column("neurons_touched", "neurons with at least one input event inside their receptive field in this timestep (weight values not considered)"),
    Column("neuron_mults", "multiplications in neuron updates (leak x membrane, gain x current, readout scale)"),
    Column("neuron_adds", "additions in neuron updates (bias, leak + input, readout accumulation)"),
    Column("neuron_compares", "threshold comparisons"),
    Column("neuron_resets", "soft resets (membrane -= 1), one per output spike"),
    Column("output_spikes", "spikes emitted by the layer's neurons (for an ANN graph: non-zero ReLU outputs)"),
)

# Static per-layer facts (the ``layers`` table).
LAYER_COLUMNS: tuple[Column, ...] = (
    Column("layer", "name of the synaptic layer"),
    Column("layer_index", "position in execution order"),
    Column("kind", "'conv2d' or 'linear'"),
    Column("neuron", "'lif' (shared leak/gain), 'asnn' (per-timestep leak and gain), 'relu' (ANN twin) or 'readout' (no spikes; scaled logits)"),
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
