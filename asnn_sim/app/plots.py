"""Report figures: energy, firing rates, accuracy/energy trade-offs, early exit, spike rasters.

Every public ``plot_*`` function is a pure function ``(data, path, **options) -> Path``: it
draws one figure from a long-format table (or a list of arrays for the raster), writes one
PNG atomically (a temporary file in the same folder, then a rename) and returns the path.

Figures are built on :class:`matplotlib.figure.Figure` with the Agg canvas directly, never
through ``pyplot``: nothing global is changed (no backend switch, no ``rcParams``, no figure
registry), so the functions are safe to call from notebooks, tests and worker threads.

Conventions shared by all figures

* one colour per encoding, from :func:`encoding_colors` (Okabe-Ito, colour-blind safe);
  ``direct``, ``temporal`` and ``hybrid`` always get the same colours and the ANN is always
  dark grey (an ANN baseline is any name ``ANN`` or ``ANN <something>``, e.g. ``ANN dense``
  and ``ANN zero-skip``, told apart by hatch, marker and line style). Every function takes
  ``colors=`` to override the mapping.
* timesteps are numbered from 0 (``t = 0`` is the first step), as in the counts tables.
* error bars are whatever bounds the caller passes (the report passes the min–max over
  seeds); ``bounds_label=`` names them in the legend.
* encodings are ordered ``direct, temporal, hybrid``, then any others in order of first
  appearance, then the ANN last.
* energies are given in pJ and shown in the unit :func:`energy_unit` picks (pJ, nJ, µJ,
  mJ or J), named in the axis label.
* missing columns raise :class:`ValueError` naming the column.
"""

from __future__ import annotations

import math
import textwrap
import zlib
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from hw_models import COMPONENTS  # energy components, in stacking order (bottom to top)
from asnn_sim.atomic import atomic_path

__all__ = [
    "ANN_COLOR",
    "COMPONENTS",
    "COMPONENT_COLORS",
    "COMPONENT_LABELS",
    "encoding_colors",
    "energy_unit",
    "format_energy",
    "plot_energy_by_encoding",
    "plot_firing_heatmaps",
    "plot_accuracy_vs_energy",
    "plot_early_exit",
    "plot_against_timesteps",
    "plot_spike_raster",
    "plot_sensitivity",
]

DPI = 150

#: Colour of the equivalent ANN in every figure.
ANN_COLOR = "#4D4D4D"

# Okabe & Ito (2008) colour-blind-safe palette, plus Paul Tol "muted" extras for overflow.
_KNOWN_COLORS = {
    "direct": "#0072B2",  # blue
    "temporal": "#D55E00",  # vermillion
    "hybrid": "#009E73",  # bluish green
    "rate": "#E69F00",  # orange
    "ttfs": "#56B4E9",  # sky blue
    "phase": "#CC79A7",  # reddish purple
}
# Colours for other names: never one of direct/temporal/hybrid's, never the ANN grey.
_FALLBACK_COLORS = (
    "#E69F00",
    "#56B4E9",
    "#CC79A7",
    "#882255",
    "#117733",
    "#AA4499",
    "#44AA99",
    "#999933",
    "#332288",
    "#661100",
)
_CANONICAL_ORDER = ("direct", "temporal", "hybrid")

#: Human-readable component names used in legends.
COMPONENT_LABELS = {
    "synaptic_compute": "synaptic compute",
    "neuron_update": "neuron update",
    "elementwise": "residual adds, pooling",
    "weight_memory": "weight memory",
    "potential_memory": "potential memory",
    "spike_routing": "spike routing",
    "dram": "DRAM",
    "encoder": "input encoder",
    "inter_chip": "spikes between chips",
    "static": "static (leakage)",
}
#: Component fill colours (Paul Tol "muted", colour-blind safe; distinct from encodings' roles).
COMPONENT_COLORS = {
    "synaptic_compute": "#332288",
    "neuron_update": "#88CCEE",
    "elementwise": "#117733",
    "weight_memory": "#44AA99",
    "potential_memory": "#DDCC77",
    "spike_routing": "#CC6677",
    "dram": "#882255",
    "encoder": "#999933",
    "inter_chip": "#DDDDDD",
    "static": "#AA4499",
}

