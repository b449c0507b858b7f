"""A NIR file read and flattened: one dict of primitives, one list of edges, one order.

Nested graphs (snnTorch's RLeaky/RSynaptic) become flat names joined with ``/``;
pass-through nodes can be bypassed; the order is topological with ties broken by name
(exporters' edge order is not stable), and a cycle is refused naming its nodes.
:mod:`asnn_sim.interop.nir_import` converts the result; :func:`readable_names` then
names the nodes a file numbers (snnTorch's ``0``, ``1``, ``5``) by kind. A ``.asnn``
file given as NIR is told apart by its header (:func:`is_asnn_file`).
"""

from __future__ import annotations

import heapq
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from asnn_sim.graph.ir import GraphError
from asnn_sim.graph.nodes import kind_class
from asnn_sim.graph.nodes.base import fail


def require_nir():
    """The ``nir`` package, or a one-line ImportError saying how to install it."""
    try:
        import nir
    except ImportError:
        raise ImportError("NIR support needs the nir package: pip install 'asnn-sim[nir]'") from None
    return nir


def load_nir(source) -> Any:
    """A ``nir.NIRGraph`` from a path (``.nir``/HDF5) or the graph itself."""
    nir = require_nir()
    if isinstance(source, nir.NIRGraph):
        return source
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such NIR file")
    if is_asnn_file(path):
        raise GraphError(f"{path} is an asnn graph file, not NIR: it needs no import, use it directly "
                         f"(asnn simulate {path}; asnn_sim.api.load in Python)")
    try:
        return nir.read(path)
    except Exception as e:  # h5py and nir raise many kinds; the user needs one line
        error = e
    # NIR 1.0.x's type inference takes a Conv2d's input channels as weight.shape[1], wrong
    # for a grouped conv (C_out, C_in / groups, kh, kw): read such a file unchecked (the
    # import checks every shape itself), any other failure is the file's
    try:
        graph = nir.read(path, type_check=False)
        if _has_grouped_conv(nir, graph):
            return graph
    except Exception:
        pass
    e = error
    raise GraphError(f"{path}: not a readable NIR file ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'unreadable'})") from None


#: Longest safetensors header read to look for the asnn format tag (a graph's JSON is in it).
MAX_HEADER = 64 * 2**20


def is_asnn_file(path: Path) -> bool:
    """Whether ``path`` is a ``.asnn`` graph file (a safetensors file tagged ``asnn-graph``),
    whatever its name: told from its header, not its suffix."""
    from asnn_sim.graph.ir import FORMAT

    with open(path, "rb") as f:
        head = f.read(8)
        n = int.from_bytes(head, "little") if len(head) == 8 else 0
        if not 2 <= n <= MAX_HEADER or f.read(2) != b'{"':
            return False
        header = b'{"' + f.read(n - 2)
    try:
        meta = json.loads(header).get("__metadata__") or {}
    except (ValueError, AttributeError):
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT


def _has_grouped_conv(nir, graph) -> bool:
    for node in graph.nodes.values():
        if isinstance(node, nir.NIRGraph) and _has_grouped_conv(nir, node):
            return True
        if isinstance(node, nir.Conv2d) and np.any(np.asarray(node.groups) != 1):
            return True
    return False


def flat_name(prefix: str, name: str) -> str:
    # our node names may not contain dots (they key the file's tensors)
    return (prefix + str(name)).replace(".", "/")


