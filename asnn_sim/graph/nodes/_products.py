"""Products of two activations (no weight read): the count columns and the rule that picks one.

A product counts when both operands are non-zero, in the column of its operand classes.
Kinds that multiply two computed values (``attention``, ``multiply``) own these columns
together.
"""

from __future__ import annotations

from asnn_sim.graph.counts_schema import Column
from asnn_sim.graph.nodes.base import BINARY

PRODUCT_COLUMNS = (
    Column("coincidences", "products of two activations, binary x binary, both operands 1 (an AND and an increment, no weight read)"),
    Column("product_acs", "products of two activations, spike x multi-bit, the other operand non-zero (an add of that operand, no weight read)"),
    Column("product_macs", "products of two activations, multi-bit x multi-bit, both operands non-zero (graded or analog inputs, the ANN twin; no weight read)"),
)
PRODUCT_COUNTS = tuple(c.name for c in PRODUCT_COLUMNS)


def product_column(a: str, b: str) -> str:
    """The count column of a product of operands of value types ``a`` and ``b``: ``coincidences``
    (both binary), ``product_acs`` (one binary) or ``product_macs`` (neither). A multi-bit
    intermediate (a count) is passed as ``GRADED``."""
    spikes = (a == BINARY) + (b == BINARY)
    return ("product_macs", "product_acs", "coincidences")[spikes]


def products_without_spikes(q: dict) -> dict:
    """The product columns with spike activity removed (a kind's ``spike_free``).

    A product of activations is multilinear in its operands: with one operand silent there
    is no product. So a row keeps its products only when it reads no spikes or graded
    sums (``event_share == 0``: analog operands only).
    """
    keep = (q["event_share"] == 0).astype(float)
    return {column: q[column] * keep for column in PRODUCT_COUNTS}


def product_prices(q: dict, event_driven: bool = True) -> dict:
    """The hardware operations every product kind pays (its ``snn_cost``/``ann_cost`` adds
    its own): a spike operand makes an AC (the other operand passed or added on), two
    multi-bit operands a MAC, and each input event is read once. Dense (``event_driven``
    False): the MACs and the multi-bit reads only."""
    prices = {"mac": q["product_macs"], "in_reads_multi": q["in_events_graded"] + q["in_events_analog"]}
    if event_driven:
        prices.update(ac=q["coincidences"] + q["product_acs"], in_reads_bin=q["in_events_binary"])
    return prices
