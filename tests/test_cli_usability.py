"""What a user sees when something goes wrong or the output is not a terminal.

Wrong paths get a one-line error naming the file and the problem; misspelt names get
"did you mean ...?"; a closed pipe ends the command quietly; tables fit 100 columns; a
failed command leaves no empty folder it created; Ctrl-C says how to continue; progress
written to a file is a line per stage, not thousands of bar redraws; the user docs say
what a number is, not where the project came from.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from asnn_sim.app.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("asnn: error: ") and "Traceback" not in err[0]
    return err[0]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A digits LeNet trained for one epoch on 40 images (seconds), and its graph file."""
    from asnn_sim.interop.export import export_run
    from asnn_sim.graph.ir import save_graph
    from asnn_sim.training.train import TrainConfig, train

    root = tmp_path_factory.mktemp("tiny")
    run = root / "run"
    train(TrainConfig(epochs=1, timesteps=2, limit=40), run, device="cpu", progress=False)
    graph = root / "tiny.asnn"
    save_graph(export_run(run), graph)
    return run, graph


@pytest.fixture
def counts_dir(tmp_path):
    from hw_models.synthetic import synthetic_counts, write_counts_dir

    return write_counts_dir(synthetic_counts(n_samples=2, timesteps=3), tmp_path / "counts")


# ------------------------------------------------------------------ wrong paths


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate", "{text}", "--out", "{out}"], "{text} is not an .asnn graph file"),
        (["simulate", "{folder}", "--out", "{out}"], "{folder} is a directory, not an .asnn graph file"),
        (["energy", "{text}"], "{text} is a file, not a counts directory (asnn energy reads the folder written by asnn simulate --out)"),
        (["energy", "{counts}", "--ann-counts", "{text}"], "{text} is a file, not a counts directory"),
        (["energy", "{folder}"], "{folder} is not a counts directory: it holds no summary.json or counts table"),
        (["export", "{text}", "-o", "{tmp}/x.asnn"], "{text} is a file, not a run directory"),
        (["export", "{tmp}/nowhere", "-o", "{tmp}/x.asnn"], "{tmp}/nowhere: no such run directory"),
        (["train", "--out", "{text}", "--resume"], "--resume: {text} is a file, not a run directory"),
        (["train", "--out", "{text}"], "--out {text} exists and is not a directory"),
        (["train", "--out", "{out}", "--dataset", "mnist", "--data-dir", "{text}"], "is a file, not a folder"),
        (["compare", "--out", "{out}", "--cache-dir", "{text}", "--hw", "loihi"], "--cache-dir {text} is a file, not a folder"),
        (["profiles", "--show", "{text}"], "{text}: not valid TOML"),
    ],
)
def test_a_wrong_path_is_named_in_one_line(argv, message, tmp_path, counts_dir, capsys):
    text = tmp_path / "notes.md"
    text.write_text("# Notes\n\nNot a graph, a run, a counts table or a profile.\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    subs = {"text": str(text), "folder": str(folder), "out": str(tmp_path / "o"), "tmp": str(tmp_path), "counts": str(counts_dir)}
    assert main([a.format(**subs) for a in argv]) == 1
    assert message.format(**subs) in _err_line(capsys)
    assert not (tmp_path / "o").exists()
    assert text.read_text().startswith("# Notes")


def test_an_unwritable_cache_is_an_error_not_a_traceback(tmp_path, capsys, monkeypatch):
    # Any OSError a handler meets (here from mkdir) is one line naming the path.
    import asnn_sim.app.pipeline as pipeline

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "cache"))

    monkeypatch.setattr(pipeline, "prepare_models", refuse)
    assert main(["compare", "--out", str(tmp_path / "o"), "--cache-dir", str(tmp_path / "cache"), "--hw", "loihi"]) == 1
    assert _err_line(capsys) == f"asnn: error: {tmp_path / 'cache'}: permission denied"


