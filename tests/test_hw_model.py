"""The energy model against hand calculations on a two-layer counts table.

The table (n_samples = 1, T = 2):
  conv1  1x4x4 -> 2x4x4, 3x3 pad 1, analog input: 10 events and 150 MACs per step
  fc1    32 -> 4, spike input: 3 and 4 events (12 and 16 ACs)
All memories are below 8 KB, so every SRAM access is priced at the 8 KB point.
"""

from __future__ import annotations

import numpy as np
import pytest

from hw_models import COMPONENTS, EnergyError, estimate, load_profile
from hw_models.sram import access_energy, word_energy
from hw_models.synthetic import TWO_LAYER_CONV as CONV
from hw_models.synthetic import TWO_LAYER_FC as FC
from hw_models.synthetic import TWO_LAYER_ROWS as ROWS
from tomli_w import dumps as toml_dumps

from hw_models.synthetic import counts_from_rows
from hw_models.synthetic import two_layer_counts as tiny


def totals(breakdown, system="snn", column="energy_pj"):
    part = breakdown[breakdown["system"] == system]
    return {c: float(part.loc[part["component"] == c, column].sum()) for c in COMPONENTS}


def test_fp32_arith_is_exactly_the_published_formula():
    counts = tiny()
    b = estimate(counts, "cmos45-fp32-arith")
    snn = b[b["system"] == "snn"]
    syn = snn[snn["component"] == "synaptic_compute"].set_index(["layer", "t"])["energy_pj"]
    for row in counts.counts.itertuples():
        assert syn[(row.layer, row.t)] == 0.9 * row.synaptic_acs + 4.6 * row.synaptic_macs
    assert (snn.loc[snn["component"] != "synaptic_compute", "energy_pj"] == 0).all()
    acs, macs = counts.counts["synaptic_acs"].sum(), counts.counts["synaptic_macs"].sum()
    assert snn["energy_pj"].sum() == pytest.approx(0.9 * acs + 4.6 * macs, rel=1e-15)
    ann = b[b["system"] == "ann"]
    assert ann["energy_pj"].sum() == pytest.approx(4.6 * (200 + 128), rel=1e-15)


def test_int8_sram_components_by_hand():
    t = totals(estimate(tiny(), "cmos45-int8-sram"))
    word8 = 10.0 * 8 / 64  # 8-bit access to a memory under 8 KB
    word1 = 10.0 / 64  # a 1-bit spike
    synops, updates = 300 + 28, 32 + 32 + 4 + 4
    assert t["synaptic_compute"] == pytest.approx(28 * 0.03 + 300 * 0.23)
    # clock-driven: mults at 0.2; adds, compares and resets at 0.03
    assert t["neuron_update"] == pytest.approx(144 * 0.2 + (144 + 72 + 8) * 0.03)
    # a weight read per synaptic op, a bias read per neuron per step
    assert t["weight_memory"] == pytest.approx((synops + updates) * word8)
    # potential read + write per synaptic op and per neuron per step
    assert t["potential_memory"] == pytest.approx((2 * synops + 2 * updates) * word8)
    # conv: 2 MACs per event + synops / C_out adds; fc: an add per synop; I/O buffers
    addressing = 2 * 20 * 0.23 + (300 / 2 + 28) * 0.03
    io = 7 * word1 + 20 * word8 + 8 * word1
    assert t["spike_routing"] == pytest.approx(addressing + io)
    assert t["static"] == 0


def test_int8_sram_dense_ann_by_hand():
    t = totals(estimate(tiny(), "cmos45-int8-sram"), "ann")
    word8 = 10.0 * 8 / 64
    assert t["synaptic_compute"] == pytest.approx(328 * 0.23)
    assert t["neuron_update"] == pytest.approx((36 + 36) * 0.03)  # bias add + ReLU compare
    assert t["weight_memory"] == pytest.approx((328 + 36) * word8)
    assert t["potential_memory"] == 0  # partial sums in registers
    addressing = (16 + 32 + 2 * 9 + 128) * 0.03  # conv: in + out + C_out k^2; fc: one per MAC
    io = (200 + 32) * word8 + 36 * word8  # conv input read per MAC, fc per input; outputs
    assert t["spike_routing"] == pytest.approx(addressing + io)


