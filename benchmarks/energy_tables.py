"""Energy tables at model scale: the digits LeNet, ResNet-19 and Spikformer-4-384 on every
shipped profile, with fit / cores / chips, the DRAM, encoder and inter-chip shares of the
SNN's energy, the SNN/ANN ratio with its bounds, and the time per inference of the SNN and
the ANN with the static share of the SNN's energy (docs/energy.md, "Energy at model scale").

    python benchmarks/energy_tables.py                       # all three, markdown to stdout
    python benchmarks/energy_tables.py --models lenet --out t.md

The LeNet is the benchmark's trained hybrid digits model replayed on the 360 test images;
ResNet-19 and Spikformer-4-384 are the untrained, firing-calibrated CIFAR-size graphs
(``benchmarks/workloads.py``) replayed on CIFAR-shaped random images: their energies are
those of a network firing at 15 % per layer, not of a trained one. A second LeNet table
shows the encoder's cost per encoding (rate coding needs random numbers).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workloads  # noqa: E402

from asnn_sim.sim import simulate  # noqa: E402
from hw_models.counts import Counts, validate  # noqa: E402
from hw_models.run import run_energy  # noqa: E402


def _counts(graph, images, labels=None) -> Counts:
    result = simulate(graph, images, labels, progress=False)
    return validate(Counts(result.counts, result.layers, result.summary))


def _uj(pj: float) -> str:
    uj = pj / 1e6
    return f"{uj:,.0f}" if uj >= 1000 else f"{uj:.4g}"


def _us(seconds: float) -> str:
    us = seconds * 1e6
    return "-" if not math.isfinite(us) else (f"{us:,.0f}" if us >= 1000 else f"{us:.4g}")


def _share(x: float) -> str:
    return "0" if x == 0 else (f"{100 * x:.2g} %" if math.isfinite(x) else "-")


def table(counts: Counts) -> str:
    """One markdown row per shipped profile."""
    s = run_energy(counts).summary
    lines = ["| profile | fits on chip | cores | chips | SNN µJ/inf [low-high] | ANN µJ/inf | SNN/ANN [low-high] "
             "| DRAM share | encoder share | inter-chip share | SNN µs/inf | ANN µs/inf | static share |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in s.iterrows():
        mapped = r["chips"] is not None and not (isinstance(r["chips"], float) and math.isnan(r["chips"]))
        tiered = r["dram_layers"] is not None and not (isinstance(r["dram_layers"], float) and math.isnan(r["dram_layers"]))
        fits = ("yes" if r["fits_one_chip"] else "no") if mapped else "-"
        if tiered:
            k = int(r["dram_layers"])
            fits = "yes (SRAM)" if k == 0 else f"no: {k} layer{'s' if k > 1 else ''} in DRAM"
        cores = f"{int(r['cores']):,}" if mapped else "-"
        chips = f"{int(r['chips']):,}" if mapped else "-"
        snn = f"{_uj(r['snn_pj'])} [{_uj(r['snn_low_pj'])}-{_uj(r['snn_high_pj'])}]"
        ratio = f"{r['ratio']:.3f} [{r['ratio_low']:.3f}-{r['ratio_high']:.3f}]"
        static = _share(r["snn_static_share"]) if r["snn_static_pj"] > 0 else "-"
        lines.append(f"| {r['profile']} | {fits} | {cores} | {chips} | {snn} | {_uj(r['ann_pj'])} | {ratio} "
                     f"| {_share(r['snn_dram_share'])} | {_share(r['snn_encoder_share'])} | {_share(r['snn_inter_chip_share'])} "
                     f"| {_us(r['snn_seconds'])} | {_us(r['ann_seconds'])} | {static} |")
    return "\n".join(lines)


def encoder_rows(counts: Counts, label: str) -> str:
    """The encoder next to the network on cmos45-int8-sram."""
    s = run_energy(counts, ["cmos45-int8-sram"]).summary.iloc[0]
    per = counts.summary["per_inference"]
    ops = {k.removeprefix("encoder_"): per[k] for k in per if k.startswith("encoder_") and per[k]}
    text = ", ".join(f"{v:,.0f} {k}" for k, v in ops.items()) or "none"
    return (f"| {label} | {text} | {s['snn_encoder_pj'] / 1e3:,.3g} | {(s['snn_pj'] - s['snn_encoder_pj']) / 1e3:,.4g} "
            f"| {_share(s['snn_encoder_share'])} | {s['ratio']:.3f} |")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="lenet,resnet19,spikformer", help="comma-separated: lenet, resnet19, spikformer")
    ap.add_argument("--images", type=int, default=4, help="CIFAR-shaped images for ResNet-19 and Spikformer (default 4)")
    ap.add_argument("--out", type=Path, help="also write the markdown here")
    args = ap.parse_args(argv)
    parts = []
    for key in args.models.split(","):
        if key == "lenet":
            w = workloads.lenet(log=lambda m: print(m, file=sys.stderr))
            counts = _counts(w.graph, w.images, w.labels)
            parts += [f"### {w.name}, {counts.n_samples} test images", "", table(counts), ""]
            rows = ["| encoding | encoder work per inference | encoder nJ | network nJ | encoder share | SNN/ANN |",
                    "|---|---|---|---|---|---|"]
            for enc in ("direct", "rate", "temporal", "hybrid"):
                g = workloads.lenet(log=lambda m: print(m, file=sys.stderr), encoding=enc).graph if enc != "hybrid" else w.graph
                rows.append(encoder_rows(_counts(g, w.images, w.labels), enc))
            parts += ["The encoder next to the network, digits LeNets on `cmos45-int8-sram`:", "", *rows, ""]
        else:
            w = getattr(workloads, key)(n_samples=args.images, log=lambda m: print(m, file=sys.stderr))
            counts = _counts(w.graph, w.images)
            parts += [f"### {w.name}, {counts.n_samples} CIFAR-shaped images", "", table(counts), ""]
        print(f"done: {key}", file=sys.stderr)
    text = "\n".join(parts)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
