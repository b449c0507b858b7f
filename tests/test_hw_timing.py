"""Time on hardware (hw_models/timing.py) against hand calculations, and its properties.

The two-layer table of tests/test_hw_model.py (n_samples = 1, T = 2):
  conv1 -> conv1's 32 neurons: 150 MACs per step; 3 then 4 spikes
  fc1   -> fc1's 4 neurons:    12 then 16 ACs (from conv1's spikes); 1 then 0 spikes
Each neuron group fits one core of every shipped chip.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tomli_w import dumps as toml_dumps

from hw_models import estimate_with_time, load_profile, run_energy
from hw_models.synthetic import TWO_LAYER_CONV, TWO_LAYER_FC, TWO_LAYER_ROWS, counts_from_rows
from hw_models.synthetic import two_layer_counts as tiny

NS = 1e-9


def _constant(value, unit, low=None, high=None):
    entry = {"value": value, "unit": unit, "source": "test chip, table 1", "grade": "measured", "scope": "per-operation"}
    if low is not None:
        entry.update(low=low, high=high)
    return entry


def _shipped(base: str, name: str) -> dict:
    """A shipped profile's TOML as a dict, renamed, to edit into a test variant."""
    from importlib import resources

    from hw_models.profile import tomllib

    data = tomllib.loads(resources.files("hw_models").joinpath("profiles", f"{base}.toml").read_text())
    data["name"] = name
    return data


def _written(tmp_path, data: dict):
    """The path of ``data`` written as ``<name>.toml`` in ``tmp_path``."""
    path = tmp_path / f"{data['name']}.toml"
    path.write_text(toml_dumps(data))
    return path


def _variant_path(tmp_path, base, name, model=None, capacity=None, **constants):
    data = _shipped(base, name)
    data["model"].update(model or {})
    if "t_neuron" in constants and "t_neuron_inactive" not in constants:
        data["constants"].pop("t_neuron_inactive", None)  # the hand checks time every neuron alike
    data["constants"].update(constants)
    if capacity:
        data["capacity"].update(capacity)
    return _written(tmp_path, data)


def _variant(tmp_path, base, name, model=None, **constants):
    return load_profile(_variant_path(tmp_path, base, name, model, **constants))


@pytest.fixture(scope="module")
def per_core(tmp_path_factory):
    return _variant(tmp_path_factory.mktemp("timed"), "loihi", "loihi-timed", {"timing": "per-core", "static": "none"},
                    t_synop=_constant(2.0, "ns", 1.0, 3.0), t_neuron=_constant(5.0, "ns"), t_spike=_constant(10.0, "ns"),
                    t_message=_constant(16.0, "ns"), t_barrier=_constant(1.0, "us", 0.5, 2.0))


def _times(counts, profile, system="snn"):
    _, timing = estimate_with_time(counts, profile)
    return timing[timing["system"] == system].reset_index(drop=True)


def test_per_core_by_hand(per_core):
    t = _times(tiny(), per_core)
    # A core's time is the longer of its neuron half and its synapse half.
    # step 0: conv1's neurons 32 x 5 + 3 spikes x 10 = 190 ns, its synapses 150 x 2 = 300 ns;
    #         fc1's neurons 4 x 5 + 1 x 10 = 30 ns, its synapses 12 x 2 + 3 received x 16 = 72 ns
    # step 1: conv1's 200 / 300 ns; fc1's 20 / 32 + 4 x 16 = 96 ns; each step + the 1 us barrier
    assert t["seconds"].tolist() == pytest.approx([1300 * NS, 1300 * NS])
    assert t["busy_seconds"].tolist() == pytest.approx([300 * NS, 300 * NS])
    assert list(t["bound_by"]) == ["conv1_neurons", "conv1_neurons"]
    # low: t_synop 1 ns (conv1's synapses 150 ns: now its neurons bound it), barrier 0.5 us; high: 3 ns and 2 us
    assert t["seconds_low"].tolist() == pytest.approx([(190 + 500) * NS, (200 + 500) * NS])
    assert t["seconds_high"].tolist() == pytest.approx([(450 + 2000) * NS, (450 + 2000) * NS])


