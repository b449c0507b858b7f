"""Energy figures: energy per encoding and component, accuracy against energy, sensitivity tornado."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from asnn_sim.app.plots import style as plot_style
from asnn_sim.app.plots.style import (
    DPI,
    ANN_COLOR,
    COMPONENTS,
    COMPONENT_COLORS,
    COMPONENT_LABELS,
    energy_unit,
    format_energy,
    _ann_style,
    _is_ann,
    _tick,
    _require,
    _numeric,
    _order_encodings,
    _colors_for,
    _grid,
    _new_figure,
    _bottom_legend,
    _suptitle,
    _log_ticks,
)


def plot_energy_by_encoding(
    energy: pd.DataFrame,
    path,
    *,
    title: str = "Energy per inference by encoding",
    colors: Mapping[str, str] | None = None,
    max_cols: int = 3,
    bounds_label: str = "low–high bound of total",
    dpi: int = DPI,
) -> Path:
    """Stacked energy per inference by encoding, one panel per hardware profile.

    Each bar is one encoding, stacked by energy component (bottom to top in the order of
    :data:`COMPONENTS`); the error bar spans the low/high bound of the total (whatever the
    caller passes: the report passes the min–max over seeds; ``bounds_label`` names it), and
    the total is written above it. Each panel has its own linear y scale from 0 and its own
    unit. ANN bars (``ANN``, ``ANN dense``, ``ANN zero-skip``, ...) are hatched and placed
    last; encoding names on the x axis are coloured as in every other figure. One shared
    legend lists only the components that are non-zero somewhere.

    Parameters
    ----------
    energy : pandas.DataFrame
        Long table, one row per (encoding, profile, component), with columns
        ``encoding`` (str), ``profile`` (str), ``component`` (one of :data:`COMPONENTS`),
        ``energy_pj`` (float, per inference), and ``total_low_pj``/``total_high_pj``
        (bounds of the encoding's total on that profile, repeated on each of its rows).
    path : str or os.PathLike
        PNG to write (parent folders are created).
    title : str
        Figure title.
    colors : mapping of str to str, optional
        Overrides for :func:`encoding_colors`.
    max_cols : int
        Most panels per row.
    bounds_label : str
        Legend entry of the error bars.
    dpi : int
        Resolution of the PNG.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        A required column is missing, the table is empty, a component is unknown, an
        energy is negative or not numeric, or an (encoding, profile, component) repeats.
    """
    what = "plot_energy_by_encoding"
    _require(energy, ["encoding", "profile", "component", "energy_pj", "total_low_pj", "total_high_pj"], what)
    df = _numeric(energy, ["energy_pj", "total_low_pj", "total_high_pj"], what)
    df["encoding"] = df["encoding"].astype(str)
    df["profile"] = df["profile"].astype(str)
    unknown = sorted(set(df["component"]) - set(COMPONENTS))
    if unknown:
        raise ValueError(f"{what}: unknown component {unknown[0]!r}; expected one of {', '.join(COMPONENTS)}")
    if (df["energy_pj"] < 0).any():
        raise ValueError(f"{what}: column 'energy_pj' has negative values")
    dup = df.duplicated(["encoding", "profile", "component"])
    if dup.any():
        row = df[dup].iloc[0]
        raise ValueError(
            f"{what}: repeated row for encoding={row['encoding']!r}, profile={row['profile']!r}, component={row['component']!r}"
        )

    encodings = _order_encodings(df["encoding"])
    cmap = _colors_for(encodings, colors)
    profiles = list(dict.fromkeys(df["profile"]))
    used = [c for c in COMPONENTS if (df.loc[df["component"] == c, "energy_pj"] > 0).any()]

    nrows, ncols = _grid(len(profiles), max_cols)
    fig_w = max(6.0, max(4.6, 0.75 * len(encodings) + 1.8) * ncols)
    fig = _new_figure((fig_w, 3.5 * nrows + 0.9))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    long_names = max(len(e) for e in encodings) > 9 or len(encodings) > 6

    for ax, prof in zip(axes, profiles):
        _energy_panel(ax, df[df["profile"] == prof], prof, encodings, used, cmap, long_names)
    for ax in axes[len(profiles):]:
        ax.set_visible(False)

    handles = [Patch(facecolor=COMPONENT_COLORS[c], label=COMPONENT_LABELS[c]) for c in used]
    for enc in (e for e in encodings if _is_ann(e)):
        handles.append(Patch(facecolor="white", edgecolor=ANN_COLOR, hatch=_ann_style(enc)["hatch"], label=f"{enc} (hatched)"))
    handles.append(Line2D([], [], color="black", marker="_", markersize=8, linewidth=1.0, label=bounds_label))
    _bottom_legend(fig, handles, title="components, stacked from the bottom in this order", title_fontsize=8.5)
    _suptitle(fig, title, fontsize=12)
    return plot_style._save(fig, path, dpi)


def _energy_panel(ax, sub: pd.DataFrame, prof: str, encodings: list[str], used: list[str], cmap: Mapping[str, str],
                  long_names: bool) -> None:
    """One profile's panel: a stacked bar per encoding, the ANN hatched, bounds as error bars, totals above."""
    encs = [e for e in encodings if e in set(sub["encoding"])]
    table = sub.pivot(index="encoding", columns="component", values="energy_pj").reindex(encs).fillna(0.0)
    bounds = sub.groupby("encoding")[["total_low_pj", "total_high_pj"]].first().reindex(encs)
    totals = table.sum(axis=1)
    unit, scale = energy_unit(np.r_[totals.to_numpy(), bounds.to_numpy().ravel()])
    x = np.arange(len(encs))
    bottom = np.zeros(len(encs))
    for comp in used:
        if comp not in table.columns:
            continue
        vals = table[comp].to_numpy() / scale
        if not (vals > 0).any():
            continue
        bars = ax.bar(
            x, vals, 0.62, bottom=bottom, color=COMPONENT_COLORS[comp], edgecolor="white", linewidth=0.6, zorder=2
        )
        for bar, enc in zip(bars, encs):
            if _is_ann(enc):
                bar.set_hatch(_ann_style(enc)["hatch"])
                bar.set_edgecolor(ANN_COLOR)
        bottom += vals
    # ANN outline so the hatched bar reads as one object
    for xi, enc, tot in zip(x, encs, totals / scale):
        if _is_ann(enc):
            ax.bar(xi, tot, 0.62, fill=False, edgecolor=ANN_COLOR, linewidth=1.4, zorder=3)
    tot = totals.to_numpy() / scale
    lo = bounds["total_low_pj"].to_numpy() / scale
    hi = bounds["total_high_pj"].to_numpy() / scale
    yerr = np.vstack([np.clip(tot - lo, 0, None), np.clip(hi - tot, 0, None)])
    ax.errorbar(x, tot, yerr=yerr, fmt="none", ecolor="black", elinewidth=1.0, capsize=4, zorder=4)
    top = np.nanmax(np.r_[hi, tot]) if len(tot) else 1.0
    for xi, t, h in zip(x, tot, np.fmax(hi, tot)):
        ax.annotate(
            format_energy(t * scale), (xi, h), xytext=(0, 3), textcoords="offset points",
            ha="center", va="bottom", fontsize=7.5, zorder=5,
        )
    ax.set_ylim(0, top * 1.15 if top > 0 else 1.0)
    ax.set_xticks(x, encs, rotation=30 if long_names else 0, ha="right" if long_names else "center")
    for lab, enc in zip(ax.get_xticklabels(), encs):
        lab.set_color(cmap[enc])
        lab.set_fontweight("bold")
    ax.set_ylabel(f"energy per inference ({unit})")
    ax.set_title(f"profile: {prof}", fontsize=10)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: _tick(v)))
    ax.grid(axis="y", color="#DDDDDD", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)


