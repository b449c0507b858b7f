"""The report folder: every table computed, written (CSV and Parquet), drawn and summarised."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from asnn_sim import __version__
from asnn_sim.util import atomic
from asnn_sim.app import plots
from asnn_sim.app.pipeline import ModelArtifacts
from asnn_sim.app.report.markdown import _summary_markdown, headline, headline_markdown, ratio_table
from asnn_sim.app.report.tables import (
    DASH,
    PREFERRED_HEADLINE_PROFILE,
    _components_one_seed,
    _model_rows,
    _points,
    aggregate_components,
    aggregate_conventions,
    aggregate_early_exit,
    aggregate_energy,
    aggregate_firing,
    aggregate_models,
    convention_table,
    early_exit_table,
    energy_tables,
    firing_table,
    layer_timestep_table,
    raster_data,
    sensitivity_table,
)


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
    tables = report_tables(runs, hw)
    for name, frame in tables.items():
        _write_table(frame, out / "tables", name)
    profiles = list(tables["energy"]["profile"].unique())
    if headline_profile is None:
        headline_profile = PREFERRED_HEADLINE_PROFILE if PREFERRED_HEADLINE_PROFILE in profiles else profiles[0]
    log("report: figures")
    several = len(seeds) > 1
    spread_name = f"min{DASH}max over {len(seeds)} seeds" if several else "low" + DASH + "high bound of the constants"
    figures = _draw_figures(runs, tables, out / "figures", headline_profile, spread_name)
    first_snn = next(a for a in runs[seeds[0]] if not a.is_ann)
    head_md = headline_markdown(tables["headline"], tables["ratios"], seeds, first_snn.sim_summary["conventions"], profiles)
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
    return Report(out, tables["headline"], tables["ratios"], head_md, tables, figures, seeds)


def report_tables(runs: Mapping[int, list[ModelArtifacts]], hw: list[str]) -> dict[str, pd.DataFrame]:
    """Every table of a report, by the name it is written under (``tables/NAME.csv``).

    Per seed first (energy, models, firing rates, layer x timestep, early exit, energy
    components, conventions), then the mean and spread over seeds.
    """
    seeds = list(runs)
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
    components = aggregate_components(cat["components"])
    several = len(seeds) > 1
    components["total_low_pj"] = components["total_seed_min_pj"] if several else components["const_low_pj"]
    components["total_high_pj"] = components["total_seed_max_pj"] if several else components["const_high_pj"]
    tables = {
        "headline": headline(models, energy, profiles),
        "ratios": ratio_table(energy),
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
    return tables


def _energy_vs_latency(energy: pd.DataFrame, path: Path, seeds_note: str) -> Path | None:
    """Energy against time per inference, where a profile models time (None for replays priced before)."""
    if not np.isfinite(energy["snn_seconds"]).any():
        return None
    return plots.plot_energy_vs_latency(energy, path, title=f"Energy against time per inference ({seeds_note}; "
                                        "lower left is better; ANN: dense)")


def _draw_figures(runs, tables: dict[str, pd.DataFrame], fig: Path, headline_profile: str, spread_name: str) -> dict[str, Path]:
    """The seven figures of ``summary.md``, from the report's tables (and one replay for the raster)."""
    seeds = list(runs)
    several = len(seeds) > 1
    baselines = "ANN baselines: dense (every MAC) and zero-skip (non-zero inputs only)"
    points = _points(tables["energy"], tables["encodings"], several)
    first_snns = [a for a in runs[seeds[0]] if not a.is_ann]
    tornado_source = first_snns[0]
    raster_source = next((a for a in first_snns if a.label == "hybrid"), first_snns[0])
    curves = tables["early_exit"]
    curves = curves[curves["profile"] == headline_profile].rename(columns={
        "accuracy_seed_min": "accuracy_low", "accuracy_seed_max": "accuracy_high",
        "cumulative_energy_pj_seed_min": "cumulative_energy_low_pj", "cumulative_energy_pj_seed_max": "cumulative_energy_high_pj",
    })
    seeds_note = f"mean over seeds {', '.join(map(str, seeds))}" if several else f"seed {seeds[0]}"
    drawn = {
        "energy_by_encoding": plots.plot_energy_by_encoding(
            tables["energy_components"], fig / "energy_by_encoding.png", bounds_label=spread_name,
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
        "energy_vs_latency": _energy_vs_latency(tables["energy"], fig / "energy_vs_latency.png", seeds_note),
        "raster": plots.plot_spike_raster(
            raster_data(raster_source), fig / "raster.png",
            title=f"One test sample through the {raster_source.label}-coded network (seed {raster_source.config.seed})",
        ),
    }
    return {name: path for name, path in drawn.items() if path is not None}
