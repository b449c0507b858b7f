"""The energy model: price the operations of :mod:`hw_models.ops` with a profile.

Energy per inference = sum over layers, timesteps and components of
(operations x energy per operation). The components are

``synaptic_compute``  ACs x E_ac + MACs x E_mac (a conv layer's at ``ac_conv`` where a chip gives one)
``neuron_update``     neuron arithmetic, or a per-update energy, or active/inactive
``elementwise``       residual additions and pooling-window operations, priced as adds
                      (profiles with arithmetic neurons; a chip's own figures include them)
``weight_memory``     weight reads (one per synaptic op) and bias reads, priced by SRAM size
``potential_memory``  membrane-potential (ANN: partial-sum) reads and writes
``spike_routing``     address computation, input/output buffer traffic, or per-spike routing
                      (and a message to each destination core, where the profile prices ``message``)
``dram``              64-bit DRAM accesses of weights and potentials that do not fit the
                      on-chip SRAM (profiles with a DRAM tier; :func:`hw_models.ops._dram_tier`)
``encoder``           the input encoder, where the profile runs it on chip (``model.encoder``):
                      compares and bit extractions as adds, its adds and multiplications,
                      random numbers where the profile cites ``rng``, and its reads of the
                      stored image as SRAM; exponentials and square roots are counted only
``inter_chip``        spikes (ANN: activations) crossing between chips when the model needs
                      more than one (``model.inter_chip``; :func:`hw_models.capacity.messages_per_spike`):
                      messages x ``spike_message_bits`` x ``link_bit``
``static``            static power x the time of each step (``model.static = "power-x-latency"``:
                      the profile gives a static power and a timing model, :mod:`hw_models.timing`)

Each is evaluated three times, with every constant at its value, low and high end.
Every coefficient is non-negative, so the low and high ends bound the estimate.

The part of the SNN's energy that scales with spike activity (``spike_driven_pj``) is the
energy of the observed counts minus that of the same counts with every spike-driven
count set to zero (:func:`hw_models.activity.zero_spike_table`). Because the model is
affine in those counts, E_snn(lambda) = fixed + lambda x spike_driven when all spike
activity is scaled by lambda; :func:`hw_models.summary.summarize` solves for break-even.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .activity import zero_spike_table
from .ann import check_ann_counts, dense_ann_counts, matched_bits
from .counts import Counts, load_counts
from .errors import EnergyError
from .ops import dense_ann_ops, event_driven_ops, group_crossings, per_inference, per_row
from .profile import Profile, load_profile
from .sram import access_energy
from .timing import MESSAGE_CONSTANTS, TIMING_COLUMNS, CoreMap, StepTimes, core_map, counts_messages, step_times, timing_rows

COMPONENTS = (
    "synaptic_compute",
    "neuron_update",
    "elementwise",
    "weight_memory",
    "potential_memory",
    "spike_routing",
    "dram",
    "encoder",
    "inter_chip",
    "static",
)
SCENARIOS = ("value", "low", "high")
SUFFIX = {"value": "", "low": "_low", "high": "_high"}

BREAKDOWN_COLUMNS = [
    "profile",
    "system",
    "dataflow",
    "bits",
    "layer",
    "layer_index",
    "t",
    "component",
    "energy_pj",
    "energy_low_pj",
    "energy_high_pj",
    "spike_driven_pj",
    "spike_driven_low_pj",
    "spike_driven_high_pj",
    "step_seconds",
]
STATIC_LAYER = "(static)"


def ann_activation_bits(profile: Profile, ann_bits: str | int, timesteps: int) -> int:
    """Activation width of the ANN baseline under ``profile``.

    Parameters
    ----------
    profile : Profile
    ann_bits : {'same', 'matched'} or int
        ``same``: the profile's width; ``matched``: ``ceil(log2(T + 1))``; an int: that.
    timesteps : int
        The SNN's T.

    Returns
    -------
    int
        The width used. Only integer-arithmetic profiles can change it; float and
        chip-native profiles always return ``profile.bits`` (see
        :func:`ann_bits_note`).
    """
    if ann_bits == "same":
        wanted = profile.bits
    elif ann_bits == "matched":
        wanted = matched_bits(timesteps)
    elif isinstance(ann_bits, (int, np.integer)) and not isinstance(ann_bits, bool) and 1 <= int(ann_bits) <= 64:
        wanted = int(ann_bits)
    else:
        raise EnergyError(f"ann_bits must be 'same', 'matched' or an integer 1..64 (got {ann_bits!r})")
    if profile.number_format != "int" or profile.model["ann"] != "arithmetic":
        return profile.bits
    return wanted


def ann_bits_note(profile: Profile, ann_bits: str | int) -> str:
    """Why the ANN width was or was not changed under ``profile``."""
    if ann_bits == "same":
        return ""
    if profile.number_format != "int" or profile.model["ann"] != "arithmetic":
        return f"ann_bits={ann_bits} not applicable ({profile.number_format} {profile.model['ann']} profile); kept {profile.bits} bits"
    return "multiplier energy scaled by (a_bits x w_bits) / bits^2, adds and accumulators unchanged (derived)"


def _ann_mac(profile: Profile, which: str, act_bits: int) -> float:
    """Energy of one ANN MAC at ``act_bits``-wide activations and profile-wide weights.

    An array multiplier's energy grows with the product of its operand widths, an
    adder's linearly with its width; the accumulator stays at the profile's width. So
    E_mac(a) = E_mult x a x b / b^2 + E_add (grade: derived). At a == b this is the
    profile's own ``mac`` constant, used as is so published conventions are reproduced
    exactly.
    """
    if act_bits == profile.bits:
        return profile.param("mac", which)
    b = float(profile.bits)
    return profile.param("mult", which) * act_bits * b / (b * b) + profile.param("add", which)


def _sram(profile: Profile, which: str, size: np.ndarray, bits: np.ndarray | float) -> np.ndarray:
    points = (profile.param("sram_8kb", which), profile.param("sram_32kb", which), profile.param("sram_1mb", which))
    return access_energy(size, np.asarray(bits, dtype=float), points, profile.model["sram"], profile.model["sram_access"])


def price(ops: dict, profile: Profile, which: str = "value", *, system: str = "snn", act_bits: int | None = None) -> dict:
    """Energy (pJ per inference) of each component for each row of ``ops``.

    Parameters
    ----------
    ops : dict of numpy.ndarray
        From :func:`hw_models.ops.event_driven_ops` or :func:`hw_models.ops.dense_ann_ops`.
    profile : Profile
    which : {'value', 'low', 'high'}
        Which end of every constant's range to use.
    system : {'snn', 'ann'}
    act_bits : int, optional
        ANN activation width (only used for ``system='ann'``).

    Returns
    -------
    dict of numpy.ndarray
        One array per component except ``static`` (which is not per layer).
    """
    m = profile.model
    e_ac = profile.param("ac", which)
    e_mac = _ann_mac(profile, which, act_bits or profile.bits) if system == "ann" else profile.param("mac", which)
    zero = np.zeros_like(ops["ac"])
    if "ac_conv" in profile.constants:  # a chip whose convolution synapses cost their own energy (either event class)
        shared = ops["shared_synapses"]
        e_ac = np.where(shared, profile.param("ac_conv", which), e_ac)
        e_mac = np.where(shared, profile.param("ac_conv", which), e_mac)
    out: dict[str, np.ndarray] = {}
    out["synaptic_compute"] = ops["ac"] * e_ac + ops["mac"] * e_mac

    if m["neuron"] == "arithmetic":
        e_add, e_mult = profile.param("add", which), profile.param("mult", which)
        # A threshold compare and a soft reset (a subtract) are priced as adds (derived).
        out["neuron_update"] = ops["nrn_mult"] * e_mult + (ops["nrn_add"] + ops["nrn_cmp"] + ops["nrn_reset"]) * e_add
    elif m["neuron"] == "per-update":
        out["neuron_update"] = ops["nrn_updates"] * profile.param("neuron_update", which)
    elif m["neuron"] == "active-inactive":
        out["neuron_update"] = ops["nrn_active"] * profile.param("neuron_active", which) + ops["nrn_inactive"] * profile.param(
            "neuron_inactive", which
        )
    else:
        out["neuron_update"] = zero
    # Residual adds and pooling windows (an OR, compare or add each): adds where neurons are priced by arithmetic.
    out["elementwise"] = ops["elementwise"] * profile.param("add", which) if m["neuron"] == "arithmetic" else zero

    if m["weight_memory"] == "sram":
        out["weight_memory"] = ops["weight_reads"] * _sram(profile, which, ops["weight_mem_bytes"], ops["weight_bits"]) + ops[
            "bias_reads"
        ] * _sram(profile, which, ops["bias_mem_bytes"], ops["weight_bits"])
    else:
        out["weight_memory"] = zero

    if m["potential_memory"].startswith("sram"):
        out["potential_memory"] = ops["pot_accesses"] * _sram(profile, which, ops["pot_mem_bytes"], ops["pot_bits"])
    else:
        out["potential_memory"] = zero

    if m["routing"] == "addressing":
        out["spike_routing"] = (
            ops["addr_mac"] * profile.param("mac", which)
            + ops["addr_add"] * profile.param("add", which)
            + ops["in_reads_bin"] * _sram(profile, which, ops["in_mem_bin_bytes"], 1.0)
            + ops["in_reads_multi"] * _sram(profile, which, ops["in_mem_multi_bytes"], ops["in_bits_multi"])
            + ops["out_writes"] * _sram(profile, which, ops["out_mem_bytes"], ops["out_bits"])
        )
    elif m["routing"] == "per-spike":
        # hops counted on the chip's mesh where the profile states it, else an assumed number per spike
        hops = ops["core_hops"] if _counts_hops(profile) else ops["spikes_out"] * profile.param("hops_per_spike", which)
        # where the chip charges its network per message, a spike pays once per destination core
        per_message = profile.param("message", which) if "message" in profile.constants else 0.0
        out["spike_routing"] = (ops["spikes_out"] * profile.param("spike_out", which) + ops["core_messages"] * per_message
                                + hops * profile.param("hop", which))
    else:
        out["spike_routing"] = zero
    out["dram"] = ops["dram_words"] * profile.param("dram", which) if m["dram"] != "none" else zero
    out["encoder"] = _encoder(ops, profile, which) if m["encoder"] == "on-chip" else zero
    out["inter_chip"] = (ops["chip_messages"] * profile.param("spike_message_bits", which) * profile.param("link_bit", which)
                         if m["inter_chip"] != "none" else zero)
    return out


def _encoder(ops: dict, profile: Profile, which: str) -> np.ndarray:
    """The input encoder on chip: a compare or a bit extraction costs an add (derived: a
    subtraction, a shift-and-mask), random numbers ``rng`` each where the profile cites
    one, and every compare or bit extraction reads the pixel it works on from an image
    buffer (SRAM of the image's size, where the profile prices SRAM)."""
    e_add, e_mult = profile.param("add", which), profile.param("mult", which)
    energy = (ops["enc_cmp"] + ops["enc_bits"] + ops["enc_add"]) * e_add + ops["enc_mult"] * e_mult
    if "rng" in profile.constants:
        energy = energy + ops["enc_rand"] * profile.param("rng", which)
    if profile.model["sram"] != "none":
        energy = energy + ops["enc_reads"] * _sram(profile, which, ops["enc_mem_bytes"], float(profile.bits))
    return energy


def _long(ops: dict, priced: dict[str, dict], spike: dict[str, dict], meta: dict) -> pd.DataFrame:
    """Reshape per-scenario component arrays into the long breakdown."""
    comps = COMPONENTS[:-1]
    n = len(ops["layer"])
    data: dict[str, object] = {key: np.repeat(value, n * len(comps)) for key, value in meta.items()}
    data["layer"] = np.tile(ops["layer"], len(comps))
    data["layer_index"] = np.tile(ops["layer_index"], len(comps))
    data["t"] = np.tile(ops["t"], len(comps))
    data["component"] = np.repeat(np.array(comps, dtype=object), n)
    for which in SCENARIOS:
        data[f"energy{SUFFIX[which]}_pj"] = np.concatenate([np.broadcast_to(priced[which][c], (n,)) for c in comps]).astype(float)
        data[f"spike_driven{SUFFIX[which]}_pj"] = np.concatenate([np.broadcast_to(spike[which][c], (n,)) for c in comps]).astype(
            float
        )
    return pd.DataFrame(data)


def _chips(placed: CoreMap | None) -> int:
    """Chips the model occupies (static power is per chip): the capacity mapping's, else 1."""
    return placed.chips if placed is not None else 1


def _static_rows(profile: Profile, times: dict[str, StepTimes], idle: dict[str, StepTimes] | None, meta: dict,
                 chips: int) -> pd.DataFrame:
    """Static power (per chip, x the chips the model occupies) x each step's time, one row
    per timestep, charged to the whole chip.

    The low end takes the low power and the low time, the high end both high: the two
    bound the product. The part spike activity drives is the static energy of the steps'
    time beyond their time with every spike-driven count at zero (``idle``; None: 0).
    Where the busiest core does not change with activity, time and so static energy are
    affine in the spike counts, as the rest of the model is (the break-even assumes it).
    """
    rows = []
    for t in range(len(times["value"].seconds)):
        row = {**meta, "layer": STATIC_LAYER, "layer_index": -1, "t": t, "component": "static"}
        for which in SCENARIOS:
            power = profile.param("static_power", which) * chips
            # W x s = J; x 1e12 for pJ.
            row[f"energy{SUFFIX[which]}_pj"] = power * times[which].seconds[t] * 1e12
            extra = times[which].seconds[t] - idle[which].seconds[t] if idle is not None else 0.0
            row[f"spike_driven{SUFFIX[which]}_pj"] = power * extra * 1e12
        rows.append(row)
    return pd.DataFrame(rows)


def _times(ops: dict, profile: Profile, placed: CoreMap | None) -> dict[str, StepTimes] | None:
    """The step times of ``ops`` at the three ends of the timing constants (None: no timing model)."""
    if profile.model.get("timing", "none") == "none":
        return None
    return {which: step_times(ops, profile, placed, which) for which in SCENARIOS}


def _as_counts(value: Counts | str | Path) -> Counts:
    return value if isinstance(value, Counts) else load_counts(value)


def _estimate_one(profile: Profile, bases: dict, timesteps: int, ann: bool, zero_skip: bool,
                  ann_bits: str | int) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Breakdown and timing rows for one profile; ``bases`` holds the per-inference arrays (see estimate)."""
    frames, timing = [], []
    # --- SNN: observed counts, and the same counts with spike activity removed.
    snn_meta = {"profile": profile.name, "system": "snn", "dataflow": "event-driven", "bits": profile.bits}
    per_group = group_crossings(bases["layers"], profile)
    crossings = per_row(bases["snn"], per_group)
    placed = core_map(bases["layers"], profile, bases["activity"]) if _needs_cores(profile) else None
    ops_obs = event_driven_ops(bases["snn"], profile, crossings, *_network(bases["snn"], profile, placed))
    ops_zero = event_driven_ops(bases["snn_zero"], profile, crossings, *_network(bases["snn_zero"], profile, placed))
    priced = {w: price(ops_obs, profile, w, system="snn") for w in SCENARIOS}
    base = {w: price(ops_zero, profile, w, system="snn") for w in SCENARIOS}
    spike = {w: {c: priced[w][c] - base[w][c] for c in priced[w]} for w in SCENARIOS}
    frames.append(_long(ops_obs, priced, spike, snn_meta))
    times = _times(ops_obs, profile, placed)
    if times is not None:
        timing.append(timing_rows(times, {"profile": profile.name, "system": "snn", "timing": profile.model["timing"]}))
        if profile.model["static"] == "power-x-latency":
            idle = _times(ops_zero, profile, placed)
            frames.append(_static_rows(profile, times, idle, snn_meta, _chips(placed)))

    # --- ANN: dense from the layers table, or the replayed zero-skipping ANN.
    if ann:
        act_bits = ann_activation_bits(profile, ann_bits, timesteps)
        dataflow = "dense-zero-skip" if zero_skip else "dense"
        ann_meta = {"profile": profile.name, "system": "ann", "dataflow": dataflow, "bits": act_bits}
        placed = placed.evenly() if placed is not None and placed.split_by != "even" else placed  # dense: every neuron
        destinations, hops = _network(bases["ann"], profile, placed)
        ops_ann = dense_ann_ops(bases["ann"], profile, act_bits=act_bits, crossings=per_row(bases["ann"], per_group),
                                destinations=destinations, hops=hops)
        priced_ann = {w: price(ops_ann, profile, w, system="ann", act_bits=act_bits) for w in SCENARIOS}
        zeros = {w: {c: np.zeros_like(v) for c, v in priced_ann[w].items()} for w in SCENARIOS}
        frames.append(_long(ops_ann, priced_ann, zeros, ann_meta))
        times = _times(ops_ann, profile, placed)
        if times is not None:
            timing.append(timing_rows(times, {"profile": profile.name, "system": "ann", "timing": profile.model["timing"]}))
            if profile.model["static"] == "power-x-latency":
                frames.append(_static_rows(profile, times, None, ann_meta, _chips(placed)))
    breakdown = pd.concat(frames, ignore_index=True)
    breakdown["step_seconds"] = _step_seconds(breakdown, timing)
    return breakdown[BREAKDOWN_COLUMNS], timing


def _network(base: dict, profile: Profile, placed: CoreMap | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per row, messages per spike (one per destination core where the profile prices them
    and the cores are known: :meth:`CoreMap.destinations_per_row`, else None: one) and the
    hops they travel (:meth:`CoreMap.hops_per_row`, None where the profile states no mesh)."""
    if placed is None:
        return None, None
    destinations = placed.destinations_per_row(base["layer"], base["t"]) if _prices_messages(profile) else None
    return destinations, placed.hops_per_row(base["layer"], base["t"])


def _prices_messages(profile: Profile) -> bool:
    """The profile charges energy or time per message to a destination core."""
    return any(name in profile.constants for name in MESSAGE_CONSTANTS)


def _needs_cores(profile: Profile) -> bool:
    """The core placement is read by a timing model, by a per-message network price and by
    hops counted on the chip's mesh."""
    return profile.model.get("timing", "none") != "none" or _prices_messages(profile) or _counts_hops(profile)


def _counts_hops(profile: Profile) -> bool:
    """The profile states its mesh: a message's hops are counted between tiles."""
    return profile.capacity is not None and bool(profile.capacity.mesh_rows)


def _step_seconds(breakdown: pd.DataFrame, timing: list[pd.DataFrame]) -> np.ndarray:
    """Each row's step time (NaN without a timing model): energy / step_seconds is that row's mean power."""
    if not timing:
        return np.full(len(breakdown), np.nan)
    steps = pd.concat(timing, ignore_index=True).set_index(["system", "t"])["seconds"]
    keys = pd.MultiIndex.from_arrays([breakdown["system"], breakdown["t"]])
    return steps.reindex(keys).to_numpy(dtype=float)


def estimate(
    counts: Counts | str | Path,
    profile: Profile | str | Path | Sequence[Profile | str | Path],
    *,
    ann: bool = True,
    ann_counts: Counts | str | Path | None = None,
    ann_bits: str | int = "same",
) -> pd.DataFrame:
    """Energy breakdown of an SNN replay, and of its equivalent ANN, on one or more profiles.

    Parameters
    ----------
    counts : Counts, str or pathlib.Path
        The SNN's counts (or their directory).
    profile : Profile, name, path, or a sequence of them
        Hardware profile(s); see :func:`hw_models.list_profiles`.
    ann : bool
        Also price the equivalent ANN (default True).
    ann_counts : Counts, str or pathlib.Path, optional
        A replayed ANN counts directory (``graph.kind == 'ann'``). When given, the ANN is
        priced with zero-skipping (the dense dataflow performing only MACs with a non-zero input);
        otherwise the dense ANN is built from the SNN's layers table.
    ann_bits : {'same', 'matched'} or int
        ANN activation width: the profile's (``same``), ``ceil(log2(T + 1))``
        (``matched``), or a given integer. Only integer-arithmetic profiles change it.

    Returns
    -------
    pandas.DataFrame
        Long format, one row per profile x system x layer x timestep x component, with
        columns ``profile, system ('snn'|'ann'), dataflow ('event-driven'|'dense'|'dense-zero-skip'),
        bits, layer, layer_index, t, component, energy_pj, energy_low_pj,
        energy_high_pj, spike_driven_pj, spike_driven_low_pj, spike_driven_high_pj,
        step_seconds``. Energies are picojoules per inference; ``step_seconds`` is the time of
        the row's step on the profile's timing model (NaN without one). Static rows use
        layer ``'(static)'``. (:func:`estimate_with_time` also gives the time table.)

    Raises
    ------
    EnergyError
        Bad counts, unknown or malformed profile, or a bad option.

    Examples
    --------
    >>> from hw_models import summarize
    >>> from hw_models.synthetic import synthetic_counts
    >>> counts = synthetic_counts()
    >>> b = estimate(counts, ["cmos45-fp32-arith", "loihi"])
    >>> summarize(b, counts)[["profile", "ratio"]].round(4)
                 profile   ratio
    0  cmos45-fp32-arith  0.1421
    1              loihi  0.4606
    """
    return estimate_with_time(counts, profile, ann=ann, ann_counts=ann_counts, ann_bits=ann_bits)[0]


def estimate_with_time(
    counts: Counts | str | Path,
    profile: Profile | str | Path | Sequence[Profile | str | Path],
    *,
    ann: bool = True,
    ann_counts: Counts | str | Path | None = None,
    ann_bits: str | int = "same",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`estimate`, and the time of every step of the SNN and the ANN on each profile.

    Returns
    -------
    breakdown : pandas.DataFrame
        As :func:`estimate` returns it.
    timing : pandas.DataFrame
        One row per profile x system x timestep for the profiles with a timing model
        (:mod:`hw_models.timing`): ``profile, system, timing, t, seconds, seconds_low,
        seconds_high, bound_by, busy_seconds, barrier_seconds, load``.
    """
    snn = _as_counts(counts)
    if snn.kind != "snn":
        raise EnergyError(f"{snn.label('summary.json')}: graph.kind must be 'snn' for the counts to estimate (got {snn.kind!r})")
    replay = None
    if ann_counts is not None:
        replay = check_ann_counts(snn, _as_counts(ann_counts))
    profiles = [profile] if isinstance(profile, (Profile, str, Path)) else list(profile)
    if not profiles:
        raise EnergyError("no profile given")
    loaded = [load_profile(p) for p in profiles]
    names = [p.name for p in loaded]
    if len(set(names)) != len(names):
        raise EnergyError(f"profile {next(n for n in names if names.count(n) > 1)!r} given twice")
    # Validate the option once, before any work.
    ann_activation_bits(loaded[0], ann_bits, snn.timesteps)
    # Per-inference arrays do not depend on the profile: build them once.
    bases = {
        "layers": snn.layers,
        "activity": snn.activity,
        "snn": per_inference(snn.counts, snn.layers),
        "snn_zero": per_inference(zero_spike_table(snn.counts, snn.layers), snn.layers),
    }
    if ann:
        twin = replay if replay is not None else dense_ann_counts(snn)
        bases["ann"] = per_inference(twin.counts, twin.layers)
    parts = [_estimate_one(p, bases, snn.timesteps, ann, replay is not None, ann_bits) for p in loaded]
    timing = [frame for _, frames in parts for frame in frames]
    return (pd.concat([breakdown for breakdown, _ in parts], ignore_index=True),
            pd.concat(timing, ignore_index=True) if timing else pd.DataFrame(columns=TIMING_COLUMNS))


def ratio_function(counts: Counts, *, ann_counts: Counts | None = None, ann_bits: str | int = "same"):
    """A function ``profile -> SNN/ANN energy ratio`` (constants at their value) for ``counts``.

    The same totals as :func:`estimate` and :func:`hw_models.summary.summarize` give,
    without building the long table: the per-inference arrays are made once, so pricing
    many variants of a profile (:mod:`hw_models.sensitivity`) costs one ``price`` each.
    """
    replay = check_ann_counts(counts, ann_counts) if ann_counts is not None else None
    snn_base = per_inference(counts.counts, counts.layers)
    twin = replay if replay is not None else dense_ann_counts(counts)
    ann_base = per_inference(twin.counts, twin.layers)
    steps = counts.timesteps
    mapped: dict = {}  # the mapping depends on the chip, not on the constants a variant moves
    placements: dict = {}

    def ratio(profile: Profile) -> float:
        static = profile.model["static"] == "power-x-latency"
        key = (profile.capacity, profile.model["inter_chip"])
        if key not in mapped:
            mapped[key] = group_crossings(counts.layers, profile)
        cores_key = (profile.capacity, counts_messages(profile))  # what core_map's result depends on
        if (static or _prices_messages(profile) or _counts_hops(profile)) and cores_key not in placements:
            placements[cores_key] = core_map(counts.layers, profile, counts.activity)
        placed = placements.get(cores_key)
        snn_ops = event_driven_ops(snn_base, profile, per_row(snn_base, mapped[key]), *_network(snn_base, profile, placed))
        snn = sum(float(v.sum()) for v in price(snn_ops, profile, system="snn").values())
        act_bits = ann_activation_bits(profile, ann_bits, steps)
        even = placed.evenly() if placed is not None and placed.split_by != "even" else placed  # dense: every neuron
        destinations, hops = _network(ann_base, profile, even)
        ops = dense_ann_ops(ann_base, profile, act_bits=act_bits, crossings=per_row(ann_base, mapped[key]),
                            destinations=destinations, hops=hops)
        ann = sum(float(v.sum()) for v in price(ops, profile, system="ann", act_bits=act_bits).values())
        if static:  # W x s, in pJ, over the SNN's steps and the ANN's pass, on every chip the model holds
            power = profile.param("static_power") * _chips(placed)
            snn += power * step_times(snn_ops, profile, placed).seconds.sum() * 1e12
            ann += power * step_times(ops, profile, even).seconds.sum() * 1e12
        return snn / ann

    return ratio
