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


@pytest.mark.parametrize("encoding", ["direct", "temporal", "hybrid"])
def test_on_a_real_replay_the_layer_reading_the_image_is_the_encoding_layer(encoding, tmp_path):
    # A replay's layers table starts with the input node itself (no work); the encoding
    # layer is conv1, which reads it. Hand calculation from the layers and counts tables:
    # conv1's analog steps are its dense MACs once, its spike steps and fc1's are
    # fr x FLOPs per step, fr = input events / input elements.
    import asnn_sim.api as asnn
    from hw_models import load_counts

    images, labels = asnn.load_images("digits", limit=6)
    net = asnn.GraphBuilder((1, 8, 8), encoding=encoding, timesteps=3, seed=0)
    net.conv(4, 3).neuron().maxpool(2).flatten().linear(10).readout()
    asnn.simulate(net.build(), images, labels).save(tmp_path / "counts")
    counts = load_counts(tmp_path / "counts")
    assert counts.layers["layer"].iloc[0] == "input"
    assert encoding_layers(counts.layers) == {"conv1"}

    n, table = counts.n_samples, counts.counts

    def per_step(layer, column):
        return table.loc[table["layer"] == layer].sort_values("t")[column].to_numpy(dtype=float) / n

    conv_flops, fc_flops = 1 * 6 * 6 * 4 * 9, 36 * 10
    analog = per_step("conv1", "in_events_analog") > 0
    assert list(analog) == {"direct": [True] * 3, "temporal": [False] * 3, "hybrid": [True, False, False]}[encoding]
    conv_macs = conv_flops if analog.any() else 0.0
    conv_sops = per_step("conv1", "in_events_binary")[~analog].sum() / 64 * conv_flops
    fc_sops = per_step("fc1", "in_events_binary").sum() / 36 * fc_flops
    est = firing_rate_estimate(counts)
    assert est.encoding_macs == conv_macs
    assert est.sops == pytest.approx(conv_sops + fc_sops, rel=1e-12)
    assert est.energy_pj == pytest.approx(4.6 * conv_macs + 0.9 * (conv_sops + fc_sops), rel=1e-12)
    assert est.ann_pj == pytest.approx(4.6 * (conv_flops + fc_flops))


@pytest.mark.parametrize("encoding", ["direct", "temporal", "hybrid"])
def test_the_demos_lenets_by_hand(encoding, trained_runs, tmp_path):
    # The demo's network (LeNet on digits, T = 4, trained), replayed: the convention by
    # hand from its layers and counts tables. conv1 reads the image; for direct coding
    # every step is analog (conv1's dense MACs, charged once), for hybrid step 0 is, and
    # temporal coding's steps are all spikes. Every other layer: fr x FLOPs per step.
    import asnn_sim.api as asnn
    from asnn_sim.interop.export import export_run
    from hw_models import load_counts

    images, labels = asnn.load_images("digits", limit=24)
    asnn.simulate(export_run(trained_runs[encoding]), images, labels).save(tmp_path / "counts")
    counts = load_counts(tmp_path / "counts")
    layers = counts.layers.set_index("layer")
    n, table = counts.n_samples, counts.counts
    assert layers.loc["conv1", "inputs"] == "input"
    macs = sops = 0.0
    for layer, row in layers[layers["dense_macs_per_step"] > 0].iterrows():
        flops = float(row["dense_macs_per_step"])
        elements = float(np.prod([int(d) for d in str(row["in_shape"]).split("x")]))
        steps = table[table["layer"] == layer].sort_values("t")
        analog = steps["in_events_analog"].to_numpy() > 0
        if layer == "conv1":
            assert list(analog) == {"direct": [True] * 4, "temporal": [False] * 4, "hybrid": [True] + [False] * 3}[encoding]
            macs += flops if analog.any() else 0.0
            spiking = steps[~analog]
        else:
            spiking = steps
        events = spiking[["in_events_binary", "in_events_graded", "in_events_analog"]].to_numpy(float).sum(axis=1) / n
        sops += float((events / elements).sum() * flops)
    est = firing_rate_estimate(counts)
    assert est.encoding_macs == macs and (macs > 0) == (encoding != "temporal")
    assert est.energy_pj == pytest.approx(E_MAC_PJ * macs + E_AC_PJ * sops, rel=1e-12)
