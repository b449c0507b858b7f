"""Reading a profile's TOML document into a :class:`~hw_models.profile.Profile`, every problem at once.

Each check records its problem and parsing goes on, so one :class:`EnergyError` lists
everything wrong with a file (``my.toml: 3 problems: (1) ...; (2) ...; (3) ...``) instead
of one problem per run. A check that depends on a field already found wrong is skipped
(a switch refused for an all-in profile does not also ask for its constants), so every
problem listed is one to fix. The message stays on one line, as every error of the
package; :attr:`EnergyError.problems` holds the problems one by one.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any

from .errors import EnergyError
from .profile import (
    ABSURD_ABOVE,
    ASSUMPTION_KEYS,
    CAPACITY_LIMITS,
    CLOCKING,
    CONSTANT_KEYS,
    EXPECTED_KIND,
    GRADES,
    KNOWN_ASSUMPTIONS,
    KNOWN_CONSTANTS,
    MODEL_CHOICES,
    NUMBER_FORMATS,
    PROFILE_SCHEMA_VERSION,
    REQUIRED_ASSUMPTIONS,
    REQUIRED_CONSTANTS,
    SCOPES,
    TOP_LEVEL_KEYS,
    UNIT_SCALE,
    Assumption,
    Capacity,
    Constant,
    Profile,
)

__all__ = ["parse_profile"]

#: What a field reader returns for a value present but wrong (its problem is recorded).
_INVALID = object()
#: Switches a profile may leave out, and what they mean then.
_MODEL_DEFAULTS = {"sram": "none", "sram_access": "per-bit", "static": "none", "dram": "none", "encoder": "off-chip",
                   "inter_chip": "none", "timing": "none"}
_ALL_IN_INCLUDED = ("neuron", "weight_memory", "potential_memory", "routing", "static")


class _Problems:
    """Every problem found in one profile file, in the order met."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.found: list[str] = []

    def add(self, fieldname: str, problem: str) -> None:
        self.found.append(f"{fieldname} {problem}")

    def raise_any(self) -> None:
        """Raise one :class:`EnergyError` naming the file and every problem, if there is any."""
        if not self.found:
            return
        if len(self.found) == 1:
            message = f"{self.label}: {self.found[0]}"
        else:
            listed = "; ".join(f"({k}) {p}" for k, p in enumerate(self.found, 1))
            message = f"{self.label}: {len(self.found)} problems: {listed}"
        raise EnergyError(message, problems=[f"{self.label}: {p}" for p in self.found])


def parse_profile(data: dict[str, Any], label: str = "<profile>", path: Path | None = None) -> Profile:
    """Build a :class:`Profile` from a parsed TOML document, validating every field.

    Parameters
    ----------
    data : dict
        The TOML document.
    label : str
        File name for error messages.
    path : pathlib.Path, optional

    Returns
    -------
    Profile

    Raises
    ------
    EnergyError
        Naming the file and every field at fault (their count first when there are
        several); ``problems`` lists them one by one.
    """
    bad = _Problems(label)
    _refuse_unknown(data, TOP_LEVEL_KEYS, bad, "", "profile field")
    version = data.get("schema_version")
    if version != PROFILE_SCHEMA_VERSION:
        bad.add("schema_version", f"must be {PROFILE_SCHEMA_VERSION} (got {version!r})")
        bad.raise_any()  # another schema's fields mean other things: checking them would mislead
    header = _parse_header(data, bad)
    model = _parse_model(data.get("model"), header.get("scope"), bad)
    constants = _parse_table(data, "constants", bad)
    assumptions = _parse_table(data, "assumptions", bad)
    if model is not None:
        mesh = isinstance(data.get("capacity"), dict) and "mesh_rows" in data["capacity"]
        _check_required(model, _names(data, "constants", KNOWN_CONSTANTS), _names(data, "assumptions", KNOWN_ASSUMPTIONS),
                        header.get("number_format"), bad, mesh)
    capacity = _parse_capacity(data.get("capacity"), header.get("bits"), bad)
    if model is not None and model.get("inter_chip") not in (None, "none") and data.get("capacity") is None:
        bad.add("model.inter_chip", "needs a [capacity] table (the mapping decides which spikes cross chips)")
    if model is not None and model.get("timing") == "per-core" and data.get("capacity") is None:
        bad.add("model.timing", "'per-core' needs a [capacity] table (the mapping decides each core's work)")
    bad.raise_any()
    return Profile(**header, model=model, constants=constants, assumptions=assumptions, path=path, capacity=capacity)


# ----------------------------------------------------------------------------- field readers