# ------------------------------------------------------------------ did you mean


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [
        (["trian", "--out", "{out}"], "did you mean 'train'?"),
        (["train", "--out", "{out}", "--model", "lenett"], "did you mean 'lenet'?"),
        (["train", "--out", "{out}", "--encoding", "hybird"], "did you mean 'hybrid'?"),
        (["train", "--out", "{out}", "--dataset", "fashion"], "did you mean 'fashion-mnist'?"),
        (["train", "--out", "{out}", "--surrogate", "arctn"], "did you mean 'arctan'?"),
        (["train", "--out", "{out}", "--encodings", "hybrid"], "did you mean '--encoding'?"),
        (["simulate", "g.asnn", "--out", "{out}", "--graded", "expnad"], "did you mean 'expand'?"),
        (["compare", "--out", "{out}", "--encodings", "direct,tempral"], "did you mean 'temporal'?"),
        (["compare", "--out", "{out}", "--hw", "loihi,truenoth"], "did you mean 'truenorth'?"),
        (["energy", "{counts}", "--hw", "lohi"], "did you mean 'loihi'?"),
        (["profiles", "--show", "spinaker2"], "did you mean 'spinnaker2'?"),
        (["profiles", "--hw", "cmos45-int8"], "did you mean 'cmos45-int8-sram'?"),
    ],
)
def test_a_misspelt_name_gets_the_closest_valid_one(argv, suggestion, tmp_path, counts_dir, capsys):
    subs = {"out": str(tmp_path / "o"), "counts": str(counts_dir)}
    assert main([a.format(**subs) for a in argv]) == 1
    assert suggestion in _err_line(capsys)
    assert not (tmp_path / "o").exists()


def test_the_registries_suggest_too():
    from asnn_sim.training.data import DatasetError, load_dataset
    from asnn_sim.graph.encoding import EncoderSpec
    from asnn_sim.training.models import build_model
    from asnn_sim.training.neurons import get_surrogate
    from asnn_sim.training.train import TrainConfig, TrainError

    with pytest.raises(TrainError, match=r"unknown model 'lenet5' \(did you mean 'lenet'\?\); choose one of lenet"):
        TrainConfig(model="lenet5")
    with pytest.raises(DatasetError, match=r"unknown dataset 'minst' \(did you mean 'mnist'\?\)"):
        load_dataset("minst")
    with pytest.raises(ValueError, match=r"did you mean 'hybrid-binary'\?"):
        EncoderSpec("hybrid_binary", 4)
    with pytest.raises(ValueError, match=r"unknown surrogate 'sigmod' \(did you mean 'sigmoid'\?\)"):
        get_surrogate("sigmod")
    with pytest.raises(ValueError, match=r"did you mean 'lenet'\?"):
        build_model("LeNet5", input_shape=(1, 8, 8), n_classes=10, ann=True)
    # nothing close: no guess, just the list
    with pytest.raises(TrainError, match=r"unknown encoding 'morse'; choose one of direct"):
        TrainConfig(encoding="morse")


def test_closest_names():
    from asnn_sim.util.names import closest, did_you_mean

    models = ["lenet", "resnet-small", "resnet18", "resnet19", "resnet34"]
    assert closest("resnet", models) == ["resnet18", "resnet19", "resnet34"]
    assert did_you_mean("resnet", models) == "did you mean 'resnet18', 'resnet19' or 'resnet34'?"
    assert closest("LOIHI", ["loihi", "truenorth"]) == ["loihi"]
    assert closest("cifar", ["cifar10", "cifar100", "mnist"])[0] == "cifar10"
    assert did_you_mean("zzz", models) == "" and closest("", models) == []


# ------------------------------------------------------------------ pipes and tables


