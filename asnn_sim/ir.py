"""The exported graph: typed nodes, their edges, and the ``.asnn`` file format.

A :class:`Graph` is a list of nodes in execution order; each node names the nodes it
reads (``inputs``), which are its incoming edges. Shapes are per sample and follow
PyTorch's channel-first layout, e.g. ``(C, H, W)``. Per-timestep arrays (``leak``,
``gain``, ``scale``, ``weight_set``) have one entry per timestep, so the ASNN neuron is
stored exactly as trained.

Node types
----------
``input``      the encoded input; records the encoder
``conv2d``     weights ``(S, C_out, C_in, kh, kw)``, bias ``(S, C_out)``; ``S`` weight sets and
               ``weight_set[t]`` choosing one per step (the hybrid first layer has two)
``linear``     weights ``(S, out, in)``, bias ``(S, out)``, ``weight_set[t]``
``maxpool2d``  on spikes this is an OR over the window
``avgpool2d``
``flatten``    ``(C, H, W)`` to ``C*H*W`` in C-major order, as ``torch.flatten``
``neuron``     LIF/ASNN: ``mem = leak[t]*mem + gain[t]*x``; spike if ``mem - threshold > 0``;
               soft reset ``mem -= threshold``
``relu``       the ANN twin's activation
``add``        element-wise sum of its inputs (residual connections; sums of spikes are graded)
``readout``    prediction logits ``mean_t(scale[t] * x_t)`` (``scale`` absent: unscaled)

File format
-----------
One safetensors file (no pickle anywhere): every array is a tensor named
``"<node>.<field>"``; the header metadata holds ``format``, ``schema_version`` and the
graph as JSON (node types, attributes, and a SHA-256 of every array, so flipped bytes
are caught). :func:`load_graph` validates everything and names the node at fault.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

FORMAT = "asnn-graph"
SCHEMA_VERSION = 1
FLOAT_DTYPES = (np.float32, np.float64)


class GraphError(ValueError):
    """An invalid graph or graph file; the message names the node and the problem."""


def _fail(node: str, problem: str) -> GraphError:
    return GraphError(f"node {node!r}: {problem}")


# ---------------------------------------------------------------- nodes


@dataclass
class Node:
    """Base class: a named operation reading the outputs of ``inputs``.

    Subclasses list their numpy fields in ``ARRAYS`` and their JSON fields in ``ATTRS``;
    ``__post_init__`` checks what a node can check alone (dtypes, finiteness, ranks);
    :meth:`output_shape` checks it against its input shapes.
    """

    name: str
    inputs: tuple[str, ...]

    kind: ClassVar[str] = ""
    ARRAYS: ClassVar[tuple[str, ...]] = ()
    ATTRS: ClassVar[tuple[str, ...]] = ()
    N_INPUTS: ClassVar[int | None] = 1

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or "." in self.name:
            raise GraphError(f"invalid node name {self.name!r} (non-empty, no dots)")
        self.inputs = tuple(self.inputs)
        if self.N_INPUTS is not None and len(self.inputs) != self.N_INPUTS:
            raise _fail(self.name, f"a {self.kind} node takes {self.N_INPUTS} input(s), got {len(self.inputs)}")
        for a in self.ARRAYS:
            value = getattr(self, a)
            if value is None:
                continue
            value = np.asarray(value)
            if value.dtype.kind == "f":
                if value.dtype not in FLOAT_DTYPES:
                    raise _fail(self.name, f"{a} has dtype {value.dtype}; expected float32 or float64")
                if not np.isfinite(value).all():
                    raise _fail(self.name, f"{a} contains NaN or infinite values")
            elif value.dtype.kind in "iu":
                value = value.astype(np.int64)
            else:
                raise _fail(self.name, f"{a} has unsupported dtype {value.dtype}")
            setattr(self, a, value)
        self.check()

    def check(self) -> None:
        """Checks of the node's own fields (ranks, consistency)."""

    def output_shape(self, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        """Shape of one sample's output, given the input shapes; raises on mismatch."""
        raise NotImplementedError

    def arrays(self) -> dict[str, np.ndarray]:
        return {a: getattr(self, a) for a in self.ARRAYS if getattr(self, a) is not None}

    def attrs(self) -> dict:
        return {a: getattr(self, a) for a in self.ATTRS}


def _expect_rank(node: Node, what: str, array: np.ndarray, rank: int) -> None:
    if array.ndim != rank:
        raise _fail(node.name, f"{what} must have {rank} dimensions, got shape {array.shape}")


def _pair(node: Node, what: str, value) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        value = (value, value)
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise _fail(node.name, f"{what} must be an int or a pair, got {value}")
    return value


@dataclass
class Input(Node):
    """The network input: ``shape`` ``(C, H, W)`` per sample; ``encoder`` as EncoderSpec.to_dict."""

    shape: tuple[int, ...] = ()
    encoder: dict | None = None
    kind: ClassVar[str] = "input"
    ATTRS = ("shape", "encoder")
    N_INPUTS = 0

    def check(self) -> None:
        self.shape = tuple(int(s) for s in self.shape)
        if len(self.shape) != 3 or min(self.shape) < 1:
            raise _fail(self.name, f"input shape must be (C, H, W) with positive sizes, got {self.shape}")

    def output_shape(self, in_shapes):
        return self.shape


@dataclass
class _Synaptic(Node):
    """Shared by conv2d and linear: weight sets and the per-step choice among them."""

    weight: np.ndarray = None
    bias: np.ndarray = None
    weight_set: np.ndarray = None  # (T,) index into the first axis of weight and bias
    ARRAYS = ("weight", "bias", "weight_set")
    WEIGHT_RANK: ClassVar[int] = 0

    def check(self) -> None:
        if self.weight is None or self.bias is None or self.weight_set is None:
            raise _fail(self.name, "weight, bias and weight_set are required")
        _expect_rank(self, "weight", self.weight, self.WEIGHT_RANK)
        _expect_rank(self, "bias", self.bias, 2)
        _expect_rank(self, "weight_set", self.weight_set, 1)
        sets, out = self.weight.shape[:2]
        if self.bias.shape != (sets, out):
            raise _fail(self.name, f"bias has shape {self.bias.shape}, expected {(sets, out)}")
        if self.weight_set.size and (self.weight_set.min() < 0 or self.weight_set.max() >= sets):
            raise _fail(self.name, f"weight_set entries must lie in [0, {sets}); got {self.weight_set.tolist()}")

    @property
    def n_sets(self) -> int:
        return self.weight.shape[0]


@dataclass
class Conv2d(_Synaptic):
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    kind: ClassVar[str] = "conv2d"
    ATTRS = ("stride", "padding")
    WEIGHT_RANK = 5

    def check(self) -> None:
        super().check()
        self.stride = _pair(self, "stride", self.stride)
        self.padding = _pair(self, "padding", self.padding)
        if min(self.stride) < 1 or min(self.padding) < 0:
            raise _fail(self.name, f"stride must be >= 1 and padding >= 0; got {self.stride}, {self.padding}")

    def output_shape(self, in_shapes):
        (shape,) = in_shapes
        _, c_out, c_in, kh, kw = self.weight.shape
        if len(shape) != 3 or shape[0] != c_in:
            raise _fail(self.name, f"weight expects {c_in} input channels, but the input has shape {shape}")
        h = (shape[1] + 2 * self.padding[0] - kh) // self.stride[0] + 1
        w = (shape[2] + 2 * self.padding[1] - kw) // self.stride[1] + 1
        if h < 1 or w < 1:
            raise _fail(self.name, f"kernel {kh}x{kw} does not fit the padded input {shape}")
        return (c_out, h, w)


@dataclass
class Linear(_Synaptic):
    kind: ClassVar[str] = "linear"
    WEIGHT_RANK = 3

    def output_shape(self, in_shapes):
        (shape,) = in_shapes
        _, out, n_in = self.weight.shape
        if shape != (n_in,):
            raise _fail(self.name, f"weight expects {n_in} input features, but the input has shape {shape}")
        return (out,)


@dataclass
class _Pool(Node):
    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] = (2, 2)
    ATTRS = ("kernel", "stride")

    def check(self) -> None:
        self.kernel = _pair(self, "kernel", self.kernel)
        self.stride = _pair(self, "stride", self.stride)
        if min(self.kernel) < 1 or min(self.stride) < 1:
            raise _fail(self.name, "kernel and stride must be >= 1")

    def output_shape(self, in_shapes):
        (shape,) = in_shapes
        if len(shape) != 3:
            raise _fail(self.name, f"pooling needs a (C, H, W) input, got {shape}")
        h = (shape[1] - self.kernel[0]) // self.stride[0] + 1
        w = (shape[2] - self.kernel[1]) // self.stride[1] + 1
        if h < 1 or w < 1:
            raise _fail(self.name, f"pool {self.kernel} does not fit the input {shape}")
        return (shape[0], h, w)