def test_sram_interpolation():
    points = (10.0, 20.0, 100.0)
    kb = 1024
    got = word_energy(np.array([8 * kb, 16 * kb, 32 * kb, 1024 * kb, 1 * kb, 4096 * kb]), points, "log-interp")
    # 16 KB is half-way between 8 and 32 KB in log2(size); outside the table: clamped
    assert got.tolist() == pytest.approx([10.0, 15.0, 20.0, 100.0, 10.0, 100.0])
    # 256 KB: 3 of the 5 doublings from 32 KB to 1 MB
    assert word_energy(256 * kb, points, "log-interp") == pytest.approx(20 + 80 * 3 / 5)
    fit = word_energy(np.array([0.0, 1e6]), points, "linear-fit")
    assert fit[0] == pytest.approx(13.2563, rel=1e-4)  # Lemaire et al.'s least-squares line
    assert (fit[1] - fit[0]) / 1e6 == pytest.approx(8.2816e-5, rel=1e-4)
    assert access_energy(8 * kb, 8, points, "log-interp", "per-bit") == pytest.approx(1.25)
    assert access_energy(8 * kb, 8, points, "log-interp", "per-access") == pytest.approx(10.0)


def test_sram_size_comes_from_layers():
    big = dict(FC, n_weights=2 * 1024 * 1024)  # 2 MB of int8 weights: clamped to the 1 MB point
    counts = counts_from_rows(ROWS, [CONV, big])
    b = estimate(counts, "cmos45-int8-sram", ann=False)
    # weight reads on the synaptic row, bias reads on the neurons' row
    fc = b[b["layer"].isin(["fc1", "fc1_neurons"]) & (b["component"] == "weight_memory")]["energy_pj"].sum()
    assert fc == pytest.approx(28 * 100.0 * 8 / 64 + 8 * 10.0 * 8 / 64)


def test_lemaire_per_access_linear_fit():
    t = totals(estimate(tiny(), "lemaire2022-45nm", ann=False))
    slope, intercept = np.polyfit([8192, 32768, 1048576], [10, 20, 100], 1)
    conv_w, fc_w = intercept + slope * 18 * 4, intercept + slope * 128 * 4
    conv_b, fc_b = intercept + slope * 2 * 4, intercept + slope * 4 * 4
    expected = 300 * conv_w + 64 * conv_b + 28 * fc_w + 8 * fc_b
    assert t["weight_memory"] == pytest.approx(expected)


def test_truenorth_all_in_counts_nothing_twice():
    rows = [dict(r, neurons_touched=r["neurons"], output_spikes=r.get("output_spikes", 0) + 50) for r in ROWS]
    t = totals(estimate(tiny(rows=rows), "truenorth"))
    assert t["synaptic_compute"] == pytest.approx(26.0 * 328)
    assert all(t[c] == 0 for c in COMPONENTS if c != "synaptic_compute")
    ann = totals(estimate(tiny(), "truenorth"), "ann")
    assert sum(ann.values()) == pytest.approx(26.0 * 328)


def test_loihi_clock_driven_neurons_and_routing():
    b = estimate(tiny(), "loihi")
    t, low, high = totals(b), totals(b, column="energy_low_pj"), totals(b, column="energy_high_pj")
    assert t["synaptic_compute"] == pytest.approx(23.6 * 328)
    assert high["synaptic_compute"] == pytest.approx(35.5 * 328)
    # every neuron every step: 48 touched (active), 24 not (inactive)
    assert t["neuron_update"] == pytest.approx(81 * 48 + 52 * 24)
    assert low["neuron_update"] == pytest.approx(72.8 * 48 + 51.2 * 24)
    # 8 output spikes x (1.7 pJ + 1 hop x 3.5 pJ); low: 0 hops; high: 4 hops x 4.0 pJ
    assert t["spike_routing"] == pytest.approx(8 * (1.7 + 3.5))
    assert low["spike_routing"] == pytest.approx(8 * 1.7)
    assert high["spike_routing"] == pytest.approx(8 * (1.7 + 4 * 4.0))
    assert t["weight_memory"] == t["potential_memory"] == 0
    assert low["synaptic_compute"] <= t["synaptic_compute"] <= high["synaptic_compute"]


def _variant(tmp_path, base, **changes):
    from importlib import resources

    from hw_models.profile import tomllib

    data = tomllib.loads(resources.files("hw_models").joinpath("profiles", f"{base}.toml").read_text())
    for key, value in changes.items():
        node = data
        *parents, last = key.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    path = tmp_path / f"{data['name']}-variant.toml"
    path.write_text(toml_dumps(data))
    return load_profile(path)


