"""hw_models.load_counts: the counts contract, checked at the boundary."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from hw_models import EnergyError, load_counts
from hw_models.counts import parse_shape
from hw_models.synthetic import counts_from_rows, synthetic_counts, write_counts_dir

LAYERS = [
    {
        "layer": "fc1",
        "layer_index": 0,
        "kind": "linear",
        "neuron": "lif",
        "in_shape": "8",
        "out_shape": "4",
        "n_weights": 32,
        "n_weight_sets": 1,
        "n_bias": 4,
        "n_neurons": 4,
        "fan_in": 8,
        "dense_macs_per_step": 32,
    }
]


@pytest.fixture()
def counts_dir(tmp_path):
    counts = counts_from_rows(
        [
            {"layer": "fc1", "t": 0, "in_events_binary": 2, "synaptic_acs": 8, "neurons": 4, "neurons_touched": 4},
            {"layer": "fc1", "t": 1, "in_events_binary": 1, "synaptic_acs": 4, "neurons": 4, "neurons_touched": 4},
        ],
        LAYERS,
    )
    return write_counts_dir(counts, tmp_path / "counts")


def test_round_trip_parquet_and_csv(counts_dir):
    loaded = load_counts(counts_dir)
    assert loaded.n_samples == 1 and loaded.timesteps == 2 and loaded.kind == "snn"
    # written per layer, stored per node: fc1 (synaptic) and fc1_neurons at each step
    assert loaded.counts["layer"].tolist() == ["fc1", "fc1", "fc1_neurons", "fc1_neurons"]
    assert loaded.counts["synaptic_acs"].tolist() == [8, 4, 0, 0]
    assert str(loaded.counts["synaptic_acs"].dtype) == "int64"
    # Without the Parquet files the CSVs are read instead, with the same result.
    (counts_dir / "counts.parquet").unlink()
    (counts_dir / "layers.parquet").unlink()
    again = load_counts(counts_dir)
    pd.testing.assert_frame_equal(loaded.counts, again.counts, check_dtype=False)


def test_synthetic_dir_loads(tmp_path):
    write_counts_dir(synthetic_counts(n_samples=2, timesteps=3), tmp_path / "syn")
    loaded = load_counts(tmp_path / "syn")
    synaptic = {"conv1", "conv2", "conv3", "fc1", "fc2"}
    assert set(loaded.layers["layer"]) == synaptic | {f"{name}_neurons" for name in synaptic}
    assert loaded.timesteps == 3


def _first(table, **values):
    """``table`` with the first row's columns set to ``values``."""
    table = table.copy()
    for column, value in values.items():
        table[column] = table[column].astype(object)
        table.loc[0, column] = value
        if isinstance(value, int):
            table[column] = table[column].astype("int64")
    return table


