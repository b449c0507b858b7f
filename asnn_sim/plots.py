"""Figures for any graph, from what :func:`asnn_sim.api.simulate` and :func:`~asnn_sim.api.energy` return.

Each function takes a result, draws one figure and returns a
:class:`matplotlib.figure.Figure`; a notebook shows it, ``fig.savefig(path)`` writes it.
Nothing global is touched (no ``pyplot``, no backend switch, no ``rcParams``), so they are
safe in notebooks, scripts and threads. Timesteps are numbered from 0, as in every table.

======================================  =========================================  ======================================
function                                draws                                      from
======================================  =========================================  ======================================
:func:`raster`                          spikes of one sample, one band per layer   ``simulate(..., record=True)``
:func:`firing_rates`                    firing rate per layer over the steps       any ``simulate`` result (or a recording)
:func:`membranes`                       membrane traces of chosen neurons          ``simulate(..., record_membranes=True)``
:func:`energy_breakdown`                energy per layer and component             ``energy(...)``
:func:`accuracy_by_timestep`            accuracy when stopping after t + 1 steps   ``simulate`` results with labels
======================================  =========================================  ======================================

Examples
--------
>>> import asnn_sim.api as asnn
>>> from asnn_sim import plots
>>> graph = (asnn.GraphBuilder((1, 8, 8), encoding="temporal", timesteps=4, seed=0)
...          .conv(4, 3, padding=1).neuron(leak=0.9).flatten().linear(10).readout().build())
>>> images, labels = asnn.load_images("digits", limit=4)
>>> result = asnn.simulate(graph, images, labels, record=True, record_membranes=True)
>>> fig = plots.raster(result, sample=0)
>>> fig = plots.membranes(result, "lif1", graph=graph)
>>> from matplotlib.figure import Figure
>>> isinstance(fig, Figure), len(fig.axes)
(True, 1)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from asnn_sim.graph.ir import Graph
    from asnn_sim.sim import Recording, SimResult
    from hw_models import EnergyResult

__all__ = ["accuracy_by_timestep", "energy_breakdown", "firing_rates", "membranes", "raster"]


def _recording(result, what: str, membranes: bool = False) -> Recording:
    """The recording of a :class:`SimResult` (or a :class:`Recording` itself), or a one-line error."""
    rec = result if hasattr(result, "spikes") and hasattr(result, "samples") else getattr(result, "recording", None)
    if rec is None:
        raise ValueError(f"{what} needs recorded spikes: simulate(..., record=True) (or the names of the layers to record)")
    if membranes and not rec.membranes_after_reset:
        raise ValueError(f"{what} needs recorded membranes: simulate(..., record=..., record_membranes=True)")
    return rec


def _sample_position(rec: Recording, sample: int, what: str) -> int:
    """Where replayed sample ``sample`` sits in the recording's arrays."""
    where = np.flatnonzero(rec.samples == sample)
    if where.size == 0:
        held = f"0 to {int(rec.samples[-1])}" if len(rec.samples) else "none"
        raise ValueError(f"{what}: sample {sample} was not recorded (recorded samples: {held}); "
                         "raise record_samples or pick another")
    return int(where[0])


def _nodes(rec: Recording, nodes: Sequence[str] | None, what: str) -> list[str]:
    if nodes is None:
        return rec.nodes
    nodes = [nodes] if isinstance(nodes, str) else list(nodes)
    missing = [n for n in nodes if n not in rec.spikes]
    if missing:
        raise ValueError(f"{what}: layer {missing[0]!r} was not recorded; the recording holds {', '.join(rec.nodes)}")
    return nodes


