"""Comparison reports: what each input coding costs, layer by layer and step by step, per chip.

:func:`build_report` takes trained-and-replayed models (:class:`~asnn_sim.app.pipeline.ModelArtifacts`)
and writes ``REPORT_DIR/``::

    summary.md                 the tables and figures, readable on GitHub
    tables/encodings.*         one row per encoding (and the ANN): accuracy, activity, energy
    tables/energy.*            one row per encoding x profile: SNN, ANN (dense and zero-skip), ratios, break-even
    tables/firing_rates.*      encoding x layer x timestep
    tables/layer_timestep.*    encoding x layer x timestep: every count, and energy per profile
    tables/early_exit.*        accuracy and cumulative energy using the first t steps
    figures/*.png

Every table is written as CSV and Parquet. Energies are per inference.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from asnn_sim import __version__, atomic
from asnn_sim.app import plots
from asnn_sim.counts_schema import count_names
from asnn_sim.app.pipeline import ModelArtifacts

COUNTS = count_names()
PREFERRED_HEADLINE_PROFILE = "cmos45-int8-sram"


@dataclass
class Report:
    """A written report: where it is and its headline table."""

    out: Path
    headline: pd.DataFrame
    headline_markdown: str
    tables: dict[str, pd.DataFrame]
    figures: dict[str, Path]


def _write_table(frame: pd.DataFrame, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_path(folder / f"{name}.csv") as tmp:
        frame.to_csv(tmp, index=False)
    with atomic.atomic_path(folder / f"{name}.parquet") as tmp:
        frame.to_parquet(tmp, index=False)


def _per_inference(counts_dir: Path) -> pd.DataFrame:
    counts = pd.read_parquet(counts_dir / "counts.parquet")
    n = counts["n_samples"].iloc[0]
    per = counts[["layer", "layer_index", "t"]].copy()
    for c in COUNTS:
        per[c] = counts[c] / n
    return per


def energy_tables(artifacts: list[ModelArtifacts], hw: list[str]) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Per encoding x profile energy summary, and each SNN's long breakdown.

    The ANN appears twice as a baseline: dense (every MAC, built from the layer shapes)
    and zero-skipping (the replayed ANN twin's MACs with non-zero input), both under the
    same profile and memory model.
    """
    from hw_models import run_energy

    ann = next((a for a in artifacts if a.is_ann), None)
    rows, breakdowns = [], {}
    for a in artifacts:
        if a.is_ann:
            continue
        dense = run_energy(a.counts_dir, hw)
        skip = run_energy(a.counts_dir, hw, ann_counts=ann.counts_dir) if ann else None
        breakdowns[a.label] = dense.breakdown
        for i, s in dense.summary.iterrows():
            row = {
                "encoding": a.label,
                "profile": s["profile"],
                "snn_pj": s["snn_pj"],
                "snn_low_pj": s["snn_low_pj"],
                "snn_high_pj": s["snn_high_pj"],
                "ann_dense_pj": s["ann_pj"],
                "ann_dense_low_pj": s["ann_low_pj"],
                "ann_dense_high_pj": s["ann_high_pj"],
                "ratio_vs_dense_ann": s["ratio"],
                "ratio_vs_dense_ann_low": s["ratio_low"],
                "ratio_vs_dense_ann_high": s["ratio_high"],
                "ann_zero_skip_pj": np.nan,
                "ratio_vs_zero_skip_ann": np.nan,
                "spikes_per_synapse": s["spikes_per_synapse"],
                "break_even_spikes_per_synapse": s["break_even_spikes_per_synapse"],
                "break_even_spike_rate": s["break_even_spike_rate"],
                "break_even_status": s["break_even_status"],
            }
            if skip is not None:
                z = skip.summary.iloc[i]
                row["ann_zero_skip_pj"] = z["ann_pj"]
                row["ratio_vs_zero_skip_ann"] = z["ratio"]
            rows.append(row)
    return pd.DataFrame(rows), breakdowns