def flatten_graph(graph, prefix: str = "") -> tuple[dict, list[tuple[str, str]], dict, dict]:
    """Nodes and edges of ``graph`` with nested graphs inlined.

    Returns ``(nodes, edges, entries, exits)``: for each nested graph, ``entries[name]``
    maps its input names to the flat node(s) its inputs feed and ``exits[name]`` its
    output names to the flat nodes that feed them; the graph's own Input and Output nodes
    are kept (the caller bypasses nested ones).
    """
    nir = require_nir()
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    sub_in: dict[str, dict[str, str]] = {}
    sub_out: dict[str, dict[str, str]] = {}
    for name, node in graph.nodes.items():
        flat = flat_name(prefix, name)
        if isinstance(node, nir.NIRGraph):
            inner, inner_edges, _, _ = flatten_graph(node, flat + "/")
            for inner_name in inner.keys() & nodes.keys():
                raise _collision(inner_name)
            nodes.update(inner)
            edges.extend(inner_edges)
            sub_in[str(name)] = {str(k): flat_name(flat + "/", k) for k, v in node.nodes.items() if isinstance(v, nir.Input)}
            sub_out[str(name)] = {str(k): flat_name(flat + "/", k) for k, v in node.nodes.items() if isinstance(v, nir.Output)}
        else:
            if flat in nodes:
                raise _collision(flat)
            nodes[flat] = node

    def endpoint(ref: str, table: dict) -> str:
        ref = str(ref)
        if ref in table:  # a whole nested graph: its only input/output
            ports = table[ref]
            if len(ports) != 1:
                raise fail(flat_name(prefix, ref), f"a nested graph with {len(ports)} inputs/outputs must be addressed as 'graph.port'")
            return next(iter(ports.values()))
        head, _, port = ref.partition(".")
        if head in table and port in table[head]:
            return table[head][port]
        return flat_name(prefix, ref)

    for src, dst in graph.edges:
        edges.append((endpoint(src, sub_out), endpoint(dst, sub_in)))
    return nodes, edges, sub_in, sub_out


def _collision(flat: str) -> GraphError:
    return GraphError(f"two NIR nodes are both named {flat!r} here (names are flattened with '/' for '.' and for "
                      "nesting, e.g. 'a.b' and node 'b' of subgraph 'a'); rename one")


def bypass(nodes: dict, edges: list, names: set[str]) -> list[tuple[str, str]]:
    """Remove pass-through nodes (nested Input/Output, Identity), joining their edges."""
    for name in names:
        ins = [s for s, d in edges if d == name]
        outs = [d for s, d in edges if s == name]
        edges = [(s, d) for s, d in edges if name not in (s, d)] + [(s, d) for s in ins for d in outs]
        nodes.pop(name)
    return edges


