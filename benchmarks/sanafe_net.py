"""The network side of ``benchmarks/sanafe_check.py``: an asnn-sim graph as flat neuron and
synapse lists, their placement on Loihi cores, the same network built and replayed in
SANA-FE with every neuron forced to asnn-sim's recorded spikes, and a closed-form
prediction of what SANA-FE charges for it (the description in ``sanafe_check.py``'s
docstring, checked against the simulator on every run).

SANA-FE (GPL-3.0) is imported only by these two benchmark scripts, never by ``asnn_sim``
or ``hw_models``, and is installed only in ``.venv-sanafe`` (``make bench-sanafe``).
Nothing here copies its code: it is called through its public Python API.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix  # scikit-learn's dependency, so in every asnn-sim environment

#: Which of the architecture's synapse units each kind of asnn-sim projection uses.
SYNAPSE_UNIT = {"conv": "loihi_conv_synapse", "dense": "loihi_dense_synapse"}
#: The architecture's soma units: the LIF compartment and the spike-train inputs.
LIF_UNIT, INPUT_MODEL, LIF_MODEL = "loihi_lif", "input", "leaky_integrate_fire"
#: A forced neuron: threshold 1, no leak, hard reset to 0; its membrane is written each step.
LIF_ATTRIBUTES = {"threshold": 1.0, "reset_mode": "hard", "reset": 0.0, "leak_decay": 1.0, "input_decay": 0.0}
FIRE, HELD = 2.0, 0.5  # written membranes: above threshold (fires), non-zero below it (an 'updated' neuron)


@dataclass
class Group:
    """One population: the input, or a node of the graph that holds neurons."""

    name: str
    kind: str  # "input" or the asnn-sim node kind
    n: int
    core: np.ndarray  # (n,) global core index of each neuron


@dataclass
class Projection:
    """The synapses between two groups, one (pre, post) pair per synapse, as flat indices."""

    source: str
    target: str
    via: str  # the asnn-sim node holding the weights ("" for an identity of events)
    synapse: str  # "conv" or "dense"
    pre: np.ndarray
    post: np.ndarray


@dataclass
class Net:
    groups: dict[str, Group]  # input first, then the capacity mapping's order
    projections: list[Projection]


def _shape(text) -> tuple[int, ...]:
    return tuple(int(x) for x in str(text).split("x"))


def conv_pairs(node, in_shape, out_shape) -> tuple[np.ndarray, np.ndarray]:
    """Every in-bounds (input, output) pair of a conv2d node, channel-first flat indices."""
    c_in, h, w = in_shape
    c_out, oh, ow = out_shape
    _, _, c_group, kh, kw = node.weight.shape
    (sh, sw), (ph, pw), (dh, dw) = node.stride, node.padding, node.dilation
    per_group = c_out // node.groups
    oy, ox = (a.ravel() for a in np.meshgrid(np.arange(oh), np.arange(ow), indexing="ij"))
    pre, post = [], []
    for co in range(c_out):
        for cl in range(c_group):
            ci = (co // per_group) * c_group + cl
            for ky in range(kh):
                iy = oy * sh - ph + ky * dh
                for kx in range(kw):
                    ix = ox * sw - pw + kx * dw
                    ok = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
                    pre.append(ci * h * w + iy[ok] * w + ix[ok])
                    post.append(co * oh * ow + oy[ok] * ow + ox[ok])
    return np.concatenate(pre).astype(np.int64), np.concatenate(post).astype(np.int64)


def network_of(graph, layers, mapping) -> tuple[Net, dict[str, tuple[int, ...]]]:
    """The groups and projections of ``graph`` (its ``layers`` table; ``mapping`` from
    ``hw_models.capacity.map_model``), placed by :func:`place` later.

    Supported: neuron groups fed by conv2d or linear nodes reading a group or the input
    (through flattens), by another group's events directly (an identity synapse each,
    as ``hw_models.capacity`` counts it), or by an add of such currents (a residual
    block). Anything else (pools, attention) raises.
    """
    rows = {r.layer: r for r in layers.itertuples(index=False)}
    names = list(mapping.layers["layer"])
    inputs = [n for n in graph.nodes if n.kind == "input"]
    if len(inputs) != 1:
        raise NotImplementedError("one input node expected")
    inp = inputs[0].name

    def events_source(name: str) -> str:
        node = graph.node(name)
        while node.kind == "flatten":
            node = graph.node(node.inputs[0])
        if node.name in names or node.name == inp:
            return node.name
        raise NotImplementedError(f"{name!r} ({node.kind}) has no SANA-FE counterpart in this check")

    projections = []

    def into(target: str, src: str) -> None:
        """The projections that node ``src``'s output carries into ``target``'s neurons."""
        node, row = graph.node(src), rows[src]
        if node.kind == "add":  # a sum of currents: each operand's synapses land on the same neurons
            for operand in node.inputs:
                into(target, operand)
            return
        if node.kind in ("conv2d", "linear"):
            source = events_source(node.inputs[0])
            if node.kind == "conv2d":
                pre, post = conv_pairs(node, _shape(row.in_shape), _shape(row.out_shape))
            else:
                n_out, n_in = node.weight.shape[1:]
                pre, post = np.tile(np.arange(n_in), n_out), np.repeat(np.arange(n_out), n_in)
            if len(pre) != int(row.dense_macs_per_step):
                raise AssertionError(f"{src}: {len(pre)} unrolled synapses, the layers table says {row.dense_macs_per_step}")
            projections.append(Projection(source, target, src, "conv" if node.kind == "conv2d" else "dense", pre, post))
        elif src in names:
            n = int(rows[target].n_neurons)
            projections.append(Projection(src, target, "", "dense", np.arange(n), np.arange(n)))
        else:
            raise NotImplementedError(f"{target!r} reads {src!r} ({node.kind}): no SANA-FE counterpart in this check")

    for target in names:
        for src in graph.node(target).inputs:
            into(target, src)
    kinds = {p.target: {q.synapse for q in projections if q.target == p.target} for p in projections}
    mixed = [t for t, k in kinds.items() if len(k) > 1]
    if mixed:
        raise NotImplementedError(f"{mixed}: conv and dense synapses into one group")
    shapes = {inp: _shape(rows[inp].out_shape), **{g: _shape(rows[g].out_shape) for g in names}}
    groups = {inp: Group(inp, "input", math.prod(shapes[inp]), np.zeros(0, np.int64))}
    for r in mapping.layers.itertuples(index=False):
        groups[r.layer] = Group(r.layer, graph.node(r.layer).kind, int(r.neurons), np.zeros(0, np.int64))
    return Net(groups, projections), shapes


def place(net: Net, mapping, neurons_per_core: int, n_cores: int) -> list[dict]:
    """Cores for every neuron: each group on as many consecutive cores as the capacity
    mapping gives it, from core 0, its neurons split evenly over them in order (as
    asnn-sim places them), then the input on the next ``ceil(n / neurons_per_core)`` cores.
    Returns one row per group."""
    cores = dict(zip(mapping.layers["layer"], mapping.layers["cores"]))
    start, rows = 0, []
    for g in sorted(net.groups.values(), key=lambda g: g.kind == "input"):  # the input last
        k = math.ceil(g.n / neurons_per_core) if g.kind == "input" else int(cores[g.name])
        g.core = np.concatenate([np.full(len(part), start + i) for i, part in enumerate(np.array_split(np.arange(g.n), k))])
        rows.append({"group": g.name, "neurons": g.n, "cores": k, "first_core": start})
        start += k
    if start > n_cores:
        raise ValueError(f"the model needs {start} cores; the architecture has {n_cores}")
    return rows


# ----------------------------------------------------------------- the architecture's numbers


def unit_constants(arch) -> dict[str, dict[str, float]]:
    """Energy (J) and latency (s) attributes of core 0's units, by unit name, plus the axons."""
    core = arch.cores()[0]
    out = {u.name: {k: v for k, v in dict(u.model_info.model_attributes).items() if isinstance(v, (int, float))}
           | {"model": u.model_info.name} for u in core.pipeline_hw}
    for key, axon in (("axon_in", core.axon_in[0]), ("axon_out", core.axon_out[0])):
        m = axon.metrics
        out[key] = {a: float(getattr(m, a)) for a in dir(m) if not a.startswith("_")}
    return out


