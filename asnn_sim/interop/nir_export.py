"""Write an asnn-sim graph as NIR, where NIR can say exactly what the graph does.

The inverse of :mod:`asnn_sim.interop.nir_import` at the same ``dt``: a neuron
``v = leak v + gain I + bias`` becomes ``LIF(tau = dt / (1 - leak), r = gain tau / dt,
v_leak = bias tau / dt)`` (``IF`` when ``leak == 1``), a ``cuba_neuron`` a ``CubaLIF``,
``li`` an ``LI`` (``I`` when ``leak == 1``), ``linear`` an ``Affine``/``Linear``, ``conv2d``
a ``Conv2d``, pools and flatten their NIR twins, an ``add`` the edges of its operands
into its reader (NIR sums a node's inputs; the reader's metadata keeps the add's name and
operand order), and the readout the ``Output``. Each ODE parameter is nudged by a few ulps where
needed so that forward Euler at ``dt`` gives back the graph's coefficients bit for bit.
Where no float64 parameter does (the map from ``r`` to ``dt r / tau`` can step over a
gain), the parameter is the nearest and the exact coefficient goes into the node's
metadata (``asnn_exact_gain``, ...), which this package's importer uses: export then
import is always the same graph and the same replay.

What NIR cannot express is refused, one line listing every feature and node
(:func:`nir_problems`): a leak or gain that changes over time (ASNN), the soft reset
(NIR resets to ``v_reset``), the readout scale, firing at ``v >= threshold``, max pooling,
the hybrid first layer's second weight set, ReLU (ANN graphs), spiking self-attention
and token-wise layers. ``asnn train --reset hard --no-asnn --pool avg`` trains a LeNet that
exports.

The input encoder and the class names are not part of the network; they travel in the
NIR graph's metadata (``metadata["asnn"]``, JSON), which other tools ignore.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from asnn_sim.graph.ir import Graph, GraphError
from asnn_sim.interop.nir_import import DEFAULT_DT
from asnn_sim.interop.nir_read import require_nir

__all__ = ["WRITERS", "export_nir", "nir_problems", "write_nir"]

#: Node kinds NIR has a primitive for.
_WHY_NOT = {
    "maxpool2d": "max pooling (NIR has no MaxPool2d: train lenet with --pool avg)",
    "relu": "ReLU (an ANN graph; NIR describes spiking networks)",
    "attention": "spiking self-attention (no NIR primitive)",
    "token_linear": "a token-wise linear layer (no NIR primitive; it is a 1x1 conv, but its tokens layout is not)",
}


def _constant(arr) -> bool:
    return arr is None or bool((np.asarray(arr) == np.asarray(arr).ravel()[0]).all())


def nir_problems(graph: Graph) -> list[str]:
    """Every feature of ``graph`` NIR cannot express, as ``"node 'x': what"`` strings (empty: exportable)."""
    problems = []
    for node in graph.nodes:
        where = f"node {node.name!r}: "
        if node.kind not in WRITERS:
            problems.append(where + _WHY_NOT.get(node.kind, f"{node.kind} (no NIR primitive)"))
            continue
        if WRITERS[node.kind] is None:  # a sum: its operands' edges go into its reader
            readers = graph.consumers(node.name)
            if len(readers) != 1:
                problems.append(where + f"an add read by {len(readers)} nodes (NIR sums a node's inputs where it is read, "
                                        "so the addition would be repeated)")
            elif WRITERS.get(readers[0].kind, 0) is None:
                problems.append(where + "an add of an add (NIR would merge them into one sum)")
        for what in ("leak", "gain", "syn_leak", "syn_gain"):
            if not _constant(getattr(node, what, None)):
                problems.append(where + f"per-timestep {what} (ASNN; NIR's neuron is constant in time: train with --no-asnn)")
        if getattr(node, "reset", "hard") != "hard":
            problems.append(where + "soft reset (NIR resets to v_reset: train with --reset hard)")
        if getattr(node, "compare", "gt") != "gt":
            problems.append(where + "fires at v >= threshold (NIR's neurons fire at v > threshold)")
        for what in ("leak", "syn_leak"):
            arr = getattr(node, what, None)
            if arr is not None and not 0.0 <= float(arr[0]) <= 1.0:
                problems.append(where + f"{what} {float(arr[0])!r} outside [0, 1] (no positive time constant gives it)")
        if getattr(node, "weight_set", None) is not None and node.weight.shape[0] > 1:
            problems.append(where + f"{node.weight.shape[0]} weight sets over time (the hybrid first layer; NIR layers are fixed)")
        scale = getattr(node, "scale", None)
        if scale is not None and not (np.asarray(scale) == 1).all():
            problems.append(where + "readout scale per timestep (ASNN: train with --no-asnn)")
    return problems


def _solve(f, target, x0) -> tuple[np.ndarray, bool]:
    """``x`` near ``x0`` with ``f(x) == target`` exactly (``f`` increasing), moving mismatched
    elements one ulp at a time, and whether every element got there. Not always possible:
    where ``f`` steps by more than one ulp of the target it can jump over it; then ``x`` is
    within an ulp or two, and the caller records the exact target beside it."""
    target = np.asarray(target, np.float64)
    x = np.array(np.broadcast_to(x0, target.shape), np.float64)
    for _ in range(64):
        got = f(x)
        low, high = got < target, got > target
        if not (low.any() or high.any()):
            return x, True
        x = np.where(low, np.nextafter(x, np.inf), np.where(high, np.nextafter(x, -np.inf), x))
    return x, bool((f(x) == target).all())


class _Exact(dict):
    """Coefficients whose ODE parameter could not reproduce them bit for bit, by name:
    stored in the NIR node's metadata (``asnn_exact_<name>``) for this package's importer,
    which uses them when they agree with the ODE parameters (other tools read the ODE)."""

    def solve(self, name: str, f, target, x0):
        x, ok = _solve(f, target, x0)
        if not ok:
            self[name] = np.atleast_1d(np.asarray(target, np.float64))  # h5py writes no 0-d arrays in metadata
        return x


def _tau(leak: float, dt: float, exact: _Exact, name: str) -> float:
    """``tau`` with ``1 - dt/tau == leak`` (``0 <= leak < 1``)."""
    if leak == 0.0:
        return dt
    return float(exact.solve(name, lambda tau: 1.0 - dt / tau, np.array(leak), np.array(dt / (1.0 - leak))))


def _per_neuron(value, shape) -> np.ndarray:
    return np.array(np.broadcast_to(np.asarray(value, np.float64), shape))


def _leaky_params(node, shape, dt: float, exact: _Exact, tau_name: str = "tau") -> dict:
    """ODE parameters of ``v = leak v + gain I + bias`` (``r`` and ``v_leak`` per neuron)."""
    leak, gain = float(node.leak[0]), float(node.gain[0])
    bias = np.zeros(shape) if getattr(node, "bias", None) is None else _per_neuron(node.bias, shape)
    if leak == 1.0:  # an integrator: v += dt r I
        if (bias != 0).any():
            raise GraphError(f"node {node.name!r}: a bias without a leak has no NIR form")
        r = exact.solve("gain", lambda r: dt * r, np.array(gain), np.array(gain / dt))
        return {"r": _per_neuron(r, shape)}
    tau = _tau(leak, dt, exact, "leak")
    k = dt / tau
    r = exact.solve("gain", lambda r: k * r, np.array(gain), np.array(gain / k))
    v_leak = exact.solve("bias", lambda v: k * v, bias, bias / k)
    return {tau_name: _per_neuron(tau, shape), "r": _per_neuron(r, shape), "v_leak": v_leak}


def export_nir(graph: Graph, dt: float = DEFAULT_DT):
    """The ``nir.NIRGraph`` of ``graph``.

    Parameters
    ----------
    graph : Graph
        A spiking graph without the features :func:`nir_problems` lists.
    dt : float
        The timestep the ODE parameters are written for (import with the same ``dt``).

    Raises
    ------
    GraphError
        One line listing every inexpressible feature and node.
    """
    nir = require_nir()
    problems = nir_problems(graph)
    if problems:
        raise GraphError("cannot export to NIR exactly: " + "; ".join(problems))
    nodes: dict = {}
    edges: list[tuple[str, str]] = []
    adds = {n.name: n for n in graph.nodes if WRITERS[n.kind] is None}

    for node in graph.nodes:
        if node.name in adds:
            continue  # NIR sums the edges into a node: the add is those edges
        exact = _Exact()
        nir_node = WRITERS[node.kind](nir, graph, node, graph.shapes[node.name], dt, exact)
        nir_node.metadata.update({f"asnn_exact_{name}": value for name, value in exact.items()})
        for src in node.inputs:
            if src in adds:
                operands = list(adds[src].inputs)
                edges.extend((s, node.name) for s in operands)
                # the add's name and operand order (its rounding order) for a round trip here
                nir_node.metadata["asnn_sum"] = json.dumps({"name": src, "inputs": operands})
            else:
                edges.append((src, node.name))
        nodes[node.name] = nir_node
    meta = {"encoder": graph.input.encoder, "class_names": list(graph.class_names), "timesteps": graph.timesteps, "dt": dt}
    # NIR 1.0.x's type inference takes a Conv2d's input channels as weight.shape[1], which a
    # grouped conv's weight (C_out, C_in / groups, kh, kw) is not: our shapes are checked already
    grouped = any(getattr(n, "groups", 1) > 1 for n in graph.nodes)
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"asnn": json.dumps(meta)}, type_check=not grouped)


# ---------------------------------------------------------------- one writer per kind
# ``writer(nir, graph, node, shape, dt, exact) -> NIR node``; ``exact`` collects coefficients
# no ODE parameter reproduces (see _Exact).


def _input(nir, graph, node, shape, dt, exact):
    return nir.Input(input_type={"input": np.array(shape)})


def _output(nir, graph, node, shape, dt, exact):
    return nir.Output(output_type={"output": np.array(shape)})


def _affine(nir, graph, node, shape, dt, exact):
    w = node.weight[0]
    return nir.Linear(weight=w) if node.bias is None else nir.Affine(weight=w, bias=node.bias[0])


def _conv2d(nir, graph, node, shape, dt, exact):
    _, h, w = graph.shapes[node.inputs[0]]
    bias = np.zeros(node.weight.shape[1]) if node.bias is None else node.bias[0]
    return nir.Conv2d(input_shape=(h, w), weight=node.weight[0], stride=node.stride, padding=node.padding,
                      dilation=node.dilation, groups=node.groups, bias=bias)


def _pool(primitive: str):
    def write(nir, graph, node, shape, dt, exact):
        return getattr(nir, primitive)(kernel_size=np.array(node.kernel), stride=np.array(node.stride),
                                       padding=np.array(node.padding))
    return write


def _flatten(nir, graph, node, shape, dt, exact):
    return nir.Flatten(input_type={"input": np.array(graph.shapes[node.inputs[0]])}, start_dim=0, end_dim=-1)


def _li(nir, graph, node, shape, dt, exact):
    p = _leaky_params(node, shape, dt, exact)
    return nir.I(r=p["r"]) if "tau" not in p else nir.LI(tau=p["tau"], r=p["r"], v_leak=p["v_leak"])


def _lif(nir, graph, node, shape, dt, exact):
    p = _leaky_params(node, shape, dt, exact)
    threshold, v_reset = _per_neuron(node.threshold, shape), _per_neuron(node.v_reset, shape)
    if "tau" not in p:
        return nir.IF(r=p["r"], v_threshold=threshold, v_reset=v_reset)
    return nir.LIF(tau=p["tau"], r=p["r"], v_leak=p["v_leak"], v_threshold=threshold, v_reset=v_reset)


def _cuba_lif(nir, graph, node, shape, dt, exact):
    syn_leak, syn_gain = float(node.syn_leak[0]), float(node.syn_gain[0])
    if syn_leak == 1.0:
        raise GraphError(f"node {node.name!r}: a synaptic current that never decays (syn_leak 1) has no CubaLIF form")
    tau_syn = _tau(syn_leak, dt, exact, "syn_leak")
    k = dt / tau_syn
    w_in = exact.solve("syn_gain", lambda w: k * w, np.array(syn_gain), np.array(syn_gain / k))
    p = _leaky_params(node, shape, dt, exact, "tau_mem")
    if "tau_mem" not in p:
        raise GraphError(f"node {node.name!r}: a membrane that never decays (leak 1) has no CubaLIF form")
    return nir.CubaLIF(tau_syn=_per_neuron(tau_syn, shape), tau_mem=p["tau_mem"], r=p["r"], v_leak=p["v_leak"],
                       v_threshold=_per_neuron(node.threshold, shape), v_reset=_per_neuron(node.v_reset, shape),
                       w_in=_per_neuron(w_in, shape))


#: Node kind -> its NIR writer; None: no NIR node (an add is the edges of its operands into
#: its reader, which NIR sums). Kinds not listed are refused (``_WHY_NOT`` says why).
WRITERS: dict = {
    "input": _input,
    "readout": _output,
    "linear": _affine,
    "conv2d": _conv2d,
    "avgpool2d": _pool("AvgPool2d"),
    "sumpool2d": _pool("SumPool2d"),
    "flatten": _flatten,
    "li": _li,
    "neuron": _lif,
    "cuba_neuron": _cuba_lif,
    "add": None,
}


def write_nir(graph: Graph, path: str | Path, dt: float = DEFAULT_DT) -> None:
    """Write :func:`export_nir`'s graph to ``path`` (HDF5, as ``nir.write``), atomically."""
    from asnn_sim.util.atomic import atomic_path

    import io

    nir = require_nir()
    nir_graph = export_nir(graph, dt)
    # HDF5 is built in memory and then written with Python's own I/O: on a full disk HDF5
    # writing to the file itself crashes the interpreter (a segfault in h5py 3.x) instead
    # of raising, and a plain write raises OSError(ENOSPC).
    buffer = io.BytesIO()
    nir.write(buffer, nir_graph)
    with atomic_path(Path(path)) as tmp:
        tmp.write_bytes(buffer.getbuffer())