def plot_accuracy_vs_energy(
    points: pd.DataFrame,
    path,
    *,
    title: str = "Accuracy vs energy per inference",
    colors: Mapping[str, str] | None = None,
    max_cols: int = 3,
    bounds_label: str = "low–high energy bound",
    dpi: int = DPI,
) -> Path:
    """Accuracy against energy per inference, one panel per hardware profile.

    Each encoding is one point in its colour (circle for SNNs; square for the ANN, diamond
    for an ``ANN zero-skip`` baseline), with a horizontal error bar from ``energy_low_pj`` to
    ``energy_high_pj`` and, when the table has ``accuracy_low``/``accuracy_high``, a
    vertical one (the report passes the min–max over seeds for both; ``bounds_label`` names
    them). One legend below the panels names each series once; nothing is written inside
    the panels, so no label covers a point or leaves its panel. Panels share the accuracy
    axis. The energy axis is linear when a panel's energies span less than a decade, else
    logarithmic; either way every axis carries at least three labelled ticks in plain
    numbers. Each panel has its own energy unit.

    Parameters
    ----------
    points : pandas.DataFrame
        Columns ``encoding``, ``profile``, ``accuracy`` (fraction, 0..1), ``energy_pj``,
        ``energy_low_pj``, ``energy_high_pj`` (per inference, > 0) and ``system``
        (``'snn'`` or ``'ann'``); optionally ``accuracy_low`` and ``accuracy_high``
        (fractions; NaN for no bar).
    path : str or os.PathLike
        PNG to write.
    title : str
        Figure title.
    colors : mapping of str to str, optional
        Overrides for :func:`encoding_colors`.
    max_cols : int
        Most panels per row.
    bounds_label : str
        Legend entry of the error bars.
    dpi : int
        Resolution of the PNG.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        A required column is missing, the table is empty, an accuracy is outside 0..1, an
        energy is not positive, or ``system`` is not ``'snn'``/``'ann'``.
    """
    what = "plot_accuracy_vs_energy"
    cols = ["encoding", "profile", "accuracy", "energy_pj", "energy_low_pj", "energy_high_pj", "system"]
    _require(points, cols, what)
    df = _numeric(points, ["accuracy", "energy_pj", "energy_low_pj", "energy_high_pj"], what)
    for col in ("accuracy_low", "accuracy_high"):
        df = _numeric(df, [col], what, allow_nan=True) if col in df.columns else df.assign(**{col: np.nan})
    df["encoding"] = df["encoding"].astype(str)
    df["profile"] = df["profile"].astype(str)
    df["system"] = df["system"].astype(str).str.lower()
    accs = df[["accuracy", "accuracy_low", "accuracy_high"]].to_numpy(dtype=float)
    if not ((accs[np.isfinite(accs)] >= 0) & (accs[np.isfinite(accs)] <= 1)).all():
        raise ValueError(f"{what}: column 'accuracy' must be a fraction in 0..1 (got {df['accuracy'].max()!r})")
    if (df[["energy_pj", "energy_low_pj", "energy_high_pj"]] <= 0).any().any():
        raise ValueError(f"{what}: energies must be > 0")
    bad = sorted(set(df["system"]) - {"snn", "ann"})
    if bad:
        raise ValueError(f"{what}: column 'system' must be 'snn' or 'ann', got {bad[0]!r}")

    encodings = _order_encodings(df["encoding"])
    cmap = _colors_for(encodings, colors)
    profiles = list(dict.fromkeys(df["profile"]))
    nrows, ncols = _grid(len(profiles), max_cols)
    fig = _new_figure((max(6.0, 4.4 * ncols), 3.6 * nrows + 0.5))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    flat = axes.ravel()
    acc_all = np.r_[df["accuracy"], df["accuracy_low"].dropna(), df["accuracy_high"].dropna()] * 100
    pad = max(0.25, (acc_all.max() - acc_all.min()) * 0.12)
    ylim = (max(0.0, acc_all.min() - pad), min(100.0, acc_all.max() + pad) + pad * 0.3)
    ann_rows = set(df.loc[df["system"] == "ann", "encoding"])
    styles = {enc: _point_style(enc, cmap, enc in ann_rows) for enc in encodings}
    for k, (ax, prof) in enumerate(zip(flat, profiles)):
        _tradeoff_panel(ax, df[df["profile"] == prof], prof, k % ncols == 0, encodings, styles, ylim)
    for ax in flat[len(profiles):]:
        ax.set_visible(False)
    _bottom_legend(fig, _series_handles(styles) + [
        Line2D([], [], color="black", marker="|", markersize=8, linewidth=1.0, label=bounds_label)])
    _suptitle(fig, f"{title}\n(up and to the left is better)", fontsize=11)
    return plot_style._save(fig, path, dpi)


