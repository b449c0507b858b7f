"""``asnn energy`` and ``asnn profiles``: energy per inference on hardware profiles.

The energy model (:mod:`hw_models`) has no command line of its own; these commands are
part of the application layer and follow its conventions (:mod:`asnn_sim.app.argparsing`).
The parsers are built from light facts (:mod:`asnn_sim.app.choices`); ``hw_models`` and
pandas are imported when a command runs. Bad input raises :class:`hw_models.EnergyError`
(a ``ValueError``) with a one-line message, which ``asnn`` prints with exit code 1.
"""

from __future__ import annotations

import argparse
import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from asnn_sim.app import choices
from asnn_sim.app.argparsing import Formatter

if TYPE_CHECKING:
    from hw_models.run import EnergyResult

PROFILES_HELP = "list hardware energy profiles (chip, node, scope, what each models, sources)"
PROFILES_DESCRIPTION = """\
List the hardware profiles asnn energy can use. Each profile is a TOML file whose every
constant carries a value, unit, source (paper + table), evidence grade (measured on
silicon / simulated / derived by us) and scope (per-operation, or all-in such as
TrueNorth's 26 pJ, which already contains memory and routing).

Your own profile: copy a shipped file (see docs/energy.md for the schema) and pass its
path wherever a name is accepted.
"""

ENERGY_HELP = "estimate energy per inference of an SNN and its equivalent ANN on hardware profiles"
_LOW, _HIGH = choices.dampfhoffer_band()
ENERGY_DESCRIPTION = f"""\
Turn a counts directory (from asnn simulate) into energy per inference on each hardware
profile, for the SNN and for its equivalent ANN, and print: SNN and ANN energy with
low/high bounds (every shaky constant at its low / high end), the SNN/ANN ratio, spikes
per synapse per inference, and the break-even activity.

Definitions (docs/energy.md has the details):
  spikes per synapse   spike-driven synaptic ops per inference / dense connections of the
                       layers with spike input (Dampfhoffer et al. 2023; their break-even
                       band: {_LOW}-{_HIGH})
  break-even           scale all spike activity by lambda; the SNN's energy is affine,
                       F + lambda*S; lambda* solves F + lambda*S = E_ANN. Reported as
                       spikes per synapse and as spike rate (per input per step): the SNN
                       uses less energy than the ANN below these values.
  ANN baseline         dense MACs of one pass from layers.csv, same profile and memory
                       model; with --ann-counts, the replayed ANN's non-zero-input MACs
                       (zero-skipping). --ann-bits matched uses ceil(log2(T+1))-bit
                       activations (integer profiles only; multiplier energy scales with
                       the product of operand widths).
  encoder              the input encoder's compares, random numbers, bit extractions and
                       arithmetic (the input rows of the counts), priced where the
                       profile runs it on chip (--encoder switches it for all).
  DRAM, inter-chip     weights above a CMOS profile's on-chip SRAM come from DRAM; a
                       model a chip cannot hold pays its spikes between chips. Printed as
                       shares of the SNN's energy.
  time                 per inference on each profile's timing model (Loihi: the busiest
                       core of every step, plus a barrier). A group's work is split evenly
                       over its cores, or as its spikes fell where COUNTS_DIR holds a
                       recording.npz (asnn simulate --record all): timing.csv's core_split.

With --out DIR it writes breakdown.parquet / breakdown.csv (one row per profile x
system x layer x timestep x component, pJ per inference), summary.csv and summary.json,
atomically; an existing, non-empty DIR needs --force.
"""


