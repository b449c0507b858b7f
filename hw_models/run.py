"""One call from a counts directory to written results, shared by the CLI and notebooks.

Writes are atomic: every file is first written to a temporary name in the output
directory, and only when all of them exist are they renamed into place, so a failure
leaves no half-written result behind.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .activity import DAMPFHOFFER_BAND
from .capacity import capacity_table, map_model
from .sensitivity import sensitivity as one_at_a_time
from .counts import Counts, load_counts
from .errors import EnergyError
from .model import ann_bits_note, estimate_with_time
from .timing import TIMING_COLUMNS
from .profile import Profile, list_profiles, load_profile, with_encoder
from .summary import summarize

@dataclass
class EnergyResult:
    """Everything ``asnn energy`` computes.

    Attributes
    ----------
    breakdown : pandas.DataFrame
        Long table from :func:`hw_models.estimate`.
    summary : pandas.DataFrame
        One row per profile from :func:`hw_models.summarize`.
    counts : Counts
        The SNN counts used.
    profiles : list of Profile
    meta : dict
        Inputs and options, for ``summary.json``.
    capacity : pandas.DataFrame
        The layer-by-layer mapping on the profiles that state a ``[capacity]``
        (:func:`hw_models.capacity.capacity_table`); its totals are ``summary``'s
        ``cores``, ``chips`` and ``fits_one_chip``.
    sensitivity : pandas.DataFrame or None
        With ``run_energy(..., sensitivity=True)``: the ratio with each uncertain
        parameter alone at its low and high end (:func:`hw_models.sensitivity.sensitivity`).
    timing : pandas.DataFrame
        The time of every step of the SNN and the ANN on the profiles with a timing
        model (:func:`hw_models.estimate_with_time`); ``summary`` holds the totals.
    """

    breakdown: pd.DataFrame
    summary: pd.DataFrame
    counts: Counts
    profiles: list[Profile]
    meta: dict[str, Any]
    capacity: pd.DataFrame | None = None
    sensitivity: pd.DataFrame | None = None
    timing: pd.DataFrame | None = None


def parse_hw(hw: str | Sequence[str] | None) -> list[str]:
    """Split a hardware selection (a comma list of profile names or paths, or a list); None means all shipped."""
    if hw is None:
        return list_profiles()
    items = hw.split(",") if isinstance(hw, str) else list(hw)
    names = [str(i).strip() for i in items if str(i).strip()]
    if not names:
        raise EnergyError("no hardware profile given: name at least one profile or a profile file")
    return names


def run_energy(
    counts_dir: str | Path | Counts,
    hw: str | Sequence[str] | None = None,
    *,
    ann_counts: str | Path | Counts | None = None,
    ann_bits: str | int = "same",
    sensitivity: bool = False,
    encoder: str = "profile",
) -> EnergyResult:
    """Load counts and profiles, estimate, and summarise.

    Parameters
    ----------
    counts_dir : str, pathlib.Path or Counts
        SNN counts directory.
    hw : str or sequence of str, optional
        Profile names or paths (a comma-separated string is split); default all shipped.
    ann_counts : str, pathlib.Path or Counts, optional
        Replayed ANN counts for the zero-skipping baseline.
    ann_bits : {'same', 'matched'} or int
    sensitivity : bool
        Also move each uncertain constant alone over its bounds (two more estimates per
        such constant; ``sensitivity.csv``).
    encoder : {'profile', 'on-chip', 'off-chip'}
        Where the input encoder runs: as each profile says (``model.encoder``), or on
        every profile's chip, or off every chip (its energy left out).

    Returns
    -------
    EnergyResult

    Raises
    ------
    EnergyError
        On any bad input, before anything is written.
    """
    counts = counts_dir if isinstance(counts_dir, Counts) else load_counts(counts_dir)
    profiles = [load_profile(p) for p in parse_hw(hw)]
    if encoder != "profile":
        profiles = [with_encoder(p, encoder) for p in profiles]
    replay = None
    if ann_counts is not None:
        replay = ann_counts if isinstance(ann_counts, Counts) else load_counts(ann_counts)
    # refuses counts that are not an SNN's
    breakdown, timing = estimate_with_time(counts, profiles, ann_counts=replay, ann_bits=ann_bits)
    summary = summarize(breakdown, counts, timing)
    for column in ("snn_pj", "ann_pj"):
        bad = summary.loc[~np.isfinite(summary[column].astype(float)), "profile"]
        if len(bad):
            raise EnergyError(f"profile {bad.iloc[0]}: the {column[:3].upper()} energy is not a finite number "
                              "(a constant or count too large for float64)")
    summary.insert(1, "chip", [p.chip for p in profiles])
    summary.insert(2, "scope", [p.scope for p in profiles])
    summary["ann_bits_note"] = [ann_bits_note(p, ann_bits) for p in profiles]
    mappings = [map_model(counts.layers, p) for p in profiles]
    summary["cores"] = [m.cores if m else None for m in mappings]
    summary["chips"] = [m.chips if m else None for m in mappings]
    summary["fits_one_chip"] = [m.fits if m else None for m in mappings]
    summary["neuron_utilisation"] = [m.neuron_utilisation if m else math.nan for m in mappings]
    summary["synapse_utilisation"] = [m.synapse_utilisation if m else math.nan for m in mappings]
    # On a profile with a DRAM tier, the layers whose weights or potentials do not fit the on-chip SRAM
    snn_dram = breakdown[(breakdown["system"] == "snn") & (breakdown["component"] == "dram") & (breakdown["energy_pj"] > 0)]
    in_dram = snn_dram.groupby("profile")["layer"].nunique()
    summary["dram_layers"] = [int(in_dram.get(p.name, 0)) if p.model["dram"] != "none" else None for p in profiles]
    capacity = capacity_table(counts.layers, profiles)
    meta = {
        "counts_dir": str(counts.path) if counts.path else None,
        "ann_counts_dir": str(replay.path) if replay is not None and replay.path else None,
        "ann_baseline": "zero-skip (replayed ANN counts)" if replay is not None else "dense (from layers table)",
        "ann_bits": ann_bits,
        "n_samples": counts.n_samples,
        "timesteps": counts.timesteps,
        "encoding": counts.summary.get("encoding"),
        "encoder": {p.name: p.model["encoder"] for p in profiles},
        "conventions": counts.summary.get("conventions"),
        "units": "pJ per inference",
        "dampfhoffer_band_spikes_per_synapse": list(DAMPFHOFFER_BAND),
        "definitions": {
            "spikes_per_synapse": "spike-driven synaptic ops per inference / dense connections of layers with spike input",
            "input_event_rate": "input spike events (binary or graded) per input element per timestep of the synaptic "
                                "layers with spike input; not a firing rate (output spikes per neuron per timestep)",
            "break_even_scale": "lambda* solving F + lambda*S = E_ann (F: SNN energy at zero spikes, S: spike-driven energy)",
            "break_even_spikes_per_synapse": "lambda* x spikes_per_synapse",
            "break_even_input_event_rate": "lambda* x input_event_rate",
            "snn_seconds": "time per inference: the sum of the steps' times, one sample after the other "
                           "(hw_models/timing.py; per profile model.timing)",
            "snn_edp_js": "energy-delay product: energy per inference (J) x time per inference (s)",
        },
    }
    tornado = one_at_a_time(counts, profiles, ann_counts=replay, ann_bits=ann_bits) if sensitivity else None
    return EnergyResult(breakdown=breakdown, summary=summary, counts=counts, profiles=profiles, meta=meta,
                        capacity=capacity, sensitivity=tornado, timing=timing)


def _json_safe(value: Any) -> Any:
    """NaN/inf -> None, numpy scalars -> Python, recursively."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Every file :func:`write_outputs` may write (``sensitivity.csv`` only with a sensitivity study).
