"""The Fashion-MNIST study's report: statistics, tables and figures from the result files alone.

``benchmarks/fashion_study.py`` trains, replays and prices the models and writes one
result file per model; this module reads those files and nothing else: accuracy with a
95 % Wilson interval, paired tests on the same test images (exact McNemar per seed, and
a paired bootstrap of the seed-mean difference), energy ratios as mean and min-max over
seeds, time per inference, and verdicts only where every test agrees.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import numpy as np

from fashion_study import CONVENTION, ENCODINGS, Budget, priced_with_time

TIMESTEPS_FIGURE = "timesteps.png"  # beside report.md
LATENCY_FIGURE = "energy_vs_latency.png"  # the T sweep's energy against time, beside report.md
LATENCY_PROFILES = ("loihi", "truenorth", "cmos45-int8-sram")  # one per timing model (docs/energy.md, "Time")
FIGURE_PROFILE = "cmos45-int8-sram"  # the T sweep's energies, in its table and its figure


def write_report(results: dict[str, dict], budget, labels: np.ndarray, folder: Path) -> str:
    """Write ``report.md`` and its figures into ``folder``; return the report's text."""
    text = report(results, budget, labels)
    (folder / "report.md").write_text(text)
    _timesteps_figure(index(results), budget, labels, folder / TIMESTEPS_FIGURE)
    _latency_figure(index(results), budget, folder / LATENCY_FIGURE)
    return text


# ------------------------------------------------------------------------ statistics


def wilson(correct: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def mcnemar_exact(a_right: np.ndarray, b_right: np.ndarray) -> tuple[int, int, float]:
    """Exact (binomial) McNemar test on paired outcomes: (a only right, b only right, two-sided p)."""
    a_right, b_right = np.asarray(a_right, dtype=bool), np.asarray(b_right, dtype=bool)
    b = int(np.sum(a_right & ~b_right))
    c = int(np.sum(~a_right & b_right))
    n = b + c
    if n == 0:
        return b, c, 1.0
    k = min(b, c)
    # P(X <= k) for X ~ Binomial(n, 1/2), doubled, computed in log space (n can be thousands).
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2) for i in range(k + 1)]
    top = max(logs)
    tail = math.exp(top) * sum(math.exp(v - top) for v in logs)
    return b, c, min(1.0, 2 * tail)


def paired_bootstrap(a_right: list[np.ndarray], b_right: list[np.ndarray], rounds: int = 10_000,
                     seed: int = 0) -> tuple[float, float, float, float]:
    """Seed-mean accuracy difference a - b, its 95 % interval and two-sided p, resampling test images.

    Each list holds one boolean array per seed, all over the same test images; one
    resample of the images is applied to every seed, so the seeds stay paired too.
    """
    a = np.mean([x.astype(np.float64) for x in a_right], axis=0)  # per image: share of seeds right
    b = np.mean([x.astype(np.float64) for x in b_right], axis=0)
    diff = a - b
    rng = np.random.default_rng(seed)
    n = len(diff)
    means = np.empty(rounds)
    for r in range(0, rounds, 1_000):
        idx = rng.integers(0, n, size=(min(1_000, rounds - r), n))
        means[r : r + len(idx)] = diff[idx].mean(axis=1)
    observed = float(diff.mean())
    low, high = np.percentile(means, [2.5, 97.5])
    # Two-sided p: how often the resampled difference falls on the other side of 0.
    p = 2 * min(np.mean(means <= 0), np.mean(means >= 0))
    return observed, float(low), float(high), float(min(1.0, p))


# --------------------------------------------------------------------------- report


def _right(result: dict, labels: np.ndarray) -> np.ndarray:
    return np.frombuffer(result["replay"]["predictions"].encode(), dtype=np.uint8) - ord("0") == labels


