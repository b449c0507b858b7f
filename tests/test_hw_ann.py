"""Equivalent ANN baselines, spikes per synapse, and the break-even activity."""

from __future__ import annotations

import math

import pytest

from hw_models import (
    DAMPFHOFFER_BAND,
    EnergyError,
    activity,
    break_even_scale,
    dense_ann_counts,
    estimate,
    layer_activity,
    list_profiles,
    matched_bits,
    summarize,
)
from hw_models.activity import spike_rows, zero_spike_table
from hw_models.synthetic import TWO_LAYER_CONV as CONV
from hw_models.synthetic import TWO_LAYER_FC as FC
from hw_models.synthetic import TWO_LAYER_ROWS as ROWS
from hw_models.synthetic import counts_from_rows, synthetic_counts
from hw_models.synthetic import two_layer_counts as tiny

ANN_ROWS = [
    {
        "layer": "conv1",
        "t": 0,
        "in_events_analog": 12,
        "synaptic_macs": 180,
        "dense_macs": 200,
        "neurons": 32,
        "neurons_touched": 30,
        "neuron_adds": 32,
        "neuron_compares": 32,
        "output_spikes": 10,
    },
    {
        "layer": "fc1",
        "t": 0,
        "in_events_analog": 10,
        "synaptic_macs": 40,
        "dense_macs": 128,
        "neurons": 4,
        "neurons_touched": 4,
        "neuron_adds": 4,
        "neuron_compares": 4,
        "output_spikes": 2,
    },
]


def ann_replay(rows=ANN_ROWS, layers=(CONV, FC)):
    return counts_from_rows(rows, list(layers), kind="ann")


def test_matched_bits():
    assert [matched_bits(t) for t in (1, 2, 3, 4, 7, 8, 15, 16)] == [1, 2, 2, 3, 3, 4, 4, 5]
    with pytest.raises(EnergyError):
        matched_bits(0)


def test_dense_ann_from_layers_halves_hybrid_weights():
    hybrid = dict(CONV, n_weights=36, n_weight_sets=2, n_bias=4)
    counts = counts_from_rows(ROWS, [hybrid, FC])
    dense = dense_ann_counts(counts)
    assert dense.kind == "ann" and dense.timesteps == 1
    assert dense.layers.set_index("layer").loc["conv1", "n_weights"] == 18
    row = dense.counts.set_index("layer")
    assert row.loc["conv1", "synaptic_macs"] == 200 and row.loc["fc1", "synaptic_macs"] == 128
    assert row.loc["conv1", "in_events_analog"] == 16  # every input element, zeros included


def test_dense_and_zero_skip_fp32():
    dense = estimate(tiny(), "cmos45-fp32-arith")
    assert dense.loc[dense["system"] == "ann", "energy_pj"].sum() == pytest.approx(4.6 * 328)
    skip = estimate(tiny(), "cmos45-fp32-arith", ann_counts=ann_replay())
    ann = skip[skip["system"] == "ann"]
    assert set(ann["dataflow"]) == {"dense-zero-skip"}
    assert ann["energy_pj"].sum() == pytest.approx(4.6 * (180 + 40))


def test_zero_skip_is_the_dense_dataflow_without_zero_inputs():
    b = estimate(tiny(), "cmos45-int8-sram", ann_counts=ann_replay())
    ann = b[b["system"] == "ann"]
    word8 = 10.0 * 8 / 64  # an 8-bit access to a small (8 KB-floor) SRAM
    # Partial sums stay in registers: no potential traffic; a weight read per performed
    # MAC (220 with non-zero input) and a bias read per neuron (36).
    assert ann.loc[ann["component"] == "potential_memory", "energy_pj"].sum() == 0
    assert ann.loc[ann["component"] == "weight_memory", "energy_pj"].sum() == pytest.approx((220 + 36) * word8)


@pytest.mark.parametrize("profile", list_profiles())
def test_skipping_zeros_never_costs_more_than_the_dense_ann(profile):
    dense = estimate(tiny(), profile)
    skip = estimate(tiny(), profile, ann_counts=ann_replay())
    total = lambda b: b.loc[b["system"] == "ann", "energy_pj"].sum()  # noqa: E731
    assert total(skip) <= total(dense) * (1 + 1e-12)


