"""Counting throughput side by side: asnn-sim against NeuroBench/snnTorch, SpikingJelly and Sinabs, in float32.

Run it from the peers' virtual environment, never from the project's (``make
bench-peers`` builds ``.venv-peers`` and runs it; ``benchmarks/README-peers.md`` gives the
exact install commands)::

    .venv-peers/bin/python benchmarks/peers.py               # batches 1, 16, 128; 3 rounds
    .venv-peers/bin/python benchmarks/peers.py --check-only  # cross-checks only, no timing
    .venv-peers/bin/python benchmarks/peers.py --quick       # smoke run: 64 samples, 1 round
    .venv-peers/bin/python benchmarks/peers.py --workload resnet19   # ResNet-19: 16 images, batches 1, 16

What runs
---------
``--workload lenet`` (default): the digits LeNet trained with plain LIF neurons
(``asnn=False``: one leak and one input gain per layer) and direct coding, T=4, 30 epochs,
seed 0 (trained on first use, cached under ``benchmarks/.cache/digits_lenet_direct_lif_T4``),
exported to our graph, over the 360-sample test set. ``--workload resnet19``: ResNet-19 at
CIFAR size with plain LIF neurons and direct coding, T=4, untrained and calibrated to 15 %
firing per layer (cached as ``benchmarks/.cache/resnet19_direct_lif_T4_rate15.asnn``), on
16 CIFAR-shaped random images. Replayed by:

* asnn-sim: ``Simulator(graph, precision, batch_size=B).run_batch`` on the encoded
  frames, and ``asnn_sim.sim.simulate(graph, images, labels, precision=..., batch_size=B)``
  end to end from the images; float32 and float64;
* each peer with its stock LIF class, in float32 (the way its users run it; float64 as
  extra rows with ``--peer-precisions float32,float64``), see ``peer_models.py``:

  - NeuroBench ``Benchmark(SNNTorchModel(net), ..., [[], [SynapticOperations]]).run()``
    over an snnTorch model (``snn.Leaky``), and that snnTorch model bare;
  - SpikingJelly multi-step ``neuron.LIFNode`` model under ``op_counter.SynOpCounter``
    in ``DispatchCounterMode``, and bare;
  - Sinabs ``LIFSqueeze`` model with ``sinabs.hooks`` synops hooks on every conv/linear
    layer, and bare;
  - the same layers with the neuron in plain torch, no counting.

  The stock LIF classes have no input gain beside the decay, so for the peers the gain
  is folded into the weights feeding each neuron, or, where a neuron also integrates
  spikes as they are (a ResNet's identity shortcut), the stock threshold is 1/gain (both
  exact in real arithmetic).

Cross-check (before any timing; exit code 1 if it fails):

* float64: every peer's spikes equal the simulator's float64 spikes at every neuron
  layer, step and sample, except snnTorch's, which may differ only where snnTorch's own
  reset rule differs from the trained neuron's (a membrane still above threshold after
  its reset; checked layer by layer on our input spikes); predictions equal (snnTorch:
  within 1 % on the LeNet, reported on the ResNet); each count defined alike equals ours
  (NeuroBench's checked on the plain torch neuron, whose spikes are ours);
* float32: how many spikes each float32 peer differs from our float32 replay is
  reported; LeNet: it fails only if a peer's predictions differ from ours on more than
  1 % of the samples; ResNet: if more than 1 % of a peer's spikes differ (snnTorch
  excepted). See ``WORKLOAD_DEFAULTS``.

Timing: for each batch size every implementation runs once to warm up, then ``--rounds``
interleaved rounds (one pass of each per round); the median pass is reported as samples
per second. Not timed: training, export, encoding the frames (except in the
``simulate()`` rows, which start from the images), building models and hooks.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
from importlib import metadata
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from asnn_sim.util import atomic  # noqa: E402
from asnn_sim.sim import Conventions, Simulator, simulate  # noqa: E402
from asnn_sim.sim.engine import SLOT  # noqa: E402
from bench_sim import LoadMonitor, batches, machine, time_all  # noqa: E402
import peer_models as pm  # noqa: E402
from peer_counters import (neurobench_metric, neurobench_per_module, neurobench_runner, sinabs_runner,  # noqa: E402
                           spikingjelly_per_module, spikingjelly_runner)
from peers_report import report  # noqa: E402
from workloads import CACHE  # noqa: E402

PEERS = {
    "neurobench": ("NeuroBench + snnTorch", ["neurobench", "snntorch"]),
    "spikingjelly": ("SpikingJelly", ["spikingjelly", "loguru"]),
    "sinabs": ("Sinabs", ["sinabs", "nir", "nirtorch"]),
}
# What each peer's code here imports: (module, names in it).
PROBES = {
    "neurobench": [("snntorch", ["Leaky"]), ("neurobench.benchmarks", ["Benchmark"]), ("neurobench.metrics.workload", ["SynapticOperations"]),
                   ("neurobench.models", ["SNNTorchModel", "TorchModel"])],
    "spikingjelly": [("spikingjelly.activation_based.functional", ["reset_net"]), ("spikingjelly.activation_based.layer", ["Conv2d"]),
                     ("spikingjelly.activation_based.neuron", ["LIFNode"]),
                     ("spikingjelly.activation_based.op_counter", ["DispatchCounterMode", "SynOpCounter"])],
    "sinabs": [("sinabs.layers", ["LIFSqueeze"]), ("sinabs.activation", ["SingleSpike", "MembraneSubtract"]),
               ("sinabs.hooks", ["conv_layer_synops_hook", "linear_layer_synops_hook"])],
}
DTYPES = {"float32": torch.float32, "float64": torch.float64}
# --workload -> defaults of the options that depend on it (the ResNet is ~100 ms per image in PyTorch on 2 cores)
WORKLOAD_DEFAULTS = {
    "lenet": {"batches": "1,16,128", "samples": None, "quick_samples": 64, "check_batch": 128, "stem": "peers", "pred_tolerance": 0.01,
              "spike_tolerance": None},
    "resnet19": {"batches": "1,16", "samples": 16, "quick_samples": 4, "check_batch": 16, "stem": "peers-resnet19",
                 "pred_tolerance": None, "spike_tolerance": 0.01},
}
# pred_tolerance: the largest share of samples whose prediction may differ from ours (float32 peers; snnTorch in
# float64). None: reported, not checked. The untrained ResNet's logits on random images are near ties (margins
# are reported with every mismatch), and snnTorch's reset rule cascades through its 18 neuron layers; there the
# spikes are the check (float64: equal, or for snnTorch explained layer by layer). spike_tolerance: the largest
# share of spikes a float32 peer (not snnTorch, whose reset rule differs) may differ from our float32 replay by
# (None: not checked); one rounding flip cascades through a deep network (bench_sim's float32 check has the same 1 %).


class CheckFailed(RuntimeError):
    """A peer disagrees with the simulator: no timing is reported."""


def version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def peer_status() -> dict:
    """Which peers import here: name -> {"label", "versions", "ok", "error"}."""
    out = {}
    for key, (label, dists) in PEERS.items():
        entry = {"label": label, "versions": {d: version(d) for d in dists}, "ok": False, "error": None}
        try:
            for module, names in PROBES[key]:
                mod = importlib.import_module(module)
                for name in names:
                    getattr(mod, name)
            entry["ok"] = True
        except Exception as e:  # an import error of any kind: report it and go on without that peer
            entry["error"] = f"{type(e).__name__}: {e}"
        out[key] = entry
    return out


def model_kinds(peers: dict) -> list[str]:
    """The stock models that can be built here (``torch`` always)."""
    kinds = ["torch"]
    if peers["neurobench"]["ok"]:
        kinds.append("snntorch")
    for key in ("spikingjelly", "sinabs"):
        if peers[key]["ok"]:
            kinds.append(key)
    return kinds


# ---------------------------------------------------------------- the data each runner takes


class Inputs:
    """The workload's frames, images and labels, in each precision and layout (built once, not timed)."""

    def __init__(self, wl) -> None:
        self.graph, self.n = wl.graph, wl.n_samples
        self.images, self.labels = wl.images, wl.labels
        # NeuroBench's DataLoader wants targets: zeros where the workload has no labels
        self.targets = np.zeros(self.n, np.int64) if wl.labels is None else np.asarray(wl.labels)
        self.np = {p: np.ascontiguousarray(wl.frames, dtype=p) for p in DTYPES}  # (T, N, ...)
        self.tb = {p: torch.from_numpy(a) for p, a in self.np.items()}
        self.bt = {p: t.transpose(0, 1).contiguous() for p, t in self.tb.items()}  # (N, T, ...)

    def layout(self, model: nn.Module, precision: str) -> torch.Tensor:
        return self.bt[precision] if model.layout == "BT" else self.tb[precision]