def test_event_driven_updates_only_touched_neurons(tmp_path):
    profile = _variant(tmp_path, "loihi", name="loihi-event", clocking="event-driven")
    t = totals(estimate(tiny(), profile, ann=False))
    assert t["neuron_update"] == pytest.approx(81 * 48)
    # arithmetic neurons: the replay's per-neuron arithmetic scaled by touched / neurons
    int8 = _variant(tmp_path, "cmos45-int8-sram", name="int8-event", clocking="event-driven")
    t8 = totals(estimate(tiny(), int8, ann=False))
    conv_share, fc_share = 20 / 32, 1.0
    mults = 2 * 64 * conv_share + 2 * 8 * fc_share
    adds_cmps = 2 * (64 + 32) * conv_share + 2 * (8 + 4) * fc_share
    assert t8["neuron_update"] == pytest.approx(mults * 0.2 + (adds_cmps + 8) * 0.03)


def test_spinnaker2_updates_every_neuron():
    t = totals(estimate(tiny(), "spinnaker2", ann=False))
    assert t["synaptic_compute"] == pytest.approx(450 * 328)
    assert t["neuron_update"] == pytest.approx(2190 * 72)
    assert t["spike_routing"] == 0


def test_static_power_times_latency(tmp_path):
    profile = _variant(
        tmp_path,
        "cmos45-fp32-arith",
        name="with-static",
        model__static="power-x-latency",
        constants__static_power={
            "value": 1.0,
            "unit": "mW",
            "source": "test chip datasheet, table 1",
            "grade": "measured",
            "scope": "per-operation",
        },
        model__timing="fixed-tick",
        constants__tick={"value": 1.0, "unit": "ms", "source": "test chip datasheet, table 2", "grade": "measured",
                         "scope": "per-operation"},
    )
    b = estimate(tiny(), profile)
    static = b[b["component"] == "static"]
    assert set(static["layer"]) == {"(static)"}
    # 1 mW x 1 ms x 2 steps = 2 nJ = 2e6 pJ; the ANN's one pass is one tick: 1e6 pJ
    assert static.loc[static["system"] == "snn", "energy_pj"].sum() == pytest.approx(2e6)
    assert static.loc[static["system"] == "ann", "energy_pj"].sum() == pytest.approx(1e6)
    assert (static["spike_driven_pj"] == 0).all()


def test_low_high_bracket_the_value():
    b = estimate(tiny(), ["cmos45-int16-sram", "loihi"])
    assert (b["energy_low_pj"] <= b["energy_pj"] + 1e-12).all()
    assert (b["energy_pj"] <= b["energy_high_pj"] + 1e-12).all()
    t = totals(b[b["profile"] == "cmos45-int16-sram"], "ann", "energy_high_pj")
    assert t["synaptic_compute"] == pytest.approx(328 * 0.85)


def test_breakdown_shape_and_columns():
    b = estimate(tiny(), ["cmos45-fp32-arith", "loihi"])
    assert list(b.columns[:8]) == ["profile", "system", "dataflow", "bits", "layer", "layer_index", "t", "component"]
    # SNN: 2 layers x 2 nodes x 2 steps = 8 rows x 9 components; ANN: 4 nodes x 9 components; per profile;
    # Loihi adds a static row per SNN step and one for the ANN's pass
    assert len(b) == 2 * (8 * 9 + 4 * 9) + 2 + 1
    assert set(b["system"]) == {"snn", "ann"}
    assert set(b.loc[b["system"] == "ann", "dataflow"]) == {"dense"}


def test_n_samples_divides_totals():
    one = estimate(tiny(), "cmos45-int8-sram")
    three = estimate(tiny(n_samples=3, scale=3), "cmos45-int8-sram")
    assert three["energy_pj"].sum() == pytest.approx(one["energy_pj"].sum(), rel=1e-12)


def test_bad_options():
    with pytest.raises(EnergyError, match="ann_bits"):
        estimate(tiny(), "cmos45-int8-sram", ann_bits="wide")
    with pytest.raises(EnergyError, match="given twice"):
        estimate(tiny(), ["loihi", "loihi"])
    with pytest.raises(EnergyError, match="unknown profile"):
        estimate(tiny(), "loihi3")
