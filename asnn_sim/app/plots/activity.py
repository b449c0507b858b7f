"""Activity figures: firing-rate heatmaps per layer and timestep, spike rasters."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from asnn_sim.app.plots import style as plot_style
from asnn_sim.app.plots.style import (
    DPI,
    _require,
    _numeric,
    _order_encodings,
    _colors_for,
    _grid,
    _new_figure,
    _text_color_on,
    _rate_label,
    _suptitle,
)


def plot_firing_heatmaps(
    firing: pd.DataFrame,
    path,
    *,
    title: str = "Firing rate per layer and timestep",
    annotate: bool = True,
    cmap: str = "viridis",
    colors: Mapping[str, str] | None = None,
    max_cols: int = 3,
    dpi: int = DPI,
) -> Path:
    """Firing-rate heatmaps (layer x timestep), one panel per encoding, one shared colour scale.

    Rows are layers in network order (``layer_index``, input side at the top), columns are
    timesteps, labelled 0-based as in the simulator (``t = 0`` is the first step). Every
    cell is annotated with its rate (two decimals; three below 0.01 and ``<0.001`` below
    that, so sparse layers never read as ``0.00``). Each panel spans its own encoding's
    timesteps (encodings may run different T) and panel widths follow T, so cells keep one
    size; a (layer, t) missing inside a panel is left blank (light grey). The colour scale
    runs from 0 to the largest rate in any panel, so panels compare directly.

    Parameters
    ----------
    firing : pandas.DataFrame
        Columns ``encoding``, ``layer`` (name), ``layer_index`` (int, network order),
        ``t`` (int, 0-based timestep) and ``firing_rate`` (spikes per neuron per step).
    path : str or os.PathLike
        PNG to write.
    title : str
        Figure title.
    annotate : bool
        Write each cell's value in it.
    cmap : str
        Matplotlib colormap name (perceptually uniform, colour-blind safe by default).
    colors : mapping of str to str, optional
        Overrides for :func:`encoding_colors` (used for the panel titles).
    max_cols : int
        Most panels per row.
    dpi : int
        Resolution of the PNG.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        A required column is missing, the table is empty, a value is not numeric or is
        negative, or an (encoding, layer, t) appears twice.
    """
    what = "plot_firing_heatmaps"
    _require(firing, ["encoding", "layer", "layer_index", "t", "firing_rate"], what)
    df = _numeric(firing, ["layer_index", "t", "firing_rate"], what)
    df["encoding"] = df["encoding"].astype(str)
    df["layer"] = df["layer"].astype(str)
    df["t"] = df["t"].astype(int)
    if (df["firing_rate"] < 0).any():
        raise ValueError(f"{what}: column 'firing_rate' has negative values")
    dup = df.duplicated(["encoding", "layer", "t"])
    if dup.any():
        row = df[dup].iloc[0]
        raise ValueError(f"{what}: repeated row for encoding={row['encoding']!r}, layer={row['layer']!r}, t={row['t']}")

    encodings = _order_encodings(df["encoding"])
    ecol = _colors_for(encodings, colors)
    vmax = float(df["firing_rate"].max()) or 1.0
    colormap = mpl.colormaps[cmap].with_extremes(bad="#F2F2F2")

    layer_sets, step_sets = {}, {}
    for enc in encodings:
        sub = df[df["encoding"] == enc]
        layer_sets[enc] = list(sub.groupby("layer")["layer_index"].min().sort_values().index)
        step_sets[enc] = np.arange(sub["t"].min(), sub["t"].max() + 1)
    same_layers = len({tuple(v) for v in layer_sets.values()}) == 1
    n_layers = max(len(v) for v in layer_sets.values())
    label_in = 0.075 * max(len(n) for v in layer_sets.values() for n in v)  # inches of layer names

    nrows, ncols = _grid(len(encodings), max_cols)
    # each column as wide as its longest run, so a cell is (nearly) the same size everywhere
    col_steps = [max(len(step_sets[e]) for e in encodings[c::ncols]) for c in range(ncols)]
    cell_w, cell_h = 0.55, 0.42
    extra = 0.0 if same_layers else label_in
    fig_w = sum(n * cell_w + 0.25 + extra for n in col_steps) + label_in + 1.9
    fig_h = nrows * (n_layers * cell_h + 0.95) + 0.55
    fig = _new_figure((max(fig_w, 5.0), max(fig_h, 2.6)))
    axes = fig.subplots(nrows, ncols, squeeze=False, gridspec_kw={"width_ratios": col_steps})
    flat = axes.ravel()
    im = None
    for k, (ax, enc) in enumerate(zip(flat, encodings)):
        sub = df[df["encoding"] == enc]
        layers, steps = layer_sets[enc], step_sets[enc]
        grid = sub.pivot(index="layer", columns="t", values="firing_rate").reindex(index=layers, columns=steps)
        data = np.ma.masked_invalid(grid.to_numpy(dtype=float))
        im = ax.imshow(
            data, cmap=colormap, vmin=0.0, vmax=vmax, aspect="auto", interpolation="nearest",
            extent=(steps[0] - 0.5, steps[-1] + 0.5, len(layers) - 0.5, -0.5),
        )
        fontsize = 8 if len(steps) <= 10 else 7 if len(steps) <= 16 else 6
        if annotate and data.size <= 800:
            for i in range(len(layers)):
                for j, t in enumerate(steps):
                    v = data[i, j]
                    if np.ma.is_masked(v):
                        continue
                    ax.text(
                        t, i, _rate_label(float(v)), ha="center", va="center", fontsize=fontsize,
                        color=_text_color_on(colormap(float(v) / vmax)),
                    )
        ax.set_yticks(np.arange(len(layers)), layers if (k % ncols == 0 or not same_layers) else [])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(len(steps), 12)))
        ax.set_xlabel("timestep t (0-based)")
        if k % ncols == 0:
            ax.set_ylabel("layer (input side at top)")
        ax.set_title(f"{enc}  (T = {len(steps)})", color=ecol[enc], fontweight="bold", fontsize=10)
        ax.tick_params(length=0)
        for sp in ax.spines.values():
            sp.set_visible(False)
    for ax in flat[len(encodings):]:
        ax.set_visible(False)
    cbar = fig.colorbar(im, ax=list(flat[: len(encodings)]), shrink=0.9, pad=0.02, aspect=25)
    cbar.set_label("firing rate (spikes per neuron per step)")
    _suptitle(fig, title, fontsize=12)
    return plot_style._save(fig, path, dpi)


def plot_spike_raster(
    raster: Sequence[tuple],
    path,
    title: str | None = None,
    *,
    color: str = "black",
    dpi: int = DPI,
) -> Path:
    """Spike raster of one sample through the network, one band per layer, the input as images.

    Design: with only 4-8 timesteps a classic raster (x = t, y = neuron, one dot per spike)
    collapses every layer into T vertical lines whose density cannot be read, and spreading
    neurons along x inside a column only turns them into a diagonal. Instead each
    (layer, timestep) cell is a *tile*: the layer's N neurons are wrapped row-major into a
    block of ``w = ceil(sqrt(1.5 N))`` columns (neuron ``i`` at row ``i // w``, column
    ``i % w``; neuron 0 top left; the unused end of the last row is white), one pixel per
    neuron, dark where the neuron fired at that step and light grey where it did not. The
    tiles of one layer sit side by side, one column per timestep (x = timestep t, numbered
    from 0 as in every table, at the tile centre); layers are stacked top to bottom in
    network order. The largest layer gets square pixels and band heights shrink as
    N**0.25 (with a floor), so a 10-neuron output layer stays readable next to a
    5,000-neuron conv layer. Each band is labelled with the layer name and "n spikes / N
    neurons" (over all steps); the number above each tile is that step's spike count.
    Layers too large for one pixel per neuron are downsampled with antialiasing, so they
    show grey in proportion to local firing density.

    **Input frames** given as ``(name, frames, kinds)`` are drawn as images instead, in
    their own layout (``(T, H, W)`` or ``(T, C, H, W)``, channels side by side) with square
    pixels: an ``"analog"`` frame in grey levels (white = 0, black = the largest value), a
    ``"binary"`` frame as spikes on the pixel grid (dark = spike). An analog frame is
    labelled "analog" and never counted as spikes.

    Parameters
    ----------
    raster : sequence of tuples
        In network order, each ``(layer_name, spikes)`` with ``spikes`` of shape
        (T, n_neurons) (more dimensions are flattened to neurons; any non-zero value is a
        spike), or ``(name, frames, kinds)`` for input frames: ``frames`` of shape
        (T, H, W) or (T, C, H, W) and ``kinds`` a sequence of ``"analog"`` / ``"binary"``,
        one per step (e.g. ``EncoderSpec.frame_kinds``).
    path : str or os.PathLike
        PNG to write.
    title : str, optional
        Figure title (default "Spike raster of one sample").
    color : str
        Colour of a spike pixel (e.g. the encoding's colour from :func:`encoding_colors`).
    dpi : int
        Resolution of the PNG.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        ``raster`` is empty, an entry is not a (name, array) pair or (name, frames, kinds)
        triple, an array has fewer than two dimensions (three for frames) or no neurons,
        ``kinds`` has the wrong length or an unknown kind, or the layers disagree on T.
    """
    return plot_style._save(spike_raster_figure(raster, title, color=color), path, dpi)


def spike_raster_figure(raster: Sequence[tuple], title: str | None = None, *, color: str = "black") -> Figure:
    """The figure :func:`plot_spike_raster` writes (same arguments, same design), not saved.

    Returns
    -------
    matplotlib.figure.Figure
    """
    layers = _raster_bands(raster)
    T = layers[0][1].shape[0]
    fig_w = min(max(1.9 * T + 3.2, 8.0), 18.0)
    tile_frac = 0.84  # fraction of a step column covered by its tile
    tile_w = tile_frac * (fig_w - 3.2) / T  # inches
    heights = _band_heights(layers, tile_w)
    fig_h = min(sum(heights) + 0.28 * len(layers) + 1.5, 20.0)
    fig = _new_figure((fig_w, fig_h))
    fig.get_layout_engine().set(h_pad=0.06, hspace=0.0)
    axes = np.atleast_1d(fig.subplots(len(layers), 1, sharex=True, gridspec_kw={"height_ratios": heights}))
    palette = ListedColormap(["#E3E3E3", color]).with_extremes(bad="white")
    greys = mpl.colormaps["Greys"].with_extremes(bad="white")
    for ax, layer, h in zip(axes, layers, heights):
        _draw_band(ax, layer, h, tile_frac, tile_w, palette, greys)
    axes[-1].set_xticks(range(T))
    caption = (
        "Each tile is one layer at one timestep: its neurons wrapped row-major (neuron 0 top left), "
        "one pixel per neuron, dark = spike. Number above a tile = spikes in that step; "
        "left = totals over all steps."
    )
    if any(kinds is not None for _, _, kinds, _ in layers):
        caption = ("Input frames are drawn as images (analog frames in grey levels, spike frames dark where a pixel "
                   "fired). " + caption.replace("Each tile", "Each other tile"))
    axes[-1].set_xlabel("timestep t (0-based)\n" + textwrap.fill(caption, int(fig_w * 13)), fontsize=8.5)
    _suptitle(fig, title or "Spike raster of one sample", fontsize=12)
    return fig


def _raster_bands(raster: Sequence[tuple]) -> list[tuple]:
    """Check the raster's entries and lay each out as ``(name, values (T, rows, cols), kinds, image shape)``.

    A layer's neurons are wrapped into tiles (NaN pads the last row); input frames become
    images with their channels side by side; ``kinds`` and the shape are None for layers.
    """
    what = "plot_spike_raster"
    if raster is None or len(raster) == 0:
        raise ValueError(f"{what}: raster is empty; expected a list of (layer_name, spikes) pairs")
    layers = []
    for k, item in enumerate(raster):
        if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
            raise ValueError(f"{what}: entry {k} must be a (layer_name, spikes) pair or a (name, frames, kinds) triple")
        name, arr = str(item[0]), np.asarray(item[1])
        if len(item) == 3:
            kinds = tuple(str(x) for x in item[2])
            if arr.ndim not in (3, 4):
                raise ValueError(f"{what}: frames of {name!r} must have shape (T, H, W) or (T, C, H, W), got {arr.shape}")
            if arr.ndim == 3:
                arr = arr[:, None]
            if len(kinds) != arr.shape[0] or set(kinds) - {"analog", "binary"}:
                raise ValueError(f"{what}: kinds of {name!r} must give 'analog' or 'binary' for each of its {arr.shape[0]} steps")
            if 0 in arr.shape:
                raise ValueError(f"{what}: layer {name!r} has no timesteps or no pixels (shape {arr.shape})")
            T_, C, H, W = arr.shape
            # channels side by side with a one-pixel gap (NaN = white)
            img = np.full((T_, H, C * W + (C - 1)), np.nan)
            for c in range(C):
                img[:, :, c * (W + 1): c * (W + 1) + W] = arr[:, c].astype(float)
            layers.append((name, img, kinds, (C, H, W)))
            continue
        if arr.ndim < 2:
            raise ValueError(f"{what}: spikes of layer {name!r} must have shape (T, n_neurons), got {arr.shape}")
        arr = arr.reshape(arr.shape[0], -1) != 0
        if arr.shape[1] == 0 or arr.shape[0] == 0:
            raise ValueError(f"{what}: layer {name!r} has no timesteps or no neurons (shape {arr.shape})")
        n = arr.shape[1]
        w = max(1, math.ceil(math.sqrt(1.5 * n)))
        r = math.ceil(n / w)
        tiles = np.c_[arr.astype(float), np.full((arr.shape[0], r * w - n), np.nan)].reshape(arr.shape[0], r, w)
        layers.append((name, tiles, None, None))
    T = layers[0][1].shape[0]
    for name, arr, _, _ in layers:
        if arr.shape[0] != T:
            raise ValueError(f"{what}: layer {name!r} has {arr.shape[0]} timesteps, the first layer has {T}")
    return layers


def _band_heights(layers: list[tuple], tile_w: float) -> list[float]:
    """Band heights in inches: images as tall as fit the column, layers shrinking as N**0.25."""
    n_max = max(np.isfinite(arr[0]).sum() for _, arr, kinds, _ in layers if kinds is None) if any(
        kinds is None for _, _, kinds, _ in layers) else 1
    heights = []
    for _, arr, kinds, _ in layers:
        rows, cols = arr.shape[1:]
        if kinds is not None:  # an image: square pixels, as tall as fits the column (at most 1.3 in)
            heights.append(max(0.6, min(1.3, tile_w * rows / cols)))
        else:  # the largest layer gets square pixels; smaller ones shrink as N**0.25, never below a label's height
            n = np.isfinite(arr[0]).sum()
            heights.append(max(0.5, tile_w / 1.5 * min(1.0, max(0.35, (n / n_max) ** 0.25))))
    return heights


def _draw_band(ax, layer: tuple, h: float, tile_frac: float, tile_w: float, palette, greys) -> None:
    """One band: a tile per timestep with its spike count above, the totals as the band's label."""
    name, arr, kinds, shape = layer
    T = arr.shape[0]
    rows, cols = arr.shape[1:]
    frac = tile_frac
    if kinds is not None:  # keep the pixels square: the image may be narrower than the column
        frac = tile_frac * min(1.0, (h * cols / rows) / tile_w)
        analog_vals = arr[[k == "analog" for k in kinds]]
        vmax = float(np.nanmax(np.abs(analog_vals))) if analog_vals.size and np.isfinite(analog_vals).any() else 1.0
        vmax = vmax or 1.0
    for t in range(T):
        analog = kinds is not None and kinds[t] == "analog"
        tile = arr[t] if analog else np.where(np.isnan(arr[t]), np.nan, (arr[t] != 0).astype(float))
        ax.imshow(
            np.ma.masked_invalid(tile), cmap=greys if analog else palette,
            vmin=min(0.0, float(np.nanmin(tile))) if analog else 0, vmax=vmax if analog else 1, aspect="auto",
            interpolation="nearest" if kinds is not None else "antialiased", interpolation_stage="rgba",
            extent=(t - frac / 2, t + frac / 2, rows, 0),
        )
        label = "analog" if analog else f"{int(np.nansum(tile)):,}"
        ax.annotate(
            label, (t, 0), xytext=(0, 1.5), textcoords="offset points", ha="center",
            va="bottom", fontsize=6.5, color="#555555", annotation_clip=False,
        )
    ax.set_xlim(-0.5, T - 0.5)
    ax.set_ylim(rows, 0)
    ax.set_yticks([])
    if kinds is None:
        n = int(np.isfinite(arr[0]).sum())
        text = f"{name}\n{int(np.nansum(arr)):,} spikes / {n:,} neurons"
    else:
        C, H, W = shape
        binary = [t for t in range(T) if kinds[t] == "binary"]
        spikes = int(sum((arr[t][np.isfinite(arr[t])] != 0).sum() for t in binary))
        analog_steps = [t for t in range(T) if kinds[t] == "analog"]
        text = f"{name} ({C}x{H}x{W})"
        if binary:
            text += f"\n{spikes:,} spikes / {C * H * W:,} pixels"
        if analog_steps:
            text += "\nanalog at t = " + ", ".join(map(str, analog_steps)) if len(analog_steps) < T else "\nanalog at every step"
    ax.set_ylabel(text, rotation=0, ha="right", va="center", fontsize=8.5, labelpad=6)
    ax.tick_params(axis="x", length=0)
    for sp in ax.spines.values():
        sp.set_visible(False)
