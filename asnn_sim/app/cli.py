"""The ``asnn`` command: train, export, import, simulate, energy, compare, demo, profiles.

Each sub-command lives in a small ``add_*_parser`` function that registers its flags
and handler (``energy`` and ``profiles`` in :mod:`asnn_sim.app.energy_cli`, ``import``
in :mod:`asnn_sim.app.nir_cli`, ``simulate`` in :mod:`asnn_sim.app.simulate_cli`). All follow
the conventions of :mod:`asnn_sim.app.argparsing`. Handlers raise ``ValueError``
subclasses for anything the user got wrong; :func:`main` turns those into a one-line
``asnn: error: ...`` and exit code 1.

Building the parsers is cheap (``asnn --help`` imports no torch, numba or pandas): the
choices come from :mod:`asnn_sim.app.choices`, and heavy modules are imported inside
the handlers.

Run it as ``asnn`` (the installed entry point) or ``python -m asnn_sim.app.cli``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from asnn_sim import __version__
from asnn_sim.util import allocator, threads
from asnn_sim.app import choices
from asnn_sim.app.argparsing import DATA_DIR_HELP, S, add_cluster_flags, add_threads_flag, check_output_file
from asnn_sim.app.argparsing import Formatter as _Formatter
from asnn_sim.app.argparsing import Parser as _Parser
from asnn_sim.app.argparsing import number as _float
from asnn_sim.app.argparsing import positive_int as _positive_int
from asnn_sim.app.energy_cli import add_energy_parser, add_profiles_parser
from asnn_sim.app.nir_cli import add_import_parser
from asnn_sim.app.simulate_cli import add_simulate_parser


# ---------------------------------------------------------------- train


def add_train_parser(sub) -> None:
    from asnn_sim.app.choices import DATASETS, ENCODINGS, MODEL_NAMES, POOLS, RESETS, RESIDUALS, SURROGATE_NAMES, THRESHOLD_KINDS

    d = choices.train_defaults()  # TrainConfig's defaults, read without importing torch
    DEVICES = choices.train_devices()
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
            "  asnn train --dataset fashion-mnist --epochs 4 --out runs/fashion   # after apt-get install dataset-fashion-mnist\n"
            "  asnn train --dataset digits --reset hard --out runs/hard   # the neuron NIR needs\n"
            "  asnn train --no-asnn --reset hard --pool avg --encoding temporal --out runs/nir   # exports to NIR\n"
            "  asnn train --dataset cifar10 --data-dir ~/data --encoding temporal --thresholds equal-mass \\\n"
            "             --augment --mixup --device cuda --out runs/cifar-temporal\n"
            "  asnn train --out runs/hybrid --resume          # continue an interrupted run\n"
            "  asnn train --out runs/hybrid --resume --epochs 40   # train a finished run on to 40 epochs\n"
            "  torchrun --nproc-per-node 2 --standalone -m asnn_sim.cli train --batch-size 64 --out runs/ddp   # data-parallel: docs/ddp.md"
        ),
    )
    p.add_argument("--out", required=True, type=Path, help="run directory to create")
    p.add_argument("--model", default=S, choices=sorted(MODEL_NAMES), help=f"network (default {d.model})")
    p.add_argument("--dataset", default=S, choices=DATASETS, help=f"dataset (default {d.dataset})")
    p.add_argument("--data-dir", default=S, help=DATA_DIR_HELP)
    p.add_argument("--encoding", default=S, choices=ENCODINGS, help=f"input coding of the spiking model (default {d.encoding})")
    p.add_argument("--timesteps", "-T", default=S, type=_positive_int, help=f"number of timesteps T (default {d.timesteps})")
    p.add_argument("--thresholds", default=S, choices=THRESHOLD_KINDS,
                   help="temporal/hybrid spike thresholds: uniform, or equal-mass after LayerNorm+sigmoid (default uniform)")
    p.add_argument("--legacy-temporal", default=S, action="store_true",
                   help="reproduce the reference code's last temporal step, where every pixel fires")
    p.add_argument("--asnn", default=S, action=argparse.BooleanOptionalAction,
                   help="ASNN neurons: leak and gain learned per layer and per timestep, plus a per-timestep "
                        "readout scale; --no-asnn shares one leak and gain over time (default --asnn)")
    p.add_argument("--reset", default=S, choices=RESETS,
                   help="what a neuron does after a spike: soft subtracts the threshold (the reference's); hard "
                        "resets to 0, the neuron NIR and most chips use: needed for `asnn export --format nir` "
                        f"(default {d.reset})")
    p.add_argument("--ann", default=S, action="store_true", help="train the ReLU ANN twin instead (encoding is ignored)")
    p.add_argument("--surrogate", default=S, choices=sorted(SURROGATE_NAMES), help=f"surrogate gradient (default {d.surrogate})")
    p.add_argument("--residual", default=S, choices=RESIDUALS,
                   help=f"ResNet shortcuts: standard (added as a current) or sew (added after the neuron) (default {d.residual})")
    p.add_argument("--pool", default=S, choices=POOLS,
                   help="2x2 pooling of lenet: max (default) or avg; NIR has no max pooling, so "
                        "`asnn export --format nir` needs avg")
    p.add_argument("--epochs", default=S, type=_positive_int, help=f"(default {d.epochs})")
    p.add_argument("--batch-size", default=S, type=_positive_int, help=f"(default {d.batch_size})")
    p.add_argument("--lr", default=S, type=_float, help=f"Adam learning rate, cosine-annealed to 0 (default {d.lr})")
    p.add_argument("--weight-decay", default=S, type=_float, help=f"(default {d.weight_decay})")
    p.add_argument("--mixup", default=S, action="store_true", help="mixup as in the reference, off for the last 27%% of epochs")
    p.add_argument("--augment", default=S, action="store_true", help="random flips and 4-pixel shifts (for CIFAR)")
    p.add_argument("--seed", default=S, type=int, help=f"(default {d.seed}); same seed on the same CPU gives the same metrics")
    p.add_argument("--limit", default=S, type=_positive_int, help="use only the first N train and test samples")
    p.add_argument("--device", default="auto", choices=DEVICES, help="auto picks CUDA when available (default auto)")
    p.add_argument("--resume", action="store_true",
                   help="continue OUT from its last checkpoint; with --epochs N (more than it was set to), train "
                        "a finished or interrupted run on to N epochs (no other option may change)")
    p.add_argument("--force", action="store_true", help="overwrite the run files in an existing OUT")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_threads_flag(p)
    p.set_defaults(handler=run_train)


def run_train(args: argparse.Namespace) -> None:
    import os

    from asnn_sim.training import ddp
    from asnn_sim.training.train import TrainConfig, TrainError, train

    # Under torchrun every process runs this command; WORLD_SIZE > 1 makes it data-parallel.
    world = ddp.world_from_env(os.environ)
    try:
        names = {f.name for f in fields(TrainConfig)}
        given = {k: v for k, v in vars(args).items() if k in names}
        if given.get("data_dir") is not None:
            given["data_dir"] = str(Path(given["data_dir"]).expanduser())
        config = TrainConfig(**given) if not args.resume else None
        epochs = None
        if args.resume:
            epochs = given.pop("epochs", None)  # the one option a resume may change: it extends the run
            stored_path = args.out / "config.json"
            if args.out.is_file():
                raise TrainError(f"--resume: {args.out} is a file, not a run directory")
            if not stored_path.is_file():
                raise TrainError(f"--resume: {stored_path} not found; nothing to resume")
            stored = json.loads(stored_path.read_text())["config"]
            config = TrainConfig.from_dict({**stored, **given}) if given else None
        summary = train(config, args.out, device=args.device, resume=args.resume, epochs=epochs, force=args.force,
                        progress=not args.quiet and world.is_main, world=world)
    except (TrainError, KeyboardInterrupt) as e:
        if world.is_main:
            raise
        # Every rank fails with the same TrainError (train agrees on it) or Ctrl-C: rank 0
        # reports it, the others leave quietly with the same exit status.
        raise SystemExit(130 if isinstance(e, KeyboardInterrupt) else 1) from None
    if world.is_main:
        print(
            f"test accuracy {summary['test_accuracy']:.4f} after {summary['epochs']} epochs "
            f"in {summary['train_seconds']:.1f} s on {summary['device']}"
            + (f" x {summary['world_size']} processes ({summary['backend']})" if world.distributed else "")
            + f"; run written to {args.out}"
        )


# ---------------------------------------------------------------- export


def add_export_parser(sub) -> None:
    p = sub.add_parser(
        "export",
        help="export a trained run to a .asnn graph file (BatchNorm folded), or to NIR",
        formatter_class=_Formatter,
        description=(
            "Export a finished training run to one .asnn file: safetensors arrays plus a JSON graph,\n"
            "no pickle, BatchNorm folded into the weights, per-timestep neuron parameters kept.\n"
            "Loading it validates every node and checksum.\n\n"
            "--format nir writes NIR (for other frameworks and chips) when NIR can express the model\n"
            "exactly: constant leak and gain (--no-asnn), hard reset (--reset hard), no readout scale,\n"
            "no max pooling (--pool avg). Anything else is refused with the list of features and\n"
            "nodes at fault.\n"
            "The source may also be a .asnn file (e.g. one made by asnn import)."
        ),
        epilog=(
            "examples:\n  asnn export runs/hybrid -o hybrid.asnn\n"
            "  asnn train --no-asnn --reset hard --pool avg --encoding temporal --out runs/lif-hard\n"
            "  asnn export runs/lif-hard -o model.nir --format nir"
        ),
    )
    p.add_argument("run", type=Path, help="run directory written by `asnn train`, or a .asnn graph file")
    p.add_argument("-o", "--out", "--output", dest="output", metavar="FILE", type=Path, required=True,
                   help="file to write (.asnn, or .nir with --format nir)")
    p.add_argument("--format", choices=("asnn", "nir"), default="asnn", help="graph file format (default asnn)")
    p.add_argument("--dt", type=_float, default=1e-4,
                   help="with --format nir: the timestep the neurons' time constants are written for (default 1e-4 s)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> None:
    from asnn_sim.interop.export import export_run
    from asnn_sim.graph.ir import load_graph, save_graph

    check_output_file(args.output, args.force)
    if args.run.is_file() and args.run.suffix != ".asnn":
        raise ValueError(f"{args.run} is a file, not a run directory (nor a .asnn graph file)")
    graph = load_graph(args.run) if args.run.is_file() else export_run(args.run)
    if args.format == "nir":
        from asnn_sim.interop.nir_export import write_nir

        write_nir(graph, args.output, dt=args.dt)
    else:
        save_graph(graph, args.output)
    params = sum(a.size for n in graph.nodes for k, a in n.arrays().items() if k in ("weight", "bias"))
    print(
        f"exported {graph.kind} graph: {len(graph.nodes)} nodes, {len(graph.nodes_of_role('synapse'))} synaptic layers, "
        f"{params} weights+biases, T={graph.timesteps}; wrote {args.output} ({args.output.stat().st_size / 1024:.0f} KiB)"
    )


# ---------------------------------------------------------------- compare and demo

DEMO_ENCODINGS = ("direct", "temporal", "hybrid")


def _add_compare_flags(p, demo: bool) -> None:
    from asnn_sim.app.choices import DATASETS, MODEL_NAMES, RESIDUALS
    from asnn_sim.app.pipeline import DEFAULT_CACHE, DEFAULT_SEEDS

    if not demo:
        p.add_argument("--model", default="lenet", choices=sorted(MODEL_NAMES), help="network (default lenet)")
        p.add_argument("--residual", default="standard", choices=RESIDUALS,
                       help="ResNet shortcuts: standard (added as a current) or sew (added after the neuron) (default standard)")
        p.add_argument("--dataset", default="digits", choices=DATASETS, help="(default digits)")
        p.add_argument("--data-dir", help=DATA_DIR_HELP)
        p.add_argument("--encodings", default=",".join(DEMO_ENCODINGS), help="comma list of encodings (default direct,temporal,hybrid)")
        p.add_argument("--timesteps", "-T", type=_positive_int, default=4, help="(default 4)")
        p.add_argument("--asnn", default=True, action=argparse.BooleanOptionalAction, help="ASNN or plain LIF neurons (default --asnn)")
        p.add_argument("--no-ann", dest="ann", action="store_false", help="skip the ANN twin (no zero-skip baseline or ANN point)")
    p.add_argument("--seeds", default=",".join(map(str, DEFAULT_SEEDS)), metavar="LIST",
                   help="training seeds: a comma list and/or ranges, e.g. 0,1,2 or 0-4 or 7; every model is trained "
                        "once per seed and the report gives the mean and the min-max over seeds "
                        f"(default {','.join(map(str, DEFAULT_SEEDS))})")
    p.add_argument("--out", type=Path, default=Path("reports/demo") if demo else None, required=not demo,
                   help="report folder" + (" (default reports/demo)" if demo else ""))
    p.add_argument("--hw", help="comma list of hardware profiles (default: every shipped profile; see `asnn profiles`)")
    p.add_argument("--epochs", type=_positive_int, default=30, help="training epochs per model (default 30)")
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE,
                   help=f"trained runs are kept here and reused when the configuration matches (default {DEFAULT_CACHE})")
    p.add_argument("--device", default="auto", choices=choices.train_devices(), help="training device (default auto)")
    p.add_argument("--limit", type=_positive_int, help="replay only the first N test samples")
    p.add_argument("--force", action="store_true",
                   help=("write into OUT even if it holds files that are not an earlier asnn report "
                         "(an earlier report in OUT is rewritten without --force)") if demo
                   else "overwrite an existing report folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_cluster_flags(p)


def add_compare_parser(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="train, replay and price several encodings (and the ANN twin); write a report",
        formatter_class=_Formatter,
        description=(
            "For each encoding and seed: train (or reuse a cached run with the same configuration),\n"
            "export, replay the test set with a parity check, and estimate energy on each profile; the\n"
            "same for the ANN twin. Writes REPORT/summary.md with tables (CSV, Parquet) and figures:\n"
            "mean and min-max over the seeds, SNN/ANN against the dense and the zero-skipping ANN, and\n"
            "a verdict only where every seed falls on the same side of 1."
        ),
        epilog=(
            "examples:\n"
            "  asnn compare --model lenet --dataset digits --encodings direct,temporal,hybrid --timesteps 4 \\\n"
            "               --hw cmos45-fp32-arith,cmos45-int8-sram,loihi --out reports/digits-T4\n"
            "  asnn compare --encodings hybrid --seeds 0-4 --out reports/hybrid-5-seeds\n"
            "  asnn compare --encodings hybrid --seeds 0 --epochs 5 --out reports/quick   # one seed: no verdicts\n"
            "  asnn compare --seeds 0-4 --workers 2 --out reports/five-seeds   # the models' jobs on 2 Dask workers"
        ),
    )
    _add_compare_flags(p, demo=False)
    p.set_defaults(handler=run_compare)


def add_demo_parser(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="the whole pipeline on digits: direct, temporal and hybrid coding vs the ANN",
        formatter_class=_Formatter,
        description=(
            "Train the digits LeNet with direct, temporal and hybrid coding (ASNN, T=4) and its ANN\n"
            "twin for seeds 0, 1 and 2, replay the test set in the event-driven simulator, estimate\n"
            "energy on every shipped profile, and write a report (default reports/demo). Cached runs\n"
            "are reused. An earlier asnn report in OUT is rewritten; any other non-empty OUT is\n"
            "refused unless --force."
        ),
        epilog=(
            "examples:\n"
            "  asnn demo                                   # what `make demo` runs\n"
            "  asnn demo --seeds 0 --epochs 5 --limit 100 --hw cmos45-int8-sram,loihi --out reports/quick"
        ),
    )
    _add_compare_flags(p, demo=True)
    p.set_defaults(handler=run_demo, model="lenet", residual="standard", dataset="digits", data_dir=None,
                   encodings=",".join(DEMO_ENCODINGS), timesteps=4, asnn=True, ann=True)


def run_compare(args: argparse.Namespace) -> None:
    import time

    from asnn_sim.app.pipeline import parse_seeds, prepare_seeds
    from asnn_sim.app.report import build_report
    from asnn_sim.training.train import TrainConfig
    from asnn_sim.app.energy_cli import hw_names

    start = time.perf_counter()
    encodings = [e.strip() for e in args.encodings.split(",") if e.strip()]
    if not encodings:
        raise ValueError("--encodings: give at least one encoding")
    if len(set(encodings)) != len(encodings):
        raise ValueError("--encodings: an encoding is listed twice")
    seeds = parse_seeds(args.seeds)
    hw = hw_names(args.hw)  # unknown names get the closest shipped one
    from hw_models import load_profile

    for name in hw:  # fail on a bad profile before training anything
        load_profile(name)
    # The demo rewrites its own earlier report; anything else needs --force.
    force = args.force or (getattr(args, "rewrite_own_report", False) and is_asnn_report(args.out))
    if args.cache_dir.exists() and not args.cache_dir.is_dir():
        raise ValueError(f"--cache-dir {args.cache_dir} is a file, not a folder")
    common = dict(model=args.model, residual=args.residual, dataset=args.dataset, data_dir=args.data_dir,
                  timesteps=args.timesteps, epochs=args.epochs, seed=seeds[0])
    configs = [TrainConfig(encoding=e, asnn=args.asnn, **common) for e in encodings]
    if args.ann:
        configs.append(TrainConfig(ann=True, **common))
    from asnn_sim.app.report import REPORT_FILES
    from asnn_sim.scale.cluster import ClusterSpec
    from asnn_sim.util.folders import output_folder

    cluster = ClusterSpec(args.workers, args.scheduler)
    options = dict(device=args.device, limit=args.limit, progress=not args.quiet)
    # Locked and checked before training anything; the report appears (or is replaced) whole.
    with output_folder(args.out, REPORT_FILES, force=force, hint="pass --force to overwrite the report") as stage:
        if cluster.active:
            from asnn_sim.scale.cluster import connect, worker_count

            with connect(cluster) as client:
                print(f"running {len(configs) * len(seeds)} train/replay jobs on {worker_count(client)} Dask workers")
                runs = prepare_seeds(configs, seeds, args.cache_dir, client=client, **options)
        else:
            runs = prepare_seeds(configs, seeds, args.cache_dir, **options)
        report = build_report(runs, hw, stage)
    print()
    print(report.headline_markdown)
    print()
    print(f"report: {args.out / 'summary.md'}  ({time.perf_counter() - start:.0f} s)")


def is_asnn_report(folder: Path) -> bool:
    """Whether ``folder`` holds a report written by ``asnn compare``/``asnn demo`` (its ``report.json``)."""
    try:
        meta = json.loads((Path(folder) / "report.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and "asnn_sim_version" in meta and "models" in meta


def run_demo(args: argparse.Namespace) -> None:
    # `make demo` runs again and again into reports/demo: an earlier report there is ours to
    # rewrite; a folder holding anything else is refused unless --force (as compare does).
    args.rewrite_own_report = True
    run_compare(args)


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
            "`asnn demo` does all of it for three encodings and writes a report.\n\n"
            "a model from snnTorch, SpikingJelly, ... (exported to NIR by its framework):\n"
            "  asnn import model.nir -o model.asnn                  # forward Euler at dt = 1e-4 s\n"
            "  asnn simulate model.asnn --inputs frames.npy --layout TN --out counts/model"
        ),
    )
    parser.add_argument("--version", action="version", version=f"asnn-sim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in _COMMANDS:
        add(sub)
    return parser


_COMMANDS = [
    add_train_parser,
    add_export_parser,
    add_import_parser,
    add_simulate_parser,
    add_energy_parser,
    add_profiles_parser,
    add_compare_parser,
    add_demo_parser,
]


def main(argv: list[str] | None = None) -> int:
    """Run the ``asnn`` command; returns the exit code.

    0 on success; 1 on bad input (one line, ``asnn: error: ...``); 130 when interrupted
    (with how to continue, where that exists); 141 when the reader of the output went
    away (``asnn profiles | head``), quietly, as a tool killed by SIGPIPE.
    """
    try:
        code = _main(argv)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        _stdout_to_devnull()
        return 141


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error already printed
        return int(e.code or 0)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 1
    try:
        # Before a handler loads torch or Numba: their OpenMP runtime reads its settings once.
        threads.prepare(getattr(args, "threads", None))
        allocator.keep_freed_memory()
        args.handler(args)
    except KeyboardInterrupt:
        print(f"asnn: interrupted{_interrupt_hint(args)}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise
    except (ValueError, OSError) as e:
        # Every user-facing error of the package is a ValueError subclass with a one-line
        # message; an OSError (a path that is a file, a full disk) is named by its path.
        if isinstance(e, OSError) and e.filename is not None and e.strerror:
            message = f"{e.filename}: {e.strerror[:1].lower()}{e.strerror[1:]}"
        else:
            message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"asnn: error: {message}", file=sys.stderr)
        return 1
    return 0


def _interrupt_hint(args: argparse.Namespace) -> str:
    """How to continue after Ctrl-C, where the command can (appended to "asnn: interrupted")."""
    import shlex

    if args.command == "train":
        if (args.out / "checkpoint.pt").is_file():
            return f"; the finished epochs are saved: continue with `asnn train --out {shlex.quote(str(args.out))} --resume`"
        return "; no epoch had finished, so there is nothing to resume"
    if args.command in ("compare", "demo"):
        return (
            "; run the same command again to continue: finished models are reused from the cache "
            f"({args.cache_dir}) and an interrupted training resumes from its last finished epoch"
        )
    return ""


def _stdout_to_devnull() -> None:
    """Point stdout at /dev/null, so that flushing it at exit cannot fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (captured in tests)
        pass


if __name__ == "__main__":
    sys.exit(main())
