"""A small synthetic counts directory in the exact ``asnn simulate`` format.

For examples, documentation and tests only: the numbers are drawn at chosen spike rates
for the reference LeNet on 8x8 digits (3 convs 3x3/pad 1 + 2x2 pools, FC 256, FC 10),
with hybrid coding (analog frame at t = 0, spikes after). Within each (layer, t) row the
counts are exact for the drawn events (ACs = events x in-bounds synapses, touched
neurons = neurons reached), but layers are drawn independently, so this is not a replay
of any trained network. Use real counts from ``asnn simulate`` for real numbers.

Hand-made tables are written per *layer* (a synaptic node and the neurons it feeds on
one row, the way people describe a network); :func:`counts_from_rows` splits them into
the node rows ``asnn simulate`` writes (``conv1`` and ``conv1_neurons``).

Run ``python -m hw_models.synthetic DIR`` to write one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from asnn_sim.graph.counts_schema import SCHEMA_VERSION

from .counts import COUNT_NAMES, Counts, validate

SYNAPSE_COUNTS = ("in_events_binary", "in_events_graded", "in_events_analog", "synaptic_acs", "synaptic_macs", "dense_macs")
#: a layer's ``neuron`` field -> the kind of its activation node and what that emits
ACTIVATIONS = {"asnn": ("neuron", "binary"), "lif": ("neuron", "binary"), "relu": ("relu", "analog"), "readout": ("readout", "logits")}

# name, kind, neuron, (C_in, H, W), (C_out, H, W), kernel
LENET_8X8 = (
    ("conv1", "conv2d", "asnn", (1, 8, 8), (32, 8, 8), 3),
    ("conv2", "conv2d", "asnn", (32, 4, 4), (48, 4, 4), 3),
    ("conv3", "conv2d", "asnn", (48, 2, 2), (64, 2, 2), 3),
    ("fc1", "linear", "asnn", (64,), (256,), 1),
    ("fc2", "linear", "readout", (256,), (10,), 1),
)


# A two-layer example small enough to check by hand (tests and docs use it):
#   conv1  1x4x4 -> 2x4x4, 3x3 pad 1, analog input: 10 events and 150 MACs per step
#   fc1    32 -> 4, spike input: 3 and 4 events (12 and 16 ACs)
# n_samples = 1, T = 2. All its memories are below 8 KB.
TWO_LAYER_CONV = {
    "layer": "conv1",
    "layer_index": 0,
    "kind": "conv2d",
    "neuron": "asnn",
    "in_shape": "1x4x4",
    "out_shape": "2x4x4",
    "n_weights": 18,
    "n_weight_sets": 1,
    "n_bias": 2,
    "n_neurons": 32,
    "fan_in": 9,
    "dense_macs_per_step": 200,
}
TWO_LAYER_FC = {
    "layer": "fc1",
    "layer_index": 1,
    "kind": "linear",
    "neuron": "lif",
    "in_shape": "32",
    "out_shape": "4",
    "n_weights": 128,
    "n_weight_sets": 1,
    "n_bias": 4,
    "n_neurons": 4,
    "fan_in": 32,
    "dense_macs_per_step": 128,
}
_NEURON = {"neuron_mults": 64, "neuron_adds": 64, "neuron_compares": 32}
TWO_LAYER_ROWS = [
    {
        "layer": "conv1",
        "t": 0,
        "in_events_analog": 10,
        "synaptic_macs": 150,
        "dense_macs": 200,
        "neurons": 32,
        "neurons_touched": 20,
        **_NEURON,
        "neuron_resets": 3,
        "output_spikes": 3,
    },
    {
        "layer": "conv1",
        "t": 1,
        "in_events_analog": 10,
        "synaptic_macs": 150,
        "dense_macs": 200,
        "neurons": 32,
        "neurons_touched": 20,
        **_NEURON,
        "neuron_resets": 4,
        "output_spikes": 4,
    },
    {
        "layer": "fc1",
        "t": 0,
        "in_events_binary": 3,
        "synaptic_acs": 12,
        "dense_macs": 128,
        "neurons": 4,
        "neurons_touched": 4,
        "neuron_mults": 8,
        "neuron_adds": 8,
        "neuron_compares": 4,
        "neuron_resets": 1,
        "output_spikes": 1,
    },
    {
        "layer": "fc1",
        "t": 1,
        "in_events_binary": 4,
        "synaptic_acs": 16,
        "dense_macs": 128,
        "neurons": 4,
        "neurons_touched": 4,
        "neuron_mults": 8,
        "neuron_adds": 8,
        "neuron_compares": 4,
    },
]


def two_layer_counts(n_samples: int = 1, scale: int = 1, rows: list[dict] | None = None) -> Counts:
    """The hand-checkable two-layer example (see ``TWO_LAYER_ROWS``), counts x ``scale``."""
    rows = TWO_LAYER_ROWS if rows is None else rows
    scaled = [{k: (v * scale if isinstance(v, int) and k != "t" else v) for k, v in r.items()} for r in rows]
    return counts_from_rows(scaled, [TWO_LAYER_CONV, TWO_LAYER_FC], n_samples=n_samples)


def _taps(n: int, k: int) -> np.ndarray:
    """In-bounds output positions reached from each input position (1-D, 'same' padding)."""
    half = k // 2
    idx = np.arange(n)
    return np.minimum(idx + half, n - 1) - np.maximum(idx - half, 0) + 1


def _layers(hybrid: bool) -> pd.DataFrame:
    rows = []
    for i, (name, kind, neuron, ins, outs, k) in enumerate(LENET_8X8):
        sets = 2 if (hybrid and i == 0) else 1
        if kind == "conv2d":
            fan_in = ins[0] * k * k
            per_pair = int(_taps(ins[1], k).sum() * _taps(ins[2], k).sum())
            dense = per_pair * ins[0] * outs[0]
        else:
            fan_in = ins[0]
            dense = ins[0] * outs[0]
        rows.append(
            {
                "layer": name,
                "layer_index": i,
                "kind": kind,
                "neuron": neuron,
                "in_shape": "x".join(map(str, ins)),
                "out_shape": "x".join(map(str, outs)),
                "n_weights": sets * fan_in * outs[0],
                "n_weight_sets": sets,
                "n_bias": sets * outs[0],
                "n_neurons": int(np.prod(outs)),
                "fan_in": fan_in,
                "dense_macs_per_step": dense,
            }
        )
    return pd.DataFrame(rows)


def synthetic_counts(n_samples: int = 8, timesteps: int = 4, rate: float = 0.1, seed: int = 0, hybrid: bool = True) -> Counts:
    """Build a synthetic LeNet counts table (see module docstring).

    Parameters
    ----------
    n_samples : int
    timesteps : int
    rate : float
        Probability that an input element carries a spike at a timestep (hidden layers),
        and that a neuron fires.
    seed : int
    hybrid : bool
        Hybrid coding (analog frame at t = 0 through its own weights) or direct coding
        (analog image every step).

    Returns
    -------
    Counts
        Validated, in memory (``path`` is None).
    """
    rng = np.random.default_rng(seed)
    layers = _layers(hybrid)
    rows = []
    for i, (name, kind, neuron, ins, outs, k) in enumerate(LENET_8X8):
        n_neurons = int(np.prod(outs))
        for t in range(timesteps):
            row = dict.fromkeys(COUNT_NAMES, 0)
            row.update(layer=name, t=t)
            for _ in range(n_samples):
                if i == 0 and (t == 0 or not hybrid):
                    mask = rng.random(ins) < 0.8  # non-zero pixels: analog events
                    key, op = "in_events_analog", "synaptic_macs"
                else:
                    p = rate if i > 0 else 1.0 / max(timesteps - 1, 1)  # temporal code: each pixel about once
                    mask = rng.random(ins) < p
                    key, op = "in_events_binary", "synaptic_acs"
                row[key] += int(mask.sum())
                if kind == "conv2d":
                    reach = np.outer(_taps(ins[1], k), _taps(ins[2], k))
                    row[op] += int((mask * reach).sum()) * outs[0]
                    hit = np.zeros(ins[1:], dtype=bool)
                    for _channel, y, x in zip(*np.nonzero(mask), strict=True):
                        hit[max(y - k // 2, 0) : y + k // 2 + 1, max(x - k // 2, 0) : x + k // 2 + 1] = True
                    touched = int(hit.sum()) * outs[0]
                else:
                    row[op] += int(mask.sum()) * outs[0]
                    touched = n_neurons if mask.any() else 0
                row["dense_macs"] += int(layers.loc[i, "dense_macs_per_step"])
                row["neurons"] += n_neurons
                row["neurons_touched"] += touched
                row["neuron_mults"] += 2 * n_neurons
                row["neuron_adds"] += 2 * n_neurons
                if neuron != "readout":
                    spikes = int((rng.random(n_neurons) < rate).sum())
                    row["neuron_compares"] += n_neurons
                    row["neuron_resets"] += spikes
                    row["output_spikes"] += spikes
            rows.append(row)
    summary = {
        "encoding": "hybrid" if hybrid else "direct",
        "synthetic": True,
    }
    return counts_from_rows(rows, layers.to_dict("records"), n_samples=n_samples, timesteps=timesteps, summary=summary)


def split_layers(layers: list[dict]) -> list[dict]:
    """Per-layer descriptions as node rows of the layers table.

    A layer of kind ``conv2d``/``linear`` whose ``neuron`` is ``asnn``, ``lif``, ``relu``
    or ``readout`` becomes its synaptic node (same name) and its activation node
    (``<name>_neurons``), which reads the synaptic node's current and the previous
    activation's output. Other rows (already node rows) pass through.
    """
    out = []
    src = "input"
    for layer in layers:
        neuron = layer.get("neuron", "")
        if layer["kind"] not in ("conv2d", "linear") or neuron not in ACTIVATIONS:
            out.append(dict(layer))
            continue
        kind, emits = ACTIVATIONS[neuron]
        name = layer["layer"]
        out.append({**layer, "neuron": "", "inputs": layer.get("inputs", src), "output": "current", "n_neurons": 0,
                    "dense_ops_per_step": layer["dense_macs_per_step"]})
        act = f"{name}_neurons"
        out.append({**layer, "layer": act, "kind": kind, "neuron": neuron, "inputs": name, "output": emits,
                    "in_shape": layer["out_shape"], "n_weights": 0, "n_weight_sets": 1, "fan_in": 0,
                    "dense_macs_per_step": 0, "dense_ops_per_step": layer["n_neurons"]})
        src = act
    for i, layer in enumerate(out):
        layer["layer_index"] = i
    return out


def counts_from_rows(
    rows: list[dict],
    layers: list[dict],
    *,
    n_samples: int = 1,
    timesteps: int | None = None,
    kind: str = "snn",
    summary: dict | None = None,
) -> Counts:
    """Build a validated :class:`Counts` from plain dicts (hand-made tables).

    Layers and rows may be written per layer (see :func:`split_layers`): a row of such a
    layer is split into its synaptic node's row (events, synaptic ops, dense MACs) and
    its activation node's row (the neuron columns). Count columns left out of a row are
    0; ``n_samples`` is filled in; ``layer_index`` and ``kind`` come from the layers.

    Parameters
    ----------
    rows : list of dict
        Each needs ``layer`` and ``t`` plus any count columns.
    layers : list of dict
        Each needs the columns of the layers table, per layer or per node.
    n_samples : int
    timesteps : int, optional
        Default: 1 + the largest ``t``.
    kind : {'snn', 'ann'}
    summary : dict, optional
        Extra ``summary.json`` fields.

    Returns
    -------
    Counts
    """
    nodes = split_layers(layers)
    index = {layer["layer"]: layer["layer_index"] for layer in nodes}
    kinds = {layer["layer"]: layer["kind"] for layer in nodes}
    full = []
    for row in rows:
        parts = [row]
        if f"{row['layer']}_neurons" in index:  # a per-layer row: split it
            synaptic = {k: v for k, v in row.items() if k not in COUNT_NAMES or k in SYNAPSE_COUNTS}
            neurons = {k: v for k, v in row.items() if k not in SYNAPSE_COUNTS}
            neurons["layer"] = f"{row['layer']}_neurons"
            parts = [synaptic, neurons]
        for part in parts:
            item = dict.fromkeys(COUNT_NAMES, 0)
            item.update(n_samples=n_samples, layer_index=index.get(part["layer"], 0), kind=kinds.get(part["layer"], "conv2d"))
            item.update(part)
            full.append(item)
    steps = timesteps if timesteps is not None else 1 + max(r["t"] for r in rows)
    meta = {
        "schema_version": SCHEMA_VERSION,
        "n_samples": n_samples,
        "timesteps": steps,
        "encoding": "hand-made",
        "conventions": {"graded": "mac", "skip_zero_weights": False, "static_input": "per_step"},
        "accuracy": float("nan"),
        "graph": {"kind": kind},
    }
    meta.update(summary or {})
    return validate(Counts(counts=pd.DataFrame(full), layers=pd.DataFrame(nodes), summary=meta))


def write_counts_dir(counts: Counts, path: str | Path) -> Path:
    """Write ``counts`` in the ``asnn simulate`` layout (Parquet + CSV + summary.json).

    Parameters
    ----------
    counts : Counts
    path : str or pathlib.Path

    Returns
    -------
    pathlib.Path
    """
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    counts.counts.to_parquet(out / "counts.parquet", index=False)
    counts.counts.to_csv(out / "counts.csv", index=False)
    counts.layers.to_parquet(out / "layers.parquet", index=False)
    counts.layers.to_csv(out / "layers.csv", index=False)
    summary = {k: (None if isinstance(v, float) and v != v else v) for k, v in counts.summary.items()}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return out


if __name__ == "__main__":  # pragma: no cover - convenience entry point
    if len(sys.argv) != 2:
        sys.exit("usage: python -m hw_models.synthetic OUT_DIR")
    print(write_counts_dir(synthetic_counts(), sys.argv[1]))
