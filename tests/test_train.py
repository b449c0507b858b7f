"""Training loop, run directories, resume, determinism and the `asnn train` command."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import torch

from asnn_sim.app.cli import main
from asnn_sim.training.data import load_dataset
from asnn_sim.training.train import TrainConfig, TrainError, evaluate, load_run, train

QUICK = dict(dataset="digits", limit=240, epochs=2, batch_size=64, timesteps=3)
METRICS = ["epoch", "lr", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]


def test_run_directory_contents(tmp_path):
    summary = train(TrainConfig(encoding="hybrid", **QUICK), tmp_path / "run", device="cpu", progress=False)
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} == {"config.json", "model.pt", "metrics.csv", "summary.json", "checkpoint.pt"}
    assert {"test_accuracy", "train_seconds", "device"} <= set(summary)
    assert summary["device"] == "cpu"
    assert json.loads((run / "summary.json").read_text()) == summary
    metrics = pd.read_csv(run / "metrics.csv")
    assert list(metrics["epoch"]) == [1, 2] and set(METRICS) <= set(metrics.columns)
    meta = json.loads((run / "config.json").read_text())
    assert meta["config"]["encoding"] == "hybrid" and meta["input_shape"] == [1, 8, 8] and meta["n_classes"] == 10
    assert meta["encoder"] == {"name": "hybrid", "timesteps": 3, "thresholds": "uniform", "legacy": False, "seed": 0}
    # model.pt is a plain state_dict that loads without pickle code execution.
    state = torch.load(run / "model.pt", weights_only=True)
    assert "conv1_analog.weight" in state
    # Rebuilding the model from the run reproduces the reported accuracy.
    config, model = load_run(run)
    data = load_dataset("digits", limit=QUICK["limit"])
    _, acc = evaluate(model, data.x_test, data.y_test, torch.device("cpu"))
    assert acc == pytest.approx(summary["test_accuracy"])


@pytest.mark.parametrize("extra", [dict(encoding="rate", mixup=True, augment=True), dict(ann=True)])
def test_same_seed_gives_same_metrics(tmp_path, extra):
    config = TrainConfig(**{**QUICK, **extra})
    train(config, tmp_path / "a", device="cpu", progress=False)
    train(config, tmp_path / "b", device="cpu", progress=False)
    a = pd.read_csv(tmp_path / "a" / "metrics.csv")[METRICS]
    b = pd.read_csv(tmp_path / "b" / "metrics.csv")[METRICS]
    pd.testing.assert_frame_equal(a, b)
    # Same seed, same machine and thread count: the weight files are byte for byte equal,
    # so a checksum tells two runs apart (docs/reproducibility.md).
    assert (tmp_path / "a" / "model.pt").read_bytes() == (tmp_path / "b" / "model.pt").read_bytes()


def test_resume_continues_exactly(tmp_path):
    config = TrainConfig(encoding="temporal", mixup=True, **{**QUICK, "epochs": 3})
    train(config, tmp_path / "full", device="cpu", progress=False)

    def stop_after_two(row):
        if row["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "cut", device="cpu", progress=False, on_epoch=stop_after_two)
    assert not (tmp_path / "cut" / "model.pt").exists()
    assert len(pd.read_csv(tmp_path / "cut" / "metrics.csv")) == 2
    train(None, tmp_path / "cut", device="cpu", progress=False, resume=True)

    full = pd.read_csv(tmp_path / "full" / "metrics.csv")[METRICS]
    cut = pd.read_csv(tmp_path / "cut" / "metrics.csv")[METRICS]
    pd.testing.assert_frame_equal(full, cut)
    a = torch.load(tmp_path / "full" / "model.pt", weights_only=True)
    b = torch.load(tmp_path / "cut" / "model.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_refuses_a_changed_configuration(tmp_path):
    config = TrainConfig(**{**QUICK, "epochs": 1})
    train(config, tmp_path / "run", device="cpu", progress=False)
    with pytest.raises(TrainError, match="timesteps differs"):
        train(TrainConfig(**{**QUICK, "epochs": 1, "timesteps": 5}), tmp_path / "run", resume=True, progress=False)


TINY = dict(dataset="digits", limit=120, batch_size=64, timesteps=2, encoding="direct")


@pytest.mark.slow
def test_resume_extends_a_finished_run(tmp_path):
    """A 1-epoch run taken on to 2 is the 2-epoch run: the 2-epoch schedule's first step has the same rate."""
    out = tmp_path / "run"
    train(TrainConfig(**TINY, epochs=1), out, device="cpu", progress=False)
    summary = train(None, out, device="cpu", progress=False, resume=True, epochs=2)
    assert summary["epochs"] == 2 == json.loads((out / "summary.json").read_text())["epochs"]
    assert json.loads((out / "config.json").read_text())["config"]["epochs"] == 2
    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics["epoch"]) == [1, 2]
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["epoch"] == 2 and len(ckpt["metrics"]) == 2 and ckpt["scheduler"]["T_max"] == 2
    model = torch.load(out / "model.pt", weights_only=True)
    assert all(torch.equal(model[k], ckpt["model"][k]) for k in model)

    train(TrainConfig(**TINY, epochs=2), tmp_path / "straight", device="cpu", progress=False)
    pd.testing.assert_frame_equal(metrics[METRICS], pd.read_csv(tmp_path / "straight" / "metrics.csv")[METRICS])
    assert (out / "model.pt").read_bytes() == (tmp_path / "straight" / "model.pt").read_bytes()


