"""``asnn import``: a NIR graph from another framework to a ``.asnn`` graph file.

The conversion itself is :mod:`asnn_sim.interop.nir_import`; the other direction is ``asnn
export --format nir`` (:mod:`asnn_sim.interop.nir_export`). The parser is built without
importing nir, numpy or torch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from asnn_sim.app.argparsing import Formatter, check_output_file
from asnn_sim.app.argparsing import number as _number
from asnn_sim.app.argparsing import positive_int as _positive_int

IMPORT_DESCRIPTION = """\
Import a NIR graph (written by snnTorch's export_to_nir, SpikingJelly's
nir_exchange.export_to_nir, Norse, Sinabs, Rockpool, or nir.write) as a .asnn graph
file that asnn simulate replays and asnn energy prices.

NIR neurons are continuous-time ODEs; they are discretised with forward Euler at --dt
(leak = 1 - dt/tau, input gain = dt*r/tau, bias = dt/tau*v_leak), which reproduces
snnTorch's and SpikingJelly's own updates at the dt they export for (1e-4 s). Neurons
reset to v_reset (NIR's hard reset) and fire when v > v_threshold; SpikingJelly fires at
v >= v_threshold: import its models with --compare ge. See docs/nir.md for every
primitive, what each framework writes, and what is refused.

The graph reads supplied frames (asnn simulate --inputs FILE --layout TN|NT); with
--encoding an image input (C, H, W) is encoded by one of this package's encoders, so
the datasets replay through it."""


def add_import_parser(sub) -> None:
    from asnn_sim.app.choices import ENCODINGS

    p = sub.add_parser(
        "import",
        help="import a NIR graph (snnTorch, SpikingJelly, ...) as a .asnn graph file",
        formatter_class=Formatter,
        description=IMPORT_DESCRIPTION,
        epilog=(
            "examples:\n"
            "  asnn import model.nir -o model.asnn --dt 1e-4 --timesteps 25\n"
            "  asnn import sj.nir -o sj.asnn --compare ge           # a SpikingJelly model\n"
            "  asnn simulate model.asnn --inputs frames.npy --layout TN --out counts/model\n"
            "  asnn energy counts/model --hw loihi,cmos45-int8-sram"
        ),
    )
    p.add_argument("nir_file", type=Path, metavar="NIR_FILE", help="the NIR graph (HDF5, as nir.write writes it)")
    p.add_argument("-o", "--out", "--output", dest="output", metavar="FILE", type=Path, required=True,
                   help="graph file to write (.asnn)")
    p.add_argument("--dt", type=_number, default=None,
                   help="forward-Euler timestep in seconds (default: the file's, if asnn wrote it, else 1e-4, "
                        "what snnTorch and SpikingJelly export for)")
    p.add_argument("--timesteps", "-T", type=_positive_int, default=None,
                   help="T stored in the graph (default: the file's, else 4); asnn simulate --inputs re-times "
                        "the graph to the frames' T anyway")
    p.add_argument("--compare", choices=("gt", "ge"), default="gt",
                   help="fire when v > threshold (gt: NIR, snnTorch; default) or v >= threshold (ge: SpikingJelly)")
    p.add_argument("--encoding", choices=ENCODINGS, default=None,
                   help="encode images with this coding (image inputs only); default: the graph reads supplied frames")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(handler=run_import)


def run_import(args: argparse.Namespace) -> None:
    import warnings

    from asnn_sim.graph.ir import save_graph
    from asnn_sim.interop.nir_import import AmbiguousResetWarning, import_nir

    check_output_file(args.output, args.force)
    given = {k: v for k, v in (("dt", args.dt), ("timesteps", args.timesteps)) if v is not None}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AmbiguousResetWarning)
        graph = import_nir(args.nir_file, compare=args.compare, encoding=args.encoding, **given)
    notes = [str(w.message) for w in caught if issubclass(w.category, AmbiguousResetWarning)]
    for w in caught:  # anything else goes on to Python's usual handling
        if not issubclass(w.category, AmbiguousResetWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    save_graph(graph, args.output)
    for line in import_report(graph, args.output, notes):
        print(line)


def import_report(graph, output, notes: list[str] = ()) -> list[str]:
    """What ``asnn import`` prints: what was imported, how nodes were named, what simulate
    will do with T, and the notes the import raised (one line each)."""
    kinds: dict[str, int] = {}
    for node in graph.nodes:
        kinds[node.kind] = kinds.get(node.kind, 0) + 1
    source = graph.metadata["source"]
    lines = [
        f"imported {len(graph.nodes)} nodes ({', '.join(f'{n} {k}' for k, n in kinds.items())}), "
        f"{graph.n_parameters()} weights+biases, input {graph.input.shape}, {graph.n_classes} outputs; "
        f"dt={source['dt']:g} s, fire at v {'>' if source['compare'] == 'gt' else '>='} threshold; wrote {output}"
    ]
    renamed = [n for n in graph.nodes if "nir_name" in n.metadata]
    if renamed:
        pairs = ", ".join(f"{n.metadata['nir_name']} -> {n.name}" for n in renamed[:6]) + (", ..." if len(renamed) > 6 else "")
        lines.append(f"names: the file numbers its nodes; named by kind ({pairs}), "
                     "the file's name kept in each node's metadata['nir_name']")
    lines.append(timesteps_line(graph))
    lines += [f"note: {note}" for note in notes]
    return lines


#: Where an imported graph's T came from (``metadata["source"]["timesteps_from"]``).
T_FROM = {"given": "--timesteps", "file": "the file's, written by asnn export",
          "default": "the default: the file sets none; --timesteps sets it"}


def timesteps_line(graph) -> str:
    """What ``asnn simulate`` will do with the graph's T: encode images into T steps, or
    re-time the graph to supplied frames' T (where :func:`asnn_sim.graph.ir.retimed` can)."""
    from asnn_sim.graph.ir import GraphError, retimed

    T = graph.timesteps
    head = f"T={T} ({T_FROM.get(graph.metadata['source'].get('timesteps_from'), 'as stored')})"
    if graph.input.encoder:
        return (f"{head}; asnn simulate encodes each image into {T} steps with {graph.input.encoder['name']} coding "
                "(import again with --timesteps for another T)")
    try:
        retimed(graph, T + 1)  # the replay's own test: refused where a per-step value changes
    except GraphError as e:
        reason = str(e).partition(";")[0]  # what varies; not the probe's T + 1
        return f"{head}; asnn simulate --inputs needs frames of exactly {T} steps ({reason})"
    return f"{head}; asnn simulate --inputs re-times the graph to the frames' T (its parameters are constant in time)"
