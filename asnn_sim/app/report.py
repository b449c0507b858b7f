"""Comparison reports: what each input coding costs, over several seeds, layer by layer, per chip.

:func:`build_report` takes trained-and-replayed models (:class:`~asnn_sim.app.pipeline.ModelArtifacts`),
one list per training seed, and writes ``REPORT_DIR/``::

    summary.md                 the tables and figures, readable on GitHub
    report.json                provenance (seeds, runs, thread counts); marks the folder as an asnn report
    tables/headline.*          per model: accuracy and counts per inference (mean and seed min/max)
    tables/ratios.*            per profile x encoding: SNN, dense ANN and zero-skip ANN energy, both ratios, verdicts
    tables/encodings.*         one row per encoding (and the ANN): accuracy, activity, counts over seeds
    tables/energy.*            one row per encoding x profile: energies, ratios, spreads, bounds, break-even
    tables/energy_by_seed.*    the same for every seed separately
    tables/encodings_by_seed.* one row per seed x model
    tables/firing_rates.*      encoding x layer x timestep (mean and seed min/max)
    tables/layer_timestep.*    seed x encoding x layer x timestep: every count, and energy per profile
    tables/early_exit.*        accuracy and cumulative energy using steps 0..t (mean and seed min/max)
    tables/energy_components.* encoding x profile x component (mean over seeds) for the stacked bars
    figures/*.png

Every table is written as CSV and Parquet. Energies are per inference, in pJ in the
tables (the markdown shows nJ).

Conventions of every number in a report
---------------------------------------
* **Two ANN baselines.** ``ANN dense``: the ReLU twin doing every MAC of every layer,
  zeros included (built from the layer shapes). ``ANN zero-skip``: the same dataflow
  performing only the MACs whose input is non-zero, measured by replaying the trained
  twin; this is the counting rule the SNN's own analog first layer follows (zero pixels
  are skipped). SNN/ANN is given against both.
* **Seeds.** Each model is trained once per seed. A table cell reads ``mean [min–max]``
  over the seeds. An SNN/ANN ratio's mean is the ratio of the mean energies
  (``mean SNN pJ / mean ANN pJ``, so it can be recomputed from the printed columns); its
  bracket is the smallest and largest per-seed ratio (each seed's SNN over the same
  seed's ANN). A verdict ("SNN lower" / "SNN higher") is stated only when every seed's
  ratio lies on the same side of 1; with one seed no verdict is given.
* **Counts** follow the simulator's conventions (recorded in every counts folder): an AC
  is one (non-zero binary input, in-bounds synapse) pair, a MAC one (non-zero analog
  input, synapse) pair.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from asnn_sim import __version__, atomic
from asnn_sim.app import plots
from asnn_sim.counts_schema import ENCODER_COUNTS, count_names
from asnn_sim.nodes import KINDS
from asnn_sim.app.pipeline import ModelArtifacts

COUNTS = count_names()
PREFERRED_HEADLINE_PROFILE = "cmos45-int8-sram"
#: The arithmetic-only profile whose ratios the headline recomputes from counts (E = AC x ACs + MAC x MACs).
ARITHMETIC_PROFILE = "cmos45-fp32-arith"
ANN_DENSE = "ANN dense"
ANN_SKIP = "ANN zero-skip"
DASH = "–"  # en dash between the min and max of a spread


@dataclass
class Report:
    """A written report: where it is and its headline tables.

    Attributes
    ----------
    out : Path
    headline : pandas.DataFrame
        Per model: accuracy, spikes, ACs and MACs per inference (and the arithmetic-only
        energy and ratios when that profile is priced), as printed.
    ratios : pandas.DataFrame
        Per profile x encoding: SNN, dense ANN and zero-skip ANN energy (nJ), both ratios
        and the verdicts, as printed.
    headline_markdown : str
        Both tables as markdown with their captions (what ``asnn compare`` prints).
    tables, figures : dict
    seeds : list of int
    """

    out: Path
    headline: pd.DataFrame
    ratios: pd.DataFrame
    headline_markdown: str
    tables: dict[str, pd.DataFrame]
    figures: dict[str, Path]
    seeds: list[int]


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


def verdict(ratio_min: float, ratio_max: float, n_seeds: int) -> str:
    """``'SNN lower'``/``'SNN higher'`` only when every seed's SNN/ANN is on one side of 1.

    Examples
    --------
    Below :data:`FIRM_SEEDS` seeds a verdict says how few seeds it rests on.

    Examples
    --------
    >>> verdict(0.91, 0.98, 3), verdict(0.97, 1.03, 3), verdict(0.5, 0.5, 1), verdict(0.8, 0.9, 2)
    ('SNN lower', 'no verdict (spread crosses 1)', 'no verdict (1 seed)', 'SNN lower (2 seeds only)')
    """
    if not (math.isfinite(ratio_min) and math.isfinite(ratio_max)):
        return "-"
    if n_seeds < 2:
        return "no verdict (1 seed)"
    thin = f" ({n_seeds} seeds only)" if n_seeds < FIRM_SEEDS else ""
    if ratio_max < 1:
        return "SNN lower" + thin
    if ratio_min > 1:
        return "SNN higher" + thin
    return "no verdict (spread crosses 1)"


#: Seeds from which a verdict is printed without a warning.
FIRM_SEEDS = 3


# ------------------------------------------------------------------ per seed


def sensitivity_table(artifact: ModelArtifacts, hw: list[str]) -> pd.DataFrame:
    """One model's SNN/ANN ratio with each uncertain constant alone at its bounds (dense ANN)."""
    from hw_models import load_counts, load_profile
    from hw_models.sensitivity import sensitivity

    table = sensitivity(load_counts(artifact.counts_dir), [load_profile(h) for h in hw])
    return table.assign(encoding=artifact.label, seed=artifact.config.seed)