def test_the_inputs_events_arrive_as_messages(per_core):
    # The input comes from off chip, but each of its events is still a message every core of
    # the group it reaches takes in (SANA-FE's message in).
    import asnn_sim.api as asnn

    graph = (asnn.GraphBuilder((4,), encoding="frames", timesteps=2, seed=0)
             .linear(weight=np.zeros((3, 4))).neuron().linear(weight=np.zeros((2, 3))).readout().build())
    frames = np.array([[[1, 0, 1, 1]], [[0, 0, 1, 0]]], np.uint8)  # (T, N, 4): 3 then 1 input spikes
    timing = asnn.energy(asnn.simulate(graph, frames=frames), hw=[str(per_core.path)]).timing
    snn = timing[timing["system"] == "snn"]
    # the 3 neurons' core: synapses 3 x 3 ACs x 2 ns + 3 messages x 16 ns = 66 ns, then 3 x 2 + 16 = 22 ns,
    # above its neurons (3 x 5 ns, no spikes: zero weights) and the readout's (2 x 5 ns); + the 1 us barrier
    assert snn["busy_seconds"].tolist() == pytest.approx([66 * NS, 22 * NS], rel=1e-12)
    assert snn["seconds"].tolist() == pytest.approx([1066 * NS, 1022 * NS], rel=1e-12)


def test_a_spike_is_a_message_only_to_the_cores_holding_its_targets(tmp_path):
    # A depthwise 1x1 convolution of 2 channels of 4x4 onto 32 neurons, 16 per core: each
    # channel on a core of its own, so an input event reaches one of the two cores.
    import asnn_sim.api as asnn

    path = _variant_path(tmp_path, "loihi", "loihi-small-cores", {"timing": "per-core", "static": "none"},
                         capacity={"neurons_per_core": 16}, t_synop=_constant(2.0, "ns"), t_neuron=_constant(5.0, "ns"),
                         t_spike=_constant(10.0, "ns"), t_message=_constant(100.0, "ns"), t_barrier=_constant(1.0, "us"))
    graph = (asnn.GraphBuilder((2, 4, 4), encoding="frames", timesteps=1, seed=0)
             .conv(weight=np.ones((2, 1, 1, 1)), groups=2).neuron(threshold=10.0)
             .flatten().linear(weight=np.zeros((2, 32))).readout().build())
    frames = np.zeros((1, 1, 2, 4, 4), np.uint8)
    frames[0, 0, 0, 0, :3] = 1  # 3 events in channel 0, 1 in channel 1
    frames[0, 0, 1, 2, 2] = 1
    timing = asnn.energy(asnn.simulate(graph, frames=frames, progress=False), hw=[str(path)]).timing
    snn = timing[timing["system"] == "snn"]
    # lif1's cores: synapses 4 ACs x 2 ns / 2 cores + 4 events x 1/2 of the cores x 100 ns = 204 ns,
    # above its neurons (32 x 5 ns / 2 = 80 ns; no spike reaches the threshold) and the readout's 10 ns
    # (every core reached: 4 x 100 + 4 = 404 ns)
    assert snn["busy_seconds"].tolist() == pytest.approx([204 * NS], rel=1e-12)
    assert snn["bound_by"].tolist() == ["lif1"]


