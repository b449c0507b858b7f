"""Simulator throughput against PyTorch on the same machine and the same frames.

Run ``python benchmarks/bench_sim.py`` (``make bench``); ``--help`` lists the options.

Workloads
---------
``lenet``  the digits LeNet (hybrid coding, T=4), trained here on first use and cached
           under ``benchmarks/.cache/``, replayed over the 360-sample test set.
``wide``   one 64->64 3x3 convolution (padding 1) on 32x32 maps fed ~10 % binary spikes,
           T=4; its ACs are the conv layer's alone (the small pool/linear tail the IR
           needs is timed but not counted).

Implementations, each timed on the same encoded frames (converted once to its precision,
outside the timing):

* ``asnn-sim``: the Numba event-driven simulator (``Simulator.run_batch``), counting
  every operation, float32 and float64.
* ``torch dense``: the same graph as dense PyTorch ops (``TorchGraph.run``), the baseline
  of the ratio column.
* ``torch dense + counts``: the same with NeuroBench-style counting hooks
  (``TorchGraph.run(count=True)``), the thing the simulator replaces.
* ``torch model`` (LeNet only): the original trained ``nn.Module`` forward.

What is timed: everything from the frames of a batch to its logits (and counts), for all
batches of the workload; what is not: Numba JIT compilation (every kernel is run once
before timing), model/graph construction, frame encoding and dtype conversion, and the
correctness cross-check, which runs first: the simulator's counts must equal
TorchGraph's brute-force counts layer by layer and step by step, and its predictions
(and, in float64, every spike) must equal PyTorch's; the benchmark stops if they do not.
Repeats are interleaved (one run of every implementation per round) so that a slow
moment of a shared machine hits all of them; the table reports the median over repeats,
and the report says how much CPU time other processes used meanwhile.

``--breakdown`` adds the simulator's time kernel by kernel; ``--density`` changes the
wide conv's input spike density. Results and discussion: ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import torch  # noqa: E402

from asnn_sim.util import atomic  # noqa: E402
from asnn_sim.sim import Simulator  # noqa: E402
from asnn_sim.sim.engine import SLOT  # noqa: E402
from asnn_sim.interop.torch_graph import TorchGraph  # noqa: E402
from workloads import CACHE, Workload, lenet, resnet19, spikformer, wide_conv  # noqa: E402

PRECISIONS = ("float32", "float64")
TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class CheckFailed(RuntimeError):
    """The simulator and PyTorch disagree: no timing is reported."""


@dataclass
class Row:
    workload: str
    implementation: str
    precision: str
    batch_size: int
    n_samples: int
    acs: int
    seconds: list = field(default_factory=list)

    @property
    def median(self) -> float:
        return float(np.median(self.seconds))

    @property
    def best(self) -> float:
        return float(np.min(self.seconds))


# ---------------------------------------------------------------- machine facts


def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or "unknown"
    import numba

    return {
        "cpu": model,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "torch": torch.__version__,
        "platform": platform.platform(),
    }


# ---------------------------------------------------------------- runners


def batches(n: int, size: int):
    for lo in range(0, n, size):
        yield slice(lo, min(n, lo + size))


def sim_runner(wl: Workload, precision: str, batch_size: int):
    sim = Simulator(wl.graph, precision, batch_size=batch_size)
    frames = np.ascontiguousarray(wl.frames, dtype=sim.dtype)
    parts = list(batches(wl.n_samples, batch_size))

    def run():
        return [sim.run_batch(frames[:, s]) for s in parts]

    return run


def torch_graph_runner(wl: Workload, precision: str, batch_size: int, count: bool):
    dt = TORCH_DTYPES[precision]
    tg = TorchGraph(wl.graph, dt)
    frames = torch.from_numpy(np.ascontiguousarray(wl.frames)).to(dt)
    parts = list(batches(wl.n_samples, batch_size))

    def run():
        return [tg.run(frames[:, s], count=count) for s in parts]

    return run


def torch_model_runner(wl: Workload, precision: str, batch_size: int):
    from asnn_sim.training.train import load_run

    dt = TORCH_DTYPES[precision]
    _, model = load_run(wl.run_dir)
    model = model.to(dt).eval()
    frames = torch.from_numpy(np.ascontiguousarray(wl.frames)).to(dt)
    parts = list(batches(wl.n_samples, batch_size))

    @torch.no_grad()
    def run():
        return [model(frames[:, s]) for s in parts]

    return run


# ---------------------------------------------------------------- cross-check


def cross_check(wl: Workload, precision: str, batch_size: int, log) -> dict:
    """Simulator vs TorchGraph (same precision) on every sample; raises CheckFailed on disagreement.

    Checks, totalled over the workload per node and timestep, every count against
    TorchGraph's brute-force count (:func:`asnn_sim.interop.torch_graph.count_mismatches`);
    predictions; and every spike (float64 must match exactly, float32 may differ where a
    membrane lands within rounding distance of the threshold: reported). For the trained
    LeNet in float64 the predictions and spikes are also compared with the original
    torch model.
    """
    from asnn_sim.sim import Conventions
    from asnn_sim.interop.torch_graph import count_mismatches, merge_facts

    dt = TORCH_DTYPES[precision]
    sim = Simulator(wl.graph, precision, batch_size=batch_size)
    tg = TorchGraph(wl.graph, dt)
    frames = np.ascontiguousarray(wl.frames, dtype=sim.dtype)
    T = wl.graph.timesteps
    ours = np.zeros((len(sim.rows), T, len(SLOT)), np.int64)
    facts: dict = {}
    pred_sim, pred_torch, pred_model = [], [], []
    spikes_compared = spikes_differ = 0
    model = None
    if wl.run_dir is not None and precision == "float64":
        from asnn_sim.training.train import load_run

        _, model = load_run(wl.run_dir)
        model = model.double().eval()
    model_spikes_differ = 0
    for s in batches(wl.n_samples, batch_size):
        res = sim.run_batch(frames[:, s], record=True)
        ours += res.counts.sum(axis=0)
        pred_sim.append(res.logits.argmax(1))
        with torch.no_grad():
            logits, _, dc = tg.run(torch.from_numpy(frames[:, s]), count=True)
        pred_torch.append(logits.numpy().argmax(1))
        merge_facts(facts, dc.facts)
        for name, sp in dc.spikes.items():
            a, b = res.spikes[name], sp.numpy()
            spikes_compared += a.size
            spikes_differ += int((a != b).sum())
        if model is not None:
            with torch.no_grad():
                out = model.forward_steps(torch.from_numpy(frames[:, s]), record=True)
            pred_model.append(out.logits.mean(0).numpy().argmax(1))
            for name, sp in out.spikes.items():
                model_spikes_differ += int((res.spikes[name] != sp.numpy().astype(np.uint8)).sum())
    problems = []
    if precision == "float64" or spikes_differ == 0:
        # in float32 a flipped spike changes downstream counts: exact counts are checked where spikes agree
        problems += count_mismatches(wl.graph, sim.rows, ours, facts, Conventions())
    pred_sim, pred_torch = np.concatenate(pred_sim), np.concatenate(pred_torch)
    n_pred = int((pred_sim != pred_torch).sum())
    # float64 must agree exactly. In float32 torch's dense convolutions sum in another
    # order, so a membrane at a hair from the threshold may flip a spike (and its effects
    # cascade through a deep network: 0.18 % of Spikformer-4-384's spikes), and an
    # untrained calibrated network's near-tied logits may then flip a prediction: reported,
    # and a failure only when more than 1 in 100 spikes differ.
    if n_pred and precision == "float64":
        problems.append(f"{n_pred} of {len(pred_sim)} predictions differ from TorchGraph {precision}")
    if precision == "float64" and spikes_differ:
        problems.append(f"{spikes_differ} of {spikes_compared} spikes differ from TorchGraph float64")
    if precision == "float32" and spikes_differ > 1e-2 * spikes_compared:
        problems.append(f"{spikes_differ} of {spikes_compared} spikes differ from TorchGraph float32 (more than 1 in 100)")
    summary = {
        "counts_equal": not any(" t=" in p for p in problems),
        "counts_checked": precision == "float64" or spikes_differ == 0,
        "prediction_mismatches": n_pred,
        "spikes_compared": spikes_compared,
        "spike_mismatches": spikes_differ,
    }
    if model is not None:
        pm = int((np.concatenate(pred_model) != pred_sim).sum())
        summary["model_prediction_mismatches"] = pm
        summary["model_spike_mismatches"] = model_spikes_differ
        if pm or model_spikes_differ:
            problems.append(f"vs the trained torch model (float64): {pm} predictions, {model_spikes_differ} spikes differ")
    if wl.labels is not None:
        summary["accuracy"] = float((pred_sim == wl.labels).mean())
    focus = [sim.row_index[wl.focus]] if wl.focus else [sim.row_index[n.name] for n in wl.graph.nodes_of_role("synapse")]
    summary["acs"] = int(ours[focus][..., SLOT["synaptic_acs"]].sum())
    summary["macs"] = int(ours[focus][..., SLOT["synaptic_macs"]].sum())
    if problems:
        raise CheckFailed(f"{wl.name}, {precision}: " + "; ".join(problems[:10]))
    log(
        f"  check {precision}: counts {'equal to TorchGraph brute force for every node and step' if summary['counts_checked'] else 'not compared (spikes differ)'}; "
        f"predictions equal; spikes differing {spikes_differ}/{spikes_compared}"
        + (f"; vs trained model: {summary['model_prediction_mismatches']} predictions, {summary['model_spike_mismatches']} spikes differ" if model is not None else "")
    )
    return summary


def sim_e2e_runner(wl: Workload, precision: str, batch_size: int):
    """``simulate()`` from the images: encoding, replay, counts tables."""
    from asnn_sim.sim import simulate

    def run():
        return simulate(wl.graph, wl.images, wl.labels, precision=precision, batch_size=batch_size, progress=False)

    return run


# ---------------------------------------------------------------- timing


def _cpu_busy() -> float | None:
    """Seconds of CPU time used by everything on the machine so far (Linux), or None."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        ticks = [int(v) for v in fields]
        idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
        return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class LoadMonitor:
    """How much CPU other processes used while we timed (a shared machine skews timings)."""

    def __init__(self) -> None:
        self.foreign = 0.0
        self.wall = 0.0

    def __enter__(self):
        self._busy, self._own, self._t = _cpu_busy(), time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        busy = _cpu_busy()
        wall = time.perf_counter() - self._t
        if busy is not None and self._busy is not None:
            self.foreign += max(0.0, (busy - self._busy) - (time.process_time() - self._own))
        self.wall += wall

    @property
    def share(self) -> float | None:
        """Other processes' CPU time / (wall time x CPUs): 0 on a quiet machine."""
        n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        return self.foreign / (self.wall * n) if self.wall > 0 else None


