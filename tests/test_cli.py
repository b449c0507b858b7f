"""The `asnn` command end to end: export, simulate, energy, compare; errors are one line, exit 1."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from asnn_sim.app.cli import main
from asnn_sim.graph.counts_schema import count_names
from report_tables import check_headline, check_ratios, find_table


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.fixture
def graph_file(trained_runs, tmp_path):
    path = tmp_path / "hybrid.asnn"
    assert main(["export", str(trained_runs["hybrid"]), "-o", str(path)]) == 0
    return path


@pytest.mark.slow
def test_export_then_simulate_with_parity(graph_file, trained_runs, tmp_path, capsys):
    out = tmp_path / "counts"
    code = main(["simulate", str(graph_file), "--out", str(out), "--limit", "50", "--quiet", "--check-parity", str(trained_runs["hybrid"])])
    printed = capsys.readouterr().out
    assert code == 0
    assert "accuracy" in printed and "0 of 50 predictions differ" in printed and "ACs" in printed
    assert {p.name for p in out.iterdir()} == {
        "counts.parquet", "counts.csv", "per_sample.parquet", "per_sample.csv", "layers.parquet", "layers.csv", "summary.json",
        "manifest.json",
    }
    counts = pd.read_parquet(out / "counts.parquet")
    # one row per working node (the input's encoder, 5 synaptic, 4 neuron, 3 pool nodes and the readout) and step
    assert len(counts) == 14 * 4 and all(counts[c].dtype == "int64" for c in count_names())
    csv = pd.read_csv(out / "counts.csv")
    pd.testing.assert_frame_equal(csv, counts, check_dtype=False)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_samples"] == 50 and summary["parity"]["identical"] is True
    assert summary["dataset"] == {"name": "digits", "split": "test"}
    per_sample = pd.read_parquet(out / "per_sample.parquet")
    assert len(per_sample) == 50 * 14 and (per_sample.groupby("layer")["synaptic_acs"].sum() == counts.groupby("layer")["synaptic_acs"].sum()).all()


@pytest.mark.slow
def test_simulate_conventions_are_recorded(graph_file, tmp_path):
    out = tmp_path / "counts"
    assert main(["simulate", str(graph_file), "--out", str(out), "--limit", "20", "--quiet",
                 "--graded", "expand", "--skip-zero-weights", "--precision", "float32"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["conventions"] == {"graded": "expand", "skip_zero_weights": True, "static_input": "per_step"}
    assert summary["precision"] == "float32"


def test_energy_on_replayed_counts(graph_file, tmp_path, capsys):
    counts = tmp_path / "counts"
    assert main(["simulate", str(graph_file), "--out", str(counts), "--limit", "20", "--quiet"]) == 0
    out = tmp_path / "energy"
    assert main(["energy", str(counts), "--hw", "cmos45-fp32-arith,loihi", "--out", str(out)]) == 0
    assert "SNN/ANN" in capsys.readouterr().out
    breakdown = pd.read_parquet(out / "breakdown.parquet")
    assert set(breakdown["profile"]) == {"cmos45-fp32-arith", "loihi"}
    # The arithmetic-only profile is the papers' formula, exactly.
    per = json.loads((counts / "summary.json").read_text())["per_inference"]
    snn = breakdown[(breakdown["profile"] == "cmos45-fp32-arith") & (breakdown["system"] == "snn")]["energy_pj"].sum()
    assert snn == pytest.approx(0.9 * per["synaptic_acs"] + 4.6 * per["synaptic_macs"], rel=1e-12)
    assert main(["energy", str(counts), "--hw", "abacus"]) == 1
    assert "abacus" in _err_line(capsys)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["simulate", "missing.asnn", "--out", "OUT"], "no such graph file"),
        (["simulate", "GRAPH", "--out", "OUT", "--dataset", "mnist"], "give --data-dir or set ASNN_DATA_DIR"),
        (["simulate", "GRAPH", "--out", "OUT", "--graded", "sometimes"], "invalid choice"),
        (["export", "nowhere", "-o", "TMP/x.asnn"], "nowhere: no such run directory"),
        (["export", "nowhere", "-o", "OUT/x.asnn"], "does not exist"),
        (["energy", "nowhere"], "nowhere"),
        (["compare", "--out", "OUT", "--encodings", "direct,morse", "--epochs", "1"], "morse"),
        (["compare", "--out", "OUT", "--hw", "abacus"], "abacus"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(argv, message, graph_file, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ASNN_DATA_DIR", raising=False)
    swap = {"GRAPH": graph_file, "OUT": tmp_path / "o", "TMP": tmp_path}
    for key, value in swap.items():
        argv = [a.replace(key, str(value)) for a in argv]
    assert main(argv) == 1
    assert message in _err_line(capsys)
    # Nothing half-written: the output folder is not created on a rejected request.
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_simulate_refuses_to_overwrite_without_force(graph_file, tmp_path, capsys):
    out = tmp_path / "counts"
    assert main(["simulate", str(graph_file), "--out", str(out), "--limit", "10", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["simulate", str(graph_file), "--out", str(out), "--limit", "10", "--quiet"]) == 1
    assert "--force" in _err_line(capsys)
    assert main(["simulate", str(graph_file), "--out", str(out), "--limit", "10", "--quiet", "--force"]) == 0


def test_export_refuses_to_overwrite_without_force(graph_file, trained_runs, capsys):
    capsys.readouterr()
    assert main(["export", str(trained_runs["hybrid"]), "-o", str(graph_file)]) == 1
    assert "--force" in _err_line(capsys)


@pytest.mark.slow
def test_compare_writes_a_report_and_reuses_the_cache(tmp_path, capsys):
    cache, out = tmp_path / "cache", tmp_path / "report"
    argv = ["compare", "--encodings", "hybrid", "--timesteps", "3", "--epochs", "1", "--limit", "40", "--seeds", "0,1",
            "--hw", "cmos45-fp32-arith,truenorth", "--cache-dir", str(cache), "--out", str(out), "--quiet"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "training" in first and "report:" in first and "| hybrid |" in first
    assert "| ANN dense |" in first and "| ANN zero-skip |" in first and "mean over 2 seeds (0, 1)" in first
    # every ratio printed, and every ratio in summary.md, recomputes from the printed columns
    md = (out / "summary.md").read_text()
    for text in (first, md):
        assert check_headline(text) == 1 * 3 + 2
        assert check_ratios(text) == 2 * 2
    for name in ("energy_by_encoding", "firing_rates", "accuracy_vs_energy", "early_exit", "raster"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 10_000
    for name in ("encodings", "energy", "firing_rates", "layer_timestep", "early_exit"):
        assert len(pd.read_parquet(out / "tables" / f"{name}.parquet")) > 0
        assert (out / "tables" / f"{name}.csv").is_file()
    md = (out / "summary.md").read_text()
    assert "![energy by encoding](figures/energy_by_encoding.png)" in md and "| hybrid |" in md
    # [a–b] is the seed spread, {a–b} the constants' bounds, said once; 2 seeds make thin verdicts
    assert "`[a–b]` is the min–max over the training seeds; `{a–b}` puts the profile's" in md
    assert "With 2 seeds a verdict rests on little" in md
    verdicts = {v.strip() for r in find_table(md, ("profile",)) for v in r["verdict vs dense / zero-skip"].split("/")}
    assert all(v.endswith("(2 seeds only)") or v.startswith("no verdict") for v in verdicts), verdicts
    energy = pd.read_parquet(out / "tables" / "energy.parquet")
    assert set(energy["profile"]) == {"cmos45-fp32-arith", "truenorth"}
    assert energy["ann_zero_skip_pj"].notna().all() and (energy["ann_zero_skip_pj"] <= energy["ann_dense_pj"]).all()
    by_seed = pd.read_parquet(out / "tables" / "energy_by_seed.parquet")
    assert sorted(by_seed["seed"].unique()) == [0, 1] and (energy["n_seeds"] == 2).all()
    mean = by_seed.groupby("profile")["snn_pj"].mean()
    assert np.allclose(energy.set_index("profile")["snn_pj"].loc[mean.index], mean)
    assert (energy["ratio_vs_zero_skip_ann_seed_min"] <= energy["ratio_vs_zero_skip_ann"] + 1e-12).all()
    assert (energy["ratio_vs_zero_skip_ann"] <= energy["ratio_vs_zero_skip_ann_seed_max"] + 1e-12).all()
    early = pd.read_parquet(out / "tables" / "early_exit.parquet")
    assert sorted(early.loc[early["encoding"] == "hybrid", "t"].unique()) == [0, 1, 2]  # 0-based like the counts
    # The papers' firing-rate convention beside the exact counts: the exact column is the
    # fp32-arith profile's own ratio; int8-SRAM was not priced here, so it is missing.
    conv = pd.read_parquet(out / "tables" / "conventions.parquet").set_index("encoding")
    fp32 = energy[energy["profile"] == "cmos45-fp32-arith"].set_index("encoding")
    assert np.isclose(conv.loc["hybrid", "ratio_exact"], fp32.loc["hybrid", "ratio_vs_dense_ann"])
    assert conv["ratio_memory"].isna().all() and (conv["ratio_firing_rate"] > 0).all()
    assert "## Energy conventions side by side" in md

    # A second run reuses the trained models and replays; --force rewrites the report.
    assert main(argv) == 1 and "--force" in _err_line(capsys)
    assert main(argv + ["--force"]) == 0
    second = capsys.readouterr().out
    assert "training" not in second and second.count("reusing trained run") == 4
    shutil.rmtree(out)


def test_demo_refuses_a_foreign_folder_but_rewrites_its_own_report(tmp_path, capsys, monkeypatch):
    from asnn_sim.app import pipeline

    def stop(*args, **kwargs):
        raise ValueError("reached training")

    monkeypatch.setattr(pipeline, "prepare_seeds", stop)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("mine")
    argv = ["demo", "--cache-dir", str(tmp_path / "cache"), "--quiet", "--out"]
    assert main(argv + [str(foreign)]) == 1
    assert "--force" in _err_line(capsys)  # refused before any training
    assert main(argv + [str(foreign), "--force"]) == 1 and "reached training" in _err_line(capsys)
    # an earlier report of ours (its report.json) is rewritten without --force, as `make demo` does
    own = tmp_path / "own"
    (own / "tables").mkdir(parents=True)
    (own / "report.json").write_text(json.dumps({"asnn_sim_version": "0.1.0", "models": {}}))
    assert main(argv + [str(own)]) == 1 and "reached training" in _err_line(capsys)
    # an empty or missing folder needs nothing
    assert main(argv + [str(tmp_path / "new")]) == 1 and "reached training" in _err_line(capsys)
    # compare stays strict: an earlier report still needs --force
    assert main(["compare", "--cache-dir", str(tmp_path / "cache"), "--out", str(own)]) == 1
    assert "--force" in _err_line(capsys)
    assert main(["demo", "--seeds", "1,1", "--out", str(tmp_path / "new")]) == 1 and "twice" in _err_line(capsys)


@pytest.mark.slow
def test_compare_runs_a_sew_resnet_end_to_end(tmp_path, capsys):
    # the same pipeline and report for a Spiking ResNet (SEW: graded events between blocks)
    out = tmp_path / "report"
    argv = ["compare", "--model", "resnet-small", "--residual", "sew", "--encodings", "temporal", "--timesteps", "3",
            "--epochs", "1", "--limit", "30", "--seeds", "0", "--hw", "cmos45-int8-sram,loihi", "--cache-dir", str(tmp_path / "cache"),
            "--out", str(out), "--quiet"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| temporal |" in printed and "| ANN dense |" in printed and "no verdict (1 seed)" in printed and "0 spike mismatches" not in printed.replace("spike", "x")
    layers = pd.read_parquet(out / "tables" / "layer_timestep.parquet")
    assert {"s1b0_add", "s2b0_short_lif", "pool"} <= set(layers["layer"])
    energy = pd.read_parquet(out / "tables" / "energy.parquet")
    assert (energy["snn_pj"] > 0).all() and energy["ann_zero_skip_pj"].notna().all()
    md = (out / "summary.md").read_text()
    assert "resnet-small" in md and "0 prediction and 0 spike mismatches" in md