_ENERGY_UNITS = (("pJ", 1.0), ("nJ", 1e3), ("µJ", 1e6), ("mJ", 1e9), ("J", 1e12))


# --------------------------------------------------------------------------- helpers


def _is_ann(name: str) -> bool:
    """``ANN`` itself or an ANN baseline such as ``ANN dense`` / ``ANN zero-skip``."""
    key = str(name).strip().lower()
    return key == "ann" or key.startswith(("ann ", "ann-", "ann_", "ann("))


def _ann_style(name: str) -> dict:
    """How the ANN baselines differ from each other (all are :data:`ANN_COLOR`)."""
    zero_skip = "skip" in str(name).lower()
    return {"hatch": "\\\\\\" if zero_skip else "///", "marker": "D" if zero_skip else "s",
            "linestyle": ":" if zero_skip else "--"}


def encoding_colors(names: Iterable[str]) -> dict[str, str]:
    """Map encoding names to colours, the same in every figure.

    Parameters
    ----------
    names : iterable of str
        Encoding names, e.g. ``['direct', 'temporal', 'hybrid', 'ANN']``. Duplicates are
        fine.

    Returns
    -------
    dict of str to str
        ``name -> '#RRGGBB'``. Known names (case-insensitive) have fixed Okabe-Ito colours:
        ``direct`` blue, ``temporal`` vermillion, ``hybrid`` bluish green, ``rate`` orange,
        ``ttfs`` sky blue, ``phase`` reddish purple; ``ANN`` is always :data:`ANN_COLOR`
        (dark grey). Any other name is hashed (CRC-32 of the lower-cased name) onto a
        colour-blind-safe list that excludes the direct/temporal/hybrid colours and the
        grey, so it gets the same colour in every call; if two unknown names of the same
        call hash to the same slot, the later one (in sorted order) takes the next free
        slot.

    Examples
    --------
    >>> encoding_colors(["hybrid", "ANN"])
    {'hybrid': '#009E73', 'ANN': '#4D4D4D'}
    """
    unique = list(dict.fromkeys(str(n) for n in names))
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in unique:
        key = name.strip().lower()
        if _is_ann(name):
            out[name] = ANN_COLOR
        elif key in _KNOWN_COLORS:
            out[name] = _KNOWN_COLORS[key]
            taken.add(out[name])
    n = len(_FALLBACK_COLORS)
    for name in sorted(u for u in unique if u not in out):
        slot = zlib.crc32(name.strip().lower().encode("utf-8")) % n
        for k in range(n):
            color = _FALLBACK_COLORS[(slot + k) % n]
            if color not in taken:
                break
        else:  # more unknown names than colours: reuse the hashed slot
            color = _FALLBACK_COLORS[slot]
        out[name] = color
        taken.add(color)
    return {name: out[name] for name in unique}


def energy_unit(values_pj, *, reference: str = "max") -> tuple[str, float]:
    """Pick a readable energy unit for values given in picojoules.

    Parameters
    ----------
    values_pj : float or array-like of float
        Energies in pJ. NaN and infinite values are ignored.
    reference : {'max', 'geomean'}
        Which magnitude decides: the largest absolute value (linear axes, so tick labels
        run from about 1 to 999), or the geometric mean of the positive values (log axes,
        so labels are centred around 1).

    Returns
    -------
    unit : str
        One of ``'pJ', 'nJ', 'µJ', 'mJ', 'J'``.
    scale : float
        Divide a value in pJ by this to express it in ``unit``.

    Examples
    --------
    >>> energy_unit([350.0, 1200.0])
    ('nJ', 1000.0)
    >>> energy_unit(0.4)
    ('pJ', 1.0)
    """
    arr = np.abs(np.asarray(values_pj, dtype=float).ravel())
    arr = arr[np.isfinite(arr)]
    if reference == "max":
        ref = float(arr.max()) if arr.size else 0.0
    elif reference == "geomean":
        pos = arr[arr > 0]
        ref = float(np.exp(np.log(pos).mean())) if pos.size else 0.0
    else:
        raise ValueError(f"reference must be 'max' or 'geomean', not {reference!r}")
    unit, scale = _ENERGY_UNITS[0]
    for u, s in _ENERGY_UNITS:
        if ref >= s:
            unit, scale = u, s
    return unit, scale