def _refuse_unknown(table: dict[str, Any], known, bad: _Problems, prefix: str, what: str) -> None:
    """A key the model does not read is a typo that would silently drop a value: refuse each one."""
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"
            bad.add(prefix + str(key), f"is not a known {what}{hint}")


def _get_str(table: dict[str, Any], key: str, bad: _Problems, prefix: str = "") -> Any:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        bad.add(prefix + key, "must be a non-empty string")
        return _INVALID
    return value.strip()


def _get_number(table: dict[str, Any], key: str, bad: _Problems, prefix: str) -> Any:
    """A finite number >= 0; None when absent; :data:`_INVALID` (problem recorded) otherwise."""
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        bad.add(prefix + key, f"must be a finite number (got {value!r})")
        return _INVALID
    if value < 0:
        bad.add(prefix + key, f"must be >= 0 (got {value!r})")
        return _INVALID
    return float(value)


def _get_choice(table: dict[str, Any], key: str, allowed, bad: _Problems, prefix: str = "", default=None) -> Any:
    value = table.get(key, default)
    if value not in allowed:
        bad.add(prefix + key, f"must be one of {', '.join(allowed)} (got {value!r})")
        return _INVALID
    return value


def _get_note(table: dict[str, Any], key: str, bad: _Problems, prefix: str) -> str:
    note = table.get(key, "")
    if not isinstance(note, str):
        bad.add(prefix + key, "must be a string")
        return ""
    return note


def _parse_range(entry: dict[str, Any], bad: _Problems, prefix: str) -> tuple[float, float, float, str, str] | None:
    """Shared parsing of value/low/high/unit for constants and assumptions (None if any is wrong)."""
    value = _get_number(entry, "value", bad, prefix)
    if value is None:
        bad.add(prefix + "value", "is required")
    unit = _get_choice(entry, "unit", tuple(UNIT_SCALE), bad, prefix)
    low, high = _get_number(entry, "low", bad, prefix), _get_number(entry, "high", bad, prefix)
    if any(v is None or v is _INVALID for v in (value, unit)) or _INVALID in (low, high):
        return None
    kind, scale = UNIT_SCALE[unit]
    low = value if low is None else low
    high = value if high is None else high
    if not low <= value <= high:
        bad.add(prefix + "low/high", f"must satisfy low <= value <= high (got {low}, {value}, {high})")
        return None
    if high * scale > ABSURD_ABOVE[kind]:
        bad.add(prefix + ("high" if high > value else "value"),
                f"is {high} {unit}, beyond any chip ({ABSURD_ABOVE[kind]:g} in the normalised unit); check the unit")
        return None
    return value * scale, low * scale, high * scale, unit, kind


def _parse_constant(name: str, entry: dict[str, Any], bad: _Problems) -> Constant | None:
    prefix = f"constants.{name}."
    _refuse_unknown(entry, CONSTANT_KEYS, bad, prefix, "field of a constant")
    parsed = _parse_range(entry, bad, prefix)
    expected = EXPECTED_KIND.get(name, "energy")
    if parsed is not None and parsed[4] != expected:
        bad.add(prefix + "unit", f"must be a {expected} unit (got {parsed[3]!r})")
        parsed = None
    source = _get_str(entry, "source", bad, prefix)
    grade = _get_choice(entry, "grade", GRADES, bad, prefix)
    scope = _get_choice(entry, "scope", SCOPES, bad, prefix)
    note = _get_note(entry, "note", bad, prefix)
    by_tiles = _parse_by_tiles(name, entry, parsed, bad, prefix)
    if parsed is None or _INVALID in (source, grade, scope, by_tiles):
        return None
    value, low, high, unit, _kind = parsed
    return Constant(name, value, low, high, unit, source, grade, scope, note, by_tiles)


def _parse_by_tiles(name: str, entry: dict[str, Any], parsed, bad: _Problems, prefix: str) -> Any:
    """``t_barrier``'s optional steps by tiles in use: ``[[tiles, value], ...]`` in the
    constant's unit, tiles ascending, each value within low..high (normalised)."""
    steps = entry.get("by_tiles")
    if steps is None:
        return ()
    if name != "t_barrier":
        bad.add(prefix + "by_tiles", "is read for t_barrier only (the barrier by tiles in use)")
        return _INVALID
    ok = isinstance(steps, list) and steps and all(
        isinstance(s, list) and len(s) == 2 and isinstance(s[0], int) and not isinstance(s[0], bool) and s[0] >= 1
        and isinstance(s[1], (int, float)) and not isinstance(s[1], bool) for s in steps)
    if not ok or [s[0] for s in steps] != sorted({s[0] for s in steps}):
        bad.add(prefix + "by_tiles", f"must be [[tiles, value], ...] with tiles positive integers, ascending (got {steps!r})")
        return _INVALID
    if parsed is None:
        return _INVALID
    _, low, high, unit, _ = parsed
    scale = UNIT_SCALE[unit][1]
    out = tuple((int(tiles), float(v) * scale) for tiles, v in steps)
    if any(not low <= v <= high for _, v in out):
        bad.add(prefix + "by_tiles", f"every value must lie within low..high ({low / scale:g}-{high / scale:g} {unit})")
        return _INVALID
    return out


