"""Where ``simulate()``'s time goes: the replay, and the work around it.

Replays the digits LeNet of ``workloads.py`` (or ``--run DIR``, any exported run) from the
images, and times each phase of :func:`asnn_sim.sim.simulate` by doing the very same
calls one phase at a time: looking up the compiled simulator, encoding each batch, the
replay (``Simulator.run_into``), tallying the counts, then merging and building the
tables and the summary. ``simulate()`` itself is timed in the same rounds, so the phases
can be checked against the whole. Median of ``--repeats`` interleaved rounds; per sample.

    python benchmarks/simulate_breakdown.py [--batch 128] [--precision float32] [--repeats 9]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from asnn_sim.sim import replay as R  # noqa: E402
from asnn_sim.sim.engine import COUNTS, Conventions  # noqa: E402
from asnn_sim.sim.kernels import tally_counts  # noqa: E402
from asnn_sim.sim.reuse import compiled  # noqa: E402
from asnn_sim.sim.shards import ShardCounts, merge_shards  # noqa: E402

PHASES = ("compiled simulator lookup", "encoding", "replay (run_into)", "tally of the counts", "merge + tables + summary")


def phases_once(graph, images, labels, precision: str, batch: int) -> dict[str, float]:
    """One simulate() done phase by phase: seconds per phase."""
    out = dict.fromkeys(PHASES, 0.0)
    stream = R.image_input(graph, images)
    n, T = stream.n, graph.timesteps
    t = time.perf_counter()
    with compiled(graph, precision, None, batch) as sim:
        out[PHASES[0]] += time.perf_counter() - t
        totals = np.zeros((len(sim.rows), T, len(COUNTS)), np.int64)
        per_sample = np.empty((n, len(sim.rows), len(COUNTS)), np.int64)
        step_logits = np.empty((n, T, graph.n_classes), np.float64)
        counts = sim.counts_buffer()
        for a in range(0, n, batch):
            b = min(n, a + batch)
            t = time.perf_counter()
            frames = stream.batch(a, b, sim.dtype)
            t1 = time.perf_counter()
            result = sim.run_into(counts, frames)
            t2 = time.perf_counter()
            tally_counts(result.counts, totals, per_sample[a:b])
            step_logits[a:b] = result.step_logits
            t3 = time.perf_counter()
            out[PHASES[1]] += t1 - t
            out[PHASES[2]] += t2 - t1
            out[PHASES[3]] += t3 - t2
        t = time.perf_counter()
    out[PHASES[0]] += time.perf_counter() - t  # handing the simulator back
    t = time.perf_counter()
    facts = R.ReplayFacts(graph, precision, Conventions())
    R.assemble(facts, [ShardCounts(0, n, totals, per_sample, step_logits)], labels, 1.0)
    out[PHASES[4]] += time.perf_counter() - t
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, help="an exported run folder (default: the digits LeNet of workloads.py)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--precision", choices=("float32", "float64"), default="float32")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    from asnn_sim.training.data import load_dataset

    if args.run is None:
        from workloads import lenet

        wl = lenet(log=lambda m: print(m, file=sys.stderr))
        graph, images, labels, name = wl.graph, wl.images, wl.labels, wl.name
    else:
        from asnn_sim.interop.export import export_run

        graph = export_run(args.run)
        data = load_dataset(graph.metadata.get("dataset") or "digits")
        images, labels, name = data.x_test, data.y_test, str(args.run)
    n = len(images)
    whole, parts = [], []
    R.simulate(graph, images, labels, precision=args.precision, batch_size=args.batch, progress=False)  # warm-up
    for _ in range(args.repeats):
        t = time.perf_counter()
        R.simulate(graph, images, labels, precision=args.precision, batch_size=args.batch, progress=False)
        whole.append(time.perf_counter() - t)
        parts.append(phases_once(graph, images, labels, args.precision, args.batch))
    med = {p: statistics.median(r[p] for r in parts) for p in PHASES}
    total = sum(med.values())
    print(f"{name}: {n} samples, {args.precision}, batch {args.batch}; median of {args.repeats} rounds, per sample\n")
    print("| phase | per sample | share |\n|---|---:|---:|")
    for p in PHASES:
        print(f"| {p} | {med[p] / n * 1e6:.1f} us | {med[p] / total:.0%} |")
    print(f"| sum of the phases | {total / n * 1e6:.1f} us | 100% |")
    print(f"| `simulate()` as one call (same rounds) | {statistics.median(whole) / n * 1e6:.1f} us | |")
    around = 1 - med[PHASES[2]] / total
    print(f"\nthe work around the replay: {around:.0%} of the phases' time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