def time_all(runners: dict, repeats: int, log, monitor: LoadMonitor | None = None) -> dict:
    """Warm every runner up once (JIT compile, allocator), then interleave ``repeats`` rounds."""
    for name, run in runners.items():
        t0 = time.perf_counter()
        run()
        log(f"  warm-up {name}: {time.perf_counter() - t0:.2f} s (includes JIT compilation where there is one)")
    seconds = {name: [] for name in runners}
    monitor = monitor or LoadMonitor()
    for _ in range(repeats):
        for name, run in runners.items():
            with monitor:
                t0 = time.perf_counter()
                run()
                seconds[name].append(time.perf_counter() - t0)
    return seconds


def bench_workload(wl: Workload, args, log, monitor: LoadMonitor) -> tuple[list[Row], dict]:
    log(f"\n== {wl.name}: {wl.n_samples} samples, T={wl.graph.timesteps}")
    checks = {p: cross_check(wl, p, args.sim_batch[wl_key(wl)], log) for p in args.precisions}
    acs = checks[args.precisions[0]]["acs"]
    for p in args.precisions[1:]:
        if checks[p]["acs"] != acs:
            log(f"  note: {p} replay counts {checks[p]['acs']} ACs vs {acs} ({args.precisions[0]}); spikes differ")
    sb, tb = args.sim_batch[wl_key(wl)], args.torch_batch[wl_key(wl)]
    runners, meta = {}, {}
    for p in args.precisions:
        runners[f"asnn-sim {p}"] = sim_runner(wl, p, sb)
        meta[f"asnn-sim {p}"] = ("asnn-sim `Simulator.run_batch` (replay + counts)", p, sb)
        if wl.images is not None:
            runners[f"asnn-sim e2e {p}"] = sim_e2e_runner(wl, p, sb)
            meta[f"asnn-sim e2e {p}"] = ("asnn-sim `simulate()` (encode + replay + tables)", p, sb)
        runners[f"torch dense {p}"] = torch_graph_runner(wl, p, tb, count=False)
        meta[f"torch dense {p}"] = ("(a) PyTorch dense, TorchGraph", p, tb)
        if wl.run_dir is not None:
            runners[f"torch model {p}"] = torch_model_runner(wl, p, tb)
            meta[f"torch model {p}"] = ("(a') PyTorch dense, trained nn.Module", p, tb)
        runners[f"torch count {p}"] = torch_graph_runner(wl, p, tb, count=True)
        meta[f"torch count {p}"] = ("(b) PyTorch dense + NeuroBench-style counts", p, tb)
    seconds = time_all(runners, args.repeats, log, monitor)
    rows = []
    for name, secs in seconds.items():
        impl, p, bs = meta[name]
        rows.append(Row(wl.name, impl, p, bs, wl.n_samples, checks[p]["acs"], secs))
    return rows, checks