def index(results: dict[str, dict]) -> dict[tuple, dict]:
    """Results keyed by (part, model, encoding, asnn, timesteps, seed)."""
    keys = ("part", "model", "encoding", "asnn", "timesteps", "seed")
    return {tuple(r["entry"][k] for k in keys): r for r in results.values()}


def _sweep(by, budget):
    """(T, encoding, result) of the T sweep (LeNet, ASNN, first seed), T = 4 from the grid."""
    s0 = budget.seeds[0]
    for T in sorted(set(budget.timesteps) | {4}):
        for encoding in ENCODINGS:
            r = by.get(("grid" if T == 4 else "timesteps", "lenet", encoding, True, T, s0))
            if r is not None:
                yield T, encoding, r


def report(results: dict[str, dict], budget: Budget, labels: np.ndarray) -> str:
    """The study's tables (markdown) from the finished models' result files."""
    by = index(results)
    lines: list[str] = []
    n_test = len(labels)
    if budget.train_limit:
        lines += [f"**A pipeline check, not evidence**: {budget.train_limit:,} training images, "
                  f"{budget.lenet_epochs} epoch(s), {n_test:,} test images; the differences below come from how far "
                  "each model got in a few dozen steps.", ""]
    seconds = sum(r["train"]["train_seconds"] for r in results.values())
    study = sum(r["study_seconds"] for r in results.values())
    lines += [
        f"{len(results)} models; training {seconds / 3600:.2f} h, train + replay + pricing {study / 3600:.2f} h "
        f"in all (this project's 2-core CPU VMs). Test images replayed per model: {n_test:,}. "
        f"Budget: LeNet {budget.lenet_epochs} epochs, resnet-small {budget.resnet_epochs}, spikformer-small "
        f"{budget.spikformer_epochs}; batch 64, Adam, lr 5e-3, cosine schedule"
        + (f"; first {budget.train_limit:,} training images" if budget.train_limit else "; all 60,000 training images") + ".",
        "",
    ]
    lines += _machines_line(results)
    lines += _untimed_note(results)
    lines += _grid_tables(by, budget, labels)
    lines += _timesteps_table(by, budget, labels)
    lines += _fewer_steps_table(by, budget, labels)
    lines += _models_table(by, budget, labels)
    lines += _energy_table(by, budget)
    lines += _time_table(by, budget)
    lines += _parity_table(results)
    return "\n".join(lines) + "\n"


def _acc(r: dict, labels) -> tuple[float, float, float]:
    right = int(_right(r, labels).sum())
    lo, hi = wilson(right, len(labels))
    return right / len(labels), lo, hi