def test_matched_bits_scale_the_multiplier():
    b = estimate(tiny(), "cmos45-int8-sram", ann_bits="matched")  # T = 2 -> 2-bit activations
    ann = b[b["system"] == "ann"]
    assert set(ann["bits"]) == {2}
    syn = ann.loc[ann["component"] == "synaptic_compute", "energy_pj"].sum()
    assert syn == pytest.approx(328 * (0.2 * 2 * 8 / 64 + 0.03))
    same = estimate(tiny(), "cmos45-int8-sram")
    assert syn < same.loc[(same["system"] == "ann") & (same["component"] == "synaptic_compute"), "energy_pj"].sum()
    # float and chip profiles keep their own width
    fp = estimate(tiny(), ["cmos45-fp32-arith", "loihi"], ann_bits="matched")
    assert set(fp.loc[fp["system"] == "ann", "bits"]) == {32, 8}


def test_ann_counts_must_match():
    with pytest.raises(EnergyError, match="graph.kind must be 'ann'"):
        estimate(tiny(), "loihi", ann_counts=tiny())
    other = dict(FC, layer="fc9")
    rows = [ANN_ROWS[0], dict(ANN_ROWS[1], layer="fc9")]
    with pytest.raises(EnergyError, match="layer names differ"):
        estimate(tiny(), "loihi", ann_counts=ann_replay(rows, (CONV, other)))
    with pytest.raises(EnergyError, match="graph.kind must be 'snn'"):
        estimate(ann_replay(), "loihi")


def test_spikes_per_synapse_by_hand():
    act = activity(tiny())
    # conv1 only ever gets analog input: left out. fc1: 28 ACs over 128 synapses.
    assert act.spikes_per_synapse == pytest.approx(28 / 128)
    # 7 input spikes over 2 steps x 32 inputs
    assert act.input_event_rate == pytest.approx(7 / 64)
    per_layer = layer_activity(tiny()).set_index("layer")
    assert not per_layer.loc["conv1", "spike_input"] and math.isnan(per_layer.loc["conv1", "spikes_per_synapse"])
    assert per_layer.loc["fc1", "spikes_per_synapse"] == pytest.approx(28 / 128)


def test_hybrid_layer_drops_only_its_analog_rows():
    rows = [dict(ROWS[0]), dict(ROWS[1], in_events_analog=0, synaptic_macs=0, in_events_binary=5, synaptic_acs=60), *ROWS[2:]]
    counts = counts_from_rows(rows, [CONV, FC])
    # node rows: conv1 t0, conv1 t1, its neurons, fc1 t0, fc1 t1, its neurons; only synaptic rows count
    assert spike_rows(counts.counts).tolist() == [False, True, False, False, True, True, False, False]
    act = activity(counts)
    assert act.spikes_per_synapse == pytest.approx((60 + 28) / (200 + 128))
    assert act.input_event_rate == pytest.approx((5 + 7) / (16 + 64))


def test_graded_macs_count_as_spikes():
    rows = [*ROWS[:2], dict(ROWS[2], in_events_binary=1, in_events_graded=2, synaptic_acs=4, synaptic_macs=8), ROWS[3]]
    counts = counts_from_rows(rows, [CONV, FC])
    assert activity(counts).spikes_per_synapse == pytest.approx((4 + 8 + 16) / 128)
    zero = zero_spike_table(counts.counts, counts.layers).set_index(["layer", "t"])
    assert zero.loc["conv1", "synaptic_macs"].tolist() == [150, 150]  # analog MACs stay
    assert zero.loc["fc1", "synaptic_macs"].tolist() == [0, 0]  # graded MACs go


def test_break_even_fp32_by_hand():
    counts = tiny()
    s = summarize(estimate(counts, "cmos45-fp32-arith"), counts).iloc[0]
    fixed, spike, ann = 4.6 * 300, 0.9 * 28, 4.6 * 328
    assert s["snn_pj"] == pytest.approx(fixed + spike)
    assert s["ratio"] == pytest.approx((fixed + spike) / ann)
    lam = (ann - fixed) / spike
    assert s["break_even_scale"] == pytest.approx(lam)
    assert s["break_even_spikes_per_synapse"] == pytest.approx(lam * 28 / 128)
    assert s["break_even_spikes_per_synapse"] == pytest.approx((ann - fixed) / (0.9 * 128))
    assert s["break_even_input_event_rate"] == pytest.approx(lam * 7 / 64)
    assert s["break_even_status"] == "ok"
    assert (s["dampfhoffer_low"], s["dampfhoffer_high"]) == DAMPFHOFFER_BAND == (0.15, 1.38)


