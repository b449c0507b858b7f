"""Figures over timesteps: accuracy and energy against T, early exit (deciding before the last step)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator

from asnn_sim.app.plots import style as plot_style
from asnn_sim.app.plots.style import (
    DPI,
    ANN_COLOR,
    energy_unit,
    _ann_style,
    _is_ann,
    _tick,
    _require,
    _numeric,
    _order_encodings,
    _colors_for,
    _new_figure,
    _log_ticks,
    _bottom_legend,
    _suptitle,
)


def plot_against_timesteps(
    points: pd.DataFrame,
    path,
    *,
    ann_energy_pj: Mapping[str, float] | None = None,
    title: str = "Accuracy and energy against the number of timesteps",
    colors: Mapping[str, str] | None = None,
    dpi: int = DPI,
) -> Path:
    """Accuracy and energy per inference against T, one line per encoding, two panels.

    The left panel shows accuracy with a vertical bar from ``accuracy_low`` to
    ``accuracy_high`` (the study passes the 95 % Wilson interval); the right one energy on
    a log axis, with each ANN baseline of ``ann_energy_pj`` as a horizontal line (an ANN
    does not depend on T). The T axis marks exactly the timesteps present. The legend is
    below the panels, where it covers no line.

    Parameters
    ----------
    points : pandas.DataFrame
        Columns ``encoding``, ``timesteps`` (int >= 1), ``accuracy``, ``accuracy_low``,
        ``accuracy_high`` (fractions) and ``energy_pj`` (per inference, > 0). One row per
        encoding and T.
    path : str or os.PathLike
        PNG to write.
    ann_energy_pj : mapping of str to float, optional
        Baselines by name (``'ANN dense'``, ``'ANN zero-skip'``), pJ per inference.
    title : str
        Figure title.
    colors : mapping of str to str, optional
        Overrides for :func:`encoding_colors`.
    dpi : int
        Resolution of the PNG.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    what = "plot_against_timesteps"
    columns = ("encoding", "timesteps", "accuracy", "accuracy_low", "accuracy_high", "energy_pj")
    _require(points, columns, what)
    df = _numeric(points, columns[1:], what)
    if (df["energy_pj"] <= 0).any() or (df["timesteps"] < 1).any():
        raise ValueError(f"{what}: energy_pj must be > 0 and timesteps >= 1")
    if df.duplicated(["encoding", "timesteps"]).any():
        raise ValueError(f"{what}: more than one row for an encoding and T")
    baselines = dict(ann_energy_pj or {})
    encodings = _order_encodings(df["encoding"])
    palette = _colors_for(list(encodings) + list(baselines), colors)
    energies = list(df["energy_pj"]) + list(baselines.values())
    unit, scale = energy_unit(energies, reference="geomean")

    fig = _new_figure((9.5, 4.3))
    acc_ax, energy_ax = fig.subplots(1, 2)
    for encoding in encodings:
        rows = df[df["encoding"] == encoding].sort_values("timesteps")
        style = {"color": palette[encoding], "marker": "o", "label": encoding}
        acc_ax.errorbar(rows["timesteps"], 100 * rows["accuracy"], capsize=3,
                        yerr=[100 * (rows["accuracy"] - rows["accuracy_low"]),
                              100 * (rows["accuracy_high"] - rows["accuracy"])], **style)
        energy_ax.plot(rows["timesteps"], rows["energy_pj"] / scale, **style)
    for name, value in baselines.items():
        energy_ax.axhline(value / scale, color=palette[name], linestyle=_ann_style(name)["linestyle"], label=name)
    steps = sorted(int(t) for t in df["timesteps"].unique())
    for ax in (acc_ax, energy_ax):
        ax.set_xscale("log", base=2)
        ax.set_xticks(steps, [str(t) for t in steps])
        ax.minorticks_off()
        ax.set_xlabel("timesteps T")
        ax.grid(alpha=0.3)
    acc_ax.set_ylabel("accuracy (%)")
    acc_ax.set_title("accuracy [95 % interval]", fontsize="medium")
    energy_ax.set_yscale("log")
    _log_ticks(energy_ax.yaxis)
    energy_ax.set_ylabel(f"energy per inference ({unit})")
    energy_ax.set_title("energy", fontsize="medium")
    _bottom_legend(fig, _unique_handles((energy_ax,), encodings), fontsize=9)  # inside, it would cover a line
    _suptitle(fig, title)
    return plot_style._save(fig, path, dpi)