def raster(result: SimResult | Recording, sample: int = 0, *, nodes: Sequence[str] | None = None,
           frames=None, layout: str = "TN", title: str | None = None, color: str = "black") -> Figure:
    """Spike raster of one sample: one band per recorded layer, one tile per timestep.

    Each tile shows the layer's neurons wrapped row-major (neuron 0 top left), dark where
    a neuron fired at that step; the number above a tile is that step's spike count (the
    report's raster, :func:`asnn_sim.app.plots.activity.plot_spike_raster`, explains the design).

    Parameters
    ----------
    result : SimResult or Recording
        From ``simulate(..., record=...)``.
    sample : int
        Index of the sample in the replay (it must be among the recorded ones).
    nodes : list of str, optional
        The layers to draw (default every recorded one), top to bottom.
    frames : numpy.ndarray, optional
        The input the replay read (the frames given to ``simulate``, ``(T, N, C, H, W)``
        with ``layout="TN"`` or ``(N, T, ...)`` with ``"NT"``): drawn as images in a band
        of their own at the top, each step as spikes when it is 0/1 and in grey levels
        otherwise.
    layout : {"TN", "NT"}
    title : str, optional
    color : str
        Colour of a spike.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from asnn_sim.app.plots.activity import spike_raster_figure

    rec = _recording(result, "raster")
    at = _sample_position(rec, sample, "raster")
    bands = [(name, rec.spikes[name][:, at]) for name in _nodes(rec, nodes, "raster")]
    if frames is not None:
        bands.insert(0, _input_band(frames, layout, sample, rec.timesteps))
    return spike_raster_figure(bands, title or f"Spike raster of sample {sample}", color=color)


def _input_band(frames, layout: str, sample: int, timesteps: int) -> tuple:
    """The raster's ``(name, frames, kinds)`` triple for one sample of the input frames."""
    from asnn_sim.graph.encoding import frame_kinds_of

    if layout not in ("TN", "NT"):
        raise ValueError(f"raster: layout must be 'TN' or 'NT'; got {layout!r}")
    frames = np.asarray(frames)
    one = frames[:, sample] if layout == "TN" else frames[sample]
    if one.shape[0] != timesteps:
        raise ValueError(f"raster: the frames have {one.shape[0]} steps but the recording {timesteps}")
    if one.ndim not in (3, 4):
        raise ValueError(f"raster: input frames are drawn as images (T, H, W) or (T, C, H, W); got {one.shape} for a sample")
    kinds = frame_kinds_of(one)
    return ("input", one, kinds)


