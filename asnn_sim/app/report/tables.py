"""Report computation: per-seed tables from the replays and profiles, and their spread over seeds.

Nothing here formats text; :mod:`asnn_sim.app.report.markdown` prints these tables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from asnn_sim.graph.counts_schema import ENCODER_COUNTS, count_names
from asnn_sim.graph.nodes import KINDS
from asnn_sim.app.pipeline import ModelArtifacts

COUNTS = count_names()
PREFERRED_HEADLINE_PROFILE = "cmos45-int8-sram"
#: The arithmetic-only profile whose ratios the headline recomputes from counts (E = AC x ACs + MAC x MACs).
ARITHMETIC_PROFILE = "cmos45-fp32-arith"
ANN_DENSE = "ANN dense"
ANN_SKIP = "ANN zero-skip"
DASH = "–"  # en dash between the min and max of a spread


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
                "break_even_input_event_rate": s["break_even_input_event_rate"],
                "break_even_status": s["break_even_status"],
                # the encoder next to the network it feeds (0 where the profile encodes off chip)
                "encoder_pj": s["snn_encoder_pj"],
                "network_pj": s["snn_pj"] - s["snn_encoder_pj"],
                "encoder_on_chip": dense.profiles[i].model["encoder"] == "on-chip",
                "encoder_ops": sum(a.sim_summary["per_inference"].get(c, 0.0) for c in ENCODER_COUNTS),
                "dram_pj": s["snn_dram_pj"],
                # time per inference (hw_models/timing.py; NaN for a profile without a timing model)
                "snn_seconds": s["snn_seconds"],
                "ann_dense_seconds": s["ann_seconds"],
                "snn_static_pj": s["snn_static_pj"],
                "snn_edp_js": s["snn_edp_js"],
                "ann_dense_edp_js": s["ann_edp_js"],
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


#: Per encoding x profile: the SNN's and the dense ANN's time per inference, static energy and EDP.
TIME_COLUMNS = ("snn_seconds", "ann_dense_seconds", "snn_static_pj", "snn_edp_js", "ann_dense_edp_js")


def aggregate_energy(by_seed: pd.DataFrame) -> pd.DataFrame:
    """Per encoding x profile over seeds: mean energies, ratios of the means, per-seed spreads, verdicts."""
    spread_cols = ["snn_pj", "ann_dense_pj", "ann_zero_skip_pj", "ratio_vs_dense_ann", "ratio_vs_zero_skip_ann", "spikes_per_synapse"]
    mean_cols = ["snn_low_pj", "snn_high_pj", "ann_dense_low_pj", "ann_dense_high_pj", "ann_dense_macs",
                 "ann_zero_skip_low_pj", "ann_zero_skip_high_pj", "ratio_vs_dense_ann_low", "ratio_vs_dense_ann_high",
                 "ratio_vs_zero_skip_ann_low", "ratio_vs_zero_skip_ann_high", "break_even_spikes_per_synapse",
                 "break_even_input_event_rate", "encoder_pj", "network_pj", "encoder_ops", "dram_pj"]
    # cached tables from before the time model have no time columns: NaN, said so by the report
    for column in TIME_COLUMNS:
        if column not in by_seed:
            by_seed = by_seed.assign(**{column: np.nan})
    mean_cols += list(TIME_COLUMNS)
    by_seed = by_seed.rename(columns={"break_even_spike_rate": "break_even_input_event_rate"})  # its old name
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


# ------------------------------------------------------------------ raster (the data the figure draws)


def raster_data(artifact: ModelArtifacts, sample: int = 0) -> list[tuple]:
    """Input frames and every spiking layer's spikes for one test sample.

    Returns ``[("input", frames, kinds), (layer, spikes), ...]``: the input frames keep
    their image shape ``(T, C, H, W)`` and ``kinds`` says for each step whether the frame
    is ``"analog"`` (e.g. hybrid coding's t = 0) or ``"binary"`` spikes; each spiking
    layer's spikes are ``(T, n_neurons)`` booleans. :func:`plots.plot_spike_raster` draws
    the input as images.
    """
    from asnn_sim.training.data import load_dataset
    from asnn_sim.graph.encoding import EncoderSpec
    from asnn_sim.graph.ir import load_graph
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


# ------------------------------------------------------------------ accuracy vs energy points


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


def arithmetic_constants() -> tuple[float, float]:
    """``(E_AC, E_MAC)`` in pJ of :data:`ARITHMETIC_PROFILE` (0.9 and 4.6)."""
    from hw_models import load_profile

    p = load_profile(ARITHMETIC_PROFILE)
    return p.param("ac"), p.param("mac")
