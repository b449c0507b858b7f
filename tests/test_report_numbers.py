"""Every printed SNN/ANN ratio can be recomputed from the printed columns and the profile's constants.

The headline tables of a report (and the copies in the README and docs/energy.md) name
both ANN baselines, give mean and seed spread, and state a verdict only where the whole
spread lies on one side of 1. The end-to-end check on a real two-seed report is in
tests/test_cli.py (`test_compare_writes_a_report_and_reuses_the_cache`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from asnn_sim.app import report
from asnn_sim.app.pipeline import parse_seeds
from report_tables import check_headline, check_ratios, find_table, parse_cell

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ("cmos45-fp32-arith", "cmos45-int8-sram", "spinnaker2")


def _fake_runs(seeds=(0, 1, 2)):
    """Per-seed energy and model rows shaped like build_report's, with known numbers."""
    rng = np.random.default_rng(1)
    dense_macs, energy, models = 237_184.0, [], []
    for seed in seeds:
        skip_macs = 193_000.0 + 1000 * rng.standard_normal()
        models.append(dict(seed=seed, encoding="ANN", accuracy=0.99 - 0.003 * seed, train_accuracy_torch=0.99,
                           train_seconds=4.0, torch_threads=2, spikes_per_inference=np.nan, mean_firing_rate=np.nan,
                           acs=0.0, macs=skip_macs, dense_macs=dense_macs, parity_identical=True))
        for enc, scale in (("direct", 1.1), ("temporal", 0.98), ("hybrid", 0.9)):
            acs = 160_000.0 * scale + 3000 * rng.standard_normal()
            macs = {"direct": 34_536.0, "temporal": 0.0, "hybrid": 8_634.0 + 50 * rng.standard_normal()}[enc]
            models.append(dict(seed=seed, encoding=enc, accuracy=0.985 + 0.002 * rng.standard_normal(),
                               train_accuracy_torch=0.98, train_seconds=15.0, torch_threads=2,
                               spikes_per_inference=900 * scale, mean_firing_rate=0.1, acs=acs,
                               macs=macs, dense_macs=4 * dense_macs, parity_identical=True))
            for profile in PROFILES:
                if profile == "cmos45-fp32-arith":
                    snn, dense, skip = 0.9 * acs + 4.6 * macs, 4.6 * dense_macs, 4.6 * skip_macs
                else:
                    k = {"cmos45-int8-sram": 3.2e-3, "spinnaker2": 0.48}[profile]
                    snn, dense, skip = k * (acs * 6 + macs * 8), k * dense_macs * 4.2, k * skip_macs * 4.2
                energy.append(dict(
                    seed=seed, encoding=enc, profile=profile, snn_pj=snn, snn_low_pj=0.9 * snn, snn_high_pj=1.2 * snn,
                    ann_dense_pj=dense, ann_dense_low_pj=dense, ann_dense_high_pj=dense, ann_dense_macs=dense_macs,
                    ratio_vs_dense_ann=snn / dense, ratio_vs_dense_ann_low=0.9 * snn / dense, ratio_vs_dense_ann_high=1.2 * snn / dense,
                    ann_zero_skip_pj=skip, ann_zero_skip_low_pj=skip, ann_zero_skip_high_pj=skip,
                    ratio_vs_zero_skip_ann=snn / skip, ratio_vs_zero_skip_ann_low=0.9 * snn / skip,
                    ratio_vs_zero_skip_ann_high=1.2 * snn / skip, spikes_per_synapse=0.7, break_even_spikes_per_synapse=0.8,
                    break_even_spike_rate=0.2, break_even_status="ok",
                    encoder_on_chip=profile == "cmos45-int8-sram", encoder_ops=0.0 if enc == "direct" else 192.0,
                    encoder_pj=(0.0 if enc == "direct" else 0.25) * (profile == "cmos45-int8-sram"), dram_pj=0.0,
                ))
                energy[-1]["network_pj"] = snn - energy[-1]["encoder_pj"]
    return pd.DataFrame(energy), pd.DataFrame(models)


def _printed(seeds=(0, 1, 2)) -> str:
    by_seed, model_rows = _fake_runs(seeds)
    energy = report.aggregate_energy(by_seed)
    models = report.aggregate_models(model_rows)
    head = report.headline(models, energy, list(PROFILES))
    ratios = report.ratio_table(energy)
    conventions = {"graded": "mac", "skip_zero_weights": False, "static_input": "per_step"}
    return report.headline_markdown(head, ratios, list(seeds), conventions, list(PROFILES))


