"""What the reader sees: numbers formatted as cells, the printed tables and ``summary.md``."""

from __future__ import annotations

import math
import platform
from typing import Callable

import numpy as np
import pandas as pd

from asnn_sim import __version__
from asnn_sim.app.report.tables import (
    ANN_DENSE,
    ANN_SKIP,
    ARITHMETIC_PROFILE,
    DASH,
    FIRM_SEEDS,
    MEMORY_PROFILE,
    arithmetic_constants,
)


def _sig(x: float, digits: int = 4) -> str:
    """Plain number with ``digits`` significant digits (more for large numbers, never scientific)."""
    if not math.isfinite(x):
        return "-"
    if x == 0:
        return "0"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(x)))))
    return f"{x:,.{decimals}f}"


def _count(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{x:,.0f}"


def _cell(mean: float, lo: float, hi: float, fmt: Callable[[float], str]) -> str:
    """``'mean [min–max]'``, or just the mean when the spread prints as one value."""
    if not math.isfinite(mean):
        return "-"
    a, b = fmt(lo), fmt(hi)
    return fmt(mean) if a == b else f"{fmt(mean)} [{a}{DASH}{b}]"


def _nj(pj: float) -> str:
    return _sig(pj / 1e3)


def _ratio(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{x:.3f}"


def _acc(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{x:.3f}"


def headline(models: pd.DataFrame, energy: pd.DataFrame, profiles: list[str]) -> pd.DataFrame:
    """Per model: accuracy and counts per inference; on the arithmetic profile also energy and both ratios.

    Rows: each SNN, then ``ANN dense`` (its MACs are every MAC of the twin) and ``ANN
    zero-skip`` (the replayed twin's MACs with non-zero input), so each ratio's
    denominator is a printed row. On :data:`ARITHMETIC_PROFILE` a reader recomputes every
    ratio from this table: E = 0.9 pJ x ACs + 4.6 pJ x MACs.
    """
    arith = ARITHMETIC_PROFILE in profiles
    e = energy[energy["profile"] == ARITHMETIC_PROFILE].set_index("encoding") if arith else None
    rows = []
    ann = models[models["encoding"] == "ANN"]
    for m in models[models["encoding"] != "ANN"].itertuples(index=False):
        row = {
            "model": m.encoding,
            "accuracy": _cell(m.accuracy, m.accuracy_seed_min, m.accuracy_seed_max, _acc),
            "spikes/inf": _cell(m.spikes_per_inference, m.spikes_per_inference_seed_min, m.spikes_per_inference_seed_max, _count),
            "ACs/inf": _cell(m.acs, m.acs_seed_min, m.acs_seed_max, _count),
            "MACs/inf": _cell(m.macs, m.macs_seed_min, m.macs_seed_max, _count),
        }
        if arith:
            r = e.loc[m.encoding]
            row[f"{ARITHMETIC_PROFILE} nJ/inf"] = _cell(r.snn_pj, r.snn_pj_seed_min, r.snn_pj_seed_max, _nj)
            row["SNN/ANN dense"] = _cell(r.ratio_vs_dense_ann, r.ratio_vs_dense_ann_seed_min, r.ratio_vs_dense_ann_seed_max, _ratio)
            row["SNN/ANN zero-skip"] = _cell(r.ratio_vs_zero_skip_ann, r.ratio_vs_zero_skip_ann_seed_min, r.ratio_vs_zero_skip_ann_seed_max, _ratio)
        rows.append(row)
    first = energy.drop_duplicates("profile").set_index("profile")
    dense_macs = float(energy["ann_dense_macs"].iloc[0])
    a = next(ann.itertuples(index=False), None)
    acc = _cell(a.accuracy, a.accuracy_seed_min, a.accuracy_seed_max, _acc) if a is not None else "-"
    dense = {"model": ANN_DENSE, "accuracy": acc, "spikes/inf": "-", "ACs/inf": "0", "MACs/inf": _count(dense_macs)}
    if arith:
        dense.update({f"{ARITHMETIC_PROFILE} nJ/inf": _nj(first.loc[ARITHMETIC_PROFILE, "ann_dense_pj"]), "SNN/ANN dense": "1", "SNN/ANN zero-skip": "-"})
    rows.append(dense)
    if a is not None:
        skip = {"model": ANN_SKIP, "accuracy": acc, "spikes/inf": "-", "ACs/inf": "0",
                "MACs/inf": _cell(a.macs, a.macs_seed_min, a.macs_seed_max, _count)}
        if arith:
            r = first.loc[ARITHMETIC_PROFILE]
            skip.update({f"{ARITHMETIC_PROFILE} nJ/inf": _cell(r.ann_zero_skip_pj, r.ann_zero_skip_pj_seed_min, r.ann_zero_skip_pj_seed_max, _nj),
                         "SNN/ANN dense": "-", "SNN/ANN zero-skip": "1"})
        rows.append(skip)
    return pd.DataFrame(rows)


def time_table(energy: pd.DataFrame) -> pd.DataFrame:
    """Per profile x encoding: time per inference (SNN and dense ANN), inferences per second,
    the static share of the SNN's energy and both energy-delay products (means over seeds)."""
    rows = []
    for r in energy.itertuples(index=False):
        if not np.isfinite(r.snn_seconds):
            continue
        rows.append({
            "profile": r.profile,
            "encoding": r.encoding,
            "SNN us": _sig(r.snn_seconds * 1e6),
            "SNN inferences/s": _sig(1.0 / r.snn_seconds) if r.snn_seconds > 0 else "-",
            "static share": f"{100 * r.snn_static_pj / r.snn_pj:.1f} %" if r.snn_pj > 0 and r.snn_static_pj > 0 else "-",
            "SNN EDP J s": f"{r.snn_edp_js:.3g}",
            "ANN dense us": _sig(r.ann_dense_seconds * 1e6),
            "ANN dense EDP J s": f"{r.ann_dense_edp_js:.3g}",
        })
    return pd.DataFrame(rows)


def ratio_table(energy: pd.DataFrame) -> pd.DataFrame:
    """Per profile x encoding: the three energies (nJ per inference), both ratios, and the verdicts.

    Each ratio is the printed SNN energy over the printed ANN energy of the same row (the
    means over seeds); the bracket is the per-seed min–max.
    """
    has_skip = energy["ann_zero_skip_pj"].notna().any()
    rows = []
    for profile in dict.fromkeys(energy["profile"]):
        for r in energy[energy["profile"] == profile].itertuples(index=False):
            row = {
                "profile": profile,
                "encoding": r.encoding,
                "SNN nJ": _cell(r.snn_pj, r.snn_pj_seed_min, r.snn_pj_seed_max, _nj),
                "ANN dense nJ": _cell(r.ann_dense_pj, r.ann_dense_pj_seed_min, r.ann_dense_pj_seed_max, _nj),
                "SNN/ANN dense": _cell(r.ratio_vs_dense_ann, r.ratio_vs_dense_ann_seed_min, r.ratio_vs_dense_ann_seed_max, _ratio),
            }
            if has_skip:
                row["ANN zero-skip nJ"] = _cell(r.ann_zero_skip_pj, r.ann_zero_skip_pj_seed_min, r.ann_zero_skip_pj_seed_max, _nj)
                row["SNN/ANN zero-skip"] = _cell(r.ratio_vs_zero_skip_ann, r.ratio_vs_zero_skip_ann_seed_min, r.ratio_vs_zero_skip_ann_seed_max, _ratio)
                row["verdict vs dense / zero-skip"] = f"{r.verdict_vs_dense_ann} / {r.verdict_vs_zero_skip_ann}"
            else:
                row["verdict vs dense"] = r.verdict_vs_dense_ann
            rows.append(row)
    return pd.DataFrame(rows)


def to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table (no extra dependency)."""
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def _seed_text(seeds: list[int]) -> str:
    if len(seeds) == 1:
        return f"one seed ({seeds[0]}): no spread, so no verdicts"
    return f"mean over {len(seeds)} seeds ({', '.join(map(str, seeds))}), [min{DASH}max over the seeds]"


def headline_markdown(head: pd.DataFrame, ratios: pd.DataFrame, seeds: list[int], conventions: dict, profiles: list[str]) -> str:
    """The two headline tables with the captions that say what every number is."""
    conv = ", ".join(f"{k}={v}" for k, v in conventions.items())
    arith = ARITHMETIC_PROFILE in profiles
    ac, mac = arithmetic_constants() if arith else (math.nan, math.nan)
    lines = [
        f"Per inference; {_seed_text(seeds)}. Counts from the event-driven replay ({conv}): an AC is a "
        "(non-zero binary input, synapse) pair, a MAC a (non-zero analog input, synapse) pair, so the SNNs' "
        "analog frames skip zero pixels; an attention product is an AC where an operand is a spike and a MAC "
        f"where both are multi-bit. **{ANN_DENSE}**: the ReLU twin doing every MAC, zeros included. "
        f"**{ANN_SKIP}**: the trained twin's MACs with a non-zero input (the SNN's own rule)."
        + (f" On `{ARITHMETIC_PROFILE}`, E = {ac:g} pJ x ACs + {mac:g} pJ x MACs, so SNN/ANN = "
           f"({ac:g} ACs + {mac:g} MACs) / ({mac:g} x the ANN row's MACs); each ratio is the ratio of the mean energies." if arith else ""),
        "",
        to_markdown(head),
        "",
        "SNN/ANN per profile = the SNN column over the ANN column of the same row (mean energies, nJ per "
        "inference, memory model of the profile); brackets: min" + DASH + "max over the seeds of each seed's "
        "ratio. A verdict is stated only where every seed's ratio lies on the same side of 1 "
        "(spread of the profiles' uncertain constants: `tables/energy.csv`).",
        "",
        to_markdown(ratios),
    ]
    return "\n".join(lines)


def _fmt_energy(pj: float) -> str:
    for unit, scale in (("mJ", 1e9), ("µJ", 1e6), ("nJ", 1e3)):
        if pj >= scale:
            return f"{pj / scale:.3g} {unit}"
    return f"{pj:.3g} pJ"


def _fmt_range(value: float, low: float, high: float) -> str:
    """``'4.92 µJ {4.83 µJ–6.91 µJ}'``: the constants' bounds in braces (square brackets are
    the seed spread, :data:`BRACKETS`); without them when the bounds print alike."""
    lo, hi = _fmt_energy(low), _fmt_energy(high)
    return _fmt_energy(value) if lo == hi else f"{_fmt_energy(value)} {{{lo}{DASH}{hi}}}"


def _conventions_markdown(conv: pd.DataFrame) -> list[str]:
    """The same models under the papers' firing-rate convention, our exact counts, and a memory-aware profile."""
    if conv.empty:
        return []

    def cell(r, col, fmt):
        return _cell(getattr(r, col), getattr(r, f"{col}_seed_min"), getattr(r, f"{col}_seed_max"), fmt)

    rows = []
    for r in conv.itertuples(index=False):
        rows.append({
            "encoding": r.encoding,
            "SOPs (fr x T x FLOPs)": cell(r, "sops", _count),
            "ACs (replay)": cell(r, "acs", _count),
            "encoding-layer MACs (dense, once)": cell(r, "encoding_macs", _count),
            "MACs (replay)": cell(r, "macs", _count),
            "firing-rate convention nJ": cell(r, "firing_rate_pj", _nj),
            "SNN/ANN (firing-rate)": cell(r, "ratio_firing_rate", _ratio),
            f"exact counts ({ARITHMETIC_PROFILE}) nJ": cell(r, "exact_pj", _nj),
            "SNN/ANN (exact)": cell(r, "ratio_exact", _ratio),
            f"memory-aware ({MEMORY_PROFILE}) nJ": cell(r, "memory_pj", _nj),
            "SNN/ANN (memory-aware)": cell(r, "ratio_memory", _ratio),
        })
    return [
        "## Energy conventions side by side",
        "",
        "The same models priced three ways, each ratio against the dense ANN twin priced the same way. "
        "**Firing-rate convention** (transformer-SNN papers, e.g. Spikformer): E = 4.6 pJ x FLOPs of the "
        "encoding layer (dense, once) + 0.9 pJ x SOPs, SOPs = input firing rate x T x FLOPs per layer. "
        f"**Exact counts**: the same constants on the replay's ACs and MACs. **Memory-aware**: `{MEMORY_PROFILE}`, "
        "with weight, membrane-potential and routing traffic. Why they differ: docs/energy.md, "
        "\"The firing-rate convention\" (asnn-sim). Mean [min" + DASH + "max] over the seeds; `-`: profile not priced.",
        "",
        to_markdown(pd.DataFrame(rows)),
        "",
    ]


def encoder_table(energy: pd.DataFrame) -> pd.DataFrame:
    """Per encoding, on the profiles that run the encoder on chip: its energy next to the
    network's (means over seeds)."""
    on = energy[energy["encoder_on_chip"]]  # the energy table holds the SNNs only
    return pd.DataFrame({
        "encoding": on["encoding"],
        "profile": on["profile"],
        "encoder ops/inference": [_count(v) for v in on["encoder_ops"]],
        "encoder": [_fmt_energy(v) for v in on["encoder_pj"]],
        "network": [_fmt_energy(v) for v in on["network_pj"]],
        "encoder share": [f"{100 * v:.2g} %" for v in on["encoder_share"]],
    })


def _encoder_markdown(energy: pd.DataFrame) -> list[str]:
    table = encoder_table(energy)
    off = [p for p in dict.fromkeys(energy["profile"]) if p not in set(table["profile"])]
    lines = [
        "## The encoder next to the network",
        "",
        "What turning images into spikes costs beside the network that reads them: the encoder's compares, "
        "random numbers, bit extractions and arithmetic (the `input` rows of the counts), on the profiles that "
        "run it on chip (`asnn energy --encoder` moves it on or off every chip; `docs/energy.md`). Direct coding "
        "feeds the image itself: no encoder work."
        + (f" Encoding off chip, not priced: {', '.join(f'`{p}`' for p in off)}." if off else ""),
        "",
    ]
    return lines + ([to_markdown(table), ""] if len(table) else ["No profile in this report runs the encoder on chip.", ""])


def _summary_markdown(title, runs, tables, head_md, headline_profile, spread_name) -> str:
    """``summary.md``: the headline, then one section per figure, then provenance."""
    energy = tables["energy"]
    lines = _intro_lines(title, runs, head_md, spread_name)
    lines += _energy_lines(energy, spread_name)
    lines += _encoder_markdown(energy)
    lines += [
        "## Which constants matter",
        "",
        "Each uncertain constant alone at its low and at its high end, every other at its value "
        f"(the {tables['sensitivity']['encoding'].iloc[0] if len(tables['sensitivity']) else 'first'} model of the "
        "first seed against the dense ANN; `tables/sensitivity.csv` has every constant). Profiles whose "
        "constants are single published values have no bars.",
        "",
        "![sensitivity](figures/sensitivity.png)",
        "",
    ]
    lines += _conventions_markdown(tables["conventions"])
    lines += _activity_lines(headline_profile)
    lines += _provenance_lines(runs)
    return "\n".join(lines)


def _intro_lines(title, runs, head_md, spread_name) -> list[str]:
    """Title, what was trained and replayed, how to read brackets, the headline and the energy figure."""
    seeds = list(runs)
    arts0 = runs[seeds[0]]
    snn = next(a for a in arts0 if not a.is_ann)
    c = snn.config
    conventions = snn.sim_summary["conventions"]
    lines = [
        f"# {title}",
        "",
        f"Model `{c.model}`{' (SEW residuals)' if c.residual == 'sew' else ''}"
        f"{' (average pooling)' if getattr(c, 'pool', 'max') == 'avg' else ''} on `{c.dataset}` "
        f"({snn.sim_summary['n_samples']} test samples), T = {c.timesteps}, "
        f"{'ASNN' if c.asnn else 'plain LIF'} neurons{' (hard reset to 0)' if c.reset == 'hard' else ''}, {c.epochs} epochs, "
        + (f"seeds {', '.join(map(str, seeds))}" if len(seeds) > 1 else f"seed {seeds[0]}")
        + f". Counts from the event-driven replay ({snn.sim_summary['precision']}; conventions: "
        + ", ".join(f"{k}={v}" for k, v in conventions.items())
        + "); energy per inference from the hardware profiles (see `docs/energy.md`).",
        "",
        f"Brackets: `[a{DASH}b]` is the min{DASH}max over the training seeds; `{{a{DASH}b}}` puts the profile's "
        "uncertain constants at their low / high end."
        + (f" With {len(seeds)} seeds a verdict rests on little: each says so." if 1 < len(seeds) < FIRM_SEEDS else ""),
        "",
        "## Headline",
        "",
        head_md,
        "",
        "## Energy per inference",
        "",
        f"Bars: mean over the seeds, stacked by component; error bars: {spread_name}. "
        f"`{ANN_DENSE}` does every MAC; `{ANN_SKIP}` only those with a non-zero input.",
        "",
        "![energy by encoding](figures/energy_by_encoding.png)",
        "",
    ]
    return lines


def _energy_lines(energy: pd.DataFrame, spread_name: str) -> list[str]:
    """The energy table (mean, constants' bounds, activity, break-even) and the accuracy-energy figure."""
    show = pd.DataFrame({
        "encoding": energy["encoding"],
        "profile": energy["profile"],
        "SNN": [_fmt_range(v, lo, hi) for v, lo, hi in zip(energy["snn_pj"], energy["snn_low_pj"], energy["snn_high_pj"])],
        "ANN dense": [_fmt_range(v, lo, hi) for v, lo, hi in zip(energy["ann_dense_pj"], energy["ann_dense_low_pj"], energy["ann_dense_high_pj"])],
        "ANN zero-skip": ["-" if pd.isna(v) else _fmt_range(v, lo, hi)
                          for v, lo, hi in zip(energy["ann_zero_skip_pj"], energy["ann_zero_skip_low_pj"], energy["ann_zero_skip_high_pj"])],
        "spikes/synapse": [_cell(v, lo, hi, lambda x: f"{x:.3f}") for v, lo, hi in
                           zip(energy["spikes_per_synapse"], energy["spikes_per_synapse_seed_min"], energy["spikes_per_synapse_seed_max"])],
        "break-even spikes/synapse": [
            "never" if s == "snn-fixed-cost-exceeds-ann" else ("-" if pd.isna(v) else f"{v:.3f}")
            for v, s in zip(energy["break_even_spikes_per_synapse"], energy["break_even_status"])
        ],
    })
    return [
        "Mean over the seeds; {low" + DASH + "high} puts every uncertain constant of the profile at its "
        "low or high end (not the seed spread). Break-even (dense ANN): the SNN wins while its spikes per "
        "synapse stay below this value (Dampfhoffer et al. 2023 report 0.15" + DASH + "1.38 across designs).",
        "",
        to_markdown(show),
        "",
        f"Accuracy vs energy: points are means over the seeds, bars the {spread_name} (accuracy and energy).",
        "",
        "![accuracy vs energy](figures/accuracy_vs_energy.png)",
        "",
        "## Time on hardware",
        "",
        "Time per inference from the replay's activity on each profile's timing model (docs/energy.md, "
        "\"Time\"): the busiest core plus a barrier on Loihi, a 1 ms tick on TrueNorth and SpiNNaker 2, "
        "an Eyeriss-class throughput on the 45 nm CMOS profiles; one inference after the other. Static "
        "energy (static power x time) is in the totals where the chip publishes its static power (Loihi); "
        "\"-\": none priced (not published, or inside an all-in energy). EDP = energy per inference x time "
        "per inference.",
        "",
        to_markdown(time_table(energy)) if np.isfinite(energy["snn_seconds"]).any() else
        "(these replays were priced before the time model: rerun to see time)",
        "",
        "Energy against time: the encodings trade timesteps (and so time) for energy.",
        "",
        "![energy vs latency](figures/energy_vs_latency.png)",
        "",
    ]


def _activity_lines(headline_profile: str) -> list[str]:
    """Sparsity, early exit and the one-sample raster, each a figure with its caption."""
    return [
        "## Sparsity",
        "",
        "Firing rate = spikes per neuron per timestep, per layer and step t (0-based: t = 0 is the first step), "
        "mean over the seeds.",
        "",
        "![firing rates](figures/firing_rates.png)",
        "",
        f"## Early exit (energy on `{headline_profile}`)",
        "",
        "Prediction from the readout averaged over steps 0..t, and the energy spent up to step t "
        "(t is 0-based in every table and figure).",
        "",
        "![early exit](figures/early_exit.png)",
        "",
        "## One sample through the network",
        "",
        "Input frames drawn as images (analog frames in grey levels, spike frames as dots on the pixel grid), "
        "then each spiking layer's neurons per step.",
        "",
        "![spike raster](figures/raster.png)",
        "",
    ]


def _provenance_lines(runs) -> list[str]:
    """Software, threads, and per model: training, replay accuracy, parity and its run folder."""
    threads = sorted({a.train_summary.get("torch_threads") for arts in runs.values() for a in arts} - {None})
    torch_versions = sorted({a.train_summary.get("torch") for arts in runs.values() for a in arts} - {None})
    lines = [
        "## Provenance",
        "",
        "Trained with torch " + ", ".join(torch_versions or ["?"]) + " on " + ", ".join(map(str, threads or ["?"]))
        + " CPU thread(s). The same command, seed, software and thread count on the same machine reproduce "
        "every number; another thread count or CPU trains different models, about as far apart as the seeds "
        "(docs/reproducibility.md in asnn-sim; set OMP_NUM_THREADS to fix the count).",
        "",
    ]
    for seed, arts in runs.items():
        for a in arts:
            parity = a.sim_summary.get("parity")
            parity_text = (
                f"parity vs PyTorch float64: {parity['prediction_mismatches']} prediction and {parity['spike_mismatches']} spike mismatches"
                if parity else "parity not checked"
            )
            lines.append(
                f"- **{a.label}, seed {seed}**: trained in {a.train_summary['train_seconds']:.1f} s on {a.train_summary['device']} "
                f"(PyTorch test accuracy {a.train_summary['test_accuracy']:.4f}); replay accuracy {a.sim_summary['accuracy']:.4f}; "
                f"{parity_text}; run `{a.run_dir}`"
            )
    lines += [
        "",
        f"Tables (CSV and Parquet) are in `tables/`. Generated by asnn-sim {__version__} on Python {platform.python_version()}.",
        "",
    ]
    return lines
