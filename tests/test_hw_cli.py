"""asnn profiles / asnn energy: parser wiring, printed table, atomic outputs, errors."""

from __future__ import annotations

import json
from importlib import resources

import pandas as pd
import pytest

from asnn_sim.app.cli import build_parser as parser
from asnn_sim.app.cli import main
from hw_models import EnergyError, dense_ann_counts, list_profiles
from hw_models.synthetic import synthetic_counts, write_counts_dir


@pytest.fixture()
def counts_dir(tmp_path):
    return write_counts_dir(synthetic_counts(n_samples=2, timesteps=3), tmp_path / "counts")


def test_help_explains(capsys):
    with pytest.raises(SystemExit):
        parser().parse_args(["energy", "--help"])
    text = capsys.readouterr().out
    for phrase in ("COUNTS_DIR", "--hw", "--out", "--ann-counts", "--ann-bits", "break-even", "spikes per synapse", "0.15-1.38"):
        assert phrase in text
    with pytest.raises(SystemExit):
        parser().parse_args(["profiles", "--help"])
    assert "--show" in capsys.readouterr().out


def test_profiles_table(capsys):
    args = parser().parse_args(["profiles", "--wide"])  # one line per profile: cells unwrapped
    args.handler(args)
    out = capsys.readouterr().out
    for name in list_profiles():
        assert name in out
    assert "Davies et al. IEEE Micro 2018" in out and "all-in" in out


def test_profiles_show(capsys):
    args = parser().parse_args(["profiles", "--show", "loihi"])
    args.handler(args)
    out = capsys.readouterr().out
    assert "Table 2" in out and "hops_per_spike" in out and "assumption" in out


def test_energy_writes_all_outputs(counts_dir, tmp_path, capsys):
    out = tmp_path / "energy"
    args = parser().parse_args(["energy", str(counts_dir), "--hw", "cmos45-fp32-arith,loihi,truenorth", "--out", str(out)])
    args.handler(args)
    printed = capsys.readouterr().out
    assert "SNN/ANN" in printed and "spikes per synapse per inference" in printed and "0.15-1.38" in printed
    assert sorted(p.name for p in out.iterdir()) == ["breakdown.csv", "breakdown.parquet", "capacity.csv", "summary.csv", "summary.json", "timing.csv"]
    breakdown = pd.read_parquet(out / "breakdown.parquet")
    assert set(breakdown["profile"]) == {"cmos45-fp32-arith", "loihi", "truenorth"}
    # The chips with a [capacity] table are mapped; the summary holds the totals of capacity.csv.
    capacity, summary = pd.read_csv(out / "capacity.csv"), pd.read_csv(out / "summary.csv").set_index("profile")
    assert set(capacity["profile"]) == {"loihi", "truenorth"} and "capacity (layer-by-layer mapping" in printed
    for name, rows in capacity.groupby("profile"):
        assert summary.loc[name, "cores"] == rows["cores"].sum()
    assert pd.isna(summary.loc["cmos45-fp32-arith", "cores"])
    assert set(breakdown["component"]) <= {
        "synaptic_compute",
        "neuron_update",
        "elementwise",
        "weight_memory",
        "potential_memory",
        "spike_routing",
        "dram",
        "encoder",
        "inter_chip",
        "static",
    }
    assert len(pd.read_csv(out / "breakdown.csv")) == len(breakdown)
    summary = json.loads((out / "summary.json").read_text())
    assert [p["profile"] for p in summary["profiles"]] == ["cmos45-fp32-arith", "loihi", "truenorth"]
    assert summary["dampfhoffer_band_spikes_per_synapse"] == [0.15, 1.38]
    assert summary["ann_baseline"].startswith("dense")
    csv = pd.read_csv(out / "summary.csv")
    assert {"snn_pj", "ann_pj", "ratio", "break_even_spikes_per_synapse", "spikes_per_synapse"} <= set(csv.columns)