def _grid_tables(by, budget, labels) -> list[str]:
    seeds = [s for s in budget.seeds if any(k[0] == "grid" and k[5] == s for k in by)]
    if not seeds:
        return []
    out = [f"### Accuracy (LeNet, T = 4, {len(labels):,} test images)", "",
           "Per seed: accuracy of the float64 replay [95 % Wilson interval]; mean and min-max over seeds.", "",
           "| encoding | neurons | " + " | ".join(f"seed {s}" for s in seeds) + " | mean [min-max] |",
           "|---|---|" + "---|" * (len(seeds) + 1)]
    rows = [(e, a) for e in ENCODINGS for a in (True, False)] + [("ann", True)]
    for encoding, asnn in rows:
        cells, accs = [], []
        for s in seeds:
            r = by.get(("grid", "lenet", encoding, asnn, 4, s))
            if r is None:
                cells.append("-")
                continue
            acc, lo, hi = _acc(r, labels)
            accs.append(acc)
            cells.append(f"{acc:.4f} [{lo:.4f}-{hi:.4f}]")
        mean = f"{statistics.mean(accs):.4f} [{min(accs):.4f}-{max(accs):.4f}]" if accs else "-"
        who = "ANN twin" if encoding == "ann" else encoding
        out.append(f"| {who} | {'ReLU' if encoding == 'ann' else ('ASNN' if asnn else 'LIF')} | " + " | ".join(cells)
                   + f" | {mean} |")
    out += ["", "### Paired comparisons on the same test images", "",
            "Exact McNemar per seed (images only the first model got right / only the second, p); paired bootstrap "
            "(10,000 resamples of the test images) of the seed-mean accuracy difference with its 95 % interval. "
            "A verdict needs p < 0.05 in the bootstrap and in McNemar for every seed, all in the same direction.", "",
            "| comparison | McNemar per seed: b / c, p | difference (points) [95 %] | bootstrap p | verdict |",
            "|---|---|---|---|---|"]
    pairs = [("hybrid vs temporal (ASNN)", ("hybrid", True), ("temporal", True)),
             ("hybrid vs direct (ASNN)", ("hybrid", True), ("direct", True)),
             ("temporal vs direct (ASNN)", ("temporal", True), ("direct", True))]
    pairs += [(f"ASNN vs LIF ({e})", (e, True), (e, False)) for e in ENCODINGS]
    for title, (ea, aa), (eb, ab) in pairs:
        got = [(by.get(("grid", "lenet", ea, aa, 4, s)), by.get(("grid", "lenet", eb, ab, 4, s))) for s in seeds]
        got = [(a, b) for a, b in got if a is not None and b is not None]
        if not got:
            continue
        rights = [(_right(a, labels), _right(b, labels)) for a, b in got]
        tests = [mcnemar_exact(a, b) for a, b in rights]
        diff, lo, hi, p = paired_bootstrap([a for a, _ in rights], [b for _, b in rights])
        per_seed = "; ".join(f"{b}/{c}, p={pv:.2g}" for b, c, pv in tests)
        same_side = all((b > c) == (diff > 0) for b, c, _ in tests)
        if p < 0.05 and same_side and all(pv < 0.05 for _, _, pv in tests):
            verdict = f"{title.split(' vs ')[0] if diff > 0 else title.split(' vs ')[1].split(' (')[0]} more accurate"
            if len(got) < len(budget.seeds):  # the test images vary, the training does not yet
                verdict += f" (these {len(got)} of {len(budget.seeds)} seeds' models only)"
        else:
            verdict = "no difference shown"
        shown = f"{p:.3g}" if p > 0 else "< 0.0001"  # none of the 10,000 resamples crossed 0
        out.append(f"| {title} | {per_seed} | {100 * diff:+.2f} [{100 * lo:+.2f}, {100 * hi:+.2f}] | {shown} | {verdict} |")
    return out + [""]


def _timesteps_table(by, budget, labels) -> list[str]:
    rows, steps = [], set()
    for T, encoding, r in _sweep(by, budget):
        steps.add(T)
        acc, lo, hi = _acc(r, labels)
        e = (r["energy"] or {}).get(FIGURE_PROFILE, {})
        loihi = (r["energy"] or {}).get("loihi", {})
        rows.append(f"| {T} | {encoding} | {acc:.4f} [{lo:.4f}-{hi:.4f}] | {r['spikes_per_inference']:,.0f} | "
                    f"{e.get('snn_pj', float('nan')) / 1e3:,.0f} | {e.get('ratio_dense', float('nan')):.3f} | "
                    f"{loihi.get('ratio_dense', float('nan')):.3f}{'' if priced_with_time(r) else UNTIMED} | "
                    f"{r['train']['train_seconds'] / 60:.1f} |")
    if not rows:
        return []
    return ["### Accuracy and energy against T (LeNet, ASNN, seed 0)", "",
            f"Energy per inference on `{FIGURE_PROFILE}` (nJ) and SNN/ANN (dense ANN) there and on `loihi`.", "",
            *([f"![Accuracy and energy against T]({TIMESTEPS_FIGURE})", ""] if len(steps) > 1 else []),
            "| T | encoding | accuracy [95 %] | spikes per inference | int8 SNN nJ | SNN/ANN int8 | SNN/ANN loihi | "
            "training min |", "|---|---|---|---|---|---|---|---|", *rows, ""]