def _component_table(energy: pd.DataFrame, breakdowns: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Energy per encoding x profile x component (plus the dense ANN), for the stacked bars."""
    parts = []
    for label, b in breakdowns.items():
        snn = b[b["system"] == "snn"].groupby(["profile", "component"], sort=False)["energy_pj"].sum().reset_index()
        snn.insert(0, "encoding", label)
        parts.append(snn)
    first = next(iter(breakdowns.values()))
    ann = first[first["system"] == "ann"].groupby(["profile", "component"], sort=False)["energy_pj"].sum().reset_index()
    ann.insert(0, "encoding", "ANN")
    parts.append(ann)
    table = pd.concat(parts, ignore_index=True)
    bounds = energy[["encoding", "profile", "snn_low_pj", "snn_high_pj"]].rename(columns={"snn_low_pj": "total_low_pj", "snn_high_pj": "total_high_pj"})
    ann_bounds = energy.drop_duplicates("profile")[["profile", "ann_dense_low_pj", "ann_dense_high_pj"]].rename(
        columns={"ann_dense_low_pj": "total_low_pj", "ann_dense_high_pj": "total_high_pj"}
    )
    ann_bounds.insert(0, "encoding", "ANN")
    return table.merge(pd.concat([bounds, ann_bounds]), on=["encoding", "profile"], how="left")


def firing_table(artifacts: list[ModelArtifacts]) -> pd.DataFrame:
    """Spikes per neuron per step, for every spiking layer of every SNN."""
    rows = []
    for a in artifacts:
        if a.is_ann:
            continue
        counts = pd.read_parquet(a.counts_dir / "counts.parquet")
        layers = pd.read_parquet(a.counts_dir / "layers.parquet")
        spiking = set(layers.loc[layers["neuron"].isin(["lif", "asnn"]), "layer"])
        part = counts[counts["layer"].isin(spiking)]
        rows.append(pd.DataFrame({
            "encoding": a.label,
            "layer": part["layer"],
            "layer_index": part["layer_index"],
            "t": part["t"],
            "firing_rate": part["output_spikes"] / part["neurons"],
        }))
    return pd.concat(rows, ignore_index=True)


def layer_timestep_table(artifacts: list[ModelArtifacts], breakdowns: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every count (per inference) and the SNN energy per profile, per encoding x layer x step."""
    parts = []
    for a in artifacts:
        if a.is_ann:
            continue
        per = _per_inference(a.counts_dir)
        b = breakdowns[a.label]
        energy = b[b["system"] == "snn"].groupby(["profile", "layer", "t"])["energy_pj"].sum().unstack("profile")
        energy.columns = [f"energy_pj_{p}" for p in energy.columns]
        per = per.merge(energy.reset_index(), on=["layer", "t"], how="left")
        per.insert(0, "encoding", a.label)
        parts.append(per)
    return pd.concat(parts, ignore_index=True)


def early_exit_table(artifacts: list[ModelArtifacts], breakdowns: dict[str, pd.DataFrame], energy: pd.DataFrame) -> pd.DataFrame:
    """Accuracy of the readout averaged over the first t steps, and the energy spent by then."""
    rows = []
    for a in artifacts:
        if a.is_ann:
            continue
        b = breakdowns[a.label]
        snn = b[b["system"] == "snn"]
        per_step = snn.groupby(["profile", "t"])["energy_pj"].sum()
        for profile in per_step.index.get_level_values(0).unique():
            cumulative = per_step.loc[profile].sort_index().cumsum()
            for t, acc in enumerate(a.sim_summary["accuracy_by_timesteps"]):
                rows.append({"encoding": a.label, "profile": profile, "steps": t + 1, "accuracy": acc,
                             "cumulative_energy_pj": float(cumulative.iloc[t])})
    ann = next((a for a in artifacts if a.is_ann), None)
    if ann is not None:
        for profile, e in energy.drop_duplicates("profile")[["profile", "ann_dense_pj"]].itertuples(index=False):
            rows.append({"encoding": "ANN", "profile": profile, "steps": np.nan, "accuracy": ann.sim_summary["accuracy"], "cumulative_energy_pj": e})
    return pd.DataFrame(rows)


def encodings_table(artifacts: list[ModelArtifacts], energy: pd.DataFrame) -> pd.DataFrame:
    """One row per encoding (and the ANN): accuracy, activity, and energy per profile."""
    rows = []
    for a in artifacts:
        per = a.sim_summary["per_inference"]
        row = {
            "encoding": a.label,
            "accuracy": a.sim_summary["accuracy"],
            "train_accuracy_torch": a.train_summary["test_accuracy"],
            "train_seconds": a.train_summary["train_seconds"],
            "spikes_per_inference": a.sim_summary["spikes_per_inference"] if not a.is_ann else np.nan,
            "mean_firing_rate": float(np.mean(list(a.sim_summary["firing_rate"].values()))) if not a.is_ann else np.nan,
            "synaptic_acs": per["synaptic_acs"],
            "synaptic_macs": per["synaptic_macs"],
            "dense_macs": per["dense_macs"],
            "parity_identical": (a.sim_summary.get("parity") or {}).get("identical"),
        }
        for r in energy.itertuples(index=False):
            if a.is_ann:
                row[f"energy_pj_{r.profile}"] = r.ann_dense_pj
                row[f"ratio_{r.profile}"] = 1.0
            elif r.encoding == a.label:
                row[f"energy_pj_{r.profile}"] = r.snn_pj
                row[f"energy_low_pj_{r.profile}"] = r.snn_low_pj
                row[f"energy_high_pj_{r.profile}"] = r.snn_high_pj
                row[f"ratio_{r.profile}"] = r.ratio_vs_dense_ann
        rows.append(row)
    return pd.DataFrame(rows)


def headline(encodings: pd.DataFrame, profiles: list[str]) -> pd.DataFrame:
    """The short table printed at the end: accuracy, activity, SNN/ANN energy ratio per profile."""
    table = pd.DataFrame({
        "encoding": encodings["encoding"],
        "accuracy": encodings["accuracy"].map(lambda v: f"{v:.3f}"),
        "spikes/inf": encodings["spikes_per_inference"].map(lambda v: "-" if pd.isna(v) else f"{v:,.0f}"),
        "ACs/inf": encodings["synaptic_acs"].map(lambda v: f"{v:,.0f}"),
        "MACs/inf": encodings["synaptic_macs"].map(lambda v: f"{v:,.0f}"),
    })
    for p in profiles:
        table[f"{p} SNN/ANN"] = encodings[f"ratio_{p}"].map(lambda v: f"{v:.2f}")
    return table


def to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table (no extra dependency)."""
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def raster_data(artifact: ModelArtifacts, sample: int = 0) -> list[tuple[str, np.ndarray]]:
    """Input frames and every spiking layer's spikes for one test sample: ``[(name, (T, n))]``."""
    from asnn_sim.data import load_dataset
    from asnn_sim.encoding import EncoderSpec
    from asnn_sim.ir import load_graph
    from asnn_sim.sim import Simulator

    graph = load_graph(artifact.graph_path)
    data = load_dataset(artifact.config.dataset, artifact.config.data_dir, split="test")
    x = data.x_test[sample : sample + 1].astype(np.float64)
    frames = EncoderSpec.from_dict(graph.input.encoder).encode(x)
    result = Simulator(graph, "float64", batch_size=1).run_batch(frames, record=True)
    T = graph.timesteps
    out = [("input", (frames.reshape(T, -1) != 0))]
    for name, spikes in result.spikes.items():
        out.append((name, spikes.reshape(T, -1).astype(bool)))
    return out


def build_report(
    artifacts: list[ModelArtifacts],
    hw: list[str],
    out: str | Path,
    *,
    headline_profile: str | None = None,
    title: str = "asnn-sim encoding comparison",
    log: Callable[[str], None] = print,
) -> Report:
    """Write the tables, figures and ``summary.md`` of a comparison.

    Parameters
    ----------
    artifacts : list of ModelArtifacts
        The SNNs (one per encoding) and, optionally, the ANN twin.
    hw : list of str
        Hardware profile names or paths.
    out : path
        Report folder (created).
    headline_profile : str, optional
        Profile for the early-exit figure (default ``cmos45-int8-sram`` when present).
    title : str
    log : callable

    Returns
    -------
    Report
    """
    out = Path(out)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    if not any(not a.is_ann for a in artifacts):
        raise ValueError("a report needs at least one spiking model")
    labels = [a.label for a in artifacts]
    if len(set(labels)) != len(labels) or sum(a.is_ann for a in artifacts) > 1:
        raise ValueError(f"each model in a report needs its own label and at most one is the ANN; got {labels}")
    log("report: energy on " + ", ".join(hw))
    energy, breakdowns = energy_tables(artifacts, hw)
    profiles = list(energy["profile"].unique())
    if headline_profile is None:
        headline_profile = PREFERRED_HEADLINE_PROFILE if PREFERRED_HEADLINE_PROFILE in profiles else profiles[0]
    tables = {
        "encodings": encodings_table(artifacts, energy),
        "energy": energy,
        "firing_rates": firing_table(artifacts),
        "layer_timestep": layer_timestep_table(artifacts, breakdowns),
        "early_exit": early_exit_table(artifacts, breakdowns, energy),
        "energy_components": _component_table(energy, breakdowns),
    }
    for name, frame in tables.items():
        _write_table(frame, out / "tables", name)

    log("report: figures")
    fig = out / "figures"
    ann = next((a for a in artifacts if a.is_ann), None)
    snns = [a for a in artifacts if not a.is_ann]
    points = []
    for r in energy.itertuples(index=False):
        points.append({"encoding": r.encoding, "profile": r.profile, "accuracy": tables["encodings"].set_index("encoding").loc[r.encoding, "accuracy"],
                       "energy_pj": r.snn_pj, "energy_low_pj": r.snn_low_pj, "energy_high_pj": r.snn_high_pj, "system": "snn"})
    if ann is not None:
        for r in energy.drop_duplicates("profile").itertuples(index=False):
            points.append({"encoding": "ANN", "profile": r.profile, "accuracy": ann.sim_summary["accuracy"], "energy_pj": r.ann_dense_pj,
                           "energy_low_pj": r.ann_dense_low_pj, "energy_high_pj": r.ann_dense_high_pj, "system": "ann"})
    raster_source = next((a for a in snns if a.label == "hybrid"), snns[0])
    curves = tables["early_exit"]
    figures = {
        "energy_by_encoding": plots.plot_energy_by_encoding(tables["energy_components"], fig / "energy_by_encoding.png"),
        "firing_rates": plots.plot_firing_heatmaps(tables["firing_rates"], fig / "firing_rates.png"),
        "accuracy_vs_energy": plots.plot_accuracy_vs_energy(pd.DataFrame(points), fig / "accuracy_vs_energy.png"),
        "early_exit": plots.plot_early_exit(curves[curves["profile"] == headline_profile], fig / "early_exit.png", profile=headline_profile),
        "raster": plots.plot_spike_raster(
            raster_data(raster_source), fig / "raster.png",
            title=f"Spikes of one test sample through the {raster_source.label}-coded network",
        ),
    }
    head = headline(tables["encodings"], profiles)
    head_md = to_markdown(head)
    atomic.write_text(out / "summary.md", _summary_markdown(title, artifacts, tables, head_md, figures, headline_profile, out))
    atomic.write_json(out / "report.json", {
        "asnn_sim_version": __version__,
        "profiles": profiles,
        "headline_profile": headline_profile,
        "models": {a.label: {"run_dir": str(a.run_dir), "graph": str(a.graph_path), "counts": str(a.counts_dir)} for a in artifacts},
    })
    return Report(out, head, head_md, tables, figures)


def _fmt_energy(pj: float) -> str:
    for unit, scale in (("mJ", 1e9), ("µJ", 1e6), ("nJ", 1e3)):
        if pj >= scale:
            return f"{pj / scale:.3g} {unit}"
    return f"{pj:.3g} pJ"


def _fmt_range(value: float, low: float, high: float) -> str:
    """``'4.92 µJ [4.83 µJ–6.91 µJ]'``, without the bracket when the bounds print alike."""
    lo, hi = _fmt_energy(low), _fmt_energy(high)
    return _fmt_energy(value) if lo == hi else f"{_fmt_energy(value)} [{lo}–{hi}]"


def _summary_markdown(title, artifacts, tables, head_md, figures, headline_profile, out: Path) -> str:
    snn = next(a for a in artifacts if not a.is_ann)
    c = snn.config
    conventions = snn.sim_summary["conventions"]
    energy = tables["energy"]
    lines = [
        f"# {title}",
        "",
        f"Model `{c.model}`{' (SEW residuals)' if c.residual == 'sew' else ''} on `{c.dataset}` "
        f"({snn.sim_summary['n_samples']} test samples), T = {c.timesteps}, "
        f"{'ASNN' if c.asnn else 'plain LIF'} neurons, {c.epochs} epochs, seed {c.seed}. "
        f"Counts from the event-driven replay ({snn.sim_summary['precision']}; conventions: "
        + ", ".join(f"{k}={v}" for k, v in conventions.items())
        + "); energy per inference from the hardware profiles (see `docs/energy.md`).",
        "",
        "## Headline",
        "",
        "SNN/ANN is the SNN's energy divided by the dense ANN twin's on the same profile and memory model "
        "(below 1: the SNN uses less).",
        "",
        head_md,
        "",
        "## Energy per inference",
        "",
        "![energy by encoding](figures/energy_by_encoding.png)",
        "",
    ]
    table = energy.copy()
    show = pd.DataFrame({
        "encoding": table["encoding"],
        "profile": table["profile"],
        "SNN": [_fmt_range(v, lo, hi) for v, lo, hi in zip(table["snn_pj"], table["snn_low_pj"], table["snn_high_pj"])],
        "ANN dense": table["ann_dense_pj"].map(_fmt_energy),
        "SNN/ANN dense": table["ratio_vs_dense_ann"].map(lambda v: f"{v:.2f}"),
        "ANN zero-skip": table["ann_zero_skip_pj"].map(lambda v: "-" if pd.isna(v) else _fmt_energy(v)),
        "SNN/ANN zero-skip": table["ratio_vs_zero_skip_ann"].map(lambda v: "-" if pd.isna(v) else f"{v:.2f}"),
        "spikes/synapse": table["spikes_per_synapse"].map(lambda v: f"{v:.3f}"),
        "break-even spikes/synapse": [
            "never" if s == "snn-fixed-cost-exceeds-ann" else ("-" if pd.isna(v) else f"{v:.3f}")
            for v, s in zip(table["break_even_spikes_per_synapse"], table["break_even_status"])
        ],
    })
    lines += [
        "[low–high] brackets put every uncertain constant at its low or high end. The zero-skip ANN "
        "performs only the MACs whose input is non-zero (measured by replaying the trained ANN twin). "
        "Break-even: the SNN wins while its spikes per synapse stay below this value "
        "(Dampfhoffer et al. 2023 report 0.15–1.38 across designs).",
        "",
        to_markdown(show),
        "",
        "![accuracy vs energy](figures/accuracy_vs_energy.png)",
        "",
        "## Sparsity",
        "",
        "Firing rate = spikes per neuron per timestep, per layer and step.",
        "",
        "![firing rates](figures/firing_rates.png)",
        "",
        f"## Early exit (energy on `{headline_profile}`)",
        "",
        "Prediction from the readout averaged over the first t steps, and the energy spent up to step t.",
        "",
        "![early exit](figures/early_exit.png)",
        "",
        "## One sample through the network",
        "",
        "![spike raster](figures/raster.png)",
        "",
        "## Provenance",
        "",
    ]
    for a in artifacts:
        parity = a.sim_summary.get("parity")
        parity_text = (
            f"parity vs PyTorch float64: {parity['prediction_mismatches']} prediction and {parity['spike_mismatches']} spike mismatches"
            if parity else "parity not checked"
        )
        lines.append(
            f"- **{a.label}**: trained in {a.train_summary['train_seconds']:.1f} s on {a.train_summary['device']} "
            f"(PyTorch test accuracy {a.train_summary['test_accuracy']:.4f}); replay accuracy {a.sim_summary['accuracy']:.4f}; "
            f"{parity_text}; run `{a.run_dir}`"
        )
    lines += [
        "",
        f"Tables (CSV and Parquet) are in `tables/`. Generated by asnn-sim {__version__} on Python {platform.python_version()}.",
        "",
    ]
    return "\n".join(lines)

