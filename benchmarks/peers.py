"""Counting throughput side by side: asnn-sim against NeuroBench, SpikingJelly and Sinabs.

Run it from the peers' virtual environment, never from the project's (``make
bench-peers`` builds ``.venv-peers`` and runs it; ``benchmarks/README-peers.md`` gives the
exact install commands)::

    .venv-peers/bin/python benchmarks/peers.py            # hybrid and direct coding, 3 rounds
    .venv-peers/bin/python benchmarks/peers.py --quick    # hybrid only, 128 samples, 1 round

What runs
---------
The digits LeNet (T=4; trained here on first use with a fixed seed and cached under
``benchmarks/.cache/``, as ``bench_sim.py`` does), exported to our graph (BatchNorm
folded, float64), replayed over the 360-sample test set on the same encoded frames by:

* asnn-sim ``Simulator.run_batch`` (float64, batch 128): the Numba replay, counting
  every operation; and ``asnn_sim.sim.simulate()`` end to end from the images
  (encoding + replay + the counts tables);
* one torch model built from the graph's folded weights (``LeNetFromGraph``: plain
  ``nn.Conv2d`` / ``nn.Linear`` / ``nn.MaxPool2d``, each layer applied to all timesteps
  at once, then the neurons step through time), in float64, batch 128, with the
  counter of each peer attached:

  - NeuroBench: ``Benchmark(TorchModel(...), ..., [[], [SynapticOperations]]).run()``,
    the neuron a plain torch module (NeuroBench has no neuron of its own);
  - SpikingJelly: ``op_counter.SynOpCounter`` inside ``DispatchCounterMode``, the neuron
    a ``neuron.SimpleBaseNode`` subclass (SpikingJelly's documented way to write a
    custom charge equation) with a strict threshold;
  - Sinabs: ``sinabs.hooks.conv_layer_synops_hook`` / ``linear_layer_synops_hook`` on
    every conv and linear layer, the neuron a ``sinabs.layers.StatefulLayer`` subclass
    taking Sinabs' ``(batch, time, ...)`` layout.

  No peer's stock neuron expresses ours: ``mem = leak[t] * mem + gain[t] * x`` with a
  leak *and* an input gain per layer and per timestep, spike when ``mem - 1 > 0``
  (strict), soft reset. (SpikingJelly's and Sinabs' LIF have one time constant, no
  separate gain, and fire at ``>=``.) So every peer runs the same custom neuron inside
  its own neuron base class, and the spikes are bit-identical to ours.

Cross-check (before any timing; the script stops with exit code 1 if it fails): every
peer's spikes equal the simulator's float64 spikes at every neuron layer, timestep and
sample; its predictions equal ours; and each count that is defined the same way equals
ours layer by layer (see the report's "counts" table and ``README-peers.md``).

Timing: every implementation runs once to warm up (Numba compilation, caches), then
``--rounds`` interleaved rounds (one pass of every implementation per round); the table
reports the median pass over the whole test set, as samples per second. Not timed:
training, export, encoding the frames (except in the ``simulate()`` row, which starts
from the images), building the models and hooks, and the cross-check.
"""

from __future__ import annotations

import argparse
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
from bench_sim import LoadMonitor, batches, fmt_time, machine, time_all  # noqa: E402
from peer_models import BatchFirst, LeNetFromGraph, TorchASNN, sinabs_neuron, spikingjelly_neuron  # noqa: E402
from workloads import CACHE, lenet  # noqa: E402

PEERS = {
    "neurobench": ("NeuroBench", ["neurobench", "snntorch"]),
    "spikingjelly": ("SpikingJelly", ["spikingjelly", "loguru"]),
    "sinabs": ("Sinabs", ["sinabs", "nir", "nirtorch", "samna"]),
}


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
            if key == "neurobench":
                from neurobench.benchmarks import Benchmark  # noqa: F401
                from neurobench.metrics.workload import SynapticOperations  # noqa: F401
                from neurobench.models import TorchModel  # noqa: F401
            elif key == "spikingjelly":
                from spikingjelly.activation_based import functional, neuron  # noqa: F401
                from spikingjelly.activation_based.op_counter import DispatchCounterMode, SynOpCounter  # noqa: F401
            else:
                import sinabs.layers  # noqa: F401
                from sinabs.hooks import conv_layer_synops_hook, linear_layer_synops_hook  # noqa: F401
            entry["ok"] = True
        except Exception as e:  # an import error of any kind: report it and go on without that peer
            entry["error"] = f"{type(e).__name__}: {e}"
        out[key] = entry
    return out


