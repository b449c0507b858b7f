"""The input encoder's work: hand counts, the replay's input rows, their price, the
off-chip switch, and spikes between chips (hw_models/capacity.py) by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_hw_capacity import LAYERS, _profile

from asnn_sim.interop.builder import GraphBuilder
from asnn_sim.graph.counts_schema import SLOT
from asnn_sim.graph.encoding import EncoderSpec, encoder_work
from asnn_sim.sim import Simulator, simulate
from asnn_sim.interop.torch_graph import TorchGraph, count_mismatches
from hw_models import EnergyError, estimate, load_profile
from hw_models.capacity import messages_per_spike
from hw_models.counts import Counts, validate
from hw_models.profile import with_encoder
from hw_models.run import run_energy

ENCODER = ("encoder_compares", "encoder_randoms", "encoder_bits", "encoder_adds", "encoder_mults", "encoder_specials")


def _row(counts: dict) -> tuple[int, ...]:
    return tuple(counts.get(c, 0) for c in ENCODER)


# -------------------------------------------------------------- the rule, by hand


def test_hand_counts_of_each_encoder_on_six_pixels():
    n = 6  # a 1x2x3 image
    #          compares randoms bits adds mults specials
    assert [_row(w) for w in encoder_work(EncoderSpec("direct", 2), n)] == [(0,) * 6] * 2
    assert [_row(w) for w in encoder_work(EncoderSpec("rate", 3), n)] == [(6, 6, 0, 0, 0, 0)] * 3
    assert [_row(w) for w in encoder_work(EncoderSpec("temporal", 2), n)] == [(6, 0, 0, 0, 0, 0)] * 2
    # binary: the quantisation x * 15 + 0.5 (6 mults, 6 adds) with the first bit plane
    assert [_row(w) for w in encoder_work(EncoderSpec("binary", 4), n)] == [(0, 0, 6, 6, 6, 0)] + [(0, 0, 6, 0, 0, 0)] * 3
    # hybrid, equal-mass: nothing at the analog step; LayerNorm + sigmoid with the first spike step:
    # adds 6 (sum) + 6 (centre) + 6 (squares' sum) + 1 (eps) + 6 (1 + e) = 25; mults 6 (squares) +
    # 6 (scale) + 6 (sigmoid's division) + 2 (1/n twice) + 1 (1/sqrt) = 21; specials 6 exp + 1 sqrt = 7
    got = [_row(w) for w in encoder_work(EncoderSpec("hybrid", 4, thresholds="equal-mass"), n)]
    assert got == [(0,) * 6, (6, 0, 0, 25, 21, 7), (6, 0, 0, 0, 0, 0), (6, 0, 0, 0, 0, 0)]
    assert [_row(w) for w in encoder_work(EncoderSpec("hybrid-binary", 3), n)] == [(0,) * 6, (0, 0, 6, 6, 6, 0), (0, 0, 6, 0, 0, 0)]


def _net(encoding: str, timesteps: int, **encoder):
    return (GraphBuilder((1, 2, 3), encoding=encoding, timesteps=timesteps, **encoder)
            .conv(weight=np.ones((2, 1, 3, 3)), padding=1, name="conv").neuron(threshold=0.5, name="lif")
            .flatten().linear(2).readout().build())


@pytest.mark.parametrize("encoding, timesteps, thresholds", [
    ("direct", 2, "uniform"), ("rate", 3, "uniform"), ("temporal", 3, "equal-mass"), ("binary", 3, "uniform"),
    ("hybrid", 4, "equal-mass"), ("hybrid-binary", 3, "uniform"),
])
def test_the_replay_counts_the_encoder_on_its_own_rows_as_the_hand_count(encoding, timesteps, thresholds):
    extra = {"thresholds": thresholds} if thresholds != "uniform" else {}
    graph = _net(encoding, timesteps, **extra)
    images = np.random.default_rng(0).random((5, 1, 2, 3))
    sim = Simulator(graph, "float64", batch_size=5)
    frames = EncoderSpec.from_dict(graph.input.encoder).encode(images)
    result = sim.run_batch(frames)
    row = sim.row_index["input"]
    assert row == 0  # the input comes first, in execution order
    want = encoder_work(EncoderSpec(encoding, timesteps, **extra), 6)
    for t in range(timesteps):
        got = {c: int(result.counts[:, row, t, SLOT[c]].sum()) for c in ENCODER}
        assert got == {c: 5 * want[t].get(c, 0) for c in ENCODER}, t
    # nothing else on the input row; and the dense replay agrees on every row
    others = [c for c in SLOT if c not in ENCODER]
    assert not result.counts[:, row, :, [SLOT[c] for c in others]].any()
    _, _, dense = TorchGraph(graph).run(frames, count=True)
    assert count_mismatches(graph, sim.rows, result.counts.sum(axis=0), dense.facts, sim.conventions) == []


def test_supplied_frames_and_an_ann_image_cost_no_encoder_work():
    from dataclasses import replace

    from asnn_sim.graph.ir import Graph

    built = _net("temporal", 2)
    graph = Graph([replace(built.input, encoder=None)] + list(built.nodes[1:]), "snn", 2)  # reads supplied frames
    sim = Simulator(graph, "float64", batch_size=3)
    result = sim.run_batch((np.random.default_rng(1).random((2, 3, 1, 2, 3)) > 0.5).astype(float))
    assert not result.counts[:, sim.row_index["input"]].any()


# -------------------------------------------------------------- the price


@pytest.fixture(scope="module")
def rate_counts():
    graph = _net("rate", 3)
    result = simulate(graph, np.random.default_rng(2).random((4, 1, 2, 3)), np.zeros(4, int), progress=False)
    return validate(Counts(result.counts, result.layers, result.summary))


def _component(breakdown: pd.DataFrame, name: str, system: str = "snn", column: str = "energy_pj") -> float:
    b = breakdown
    return float(b.loc[(b["component"] == name) & (b["system"] == system), column].sum())


def test_the_encoder_costs_its_compares_random_numbers_and_image_reads_by_hand(rate_counts):
    p = load_profile("cmos45-int8-sram")
    b = estimate(rate_counts, p)
    # per inference: 3 steps x 6 pixels = 18 compares (an 8-bit add, 0.03 pJ each), 18 random numbers
    # (8 bits x 2.9 pJ = 23.2 pJ each) and 18 reads of an 8-bit pixel from a 6-byte image buffer
    # (below 8 KB: 10 pJ per 64 bits, so 1.25 pJ)
    assert _component(b, "encoder") == pytest.approx(18 * 0.03 + 18 * 23.2 + 18 * 10.0 * 8 / 64)
    assert _component(b, "encoder", column="energy_low_pj") == pytest.approx(18 * 0.03 + 18 * 3.2 + 18 * 10.0 * 8 / 64)
    assert _component(b, "encoder", "ann") == 0  # the ANN reads the image itself


def test_off_chip_drops_exactly_the_encoder_and_chips_refuse_on_chip(rate_counts):
    on = estimate(rate_counts, "cmos45-int8-sram")
    off = estimate(rate_counts, with_encoder(load_profile("cmos45-int8-sram"), "off-chip"))
    assert _component(off, "encoder") == 0
    assert off["energy_pj"].sum() == pytest.approx(on["energy_pj"].sum() - _component(on, "encoder"))
    with pytest.raises(EnergyError, match="loihi.*cannot price an on-chip encoder"):
        with_encoder(load_profile("loihi"), "on-chip")
    # the published convention never prices an encoder: E_AC x ACs + E_MAC x MACs
    arith = estimate(rate_counts, "cmos45-fp32-arith")
    c = rate_counts.counts
    n = rate_counts.n_samples
    want = (0.9 * c["synaptic_acs"].sum() + 4.6 * c["synaptic_macs"].sum()) / n
    assert arith.loc[arith["system"] == "snn", "energy_pj"].sum() == pytest.approx(want)


def test_energy_run_reports_the_encoder_share_and_the_switch(rate_counts):
    result = run_energy(rate_counts, ["cmos45-int8-sram", "loihi"])
    s = result.summary.set_index("profile")
    assert s.loc["cmos45-int8-sram", "snn_encoder_share"] == pytest.approx(
        s.loc["cmos45-int8-sram", "snn_encoder_pj"] / s.loc["cmos45-int8-sram", "snn_pj"])
    assert s.loc["cmos45-int8-sram", "snn_encoder_share"] > 0 and s.loc["loihi", "snn_encoder_share"] == 0
    off = run_energy(rate_counts, ["cmos45-int8-sram"], encoder="off-chip").summary
    assert off["snn_encoder_pj"].iloc[0] == 0 and result.meta["encoder"] == {"cmos45-int8-sram": "on-chip", "loihi": "off-chip"}


# -------------------------------------------------------------- spikes between chips


def test_messages_per_spike_by_hand():
    # cores: lif 2, lif2 2, readout 2 (test_hw_capacity's hand case), placed in order
    two = _profile({"cores_per_chip": 2, "neurons_per_core": 3, "axons_per_core": 4, "synapse_bytes_per_core": 8,
                    "synapse_bits": 8})
    # chips: lif {0}, lif2 {1}, readout {2}: every spike crosses once to the group it feeds
    assert messages_per_spike(LAYERS, two) == {"lif": 1.0, "lif2": 1.0, "readout": 0.0}
    three = _profile({"cores_per_chip": 3, "neurons_per_core": 3, "axons_per_core": 4, "synapse_bytes_per_core": 8,
                      "synapse_bits": 8})
    # cores 0-1 lif (chip 0), 2-3 lif2 (chips 0 and 1), 4-5 readout (chip 1): a lif spike goes to chip 1
    # (lif2's part there); half of lif2's spikes start on chip 0 and cross to the readout on chip 1
    assert messages_per_spike(LAYERS, three) == {"lif": 1.0, "lif2": 0.5, "readout": 0.0}
    one = _profile({"cores_per_chip": 100, "neurons_per_core": 3, "axons_per_core": 4, "synapse_bytes_per_core": 8,
                    "synapse_bits": 8})
    assert messages_per_spike(LAYERS, one) == {}


def test_inter_chip_energy_is_spikes_times_crossings_times_message_bits_by_hand(rate_counts, tmp_path):
    import tomllib
    from importlib import resources

    from hw_models.profile import parse_profile

    data = tomllib.loads(resources.files("hw_models").joinpath("profiles/loihi.toml").read_text())
    # one neuron per core and two cores per chip: the 12 lif neurons take chips 0-5, the 2
    # readout accumulators chip 6, so every lif spike crosses exactly once
    data["capacity"] = {"source": "a test", "grade": "derived", "cores_per_chip": 2, "neurons_per_core": 1}
    p = parse_profile(data, "toy.toml")
    b = estimate(rate_counts, p)
    spikes = rate_counts.counts.loc[rate_counts.counts["layer"] == "lif", "output_spikes"].sum() / rate_counts.n_samples
    assert spikes > 0
    assert _component(b, "inter_chip") == pytest.approx(spikes * 1.0 * 32 * 1.4)
    assert _component(b, "inter_chip", column="energy_high_pj") == pytest.approx(spikes * 64 * 4.1)
    # the ANN on the same chips sends each of its 12 activations across once too
    assert _component(b, "inter_chip", "ann") == pytest.approx(12 * 32 * 1.4)
    fits = estimate(rate_counts, "loihi")
    assert _component(fits, "inter_chip") == 0


def test_inter_chip_pricing_needs_a_capacity_table():
    import tomllib
    from importlib import resources

    from hw_models.profile import parse_profile

    data = tomllib.loads(resources.files("hw_models").joinpath("profiles/loihi.toml").read_text())
    del data["capacity"]
    with pytest.raises(EnergyError, match="model.inter_chip needs a \\[capacity\\]"):
        parse_profile(data, "toy.toml")


def test_the_energy_command_prints_the_shares_and_switches_the_encoder(tmp_path, capsys):
    from asnn_sim.app.cli import main

    graph = _net("rate", 3)
    counts = tmp_path / "counts"
    simulate(graph, np.random.default_rng(2).random((4, 1, 2, 3)), np.zeros(4, int), progress=False).save(counts)
    assert main(["energy", str(counts), "--hw", "cmos45-int8-sram,loihi"]) == 0
    printed = capsys.readouterr().out
    assert "share of the SNN's energy:" in printed and "cmos45-int8-sram: encoder" in printed
    out = tmp_path / "off"
    assert main(["energy", str(counts), "--hw", "cmos45-int8-sram", "--encoder", "off-chip", "--out", str(out)]) == 0
    assert pd.read_csv(out / "summary.csv")["snn_encoder_pj"].iloc[0] == 0
    capsys.readouterr()
    assert main(["energy", str(counts), "--hw", "loihi", "--encoder", "on-chip", "--out", str(tmp_path / "no")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "loihi" in err[0] and "on-chip encoder" in err[0]
    assert not (tmp_path / "no").exists()


def _chain(neurons: list[int]) -> pd.DataFrame:
    """fc_i -> lif_i for each size, each lif feeding the next fc (a chain of neuron groups)."""
    rows, src = [], "input"
    for i, n in enumerate(neurons):
        rows.append(dict(layer=f"fc{i}", inputs=src, output="current", n_weights=n, n_neurons=0, fan_in=1, dense_macs_per_step=n))
        rows.append(dict(layer=f"lif{i}", inputs=f"fc{i}", output="binary", n_weights=0, n_neurons=n, fan_in=0, dense_macs_per_step=0))
        src = f"lif{i}"
    return pd.DataFrame(rows)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=2, max_size=6), st.integers(1, 7), st.integers(1, 9))
def test_messages_per_spike_equal_a_core_by_core_count(neurons, per_core, per_chip):
    """Against a brute force over cores: place every core, then average, over the cores of a
    group, the chips of the next group other than the core's own."""
    layers = _chain(neurons)
    p = _profile({"cores_per_chip": per_chip, "neurons_per_core": per_core})
    got = messages_per_spike(layers, p)
    chips_of, next_core = [], 0
    for n in neurons:
        cores = -(-n // per_core)
        chips_of.append([(next_core + k) // per_chip for k in range(cores)])
        next_core += cores
    if len({c for chips in chips_of for c in chips}) == 1:
        assert got == {}
        return
    for i, mine in enumerate(chips_of):
        theirs = set(chips_of[i + 1]) if i + 1 < len(chips_of) else set()
        want = sum(len(theirs - {c}) for c in mine) / len(mine)
        assert got[f"lif{i}"] == pytest.approx(want)
