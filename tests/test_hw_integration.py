"""End to end with the real simulator: asnn simulate's directories load and price."""

from __future__ import annotations

import dataclasses

import pytest


def test_simulator_output_round_trip(tmp_path):
    import graph_factory as factory
    from asnn_sim.sim import replay
    import hw_models as hw

    spec = factory.Spec(
        encoding="hybrid",
        timesteps=3,
        in_shape=(1, 8, 8),
        convs=[(4, 3, 1, 1, "max"), (6, 3, 1, 1, None)],
        residual=True,
        hidden=8,
        classes=3,
        zero_fraction=0.0,
        per_timestep=True,
        ann=False,
        seed=3,
    )
    x = factory.images_for(spec, 8)
    replay.simulate(factory.build(spec), x, progress=False).save(tmp_path / "snn")
    replay.simulate(factory.build(dataclasses.replace(spec, ann=True, timesteps=1)), x, progress=False).save(tmp_path / "ann")

    counts = hw.load_counts(tmp_path / "snn")
    result = hw.run_energy(tmp_path / "snn", "cmos45-fp32-arith,cmos45-int8-sram,loihi", ann_counts=tmp_path / "ann")
    s = result.summary.set_index("profile")
    # The published formula holds on real counts too.
    total = counts.counts[["synaptic_acs", "synaptic_macs"]].sum() / counts.n_samples
    assert s.loc["cmos45-fp32-arith", "snn_pj"] == pytest.approx(0.9 * total["synaptic_acs"] + 4.6 * total["synaptic_macs"])
    ann = hw.load_counts(tmp_path / "ann")
    assert s.loc["cmos45-fp32-arith", "ann_pj"] == pytest.approx(4.6 * ann.counts["synaptic_macs"].sum() / ann.n_samples)
    assert (s["snn_pj"] > 0).all() and s["spikes_per_synapse"].notna().all()
    written = hw.write_outputs(result, tmp_path / "energy")
    assert all(p.exists() for p in written)
