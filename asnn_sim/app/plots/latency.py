"""Time figures: energy per inference against time per inference, per hardware profile."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from asnn_sim.app.plots import style as plot_style
from asnn_sim.app.plots.style import (
    ANN_COLOR,
    DPI,
    _bottom_legend,
    _colors_for,
    _grid,
    _log_ticks,
    _new_figure,
    _numeric,
    _order_encodings,
    _require,
    _suptitle,
)


def plot_energy_vs_latency(
    table: pd.DataFrame,
    path,
    *,
    title: str = "Energy against time per inference",
    colors: Mapping[str, str] | None = None,
    max_cols: int = 3,
    dpi: int = DPI,
) -> Path:
    """Energy per inference against time per inference, one panel per profile (each axis
    logarithmic where its values span a decade or more).

    Each encoding's SNN is a circle in its colour; the dense ANN of the same network a grey
    square (one per encoding where the encodings' ANNs differ, else the same point). Lower
    left is better on both counts; the encodings that run more timesteps sit further right.
    A profile whose tick fixes the time (TrueNorth, SpiNNaker 2) puts every encoding with
    the same T on one vertical line. With a ``timesteps`` column (a sweep over T), each
    encoding's points are joined in the order of T and labelled with it, so the trade of
    timesteps for energy and time reads along each line.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``encoding``, ``profile``, ``snn_pj``, ``snn_seconds``, ``ann_dense_pj``,
        ``ann_dense_seconds`` (rows without a time are left out); optional ``timesteps``.
    path : str or os.PathLike
        PNG to write.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        A required column is missing, or no row has a time.
    """
    what = "plot_energy_vs_latency"
    _require(table, ["encoding", "profile", "snn_pj", "snn_seconds", "ann_dense_pj", "ann_dense_seconds"], what)
    df = _numeric(table, ["snn_pj", "snn_seconds", "ann_dense_pj", "ann_dense_seconds"], what, allow_nan=True)
    df = df[np.isfinite(df["snn_seconds"]) & (df["snn_seconds"] > 0)]
    if df.empty:
        raise ValueError(f"{what}: no row has a time per inference (no profile with a timing model)")
    profiles = list(dict.fromkeys(df["profile"]))
    encodings = _order_encodings(df["encoding"].astype(str))
    colors_of = _colors_for(encodings, colors)
    nrows, ncols = _grid(len(profiles), max_cols)
    fig = _new_figure((4.2 * ncols, 3.5 * nrows + 0.8))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, profile in zip(axes, profiles):
        part = df[df["profile"] == profile]
        for r in part.itertuples(index=False):
            ax.plot(r.snn_seconds * 1e6, r.snn_pj / 1e3, "o", color=colors_of[str(r.encoding)], markersize=8,
                    markeredgecolor="white", alpha=0.85)
            ax.plot(r.ann_dense_seconds * 1e6, r.ann_dense_pj / 1e3, "s", color=ANN_COLOR, markersize=7, markeredgecolor="white")
        if "timesteps" in part:
            _join_timesteps(ax, part, colors_of)
        _scale(ax, "x", np.r_[part["snn_seconds"], part["ann_dense_seconds"]] * 1e6)
        _scale(ax, "y", np.r_[part["snn_pj"], part["ann_dense_pj"]] / 1e3)
        ax.set_title(f"profile: {profile}", fontsize=10)
        ax.set_xlabel("time per inference (us)")
        ax.set_ylabel("energy per inference (nJ)")
        ax.grid(alpha=0.3, which="both")
        ax.margins(0.15)
    for ax in axes[len(profiles):]:
        ax.set_visible(False)
    handles = [Line2D([], [], marker="o", linestyle="none", color=colors_of[e], markersize=8, label=e) for e in encodings]
    handles.append(Line2D([], [], marker="s", linestyle="none", color=ANN_COLOR, markersize=7, label="ANN dense"))
    _bottom_legend(fig, handles)
    _suptitle(fig, title, fontsize=12)
    return plot_style._save(fig, path, dpi)


def _join_timesteps(ax, part: pd.DataFrame, colors_of: Mapping[str, str]) -> None:
    """Each encoding's points joined in the order of T, each labelled with its T."""
    for encoding, points in part.sort_values("timesteps").groupby("encoding", sort=False):
        x, y = points["snn_seconds"].to_numpy() * 1e6, points["snn_pj"].to_numpy() / 1e3
        ax.plot(x, y, "-", color=colors_of[str(encoding)], linewidth=1, alpha=0.6)
        for xi, yi, t in zip(x, y, points["timesteps"]):
            ax.annotate(f"T={int(t)}", (xi, yi), textcoords="offset points", xytext=(5, -10), fontsize=7,
                        color=colors_of[str(encoding)])


def _scale(ax, which: str, values: np.ndarray) -> None:
    """A log axis where ``values`` span a decade or more, else a linear one (a log axis over
    less than a decade labels crowded minor ticks)."""
    values = values[np.isfinite(values) & (values > 0)]
    if len(values) and values.max() >= 10 * values.min():
        getattr(ax, f"set_{which}scale")("log")
        _log_ticks(getattr(ax, f"{which}axis"))