def noc_constants(path: Path, arch) -> dict:
    """Mesh size, per-hop energy/latency and the barrier table, read from the YAML file
    (the Python API does not expose them), and cores per tile from ``arch``."""
    text = Path(path).read_text()

    def num(key: str) -> float:
        found = re.search(rf"^\s*{key}:\s*([-+0-9.eE]+)\s*$", text, re.M)
        if not found:
            raise ValueError(f"{path}: no {key}")
        return float(found.group(1))

    sync = re.search(r"^\s*latency_sync:\s*\{([^}]*)\}", text, re.M)
    table = {int(k): float(v) for k, v in (item.split(":") for item in sync.group(1).split(","))} if sync else {0: 0.0}
    tiles = arch.tiles() if callable(arch.tiles) else arch.tiles
    per_tile = {len(t.cores() if callable(t.cores) else t.cores) for t in tiles}
    if len(per_tile) != 1:
        raise NotImplementedError("tiles with different numbers of cores")
    return {"width": int(num("width")), "height": int(num("height")), "tiles": len(tiles), "cores_per_tile": per_tile.pop(),
            "hop_energy": {d: num(f"energy_{d}_hop") for d in ("north", "east", "south", "west")},
            "hop_latency": {d: num(f"latency_{d}_hop") for d in ("north", "east", "south", "west")},
            "barrier": table}


