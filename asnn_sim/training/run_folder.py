"""The run directory of :func:`asnn_sim.training.train.train`: preparing it, holding it, resuming it.

What may change on ``--resume`` (only the number of epochs, upward), what an extended run
rewrites, and the lock that keeps one training per folder.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Iterator

from asnn_sim import __version__
from asnn_sim.training.train_config import TrainConfig, TrainError
from asnn_sim.util import atomic, folders

RUN_FILES = ("config.json", "model.pt", "metrics.csv", "summary.json", "checkpoint.pt")


def prepare_run_dir(out: Path, resume: bool, force: bool) -> None:
    """Check that ``out`` can take this run: a checkpoint to resume, or a folder free (or forced) for a new one."""
    if resume and force:
        raise TrainError("--resume and --force contradict each other; pick one")
    if resume:
        if not (out / "checkpoint.pt").is_file():
            raise TrainError(f"--resume: no checkpoint.pt in {out}; nothing to resume")
        return
    # A run killed before its first checkpoint left config.json and nothing to resume: its
    # folder is taken over as if empty (it holds no file of the user's, checked).
    try:
        atomic.prepare_output_dir(out, RUN_FILES, force or died_before_its_first_epoch(out),
                                  "pass --resume to continue it or --force to overwrite it")
    except ValueError as e:
        raise TrainError(str(e)) from None


def check_resume_config(stored: TrainConfig, asked: TrainConfig | None) -> None:
    """Refuse a resume that would change the run: only its number of epochs may grow (:func:`resumed_config`)."""
    if asked is None:
        return
    differ = [f.name for f in fields(TrainConfig) if f.name != "epochs" and getattr(stored, f.name) != getattr(asked, f.name)]
    if differ:
        name = differ[0]
        raise TrainError(
            f"--resume continues the stored configuration (only --epochs may change, to extend it), but {name} differs "
            f"(stored {getattr(stored, name)!r}, asked {getattr(asked, name)!r})"
        )


def resumed_config(stored: TrainConfig, asked: TrainConfig | None, epochs: int | None) -> TrainConfig:
    """The configuration a resume trains: the stored one, with more epochs when asked to extend it.

    The target comes from ``epochs``, else from an ``asked`` config's epochs; it may not
    be below the stored number (the epochs already run and their schedule are history).
    """
    check_resume_config(stored, asked)
    if asked is not None and epochs is not None and asked.epochs not in (epochs, stored.epochs):
        raise TrainError(f"epochs={epochs} and the config's epochs={asked.epochs} disagree; give one")
    target = epochs if epochs is not None else asked.epochs if asked is not None else stored.epochs
    if isinstance(target, bool) or not isinstance(target, int) or target < 1:
        raise TrainError(f"--epochs must be a positive integer; got {target!r}")
    if target < stored.epochs:
        raise TrainError(f"--resume --epochs {target}: a run can only be extended, and this one is set to "
                         f"{stored.epochs} epochs")
    return stored if target == stored.epochs else replace(stored, epochs=target)


@contextmanager
def run_dir_held(out: Path) -> Iterator[None]:
    """One training per folder (:func:`asnn_sim.util.folders.locked_folder`); a failed start undone.

    Under the lock, temporary files of a killed run (``.checkpoint.pt.*.tmp``) are removed;
    a failure before the first checkpoint removes what this run created.
    """
    with folders.locked_folder(out):
        if out.is_dir():
            for stray in out.glob(".*.tmp"):
                if any(stray.name.startswith(f".{name}.") for name in RUN_FILES):
                    stray.unlink(missing_ok=True)
        with atomic.removed_on_failure(out, RUN_FILES, keep="checkpoint.pt"):
            yield


def died_before_its_first_epoch(out: Path) -> bool:
    """``out`` holds only the start of a run killed before any epoch was saved (nothing to resume)."""
    if not out.is_dir():
        return False
    names = {p.name for p in out.iterdir()}
    return bool(names) and names <= set(RUN_FILES) and not names & {"checkpoint.pt", "model.pt", "summary.json"}


def run_meta(config: TrainConfig, dataset) -> dict:
    """What ``config.json`` holds: the config and the data facts needed to rebuild the model."""
    return {
        "config": asdict(config),
        "input_shape": list(dataset.input_shape),
        "n_classes": dataset.n_classes,
        "class_names": list(dataset.class_names),
        "encoder": None if config.ann else config.encoder().to_dict(),
        "asnn_sim_version": __version__,
    }


def reopen_run(out: Path, config: TrainConfig) -> None:
    """An extended run is unfinished again: its config states the new epochs; the old final files go."""
    meta = json.loads((out / "config.json").read_text())
    atomic.write_json(out / "config.json", {**meta, "config": asdict(config)})
    # A model.pt beside a config of more epochs would pass for the finished run; the
    # checkpoint keeps the same weights until the extension writes its own.
    for name in ("summary.json", "model.pt"):
        (out / name).unlink(missing_ok=True)