def plot_early_exit(
    curves: pd.DataFrame,
    path,
    profile: str | None = None,
    *,
    title: str | None = None,
    energy_log: bool | None = None,
    colors: Mapping[str, str] | None = None,
    dpi: int = DPI,
) -> Path:
    """Early-exit trade-off: accuracy and cumulative energy when reading out after step t.

    Left: accuracy (%) of the readout averaged over steps 0..t, one line per encoding.
    Right: cumulative energy per inference spent up to step t on one hardware profile. The
    x axis is the last step used, ``t = steps - 1``, numbered from 0 like the timesteps of
    every other figure and table (``t = 0`` is the first step). Optional columns
    ``accuracy_low``/``accuracy_high`` and ``cumulative_energy_low_pj``/``_high_pj`` draw
    error bars (the report passes the min–max over seeds). Each ANN row (encoding ``'ANN'``
    or ``'ANN ...'`` and no ``steps``) is a grey horizontal line in both panels (dashed for
    the dense ANN, dotted for a zero-skip one; baselines of one model share an accuracy,
    drawn once as a thin solid line). Every line is named once in the legend below the
    panels, never beside the line, so no label covers a curve. The step axis has integer
    ticks.

    Parameters
    ----------
    curves : pandas.DataFrame
        Columns ``encoding``, ``steps`` (number of steps used, 1..T; NaN for ANN rows),
        ``accuracy`` (fraction 0..1), ``cumulative_energy_pj`` and ``profile``.
    path : str or os.PathLike
        PNG to write.
    profile : str, optional
        Profile to draw. Required when ``curves`` holds more than one.
    title : str, optional
        Figure title; by default it names the profile.
    energy_log : bool, optional
        Log scale for energy; by default used when energies span more than 100x.
    colors : mapping of str to str, optional
        Overrides for :func:`encoding_colors`.
    dpi : int
        Resolution of the PNG.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        A required column is missing, the table (for ``profile``) is empty, several
        profiles are present and ``profile`` is not given, an accuracy is outside 0..1, or
        an SNN row has no ``steps``.
    """
    df, snn, ann, profile = _early_exit_rows(curves, profile)
    encodings = _order_encodings(snn["encoding"])
    cmap = _colors_for(list(encodings) + list(ann["encoding"]), colors)
    energies = df["cumulative_energy_pj"].to_numpy(dtype=float)
    unit, scale = energy_unit(energies)
    pos = energies[energies > 0]
    if energy_log is None:
        energy_log = pos.size > 1 and pos.max() / pos.min() > 100
    if energy_log:
        unit, scale = energy_unit(energies, reference="geomean")

    fig = _new_figure((10.0, 4.2))
    ax_acc, ax_e = fig.subplots(1, 2)
    for enc in encodings:
        sub = snn[snn["encoding"] == enc].sort_values("steps")
        t = sub["steps"].to_numpy(float) - 1
        kw = dict(color=cmap[enc], marker="o", markersize=5, linewidth=1.8, label=enc, capsize=3, elinewidth=1.0)
        ax_acc.errorbar(t, sub["accuracy"] * 100, yerr=_error_bars(sub, "accuracy", "accuracy_low", "accuracy_high", 100), **kw)
        ax_e.errorbar(t, sub["cumulative_energy_pj"] / scale, yerr=_error_bars(
            sub, "cumulative_energy_pj", "cumulative_energy_low_pj", "cumulative_energy_high_pj", 1 / scale), **kw)
    _ann_lines(ax_acc, ax_e, ann, scale)

    t_max = int(snn["steps"].max()) - 1
    for ax in (ax_acc, ax_e):
        ax.set_xlabel("last step used before the readout, t (0-based)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(t_max + 1, 12)))
        ax.set_xlim(-0.3, t_max + 0.3)
        ax.grid(True, color="#DDDDDD", linewidth=0.6)
        ax.spines[["top", "right"]].set_visible(False)
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.yaxis.set_major_locator(MaxNLocator(nbins=6, min_n_ticks=3))
    ax_acc.set_title("accuracy of the readout averaged over steps 0..t", fontsize=10)
    ax_e.set_ylabel(f"cumulative energy per inference ({unit}{', log scale' if energy_log else ''})")
    ax_e.set_title(f"energy spent up to step t (profile: {profile})", fontsize=10)
    if energy_log:
        ax_e.set_yscale("log")
        ax_e.autoscale_view()
        _log_ticks(ax_e.yaxis)
    else:
        ax_e.set_ylim(bottom=0)
        ax_e.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: _tick(v)))
    _bottom_legend(fig, _unique_handles((ax_acc, ax_e), encodings), fontsize=9)
    _suptitle(fig, title or f"Early exit: accuracy and energy when reading out after step t (profile: {profile})")
    return plot_style._save(fig, path, dpi)