def _parse_assumption(name: str, entry: dict[str, Any], bad: _Problems) -> Assumption | None:
    prefix = f"assumptions.{name}."
    _refuse_unknown(entry, ASSUMPTION_KEYS, bad, prefix, "field of an assumption")
    parsed = _parse_range(entry, bad, prefix)
    expected = EXPECTED_KIND.get(name)
    if parsed is not None and expected is not None and parsed[4] != expected:
        bad.add(prefix + "unit", f"must be a {expected} unit (got {parsed[3]!r})")
        parsed = None
    why = _get_str(entry, "why", bad, prefix)
    if parsed is None or why is _INVALID:
        return None
    value, low, high, unit, _kind = parsed
    return Assumption(name, value, low, high, unit, why)


# ----------------------------------------------------------------------------- tables


_TABLES = {
    "constants": (KNOWN_CONSTANTS, "constant", _parse_constant),
    "assumptions": (KNOWN_ASSUMPTIONS, "assumption", _parse_assumption),
}


def _parse_table(data: dict[str, Any], which: str, bad: _Problems) -> dict:
    """``[constants]`` (required, not empty) or ``[assumptions]`` (optional): each known entry parsed."""
    known, what, parse = _TABLES[which]
    raw = data.get(which, None if which == "constants" else {})
    if not isinstance(raw, dict) or (which == "constants" and not raw):
        bad.add(which, "table is required" if which == "constants" else "must be a table")
        return {}
    _refuse_unknown(raw, known, bad, f"{which}.", what)
    out = {}
    for name, entry in raw.items():
        if name not in known:
            continue
        if not isinstance(entry, dict):
            bad.add(f"{which}.{name}", "must be a table")
            continue
        parsed = parse(name, entry, bad)
        if parsed is not None:
            out[name] = parsed
    return out


def _names(data: dict[str, Any], which: str, known) -> set[str]:
    """The known entries a table states, right or wrong: a wrong one is reported as itself, not as missing."""
    raw = data.get(which)
    return {n for n in raw if n in known} if isinstance(raw, dict) else set()


def _parse_header(data: dict[str, Any], bad: _Problems) -> dict[str, Any]:
    """The profile's descriptive and format fields, as :class:`Profile` keyword arguments (wrong ones left out)."""
    header = {k: _get_str(data, k, bad) for k in ("name", "chip", "process_node", "description", "memory")}
    for key, allowed in (("scope", SCOPES), ("clocking", CLOCKING), ("number_format", NUMBER_FORMATS)):
        header[key] = _get_choice(data, key, allowed, bad)
    bits = data.get("bits")
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 64:
        bad.add("bits", f"must be an integer from 1 to 64 (got {bits!r})")
        bits = _INVALID
    header["bits"] = bits
    references = data.get("references")
    if not isinstance(references, list) or not references or not all(isinstance(r, str) and r.strip() for r in references):
        bad.add("references", "must be a non-empty list of short citations")
        header["references"] = _INVALID
    else:
        header["references"] = tuple(r.strip() for r in references)
    header["ann_note"] = _get_note(data, "ann_note", bad, "")
    return {k: v for k, v in header.items() if v is not _INVALID}


def _parse_model(raw_model: Any, scope: str | None, bad: _Problems) -> dict[str, str | None] | None:
    """The ``[model]`` switches, defaults filled in; None for a switch found wrong (nothing is checked against it)."""
    if not isinstance(raw_model, dict):
        bad.add("model", "table is required")
        return None
    model: dict[str, str | None] = {}
    for key, choices in MODEL_CHOICES.items():
        value = _get_choice(raw_model, key, choices, bad, "model.", _MODEL_DEFAULTS.get(key))
        model[key] = None if value is _INVALID else value
    for extra in sorted(set(raw_model) - set(MODEL_CHOICES)):
        bad.add(f"model.{extra}", "is not a known switch")
    # The no-double-count rule: an all-in energy already contains memory, routing,
    # neuron updates and leakage, so nothing may be added on top of it.
    if scope == "all-in":
        for switch in _ALL_IN_INCLUDED:
            if model[switch] not in (None, "included"):
                bad.add(f"model.{switch}", "must be 'included' in an all-in profile (its energy per event already "
                                           "contains it; adding it would double-count)")
                model[switch] = None
    return model


