"""The DRAM tier (model.dram) by hand on the two-layer table of test_hw_model.py.

conv1 holds 18 weights (18 B at 8 bits), fc1 128 weights (128 B); with an on-chip SRAM
of 100 B only fc1's weights live in DRAM. fc1 does 12 + 16 = 28 synaptic ops (T = 2).
"""

from __future__ import annotations

import pytest
from test_hw_model import _variant, totals

from hw_models import estimate
from hw_models.synthetic import two_layer_counts as tiny

E_DRAM = 1950.0  # pJ per 64-bit access (Horowitz's 1.3-2.6 nJ, middle)
WORD8 = 10.0 * 8 / 64  # an 8-bit SRAM read under 8 KB


def _small_sram(tmp_path, reuse: str):
    return _variant(tmp_path, "cmos45-int8-sram", model__dram=reuse,
                    assumptions__sram_capacity={"value": 100, "unit": "B", "why": "a test"})


def test_dram_appears_exactly_for_the_array_that_does_not_fit(tmp_path):
    b = estimate(tiny(), _small_sram(tmp_path, "per-step"))
    dram = b[(b["component"] == "dram") & (b["system"] == "snn")].groupby("layer")["energy_pj"].sum()
    assert dram["conv1"] == 0 and dram["fc1"] > 0


def test_per_event_reads_every_weight_from_dram_and_none_from_sram(tmp_path):
    base = totals(estimate(tiny(), "cmos45-int8-sram"))
    t = totals(estimate(tiny(), _small_sram(tmp_path, "per-event")))
    assert t["dram"] == pytest.approx(28 * 8 / 64 * E_DRAM)
    assert t["weight_memory"] == pytest.approx(base["weight_memory"] - 28 * WORD8)  # fc1's reads moved
    for c in ("synaptic_compute", "neuron_update", "potential_memory", "spike_routing"):
        assert t[c] == base[c]


def test_per_step_fetches_each_weight_once_per_step_and_per_batch_once(tmp_path):
    step = totals(estimate(tiny(), _small_sram(tmp_path, "per-step")))
    batch = totals(estimate(tiny(), _small_sram(tmp_path, "per-batch")))
    assert step["dram"] == pytest.approx(2 * 128 * 8 / 64 * E_DRAM)  # T = 2 fetches of 16 words
    assert batch["dram"] == pytest.approx(128 * 8 / 64 * E_DRAM)
    # the ANN runs one pass: per step and per batch alike fetch fc1's weights once
    ann = totals(estimate(tiny(), _small_sram(tmp_path, "per-step")), "ann")
    assert ann["dram"] == pytest.approx(128 * 8 / 64 * E_DRAM)


def test_bounds_span_horowitz_range(tmp_path):
    t_low = totals(estimate(tiny(), _small_sram(tmp_path, "per-batch")), column="energy_low_pj")
    t_high = totals(estimate(tiny(), _small_sram(tmp_path, "per-batch")), column="energy_high_pj")
    assert t_low["dram"] == pytest.approx(16 * 1300.0) and t_high["dram"] == pytest.approx(16 * 2600.0)


def test_a_model_that_fits_costs_what_it_did_without_a_dram_tier(tmp_path):
    with_tier = estimate(tiny(), "cmos45-int8-sram")  # 1 MB: everything fits
    without = estimate(tiny(), _variant(tmp_path, "cmos45-int8-sram", model__dram="none"))
    assert with_tier["energy_pj"].sum() == without["energy_pj"].sum()
    assert (with_tier.loc[with_tier["component"] == "dram", "energy_pj"] == 0).all()



def test_the_summary_names_how_many_layers_live_in_dram(tmp_path):
    from hw_models.run import run_energy

    small = run_energy(tiny(), [str(_small_sram(tmp_path, "per-step").path)]).summary
    shipped = run_energy(tiny(), ["cmos45-int8-sram", "loihi"]).summary
    assert small["dram_layers"].tolist() == [1]  # fc1's 128 B above 100 B
    assert shipped["dram_layers"].iloc[0] == 0 and shipped["dram_layers"].isna().iloc[1]  # nothing above 1 MB; loihi has no tier