def _rewrite_counts(directory, mutate):
    table = pd.read_parquet(directory / "counts.parquet")
    table = mutate(table)
    table.to_parquet(directory / "counts.parquet", index=False)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda t: t.drop(columns=["synaptic_acs"]), "counts.parquet: missing column 'synaptic_acs'"),
        (lambda t: _first(t, synaptic_acs=-1), "counts.parquet: column 'synaptic_acs' has negative values"),
        (lambda t: t.assign(synaptic_acs=t["synaptic_acs"] + 0.5), "counts.parquet: column 'synaptic_acs' must be int64"),
        (lambda t: _first(t, neurons_touched=5), "counts.parquet: column 'neurons_touched' exceeds 'neurons'"),
        (lambda t: t.assign(n_samples=2), "counts.parquet: column 'n_samples' disagrees"),
        (lambda t: _first(t, t=5), "counts.parquet: column 't' has values >= timesteps"),
        (lambda t: _first(t, layer="nope"), "counts.parquet: layer 'nope' is not in layers table"),
        (lambda t: _first(t, kind="neuron"), "counts.parquet: layer 'fc1' has kind 'neuron' but the layers table says 'linear'"),
    ],
)
def test_bad_counts_table(counts_dir, mutate, expected):
    _rewrite_counts(counts_dir, mutate)
    with pytest.raises(EnergyError) as err:
        load_counts(counts_dir)
    message = str(err.value)
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"schema_version": 4}, "summary.json: schema_version must be 3"),
        ({"schema_version": 2}, "summary.json: schema_version 2 .*input encoder.*replay the graph again"),
        ({"schema_version": 1}, "summary.json: schema_version 1 .*replay the graph again"),
        ({"n_samples": 0}, "summary.json: 'n_samples' must be a positive integer"),
        ({"timesteps": "4"}, "summary.json: 'timesteps' must be a positive integer"),
        ({"graph": {"kind": "cnn"}}, "summary.json: 'graph.kind' must be 'snn' or 'ann'"),
    ],
)
def test_bad_summary(counts_dir, change, expected):
    path = counts_dir / "summary.json"
    summary = json.loads(path.read_text())
    summary.update(change)
    path.write_text(json.dumps(summary))
    with pytest.raises(EnergyError, match=expected):
        load_counts(counts_dir)


def test_bad_layers_table(counts_dir):
    layers = pd.read_csv(counts_dir / "layers.csv")
    layers.drop(columns=["fan_in"]).to_csv(counts_dir / "layers.csv", index=False)
    with pytest.raises(EnergyError, match=r"layers.csv: missing column 'fan_in'"):
        load_counts(counts_dir)
    layers.assign(kind="conv3d").to_csv(counts_dir / "layers.csv", index=False)
    with pytest.raises(EnergyError, match=r"layers.csv: column 'kind' has unknown value 'conv3d'"):
        load_counts(counts_dir)
    layers.assign(out_shape="?").to_csv(counts_dir / "layers.csv", index=False)
    with pytest.raises(EnergyError, match=r"layers.csv: column 'out_shape' has unreadable shape"):
        load_counts(counts_dir)


def test_csv_errors_name_the_csv(counts_dir):
    (counts_dir / "counts.parquet").unlink()
    table = pd.read_csv(counts_dir / "counts.csv")
    _first(table, output_spikes=-3).to_csv(counts_dir / "counts.csv", index=False)
    with pytest.raises(EnergyError, match=r"counts.csv: column 'output_spikes' has negative values"):
        load_counts(counts_dir)


def test_missing_things(tmp_path, counts_dir):
    with pytest.raises(EnergyError, match="counts directory not found"):
        load_counts(tmp_path / "absent")
    (counts_dir / "summary.json").unlink()
    with pytest.raises(EnergyError, match="missing summary.json"):
        load_counts(counts_dir)


def test_missing_table(counts_dir):
    (counts_dir / "counts.parquet").unlink()
    (counts_dir / "counts.csv").unlink()
    with pytest.raises(EnergyError, match=r"missing counts.parquet \(or counts.csv\)"):
        load_counts(counts_dir)


def test_parse_shape():
    assert parse_shape("32x8x8") == (32, 8, 8)
    assert parse_shape("10") == (10,)
    assert parse_shape(7) == (7,)
    with pytest.raises(ValueError):
        parse_shape("")


def test_import_hygiene():
    # hw_models may use only the counts contract and the node-kind registry from asnn_sim,
    # and never torch or numba.
    import subprocess
    import sys

    code = (
        "import sys, hw_models, hw_models.synthetic; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numba', 'asnn_sim')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    modules = eval(out)
    assert not [m for m in modules if m.split(".")[0] in ("torch", "numba")]
    # beside them only the packages that hold them (and the old-path finder the package installs)
    assert {m for m in modules if not m.startswith("asnn_sim.graph.nodes")} == {
        "asnn_sim", "asnn_sim._moved", "asnn_sim.graph", "asnn_sim.graph.counts_schema"}
