"""Property tests: energy is monotone in every count and per-inference in n_samples."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hw_models import estimate, list_profiles, load_profile
from hw_models.counts import COUNT_NAMES
from hw_models.synthetic import TWO_LAYER_CONV, TWO_LAYER_FC, counts_from_rows

PROFILES = [load_profile(n) for n in list_profiles()]
SCENARIO_COLUMNS = ["energy_pj", "energy_low_pj", "energy_high_pj"]


@st.composite
def count_rows(draw):
    rows = []
    for layer, neurons in (("conv1", 32), ("fc1", 4)):
        for t in range(2):
            row = {name: draw(st.integers(0, 400)) for name in COUNT_NAMES}
            row["neurons"] = draw(st.integers(0, neurons))
            row["neurons_touched"] = draw(st.integers(0, row["neurons"]))
            rows.append({"layer": layer, "t": t, **row})
    return rows


def _energies(rows, n_samples=1):
    b = estimate(counts_from_rows(rows, [TWO_LAYER_CONV, TWO_LAYER_FC], n_samples=n_samples), PROFILES, ann=False)
    return b.groupby("profile")[SCENARIO_COLUMNS].sum()


@pytest.mark.slow
@settings(max_examples=20)
@given(rows=count_rows(), which=st.integers(0, 3), column=st.sampled_from(COUNT_NAMES), delta=st.integers(1, 50))
def test_energy_is_monotone_in_every_count(rows, which, column, delta):
    bigger = [dict(r) for r in rows]
    bigger[which][column] += delta
    if column == "neurons_touched" and bigger[which]["neurons_touched"] > bigger[which]["neurons"]:
        bigger[which]["neurons"] = bigger[which]["neurons_touched"]  # keep the table valid
    before, after = _energies(rows), _energies(bigger)
    assert (after.to_numpy() >= before.to_numpy() - 1e-9 * abs(before.to_numpy())).all()


@pytest.mark.slow
@settings(max_examples=10)
@given(rows=count_rows(), k=st.integers(2, 9))
def test_scaling_samples_leaves_per_inference_energy(rows, k):
    scaled = [{key: (v * k if key in COUNT_NAMES else v) for key, v in r.items()} for r in rows]
    one, many = _energies(rows), _energies(scaled, n_samples=k)
    assert many.to_numpy() == pytest.approx(one.to_numpy(), rel=1e-12, abs=1e-9)
