"""The README's Fashion-MNIST table of energy and time, from the study's result files.

    python benchmarks/fashion_readme_table.py

One row per encoding (LeNet, ASNN, T = 4): the mean over the seeds whose result was priced
with the timing model (the others are left out and counted in the last column) of the
accuracy, the int8-SRAM SNN/ANN dense ratio, Loihi's energy with its static share, ratio,
time (and the dense ANN's) and EDP ratio, and TrueNorth's ratio and EDP ratio.
"""

from __future__ import annotations

import numpy as np

from fashion_study import ENCODINGS, RESULTS, load_results, priced_with_time
HEADER = ("| encoding | accuracy | int8-SRAM SNN/ANN dense | Loihi nJ (static share) | Loihi SNN/ANN dense "
          "| Loihi us (ANN dense us) | Loihi EDP SNN/ANN | TrueNorth SNN/ANN dense | TrueNorth EDP SNN/ANN | seeds |")


def row(encoding: str, results: list[dict]) -> str:
    """One markdown row: means over the results priced with time."""
    timed = [r for r in results if priced_with_time(r)]
    if not timed:
        return f"| {encoding} | (no result priced with time) |"

    def mean(value) -> float:
        return float(np.mean([value(r["energy"]) for r in timed]))

    loihi = lambda e: e["loihi"]  # noqa: E731
    north = lambda e: e["truenorth"]  # noqa: E731
    accuracy = float(np.mean([r["replay"]["accuracy"] for r in timed]))
    cells = [
        f"{accuracy:.4f}",
        f"{mean(lambda e: e['cmos45-int8-sram']['ratio_dense']):.3f}",
        f"{mean(lambda e: loihi(e)['snn_pj']) / 1e3:,.0f} ({100 * mean(lambda e: loihi(e)['snn_static_pj'] / loihi(e)['snn_pj']):.0f} %)",
        f"{mean(lambda e: loihi(e)['ratio_dense']):.3f}",
        f"{1e6 * mean(lambda e: loihi(e)['snn_seconds']):.0f} ({1e6 * mean(lambda e: loihi(e)['ann_dense_seconds']):.0f})",
        f"{mean(lambda e: loihi(e)['snn_edp_js'] / loihi(e)['ann_dense_edp_js']):.2f}",
        f"{mean(lambda e: north(e)['ratio_dense']):.3f}",
        f"{mean(lambda e: north(e)['snn_edp_js'] / north(e)['ann_dense_edp_js']):.2f}",
        f"{', '.join(str(r['config']['seed']) for r in timed)}"
        + (f" ({len(results) - len(timed)} not yet priced with time)" if len(timed) < len(results) else ""),
    ]
    return f"| {encoding} | " + " | ".join(cells) + " |"


def main() -> None:
    print(HEADER)
    print("|" + "---|" * (HEADER.count("|") - 1))
    results = load_results(RESULTS / "fashion_study")
    for encoding in ENCODINGS:
        print(row(encoding, [r for name, r in results.items() if name.startswith(f"lenet-{encoding}-asnn-T4-s")]))


if __name__ == "__main__":
    main()