def test_every_printed_ratio_is_recomputable_from_the_printed_columns():
    text = _printed()
    assert check_headline(text) == 3 * 3 + 2  # 3 SNN energies and 6 ratios, 2 ANN energies
    assert check_ratios(text) == 3 * len(PROFILES) * 2
    assert "mean over 3 seeds (0, 1, 2)" in text and "ANN dense" in text and "ANN zero-skip" in text
    assert "graded=mac" in text and "E = 0.9 pJ x ACs + 4.6 pJ x MACs" in text


def test_the_ann_rows_carry_the_counts_each_ratio_divides_by():
    head = find_table(_printed(), ("model",))
    dense = next(r for r in head if r["model"] == "ANN dense")
    skip = next(r for r in head if r["model"] == "ANN zero-skip")
    assert dense["MACs/inf"] == "237,184" and dense["ACs/inf"] == "0"
    assert parse_cell(skip["MACs/inf"])[0] < 237_184 and "[" in skip["MACs/inf"]  # seeds differ


def test_one_seed_gives_values_without_spread_and_no_verdict():
    text = _printed(seeds=(0,))
    check_headline(text)
    check_ratios(text)
    assert "[" not in "".join(r["SNN/ANN dense"] for r in find_table(text, ("profile",)))
    assert {r["verdict vs dense / zero-skip"] for r in find_table(text, ("profile",))} == {"no verdict (1 seed) / no verdict (1 seed)"}


@pytest.mark.parametrize(
    "lo, hi, n, said",
    [(0.91, 0.99, 3, "SNN lower"), (1.01, 1.2, 3, "SNN higher"), (0.97, 1.03, 3, "no verdict (spread crosses 1)"),
     (0.5, 0.5, 1, "no verdict (1 seed)"), (0.99, 1.0, 2, "no verdict (spread crosses 1)"), (np.nan, np.nan, 3, "-"),
     (0.8, 0.9, 2, "SNN lower (2 seeds only)"), (1.1, 1.2, 2, "SNN higher (2 seeds only)")],
)
def test_verdict_only_outside_the_spread(lo, hi, n, said):
    assert report.verdict(lo, hi, n) == said


def test_parse_seeds():
    assert parse_seeds("0,1,2") == [0, 1, 2]
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("7") == [7]
    assert parse_seeds(" 3, 0-1 ") == [3, 0, 1]
    for bad, message in (("", "at least one"), ("a", "integers"), ("2-1", "not a valid"), ("1,1", "twice"), ("-1", "integers")):
        with pytest.raises(ValueError, match=message):
            parse_seeds(bad)


@pytest.mark.parametrize("doc", ["README.md", "docs/energy.md"])
def test_the_documented_demo_tables_recompute(doc):
    # The copies of the demo's tables in the user docs obey the same arithmetic as a fresh
    # report: a reviewer recomputing a ratio from the docs gets the printed value.
    text = (ROOT / doc).read_text()
    # Each section with a headline table (the README's: the digits demo).
    sections = [sec for sec in text.split("\n## ") if "| model | accuracy | spikes/inf |" in sec]
    if doc == "README.md":
        assert sections and all(check_headline(sec) == 3 * 3 + 2 for sec in sections)
    assert check_ratios(text) >= 2 * 9
    for sec in sections:
        if "| profile | encoding | SNN nJ |" in sec:
            assert check_ratios(sec) >= 2 * 3


def test_the_encoder_section_lists_on_chip_profiles_and_names_the_rest():
    from asnn_sim.app.report.markdown import _encoder_markdown

    energy = pd.DataFrame({"encoding": ["rate", "rate"], "profile": ["cmos45-int8-sram", "loihi"],
                           "encoder_on_chip": [True, False], "encoder_ops": [512.0, 512.0],
                           "encoder_pj": [6270.0, 0.0], "network_pj": [9.9e5, 5.0e6], "encoder_share": [6270 / 996270, 0.0]})
    text = "\n".join(_encoder_markdown(energy))
    rows = find_table(text, ("encoding", "profile"))
    assert [r["profile"] for r in rows] == ["cmos45-int8-sram"] and rows[0]["encoder share"] == "0.63 %"
    assert "not priced: `loihi`" in text
    assert "No profile in this report runs the encoder on chip" in "\n".join(_encoder_markdown(energy[energy["profile"] == "loihi"]))