def execution_order(nodes: dict, edges: list) -> list[str]:
    """A topological order, ties broken by name (exporters' edge order is not stable:
    snnTorch's changes with PYTHONHASHSEED); a cycle is a GraphError naming its nodes."""
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    succs: dict[str, list[str]] = {n: [] for n in nodes}
    for s, d in edges:
        for end in (s, d):
            if end not in nodes:
                raise GraphError(f"edge {s!r} -> {d!r}: no node named {end!r} in the NIR graph")
        preds[d].append(s)
        succs[s].append(d)
    key = natural_key
    waiting = {n: len(p) for n, p in preds.items()}
    ready = [(key(n), n) for n, k in waiting.items() if k == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, n = heapq.heappop(ready)
        order.append(n)
        for d in sorted(set(succs[n]), key=key):
            waiting[d] -= succs[n].count(d)
            if waiting[d] == 0:
                heapq.heappush(ready, (key(d), d))
    if len(order) < len(nodes):
        cycle = _a_cycle({n for n in nodes if n not in order}, succs)
        raise fail(cycle[0], "recurrent edge: the cycle " + " -> ".join(cycle + cycle[:1]) + " feeds a node's output back to "
                   "itself; asnn-sim replays feed-forward graphs (no recurrent edges or one-step delays yet)")
    return order


def _a_cycle(left: set[str], succs: dict) -> list[str]:
    """One cycle among ``left`` (nodes a topological sort could not place)."""
    left = set(left)
    while True:  # drop nodes downstream of a cycle: they lead nowhere within ``left``
        dead = {n for n in left if not any(d in left for d in succs[n])}
        if not dead:
            break
        left -= dead
    start = min(left, key=natural_key)
    path, seen = [start], {start: 0}
    while True:
        nxt = min((d for d in succs[path[-1]] if d in left), key=natural_key)
        if nxt in seen:
            return path[seen[nxt]:]
        seen[nxt] = len(path)
        path.append(nxt)


def natural_key(name: str):
    """Sort key putting ``lif2`` before ``lif10``."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name) if p)


def predecessors(order: list[str], edges, in_name: str, out_name: str) -> dict[str, list[str]]:
    """Each node's sources in name order, checking that every node is connected both ways.

    One pass over the edges (linear in the graph's size: a 10,000-node chain converts in
    well under a second, where per-node scans of the edge list took minutes).
    """
    pred_sets: dict[str, set[str]] = {n: set() for n in order}
    succs: dict[str, list[str]] = {n: [] for n in order}
    for s, d in edges:
        pred_sets[d].add(s)
        succs[s].append(d)
    preds = {n: sorted(p, key=natural_key) for n, p in pred_sets.items()}
    if not succs[in_name]:
        raise fail(in_name, "the input feeds nothing")
    if len(preds[out_name]) != 1:
        raise fail(out_name, f"the output must read exactly one node, it reads {len(preds[out_name])}")
    for n in order:
        if n != in_name and not preds[n]:
            raise fail(n, "reads nothing (no edge into it)")
        if n != out_name and not succs[n]:
            raise fail(n, "feeds nothing (no edge out of it, and it is not the output)")
    return preds


def asnn_metadata(graph) -> dict:
    """What :mod:`asnn_sim.interop.nir_export` stored in ``metadata["asnn"]`` (JSON), else {}."""
    raw = (getattr(graph, "metadata", None) or {}).get("asnn")
    if raw is None:
        return {}
    try:
        meta = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
    except ValueError:
        raise GraphError("the NIR file's metadata['asnn'] is not valid JSON") from None
    if not isinstance(meta, dict):
        raise GraphError(f"the NIR file's metadata['asnn'] must be a JSON object, not {type(meta).__name__}")
    expected = {"dt": (int, float), "timesteps": int, "encoder": dict, "class_names": list}
    for key, kind in expected.items():
        value = meta.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, kind)):
            raise GraphError(f"the NIR file's metadata['asnn'][{key!r}] has the wrong type ({type(value).__name__}: "
                             f"{str(value)[:40]!r})")
    if not all(isinstance(c, str) for c in meta.get("class_names") or []):
        raise GraphError("the NIR file's metadata['asnn']['class_names'] must be a list of strings")
    return meta


# ---------------------------------------------------------------- names


#: Kinds named without a number when they are the first of their kind, as GraphBuilder does.
UNNUMBERED = ("input", "readout")


def numbered(name: str) -> bool:
    """Whether a flat NIR name comes from a node the file names with a number (``5``,
    ``5/sum``, ``1/lif`` in a nested graph ``1``; SpikingJelly writes ``_5``): such names
    say nothing to a reader."""
    return name.split("/", 1)[0].lstrip("_").isdigit()


def readable_names(nodes: list) -> list:
    """``nodes`` with every :func:`numbered` name replaced by its kind and position.

    Names follow :class:`~asnn_sim.interop.builder.GraphBuilder` (``NAME_PREFIX`` and a
    count per prefix: ``conv1``, ``lif1``, ``fc2``; ``input`` and ``readout`` bare), skip
    names the file already uses, and keep the file's name in ``metadata["nir_name"]``;
    the readers' ``inputs`` follow. Other names are kept as they are.
    """
    kept = {n.name for n in nodes if not numbered(n.name)}
    counters: dict[str, int] = {}
    new: dict[str, str] = {}
    for node in nodes:
        if numbered(node.name):
            new[node.name] = _fresh_name(node.kind, kept, counters)
            kept.add(new[node.name])
    if not new:
        return nodes
    out = []
    for node in nodes:
        inputs = tuple(new.get(s, s) for s in node.inputs)
        if node.name in new:
            node = replace(node, name=new[node.name], inputs=inputs, metadata={**node.metadata, "nir_name": node.name})
        elif inputs != node.inputs:
            node = replace(node, inputs=inputs)
        out.append(node)
    return out


def _fresh_name(kind: str, taken: set[str], counters: dict[str, int]) -> str:
    if kind in UNNUMBERED and kind not in taken:
        return kind
    prefix = kind_class(kind).NAME_PREFIX or kind
    while True:
        counters[prefix] = counters.get(prefix, 0) + 1
        name = f"{prefix}{counters[prefix]}"
        if name not in taken:
            return name
