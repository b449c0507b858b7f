"""The ``asnn`` command: train, export, simulate, energy, compare, demo, profiles.

Each sub-command lives in a small ``add_*_parser`` function that registers its flags
and handler. Handlers raise ``ValueError`` subclasses for anything the user got wrong;
:func:`main` turns those into a one-line ``asnn: error: ...`` and exit code 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, fields
from pathlib import Path

from asnn_sim import __version__

# Flags default to SUPPRESS so a handler can tell "given" from "defaulted" (resume needs it).
S = argparse.SUPPRESS


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the hand-written line breaks of descriptions and epilogs."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 1 like every other error."""

    def error(self, message: str):
        self.exit(1, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


# ---------------------------------------------------------------- train


def add_train_parser(sub) -> None:
    from asnn_sim.data import DATASETS
    from asnn_sim.encoding import ENCODINGS, THRESHOLD_KINDS
    from asnn_sim.models import MODELS
    from asnn_sim.neurons import SURROGATES
    from asnn_sim.train import DEVICES, TrainConfig

    d = TrainConfig()
    p = sub.add_parser(
        "train",
        help="train a spiking model (or its ANN twin) and write a run directory",
        formatter_class=_Formatter,
        description=(
            "Train a spiking network with the chosen input coding, or its ReLU twin (--ann).\n"
            "Writes OUT/config.json, model.pt, metrics.csv, summary.json and a per-epoch\n"
            "checkpoint.pt (for --resume)."
        ),
        epilog=(
            "examples:\n"
            "  asnn train --dataset digits --encoding hybrid --timesteps 4 --asnn --epochs 30 --out runs/hybrid\n"
            "  asnn train --dataset digits --ann --out runs/ann\n"
            "  asnn train --dataset cifar10 --data-dir ~/data --encoding temporal --thresholds equal-mass \\\n"
            "             --augment --mixup --device cuda --out runs/cifar-temporal\n"
            "  asnn train --out runs/hybrid --resume          # continue an interrupted run"
        ),
    )
    p.add_argument("--out", required=True, type=Path, help="run directory to create")
    p.add_argument("--model", default=S, choices=sorted(MODELS), help=f"network (default {d.model})")
    p.add_argument("--dataset", default=S, choices=DATASETS, help=f"dataset (default {d.dataset})")
    p.add_argument("--data-dir", default=S, help="folder with the dataset files (not needed for digits; never downloaded)")
    p.add_argument("--encoding", default=S, choices=ENCODINGS, help=f"input coding of the spiking model (default {d.encoding})")
    p.add_argument("--timesteps", "-T", default=S, type=_positive_int, help=f"number of timesteps T (default {d.timesteps})")
    p.add_argument("--thresholds", default=S, choices=THRESHOLD_KINDS,
                   help="temporal/hybrid spike thresholds: uniform, or equal-mass after LayerNorm+sigmoid (default uniform)")
    p.add_argument("--legacy-temporal", default=S, action="store_true",
                   help="reproduce the reference code's last temporal step, where every pixel fires")
    p.add_argument("--asnn", default=S, action=argparse.BooleanOptionalAction,
                   help="ASNN neurons: leak and gain learned per layer and per timestep, plus a per-timestep "
                        "readout scale; --no-asnn shares one leak and gain over time (default --asnn)")
    p.add_argument("--ann", default=S, action="store_true", help="train the ReLU ANN twin instead (encoding is ignored)")
    p.add_argument("--surrogate", default=S, choices=sorted(SURROGATES), help=f"surrogate gradient (default {d.surrogate})")
    p.add_argument("--epochs", default=S, type=_positive_int, help=f"(default {d.epochs})")
    p.add_argument("--batch-size", default=S, type=_positive_int, help=f"(default {d.batch_size})")
    p.add_argument("--lr", default=S, type=_float, help=f"Adam learning rate, cosine-annealed to 0 (default {d.lr})")
    p.add_argument("--weight-decay", default=S, type=_float, help=f"(default {d.weight_decay})")
    p.add_argument("--mixup", default=S, action="store_true", help="mixup as in the reference, off for the last 27%% of epochs")
    p.add_argument("--augment", default=S, action="store_true", help="random flips and 4-pixel shifts (for CIFAR)")
    p.add_argument("--seed", default=S, type=int, help=f"(default {d.seed}); same seed on the same CPU gives the same metrics")
    p.add_argument("--limit", default=S, type=_positive_int, help="use only the first N train and test samples")
    p.add_argument("--device", default="auto", choices=DEVICES, help="auto picks CUDA when available (default auto)")
    p.add_argument("--resume", action="store_true", help="continue OUT from its last checkpoint")
    p.add_argument("--force", action="store_true", help="overwrite the run files in an existing OUT")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run_train)


def run_train(args: argparse.Namespace) -> None:
    from asnn_sim.train import TrainConfig, TrainError, train

    names = {f.name for f in fields(TrainConfig)}
    given = {k: v for k, v in vars(args).items() if k in names}
    if given.get("data_dir") is not None:
        given["data_dir"] = str(Path(given["data_dir"]).expanduser())
    config = TrainConfig(**given) if not args.resume else None
    if args.resume:
        stored_path = args.out / "config.json"
        if not stored_path.is_file():
            raise TrainError(f"--resume: {stored_path} not found; nothing to resume")
        stored = json.loads(stored_path.read_text())["config"]
        config = TrainConfig.from_dict({**stored, **given}) if given else None
    summary = train(config, args.out, device=args.device, resume=args.resume, force=args.force, progress=not args.quiet)
    print(
        f"test accuracy {summary['test_accuracy']:.4f} after {summary['epochs']} epochs "
        f"in {summary['train_seconds']:.1f} s on {summary['device']}; run written to {args.out}"
    )


# ---------------------------------------------------------------- entry point


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="asnn",
        formatter_class=_Formatter,
        description=(
            "Adaptive spiking neural networks: train with direct, temporal or hybrid coding,\n"
            "replay in an exact event-driven simulator, and estimate energy on hardware.\n\n"
            "typical flow:\n"
            "  asnn train --encoding hybrid --out runs/hybrid      # train (digits by default)\n"
            "  asnn export runs/hybrid -o hybrid.asnn               # fold BatchNorm, write the graph\n"
            "  asnn simulate hybrid.asnn --out counts/hybrid        # event-driven replay + exact counts\n"
            "  asnn energy counts/hybrid --out energy/hybrid        # energy per chip vs the ANN\n\n"
            "`asnn demo` does all of it for three encodings and writes a report."
        ),
    )
    parser.add_argument("--version", action="version", version=f"asnn-sim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in _COMMANDS:
        add(sub)
    return parser


_COMMANDS = [add_train_parser]


def main(argv: list[str] | None = None) -> int:
    """Run the ``asnn`` command; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error already printed
        return int(e.code or 0)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 1
    try:
        args.handler(args)
    except KeyboardInterrupt:
        print("asnn: interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, NotADirectoryError, PermissionError) as e:
        # Every user-facing error of the package is a ValueError subclass with a one-line message.
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"asnn: error: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
