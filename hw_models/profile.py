"""Hardware profiles: energy constants with citations, read from TOML files.

A profile is data, not code. Each file in ``hw_models/profiles/`` describes one target:
what the chip is, how it is clocked, which energy components the model charges and how
(the ``[model]`` table), the literature constants (``[constants.*]``, each with value,
unit, source, evidence grade and scope) and the modelling assumptions that are ours, not
a paper's (``[assumptions.*]``, each with a stated reason). ``docs/energy.md`` documents
the schema; :func:`load_profile` enforces it and names the file and field at fault.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import tomllib

from .errors import EnergyError

PROFILE_SCHEMA_VERSION = 1

GRADES = ("measured", "simulated", "derived")
SCOPES = ("per-operation", "all-in")
CLOCKING = ("clock-driven", "event-driven")
NUMBER_FORMATS = ("int", "float", "native")

# Allowed settings of each [model] switch. 'none' = not modelled (the estimate leaves it
# out and says so); 'included' = already inside another constant (e.g. an all-in energy
# per synaptic event, or a per-op energy measured with the core's own memory).
MODEL_CHOICES: dict[str, tuple[str, ...]] = {
    "neuron": ("none", "included", "arithmetic", "per-update", "active-inactive"),
    "weight_memory": ("none", "included", "sram"),
    "potential_memory": ("none", "included", "sram-per-synop", "sram-per-update"),
    "routing": ("none", "included", "addressing", "per-spike"),
    "static": ("none", "included", "power-x-latency"),
    "sram": ("none", "log-interp", "linear-fit"),
    "sram_access": ("per-bit", "per-access"),
    "ann": ("arithmetic", "graded-events"),
    # The DRAM tier: 'none', or how often a weight that does not fit the on-chip SRAM is
    # fetched from DRAM: on every read, once per timestep per batch, or once per batch.
    "dram": ("none", "per-event", "per-step", "per-batch"),
    # Where the input encoder runs: on a host, outside the priced system ('off-chip'), or
    # on the chip, priced as its arithmetic and its reads of the stored image ('on-chip').
    "encoder": ("off-chip", "on-chip"),
    # Spikes between chips when a model needs more than one ([capacity] mapping): not
    # priced, or one message of spike_message_bits over a chip-to-chip link per crossing.
    "inter_chip": ("none", "per-message"),
    # How long a timestep takes (hw_models/timing.py): not modelled; the busiest core's
    # work plus a barrier; a fixed tick; or operations and memory traffic at a clock.
    "timing": ("none", "per-core", "fixed-tick", "throughput"),
}

# Energy units are normalised to picojoules, power to watts, time to seconds.
UNIT_SCALE: dict[str, tuple[str, float]] = {
    "fJ": ("energy", 1e-3),
    "pJ": ("energy", 1.0),
    "nJ": ("energy", 1e3),
    "uJ": ("energy", 1e6),
    "W": ("power", 1.0),
    "mW": ("power", 1e-3),
    "uW": ("power", 1e-6),
    "s": ("time", 1.0),
    "Hz": ("frequency", 1.0),
    "MHz": ("frequency", 1e6),
    "GHz": ("frequency", 1e9),
    "GB/s": ("bandwidth", 1e9),
    "MB/s": ("bandwidth", 1e6),
    "ms": ("time", 1e-3),
    "us": ("time", 1e-6),
    "ns": ("time", 1e-9),
    "count": ("count", 1.0),
    "bits": ("count", 1.0),
    "B": ("count", 1.0),
    "KB": ("count", 1024.0),
    "MB": ("count", 1024.0 * 1024.0),
}

# Which constants (and assumptions) each switch setting needs.
REQUIRED_CONSTANTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("neuron", "arithmetic"): ("add", "mult"),
    ("neuron", "per-update"): ("neuron_update",),
    ("neuron", "active-inactive"): ("neuron_active", "neuron_inactive"),
    ("weight_memory", "sram"): ("sram_8kb", "sram_32kb", "sram_1mb"),
    ("potential_memory", "sram-per-synop"): ("sram_8kb", "sram_32kb", "sram_1mb"),
    ("potential_memory", "sram-per-update"): ("sram_8kb", "sram_32kb", "sram_1mb"),
    ("routing", "addressing"): ("add", "mac", "sram_8kb", "sram_32kb", "sram_1mb"),
    ("routing", "per-spike"): ("spike_out", "hop"),
    ("static", "power-x-latency"): ("static_power",),
    ("timing", "per-core"): ("t_synop", "t_neuron", "t_spike", "t_barrier"),
    ("timing", "fixed-tick"): ("tick",),
    ("timing", "throughput"): ("clock", "ops_per_cycle"),
    **{("dram", reuse): ("dram",) for reuse in ("per-event", "per-step", "per-batch")},
    ("encoder", "on-chip"): ("add", "mult"),
    ("inter_chip", "per-message"): ("link_bit",),
}
REQUIRED_ASSUMPTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("routing", "per-spike"): ("hops_per_spike",),
    **{("dram", reuse): ("sram_capacity", "batch") for reuse in ("per-event", "per-step", "per-batch")},
    ("inter_chip", "per-message"): ("spike_message_bits",),
}
EXPECTED_KIND: dict[str, str] = {
    "static_power": "power",
    "t_synop": "time",
    "t_synop_conv": "time",
    "t_neuron": "time",
    "t_neuron_inactive": "time",
    "t_spike": "time",
    "t_message_out": "time",
    "t_message": "time",
    "t_barrier": "time",
    "tick": "time",
    "clock": "frequency",
    "ops_per_cycle": "count",
    "sram_bytes_per_cycle": "count",
    "dram_bandwidth": "bandwidth",
    "hops_per_spike": "count",
    "sram_capacity": "count",
    "batch": "count",
    "spike_message_bits": "count",
}

#: Every constant and assumption the model reads: any other name is a typo, refused.
KNOWN_CONSTANTS = ("ac", "mac", "ac_conv", "add", "mult", "rng", "neuron_update", "neuron_active", "neuron_inactive", "sram_8kb",
                   "sram_32kb", "sram_1mb", "spike_out", "message", "hop", "static_power", "dram", "link_bit",
                   # timing (hw_models/timing.py)
                   "t_synop", "t_synop_conv", "t_neuron", "t_neuron_inactive", "t_spike", "t_message_out", "t_message", "t_barrier", "tick", "clock", "ops_per_cycle",
                   "sram_bytes_per_cycle", "dram_bandwidth")
KNOWN_ASSUMPTIONS = ("hops_per_spike", "sram_capacity", "batch", "spike_message_bits")
TOP_LEVEL_KEYS = ("schema_version", "name", "chip", "process_node", "description", "memory", "scope", "clocking",
                  "number_format", "bits", "references", "ann_note", "model", "constants", "assumptions", "capacity")
CONSTANT_KEYS = ("value", "low", "high", "unit", "source", "grade", "scope", "note", "by_tiles")
ASSUMPTION_KEYS = ("value", "low", "high", "unit", "why")
#: Above these (in the normalised unit) a number is a unit slip, not a chip: 1 uJ per
#: operation is a thousand times a DRAM access, 1 kW a rack, 1,000 s one timestep.
ABSURD_ABOVE = {"energy": 1e6, "power": 1e3, "time": 1e3, "count": 1e15, "frequency": 1e11, "bandwidth": 1e14}

PROFILE_DIR = "profiles"


@dataclass(frozen=True)
class Constant:
    """One literature constant, normalised to pJ (energy), W (power) or s (time).

    Attributes
    ----------
    name : str
    value, low, high : float
        Best value and bounds in the normalised unit; low == high == value when the
        source gives a single number.
    unit : str
        The unit as written in the file (``pJ``, ``nJ``, ...).
    source : str
        Paper and table/section.
    grade : str
        ``measured`` (silicon), ``simulated`` (circuit simulation or estimates for a
        process) or ``derived`` (our arithmetic on cited numbers).
    scope : str
        ``per-operation`` or ``all-in`` (contains memory, routing and leakage).
    note : str
    by_tiles : tuple of (int, float)
        ``t_barrier`` only, optional: the barrier by the number of tiles in use, as
        ascending ``(tiles, seconds)`` steps (the value at the largest step not above the
        tiles in use). Read where ``[capacity]`` gives ``cores_per_tile``.
    """

    name: str
    value: float
    low: float
    high: float
    unit: str
    source: str
    grade: str
    scope: str
    note: str = ""
    by_tiles: tuple[tuple[int, float], ...] = ()

    def at(self, which: str) -> float:
        """Value at ``'value'``, ``'low'`` or ``'high'``."""
        return {"value": self.value, "low": self.low, "high": self.high}[which]


@dataclass(frozen=True)
class Assumption:
    """A modelling choice of ours (not a literature number), with its reason."""

    name: str
    value: float
    low: float
    high: float
    unit: str
    why: str

    def at(self, which: str) -> float:
        """Value at ``'value'``, ``'low'`` or ``'high'``."""
        return {"value": self.value, "low": self.low, "high": self.high}[which]


#: Limits a ``[capacity]`` table may state (integers; each optional but cores_per_chip).
CAPACITY_LIMITS = ("neurons_per_core", "axons_per_core", "synapse_bytes_per_core")


@dataclass(frozen=True)
class Capacity:
    """What one chip holds (``[capacity]``), for :mod:`hw_models.capacity`'s mapping.

    Attributes
    ----------
    cores_per_chip : int
    neurons_per_core, axons_per_core, synapse_bytes_per_core : int or None
        The per-core limits the source states (None: not stated, not a limit here).
        ``axons_per_core`` is the number of distinct inputs a core's neurons can read
        (a crossbar's rows).
    synapse_bits : int
        Bits one stored synapse takes (default: the profile's ``bits``).
    cores_per_tile : int or None
        Cores that share a router tile (the per-step barrier can depend on the tiles in
        use: ``t_barrier``'s ``by_tiles``); None: not stated.
    mesh_rows : int or None
        Tiles per column of the chip's mesh (tile ``t`` at column ``t // mesh_rows``, row
        ``t % mesh_rows``): where stated, a message's hops are the distance between its
        tiles (:func:`hw_models.core_split.neuron_hops`) instead of ``hops_per_spike``.
    source, grade, note : str
        Where the numbers come from (paper, table or section) and how solid they are
        (``measured``, ``simulated``, ``derived`` or ``documented``: a design figure).
    """

    cores_per_chip: int
    neurons_per_core: int | None
    axons_per_core: int | None
    synapse_bytes_per_core: int | None
    synapse_bits: int
    source: str
    grade: str
    note: str = ""
    cores_per_tile: int | None = None
    mesh_rows: int | None = None


@dataclass(frozen=True)
class Profile:
    """A hardware target: header, model switches, constants and assumptions.

    Attributes
    ----------
    name, chip, process_node, description : str
    references : tuple of str
        Short citations of the sources (for tables); full ones are on each constant.
    scope : str
        ``per-operation`` or ``all-in``.
    clocking : str
        ``clock-driven`` (every neuron updated every step) or ``event-driven`` (only
        neurons touched by an event).
    memory : str
        Plain-words memory assumptions.
    number_format : str
        ``int`` or ``float`` arithmetic, or ``native`` (a chip's own datapath).
    bits : int
        Word width of weights, potentials and activations (and of the ANN baseline).
    model : dict
        The switches (see ``MODEL_CHOICES``).
    constants : dict[str, Constant]
    assumptions : dict[str, Assumption]
    path : pathlib.Path or None
    """

    name: str
    chip: str
    process_node: str
    description: str
    references: tuple[str, ...]
    scope: str
    clocking: str
    memory: str
    number_format: str
    bits: int
    model: dict[str, str]
    constants: dict[str, Constant]
    assumptions: dict[str, Assumption] = field(default_factory=dict)
    ann_note: str = ""
    path: Path | None = None
    capacity: Capacity | None = None

    def param(self, name: str, which: str = "value") -> float:
        """A constant or assumption at ``which`` (``value``/``low``/``high``)."""
        if name in self.constants:
            return self.constants[name].at(which)
        return self.assumptions[name].at(which)

    def models_text(self) -> str:
        """One-line summary of what the profile charges, for the ``profiles`` table."""
        m = self.model
        timed = f"; time: {m['timing']}" if m.get("timing", "none") != "none" else ""
        if self.scope == "all-in":
            return "all-in energy per synaptic event (memory, routing, leakage inside)" + timed
        parts = ["synaptic ops"]
        if m["neuron"] not in ("none", "included"):
            parts.append(f"neuron updates ({m['neuron']}, {self.clocking})")
        if m["weight_memory"] == "sram" or m["potential_memory"].startswith("sram"):
            parts.append(f"SRAM ({m['sram']}, {m['sram_access']})")
        if m["routing"] == "addressing":
            parts.append("addressing + I/O buffers")
        elif m["routing"] == "per-spike":
            parts.append("spike routing")
        if m["static"] == "power-x-latency":
            parts.append("static power x time")
        if m["encoder"] == "on-chip":
            parts.append("input encoder")
        if m["inter_chip"] != "none":
            parts.append("inter-chip spikes")
        if m["weight_memory"] == "included":
            parts.append("memory inside per-op energies")
        elif m["weight_memory"] == "none":
            parts.append("no memory")
        return ", ".join(parts) + timed


def with_encoder(profile: Profile, where: str) -> Profile:
    """``profile`` with its input encoder ``'on-chip'`` or ``'off-chip'`` (``asnn energy --encoder``).

    Raises
    ------
    EnergyError
        ``where`` is neither, or the profile has no constants to price an encoder on chip.
    """
    if where not in MODEL_CHOICES["encoder"]:
        raise EnergyError(f"encoder must be one of {', '.join(MODEL_CHOICES['encoder'])} (got {where!r})")
    if where == "on-chip":
        missing = [c for c in REQUIRED_CONSTANTS[("encoder", "on-chip")] if c not in profile.constants]
        if missing:
            raise EnergyError(f"profile {profile.name!r} cannot price an on-chip encoder: it has no "
                              f"{' or '.join(repr(m) for m in missing)} constant (its encoding runs off-chip)")
    return replace(profile, model={**profile.model, "encoder": where})


# ----------------------------------------------------------------------------- loading


def _profile_files() -> dict[str, Any]:
    """Shipped profile files by stem (package data, works from a wheel too)."""
    root = resources.files("hw_models").joinpath(PROFILE_DIR)
    return {entry.name[:-5]: entry for entry in root.iterdir() if entry.name.endswith(".toml")}


def list_profiles() -> list[str]:
    """Names of the shipped profiles, sorted.

    Returns
    -------
    list of str
        Names usable with :func:`load_profile` and ``asnn energy --hw``.
    """
    return sorted(_profile_files())


def unknown_profile(name: str) -> str:
    """The message for a name that is neither a shipped profile nor a file: the closest names first.

    Shared by :func:`load_profile` (the Python API) and the command line, so both say the same.

    Examples
    --------
    >>> unknown_profile("lohi")
    "unknown profile 'lohi' (did you mean 'loihi'?); shipped: cmos45-fp32-arith, ...; or give a path to a .toml file"
    """
    shipped = list_profiles()
    # the closest one only: 'cmos45-int8' is near every cmos45 profile, but one is nearest
    close = difflib.get_close_matches(str(name).strip().lower(), shipped, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown profile {name!r}{hint}; shipped: {', '.join(shipped)}; or give a path to a .toml file"


def load_profile(name_or_path: str | Path | Profile) -> Profile:
    """Load a shipped profile by name, or a user profile from a ``.toml`` path.

    Parameters
    ----------
    name_or_path : str, pathlib.Path or Profile
        A shipped name (see :func:`list_profiles`), or a path to a TOML file with the
        same schema. A Profile is returned unchanged.

    Returns
    -------
    Profile

    Raises
    ------
    EnergyError
        Unknown name (with the closest shipped names), missing or unreadable file, or
        malformed fields (the message names the file and every field at fault).

    Examples
    --------
    >>> from hw_models import load_profile
    >>> load_profile("truenorth").scope
    'all-in'
    """
    if isinstance(name_or_path, Profile):
        return name_or_path
    text = str(name_or_path)
    shipped = _profile_files()
    if text in shipped and not Path(text).suffix:
        entry = shipped[text]
        label = f"profiles/{text}.toml"
        raw = entry.read_bytes()
        path = None
    else:
        path = Path(text)
        label = str(path)
        if not (path.suffix == ".toml" or path.exists()):
            raise EnergyError(unknown_profile(text))
        if not path.is_file():
            raise EnergyError(f"{label}: profile file not found")
        raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EnergyError(f"{label}: not valid TOML ({exc})") from exc
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise EnergyError(f"{label}: nested too deeply to be a hardware profile") from None
    return parse_profile(data, label, path)


# The parser builds the dataclasses above, so it is imported after them.
from .profile_parse import parse_profile  # noqa: E402
