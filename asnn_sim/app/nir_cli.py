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
    from asnn_sim.graph.ir import save_graph
    from asnn_sim.interop.nir_import import import_nir

    check_output_file(args.output, args.force)
    given = {k: v for k, v in (("dt", args.dt), ("timesteps", args.timesteps)) if v is not None}
    graph = import_nir(args.nir_file, compare=args.compare, encoding=args.encoding, **given)
    save_graph(graph, args.output)
    kinds: dict[str, int] = {}
    for node in graph.nodes:
        kinds[node.kind] = kinds.get(node.kind, 0) + 1
    source = graph.metadata["source"]
    print(
        f"imported {len(graph.nodes)} nodes ({', '.join(f'{n} {k}' for k, n in kinds.items())}), "
        f"{graph.n_parameters()} weights+biases, input {graph.input.shape}, {graph.n_classes} outputs; "
        f"dt={source['dt']:g} s, fire at v {'>' if source['compare'] == 'gt' else '>='} threshold, T={graph.timesteps}; "
        f"wrote {args.output}"
    )
