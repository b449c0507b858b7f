"""The Fashion-MNIST study's statistics (benchmarks/fashion_study.py), checked against scipy and by construction."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import fashion_report as report  # noqa: E402
import fashion_study as study  # noqa: E402

scipy_stats = pytest.importorskip("scipy.stats")  # scikit-learn's dependency, always installed here


@settings(max_examples=60, deadline=None)
@given(b=st.integers(0, 400), c=st.integers(0, 400), both=st.integers(0, 50), neither=st.integers(0, 50))
def test_exact_mcnemar_equals_the_two_sided_binomial_test(b, c, both, neither):
    a_right = np.array([True] * b + [False] * c + [True] * both + [False] * neither)
    b_right = np.array([False] * b + [True] * c + [True] * both + [False] * neither)
    got_b, got_c, p = report.mcnemar_exact(a_right, b_right)
    assert (got_b, got_c) == (b, c)
    want = 1.0 if b + c == 0 else scipy_stats.binomtest(min(b, c), b + c, 0.5).pvalue
    assert p == pytest.approx(want, rel=1e-9, abs=1e-300)


def test_wilson_interval_matches_the_textbook_value():
    # 90 of 100: the 95 % Wilson interval is [0.8256, 0.9448] (Newcombe 1998, method 3).
    lo, hi = report.wilson(90, 100)
    assert lo == pytest.approx(0.8256, abs=5e-5) and hi == pytest.approx(0.9448, abs=5e-5)
    assert report.wilson(10_000, 10_000)[1] == pytest.approx(1.0)


def test_paired_bootstrap_sees_a_real_difference_and_not_an_absent_one():
    rng = np.random.default_rng(0)
    truth = rng.random(10_000)
    better = [truth < 0.92, truth < 0.921]
    worse = [truth < 0.90, truth < 0.899]
    diff, lo, hi, p = report.paired_bootstrap(better, worse, rounds=2_000)
    assert lo < diff < hi and lo > 0 and p < 0.001
    assert diff == pytest.approx(np.mean([0.92 - 0.90, 0.921 - 0.899]), abs=0.01)
    same = [rng.random(10_000) < 0.9 for _ in range(2)]
    _, lo, hi, p = report.paired_bootstrap(same, same, rounds=2_000)
    assert lo == hi == 0.0 and p == 1.0


def test_the_plan_prices_every_spiking_model_against_an_ann_trained_before_it():
    for budget in (study.FULL, study.QUICK):
        entries = study.plan(budget, {"grid", "timesteps", "models"})
        names = [e.name for e in entries]
        assert len(names) == len(set(names))
        for i, e in enumerate(entries):
            if e.encoding != "ann":
                assert e.twin().name in names[:i]
        assert not any(e.encoding == "hybrid" and e.timesteps < 2 for e in entries)
    full = study.plan(study.FULL, {"grid"})
    assert sum(e.encoding != "ann" for e in full) == 18 and sum(e.encoding == "ann" for e in full) == 3


def test_each_replay_setting_has_its_own_folder_and_the_study_reads_the_pipelines():
    from asnn_sim.app.pipeline import replay_dir_for, run_dir_for
    from asnn_sim.sim.engine import Conventions

    run = Path("run")
    folders = [replay_dir_for(run), replay_dir_for(run, limit=500), replay_dir_for(run, precision="float32"),
               replay_dir_for(run, split="train"), replay_dir_for(run, conventions=Conventions(graded="expand"))]
    assert len(set(folders)) == len(folders) and all(f.parent == run for f in folders)
    assert replay_dir_for(run, conventions=Conventions()) == replay_dir_for(run)  # the default names no convention
    entry = study.plan(study.QUICK, {"grid"})[1]
    assert study._counts_of(entry, study.QUICK) == replay_dir_for(run_dir_for(entry.config(study.QUICK), study.CACHE),
                                                                   limit=study.QUICK.replay_limit)


def test_only_keeps_the_matching_models_and_their_twins_in_plan_order():
    entries = study.plan(study.FULL, {"grid", "models"})
    picked = study.select(entries, "resnet-small-*-asnn-*, lenet-hybrid-lif-*-s2-*")
    names = [e.name for e in picked]
    assert names == [e.name for e in entries if e.name in set(names)]  # the plan's order
    assert "resnet-small-ann-T4-s0-e4" in names and "lenet-ann-T4-s2-e4" in names  # twins first
    assert sum("-asnn-" in n or "-lif-" in n for n in names) == 4
    assert study.select(entries, "") == entries
    with pytest.raises(SystemExit, match="matches no model"):
        study.select(entries, "vgg-*")


def test_hybrid_at_t_is_paired_with_temporal_at_2t():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 2_000)

    def result(encoding, T, accuracy, energy_pj):
        right = rng.random(len(labels)) < accuracy
        predictions = np.where(right, labels, (labels + 1) % 10)
        part = "grid" if T == 4 else "timesteps"
        entry = dict(part=part, model="lenet", encoding=encoding, asnn=True, timesteps=T, seed=0, epochs=4)
        return {"entry": entry, "replay": {"predictions": "".join(map(str, predictions))},
                "energy": {report.FIGURE_PROFILE: {"snn_pj": energy_pj}}}

    results = [result("hybrid", 2, 0.95, 2.0), result("temporal", 4, 0.80, 4.0), result("temporal", 2, 0.7, 1.0)]
    by = report.index({str(i): r for i, r in enumerate(results)})
    lines = report._fewer_steps_table(by, study.FULL, labels)
    rows = {line.split(" | ")[0].strip("| "): line for line in lines if line.startswith("| hybrid")}
    assert set(rows) == {"hybrid T=2 vs temporal T=4", "hybrid T=2 vs temporal T=2"}
    assert "| 0.50 | hybrid T=2 more accurate |" in rows["hybrid T=2 vs temporal T=4"]  # energy 2/4, 15 points


def test_the_time_table_averages_the_seeds_and_skips_results_priced_without_time():
    budget = study.Budget(1, 1, 1, None, None, (0, 1), (4,))
    timed = {"snn_pj": 1e6, "snn_seconds": 2e-4, "ann_dense_pj": 2e6, "ann_dense_seconds": 3e-4, "snn_static_pj": 5e5,
             "snn_edp_js": 2e-10, "ann_dense_edp_js": 6e-10}
    by = {("grid", "lenet", "temporal", True, 4, seed): {"energy": {"loihi": dict(timed, snn_seconds=(seed + 1) * 2e-4),
                                                                    "truenorth": {"snn_pj": 1.0}}}
          for seed in (0, 1)}
    lines = report._time_table(by, budget)
    rows = [line for line in lines if line.startswith("| loihi")]
    assert rows == ["| loihi | temporal | 300 | 300 | 50.0 % | 2e-10 | 6e-10 |"]  # (200 + 400) / 2 us
    assert not any(line.startswith("| truenorth") for line in lines)  # priced before the time model
    assert report._time_table({}, budget) == []


def _replay_folder(folder: Path, predictions, per_inference: dict) -> Path:
    import json

    import pandas as pd

    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps({"per_inference": per_inference}))
    pd.DataFrame({"sample": np.arange(len(predictions)), "label": np.zeros(len(predictions), dtype=np.int64),
                  "prediction": predictions}).to_parquet(folder / "per_sample.parquet")
    return folder


def test_a_rebuilt_model_must_predict_and_count_as_its_result_file_says(tmp_path):
    counts = {k: 10.5 for k in study.PER_INFERENCE}
    stored = {"replay": {"predictions": "0123"}, "per_inference": dict(counts)}
    assert study.rebuild_difference(stored, _replay_folder(tmp_path / "same", [0, 1, 2, 3], counts)) is None
    assert study.rebuild_difference(stored, _replay_folder(tmp_path / "pred", [0, 1, 2, 4], counts)) == \
        "1 of 4 predictions differ"
    assert study.rebuild_difference(stored, _replay_folder(tmp_path / "short", [0, 1, 2], counts)) == \
        "3 predictions, the file has 4"
    drifted = _replay_folder(tmp_path / "count", [0, 1, 2, 3], dict(counts, synaptic_acs=10.6))
    assert study.rebuild_difference(stored, drifted).startswith("synaptic_acs per inference 10.6")


def test_results_priced_before_the_timing_model_are_marked_and_named():
    timed = {"name": "a", "entry": {"encoding": "direct"}, "energy": {"loihi": {"snn_pj": 2.0, "snn_seconds": 1e-4,
                                                                                "snn_static_pj": 1.0}}}
    untimed = {"name": "b", "entry": {"encoding": "direct"}, "energy": {"loihi": {"snn_pj": 1.0}}}
    twin = {"name": "c", "entry": {"encoding": "ann"}, "energy": None}
    assert study.priced_with_time(timed) and study.priced_with_time(twin) and not study.priced_with_time(untimed)
    note = report._untimed_note({"a": timed, "b": untimed, "c": twin})
    assert note[0].startswith(f"{report.UNTIMED} 1 spiking model was") and note[0].endswith(": b.")
    assert report._untimed_note({"a": timed}) == []
    assert report._static_profiles({1: timed, 2: untimed, 3: twin}) == {"loihi"}


def test_the_report_says_which_cpus_trained_the_models():
    new = {"machine": {"cpu": "AMD EPYC", "capability": "AVX2"}}
    assert report._machines_line({"a": new, "b": dict(new), "c": {}}) == \
        ["Trained on: AMD EPYC (AVX2): 2 models; not recorded: 1 model.", ""]
    assert report._machines_line({"c": {}}) == []  # results from before the machine was recorded


def test_the_sweeps_energy_against_time_takes_each_t_priced_with_time():
    budget = study.Budget(1, 1, 1, None, None, (0,), (2, 8))

    def result(T, seconds):
        part = "grid" if T == 4 else "timesteps"
        timed = {"snn_pj": 1e5 * T, "snn_seconds": seconds, "ann_dense_pj": 3e5, "ann_dense_seconds": 5e-6,
                 "snn_static_pj": 0.0, "snn_edp_js": 1e-13, "ann_dense_edp_js": 1e-12}
        return {"energy": {"loihi": timed if seconds else {"snn_pj": 1e5 * T}, "cmos45-fp32-arith": {"snn_pj": 1.0}}}

    by = {("grid" if T == 4 else "timesteps", "lenet", "hybrid", True, T, 0): result(T, s)
          for T, s in ((2, 1e-6), (4, 2e-6), (8, None))}
    points = report.sweep_latency_points(by, budget)
    assert points[["timesteps", "profile", "snn_seconds"]].values.tolist() == [[2, "loihi", 1e-6], [4, "loihi", 2e-6]]
    lines = report._time_table(by, budget)
    assert f"![Energy against time per inference as T grows]({report.LATENCY_FIGURE})" in lines