# ---------------------------------------------------------------- runners (one pass over the test set each)


def run_model(net: LeNetFromGraph, frames: torch.Tensor, parts: list, record: bool = False, reset=None):
    """Logits (and spikes) of ``net`` over every batch; ``reset(net)`` first, if given, for each batch."""
    logits, spikes = [], {}
    with torch.no_grad():
        for s in parts:
            if reset is not None:
                reset(net)
            lg, sp = net(frames[:, s], record=record)
            logits.append(lg)
            for k, v in sp.items():
                spikes.setdefault(k, []).append(v)
    return torch.cat(logits), {k: torch.cat(v, 1) for k, v in spikes.items()}


def neurobench_counts(net: LeNetFromGraph, frames_bt: torch.Tensor, labels: torch.Tensor, batch: int):
    """A runner: NeuroBench's ``Benchmark.run`` with ``SynapticOperations`` over the test set."""
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.workload import SynapticOperations
    from neurobench.models import TorchModel
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(frames_bt, labels), batch_size=batch, shuffle=False)
    bench = Benchmark(TorchModel(BatchFirst(net)), loader, [], [], [[], [SynapticOperations]])

    def run():
        with torch.no_grad():
            return bench.run(quiet=True)

    return run


def neurobench_per_module(net: LeNetFromGraph, frames_bt: torch.Tensor, batch: int) -> dict:
    """NeuroBench's per-layer rule (``single_layer_MACs``) applied to each module's inputs.

    ``SynapticOperations`` sums exactly this over layers: effective operations (inputs and
    weights binarised, zero stays zero), whether the input was "spiking" (all values in
    {-1, 0, 1}: ACs) or not (MACs), and the dense total (all ones).
    """
    from neurobench.metrics.utils.layers import single_layer_MACs
    from neurobench.models import TorchModel

    model = TorchModel(BatchFirst(net))
    model.register_hooks()
    with torch.no_grad():
        for s in batches(frames_bt.shape[0], batch):
            model(frames_bt[s])
    names = {id(m): n for n, m in net.named_modules()}
    recorded = [(names[id(h.layer)], h.layer, list(h.inputs)) for h in model.connection_hooks]
    model.cleanup_hooks()  # the binary copies of the layers must not carry the hooks
    out = {}
    with torch.no_grad():
        for name, layer, inputs in recorded:
            c = out.setdefault(name, {"AC": 0, "MAC": 0, "dense": 0})
            for inp in inputs:
                x = inp[0] if len(inp) == 1 else inp
                ops, spiking = single_layer_MACs(x, layer)
                total, _ = single_layer_MACs(x, layer, total=True)
                c["AC" if spiking else "MAC"] += int(ops)
                c["dense"] += int(total)
    return out


def spikingjelly_counts(net: LeNetFromGraph, frames: torch.Tensor, parts: list):
    """A runner: SpikingJelly's ``SynOpCounter`` over every batch; returns the counter."""
    from spikingjelly.activation_based import functional
    from spikingjelly.activation_based.op_counter import DispatchCounterMode, SynOpCounter

    def run():
        counter = SynOpCounter()
        with torch.no_grad(), DispatchCounterMode([counter]):
            for s in parts:
                functional.reset_net(net)
                net(frames[:, s])
        return counter

    return run


def spikingjelly_per_module(counter, net: LeNetFromGraph) -> dict:
    """``SynOpCounter.get_counts()`` by module scope -> {module name: SynOps}."""
    counts = counter.get_counts()
    out = {}
    for name, _, _ in net.modules_of:
        hits = [v for scope, v in counts.items() if scope.split(".")[-1] == name]
        out[name] = int(sum(sum(d.values()) for d in hits))
    out["_total"] = int(counter.get_total())
    return out


