"""Per-profile totals, SNN/ANN ratio, and the break-even spike activity.

Break-even, precisely. Scale every spike-driven count of the SNN (input spike events,
ACs, graded MACs, the spike-touched neurons, output spikes, resets) by a factor lambda,
keeping where and when spikes happen. The model is affine in those counts, so

    E_snn(lambda) = F + lambda * S

with F the energy at zero spikes (analog-input MACs, neurons updated every step, bias
reads, static power) and S the spike-driven energy at the observed activity
(``spike_driven_pj`` in the breakdown). Setting E_snn(lambda*) = E_ann gives

    lambda* = (E_ann - F) / S

and the break-even activity is lambda* times the observed one:
``break_even_spikes_per_synapse = lambda* * s`` and ``break_even_input_event_rate = lambda* * r``
(``s`` and ``r`` as defined in :mod:`hw_models.activity`). The SNN uses less energy than
the ANN exactly when its activity is below these values. If F >= E_ann the SNN cannot
win at any activity (status ``snn-fixed-cost-exceeds-ann``); if S == 0 the question is
moot (``no-spike-activity``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .activity import DAMPFHOFFER_BAND, Activity, activity
from .counts import Counts
from .model import COMPONENTS, SCENARIOS, SUFFIX
from .profile import EXPECTED_KIND, Profile, list_profiles, load_profile


def _totals(frame: pd.DataFrame) -> dict[str, float]:
    return {w: float(frame[f"energy{SUFFIX[w]}_pj"].sum()) for w in SCENARIOS} | {
        f"spike_{w}": float(frame[f"spike_driven{SUFFIX[w]}_pj"].sum()) for w in SCENARIOS
    }


def break_even_scale(e_snn: float, spike_driven: float, e_ann: float) -> tuple[float, str]:
    """Solve F + lambda * S = E_ann for lambda (see module docstring).

    Parameters
    ----------
    e_snn : float
        SNN energy at the observed activity (F + S).
    spike_driven : float
        S, the spike-driven part of ``e_snn``.
    e_ann : float
        ANN energy.

    Returns
    -------
    (float, str)
        lambda* (NaN when undefined) and a status: ``ok``,
        ``snn-fixed-cost-exceeds-ann``, ``no-spike-activity`` or ``no-ann``.
    """
    if not math.isfinite(e_ann):
        return float("nan"), "no-ann"
    # Relative tolerance: S is a difference of two sums and can carry rounding noise.
    if spike_driven <= 1e-12 * max(abs(e_snn), 1.0):
        return float("nan"), "no-spike-activity"
    fixed = e_snn - spike_driven
    if fixed >= e_ann:
        return float("nan"), "snn-fixed-cost-exceeds-ann"
    return (e_ann - fixed) / spike_driven, "ok"


def _bounds(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    return (min(finite), max(finite)) if finite else (float("nan"), float("nan"))


#: Components whose share of the SNN's energy the summary states.
SHARES = ("dram", "encoder", "inter_chip")


def summarize(breakdown: pd.DataFrame, counts: Counts | None = None, timing: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-profile SNN and ANN totals, ratio, low/high bounds and break-even activity.

    Parameters
    ----------
    breakdown : pandas.DataFrame
        From :func:`hw_models.estimate`.
    counts : Counts, optional
        The SNN counts the breakdown came from; needed for spikes per synapse and the
        input event rate (and so for the break-even activity in those units). Without it those
        columns are NaN and only ``break_even_scale`` is given.
    timing : pandas.DataFrame, optional
        The step times of :func:`hw_models.estimate_with_time`; without it (or for a
        profile with no timing model) the time columns are NaN.

    Returns
    -------
    pandas.DataFrame
        One row per profile. Energies in pJ per inference: ``snn_pj``, ``snn_low_pj``,
        ``snn_high_pj``, ``ann_pj`` (and low/high), ``ratio`` = snn / ann with
        ``ratio_low``/``ratio_high`` (every constant at its low end, at its high end,
        and at its value: min and max); ``spikes_per_synapse``, ``input_event_rate``
        (input spike events per input element per step of the layers with spike input:
        :mod:`hw_models.activity`; not a firing rate); ``break_even_scale``,
        ``break_even_spikes_per_synapse`` and ``break_even_input_event_rate`` (with
        low/high) and ``break_even_status``;
        ``dampfhoffer_low``/``dampfhoffer_high`` (0.15, 1.38); ``ann_dataflow``,
        ``ann_bits``; ``snn_<component>_pj`` / ``ann_<component>_pj`` per component; and
        ``snn_dram_share``, ``snn_encoder_share``, ``snn_inter_chip_share``: those
        components' part of the SNN's energy. Time (:mod:`hw_models.timing`):
        ``timing`` (the profile's model), ``snn_seconds`` and ``ann_seconds`` per
        inference (with low/high: every timing constant at its low / high end),
        ``snn_inferences_per_s`` and ``ann_inferences_per_s`` (one inference after the
        other), ``snn_static_share`` (static energy / SNN energy), and the energy-delay
        products ``snn_edp_js`` and ``ann_edp_js`` (J x s, energy and time at their values).
    """
    act: Activity | None = activity(counts) if counts is not None else None
    s_obs = act.spikes_per_synapse if act else float("nan")
    r_obs = act.input_event_rate if act else float("nan")
    rows: list[dict[str, Any]] = []
    for name, group in breakdown.groupby("profile", sort=False):
        snn, ann = group[group["system"] == "snn"], group[group["system"] == "ann"]
        ts = _totals(snn)
        ta = _totals(ann) if not ann.empty else {w: float("nan") for w in SCENARIOS}
        row: dict[str, Any] = {"profile": name}
        for w in SCENARIOS:
            row[f"snn{SUFFIX[w]}_pj"] = ts[w]
        for w in SCENARIOS:
            row[f"ann{SUFFIX[w]}_pj"] = ta[w]
        ratios = [ts[w] / ta[w] if ta[w] and math.isfinite(ta[w]) else float("nan") for w in SCENARIOS]
        row["ratio"] = ratios[0]
        row["ratio_low"], row["ratio_high"] = _bounds(ratios)
        row["spikes_per_synapse"] = s_obs
        row["input_event_rate"] = r_obs
        scales, statuses = [], []
        for w in SCENARIOS:
            lam, status = break_even_scale(ts[w], ts[f"spike_{w}"], ta[w])
            scales.append(lam)
            statuses.append(status)
        row["break_even_scale"] = scales[0]
        row["break_even_status"] = statuses[0]
        for key, obs in (("break_even_spikes_per_synapse", s_obs), ("break_even_input_event_rate", r_obs)):
            values = [lam * obs for lam in scales]
            row[key] = values[0]
            row[f"{key}_low"], row[f"{key}_high"] = _bounds(values)
        row["dampfhoffer_low"], row["dampfhoffer_high"] = DAMPFHOFFER_BAND
        row["ann_dataflow"] = ann["dataflow"].iloc[0] if not ann.empty else ""
        row["ann_bits"] = int(ann["bits"].iloc[0]) if not ann.empty else np.nan
        for comp in COMPONENTS:
            row[f"snn_{comp}_pj"] = float(snn.loc[snn["component"] == comp, "energy_pj"].sum())
            row[f"ann_{comp}_pj"] = float(ann.loc[ann["component"] == comp, "energy_pj"].sum()) if not ann.empty else np.nan
        for comp in SHARES:  # of the SNN's energy, at every constant's value
            row[f"snn_{comp}_share"] = row[f"snn_{comp}_pj"] / ts["value"] if ts["value"] > 0 else float("nan")
        row.update(_time_columns(name, timing, row))
        rows.append(row)
    return pd.DataFrame(rows)


