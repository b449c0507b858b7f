"""What a training seed pins down, and what it does not: train the same configuration
under several CPU settings, twice each, and compare the trained weights bit for bit.

Every setting runs in a fresh process (torch reads its thread count and CPU kernel
choice at start-up). A setting is a torch thread count and an ATen CPU capability:
``default`` is what torch picks on this machine (AVX512 on an AVX-512 CPU), ``AVX2`` is
what it would pick on a CPU without AVX-512 (``ATEN_CPU_CAPABILITY=avx2``), which stands
in for "another machine" here. For each run the script prints the test accuracy, the
spikes per inference and energy ratio of an event replay of the whole test set, and a
hash of the trained weights.

Usage::

    python benchmarks/reproducibility.py                      # demo's hybrid LeNet, 30 epochs
    python benchmarks/reproducibility.py --threads 1,2 --capabilities default,avx2 --repeats 2

Run it on a quiet machine: it times nothing, but two torch processes at once on two
cores make it slow.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import hashlib, json, sys
import torch
import asnn_sim.api as asnn
cfg = json.loads(sys.argv[1])
threads = torch.get_num_threads()
run = asnn.train(sys.argv[2], device="cpu", **cfg)
state = torch.load(run.path / "model.pt", map_location="cpu", weights_only=True)
state = state.get("model", state)
h = hashlib.sha256()
for name in sorted(state):
    h.update(name.encode()); h.update(state[name].detach().cpu().contiguous().numpy().tobytes())
graph = asnn.export(run)
result = asnn.simulate(graph, dataset=cfg.get("dataset", "digits"), check_parity=run)
energy = asnn.energy(result, hw=["cmos45-int8-sram"])
print(json.dumps({
    "threads": threads,
    "capability": torch.backends.cpu.get_cpu_capability(),
    "accuracy": run.summary["test_accuracy"],
    "spikes": float(result.summary["spikes_per_inference"]),
    "ratio_int8": float(energy.summary["ratio"].iloc[0]),
    "parity": bool(result.summary["parity"]["identical"]),
    "sha256": h.hexdigest(),
}))
"""


def run_setting(config: dict, threads: int, capability: str) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    env.pop("ATEN_CPU_CAPABILITY", None)
    if capability != "default":
        env["ATEN_CPU_CAPABILITY"] = capability
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(config), os.path.join(tmp, "run")],
                              env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"training failed ({threads} threads, {capability}):\n{done.stderr[-2000:]}")
        out = json.loads(done.stdout.strip().splitlines()[-1])
        out["seconds"] = time.perf_counter() - start
        return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--encoding", default="hybrid")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", default="1,2", help="torch thread counts, comma-separated (default 1,2)")
    p.add_argument("--capabilities", default="default,avx2",
                   help="ATen CPU capabilities: default (torch's pick) and/or avx2, avx512, default")
    p.add_argument("--repeats", type=int, default=2, help="runs per setting (default 2)")
    args = p.parse_args(argv)
    config = dict(model="lenet", dataset="digits", encoding=args.encoding, timesteps=4, asnn=True,
                  epochs=args.epochs, seed=args.seed)
    print(f"config: {config}")
    print("| threads | CPU kernels | run | accuracy | spikes/inf | SNN/ANN int8-SRAM | parity | weights sha256 | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for capability in [c.strip() for c in args.capabilities.split(",") if c.strip()]:
        for threads in [int(t) for t in args.threads.split(",")]:
            for k in range(args.repeats):
                r = run_setting(config, threads, capability)
                print(f"| {r['threads']} | {r['capability']} | {k + 1} | {r['accuracy']:.4f} | {r['spikes']:.1f} | "
                      f"{r['ratio_int8']:.4f} | {r['parity']} | {r['sha256'][:12]} | {r['seconds']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