def wl_key(wl: Workload) -> str:
    return wl.key


# ---------------------------------------------------------------- where the time goes


def breakdown(wl: Workload, precision: str, batch_size: int, repeats: int) -> list[tuple[str, float, int]]:
    """Wall time per kernel of the simulator over the workload: (kernel, seconds per pass, calls per pass).

    The engine's kernel calls are wrapped with timers (a few microseconds of overhead
    per call); "engine (Python)" is the rest of ``run_batch``.
    """
    from asnn_sim.sim import engine, kernels

    spent: dict[str, float] = {}
    calls: dict[str, int] = {}

    class Timed:
        def __getattr__(self, name):
            fn = getattr(kernels, name)
            if not callable(fn):
                return fn  # constants

            def timed(*a):
                t0 = time.perf_counter()
                out = fn(*a)
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - t0
                calls[name] = calls.get(name, 0) + 1
                return out

            return timed

    run = sim_runner(wl, precision, batch_size)
    run()
    engine.K = Timed()
    try:
        best = None
        for _ in range(repeats):
            spent.clear()
            calls.clear()
            t0 = time.perf_counter()
            run()
            total = time.perf_counter() - t0
            if best is None or total < best[0]:
                best = (total, dict(spent), dict(calls))
    finally:
        engine.K = kernels
    total, spent, calls = best
    rows = sorted(((k, v, calls[k]) for k, v in spent.items()), key=lambda r: -r[1])
    rows.append(("engine (Python)", total - sum(spent.values()), 0))
    rows.append(("total", total, 0))
    return rows


