"""Jobs sharing a machine, and replay sharded over Dask workers: measured, not assumed.

Run ``python benchmarks/scale_out.py`` on a quiet machine (nothing else running: two
torch/Numba processes are the very thing measured here). It writes
``benchmarks/.cache/scale_out.md`` and prints the same. Three parts:

``sharing``
    ``asnn train --model lenet --dataset digits --epochs 5`` alone, then two of them
    started together, under three settings of the OpenMP runtime that torch and Numba
    share: ``before`` (libgomp's own default, idle threads spin: what asnn-sim did before
    it set a wait policy), ``now`` (asnn-sim's default, ``OMP_WAIT_POLICY=passive``
    unless exported) and ``now --threads 1`` (one thread per job, 2 jobs on 2 cores). The
    time is the training time ``asnn train`` prints (the same in every setting); rounds
    are interleaved.
``cluster``
    ``asnn simulate`` of the calibrated ResNet-19 (hybrid, T=4, CIFAR-shaped images from
    a ``.npy``) in one process, then with ``--workers 2``: wall time of the whole command
    (start-up, cluster start, replay, writing) and the replay time it reports.
``overhead``
    The same for a small job: the digits LeNet's 360 test images.

The per-image cost of the ResNet-19 replay feeds the projection in docs/scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from workloads import CACHE, cifar_like_images, lenet, resnet19  # noqa: E402

# The `asnn` command as a module run, with asnn-sim's wait policy switched off for "before".
ASNN = [sys.executable, "-m", "asnn_sim.app.cli"]
BEFORE = [sys.executable, "-c",
          "import sys; from asnn_sim.util import threads; threads.WAIT_POLICY.clear(); "
          "from asnn_sim.app.cli import main; sys.exit(main(sys.argv[1:]))"]
SETTINGS = {"before": (BEFORE, []), "now": (ASNN, []), "now --threads 1": (ASNN, ["--threads", "1"])}


def _environment() -> dict:
    """A job's environment: no user thread settings, and this checkout first on the path."""
    from asnn_sim.util.threads import stock_environment

    env = stock_environment()
    env["PYTHONPATH"] = str(HERE.parent) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _train_seconds(outputs: list[str]) -> list[float]:
    return [float(re.search(r"in ([0-9.]+) s on", o).group(1)) for o in outputs]


def _start(cmd: list[str], out: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd + ["--out", str(out), "--force"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_environment())


def _finish(procs: list[subprocess.Popen]) -> list[str]:
    outs = []
    for p in procs:
        stdout, stderr = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"a job failed:\n{stderr}")
        outs.append(stdout)
    return outs


def sharing(rounds: int, work: Path, log) -> list[dict]:
    train = ["train", "--model", "lenet", "--dataset", "digits", "--epochs", "5", "--quiet"]
    rows = {name: {"alone": [], "pair": []} for name in SETTINGS}
    for r in range(rounds):
        for name, (prefix, extra) in SETTINGS.items():
            alone = _train_seconds(_finish([_start(prefix + train + extra, work / "alone")]))
            pair = _train_seconds(_finish([_start(prefix + train + extra, work / f"pair{i}") for i in range(2)]))
            rows[name]["alone"] += alone
            rows[name]["pair"] += pair
            log(f"  round {r + 1} {name}: alone {alone[0]:.1f} s, pair {pair[0]:.1f} s and {pair[1]:.1f} s")
    base = float(np.median(rows["before"]["alone"]))
    return [{"setting": name, "alone_s": float(np.median(v["alone"])), "pair_s": float(np.median(v["pair"])),
             "pair_over_alone": float(np.median(v["pair"]) / np.median(v["alone"])),
             "pair_over_before_alone": float(np.median(v["pair"]) / base)} for name, v in rows.items()]


def _simulate(graph: Path, source: list[str], out: Path, extra: list[str]) -> tuple[float, dict]:
    t0 = time.perf_counter()
    _finish([subprocess.Popen(ASNN + ["simulate", str(graph), *source, "--quiet", "--out", str(out), "--force", *extra],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_environment())])
    wall = time.perf_counter() - t0
    return wall, json.loads((out / "summary.json").read_text())