def barrier(table: dict[int, float], tiles: int) -> float:
    """The table's value at the largest key not above ``tiles`` (the first value below all keys)."""
    keys = [k for k in sorted(table) if k <= tiles]
    return table[keys[-1]] if keys else table[min(table)]


# ----------------------------------------------------------------- SANA-FE: build and replay


def build_chip(sanafe, arch, net: Net):
    """The network on the chip: LIF compartments for every group, one spike-train input
    unit per input neuron, every synapse with weight 0 (the spikes are forced, so the
    weights never matter, and a zero current is all an input unit accepts)."""
    cores = arch.cores()
    snn, handles = sanafe.Network(), {}
    for g in net.groups.values():
        if g.kind == "input":
            grp = snn.create_neuron_group(g.name, g.n, model_attributes={})
            for i, neuron in enumerate(grp.neurons):
                c = int(g.core[i])
                units = [u.name for u in cores[c].pipeline_hw if u.model_info.name == INPUT_MODEL]
                slot = int(np.count_nonzero(g.core[:i] == c))
                neuron.set_attributes(soma_hw_name=units[slot])
                neuron.map_to_core(cores[c])
        else:
            syn = {p.synapse for p in net.projections if p.target == g.name}
            grp = snn.create_neuron_group(g.name, g.n, model_attributes=dict(LIF_ATTRIBUTES), soma_hw_name=LIF_UNIT,
                                          default_synapse_hw_name=SYNAPSE_UNIT[syn.pop() if syn else "dense"])
            for i, neuron in enumerate(grp.neurons):
                neuron.map_to_core(cores[int(g.core[i])])
        handles[g.name] = grp
    for p in net.projections:
        handles[p.source].connect_neurons_sparse(handles[p.target], {"weight": [0.0] * len(p.pre)},
                                                 list(zip(p.pre.tolist(), p.post.tolist())))
    chip = sanafe.SpikingChip(arch)
    chip.load(snn)
    return chip