def breakdown_table(wl: Workload, precision: str, rows) -> str:
    total = rows[-1][1]
    out = [f"Simulator time by kernel, {wl.name}, {precision} (fastest of the repeats, {fmt_time(total / wl.n_samples)} per sample):", "",
           "| kernel | share | per sample | calls per pass |", "|---|---:|---:|---:|"]
    for name, sec, n in rows:
        out.append(f"| {name} | {sec / total:.0%} | {fmt_time(sec / wl.n_samples)} | {n or ''} |")
    return "\n".join(out)


# ---------------------------------------------------------------- report


def fmt_time(s: float) -> str:
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} us"


def table(rows: list[Row]) -> str:
    """Markdown: one line per (workload, implementation, precision)."""
    dense = {(r.workload, r.precision): r.median for r in rows if r.implementation.startswith("(a) ")}
    counted = {(r.workload, r.precision): r.median for r in rows if r.implementation.startswith("(b) ")}
    out = [
        "| workload | implementation | precision | batch | wall time / sample (median) | best | ACs/s | vs PyTorch dense | vs dense + counts |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        per = r.median / r.n_samples
        d = dense[(r.workload, r.precision)] / r.median
        c = counted[(r.workload, r.precision)] / r.median
        out.append(
            f"| {r.workload} | {r.implementation} | {r.precision} | {r.batch_size} | {fmt_time(per)} | "
            f"{fmt_time(r.best / r.n_samples)} | {r.acs / r.median:.3g} | {d:.2f}x | {c:.2f}x |"
        )
    return "\n".join(out)


def report(rows: list[Row], checks: dict, facts: dict, args, command: str, foreign: float | None, extra: list[str]) -> str:
    lines = [
        "# asnn-sim benchmark",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {facts['cpu']}, {facts['usable_cpus']} usable CPUs; Numba {facts['numba']} "
        f"({facts['numba_threads']} threads), PyTorch {facts['torch']} ({facts['torch_threads']} threads), "
        f"NumPy {facts['numpy']}, Python {facts['python']}.",
        "",
        f"Median of {args.repeats} interleaved repeats after one warm-up run each (Numba JIT compile excluded). "
        "ACs/s = the simulator's counted ACs (wide conv: the conv layer only) / wall time of the "
        "whole replay of that implementation; for the PyTorch rows it is the same AC count over "
        "PyTorch's time (an equivalent rate: PyTorch does dense MACs). Ratios > 1: faster than the reference row.",
        "",
        table(rows),
        "",
        (f"Other processes used {foreign:.0%} of the machine's CPU time while this ran"
         + (" (a quiet machine)." if foreign < 0.05 else ": the machine was shared and absolute times are inflated; "
            "the interleaved ratios are the more reliable figures.") if foreign is not None else
         "CPU use by other processes was not measurable on this platform."),
        "",
        "Cross-checks (before timing):",
        "",
    ]
    for wl_name, per in checks.items():
        for p, c in per.items():
            acc = f", accuracy {c['accuracy']:.4f}" if "accuracy" in c else ""
            model = (f"; vs trained torch model: {c['model_prediction_mismatches']} predictions, "
                     f"{c['model_spike_mismatches']} spikes differ") if "model_spike_mismatches" in c else ""
            lines.append(
                f"- {wl_name}, {p}: "
                + ("counts equal TorchGraph's" if c["counts_checked"] else "counts not compared (spikes differ, so downstream counts do)")
                + f"; {c['prediction_mismatches']} predictions and "
                f"{c['spike_mismatches']} of {c['spikes_compared']} spikes differ from TorchGraph{model}; "
                f"{c['acs']:,} ACs, {c['macs']:,} MACs{acc}"
            )
    for block in extra:
        lines += ["", block]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main


def parse_batch(text: str, defaults: dict) -> dict:
    """``N`` for every workload or ``lenet=N,wide=M,...``."""
    out = dict(defaults)
    if text is None:
        return out
    if "=" not in text:
        return {k: int(text) for k in out}
    for part in text.split(","):
        k, v = part.split("=")
        if k.strip() not in out:
            raise argparse.ArgumentTypeError(f"unknown workload {k!r} in batch sizes")
        out[k.strip()] = int(v)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="bench_sim.py",
        description="Throughput of the asnn-sim event-driven simulator (ACs/s, wall time per sample) "
        "against PyTorch dense and PyTorch dense + NeuroBench-style counting, on the same frames.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument("--workloads", default="lenet,wide", help="comma-separated: lenet, wide, resnet19, spikformer")
    ap.add_argument("--precisions", default="float32,float64", help="comma-separated simulator/torch precisions")
    ap.add_argument("--repeats", type=int, default=7, help="timed repeats per implementation (median reported)")
    ap.add_argument("--quick", action="store_true", help="3 repeats and 8 wide-conv samples (a smoke run; noisier numbers)")
    ap.add_argument("--wide-samples", type=int, default=32, help="samples of the wide conv workload")
    ap.add_argument("--density", type=float, default=0.1, help="input spike density of the wide conv workload")
    ap.add_argument("--resnet-samples", type=int, default=16, help="CIFAR-shaped samples of the resnet19 workload")
    ap.add_argument("--spikformer-samples", type=int, default=8, help="CIFAR-shaped samples of the spikformer (Spikformer-4-384) workload")
    ap.add_argument("--sim-batch", default="lenet=128,wide=32,resnet19=16,spikformer=8", help="simulator batch size: N, or lenet=N,wide=M,resnet19=K (128 is the library default)")
    ap.add_argument("--torch-batch", default="lenet=360,wide=32,resnet19=16,spikformer=8", help="PyTorch batch size: N, or lenet=N,... (360: the whole test set at once, PyTorch's fastest)")
    ap.add_argument("--breakdown", action="store_true", help="also time the simulator kernel by kernel (where the time goes)")
    ap.add_argument("--out", type=Path, default=None, help="also write the markdown report to this file")
    ap.add_argument("--json", type=Path, default=None, help="write every timing (all repeats) as JSON")
    ap.add_argument("--cache", type=Path, default=CACHE, help="where the trained digits LeNet run is cached")
    args = ap.parse_args(argv)
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    args.precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    for w in args.workloads:
        if w not in ("lenet", "wide", "resnet19", "spikformer"):
            ap.error(f"unknown workload {w!r}")
    for p in args.precisions:
        if p not in PRECISIONS:
            ap.error(f"unknown precision {p!r}")
    if args.quick:
        args.repeats = min(args.repeats, 3)
        args.wide_samples = min(args.wide_samples, 8)
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    if args.wide_samples < 1:
        ap.error("--wide-samples must be >= 1")
    if not 0 < args.density <= 1:
        ap.error("--density must be in (0, 1]")
    try:
        args.sim_batch = parse_batch(args.sim_batch, {"lenet": 128, "wide": 32, "resnet19": 16, "spikformer": 8})
        args.torch_batch = parse_batch(args.torch_batch, {"lenet": 360, "wide": 32, "resnet19": 16, "spikformer": 8})
        if min(*args.sim_batch.values(), *args.torch_batch.values()) < 1:
            raise ValueError("batch sizes must be >= 1")
    except (ValueError, argparse.ArgumentTypeError) as e:
        ap.error(f"bad batch size: {e}")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    facts = machine()
    log(f"machine: {facts['cpu']}, {facts['usable_cpus']} CPUs, numba {facts['numba']} x{facts['numba_threads']}, torch {facts['torch']} x{facts['torch_threads']}")
    rows, checks, extra = [], {}, []
    monitor = LoadMonitor()
    try:
        for w in args.workloads:
            if w == "lenet":
                wl = lenet(args.cache, log=log)
            elif w == "wide":
                wl = wide_conv(args.wide_samples, density=args.density)
            elif w == "resnet19":
                wl = resnet19(args.resnet_samples, cache=args.cache, log=log)
            else:
                wl = spikformer(args.spikformer_samples, cache=args.cache, log=log)
            r, c = bench_workload(wl, args, log, monitor)
            rows += r
            checks[wl.name] = c
            if args.breakdown:
                for p in args.precisions:
                    extra.append(breakdown_table(wl, p, breakdown(wl, p, args.sim_batch[w], args.repeats)))
    except CheckFailed as e:
        log(f"cross-check FAILED, no timings reported: {e}")
        return 1
    command = "python benchmarks/bench_sim.py" + ("" if argv is None and len(sys.argv) == 1 else " " + " ".join(sys.argv[1:] if argv is None else argv))
    foreign = monitor.share
    if foreign is not None and foreign >= 0.05:
        log(f"warning: other processes used {foreign:.0%} of the CPU time during timing; absolute numbers are inflated")
    text = report(rows, checks, facts, args, command, foreign, extra)
    print(text)
    for path in (args.out, args.json):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    if args.out is not None:
        atomic.write_text(args.out, text)
    if args.json is not None:
        atomic.write_json(args.json, {"machine": facts, "foreign_cpu_share": foreign, "rows": [asdict(r) for r in rows], "checks": checks})
    return 0


if __name__ == "__main__":
    sys.exit(main())