def sinabs_counts(net: LeNetFromGraph, frames: torch.Tensor, parts: list):
    """A runner: Sinabs' synops hooks on every conv/linear layer, read after each batch.

    The hooks store the mean synops per (sample x timestep) row of the layer's input for
    the last call; the total of a call is that mean times the rows (B x the steps the
    module computes), rounded (float64 arithmetic).
    """
    from sinabs.hooks import conv_layer_synops_hook, linear_layer_synops_hook

    mods = {name: getattr(net, name) for name, _, _ in net.modules_of}
    steps = {name: len(st) for name, _, st in net.modules_of}
    handles = [m.register_forward_hook(conv_layer_synops_hook if isinstance(m, nn.Conv2d) else linear_layer_synops_hook) for m in mods.values()]

    def run():
        totals = dict.fromkeys(mods, 0.0)
        with torch.no_grad():
            for s in parts:
                n = frames[:, s].shape[1]
                net(frames[:, s])
                for name, m in mods.items():
                    totals[name] += float(m.hook_data["layer_synops_per_timestep"]) * n * steps[name]
        return totals

    return run, handles


# ---------------------------------------------------------------- cross-check


def ours_per_module(counts: np.ndarray, layer_index: dict, modules_of) -> dict:
    """Our counts (L, T, n) summed over each torch module's layer and steps."""
    out = {}
    for name, layer, steps in modules_of:
        c = counts[layer_index[layer]][steps].sum(axis=0)
        out[name] = {"AC": int(c[SLOT["synaptic_acs"]]), "MAC": int(c[SLOT["synaptic_macs"]]), "dense": int(c[SLOT["dense_macs"]]),
                     "events": int(c[SLOT["in_events_binary"]] + c[SLOT["in_events_analog"]] + c[SLOT["in_events_graded"]])}
    return out


def sim_pass(graph, frames: np.ndarray, parts: list, conventions=None, record=False):
    sim = Simulator(graph, "float64", conventions, batch_size=max(p.stop - p.start for p in parts))
    L, T = len(sim.rows), graph.timesteps
    counts = np.zeros((L, T, len(SLOT)), np.int64)
    logits, spikes = [], {}
    for s in parts:
        res = sim.run_batch(frames[:, s], record=record)
        counts += res.counts.sum(axis=0)
        logits.append(res.logits)
        for k, v in res.spikes.items():
            spikes.setdefault(k, []).append(v)
    return sim, counts, np.concatenate(logits), {k: np.concatenate(v, 1) for k, v in spikes.items()}