def replay_pair(name: str, graph: Path, source: list[str], rounds: int, work: Path, log) -> list[dict]:
    """One process vs --workers 2, interleaved; wall time of the command and replay time."""
    runs = {"1 process": [], "--workers 2": []}
    for r in range(rounds):
        for label, extra in (("1 process", []), ("--workers 2", ["--workers", "2"])):
            wall, summary = _simulate(graph, source, work / f"{name}-{r}-{label[:2]}", extra)
            runs[label].append((wall, summary["wall_seconds"], summary["n_samples"]))
            log(f"  round {r + 1} {name} {label}: command {wall:.1f} s, replay {summary['wall_seconds']:.2f} s")
    rows = []
    for label, values in runs.items():
        wall = float(np.median([v[0] for v in values]))
        replay = float(np.median([v[1] for v in values]))
        rows.append({"workload": name, "run": label, "command_s": wall, "replay_s": replay, "n": values[0][2],
                     "s_per_image": replay / values[0][2]})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds per part (default 3)")
    ap.add_argument("--images", type=int, default=64, help="ResNet-19 images replayed (default 64)")
    ap.add_argument("--parts", default="sharing,cluster,overhead", help="comma list of parts (default all three)")
    args = ap.parse_args(argv)
    parts = set(args.parts.split(","))
    log = print
    lines = [f"# scale_out.py ({time.strftime('%Y-%m-%d %H:%M')}, {platform.processor() or platform.machine()}, "
             f"{len(os.sched_getaffinity(0))} cores)", "", f"command: python benchmarks/scale_out.py {' '.join(argv or sys.argv[1:])}", ""]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "sharing" in parts:
            log("sharing: LeNet trainings alone and in pairs")
            rows = sharing(args.rounds, work, log)
            lines += ["## Two jobs on one machine (asnn train lenet digits, 5 epochs; training seconds, median)", "",
                      "| setting | one job alone | each of two together | together / alone | together / 'before' alone |",
                      "|---|---|---|---|---|"]
            lines += [f"| {r['setting']} | {r['alone_s']:.1f} s | {r['pair_s']:.1f} s | {r['pair_over_alone']:.2f}x | "
                      f"{r['pair_over_before_alone']:.2f}x |" for r in rows]
            lines.append("")
        rows = []
        if "cluster" in parts:
            log("cluster: ResNet-19 replay, one process vs --workers 2")
            wl = resnet19(n_samples=1, log=log)
            graph = CACHE / "resnet19_hybrid_T4_rate15.asnn"
            np.save(work / "images.npy", cifar_like_images(args.images, 2).astype(np.float32))
            rows += replay_pair("ResNet-19", graph, ["--inputs", str(work / "images.npy")], args.rounds, work, log)
            del wl
        if "overhead" in parts:
            log("overhead: LeNet digits test set, one process vs --workers 2")
            wl = lenet(log=log)
            from asnn_sim.graph.ir import save_graph

            save_graph(wl.graph, work / "lenet.asnn")
            rows += replay_pair("LeNet digits", work / "lenet.asnn", ["--dataset", "digits"], args.rounds, work, log)
        if rows:
            lines += ["## Replay: one process vs a local Dask cluster of 2 workers (median)", "",
                      "| workload | images | run | whole command | replay | replay per image |", "|---|---|---|---|---|---|"]
            lines += [f"| {r['workload']} | {r['n']} | {r['run']} | {r['command_s']:.1f} s | {r['replay_s']:.2f} s | "
                      f"{r['s_per_image'] * 1e3:.1f} ms |" for r in rows]
            lines.append("")
            (CACHE / "scale_out.json").write_text(json.dumps(rows, indent=1))
    text = "\n".join(lines)
    CACHE.mkdir(exist_ok=True)
    (CACHE / "scale_out.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
