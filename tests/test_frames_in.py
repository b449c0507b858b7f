"""Frames in for hand-built networks: ``GraphBuilder(shape, encoding="frames")``.

Such a graph has no input encoder and reads the frames a user supplies, exactly as a
graph imported from NIR does: event-camera frames (Tonic's ``ToFrame`` output, int16
event counts per pixel), spikes, or values. These tests feed it frames in ToFrame's exact
format and check every count against the dense PyTorch reference's brute-force count.
"""

from __future__ import annotations

import numpy as np
import pytest

import asnn_sim.api as asnn
from asnn_sim.graph.frames import stack_frames
from asnn_sim.graph.ir import GraphError
from asnn_sim.interop.builder import GraphBuilder
from asnn_sim.sim.engine import SLOT
from dense_check import replay_against_dense

SENSOR = (5, 4, 2)  # Tonic's sensor_size: (W, H, polarities)
T = 3


def _events(rng, n: int = 60, sensor=SENSOR) -> np.ndarray:
    """Synthetic events as Tonic holds them: a structured array (x, y, t, p), t sorted (us)."""
    ev = np.zeros(n, dtype=[("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])
    ev["x"] = rng.integers(0, sensor[0], n)
    ev["y"] = rng.integers(0, sensor[1], n)
    ev["t"] = np.sort(rng.integers(0, 10_000, n))
    ev["p"] = rng.integers(0, sensor[2], n)
    return ev


def to_frame(events: np.ndarray, sensor=SENSOR, n_time_bins: int = T) -> np.ndarray:
    """Tonic's ``ToFrame(sensor_size, n_time_bins)`` in numpy: (T, P, H, W) int16 counts.

    The same binning as tonic 1.7 (``SliceByTimeBins``): T windows of ``(t_last - t_first)
    // T`` microseconds from the first event, an event in the window that contains it
    (the last event can fall outside every window, as in Tonic).
    """
    t = events["t"]
    window = (t[-1] - t[0]) // n_time_bins
    starts = np.arange(n_time_bins) * window + t[0]
    lo, hi = np.searchsorted(t, starts), np.searchsorted(t, starts + window)
    frames = np.zeros((n_time_bins, sensor[2], sensor[1], sensor[0]), dtype=np.int16)
    for i, (a, b) in enumerate(zip(lo, hi)):
        part = events[a:b]
        np.add.at(frames, (i, part["p"], part["y"], part["x"]), 1)
    return frames


def _graph(timesteps: int = T, **neuron):
    net = GraphBuilder((SENSOR[2], SENSOR[1], SENSOR[0]), encoding="frames", timesteps=timesteps, seed=0)
    net.conv(3, 3, padding=1).neuron(**{"leak": 0.9, "gain": 0.5, **neuron}).flatten().linear(4).readout()
    return net.build()


def _samples(n: int = 4, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [to_frame(_events(rng)) for _ in range(n)]


def _table(result) -> dict:
    """The counts table as {(layer, t, column): value} (int64 totals)."""
    columns = [c for c in result.counts.columns if c in SLOT]
    return {(row.layer, row.t, c): int(getattr(row, c)) for row in result.counts.itertuples() for c in columns}


def test_a_frames_graph_has_no_encoder_and_says_it_reads_frames():
    graph = _graph()
    assert graph.input.encoder is None and graph.input.reads_supplied_frames("snn")
    assert "supplied frames" in graph.describe().splitlines()[0]
    vector = GraphBuilder((6,), encoding="frames", timesteps=2).linear(3).neuron().linear(2).readout().build()
    assert vector.input.shape == (6,)


def test_toframe_counts_replay_as_analog_events_and_match_the_dense_reference():
    samples = _samples()
    assert samples[0].dtype == np.int16 and samples[0].shape == (T, 2, 4, 5)
    assert max(s.max() for s in samples) > 1  # several events in one pixel and bin: analog, as they are
    tn = stack_frames(samples, "TN")
    sim, result, _ = replay_against_dense(_graph(), tn.astype(np.float64))  # spikes, logits, every count
    ours = asnn.simulate(_graph(), frames=tn, labels=np.arange(4) % 4)
    totals = result.counts.sum(axis=0)
    for (layer, t, column), value in _table(ours).items():
        assert value == totals[sim.row_index[layer], t, SLOT[column]], (layer, t, column)
    per = ours.summary["per_inference"]
    assert per["in_events_analog"] > 0 and ours.summary["encoding"] == "frames"
    assert ours.summary["per_inference"]["encoder_compares"] == 0
    # samples first ("NT", a stack along axis 0) is the same replay
    nt = asnn.simulate(_graph(), frames=stack_frames(samples, "NT"), layout="NT")
    assert _table(nt) == _table(ours)


def test_binary_frames_count_as_spikes_and_the_graph_is_retimed_to_the_frames():
    frames = (np.random.default_rng(3).random((5, 2, 2, 4, 5)) < 0.3).astype(np.uint8)  # T=5, the graph says 3
    result = asnn.simulate(_graph(), frames=frames)
    assert result.summary["timesteps"] == 5
    conv = result.counts[result.counts.layer == "conv1"]
    assert conv.in_events_binary.sum() == frames.sum() and conv.in_events_analog.sum() == 0


def test_save_and_load_keep_a_frames_graph(tmp_path):
    graph = _graph()
    asnn.save(graph, tmp_path / "g.asnn")
    loaded = asnn.load(tmp_path / "g.asnn")
    assert loaded.input.encoder is None and loaded.describe() == graph.describe()
    frames = stack_frames(_samples(2), "TN")
    assert _table(asnn.simulate(loaded, frames=frames)) == _table(asnn.simulate(graph, frames=frames))


def test_no_encoder_costs_no_encoder_energy_and_the_graph_exports_to_nir(tmp_path):
    pytest.importorskip("nir")
    graph = _graph(reset="hard")
    result = asnn.simulate(graph, frames=stack_frames(_samples(2), "TN"))
    summary = asnn.energy(result, hw=["loihi"]).summary
    assert summary["snn_encoder_pj"].tolist() == [0.0]
    asnn.export_nir(graph, tmp_path / "g.nir")
    back = asnn.import_nir(tmp_path / "g.nir")
    assert back.input.encoder is None and [n.kind for n in back.nodes] == [n.kind for n in graph.nodes]


@pytest.mark.parametrize(("frames", "message"), [
    (np.zeros((T, 2, 2, 5, 4)), r"frames must be \(T, N, 2, 4, 5\) for this graph; got \(3, 2, 2, 5, 4\)"),
    (np.zeros((T, 2, 4, 5)), r"frames must be \(T, N, 2, 4, 5\) for this graph; got \(3, 2, 4, 5\)"),
    (np.where(np.arange(T * 2 * 40).reshape(T, 2, 2, 4, 5) == 47, np.nan, 0.0),
     r"input frames hold nan at step 0, sample 1, position \(0, 1, 2\): frames must be finite"),
])
def test_bad_frames_are_one_line_naming_the_problem(frames, message):
    with pytest.raises(ValueError, match=message) as info:
        asnn.simulate(_graph(), frames=frames)
    assert "\n" not in str(info.value)


def test_a_graph_that_varies_in_time_refuses_other_timesteps():
    graph = _graph(leak=[0.9, 0.8, 0.7])
    with pytest.raises(GraphError, match="node 'lif1': leak changes over the 3 steps; the graph cannot run for 4"):
        asnn.simulate(graph, frames=np.zeros((4, 1, 2, 4, 5)))


def test_stacking_samples_of_different_lengths_says_how_to_bin_them():
    a, b = np.zeros((3, 2, 4, 5), np.int16), np.zeros((4, 2, 4, 5), np.int16)
    with pytest.raises(ValueError, match=r"sample 1 has 4 timesteps, sample 0 3: .*ToFrame\(n_time_bins=T\)"):
        stack_frames([a, b])
    with pytest.raises(ValueError, match=r"sample 1 has shape \(3, 2, 5, 4\), sample 0 \(3, 2, 4, 5\)"):
        stack_frames([a, np.zeros((3, 2, 5, 4))])
    with pytest.raises(ValueError, match="layout must be one of TN, NT"):
        stack_frames([a], "TC")
    assert stack_frames([a, a], "TN").shape == (3, 2, 2, 4, 5) and stack_frames([a, a], "NT").shape == (2, 3, 2, 4, 5)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"encoding": "frame"}, r"unknown encoding 'frame' \(did you mean 'frames'\?\)"),
    ({"encoding": "frames", "thresholds": "equal-mass"}, "encoding='frames' has none"),
    ({"shape": (6,), "encoding": "direct"}, r"a vector input \(6,\) reads supplied frames: build it with encoding='frames'"),
])
def test_builder_errors_point_to_frames(kwargs, message):
    shape = kwargs.pop("shape", (2, 4, 5))
    with pytest.raises(GraphError, match=message):
        GraphBuilder(shape, **kwargs)
    with pytest.raises(GraphError, match="this network reads supplied frames"):
        GraphBuilder((2, 4, 5), encoding="frames").conv(2, 3, hybrid_analog=True)


@pytest.mark.frameworks
def test_tonic_toframe_output_simulates():
    tonic = pytest.importorskip("tonic", reason="tonic is not installed (pip install tonic)")
    rng = np.random.default_rng(5)
    events = [_events(rng) for _ in range(3)]
    # tonic.transforms.ToFrame's own output, and our numpy copy of its binning, agree
    frames = [tonic.transforms.ToFrame(sensor_size=SENSOR, n_time_bins=T)(e) for e in events]
    for ours, theirs in zip((to_frame(e) for e in events), frames):
        assert theirs.dtype == np.int16
        np.testing.assert_array_equal(ours, theirs)
    tn = stack_frames(frames, "TN")
    sim, result, _ = replay_against_dense(_graph(), tn.astype(np.float64))
    ours = asnn.simulate(_graph(), frames=tn)
    totals = result.counts.sum(axis=0)
    assert all(v == totals[sim.row_index[layer], t, SLOT[c]] for (layer, t, c), v in _table(ours).items())