def cross_check(wl, images, labels, peers: dict, batch: int, log) -> dict:
    """Spikes, predictions and counts of every peer against the simulator (float64)."""
    graph = wl.graph
    frames = np.ascontiguousarray(wl.frames, dtype=np.float64)
    n = frames.shape[1]
    parts = list(batches(n, batch))
    sim, counts, logits, spikes = sim_pass(graph, frames, parts, record=True)
    _, counts_nz, _, _ = sim_pass(graph, frames, parts, Conventions(skip_zero_weights=True))
    pred = logits.argmax(1)
    layer_index = sim.row_index
    problems = []

    # simulate() from the images must count (and predict) what run_batch did from the encoded frames
    res = simulate(graph, images, labels, precision="float64", batch_size=batch, progress=False)
    table = res.counts.sort_values(["layer_index", "t"])[list(SLOT)].to_numpy().reshape(counts.shape)
    if not np.array_equal(table, counts):
        problems.append("simulate() counts differ from Simulator.run_batch's on the encoded frames")
    if not np.array_equal(res.step_logits.mean(axis=1).argmax(axis=1), pred):
        problems.append("simulate() predictions differ from Simulator.run_batch's")
    zero_weights = {node.name: int((node.weight == 0).sum()) for node in graph.nodes_of_role("synapse")}

    tframes = torch.from_numpy(frames)
    check = {"samples": n, "accuracy": float((pred == labels[:n]).mean()), "zero_weights": zero_weights, "peers": {}}
    plain = LeNetFromGraph(graph, TorchASNN)
    ours = ours_per_module(counts, layer_index, plain.modules_of)
    ours_nz = ours_per_module(counts_nz, layer_index, plain.modules_of)
    check["modules"] = [(name, layer, steps) for name, layer, steps in plain.modules_of]
    check["ours"] = ours
    check["ours_skip_zero_weights"] = ours_nz

    neuron_classes = {"torch": TorchASNN}
    if peers["spikingjelly"]["ok"]:
        neuron_classes["spikingjelly"] = spikingjelly_neuron()
    if peers["sinabs"]["ok"]:
        neuron_classes["sinabs"] = sinabs_neuron()
    spike_report = {}
    for key, cls in neuron_classes.items():
        net = LeNetFromGraph(graph, cls)
        reset = None
        if key == "spikingjelly":
            from spikingjelly.activation_based import functional

            reset = functional.reset_net
        lg, sp = run_model(net, tframes, parts, record=True, reset=reset)
        differ = {k: int((sp[k].numpy().astype(np.uint8) != spikes[k]).sum()) for k in spikes}
        total = int(sum(v.size for v in spikes.values()))
        pm = int((lg.numpy().argmax(1) != pred).sum())
        spike_report[key] = {"spikes_compared": total, "spikes_differing": differ, "prediction_mismatches": pm}
        if any(differ.values()) or pm:
            problems.append(f"{key} neuron: {differ} spikes and {pm} predictions differ from the simulator")
        log(f"  {key} neuron: {sum(differ.values())} of {total} spikes differ (per layer {differ}), {pm} predictions differ")
    check["spikes"] = spike_report

    # NeuroBench
    if peers["neurobench"]["ok"]:
        net = LeNetFromGraph(graph, TorchASNN)
        nb = neurobench_per_module(net, tframes.transpose(0, 1).contiguous(), batch)
        run = neurobench_counts(net, tframes.transpose(0, 1).contiguous(), torch.as_tensor(labels[:n]), batch)
        result = run()["SynapticOperations"]
        if not isinstance(result, dict):
            problems.append(f"NeuroBench SynapticOperations failed inside Benchmark.run (it reports {result!r})")
            result = {}
        metric = {k: round(v * n) for k, v in result.items()}
        check["peers"]["neurobench"] = {"per_module": nb, "metric_totals": metric}
        for name in nb:
            for what in ("AC", "MAC", "dense"):
                if nb[name][what] != ours_nz[name][what]:
                    problems.append(f"NeuroBench {name} {what}: {nb[name][what]} vs ours (skip_zero_weights) {ours_nz[name][what]}")
        for what, key in (("AC", "Effective_ACs"), ("MAC", "Effective_MACs"), ("dense", "Dense")):
            want = sum(v[what] for v in nb.values())
            if metric.get(key) != want:
                problems.append(f"NeuroBench metric {key} x samples = {metric.get(key)} vs its per-layer sum {want}")
        log(f"  NeuroBench: ACs {metric.get('Effective_ACs')}, MACs {metric.get('Effective_MACs')}, dense {metric.get('Dense')} (totals over {n} samples)")

    # SpikingJelly
    if peers["spikingjelly"]["ok"]:
        net = LeNetFromGraph(graph, neuron_classes["spikingjelly"])
        counter = spikingjelly_counts(net, tframes, parts)()
        sj = spikingjelly_per_module(counter, net)
        check["peers"]["spikingjelly"] = {"per_module": sj}
        for name, o in ours.items():
            binary = o["MAC"] == 0
            want = o["AC"] if binary else 0
            if sj[name] != want:
                problems.append(f"SpikingJelly {name}: {sj[name]} SynOps vs ours {o['AC']} ACs / {o['MAC']} MACs")
        if sj["_total"] != sum(v for k, v in sj.items() if k != "_total"):
            problems.append("SpikingJelly get_total() differs from its per-module sum")
        log(f"  SpikingJelly: SynOps {sj['_total']}")

    # Sinabs
    if peers["sinabs"]["ok"]:
        net = LeNetFromGraph(graph, neuron_classes["sinabs"])
        run, handles = sinabs_counts(net, tframes, parts)
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
        raise CheckFailed(f"{wl.name}: " + "; ".join(problems[:10]))
    return check


# ---------------------------------------------------------------- timing