def firing_rates(result: SimResult | Recording, *, title: str | None = None) -> Figure:
    """Firing rate of every spiking layer at every step (one line per layer) and over the run (bars).

    The rate is output spikes per neuron per sample and step: over every replayed sample
    for a ``simulate`` result (from its counts; nothing need be recorded), over the
    recorded samples for a :class:`~asnn_sim.sim.Recording`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from asnn_sim.app.plots.style import _bottom_legend, _new_figure, _suptitle

    if hasattr(result, "firing_rates") and hasattr(result, "counts"):
        table = result.firing_rates()
        updates = "neuron_updates"
    else:
        table = _recording(result, "firing_rates").firing_rates()
        updates = "neurons"
    table = table.rename(columns={"spikes": "output_spikes"})
    if table.empty:
        raise ValueError("firing_rates: this graph has no spiking layers")
    layers = list(dict.fromkeys(table["layer"]))
    fig = _new_figure((9.0, 3.6))
    ax_t, ax_all = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.2, 1]})
    colors = _layer_colors(layers)
    for name in layers:
        rows = table[table["layer"] == name]
        ax_t.plot(rows["t"], rows["firing_rate"], marker="o", color=colors[name], label=name)
    steps = sorted(set(table["t"]))
    ax_t.set_xticks(steps)
    ax_t.set_xlabel("timestep t (0-based)")
    ax_t.set_ylabel("firing rate\n(spikes per neuron per step)")
    ax_t.set_ylim(bottom=0)
    ax_t.grid(alpha=0.3)
    totals = table.groupby("layer", sort=False)[["output_spikes", updates]].sum()
    overall = (totals["output_spikes"] / totals[updates]).reindex(layers)
    ax_all.barh(range(len(layers)), overall.to_numpy(), color=[colors[n] for n in layers])
    ax_all.set_yticks(range(len(layers)), layers)
    ax_all.invert_yaxis()  # the input side at the top, as in the raster
    ax_all.set_xlabel("over all steps")
    ax_all.grid(axis="x", alpha=0.3)
    if len(layers) > 1:
        _bottom_legend(fig, ax_t.get_legend_handles_labels()[0])
    _suptitle(fig, title or "Firing rate per layer", fontsize=12)
    return fig


def _layer_colors(layers: Sequence[str]) -> dict[str, str]:
    """One colour per layer, in network order, from a colour-blind-safe sequence."""
    import matplotlib as mpl

    cmap = mpl.colormaps["viridis"]
    n = max(1, len(layers) - 1)
    return {name: mpl.colors.to_hex(cmap(0.9 * k / n)) for k, name in enumerate(layers)}


def membranes(result: SimResult | Recording, node: str, neurons: Sequence | None = None, *, sample: int = 0,
              graph: Graph | None = None, title: str | None = None) -> Figure:
    """Membrane traces of a few neurons of one layer for one sample, with their spikes.

    For each step the trace rises to the membrane *before* the reset (a dot; what the
    threshold is tested on); where the neuron fired it drops to the membrane *after* the
    reset (a vertical line, a marker on top), from which the next step starts.

    Parameters
    ----------
    result : SimResult or Recording
        From ``simulate(..., record=..., record_membranes=True)``.
    node : str
        A recorded spiking layer.
    neurons : list, optional
        Neurons to draw: flat indices into the layer's channel-first shape, or index
        tuples (``(c, y, x)``). Default: the (at most) four that fired most in this sample.
    sample : int
        Index of the sample in the replay.
    graph : Graph, optional
        The replayed graph: draws each neuron's threshold as a dashed line.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from asnn_sim.app.plots.style import _bottom_legend, _new_figure, _suptitle

    what = "membranes"
    rec = _recording(result, what, membranes=True)
    (node,) = _nodes(rec, [node], what)
    at = _sample_position(rec, sample, what)
    before = rec.membranes_before_reset[node][:, at]
    after = rec.membranes_after_reset[node][:, at]
    spikes = rec.spikes[node][:, at]
    shape = before.shape[1:]
    flat_before, flat_after, flat_spikes = (a.reshape(len(a), -1) for a in (before, after, spikes))
    chosen = _chosen_neurons(neurons, shape, flat_spikes, what)
    thresholds = None
    if graph is not None:
        thresholds = np.broadcast_to(np.asarray(graph.node(node).threshold, dtype=float), shape).reshape(-1)
    T = len(flat_before)
    fig = _new_figure((8.5, 3.8))
    ax = fig.subplots()
    colors = _layer_colors([str(j) for j in chosen])
    for j in chosen:
        color = colors[str(j)]
        label = f"neuron {tuple(int(i) for i in np.unravel_index(j, shape)) if len(shape) > 1 else j}"
        xs, ys = [], []
        for t in range(T):
            xs += [t, t]
            ys += [flat_before[t, j], flat_after[t, j]]
        ax.plot(xs, ys, color=color, linewidth=1.4, label=label)
        ax.plot(range(T), flat_before[:, j], "o", color=color, markersize=4)
        fired = np.flatnonzero(flat_spikes[:, j])
        ax.plot(fired, flat_before[fired, j], "^", color=color, markersize=8, markeredgecolor="black")
        if thresholds is not None:
            ax.axhline(thresholds[j], color=color, linestyle="--", linewidth=0.9, alpha=0.8)
    ax.set_xticks(range(T))
    ax.set_xlabel("timestep t (0-based)")
    ax.set_ylabel("membrane potential")
    ax.grid(alpha=0.3)
    from matplotlib.lines import Line2D

    handles = ax.get_legend_handles_labels()[0] + [
        Line2D([], [], marker="^", linestyle="none", color="grey", markeredgecolor="black", label="spike (before the reset)")]
    if thresholds is not None:
        handles.append(Line2D([], [], linestyle="--", color="grey", label="threshold"))
    _bottom_legend(fig, handles)
    _suptitle(fig, title or f"Membranes of {node}, sample {sample}", fontsize=12)
    return fig


def _chosen_neurons(neurons, shape: tuple, spikes: np.ndarray, what: str) -> list[int]:
    """Flat indices of the neurons to draw (the most active ones by default)."""
    size = int(np.prod(shape))
    if neurons is None:
        counts = spikes.sum(axis=0, dtype=np.int64)  # signed: its negation sorts the busiest first
        return [int(j) for j in np.argsort(-counts, kind="stable")[:min(4, size)]]
    chosen = []
    for n in neurons:
        index = tuple(n) if isinstance(n, (tuple, list)) else (int(n),)
        try:
            chosen.append(int(np.ravel_multi_index(index, shape)) if len(index) > 1 else int(index[0]))
        except ValueError:
            chosen.append(-1)
        if not 0 <= chosen[-1] < size:
            raise ValueError(f"{what}: neuron {n!r} is outside the layer's shape {shape} ({size} neurons)")
    return chosen


