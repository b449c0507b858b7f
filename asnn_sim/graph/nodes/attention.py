"""``attention``: softmax-free self-attention of three event maps (Spikformer's SSA).

Inputs ``(q, k, v)``, each a ``(D, H, W)`` events value; the ``N = H * W`` positions are
the tokens and the ``D`` channels the features (the simulator stores a map channels-last,
so it already is the token-major ``(N, D)`` matrix). Head ``j`` owns the features
``[j * dh, (j + 1) * dh)``, ``dh = D / heads``; per head and step::

    I_t[n, j*dh + e] = scale * sum_m ( sum_d Q[n, j*dh + d] K[m, j*dh + d] ) V[m, j*dh + e]

The output is a current (no bias) for a ``neuron`` (SNN) or ``relu`` (ANN twin).

Counting. A product counts when both operands are non-zero, in the column of its
operand classes: ``coincidences`` (spike x spike: an AND and an increment),
``product_acs`` (spike x multi-bit: an add of the other operand) or ``product_macs``
(multi-bit x multi-bit, e.g. the ANN twin's analog values). The intermediate ``S = Q K^T``
or ``M = K^T V`` is multi-bit (a count of coincidences). Per sample, head and step both
exact association orders are evaluated and the one with fewer products is performed and
counted: ``(Q K^T) V`` (``S``, then ``S V``) or ``Q (K^T V)`` (``M``, then ``Q M``); ties
go to ``(Q K^T) V``. ``kv_first`` counts the heads that used ``Q (K^T V)``. The events of
the three inputs are counted in ``in_events_*``; ``dense_macs`` is what a dense ANN does
in its cheaper order, ``heads * min(2 N^2 dh, 2 N dh^2)``. No weights are read.

``neurons_touched`` of the neuron reading this current counts the output elements that
are non-zero: with non-negative operands (spikes, graded sums, ReLU outputs) that is
exactly the elements an input event reached through some path; with signed analog
operands an element whose products cancel to 0 counts as untouched.

Exactness: the products are accumulated in float64, so spikes and graded sums give
exact integers whichever order is used; ``scale`` is applied last, in the replay's
precision. Where the scale is a power of two an exporter may fold it into the next
neuron instead (``scale = 1``, threshold divided by the scale, leak and gain unchanged),
which changes no comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from asnn_sim.graph import counts_schema
from asnn_sim.graph.counts_schema import Column
from asnn_sim.graph.nodes.base import (
    BINARY,
    CLASS_CODE,
    CLASS_NAME,
    CURRENT,
    EVENT_COUNTS,
    GRADED,
    Current,
    Node,
    TorchValue,
    event_row_counts,
    expected_events,
    fail,
    n_elements,
)
from asnn_sim.graph.nodes._products import PRODUCT_COLUMNS, PRODUCT_COUNTS, product_column, product_prices, products_without_spikes
from asnn_sim.graph.nodes.registry import register

def dense_products(tokens: int, dh: int, heads: int) -> int:
    """MACs of one dense pass (one sample) in the cheaper order: ``heads * min(2 N^2 dh, 2 N dh^2)``."""
    return heads * min(2 * tokens * tokens * dh, 2 * tokens * dh * dh)


@dataclass
class AttentionState:
    """A compiled attention node: the output ``current`` and ``marks`` (zero ``bias``),
    ``tokens`` per map, the kernel's dense operands ``dense (threads, 3, n)`` and ``work``
    space (one per thread splitting the batch), and the dense ``products`` of one sample
    and step."""

    current: np.ndarray
    marks: np.ndarray
    bias: np.ndarray
    tokens: int
    dense: np.ndarray
    work: np.ndarray
    products: int


@register
@dataclass
class Attention(Node):
    """``scale * Q K^T V`` per head, no softmax; see the module docstring.

    Attributes
    ----------
    heads : int
        Number of heads; must divide the feature count D.
    scale : float
        Positive output scale (Spikformer: 0.125, usually folded into the next neuron).
    """

    heads: int = 1
    scale: float = 1.0
    kind: ClassVar[str] = "attention"
    NAME_PREFIX = "attn"
    ATTRS = ("heads", "scale")
    N_INPUTS = 3
    ROLE = "product"
    COUNTS = (*EVENT_COUNTS, *PRODUCT_COUNTS, "kv_first", "dense_macs")
    OWN_COLUMNS = (*PRODUCT_COLUMNS,
                   Column("kv_first", "attention: heads (summed over samples) computed in the order Q (K^T V) at this step, the cheaper one; the rest used (Q K^T) V"))

    def check(self) -> None:
        if isinstance(self.heads, bool) or not isinstance(self.heads, (int, np.integer)) or self.heads < 1:
            raise fail(self.name, f"heads must be a positive integer, got {self.heads!r}")
        self.heads = int(self.heads)
        if isinstance(self.scale, bool) or not isinstance(self.scale, (int, float, np.integer, np.floating)) \
                or not math.isfinite(self.scale) or self.scale <= 0:
            raise fail(self.name, f"scale must be a positive finite number, got {self.scale!r}")
        self.scale = float(self.scale)

    def output_shape(self, in_shapes):
        shape = in_shapes[0]
        if len(set(in_shapes)) != 1:
            raise fail(self.name, f"q, k and v must have equal shapes, got {', '.join(map(str, in_shapes))}")
        if len(shape) != 3:
            raise fail(self.name, f"attention reads (D, H, W) maps (D features of H*W tokens), got shape {shape}")
        if shape[0] % self.heads:
            raise fail(self.name, f"heads={self.heads} does not divide the {shape[0]} features of the inputs")
        return shape

    def output_type(self, in_types, graph_kind):
        for role, src, t in zip("qkv", self.inputs, in_types):
            if t == CURRENT:
                raise fail(self.name, f"an attention node reads events for q, k and v, but its {role} input {src!r} gives a current; "
                                      f"put a neuron (or relu) after {src!r}")
        return CURRENT

    def _geometry(self, shape) -> tuple[int, int]:
        d, h, w = shape
        return h * w, d // self.heads

    # -- simulator

    def compile(self, ctx) -> AttentionState:
        shape = ctx.out_shape
        n = n_elements(shape)
        tokens, dh = self._geometry(shape)
        return AttentionState(
            current=ctx.output(n, zeroed=True),
            marks=ctx.output(n, np.uint8, zeroed=True),
            bias=np.zeros(n, ctx.dtype),
            tokens=tokens,
            # one sample at a time per thread: dense Q, K^T, V and the products' work space, one per thread
            dense=np.zeros((ctx.threads, 3, n)),
            work=np.zeros((ctx.threads, tokens * tokens + dh * dh + tokens * dh)),
            products=dense_products(tokens, dh, self.heads),
        )

    def step(self, st, inputs, t, ctx):
        q, k, v = inputs
        c = ctx.counts
        for x in inputs:
            event_row_counts(c, x)
        tq, tk, tv = (CLASS_NAME[x.event_class] for x in inputs)
        slots = np.array([counts_schema.SLOT[product_column(tq, tk)], counts_schema.SLOT[product_column(GRADED, tv)],
                          counts_schema.SLOT[product_column(tk, tv)], counts_schema.SLOT[product_column(tq, GRADED)], counts_schema.SLOT["kv_first"]], np.int64)
        binary = CLASS_CODE[BINARY]
        ctx.kernels.attention_in_threads(
            ctx.threads, *((x.idx, x.cnt, x.val, x.event_class == binary) for x in inputs), st.tokens, self.heads, self.scale,
            st.dense, st.work, st.current, st.marks, c, slots,
        )
        return Current(st.current, st.bias, False, st.marks, 1, ctx.out_shape)

    def fixed_counts(self, st, t):
        return {"dense_macs": st.products}

    # -- dense reference

    def torch_step(self, p, xs, state, t, ctx):
        q, k, v = (x.tensor for x in xs)
        b, d, h, w = q.shape
        tokens, dh = h * w, d // self.heads

        def per_head(x):  # (B, D, H, W) -> (B, heads, N, dh)
            return x.reshape(b, self.heads, dh, tokens).transpose(2, 3)

        Q, K, V = per_head(q), per_head(k), per_head(v)
        S = Q @ K.transpose(2, 3)
        out = (S @ V).transpose(2, 3).reshape(b, d, h, w) * self.scale
        if ctx.count:
            self._brute_force(Q, K, V, S, [x.type for x in xs], t, ctx)
        return TorchValue(out, CURRENT, out != 0)

    def _brute_force(self, Q, K, V, S, types, t, ctx) -> None:
        """Products of both orders per sample and head, from dense matrix products of the
        operands' non-zero indicators; the cheaper order's go to their columns."""
        torch = ctx.torch
        facts = ctx.facts(self.name, t)
        facts["events"] = [(kind, int((x != 0).sum().item())) for kind, x in zip(types, (Q, K, V))]

        def nz(x):
            return (x != 0).to(Q.dtype)

        def total(x):  # (B, heads, r, c) -> (B, heads) int64
            return x.sum((2, 3)).round().to(torch.int64)

        M = K.transpose(2, 3) @ V
        a1 = total(nz(Q) @ nz(K).transpose(2, 3))
        a2 = total(nz(S) @ nz(V))
        b1 = total(nz(K).transpose(2, 3) @ nz(V))
        b2 = total(nz(Q) @ nz(M))
        kv = (b1 + b2) < (a1 + a2)
        tq, tk, tv = types
        for column in ("coincidences", "product_acs", "product_macs"):
            facts[column] = 0
        steps = (
            (product_column(tq, tk), torch.where(kv, 0, a1)),
            (product_column(GRADED, tv), torch.where(kv, 0, a2)),
            (product_column(tk, tv), torch.where(kv, b1, 0)),
            (product_column(tq, GRADED), torch.where(kv, b2, 0)),
        )
        for column, products in steps:
            facts[column] += int(products.sum().item())
        facts["kv_first"] = int(kv.sum().item())
        facts["dense"] = dense_products(Q.shape[2], Q.shape[3], self.heads) * Q.shape[0]

    def expected_counts(self, facts, conventions, reused):
        expected = expected_events(facts["events"])
        for column in ("coincidences", "product_acs", "product_macs", "kv_first"):
            expected[column] = facts[column]
        expected["dense_macs"] = facts["dense"]
        return expected

    # -- layers table and hardware

    def facts(self, graph):
        tokens, dh = self._geometry(graph.shapes[self.name])
        dense = dense_products(tokens, dh, self.heads)
        return {"dense_macs_per_step": dense, "dense_ops_per_step": dense}

    @staticmethod
    def snn_cost(q):
        """Event-driven: each product is an AC (coincidence, spike x value) or a MAC (two
        values) that updates a partial sum (``synops``: potential traffic under
        sram-per-synop, in a memory the size of the output), with one address add, as a
        linear layer's synaptic op but without a weight read; each input event of q, k
        and v is read once from an input buffer holding the three maps."""
        products = q["coincidences"] + q["product_acs"] + q["product_macs"]
        return {**product_prices(q), "synops": products, "addr_add": products, "pot_elems": q["out_elements"],
                "in_elems": 3.0 * q["in_elements"]}

    @staticmethod
    def ann_cost(q):
        """Dense dataflow: the MACs (only those with non-zero operands in a replayed
        ANN), partial sums in registers, one address add per MAC, each input read once."""
        return {**product_prices(q, event_driven=False), "addr_add": q["product_macs"], "in_elems": 3.0 * q["in_elements"]}

    @staticmethod
    def ann_twin_counts(layer):
        # one dense pass: the three inputs read in full, every product of the cheaper order
        return {
            "in_events_analog": 3 * layer["in_elements"],
            "product_macs": layer["dense_macs_per_step"],
            "dense_macs": layer["dense_macs_per_step"],
        }

    @staticmethod
    def spike_free(q):
        return products_without_spikes(q)  # trilinear in q, k, v