def two_channel_case(tmp_path, groups: int, record: bool = False, **capacity):
    """``loihi-sanafe`` with 16 neurons a core (and ``capacity``'s overrides), and a replay on
    it: lif1 and lif2 hold 2 channels of 4x4, one channel per core; lif1 fires where the
    input has events (3 in channel 0, 1 in channel 1), and a 1x1 convolution of ``groups``
    groups feeds lif2 (depthwise: a lif1 spike reaches one of lif2's cores; full: both)."""
    import asnn_sim.api as asnn

    path = _variant_path(tmp_path, "loihi-sanafe", "sanafe-small-cores", capacity={"neurons_per_core": 16, **capacity})
    graph = (asnn.GraphBuilder((2, 4, 4), encoding="frames", timesteps=1, seed=0)
             .conv(weight=np.full((2, 1, 1, 1), 2.0), groups=2).neuron()  # each input event fires its lif1 neuron
             .conv(weight=np.zeros((2, 2 // groups, 1, 1)), groups=groups).neuron()
             .flatten().linear(weight=np.zeros((2, 32))).readout().build())
    frames = np.zeros((1, 1, 2, 4, 4), np.uint8)
    frames[0, 0, 0, 0, :3] = 1
    frames[0, 0, 1, 2, 2] = 1
    return path, asnn.simulate(graph, frames=frames, progress=False, record="all" if record else None)


@pytest.mark.parametrize(("groups", "destinations"), [(1, 2), (2, 1)])
def test_a_spike_pays_a_message_per_destination_core(tmp_path, groups, destinations):
    import asnn_sim.api as asnn

    path, replay = two_channel_case(tmp_path, groups)
    touched = int(replay.counts.set_index("layer").loc["lif1", "neurons_touched"])
    result = asnn.energy(replay, hw=[str(path)])
    b = result.breakdown
    routing = b[(b["system"] == "snn") & (b["component"] == "spike_routing")].groupby("layer")["energy_pj"].sum()
    # 4 spikes x (69.3 pJ out + destinations x 111 pJ per message); 0 hops assumed
    assert routing["lif1"] == pytest.approx(4 * (69.3 + destinations * 111.0), rel=1e-12)
    assert routing.drop("lif1").sum() == 0  # lif2 and the readout send nothing
    # and in time, lif1's neuron half bounds the step: (its touched neurons x 9.7 ns, the other
    # of its 32 x 6.0 ns, + 4 spikes x 30 ns + 4 x destinations messages x 5.1 ns) / 2 cores,
    # above its synapse half (4 x 3.1 / 2 + 4 x 1/2 x 16 = 38.2 ns) and lif2's halves (at most
    # (8 x 9.7 + 24 x 6) / 2 = 110.8 ns; 8 x 3.1 / 2 + 4 x 16 = 76.4 ns)
    assert 0 < touched <= 8
    snn = result.timing[result.timing["system"] == "snn"]
    neurons = touched * 9.7 + (32 - touched) * 6.0
    assert snn["busy_seconds"].tolist() == pytest.approx([(neurons + 4 * 30 + 4 * destinations * 5.1) / 2 * NS], rel=1e-12)
    assert snn["bound_by"].tolist() == ["lif1"]


def _sanafe_with(tmp_path, cores_per_tile):
    data = _shipped("loihi-sanafe", f"sanafe-tiles-{cores_per_tile}")
    if cores_per_tile is None:  # no tiles, so no mesh: hops are an assumption again
        del data["capacity"]["cores_per_tile"], data["capacity"]["mesh_rows"]
        data["assumptions"]["hops_per_spike"] = {"value": 0.0, "unit": "count", "why": "a test: no mesh stated"}
    else:
        data["capacity"]["cores_per_tile"] = cores_per_tile
    return load_profile(_written(tmp_path, data))


@pytest.mark.parametrize(("cores_per_tile", "barrier_us", "low_high_us"), [
    (4, 0.6, (0.6, 0.6)),  # the tiny model's 2 cores: one tile; the table is one number at every end
    (1, 1.0, (1.0, 1.0)),  # two tiles
    (None, 1.0, (0.6, 1.8)),  # tiles not counted: t_barrier's value, low and high
])
def test_the_barrier_by_tiles_in_use(tmp_path, cores_per_tile, barrier_us, low_high_us):
    t = _times(tiny(), _sanafe_with(tmp_path, cores_per_tile))
    # conv1's synapses bound both steps: 150 x 3.1 = 465 ns (test_shipped_profiles_by_hand)
    assert t["barrier_seconds"].tolist() == pytest.approx([barrier_us * 1e-6] * 2, rel=1e-12)
    assert t["seconds"].tolist() == pytest.approx([465 * NS + barrier_us * 1e-6] * 2, rel=1e-12)
    assert t["seconds_low"].tolist() == pytest.approx([465 * NS + low_high_us[0] * 1e-6] * 2, rel=1e-12)
    assert t["seconds_high"].tolist() == pytest.approx([465 * NS + low_high_us[1] * 1e-6] * 2, rel=1e-12)


def test_the_summary_totals_the_steps_with_rate_static_share_and_edp(per_core):
    result = run_energy(tiny(), [str(per_core.path)])
    # every breakdown row carries its step's time
    snn = result.breakdown[result.breakdown["system"] == "snn"]
    assert snn.groupby("t")["step_seconds"].unique().map(list).tolist() == [[pytest.approx(1300 * NS)]] * 2
    row = result.summary.iloc[0]
    assert row["timing"] == "per-core"
    assert row["snn_seconds"] == pytest.approx(2600 * NS)
    assert row["snn_inferences_per_s"] == pytest.approx(1 / (2600 * NS))
    assert row["snn_edp_js"] == pytest.approx(row["snn_pj"] * 1e-12 * 2600 * NS)
    assert row["snn_static_share"] == 0  # this profile states no static power
    assert row["ann_seconds"] > 0 and row["ann_edp_js"] == pytest.approx(row["ann_pj"] * 1e-12 * row["ann_seconds"])
    assert set(result.timing["system"]) == {"snn", "ann"} and (result.timing["system"] == "ann").sum() == 1


def test_a_group_on_more_cores_shares_its_work(tmp_path, per_core):
    # conv1's 32 neurons on 4 cores of 8: its halves drop to a quarter (it receives no spikes)
    data = per_core.capacity
    small = _variant_path(tmp_path, "loihi", "loihi-small-cores", {"timing": "per-core", "static": "none"},
                          capacity={"neurons_per_core": 8}, t_synop=_constant(2.0, "ns"), t_neuron=_constant(5.0, "ns"),
                          t_spike=_constant(10.0, "ns"), t_message=_constant(16.0, "ns"), t_barrier=_constant(1.0, "us"))
    assert data.neurons_per_core == 1024
    t = _times(tiny(), load_profile(small))
    # conv1: max(190, 300) / 4 = 75 ns; fc1 (one core) 72 then 96 ns bounds step 1
    assert t["busy_seconds"].tolist() == pytest.approx([75 * NS, 96 * NS])


def test_fixed_tick_is_the_tick_whatever_the_activity(tmp_path):
    tick = _variant(tmp_path, "truenorth", "tick-1ms", {"timing": "fixed-tick"}, tick=_constant(1.0, "ms"))
    for counts in (tiny(), tiny(scale=50)):
        t = _times(counts, tick)
        assert t["seconds"].tolist() == [1e-3, 1e-3]
    assert _times(tiny(), tick, "ann")["seconds"].tolist() == [1e-3]


def test_fixed_tick_reports_the_busiest_cores_load(tmp_path):
    tick = _variant(tmp_path, "loihi", "loihi-tick", {"timing": "fixed-tick"}, tick=_constant(1.0, "us"),
                    t_synop=_constant(2.0, "ns"), t_neuron=_constant(5.0, "ns"), t_spike=_constant(10.0, "ns"),
                    t_message=_constant(16.0, "ns"))
    t = _times(tiny(), tick)
    assert t["load"].tolist() == pytest.approx([0.30, 0.30])  # conv1's 300 ns of synaptic ops in a 1 us tick
    assert t["seconds"].tolist() == [1e-6, 1e-6]


def test_throughput_by_hand(tmp_path):
    # arithmetic only: every synaptic op and neuron operation at 100 per cycle of 1 GHz = 10 ps each; this
    # profile is event-driven, so conv1's neuron arithmetic is that of the 20 touched neurons of 32
    fast = _variant(tmp_path, "cmos45-fp32-arith", "fp32-timed", {"timing": "throughput"}, clock=_constant(1.0, "GHz"),
                    ops_per_cycle={**_constant(100, "count")}, sram_bytes_per_cycle=_constant(16, "count"),
                    dram_bandwidth=_constant(10, "GB/s"))
    t = _times(tiny(), fast)
    # step 0: 150 MACs + (40 + 40 + 20 + 3 resets) + 12 ACs + (8 + 8 + 4 + 1) = 286 ops; step 1: 150 + 104 + 16 + 20 = 290
    assert t["seconds"].tolist() == pytest.approx([2.86 * NS, 2.90 * NS])
    assert t["bound_by"].tolist() == ["conv1 (compute)", "conv1 (compute)"]  # its 150 MACs
    ann = _times(tiny(), fast, "ann")
    assert ann["seconds"].iloc[0] > 0


def test_throughput_is_memory_bound_where_the_profile_prices_sram(tmp_path):
    slow_sram = _variant(tmp_path, "cmos45-int8-sram", "int8-timed", {"timing": "throughput"}, clock=_constant(1.0, "GHz"),
                         ops_per_cycle=_constant(1000, "count"), sram_bytes_per_cycle=_constant(1, "count"),
                         dram_bandwidth=_constant(10, "GB/s"))
    t = _times(tiny(), slow_sram)
    assert all(bound.endswith("(sram)") for bound in t["bound_by"])


def test_static_energy_is_power_times_the_computed_time(tmp_path):
    profile = _variant(tmp_path, "loihi", "loihi-static", {"timing": "per-core", "static": "power-x-latency"},
                       t_synop=_constant(2.0, "ns"), t_neuron=_constant(5.0, "ns"), t_spike=_constant(10.0, "ns"),
                       t_message=_constant(16.0, "ns"), t_barrier=_constant(1.0, "us"), static_power=_constant(10.0, "mW"))
    result = run_energy(tiny(), [str(profile.path)])
    static = result.breakdown.query("component == 'static' and system == 'snn'")["energy_pj"].tolist()
    assert static == pytest.approx([10e-3 * 1300 * NS * 1e12, 10e-3 * 1300 * NS * 1e12])
    row = result.summary.iloc[0]
    assert row["snn_static_share"] == pytest.approx(sum(static) / row["snn_pj"])


def test_a_profile_without_timing_has_none(tmp_path):
    untimed = _variant(tmp_path, "cmos45-fp32-arith", "fp32-untimed", {"timing": "none"})
    result = run_energy(tiny(), [str(untimed.path)])
    assert result.timing.empty and math.isnan(result.summary.iloc[0]["snn_seconds"])


@pytest.mark.parametrize("changes, message", [
    ({"model": {"timing": "per-core"}}, "constants.t_synop is required by model.timing = 'per-core'"),
    ({"model": {"timing": "fixed-tick", "static": "power-x-latency"}}, "constants.tick is required"),
    ({"model": {"static": "power-x-latency", "timing": "none"}, "constants": {"static_power": _constant(1.0, "mW")}},
     "'power-x-latency' needs a time: set model.timing"),
    ({"model": {"timing": "fixed-tick"}, "constants": {"tick": _constant(1.0, "pJ")}}, "constants.tick.unit must be a time unit"),
    ({"model": {"timing": "throughput"}, "constants": {"clock": _constant(1.0, "ns")}}, "constants.clock.unit must be a frequency unit"),
    ({"model": {"timing": "per-core"}, "constants": {n: _constant(1.0, "ns") for n in ("t_synop", "t_neuron", "t_spike", "t_barrier")}},
     r"model.timing 'per-core' needs a \[capacity\] table"),
])
def test_timing_switches_need_their_constants(tmp_path, changes, message):
    from hw_models import EnergyError

    with pytest.raises(EnergyError, match=message):
        _variant(tmp_path, "cmos45-fp32-arith", "bad", changes.get("model"), **changes.get("constants", {}))


# ----------------------------------------------------------------------------- properties


def _rows(conv_spikes, fc_acs, steps, conv_macs=150):
    rows = []
    for t in range(steps):
        conv = dict(TWO_LAYER_ROWS[t % 2], t=t, output_spikes=conv_spikes[t], neuron_resets=conv_spikes[t],
                    synaptic_macs=conv_macs)
        fc = dict(TWO_LAYER_ROWS[2 + t % 2], t=t, synaptic_acs=fc_acs[t], in_events_binary=max(1, fc_acs[t] // 4))
        rows += [conv, fc]
    return rows


activity = st.integers(1, 4).flatmap(lambda steps: st.tuples(
    st.just(steps), st.lists(st.integers(0, 32), min_size=steps, max_size=steps),
    st.lists(st.integers(0, 128), min_size=steps, max_size=steps)))


@settings(max_examples=25, deadline=None)
@given(activity, st.integers(1, 40))
def test_time_grows_with_events_and_steps_and_the_slowest_core_bounds_the_step(per_core, drawn, extra):
    steps, spikes, acs = drawn
    counts = counts_from_rows(_rows(spikes, acs, steps), [TWO_LAYER_CONV, TWO_LAYER_FC])
    t = _times(counts, per_core)
    # more spikes alone never make a step faster (the bound may be a half they do not reach) ...
    busier = counts_from_rows(_rows([s + extra for s in spikes], acs, steps), [TWO_LAYER_CONV, TWO_LAYER_FC])
    assert (_times(busier, per_core)["seconds"].to_numpy() >= t["seconds"].to_numpy()).all()
    # ... and more of every event (spikes, ACs, MACs) lengthens every half that can bound a step: slower at every step
    heavier = counts_from_rows(_rows([s + extra for s in spikes], [a + extra for a in acs], steps, conv_macs=150 + extra),
                               [TWO_LAYER_CONV, TWO_LAYER_FC])
    assert (_times(heavier, per_core)["seconds"].to_numpy() > t["seconds"].to_numpy()).all()
    longer = counts_from_rows(_rows(spikes + [0], acs + [0], steps + 1), [TWO_LAYER_CONV, TWO_LAYER_FC])
    assert _times(longer, per_core)["seconds"].sum() > t["seconds"].sum()  # one more step: longer
    # the step is the busiest core plus the barrier, and no core's work exceeds it
    barrier = per_core.param("t_barrier")
    np.testing.assert_allclose(t["seconds"] - t["busy_seconds"], barrier)
    for k in range(steps):
        conv_core = max(150 * 2 * NS, 32 * 5 * NS + spikes[k] * 10 * NS)
        assert conv_core <= t["busy_seconds"][k] + 1e-18
    assert (t["seconds_low"] <= t["seconds"]).all() and (t["seconds"] <= t["seconds_high"]).all()


# ----------------------------------------------------------------------------- the shipped profiles by hand


@pytest.mark.parametrize("profile, steps_ns", [
    # loihi: conv1's core bounds both steps: synapses 150 x 3.5 = 525 ns (its neurons 20 x 8.4 + 12 x 5.3 + spikes x 2.1 <= 240 ns),
    # + the 465 ns barrier (docs/energy.md, "Time", by hand)
    ("loihi", [990.0, 990.0]),
    # loihi-sanafe: conv1's synapses 150 x 3.1 (a conv) = 465 ns beat its neurons (32 x 9.7 + 3 or 4 x 35.1 = 415.7, 450.8);
    # fc1's 12 x 3.8 + 3 received x 16 = 93.6 ns, 16 x 3.8 + 4 x 16 = 124.8 ns; + the barrier of the
    # 2 cores' one tile (SANA-FE's table: 0.6 us)
    ("loihi-sanafe", [1065.0, 1065.0]),
    # one 1 ms tick per step
    ("truenorth", [1e6, 1e6]),
    ("spinnaker2", [1e6, 1e6]),
    # 168 ops per cycle at 200 MHz; clock-driven neurons: step 0 150 MACs + (64 + 64 + 32 + 3) + 12 ACs + (8 + 8 + 4 + 1)
    # = 346 ops, step 1 150 + 164 + 16 + 20 = 350 ops (no SRAM bandwidth stated, nothing in DRAM)
    ("cmos45-int8-sram", [346 / 33.6, 350 / 33.6]),
])
def test_shipped_profiles_by_hand(profile, steps_ns):
    t = _times(tiny(), load_profile(profile))
    assert t["seconds"].tolist() == pytest.approx([v * NS for v in steps_ns], rel=1e-12)


def test_loihi_times_reached_and_idle_neurons_apart(tmp_path):
    # synapses made fast, so that conv1's neurons bound each step: 20 reached x 8.4 + 12 idle x 5.3
    # + 3 (then 4) spikes x 2.1 = 237.9 (240.0) ns, + the 465 ns barrier; the low bound takes
    # 8.4 and 5.3 (with the 113 ns barrier), the high SANA-FE's 9.7 and 6.0 (its spikes 35.1 ns and
    # barrier 1.8 us): 20 x 9.7 + 12 x 6 + 3 x 35.1
    fast = _variant(tmp_path, "loihi", "loihi-fast-synapses", t_synop=_constant(0.1, "ns"))
    t = _times(tiny(), fast)
    assert t["seconds"].tolist() == pytest.approx([702.9 * NS, 705.0 * NS], rel=1e-12)
    assert list(t["bound_by"]) == ["conv1_neurons", "conv1_neurons"]
    assert t["seconds_low"].tolist() == pytest.approx([(237.9 + 113) * NS, (240.0 + 113) * NS], rel=1e-12)
    assert t["seconds_high"].tolist() == pytest.approx([(194 + 72 + 3 * 35.1 + 1800) * NS, (194 + 72 + 4 * 35.1 + 1800) * NS],
                                                       rel=1e-12)


def test_static_energy_on_loihi_by_hand():
    row = run_energy(tiny(), ["loihi"]).summary.iloc[0]
    # 104 mW x 1 chip x (990 + 990) ns = 205,920 pJ (docs/energy.md, "Time")
    assert row["snn_static_pj"] == pytest.approx(104e-3 * 1980e-9 * 1e12, rel=1e-12)
    assert row["snn_static_share"] == pytest.approx(row["snn_static_pj"] / row["snn_pj"])
