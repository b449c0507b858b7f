"""The conventions every ``asnn`` command follows, in one place.

* Every sub-command is a :class:`Parser` with :class:`Formatter`: a description, then an
  epilog of examples (``tests/test_cli_conventions.py`` checks each command).
* A usage error is one line, ``asnn: error: <message> (see asnn CMD --help)``, exit code
  1; a handler's ``ValueError`` (bad input) becomes ``asnn: error: <message>``, exit 1.
  A misspelt choice (command, model, encoding, ...) gets "did you mean ...?".
* ``--out DIR`` is where a command writes, through :func:`asnn_sim.util.folders.output_folder`:
  one job at a time (a second gets one line naming the first), an existing, non-empty
  ``DIR`` refused before any work unless ``--force``, which replaces only the command's
  own files, and ``DIR`` appearing whole or not at all. ``--quiet`` turns progress bars off.
* Building a parser imports nothing heavy: choices come from :mod:`asnn_sim.app.choices`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from asnn_sim.util.names import did_you_mean

# Flags default to SUPPRESS where a handler must tell "given" from "defaulted" (resume needs it).
S = argparse.SUPPRESS

#: --data-dir's help, the same for every command that reads a dataset (asnn_sim.training.data).
DATA_DIR_HELP = ("folder with the dataset files, never downloaded (default: $ASNN_DATA_DIR; for fashion-mnist also "
                 "/usr/share/datasets/fashion-mnist, where Debian's package dataset-fashion-mnist puts it; digits needs none)")


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the hand-written line breaks of descriptions and epilogs."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 1 like every other error."""

    def error(self, message: str):
        tool = self.prog.split()[0]
        self.exit(1, f"{tool}: error: {message} (see {self.prog} --help)\n")

    def _check_value(self, action, value):
        # As argparse, plus the closest valid choice: "invalid choice: 'lenett' (did you mean 'lenet'?)".
        if action.choices is not None and value not in action.choices:
            valid = [str(c) for c in action.choices]
            hint = did_you_mean(value, valid)
            raise argparse.ArgumentError(
                action, f"invalid choice: {value!r}" + (f" ({hint})" if hint else "") + f"; choose from {', '.join(valid)}"
            )

    def parse_args(self, args=None, namespace=None):
        # As argparse, but an unknown flag after a command points to that command's help.
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:
            parser = self._command_parser(parsed) or self
            flags = [s for a in parser._actions for s in a.option_strings if s.startswith("--")]
            unknown = next((e.split("=")[0] for e in extra if e.startswith("--")), None)
            hint = did_you_mean(unknown, flags) if unknown else ""
            parser.error(f"unrecognized arguments: {' '.join(extra)}" + (f" ({hint})" if hint else ""))
        return parsed

    def _command_parser(self, parsed: argparse.Namespace) -> argparse.ArgumentParser | None:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action.choices.get(getattr(parsed, action.dest, None))
        return None


def positive_int(text: str) -> int:
    """An ``int`` >= 1 (argparse ``type``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def number(text: str) -> float:
    """A ``float`` (argparse ``type``) with a readable error."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def check_output_file(path: Path, force: bool) -> None:
    """Raise ``ValueError`` if the output file ``path`` exists (and not ``force``) or its
    folder does not; call it before any work."""
    if path.exists() and not force:
        raise ValueError(f"{path} already exists; pass --force to overwrite it")
    if not path.parent.is_dir():
        raise ValueError(f"folder {path.parent} does not exist")


def add_threads_flag(p: argparse.ArgumentParser) -> None:
    """``--threads N``: torch's and Numba's CPU threads in this process (:mod:`asnn_sim.util.threads`)."""
    p.add_argument("--threads", type=positive_int, metavar="N",
                   help="CPU threads for torch and Numba (default: every core); with several jobs on one machine, "
                        "give each cores/jobs (docs/scale.md)")


def add_cluster_flags(p: argparse.ArgumentParser) -> None:
    """``--workers N`` / ``--scheduler ADDRESS``: run on Dask (:mod:`asnn_sim.scale.cluster`), plus ``--threads``."""
    p.add_argument("--workers", type=positive_int, metavar="N",
                   help="run on a local Dask cluster of N worker processes, cores/N threads each "
                        "(needs pip install 'asnn-sim[cluster]'; docs/scale.md)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a running Dask cluster, e.g. tcp://host:8786 (workers must see the same files)")
    add_threads_flag(p)