def format_energy(value_pj: float, digits: int = 3) -> str:
    """Format one energy given in pJ with its own unit, e.g. ``'12.3 nJ'``.

    Parameters
    ----------
    value_pj : float
        Energy in picojoules.
    digits : int
        Significant digits.

    Returns
    -------
    str
    """
    rounded = float(f"{value_pj:.{digits}g}")  # so 999.96 pJ reads '1.00 nJ', not '1,000 pJ'
    unit, scale = energy_unit(rounded)
    return f"{_sig(rounded / scale, digits)} {unit}"


def _sig(x: float, digits: int = 3) -> str:
    """Plain (never scientific) number with ``digits`` significant digits."""
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(x)))))
    return f"{x:,.{decimals}f}"


def _tick(x: float) -> str:
    """Plain tick label: 0.05, 2, 300, 1,000; scientific only beyond 1e6 or below 1e-4."""
    if x == 0:
        return "0"
    if 1e-4 <= abs(x) < 1e6:
        s = f"{x:.6g}"
        if abs(x) >= 1000 and "." not in s:
            s = f"{x:,.0f}"
        return s
    mant, exp = f"{x:.2e}".split("e")
    return f"{float(mant):g}e{int(exp)}"


def _require(df, columns: Sequence[str], what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what}: expected a pandas DataFrame, got {type(df).__name__}")
    for col in columns:
        if col not in df.columns:
            raise ValueError(
                f"{what}: missing required column {col!r} (columns present: {', '.join(map(str, df.columns)) or 'none'})"
            )
    if df.empty:
        raise ValueError(f"{what}: the table has no rows")


def _numeric(df: pd.DataFrame, columns: Sequence[str], what: str, allow_nan: bool = False) -> pd.DataFrame:
    """Copy of ``df`` with ``columns`` as floats; ValueError naming the column otherwise."""
    df = df.copy()
    for col in columns:
        vals = pd.to_numeric(df[col], errors="coerce").astype(float)
        bad = vals.isna() & (df[col].notna() | (not allow_nan))
        if bad.any():
            raise ValueError(f"{what}: column {col!r} must be numeric; bad value {df[col][bad].iloc[0]!r}")
        df[col] = vals
    return df


def _order_encodings(names: Iterable[str]) -> list[str]:
    unique = list(dict.fromkeys(str(n) for n in names))
    lower = {n: n.strip().lower() for n in unique}
    known = [n for c in _CANONICAL_ORDER for n in unique if lower[n] == c]
    anns = [n for n in unique if _is_ann(n)]
    others = [n for n in unique if n not in known and n not in anns]
    return known + others + anns


def _colors_for(names: Iterable[str], colors: Mapping[str, str] | None) -> dict[str, str]:
    out = encoding_colors(names)
    if colors:
        out.update({k: v for k, v in colors.items() if k in out})
    return out


def _grid(n: int, max_cols: int = 3) -> tuple[int, int]:
    if n <= max_cols:
        return 1, n
    ncols = 2 if n == 4 else max_cols
    return math.ceil(n / ncols), ncols


def _new_figure(figsize) -> Figure:
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path, dpi: int) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi, facecolor="white")
    finally:
        fig.clear()  # drop artists; the figure was never registered with pyplot
    return path