@pytest.mark.parametrize("profile", ["cmos45-int8-sram", "loihi", "lemaire2022-45nm"])
def test_break_even_is_where_energies_meet(profile):
    # Doubling every spike-driven count must give fixed + 2 x spike-driven (affine model),
    # so the solved lambda really is the crossing point.
    counts = tiny()
    b1 = estimate(counts, profile, ann=False)
    doubled_rows = []
    for r in ROWS:
        d = dict(r)
        for k in ("in_events_binary", "synaptic_acs", "output_spikes", "neuron_resets"):
            d[k] = 2 * d.get(k, 0)
        doubled_rows.append(d)
    # touched neurons of spike-driven rows double too (fc1 only; capped by neurons there)
    fc_rows = [
        dict(r, neurons=8, neurons_touched=8, neuron_mults=16, neuron_adds=16, neuron_compares=8) for r in doubled_rows[2:]
    ]
    base_rows = [dict(r, neurons=8, neuron_mults=16, neuron_adds=16, neuron_compares=8) for r in ROWS[2:]]
    b_base = estimate(counts_from_rows(ROWS[:2] + base_rows, [CONV, dict(FC, n_neurons=8)]), profile, ann=False)
    b_double = estimate(counts_from_rows(doubled_rows[:2] + fc_rows, [CONV, dict(FC, n_neurons=8)]), profile, ann=False)
    e1, s1 = b_base["energy_pj"].sum(), b_base["spike_driven_pj"].sum()
    assert b_double["energy_pj"].sum() == pytest.approx(e1 + s1, rel=1e-9)
    assert b1["spike_driven_pj"].sum() > 0


def test_break_even_statuses():
    lam, status = break_even_scale(e_snn=10.0, spike_driven=4.0, e_ann=14.0)
    assert (lam, status) == (2.0, "ok")
    assert break_even_scale(10.0, 4.0, 5.0)[1] == "snn-fixed-cost-exceeds-ann"
    assert break_even_scale(10.0, 0.0, 20.0)[1] == "no-spike-activity"
    assert break_even_scale(10.0, 4.0, float("nan"))[1] == "no-ann"
    # an SNN whose analog first layer alone costs more than the whole ANN
    heavy = [dict(r, synaptic_macs=200) for r in ROWS[:2]] + ROWS[2:]
    rows = [dict(r, in_events_analog=16) for r in heavy[:2]] + heavy[2:]
    counts = counts_from_rows(rows, [CONV, FC], timesteps=2)
    s = summarize(estimate(counts, "cmos45-fp32-arith"), counts).iloc[0]
    assert s["break_even_status"] == "snn-fixed-cost-exceeds-ann" and math.isnan(s["break_even_spikes_per_synapse"])
    silent = [dict(r, in_events_binary=0, synaptic_acs=0, output_spikes=0, neuron_resets=0) for r in ROWS]
    counts = counts_from_rows(silent, [CONV, FC])
    assert summarize(estimate(counts, "cmos45-fp32-arith"), counts).iloc[0]["break_even_status"] == "no-spike-activity"


def test_summary_bounds_and_components():
    counts = synthetic_counts(n_samples=2, timesteps=3)
    s = summarize(estimate(counts, ["cmos45-int16-sram", "loihi", "truenorth"]), counts).set_index("profile")
    assert (s["snn_low_pj"] <= s["snn_pj"]).all() and (s["snn_pj"] <= s["snn_high_pj"]).all()
    assert (s["ratio_low"] <= s["ratio"] + 1e-12).all() and (s["ratio"] <= s["ratio_high"] + 1e-12).all()
    components = [
        c for c in s.columns if c.startswith("snn_") and c.endswith("_pj") and c not in ("snn_pj", "snn_low_pj", "snn_high_pj")
    ]
    assert s[components].sum(axis=1).to_numpy() == pytest.approx(s["snn_pj"].to_numpy())
    # memory dominates once it is counted
    assert s.loc["cmos45-int16-sram", "snn_weight_memory_pj"] > s.loc["cmos45-int16-sram", "snn_synaptic_compute_pj"]
    assert s.loc["truenorth", "snn_synaptic_compute_pj"] == s.loc["truenorth", "snn_pj"]


def test_summary_without_counts_gives_scale_only():
    s = summarize(estimate(tiny(), "cmos45-fp32-arith")).iloc[0]
    assert math.isnan(s["spikes_per_synapse"]) and s["break_even_scale"] > 0