@pytest.mark.slow
def test_an_interrupted_extension_is_an_unfinished_run_of_the_new_length(tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(**TINY, epochs=1), out, device="cpu", progress=False)

    def stop(row):
        if row["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(None, out, device="cpu", progress=False, resume=True, epochs=3, on_epoch=stop)
    # Not a finished 1-epoch run any more: no model.pt or summary.json beside a config of 3 epochs.
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == {"config.json", "metrics.csv", "checkpoint.pt"}
    assert json.loads((out / "config.json").read_text())["config"]["epochs"] == 3
    train(None, out, device="cpu", progress=False, resume=True)
    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics["epoch"]) == [1, 2, 3]
    assert metrics["lr"].iloc[1] == pytest.approx(5e-3 * (1 + math.cos(math.pi / 3)) / 2)  # the 3-epoch cosine from epoch 1
    assert json.loads((out / "summary.json").read_text())["epochs"] == 3


def test_resume_refuses_bad_epochs_other_changes_and_epochs_without_resume(tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(**TINY, epochs=1), out, device="cpu", progress=False)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(TrainError, match="--epochs must be a positive integer"):
        train(TrainConfig(**TINY, epochs=1), out, resume=True, epochs=0, progress=False)
    with pytest.raises(TrainError, match="only --epochs may change"):
        train(TrainConfig(**{**TINY, "timesteps": 3}, epochs=1), out, resume=True, epochs=2, progress=False)
    with pytest.raises(TrainError, match="resume=True"):
        train(TrainConfig(**TINY, epochs=1), tmp_path / "new", epochs=2, progress=False)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before  # nothing touched


def test_existing_out_needs_resume_or_force(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(TrainError, match="already exists"):
        train(TrainConfig(**QUICK), out, progress=False)
    with pytest.raises(TrainError, match="no checkpoint.pt"):
        train(None, out, resume=True, progress=False)
    train(TrainConfig(**{**QUICK, "epochs": 1}), out, force=True, device="cpu", progress=False)
    assert (out / "notes.txt").read_text() == "mine"  # --force removes only run files


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(encoding="morse"), "unknown encoding"),
        (dict(encoding="hybrid", timesteps=1), "timesteps must be >= 2"),
        (dict(timesteps=0), "--timesteps must be between"),
        (dict(dataset="imagenet"), "unknown dataset"),
        (dict(lr=-1.0), "--lr"),
        (dict(epochs=0), "--epochs"),
    ],
)
def test_bad_configs_raise_one_line_errors(kwargs, message):
    with pytest.raises(TrainError, match=message) as info:
        TrainConfig(**kwargs)
    assert "\n" not in str(info.value)