def _time_columns(profile: str, timing: pd.DataFrame | None, row: dict[str, Any]) -> dict[str, Any]:
    """Seconds per inference (and bounds), inferences per second, static share and EDP of one profile."""
    out: dict[str, Any] = {"timing": "none"}
    mine = timing[timing["profile"] == profile] if timing is not None and len(timing) else None
    for system in ("snn", "ann"):
        part = mine[mine["system"] == system] if mine is not None else None
        found = part is not None and len(part) > 0
        for w in SCENARIOS:
            out[f"{system}_seconds{SUFFIX[w]}"] = float(part[f"seconds{SUFFIX[w]}"].sum()) if found else float("nan")
        seconds = out[f"{system}_seconds"]
        out[f"{system}_inferences_per_s"] = 1.0 / seconds if found and seconds > 0 else float("nan")
        out[f"{system}_edp_js"] = row[f"{system}_pj"] * 1e-12 * seconds if found else float("nan")
        if found:
            out["timing"] = str(part["timing"].iloc[0])
    snn = row["snn_pj"]
    out["snn_static_share"] = row["snn_static_pj"] / snn if snn > 0 else float("nan")
    return out


def profile_table(profiles: list[Profile | str] | None = None) -> pd.DataFrame:
    """The ``asnn profiles`` table: what each profile is, models and cites.

    Parameters
    ----------
    profiles : list, optional
        Profiles or names; default all shipped ones.

    Returns
    -------
    pandas.DataFrame
        Columns ``name, chip, process_node, scope, clocking, models, references``.
    """
    loaded = [load_profile(p) for p in (profiles if profiles is not None else list_profiles())]
    return pd.DataFrame(
        [
            {
                "name": p.name,
                "chip": p.chip,
                "process_node": p.process_node,
                "scope": p.scope,
                "clocking": p.clocking,
                "models": p.models_text(),
                "references": "; ".join(p.references),
            }
            for p in loaded
        ]
    )


def constants_table(profile: Profile | str) -> pd.DataFrame:
    """Every constant and assumption of a profile with its citation and grade.

    Parameters
    ----------
    profile : Profile or str

    Returns
    -------
    pandas.DataFrame
        Columns ``name, kind ('constant'|'assumption'), value, low, high, unit (normalised),
        grade, scope, source`` (for an assumption ``source`` holds its reason).
    """
    p = load_profile(profile)
    unit_of = {"power": "W", "time": "s", "count": "count", "frequency": "Hz", "bandwidth": "B/s"}
    rows = []
    for c in p.constants.values():
        rows.append(
            {
                "name": c.name,
                "kind": "constant",
                "value": c.value,
                "low": c.low,
                "high": c.high,
                "unit": unit_of.get(EXPECTED_KIND.get(c.name, "energy"), "pJ"),
                "grade": c.grade,
                "scope": c.scope,
                "source": c.source,
            }
        )
    for a in p.assumptions.values():
        rows.append(
            {
                "name": a.name,
                "kind": "assumption",
                "value": a.value,
                "low": a.low,
                "high": a.high,
                "unit": unit_of.get(EXPECTED_KIND.get(a.name, "count"), a.unit),
                "grade": "assumption",
                "scope": "",
                "source": a.why,
            }
        )
    return pd.DataFrame(rows)