def energy_tables(artifacts: list[ModelArtifacts], hw: list[str]) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Per encoding x profile energy summary of one seed, and each model's long breakdown.

    The ANN appears twice as a baseline: dense (every MAC, built from the layer shapes)
    and zero-skipping (the replayed ANN twin's MACs with non-zero input), both under the
    same profile and memory model. The breakdowns are keyed by SNN label (SNN rows and
    the dense ANN's rows) and, when the twin was replayed, by :data:`ANN_SKIP` (its
    zero-skip rows only).
    """
    from hw_models import dense_ann_counts, run_energy

    ann = next((a for a in artifacts if a.is_ann), None)
    rows, breakdowns = [], {}
    for a in artifacts:
        if a.is_ann:
            continue
        dense = run_energy(a.counts_dir, hw)
        skip = run_energy(a.counts_dir, hw, ann_counts=ann.counts_dir) if ann else None
        breakdowns[a.label] = dense.breakdown
        if skip is not None and ANN_SKIP not in breakdowns:
            breakdowns[ANN_SKIP] = skip.breakdown[skip.breakdown["system"] == "ann"]
        dense_twin = dense_ann_counts(dense.counts)
        dense_macs = accumulates(dense_twin.counts[count_names()].sum() / dense_twin.n_samples)[1]
        for i, s in dense.summary.iterrows():
            row = {
                "seed": a.config.seed,
                "encoding": a.label,
                "profile": s["profile"],
                "snn_pj": s["snn_pj"],
                "snn_low_pj": s["snn_low_pj"],
                "snn_high_pj": s["snn_high_pj"],
                "ann_dense_pj": s["ann_pj"],
                "ann_dense_low_pj": s["ann_low_pj"],
                "ann_dense_high_pj": s["ann_high_pj"],
                "ann_dense_macs": dense_macs,
                "ratio_vs_dense_ann": s["ratio"],
                "ratio_vs_dense_ann_low": s["ratio_low"],
                "ratio_vs_dense_ann_high": s["ratio_high"],
                "ann_zero_skip_pj": np.nan,
                "ann_zero_skip_low_pj": np.nan,
                "ann_zero_skip_high_pj": np.nan,
                "ratio_vs_zero_skip_ann": np.nan,
                "ratio_vs_zero_skip_ann_low": np.nan,
                "ratio_vs_zero_skip_ann_high": np.nan,
                "spikes_per_synapse": s["spikes_per_synapse"],
                "break_even_spikes_per_synapse": s["break_even_spikes_per_synapse"],
                "break_even_spike_rate": s["break_even_spike_rate"],
                "break_even_status": s["break_even_status"],
                # the encoder next to the network it feeds (0 where the profile encodes off chip)
                "encoder_pj": s["snn_encoder_pj"],
                "network_pj": s["snn_pj"] - s["snn_encoder_pj"],
                "encoder_on_chip": dense.profiles[i].model["encoder"] == "on-chip",
                "encoder_ops": sum(a.sim_summary["per_inference"].get(c, 0.0) for c in ENCODER_COUNTS),
                "dram_pj": s["snn_dram_pj"],
            }
            if skip is not None:
                z = skip.summary.iloc[i]
                row["ann_zero_skip_pj"] = z["ann_pj"]
                row["ann_zero_skip_low_pj"] = z["ann_low_pj"]
                row["ann_zero_skip_high_pj"] = z["ann_high_pj"]
                row["ratio_vs_zero_skip_ann"] = z["ratio"]
                row["ratio_vs_zero_skip_ann_low"] = z["ratio_low"]
                row["ratio_vs_zero_skip_ann_high"] = z["ratio_high"]
            rows.append(row)
    return pd.DataFrame(rows), breakdowns


#: The memory-aware profile set beside the paper conventions (when it was priced).
MEMORY_PROFILE = "cmos45-int8-sram"


def convention_table(artifacts: list[ModelArtifacts], energy: pd.DataFrame) -> pd.DataFrame:
    """Per SNN of one seed: the same model priced three ways, each against its dense ANN.

    ``firing_rate``: the transformer-SNN papers' estimate, E_MAC x FLOPs of the encoding
    layer + E_AC x fr x T x FLOPs per layer (:mod:`hw_models.firing_rate`);
    ``exact``: the same two constants on the replay's exact AC and MAC counts
    (:data:`ARITHMETIC_PROFILE`); ``memory``: :data:`MEMORY_PROFILE`, with weight,
    potential and routing traffic. Profiles that were not priced are NaN.
    """
    from hw_models import load_counts
    from hw_models.firing_rate import firing_rate_estimate

    rows = []
    for a in artifacts:
        if a.is_ann:
            continue
        est = firing_rate_estimate(load_counts(a.counts_dir))
        row = {"seed": a.config.seed, "encoding": a.label, "sops": est.sops, "encoding_macs": est.encoding_macs,
               "firing_rate_pj": est.energy_pj, "firing_rate_ann_pj": est.ann_pj, "ratio_firing_rate": est.ratio}
        for key, profile in (("exact", ARITHMETIC_PROFILE), ("memory", MEMORY_PROFILE)):
            e = energy[(energy["encoding"] == a.label) & (energy["profile"] == profile)]
            row[f"{key}_pj"] = float(e["snn_pj"].iloc[0]) if len(e) else np.nan
            row[f"ratio_{key}"] = float(e["ratio_vs_dense_ann"].iloc[0]) if len(e) else np.nan
        row["acs"], row["macs"] = accumulates(a.sim_summary["per_inference"])
        rows.append(row)
    return pd.DataFrame(rows)


def accumulates(per: Mapping[str, float]) -> tuple[float, float]:
    """ACs and MACs per inference of a replay (its ``per_inference`` counts): the synaptic
    ones plus attention's products, an AC where an operand is a spike (``coincidences``,
    ``product_acs``) and a MAC where both are multi-bit (``product_macs``). These are what
    the arithmetic-only profile prices at E_AC and E_MAC."""
    acs = per["synaptic_acs"] + per.get("coincidences", 0.0) + per.get("product_acs", 0.0)
    return float(acs), float(per["synaptic_macs"] + per.get("product_macs", 0.0))


def _model_rows(artifacts: list[ModelArtifacts]) -> list[dict]:
    """One row per model of one seed: accuracy, activity and counts per inference."""
    rows = []
    for a in artifacts:
        per = a.sim_summary["per_inference"]
        acs, macs = accumulates(per)
        rows.append({
            "seed": a.config.seed,
            "encoding": a.label,
            "accuracy": a.sim_summary["accuracy"],
            "train_accuracy_torch": a.train_summary["test_accuracy"],
            "train_seconds": a.train_summary["train_seconds"],
            "torch_threads": a.train_summary.get("torch_threads"),
            "spikes_per_inference": a.sim_summary["spikes_per_inference"] if not a.is_ann else np.nan,
            "mean_firing_rate": float(np.mean(list(a.sim_summary["firing_rate"].values()))) if not a.is_ann else np.nan,
            "acs": acs,
            "macs": macs,
            "dense_macs": per["dense_macs"],
            "parity_identical": (a.sim_summary.get("parity") or {}).get("identical"),
        })
    return rows


def firing_table(artifacts: list[ModelArtifacts]) -> pd.DataFrame:
    """Spikes per neuron per step, for every spiking layer of every SNN (one seed)."""
    rows = []
    for a in artifacts:
        if a.is_ann:
            continue
        counts = pd.read_parquet(a.counts_dir / "counts.parquet")
        layers = pd.read_parquet(a.counts_dir / "layers.parquet")
        fires = layers["kind"].map(lambda k: KINDS[k].ROLE == "neuron") & (layers["output"] == "binary")
        spiking = set(layers.loc[fires, "layer"])
        part = counts[counts["layer"].isin(spiking)]
        rows.append(pd.DataFrame({
            "seed": a.config.seed,
            "encoding": a.label,
            "layer": part["layer"],
            "layer_index": part["layer_index"],
            "t": part["t"],
            "firing_rate": part["output_spikes"] / part["neurons"],
        }))
    return pd.concat(rows, ignore_index=True)


def layer_timestep_table(artifacts: list[ModelArtifacts], breakdowns: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every count (per inference) and the SNN energy per profile, per encoding x layer x step (one seed)."""
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
        per.insert(0, "seed", a.config.seed)
        parts.append(per)
    return pd.concat(parts, ignore_index=True)


