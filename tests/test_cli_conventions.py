"""Every ``asnn`` command follows one convention, and its help is cheap.

Cheap help: building the parsers imports none of the heavy libraries (checked with
``python -X importtime`` in a fresh interpreter per command; no wall-clock asserts).
The choice lists and defaults the parsers read without importing their owners
(:mod:`asnn_sim.app.choices`) must equal the imported values.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from asnn_sim.app import choices
from asnn_sim.app.argparsing import Formatter, Parser
from asnn_sim.app.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("train", "export", "import", "simulate", "energy", "profiles", "compare", "demo")
HEAVY = ("torch", "numba", "pandas", "matplotlib", "pyarrow", "sklearn")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_every_command_is_registered():
    assert tuple(_subparsers(build_parser())) == COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_command_follows_the_convention(command):
    p = _subparsers(build_parser())[command]
    assert type(p) is Parser and p.formatter_class is Formatter
    assert p.prog == f"asnn {command}"
    assert p.description and p.description.strip(), f"asnn {command} has no description"
    assert p.epilog and re.match(r"examples?:\n  asnn " + command, p.epilog), f"asnn {command}: epilog must start with examples"
    flags = {s for a in p._actions for s in a.option_strings}
    if "--out" in flags:
        assert "--force" in flags, f"asnn {command} writes --out but has no --force"


@pytest.mark.parametrize("command", COMMANDS)
def test_usage_error_is_one_line_and_exit_1(command, capsys):
    assert main([command, "--no-such-flag"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("asnn: error: ") and f"(see asnn {command} --help)" in err[0]


def _import_chain(lines: list[str], heavy: str) -> str:
    """'a -> b -> heavy' from ``-X importtime`` output (children are printed before parents)."""
    entries = []
    for line in lines:
        m = re.match(r"import time:\s+\d+ \|\s+\d+ \|( *)(\S+)", line)
        if m:
            entries.append((len(m.group(1)), m.group(2)))
    for i, (depth, name) in enumerate(entries):
        if name.split(".")[0] == heavy:
            chain = [name]
            for d, parent in entries[i + 1 :]:
                if d < depth:
                    chain.append(parent)
                    depth = d
            return " -> ".join(reversed(chain))
    return heavy


@pytest.mark.parametrize("command", ("",) + COMMANDS)
def test_help_imports_nothing_heavy(command):
    argv = [sys.executable, "-X", "importtime", "-m", "asnn_sim.app.cli", *([command] if command else []), "--help"]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage: asnn" in proc.stdout
    lines = proc.stderr.splitlines()
    imported = {m.group(1).split(".")[0] for m in (re.match(r"import time:.*\| *(\S+)$", x) for x in lines) if m}
    heavy = [h for h in HEAVY if h in imported]
    assert not heavy, f"`asnn {command} --help` imported: " + "; ".join(_import_chain(lines, h) for h in heavy)


def test_light_choices_match_their_owners():
    from asnn_sim.training.data import DATASETS
    from asnn_sim.graph.encoding import ENCODINGS, THRESHOLD_KINDS
    from asnn_sim.training.models import MODELS
    from asnn_sim.training.neurons import RESETS, SURROGATES
    from asnn_sim.training.train import DEVICES, TrainConfig
    from hw_models import list_profiles
    from hw_models.activity import DAMPFHOFFER_BAND

    assert vars(choices.train_defaults()) == dataclasses.asdict(TrainConfig())
    assert choices.train_devices() == DEVICES
    assert (choices.DATASETS, choices.ENCODINGS, choices.THRESHOLD_KINDS) == (DATASETS, ENCODINGS, THRESHOLD_KINDS)
    assert list(choices.profile_names()) == list_profiles()
    assert choices.dampfhoffer_band() == DAMPFHOFFER_BAND
    assert choices.MODEL_NAMES == tuple(MODELS)
    assert choices.SURROGATE_NAMES == tuple(SURROGATES)
    assert choices.RESETS == RESETS


def test_reading_a_non_literal_fails_loudly():
    with pytest.raises(LookupError, match="not a literal"):
        choices.literal("asnn_sim.training.models", "MODEL_NAMES")  # tuple(REGISTRY): needs the import
    with pytest.raises(LookupError, match="does not assign"):
        choices.literal("asnn_sim.training.train", "NO_SUCH_NAME")


def test_entry_point_is_the_app_cli():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, attr = scripts["asnn"].partition(":")
    assert getattr(importlib.import_module(module), attr) is main