@dataclass
class MaxPool2d(_Pool):
    kind: ClassVar[str] = "maxpool2d"


@dataclass
class AvgPool2d(_Pool):
    kind: ClassVar[str] = "avgpool2d"


@dataclass
class Flatten(Node):
    kind: ClassVar[str] = "flatten"

    def output_shape(self, in_shapes):
        (shape,) = in_shapes
        return (int(np.prod(shape)),)


@dataclass
class Neuron(Node):
    """LIF/ASNN neurons; ``per_timestep`` records whether training learned one value per step."""

    leak: np.ndarray = None
    gain: np.ndarray = None
    threshold: float = 1.0
    per_timestep: bool = True
    kind: ClassVar[str] = "neuron"
    ARRAYS = ("leak", "gain")
    ATTRS = ("threshold", "per_timestep")

    def check(self) -> None:
        if self.leak is None or self.gain is None:
            raise _fail(self.name, "leak and gain are required")
        _expect_rank(self, "leak", self.leak, 1)
        _expect_rank(self, "gain", self.gain, 1)
        if self.leak.shape != self.gain.shape:
            raise _fail(self.name, f"leak {self.leak.shape} and gain {self.gain.shape} differ in length")
        if not (isinstance(self.threshold, (int, float)) and math.isfinite(self.threshold) and self.threshold > 0):
            raise _fail(self.name, f"threshold must be a positive number, got {self.threshold!r}")
        self.per_timestep = bool(self.per_timestep)

    def output_shape(self, in_shapes):
        return in_shapes[0]