def energy_breakdown(result: EnergyResult, profile: str | None = None, *, title: str | None = None) -> Figure:
    """Energy per inference of every layer, stacked by component, for one hardware profile.

    Parameters
    ----------
    result : hw_models.EnergyResult
        From :func:`asnn_sim.api.energy`.
    profile : str, optional
        One of the result's profiles (default: its first).

    Returns
    -------
    matplotlib.figure.Figure
        Horizontal stacked bars, layers in network order (input side at the top), in the
        energy unit that suits the largest bar; the SNN's total and the dense ANN's are
        in the title.
    """
    from asnn_sim.app.plots.style import (COMPONENT_COLORS, COMPONENT_LABELS, COMPONENTS, _bottom_legend, _new_figure, _suptitle,
                                         energy_unit)

    table = result.breakdown
    profiles = list(dict.fromkeys(table["profile"]))
    profile = profiles[0] if profile is None else profile
    if profile not in profiles:
        raise ValueError(f"energy_breakdown: no profile {profile!r} in this result; it holds {', '.join(profiles)}")
    rows = table[(table["profile"] == profile) & (table["system"] == "snn")]
    per_layer = rows.groupby(["layer_index", "layer", "component"], sort=True)["energy_pj"].sum().unstack("component", fill_value=0.0)
    per_layer = per_layer.reset_index(level="layer_index", drop=True)
    used = [c for c in COMPONENTS if c in per_layer.columns and per_layer[c].sum() > 0]
    unit, scale = energy_unit(per_layer[used].sum(axis=1).to_numpy() if used else np.zeros(1))
    fig = _new_figure((8.5, 0.45 * len(per_layer) + 2.4))
    ax = fig.subplots()
    left = np.zeros(len(per_layer))
    for component in used:
        values = per_layer[component].to_numpy() / scale
        ax.barh(range(len(per_layer)), values, left=left, color=COMPONENT_COLORS[component],
                label=COMPONENT_LABELS.get(component, component))
        left += values
    ax.set_yticks(range(len(per_layer)), list(per_layer.index))
    ax.invert_yaxis()
    ax.set_xlim(0, 1.05 * left.max() if left.max() > 0 else 1)  # room after the longest bar
    ax.set_xlabel(f"energy per inference ({unit})")
    ax.grid(axis="x", alpha=0.3)
    if used:
        _bottom_legend(fig, ax.get_legend_handles_labels()[0])
    summary = result.summary.set_index("profile").loc[profile]
    snn_unit, snn_scale = energy_unit([summary["snn_pj"], summary["ann_pj"]])
    _suptitle(fig, title or f"{profile}: SNN {summary['snn_pj'] / snn_scale:.3g} {snn_unit} per inference "
                          f"(ANN {summary['ann_pj'] / snn_scale:.3g} {snn_unit})", fontsize=11)
    return fig


def accuracy_by_timestep(results: SimResult | Mapping[str, SimResult], *, title: str | None = None) -> Figure:
    """Accuracy when the prediction is read after the first ``t + 1`` steps (early exit).

    Parameters
    ----------
    results : SimResult or dict of str to SimResult
        One replay, or several by name (encodings, models); each must have had labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from asnn_sim.app.plots.style import _bottom_legend, _new_figure, _suptitle, encoding_colors

    named = {"": results} if hasattr(results, "summary") else dict(results)
    if not named:
        raise ValueError("accuracy_by_timestep: no results given")
    fig = _new_figure((6.5, 3.8))
    ax = fig.subplots()
    colors = encoding_colors([n or "replay" for n in named])
    for name, result in named.items():
        curve = result.summary.get("accuracy_by_timesteps")
        if curve is None:
            raise ValueError(f"accuracy_by_timestep: {name or 'the result'} has no accuracy: simulate it with labels")
        ax.plot(range(len(curve)), curve, marker="o", color=colors[name or "replay"], label=name or None)
    ax.set_xticks(range(max(len(r.summary["accuracy_by_timesteps"]) for r in named.values())))
    ax.set_xlabel("prediction read after step t (0-based)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    if len(named) > 1 or "" not in named:
        _bottom_legend(fig, ax.get_legend_handles_labels()[0])
    _suptitle(fig, title or "Accuracy by timestep (early exit)", fontsize=12)
    return fig
