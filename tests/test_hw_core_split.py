"""How recorded spikes split a group's work over its cores (hw_models/core_split.py).

Brute force: every recorded spike of a source neuron is sent through the same layers with
all-ones weights (PyTorch's conv2d), the target neurons it lights up give the slices (runs
of consecutive neurons, as numpy.array_split cuts a group) it is a message to, and those
messages are summed per slice. A hand-computed step checks the timing that reads them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from test_hw_reach import _pairs, _row
from test_hw_timing import NS, _shipped, _written, toml_dumps, two_channel_case

from hw_models.core_split import NeuronActivity, recorded_split


def _targets(src, forward):
    """(source neurons, target neurons) bool: which targets one spike of each source neuron
    reaches, every neuron sent alone (a batch of one-hot inputs)."""
    n = math.prod(src)
    return forward(torch.eye(n, dtype=torch.float64).reshape(n, *src)).reshape(n, -1).numpy() != 0


def _messages_by_brute_force(src, forward, spikes, n_out, slices):
    """Per step and target slice, messages received; per step, messages sent."""
    owner = np.searchsorted(np.cumsum([len(a) for a in np.array_split(np.arange(n_out), slices)]), np.arange(n_out),
                            side="right")
    reached = np.zeros((math.prod(src), slices), bool)  # source neuron -> slices it is a message to
    for i, targets in enumerate(_targets(src, forward)):
        reached[i, owner[targets]] = True
    return spikes @ reached, spikes @ reached.sum(axis=1)


def _conv_shapes(groups, per_in, per_out, h, w, k, s, pad):
    """Source and output shapes of a grouped convolution (an output side below 1: no such layer)."""
    return (groups * per_in, h, w), (groups * per_out, (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1)


def _conv_link(src, out, groups, k, s, pad, src_cores, cores):
    """The layers table and mapping of lif1 -> conv2 -> lif2, each group on its cores."""
    layers = pd.DataFrame([_row("lif1", "neuron", "", src, src, math.prod(src)),
                           _row("conv2", "conv2d", "lif1", src, out, groups=groups, **_pairs(k, s, pad)),
                           _row("lif2", "neuron", "conv2", out, out, math.prod(out))])
    mapping = pd.DataFrame([{"layer": "lif1", "neurons": math.prod(src), "cores": src_cores, "limited_by": "neurons"},
                            {"layer": "lif2", "neurons": math.prod(out), "cores": cores, "limited_by": "neurons"}])
    return layers, mapping


@settings(max_examples=40, deadline=None)
@given(groups=st.integers(1, 3), per_in=st.integers(1, 2), per_out=st.integers(1, 3), h=st.integers(3, 7), w=st.integers(3, 7),
       k=st.integers(1, 3), s=st.integers(1, 2), pad=st.integers(0, 1), data=st.data())
def test_recorded_messages_match_brute_force(groups, per_in, per_out, h, w, k, s, pad, data):
    src, out = _conv_shapes(groups, per_in, per_out, h, w, k, s, pad)
    if min(out[1:]) < 1:
        return
    c_out, n_in, n_out = out[0], math.prod(src), math.prod(out)
    src_cores = data.draw(st.integers(1, min(n_in, 5)), label="source cores")
    cores = data.draw(st.integers(1, min(n_out, 7)), label="cores")
    T = 2
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    spikes = (rng.random((T, n_in)) < rng.random()) * rng.integers(1, 4, (T, n_in))  # summed over samples: 0..3
    layers, mapping = _conv_link(src, out, groups, k, s, pad, src_cores, cores)
    split = recorded_split(layers, mapping, None, NeuronActivity({"lif1": spikes.astype(float)}, 3))
    ones = torch.ones((c_out, per_in, k, k), dtype=torch.float64)
    received, sent = _messages_by_brute_force(src, lambda x: F.conv2d(x, ones, stride=s, padding=pad, groups=groups),
                                              spikes, n_out, cores)
    total = spikes.sum(axis=1)
    got = split["lif2"].received["lif1"] * total[:, None]  # messages per spike of lif1 x its spikes
    np.testing.assert_allclose(got, received, rtol=1e-12, atol=1e-12)
    lif1 = split["lif1"]
    moving = total > 0
    np.testing.assert_allclose(lif1.destinations[moving] * total[moving], sent[moving], rtol=1e-12)
    # the shares of what lif1 sends, per its own slices, are those of its recorded spikes
    bounds = np.cumsum([0] + [len(a) for a in np.array_split(np.arange(n_in), src_cores)])
    own = np.add.reduceat(spikes, bounds[:-1], axis=1)
    np.testing.assert_allclose(lif1.spikes[moving], own[moving] / total[moving, None], rtol=1e-12)
    np.testing.assert_allclose(lif1.spikes.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(lif1.messages.sum(axis=1), 1.0, rtol=1e-12)


def test_uniform_activity_reproduces_the_even_split_on_average():
    # every neuron spiking alike: the slices' messages average to reach x cores, and the
    # busiest slice is at least the even split's mean core
    from hw_models.reach import reach_fractions

    src, out = (2, 6, 6), (4, 3, 3)
    rows = [_row("lif1", "neuron", "", src, src, 72),
            _row("conv2", "conv2d", "lif1", src, out, groups=1, **_pairs(3, 2, 1)),
            _row("lif2", "neuron", "conv2", out, out, 36)]
    mapping = pd.DataFrame([{"layer": "lif1", "neurons": 72, "cores": 3, "limited_by": "neurons"},
                            {"layer": "lif2", "neurons": 36, "cores": 5, "limited_by": "neurons"}])
    layers = pd.DataFrame(rows)
    split = recorded_split(layers, mapping, None, NeuronActivity({"lif1": np.full((3, 72), 2.0)}, 2))
    fraction = reach_fractions(layers, mapping, None)[("lif1", "lif2")]
    np.testing.assert_allclose(split["lif2"].received["lif1"].mean(axis=1), fraction, rtol=1e-12)
    assert (split["lif2"].received["lif1"].max(axis=1) >= fraction - 1e-12).all()
    np.testing.assert_allclose(split["lif1"].destinations, fraction * 5, rtol=1e-12)


def test_a_recording_with_other_neurons_is_refused():
    from hw_models.errors import EnergyError

    rows = [_row("lif1", "neuron", "", (4,), (4,), 4)]
    mapping = pd.DataFrame([{"layer": "lif1", "neurons": 4, "cores": 1, "limited_by": "neurons"}])
    with pytest.raises(EnergyError, match="node 'lif1' has 5 neurons, the layers table 4"):
        recorded_split(pd.DataFrame(rows), mapping, None, NeuronActivity({"lif1": np.zeros((2, 5))}, 1))


@pytest.mark.parametrize("record", [False, True])
def test_the_busiest_core_sends_the_spikes_recorded_on_it(tmp_path, record):
    # two_channel_case: lif1 holds one channel per core; 3 of its 4 spikes fire on core 0
    # (channel 0), and a depthwise 1x1 convolution sends each to 1 core
    import asnn_sim.api as asnn

    path, replay = two_channel_case(tmp_path, groups=2, record=record)
    touched = int(replay.counts.set_index("layer").loc["lif1", "neurons_touched"])
    timing = asnn.energy(replay, hw=[str(path)]).timing
    snn = timing[timing["system"] == "snn"]
    # each core updates half the neurons; core 0 sends 3 spikes (each 30 ns + 1 message of 5.1 ns)
    # where the recording says so, the mean core 2 where it is not known
    neurons = (touched * 9.7 + (32 - touched) * 6.0) / 2
    sent = 3 if record else 2
    assert snn["busy_seconds"].tolist() == pytest.approx([(neurons + sent * (30 + 5.1)) * NS], rel=1e-12)
    assert snn["bound_by"].tolist() == ["lif1"]
    assert snn["core_split"].tolist() == ["recorded (1 samples)" if record else "even"]
    ann = timing[timing["system"] == "ann"]
    assert ann["core_split"].tolist() == ["even"]  # the ANN's dense events: every neuron alike


def test_asnn_energy_reads_the_recording_beside_the_counts(tmp_path):
    import asnn_sim.api as asnn
    from hw_models import load_counts

    graph = (asnn.GraphBuilder((2, 4, 4), encoding="frames", timesteps=2, seed=0)
             .conv(weight=np.full((2, 1, 1, 1), 2.0), groups=2).neuron()
             .flatten().linear(weight=np.zeros((2, 32))).readout().build())
    frames = (np.random.default_rng(0).random((2, 3, 2, 4, 4)) < 0.3).astype(np.uint8)
    asnn.simulate(graph, frames=frames, progress=False, record="all", out=tmp_path / "run")
    counts = load_counts(tmp_path / "run")
    assert counts.activity is not None and counts.activity.samples == 3
    assert counts.activity.spikes["lif1"].shape == (2, 32)
    timing = asnn.energy(tmp_path / "run", hw="loihi-sanafe").timing
    assert set(timing.loc[timing["system"] == "snn", "core_split"]) == {"recorded (3 samples)"}


@settings(max_examples=30, deadline=None)
@given(groups=st.integers(1, 2), per_in=st.integers(1, 2), per_out=st.integers(1, 2), h=st.integers(3, 6), w=st.integers(3, 6),
       k=st.integers(1, 3), s=st.integers(1, 2), pad=st.integers(0, 1), per_tile=st.integers(1, 3), rows=st.integers(1, 3),
       data=st.data())
def test_hops_on_the_mesh_match_brute_force(groups, per_in, per_out, h, w, k, s, pad, per_tile, rows, data):
    from hw_models.core_split import neuron_hops
    from hw_models.profile import Capacity

    src, out = _conv_shapes(groups, per_in, per_out, h, w, k, s, pad)
    if min(out[1:]) < 1:
        return
    c_out, n_in, n_out = out[0], math.prod(src), math.prod(out)
    src_cores = data.draw(st.integers(1, min(n_in, 6)), label="source cores")
    cores = data.draw(st.integers(1, min(n_out, 6)), label="cores")
    layers, mapping = _conv_link(src, out, groups, k, s, pad, src_cores, cores)
    capacity = Capacity(cores_per_chip=64, neurons_per_core=None, axons_per_core=None, synapse_bytes_per_core=None,
                        synapse_bits=8, source="a test", grade="documented", cores_per_tile=per_tile, mesh_rows=rows)
    hops = neuron_hops(layers, mapping, capacity)

    def xy(core):  # groups on consecutive cores from 0: lif1's, then lif2's
        tile = core // per_tile
        return np.array([tile // rows, tile % rows])

    src_bounds = np.cumsum([len(a) for a in np.array_split(np.arange(n_in), src_cores)])
    out_bounds = np.cumsum([len(a) for a in np.array_split(np.arange(n_out), cores)])
    ones = torch.ones((c_out, per_in, k, k), dtype=torch.float64)
    expected = np.zeros(n_in)
    reach = _targets(src, lambda x: F.conv2d(x, ones, stride=s, padding=pad, groups=groups))
    for i in range(n_in):
        targets = np.flatnonzero(reach[i])
        here = xy(int(np.searchsorted(src_bounds, i, side="right")))
        for b in np.unique(np.searchsorted(out_bounds, targets, side="right")):
            expected[i] += np.abs(here - xy(src_cores + int(b))).sum()
    np.testing.assert_array_equal(hops["lif1"], expected)
    assert not hops["lif2"].any()  # it feeds nothing


@pytest.mark.parametrize(("groups", "hops"), [(2, 4 * 2), (1, 3 * (2 + 3) + 1 * (1 + 2))])
def test_a_spike_pays_the_hops_to_each_destination_tile(tmp_path, groups, hops):
    # one core per tile on a mesh of 4 rows: lif1 on cores 0-1, lif2 on cores 2-3 (column 0,
    # rows 0-3). A depthwise 1x1 convolution sends channel c's spike from core c to core 2 + c
    # (2 hops); a full one to both (3 spikes on core 0: 2 + 3 hops; 1 on core 1: 1 + 2)
    import asnn_sim.api as asnn

    path, replay = two_channel_case(tmp_path, groups, record=True, cores_per_tile=1)
    b = asnn.energy(replay, hw=[str(path)]).breakdown
    routing = b[(b["system"] == "snn") & (b["component"] == "spike_routing")].groupby("layer")["energy_pj"].sum()
    destinations = 3 - groups
    assert routing["lif1"] == pytest.approx(4 * 69.3 + 4 * destinations * 111.0 + hops * 3.6, rel=1e-12)


def test_a_mesh_replaces_the_assumed_hops_per_spike(tmp_path):
    from hw_models import load_profile
    from hw_models.errors import EnergyError

    data = _shipped("loihi-sanafe", "both")
    data["assumptions"]["hops_per_spike"] = {"value": 1.0, "unit": "count", "why": "a test"}
    path = _written(tmp_path, data)
    with pytest.raises(EnergyError, match="hops_per_spike is not read where \\[capacity\\] states mesh_rows"):
        load_profile(path)
    del data["assumptions"]["hops_per_spike"], data["capacity"]["cores_per_tile"]
    path.write_text(toml_dumps(data))
    with pytest.raises(EnergyError, match="mesh_rows needs cores_per_tile"):
        load_profile(path)


def test_the_sensitivity_ratio_reads_the_recording_as_the_estimate_does(tmp_path):
    # ratio_function (the sensitivity tornado's centre) prices the same recorded split,
    # destinations and hops as the summary
    import asnn_sim.api as asnn
    from asnn_sim.api import _counts
    from hw_models import load_profile
    from hw_models.model import ratio_function

    path, replay = two_channel_case(tmp_path, groups=1, record=True, cores_per_tile=1)
    counts = _counts(replay)
    assert counts.activity is not None
    summary = asnn.energy(replay, hw=[str(path)]).summary
    assert ratio_function(counts)(load_profile(path)) == pytest.approx(float(summary["ratio"].iloc[0]), rel=1e-12)