@contextlib.contextmanager
def quiet_stdout():
    """SANA-FE's C++ prints a progress line per sim() call; send fd 1 to /dev/null meanwhile."""
    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def replay(chip, net: Net, spikes: dict, held: dict, timing: str) -> list[list[dict]]:
    """Run SANA-FE one step at a time, each neuron forced to its recorded spikes.

    ``spikes[g]``: ``(T, N, n)`` 0/1 per group (the input included); ``held[g]``: ``(T, N, n)``
    bool, a neuron whose membrane is non-zero at the start of the step. Before step t
    every LIF compartment's membrane is written: 2.0 if it spikes at t (above the
    threshold 1: it fires and resets to 0), else 0.5 if ``held``, else 0; the input
    units get each sample's whole spike train. Returns per sample, per step, SANA-FE's
    figures.
    """
    mapped = chip.mapped_neuron_groups
    names = [g.name for g in net.groups.values() if g.kind != "input"]
    inp = next(g.name for g in net.groups.values() if g.kind == "input")
    T, N = spikes[inp].shape[:2]
    out = []
    for s in range(N):
        chip.reset()
        for i, neuron in enumerate(mapped[inp]):
            neuron.set_attributes(model_attributes={"spikes": [bool(v) for v in spikes[inp][:, s, i]]})
        now = {g: np.zeros(net.groups[g].n) for g in names}
        steps = []
        for t in range(T):
            for g in names:
                fire = spikes[g][t, s].astype(bool)
                want = np.where(fire, FIRE, np.where(held[g][t, s], HELD, 0.0))
                for i in np.flatnonzero(want != now[g]):
                    mapped[g][i].set_attributes(model_attributes={"potential": float(want[i])})
                now[g] = np.where(fire, 0.0, want)
            with quiet_stdout():
                r = chip.sim(1, timing_model=timing, processing_threads=1, perf_trace=True)
            e = r["energy"]
            steps.append({"total": e["total"], "synapse": e["synapse"], "dendrite": e["dendrite"], "soma": e["soma"],
                          "network": e["network"], "time": r["sim_time"], "messages": r["packets_sent"],
                          "hops": r["perf_trace"]["hops"][0], "synaptic_events": r["spikes"],
                          "updated": r["neurons_updated"], "fired": r["neurons_fired"]})
        out.append(steps)
    return out


# ----------------------------------------------------------------- the closed-form prediction


