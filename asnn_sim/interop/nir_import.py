"""Import a NIR graph (from snnTorch, SpikingJelly, Norse, Sinabs, Rockpool, ...) as an asnn-sim graph.

NIR (the Neuromorphic Intermediate Representation, package ``nir``) describes neurons as
continuous-time ODEs without a timestep. :func:`import_nir` discretises them with forward
Euler at ``dt`` (``docs/nir.md`` derives each mapping and compares it with the
frameworks' own updates):

==============  ================================================================  ============
NIR             here (per neuron, one step)                                       kind
==============  ================================================================  ============
Affine, Linear  ``I = W x + b``                                                   linear
Conv2d          the same convolution (stride, padding, dilation, groups)          conv2d
SumPool2d       window sum                                                        sumpool2d
AvgPool2d       window mean                                                       avgpool2d
Flatten         to a vector (a whole-sample flatten only)                         flatten
Scale           folded into the synaptic layer before it: ``W' = s W, b' = s b``  --
LIF             ``v = (1 - dt/tau) v + (dt r/tau) I + (dt/tau) v_leak``           neuron
IF              ``v = v + (dt r) I``                                              neuron
Threshold       ``z = I > threshold``: a neuron with leak 0 and gain 1            neuron
LI              ``v = (1 - dt/tau) v + (dt r/tau) I + (dt/tau) v_leak``, no spike li
I               ``v = v + (dt r) I``, no spike                                    li
CubaLIF         ``i = (1 - dt/tau_syn) i + (dt w_in/tau_syn) I``, then LIF on i   cuba_neuron
Output          the readout: mean over steps of what reaches it                   readout
==============  ================================================================  ============

Spiking neurons fire when ``v > v_threshold`` (NIR's and snnTorch's rule; ``compare="ge"``
gives SpikingJelly's ``>=``) and reset to ``v_reset`` (NIR has only the hard reset). A
spike reaches the next layer in the same step. The membrane starts at 0.

Derived coefficients are computed in float64 and, where the file stores a parameter in
float32, rounded to float32: the exporting framework computed with float32 parameters,
and ``1 - dt/tau`` of snnTorch's float32 ``tau = dt/(1 - beta)`` rounds back to exactly its
float32 ``beta``. One value per layer: a leak, gain or reset that differs between the
neurons of a layer is refused (this simulator's neuron has one per layer and step);
thresholds and ``v_leak`` may differ per neuron.

Several edges into one node are summed (an ``add`` node). Nested graphs (snnTorch's
RLeaky/RSynaptic) are flattened; a cycle (a recurrent edge) is refused, naming the
nodes on it. Every problem is one :class:`~asnn_sim.graph.ir.GraphError` naming the NIR node.

Names: a node the file names with a number (snnTorch names layers ``0``, ``1``, ``5``)
is named by its kind and position as :class:`~asnn_sim.interop.builder.GraphBuilder`
names nodes (``fc1``, ``lif1``, ``conv2``); the file's name stays in the node's
``metadata["nir_name"]``. Other names are kept.

NIR has one reset, to ``v_reset``: snnTorch writes its subtract reset (its default)
exactly as its zero reset, so such a model imports as the zero reset. Neurons written
the way snnTorch writes a ``Leaky`` or ``Synaptic`` (``v_reset = v_leak = 0``, input
gain 1) get an :class:`AmbiguousResetWarning` saying so.

``nir`` is an optional dependency (``pip install 'asnn-sim[nir]'``).
"""

from __future__ import annotations

import json
import os
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import numpy as np

from asnn_sim.graph.encoding import EncoderSpec
from asnn_sim.graph.ir import Add, AvgPool2d, Conv2d, Flatten, Graph, GraphError, Input, Linear, Neuron, Readout
from asnn_sim.graph.nodes import KINDS, LeakyIntegrator, SumPool2d
from asnn_sim.graph.nodes.base import fail
from asnn_sim.interop.nir_read import (
    asnn_metadata,
    bypass,
    execution_order,
    flat_name,
    flatten_graph,
    load_nir,
    predecessors,
    readable_names,
    require_nir,
)

__all__ = ["AmbiguousResetWarning", "ImportOptions", "import_nir", "load_nir", "CONVERTERS", "DEFAULT_DT"]

#: The timestep snnTorch and SpikingJelly assume when they write NIR (neither stores it).
DEFAULT_DT = 1e-4
COMPARES = ("gt", "ge")


