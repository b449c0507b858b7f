"""Data-parallel training under torchrun: real 2-process gloo runs on the CPU.

The launches run ``python -m torch.distributed.run`` (torchrun) in a subprocess, with the
repository root on PYTHONPATH so the code under test is imported whether or not the
package is installed. Each launch costs a few seconds of start-up (three Python
processes import torch), so one DDP run is shared by the module (``ddp_run``).

The accuracy band (``FLOOR``, ``BAND``) comes from 1- and 2-process runs of ``CONFIG``
over seeds 0-7 (docs/ddp.md, "Measured"): every run scored at least 0.922, and a seed's
two runs differed by at most 0.031 (11 of 360 test images). The exact checks (the
evaluation, the resumed run) are the sharp ones; the band catches training that goes
wrong as a whole.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from asnn_sim.training import ddp
from asnn_sim.training.data import load_dataset
from asnn_sim.training.models.calibrate import calibrate_batchnorm
from asnn_sim.util.threads import cpu_count
from asnn_sim.training.train import RUN_FILES, TrainConfig, _shard, evaluate, load_run, make_model, model_inputs, train

ROOT = Path(__file__).resolve().parents[1]

# Rate coding, so that the evaluation's global sample ids (the rate streams' keys) matter.
CONFIG = dict(model="lenet", dataset="digits", encoding="rate", timesteps=4, epochs=2, batch_size=32, seed=0)
FLOOR = 0.90  # lowest accuracy measured: 0.922
BAND = 0.05   # largest 1-vs-2-process gap measured: 0.031
METRICS = ["epoch", "lr", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]  # all but seconds


def flags(config: dict) -> list[str]:
    return [a for k, v in config.items() for a in (f"--{k.replace('_', '-')}", str(v))]


def torchrun(*args: str, cwd: Path, nproc: int = 2) -> subprocess.CompletedProcess:
    """Launch ``args`` (``-m module ...`` or ``script ...``) in ``nproc`` processes, as a user would."""
    # The repository first on PYTHONPATH; no identity inherited from an outer launch.
    env = {k: v for k, v in os.environ.items() if k not in ddp.ENV_VARS}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc), "--standalone", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def train_cli(out: Path, *extra: str) -> subprocess.CompletedProcess:
    return torchrun("-m", "asnn_sim.cli", "train", *extra, "--quiet", "--out", str(out), cwd=out.parent)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("asnn: error:")]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    """(run directory, finished process) of a 2-process run of CONFIG."""
    out = tmp_path_factory.mktemp("ddp") / "run"
    done = train_cli(out, *flags(CONFIG))
    assert done.returncode == 0, done.stderr
    return out, done


# ---------------------------------------------------------------- the process facts


def test_world_without_torchrun_is_one_process():
    assert ddp.world_from_env({}) == ddp.SINGLE
    assert ddp.world_from_env({"WORLD_SIZE": "1", "RANK": "0"}) == ddp.SINGLE  # torchrun --nproc-per-node 1
    assert not ddp.SINGLE.distributed and ddp.SINGLE.is_main


def test_world_reads_torchrun_variables():
    env = {"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}
    world = ddp.world_from_env(env)
    assert (world.rank, world.world_size, world.local_rank, world.local_world_size) == (3, 4, 1, 2)
    assert world.distributed and not world.is_main and world.backend is None


@pytest.mark.parametrize(
    "env, message",
    [
        ({"WORLD_SIZE": "2", "RANK": "0", "LOCAL_WORLD_SIZE": "2"}, "LOCAL_RANK is not set"),
        ({"WORLD_SIZE": "2", "RANK": "x", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "2"}, "RANK must be an integer"),
        ({"WORLD_SIZE": "2", "RANK": "2", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "2"}, "RANK 2 is outside 0..1"),
        ({"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "2", "LOCAL_WORLD_SIZE": "2"}, "LOCAL_RANK 2 is outside"),
    ],
)
def test_world_refuses_a_broken_environment(env, message):
    with pytest.raises(ddp.DistributedError, match=message) as info:
        ddp.world_from_env(env)
    assert "\n" not in str(info.value)


def test_rank_threads_share_the_cores_unless_the_user_chose():
    # torchrun's default OMP_NUM_THREADS=1 (or none) -> an even share of the cores
    assert ddp.rank_threads({"OMP_NUM_THREADS": "1"}, cores=16, local_world_size=2) == 8
    assert ddp.rank_threads({}, cores=16, local_world_size=3) == 5
    assert ddp.rank_threads({"OMP_NUM_THREADS": "1"}, cores=2, local_world_size=4) == 1  # never 0
    assert ddp.rank_threads({"OMP_NUM_THREADS": "3"}, cores=16, local_world_size=2) is None  # the user's value stays


@pytest.mark.parametrize("world_size, n", [(2, 1437), (3, 100)])
def test_shards_are_disjoint_equal_and_reshuffled_each_epoch(world_size, n):
    worlds = [ddp.World(rank, world_size, rank, world_size) for rank in range(world_size)]
    shards = [_shard(n, w, seed=0, epoch=0) for w in worlds]
    per_rank = -(-n // world_size)
    assert all(len(s) == per_rank for s in shards)  # same number of steps on every rank
    flat = [int(i) for s in shards for i in s]
    assert set(flat) == set(range(n))  # every sample, each on one rank ...
    assert len(flat) - n < world_size  # ... but a few repeated to even out the shards
    assert all((a == b).all() for a, b in zip(shards, [_shard(n, w, seed=0, epoch=0) for w in worlds]))
    assert not (_shard(n, worlds[0], seed=0, epoch=1) == shards[0]).all()


def test_sharded_evaluation_adds_up_to_the_whole(monkeypatch):
    # Each rank's share, with the reduction left out, must add up to one process's
    # result; rate coding makes the spikes depend on the global sample index.
    config = TrainConfig(**CONFIG)
    data = load_dataset(config.dataset, limit=config.limit)
    torch.manual_seed(0)
    model = make_model(config, data.input_shape, data.n_classes)
    cpu = torch.device("cpu")
    # Untrained BatchNorm leaves the network silent (outputs blind to the input): make it fire.
    calibrate_batchnorm(model, model_inputs(model, data.x_test[:64], cpu, sample_ids=np.arange(64)), bias=0.5)
    whole_loss, whole_acc = evaluate(model, data.x_test, data.y_test, cpu, batch_size=100)
    monkeypatch.setattr(ddp, "all_reduce_sum", lambda world, values: values)
    parts = [evaluate(model, data.x_test, data.y_test, cpu, batch_size=100, world=ddp.World(r, 2, r, 2)) for r in (0, 1)]
    n = len(data.y_test)
    assert round(sum(acc for _, acc in parts) * n) == round(whole_acc * n)
    assert sum(loss for loss, _ in parts) == pytest.approx(whole_loss, rel=1e-12)


# ---------------------------------------------------------------- a real 2-process run


@pytest.mark.cluster
@pytest.mark.slow
def test_ddp_run_writes_a_plain_run_directory(ddp_run, tmp_path):
    out, done = ddp_run
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)  # no temporary files left
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["backend"] == "gloo" and summary["device"] == "cpu"
    # An even share of the cores, unless the user set OMP_NUM_THREADS (other than torchrun's 1).
    expected = ddp.rank_threads(os.environ, cpu_count(), 2) or int(os.environ["OMP_NUM_THREADS"])
    assert summary["torch_threads"] == expected
    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics["epoch"]) == [1, 2]
    assert metrics["test_accuracy"].iloc[-1] == summary["test_accuracy"]
    # Rank 0 reports once; the other rank prints nothing of its own.
    assert done.stdout.count("test accuracy") == 1 and "x 2 processes (gloo)" in done.stdout
    state = torch.load(out / "model.pt", weights_only=True)
    assert not any(k.startswith("module.") for k in state)  # no DDP wrapper in the keys
    config, model = load_run(out)  # a plain model, as for a 1-process run
    assert config == TrainConfig(**CONFIG)
    # The export reads it as any other run.
    from asnn_sim.app.cli import main

    assert main(["export", str(out), "-o", str(tmp_path / "model.asnn")]) == 0


@pytest.mark.cluster
def test_ddp_evaluation_equals_one_process_evaluation(ddp_run):
    out, _ = ddp_run
    summary = json.loads((out / "summary.json").read_text())
    config, model = load_run(out)
    data = load_dataset(config.dataset, limit=config.limit)
    loss, accuracy = evaluate(model, data.x_test, data.y_test, torch.device("cpu"))
    assert accuracy == summary["test_accuracy"]
    # The same batches with the same sample ids: the loss agrees to rounding (exactly, here).
    assert loss == pytest.approx(summary["test_loss"], rel=1e-6)


@pytest.mark.cluster
@pytest.mark.slow
def test_ddp_accuracy_is_in_the_band_of_one_process(ddp_run, tmp_path):
    out, _ = ddp_run
    two = json.loads((out / "summary.json").read_text())["test_accuracy"]
    # One torch thread, as the band was measured (and as each rank has on 2 cores; two
    # threads on two busy cores can be several times slower).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one = train(TrainConfig(**CONFIG), tmp_path / "single", device="cpu", progress=False)
    finally:
        torch.set_num_threads(threads)
    assert one["world_size"] == 1 and one["backend"] is None
    assert one["test_accuracy"] >= FLOOR and two >= FLOOR
    assert abs(one["test_accuracy"] - two) <= BAND, (one["test_accuracy"], two)


STOP_AFTER_FIRST_EPOCH = """
import json, sys
from asnn_sim.training import ddp
from asnn_sim.training.train import TrainConfig, train