def test_energy_default_hw_and_ann_options(counts_dir, tmp_path, capsys):
    # A dense replay of the ANN twin stands in for a real one (same format).
    ann_dir = write_counts_dir(dense_ann_counts(synthetic_counts(n_samples=2, timesteps=3)), tmp_path / "ann")
    args = parser().parse_args(["energy", str(counts_dir), "--ann-counts", str(ann_dir), "--ann-bits", "matched"])
    args.handler(args)
    out = capsys.readouterr().out
    for name in list_profiles():
        assert name in out
    assert "zero-skip" in out and "matched" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["energy", "{missing}"], "counts directory not found"),
        (["energy", "{counts}", "--hw", "loihi,nope"], "unknown profile 'nope'"),
        (["energy", "{counts}", "--hw", "{bad_profile}"], "constants.ac.grade"),
        (["energy", "{counts}", "--ann-counts", "{counts}"], "graph.kind must be 'ann'"),
    ],
)
def test_bad_input_raises_and_writes_nothing(counts_dir, tmp_path, argv, message):
    bad_profile = tmp_path / "bad.toml"
    shipped = resources.files("hw_models").joinpath("profiles", "truenorth.toml").read_text()
    bad_profile.write_text(shipped.replace('grade = "measured"', 'grade = "vibes"', 1))
    out = tmp_path / "energy"
    subs = {"missing": str(tmp_path / "missing"), "counts": str(counts_dir), "bad_profile": str(bad_profile)}
    args = parser().parse_args([a.format(**subs) for a in argv] + ["--out", str(out)])
    with pytest.raises(EnergyError, match=message) as err:
        args.handler(args)
    assert "\n" not in str(err.value)
    assert not out.exists() or not any(out.iterdir())


def test_out_must_be_a_directory(counts_dir, tmp_path):
    clash = tmp_path / "file"
    clash.write_text("x")
    args = parser().parse_args(["energy", str(counts_dir), "--hw", "loihi", "--out", str(clash)])
    with pytest.raises(ValueError, match="not a directory"):
        args.handler(args)
    assert clash.read_text() == "x"


def test_energy_refuses_to_overwrite_without_force(counts_dir, tmp_path, capsys):
    out = tmp_path / "energy"
    argv = ["energy", str(counts_dir), "--hw", "loihi", "--out", str(out)]
    assert main(argv) == 0
    before = (out / "summary.json").read_text()
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("asnn: error: --out") and "--force" in err[0]
    assert (out / "summary.json").read_text() == before
    assert main(argv + ["--force"]) == 0


def test_failed_write_leaves_old_results(counts_dir, tmp_path, monkeypatch):
    out = tmp_path / "energy"
    args = parser().parse_args(["energy", str(counts_dir), "--hw", "loihi", "--out", str(out)])
    args.handler(args)
    before = (out / "summary.json").read_text()

    def boom(self, *a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    args = parser().parse_args(["energy", str(counts_dir), "--hw", "truenorth", "--out", str(out), "--force"])
    with pytest.raises(EnergyError, match="cannot write results"):
        args.handler(args)
    assert (out / "summary.json").read_text() == before
    assert sorted(p.name for p in out.iterdir()) == ["breakdown.csv", "breakdown.parquet", "capacity.csv", "summary.csv", "summary.json", "timing.csv"]


def test_a_broken_profile_file_is_reported_whole_on_one_line(counts_dir, tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    shipped = resources.files("hw_models").joinpath("profiles", "truenorth.toml").read_text()
    bad.write_text(shipped.replace('grade = "measured"', 'grade = "vibes"', 1).replace('clocking = "', 'clocking = "x', 1))
    assert main(["energy", str(counts_dir), "--hw", f"lohi,{bad}"]) == 1
    assert "did you mean 'loihi'?" in capsys.readouterr().err  # the name is checked first
    assert main(["energy", str(counts_dir), "--hw", str(bad)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"asnn: error: {bad}: 2 problems: (1) clocking must be one of")
    assert "(2) constants.ac.grade must be one of measured, simulated, derived (got 'vibes')" in line