def _text_color_on(rgb) -> str:
    r, g, b = rgb[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def _rate_label(v: float) -> str:
    """Cell label of a firing rate: '0', '<0.001', '0.004', '0.07'."""
    if v == 0:
        return "0"
    if v < 0.001:
        return "<0.001"
    return f"{v:.3f}" if v < 0.01 else f"{v:.2f}"


def _declutter(fig: Figure, texts: list, max_iter: int = 50) -> None:
    """Nudge point labels apart vertically (in display space) until none overlap."""
    if len(texts) < 2:
        return
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    start = {id(t): tuple(t.xyann) for t in texts}
    for _ in range(max_iter):
        moved = False
        boxes = [t.get_window_extent(renderer).expanded(1.05, 1.15) for t in texts]
        for i in range(len(texts)):
            for j in range(i + 1, len(texts)):
                if texts[i].axes is not texts[j].axes or not boxes[i].overlaps(boxes[j]):
                    continue
                # push the lower label down and the upper one up by half the overlap each
                lo, hi = (i, j) if boxes[i].y0 <= boxes[j].y0 else (j, i)
                overlap = boxes[lo].y1 - boxes[hi].y0 + 1
                pts = overlap * 72.0 / fig.dpi / 2
                for k, sign in ((lo, -1), (hi, 1)):
                    x, y = texts[k].xyann
                    texts[k].xyann = (x, y + sign * pts)
                moved = True
                boxes = [t.get_window_extent(renderer).expanded(1.05, 1.15) for t in texts]
        if not moved:
            break
    for t in texts:
        if t.arrow_patch is not None and math.dist(t.xyann, start[id(t)]) > 6:
            t.arrow_patch.set_visible(True)


# --------------------------------------------------------------------------- 1. energy


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
        sub = df[df["profile"] == prof]
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
    for ax in axes[len(profiles):]:
        ax.set_visible(False)

    handles = [Patch(facecolor=COMPONENT_COLORS[c], label=COMPONENT_LABELS[c]) for c in used]
    for enc in (e for e in encodings if _is_ann(e)):
        handles.append(Patch(facecolor="white", edgecolor=ANN_COLOR, hatch=_ann_style(enc)["hatch"], label=f"{enc} (hatched)"))
    handles.append(Line2D([], [], color="black", marker="_", markersize=8, linewidth=1.0, label=bounds_label))
    per_row = max(1, int(fig_w / 1.9))  # legend entries that fit on one row
    ncol = min(len(handles), per_row)
    if ncol < len(handles):  # balance the rows
        ncol = math.ceil(len(handles) / math.ceil(len(handles) / ncol))
    fig.legend(
        handles=handles, loc="outside lower center", ncols=ncol, frameon=False, fontsize=8.5,
        title="components, stacked from the bottom in this order", title_fontsize=8.5,
    )
    fig.suptitle(title, fontsize=12)
    return _save(fig, path, dpi)


# --------------------------------------------------------------------------- 2. firing heatmaps


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
    fig.suptitle(title, fontsize=12)
    return _save(fig, path, dpi)


# --------------------------------------------------------------------------- 3. accuracy vs energy


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
    them). Points are labelled with their name (labels are nudged apart so they never
    overlap). Panels share the accuracy axis. The energy axis is linear when a panel's
    energies span less than a decade, else logarithmic; either way every axis carries at
    least three labelled ticks in plain numbers. Each panel has its own energy unit.

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
    labels = []
    for k, (ax, prof) in enumerate(zip(flat, profiles)):
        sub = df[df["profile"] == prof]
        lo_all = float(sub[["energy_low_pj", "energy_pj"]].min().min())
        hi_all = float(sub[["energy_high_pj", "energy_pj"]].max().max())
        log_x = hi_all / lo_all >= 10
        unit, scale = energy_unit(sub[["energy_low_pj", "energy_pj", "energy_high_pj"]].to_numpy(), reference="geomean" if log_x else "max")
        for enc in [e for e in encodings if e in set(sub["encoding"])]:
            for _, row in sub[sub["encoding"] == enc].iterrows():
                ann = row["system"] == "ann" or _is_ann(enc)
                color = ANN_COLOR if ann else cmap[enc]
                e, lo, hi = row["energy_pj"] / scale, row["energy_low_pj"] / scale, row["energy_high_pj"] / scale
                a = row["accuracy"] * 100
                yerr = None
                if np.isfinite(row["accuracy_low"]) and np.isfinite(row["accuracy_high"]):
                    yerr = [[max(a - row["accuracy_low"] * 100, 0)], [max(row["accuracy_high"] * 100 - a, 0)]]
                ax.errorbar(
                    e, a, xerr=[[max(e - lo, 0)], [max(hi - e, 0)]], yerr=yerr,
                    fmt=_ann_style(enc)["marker"] if ann else "o", color=color, markersize=7, markeredgecolor="white",
                    markeredgewidth=0.8, elinewidth=1.2, capsize=3, zorder=3,
                )
                labels.append(
                    ax.annotate(
                        enc, (e, a), xytext=(7, -13) if ann and "skip" in enc.lower() else (7, 5),
                        textcoords="offset points", fontsize=8.5,
                        color=color, fontweight="bold", zorder=4,
                        arrowprops=dict(arrowstyle="-", color=color, linewidth=0.7, shrinkA=1, shrinkB=4),
                    )
                )
                labels[-1].arrow_patch.set_visible(False)  # leader line only if the label is moved
        lo_s, hi_s = lo_all / scale, hi_all / scale
        if log_x:
            span = math.log10(hi_s / lo_s)
            ax.set_xscale("log")
            ax.set_xlim(lo_s / 10 ** (0.08 * span), hi_s * 10 ** (0.3 * span))  # room for labels on the right
            _log_ticks(ax.xaxis)
            ax.set_xlabel(f"energy per inference ({unit}, log scale)")
        else:
            width = hi_s - lo_s or hi_s * 0.1
            ax.set_xlim(max(0.0, lo_s - 0.08 * width), hi_s + 0.35 * width)  # room for labels on the right
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5, min_n_ticks=3))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: _tick(v)))
            ax.set_xlabel(f"energy per inference ({unit})")
        ax.tick_params(axis="both", which="both", labelsize=8.5)
        ax.set_ylim(*ylim)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, min_n_ticks=3))
        ax.yaxis.set_tick_params(labelleft=True)
        if k % ncols == 0:
            ax.set_ylabel("accuracy (%)")
        ax.set_title(f"profile: {prof}", fontsize=10)
        ax.grid(True, which="major", color="#DDDDDD", linewidth=0.6)
        ax.spines[["top", "right"]].set_visible(False)
    for ax in flat[len(profiles):]:
        ax.set_visible(False)
    handles = [Line2D([], [], marker="o", color="#777777", linestyle="none", label="SNN")]
    for enc in (e for e in encodings if _is_ann(e)):
        handles.append(Line2D([], [], marker=_ann_style(enc)["marker"], color=ANN_COLOR, linestyle="none", label=enc))
    handles.append(Line2D([], [], color="black", marker="|", markersize=8, linewidth=1.0, label=bounds_label))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False, fontsize=8.5)
    fig.suptitle(f"{title}\n(up and to the left is better)", fontsize=11)
    _declutter(fig, labels)
    return _save(fig, path, dpi)


