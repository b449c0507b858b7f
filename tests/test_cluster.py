"""Replay on a Dask cluster: sharded tables equal a single-process replay's bit for bit
(LeNet, ResNet, supplied frames), a killed worker's shard is re-run and counted once,
``asnn compare --workers`` reuses the cache, and bad cluster requests fail in one line."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

from asnn_sim.app.cli import main
from asnn_sim.scale.cluster import ClusterError, ClusterSpec, connect, replay_sharded
from asnn_sim.sim.recording import record_spec
from asnn_sim.sim.replay import image_input, replay

TIMING = ("wall_seconds", "samples_per_second", "execution")


def assert_same_replay(single, sharded) -> None:
    """Every table, the step logits and the summary (but its clock and execution facts) equal."""
    for name in ("counts", "per_sample", "layers"):
        pd.testing.assert_frame_equal(getattr(single, name), getattr(sharded, name), check_exact=True)
    assert np.array_equal(single.step_logits, sharded.step_logits)  # bit for bit, float64
    strip = lambda s: {k: v for k, v in s.items() if k not in TIMING}  # noqa: E731
    assert strip(single.summary) == strip(sharded.summary)


@pytest.fixture(scope="module")
def client():
    # Compile (or load) the kernels here first, so the workers load them from Numba's cache
    # instead of compiling them twice more.
    from asnn_sim.interop.builder import GraphBuilder
    from asnn_sim.sim import simulate

    warm = GraphBuilder((1, 8, 8), encoding="rate", timesteps=2).conv(4, 3, padding=1).neuron().maxpool(2) \
        .flatten().linear(10).readout().build()
    simulate(warm, np.random.default_rng(0).random((2, 1, 8, 8)), progress=False)
    with connect(ClusterSpec(workers=2)) as c:
        yield c


@pytest.fixture(scope="module")
def lenet(trained_runs):
    from asnn_sim.training.data import load_dataset
    from asnn_sim.interop.export import export_run

    data = load_dataset("digits", None, split="test")
    return export_run(trained_runs["hybrid"]), data.x_test, data.y_test


@pytest.mark.cluster
@pytest.mark.slow
def test_sharded_lenet_replay_equals_one_process(client, lenet):
    graph, x, y = lenet
    single = replay(graph, image_input(graph, x), y, progress=False)
    sharded, report = replay_sharded(client, graph, image_input(graph, x), y, shards=7, progress=False, batch_size=32)
    assert len(report.shards) == 7 and report.workers == 2 and report.reruns == []
    assert sharded.summary["execution"] == {"engine": "dask", "workers": 2, "shards": 7, "reruns": []}
    assert single.summary["accuracy"] > 0.8 and single.per_sample["output_spikes"].sum() > 0
    assert_same_replay(single, sharded)


def _calibrated_resnet_graph():
    import torch

    from asnn_sim.graph.encoding import EncoderSpec
    from asnn_sim.interop.export import export_resnet
    from asnn_sim.graph.ir import Graph
    from asnn_sim.training.models import build_model
    from asnn_sim.training.models.calibrate import calibrate_rate

    torch.manual_seed(0)
    encoder = EncoderSpec("rate", 3, seed=5)
    model = build_model("resnet-small", input_shape=(3, 32, 32), n_classes=10, encoder=encoder, residual="sew")
    x = np.random.default_rng(1).random((8, 3, 32, 32))
    calibrate_rate(model, torch.from_numpy(encoder.encode(x, sample_ids=np.arange(8))).float(), target=0.15, iterations=4)
    return Graph(export_resnet(model.double().eval(), (3, 32, 32), 3), "snn", 3)


@pytest.mark.cluster
def test_sharded_resnet_replay_equals_one_process_spike_for_spike(client):
    graph = _calibrated_resnet_graph()
    x = np.random.default_rng(2).random((10, 3, 32, 32))  # CIFAR-shaped random images
    y = np.arange(10) % 10
    # Every neuron's spikes and membranes of the first 9 samples: the recording spans the
    # shards' boundaries and leaves the last shard out.
    record = record_spec(graph, True, membranes=True, samples=9)
    single = replay(graph, image_input(graph, x), y, progress=False, batch_size=4, record=record)
    sharded, _ = replay_sharded(client, graph, image_input(graph, x), y, shards=3, progress=False, batch_size=4,
                                record=record)
    assert_same_replay(single, sharded)
    assert single.per_sample.groupby("layer")["output_spikes"].sum().gt(0).sum() >= 5  # the layers fire
    ours, theirs = single.recording, sharded.recording
    assert ours.nodes == theirs.nodes and len(ours.nodes) >= 5 and theirs.samples.tolist() == list(range(9))
    for kind in ("spikes", "membranes_before_reset", "membranes_after_reset"):
        for name in ours.nodes:
            assert np.array_equal(getattr(ours, kind)[name], getattr(theirs, kind)[name]), (kind, name)


@pytest.mark.cluster
def test_cli_sharded_frames_replay_writes_the_same_files(client, tmp_path, capsys):
    """`asnn simulate --inputs frames.npy --workers 2`: the workers map the file themselves."""
    from asnn_sim.graph.ir import save_graph
    from asnn_sim.sim.shards import MappedArray, ReplayInput

    rng = np.random.default_rng(3)
    T, n = 3, 90
    graph = _frames_graph(rng, T)
    save_graph(graph, tmp_path / "m.asnn")
    frames = (rng.random((T, n, 12)) < 0.3).astype(np.float32)
    frames[1, 5, 0] = 0.5  # step 1 is analog over the dataset: its kind must come from all shards
    np.save(tmp_path / "f.npy", frames)
    mapped = np.load(tmp_path / "f.npy", mmap_mode="r")
    assert isinstance(ReplayInput(mapped, layout="TN").part(0, 10).data, MappedArray)  # by name, not by value

    common = ["simulate", str(tmp_path / "m.asnn"), "--inputs", str(tmp_path / "f.npy"), "--layout", "TN",
              "--batch-size", "16", "--quiet"]
    assert main(common + ["--out", str(tmp_path / "one")]) == 0
    address = client.scheduler.address
    assert main(common + ["--out", str(tmp_path / "many"), "--scheduler", address]) == 0
    out = capsys.readouterr().out
    assert "Dask workers; no shard had to be re-run" in out
    for table in ("counts", "per_sample", "layers"):
        assert (tmp_path / "one" / f"{table}.csv").read_bytes() == (tmp_path / "many" / f"{table}.csv").read_bytes()
    one, many = (json.loads((tmp_path / d / "summary.json").read_text()) for d in ("one", "many"))
    differ = set(TIMING) | {"run_id"}  # each replay has its own id
    assert {k: v for k, v in one.items() if k not in differ} == {k: v for k, v in many.items() if k not in differ}
    assert many["execution"]["engine"] == "dask"


def _frames_graph(rng, T):
    from asnn_sim.graph.ir import Graph, Input, Linear, Neuron, Readout

    steps = lambda v: np.full(T, v)  # noqa: E731
    return Graph([
        Input("input", (), shape=(12,)),
        Linear("fc1", ("input",), weight=rng.normal(0, 0.8, (1, 16, 12)), weight_set=np.zeros(T, np.int64)),
        Neuron("lif1", ("fc1",), leak=steps(0.9), gain=steps(1.0), threshold=np.array([0.5]), reset="hard",
               per_timestep=False),
        Linear("fc2", ("lif1",), weight=rng.normal(0, 0.8, (1, 4, 16)), weight_set=np.zeros(T, np.int64)),
        Readout("readout", ("fc2",)),
    ], "snn", T)


@pytest.mark.cluster
@pytest.mark.slow
def test_a_killed_worker_has_its_shard_rerun_and_counted_once(lenet):
    """SIGKILL a worker while it replays a shard: the scheduler re-runs the shard elsewhere
    (the nanny restarts the worker), the tables still equal a single-process replay, and
    the report names the re-run shard."""
    from asnn_sim.training.data import load_dataset

    graph, _, _ = lenet
    data = load_dataset("digits", None, split="train")  # 1,437 images: shards long enough to catch one mid-way
    x, y = data.x_train, data.y_train
    single = replay(graph, image_input(graph, x), y, progress=False)
    killed: dict = {}
    with connect(ClusterSpec(workers=2)) as c:
        pids = c.run(os.getpid)

        def kill_first_started(topic):
            def watch():
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    events = c.get_events(topic)
                    if events:
                        event = events[0][1]
                        killed.update(event)
                        os.kill(pids[event["worker"]], signal.SIGKILL)
                        return
                    time.sleep(0.01)

            threading.Thread(target=watch, daemon=True).start()

        sharded, report = replay_sharded(c, graph, image_input(graph, x), y, shards=6, progress=False,
                                         on_start=kill_first_started)
    assert killed, "no shard started"
    assert (killed["lo"], killed["hi"]) in report.reruns  # it started on the dead worker and ran again
    assert "re-ran after a worker was lost" in report.describe() and "counted exactly once" in report.describe()
    assert_same_replay(single, sharded)


@pytest.mark.cluster
@pytest.mark.slow
def test_workers_killed_again_and_again_end_in_one_line(lenet):
    """Every worker SIGKILLed the moment it is back: Dask gives up (FutureCancelledError or
    KilledWorker) and the replay ends in a ClusterError, which the command prints as one line."""
    from asnn_sim.training.data import load_dataset

    graph, _, _ = lenet
    x = load_dataset("digits", None, split="train").x_train
    stop = threading.Event()
    try:
        with pytest.raises(ClusterError, match="the Dask cluster lost its workers before the work was done .*run it again"):
            with connect(ClusterSpec(workers=2)) as c:

                def keep_killing(topic):
                    def go():
                        while not c.get_events(topic) and not stop.is_set():
                            time.sleep(0.01)
                        while not stop.is_set():
                            try:
                                for pid in c.run(os.getpid).values():
                                    os.kill(pid, signal.SIGKILL)
                            except Exception:  # a worker died between listing and killing: next round
                                pass
                            time.sleep(0.3)

                    threading.Thread(target=go, daemon=True).start()

                try:
                    replay_sharded(c, graph, image_input(graph, x), None, shards=6, progress=False,
                                   on_start=keep_killing)
                finally:
                    stop.set()  # before the cluster shuts down
    finally:
        stop.set()


@pytest.mark.cluster
@pytest.mark.slow
def test_compare_fans_out_over_workers_and_the_cache_is_shared(tmp_path, capsys):
    common = ["compare", "--encodings", "direct,temporal", "--no-ann", "--seeds", "0", "--epochs", "1", "--limit", "60",
              "--hw", "loihi", "--cache-dir", str(tmp_path / "cache"), "--quiet"]
    assert main(common + ["--out", str(tmp_path / "a"), "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 train/replay jobs on 2 Dask workers" in out and out.count("  training ") == 2
    assert main(common + ["--out", str(tmp_path / "b")]) == 0  # one process, same cache: nothing recomputed
    out = capsys.readouterr().out
    assert out.count("reusing trained run") == 2 and out.count("reusing replay") == 2 and "  training " not in out
    assert (tmp_path / "a" / "summary.md").read_text() == (tmp_path / "b" / "summary.md").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("argv, message", [
    (["--workers", "64"], "--workers 64 exceeds the"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "give one of them"),
    (["--scheduler", "tcp://127.0.0.1:1"], "no Dask scheduler answered"),
    (["--workers", "2", "--check-parity", "{run}"], "drop --workers/--scheduler"),
])
def test_bad_cluster_requests_fail_in_one_line(tmp_path, capsys, monkeypatch, trained_runs, argv, message):
    monkeypatch.setattr("asnn_sim.scale.cluster.CONNECT_TIMEOUT", "1s")
    from asnn_sim.interop.export import export_run
    from asnn_sim.graph.ir import save_graph

    save_graph(export_run(trained_runs["hybrid"]), tmp_path / "m.asnn")
    argv = [a.replace("{run}", str(trained_runs["hybrid"])) for a in argv]
    code = main(["simulate", str(tmp_path / "m.asnn"), "--out", str(tmp_path / "c"), "--quiet", *argv])
    err = capsys.readouterr().err
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "c").exists()  # nothing half-written


def test_cluster_spec_refuses_zero_workers():
    with pytest.raises(ClusterError, match="must be >= 1"):
        ClusterSpec(workers=0)