@dataclass(frozen=True)
class ImportOptions:
    """How to discretise and feed an imported graph.

    Attributes
    ----------
    dt : float
        Forward-Euler timestep in seconds (snnTorch and SpikingJelly export for 1e-4).
    timesteps : int
        T stored in the graph; ``asnn simulate --inputs`` re-times the graph to the frames' T.
    compare : {"gt", "ge"}
        Fire when ``v > threshold`` (NIR, snnTorch) or ``v >= threshold`` (SpikingJelly).
    encoding : str or None
        An image encoder for a ``(C, H, W)`` input (then datasets replay through it); None:
        the graph reads supplied frames.
    """

    dt: float = DEFAULT_DT
    timesteps: int = 4
    compare: str = "gt"
    encoding: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.dt, bool) or not (isinstance(self.dt, (int, float)) and np.isfinite(self.dt) and self.dt > 0):
            raise ValueError(f"dt must be a positive number of seconds, got {self.dt!r}")
        if isinstance(self.timesteps, bool) or not isinstance(self.timesteps, int) or self.timesteps < 1:
            raise ValueError(f"timesteps must be a positive integer, got {self.timesteps!r}")
        if self.compare not in COMPARES:
            raise ValueError(f"compare must be 'gt' (v > threshold) or 'ge' (v >= threshold), got {self.compare!r}")


# ---------------------------------------------------------------- converters


@dataclass
class _Context:
    """What converters use: the options, the nodes built so far and their output shapes."""

    options: ImportOptions
    built: list
    shapes: dict  # our node name -> output shape (checked as we go)
    types: dict  # our node name -> value type
    checked: int = 0  # how many of ``built`` have been shaped and typed

    @property
    def T(self) -> int:
        return self.options.timesteps

    def steps(self, value: float) -> np.ndarray:
        return np.full(self.T, value, dtype=np.float64)


def _array(node_name: str, node, what: str) -> np.ndarray:
    value = getattr(node, what, None)
    if value is None:
        raise fail(node_name, f"{type(node).__name__} has no {what}")
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiu":
        raise fail(node_name, f"{what} must be numeric, got {arr.dtype}")
    if not np.isfinite(arr).all():
        raise fail(node_name, f"{what} contains NaN or infinite values")
    return arr


def _derived(value: np.ndarray, *sources) -> np.ndarray:
    """``value`` (computed in float64) rounded to float32 when every source was float32:
    the exporting framework computed with float32 parameters."""
    value = np.asarray(value, dtype=np.float64)
    if sources and all(np.asarray(s).dtype == np.float32 for s in sources):
        value = value.astype(np.float32).astype(np.float64)
    return value


def _exact(node, name: str, derived):
    """The coefficient ``name`` as :mod:`asnn_sim.interop.nir_export` recorded it
    (``metadata["asnn_exact_<name>"]``, where no float64 ODE parameter reproduces it), when
    it agrees with ``derived`` from the ODE to 1e-9; else ``derived``. A file edited since
    (stale metadata) is read from its ODE parameters."""
    stored = (getattr(node, "metadata", None) or {}).get(f"asnn_exact_{name}")
    if stored is None:
        return derived
    stored = np.asarray(stored, np.float64)
    derived_arr = np.asarray(derived, np.float64)
    if stored.size == 1:  # one coefficient for the layer (the ODE arrays are per neuron)
        stored = np.full(derived_arr.shape, stored.ravel()[0])
    if stored.size == derived_arr.size and np.allclose(stored.ravel(), derived_arr.ravel(), rtol=1e-9, atol=1e-12):
        return stored.reshape(derived_arr.shape)
    return derived


def _one(node_name: str, what: str, value: np.ndarray) -> float:
    """The single value of a per-neuron array that must be uniform."""
    flat = np.asarray(value, dtype=np.float64).ravel()
    if flat.size == 0:
        raise fail(node_name, f"{what} is empty")
    if not (flat == flat[0]).all():
        raise fail(node_name, f"{what} differs between neurons ({flat.min():.6g} to {flat.max():.6g}); "
                              "asnn-sim's neurons share one value per layer")
    return float(flat[0])


def _positive(node_name: str, what: str, arr: np.ndarray) -> None:
    if not (arr > 0).all():
        raise fail(node_name, f"{what} must be positive, got values down to {arr.min()!r}")