def test_cuda_request_without_gpu_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # also on a machine with a GPU
    with pytest.raises(TrainError, match="no CUDA GPU"):
        train(TrainConfig(**QUICK), tmp_path / "run", device="cuda", progress=False)


def test_cli_trains_and_reports(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--encoding", "direct", "-T", "2", "--epochs", "1", "--limit", "120", "--no-asnn", "--quiet", "--out", str(out)])
    assert code == 0
    assert "test accuracy" in capsys.readouterr().out
    meta = json.loads((out / "config.json").read_text())["config"]
    assert meta["asnn"] is False and meta["timesteps"] == 2 and meta["encoding"] == "direct"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--encoding", "morse"], "invalid choice"),
        (["train", "--timesteps", "0"], "must be >= 1"),
        (["train", "--encoding", "hybrid", "-T", "1"], "timesteps must be >= 2"),
        (["train", "--lr", "fast"], "expected a number"),
        (["train", "--dataset", "mnist"], "give --data-dir or set ASNN_DATA_DIR"),
    ],
)
def test_cli_rejects_bad_flags_with_one_line(tmp_path, capsys, argv, message, monkeypatch):
    monkeypatch.delenv("ASNN_DATA_DIR", raising=False)
    code = main(argv + ["--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run" / "model.pt").exists()


def test_cli_resume_takes_epochs_and_refuses_any_other_change(tmp_path, capsys):
    out = tmp_path / "run"
    base = ["train", "--out", str(out), "--quiet"]
    assert main(base + ["--encoding", "direct", "-T", "2", "--epochs", "1", "--limit", "120"]) == 0
    capsys.readouterr()
    assert main(base + ["--resume", "-T", "3"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "only --epochs may change" in err and "timesteps differs" in err
    assert main(base + ["--resume", "--epochs", "2"]) == 0
    assert "after 2 epochs" in capsys.readouterr().out
    assert list(pd.read_csv(out / "metrics.csv")["epoch"]) == [1, 2]
    assert json.loads((out / "summary.json").read_text())["epochs"] == 2
    assert json.loads((out / "config.json").read_text())["config"]["epochs"] == 2
    assert torch.load(out / "checkpoint.pt", weights_only=True)["epoch"] == 2
    assert main(base + ["--resume", "--epochs", "1"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "can only be extended" in err


def test_cli_refuses_existing_out(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "x").write_text("")
    assert main(["train", "--out", str(tmp_path / "run"), "--quiet"]) == 1
    assert "--resume" in capsys.readouterr().err


# ---------------------------------------------------------------- acceptance (about a minute)

# The first acceptance asked for these floors after 30 epochs (0.97 ANN, 0.95 direct and
# hybrid, 0.90 temporal); the models reach 0.986-0.994 after 12 (seed 0), so the test
# trains 12 and asks more of temporal coding (a third of the time in the suite).
ACCEPTANCE = [
    (dict(ann=True), 0.97),
    (dict(encoding="direct"), 0.97),
    (dict(encoding="hybrid"), 0.97),
    (dict(encoding="temporal"), 0.95),
]


@pytest.mark.slow
@pytest.mark.parametrize("extra, floor", ACCEPTANCE)
def test_digits_accuracy_after_12_epochs(tmp_path, extra, floor):
    summary = train(TrainConfig(epochs=12, timesteps=4, seed=0, **extra), tmp_path / "run", device="cpu", progress=False)
    assert summary["test_accuracy"] >= floor
