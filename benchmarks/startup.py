"""How long ``asnn simulate`` takes from the command to its first replayed sample.

Runs the real command in fresh processes (``--limit 1``, the digits LeNet of
``workloads.py``, warm Numba cache: one unmeasured run first) and reports, per run, the
wall time from spawning the process to the end of the first replayed batch (the child
wraps ``Simulator.run_into``, which every replay goes through, to write the clock;
nothing else changes), and the whole command's wall time (which adds building and
writing the tables). With ``--cold`` every run starts from an empty Numba cache of its
own, as on a fresh machine: the first command a new user runs, compilation included.

    python benchmarks/startup.py [--runs 5] [--cold]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CHILD = """
import sys, time
from asnn_sim.sim import engine
original = engine.Simulator.run_into
def first(self, *args, **kwargs):
    result = original(self, *args, **kwargs)
    if not getattr(engine, "_first_done", False):
        engine._first_done = True
        print("FIRST", time.time(), file=sys.stderr, flush=True)
    return result
engine.Simulator.run_into = first
from asnn_sim.app.cli import main
sys.exit(main(sys.argv[1:]))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold", action="store_true", help="every run with an empty Numba cache (compilation included)")
    args = parser.parse_args()
    from workloads import lenet

    from asnn_sim.graph.ir import save_graph

    work = lenet()
    with tempfile.TemporaryDirectory() as tmp:
        graph = Path(tmp) / "lenet.asnn"
        save_graph(work.graph, graph)
        firsts, totals = [], []
        for i in range(args.runs + 1):
            out = Path(tmp) / f"counts{i}"
            env = dict(os.environ, NUMBA_CACHE_DIR=str(Path(tmp) / f"numba{i}")) if args.cold else None
            start = time.time()
            proc = subprocess.run([sys.executable, "-c", CHILD, "simulate", str(graph), "--limit", "1", "--out", str(out), "--quiet"],
                                  capture_output=True, text=True, check=True, env=env)
            end = time.time()
            first = float(next(line.split()[1] for line in proc.stderr.splitlines() if line.startswith("FIRST")))
            if i > 0:  # the first run warms the page cache (and, without --cold, the Numba cache)
                firsts.append(first - start)
                totals.append(end - start)
    result = {
        "command": "asnn simulate LENET.asnn --limit 1 --out DIR --quiet",
        "numba_cache": "empty (a fresh machine)" if args.cold else "warm",
        "first_sample_seconds": {"median": statistics.median(firsts), "runs": [round(v, 3) for v in firsts]},
        "total_seconds": {"median": statistics.median(totals), "runs": [round(v, 3) for v in totals]},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