def build_runners(wl, images, labels, peers: dict, batch: int) -> dict:
    """name -> (label, what it counts, runner)."""
    graph = wl.graph
    frames = np.ascontiguousarray(wl.frames, dtype=np.float64)
    n = frames.shape[1]
    parts = list(batches(n, batch))
    tframes = torch.from_numpy(frames)
    out = {}
    sim = Simulator(graph, "float64", batch_size=batch)
    out["asnn-sim run_batch"] = ("asnn-sim `Simulator.run_batch` (replay + exact counts)", "all counts of docs/counting.md",
                                 lambda: [sim.run_batch(frames[:, s]) for s in parts])
    out["asnn-sim simulate"] = ("asnn-sim `simulate()` end to end (encode + replay + tables)", "all counts + tables",
                                lambda: simulate(graph, images, labels, precision="float64", batch_size=batch, progress=False))
    plain = LeNetFromGraph(graph, TorchASNN)
    out["torch"] = ("PyTorch model, no counting (reference)", "nothing", lambda: run_model(plain, tframes, parts))
    if peers["neurobench"]["ok"]:
        nbnet = LeNetFromGraph(graph, TorchASNN)
        out["neurobench"] = (f"NeuroBench {peers['neurobench']['versions']['neurobench']} `SynapticOperations` (`Benchmark.run`)",
                             "ACs + MACs + dense", neurobench_counts(nbnet, tframes.transpose(0, 1).contiguous(), torch.as_tensor(labels[:n]), batch))
    if peers["spikingjelly"]["ok"]:
        from spikingjelly.activation_based import functional

        sjnet = LeNetFromGraph(graph, spikingjelly_neuron())
        v = peers["spikingjelly"]["versions"]["spikingjelly"]
        out["spikingjelly bare"] = (f"SpikingJelly {v} model, no counter (reference)", "nothing",
                                    lambda: run_model(sjnet, tframes, parts, reset=functional.reset_net))
        out["spikingjelly"] = (f"SpikingJelly {v} `SynOpCounter` (`DispatchCounterMode`)", "spike-driven ACs", spikingjelly_counts(sjnet, tframes, parts))
    if peers["sinabs"]["ok"]:
        v = peers["sinabs"]["versions"]["sinabs"]
        sbbare = LeNetFromGraph(graph, sinabs_neuron())
        out["sinabs bare"] = (f"Sinabs {v} model, no hooks (reference)", "nothing", lambda: run_model(sbbare, tframes, parts))
        sbnet = LeNetFromGraph(graph, sinabs_neuron())
        run, _ = sinabs_counts(sbnet, tframes, parts)
        out["sinabs"] = (f"Sinabs {v} synops hooks (`sinabs.hooks`)", "input value x fan-out", run)
    return out


# ---------------------------------------------------------------- report


def counts_table(check: dict) -> str:
    ours, nz = check["ours"], check["ours_skip_zero_weights"]
    nb = check["peers"].get("neurobench", {}).get("per_module")
    sj = check["peers"].get("spikingjelly", {}).get("per_module")
    sb = check["peers"].get("sinabs", {}).get("per_module")
    head = "| module | steps | ours: ACs | ours: MACs | ours: dense MACs |"
    rule = "|---|---|---:|---:|---:|"
    if nb:
        head += " NeuroBench AC | NeuroBench MAC | NeuroBench dense |"
        rule += "---:|---:|---:|"
    if sj:
        head += " SpikingJelly SynOps |"
        rule += "---:|"
    if sb:
        head += " Sinabs synops |"
        rule += "---:|"
    lines = [head, rule]
    tot = {"AC": 0, "MAC": 0, "dense": 0, "nbAC": 0, "nbMAC": 0, "nbd": 0, "sj": 0, "sb": 0.0}
    for name, _, steps in check["modules"]:
        o = ours[name]
        row = f"| {name} | {steps[0]}..{steps[-1]} | {o['AC']:,} | {o['MAC']:,} | {o['dense']:,} |"
        tot["AC"] += o["AC"]
        tot["MAC"] += o["MAC"]
        tot["dense"] += o["dense"]
        if nb:
            row += f" {nb[name]['AC']:,} | {nb[name]['MAC']:,} | {nb[name]['dense']:,} |"
            tot["nbAC"] += nb[name]["AC"]
            tot["nbMAC"] += nb[name]["MAC"]
            tot["nbd"] += nb[name]["dense"]
        if sj:
            row += f" {sj[name]:,} |"
            tot["sj"] += sj[name]
        if sb:
            v = sb[name]
            row += f" {round(v):,} |" if o["MAC"] == 0 else f" {v:,.2f} |"
            tot["sb"] += v
        lines.append(row)
    row = f"| **total** | | {tot['AC']:,} | {tot['MAC']:,} | {tot['dense']:,} |"
    if nb:
        row += f" {tot['nbAC']:,} | {tot['nbMAC']:,} | {tot['nbd']:,} |"
    if sj:
        row += f" {tot['sj']:,} |"
    if sb:
        row += f" {tot['sb']:,.2f} |"
    lines.append(row)
    same_nz = all(ours[k] == nz[k] for k in ours)
    lines += ["", f"Zero weights in the folded graph: {sum(check['zero_weights'].values())} "
              f"({'so our default and skip_zero_weights counts are equal' if same_nz else 'our skip_zero_weights counts differ from the default ones'})."]
    return "\n".join(lines)


