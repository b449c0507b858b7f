"""Training throughput on a CPU: asnn-sim now, asnn-sim before, and SpikingJelly, in one interleaved run.

Run ``python benchmarks/train_speed.py`` on a quiet machine (nothing else running; two
torch processes at once slow each other down several times). It prints a markdown table
and writes it with the raw figures to ``benchmarks/.cache/train_speed.{md,json}``.

What is measured
----------------
Training steps on Fashion-MNIST (the real images; the Debian package's folder, or
``--data-dir``): batch 64, T = 4, Adam, the same shuffled batches for every contender.
After ``--warmup`` steps, ``--batches`` steps are timed (samples per second), and test
images are evaluated (images per second). Each contender runs in its own process, as its
users run it:

``asnn-sim``
    This tree: ``TrainConfig`` -> ``make_model`` -> ``model_inputs`` -> loss, backward,
    Adam (the loop of ``asnn train``), with the process set up as the ``asnn`` command
    sets it up (its OpenMP wait policy and allocator settings). Hybrid coding, ASNN.
``asnn-sim before``
    The same loop on the code at ``--before`` (default: the last commit before the
    training speed-up), checked out into ``benchmarks/.cache/asnn-before`` by
    ``git worktree``.
``spikingjelly``
    SpikingJelly 2.0's stock classes (``layer.Conv2d``, ``layer.BatchNorm2d``,
    ``neuron.LIFNode`` with a sigmoid surrogate and ``detach_reset=True``,
    ``layer.MaxPool2d``, multi-step mode, torch back end, ``functional.reset_net`` after
    each step) in the LeNet shape (conv 32/48/64 + BN + LIF + 2x2 max-pool, FC 256 + BN +
    LIF, FC 10), direct input repeated T times, float32, OpenMP left at its default.

``--models`` adds ``resnet-small`` and ``spikformer-small`` (asnn-sim now vs before).
``--epoch`` also runs one whole epoch of ``asnn train`` (60,000 images, then the 10,000
test images) before and after: the figure a user sees.

Rounds are interleaved (the contenders' order rotates each round) and the median is
reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
BEFORE_DIR = CACHE / "asnn-before"
#: The landed main before the training speed-up (fused neuron kernels, channels-last maps).
DEFAULT_BEFORE = "8dc6920"
FASHION = "/usr/share/datasets/fashion-mnist"
TIMESTEPS, BATCH, LR = 4, 64, 5e-3


# ---------------------------------------------------------------------------- workers


def _asnn_worker(root: str, model: str, data_dir: str, warmup: int, batches: int, eval_images: int) -> dict:
    sys.path.insert(0, root)
    from asnn_sim.util import threads

    threads.prepare()  # what the asnn command does first (its wait policy)
    try:  # and, in versions that have it, its allocator settings
        from asnn_sim.util import allocator

        allocator.keep_freed_memory()
    except ImportError:
        pass
    import numpy as np
    import torch
    import torch.nn.functional as F

    import asnn_sim
    from asnn_sim.training.data import load_dataset
    from asnn_sim.training.train import TrainConfig, evaluate, make_model, model_inputs

    assert Path(asnn_sim.__file__).resolve().is_relative_to(Path(root).resolve()), asnn_sim.__file__
    ds = load_dataset("fashion-mnist", data_dir)
    config = TrainConfig(model=model, dataset="fashion-mnist", data_dir=data_dir, encoding="hybrid",
                         timesteps=TIMESTEPS, batch_size=BATCH, lr=LR)
    torch.manual_seed(0)
    net = make_model(config, ds.input_shape, ds.n_classes)
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(ds.y_train))
    device = torch.device("cpu")
    net.train()

    def step(i: int) -> None:
        idx = order[i * BATCH : (i + 1) * BATCH]
        logits = net(model_inputs(net, ds.x_train[idx], device, rng))
        loss = F.cross_entropy(logits, torch.from_numpy(ds.y_train[idx]))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss.item()

    return _time_steps(step, warmup, batches,
                       lambda: evaluate(net, ds.x_test[:eval_images], ds.y_test[:eval_images], device))


def _spikingjelly_worker(data_dir: str, warmup: int, batches: int, eval_images: int) -> dict:
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import torch
    import torch.nn.functional as F
    from spikingjelly.activation_based import functional, layer, neuron, surrogate
    from torch import nn

    from asnn_sim.training.data import load_dataset

    ds = load_dataset("fashion-mnist", data_dir)

    def lif() -> nn.Module:
        return neuron.LIFNode(surrogate_function=surrogate.Sigmoid(), detach_reset=True)

    torch.manual_seed(0)
    net = nn.Sequential(
        layer.Conv2d(1, 32, 3, padding=1), layer.BatchNorm2d(32), lif(), layer.MaxPool2d(2),
        layer.Conv2d(32, 48, 3, padding=1), layer.BatchNorm2d(48), lif(), layer.MaxPool2d(2),
        layer.Conv2d(48, 64, 3, padding=1), layer.BatchNorm2d(64), lif(), layer.MaxPool2d(2),
        layer.Flatten(), layer.Linear(64 * 3 * 3, 256), layer.BatchNorm1d(256), lif(), layer.Linear(256, 10),
    )
    functional.set_step_mode(net, "m")
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(ds.y_train))
    net.train()

    def forward(x: np.ndarray) -> torch.Tensor:
        frames = torch.from_numpy(x).unsqueeze(0).repeat(TIMESTEPS, 1, 1, 1, 1)
        out = net(frames).mean(0)
        functional.reset_net(net)
        return out

    def step(i: int) -> None:
        idx = order[i * BATCH : (i + 1) * BATCH]
        loss = F.cross_entropy(forward(ds.x_train[idx]), torch.from_numpy(ds.y_train[idx]))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss.item()

    @torch.no_grad()
    def evaluate() -> None:
        net.eval()
        for start in range(0, eval_images, BATCH):
            forward(ds.x_test[start : start + BATCH])
        net.train()

    return _time_steps(step, warmup, batches, evaluate)


def _time_steps(step, warmup: int, batches: int, evaluate) -> dict:
    import torch

    for i in range(warmup):
        step(i)
    t0 = time.perf_counter()
    for i in range(warmup, warmup + batches):
        step(i)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    evaluate()
    eval_s = time.perf_counter() - t0
    return {"train_seconds": train_s, "eval_seconds": eval_s, "torch_threads": torch.get_num_threads()}


# --------------------------------------------------------------------------- driver


def _prepare_before(ref: str) -> Path:
    """A checkout of ``ref`` in ``benchmarks/.cache/asnn-before`` (made once, refreshed if the ref moved)."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", ref], check=True, capture_output=True,
                            text=True).stdout.strip()
    stamp = BEFORE_DIR / ".commit"
    if stamp.is_file() and stamp.read_text().strip() == commit:
        return BEFORE_DIR
    if BEFORE_DIR.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(BEFORE_DIR)], check=False)
    subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=True)
    CACHE.mkdir(exist_ok=True)
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(BEFORE_DIR), commit], check=True,
                   capture_output=True)
    stamp.write_text(commit + "\n")
    return BEFORE_DIR