def _log_ticks(axis) -> None:
    """Log-axis ticks that always label at least three values in plain numbers.

    Decades only when the axis spans three or more; 1, 2, 5 per decade over one to three
    decades; 1..9 per decade below one decade.
    """
    from matplotlib.ticker import LogLocator, NullFormatter

    lo, hi = sorted(axis.get_view_interval())
    span = math.log10(hi / lo) if lo > 0 else 99.0
    subs = (1.0,) if span >= 3 else (1.0, 2.0, 5.0) if span >= 1 else tuple(float(k) for k in range(1, 10))
    axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=30))
    axis.set_major_formatter(FuncFormatter(lambda v, _p: _tick(v)))
    axis.set_minor_locator(LogLocator(base=10, subs=tuple(float(k) for k in range(1, 10)), numticks=30))
    axis.set_minor_formatter(NullFormatter())


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
    does not depend on T). The T axis marks exactly the timesteps present.

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

    fig = _new_figure((9.5, 3.8))
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
    energy_ax.legend(fontsize="small")
    fig.suptitle(title)
    return _save(fig, path, dpi)


# --------------------------------------------------------------------------- 4. early exit


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
    the dense ANN, dotted for a zero-skip one). The step axis has integer ticks.

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

    encodings = _order_encodings(snn["encoding"])
    cmap = _colors_for(list(encodings) + list(ann["encoding"]), colors)
    energies = df["cumulative_energy_pj"].to_numpy(dtype=float)
    unit, scale = energy_unit(energies)
    pos = energies[energies > 0]
    if energy_log is None:
        energy_log = pos.size > 1 and pos.max() / pos.min() > 100
    if energy_log:
        unit, scale = energy_unit(energies, reference="geomean")

    def _err(sub, col, low, high, k):
        if low not in sub.columns or high not in sub.columns:
            return None
        lo, hi, v = sub[low].to_numpy(float) * k, sub[high].to_numpy(float) * k, sub[col].to_numpy(float) * k
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            return None
        return np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)])

    fig = _new_figure((10.0, 4.2))
    ax_acc, ax_e = fig.subplots(1, 2)
    for enc in encodings:
        sub = snn[snn["encoding"] == enc].sort_values("steps")
        t = sub["steps"].to_numpy(float) - 1
        kw = dict(color=cmap[enc], marker="o", markersize=5, linewidth=1.8, label=enc, capsize=3, elinewidth=1.0)
        ax_acc.errorbar(t, sub["accuracy"] * 100, yerr=_err(sub, "accuracy", "accuracy_low", "accuracy_high", 100), **kw)
        ax_e.errorbar(t, sub["cumulative_energy_pj"] / scale, yerr=_err(
            sub, "cumulative_energy_pj", "cumulative_energy_low_pj", "cumulative_energy_high_pj", 1 / scale), **kw)
    ann_rows = ann.groupby("encoding", sort=False).first()
    acc_names: dict[float, list[str]] = {}  # ANN baselines of one model share an accuracy: one line, one label
    for name, row in ann_rows.iterrows():
        acc_names.setdefault(float(row["accuracy"]), []).append(str(name))
    for name, row in ann_rows.iterrows():
        kw = dict(color=ANN_COLOR, linestyle=_ann_style(name)["linestyle"], linewidth=1.5, label=f"{name} (no timesteps)")
        lines = [(ax_e, row["cumulative_energy_pj"] / scale, str(name))]
        names = acc_names[float(row["accuracy"])]
        if names[0] == name:
            lines.append((ax_acc, row["accuracy"] * 100, " = ".join(names)))
        for ax, y, text in lines:
            ax.axhline(y, **kw)
            ax.annotate(
                text, (1.0, y), xycoords=("axes fraction", "data"), xytext=(-3, 3),
                textcoords="offset points", ha="right", va="bottom", fontsize=8.5, color=ANN_COLOR,
            )

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
    handles, labels = ax_e.get_legend_handles_labels()  # every line (the accuracy panel may merge ANN lines)
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 5), frameon=False, fontsize=9)
    fig.suptitle(title or f"Early exit: accuracy and energy when reading out after step t (profile: {profile})", fontsize=12)
    return _save(fig, path, dpi)


