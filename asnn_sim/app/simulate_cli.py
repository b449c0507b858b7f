"""``asnn simulate``: replay a dataset or supplied frames through a graph, count, and record.

Registered by :func:`asnn_sim.app.cli.build_parser`; the replay itself is
:func:`asnn_sim.app.replaying.run_replay`, as for :func:`asnn_sim.api.simulate`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from asnn_sim.app.argparsing import DATA_DIR_HELP, add_cluster_flags
from asnn_sim.app.argparsing import Formatter as _Formatter
from asnn_sim.app.argparsing import positive_int as _positive_int


def add_simulate_parser(sub) -> None:
    from asnn_sim.app.choices import CONVENTIONS, DATASETS

    p = sub.add_parser(
        "simulate",
        help="replay a dataset event by event and count every operation",
        formatter_class=_Formatter,
        description=(
            "Replay a dataset (or supplied frames, --inputs) through a .asnn graph in the\n"
            "event-driven simulator, timestep by timestep, and count every synaptic and neuron\n"
            "operation exactly. Writes OUT/counts, OUT/per_sample and OUT/layers (Parquet and\n"
            "CSV) and OUT/summary.json; with --record also OUT/recording.npz, the spike trains\n"
            "(and membranes) of the recorded nodes as (T, N, ...) arrays. Column definitions and\n"
            "counting conventions: docs/counting.md; recordings: docs/python.md; supplied frames\n"
            "and imported graphs: docs/nir.md."
        ),
        epilog=(
            "examples:\n"
            "  asnn simulate hybrid.asnn --dataset digits --split test --out counts/hybrid\n"
            "  asnn simulate hybrid.asnn --out counts/hybrid --check-parity runs/hybrid\n"
            "  asnn simulate direct.asnn --static-input once --precision float32 --out counts/direct-once\n"
            "  asnn simulate model.asnn --inputs frames.npy --layout TN --out counts/model   # an imported graph\n"
            "  asnn simulate resnet19.asnn --inputs val_images.npy --workers 2 --out counts/val   # sharded on Dask\n"
            "  asnn simulate hybrid.asnn --record all --record-membranes --record-samples 10 --out counts/rec"
        ),
    )
    p.add_argument("graph", type=Path, help="graph file written by `asnn export`")
    p.add_argument("--out", type=Path, required=True, help="folder for the counts tables")
    p.add_argument("--inputs", metavar="FILE", type=Path,
                   help="replay a file instead of a dataset: .npy (memory-mapped: only the batches in flight are "
                        "in memory) or .npz with 'frames'/'images' (and 'labels'). For a graph without an encoder, "
                        "supplied frames (each step is spikes if all its values are 0/1, else analog); for one with "
                        "an encoder, images (N, C, H, W) in [0, 1]")
    p.add_argument("--layout", choices=("TN", "NT"),
                   help="with --inputs frames: they are (T, N, ...) or (N, T, ...) (required for frames)")
    p.add_argument("--dataset", choices=DATASETS, help="dataset to replay (default: the one the model was trained on)")
    p.add_argument("--data-dir", help=DATA_DIR_HELP)
    p.add_argument("--split", choices=("test", "train"), default="test", help="(default test)")
    p.add_argument("--limit", type=_positive_int, help="replay only the first N samples")
    p.add_argument("--precision", choices=("float64", "float32"), default="float64",
                   help="simulator arithmetic; float64 matches PyTorch float64 spike for spike (default float64)")
    p.add_argument("--batch-size", type=_positive_int, default=128, help="samples per batch; bounds memory (default 128)")
    p.add_argument("--graded", choices=CONVENTIONS["graded"], default="mac",
                   help="graded inputs (sums of spikes) count one MAC per synapse, or k ACs (default mac)")
    p.add_argument("--skip-zero-weights", action="store_true", help="do not count synapses whose weight is zero")
    p.add_argument("--static-input", choices=CONVENTIONS["static_input"], default="per_step",
                   help="direct coding: compute and count the analog first layer every step, or once (default per_step)")
    p.add_argument("--check-parity", metavar="RUN_DIR", type=Path,
                   help="also run the trained PyTorch model of RUN_DIR in float64 and compare spikes and predictions")
    p.add_argument("--record", metavar="NODES",
                   help="also write OUT/recording.npz with the spike trains of these spiking nodes: 'all', or names "
                        "separated by commas (a name that is not a spiking node is refused with the list of those that are)")
    p.add_argument("--record-membranes", action="store_true",
                   help="with --record: also the membrane potentials before and after the reset")
    p.add_argument("--record-samples", metavar="N", type=_positive_int,
                   help="with --record: only the first N samples (the counts still cover all)")
    p.add_argument("--record-limit-gb", metavar="GB", type=float, default=2.0,
                   help="refuse, before replaying, a recording larger than this (default 2)")
    p.add_argument("--force", action="store_true", help="overwrite the counts files in an existing OUT")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_cluster_flags(p)
    p.set_defaults(handler=run_simulate)


def run_simulate(args: argparse.Namespace) -> None:
    from asnn_sim.app.replaying import ReplayRequest, run_replay
    from asnn_sim.graph.ir import load_graph
    from asnn_sim.scale.cluster import ClusterSpec
    from asnn_sim.sim import Conventions
    from asnn_sim.sim.recording import record_spec
    from asnn_sim.sim.replay import OUTPUT_FILES
    from asnn_sim.util.folders import output_folder

    graph = load_graph(args.graph)
    conventions = Conventions(args.graded, args.skip_zero_weights, args.static_input)
    nodes = None if args.record is None else (True if args.record == "all" else [n.strip() for n in args.record.split(",") if n.strip()])
    if args.record is None and (args.record_membranes or args.record_samples is not None):
        raise ValueError("--record-membranes and --record-samples go with --record NODES (or --record all)")
    record = record_spec(graph, nodes, membranes=args.record_membranes, samples=args.record_samples,
                         limit_gb=args.record_limit_gb)
    cluster = ClusterSpec(args.workers, args.scheduler)
    if args.inputs is None and args.layout:
        raise ValueError("--layout describes --inputs frames; pass --inputs FILE too")
    if args.inputs is not None and (args.dataset or args.check_parity):
        raise ValueError("--inputs replays a file: it does not combine with --dataset or --check-parity")
    if args.inputs is None and graph.input.reads_supplied_frames(graph.kind):
        raise ValueError(f"{args.graph} reads supplied frames (it has no input encoder): pass --inputs FILE --layout TN|NT")
    if args.check_parity and cluster.active:
        raise ValueError("--check-parity runs the PyTorch model beside the replay in one process: drop --workers/--scheduler")
    # The files are staged and --out appears (or is replaced) only when every sample is in:
    # a replay that fails (missing data, Ctrl-C, kill -9, a lost cluster) leaves --out as it was.
    with output_folder(args.out, OUTPUT_FILES, force=args.force) as stage:
        request = ReplayRequest(
            _replay_source(graph, args), precision=args.precision, batch_size=args.batch_size, conventions=conventions,
            progress=not args.quiet, parity_run=args.check_parity, cluster=cluster, graph_file=str(args.graph),
            record=record,
        )
        result, report = run_replay(request)
        result.write(stage)
        print(format_sim_summary(result.summary))
        if report is not None:
            print(report.describe())
        if result.recording is not None:
            print(f"recorded {result.recording!r} in {args.out / 'recording.npz'}")
    print(f"counts written to {args.out}")


def _replay_source(graph, args):
    """What ``asnn simulate`` replays: ``--inputs`` read as supplied frames for a graph
    without an encoder, as images for one with an encoder; else the dataset."""
    from asnn_sim.app.replaying import dataset_source, frame_source, image_source

    if args.inputs is not None and not graph.input.encoder:
        from asnn_sim.graph.frames import load_frames

        if not args.layout:
            raise ValueError("--inputs needs --layout TN (frames are (T, N, ...)) or NT ((N, T, ...)) for a graph without an encoder")
        frames, labels = load_frames(args.inputs, args.layout)
        facts = {"name": "frames", "file": str(args.inputs), "layout": args.layout}
        return frame_source(graph, frames, args.layout, labels, limit=args.limit, facts=facts)
    if args.inputs is not None:
        from asnn_sim.graph.frames import load_images

        if args.layout:
            raise ValueError(f"{args.graph} encodes images itself ({graph.input.encoder['name']} coding): "
                             "--inputs holds images (N, C, H, W), and --layout does not apply")
        images, labels = load_images(args.inputs)
        return image_source(graph, images, labels, limit=args.limit, facts={"name": "images", "file": str(args.inputs)})
    return dataset_source(graph, args.dataset, split=args.split, limit=args.limit, data_dir=args.data_dir)


def format_sim_summary(summary: dict) -> str:
    """The headline lines ``asnn simulate`` prints."""
    per = summary["per_inference"]
    lines = [
        f"{summary['graph']['kind']} graph, {summary['encoding']} coding, T={summary['timesteps']}, "
        f"{summary['n_samples']} samples, {summary['precision']}: "
        + (f"accuracy {summary['accuracy']:.4f}" if summary["accuracy"] is not None else "no labels, no accuracy"),
        "per inference: "
        f"{per['synaptic_acs']:,.0f} ACs, {per['synaptic_macs']:,.0f} MACs "
        f"(dense equivalent {per['dense_macs'] / summary['timesteps']:,.0f} MACs per step), "
        f"{per['output_spikes']:,.0f} spikes, {per['neurons']:,.0f} neuron updates",
    ]
    if per.get("coincidences", 0) or per.get("product_acs", 0) or per.get("product_macs", 0):
        lines.append(f"attention products per inference: {per['coincidences']:,.0f} coincidences, "
                     f"{per['product_acs']:,.0f} product ACs, {per['product_macs']:,.0f} product MACs; "
                     f"{per['kv_first']:,.1f} head-steps in the order Q (K^T V), the rest (Q K^T) V")
    lines += [
        "firing rate per layer (spikes per neuron per step): "
        + ", ".join(f"{k} {v:.3f}" for k, v in summary["firing_rate"].items()),
    ]
    if summary.get("accuracy_by_timesteps") and summary["timesteps"] > 1:
        # t is 0-based here as in every table and figure: "t=0" is the readout after the first step
        lines.append("accuracy of the readout after step t (0-based): "
                     + ", ".join(f"t={i} {a:.4f}" for i, a in enumerate(summary["accuracy_by_timesteps"])))
    lines.append(f"replay: {summary['wall_seconds']:.2f} s, {summary['samples_per_second']:,.0f} samples/s")
    return "\n".join(lines)