def _clean_environment() -> dict:
    """A contender's environment: no user thread settings, and no PYTHONPATH (each sets its own code)."""
    from asnn_sim.util.threads import stock_environment

    env = stock_environment()
    env.pop("PYTHONPATH", None)
    return env


def _run_worker(args: list[str]) -> dict:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", *args], env=_clean_environment(),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"worker {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _contenders(models: list[str], before: Path) -> list[tuple[str, str, list[str]]]:
    """(model, contender, worker arguments) for every measurement of a round."""
    out = []
    for model in models:
        out.append((model, "asnn-sim", ["asnn", str(ROOT), model]))
        out.append((model, "asnn-sim before", ["asnn", str(before), model]))
        if model == "lenet":
            out.append((model, "spikingjelly", ["spikingjelly"]))
    return out


def _epoch(root: Path, data_dir: str) -> dict:
    """One epoch of ``asnn train`` on the whole dataset with the code at ``root``; its summary."""
    with tempfile.TemporaryDirectory() as tmp:
        env = _clean_environment()
        env["PYTHONPATH"] = str(root)
        cmd = [sys.executable, "-c", "import sys; from asnn_sim.app.cli import main; sys.exit(main(sys.argv[1:]))",
               "train", "--model", "lenet", "--dataset", "fashion-mnist", "--data-dir", data_dir, "--encoding", "hybrid",
               "--timesteps", str(TIMESTEPS), "--epochs", "1", "--quiet", "--out", f"{tmp}/run"]
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True, cwd=tmp)
        wall = time.perf_counter() - t0
        summary = json.loads(Path(tmp, "run", "summary.json").read_text())
    return {"epoch_seconds": summary["train_seconds"], "command_seconds": wall,
            "test_accuracy": summary["test_accuracy"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median is reported (default 3)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed training steps first (default 5)")
    parser.add_argument("--batches", type=int, default=60, help="timed training steps of 64 images (default 60)")
    parser.add_argument("--eval-images", type=int, default=2_000, help="test images evaluated (default 2,000)")
    parser.add_argument("--models", default="lenet", help="comma-separated: lenet, resnet-small, spikformer-small")
    parser.add_argument("--before", default=DEFAULT_BEFORE, help=f"git ref of 'before' (default {DEFAULT_BEFORE})")
    parser.add_argument("--epoch", action="store_true", help="also one whole epoch of asnn train, before and after")
    parser.add_argument("--data-dir", default=FASHION, help=f"Fashion-MNIST folder (default {FASHION})")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        kind, *rest = args.worker
        if kind == "asnn":
            root, model = rest
            result = _asnn_worker(root, model, args.data_dir, args.warmup, args.batches, args.eval_images)
        else:
            result = _spikingjelly_worker(args.data_dir, args.warmup, args.batches, args.eval_images)
        print(json.dumps(result))
        return

    before = _prepare_before(args.before)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    plan = _contenders(models, before)
    common = ["--warmup", str(args.warmup), "--batches", str(args.batches), "--eval-images", str(args.eval_images),
              "--data-dir", args.data_dir]
    raw: dict[str, list[dict]] = {}
    for r in range(args.rounds):
        shift = r % len(plan)
        for model, name, worker in plan[shift:] + plan[:shift]:
            result = _run_worker([*worker, *common])
            raw.setdefault(f"{model} | {name}", []).append(result)
            print(f"round {r + 1}: {model:16s} {name:16s} {args.batches * BATCH / result['train_seconds']:7.1f} samples/s "
                  f"train, {args.eval_images / result['eval_seconds']:7.1f} images/s eval", file=sys.stderr)
    epochs = {}
    if args.epoch:
        for name, root in (("asnn-sim before", before), ("asnn-sim", ROOT)):
            epochs[name] = _epoch(root, args.data_dir)
            print(f"epoch: {name}: {epochs[name]}", file=sys.stderr)
    table = _table(raw, epochs, args)
    CACHE.mkdir(exist_ok=True)
    (CACHE / "train_speed.md").write_text(table)
    (CACHE / "train_speed.json").write_text(json.dumps({"raw": raw, "epochs": epochs, "args": vars(args)}, indent=1))
    print(table)


def _table(raw: dict, epochs: dict, args) -> str:
    lines = [
        f"Training throughput, Fashion-MNIST, hybrid T = {TIMESTEPS} (SpikingJelly: direct), batch {BATCH}, Adam; "
        f"median of {args.rounds} interleaved rounds of {args.batches} timed steps; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs. "
        f"`python benchmarks/train_speed.py --rounds {args.rounds} --batches {args.batches} --models {args.models}"
        f"{' --epoch' if args.epoch else ''}`",
        "",
        "| model | contender | train samples/s | vs before | vs SpikingJelly | eval images/s |",
        "|---|---|---|---|---|---|",
    ]
    rate = {key: statistics.median(args.batches * BATCH / r["train_seconds"] for r in runs) for key, runs in raw.items()}
    evals = {key: statistics.median(args.eval_images / r["eval_seconds"] for r in runs) for key, runs in raw.items()}
    for key in raw:
        model, name = key.split(" | ")
        before = rate.get(f"{model} | asnn-sim before")
        peer = rate.get(f"{model} | spikingjelly")
        vs_before = f"{rate[key] / before:.2f}x" if before else "-"
        vs_peer = f"{rate[key] / peer:.2f}x" if peer else "-"
        lines.append(f"| {model} | {name} | {rate[key]:.0f} | {vs_before} | {vs_peer} | {evals[key]:.0f} |")
    if epochs:
        lines += ["", "| one epoch of `asnn train` (60,000 + 10,000 test images) | seconds | test accuracy |", "|---|---|---|"]
        for name, e in epochs.items():
            lines.append(f"| {name} | {e['epoch_seconds']:.1f} | {e['test_accuracy']:.4f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
