"""Recording spikes and membranes through ``simulate(record=...)`` and ``asnn simulate --record``.

The recording must equal what the engine itself recorded batch by batch (whatever the
batch size, the precision or the subset of samples), the dense PyTorch reference in
float64 (``tests/dense_check.py`` checks that for every graph it replays), and a sharded
replay's (``tests/test_cluster.py``); a request too large is refused before any work.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import asnn_sim.api as asnn
from asnn_sim.cli import main
from asnn_sim.graph.ir import Graph, Input, Linear, Neuron, Readout
from asnn_sim.sim import Recording, Simulator
from asnn_sim.sim.recording import RecordingTooLarge, record_spec

from dense_check import assert_reset_rule


@pytest.fixture(scope="module")
def graph():
    # Two spiking layers of different shapes (a conv map and a vector), soft and hard resets.
    return (asnn.GraphBuilder((1, 8, 8), encoding="rate", timesteps=3, seed=0)
            .conv(4, 3, padding=1).neuron(leak=0.9, threshold=0.3)
            .flatten().linear(12).neuron(threshold=0.2, reset="hard")
            .linear(10).readout().build())


@pytest.fixture(scope="module")
def images():
    return asnn.load_images("digits", limit=11)


def test_the_recording_equals_the_engines_own_at_any_batch_size(graph, images):
    x, y = images
    whole = asnn.simulate(graph, x, y, record=True, record_membranes=True, batch_size=11)
    split = asnn.simulate(graph, x, y, record=True, record_membranes=True, batch_size=4)
    frames = graph_frames(graph, x)
    engine = Simulator(graph, "float64", batch_size=11).run_batch(frames, record=True, membranes=True)
    rec = whole.recording
    assert rec.nodes == ["lif1", "lif2"] and rec.samples.tolist() == list(range(11))
    assert rec.spikes["lif1"].shape == (3, 11, 4, 8, 8) and rec.spikes["lif2"].shape == (3, 11, 12)
    for name in rec.nodes:
        for kind in ("spikes", "membranes_before_reset", "membranes_after_reset"):
            ours = getattr(rec, kind)[name]
            assert np.array_equal(ours, getattr(engine, kind)[name]), (name, kind)
            assert np.array_equal(ours, getattr(split.recording, kind)[name]), (name, kind)
        assert_reset_rule(graph.node(name), rec.spikes[name], rec.membranes_before_reset[name], rec.membranes_after_reset[name])
    assert rec.spikes["lif1"].sum() > 0 and rec.spikes["lif2"].sum() > 0
    # the recorded spikes are the counted ones
    assert int(rec.spikes["lif1"].sum()) == int(whole.counts.query("layer == 'lif1'")["output_spikes"].sum())
    assert whole.summary["recording"] == {"nodes": ["lif1", "lif2"], "samples": 11, "membranes": True, "bytes": rec.nbytes}


def graph_frames(graph, x):
    from asnn_sim.graph.encoding import EncoderSpec

    return EncoderSpec.from_dict(graph.input.encoder).encode(x, sample_ids=np.arange(len(x)))


def test_a_subset_of_nodes_and_samples_in_float32(graph, images):
    x, y = images
    full = asnn.simulate(graph, x, y, precision="float32", record=True, record_membranes=True, batch_size=4)
    part = asnn.simulate(graph, x, y, precision="float32", record="lif2", record_membranes=True, record_samples=6,
                         batch_size=4)
    assert part.recording.nodes == ["lif2"] and part.recording.samples.tolist() == list(range(6))
    assert part.recording.membranes_after_reset["lif2"].dtype == np.float32
    for kind in ("spikes", "membranes_before_reset", "membranes_after_reset"):
        assert np.array_equal(getattr(part.recording, kind)["lif2"], getattr(full.recording, kind)["lif2"][:, :6])
    # the counts cover every sample whatever is recorded
    assert part.counts.equals(full.counts)
    assert asnn.simulate(graph, x, y, precision="float32").recording is None


def test_firing_rates_as_tables_agree_with_the_summary_and_the_recording(graph, images):
    x, y = images
    result = asnn.simulate(graph, x, y, record=True)
    per_layer = result.firing_rates(per_step=False).set_index("layer")["firing_rate"]
    assert per_layer.to_dict() == pytest.approx(result.summary["firing_rate"], rel=1e-12)
    per_step = result.firing_rates()
    recorded = result.recording.firing_rates()
    assert list(per_step["layer"]) == list(recorded["layer"]) and list(per_step["t"]) == list(recorded["t"])
    np.testing.assert_allclose(per_step["firing_rate"], recorded["firing_rate"], rtol=1e-12)
    assert (per_step["output_spikes"].to_numpy() == recorded["spikes"].to_numpy()).all()


def test_the_file_round_trips_and_numpy_reads_it_alone(graph, images, tmp_path):
    x, y = images
    result = asnn.simulate(graph, x, y, record=["lif1", "lif2"], record_membranes=True, record_samples=3,
                           out=tmp_path / "counts")
    path = tmp_path / "counts" / "recording.npz"
    back = Recording.load(path)
    assert back.nodes == result.recording.nodes and back.precision == "float64"
    for kind in ("spikes", "membranes_before_reset", "membranes_after_reset"):
        for name in back.nodes:
            assert np.array_equal(getattr(back, kind)[name], getattr(result.recording, kind)[name])
    with np.load(path) as data:  # the documented keys, readable without this package
        assert sorted(data.files) == sorted(["meta", "samples"] + [f"{k}/{n}" for k in
                                            ("spikes", "membranes_before_reset", "membranes_after_reset") for n in ("lif1", "lif2")])
        assert json.loads(str(data["meta"]))["layout"].startswith("(T, N")
    assert json.loads((tmp_path / "counts" / "summary.json").read_text())["recording"]["samples"] == 3
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable recording"):
        Recording.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="not a recording written by asnn-sim"):
        Recording.load(tmp_path / "other.npz")


def test_a_retimed_frames_graph_records_the_frames_steps():
    rng = np.random.default_rng(0)
    T = 2
    steps = lambda v: np.full(T, v)  # noqa: E731
    graph = Graph([
        Input("input", (), shape=(6,)),
        Linear("fc1", ("input",), weight=rng.normal(0, 1, (1, 5, 6)), weight_set=np.zeros(T, np.int64)),
        Neuron("lif1", ("fc1",), leak=steps(0.9), gain=steps(1.0), threshold=np.array([0.5]), per_timestep=False),
        Linear("fc2", ("lif1",), weight=rng.normal(0, 1, (1, 3, 5)), weight_set=np.zeros(T, np.int64)),
        Readout("readout", ("fc2",)),
    ], "snn", T)
    frames = (rng.random((7, 4, 6)) < 0.4).astype(np.float32)  # T=7, N=4: the graph is re-timed
    result = asnn.simulate(graph, frames=frames, record=True, record_membranes=True)
    assert result.recording.spikes["lif1"].shape == (7, 4, 5)
    assert result.recording.membranes_before_reset["lif1"].shape == (7, 4, 5)


def test_a_recording_too_large_is_refused_before_any_work(graph, images, tmp_path):
    x, y = images
    with pytest.raises(RecordingTooLarge, match=r"would take 150\.3 kB, above the 1e-05 GB limit: record fewer samples"):
        asnn.simulate(graph, x, y, record=True, record_membranes=True, record_limit_gb=1e-5, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    spec = record_spec(graph, True, membranes=True)
    # T x N x (4 x 8 x 8 + 12 neurons) x (1 spike byte + 2 membranes of 8 bytes) = 150,348 bytes
    assert spec.nbytes(graph, 11, "float64") == 3 * 11 * (4 * 64 + 12) * (1 + 16)
    assert spec.nbytes(graph, 11, "float32") == 3 * 11 * (4 * 64 + 12) * (1 + 8)
    assert record_spec(graph, "lif2", samples=5).nbytes(graph, 11, "float64") == 3 * 5 * 12


@pytest.mark.parametrize("kwargs, message", [
    ({"record": ["conv1"]}, "node 'conv1' is a conv2d, not a spiking neuron node: record one of lif1, lif2"),
    ({"record": "lfi1"}, r"no spiking node 'lfi1' in this graph \(did you mean 'lif1'\?\)"),
    ({"record_membranes": True}, "record_membranes and record_samples need nodes to record"),
    ({"record": True, "record_samples": 0}, "record_samples must be a whole number of samples >= 1"),
    ({"record": True, "record_limit_gb": -1}, "record_limit_gb must be a positive number"),
])
def test_bad_recording_requests_fail_in_one_line(graph, images, kwargs, message):
    x, y = images
    with pytest.raises(ValueError, match=message):
        asnn.simulate(graph, x, y, **kwargs)


def test_an_ann_has_nothing_to_record():
    graph = asnn.GraphBuilder((1, 8, 8), ann=True).flatten().linear(10).readout().build()
    with pytest.raises(ValueError, match="no spiking neurons to record"):
        asnn.simulate(graph, np.zeros((1, 1, 8, 8)), record=True)


def test_cli_records_into_the_counts_folder(graph, tmp_path, capsys):
    path = tmp_path / "g.asnn"
    asnn.save(graph, path)
    main(["simulate", str(path), "--dataset", "digits", "--limit", "9", "--record", "lif2, lif1", "--record-membranes",
          "--record-samples", "4", "--quiet", "--out", str(tmp_path / "c")])
    out = capsys.readouterr().out
    assert "recorded Recording(2 node(s), 4 sample(s), T=3 with membranes" in out
    rec = Recording.load(tmp_path / "c" / "recording.npz")
    assert rec.nodes == ["lif1", "lif2"] and rec.spikes["lif1"].shape == (3, 4, 4, 8, 8)
    with zipfile.ZipFile(tmp_path / "c" / "recording.npz") as z:
        assert "spikes/lif2.npy" in z.namelist()
    code = main(["simulate", str(path), "--dataset", "digits", "--limit", "9", "--record", "all", "--record-limit-gb", "1e-9",
                 "--quiet", "--out", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert code == 1 and "above the 1e-09 GB limit" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "d").exists()
    code = main(["simulate", str(path), "--dataset", "digits", "--record-samples", "3", "--out", str(tmp_path / "e")])
    assert code == 1 and "--record-samples go with --record" in capsys.readouterr().err