def _per_neuron(node_name: str, value: np.ndarray, shape: tuple) -> np.ndarray | None:
    """A per-neuron array (bias, threshold) shaped like the layer (one value stays one)."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 1:
        return arr.reshape(1)
    if arr.size != int(np.prod(shape)):
        raise fail(node_name, f"per-neuron parameters have {arr.size} values but the layer has shape {shape}")
    return arr.reshape(shape)


def _threshold(name, node, shape) -> np.ndarray:
    thr = _per_neuron(name, _array(name, node, "v_threshold"), shape)
    return thr.ravel()[:1].copy() if thr.size > 1 and (thr == thr.ravel()[0]).all() else thr  # one value: stored once


def _reset(name, node) -> dict:
    v_reset = getattr(node, "v_reset", None)
    value = 0.0 if v_reset is None else _one(name, "v_reset", _array(name, node, "v_reset"))
    return {"reset": "hard", "v_reset": value}


def _leaky(ctx, name, node, tau_field: str, shape) -> tuple[float, float, np.ndarray | None]:
    """``(leak, gain, bias)`` of ``tau dv/dt = (v_leak - v) + r I`` under forward Euler."""
    dt = ctx.options.dt
    tau = _array(name, node, tau_field)
    r = _array(name, node, "r")
    _positive(name, tau_field, tau)
    if (tau < dt).any():
        raise fail(name, f"{tau_field} {tau.min():.6g} s is shorter than dt = {dt:g} s: forward Euler would overshoot "
                         "(leak 1 - dt/tau < 0); import with a smaller --dt")
    k = dt / tau.astype(np.float64)
    leak = _one(name, f"the leak 1 - dt/{tau_field}", _exact(node, "leak", _derived(1.0 - k, tau)))
    gain = _one(name, f"the input gain dt*r/{tau_field}", _exact(node, "gain", _derived(k * r.astype(np.float64), tau, r)))
    v_leak = getattr(node, "v_leak", None)
    bias = None
    if v_leak is not None and np.any(np.asarray(v_leak) != 0):
        bias = _per_neuron(name, _exact(node, "bias", _derived(k * np.asarray(v_leak, np.float64), tau, v_leak)), shape)
    return leak, gain, bias


def _conv_pair(name: str, what: str, value) -> tuple[int, int]:
    arr = np.atleast_1d(np.asarray(value)).astype(np.int64)
    if arr.size == 1:
        return int(arr[0]), int(arr[0])
    if arr.size == 2:
        return int(arr[0]), int(arr[1])
    raise fail(name, f"{what} must be one or two integers, got {value!r}")


def convert_affine(ctx, name, node, src, in_shape):
    weight = _array(name, node, "weight").astype(np.float64)
    if weight.ndim != 2:
        raise fail(name, f"weight must be (out, in), got shape {weight.shape}")
    bias = getattr(node, "bias", None)
    bias = None if bias is None else _array(name, node, "bias").astype(np.float64).reshape(1, -1)
    return [Linear(name, (src,), weight=weight[None], bias=bias, weight_set=np.zeros(ctx.T, np.int64))]


def convert_conv2d(ctx, name, node, src, in_shape):
    weight = _array(name, node, "weight").astype(np.float64)
    if weight.ndim != 4:
        raise fail(name, f"Conv2d weight must be (C_out, C_in / groups, kh, kw), got shape {weight.shape}")
    dilation = _conv_pair(name, "dilation", getattr(node, "dilation", 1))
    groups = np.asarray(getattr(node, "groups", 1))
    if groups.size != 1 or groups.ravel()[0] != int(groups.ravel()[0]):
        raise fail(name, f"Conv2d groups must be one integer, got {getattr(node, 'groups')!r}")
    groups = int(groups.ravel()[0])
    padding = node.padding
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same" and all(k % 2 == 1 for k in weight.shape[2:]) and np.all(np.asarray(node.stride) == 1):
            padding = (dilation[0] * (weight.shape[2] - 1) // 2, dilation[1] * (weight.shape[3] - 1) // 2)
        else:
            raise fail(name, f"Conv2d padding {padding!r} is supported only as 'valid', or 'same' with odd kernels and stride 1")
    bias = getattr(node, "bias", None)
    bias = None if bias is None or not np.any(np.asarray(bias) != 0) else _array(name, node, "bias").astype(np.float64).reshape(1, -1)
    return [Conv2d(name, (src,), weight=weight[None], bias=bias, weight_set=np.zeros(ctx.T, np.int64),
                   stride=_conv_pair(name, "stride", node.stride), padding=_conv_pair(name, "padding", padding),
                   dilation=dilation, groups=groups)]


def _pool(cls):
    def convert(ctx, name, node, src, in_shape):
        kernel = _conv_pair(name, "kernel_size", node.kernel_size)
        stride = _conv_pair(name, "stride", kernel if node.stride is None else node.stride)
        return [cls(name, (src,), kernel=kernel, stride=stride, padding=_conv_pair(name, "padding", node.padding))]
    return convert


def convert_flatten(ctx, name, node, src, in_shape):
    start = int(getattr(node, "start_dim", 0))
    end = int(getattr(node, "end_dim", -1))
    rank = len(in_shape)
    if (start % rank, end % rank) != (0, rank - 1):
        raise fail(name, f"Flatten(start_dim={start}, end_dim={end}) of a {in_shape} sample keeps some axes; "
                         "only a whole-sample flatten (start_dim 0, end_dim -1) is supported")
    if rank == 1:
        return []  # already a vector
    return [Flatten(name, (src,))]


def convert_scale(ctx, name, node, src, in_shape):
    """Fold into the synaptic layer producing ``src`` (its current has one reader)."""
    scale = _array(name, node, "scale").astype(np.float64)
    layer = next((n for n in ctx.built if n.name == src), None)
    if not isinstance(layer, (Linear, Conv2d)):
        raise fail(name, "Scale is supported only right after an Affine, Linear or Conv2d (it is folded into its weights)")
    out = layer.weight.shape[1]
    s = np.broadcast_to(scale, in_shape)
    if len(in_shape) == 3:  # a conv's (C, H, W) map: the weights hold one scale per channel
        if not (s == s[:, :1, :1]).all():
            raise fail(name, "a Scale after a Conv2d must be one value per channel to fold into it")
        s = s[:, 0, 0]
    s = s.reshape(out)
    layer.weight = layer.weight * s.reshape((1, out) + (1,) * (layer.weight.ndim - 2))
    if layer.bias is not None:
        layer.bias = layer.bias * s
    return [("alias", src)]


def convert_lif(ctx, name, node, src, in_shape):
    leak, gain, bias = _leaky(ctx, name, node, "tau", in_shape)
    return [Neuron(name, (src,), leak=ctx.steps(leak), gain=ctx.steps(gain), threshold=_threshold(name, node, in_shape),
                   bias=bias, per_timestep=False, compare=ctx.options.compare, **_reset(name, node))]


def convert_if(ctx, name, node, src, in_shape):
    r = _array(name, node, "r")
    gain = _one(name, "the input gain dt*r", _exact(node, "gain", _derived(ctx.options.dt * r.astype(np.float64), r)))
    return [Neuron(name, (src,), leak=ctx.steps(1.0), gain=ctx.steps(gain), threshold=_threshold(name, node, in_shape),
                   per_timestep=False, compare=ctx.options.compare, **_reset(name, node))]


def convert_threshold(ctx, name, node, src, in_shape):
    thr = _per_neuron(name, _array(name, node, "threshold"), in_shape)
    # leak 0: v = I exactly each step (0 * v adds a signed zero), so z = I > threshold
    return [Neuron(name, (src,), leak=ctx.steps(0.0), gain=ctx.steps(1.0), threshold=thr, reset="hard", v_reset=0.0,
                   per_timestep=False, compare=ctx.options.compare)]


def convert_li(ctx, name, node, src, in_shape):
    leak, gain, bias = _leaky(ctx, name, node, "tau", in_shape)
    return [LeakyIntegrator(name, (src,), leak=ctx.steps(leak), gain=ctx.steps(gain), bias=bias)]


def convert_i(ctx, name, node, src, in_shape):
    r = _array(name, node, "r")
    gain = _one(name, "the input gain dt*r", _exact(node, "gain", _derived(ctx.options.dt * r.astype(np.float64), r)))
    return [LeakyIntegrator(name, (src,), leak=ctx.steps(1.0), gain=ctx.steps(gain))]


def convert_cuba_lif(ctx, name, node, src, in_shape):
    dt = ctx.options.dt
    tau_syn = _array(name, node, "tau_syn")
    _positive(name, "tau_syn", tau_syn)
    if (tau_syn < dt).any():
        raise fail(name, f"tau_syn {tau_syn.min():.6g} s is shorter than dt = {dt:g} s; import with a smaller --dt")
    w_in = _array(name, node, "w_in")
    k = dt / tau_syn.astype(np.float64)
    syn_leak = _one(name, "the synaptic leak 1 - dt/tau_syn", _exact(node, "syn_leak", _derived(1.0 - k, tau_syn)))
    syn_gain = _one(name, "the synaptic gain dt*w_in/tau_syn",
                    _exact(node, "syn_gain", _derived(k * w_in.astype(np.float64), tau_syn, w_in)))
    leak, gain, bias = _leaky(ctx, name, node, "tau_mem", in_shape)
    return [KINDS["cuba_neuron"](name, (src,), syn_leak=ctx.steps(syn_leak), syn_gain=ctx.steps(syn_gain), leak=ctx.steps(leak),
                                 gain=ctx.steps(gain), threshold=_threshold(name, node, in_shape), bias=bias,
                                 per_timestep=False, compare=ctx.options.compare, **_reset(name, node))]


#: NIR primitive class name -> converter ``f(ctx, name, node, source, source_shape) -> [our nodes]``.
#: Extend it to import more primitives; unlisted ones are refused with their name.
CONVERTERS: dict[str, Callable] = {
    "Affine": convert_affine,
    "Linear": convert_affine,
    "Conv2d": convert_conv2d,
    "SumPool2d": _pool(SumPool2d),
    "AvgPool2d": _pool(AvgPool2d),
    "Flatten": convert_flatten,
    "Scale": convert_scale,
    "LIF": convert_lif,
    "IF": convert_if,
    "Threshold": convert_threshold,
    "LI": convert_li,
    "I": convert_i,
    "CubaLIF": convert_cuba_lif,
}

#: Primitives refused with a reason more useful than "unsupported".
WHY_NOT = {
    "Conv1d": "1-D convolutions are not supported (2-D only)",
    "Delay": "delays are not supported (a spike reaches the next layer in the same step)",
    "CubaLI": "CubaLI (a current-based integrator without spikes) is not supported yet",
}


# ---------------------------------------------------------------- the import


def import_nir(source, options: ImportOptions | None = None, **kwargs) -> Graph:
    """Read a NIR graph and return the equivalent, validated :class:`~asnn_sim.graph.ir.Graph`.

    Parameters
    ----------
    source : str, Path or nir.NIRGraph
        A ``.nir`` file (as written by ``nir.write`` or a framework's exporter) or a graph.
    options : ImportOptions, optional
        Or its fields as keyword arguments (``dt=``, ``timesteps=``, ``compare=``, ``encoding=``).
        A file written by :func:`asnn_sim.interop.nir_export.export_nir` carries its dt, T,
        encoder and class names in its metadata; they apply where no option is given.

    Returns
    -------
    Graph
        A spiking graph of ``options.timesteps`` steps whose last node is the readout.
        ``metadata["source"]`` records the import (format, dt, compare, file, and where T
        came from: ``timesteps_from`` is ``"given"``, ``"file"`` or ``"default"``). Nodes
        the file names with numbers are named by kind (``fc1``, ``lif1``), the file's name
        kept in ``metadata["nir_name"]``.

    Warns
    -----
    AmbiguousResetWarning
        For neurons in the form snnTorch writes (a subtract-reset model reads as zero reset).

    Raises
    ------
    GraphError
        Naming the NIR node: an unsupported primitive, a shape mismatch, a recurrent
        edge, per-neuron time constants, ...
    """
    nir = require_nir()
    graph = load_nir(source)
    ours = asnn_metadata(graph)
    timesteps_from = "given"
    if options is None:
        defaults = {"dt": ours.get("dt"), "timesteps": ours.get("timesteps")}
        options = ImportOptions(**{**{k: v for k, v in defaults.items() if v is not None}, **kwargs})
        timesteps_from = "given" if "timesteps" in kwargs else ("file" if ours.get("timesteps") is not None else "default")
    nodes, edges, _, _ = flatten_graph(graph)
    _check_size(options.timesteps, sum(type(v).__name__ in STATEFUL for v in nodes.values()))
    top_inputs = [n for n, v in graph.nodes.items() if isinstance(v, nir.Input)]
    top_outputs = [n for n, v in graph.nodes.items() if isinstance(v, nir.Output)]
    if len(top_inputs) != 1 or len(top_outputs) != 1:
        raise GraphError(f"a NIR graph with exactly one Input and one Output node can be imported; this one has "
                         f"{len(top_inputs)} input(s) and {len(top_outputs)} output(s)")
    in_name, out_name = flat_name("", top_inputs[0]), flat_name("", top_outputs[0])
    # nested graphs' Input/Output pass values through, as does an Identity with one source
    # (one with several sums them: it becomes an add node)
    fan_in = Counter(d for _, d in edges)
    passthrough = {n for n, v in nodes.items() if isinstance(v, (nir.Input, nir.Output))
                   or (type(v).__name__ == "Identity" and fan_in[n] <= 1)}
    edges = bypass(nodes, edges, passthrough - {in_name, out_name})
    order = execution_order(nodes, edges)
    preds = predecessors(order, edges, in_name, out_name)

    ctx = _Context(options, [], {}, {})
    alias: dict[str, str] = {}  # NIR name -> our node carrying its value
    built = ctx.built

    for name in order:
        node = nodes[name]
        if name == in_name:
            built.append(_input_node(name, node, options, ours.get("encoder")))
        elif type(node).__name__ == "Identity":  # several sources (one was bypassed): their sum
            built.append(Add(name, tuple(alias.get(s, s) for s in preds[name])))
        else:
            srcs = [alias.get(s, s) for s in preds[name]]
            if len(srcs) > 1:  # NIR sums what several edges bring into a node
                add, srcs = _sum_node(name, node, preds[name], srcs)
                built.append(Add(add, tuple(srcs)))
                _check_new_nodes(ctx)
                srcs = [add]
            (src,) = srcs
            if name == out_name:
                built.extend(_readout(name, src, ctx.shapes[src]))
            else:
                kind = type(node).__name__
                if kind not in CONVERTERS:
                    raise fail(name, WHY_NOT.get(kind, f"NIR primitive {kind} is not supported; supported: {', '.join(sorted(CONVERTERS))}"))
                try:
                    made = CONVERTERS[kind](ctx, name, node, src, ctx.shapes[src])
                except GraphError:
                    raise
                except (TypeError, ValueError, AttributeError) as e:
                    raise fail(name, f"malformed {kind} ({e})") from None
                if not made:
                    alias[name] = src
                for m in made:
                    if isinstance(m, tuple):  # ("alias", node): folded into an existing node
                        alias[name] = m[1]
                    else:
                        built.append(m)
                        if m.name != name:
                            alias[name] = m.name
        _check_new_nodes(ctx)

    built = readable_names(built)
    metadata = {"source": {"format": "nir", "dt": options.dt, "compare": options.compare,
                           "file": None if isinstance(source, nir.NIRGraph) else str(source),
                           "timesteps_from": timesteps_from}}
    n_out = ctx.shapes[ctx.built[-1].name][0]
    class_names = ours.get("class_names") or [str(i) for i in range(n_out)]
    result = Graph(built, "snn", options.timesteps, class_names=list(class_names), metadata=metadata)
    if not ours:  # a file asnn wrote records its resets exactly
        _warn_if_reset_ambiguous(result, nodes)
    return result


# ---------------------------------------------------------------- names and notes


class AmbiguousResetWarning(UserWarning):
    """Imported neurons may have been trained with a reset NIR cannot record (snnTorch's subtract reset)."""


def _warn_if_reset_ambiguous(graph: Graph, nir_nodes: dict) -> None:
    """Warn about neurons in the form snnTorch writes its ``Leaky``/``Synaptic``: its
    subtract reset (the default) and zero reset give the same file, imported as zero."""
    suspects = []
    for node in graph.nodes:
        if node.kind not in ("neuron", "cuba_neuron") or node.reset != "hard" or node.v_reset != 0 or node.bias is not None:
            continue
        source = nir_nodes.get(node.metadata.get("nir_name", node.name))
        # gain 1 (r = tau/dt) to float32 precision: snnTorch's r and tau are float32
        if type(source).__name__ in ("LIF", "CubaLIF") and np.allclose(node.gain, 1.0, rtol=0, atol=1e-6):
            suspects.append(node.name)
    if suspects:
        warnings.warn(AmbiguousResetWarning(
            f"{_listed(suspects)} reset to 0, as the file says; NIR cannot record snnTorch's reset_mechanism='subtract' "
            "(its default), which writes the same file as 'zero': if the model used it, its spikes here differ from "
            "snnTorch's (train with reset_mechanism='zero' for an exact import; docs/nir.md)"), stacklevel=3)


def _listed(names: list[str], most: int = 4) -> str:
    shown = ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")
    return f"node{'s' if len(names) > 1 else ''} {shown}"


#: Primitives that become neurons with per-timestep arrays (leak, gain, threshold, ...).
STATEFUL = ("LIF", "CubaLIF", "IF", "LI", "I", "Threshold")
#: More steps than any recording we know of asks for (10 s at 10 us); a file asking for
#: more is refused before anything is allocated.
MAX_TIMESTEPS = 1_000_000
ARRAYS_PER_NEURON = 4  # float64 arrays of length T per neuron node, at most


def _check_size(timesteps: int, neuron_nodes: int) -> None:
    """Refuse a T the per-step arrays cannot hold, before allocating them (a small file may ask for 1e13)."""
    if timesteps > MAX_TIMESTEPS:
        raise GraphError(f"timesteps {timesteps:,} is more than asnn-sim replays (at most {MAX_TIMESTEPS:,}); "
                         "import with a smaller --timesteps")
    needed = timesteps * neuron_nodes * ARRAYS_PER_NEURON * 8
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not a POSIX system that says
        return
    if needed > free:
        raise GraphError(f"timesteps {timesteps:,} needs {needed / 2**30:,.1f} GiB of per-step arrays for {neuron_nodes} "
                         f"neuron nodes, more than the {free / 2**30:,.1f} GiB of free memory; import with a smaller --timesteps")


def _sum_node(name: str, node, preds: list[str], srcs: list[str]) -> tuple[str, list[str]]:
    """The add node for several edges into ``node``: named ``<node>/sum`` with operands in
    name order, or, for a file asnn wrote, the original add's name and operand order (its
    rounding order) from ``metadata["asnn_sum"]``."""
    raw = (getattr(node, "metadata", None) or {}).get("asnn_sum")
    if raw is not None:
        try:
            meta = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
            order = [str(s).replace(".", "/") for s in meta["inputs"]]
            if sorted(order) == sorted(preds):
                by_pred = dict(zip(preds, srcs))
                return str(meta["name"]), [by_pred[p] for p in order]
        except (ValueError, KeyError, TypeError):
            pass  # not ours after all: fall back to the plain sum
    return f"{name}/sum", srcs


def _input_node(name: str, node, options: ImportOptions, stored_encoder: dict | None = None) -> Input:
    shape = tuple(int(s) for s in np.asarray(node.input_type.get("input", next(iter(node.input_type.values())))).ravel())
    if len(shape) not in (1, 3):
        raise fail(name, f"input shape {shape}: only vectors (n,) and images (C, H, W) are supported")
    encoder = None
    if options.encoding is not None:
        if len(shape) != 3:
            raise fail(name, f"--encoding {options.encoding} needs an image input (C, H, W); this one is {shape}")
        encoder = EncoderSpec(options.encoding, options.timesteps).to_dict()
    elif stored_encoder and stored_encoder.get("timesteps") == options.timesteps:
        encoder = EncoderSpec.from_dict(stored_encoder).to_dict()
    return Input(name, (), shape=shape, encoder=encoder)


def _readout(name: str, src: str, shape: tuple) -> list:
    if len(shape) == 1:
        return [Readout(name, (src,))]
    flat = f"{name}/flatten"
    return [Flatten(flat, (src,)), Readout(name, (flat,))]


def _check_new_nodes(ctx: _Context) -> None:
    """Shapes and value types of the nodes built since the last call (each node once; a
    GraphError names the node). The finished Graph validates everything again."""
    new_nodes, ctx.checked = ctx.built[ctx.checked:], len(ctx.built)  # nodes are only appended
    for node in new_nodes:
        if node.name in ctx.shapes:
            continue
        ctx.shapes[node.name] = tuple(node.output_shape([ctx.shapes[s] for s in node.inputs]))
        ctx.types[node.name] = node.value_type([ctx.types[s] for s in node.inputs], "snn")
