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

from asnn_sim.app.plots.activity import plot_firing_heatmaps, plot_spike_raster
from asnn_sim.app.plots.energy import plot_accuracy_vs_energy, plot_energy_by_encoding, plot_sensitivity
from asnn_sim.app.plots.latency import plot_energy_vs_latency
from asnn_sim.app.plots.style import (
    ANN_COLOR,
    COMPONENT_COLORS,
    COMPONENT_LABELS,
    COMPONENTS,
    DPI,
    encoding_colors,
    energy_unit,
    format_energy,
)
from asnn_sim.app.plots.timesteps import plot_against_timesteps, plot_early_exit

__all__ = [
    "ANN_COLOR",
    "COMPONENTS",
    "COMPONENT_COLORS",
    "COMPONENT_LABELS",
    "DPI",
    "encoding_colors",
    "energy_unit",
    "format_energy",
    "plot_energy_by_encoding",
    "plot_energy_vs_latency",
    "plot_firing_heatmaps",
    "plot_accuracy_vs_energy",
    "plot_early_exit",
    "plot_against_timesteps",
    "plot_spike_raster",
    "plot_sensitivity",
]