# --------------------------------------------------------------------------- 5. spike raster


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
    what = "plot_spike_raster"
    if raster is None or len(raster) == 0:
        raise ValueError(f"{what}: raster is empty; expected a list of (layer_name, spikes) pairs")
    layers = []  # (name, values (T, rows, cols) float, kinds or None, image shape or None)
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

    n_max = max(np.isfinite(arr[0]).sum() for _, arr, kinds, _ in layers if kinds is None) if any(
        kinds is None for _, _, kinds, _ in layers) else 1
    fig_w = min(max(1.9 * T + 3.2, 8.0), 18.0)
    tile_frac = 0.84  # fraction of a step column covered by its tile
    tile_w = tile_frac * (fig_w - 3.2) / T  # inches
    heights = []
    for _, arr, kinds, _ in layers:
        rows, cols = arr.shape[1:]
        if kinds is not None:  # an image: square pixels, as tall as fits the column (at most 1.3 in)
            heights.append(max(0.6, min(1.3, tile_w * rows / cols)))
        else:  # the largest layer gets square pixels; smaller ones shrink as N**0.25, never below a label's height
            n = np.isfinite(arr[0]).sum()
            heights.append(max(0.5, tile_w / 1.5 * min(1.0, max(0.35, (n / n_max) ** 0.25))))
    fig_h = min(sum(heights) + 0.28 * len(layers) + 1.5, 20.0)
    fig = _new_figure((fig_w, fig_h))
    fig.get_layout_engine().set(h_pad=0.06, hspace=0.0)
    axes = np.atleast_1d(fig.subplots(len(layers), 1, sharex=True, gridspec_kw={"height_ratios": heights}))
    palette = ListedColormap(["#E3E3E3", color]).with_extremes(bad="white")
    greys = mpl.colormaps["Greys"].with_extremes(bad="white")
    for ax, (name, arr, kinds, shape), h in zip(axes, layers, heights):
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
    axes[-1].set_xticks(range(T))
    caption = (
        "Input frames are drawn as images (analog frames in grey levels, spike frames dark where a pixel fired). "
        "Each other tile is one layer at one timestep: its neurons wrapped row-major (neuron 0 top left), "
        "one pixel per neuron, dark = spike. Number above a tile = spikes in that step; "
        "left = totals over all steps."
    )
    axes[-1].set_xlabel("timestep t (0-based)\n" + textwrap.fill(caption, int(fig_w * 13)), fontsize=8.5)
    fig.suptitle(title or "Spike raster of one sample", fontsize=12)
    return _save(fig, path, dpi)