def _closed_pipe(*argv: str) -> subprocess.CompletedProcess:
    """Run asnn with its stdout a pipe whose reader has already gone (as `| head` after one line)."""
    proc = subprocess.Popen([sys.executable, "-m", "asnn_sim.app.cli", *argv], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    return subprocess.CompletedProcess(argv, proc.wait(), "", err)


@pytest.mark.slow
@pytest.mark.parametrize("argv", [("profiles",), ("profiles", "--show", "loihi")])
def test_a_closed_pipe_ends_quietly(argv):
    done = _closed_pipe(*argv)
    assert done.stderr == ""  # no BrokenPipeError traceback
    assert done.returncode == 141  # 128 + SIGPIPE, as `yes | head` reports


@pytest.mark.slow
def test_piped_into_head_prints_one_line_and_no_traceback():
    cmd = f"{sys.executable} -m asnn_sim.app.cli profiles --wide | head -1"
    done = subprocess.run(["bash", "-c", cmd], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.split() == ["name", "chip,", "node", "scope", "models", "sources"]


def test_profiles_fit_100_columns_unless_wide(capsys):
    from hw_models import list_profiles

    assert main(["profiles"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 100
    starts = {line.split()[0] for line in lines if line and not line.startswith(" ")}
    assert set(list_profiles()) <= starts  # each profile's name whole, at the start of its row

    assert main(["profiles", "--show", "loihi"]) == 0
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) <= 100

    assert main(["profiles", "--wide"]) == 0
    wide = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in wide) > 100
    row = next(line for line in wide if line.startswith("loihi "))
    assert "Intel Loihi" in row and "Davies et al. IEEE Micro 2018" in row  # one line per profile


# ------------------------------------------------------------------ nothing left behind


def test_failed_train_leaves_no_folder_it_created(tmp_path, capsys):
    out = tmp_path / "runs" / "new" / "mnist"
    assert main(["train", "--out", str(out), "--dataset", "mnist", "--data-dir", str(tmp_path / "no-data"), "--epochs", "1"]) == 1
    assert "no-data" in _err_line(capsys)
    assert not (tmp_path / "runs").exists()  # nor the parents it made


def test_failed_train_keeps_a_folder_that_was_there(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    assert main(["train", "--out", str(mine), "--dataset", "mnist", "--data-dir", str(tmp_path / "no-data")]) == 1
    _err_line(capsys)
    assert mine.is_dir()


def test_failed_simulate_leaves_no_folder_it_created(tiny_run, tmp_path, capsys):
    _, graph = tiny_run
    out = tmp_path / "counts" / "mnist"
    assert main(["simulate", str(graph), "--out", str(out), "--dataset", "mnist", "--data-dir", str(tmp_path / "no-data")]) == 1
    assert "no-data" in _err_line(capsys)
    assert not (tmp_path / "counts").exists()


def test_removed_on_failure_touches_only_what_it_created(tmp_path):
    from asnn_sim.util.atomic import removed_on_failure

    out = tmp_path / "a" / "b"
    with pytest.raises(RuntimeError), removed_on_failure(out, ("result.csv",)):
        out.mkdir(parents=True)
        (out / "result.csv").write_text("x")
        raise RuntimeError
    assert not (tmp_path / "a").exists()

    with pytest.raises(RuntimeError), removed_on_failure(out, ("result.csv",)):
        out.mkdir(parents=True)
        (out / "users-notes.txt").write_text("keep me")  # not the command's: the folder stays
        raise RuntimeError
    assert (out / "users-notes.txt").read_text() == "keep me"

    kept = tmp_path / "resumable"
    with pytest.raises(KeyboardInterrupt), removed_on_failure(kept, ("checkpoint.pt",), keep="checkpoint.pt"):
        kept.mkdir()
        (kept / "checkpoint.pt").write_text("epoch 1")
        raise KeyboardInterrupt
    assert (kept / "checkpoint.pt").is_file()


# ------------------------------------------------------------------ Ctrl-C


def test_interrupted_train_says_resume_and_resume_works(tmp_path, capsys, monkeypatch):
    import asnn_sim.training.train as train_mod

    save = train_mod._save_torch

    def save_then_interrupt(obj, path):
        save(obj, path)
        if path.name == "checkpoint.pt":
            raise KeyboardInterrupt  # Ctrl-C right after the first epoch is saved

    monkeypatch.setattr(train_mod, "_save_torch", save_then_interrupt)
    out = tmp_path / "run"
    argv = ["train", "--out", str(out), "--epochs", "2", "--limit", "40", "--timesteps", "2", "--quiet"]
    assert main(argv) == 130
    err = capsys.readouterr().err.strip()
    assert err == f"asnn: interrupted; the finished epochs are saved: continue with `asnn train --out {out} --resume`"
    monkeypatch.setattr(train_mod, "_save_torch", save)
    assert main(["train", "--out", str(out), "--resume", "--quiet"]) == 0
    assert "after 2 epochs" in capsys.readouterr().out


def test_train_interrupted_before_an_epoch_keeps_nothing(tmp_path, capsys, monkeypatch):
    import asnn_sim.training.train as train_mod

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_mod, "_train_epoch", interrupt)
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--limit", "40", "--quiet"]) == 130
    assert capsys.readouterr().err.strip() == "asnn: interrupted; no epoch had finished, so there is nothing to resume"
    assert not out.exists()


@pytest.mark.parametrize("command", ["compare", "demo"])
def test_interrupted_compare_says_rerun(command, tmp_path, capsys, monkeypatch):
    import asnn_sim.app.pipeline as pipeline

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "prepare_models", interrupt)
    cache = tmp_path / "cache"
    assert main([command, "--out", str(tmp_path / "report"), "--cache-dir", str(cache), "--hw", "loihi"]) == 130
    err = capsys.readouterr().err.strip()
    assert err.startswith("asnn: interrupted; run the same command again to continue")
    assert f"reused from the cache ({cache})" in err and "resumes from its last finished epoch" in err


# ------------------------------------------------------------------ progress off a terminal


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_only_on_a_terminal():
    from tqdm import tqdm

    from asnn_sim.util.progress import LineProgress, progress

    bar = progress(10, "simulate", "sample", stream=_Terminal())
    assert isinstance(bar, tqdm)
    bar.close()
    log = io.StringIO()
    with progress(1000, "simulate", "sample", stream=log) as lines:
        assert isinstance(lines, LineProgress)
        for _ in range(1000):
            lines.update(1)
    assert re.fullmatch(r"simulate: 1,000 samples in \d+\.\d s\n", log.getvalue())


def test_plain_progress_prints_a_line_per_interval():
    from asnn_sim.util.progress import progress

    log = io.StringIO()
    with progress(4, "train hybrid", "batch", stream=log, interval=0) as lines:
        for i in range(4):
            lines.set_postfix(epoch=1, loss=f"{1 / (i + 1):.2f}")
            lines.update(1)
    assert log.getvalue().splitlines()[0].startswith("train hybrid: 1/4 batches (25%), ")
    assert log.getvalue().splitlines()[0].endswith("epoch 1, loss 1.00")
    assert len(log.getvalue().splitlines()) == 4  # 3 progress lines + the closing line
    quiet = io.StringIO()
    with progress(4, "x", stream=quiet, enabled=False, interval=0) as lines:
        lines.update(4)
    assert quiet.getvalue() == ""


@pytest.mark.slow
def test_train_and_simulate_write_lines_not_redraws_to_a_file(tiny_run, tmp_path):
    # Real subprocesses with stdout and stderr in one file, as `asnn ... > log 2>&1`.
    _, graph = tiny_run
    log = tmp_path / "log.txt"
    commands = [
        ["train", "--out", str(tmp_path / "run"), "--epochs", "3", "--limit", "40", "--timesteps", "2"],
        ["simulate", str(graph), "--out", str(tmp_path / "counts"), "--limit", "30", "--batch-size", "8"],
    ]
    with log.open("w") as f:
        for argv in commands:
            subprocess.run([sys.executable, "-m", "asnn_sim.app.cli", *argv], cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, check=True)
    text = log.read_text()
    assert "\r" not in text and "\x1b" not in text  # no bar redraws, no terminal codes
    lines = text.splitlines()
    assert [line.split()[1] for line in lines if line.startswith("epoch")] == ["1/3", "2/3", "3/3"]
    assert sum(line.startswith("simulate: 30 samples in") for line in lines) == 1
    assert len(text) < 2500, text


# ------------------------------------------------------------------ user docs


USER_DOCS = ["README.md", "docs/counting.md", "docs/energy.md", "docs/performance.md"]
HISTORY = [r"\bissue\b", r"\btarget \(", r"\bmet\?", r"asnn-sim 0\.1\b", r"\bIn 0\.1\b", r"\bSince 0\.1\b",
           r"\b(earlier|previous) version\b", r"^## History", r"\bthe new `"]


@pytest.mark.parametrize("doc", USER_DOCS)
def test_user_docs_do_not_tell_project_history(doc):
    text = (ROOT / doc).read_text()
    found = [p for p in HISTORY if re.search(p, text, re.IGNORECASE | re.MULTILINE)]
    assert not found, f"{doc}: project-history wording {found}"


def test_readme_says_which_dataset_files_were_tested():
    text = " ".join((ROOT / "README.md").read_text().split())
    assert "exact real formats" in text and "no real MNIST or CIFAR file was read" in text
    assert "Fashion-MNIST is read from the real files" in text