# ---------------------------------------------------------------- ours


def ours_pass(graph, frames: np.ndarray, parts: list, precision: str, conventions=None, record: bool = False):
    """Our replay over every batch: (simulator, counts (L, T, n), logits (N, K), spikes {lif: (T, N, ...)})."""
    sim = Simulator(graph, precision, conventions, batch_size=max(p.stop - p.start for p in parts))
    counts = np.zeros((len(sim.rows), graph.timesteps, len(SLOT)), np.int64)
    logits, spikes = [], {}
    for s in parts:
        res = sim.run_batch(frames[:, s], record=record)
        counts += res.counts.sum(axis=0)
        logits.append(res.logits)
        for k, v in (res.spikes or {}).items():
            spikes.setdefault(k, []).append(v)
    return sim, counts, np.concatenate(logits), {k: np.concatenate(v, 1) for k, v in spikes.items()}


def ours_per_module(counts: np.ndarray, row_index: dict, names: list) -> dict:
    """Our counts summed over all steps of each synaptic layer in ``names``."""
    out = {}
    for name in names:
        c = counts[row_index[name]].sum(axis=0)
        out[name] = {"AC": int(c[SLOT["synaptic_acs"]]), "MAC": int(c[SLOT["synaptic_macs"]]), "dense": int(c[SLOT["dense_macs"]])}
    return out