def _point_style(enc: str, cmap: Mapping[str, str], ann: bool) -> dict:
    """Marker and colour of one series: a coloured circle for an SNN, a grey square or diamond for an ANN."""
    if ann or _is_ann(enc):
        return {"marker": _ann_style(enc)["marker"], "color": ANN_COLOR}
    return {"marker": "o", "color": cmap[enc]}


def _series_handles(styles: Mapping[str, dict]) -> list[Line2D]:
    """One legend entry per series, drawn as its points are."""
    return [Line2D([], [], linestyle="none", markersize=7, markeredgecolor="white", label=enc, **style)
            for enc, style in styles.items()]


def _tradeoff_panel(ax, sub: pd.DataFrame, prof: str, first_column: bool, encodings: list[str],
                    styles: Mapping[str, dict], ylim: tuple[float, float]) -> None:
    """One profile's accuracy-energy panel (log energy axis when it spans 10x)."""
    lo_all = float(sub[["energy_low_pj", "energy_pj"]].min().min())
    hi_all = float(sub[["energy_high_pj", "energy_pj"]].max().max())
    log_x = hi_all / lo_all >= 10
    unit, scale = energy_unit(sub[["energy_low_pj", "energy_pj", "energy_high_pj"]].to_numpy(), reference="geomean" if log_x else "max")
    for enc in [e for e in encodings if e in set(sub["encoding"])]:
        for _, row in sub[sub["encoding"] == enc].iterrows():
            style = styles[enc]
            e, lo, hi = row["energy_pj"] / scale, row["energy_low_pj"] / scale, row["energy_high_pj"] / scale
            a = row["accuracy"] * 100
            yerr = None
            if np.isfinite(row["accuracy_low"]) and np.isfinite(row["accuracy_high"]):
                yerr = [[max(a - row["accuracy_low"] * 100, 0)], [max(row["accuracy_high"] * 100 - a, 0)]]
            ax.errorbar(
                e, a, xerr=[[max(e - lo, 0)], [max(hi - e, 0)]], yerr=yerr, fmt=style["marker"], color=style["color"],
                markersize=7, markeredgecolor="white", markeredgewidth=0.8, elinewidth=1.2, capsize=3, zorder=3,
            )
    lo_s, hi_s = lo_all / scale, hi_all / scale
    if log_x:
        span = math.log10(hi_s / lo_s)
        ax.set_xscale("log")
        ax.set_xlim(lo_s / 10 ** (0.08 * span), hi_s * 10 ** (0.08 * span))
        _log_ticks(ax.xaxis)
        ax.set_xlabel(f"energy per inference ({unit}, log scale)")
    else:
        width = hi_s - lo_s or hi_s * 0.1
        ax.set_xlim(max(0.0, lo_s - 0.08 * width), hi_s + 0.08 * width)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, min_n_ticks=3))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: _tick(v)))
        ax.set_xlabel(f"energy per inference ({unit})")
    ax.tick_params(axis="both", which="both", labelsize=8.5)
    ax.set_ylim(*ylim)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, min_n_ticks=3))
    ax.yaxis.set_tick_params(labelleft=True)
    if first_column:
        ax.set_ylabel("accuracy (%)")
    ax.set_title(f"profile: {prof}", fontsize=10)
    ax.grid(True, which="major", color="#DDDDDD", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)