def _fewer_steps_table(by, budget, labels) -> list[str]:
    """The paper's claim head on: hybrid coding at T against temporal coding at 2T (and direct at T), paired."""
    sweep = {(T, e): r for T, e, r in _sweep(by, budget)}
    rows = []
    for T in sorted({T for T, _ in sweep}):
        for (ea, ta), (eb, tb) in ((("hybrid", T), ("temporal", 2 * T)), (("hybrid", T), ("temporal", T)),
                                   (("direct", T), ("hybrid", T))):
            a, b = sweep.get((ta, ea)), sweep.get((tb, eb))
            if a is None or b is None:
                continue
            ra, rb = _right(a, labels), _right(b, labels)
            only_a, only_b, p = mcnemar_exact(ra, rb)
            diff, lo, hi, _ = paired_bootstrap([ra], [rb])
            energy = a["energy"][FIGURE_PROFILE]["snn_pj"] / b["energy"][FIGURE_PROFILE]["snn_pj"]
            if p < 0.05:
                said = f"{ea} T={ta} more accurate" if diff > 0 else f"{eb} T={tb} more accurate"
            else:
                said = "no difference shown"
            rows.append(f"| {ea} T={ta} vs {eb} T={tb} | {only_a}/{only_b}, p={p:.2g} | {100 * diff:+.2f} "
                        f"[{100 * lo:+.2f}, {100 * hi:+.2f}] | {energy:.2f} | {said} |")
    if not rows:
        return []
    return ["Paired on the same 10,000 test images (exact McNemar: images only the first model got right / only "
            "the second; bootstrap interval of the difference), with the energy ratio on "
            f"`{FIGURE_PROFILE}`. One seed's models: whether it holds for other seeds is not tested.", "",
            "| comparison | McNemar b/c, p | difference (points) [95 %] | energy first/second | verdict |",
            "|---|---|---|---|---|", *rows, ""]


def timesteps_points(by, budget, labels) -> tuple[list[dict], dict[str, float]]:
    """The T sweep's points (accuracy with its Wilson interval, energy on :data:`FIGURE_PROFILE`) and the ANN lines."""
    points, ann = [], {}
    for T, encoding, r in _sweep(by, budget):
        acc, lo, hi = _acc(r, labels)
        energy = r["energy"][FIGURE_PROFILE]
        points.append(dict(encoding=encoding, timesteps=T, accuracy=acc, accuracy_low=lo, accuracy_high=hi,
                           energy_pj=energy["snn_pj"]))
        # The twin is the same for every T (an ANN has no timesteps): any entry's copy will do.
        ann = {"ANN dense": energy["ann_dense_pj"], "ANN zero-skip": energy["ann_zero_skip_pj"]}
    return points, ann


def _timesteps_figure(by, budget, labels, path: Path) -> Path | None:
    import pandas as pd

    from asnn_sim.app.plots import plot_against_timesteps

    points, ann = timesteps_points(by, budget, labels)
    if len({p["timesteps"] for p in points}) < 2:
        return None
    return plot_against_timesteps(pd.DataFrame(points), path, ann_energy_pj=ann,
                                  title=f"Fashion-MNIST, LeNet, ASNN, seed {budget.seeds[0]}: energy on {FIGURE_PROFILE}")


def sweep_latency_points(by, budget) -> "pd.DataFrame":
    """The T sweep's energy and time per inference on :data:`LATENCY_PROFILES` (results priced with time only)."""
    import pandas as pd

    rows = []
    for T, encoding, r in _sweep(by, budget):
        for profile in LATENCY_PROFILES:
            e = (r["energy"] or {}).get(profile) or {}
            if e.get("snn_seconds"):
                rows.append(dict(encoding=encoding, timesteps=T, profile=profile, snn_pj=e["snn_pj"],
                                 snn_seconds=e["snn_seconds"], ann_dense_pj=e["ann_dense_pj"],
                                 ann_dense_seconds=e["ann_dense_seconds"]))
    return pd.DataFrame(rows)


