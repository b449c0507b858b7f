"""Cross-check asnn-sim's Loihi energy (and, once ``hw_models.timing`` exists, its latency)
against SANA-FE, step by step, on exactly the same spikes.

Run it from its own virtual environment (SANA-FE is GPL-3.0: it is imported only by this
script and ``sanafe_net.py``, never by ``asnn_sim`` or ``hw_models``; no test needs it)::

    make bench-sanafe                                    # builds .venv-sanafe if missing, runs the four models
    .venv-sanafe/bin/python benchmarks/sanafe_check.py --models lenet --samples 4 --timesteps 8

It prints a table per model and writes ``benchmarks/results/sanafe_check/<model>.json``.

What it does
------------
1. **Models.** ``lenet``: a LeNet-like digits network built with ``GraphBuilder`` on
   8x8 frames: conv 8@3x3 (pad 1) - LIF - conv 16@3x3 (stride 2, pad 1) - LIF - linear 32
   - LIF - linear 10 - readout. *Random weights* (normal, scaled per layer so each layer
   fires 10-15 %; untrained, its predictions mean nothing). Max pooling is replaced by a
   stride-2 convolution: an OR of spikes has no neuron on Loihi or in SANA-FE. ``nir``:
   an snnTorch-style MLP 64-32-10 (``nir.Affine`` + ``nir.LIF`` as snnTorch 1.0 writes
   them), imported with ``asnn_sim.api.import_nir``; its event readout ``output`` is a
   group of 10 accumulators fed one-to-one, as ``hw_models.capacity`` maps it. ``wide``:
   groups over many cores and tiles: conv 16@3x3 (pad 1) on 32x32 frames (one 1,024-neuron
   channel per core) - LIF - depthwise conv 16@3x3 (stride 2, pad 1; a spike reaches one of
   the group's four cores) - LIF - linear 10 - readout, random weights. ``res``: a slice of
   a ResNet stage: conv 16@3x3 on 32x32 frames - LIF - a 3x3 conv and a 1x1 shortcut
   added into 16 more planes (20 cores of about 819 neurons by synaptic memory, so a spike
   reaches the cores under its window's rows) - LIF - conv 4@3x3 stride 2 - LIF - linear
   10 - readout, random weights. All read rate-coded frames of the digits test images (a
   spike with probability = pixel value; for ``wide`` and ``res`` each 8x8 pixel is a 4x4
   block).
2. **asnn-sim**: ``simulate(..., record=True, record_membranes=True)`` in float64, then
   ``energy(result, hw="loihi").breakdown`` summed per step (per inference).
3. **Placement**: ``hw_models.capacity.map_model(result.layers, load_profile("loihi"))``
   gives each neuron group its cores; the groups take consecutive cores in the table's
   order and each group's neurons are split evenly over its cores, in order. The input
   (no neurons in asnn-sim, so not in the mapping) goes on SANA-FE *input units* on the
   cores before them (1,024 per core, one unit per input neuron, since an input unit
   holds one spike train); input units cost nothing but their messages and hops.
4. **The SANA-FE network** (``sanafe_net.build_chip``) on SANA-FE's own ``loihi.yaml``,
   unchanged: one LIF compartment per asnn-sim neuron on its mapped core; synapses are
   the graph's, unrolled to explicit (pre, post) lists (SANA-FE's ``connect_neurons_conv2d``
   has no padding, so convolutions are unrolled too: exactly the in-bounds taps, checked
   against the layers table). A projection from a convolution uses the architecture's
   conv synapse unit (24.0 pJ), linear layers and one-to-one links the dense unit (35.5 pJ).
5. **Forcing the spikes.** SANA-FE's spike-train neuron (the ``input`` soma model) costs
   zero in ``loihi.yaml`` and refuses any non-zero input current, so hidden neurons stay
   LIF compartments (threshold 1, no leak, hard reset, all weights 0) and, before every
   step, the script writes each compartment's membrane through ``MappedNeuron.set_attributes``:
   2.0 if asnn-sim recorded a spike there at that step (it fires and resets), else 0.5 if
   asnn-sim's membrane was non-zero at the start of the step (so SANA-FE's "updated" test
   sees the state a real neuron would have), else 0. Groups without a recorded membrane
   (readouts) count as non-zero once any input reached them. SANA-FE's own rules then
   decide every cost; its fired count equals the recorded spikes every step (checked).
6. **Checks** (exit code 1 if any fails): SANA-FE's per-step energy by category, its
   counts (messages, hops, synaptic events, updated, fired) and its simple latency equal
   the closed-form model below (``sanafe_net.predict``); every projection's synaptic
   events equal asnn-sim's AC count at every step; energy is the same under both timing
   models.

SANA-FE's Loihi model, as implemented
-------------------------------------
Read in SLAM-Lab/SANA-FE at commit 8951ab0711676a773261284d2e8c9d995156cb3d (2026-05-28);
the installed wheel (sanafe 2.2.9) is newer, so the script re-derives every number from the
description (``predict``) and compares. Paths are in that repository.

*One step* (``src/chip.cpp:1053-1108``): every core runs its neurons (``process_neurons``,
624-654), then every message sent in this step is delivered and its synapses are looked up
(``process_messages``, 656-692), then the barrier, then energy is summed and the timing
model schedules the step. The synapse and dendrite results are written to a per-neuron
buffer in front of the soma (Loihi's ``buffer_position: soma``; pipelines built in
``src/mapped.cpp:27-58, 168-188``) which the soma reads and clears at the *next* step
(``src/chip.cpp:710-736``). So a spike sent at step t has its synaptic energy charged at
step t but reaches the next layer's membranes at t+1: one step per layer of pipelining,
where asnn-sim runs every layer within the same step.

*Energy per step*, per core, summed over cores and tiles (``src/chip.cpp:1171-1261``):

* soma: **every mapped neuron, every step**, pays ``energy_access_neuron``; it also pays
  ``energy_update_neuron`` when its status is *updated* or *fired*, and
  ``energy_spike_out`` when it fired (``src/pipeline.hpp:631-714``). The LIF model says
  *updated* when its stored membrane is non-zero, an input current arrived (from the
  previous step's messages, even a zero one), its bias is non-zero or it is forced to
  update (``src/models.cpp:517-525``); input units say fired or idle only (863-903).
* messages: a spiking neuron sends **one message per distinct destination core** of its
  synapses (one output axon per (neuron, destination core),
  ``src/chip.cpp:1263-1309, 1361-1391``), each ``energy_message_out`` (802-834).
  Receiving costs ``energy_message_in`` per message (0 on Loihi).
* hops: each message travels the Manhattan distance between source and destination
  *tiles* (``src/chip.cpp:694-708``): x hops at the east or west energy, y hops at the
  north or south energy, charged to the destination tile (1127-1169, 1189-1210); tile t
  sits at x = t // 4, y = t % 4 on the 8 x 4 mesh (``src/arch.cpp:78-88``). Within a tile:
  0 hops.
* synapses: each delivered message runs every synapse of its axon, i.e. every synapse
  from that neuron into that core: ``energy_process_spike`` of the synapse unit plus the
  dendrite's ``energy_update`` (0 on Loihi) per synapse (``src/chip.cpp:738-764``).
* categories reported: synapse, dendrite, soma (access + update + spike out), network
  (message out + message in + hops).

*Simple latency* (``src/schedule.cpp:61-102``): per core, a neuron-side time = the sum over
its neurons of ``latency_access_neuron`` (+ ``latency_update_neuron`` if updated, +
``latency_spike_out`` if fired) plus ``latency_message_out`` per message sent
(``src/chip.cpp:710-736, 802-834``: the time accumulates and is attached to the next
message, the rest to a placeholder); and a message-side time = the sum over messages
received of ``latency_message_in`` + the synapse (and dendrite) latency of each synapse
looked up (738-800). The step time is max(largest neuron-side time, largest
message-side time) over all cores (so the two sides overlap; no hop latency, no
contention) **plus the barrier**: a step function of the number of tiles holding at
least one mapped neuron, the value at the largest key not above it
(``src/chip.cpp:283-306, 562-574``, ``src/utils.hpp:19-45``; without ``sync_model: table``
a fixed ``latency_sync``, default 0, ``src/yaml_arch.cpp:436-441, 446-510``).

*Detailed latency* (``src/schedule.cpp:208-378``): each core sends its messages in order,
one after another by their generation delays; a message reaches its core after
max(hop latency, a congestion estimate from messages in flight on its route); each core
handles its received messages first come first served, each taking its processing
delay; the step time is the last event's time plus the same barrier.

*Oddities seen in the source*: ``PipelineUnit::process`` adds energy, not latency, to the
unit's latency counter (``src/pipeline.cpp:102``; unused by the timing models);
``sim_calculate_core_energy`` assigns rather than adds over axon units (1217, 1250: only
the last unit counts; Loihi has one of each); ``forced_updates`` charges energy but no
latency (975-1026).

Loihi constants (``arch/loihi.yaml``, blob 4d066a87, last changed in 4f6bed48 of
2025-10-26, identical at 8951ab0 and in the 2.2.9 wheel; the file credits Davies et al.
2018 SPICE figures): dense synapse 35.5 pJ / 3.8 ns, sparse synapse 33.6 pJ / 4.7 ns, conv
synapse 24.0 pJ / 3.1 ns, dendrite 0 / 0, neuron access 51.2 pJ / 6.0 ns, neuron update
21.6 pJ / 3.7 ns, spike out 69.3 pJ / 30.0 ns, message out 111 pJ / 5.1 ns, message in
0 pJ / 16.0 ns, hop east/west 3.0 pJ / 4.1 ns, north/south 4.2 pJ / 6.5 ns; 8 x 4 tiles, 4
cores per tile (128 cores), 1,024 neurons per core, 1,024 input units per core, link
buffer 16; barrier ``sync_model: table`` {1: 0.6, 2: 1.0, 4: 1.4, 29: 1.8} us by tiles in
use. The script prints what it loaded.

Comparing with asnn-sim's ``loihi`` profile
-------------------------------------------
Three columns per step: A = asnn-sim's ``loihi`` (its constants, its model); B =
asnn-sim's counts under asnn-sim's model with SANA-FE's constants (synaptic op 35.5 or
24.0, active neuron 51.2 + 21.6, inactive 51.2, per spike 69.3, per message 111, per hop
3.6, the hops counted between the tiles of SANA-FE's 8 x 4 mesh): the shipped
``loihi-sanafe`` profile, checked against that formula every run; C =
SANA-FE. B - A is the effect of the constants, C - B that of the model; the per-activity
table says where (neurons updated vs touched, messages per destination core vs per spike,
hops, input messages, one-to-one readout synapses). Latency per step likewise: asnn-sim's
per-core time (``hw_models.timing``) on ``loihi`` (A) and ``loihi-sanafe`` (B) beside
SANA-FE's simple and detailed times; B / C is the model's agreement with the same
constants. C-in is SANA-FE's simple time without the cores of its input units (from the
description, which equals the simulator every run), with the barrier of the tiles the
other cores fill from core 0: asnn-sim takes the input from off chip and maps the groups
from core 0. Per step the script names what bounds each time: the group and half (send: its
neurons; receive: its messages and synapses) of SANA-FE's slowest core, with and without
the input cores, and asnn-sim's busiest group. asnn-sim's static energy on ``loihi`` is
printed apart (SANA-FE has none).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sanafe_net as sn  # noqa: E402

SOURCE = {"repository": "SLAM-Lab/SANA-FE", "commit_read": "8951ab0711676a773261284d2e8c9d995156cb3d",
          "arch_file": "arch/loihi.yaml", "arch_blob": "4d066a873f97129a723537fcf4ade41b00ebccf9",
          "arch_last_changed": "4f6bed48bf87758f56ec39510d3ddcb6196433b4"}
PJ = 1e12


# ----------------------------------------------------------------- the two models


def lenet(T: int, seed: int):
    import asnn_sim.api as asnn

    rng = np.random.default_rng(seed)

    def w(shape, fan_in, scale):
        return rng.normal(0.0, scale / np.sqrt(fan_in), shape)

    return (asnn.GraphBuilder((1, 8, 8), encoding="frames", timesteps=T, seed=seed)
            .conv(weight=w((8, 1, 3, 3), 9, 1.0), padding=1).neuron(leak=0.9)
            .conv(weight=w((16, 8, 3, 3), 72, 2.0), stride=2, padding=1).neuron(leak=0.9)
            .flatten().linear(weight=w((32, 256), 256, 2.0)).neuron(leak=0.9)
            .linear(weight=w((10, 32), 32, 1.0)).readout().build())


def nir_mlp(T: int, seed: int):
    import nir

    import asnn_sim.api as asnn
    from asnn_sim.interop.nir_import import AmbiguousResetWarning

    dt, f, rng = 1e-4, np.float32, np.random.default_rng(seed)

    def lif(n, beta):  # as snnTorch 1.0 writes a Leaky: tau = dt / (1 - beta), r = tau / dt
        tau = dt / (1 - np.full(n, beta, f))
        return nir.LIF(tau=tau, r=tau / dt, v_leak=np.zeros(n, f), v_threshold=np.ones(n, f), v_reset=np.zeros(n, f))

    nodes = {"input": nir.Input(input_type=np.array([64])),
             "0": nir.Affine(weight=rng.normal(0, 2.0 / 8, (32, 64)).astype(f), bias=np.zeros(32, f)),
             "1": lif(32, 0.9),
             "2": nir.Affine(weight=rng.normal(0, 2.0 / np.sqrt(32), (10, 32)).astype(f), bias=np.zeros(10, f)),
             "3": lif(10, 0.9),
             "output": nir.Output(output_type=np.array([10]))}
    edges = [("input", "0"), ("0", "1"), ("1", "2"), ("2", "3"), ("3", "output")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AmbiguousResetWarning)
        return asnn.import_nir(nir.NIRGraph(nodes=nodes, edges=edges), timesteps=T)


def wide(T: int, seed: int):
    """Groups over many cores and tiles: 16 planes of 32 x 32 (one per core), a depthwise
    stride-2 convolution whose every spike reaches one of its group's four cores, and a
    readout of all 4,096 neurons (Loihi's axon limit per core)."""
    import asnn_sim.api as asnn

    rng = np.random.default_rng(seed)
    return (asnn.GraphBuilder((1, 32, 32), encoding="frames", timesteps=T, seed=seed)
            .conv(weight=rng.normal(0.0, 1.0 / 3, (16, 1, 3, 3)), padding=1).neuron(leak=0.9)
            .conv(weight=rng.normal(0.0, 2.0 / 3, (16, 1, 3, 3)), stride=2, padding=1, groups=16).neuron(leak=0.9)
            .flatten().linear(weight=rng.normal(0.0, 1.0 / 64, (10, 4096))).readout().build())


def res(T: int, seed: int):
    """A residual block at a ResNet stage's plane size: 16 planes of 32 x 32, then a 3x3
    convolution and a 1x1 shortcut summed into 16 more, whose 2.6 million synapses fill 20
    cores of about 819 neurons, so that a spike reaches some of them (its window's rows)
    through two paths; then a stride-2 convolution and a readout."""
    import asnn_sim.api as asnn

    rng = np.random.default_rng(seed)
    return (asnn.GraphBuilder((1, 32, 32), encoding="frames", timesteps=T, seed=seed)
            .conv(weight=rng.normal(0.0, 1.0 / 3, (16, 1, 3, 3)), padding=1, name="conv1").neuron(leak=0.9, name="lif1")
            .conv(weight=rng.normal(0.0, 1.0 / 12, (16, 16, 3, 3)), padding=1, name="conv_a", source="lif1")
            .conv(weight=rng.normal(0.0, 1.0 / 4, (16, 16, 1, 1)), name="conv_b", source="lif1")
            .add("conv_a", "conv_b", name="sum").neuron(leak=0.9, name="lif2")
            .conv(weight=rng.normal(0.0, 1.0 / 6, (4, 16, 3, 3)), stride=2, padding=1, name="conv3").neuron(leak=0.9, name="lif3")
            .flatten().linear(weight=rng.normal(0.0, 1.0 / 32, (10, 1024))).readout().build())


MODELS = {"lenet": (lenet, (1, 8, 8), "LeNet-like digits net (random weights, stride-2 conv for pooling)"),
          "nir": (nir_mlp, (64,), "snnTorch-style MLP 64-32-10 imported from NIR (random weights)"),
          "wide": (wide, (1, 32, 32), "two wide convolution layers over 21 cores and 6 tiles, digits upsampled 4x "
                                      "(random weights)"),
          "res": (res, (1, 32, 32), "a residual block on 16 planes of 32 x 32 (3x3 conv + 1x1 shortcut), 40 cores, "
                                    "digits upsampled 4x (random weights)")}


# ----------------------------------------------------------------- asnn-sim's side


def asnn_energy_per_step(result) -> dict[str, np.ndarray]:
    """asnn-sim's ``loihi`` energy per step (pJ per inference) by component and their total;
    static energy (power x time, where the profile states one) is outside the total, as
    ``static_not_compared``."""
    import asnn_sim.api as asnn

    b = asnn.energy(result, hw="loihi").breakdown
    b = b[(b["profile"] == "loihi") & (b["system"] == "snn")]
    table = b.pivot_table(index="t", columns="component", values="energy_pj", aggfunc="sum").sort_index()
    out = {c: table[c].to_numpy() for c in table.columns if table[c].abs().sum() > 0}
    static = out.pop("static", np.zeros(len(table)))  # SANA-FE models no static power: kept apart
    out["total"] = table.drop(columns=["static"], errors="ignore").sum(axis=1).to_numpy()
    out["static_not_compared"] = static
    return out


def asnn_latency_per_step(result, profile: str) -> tuple[np.ndarray, list[str]]:
    """asnn-sim's time of each step on ``profile`` (seconds, per inference: the mean
    sample's activity), from ``hw_models.timing`` (``per-core`` on both Loihi profiles),
    and the neuron group whose cores bound each step."""
    import asnn_sim.api as asnn

    timing = asnn.energy(result, hw=profile).timing
    rows = timing[(timing["profile"] == profile) & (timing["system"] == "snn")].sort_values("t")
    return rows["seconds"].to_numpy(), rows["bound_by"].tolist()


def sanafe_bound(bound: tuple[np.ndarray, np.ndarray], placement: list[dict]) -> list[str]:
    """Per step, the group and half (send: its neurons; receive: its messages and synapses)
    of the core that bounds SANA-FE's simple time, the most common over the samples.
    ``bound``: ``sanafe_net.predict``'s (core, send half) arrays, ``(N, T)``."""
    from collections import Counter

    def group(core: int) -> str:
        return next(r["group"] for r in placement if r["first_core"] <= core < r["first_core"] + r["cores"])

    cores, sends = bound
    labels = [[f"{group(int(c))} ({'send' if send else 'receive'})" for c, send in zip(cs, ss)]
              for cs, ss in zip(cores.T, sends.T)]  # per step
    return [Counter(step).most_common(1)[0][0] for step in labels]


def shipped_profile_per_step(result, profile: str) -> np.ndarray:
    """The dynamic SNN energy per step (pJ per inference) of a shipped profile."""
    import asnn_sim.api as asnn

    b = asnn.energy(result, hw=profile).breakdown
    b = b[(b["profile"] == profile) & (b["system"] == "snn") & (b["component"] != "static")]
    return b.groupby("t")["energy_pj"].sum().sort_index().to_numpy()


def _axons(net) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per group, its output axons from SANA-FE's unrolled synapses: (neuron, destination
    core) pairs, one per distinct pair, as two arrays."""
    pairs: dict[str, set] = {}
    for p in net.projections:
        pairs.setdefault(p.source, set()).update(zip(p.pre.tolist(), net.groups[p.target].core[p.post].tolist()))
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    return {name: tuple(np.array(v, np.int64) for v in zip(*pairs[name])) if pairs.get(name) else empty
            for name in net.groups}


def destination_cores(net) -> dict[str, np.ndarray]:
    """Per group, the cores each of its neurons sends a message to (``check_reach`` checks
    asnn-sim's own numbers link by link)."""
    return {name: np.bincount(pre, minlength=net.groups[name].n).astype(float) for name, (pre, _) in _axons(net).items()}


def neuron_hops(net, noc) -> dict[str, np.ndarray]:
    """Per group, the hops each neuron's spike travels in all on SANA-FE's placement: the
    Manhattan distance between the tiles of its core and of each destination core (tile t
    at x = t // height, y = t % height)."""
    def xy(core):
        tile = np.asarray(core) // noc["cores_per_tile"]
        return tile // noc["height"], tile % noc["height"]

    out = {}
    for name, (pre, dest) in _axons(net).items():
        (sx, sy), (dx, dy) = xy(net.groups[name].core[pre]), xy(dest)
        out[name] = np.bincount(pre, weights=np.abs(sx - dx) + np.abs(sy - dy), minlength=net.groups[name].n)
    return out


def per_step(net, spikes, per_neuron: dict[str, np.ndarray]) -> np.ndarray:
    """Per step and inference, the sum over the hidden groups' recorded spikes of each
    spiking neuron's ``per_neuron`` number (its destination cores, or its hops)."""
    T, N = next(iter(spikes.values())).shape[:2]
    total = np.zeros(T)
    for name, g in net.groups.items():
        if g.kind != "input":
            total += spikes[name].reshape(T, N, -1).astype(np.float64).sum(axis=1) @ per_neuron[name] / N
    return total


def asnn_model_sanafe_constants(result, net, spikes, units, noc, profile) -> dict[str, np.ndarray]:
    """B: asnn-sim's counts and model (active/inactive neurons, a spike out per spike, a
    message to each destination core of the spiking neuron and its hops between tiles)
    priced with SANA-FE's Loihi constants (a hop at the mean of its two directions), pJ per
    inference per step, by activity."""
    c = result.counts
    n = c["n_samples"].to_numpy()
    per = lambda col: (c[col].to_numpy() / n)  # noqa: E731
    lif = units[sn.LIF_UNIT]
    from asnn_sim.graph.nodes import KINDS

    shared = c["kind"].map(lambda k: KINDS[k].SHARED_SYNAPSES).to_numpy(dtype=bool)
    e_syn = np.where(shared, units[sn.SYNAPSE_UNIT["conv"]]["energy_process_spike"],
                     units[sn.SYNAPSE_UNIT["dense"]]["energy_process_spike"])
    hop = np.mean(list(noc["hop_energy"].values()))
    parts = {
        "synapse": (per("synaptic_acs") + per("synaptic_macs")) * e_syn,
        "neuron": per("neurons_touched") * (lif["energy_access_neuron"] + lif["energy_update_neuron"])
        + (per("neurons") - per("neurons_touched")) * lif["energy_access_neuron"],
        "spike_out": per("output_spikes") * lif["energy_spike_out"],
    }
    T = int(c["t"].max()) + 1
    out = {k: np.bincount(c["t"], weights=v * PJ, minlength=T) for k, v in parts.items()}
    out["message"] = per_step(net, spikes, destination_cores(net)) * units["axon_out"]["energy_message_out"] * PJ
    out["hop"] = per_step(net, spikes, neuron_hops(net, noc)) * hop * PJ
    out["total"] = sum(out.values())
    return out


# ----------------------------------------------------------------- one model end to end


def frames_for(shape, samples: int, T: int, seed: int):
    import asnn_sim.api as asnn

    images, labels = asnn.load_images("digits", limit=samples)
    if len(shape) == 3 and shape[1] != 8:  # a larger frame: each 8 x 8 digit pixel as a square block
        images = np.kron(images.reshape(-1, 8, 8), np.ones((shape[1] // 8, shape[2] // 8)))
    x = images.reshape((len(images),) + tuple(shape))
    frames = (np.random.default_rng(seed).random((T,) + x.shape) < x[None]).astype(np.uint8)
    return frames, labels


def held_state(net, result, spikes):
    """Per group, (T, N, n): the membrane is non-zero at the start of the step."""
    rec = result.recording
    held = {}
    for g in net.groups.values():
        if g.kind == "input":
            continue
        T, N = spikes[g.name].shape[:2]
        if g.name in rec.membranes_after_reset:
            after = rec.membranes_after_reset[g.name].reshape(T, N, -1) != 0
            held[g.name] = np.concatenate([np.zeros_like(after[:1]), after[:-1]])
        else:  # an accumulator: non-zero from the step after its first input
            got = np.zeros((T, N, g.n), bool)
            for p in net.projections:
                if p.target == g.name:
                    hit = spikes[p.source][:, :, p.pre] > 0
                    for t in range(T):
                        for s in range(N):
                            got[t, s, p.post[hit[t, s]]] = True
            seen = np.logical_or.accumulate(got, axis=0)
            held[g.name] = np.concatenate([np.zeros_like(seen[:1]), seen[:-1]])
    return held


def run_model(name: str, args, sanafe, arch, arch_path: Path) -> tuple[dict, list[str]]:
    import asnn_sim.api as asnn
    import hw_models
    from hw_models.capacity import map_model

    build, shape, description = MODELS[name]
    graph = build(args.timesteps, args.seed)
    frames, labels = frames_for(shape, args.samples, args.timesteps, args.seed + 1)
    result = asnn.simulate(graph, frames=frames, labels=labels, record=True, record_membranes=True, precision="float64")
    profile = hw_models.load_profile("loihi")
    mapping = map_model(result.layers, profile)
    net, _ = sn.network_of(graph, result.layers, mapping)
    units, noc = sn.unit_constants(arch), sn.noc_constants(arch_path, arch)
    n_input_units = sum(1 for u in arch.cores()[0].pipeline_hw if u.model_info.name == sn.INPUT_MODEL)
    placement = sn.place(net, mapping, min(profile.capacity.neurons_per_core, n_input_units), len(arch.cores()))
    T, N = args.timesteps, args.samples
    spikes = {g.name: (frames.reshape(T, N, -1) if g.kind == "input" else
                       result.recording.spikes[g.name].reshape(T, N, -1) if g.name in result.recording.spikes else
                       np.zeros((T, N, g.n), np.uint8)) for g in net.groups.values()}
    held = held_state(net, result, spikes)
    predicted = sn.predict(net, spikes, held, units, noc)
    chip = sn.build_chip(sanafe, arch, net)
    sim = {}
    for timing in args.timing:
        steps = sn.replay(chip, net, spikes, held, timing)
        sim[timing] = {k: np.array([[s[k] for s in sample] for sample in steps], float) for k in steps[0][0]}

    problems = check(name, net, result, spikes, predicted, sim)
    a = asnn_energy_per_step(result)
    b = asnn_model_sanafe_constants(result, net, spikes, units, noc, hw_models.load_profile("loihi-sanafe"))
    # B by hand must be what the shipped loihi-sanafe profile computes (the profile encodes those constants)
    shipped = shipped_profile_per_step(result, "loihi-sanafe")
    if not np.allclose(shipped, b["total"], rtol=1e-9):
        problems.append(f"{name}: the loihi-sanafe profile's energy per step {shipped.round(1).tolist()} differs from "
                        f"SANA-FE's constants under asnn-sim's model {np.round(b['total'], 1).tolist()}")
    asnn_latency = [float(v) for v in asnn_latency_per_step(result, "loihi")[0]]
    seconds, asnn_bound = asnn_latency_per_step(result, "loihi-sanafe")
    asnn_latency_sanafe = [float(v) for v in seconds]
    latency_note = "hw_models.timing, per-core: loihi (Davies et al. 2018 times) and loihi-sanafe (SANA-FE's)"
    first = sim[args.timing[0]]
    mean = lambda v: np.asarray(v, float).mean(0)  # noqa: E731 (over samples)
    c = {k: mean(first[k]) * (PJ if k in ("total", "synapse", "dendrite", "soma", "network") else 1) for k in first}
    c_split = {k: mean(predicted[k]) * PJ for k in ("soma_access", "soma_update", "soma_spike_out", "message_out", "hop")}
    out = {
        "model": name, "description": description, "samples": N, "timesteps": T, "seed": args.seed,
        "weights": "random (normal, scaled per layer for 5-20 % firing); untrained",
        "input": "rate-coded digits test images (Bernoulli, p = pixel value)",
        "sanafe": {"version": metadata.version("sanafe"), "arch_path_in_wheel": arch_path.name,
                   "arch_sha256": hashlib.sha256(arch_path.read_bytes()).hexdigest(), **SOURCE},
        "constants": {"units": {k: v for k, v in units.items() if not k.startswith("loihi_inputs[") or k == "loihi_inputs[0]"},
                      "noc": {k: (v if k != "barrier" else {str(t): s for t, s in v.items()}) for k, v in noc.items()}},
        "placement": placement, "tiles_in_use": int(predicted["tiles_in_use"]), "barrier_s": predicted["barrier"],
        "firing_rates": {g: float(v.mean()) for g, v in spikes.items()},
        "per_step": {
            "t": list(range(T)),
            "asnn_loihi_pj": {k: v.tolist() for k, v in a.items()},
            "asnn_model_sanafe_constants_pj": {k: v.tolist() for k, v in b.items()},
            "sanafe_pj": {k: c[k].tolist() for k in ("total", "synapse", "dendrite", "soma", "network")},
            "sanafe_split_pj": {k: v.tolist() for k, v in c_split.items()},
            # the input units' messages: SANA-FE holds the input on chip, asnn-sim takes it from off chip
            "sanafe_input_messages_pj": ((mean(predicted["input_messages"]) * units["axon_out"]["energy_message_out"]
                                          + mean(predicted["input_hop"])) * PJ).tolist(),
            "sanafe_counts": {k: c[k].tolist() for k in ("messages", "hops", "synaptic_events", "updated", "fired")},
            "sanafe_latency_s": {t: mean(sim[t]["time"]).tolist() for t in args.timing},
            "asnn_latency_s": asnn_latency, "asnn_sanafe_constants_latency_s": asnn_latency_sanafe,
            "asnn_latency_note": latency_note,
            # SANA-FE's simple time without its input cores (their sends), from the description checked above
            "sanafe_latency_no_input_s": mean(predicted["time_no_input"]).tolist(),
            "sanafe_bound": sanafe_bound(predicted["bound"], placement),
            "sanafe_bound_no_input": sanafe_bound(predicted["bound_no_input"], placement), "asnn_sanafe_constants_bound": asnn_bound,
        },
        "activities": activities(result, net, spikes, predicted, a, b, c, c_split, profile, noc),
        "checks": {"passed": not problems, "problems": problems},
    }
    return out, problems


def activities(result, net, spikes, predicted, a, b, c, c_split, profile, noc) -> dict:
    """Per inference, by activity: counts and energy (pJ) for A, B and C (C's hops: those of
    the hidden groups' messages; the input units' are left out with their messages)."""
    counts = result.counts
    per = lambda col: float(counts[col].sum() / counts["n_samples"].iloc[0])  # noqa: E731
    spikes_out = per("output_spikes")
    hidden = [g for g in net.groups.values() if g.kind != "input"]
    T = len(a["total"])
    tot = lambda d, k: float(np.sum(d.get(k, 0.0)))  # noqa: E731
    a_routing = tot(a, "spike_routing")
    a_spike = spikes_out * profile.param("spike_out")
    inputs = float(predicted["input_messages"].sum(1).mean())
    return {
        "synaptic_events": {"asnn": per("synaptic_acs") + per("synaptic_macs"), "sanafe": float(c["synaptic_events"].sum()),
                            "A_pj": tot(a, "synaptic_compute"), "B_pj": tot(b, "synapse"), "C_pj": tot(c, "synapse")},
        "neuron_updates": {"asnn_touched": per("neurons_touched"), "asnn_neurons": per("neurons"),
                           "sanafe_updated_lif": float(predicted["updated_lif"].sum(1).mean()),
                           "sanafe_accesses": float(sum(g.n for g in hidden) * T),
                           "A_pj": tot(a, "neuron_update"), "B_pj": tot(b, "neuron"),
                           "C_pj": tot(c_split, "soma_access") + tot(c_split, "soma_update")},
        "spikes_out": {"asnn": spikes_out, "sanafe_fired": float(c["fired"].sum()),
                       "A_pj": a_spike, "B_pj": tot(b, "spike_out"), "C_pj": tot(c_split, "soma_spike_out")},
        "messages": {"asnn": float(per_step(net, spikes, destination_cores(net)).sum()),
                     "sanafe": float(c["messages"].sum()), "sanafe_from_input": inputs,
                     "A_pj": 0.0, "B_pj": tot(b, "message"), "C_pj": tot(c_split, "message_out")},
        "hops": {"asnn": float(per_step(net, spikes, neuron_hops(net, noc)).sum()),
                 "sanafe": float(c["hops"].sum() - predicted["input_hops"].sum(1).mean()),
                 "A_pj": a_routing - a_spike, "B_pj": tot(b, "hop"),
                 "C_pj": tot(c_split, "hop") - float(predicted["input_hop"].sum(1).mean()) * PJ},
        "total": {"A_pj": tot(a, "total"), "B_pj": tot(b, "total"), "C_pj": tot(c, "total")},
    }


def check(name, net, result, spikes, predicted, sim) -> list[str]:
    """Every way the run can disagree with the description or with asnn-sim's counts."""
    problems = []
    for timing, got in sim.items():
        for k in ("total", "synapse", "soma", "network"):
            err = np.max(np.abs(got[k] - predicted[k])) / max(np.max(np.abs(predicted[k])), 1e-30)
            if err > 1e-9:
                problems.append(f"{name}/{timing}: {k} energy differs from the description by {err:.2e} (relative)")
        for k in ("messages", "hops", "synaptic_events", "updated", "fired"):
            if not np.array_equal(got[k], predicted[k]):
                problems.append(f"{name}/{timing}: {k} differs from the description")
        if timing == "simple":
            err = np.max(np.abs(got["time"] - predicted["time"]) / predicted["time"])
            if err > 1e-9:
                problems.append(f"{name}/simple: step time differs from the description by {err:.2e} (relative)")
    first = next(iter(sim.values()))
    if any(not np.allclose(s["total"], first["total"], rtol=1e-12, atol=0) for s in sim.values()):
        problems.append(f"{name}: energy depends on the timing model")
    counts = result.counts.set_index(["layer", "t"])
    for p in net.projections:
        if not p.via:
            continue
        events = spikes[p.source][:, :, p.pre].sum(axis=(1, 2))
        acs = np.array([counts.loc[(p.via, t), "synaptic_acs"] + counts.loc[(p.via, t), "synaptic_macs"]
                        for t in range(len(events))])
        if not np.array_equal(events, acs):
            problems.append(f"{name}: {p.via}'s synaptic events {events.tolist()} differ from asnn-sim's ACs {acs.tolist()}")
    problems += check_reach(name, net, result)
    return problems


def check_reach(name, net, result) -> list[str]:
    """asnn-sim's messages per core per spike (``hw_models.reach``, from the layers table's
    windows) against the destination cores of SANA-FE's unrolled synapses."""
    from hw_models import load_profile
    from hw_models.counts import Counts, validate
    from hw_models.timing import core_map

    placed = core_map(validate(Counts(result.counts, result.layers, result.summary)).layers, load_profile("loihi-sanafe"))
    links: dict[tuple[str, str], list] = {}
    for p in net.projections:
        links.setdefault((p.source, p.target), []).append(p)
    problems = []
    for (source, target), projections in links.items():
        pre = np.concatenate([p.pre for p in projections])
        dest = np.concatenate([net.groups[target].core[p.post] for p in projections])
        distinct = len(np.unique(pre.astype(np.int64) * (dest.max() + 1) + dest))  # (neuron, core) pairs
        cores = len(np.unique(net.groups[target].core))
        expected = distinct / (net.groups[source].n * cores)
        key = ("" if net.groups[source].kind == "input" else source, target)
        got = placed.reach.get(key, 1.0)
        if abs(got - expected) > 1e-12:
            problems.append(f"{name}: {source} -> {target}: asnn-sim's messages per core per spike {got:.6f}, "
                            f"SANA-FE's synapses give {expected:.6f}")
    return problems


# ----------------------------------------------------------------- output


def report(out: dict) -> str:
    s, lines = out["per_step"], []
    place = ", ".join(f"{r['group']} {r['neurons']} on {r['cores']} core(s) from {r['first_core']}" for r in out["placement"])
    rates = ", ".join(f"{g} {v:.1%}" for g, v in out["firing_rates"].items())
    lines += [f"== {out['model']}: {out['description']}; T={out['timesteps']}, {out['samples']} samples",
              f"   placement: {place}; {out['tiles_in_use']} tile(s) in use -> barrier {out['barrier_s'] * 1e6:.1f} us",
              f"   firing: {rates}",
              "   energy per step, nJ per inference: A = asnn-sim loihi, B = asnn-sim model x SANA-FE constants (loihi-sanafe), "
              "C = SANA-FE, C-in = C without its input units' messages and their hops (asnn-sim's input comes from off chip); "
              "latency per step: SANA-FE simple and detailed, asnn-sim on loihi (A) and loihi-sanafe (B)",
              f"   {'t':>2} {'A':>8} {'B':>8} {'C':>8} {'C/A':>6} {'C-in':>8} {'B/C-in':>6} | {'C synapse':>9} {'soma':>8} {'network':>8} | "
              + " ".join(f"{t + ' us':>11}" for t in s["sanafe_latency_s"]) + f" {'A us':>8} {'B us':>8} {'B/C':>6}"
              + f" {'C-in us':>8} {'B/C-in':>6}  bound: C simple / C-in / B"]
    a, b, c = s["asnn_loihi_pj"]["total"], s["asnn_model_sanafe_constants_pj"]["total"], s["sanafe_pj"]
    for t in s["t"]:
        lat = " ".join(f"{v[t] * 1e6:11.4f}" for v in s["sanafe_latency_s"].values())
        simple = next(iter(s["sanafe_latency_s"].values()))[t]
        mine = (f"{s['asnn_latency_s'][t] * 1e6:8.4f} {s['asnn_sanafe_constants_latency_s'][t] * 1e6:8.4f} "
                f"{s['asnn_sanafe_constants_latency_s'][t] / simple:6.3f} {s['sanafe_latency_no_input_s'][t] * 1e6:8.4f} "
                f"{s['asnn_sanafe_constants_latency_s'][t] / s['sanafe_latency_no_input_s'][t]:6.3f}")
        c_in = c["total"][t] - s["sanafe_input_messages_pj"][t]
        lines.append(f"   {t:>2} {a[t] / 1e3:8.2f} {b[t] / 1e3:8.2f} {c['total'][t] / 1e3:8.2f} {c['total'][t] / a[t]:6.2f} "
                     f"{c_in / 1e3:8.2f} {b[t] / c_in:6.3f} | "
                     f"{c['synapse'][t] / 1e3:9.2f} {c['soma'][t] / 1e3:8.2f} {c['network'][t] / 1e3:8.2f} | {lat} {mine}"
                     f"  {s['sanafe_bound'][t]} / {s['sanafe_bound_no_input'][t]} / {s['asnn_sanafe_constants_bound'][t]}")
    lines.append("   per inference, by activity (counts; energy nJ):")
    lines.append(f"   {'activity':<16} {'asnn count':>11} {'SANA-FE count':>14} {'A':>8} {'B':>8} {'C':>8}")
    act = out["activities"]
    rows = [("synaptic events", act["synaptic_events"]["asnn"], act["synaptic_events"]["sanafe"], act["synaptic_events"]),
            ("neuron update", act["neuron_updates"]["asnn_touched"], act["neuron_updates"]["sanafe_updated_lif"],
             act["neuron_updates"]),
            ("spike out", act["spikes_out"]["asnn"], act["spikes_out"]["sanafe_fired"], act["spikes_out"]),
            ("messages", act["messages"]["asnn"], act["messages"]["sanafe"], act["messages"]),
            ("hops", act["hops"]["asnn"], act["hops"]["sanafe"], act["hops"]),
            ("total", float("nan"), float("nan"), act["total"])]
    for label, x, y, d in rows:
        lines.append(f"   {label:<16} {x:11.1f} {y:14.1f} {d['A_pj'] / 1e3:8.2f} {d['B_pj'] / 1e3:8.2f} {d['C_pj'] / 1e3:8.2f}")
    lines.append(f"   (neuron update counts: asnn neurons touched vs SANA-FE LIF updates; "
                 f"accesses {act['neuron_updates']['sanafe_accesses']:.0f}; "
                 f"messages from input units {act['messages']['sanafe_from_input']:.1f})")
    static = float(np.sum(s["asnn_loihi_pj"].get("static_not_compared", 0.0)))
    if static:
        lines.append(f"   asnn-sim's loihi static energy, left out of A (SANA-FE models none): "
                     f"{static / 1e3:.2f} nJ per inference")
    lines.append("   checks: " + ("all passed" if out["checks"]["passed"] else "; ".join(out["checks"]["problems"])))
    return "\n".join(lines)


def constants_text(units: dict, noc: dict) -> str:
    """The SANA-FE Loihi constants this run loaded (pJ / ns)."""
    def pair(unit, e, l):  # noqa: E741
        return f"{units[unit][e] * PJ:g} pJ / {units[unit][l] * 1e9:g} ns"
    lif, out = [], ["SANA-FE Loihi constants loaded (arch/loihi.yaml as shipped in the wheel):"]
    for name, label in (("loihi_dense_synapse", "dense synapse"), ("loihi_sparse_synapse", "sparse synapse"),
                        ("loihi_conv_synapse", "conv synapse")):
        lif.append(f"{label} {pair(name, 'energy_process_spike', 'latency_process_spike')}")
    for key, label in (("access_neuron", "neuron access"), ("update_neuron", "neuron update"), ("spike_out", "spike out")):
        lif.append(f"{label} {pair(sn.LIF_UNIT, 'energy_' + key, 'latency_' + key)}")
    lif.append(f"message out {pair('axon_out', 'energy_message_out', 'latency_message_out')}")
    lif.append(f"message in {pair('axon_in', 'energy_message_in', 'latency_message_in')}")
    lif += [f"hop {d} {noc['hop_energy'][d] * PJ:g} pJ / {noc['hop_latency'][d] * 1e9:g} ns" for d in ("east", "north")]
    out.append("   " + "; ".join(lif))
    out.append(f"   {noc['width']} x {noc['height']} tiles, {noc['cores_per_tile']} cores per tile; barrier by tiles in use: "
               + ", ".join(f">={k}: {v * 1e6:g} us" for k, v in sorted(noc["barrier"].items())))
    return "\n".join(out)


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=float) + "\n")
    os.replace(tmp, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="lenet,nir,wide,res", help="comma list of: " + ", ".join(MODELS))
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--timesteps", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timing", default="simple,detailed", help="SANA-FE timing models, comma list (simple first)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "sanafe_check")
    args = parser.parse_args(argv)
    args.timing = [t for t in args.timing.split(",") if t]
    models = [m for m in args.models.split(",") if m]
    unknown = [m for m in models if m not in MODELS]
    if unknown or not args.timing:
        parser.error(f"unknown model(s) {unknown}" if unknown else "--timing is empty")
    try:
        import sanafe
    except ImportError:
        print("sanafe is not installed here: run `make bench-sanafe` (it builds .venv-sanafe)", file=sys.stderr)
        return 1
    arch_path = Path(sanafe.__file__).parent / "examples" / "loihi.yaml"
    arch = sanafe.load_arch(str(arch_path))
    print(constants_text(sn.unit_constants(arch), sn.noc_constants(arch_path, arch)), flush=True)
    failed = False
    for name in models:
        out, problems = run_model(name, args, sanafe, arch, arch_path)
        print(report(out), flush=True)
        write_json(args.out / f"{name}.json", out)
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
