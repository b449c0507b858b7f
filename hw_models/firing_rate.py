"""The energy convention of transformer-SNN papers, computed from our counts.

Spikformer (Zhou et al., ICLR 2023) and the papers that follow it estimate an SNN's
energy from each layer's dense operation count and the firing rate of its input:

    E = E_MAC x FLOPs(encoding layer) + E_AC x sum over layers of SOPs
    SOPs(layer) = fr(layer input) x T x FLOPs(layer)

with E_MAC = 4.6 pJ and E_AC = 0.9 pJ (45 nm, 32-bit float; Horowitz 2014). FLOPs of a
layer are its multiply-accumulates in one dense pass (``dense_macs_per_step`` of the
layers table, attention products included), and ``fr`` is the share of its input
elements that are non-zero, averaged over the T steps. The encoding layer (the layer
reading the image) is charged as dense MACs once, as those papers do for direct coding;
where its input is spikes (temporal coding, or hybrid coding after step 0) those steps
are SOPs like every other layer's. Nothing else (neurons, residual adds, pooling,
memory) is charged.

Our event replay counts the same synaptic work exactly, event by event; the two differ
where the formula's averages do not hold (docs/energy.md, "The firing-rate convention"):
an input element's real fan-out depends on where it is (padding), graded inputs are
multi-bit, the image's zero pixels cost nothing in the replay, and the replay computes
attention products in their cheaper order.

Nothing here needs torch or Numba; the input is a :class:`hw_models.counts.Counts`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .counts import Counts, parse_shape

#: E_AC and E_MAC of the convention, pJ (Horowitz, ISSCC 2014, 45 nm fp32; as used by Zhou et al. 2023).
E_AC_PJ = 0.9
E_MAC_PJ = 4.6

EVENT_COLUMNS = ("in_events_binary", "in_events_graded", "in_events_analog")


@dataclass(frozen=True)
class FiringRateEstimate:
    """The convention's estimate for one replay.

    Attributes
    ----------
    layers : pandas.DataFrame
        One row per layer with dense work: ``layer``, ``kind``, ``flops_per_step``,
        ``firing_rate`` (mean over the spike steps), ``spike_steps``, ``sops``,
        ``encoding_macs`` (dense MACs charged once, the encoding layer only),
        ``energy_pj``; all per inference.
    sops, encoding_macs, energy_pj : float
        Totals per inference.
    ann_pj : float
        The dense ANN under the same convention: E_MAC x every layer's FLOPs.
    """

    layers: pd.DataFrame
    sops: float
    encoding_macs: float
    energy_pj: float
    ann_pj: float

    @property
    def ratio(self) -> float:
        """SNN / ANN energy under this convention."""
        return self.energy_pj / self.ann_pj if self.ann_pj > 0 else float("nan")


def encoding_layers(layers: pd.DataFrame) -> set[str]:
    """The synaptic layers (dense work > 0) that read an input node of the graph.

    The input node has a row of its own in a replay's layers table (kind ``input``, no
    work); every layer with work that lists it among its inputs is an encoding layer (a
    second stem branch reading the image is one too). A table without an input row
    (counts written by hand) has its input read by the first layer with work.
    """
    working = layers[layers["dense_macs_per_step"] > 0].sort_values("layer_index")
    sources = set(layers.loc[layers["kind"] == "input", "layer"])
    if not sources and len(working):
        sources = set(str(working.iloc[0]["inputs"]).split(","))
    reads_input = working["inputs"].astype(str).str.split(",").map(lambda names: bool(sources & set(names)))
    return set(working.loc[reads_input, "layer"])


def firing_rate_estimate(counts: Counts, e_ac: float = E_AC_PJ, e_mac: float = E_MAC_PJ) -> FiringRateEstimate:
    """Price a replay with the firing-rate convention (module docstring).

    Parameters
    ----------
    counts : Counts
        An SNN replay (``asnn simulate --out``).
    e_ac, e_mac : float
        Energies per SOP and per MAC, pJ.

    Returns
    -------
    FiringRateEstimate

    Examples
    --------
    >>> from hw_models.synthetic import synthetic_counts
    >>> est = firing_rate_estimate(synthetic_counts())
    >>> round(est.sops, 2), est.encoding_macs, round(est.energy_pj / est.ann_pj, 4)
    (107404.75, 15488.0, 0.1539)
    """
    layers = counts.layers[counts.layers["dense_macs_per_step"] > 0]
    encoders = encoding_layers(counts.layers)
    table = counts.counts
    n = float(counts.n_samples)
    rows = []
    for lay in layers.itertuples(index=False):
        steps = table[table["layer"] == lay.layer]
        n_inputs = len(str(lay.inputs).split(","))
        elements = float(np.prod(parse_shape(lay.in_shape))) * n_inputs
        flops = float(lay.dense_macs_per_step)
        analog = steps["in_events_analog"].to_numpy(dtype=float) > 0
        is_encoder = lay.layer in encoders
        # Steps whose input is the image (analog) are the encoding layer's dense MACs;
        # every other step is spikes (or graded sums of spikes) and becomes SOPs.
        spike_steps = ~analog if is_encoder else np.ones(len(steps), bool)
        events = steps[list(EVENT_COLUMNS)].to_numpy(dtype=float).sum(axis=1) / n
        rates = events[spike_steps] / elements
        sops = float(rates.sum() * flops)  # = fr x (number of spike steps) x FLOPs
        encoding_macs = flops if is_encoder and analog.any() else 0.0
        rows.append({
            "layer": lay.layer,
            "kind": lay.kind,
            "flops_per_step": flops,
            "firing_rate": float(rates.mean()) if rates.size else 0.0,
            "spike_steps": int(spike_steps.sum()),
            "sops": sops,
            "encoding_macs": encoding_macs,
            "energy_pj": e_ac * sops + e_mac * encoding_macs,
        })
    frame = pd.DataFrame(rows, columns=["layer", "kind", "flops_per_step", "firing_rate", "spike_steps", "sops",
                                        "encoding_macs", "energy_pj"])
    return FiringRateEstimate(
        layers=frame,
        sops=float(frame["sops"].sum()),
        encoding_macs=float(frame["encoding_macs"].sum()),
        energy_pj=float(frame["energy_pj"].sum()),
        ann_pj=e_mac * float(layers["dense_macs_per_step"].sum()),
    )