def stop(row):
    if row["epoch"] == 1:
        raise KeyboardInterrupt  # as Ctrl-C would, on every rank, once the checkpoint is saved

try:
    train(TrainConfig(**json.loads(sys.argv[1])), sys.argv[2], device="cpu", progress=False, on_epoch=stop,
          world=ddp.world_from_env())
except KeyboardInterrupt:
    print("stopped")
"""


@pytest.mark.cluster
@pytest.mark.slow
def test_resume_under_torchrun_continues_exactly(ddp_run, tmp_path):
    full, _ = ddp_run
    script = tmp_path / "stop_after_first_epoch.py"
    script.write_text(STOP_AFTER_FIRST_EPOCH)
    cut = tmp_path / "cut"
    done = torchrun(str(script), json.dumps(CONFIG), str(cut), cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.count("stopped") == 2, done.stderr
    assert sorted(p.name for p in cut.iterdir()) == ["checkpoint.pt", "config.json", "metrics.csv"]
    assert torch.load(cut / "checkpoint.pt", weights_only=True)["epoch"] == 1

    done = train_cli(cut, "--resume")
    assert done.returncode == 0, done.stderr
    assert "after 2 epochs" in done.stdout
    # Same world size and machine: the interrupted run ends exactly where the uninterrupted one did.
    a = pd.read_csv(full / "metrics.csv")[METRICS]
    b = pd.read_csv(cut / "metrics.csv")[METRICS]
    pd.testing.assert_frame_equal(a, b)
    x = torch.load(full / "model.pt", weights_only=True)
    y = torch.load(cut / "model.pt", weights_only=True)
    assert x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)
    assert json.loads((cut / "summary.json").read_text())["world_size"] == 2


@pytest.mark.cluster
@pytest.mark.slow
def test_batch_size_that_does_not_split_is_one_error_and_leaves_nothing(tmp_path):
    out = tmp_path / "run"
    done = train_cli(out, *flags({**CONFIG, "batch_size": 33}))
    assert done.returncode == 1
    lines = error_lines(done.stderr)
    assert len(lines) == 1, done.stderr  # printed once, by rank 0 (torchrun adds its own failure report)
    assert "--batch-size 33" in lines[0] and "2 processes" in lines[0]
    assert not out.exists()
