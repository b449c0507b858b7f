"""The transformer-SNN papers' firing-rate convention (hw_models/firing_rate.py) against
hand calculation, and against the exact replay where the two must agree."""

from __future__ import annotations

import numpy as np
import pytest

from hw_models.firing_rate import E_AC_PJ, E_MAC_PJ, encoding_layers, firing_rate_estimate
from hw_models.synthetic import synthetic_counts, two_layer_counts


def test_two_layer_example_by_hand():
    # conv1 reads the analog image (both steps): 200 dense MACs, charged once.
    # fc1 reads 3 and 4 spikes of 32 inputs: fr x T x FLOPs = (3 + 4) / 32 x 128 = 28 SOPs.
    est = firing_rate_estimate(two_layer_counts())
    rows = est.layers.set_index("layer")
    assert rows.loc["conv1", "encoding_macs"] == 200 and rows.loc["conv1", "sops"] == 0
    assert rows.loc["fc1", "sops"] == pytest.approx(28.0)
    assert rows.loc["fc1", "firing_rate"] == pytest.approx(7 / 64)
    assert est.energy_pj == pytest.approx(4.6 * 200 + 0.9 * 28)  # 945.2 pJ
    assert est.ann_pj == pytest.approx(4.6 * (200 + 128))
    assert est.ratio == pytest.approx(945.2 / 1508.8)


def test_a_linear_layer_with_spike_input_gets_exactly_the_replays_acs():
    # A linear layer's every input reaches every output, so fr x T x FLOPs is exact there.
    counts = synthetic_counts(n_samples=5, timesteps=3, rate=0.2, seed=1)
    est = firing_rate_estimate(counts).layers.set_index("layer")
    table = counts.counts
    for layer in ("fc1", "fc2"):
        acs = table.loc[table["layer"] == layer, "synaptic_acs"].sum() / counts.n_samples
        assert est.loc[layer, "sops"] == pytest.approx(acs, rel=1e-12)


def test_hybrid_first_layer_charges_the_analog_frame_once_and_the_spike_frames_as_sops():
    counts = synthetic_counts(n_samples=4, timesteps=4, rate=0.15, seed=2, hybrid=True)
    assert encoding_layers(counts.layers) == {"conv1"}
    row = firing_rate_estimate(counts).layers.set_index("layer").loc["conv1"]
    table = counts.counts[counts.counts["layer"] == "conv1"]
    spikes = table["in_events_binary"].to_numpy() / counts.n_samples
    assert row["spike_steps"] == 3 and row["encoding_macs"] == row["flops_per_step"]
    assert row["sops"] == pytest.approx(spikes.sum() / 64 * row["flops_per_step"])


def test_energy_is_affine_in_the_constants():
    counts = two_layer_counts()
    a = firing_rate_estimate(counts, e_ac=1.0, e_mac=0.0).energy_pj
    b = firing_rate_estimate(counts, e_ac=0.0, e_mac=1.0).energy_pj
    est = firing_rate_estimate(counts)
    assert est.energy_pj == pytest.approx(E_AC_PJ * a + E_MAC_PJ * b)
    assert np.isclose(a, est.sops) and np.isclose(b, est.encoding_macs)
