"""Which constants move the SNN/ANN ratio most: one at a time over its low/high bounds.

The summary's ``ratio_low``/``ratio_high`` move every shaky constant together. A reader
who wants to know *which* number matters needs them one at a time: for each constant or
assumption of a profile whose low and high differ, the ratio with that one at its low
end and at its high end, every other at its value (a tornado diagram's bars, widest
first). :func:`sensitivity` computes them; ``asnn energy`` writes ``sensitivity.csv``
and names the widest bar per profile.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from .counts import Counts
from .model import ratio_function
from .profile import UNIT_SCALE, Profile
from .timing import TIMING_CONSTANTS

#: The unit every value is normalised to, by the kind of its file unit (see hw_models.profile).
NORMALISED = {"energy": "pJ", "power": "W", "time": "s", "count": "count", "frequency": "Hz", "bandwidth": "B/s"}
COLUMNS = ["profile", "parameter", "kind", "unit", "low", "value", "high", "ratio", "ratio_at_low", "ratio_at_high", "swing"]


def _with(profile: Profile, name: str, which: str) -> Profile:
    """``profile`` with the constant or assumption ``name`` moved to its ``which`` end."""
    if name in profile.constants:
        c = profile.constants[name]
        return replace(profile, constants={**profile.constants, name: replace(c, value=c.at(which))})
    a = profile.assumptions[name]
    return replace(profile, assumptions={**profile.assumptions, name: replace(a, value=a.at(which))})


def sensitivity(counts: Counts, profiles: list[Profile], *, ann_counts: Counts | None = None,
                ann_bits: str | int = "same") -> pd.DataFrame:
    """The SNN/ANN ratio with each uncertain parameter alone at its low and high end.

    Parameters
    ----------
    counts : Counts
        The SNN counts.
    profiles : list of Profile
    ann_counts, ann_bits :
        As for :func:`hw_models.estimate` (the same ANN baseline as the summary's).

    Returns
    -------
    pandas.DataFrame
        One row per profile and parameter with ``low < high``: its bounds and unit, the
        ratio at the value, ``ratio_at_low``, ``ratio_at_high`` and ``swing`` = their
        absolute difference; within a profile, widest swing first.
    """
    rows = []
    ratio_of = ratio_function(counts, ann_counts=ann_counts, ann_bits=ann_bits)
    for p in profiles:
        # a timing constant moves the ratio only through static power x time
        timed = p.model["static"] == "power-x-latency"
        uncertain = [(n, "constant", c) for n, c in p.constants.items() if c.low != c.high and (timed or n not in TIMING_CONSTANTS)]
        uncertain += [(n, "assumption", a) for n, a in p.assumptions.items() if a.low != a.high]
        if not uncertain:
            continue
        ratio = ratio_of(p)
        for name, kind, entry in uncertain:
            at_low, at_high = ratio_of(_with(p, name, "low")), ratio_of(_with(p, name, "high"))
            rows.append({"profile": p.name, "parameter": name, "kind": kind, "unit": NORMALISED[UNIT_SCALE[entry.unit][0]], "low": entry.low,
                         "value": entry.value, "high": entry.high, "ratio": ratio, "ratio_at_low": at_low,
                         "ratio_at_high": at_high, "swing": abs(at_high - at_low)})
    table = pd.DataFrame(rows, columns=COLUMNS)
    if table.empty:
        return table
    order = {p.name: i for i, p in enumerate(profiles)}
    table["_order"] = table["profile"].map(order)
    return table.sort_values(["_order", "swing"], ascending=[True, False]).drop(columns="_order").reset_index(drop=True)