# ---------------------------------------------------------------- cross-checks


def differing(spikes: dict, ours: dict) -> dict:
    return {k: int((spikes[k] != ours[k]).sum()) for k in ours}


def snntorch_layerwise(net: pm.StockNet, frames: torch.Tensor, ours: dict, parts: list) -> dict:
    """snnTorch's ``Leaky`` against our neuron layer by layer, each fed *our* input spikes (float64).

    snnTorch (``reset_mechanism="subtract"``, ``reset_delay=False``) tests a membrane that is
    still above threshold after its reset against ``2 * threshold`` at the next step, where
    the trained neuron tests it against ``threshold`` (``neuron_mappings.snntorch_leaky``).
    The plain torch model runs with every neuron replaced by a tap that hands it our spikes
    (so each layer's current is computed from our upstream spikes) and, on the way, steps
    the snnTorch model's ``Leaky`` and a plain-torch reference of the trained neuron over
    that current. Per layer: the spikes that differ, the neuron-steps that start above
    threshold, the neurons whose first difference is *not* at such a step (must be 0), and
    the reference's differences from the simulator (must be 0).
    """
    tnet = pm.build("torch", net, torch.float64)
    snet = pm.build("snntorch", net, torch.float64)
    keys = ("reference_differs", "differ", "steps_starting_above_threshold", "neurons_differing", "unexplained")
    out = {name: dict.fromkeys(keys, 0) for name in net.neurons}

    def tap(s: slice):
        def compare(name: str, current: torch.Tensor) -> torch.Tensor:
            mine = np.ascontiguousarray(ours[name][:, s])
            leak, thr = net.leak[name], net.threshold[name]
            leaky = getattr(snet, name)
            leaky.reset_mem()
            v = torch.zeros_like(current[0])
            ref, above, theirs = [], [], []
            for t in range(current.shape[0]):
                above.append(v > thr)
                v = leak * v + current[t]
                sp = (v > thr).to(v.dtype)
                v = v - sp * thr  # as TorchLIF: exact for thr = 1
                ref.append(sp)
                theirs.append(leaky(current[t]))
            ref = torch.stack(ref).to(torch.uint8).numpy()
            theirs = torch.stack(theirs).to(torch.uint8).numpy()
            above = torch.stack(above).numpy()
            diff = theirs != mine
            first = np.argmax(diff, axis=0)  # first differing step per neuron (0 where none differs)
            has = diff.any(axis=0)
            explained = np.take_along_axis(above, first[None], axis=0)[0]
            o = out[name]
            o["reference_differs"] += int((ref != mine).sum())
            o["differ"] += int(diff.sum())
            o["steps_starting_above_threshold"] += int(above.sum())
            o["neurons_differing"] += int(has.sum())
            o["unexplained"] += int((has & ~explained).sum())
            return torch.from_numpy(mine)
        return compare

    with torch.no_grad():
        for s in parts:
            tnet.walk(frames[:, s], tap(s))
    return out