def plot_sensitivity(table: pd.DataFrame, path, *, top: int = 6, title: str | None = None, dpi: int = DPI) -> Path:
    """Tornado diagram: the SNN/ANN ratio with each uncertain constant alone at its bounds.

    One panel per profile that has uncertain constants, one bar per constant (the
    ``top`` widest, widest on top) from ``ratio_at_low`` to ``ratio_at_high``; the
    vertical line is the ratio with every constant at its value, the dotted one 1 (where
    SNN and ANN cost the same).

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
    fig = Figure(figsize=(6.4, 0.5 + 1.6 * n), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    if not profiles:
        axes[0].text(0.5, 0.5, "no uncertain constant moves the ratio on these profiles", ha="center", va="center")
        axes[0].set_axis_off()
    for ax, name in zip(axes, profiles):
        rows = table[table["profile"] == name].head(top).iloc[::-1]
        lo = np.minimum(rows["ratio_at_low"], rows["ratio_at_high"])
        hi = np.maximum(rows["ratio_at_low"], rows["ratio_at_high"])
        ax.barh(rows["parameter"], hi - lo, left=lo, color="#44AA99", height=0.6)
        ax.axvline(float(rows["ratio"].iloc[0]), color="black", lw=1)
        ax.axvline(1.0, color="grey", lw=1, ls=":")
        left, right = min(lo.min(), rows["ratio"].iloc[0], 1.0), max(hi.max(), rows["ratio"].iloc[0], 1.0)
        ax.set_xlim(left - 0.05 * (right - left), right + 0.05 * (right - left))
        ax.set_title(name, fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
    axes[-1].set_xlabel("SNN/ANN energy ratio (one constant at its low or high end)")
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path, dpi)