def predict(net: Net, spikes: dict, held: dict, units: dict, noc: dict) -> dict[str, np.ndarray]:
    """What SANA-FE's Loihi model charges, per sample and step, from the description in
    ``sanafe_check.py`` (no simulator involved). Arrays ``(N, T)``; energies in J, times in s."""
    order = list(net.groups.values())
    offset = np.cumsum([0] + [g.n for g in order])
    index = {g.name: offset[i] for i, g in enumerate(order)}
    n_all = int(offset[-1])
    core = np.concatenate([g.core for g in order])
    n_cores = int(core.max()) + 1
    per_tile = noc["cores_per_tile"]
    tile = core // per_tile
    x, y = tile // noc["height"], tile % noc["height"]

    syn_e, dend = np.zeros(n_all), units["loihi_dendrites"]
    msg = np.zeros((n_all, n_cores), bool)
    syn_lat = np.zeros((n_all, n_cores))
    n_syn = np.zeros(n_all)
    feeds_pre, feeds_post = [], []  # pre -> post, for 'an input arrived' (sparse: a wide model has 1e4+ neurons)
    for p in net.projections:
        unit = units[SYNAPSE_UNIT[p.synapse]]
        pre, post = p.pre + index[p.source], p.post + index[p.target]
        np.add.at(syn_e, pre, unit["energy_process_spike"] + dend["energy_update"])
        np.add.at(n_syn, pre, 1)
        np.add.at(syn_lat, (pre, core[post]), unit["latency_process_spike"] + dend["latency_update"])
        msg[pre, core[post]] = True
        feeds_pre.append(pre)
        feeds_post.append(post)
    cx, cy = np.arange(n_cores) // per_tile // noc["height"], np.arange(n_cores) // per_tile % noc["height"]
    dx, dy = np.abs(x[:, None] - cx[None]), np.abs(y[:, None] - cy[None])
    he = noc["hop_energy"]
    hop_e = (np.where(x[:, None] < cx[None], he["east"], he["west"]) * dx
             + np.where(y[:, None] < cy[None], he["north"], he["south"]) * dy)
    ai, ao = units["axon_in"], units["axon_out"]
    per_message_e = (msg * (ao["energy_message_out"] + ai["energy_message_in"] + hop_e)).sum(1)
    messages, hops = msg.sum(1), (msg * (dx + dy)).sum(1)
    in_lat = msg * ai["latency_message_in"] + syn_lat  # (n, core): receive time per message at that core

    lif = units[LIF_UNIT]
    inp_unit = next(v for v in units.values() if v.get("model") == INPUT_MODEL)
    is_input = np.concatenate([np.full(g.n, g.kind == "input") for g in order])
    soma = {k: np.where(is_input, inp_unit[k], lif[k]) for k in
            ("energy_access_neuron", "energy_update_neuron", "energy_spike_out",
             "latency_access_neuron", "latency_update_neuron", "latency_spike_out")}

    fired = np.concatenate([spikes[g.name] for g in order], axis=2).astype(float)  # (T, N, n)
    hold = np.concatenate([held.get(g.name, np.zeros_like(spikes[g.name], bool)) for g in order], axis=2)
    feeds = csr_matrix((np.ones(sum(len(a) for a in feeds_pre)), (np.concatenate(feeds_pre), np.concatenate(feeds_post))),
                       shape=(n_all, n_all))
    # post neurons that received a message in step t (their buffer, read at t+1)
    arrived = (feeds.T @ fired.reshape(-1, n_all).T).T.reshape(fired.shape) > 0
    late = np.concatenate([np.zeros_like(arrived[:1]), arrived[:-1]])
    updated = (fired > 0) | (~is_input & (hold | late))
    used_tiles = len(np.unique(tile))
    sync = barrier(noc["barrier"], used_tiles)

    soma_e = (soma["energy_access_neuron"] + updated * soma["energy_update_neuron"] + fired * soma["energy_spike_out"]).sum(2)
    own = soma["latency_access_neuron"] + updated * soma["latency_update_neuron"] + fired * soma["latency_spike_out"]
    own = own + fired * messages * ao["latency_message_out"]
    t_neuron = np.zeros(own.shape[:2] + (n_cores,))
    for c in range(n_cores):
        t_neuron[..., c] = own[..., core == c].sum(2)
    t_message = fired @ in_lat
    time = np.maximum(t_neuron.max(2), t_message.max(2)) + sync
    # The same without the input units' cores, as asnn-sim maps a model (its input comes from
    # off chip): their work left out, and the barrier of the tiles the other cores fill from core 0
    hidden_core = np.ones(n_cores, bool)
    hidden_core[np.unique(core[is_input])] = False
    sync_no_input = barrier(noc["barrier"], math.ceil(int(hidden_core.sum()) / per_tile))
    time_no_input = np.maximum(t_neuron[..., hidden_core].max(2), t_message[..., hidden_core].max(2)) + sync_no_input

    def bound(keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The core with the most work among ``keep`` and whether its send half is the longer."""
        sends, receives = np.where(keep, t_neuron, -1.0), np.where(keep, t_message, -1.0)
        send = sends.max(2) >= receives.max(2)
        return np.where(send, sends.argmax(2), receives.argmax(2)), send
    access = soma["energy_access_neuron"].sum() * np.ones(fired.shape[:2])
    out = {
        "synapse": fired @ syn_e, "soma": soma_e, "network": fired @ per_message_e,
        "soma_access": access, "soma_update": (updated * soma["energy_update_neuron"]).sum(2),
        "soma_spike_out": (fired * soma["energy_spike_out"]).sum(2),
        "message_out": fired @ (messages * ao["energy_message_out"]), "hop": fired @ (msg * hop_e).sum(1),
        "messages": fired @ messages, "hops": fired @ hops, "synaptic_events": fired @ n_syn,
        "updated": updated.sum(2), "updated_lif": (updated & ~is_input).sum(2), "fired": fired.sum(2), "time": time,
        "input_messages": (fired * is_input) @ messages,
        "input_hop": (fired * is_input) @ (msg * hop_e).sum(1), "input_hops": (fired * is_input) @ hops,
        "time_no_input": time_no_input,
    }
    out["total"] = out["synapse"] + out["soma"] + out["network"]
    out = {k: np.swapaxes(v, 0, 1) for k, v in out.items()}  # (N, T)
    out["tiles_in_use"], out["barrier"] = used_tiles, sync
    # What bounds each step, (N, T): the slowest core (and half), on the whole chip and without the input's cores
    for key, keep in (("bound", np.ones(n_cores, bool)), ("bound_no_input", hidden_core)):
        out[key] = tuple(np.swapaxes(v, 0, 1) for v in bound(keep))
    return out