OUTPUT_FILES = ("breakdown.parquet", "breakdown.csv", "summary.csv", "summary.json", "capacity.csv", "timing.csv",
                "sensitivity.csv")


def write_outputs(result: EnergyResult, out_dir: str | Path) -> list[Path]:
    """Write ``breakdown.parquet``, ``breakdown.csv``, ``summary.csv``, ``summary.json``, ``capacity.csv``
    and ``timing.csv`` (one row per profile, system and step; empty where no profile models time).

    Parameters
    ----------
    result : EnergyResult
    out_dir : str or pathlib.Path
        Created if missing.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    EnergyError
        If the directory cannot be created or a file cannot be written; in that case no
        output file has been replaced.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise EnergyError(f"{out}: the output folder exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EnergyError(f"{out}: cannot create output directory ({exc.strerror})") from exc

    payload = {
        "schema_version": 1,
        **result.meta,
        "profiles": _json_safe(result.summary.to_dict(orient="records")),
    }
    writers = {
        "breakdown.parquet": lambda p: result.breakdown.to_parquet(p, index=False),
        "breakdown.csv": lambda p: result.breakdown.to_csv(p, index=False),
        "summary.csv": lambda p: result.summary.to_csv(p, index=False),
        "summary.json": lambda p: Path(p).write_text(json.dumps(_json_safe(payload), indent=2) + "\n"),
        "capacity.csv": lambda p: (result.capacity if result.capacity is not None else pd.DataFrame()).to_csv(p, index=False),
        "timing.csv": lambda p: (result.timing if result.timing is not None else pd.DataFrame(columns=TIMING_COLUMNS)).to_csv(
            p, index=False),
    }
    if result.sensitivity is not None:
        writers["sensitivity.csv"] = lambda p: result.sensitivity.to_csv(p, index=False)
    temps: dict[str, str] = {}
    try:
        for name, write in writers.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out)
            os.close(fd)
            temps[name] = tmp
            write(tmp)
            # mkstemp creates files 0600; give results the usual permissions.
            os.chmod(tmp, 0o666 & ~_umask())
        for name, tmp in temps.items():
            os.replace(tmp, out / name)
    except OSError as exc:
        raise EnergyError(f"{out}: cannot write results ({exc.strerror or exc})") from exc
    finally:
        for tmp in temps.values():
            if os.path.exists(tmp):
                os.unlink(tmp)
    return [out / name for name in writers]
