"""Every command's --out: one job at a time, whole or absent, a dead run's leftovers no obstacle.

The mechanism is asnn_sim/util/folders.py (tested under kill -9 in tests/test_folders.py);
these tests check that each command goes through it.
"""

from __future__ import annotations

import errno
import os

import pytest

from asnn_sim.app.cli import main
from asnn_sim.util.folders import folder_lock


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("asnn: error: ") and "Traceback" not in err[0], err
    return err[0]


@pytest.fixture(scope="module")
def graph_file(tmp_path_factory):
    import asnn_sim.api as asnn

    net = asnn.GraphBuilder((1, 8, 8), encoding="hybrid", timesteps=2, seed=0)
    net.conv(4, 3).neuron().flatten().linear(10).readout()
    path = tmp_path_factory.mktemp("graph") / "tiny.asnn"
    asnn.save(net.build(), path)
    return path


@pytest.fixture(scope="module")
def counts_dir(graph_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("counts") / "c"
    assert main(["simulate", str(graph_file), "--dataset", "digits", "--limit", "8", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.mark.parametrize("command", ["simulate", "energy", "compare", "train"])
def test_a_folder_in_use_is_refused_naming_the_job_before_any_work(command, graph_file, counts_dir, tmp_path, capsys):
    out = tmp_path / "out"
    argv = {
        "simulate": ["simulate", str(graph_file), "--dataset", "digits", "--limit", "8", "--quiet"],
        "energy": ["energy", str(counts_dir), "--hw", "loihi"],
        "compare": ["compare", "--encodings", "hybrid", "--epochs", "1", "--limit", "8", "--seeds", "0",
                    "--hw", "loihi", "--cache-dir", str(tmp_path / "cache"), "--quiet"],
        "train": ["train", "--epochs", "1", "--limit", "40", "--quiet"],
    }[command]
    capsys.readouterr()
    with folder_lock(out.absolute()):
        assert main(argv + ["--out", str(out)]) == 1
    line = _err_line(capsys)
    assert f"being written by pid {os.getpid()} on " in line and "choose another folder" in line
    assert not out.exists() and not (tmp_path / "cache").exists()  # nothing trained, nothing written


def test_energy_that_cannot_write_keeps_the_earlier_folder_whole(counts_dir, tmp_path, capsys, monkeypatch):
    import pandas as pd

    out = tmp_path / "energy"
    assert main(["energy", str(counts_dir), "--hw", "loihi", "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    assert main(["energy", str(counts_dir), "--hw", "truenorth", "--out", str(out), "--force"]) == 1
    assert "No space left on device" in _err_line(capsys)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind
    assert main(["energy", str(counts_dir), "--hw", "truenorth", "--out", str(tmp_path / "new")]) == 1
    _err_line(capsys)
    assert not (tmp_path / "new").exists()


def test_a_train_killed_before_its_first_epoch_is_rerun_without_force(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("{}")  # what a run killed in its first epoch leaves
    (out / ".checkpoint.pt.k3j2.tmp").write_bytes(b"half a checkpoint")
    assert main(["train", "--out", str(out), "--epochs", "1", "--limit", "40", "--timesteps", "2", "--quiet"]) == 0
    assert (out / "summary.json").is_file() and not list(out.glob(".*.tmp"))
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--epochs", "1", "--limit", "40", "--quiet"]) == 1  # a finished run is not
    assert "--resume" in _err_line(capsys)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text("{}")
    (mine / "notes.txt").write_text("mine")  # a folder with the user's files is never taken over
    assert main(["train", "--out", str(mine), "--epochs", "1", "--limit", "40", "--quiet"]) == 1
    assert "already exists" in _err_line(capsys)


@pytest.mark.slow
def test_a_report_that_fails_keeps_the_earlier_one(tmp_path, capsys, monkeypatch):
    from asnn_sim.app import plots

    argv = ["compare", "--encodings", "hybrid", "--epochs", "1", "--limit", "8", "--seeds", "0", "--no-ann",
            "--hw", "loihi", "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "report"), "--quiet"]
    assert main(argv) == 0
    summary = (tmp_path / "report" / "summary.md").read_text()

    def fail(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(plots, "plot_spike_raster", fail)
    capsys.readouterr()
    assert main(argv + ["--force"]) == 1
    assert "No space left" in _err_line(capsys)
    assert (tmp_path / "report" / "summary.md").read_text() == summary
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == ["figures", "report.json", "summary.md", "tables"]


def test_a_counts_folder_mixed_from_two_replays_is_refused(graph_file, tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    for out, limit in ((a, "8"), (b, "12")):
        assert main(["simulate", str(graph_file), "--dataset", "digits", "--limit", limit, "--out", str(out), "--quiet"]) == 0
    assert main(["energy", str(a), "--hw", "loihi"]) == 0
    (a / "summary.json").write_bytes((b / "summary.json").read_bytes())  # the mix two writers used to make
    capsys.readouterr()
    assert main(["energy", str(a), "--hw", "loihi"]) == 1
    assert "summary.json does not match manifest.json (files of different replays" in _err_line(capsys)
    (b / "counts.parquet").unlink()
    assert main(["energy", str(b), "--hw", "loihi"]) == 1
    assert "counts.parquet is listed in manifest.json but missing (a partial folder)" in _err_line(capsys)


def _kill_at_random(argv: list[str], delays: list[float]) -> list[int]:
    """Start ``asnn ARGV`` once per delay and SIGKILL it after that many seconds; return codes."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    codes = []
    for delay in delays:
        proc = subprocess.Popen([sys.executable, "-m", "asnn_sim.cli", *argv], cwd=root, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(root)})
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        codes.append(proc.wait())
    return codes


@pytest.mark.slow
def test_simulate_killed_at_random_instants_leaves_no_folder_or_a_whole_one(graph_file, tmp_path, capsys):
    import random

    from hw_models import load_counts

    out = tmp_path / "counts"
    rng = random.Random(7)
    argv = ["simulate", str(graph_file), "--dataset", "digits", "--out", str(out), "--quiet", "--force"]
    for _ in _kill_at_random(argv, [rng.uniform(0.5, 3.0) for _ in range(3)]):
        if out.exists():
            load_counts(out)  # whole: the manifest matches every file
    capsys.readouterr()
    assert main(argv) == 0 and load_counts(out).n_samples == 360  # the next job is never blocked
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counts"]  # nothing of the dead jobs is left


@pytest.mark.slow
def test_train_killed_at_random_instants_resumes_or_starts_again(tmp_path, capsys):
    import random

    out = tmp_path / "run"
    rng = random.Random(11)
    argv = ["train", "--epochs", "3", "--limit", "120", "--timesteps", "2", "--quiet", "--out", str(out)]
    _kill_at_random(argv + ["--force"], [rng.uniform(2.0, 7.0) for _ in range(1)])
    capsys.readouterr()
    if (out / "summary.json").is_file():
        outcome = "finished"
    elif (out / "checkpoint.pt").is_file():
        assert main(["train", "--out", str(out), "--resume", "--quiet"]) == 0
        outcome = "resumed"
    else:  # killed before its first epoch: a plain rerun takes the folder over
        assert main(argv) == 0
        outcome = "rerun"
    assert (out / "summary.json").is_file() and not list(out.glob(".*.tmp")), outcome
    assert not [p for p in tmp_path.iterdir() if p.name != "run"]