def _latency_figure(by, budget, path: Path) -> Path | None:
    from asnn_sim.app.plots import plot_energy_vs_latency

    points = sweep_latency_points(by, budget)
    if points.empty or points["timesteps"].nunique() < 2:
        return None
    return plot_energy_vs_latency(points, path, title=f"Fashion-MNIST, LeNet, ASNN, seed {budget.seeds[0]}: energy "
                                  "against time per inference as T grows (lower left is better; ANN: dense)")


def _models_table(by, budget, labels) -> list[str]:
    rows = []
    for model in ("lenet", "resnet-small", "spikformer-small"):
        part = "grid" if model == "lenet" else "models"
        for encoding in (*ENCODINGS, "ann"):
            r = by.get((part, model, encoding, True, 4, budget.seeds[0]))
            if r is None:
                continue
            acc, lo, hi = _acc(r, labels)
            rows.append(f"| {model} | {'ANN twin' if encoding == 'ann' else encoding} | {r['config']['epochs']} | "
                        f"{acc:.4f} [{lo:.4f}-{hi:.4f}] | {r['train']['train_seconds'] / 60:.1f} |")
    if not rows:
        return []
    return ["### Three networks (ASNN, T = 4, seed 0)", "",
            "| model | encoding | epochs | accuracy [95 %] | training min |", "|---|---|---|---|---|", *rows, ""]


def _priced_t4(by, seeds, encoding: str) -> list[dict]:
    """The grid's priced LeNet results (ASNN, T = 4) of ``encoding``, one per seed that has one."""
    found = [by.get(("grid", "lenet", encoding, True, 4, s)) for s in seeds]
    return [r for r in found if r is not None and r["energy"]]


def _energy_table(by, budget) -> list[str]:
    seeds = budget.seeds
    # Profiles by name, the papers' firing-rate convention (not a profile) last.
    profiles = sorted({p for r in by.values() for p in (r["energy"] or {})}, key=lambda p: (p == CONVENTION, p))
    if not profiles:
        return []
    out = ["### Energy: SNN / ANN per profile (LeNet, ASNN, T = 4)", "",
           "Mean [min-max] over seeds; against the dense ANN and against the replayed ANN twin that skips zero "
           "activations. Below 1 the SNN uses less energy. The last row is the transformer-SNN papers' "
           "firing-rate convention (fr x T x FLOPs, 0.9/4.6 pJ) on the same replays.", "",
           "| profile | " + " | ".join(f"{e} vs dense | {e} vs zero-skip" for e in ENCODINGS) + " |",
           "|---|" + "---|---|" * len(ENCODINGS)]
    static = _static_profiles(by)
    for p in profiles:
        cells = []
        for encoding in ENCODINGS:
            priced = _priced_t4(by, seeds, encoding)
            rs = [r for r in priced if p in r["energy"]]  # a profile added later is missing from older files
            mark = UNTIMED if p in static and not all(priced_with_time(r) for r in rs) else ""
            mark += f" ({len(rs)} of {len(priced)} seeds)" if len(rs) < len(priced) else ""
            for key in ("ratio_dense", "ratio_zero_skip"):
                vals = [r["energy"][p][key] for r in rs if key in r["energy"][p]]
                cells.append(f"{statistics.mean(vals):.3f} [{min(vals):.3f}-{max(vals):.3f}]{mark}" if vals else "-")
        out.append(f"| {p} | " + " | ".join(cells) + " |")
    return out + [""]


#: Marks an energy priced before the timing model on a profile with static power (dynamic energy only).
UNTIMED = "°"