@dataclass
class ReLU(Node):
    kind: ClassVar[str] = "relu"

    def output_shape(self, in_shapes):
        return in_shapes[0]


@dataclass
class Add(Node):
    kind: ClassVar[str] = "add"
    N_INPUTS = None

    def check(self) -> None:
        if len(self.inputs) < 2:
            raise _fail(self.name, f"an add node needs at least 2 inputs, got {len(self.inputs)}")

    def output_shape(self, in_shapes):
        if len(set(in_shapes)) != 1:
            raise _fail(self.name, f"inputs of an add must have equal shapes, got {in_shapes}")
        return in_shapes[0]


@dataclass
class Readout(Node):
    """Prediction logits: the mean over steps of ``scale[t] * x_t`` (no scale: plain mean)."""

    scale: np.ndarray | None = None
    kind: ClassVar[str] = "readout"
    ARRAYS = ("scale",)

    def check(self) -> None:
        if self.scale is not None:
            _expect_rank(self, "scale", self.scale, 1)

    def output_shape(self, in_shapes):
        (shape,) = in_shapes
        if len(shape) != 1:
            raise _fail(self.name, f"readout needs a vector of logits, got shape {shape}")
        return shape


NODE_TYPES: dict[str, type[Node]] = {
    cls.kind: cls for cls in (Input, Conv2d, Linear, MaxPool2d, AvgPool2d, Flatten, Neuron, ReLU, Add, Readout)
}
SYNAPTIC_KINDS = ("conv2d", "linear")
ACTIVATION_KINDS = ("neuron", "relu", "readout")


# ---------------------------------------------------------------- graph