def margins(logits: np.ndarray) -> np.ndarray:
    """Each sample's top logit minus its runner-up (how near a tie our prediction is)."""
    top2 = np.sort(logits, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def compare_spikes(kind: str, precision: str, net, inp: "Inputs", parts: list, spikes: dict, logits: np.ndarray, check: dict,
                   log) -> int:
    """Run peer ``kind`` in ``precision``, record in ``check["spikes"]`` how many of its spikes
    (per layer) and predictions differ from ours (and our logit margins where they do);
    returns the differing predictions."""
    model = pm.build(kind, net, DTYPES[precision])
    lg, sp = pm.record_spikes(kind, model, inp.layout(model, precision), parts)
    d = differing(sp, spikes)
    total = int(sum(v.size for v in spikes.values()))
    flipped = lg.numpy().argmax(1) != logits.argmax(1)
    pm_count = int(flipped.sum())
    m = margins(logits)
    check["spikes"][kind] = {"spikes_compared": total, "spikes_differing": d, "prediction_mismatches": pm_count,
                             "margin_median": float(np.median(m)), "flipped_margin_max": float(m[flipped].max()) if pm_count else None}
    log(f"  {precision} {kind}: {sum(d.values())} of {total} spikes differ (per layer {d}), {pm_count} predictions differ"
        + (f" (our logit margin there at most {m[flipped].max():.4g}; median over all samples {np.median(m):.4g})" if pm_count else ""))
    return pm_count


def neurobench_checked(kind: str, net, inp: "Inputs", batch: int, n: int, problems: list, label: str) -> tuple[dict, dict]:
    """NeuroBench over the float64 ``kind`` model: its per-module counts and its metric's
    totals, the totals checked against the per-module sums (a mismatch goes to ``problems``)."""
    model = pm.build(kind, net, torch.float64)
    per_module = neurobench_per_module(kind, model, inp.bt["float64"], batch)
    run, cleanup = neurobench_runner(kind, model, inp.bt["float64"], inp.targets, batch)
    metric = neurobench_metric(run(), n, problems)
    cleanup()
    for what, key in (("AC", "Effective_ACs"), ("MAC", "Effective_MACs"), ("dense", "Dense")):
        if metric.get(key) != sum(v[what] for v in per_module.values()):
            problems.append(f"{label} metric {key} x samples = {metric.get(key)} vs its per-layer sum")
    return per_module, metric


def cross_check_f64(wl, inp: Inputs, peers: dict, batch: int, log, pred_tolerance: float | None = 0.01) -> dict:
    """Spikes, predictions and counts of every float64 peer against the simulator's float64 replay."""
    graph, n = wl.graph, inp.n
    parts = list(batches(n, batch))
    frames = inp.np["float64"]
    sim, counts, logits, spikes = ours_pass(graph, frames, parts, "float64", record=True)
    _, counts_nz, _, _ = ours_pass(graph, frames, parts, "float64", Conventions(skip_zero_weights=True))
    pred = logits.argmax(1)
    problems = []
    res = simulate(graph, inp.images, inp.labels, precision="float64", batch_size=batch, progress=False)
    table = res.counts.sort_values(["layer_index", "t"])[list(SLOT)].to_numpy().reshape(counts.shape)
    if not np.array_equal(table, counts):
        problems.append("simulate() counts differ from Simulator.run_batch's on the encoded frames")
    if not np.array_equal(res.step_logits.mean(axis=1).argmax(axis=1), pred):
        problems.append("simulate() predictions differ from Simulator.run_batch's")
    net = pm.stock_net(graph)
    syn = net.synapses
    check = {"precision": "float64", "samples": n, "batch": batch, "accuracy": accuracy(pred, inp.labels), "pred_tolerance": pred_tolerance,
             "zero_weights": {node.name: int((node.weight == 0).sum()) for node in graph.nodes_of_role("synapse")},
             "ours": ours_per_module(counts, sim.row_index, syn), "ours_skip_zero_weights": ours_per_module(counts_nz, sim.row_index, syn),
             "spikes": {}, "peers": {}}
    for kind in model_kinds(peers):
        pm_count = compare_spikes(kind, "float64", net, inp, parts, spikes, logits, check, log)
        if kind == "snntorch":
            lw = snntorch_layerwise(net, inp.tb["float64"], spikes, parts)
            check["snntorch_layerwise"] = lw
            log(f"    snnTorch layer by layer on our input spikes: {lw}")
            if any(v["unexplained"] or v["reference_differs"] for v in lw.values()):
                problems.append(f"snnTorch Leaky: spikes differ beyond its reset rule (layer by layer: {lw})")
            if pred_tolerance is not None and pm_count > pred_tolerance * n:
                problems.append(f"snnTorch: {pm_count} of {n} predictions differ")
        elif any(check["spikes"][kind]["spikes_differing"].values()) or pm_count:
            problems.append(f"{kind}: {check['spikes'][kind]['spikes_differing']} spikes and {pm_count} predictions differ from the simulator")

    ours_nz, ours = check["ours_skip_zero_weights"], check["ours"]
    if peers["neurobench"]["ok"]:
        # NeuroBench's definition, checked on the plain torch neuron (its spikes are ours) ...
        nb, metric = neurobench_checked("torch", net, inp, batch, n, problems, "NeuroBench")
        for name in syn:
            for what in ("AC", "MAC", "dense"):
                if nb[name][what] != ours_nz[name][what]:
                    problems.append(f"NeuroBench {name} {what}: {nb[name][what]} vs ours (skip_zero_weights) {ours_nz[name][what]}")
        # ... and what it reports over the snnTorch model (whose spikes may differ, see above)
        nbs, metric_s = neurobench_checked("snntorch", net, inp, batch, n, problems, "NeuroBench (snnTorch model)")
        check["peers"]["neurobench"] = {"per_module": nb, "metric_totals": metric, "snntorch_per_module": nbs, "snntorch_metric_totals": metric_s}
        log(f"  NeuroBench (torch neuron): ACs {metric.get('Effective_ACs')}, MACs {metric.get('Effective_MACs')}, dense {metric.get('Dense')}; "
            f"(snnTorch model): ACs {metric_s.get('Effective_ACs')}")
    if peers["spikingjelly"]["ok"]:
        counter = spikingjelly_runner(pm.build("spikingjelly", net, torch.float64), inp.tb["float64"], parts)()
        sj = spikingjelly_per_module(counter, syn)
        check["peers"]["spikingjelly"] = {"per_module": sj}
        for name, o in ours.items():
            want = o["AC"] if o["MAC"] == 0 else 0  # it counts binary inputs only
            if sj[name] != want:
                problems.append(f"SpikingJelly {name}: {sj[name]} SynOps vs ours {o['AC']} ACs / {o['MAC']} MACs")
        if sj["_total"] != sum(sj[k] for k in syn):
            problems.append("SpikingJelly get_total() differs from its per-module sum")
        log(f"  SpikingJelly: SynOps {sj['_total']}")
    if peers["sinabs"]["ok"]:
        run, handles = sinabs_runner(pm.build("sinabs", net, torch.float64), inp.bt["float64"], parts, syn)
        sb = run()
        for h in handles:
            h.remove()
        check["peers"]["sinabs"] = {"per_module": sb}
        for name, o in ours.items():
            if o["MAC"] == 0 and round(sb[name]) != o["AC"]:
                problems.append(f"Sinabs {name}: {sb[name]} synops vs ours {o['AC']} ACs")
        log(f"  Sinabs: synops {sum(sb.values()):.2f}")
    check["problems"] = problems
    if problems:
        raise CheckFailed("float64: " + "; ".join(problems[:10]))
    return check


def accuracy(pred: np.ndarray, labels) -> float | None:
    """Our accuracy on the labels (None for unlabelled inputs: the ResNet's random images)."""
    return None if labels is None else float((pred == np.asarray(labels)[:len(pred)]).mean())


def check_f32(wl, inp: Inputs, peers: dict, batch: int, log, pred_tolerance: float | None = 0.01,
              spike_tolerance: float | None = None) -> dict:
    """Float32 peers against our float32 replay: spikes that differ (reported) and predictions (within 1 %)."""
    graph, n = wl.graph, inp.n
    parts = list(batches(n, batch))
    _, _, logits, spikes = ours_pass(graph, inp.np["float32"], parts, "float32", record=True)
    pred = logits.argmax(1)
    problems = []
    res = simulate(graph, inp.images, inp.labels, precision="float32", batch_size=batch, progress=False)
    if not np.array_equal(res.step_logits.mean(axis=1).argmax(axis=1), pred):
        problems.append("simulate() float32 predictions differ from Simulator.run_batch's")
    net = pm.stock_net(graph)
    check = {"precision": "float32", "samples": n, "batch": batch, "accuracy": accuracy(pred, inp.labels), "pred_tolerance": pred_tolerance,
             "spike_tolerance": spike_tolerance, "spikes": {}}
    for kind in model_kinds(peers):
        pm_count = compare_spikes(kind, "float32", net, inp, parts, spikes, logits, check, log)
        if pred_tolerance is not None and pm_count > pred_tolerance * n:
            problems.append(f"{kind}: {pm_count} of {n} float32 predictions differ from ours")
        sp = check["spikes"][kind]
        if spike_tolerance is not None and kind != "snntorch" and sum(sp["spikes_differing"].values()) > spike_tolerance * sp["spikes_compared"]:
            problems.append(f"{kind}: {sum(sp['spikes_differing'].values())} of {sp['spikes_compared']} float32 spikes differ from ours")
    check["problems"] = problems
    if problems:
        raise CheckFailed("float32: " + "; ".join(problems))
    return check


# ---------------------------------------------------------------- timing


def build_runners(inp: Inputs, peers: dict, net: pm.StockNet, batch: int, n: int, peer_precisions: list) -> tuple[dict, list]:
    """key -> {"label", "counts", "precision", "run"} for one batch size over the first ``n`` samples; and cleanups."""
    graph = inp.graph
    parts = list(batches(n, batch))
    images, labels, targets = inp.images[:n], None if inp.labels is None else inp.labels[:n], inp.targets[:n]
    out, cleanups = {}, []

    def add(key, label, counts, precision, run):
        out[f"{key} {precision}"] = {"key": key, "label": label, "counts": counts, "precision": precision, "run": run}

    for p in ("float32", "float64"):
        frames = inp.np[p]
        sim = Simulator(graph, p, batch_size=batch)
        add("ours run_batch", "asnn-sim `Simulator.run_batch` (replay + exact counts)", "all counts of docs/counting.md", p,
            lambda sim=sim, frames=frames: [sim.run_batch(frames[:, s]) for s in parts])
        add("ours simulate", "asnn-sim `simulate()` end to end (encode + replay + tables)", "all counts + tables", p,
            lambda p=p: simulate(graph, images, labels, precision=p, batch_size=batch, progress=False))
    for p in peer_precisions:
        dt = DTYPES[p]
        tnet = pm.build("torch", net, dt)
        add("torch", "PyTorch, the neuron in plain torch (no framework, no counting)", "nothing", p,
            lambda m=tnet, x=inp.tb[p]: pm.run_model("torch", m, x, parts))
        if peers["neurobench"]["ok"]:
            v = peers["neurobench"]["versions"]
            bare = pm.build("snntorch", net, dt)
            add("snntorch bare", f"snnTorch {v['snntorch']} `snn.Leaky` model, stepped, no counting", "nothing", p,
                lambda m=bare, x=inp.bt[p]: pm.run_model("snntorch", m, x, parts, pm.reset_fn("snntorch")))
            run, cleanup = neurobench_runner("snntorch", pm.build("snntorch", net, dt), inp.bt[p][:n], targets, batch)
            cleanups.append(cleanup)
            add("neurobench", f"NeuroBench {v['neurobench']} `SynapticOperations` (`Benchmark.run`, `SNNTorchModel`)",
                "ACs + MACs + dense", p, run)
        if peers["spikingjelly"]["ok"]:
            v = peers["spikingjelly"]["versions"]["spikingjelly"]
            bare = pm.build("spikingjelly", net, dt)
            add("spikingjelly bare", f"SpikingJelly {v} `LIFNode` model, no counter", "nothing", p,
                lambda m=bare, x=inp.tb[p]: pm.run_model("spikingjelly", m, x, parts, pm.reset_fn("spikingjelly")))
            add("spikingjelly", f"SpikingJelly {v} `SynOpCounter` (`DispatchCounterMode`)", "spike-driven ACs", p,
                spikingjelly_runner(pm.build("spikingjelly", net, dt), inp.tb[p], parts))
        if peers["sinabs"]["ok"]:
            v = peers["sinabs"]["versions"]["sinabs"]
            bare = pm.build("sinabs", net, dt)
            add("sinabs bare", f"Sinabs {v} `LIFSqueeze` model, no hooks", "nothing", p,
                lambda m=bare, x=inp.bt[p]: pm.run_model("sinabs", m, x, parts, pm.reset_fn("sinabs")))
            run, handles = sinabs_runner(pm.build("sinabs", net, dt), inp.bt[p], parts, net.synapses)
            cleanups.extend(h.remove for h in handles)
            add("sinabs", f"Sinabs {v} synops hooks (`sinabs.hooks`)", "input value x fan-out", p, run)
    return out, cleanups


# ---------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="peers.py", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--workload", choices=tuple(WORKLOAD_DEFAULTS), default="lenet",
                    help="lenet: the trained digits LeNet; resnet19: ResNet-19 at CIFAR size, calibrated to 15 %% firing")
    ap.add_argument("--batches", default=None, help="comma-separated batch sizes, every implementation (default: lenet 1,16,128; resnet19 1,16)")
    ap.add_argument("--rounds", type=int, default=3, help="timed interleaved rounds per batch size (median reported)")
    ap.add_argument("--samples", type=int, default=None, help="use the first N samples (default: lenet all 360 test images; resnet19 16)")
    ap.add_argument("--limit", type=int, default=None, help="time only the first N samples at batch sizes below 16 (default: all)")
    ap.add_argument("--peer-precisions", default="float32", help="precisions of the peers' rows: float32 and/or float64 (ours runs both)")
    ap.add_argument("--check-batch", type=int, default=None, help="batch size of the cross-checks (default: lenet 128, resnet19 16)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 round on 64 samples (lenet) or 4 (resnet19)")
    ap.add_argument("--check-only", action="store_true", help="cross-checks only, no timing")
    ap.add_argument("--threads", type=int, default=None, help="threads for Numba and PyTorch alike (default: their own, = usable CPUs)")
    ap.add_argument("--out", type=Path, default=None, help="the markdown report (default: benchmarks/.cache/peers/peers.md, "
                    "peers-resnet19.md for resnet19)")
    ap.add_argument("--json", type=Path, default=None, help="every timing, check and count as JSON (default: beside --out)")
    ap.add_argument("--cache", type=Path, default=CACHE, help="where the trained LeNet run and the calibrated ResNet graph are cached")
    args = ap.parse_args(argv)
    d = WORKLOAD_DEFAULTS[args.workload]
    args.batches = d["batches"] if args.batches is None else args.batches
    if args.quick:
        args.rounds, args.samples = 1, args.samples or d["quick_samples"]
    args.samples = d["samples"] if args.samples is None else args.samples
    args.check_batch = d["check_batch"] if args.check_batch is None else args.check_batch
    args.out = CACHE / "peers" / f"{d['stem']}.md" if args.out is None else args.out
    args.json = args.out.with_suffix(".json") if args.json is None else args.json
    try:
        args.batch_list = [int(b) for b in args.batches.split(",") if b.strip()]
    except ValueError:
        ap.error("--batches takes comma-separated integers")
    precs = [p.strip() for p in args.peer_precisions.split(",") if p.strip()]
    if not precs or any(p not in DTYPES for p in precs):
        ap.error("--peer-precisions takes float32 and/or float64")
    args.peer_precision_list = [p for p in DTYPES if p in precs]
    if args.rounds < 1 or args.check_batch < 1 or not args.batch_list or min(args.batch_list) < 1 or any(
            v is not None and v < 1 for v in (args.samples, args.limit)):
        ap.error("--rounds, --batches, --check-batch, --samples and --limit must be >= 1")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if args.threads is not None:
        import numba

        numba.set_num_threads(args.threads)
        torch.set_num_threads(args.threads)
    facts = machine()
    peers = peer_status()
    for p in peers.values():
        log(f"{p['label']}: " + ("ok " + str(p["versions"]) if p["ok"] else f"NOT AVAILABLE: {p['error']}"))
    wl = pm.WORKLOADS[args.workload](args.cache, limit=args.samples, log=log)
    try:
        net = pm.stock_net(wl.graph)
    except ValueError as e:  # a graph no stock LIF class expresses: one line, no traceback
        log(f"peers.py: {e}")
        return 1
    log(f"\n== {wl.name}: {wl.n_samples} samples; leak {net.leak}, gain {net.gain}")
    inp = Inputs(wl)
    res = {"workload": wl.name, "net": net}
    try:
        res["check_f64"] = cross_check_f64(wl, inp, peers, args.check_batch, log, d["pred_tolerance"])
        res["check_f32"] = check_f32(wl, inp, peers, args.check_batch, log, d["pred_tolerance"], d["spike_tolerance"])
    except CheckFailed as e:
        log(f"cross-check FAILED, no timings reported: {e}")
        return 1
    if not args.check_only:
        monitor = LoadMonitor()
        rows = []
        for b in args.batch_list:
            n = inp.n if b >= 16 or args.limit is None else min(inp.n, args.limit)
            log(f"\n-- batch {b}, {n} samples")
            runners, cleanups = build_runners(inp, peers, net, b, n, args.peer_precision_list)
            seconds = time_all({k: r["run"] for k, r in runners.items()}, args.rounds, log, monitor)
            for k, s in seconds.items():
                r = runners[k]
                med = float(np.median(s))
                rows.append({"key": r["key"], "label": r["label"], "counts": r["counts"], "precision": r["precision"], "batch": b,
                             "samples": n, "seconds": s, "median": med, "best": float(np.min(s)), "samples_per_s": n / med})
            for c in cleanups:
                c()
        res["rows"], res["foreign"] = rows, monitor.share
    given = argv if argv is not None else sys.argv[1:]
    command = "python benchmarks/peers.py" + ("" if not given else " " + " ".join(given))
    text = report(res, facts, peers, args, command)
    print(text)
    for path in (args.out, args.json):
        path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(args.out, text)
    res["net"] = {"leak": net.leak, "gain": net.gain, "threshold": net.threshold, "gain_folded": net.folded}
    atomic.write_json(args.json, {"command": command, "machine": facts, "peers": peers, "platform": platform.platform(),
                                  "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}, "results": res})
    log(f"wrote {args.out} and {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