def add_profiles_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``asnn profiles`` on the sub-parsers of ``asnn``."""
    p = sub.add_parser(
        "profiles",
        help=PROFILES_HELP,
        formatter_class=Formatter,
        description=PROFILES_DESCRIPTION,
        epilog=(
            "examples:\n"
            "  asnn profiles                            # every shipped profile\n"
            "  asnn profiles --show loihi               # its constants, citations and grades\n"
            "  asnn profiles --hw loihi,my-chip.toml    # some profiles, yours included"
        ),
    )
    p.add_argument("--show", metavar="NAME_OR_PATH", help="print every constant of one profile with its source, grade and scope")
    p.add_argument("--hw", metavar="LIST", help="comma-separated profile names or paths to list (default: all shipped)")
    p.add_argument("--wide", action="store_true", help="one line per row, however long (default: fit 100 columns)")
    p.set_defaults(handler=run_profiles)


def add_energy_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``asnn energy`` on the sub-parsers of ``asnn``."""
    p = sub.add_parser(
        "energy",
        help=ENERGY_HELP,
        formatter_class=Formatter,
        description=ENERGY_DESCRIPTION,
        epilog=(
            "examples:\n"
            "  asnn energy counts/hybrid --out energy/hybrid\n"
            "  asnn energy counts/hybrid --hw cmos45-int8-sram,loihi,my-chip.toml\n"
            "  asnn energy counts/hybrid --ann-counts counts/ann --ann-bits matched --out energy/hybrid --force\n"
            "  asnn energy counts/resnet19 --hw cmos45-int8-sram,loihi --sensitivity   # fits? DRAM? which constant matters?"
        ),
    )
    p.add_argument("counts_dir", metavar="COUNTS_DIR", type=Path, help="counts directory written by asnn simulate (the SNN)")
    p.add_argument(
        "--hw",
        metavar="LIST",
        help=f"comma-separated profile names or .toml paths (default: all shipped: {', '.join(choices.profile_names())})",
    )
    p.add_argument("--out", metavar="DIR", type=Path, help="write breakdown.parquet/.csv and summary.csv/.json here")
    p.add_argument(
        "--ann-counts",
        metavar="DIR",
        type=Path,
        help="counts directory of the replayed ANN twin: price the ANN with zero-skipping (only MACs with non-zero input)",
    )
    p.add_argument(
        "--ann-bits",
        choices=("same", "matched"),
        default="same",
        help="ANN activation width: the profile's (same, default) or ceil(log2(T+1)) bits (matched)",
    )
    p.add_argument("--encoder", choices=("profile", "on-chip", "off-chip"), default="profile",
                   help="where the input encoder runs: as each profile says (profile, default: on chip for the "
                        "CMOS SRAM profiles, off chip for the neuromorphic chips and the arithmetic-only "
                        "convention), on every chip (on-chip) or on a host, left out (off-chip)")
    p.add_argument("--sensitivity", action="store_true",
                   help="also move each uncertain constant alone over its low/high bounds: which one moves the "
                        "SNN/ANN ratio most (sensitivity.csv with --out)")
    p.add_argument("--force", action="store_true", help="overwrite the results in an existing OUT")
    p.set_defaults(handler=run_energy)


# ------------------------------------------------------------------------------ tables


def _fmt(value: float, digits: int = 4) -> str:
    """``digits`` significant figures, plain notation between 1e-3 and 1e7."""
    if value is None or not math.isfinite(value):
        return "-"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= 7 or magnitude < -3:
        return f"{value:.{digits - 1}e}"
    decimals = max(0, digits - 1 - magnitude)
    return f"{round(value, decimals - 0):.{decimals}f}"


