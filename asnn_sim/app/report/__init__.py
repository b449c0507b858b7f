"""Comparison reports: what each input coding costs, over several seeds, layer by layer, per chip.

Three modules: :mod:`~asnn_sim.app.report.tables` computes (per seed, then the spread over
seeds), :mod:`~asnn_sim.app.report.markdown` prints (cells, tables, ``summary.md``) and
:mod:`~asnn_sim.app.report.build` writes the folder.

:func:`build_report` takes trained-and-replayed models (:class:`~asnn_sim.app.pipeline.ModelArtifacts`),
one list per training seed, and writes ``REPORT_DIR/``::

    summary.md                 the tables and figures, readable on GitHub
    report.json                provenance (seeds, runs, thread counts); marks the folder as an asnn report
    tables/headline.*          per model: accuracy and counts per inference (mean and seed min/max)
    tables/ratios.*            per profile x encoding: SNN, dense ANN and zero-skip ANN energy, both ratios, verdicts
    tables/encodings.*         one row per encoding (and the ANN): accuracy, activity, counts over seeds
    tables/energy.*            one row per encoding x profile: energies, ratios, spreads, bounds, break-even
    tables/energy_by_seed.*    the same for every seed separately
    tables/encodings_by_seed.* one row per seed x model
    tables/firing_rates.*      encoding x layer x timestep (mean and seed min/max)
    tables/layer_timestep.*    seed x encoding x layer x timestep: every count, and energy per profile
    tables/early_exit.*        accuracy and cumulative energy using steps 0..t (mean and seed min/max)
    tables/energy_components.* encoding x profile x component (mean over seeds) for the stacked bars
    figures/*.png

Every table is written as CSV and Parquet. Energies are per inference, in pJ in the
tables (the markdown shows nJ).

Conventions of every number in a report
---------------------------------------
* **Two ANN baselines.** ``ANN dense``: the ReLU twin doing every MAC of every layer,
  zeros included (built from the layer shapes). ``ANN zero-skip``: the same dataflow
  performing only the MACs whose input is non-zero, measured by replaying the trained
  twin; this is the counting rule the SNN's own analog first layer follows (zero pixels
  are skipped). SNN/ANN is given against both.
* **Seeds.** Each model is trained once per seed. A table cell reads ``mean [min–max]``
  over the seeds. An SNN/ANN ratio's mean is the ratio of the mean energies
  (``mean SNN pJ / mean ANN pJ``, so it can be recomputed from the printed columns); its
  bracket is the smallest and largest per-seed ratio (each seed's SNN over the same
  seed's ANN). A verdict ("SNN lower" / "SNN higher") is stated only when every seed's
  ratio lies on the same side of 1; with one seed no verdict is given.
* **Counts** follow the simulator's conventions (recorded in every counts folder): an AC
  is one (non-zero binary input, in-bounds synapse) pair, a MAC one (non-zero analog
  input, synapse) pair.
"""

from asnn_sim.app.report.build import REPORT_FILES, Report, build_report
from asnn_sim.app.report.markdown import headline, headline_markdown, ratio_table, to_markdown
from asnn_sim.app.report.tables import (
    ANN_DENSE,
    ANN_SKIP,
    FIRM_SEEDS,
    accumulates,
    aggregate_energy,
    aggregate_models,
    firing_table,
    verdict,
)

__all__ = [
    "ANN_DENSE",
    "ANN_SKIP",
    "FIRM_SEEDS",
    "REPORT_FILES",
    "Report",
    "accumulates",
    "aggregate_energy",
    "aggregate_models",
    "build_report",
    "firing_table",
    "headline",
    "headline_markdown",
    "ratio_table",
    "to_markdown",
    "verdict",
]