def timing_table(rows: list[dict], n: int) -> str:
    ref = next((r["median"] for r in rows if r["key"] == "asnn-sim run_batch"), None)
    out = ["| implementation | counts | median pass (s) | best (s) | samples/s | per sample | vs `run_batch` |",
           "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        ratio = r["median"] / ref if ref else float("nan")
        rel = "1.00x" if r["key"] == "asnn-sim run_batch" else (f"{ratio:.1f}x slower" if ratio >= 1 else f"{1 / ratio:.1f}x faster")
        out.append(f"| {r['label']} | {r['counts']} | {r['median']:.4f} | {r['best']:.4f} | {n / r['median']:,.0f} | "
                   f"{fmt_time(r['median'] / n)} | {rel} |")
    return "\n".join(out)


def report(results: dict, facts: dict, peers: dict, args, command: str) -> str:
    lines = ["# asnn-sim against the peers: counting throughput", "",
             f"Command: `{command}`", "",
             f"Machine: {facts['cpu']}, {facts['usable_cpus']} usable CPUs; Numba {facts['numba']} ({facts['numba_threads']} threads), "
             f"PyTorch {facts['torch']} ({facts['torch_threads']} threads), NumPy {facts['numpy']}, Python {facts['python']}.", "",
             "Peers: " + "; ".join(
                 f"{p['label']} " + (", ".join(f"{d} {v}" for d, v in p["versions"].items() if v) if p["ok"] else f"not available ({p['error']})")
                 for p in peers.values()) + ".", "",
             f"float64 throughout, batch {args.batch}; median of {args.rounds} interleaved round(s) after one warm-up pass each. "
             "Every row processes the same encoded frames of the whole test set (the `simulate()` row starts from the images and encodes them itself).", ""]
    for enc, r in results.items():
        c = r["check"]
        lines += [f"## {r['workload']}", "",
                  f"{c['samples']} test samples, accuracy {c['accuracy']:.4f} (every implementation predicts the same classes).", ""]
        if r.get("rows"):
            share = r.get("foreign")
            lines += [timing_table(r["rows"], c["samples"]), "",
                      (f"Other processes used {share:.0%} of the machine's CPU time while this ran"
                       + (" (a quiet machine)." if share < 0.05 else ": the machine was shared, so these numbers are provisional.")) if share is not None else "", ""]
        sp = c["spikes"]
        lines += ["Cross-check (before timing): spikes at every neuron layer, step and sample equal to the simulator's for "
                  + ", ".join(f"{k} ({v['spikes_compared']:,} spikes, {sum(v['spikes_differing'].values())} differ)" for k, v in sp.items())
                  + "; counts, totals over the samples:", "", counts_table(c), ""]
    lines += ["What the count columns are:", "",
              "* ours: `synaptic_acs` (non-zero binary input x in-bounds synapse), `synaptic_macs` (the same for analog "
              "inputs), `dense_macs` (every input element x in-bounds synapse), default conventions (zero weights count);",
              "* NeuroBench `SynapticOperations`, per layer by its own rule (`single_layer_MACs`): inputs and weights "
              "binarised, a zero weight stays 0 (so it equals our `skip_zero_weights` count; the same as the default here, "
              "no folded weight is exactly 0); an input whose values are all in {-1, 0, 1} counts as ACs, any other as MACs; "
              "`Dense` = all inputs and weights set to 1. The metric reports per-sample means; x samples gives the totals;",
              "* SpikingJelly `SynOpCounter`: per aten conv/matmul, only when the input is a binary tensor: "
              "in-bounds pairs x output channels (zero weights count); a non-binary (analog) input counts 0;",
              "* Sinabs `conv_layer_synops_hook` / `linear_layer_synops_hook`: sum over inputs of value x fan-out "
              "(in-bounds), so equal to our ACs for spikes, and the pixel-weighted sum (not a count of operations) "
              "for the analog first layer; reported per (sample x timestep) mean, x rows gives the totals.", ""]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="peers.py", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--encodings", default="hybrid,direct", help="comma-separated LeNet input codings (each is trained once and cached)")
    ap.add_argument("--rounds", type=int, default=3, help="timed interleaved rounds (median reported)")
    ap.add_argument("--batch", type=int, default=128, help="samples per batch, every implementation")
    ap.add_argument("--samples", type=int, default=None, help="use the first N test samples (default: all 360)")
    ap.add_argument("--quick", action="store_true", help="smoke run: hybrid only, 128 samples, 1 round")
    ap.add_argument("--check-only", action="store_true", help="cross-check only, no timing")
    ap.add_argument("--threads", type=int, default=None, help="threads for Numba and PyTorch alike (default: their own, = usable CPUs)")
    ap.add_argument("--out", type=Path, default=CACHE / "peers", help="folder for peers.md and peers.json")
    ap.add_argument("--cache", type=Path, default=CACHE, help="where the trained LeNet runs are cached")
    args = ap.parse_args(argv)
    if args.quick:
        args.encodings, args.rounds, args.samples = "hybrid", 1, args.samples or 128
    encodings = [e.strip() for e in args.encodings.split(",") if e.strip()]
    if args.rounds < 1 or args.batch < 1 or (args.samples is not None and args.samples < 1):
        ap.error("--rounds, --batch and --samples must be >= 1")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    from asnn_sim.training.data import load_dataset

    if args.threads is not None:
        import numba

        numba.set_num_threads(args.threads)
        torch.set_num_threads(args.threads)
    facts = machine()
    peers = peer_status()
    for p in peers.values():
        log(f"{p['label']}: " + ("ok " + str(p["versions"]) if p["ok"] else f"NOT AVAILABLE: {p['error']}"))
    data = load_dataset("digits")
    results = {}
    try:
        for enc in encodings:
            wl = lenet(args.cache, limit=args.samples, log=log, encoding=enc)
            images, labels = data.x_test[: wl.n_samples], data.y_test[: wl.n_samples]
            log(f"\n== {wl.name}: {wl.n_samples} samples")
            check = cross_check(wl, images, labels, peers, args.batch, log)
            entry = {"workload": wl.name, "check": check}
            if not args.check_only:
                runners = build_runners(wl, images, labels, peers, args.batch)
                monitor = LoadMonitor()
                seconds = time_all({k: v[2] for k, v in runners.items()}, args.rounds, log, monitor)
                entry["rows"] = [{"key": k, "label": runners[k][0], "counts": runners[k][1], "seconds": s,
                                  "median": float(np.median(s)), "best": float(np.min(s))} for k, s in seconds.items()]
                entry["foreign"] = monitor.share
            results[enc] = entry
    except CheckFailed as e:
        log(f"cross-check FAILED, no timings reported: {e}")
        return 1
    command = "python benchmarks/peers.py" + ("" if not (argv if argv is not None else sys.argv[1:]) else " " + " ".join(argv if argv is not None else sys.argv[1:]))
    text = report(results, facts, peers, args, command)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic.write_text(args.out / "peers.md", text)
    atomic.write_json(args.out / "peers.json", {"command": command, "machine": facts, "peers": peers, "platform": platform.platform(),
                                                "results": results})
    log(f"wrote {args.out / 'peers.md'} and {args.out / 'peers.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