def _range(lo: float, hi: float, digits: int = 4) -> str:
    """``[lo-hi]``, or nothing when the bounds coincide (to 0.1 %)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or math.isclose(lo, hi, rel_tol=1e-3):
        return ""
    return f"[{_fmt(lo, digits)}-{_fmt(hi, digits)}]"


#: Width ``asnn profiles`` fits its tables into unless ``--wide``.
TABLE_WIDTH = 100


def render_table(rows: list[list[str]], header: list[str], width: int | None = None, keep: Sequence[int] = (0,)) -> str:
    """Plain fixed-width text table (no third-party dependency).

    Parameters
    ----------
    rows : list of list of str
    header : list of str
    width : int, optional
        Fit the table into this many columns by wrapping the long cells of the columns not
        in ``keep``; a row that wraps is followed by a blank line. None: one line per row.
    keep : sequence of int
        Columns never wrapped (names that users copy).
    """
    rows = [[str(c) for c in r] for r in rows]
    natural = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    widths = _fit_widths(natural, [len(h) for h in header], width, keep) if width else natural
    wrapped = [[textwrap.wrap(c, w, break_on_hyphens=False) or [""] if len(c) > w else [c] for c, w in zip(r, widths)] for r in rows]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    multi = any(len(cell) > 1 for r in wrapped for cell in r)
    for i, r in enumerate(wrapped):
        height = max(len(cell) for cell in r)
        out += [line([cell[k] if k < len(cell) else "" for cell in r]) for k in range(height)]
        if multi and i < len(wrapped) - 1:
            out.append("")
    return "\n".join(out)


def _fit_widths(natural: list[int], minimum: list[int], width: int, keep: Sequence[int]) -> list[int]:
    """Column widths summing (with 2-space gaps) to at most ``width`` where possible:
    kept columns at their natural width, the others sharing what is left, narrow ones first."""
    budget = width - 2 * (len(natural) - 1) - sum(natural[i] for i in keep)
    flexible = sorted((i for i in range(len(natural)) if i not in keep), key=lambda i: natural[i])
    widths = list(natural)
    for n, i in enumerate(flexible):
        share = budget // (len(flexible) - n)
        widths[i] = max(min(natural[i], share), minimum[i], 8)
        budget -= widths[i]
    return widths


def format_energy(result: EnergyResult) -> str:
    """The text ``asnn energy`` prints.

    Parameters
    ----------
    result : EnergyResult

    Returns
    -------
    str
    """
    from hw_models.activity import DAMPFHOFFER_BAND

    s = result.summary
    rows = []
    for _, r in s.iterrows():
        be = _fmt(r["break_even_spikes_per_synapse"], 3)
        if r["break_even_status"] == "snn-fixed-cost-exceeds-ann":
            be = "never"
        rows.append(
            [
                r["profile"],
                f"{_fmt(r['snn_pj'] / 1e3)} {_range(r['snn_low_pj'] / 1e3, r['snn_high_pj'] / 1e3)}".strip(),
                f"{_fmt(r['ann_pj'] / 1e3)} {_range(r['ann_low_pj'] / 1e3, r['ann_high_pj'] / 1e3)}".strip(),
                f"{_fmt(r['ratio'], 3)} {_range(r['ratio_low'], r['ratio_high'], 3)}".strip(),
                f"{be} {_range(r['break_even_spikes_per_synapse_low'], r['break_even_spikes_per_synapse_high'], 3)}".strip(),
                _fmt(r["break_even_input_event_rate"], 3),
            ]
        )
    header = ["profile", "SNN nJ/inf", "ANN nJ/inf", "SNN/ANN", "break-even spk/syn", "break-even input rate"]
    first = s.iloc[0]
    lo, hi = DAMPFHOFFER_BAND
    notes = [
        render_table(rows, header),
        "",
        f"spikes per synapse per inference: {_fmt(first['spikes_per_synapse'], 3)}  "
        f"(Dampfhoffer et al. 2023 break-even band {lo}-{hi});  "
        f"input event rate: {_fmt(first['input_event_rate'], 3)} per input element per step (not a firing rate)",
        "break-even: the SNN uses less energy than the ANN when its activity is below these values "
        "(all spike activity scaled together); 'never' = its spike-independent cost alone exceeds the ANN's",
        f"ANN baseline: {result.meta['ann_baseline']}; activation bits: {result.meta['ann_bits']}  "
        f"({result.counts.n_samples} samples, T={result.counts.timesteps}); [low-high] = every shaky constant at its low / high end",
    ]
    for _, r in s.iterrows():
        if r.get("ann_bits_note"):
            notes.append(f"  {r['profile']}: {r['ann_bits_note']}")
    notes += _time_lines(s, {p.name: p.model["static"] for p in result.profiles})
    if result.sensitivity is not None:
        notes.append("what moves the SNN/ANN ratio most (each constant alone at its low / high end):")
        for name, group in result.sensitivity.groupby("profile", sort=False):
            top = group.iloc[0]
            notes.append(f"  {name}: {top['parameter']} ({_fmt(top['low'])}-{_fmt(top['high'])} {top['unit']}): "
                         f"ratio {_fmt(top['ratio_at_low'], 3)} to {_fmt(top['ratio_at_high'], 3)}")
        flat = [p.name for p in result.profiles if p.name not in set(result.sensitivity["profile"])]
        if flat:
            notes.append(f"  {', '.join(flat)}: every constant is a single published value (no bounds to move)")
    shares = [(r["profile"], [f"{what} {_fmt(100 * r[f'snn_{comp}_share'], 2)} %" for what, comp in
                              (("DRAM", "dram"), ("encoder", "encoder"), ("inter-chip spikes", "inter_chip"))
                              if r.get(f"snn_{comp}_share", 0) > 0]) for _, r in s.iterrows()]
    if any(parts for _, parts in shares):
        notes.append("share of the SNN's energy:")
        notes += [f"  {name}: {', '.join(parts)}" for name, parts in shares if parts]
    tiered = s[s["dram_layers"].notna()] if "dram_layers" in s else s.iloc[:0]
    if len(tiered):
        notes.append("on-chip SRAM (profiles with a DRAM tier; docs/energy.md, \"DRAM\"):")
    for _, r in tiered.iterrows():
        notes.append(f"  {r['profile']}: " + ("every array fits the on-chip SRAM" if r["dram_layers"] == 0 else
                     f"{int(r['dram_layers'])} layer(s) hold arrays above the on-chip SRAM: they live in DRAM"))
    mapped = s[s["chips"].notna()] if "chips" in s else s.iloc[:0]
    if len(mapped):
        notes.append("capacity (layer-by-layer mapping, docs/energy.md; energy above assumes it runs as counted):")
        for _, r in mapped.iterrows():
            fits = "fits one chip" if r["fits_one_chip"] else f"needs {int(r['chips'])} chips"
            used = [f"{what} used {_fmt(100 * r[col], 2)} %" for what, col in
                    (("neuron slots", "neuron_utilisation"), ("synaptic memory", "synapse_utilisation"))
                    if math.isfinite(r[col])]
            notes.append(f"  {r['profile']}: {fits}, {int(r['cores']):,} cores; " + ", ".join(used))
    return "\n".join(notes)


def _time_lines(summary, static: dict[str, str]) -> list[str]:
    """The time table: per inference, inferences per second, static share and EDP, per profile with a timing model.

    ``static`` is each profile's ``model.static``: a share is printed only where static
    power is priced; an all-in profile has it inside its energies, the others publish none.
    """
    shown = {"none": "not published", "included": "in the energy"}
    timed = summary[summary["timing"] != "none"] if "timing" in summary else summary.iloc[:0]
    if not len(timed):
        return []
    rows = [[r["profile"], r["timing"],
             f"{_fmt(r['snn_seconds'] * 1e6)} {_range(r['snn_seconds_low'] * 1e6, r['snn_seconds_high'] * 1e6)}".strip(),
             _fmt(r["snn_inferences_per_s"]),
             shown.get(static.get(r["profile"], "none"), f"{_fmt(100 * r['snn_static_share'], 3)} %"),
             _fmt(r["snn_edp_js"], 3), f"{_fmt(r['ann_seconds'] * 1e6)}", _fmt(r["ann_edp_js"], 3)]
            for _, r in timed.iterrows()]
    header = ["profile", "timing", "SNN us/inf", "SNN inf/s", "static share", "SNN EDP J s", "ANN us/inf", "ANN EDP J s"]
    return ["", "time (docs/energy.md, \"Time\"; one inference after the other; static = static power x time where "
            "the chip publishes it):", render_table(rows, header)]


def format_profiles(names: Sequence[str] | None = None, wide: bool = False) -> str:
    """The text ``asnn profiles`` prints: fitted into 100 columns, or one line per profile if ``wide``."""
    from hw_models.summary import profile_table

    table = profile_table(list(names) if names is not None else None)
    rows = [
        [r["name"], f"{r['chip']}, {r['process_node']}", r["scope"], r["models"], r["references"]] for _, r in table.iterrows()
    ]
    table = render_table(rows, ["name", "chip, node", "scope", "models", "sources"], None if wide else TABLE_WIDTH)
    return table + "\n\n'asnn profiles --show NAME' lists a profile's constants with citations and evidence grades." + (
        "" if wide else "\n'asnn profiles --wide' prints one line per profile."
    )


def format_constants(name: str, wide: bool = False) -> str:
    """One profile's header, constants and assumptions with citations (fitted into 100
    columns unless ``wide``)."""
    from hw_models.profile import load_profile
    from hw_models.summary import constants_table

    p = load_profile(name)
    head = [
        f"{p.name}: {p.chip}, {p.process_node}",
        f"  {p.description}",
        f"  scope: {p.scope}; clocking: {p.clocking}; arithmetic: {p.number_format}, {p.bits} bits",
        f"  memory: {p.memory}",
    ]
    if p.ann_note:
        head.append(f"  ANN baseline: {p.ann_note}")
    if p.path is not None:
        head.append(f"  file: {p.path}")
    table = constants_table(p)
    rows = []
    for _, r in table.iterrows():
        value = f"{_fmt(r['value'])} {r['unit']}"
        if not math.isclose(r["low"], r["high"]):
            value += f" [{_fmt(r['low'])}-{_fmt(r['high'])}]"
        rows.append([r["name"], value, r["grade"], r["scope"], r["source"]])
    if not wide:
        head = [textwrap.fill(h, TABLE_WIDTH, subsequent_indent="    ", break_on_hyphens=False) for h in head]
    header = ["constant", "value", "grade", "scope", "source / reason"]
    return "\n".join(head) + "\n\n" + render_table(rows, header, None if wide else TABLE_WIDTH, keep=(0, 1))


# ---------------------------------------------------------------------------- handlers


def hw_names(hw: str | None) -> list[str]:
    """The profiles a ``--hw`` value names (all shipped ones for None), each checked.

    A name that is neither a shipped profile nor a path gets the closest shipped name:
    ``unknown profile 'lohi' (did you mean 'loihi'?)``. Malformed files are reported
    when the profile is loaded.

    Raises
    ------
    EnergyError
        Empty list or unknown name.
    """
    from hw_models.run import parse_hw

    names = parse_hw(hw)
    for name in names:
        check_profile_name(name)
    return names


def check_profile_name(name: str) -> str:
    """``name`` if it is a shipped profile or a path; else :class:`~hw_models.EnergyError`
    with the closest shipped name."""
    from hw_models import EnergyError
    from hw_models.profile import unknown_profile

    if name not in choices.profile_names() and not name.endswith(".toml") and not Path(name).exists():
        raise EnergyError(unknown_profile(name))
    return name


def run_profiles(args: argparse.Namespace) -> None:
    """Handle ``asnn profiles``: print the table (or one profile's constants).

    Raises
    ------
    EnergyError
        Unknown or malformed profile.
    """
    if args.show:
        print(format_constants(check_profile_name(args.show), wide=args.wide))
    else:
        print(format_profiles(hw_names(args.hw) if args.hw else None, wide=args.wide))


def run_energy(args: argparse.Namespace) -> None:
    """Handle ``asnn energy``: estimate, print, and write results if ``--out`` is given.

    Raises
    ------
    ValueError
        ``--out`` is not empty and ``--force`` was not given (checked first).
    EnergyError
        Missing or malformed counts, unknown or malformed profile, unwritable output.
        Nothing is written in that case.
    """
    from contextlib import nullcontext

    from asnn_sim.util.folders import output_folder
    from hw_models.run import OUTPUT_FILES, write_outputs
    from hw_models.run import run_energy as estimate_energy

    # --out is locked and checked before any work, and appears (or is replaced) whole at the end.
    staged = nullcontext() if args.out is None else output_folder(args.out, OUTPUT_FILES, force=args.force)
    with staged as stage:
        result = estimate_energy(args.counts_dir, hw_names(args.hw), ann_counts=args.ann_counts, ann_bits=args.ann_bits,
                                 sensitivity=args.sensitivity, encoder=args.encoder)
        print(format_energy(result))
        written = write_outputs(result, stage) if stage is not None else []
    if written:
        print(f"wrote {', '.join(p.name for p in written)} to {args.out}")
