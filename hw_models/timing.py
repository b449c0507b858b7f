"""How long an inference takes on a profile's hardware: time per timestep from the replay's activity.

A profile's ``model.timing`` picks one of three models, each constant cited in the
profile like the energies (with low and high ends: times are evaluated three times, as
energies are):

``per-core``  (Loihi) The model is mapped on cores as :mod:`hw_models.capacity` maps it
              (a neuron group's neurons on cores of their own). In a step every core
              works through its share of its group's work, and the step ends when the
              busiest core is done and the cores have synchronised. A core's neuron half
              (updating its neurons, sending their spikes) and its synapse half (taking in
              the spikes that reach it and their synaptic ops) overlap, so its time is the
              longer of the two, as in SANA-FE's simple timing model (Boyle et al., IEEE
              TCAD 2025, fitted to Loihi)::

                  neuron half of g  = (neuron updates x t_neuron + spikes sent x t_spike
                                       + messages sent x t_message_out) / cores(g)
                  synapse half of g = synaptic ops x t_synop / cores(g)
                                      + sum over sources f of spikes(f) x reach(f, g) x t_message
                  step time         = max over groups of max(neuron half, synapse half) + t_barrier

              With ``t_neuron_inactive``, a clock-driven chip's neurons that no input
              reached in the step take that instead of ``t_neuron`` (read, not updated).

              A convolution's synaptic ops (a kind with ``SHARED_SYNAPSES``) take
              ``t_synop_conv`` where the profile gives one.

              The synaptic ops of a group are those of the synaptic layers (and the
              element-wise nodes: pooling windows, residual adds) whose output it
              integrates; the messages it receives are the output spikes of the groups
              that feed it and the input's events that reach it (the input comes from
              off the cores, but each event still arrives as a message). A spike is one
              message to every core holding one of its targets: ``reach(f, g)``, the
              messages a core of ``g`` takes per spike of ``f`` (:mod:`hw_models.reach`),
              is 1 for a dense link and less for a convolution whose window covers only
              some of ``g``'s cores. ``t_barrier`` may step by the tiles in use (its
              ``by_tiles``, read where ``[capacity]`` gives ``cores_per_tile``; the groups
              take consecutive cores from core 0), as SANA-FE's Loihi table does. Work and
              messages are split evenly over a group's cores (the mean sample's activity
              on balanced cores, a lower bound on a real placement's busiest core, whose
              neurons may fire more than the group's mean), or, where the replay recorded
              a group's spikes, as they fall on its cores (:mod:`hw_models.core_split`:
              each core's own spikes, messages sent and received). The timing table's
              ``core_split`` says which.
``fixed-tick`` (TrueNorth; SpiNNaker as it runs, in real time) Every step takes one
              ``tick`` whatever the activity. Where the profile also gives per-core
              latencies, the busiest core's load (its time / the tick) is reported: above
              1 the chip cannot keep to its tick.
``throughput`` (the CMOS accelerators) Each layer's step is bounded by its arithmetic at
              ``ops_per_cycle`` per cycle of ``clock`` (synaptic ops, neuron arithmetic and
              element-wise ops alike), its SRAM traffic at ``sram_bytes_per_cycle`` and its
              DRAM traffic at ``dram_bandwidth``, whichever is slowest (a roofline: compute
              and memory perfectly overlapped); the layers of a step run one after another,
              and the steps too. Only the memory traffic the profile prices counts (its
              ``weight_memory``, ``potential_memory``, ``routing`` and ``dram`` switches),
              and only against the bandwidths it states (``sram_bytes_per_cycle`` and
              ``dram_bandwidth`` are optional: without one, that traffic is not a limit).

An inference takes the sum of its steps: one sample at a time, each step started when the
previous one has ended. A chip that pipelines layers (Loihi delivers a spike of step t to
the next layer at step t + 1) reaches the same throughput but its output appears
``depth - 1`` steps later; a chip that runs several samples at once on spare cores would
divide the time per inference, not the latency. The ANN baseline gets time from the same
model: one pass of its dense operations (on a neuromorphic chip, as the graded events of
``model.ann``).

Everything here is per inference: the operation arrays come from
:func:`hw_models.ops.event_driven_ops` / :func:`hw_models.ops.dense_ann_ops`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .profile import Profile

__all__ = ["CoreMap", "StepTimes", "core_map", "step_times", "TIMING_COLUMNS", "TIMING_CONSTANTS"]

#: The constants only time depends on (energy too where static power x time is priced).
TIMING_CONSTANTS = ("t_synop", "t_neuron", "t_neuron_inactive", "t_spike", "t_message_out", "t_message", "t_barrier", "tick", "clock", "ops_per_cycle",
                    "sram_bytes_per_cycle", "dram_bandwidth")

#: Constants charged per message to a destination core: where a profile gives one, a
#: spike's messages are counted by the cores it reaches (:meth:`CoreMap.destinations`).
MESSAGE_CONSTANTS = ("message", "t_message_out")

#: Columns of the timing table (one row per profile, system and timestep).
TIMING_COLUMNS = ["profile", "system", "timing", "t", "seconds", "seconds_low", "seconds_high", "bound_by", "busy_seconds",
                  "barrier_seconds", "load", "core_split"]


@dataclass(frozen=True)
class StepTimes:
    """Time of each timestep of one system on one profile, at one end of the constants.

    Attributes
    ----------
    seconds : numpy.ndarray
        ``(T,)`` seconds per step (one entry for the ANN's single pass).
    bound_by : list of str
        Per step, what bounds it: the busiest neuron group (``per-core``), ``tick``, or the
        slowest layer and its limit (``throughput``, e.g. ``conv1 (sram)``).
    busy_seconds : numpy.ndarray
        Per step, the busiest core's (per-core) or the layers' (throughput) work time,
        before any barrier; the tick's share of work for ``fixed-tick`` with latencies.
    barrier_seconds : float
        What each step adds beyond the work (the barrier; for a tick, the idle part is in
        ``seconds - busy_seconds``).
    load : numpy.ndarray
        Per step, ``busy_seconds / tick`` for ``fixed-tick`` (NaN otherwise, or without
        per-core latencies).
    core_split : str
        How a group's work was divided over its cores: ``even``, ``recorded (N samples)``
        (:mod:`hw_models.core_split`), or empty where no core is modelled.
    """

    seconds: np.ndarray
    bound_by: list[str]
    busy_seconds: np.ndarray
    barrier_seconds: float
    load: np.ndarray
    core_split: str = ""


@dataclass(frozen=True)
class CoreMap:
    """Where a model's neuron groups sit on a profile's cores, as the per-core timing reads it.

    It depends on the layers table and the profile's ``[capacity]`` only, not on the
    activity or on which end of the constants is priced: :func:`core_map` makes it once per
    model and chip, and every :func:`step_times` call of an estimate reads it.

    Attributes
    ----------
    cores : dict
        Neuron group -> the cores it occupies (:func:`hw_models.capacity.map_model`).
    reached : dict
        Node -> the neuron groups its output reaches without passing another group.
    chips : int
        Chips the model occupies (static power is per chip).
    input_readers : frozenset
        The nodes that read the model's input: the input's events arrive as messages at
        the cores of the groups these nodes reach.
    tiles : int or None
        Tiles in use, ``ceil(cores / cores_per_tile)`` (the groups take consecutive
        cores); None where ``[capacity]`` states no ``cores_per_tile``.
    reach : dict
        ``(source, group)`` -> messages a core of ``group`` receives per spike of
        ``source`` (a group, or ``""`` for the input) :func:`hw_models.reach.reach_fractions`;
        a pair not listed counts 1 (every core reached). Found only for profiles that
        price a message (``t_message``, ``message``).
    split : dict
        Group -> :class:`hw_models.core_split.SliceSplit`, how its work divides over its
        cores; empty: evenly (:meth:`evenly`).
    split_by : str
        ``even`` or ``recorded (N samples)``.
    hops : dict
        Group -> hops one of its spikes travels in all, on average over its neurons
        (:func:`hw_models.core_split.neuron_hops`); empty where the profile states no mesh.
    """

    cores: dict[str, int]
    reached: dict[str, list[str]]
    chips: int
    input_readers: frozenset = frozenset()
    tiles: int | None = None
    reach: dict = field(default_factory=dict)
    split: dict = field(default_factory=dict)
    split_by: str = "even"
    hops: dict = field(default_factory=dict)

    def evenly(self) -> CoreMap:
        """The same placement with every group's work split evenly over its cores (the
        ANN's dense events, or a replay without a recording)."""
        from .core_split import even_split

        feeders = _feeders(self.reached, list(self.cores))
        for reader in self.input_readers:
            for g in [reader] if reader in self.cores else self.reached.get(reader, []):
                feeders[g].append("")
        return replace(self, split=even_split(self.cores, feeders, self.reach), split_by="even")

    def destinations_per_row(self, layer: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Messages one spike of each row's node sends at the row's step: the recorded
        split's where there is one, else :meth:`destinations` (0 for nodes that are not groups)."""
        return self._per_row(layer, t, self.destinations(), "destinations")

    def hops_per_row(self, layer: np.ndarray, t: np.ndarray) -> np.ndarray | None:
        """Hops one spike of each row's node travels at the row's step (as
        :meth:`destinations_per_row`); None where the profile states no mesh."""
        return self._per_row(layer, t, self.hops, "hops") if self.hops else None

    def _per_row(self, layer: np.ndarray, t: np.ndarray, mean: dict[str, float], recorded: str) -> np.ndarray:
        out = np.array([mean.get(name, 0.0) for name in layer])
        for g, split in self.split.items():
            per_step = getattr(split, recorded)
            if per_step is not None:
                rows = np.flatnonzero(np.asarray(layer) == g)
                steps = np.asarray(t)[rows]
                if len(rows) and steps.max() >= len(per_step):
                    raise ValueError(f"the recording of {g!r} has {len(per_step)} steps, the counts more")
                out[rows] = per_step[steps]
        return out

    def destinations(self) -> dict[str, float]:
        """Group -> messages one of its spikes sends, one to each core holding one of its
        targets: the sum over the groups it feeds of ``reach x cores`` (0: it feeds none)."""
        return {f: float(sum(self.reach.get((f, g), 1.0) * self.cores[g] for g in self.reached.get(f, [])))
                for f in self.cores}


def counts_messages(profile: Profile) -> bool:
    """The profile prices a message to a destination core (received, sent or its energy):
    :func:`core_map` then finds which cores each spike reaches."""
    return any(name in profile.constants for name in MESSAGE_CONSTANTS + ("t_message",))


def core_map(layers: pd.DataFrame, profile: Profile, activity=None) -> CoreMap | None:
    """The core placement of ``layers`` on ``profile`` (None: the profile states no capacity).

    ``activity`` (:class:`hw_models.core_split.NeuronActivity`, optional): recorded spikes
    that split each recorded group's work over its cores; without it, evenly. Only a
    profile that prices messages (:func:`counts_messages`) reads it.
    """
    from .capacity import _consumer_groups, _readers, map_model
    from .core_split import neuron_hops, recorded_split
    from .reach import reach_fractions

    mapping = map_model(layers, profile)
    if mapping is None:
        return None
    cores = dict(zip(mapping.layers["layer"], (int(c) for c in mapping.layers["cores"])))
    readers = _readers(layers)
    input_readers = frozenset(r for name in layers.loc[layers["kind"] == "input", "layer"] for r in readers.get(name, []))
    per_tile = profile.capacity.cores_per_tile
    tiles = math.ceil(sum(cores.values()) / per_tile) if per_tile else None
    reach = {}
    if counts_messages(profile):
        inputs = set(layers.loc[layers["kind"] == "input", "layer"])
        fractions = reach_fractions(layers, mapping.layers, profile.capacity.neurons_per_core)
        reach = {("" if source in inputs else source, group): f for (source, group), f in fractions.items()}
    hops = neuron_hops(layers, mapping.layers, profile.capacity) if profile.capacity.mesh_rows else {}
    placed = CoreMap(cores, _consumer_groups(layers, set(cores)), mapping.chips, input_readers, tiles, reach,
                     hops={g: float(h.mean()) if len(h) else 0.0 for g, h in hops.items()}).evenly()
    if activity is None or not counts_messages(profile):
        return placed
    split = recorded_split(layers, mapping.layers, profile.capacity.neurons_per_core, activity, hops or None)
    return replace(placed, split=split, split_by=activity.describe())


def step_times(ops: dict, profile: Profile, placed: CoreMap | None, which: str = "value") -> StepTimes | None:
    """The time of every step of ``ops`` on ``profile`` (None where it models no timing).

    Parameters
    ----------
    ops : dict of numpy.ndarray
        Per-inference operations of every counts row (:mod:`hw_models.ops`).
    profile : Profile
    placed : CoreMap or None
        ``core_map(layers, profile)``: the core mapping ``per-core`` needs and
        ``fixed-tick`` reads for the busiest core's load (None without a ``[capacity]``).
    which : {"value", "low", "high"}
        Which end of every timing constant.

    Returns
    -------
    StepTimes or None
    """
    model = profile.model.get("timing", "none")
    steps = np.unique(ops["t"])
    if model == "per-core":
        if placed is None:
            raise ValueError(f"profile {profile.name!r}: per-core timing needs a [capacity] table to map the model on cores")
        busy, bound = _busiest_core(ops, profile, placed, which, steps)
        barrier = _barrier(profile, placed, which)
        return StepTimes(busy + barrier, bound, busy, barrier, np.full(len(steps), np.nan), placed.split_by)
    if model == "fixed-tick":
        tick = profile.param("tick", which)
        if all(name in profile.constants for name in ("t_synop", "t_neuron", "t_spike")) and placed is not None:
            busy, bound = _busiest_core(ops, profile, placed, which, steps)
            load = busy / tick
        else:
            busy, bound, load = np.full(len(steps), np.nan), ["tick"] * len(steps), np.full(len(steps), np.nan)
        return StepTimes(np.full(len(steps), tick), ["tick"] * len(steps) if np.isnan(load).all() else
                         [f"tick ({b} busiest)" for b in bound], busy, 0.0, load,
                         placed.split_by if not np.isnan(load).all() else "")
    if model == "throughput":
        return _throughput(ops, profile, which, steps)
    return None


# ----------------------------------------------------------------------------- per core


def _group_of_rows(ops: dict, reached: dict[str, list[str]], groups: list[str]) -> dict[str, list[str]]:
    """For every row's layer, the neuron groups its work lands on: a group itself, or the
    groups a synaptic or element-wise node's output reaches without passing another group
    (``reached``: :func:`hw_models.capacity._consumer_groups`)."""
    return {name: [name] if name in groups else reached.get(name, []) for name in pd.unique(ops["layer"])}


def _feeders(reached: dict[str, list[str]], groups: list[str]) -> dict[str, list[str]]:
    """For every group, the groups whose spikes reach it (through synaptic layers, pools, adds)."""
    feeders: dict[str, list[str]] = {g: [] for g in groups}
    for source in groups:
        for target in reached.get(source, []):
            feeders[target].append(source)
    return feeders


def _barrier(profile: Profile, placed: CoreMap, which: str) -> float:
    """The per-step barrier: the ``by_tiles`` table at the tiles in use where the profile
    gives one and counts tiles (the same at every end: a measured table), else ``t_barrier``."""
    constant = profile.constants["t_barrier"]
    if constant.by_tiles and placed.tiles is not None:
        at_or_below = [seconds for tiles, seconds in constant.by_tiles if tiles <= placed.tiles]
        return at_or_below[-1] if at_or_below else constant.by_tiles[0][1]
    return constant.at(which)


def _busiest_core(ops: dict, profile: Profile, placed: CoreMap, which: str, steps: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Per step, the work time of the busiest core and its group (module docstring).

    A core's two halves overlap: its neurons (updates and spikes sent) and its synapses
    (the ops of the spikes it receives, and receiving them); its time is the longer one.
    """
    cores, reached = placed.cores, placed.reached
    groups = list(cores)
    t_synop, t_neuron, t_spike = (profile.param(n, which) for n in ("t_synop", "t_neuron", "t_spike"))
    t_conv = profile.param("t_synop_conv", which) if "t_synop_conv" in profile.constants else t_synop
    t_message = profile.param("t_message", which) if "t_message" in profile.constants else 0.0
    t_out = profile.param("t_message_out", which) if "t_message_out" in profile.constants else 0.0
    # a neuron no input reached: only read, not updated, where the profile times the two apart
    t_idle = profile.param("t_neuron_inactive", which) if "t_neuron_inactive" in profile.constants else None
    lands_on = _group_of_rows(ops, reached, groups)
    index = {t: k for k, t in enumerate(steps)}
    zeros = lambda: {g: np.zeros(len(steps)) for g in groups}  # noqa: E731
    updates, spiking, sending, synapses, sent = zeros(), zeros(), zeros(), zeros(), zeros()
    sent[""] = np.zeros(len(steps))  # the input's events: messages from off the cores
    arriving = ops["in_events_binary"] + ops["in_events_graded"] + ops["in_events_analog"]
    for r, (name, t, shared) in enumerate(zip(ops["layer"], ops["t"], ops["shared_synapses"])):
        targets = lands_on.get(name, [])
        if not targets:
            continue  # the input's encoder, or a node reaching no neurons: not on the cores
        k = index[t]
        per_op = t_conv if shared else t_synop
        synaptic = (ops["ac"][r] + ops["mac"][r] + ops["elementwise"][r]) * per_op / len(targets)
        for g in targets:
            synapses[g][k] += synaptic
        if name in placed.input_readers:
            sent[""][k] = max(sent[""][k], arriving[r])  # each reader sees the same events
        if name in updates:  # the group's own neurons and the spikes they send
            updates[name][k] += (ops["nrn_active"][r] * t_neuron + ops["nrn_inactive"][r] * t_idle if t_idle is not None
                                 else ops["nrn_updates"][r] * t_neuron)
            spiking[name][k] += ops["spikes_out"][r] * t_spike
            sending[name][k] += ops["core_messages"][r] * t_out
            sent[name][k] += ops["spikes_out"][r]
    work = []
    for g in groups:  # per slice of the group's cores (hw_models.core_split)
        split = placed.split[g]
        rows = {len(a) for a in (split.spikes, split.messages, *split.received.values())} - {1}
        if rows and rows != {len(steps)}:
            raise ValueError(f"the recorded split of {g!r} has {sorted(rows)} steps, the counts {len(steps)}")
        neuron = (updates[g][:, None] * split.neurons[None, :] + spiking[g][:, None] * split.spikes
                  + sending[g][:, None] * split.messages)
        received = sum((sent[f][:, None] * share for f, share in split.received.items() if f in sent),
                       np.zeros((len(steps), len(split.neurons))))
        total = received.sum(axis=1, keepdims=True)
        # synaptic ops follow the messages each slice takes in (core_split's one approximation)
        ops_share = np.where(total > 0, received / np.maximum(total, 1e-300), split.neurons[None, :])
        synapse = synapses[g][:, None] * ops_share + received * t_message
        work.append(np.maximum(neuron, synapse).max(axis=1) / split.cores_per_slice)
    table = np.vstack(work) if groups else np.zeros((1, len(steps)))
    busiest = table.argmax(axis=0)
    return table.max(axis=0), [groups[i] if groups else "" for i in busiest]


# ----------------------------------------------------------------------------- throughput


def _throughput(ops: dict, profile: Profile, which: str, steps: np.ndarray) -> StepTimes:
    """Roofline per layer and step, layers and steps in sequence (module docstring)."""
    # Rates: the short time comes from the fast end, so the low scenario takes the high rates.
    fast = {"value": "value", "low": "high", "high": "low"}[which]
    clock = profile.param("clock", fast)
    compute_rate = profile.param("ops_per_cycle", fast) * clock
    # A bandwidth the profile does not state is not a limit here (it says so in its notes).
    sram_rate = profile.param("sram_bytes_per_cycle", fast) * clock if "sram_bytes_per_cycle" in profile.constants else np.inf
    dram_rate = profile.param("dram_bandwidth", fast) if "dram_bandwidth" in profile.constants else np.inf
    m = profile.model
    arithmetic = (ops["ac"] + ops["mac"] + ops["elementwise"] + ops["nrn_mult"] + ops["nrn_add"] + ops["nrn_cmp"]
                  + ops["nrn_reset"])
    # The memory traffic the profile models (an arithmetic-only profile is compute-bound by its own terms).
    bits = np.zeros_like(arithmetic)
    if m["weight_memory"] == "sram":
        bits = bits + (ops["weight_reads"] + ops["bias_reads"]) * ops["weight_bits"]
    if m["potential_memory"].startswith("sram"):
        bits = bits + ops["pot_accesses"] * ops["pot_bits"]
    if m["routing"] == "addressing":
        bits = bits + ops["in_reads_bin"] + ops["in_reads_multi"] * ops["in_bits_multi"] + ops["out_writes"] * ops["out_bits"]
    sram_bytes = bits / 8.0
    limits = np.vstack([arithmetic / compute_rate, sram_bytes / sram_rate, ops["dram_words"] * 8.0 / dram_rate])
    row_seconds = limits.max(axis=0)
    names = np.array(["compute", "sram", "dram"])[limits.argmax(axis=0)]
    seconds, bound = np.zeros(len(steps)), []
    for k, t in enumerate(steps):
        rows = np.flatnonzero(ops["t"] == t)
        seconds[k] = row_seconds[rows].sum()
        slowest = rows[row_seconds[rows].argmax()] if len(rows) else None
        bound.append(f"{ops['layer'][slowest]} ({names[slowest]})" if slowest is not None and seconds[k] > 0 else "")
    return StepTimes(seconds, bound, seconds.copy(), 0.0, np.full(len(steps), np.nan))


def timing_rows(times: dict[str, StepTimes], meta: dict) -> pd.DataFrame:
    """The timing table's rows of one system on one profile from its times at the three ends."""
    value = times["value"]
    return pd.DataFrame({
        **{key: [v] * len(value.seconds) for key, v in meta.items()},
        "t": np.arange(len(value.seconds)),
        "seconds": value.seconds,
        "seconds_low": times["low"].seconds,
        "seconds_high": times["high"].seconds,
        "bound_by": value.bound_by,
        "busy_seconds": value.busy_seconds,
        "barrier_seconds": value.barrier_seconds,
        "load": value.load,
        "core_split": value.core_split,
    })[TIMING_COLUMNS]