def _check_required(model: dict[str, str | None], constants: set[str], assumptions: set[str], number_format,
                    bad: _Problems, mesh: bool = False) -> None:
    """The constants and assumptions the chosen switches need (switches found wrong are skipped).

    A missing entry is one problem, naming every switch that needs it. Where ``[capacity]``
    states the mesh (``mesh_rows``), hops are counted on it: ``hops_per_spike`` is then
    neither needed nor read, and refused.
    """
    if mesh and "hops_per_spike" in assumptions:
        bad.add("assumptions.hops_per_spike", "is not read where [capacity] states mesh_rows (hops are counted on the mesh)")
    for needed in ("ac", "mac"):
        if needed not in constants:
            bad.add(f"constants.{needed}", "is required (energy of one synaptic op on a binary / multi-bit event)")
    uses_sram = (model["weight_memory"] == "sram" or (model["potential_memory"] or "").startswith("sram")
                 or model["routing"] == "addressing")
    if uses_sram and model["sram"] == "none":
        bad.add("model.sram", "must be 'log-interp' or 'linear-fit' when a memory or addressing switch uses SRAM")
    if model["static"] == "power-x-latency" and model["timing"] == "none":
        bad.add("model.static", "'power-x-latency' needs a time: set model.timing (per-core, fixed-tick or throughput)")
    needs: dict[str, list[str]] = {}
    for table, required in (("constants", REQUIRED_CONSTANTS), ("assumptions", REQUIRED_ASSUMPTIONS)):
        for (switch, setting), names in required.items():
            if model[switch] == setting:
                for name in names:
                    if mesh and name == "hops_per_spike":
                        continue
                    needs.setdefault(f"{table}.{name}", []).append(f"by model.{switch} = '{setting}'")
    if model["ann"] == "arithmetic" and number_format == "int":
        needs.setdefault("constants.mult", []).append("to scale the ANN's multiplies with bit-width")
    for key, reasons in needs.items():
        table, name = key.split(".")
        if name not in (constants if table == "constants" else assumptions):
            listed = reasons[0] if len(reasons) == 1 else ", ".join(reasons[:-1]) + " and " + reasons[-1]
            bad.add(key, f"is required {listed}")


def _parse_capacity(table: Any, bits: Any, bad: _Problems) -> Capacity | None:
    """The optional ``[capacity]`` table: integer limits, a source and a grade."""
    if table is None:
        return None
    if not isinstance(table, dict):
        bad.add("capacity", "must be a table")
        return None
    known = {"cores_per_chip", *CAPACITY_LIMITS, "synapse_bits", "cores_per_tile", "mesh_rows", "source", "grade", "note"}
    for extra in sorted(set(table) - known):
        bad.add(f"capacity.{extra}", f"is not a known field ({', '.join(sorted(known))})")
    start = len(bad.found)
    counts = {key: _count(table, key, bad, required=key == "cores_per_chip")
              for key in ("cores_per_chip", *CAPACITY_LIMITS, "synapse_bits", "cores_per_tile", "mesh_rows")}
    limits = {key: counts[key] for key in CAPACITY_LIMITS}
    if limits["axons_per_core"] and not limits["neurons_per_core"] and "neurons_per_core" not in table:
        bad.add("capacity.axons_per_core", "needs neurons_per_core (the axon limit splits a core's neurons)")
    if not any(key in table for key in ("neurons_per_core", "synapse_bytes_per_core")):
        bad.add("capacity", "must state neurons_per_core or synapse_bytes_per_core (a limit per core)")
    if "mesh_rows" in table and "cores_per_tile" not in table:
        bad.add("capacity.mesh_rows", "needs cores_per_tile (the mesh is one of tiles)")
    grade = _get_choice(table, "grade", (*GRADES, "documented"), bad, "capacity.")
    source = table.get("source")
    if not isinstance(source, str) or not source.strip():
        bad.add("capacity.source", "must name the paper and table/section the limits come from")
    note = _get_note(table, "note", bad, "capacity.")
    if len(bad.found) > start or not isinstance(bits, int):
        return None
    return Capacity(cores_per_chip=counts["cores_per_chip"], **limits, synapse_bits=counts["synapse_bits"] or bits,
                    source=source.strip(), grade=grade, note=note, cores_per_tile=counts["cores_per_tile"],
                    mesh_rows=counts["mesh_rows"])


def _count(table: dict[str, Any], key: str, bad: _Problems, required: bool = False) -> int | None:
    """A positive integer of ``[capacity]``; None when absent and optional (or wrong: problem recorded)."""
    value = table.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        bad.add(f"capacity.{key}", f"must be a positive integer (got {value!r})")
        return None
    return value