def early_exit_table(artifacts: list[ModelArtifacts], breakdowns: dict[str, pd.DataFrame], energy: pd.DataFrame) -> pd.DataFrame:
    """Accuracy of the readout averaged over steps 0..t, and the energy spent by then (one seed).

    ``t`` is the last step used (0-based, as everywhere); ``steps`` = t + 1 steps were used.
    The ANN rows (dense and zero-skip) have no timesteps.
    """
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
                rows.append({"seed": a.config.seed, "encoding": a.label, "profile": profile, "t": t, "steps": t + 1,
                             "accuracy": acc, "cumulative_energy_pj": float(cumulative.iloc[t])})
    ann = next((a for a in artifacts if a.is_ann), None)
    if ann is not None:
        first = energy.drop_duplicates("profile")
        for label, column in ((ANN_DENSE, "ann_dense_pj"), (ANN_SKIP, "ann_zero_skip_pj")):
            for profile, e in first[["profile", column]].itertuples(index=False):
                rows.append({"seed": ann.config.seed, "encoding": label, "profile": profile, "t": np.nan, "steps": np.nan,
                             "accuracy": ann.sim_summary["accuracy"], "cumulative_energy_pj": e})
    return pd.DataFrame(rows)


def _components_one_seed(energy: pd.DataFrame, breakdowns: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Energy per encoding x profile x component of one seed, with the dense and zero-skip ANN."""
    parts = []
    snn_labels = [k for k in breakdowns if k != ANN_SKIP]
    for label in snn_labels:
        b = breakdowns[label]
        snn = b[b["system"] == "snn"].groupby(["profile", "component"], sort=False)["energy_pj"].sum().reset_index()
        snn.insert(0, "encoding", label)
        parts.append(snn)
    first = breakdowns[snn_labels[0]]
    ann = first[first["system"] == "ann"].groupby(["profile", "component"], sort=False)["energy_pj"].sum().reset_index()
    ann.insert(0, "encoding", ANN_DENSE)
    parts.append(ann)
    if ANN_SKIP in breakdowns:
        skip = breakdowns[ANN_SKIP].groupby(["profile", "component"], sort=False)["energy_pj"].sum().reset_index()
        skip.insert(0, "encoding", ANN_SKIP)
        parts.append(skip)
    table = pd.concat(parts, ignore_index=True)
    # the constants' low/high bounds of each total
    bounds = [energy[["encoding", "profile", "snn_low_pj", "snn_high_pj"]].set_axis(["encoding", "profile", "const_low_pj", "const_high_pj"], axis=1)]
    first_rows = energy.drop_duplicates("profile")
    for label, lo, hi in ((ANN_DENSE, "ann_dense_low_pj", "ann_dense_high_pj"), (ANN_SKIP, "ann_zero_skip_low_pj", "ann_zero_skip_high_pj")):
        b = first_rows[["profile", lo, hi]].set_axis(["profile", "const_low_pj", "const_high_pj"], axis=1)
        b.insert(0, "encoding", label)
        bounds.append(b)
    return table.merge(pd.concat(bounds), on=["encoding", "profile"], how="left")


# ------------------------------------------------------------------ over seeds


def _spread(frame: pd.DataFrame, keys: list[str], columns: list[str], *, extra_mean: list[str] = ()) -> pd.DataFrame:
    """Mean, seed min and seed max of ``columns`` per ``keys`` (first-appearance order kept)."""
    g = frame.groupby(keys, sort=False, dropna=False)
    out = g[columns + list(extra_mean)].mean()
    for c in columns:
        out[f"{c}_seed_min"] = g[c].min()
        out[f"{c}_seed_max"] = g[c].max()
    out.insert(0, "n_seeds", g["seed"].nunique())
    return out.reset_index()


def aggregate_energy(by_seed: pd.DataFrame) -> pd.DataFrame:
    """Per encoding x profile over seeds: mean energies, ratios of the means, per-seed spreads, verdicts."""
    spread_cols = ["snn_pj", "ann_dense_pj", "ann_zero_skip_pj", "ratio_vs_dense_ann", "ratio_vs_zero_skip_ann", "spikes_per_synapse"]
    mean_cols = ["snn_low_pj", "snn_high_pj", "ann_dense_low_pj", "ann_dense_high_pj", "ann_dense_macs",
                 "ann_zero_skip_low_pj", "ann_zero_skip_high_pj", "ratio_vs_dense_ann_low", "ratio_vs_dense_ann_high",
                 "ratio_vs_zero_skip_ann_low", "ratio_vs_zero_skip_ann_high", "break_even_spikes_per_synapse",
                 "break_even_spike_rate", "encoder_pj", "network_pj", "encoder_ops", "dram_pj"]
    out = _spread(by_seed, ["encoding", "profile"], spread_cols, extra_mean=mean_cols)
    # the printed ratio is the ratio of the printed mean energies, so a reader can recompute it
    out["ratio_vs_dense_ann"] = out["snn_pj"] / out["ann_dense_pj"]
    out["ratio_vs_zero_skip_ann"] = out["snn_pj"] / out["ann_zero_skip_pj"]
    for base in ("dense", "zero_skip"):
        col = f"ratio_vs_{base}_ann"
        out[f"verdict_vs_{base}_ann"] = [verdict(lo, hi, n) for lo, hi, n in zip(out[f"{col}_seed_min"], out[f"{col}_seed_max"], out["n_seeds"])]
    out["encoder_share"] = out["encoder_pj"] / out["snn_pj"]
    out["dram_share"] = out["dram_pj"] / out["snn_pj"]
    on_chip = by_seed.groupby(["encoding", "profile"], sort=False)["encoder_on_chip"].all()
    out = out.merge(on_chip.reset_index(), on=["encoding", "profile"], how="left")
    status = by_seed.groupby(["encoding", "profile"], sort=False)["break_even_status"].agg(lambda s: s.iloc[0] if s.nunique() == 1 else "differs by seed")
    out = out.merge(status.reset_index(), on=["encoding", "profile"], how="left")
    seeds = by_seed.groupby(["encoding", "profile"], sort=False)["seed"].agg(lambda s: ",".join(map(str, s)))
    return out.merge(seeds.rename("seeds").reset_index(), on=["encoding", "profile"], how="left")


def aggregate_conventions(by_seed: pd.DataFrame) -> pd.DataFrame:
    """Per encoding over seeds: the three conventions' energies and ratios (mean, seed min and max)."""
    cols = ["firing_rate_pj", "ratio_firing_rate", "exact_pj", "ratio_exact", "memory_pj", "ratio_memory",
            "sops", "acs", "encoding_macs", "macs"]
    return _spread(by_seed, ["encoding"], cols, extra_mean=["firing_rate_ann_pj"])


def aggregate_models(by_seed: pd.DataFrame) -> pd.DataFrame:
    """Per model over seeds: accuracy and counts per inference (mean, seed min and max)."""
    spread_cols = ["accuracy", "spikes_per_inference", "acs", "macs", "mean_firing_rate"]
    out = _spread(by_seed, ["encoding"], spread_cols, extra_mean=["train_accuracy_torch", "train_seconds", "dense_macs"])
    parity = by_seed.groupby("encoding", sort=False)["parity_identical"].agg(lambda s: bool(s.fillna(False).all()) if s.notna().any() else None)
    return out.merge(parity.reset_index(), on="encoding", how="left")


def aggregate_firing(by_seed: pd.DataFrame) -> pd.DataFrame:
    """Firing rate per encoding x layer x step: mean, seed min and max."""
    return _spread(by_seed, ["encoding", "layer", "layer_index", "t"], ["firing_rate"])


def aggregate_early_exit(by_seed: pd.DataFrame) -> pd.DataFrame:
    """Early-exit curves over seeds: mean, seed min and max of accuracy and cumulative energy."""
    return _spread(by_seed, ["encoding", "profile", "t", "steps"], ["accuracy", "cumulative_energy_pj"])


def aggregate_components(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Mean energy per encoding x profile x component, with the total's seed min/max and constant bounds."""
    keys = ["encoding", "profile"]
    comps = per_seed.groupby(keys + ["component"], sort=False)["energy_pj"].mean().reset_index()
    totals = per_seed.groupby(keys + ["seed"], sort=False)["energy_pj"].sum().reset_index()
    spread = totals.groupby(keys, sort=False)["energy_pj"].agg(["min", "max"]).set_axis(["total_seed_min_pj", "total_seed_max_pj"], axis=1)
    const = per_seed.groupby(keys, sort=False)[["const_low_pj", "const_high_pj"]].mean()
    return comps.merge(spread.join(const).reset_index(), on=keys, how="left")


# ------------------------------------------------------------------ printed tables


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


def arithmetic_constants() -> tuple[float, float]:
    """``(E_AC, E_MAC)`` in pJ of :data:`ARITHMETIC_PROFILE` (0.9 and 4.6)."""
    from hw_models import load_profile

    p = load_profile(ARITHMETIC_PROFILE)
    return p.param("ac"), p.param("mac")


# ------------------------------------------------------------------ raster


def raster_data(artifact: ModelArtifacts, sample: int = 0) -> list[tuple]:
    """Input frames and every spiking layer's spikes for one test sample.

    Returns ``[("input", frames, kinds), (layer, spikes), ...]``: the input frames keep
    their image shape ``(T, C, H, W)`` and ``kinds`` says for each step whether the frame
    is ``"analog"`` (e.g. hybrid coding's t = 0) or ``"binary"`` spikes; each spiking
    layer's spikes are ``(T, n_neurons)`` booleans. :func:`plots.plot_spike_raster` draws
    the input as images.
    """
    from asnn_sim.data import load_dataset
    from asnn_sim.encoding import EncoderSpec
    from asnn_sim.ir import load_graph
    from asnn_sim.sim import Simulator

    graph = load_graph(artifact.graph_path)
    data = load_dataset(artifact.config.dataset, artifact.config.data_dir, split="test")
    x = data.x_test[sample : sample + 1].astype(np.float64)
    spec = EncoderSpec.from_dict(graph.input.encoder)
    frames = spec.encode(x)
    result = Simulator(graph, "float64", batch_size=1).run_batch(frames, record=True)
    T = graph.timesteps
    out: list[tuple] = [("input", frames.reshape(T, *graph.input.shape), tuple(spec.frame_kinds))]
    for name, spikes in result.spikes.items():
        out.append((name, spikes.reshape(T, -1).astype(bool)))
    return out


# ------------------------------------------------------------------ the report


def _as_runs(artifacts) -> dict[int, list[ModelArtifacts]]:
    if isinstance(artifacts, Mapping):
        runs = {int(k): list(v) for k, v in artifacts.items()}
    else:
        artifacts = list(artifacts)
        runs = {artifacts[0].config.seed if artifacts else 0: artifacts}
    if not runs:
        raise ValueError("a report needs at least one seed's models")
    first = None
    for seed, arts in runs.items():
        if not any(not a.is_ann for a in arts):
            raise ValueError("a report needs at least one spiking model")
        labels = [a.label for a in arts]
        if len(set(labels)) != len(labels) or sum(a.is_ann for a in arts) > 1:
            raise ValueError(f"each model in a report needs its own label and at most one is the ANN; got {labels}")
        if first is not None and labels != first:
            raise ValueError(f"every seed needs the same models; seed {seed} has {labels}, the first seed {first}")
        first = labels
    return runs


#: What :func:`build_report` writes into its folder.
REPORT_FILES = ("summary.md", "report.json", "tables", "figures")


def build_report(
    artifacts: list[ModelArtifacts] | Mapping[int, list[ModelArtifacts]],
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
    artifacts : list of ModelArtifacts, or mapping of seed to such lists
        The SNNs (one per encoding) and, optionally, the ANN twin; one list per training
        seed (:func:`~asnn_sim.app.pipeline.prepare_seeds`), every list holding the same
        models. A plain list is one seed.
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
    runs = _as_runs(artifacts)
    seeds = list(runs)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    log("report: energy on " + ", ".join(hw) + (f" for seeds {', '.join(map(str, seeds))}" if len(seeds) > 1 else ""))
    per = {name: [] for name in ("energy", "models", "firing", "layer_timestep", "early_exit", "components", "conventions")}
    for seed, arts in runs.items():
        energy_s, breakdowns = energy_tables(arts, hw)
        energy_s["seed"] = seed  # the ANN-only fields come from this seed's twin
        per["energy"].append(energy_s)
        per["models"].append(pd.DataFrame(_model_rows(arts)).assign(seed=seed))
        per["firing"].append(firing_table(arts).assign(seed=seed))
        per["layer_timestep"].append(layer_timestep_table(arts, breakdowns).assign(seed=seed))
        per["early_exit"].append(early_exit_table(arts, breakdowns, energy_s).assign(seed=seed))
        per["components"].append(_components_one_seed(energy_s, breakdowns).assign(seed=seed))
        per["conventions"].append(convention_table(arts, energy_s))
    cat = {k: pd.concat(v, ignore_index=True) for k, v in per.items()}
    energy = aggregate_energy(cat["energy"])
    models = aggregate_models(cat["models"])
    profiles = list(energy["profile"].unique())
    if headline_profile is None:
        headline_profile = PREFERRED_HEADLINE_PROFILE if PREFERRED_HEADLINE_PROFILE in profiles else profiles[0]
    components = aggregate_components(cat["components"])
    several = len(seeds) > 1
    components["total_low_pj"] = components["total_seed_min_pj"] if several else components["const_low_pj"]
    components["total_high_pj"] = components["total_seed_max_pj"] if several else components["const_high_pj"]
    head = headline(models, energy, profiles)
    ratios = ratio_table(energy)
    tables = {
        "headline": head,
        "ratios": ratios,
        "encodings": models,
        "encodings_by_seed": cat["models"],
        "energy": energy,
        "energy_by_seed": cat["energy"],
        "firing_rates": aggregate_firing(cat["firing"]),
        "layer_timestep": cat["layer_timestep"],
        "early_exit": aggregate_early_exit(cat["early_exit"]),
        "energy_components": components,
        "encoder": energy[["encoding", "profile", "encoder_on_chip", "encoder_ops", "encoder_pj", "network_pj", "encoder_share"]],
        "conventions": aggregate_conventions(cat["conventions"]),
    }
    tornado_source = next(a for a in runs[seeds[0]] if not a.is_ann)
    tables["sensitivity"] = sensitivity_table(tornado_source, hw)
    for name, frame in tables.items():
        _write_table(frame, out / "tables", name)

    log("report: figures")
    fig = out / "figures"
    spread_name = f"min{DASH}max over {len(seeds)} seeds" if several else "low" + DASH + "high bound of the constants"
    baselines = "ANN baselines: dense (every MAC) and zero-skip (non-zero inputs only)"
    points = _points(energy, models, several)
    first_snns = [a for a in runs[seeds[0]] if not a.is_ann]
    raster_source = next((a for a in first_snns if a.label == "hybrid"), first_snns[0])
    curves = tables["early_exit"]
    curves = curves[curves["profile"] == headline_profile].rename(columns={
        "accuracy_seed_min": "accuracy_low", "accuracy_seed_max": "accuracy_high",
        "cumulative_energy_pj_seed_min": "cumulative_energy_low_pj", "cumulative_energy_pj_seed_max": "cumulative_energy_high_pj",
    })
    seeds_note = f"mean over seeds {', '.join(map(str, seeds))}" if several else f"seed {seeds[0]}"
    figures = {
        "energy_by_encoding": plots.plot_energy_by_encoding(
            components, fig / "energy_by_encoding.png", bounds_label=spread_name,
            title=f"Energy per inference by encoding ({seeds_note}; {baselines})",
        ),
        "firing_rates": plots.plot_firing_heatmaps(
            tables["firing_rates"], fig / "firing_rates.png", title=f"Firing rate per layer and timestep ({seeds_note})",
        ),
        "accuracy_vs_energy": plots.plot_accuracy_vs_energy(
            points, fig / "accuracy_vs_energy.png", bounds_label=spread_name,
            title=f"Accuracy vs energy per inference ({seeds_note}; {baselines})",
        ),
        "early_exit": plots.plot_early_exit(
            curves, fig / "early_exit.png", profile=headline_profile,
            title=f"Early exit on {headline_profile}: readout after step t ({seeds_note}"
                  + (f"; bars: {spread_name})" if several else ")"),
        ),
        "sensitivity": plots.plot_sensitivity(
            tables["sensitivity"], fig / "sensitivity.png",
            title=f"What moves the SNN/ANN ratio: {tornado_source.label}, seed {tornado_source.config.seed}, dense ANN",
        ),
        "raster": plots.plot_spike_raster(
            raster_data(raster_source), fig / "raster.png",
            title=f"One test sample through the {raster_source.label}-coded network (seed {raster_source.config.seed})",
        ),
    }
    conventions = first_snns[0].sim_summary["conventions"]
    head_md = headline_markdown(head, ratios, seeds, conventions, profiles)
    atomic.write_text(out / "summary.md", _summary_markdown(title, runs, tables, head_md, headline_profile, spread_name))
    atomic.write_json(out / "report.json", {
        "asnn_sim_version": __version__,
        "seeds": seeds,
        "profiles": profiles,
        "headline_profile": headline_profile,
        "models": {
            f"{a.label}/seed{seed}": {
                "run_dir": str(a.run_dir), "graph": str(a.graph_path), "counts": str(a.counts_dir),
                "torch_threads": a.train_summary.get("torch_threads"), "torch": a.train_summary.get("torch"),
            }
            for seed, arts in runs.items() for a in arts
        },
    })
    return Report(out, head, ratios, head_md, tables, figures, seeds)


def _points(energy: pd.DataFrame, models: pd.DataFrame, several: bool) -> pd.DataFrame:
    """Accuracy vs energy: SNNs and both ANN baselines; bars from the seeds (or the constants, one seed)."""
    acc = models.set_index("encoding")
    rows = []
    for r in energy.itertuples(index=False):
        m = acc.loc[r.encoding]
        rows.append({"encoding": r.encoding, "profile": r.profile, "system": "snn", "accuracy": m.accuracy,
                     "accuracy_low": m.accuracy_seed_min, "accuracy_high": m.accuracy_seed_max, "energy_pj": r.snn_pj,
                     "energy_low_pj": r.snn_pj_seed_min if several else r.snn_low_pj,
                     "energy_high_pj": r.snn_pj_seed_max if several else r.snn_high_pj})
    if "ANN" in acc.index:
        m = acc.loc["ANN"]
        for r in energy.drop_duplicates("profile").itertuples(index=False):
            for label, e, lo, hi, clo, chi in (
                (ANN_DENSE, r.ann_dense_pj, r.ann_dense_pj_seed_min, r.ann_dense_pj_seed_max, r.ann_dense_low_pj, r.ann_dense_high_pj),
                (ANN_SKIP, r.ann_zero_skip_pj, r.ann_zero_skip_pj_seed_min, r.ann_zero_skip_pj_seed_max, r.ann_zero_skip_low_pj, r.ann_zero_skip_high_pj),
            ):
                rows.append({"encoding": label, "profile": r.profile, "system": "ann", "accuracy": m.accuracy,
                             "accuracy_low": m.accuracy_seed_min, "accuracy_high": m.accuracy_seed_max, "energy_pj": e,
                             "energy_low_pj": lo if several else clo, "energy_high_pj": hi if several else chi})
    return pd.DataFrame(rows)


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
    seeds = list(runs)
    arts0 = runs[seeds[0]]
    snn = next(a for a in arts0 if not a.is_ann)
    c = snn.config
    conventions = snn.sim_summary["conventions"]
    energy = tables["energy"]
    threads = sorted({a.train_summary.get("torch_threads") for arts in runs.values() for a in arts} - {None})
    torch_versions = sorted({a.train_summary.get("torch") for arts in runs.values() for a in arts} - {None})
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
    lines += [
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
    ]
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
    lines += [
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
    return "\n".join(lines)
