"""Test accuracy of a model on digits over encodings x ASNN/LIF x seeds (a table for the docs).

    python benchmarks/accuracy.py --model resnet-small --seeds 0,1,2 [--residual sew] [--epochs 30] [--parity]

Trains every configuration with ``asnn_sim.training.train.train`` (the same as ``asnn train
--model M --encoding E [--no-asnn] --seed S --epochs N``), one after the other, into
``benchmarks/.cache/accuracy/`` (reused when the configuration is unchanged), and prints
a markdown table of test accuracies, their mean over seeds, and the mean ASNN - LIF gain.
With ``--parity`` every trained model is also exported and replayed on the whole test
set in float64 and float32 against PyTorch (``asnn simulate --check-parity``), and the
spike and prediction mismatches are tabled.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from asnn_sim.training.train import TrainConfig, train  # noqa: E402

CACHE = HERE / ".cache" / "accuracy"


def run(config: TrainConfig) -> dict:
    name = f"{config.model}-{config.residual}-{config.encoding}-{'asnn' if config.asnn else 'lif'}-s{config.seed}-e{config.epochs}"
    out = CACHE / name
    summary = out / "summary.json"
    if summary.is_file():
        stored = json.loads((out / "config.json").read_text())["config"]
        if TrainConfig.from_dict(stored) == config:
            return json.loads(summary.read_text())
    out.parent.mkdir(parents=True, exist_ok=True)
    return train(config, out, progress=False, force=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet-small")
    parser.add_argument("--residual", default="standard")
    parser.add_argument("--encodings", default="direct,temporal,hybrid")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--timesteps", type=int, default=4)
    parser.add_argument("--parity", action="store_true", help="replay every model in float64 and float32 against PyTorch")
    args = parser.parse_args()
    encodings = args.encodings.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    table: dict = {}
    parity: dict = {}
    seconds = []
    for encoding in encodings:
        for asnn in (True, False):
            for seed in seeds:
                config = TrainConfig(model=args.model, residual=args.residual, encoding=encoding, asnn=asnn, seed=seed,
                                     epochs=args.epochs, timesteps=args.timesteps)
                summary = run(config)
                table[(encoding, asnn, seed)] = summary["test_accuracy"]
                if args.parity:
                    parity[(encoding, asnn, seed)] = check(config)
                seconds.append(summary["train_seconds"])
                print(f"{encoding:9s} {'ASNN' if asnn else 'LIF ':4s} seed {seed}: {summary['test_accuracy']:.4f} "
                      f"({summary['train_seconds']:.0f} s)", file=sys.stderr, flush=True)
    print(f"\n{args.model} ({args.residual} residuals) on digits, T={args.timesteps}, {args.epochs} epochs; "
          f"test accuracy (360 images); median training time {statistics.median(seconds):.0f} s per run\n")
    print("| encoding | neurons | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |")
    print("|---|---|" + "---|" * (len(seeds) + 1))
    for encoding in encodings:
        for asnn in (True, False):
            accs = [table[(encoding, asnn, s)] for s in seeds]
            print(f"| {encoding} | {'ASNN' if asnn else 'LIF'} | " + " | ".join(f"{a:.4f}" for a in accs) + f" | {statistics.mean(accs):.4f} |")
    print()
    for encoding in encodings:
        gain = statistics.mean(table[(encoding, True, s)] - table[(encoding, False, s)] for s in seeds)
        print(f"- {encoding}: ASNN - LIF = {gain * 100:+.2f} points (mean over seeds)")
    if parity:
        print("\nParity on the whole test set (event replay vs PyTorch): spike values differing / compared, predictions differing\n")
        print("| encoding | neurons | seed | float64 | float32 |")
        print("|---|---|---|---|---|")
        for (encoding, asnn, seed), result in parity.items():
            cells = [f"{r['spike_mismatches']:,} / {r['spikes']:,}, {r['prediction_mismatches']}" for r in result]
            print(f"| {encoding} | {'ASNN' if asnn else 'LIF'} | {seed} | " + " | ".join(cells) + " |")


def check(config: TrainConfig) -> list[dict]:
    """Export the cached run of ``config`` and replay the digits test set in float64 and float32 against PyTorch."""
    from asnn_sim.training.data import load_dataset
    from asnn_sim.interop.export import export_run
    from asnn_sim.interop.parity import check_parity

    out = CACHE / f"{config.model}-{config.residual}-{config.encoding}-{'asnn' if config.asnn else 'lif'}-s{config.seed}-e{config.epochs}"
    data = load_dataset("digits", split="test")
    graph = export_run(out)
    rows = []
    for precision in ("float64", "float32"):
        _, report = check_parity(graph, out, data.x_test, data.y_test, precision=precision, progress=False)
        rows.append({"spike_mismatches": int(report.spike_mismatches), "spikes": int(report.spikes_compared),
                     "prediction_mismatches": int(report.prediction_mismatches)})
    return rows


if __name__ == "__main__":
    main()
