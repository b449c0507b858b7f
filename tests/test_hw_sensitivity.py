"""One constant at a time over its bounds (hw_models/sensitivity.py), by hand."""

from __future__ import annotations

import pytest
from test_hw_model import _variant

from hw_models.synthetic import two_layer_counts as tiny


def test_sensitivity_moves_one_constant_at_a_time_by_hand(tmp_path):
    """fp32-arith with ac in [0.5, 1.5] pJ: SNN = ac x ACs + 4.6 x MACs; the dense ANN
    does only MACs (4.6 pJ each), so the ratio at each end follows by hand; a constant
    without bounds gives no row."""
    from hw_models.ann import dense_ann_counts
    from hw_models.sensitivity import sensitivity

    counts = tiny()
    profile = _variant(tmp_path, "cmos45-fp32-arith", constants__ac={
        "value": 0.9, "low": 0.5, "high": 1.5, "unit": "pJ", "source": "a test", "grade": "derived", "scope": "per-operation"})
    table = sensitivity(counts, [profile])
    assert list(table["parameter"]) == ["ac"]
    acs, macs = counts.counts["synaptic_acs"].sum(), counts.counts["synaptic_macs"].sum()
    dense = dense_ann_counts(counts)
    ann = 4.6 * dense.counts["synaptic_macs"].sum()
    row = table.iloc[0]
    assert row["ratio_at_low"] == pytest.approx((0.5 * acs + 4.6 * macs) / ann)
    assert row["ratio_at_high"] == pytest.approx((1.5 * acs + 4.6 * macs) / ann)
    assert row["ratio"] == pytest.approx((0.9 * acs + 4.6 * macs) / ann)
    assert row["swing"] == pytest.approx(acs / ann)


def test_sensitivity_orders_the_widest_first():
    from hw_models import load_profile
    from hw_models.sensitivity import sensitivity

    table = sensitivity(tiny(), [load_profile("loihi")])
    assert len(table) >= 3 and table["swing"].is_monotonic_decreasing
    assert (table["ratio_at_low"].sub(table["ratio"]).abs() <= table["swing"] + 1e-12).all()


def test_the_fast_ratio_equals_the_summary_on_every_profile():
    from hw_models import list_profiles, load_profile, run_energy
    from hw_models.model import ratio_function

    counts = tiny()
    summary = run_energy(counts, list_profiles()).summary.set_index("profile")
    ratio = ratio_function(counts)
    for name in list_profiles():
        assert ratio(load_profile(name)) == pytest.approx(summary.loc[name, "ratio"], rel=1e-12), name