_TORNADO_COLOR = "#44AA99"


def plot_sensitivity(table: pd.DataFrame, path, *, top: int = 6, title: str | None = None, dpi: int = DPI) -> Path:
    """Tornado diagram: the SNN/ANN ratio with each uncertain constant alone at its bounds.

    One panel per profile that has uncertain constants, one bar per constant (the
    ``top`` widest, widest on top) from ``ratio_at_low`` to ``ratio_at_high``; the
    vertical line is the ratio with every constant at its value, the dotted one 1 (where
    SNN and ANN cost the same); a legend below says so.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`hw_models.sensitivity.sensitivity` (one model).
    path : str or os.PathLike
        PNG to write.
    top : int
        Constants shown per profile.
    title : str, optional
    dpi : int

    Returns
    -------
    pathlib.Path
    """
    table = table[table["swing"] > 0]  # a constant that moves nothing (e.g. DRAM where every array fits) has no bar
    profiles = list(dict.fromkeys(table["profile"]))
    n = max(1, len(profiles))
    fig = _new_figure((6.4, 1.1 + 1.6 * n))  # + the legend below
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    if not profiles:
        axes[0].text(0.5, 0.5, "no uncertain constant moves the ratio on these profiles", ha="center", va="center")
        axes[0].set_axis_off()
    for ax, name in zip(axes, profiles):
        rows = table[table["profile"] == name].head(top).iloc[::-1]
        lo = np.minimum(rows["ratio_at_low"], rows["ratio_at_high"])
        hi = np.maximum(rows["ratio_at_low"], rows["ratio_at_high"])
        # The edge keeps a constant that barely moves the ratio visible as a sliver, drawn over the line.
        ax.barh(rows["parameter"], hi - lo, left=lo, color=_TORNADO_COLOR, edgecolor=_TORNADO_COLOR, linewidth=1.0,
                height=0.6, zorder=2)
        ax.axvline(float(rows["ratio"].iloc[0]), color="black", lw=1, zorder=1)
        ax.axvline(1.0, color="grey", lw=1, ls=":")
        left, right = min(lo.min(), rows["ratio"].iloc[0], 1.0), max(hi.max(), rows["ratio"].iloc[0], 1.0)
        ax.set_xlim(left - 0.05 * (right - left), right + 0.05 * (right - left))
        ax.set_title(name, fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
    axes[-1].set_xlabel("SNN/ANN energy ratio (one constant at its low or high end)")
    if profiles:
        _bottom_legend(fig, [
            Patch(color=_TORNADO_COLOR, label="one constant from low to high"),
            Line2D([], [], color="black", lw=1, label="every constant at its value"),
            Line2D([], [], color="grey", lw=1, ls=":", label="SNN = ANN (ratio 1)"),
        ], fontsize=8)
    if title:
        _suptitle(fig, title, fontsize=10)
    return plot_style._save(fig, path, dpi)