def _static_profiles(by) -> set[str]:
    """The profiles on which some result priced with time has static energy."""
    return {p for r in by.values() if r["energy"] for p, v in r["energy"].items() if (v.get("snn_static_pj") or 0) > 0}


def _machines_line(results: dict[str, dict]) -> list[str]:
    """Which CPUs trained the models (a seed's model depends on the CPU kernel set and thread count)."""
    from collections import Counter

    seen = Counter(f"{m['cpu']} ({m['capability']})" if (m := r.get("machine")) else "not recorded"
                   for r in results.values())
    if len(seen) < 2 and "not recorded" in seen:
        return []
    return ["Trained on: " + "; ".join(f"{cpu}: {n} model{'s' * (n != 1)}" for cpu, n in sorted(seen.items())) + ".", ""]


def _untimed_note(results: dict[str, dict]) -> list[str]:
    """A line naming the spiking models still priced before the timing model (none: no line)."""
    names = sorted(r["name"] for r in results.values() if not priced_with_time(r))
    if not names:
        return []
    were = "spiking model was" if len(names) == 1 else "spiking models were"
    return [f"{UNTIMED} {len(names)} {were} priced before the timing model and static energy: their "
            "energies on profiles with a static power (`loihi`) are dynamic only, and they have no time. "
            "`--retime` rebuilds and prices them: " + ", ".join(names) + ".", ""]


def _time_table(by, budget) -> list[str]:
    """Time per inference and energy-delay product per profile and encoding (results priced with time only)."""
    rows = []
    for encoding in ENCODINGS:
        rs = _priced_t4(by, budget.seeds, encoding)
        for profile in (rs[0]["energy"] if rs else {}):
            vals = [r["energy"][profile] for r in rs if (r["energy"].get(profile) or {}).get("snn_seconds")]
            if not vals:
                continue
            mean = lambda key: statistics.mean(v[key] for v in vals)  # noqa: E731
            static = mean("snn_static_pj") / mean("snn_pj") if mean("snn_static_pj") else None
            seeds = "" if len(vals) == len(rs) else f" ({len(vals)} of {len(rs)} seeds)"
            rows.append(f"| {profile} | {encoding}{seeds} | {mean('snn_seconds') * 1e6:,.4g} | {mean('ann_dense_seconds') * 1e6:,.4g} "
                        f"| {'-' if static is None else f'{100 * static:.1f} %'} | {mean('snn_edp_js'):.3g} "
                        f"| {mean('ann_dense_edp_js'):.3g} |")
    if not rows:
        return []
    sweep = sweep_latency_points(by, budget)
    figure = ([f"![Energy against time per inference as T grows]({LATENCY_FIGURE})", ""]
              if not sweep.empty and sweep["timesteps"].nunique() > 1 else [])
    return ["### Time per inference (LeNet, ASNN, T = 4)", "",
            "Mean over seeds, on each profile's timing model (docs/energy.md, \"Time\"); static share of the SNN's "
            "energy where the chip publishes a static power; EDP = energy x time per inference.", "",
            "| profile | encoding | SNN us | ANN dense us | static share | SNN EDP J s | ANN dense EDP J s |",
            "|---|---|---|---|---|---|---|", *rows, "", *figure]


def _parity_table(results) -> list[str]:
    snn = [r for r in results.values() if r["entry"]["encoding"] != "ann"]
    if not snn:
        return []
    compared = sum(r["replay"]["parity"]["spikes_compared"] for r in snn)
    spikes = sum(r["replay"]["parity"]["spike_mismatches"] for r in snn)
    preds = sum(r["replay"]["parity"]["prediction_mismatches"] for r in snn)
    samples = sum(r["replay"]["n"] for r in snn)
    return ["### Replay against PyTorch (float64)", "",
            f"{len(snn)} spiking models, {samples:,} replays: {spikes:,} of {compared:,} spikes and {preds:,} of "
            f"{samples:,} predictions differ.", ""]
