"""The exported graph: typed nodes, their typed edges, and the ``.asnn`` file format.

A :class:`Graph` is a list of nodes in execution order; each node names the nodes it
reads (``inputs``), which are its incoming edges. Shapes are per sample and follow
PyTorch's channel-first layout, e.g. ``(C, H, W)``. Per-timestep arrays (``leak``,
``gain``, ``scale``, ``weight_set``) have one entry per timestep, so the ASNN neuron is
stored exactly as trained.

The node kinds themselves (their fields, equations, simulator, reference and costs) are
in :mod:`asnn_sim.graph.nodes`, one module each; the classes are re-exported here.

Edges are typed (see :mod:`asnn_sim.graph.nodes.base`): a value is a *current* (what a neuron
integrates; produced by conv2d, linear, or an add of currents; read by exactly one node)
or *events* (binary spikes, graded sums, analog values). Validation checks that every
node gets a type it can read, and names the node when it does not.

File format
-----------
One safetensors file (no pickle anywhere): every array is a tensor named
``"<node>.<field>"``; the header metadata holds ``format``, ``schema_version`` and the
graph as JSON (node kinds, attributes, metadata, and a SHA-256 of every array, so
flipped bytes are caught). :func:`load_graph` validates everything and names the node at
fault. Schema history:

* **1** (asnn-sim 0.1): neurons with a scalar ``threshold`` attribute, soft reset only.
* **2**: per-neuron ``threshold`` arrays, ``reset`` soft/hard with ``v_reset``, optional
  neuron and synaptic bias, node ``metadata``, currents that may feed an add.
  Version-1 files are migrated on load.
* **3**: the neuron's ``compare`` attribute (``"gt"``: fire when ``v > threshold``,
  ``"ge"``: when ``v >= threshold``), and the ``cuba_neuron`` kind (current-based LIF).
  A version-2 file has no ``compare`` and loads unchanged: the default is ``"gt"``, the
  only test version 2 knew. Later in schema 3, ``conv2d``'s ``dilation`` and ``groups``
  attributes (PyTorch semantics; weights ``(S, C_out, C_in / groups, kh, kw)``): additive,
  a file without them loads unchanged (defaults 1).
* **4**: a SHA-256 of the whole content (``content_sha256`` in the header: the graph JSON
  as stored, then every tensor's name, dtype, shape and bytes in name order), so an edit
  of the header (a deleted ``arrays`` entry, two arrays swapped with their hash entries)
  is caught as surely as a flipped weight. For every version, a tensor no node declares
  is refused. Version 1-3 files load unchanged (they have no content hash).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asnn_sim.graph.nodes import (
    Add,
    AvgPool2d,
    Conv2d,
    CubaNeuron,
    Flatten,
    Input,
    Linear,
    MaxPool2d,
    Neuron,
    ReLU,
    Readout,
    kind_class,
)
from asnn_sim.graph.nodes.base import CURRENT, GraphError, Node, fail

FORMAT = "asnn-graph"
SCHEMA_VERSION = 4
READABLE_VERSIONS = ("1", "2", "3", "4")

__all__ = [
    "Add", "AvgPool2d", "Conv2d", "CubaNeuron", "Flatten", "Graph", "GraphError", "Input", "Linear", "MaxPool2d", "Neuron",
    "Node", "ReLU", "Readout", "load_graph", "retimed", "save_graph",
]


# ---------------------------------------------------------------- graph


def describe_nodes(nodes, shapes: dict, types: dict) -> str:
    """A table, one line per node: its name, kind, the values it reads, its per-sample
    output shape and the type of value it emits (no weights)."""
    rows = [("node", "kind", "reads", "shape", "emits")]
    for n in nodes:
        rows.append((n.name, n.kind, ", ".join(n.inputs) or "-", "x".join(map(str, shapes[n.name])), types[n.name]))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


@dataclass(repr=False)  # the generated repr would print every weight
class Graph:
    """A validated network graph.

    Attributes
    ----------
    nodes : list of Node
        In execution order; the first is the single ``input`` node, the last the ``readout``.
    kind : {"snn", "ann"}
        A spiking network run for ``timesteps`` steps, or its ANN twin (one step).
    timesteps : int
    class_names : list of str
    metadata : dict
        Free-form provenance (training config, source run, accuracy).
    shapes : dict
        Node name -> per-sample output shape (set by validation).
    types : dict
        Node name -> value type of its output: ``current``, ``binary``, ``graded``,
        ``analog`` or ``events`` (set by validation).
    """

    nodes: list[Node]
    kind: str
    timesteps: int
    class_names: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.shapes, self.types = self._validate()
        self._by_name = {n.name: n for n in self.nodes}

    def _validate(self) -> tuple[dict, dict]:
        if self.kind not in ("snn", "ann"):
            raise GraphError(f"graph kind must be 'snn' or 'ann', got {self.kind!r}")
        if not isinstance(self.timesteps, int) or self.timesteps < 1:
            raise GraphError(f"timesteps must be a positive integer, got {self.timesteps!r}")
        if self.kind == "ann" and self.timesteps != 1:
            raise GraphError(f"an ann graph runs one step; timesteps is {self.timesteps}")
        if not self.nodes or not isinstance(self.nodes[0], Input):
            raise GraphError("the first node must be the input node")
        if not isinstance(self.nodes[-1], Readout):
            raise GraphError("the last node must be a readout node")
        shapes: dict[str, tuple[int, ...]] = {}
        types: dict[str, str] = {}
        consumers: dict[str, list[str]] = {}
        for node in self.nodes:
            if node.name in shapes:
                raise fail(node.name, "the name is used twice")
            if isinstance(node, Input) and node is not self.nodes[0]:
                raise fail(node.name, "only one input node is allowed")
            for src in node.inputs:
                if src not in shapes:
                    raise fail(node.name, f"reads {src!r}, which is not an earlier node")
                consumers.setdefault(src, []).append(node.name)
            for what in node.PER_STEP:
                arr = getattr(node, what)
                if arr is not None and len(arr) != self.timesteps:
                    raise fail(node.name, f"{what} has {len(arr)} entries, expected one per timestep ({self.timesteps})")
            shapes[node.name] = tuple(node.output_shape([shapes[s] for s in node.inputs]))
            types[node.name] = node.value_type([types[s] for s in node.inputs], self.kind)
        for name, value_type in types.items():
            readers = consumers.get(name, [])
            if value_type == CURRENT and len(readers) != 1:
                raise fail(name, f"its current must feed exactly one node (a neuron, relu, readout or add); "
                                 f"it feeds {len(readers)}{': ' + ', '.join(readers) if readers else ''}")
        return shapes, types

    def node(self, name: str) -> Node:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(name) from None

    def __repr__(self) -> str:
        shape = "x".join(map(str, self.input.shape))
        return f"Graph({self.kind}, T={self.timesteps}, {len(self.nodes)} nodes, input {shape}, {self.n_classes} classes)"

    def describe(self) -> str:
        """The graph in words: its kind, timesteps and encoding, then one line per node
        (name, kind, what it reads, output shape, value type).

        Examples
        --------
        >>> from asnn_sim.interop.builder import GraphBuilder
        >>> g = GraphBuilder((1, 2, 2), timesteps=2, encoding="rate").flatten().linear(3).neuron().linear(2).readout().build()
        >>> g
        Graph(snn, T=2, 6 nodes, input 1x2x2, 2 classes)
        >>> print(g.describe())
        snn graph, T=2, rate coding, 2 classes
        node      kind     reads     shape  emits
        input     input    -         1x2x2  events
        flatten1  flatten  input     4      events
        fc1       linear   flatten1  3      current
        lif1      neuron   fc1       3      binary
        fc2       linear   lif1      2      current
        readout   readout  fc2       2      logits
        """
        encoding = self.input.encoder["name"] + " coding" if self.input.encoder else "supplied frames"
        head = f"{self.kind} graph, T={self.timesteps}, {encoding}, {self.n_classes} classes"
        return head + "\n" + describe_nodes(self.nodes, self.shapes, self.types)

    @property
    def input(self) -> Input:
        return self.nodes[0]

    @property
    def readout(self) -> Readout:
        return self.nodes[-1]

    @property
    def n_classes(self) -> int:
        return self.shapes[self.nodes[-1].name][0]

    def consumers(self, name: str) -> list[Node]:
        return [n for n in self.nodes if name in n.inputs]

    def counted_nodes(self) -> list[Node]:
        """The nodes that do work and get rows in the counts tables, in execution order."""
        return [n for n in self.nodes if n.COUNTED]

    def nodes_of_role(self, role: str) -> list[Node]:
        """Nodes whose kind has ``ROLE == role`` (``synapse``, ``neuron``, ``elementwise``, ...)."""
        return [n for n in self.nodes if n.ROLE == role]

    def n_parameters(self) -> int:
        """Weights and biases of the synaptic nodes (every weight set counted)."""
        return sum(a.size for n in self.nodes_of_role("synapse") for k, a in n.arrays().items() if k in ("weight", "bias"))


def retimed(graph: Graph, timesteps: int) -> Graph:
    """``graph`` run for ``timesteps`` steps instead: every per-timestep array must hold one
    value (e.g. an imported NIR graph, or plain LIF), which is repeated; an input encoder
    is re-made for the new T.

    Raises
    ------
    GraphError
        Naming the node whose per-step values differ (an ASNN neuron cannot be re-timed).
    """
    from dataclasses import replace

    if timesteps == graph.timesteps:
        return graph
    nodes = []
    for node in graph.nodes:
        changes = {}
        for what in node.PER_STEP:
            arr = getattr(node, what)
            if arr is None:
                continue
            if not (arr == arr[0]).all():
                raise fail(node.name, f"{what} changes over the {graph.timesteps} steps; the graph cannot run for {timesteps}")
            changes[what] = np.full(timesteps, arr[0], dtype=arr.dtype)
        if isinstance(node, Input) and node.encoder:
            changes["encoder"] = {**node.encoder, "timesteps": timesteps}
        nodes.append(replace(node, **changes) if changes else node)
    return Graph(nodes, graph.kind, timesteps, list(graph.class_names), dict(graph.metadata))


# ---------------------------------------------------------------- file I/O


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def content_sha256(graph_json: str, tensors: dict[str, np.ndarray]) -> str:
    """The whole-content hash of a schema-4 file: its graph JSON, then each tensor in name order."""
    h = hashlib.sha256(graph_json.encode())
    for key in sorted(tensors):
        arr = np.ascontiguousarray(tensors[key])
        h.update(json.dumps([key, str(arr.dtype), list(arr.shape)]).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def save_graph(graph: Graph, path: str | os.PathLike) -> None:
    """Write ``graph`` to a ``.asnn`` file atomically (safetensors, no pickle), schema 4."""
    from safetensors.numpy import save

    from asnn_sim.util.atomic import atomic_path

    tensors: dict[str, np.ndarray] = {}
    described = []
    for n in graph.nodes:
        arrays = n.arrays()
        for a, arr in arrays.items():
            tensors[f"{n.name}.{a}"] = np.ascontiguousarray(arr)
        described.append(
            {
                "name": n.name,
                "kind": n.kind,
                "inputs": list(n.inputs),
                "attrs": n.attrs(),
                "metadata": n.metadata,
                "arrays": {a: {"shape": list(arr.shape), "dtype": str(arr.dtype), "sha256": _digest(arr)} for a, arr in arrays.items()},
            }
        )
    doc = {
        "kind": graph.kind,
        "timesteps": graph.timesteps,
        "class_names": list(graph.class_names),
        "metadata": graph.metadata,
        "nodes": described,
    }
    text = json.dumps(doc)
    meta = {"format": FORMAT, "schema_version": str(SCHEMA_VERSION), "graph": text,
            "content_sha256": content_sha256(text, tensors)}
    data = _deterministic_header(save(tensors, metadata=meta))
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def _deterministic_header(data: bytes) -> bytes:
    """The same safetensors bytes with the header's entries in a fixed order.

    safetensors keeps the metadata in a hash map whose order changes from process to
    process, so the same graph would give different bytes each time; here the metadata
    keys are sorted and the tensors listed by their data offsets (where they already
    are), so equal graphs give byte-identical files.
    """
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    ordered = {"__metadata__": dict(sorted(header.pop("__metadata__", {}).items()))}
    ordered.update(sorted(header.items(), key=lambda item: item[1]["data_offsets"]))
    text = json.dumps(ordered, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # keep the tensor data 8-byte aligned, as safetensors does
    return len(text).to_bytes(8, "little") + text + data[8 + n:]


def load_graph(path: str | os.PathLike) -> Graph:
    """Read and validate a ``.asnn`` file (schema 4, 3 or 2, or 1 migrated on load).

    Raises
    ------
    GraphError
        For anything wrong (unreadable file, wrong format or version, unknown node type,
        missing or corrupted arrays, bad shapes or types, NaN weights), naming the node at fault.
    """
    from safetensors import safe_open

    path = Path(path)
    if path.is_dir():
        raise GraphError(f"{path} is a directory, not an .asnn graph file (asnn export RUN_DIR -o FILE.asnn writes one)")
    if not path.is_file():
        raise GraphError(f"{path}: no such graph file")
    with path.open("rb") as f:
        head = f.read(10)
    # A safetensors file starts with an 8-byte header length and then its JSON header.
    if head[8:10] != b'{"':
        raise GraphError(f"{path} is not an .asnn graph file (asnn export writes one; this file is not in its safetensors format)")
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises several types for truncated/garbled files
        raise GraphError(f"{path}: not a readable .asnn file, truncated or corrupt ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'corrupt'})") from None
    if meta.get("format") != FORMAT:
        raise GraphError(f"{path} is not an .asnn graph file (a safetensors file without the {FORMAT!r} format tag: {meta.get('format')!r})")
    version = meta.get("schema_version")
    if version not in READABLE_VERSIONS:
        raise GraphError(f"{path}: schema version {version!r} is not supported (this asnn-sim reads {', '.join(READABLE_VERSIONS)})")
    try:
        doc = json.loads(meta["graph"])
        _check_doc_shape(doc)
        node_docs = doc["nodes"]
        kind, timesteps = doc["kind"], doc["timesteps"]
        if version == "1":
            node_docs = [_migrate_v1(d) for d in node_docs]
        declared = {f"{d['name']}.{a}" for d in node_docs for a in d.get("arrays", {})}
    except KeyError as e:
        raise GraphError(f"{path}: graph description is malformed (no {e.args[0]!r} where one is required)") from None
    except (TypeError, AttributeError, json.JSONDecodeError) as e:
        raise GraphError(f"{path}: graph description is malformed ({e})") from None
    stray = sorted(set(tensors) - declared)
    if stray:
        raise GraphError(f"{path}: tensor {stray[0]!r} is in the file but no node declares it (the description was edited?)")
    nodes = [_node_from_doc(d, tensors) for d in node_docs]  # each array's own hash names its node
    if int(version) >= 4 and meta.get("content_sha256") != content_sha256(meta["graph"], tensors):
        raise GraphError(f"{path}: content does not match its checksum: the file was changed after asnn-sim wrote it, "
                         "or is corrupt")
    return Graph(nodes, kind, timesteps, doc.get("class_names", []), doc.get("metadata", {}))


#: The JSON type of each field of a node's description in a ``.asnn`` file.
NODE_FIELD_TYPES = {"name": str, "kind": str, "inputs": list, "attrs": dict, "metadata": dict, "arrays": dict}


def _check_doc_shape(doc) -> None:
    """TypeError naming the first part of the graph description that has the wrong JSON type."""
    def need(value, json_type, what):
        if not isinstance(value, json_type):
            name = {dict: "object", list: "list"}.get(json_type, json_type.__name__)
            raise TypeError(f"{what} must be a JSON {name}, not {type(value).__name__}")

    need(doc, dict, "the description")
    need(doc.get("nodes"), list, "'nodes'")
    need(doc.get("class_names", []), list, "'class_names'")
    need(doc.get("metadata", {}), dict, "'metadata'")
    if isinstance(doc.get("timesteps"), bool) or not isinstance(doc.get("timesteps"), int):
        raise TypeError(f"'timesteps' must be an integer, not {doc.get('timesteps')!r}")
    for i, node in enumerate(doc["nodes"]):
        need(node, dict, f"node {i}")
        # JSON types of a node's fields (what each kind accepts is checked by the kind itself)
        for key, json_type in NODE_FIELD_TYPES.items():
            if key in node:
                need(node[key], json_type, f"node {i} ({node.get('name', '?')!r}) '{key}'")
        for a, info in node.get("arrays", {}).items():
            need(info, dict, f"node {i} ({node.get('name', '?')!r}) array {a!r}")


def _migrate_v1(d: dict) -> dict:
    """A schema-1 node description in schema-2 form.

    Schema 1 stored a neuron's threshold as a JSON number (soft reset, no bias); schema 2
    stores it as an array, which the migrated node carries inline (it has no tensor in
    the file and so no checksum to check).
    """
    d = dict(d)
    if d.get("kind") == "neuron":
        attrs = dict(d.get("attrs", {}))
        threshold = attrs.pop("threshold", 1.0)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise GraphError(f"node {d.get('name', '?')!r}: schema-1 threshold must be a number, got {threshold!r}")
        d["attrs"] = attrs
        d["inline"] = {"threshold": np.asarray(float(threshold))}
    return d


def _node_from_doc(d: dict, tensors: dict[str, np.ndarray]) -> Node:
    name = d.get("name", "?")
    cls = kind_class(d.get("kind"), name)
    values: dict = {"name": name, "inputs": tuple(d.get("inputs", ())), "metadata": d.get("metadata", {})}
    attrs = d.get("attrs", {})
    unknown = set(attrs) - set(cls.ATTRS)
    if unknown:
        raise fail(name, f"unknown attribute(s) {', '.join(sorted(unknown))} for a {cls.kind} node")
    values.update(attrs)
    values.update(d.get("inline", {}))
    declared = d.get("arrays", {})
    for a in cls.ARRAYS:
        key = f"{name}.{a}"
        if a not in declared:
            continue
        if key not in tensors:
            raise fail(name, f"array {a} is missing from the file")
        arr = tensors[key]
        info = declared[a]
        if list(arr.shape) != info.get("shape") or str(arr.dtype) != info.get("dtype"):
            raise fail(name, f"array {a} is {arr.dtype}{list(arr.shape)} but the graph declares {info.get('dtype')}{info.get('shape')}")
        if _digest(arr) != info.get("sha256"):
            raise fail(name, f"array {a} fails its checksum (the file is corrupted)")
        values[a] = arr
    try:
        return cls(**values)
    except TypeError as e:
        raise fail(name, f"malformed {cls.kind} node ({e})") from None