def _unique_handles(axes, first: list[str]) -> list:
    """The legend entries of ``axes``, each label once (the encodings' curves are on every panel), ``first`` first."""
    seen: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    order = [name for name in first if name in seen] + [name for name in seen if name not in first]
    return [seen[name] for name in order]


def _early_exit_rows(curves: pd.DataFrame, profile: str | None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str]:
    """The checked rows of one profile: all of them, the SNNs (with steps), the ANN baselines, and the profile."""
    what = "plot_early_exit"
    _require(curves, ["encoding", "steps", "accuracy", "cumulative_energy_pj", "profile"], what)
    df = _numeric(curves, ["accuracy", "cumulative_energy_pj"], what)
    df = _numeric(df, ["steps"], what, allow_nan=True)
    df["encoding"] = df["encoding"].astype(str)
    df["profile"] = df["profile"].astype(str)
    profiles = list(dict.fromkeys(df["profile"]))
    if profile is None:
        if len(profiles) > 1:
            raise ValueError(f"{what}: several profiles present ({', '.join(profiles)}); pass profile=")
        profile = profiles[0]
    df = df[df["profile"] == str(profile)]
    if df.empty:
        raise ValueError(f"{what}: no rows for profile {profile!r} (present: {', '.join(profiles)})")
    if not df["accuracy"].between(0, 1).all():
        raise ValueError(f"{what}: column 'accuracy' must be a fraction in 0..1")
    is_ann = df["encoding"].map(_is_ann)
    missing = df["steps"].isna() & ~is_ann
    if missing.any():
        enc = df.loc[missing, "encoding"].iloc[0]
        raise ValueError(f"{what}: column 'steps' is missing for encoding {enc!r} (only the 'ANN' row may omit it)")
    snn, ann = df[~is_ann], df[is_ann]
    if snn.empty:
        raise ValueError(f"{what}: no SNN rows (rows with steps) for profile {profile!r}")
    return df, snn, ann, profile


def _error_bars(sub: pd.DataFrame, col: str, low: str, high: str, k: float) -> np.ndarray | None:
    """Error bars (below, above) of ``col`` times ``k`` from its ``low``/``high`` columns; None without them."""
    if low not in sub.columns or high not in sub.columns:
        return None
    lo, hi, v = sub[low].to_numpy(float) * k, sub[high].to_numpy(float) * k, sub[col].to_numpy(float) * k
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        return None
    return np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)])


def _ann_lines(ax_acc, ax_e, ann: pd.DataFrame, scale: float) -> None:
    """Each ANN baseline as a horizontal line on both panels, named in the legend, not beside the line.

    Baselines of one model share an accuracy: the accuracy panel then draws that one line
    once, solid, labelled with every baseline it stands for.
    """
    ann_rows = ann.groupby("encoding", sort=False).first()
    acc_names: dict[float, list[str]] = {}
    for name, row in ann_rows.iterrows():
        acc_names.setdefault(float(row["accuracy"]), []).append(str(name))
    for name, row in ann_rows.iterrows():
        style = dict(color=ANN_COLOR, linewidth=1.5)
        ax_e.axhline(row["cumulative_energy_pj"] / scale, linestyle=_ann_style(name)["linestyle"],
                     label=f"{name} energy (no timesteps)", **style)
    for accuracy, names in acc_names.items():
        if len(names) == 1:
            ax_acc.axhline(accuracy * 100, linestyle=_ann_style(names[0])["linestyle"],
                           label=f"{names[0]} accuracy", color=ANN_COLOR, linewidth=1.5)
        else:
            ax_acc.axhline(accuracy * 100, linestyle="-", label=f"{' and '.join(names)} accuracy (one model)",
                           color=ANN_COLOR, linewidth=1.0)
