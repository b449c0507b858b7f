"""Read the headline tables of a report (or of the README) back, and recompute every ratio.

Used by tests/test_report_numbers.py on a freshly written report, on what `asnn compare`
prints, on the README's demo section and on docs/energy.md: a reviewer must be able to
recompute each printed SNN/ANN ratio from the printed columns and the profile's constants.
"""

from __future__ import annotations

import re

CELL = re.compile(r"^(?P<mean>-?[\d,]*\.?\d+)(?: \[(?P<lo>-?[\d,]*\.?\d+)–(?P<hi>-?[\d,]*\.?\d+)\])?$")


def parse_cell(text: str) -> tuple[float, float, float] | None:
    """``'181.6 [181.3–181.9]'`` -> (181.6, 181.3, 181.9); ``'1,091'`` -> (1091, 1091, 1091); ``'-'`` -> None."""
    text = text.strip()
    if text in ("-", ""):
        return None
    m = CELL.match(text)
    if not m:
        raise ValueError(f"not a 'mean [min–max]' cell: {text!r}")
    mean = float(m["mean"].replace(",", ""))
    lo = float(m["lo"].replace(",", "")) if m["lo"] else mean
    hi = float(m["hi"].replace(",", "")) if m["hi"] else mean
    return mean, lo, hi


def markdown_tables(text: str) -> list[list[dict[str, str]]]:
    """Every markdown table in ``text`` as a list of {header: cell} rows."""
    tables, block = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            block.append([c.strip() for c in line.strip().strip("|").split("|")])
            continue
        if len(block) >= 2 and set(block[1][0]) <= set("-: "):
            header = block[0]
            tables.append([dict(zip(header, row)) for row in block[2:]])
        block = []
    return tables


def find_table(text: str, first_columns: tuple[str, ...]) -> list[dict[str, str]]:
    for table in markdown_tables(text):
        if table and tuple(table[0])[: len(first_columns)] == first_columns:
            return table
    raise AssertionError(f"no table starting with columns {first_columns}")


def _close(printed: float, exact: float, decimals: int, inputs_rel: float) -> bool:
    """``printed`` (rounded to ``decimals``) equals ``exact`` computed from inputs printed to ``inputs_rel``."""
    return abs(printed - exact) <= 0.5 * 10 ** -decimals + inputs_rel * abs(exact) + 1e-12


def check_headline(text: str, e_ac: float = 0.9, e_mac: float = 4.6, profile: str = "cmos45-fp32-arith") -> int:
    """Recompute the arithmetic profile's energies and ratios from the printed counts; returns checks made."""
    table = find_table(text, ("model", "accuracy", "spikes/inf", "ACs/inf", "MACs/inf"))
    rows = {r["model"]: r for r in table}
    assert "ANN dense" in rows and "ANN zero-skip" in rows, f"both ANN baselines must be rows: {list(rows)}"
    energy_col = f"{profile} nJ/inf"
    n = 0
    macs = {name: parse_cell(rows[name]["MACs/inf"])[0] for name in ("ANN dense", "ANN zero-skip")}
    assert macs["ANN zero-skip"] <= macs["ANN dense"]
    for name, r in rows.items():
        acs, mac = parse_cell(r["ACs/inf"])[0], parse_cell(r["MACs/inf"])[0]
        energy_nj = (e_ac * acs + e_mac * mac) / 1e3
        printed = parse_cell(r[energy_col])[0]
        # counts are printed as integers, the energy with 4 significant digits
        assert abs(printed - energy_nj) <= 5e-4 * energy_nj + 1e-3, (name, printed, energy_nj)
        n += 1
        if name.startswith("ANN"):
            continue
        for base, column in (("ANN dense", "SNN/ANN dense"), ("ANN zero-skip", "SNN/ANN zero-skip")):
            exact = (e_ac * acs + e_mac * mac) / (e_mac * macs[base])
            mean, lo, hi = parse_cell(r[column])
            assert _close(mean, exact, 3, 1e-4), (name, column, mean, exact)
            assert lo <= mean <= hi, (name, column, r[column])
            n += 1
    return n


def check_ratios(text: str) -> int:
    """Recompute every SNN/ANN of the per-profile table from its energy columns; check the verdicts."""
    table = find_table(text, ("profile", "encoding", "SNN nJ", "ANN dense nJ", "SNN/ANN dense"))
    assert "ANN zero-skip nJ" in table[0] and "SNN/ANN zero-skip" in table[0], "both baselines must be shown"
    n = 0
    for r in table:
        snn = parse_cell(r["SNN nJ"])[0]
        verdicts = [v.strip() for v in r["verdict vs dense / zero-skip"].split("/")]
        for (energy_col, ratio_col), said in zip(
            (("ANN dense nJ", "SNN/ANN dense"), ("ANN zero-skip nJ", "SNN/ANN zero-skip")), verdicts
        ):
            ann = parse_cell(r[energy_col])[0]
            mean, lo, hi = parse_cell(r[ratio_col])
            # energies carry 4 significant digits (relative error <= 5e-4 each), ratios 3 decimals
            assert _close(mean, snn / ann, 3, 1.1e-3), (r["profile"], r["encoding"], ratio_col, mean, snn / ann)
            assert lo <= mean <= hi or lo == hi, (r["profile"], r["encoding"], r[ratio_col])
            if said.startswith("SNN lower"):  # "SNN lower", or "SNN lower (2 seeds only)" below 3 seeds
                assert hi <= 1.0, (r, said)
            elif said.startswith("SNN higher"):
                assert lo >= 1.0, (r, said)
            else:
                assert said.startswith("no verdict"), said
                if "crosses" in said:
                    assert lo <= 1.0 <= hi, (r, said)
            n += 1
    return n