@dataclass
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
    """

    nodes: list[Node]
    kind: str
    timesteps: int
    class_names: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.shapes = self._validate()

    # -- structure

    def _validate(self) -> dict[str, tuple[int, ...]]:
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
        consumers: dict[str, list[Node]] = {}
        for node in self.nodes:
            if node.name in shapes:
                raise _fail(node.name, "the name is used twice")
            if isinstance(node, Input) and node is not self.nodes[0]:
                raise _fail(node.name, "only one input node is allowed")
            for src in node.inputs:
                if src not in shapes:
                    raise _fail(node.name, f"reads {src!r}, which is not an earlier node")
                consumers.setdefault(src, []).append(node)
            self._check_steps(node)
            shapes[node.name] = tuple(node.output_shape([shapes[s] for s in node.inputs]))
        for node in self.nodes:
            if node.kind in SYNAPTIC_KINDS:
                after = consumers.get(node.name, [])
                if len(after) != 1 or after[0].kind not in ACTIVATION_KINDS:
                    raise _fail(node.name, "a conv2d/linear output must feed exactly one neuron, relu or readout node")
                if (after[0].kind == "relu") != (self.kind == "ann") and after[0].kind != "readout":
                    raise _fail(after[0].name, f"a {after[0].kind} node does not belong in an {self.kind} graph")
            elif node.kind in ACTIVATION_KINDS:
                (src,) = node.inputs
                if self.node(src).kind not in SYNAPTIC_KINDS:
                    raise _fail(node.name, f"must read a conv2d or linear node, reads {src!r}")
        return shapes

    def _check_steps(self, node: Node) -> None:
        steps = {
            "weight_set": getattr(node, "weight_set", None),
            "leak": getattr(node, "leak", None),
            "gain": getattr(node, "gain", None),
            "scale": getattr(node, "scale", None),
        }
        for what, arr in steps.items():
            if arr is not None and len(arr) != self.timesteps:
                raise _fail(node.name, f"{what} has {len(arr)} entries, expected one per timestep ({self.timesteps})")

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    @property
    def input(self) -> Input:
        return self.nodes[0]

    @property
    def n_classes(self) -> int:
        return self.shapes[self.nodes[-1].name][0]

    def consumers(self, name: str) -> list[Node]:
        return [n for n in self.nodes if name in n.inputs]

    def synaptic_layers(self) -> list[tuple[Node, Node]]:
        """Each conv2d/linear node with the activation node (neuron/relu/readout) it feeds."""
        return [(n, self.consumers(n.name)[0]) for n in self.nodes if n.kind in SYNAPTIC_KINDS]


# ---------------------------------------------------------------- file I/O


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def save_graph(graph: Graph, path: str | os.PathLike) -> None:
    """Write ``graph`` to a ``.asnn`` file atomically (safetensors, no pickle)."""
    from safetensors.numpy import save_file

    from asnn_sim.atomic import atomic_path

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
    meta = {"format": FORMAT, "schema_version": str(SCHEMA_VERSION), "graph": json.dumps(doc)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def load_graph(path: str | os.PathLike) -> Graph:
    """Read and validate a ``.asnn`` file.

    Raises
    ------
    GraphError
        For anything wrong (unreadable file, wrong format or version, unknown node type,
        missing or corrupted arrays, bad shapes, NaN weights), naming the node at fault.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise GraphError(f"{path}: no such graph file")
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises several types for truncated/garbled files
        raise GraphError(f"{path}: not a readable .asnn file ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'corrupt'})") from None
    if meta.get("format") != FORMAT:
        raise GraphError(f"{path}: not an asnn graph file (format {meta.get('format')!r})")
    if meta.get("schema_version") != str(SCHEMA_VERSION):
        raise GraphError(f"{path}: schema version {meta.get('schema_version')!r} is not supported (this asnn-sim reads {SCHEMA_VERSION})")
    try:
        doc = json.loads(meta["graph"])
        node_docs = doc["nodes"]
        kind, timesteps = doc["kind"], doc["timesteps"]
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise GraphError(f"{path}: graph description is malformed ({e})") from None
    nodes = [_node_from_doc(d, tensors) for d in node_docs]
    return Graph(nodes, kind, timesteps, doc.get("class_names", []), doc.get("metadata", {}))


def _node_from_doc(d: dict, tensors: dict[str, np.ndarray]) -> Node:
    name = d.get("name", "?")
    cls = NODE_TYPES.get(d.get("kind"))
    if cls is None:
        raise _fail(name, f"unknown node type {d.get('kind')!r}; known: {', '.join(NODE_TYPES)}")
    values: dict = {"name": name, "inputs": tuple(d.get("inputs", ()))}
    attrs = d.get("attrs", {})
    unknown = set(attrs) - set(cls.ATTRS)
    if unknown:
        raise _fail(name, f"unknown attribute(s) {', '.join(sorted(unknown))} for a {cls.kind} node")
    values.update(attrs)
    declared = d.get("arrays", {})
    for a in cls.ARRAYS:
        key = f"{name}.{a}"
        if a not in declared:
            continue
        if key not in tensors:
            raise _fail(name, f"array {a} is missing from the file")
        arr = tensors[key]
        info = declared[a]
        if list(arr.shape) != info.get("shape") or str(arr.dtype) != info.get("dtype"):
            raise _fail(name, f"array {a} is {arr.dtype}{list(arr.shape)} but the graph declares {info.get('dtype')}{info.get('shape')}")
        if _digest(arr) != info.get("sha256"):
            raise _fail(name, f"array {a} fails its checksum (the file is corrupted)")
        values[a] = arr
    try:
        return cls(**values)
    except TypeError as e:
        raise _fail(name, f"malformed {cls.kind} node ({e})") from None
