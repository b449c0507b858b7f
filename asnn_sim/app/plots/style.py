"""What every figure shares: colours per encoding, energy units, number formats, axes helpers.

The conventions are listed in the package docstring (:mod:`asnn_sim.app.plots`).
"""

from __future__ import annotations

import math
import textwrap
import zlib
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from hw_models import COMPONENTS  # energy components, in stacking order (bottom to top)
from asnn_sim.util.atomic import atomic_path

__all__ = ["DPI", "ANN_COLOR", "COMPONENTS", "COMPONENT_COLORS", "COMPONENT_LABELS", "encoding_colors", "energy_unit",
           "format_energy"]

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


class ShownFigure(Figure):
    """A figure that Jupyter shows as a PNG (``_repr_png_``) although pyplot was never
    imported: no pyplot means no inline backend to render it otherwise."""

    def _repr_png_(self) -> bytes:
        import io

        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=DPI, facecolor="white")
        return buffer.getvalue()


def _new_figure(figsize) -> Figure:
    fig = ShownFigure(figsize=figsize, layout="constrained")
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


def _suptitle(fig: Figure, text: str, fontsize: float = 12) -> None:
    """Figure title wrapped to the figure's width, so a long title is never cut off at the sides.

    Lines break at ``\\n`` and wherever the width asks, into lines of even length (no
    word left alone on the last line). Constrained layout makes room above the panels
    for however many lines the title takes.
    """
    width_pt = fig.get_figwidth() * 72.0 * 0.92  # a little margin on each side
    per_line = max(20, int(width_pt / (0.55 * fontsize)))  # a glyph is about 0.55 em wide on average
    lines = []
    for part in str(text).split("\n"):
        n_lines = math.ceil(len(part) / per_line)
        even = math.ceil(len(part) / n_lines) + 4 if n_lines > 1 else per_line  # + 4: room for word breaks
        lines += textwrap.wrap(part, min(per_line, even), break_on_hyphens=False) or [""]
    fig.suptitle("\n".join(lines), fontsize=fontsize)


def _bottom_legend(fig: Figure, handles: list, fontsize: float = 8.5, **kw) -> None:
    """One legend for the whole figure, below the panels, in as many balanced rows as its width needs.

    Constrained layout reserves the space (``loc="outside lower center"``), so entries never
    cover a curve or a point, and each series appears once however many panels show it.
    """
    longest = max(len(h.get_label()) for h in handles)
    entry_in = 0.55 + longest * fontsize * 0.55 / 72.0  # the marker, then the text
    per_row = max(1, int(fig.get_figwidth() * 0.95 / entry_in))
    ncol = min(len(handles), per_row)
    if ncol < len(handles):  # balance the rows instead of leaving one entry alone on the last
        ncol = math.ceil(len(handles) / math.ceil(len(handles) / ncol))
    fig.legend(handles=handles, loc="outside lower center", ncols=ncol, frameon=False, fontsize=fontsize, **kw)


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
