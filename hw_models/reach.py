"""Which of a neuron group's cores a spike reaches: the messages each core receives per spike.

On a neuromorphic chip a neuron's spike leaves its core as one message to every core that
holds at least one of its targets (Loihi does so, and SANA-FE models it so: Boyle et al.,
IEEE TCAD 2025), and each such core pays ``t_message`` to take it in. A dense layer's spike
reaches every core of the next group; a convolution's reaches only the cores that hold the
neurons under its window, in the channels its group feeds (one core of a depthwise
convolution's, where each channel plane fills a core). This module gives, for every pair of
a source ``f`` (a neuron group, or the model's input) and a group ``g`` it feeds::

    fraction(f, g) = (sum over g's neuron slices s of the neurons of f with a target in s)
                     / (neurons of f x cores of g)

so that when ``f``'s spikes are spread evenly over its neurons, a core of ``g`` receives
``spikes of f x fraction(f, g)`` messages (the mean core: the per-core timing assumes
balanced cores). A *slice* is the run of consecutive neurons (in ``C x H x W`` order) one
core holds, the way the capacity mapping and SANA-FE's placement cut a group
(``numpy.array_split``); where a neuron's synapses do not fit one core (more axons than a
core has, or more synaptic memory than there are neurons to spread it over) a slice spans
several cores and a spike reaches the one holding its synapses. A dense link gives
``fraction = slices / cores``: 1 without such a split.

**Finding a slice's sources.** A slice is cut into boxes of its group's shape
(:func:`range_boxes`), and each box is walked back through the nodes between ``g`` and its
sources, every node turning a box of its output into the box of the input it reads
(:data:`RECEPTIVE`, a rule per node kind: a window for ``conv2d`` and the pools, every
feature of the same tokens for ``token_linear``, the same box for element-wise nodes). A
kind without a rule reads the whole input, and so does a window the layers table does not
state (counts written before its window columns) or a reshape between two nodes: every core
is reached. That is exact for ``linear`` and an upper bound for the rest (``attention``).
The sources of a slice are the union of its boxes' receptive boxes, counted on a mask of
the source's neurons: exact for strides, dilations and groups, since a window maps a
product of index sets to a product of index sets.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .counts import parse_shape

__all__ = ["RECEPTIVE", "range_boxes", "reach_fractions", "nodes_of", "slice_bounds", "slice_sources", "union_indices"]

#: A box: the indices taken along each dimension of a node's output shape (a product set,
#: which a window maps to a product set: it acts on each dimension alone).
Box = tuple[np.ndarray, ...]


def range_boxes(lo: int, hi: int, shape: tuple[int, ...]) -> list[tuple[tuple[int, int], ...]]:
    """The boxes that together hold exactly the flat (row-major) indices ``lo..hi`` of ``shape``,
    each an inclusive ``(first, last)`` per dimension.

    At most ``2 x len(shape) - 1`` boxes: a partial head, the whole middle, a partial tail,
    at every level.
    """
    if len(shape) == 1:
        return [((lo, hi),)]
    inner = math.prod(shape[1:])
    a0, r0 = divmod(lo, inner)
    a1, r1 = divmod(hi, inner)
    if a0 == a1:
        return [((a0, a0),) + box for box in range_boxes(r0, r1, shape[1:])]
    whole = tuple((0, n - 1) for n in shape[1:])
    boxes = []
    if r0 == 0:
        first = a0  # the head is whole: it joins the middle
    else:
        boxes += [((a0, a0),) + box for box in range_boxes(r0, inner - 1, shape[1:])]
        first = a0 + 1
    last = a1 if r1 == inner - 1 else a1 - 1
    if first <= last:
        boxes.append(((first, last),) + whole)
    if last < a1:
        boxes += [((a1, a1),) + box for box in range_boxes(0, r1, shape[1:])]
    return boxes


# ----------------------------------------------------------------------------- rules per kind


@dataclass(frozen=True)
class _Node:
    """What the walk needs of one row of the layers table, parsed once."""

    kind: str
    operands: tuple[str, ...]
    out_shape: tuple[int, ...]
    in_shape: tuple[int, ...]  # of its first input, () for the input node
    window: tuple | None  # ((kh, kw), (sh, sw), (ph, pw), (dh, dw)), None where not stated
    groups: int
    source: bool  # a neuron group or the input: where a walk stops


def nodes_of(layers: pd.DataFrame) -> dict[str, _Node]:
    def pair(text: str) -> tuple[int, int]:
        rows, cols = str(text).split("x")
        return int(rows), int(cols)

    nodes = {}
    for r in layers.to_dict("records"):
        stated = bool(r.get("kernel", ""))
        window = tuple(pair(r[k]) for k in ("kernel", "stride", "padding", "dilation")) if stated else None
        operands = tuple(s for s in str(r["inputs"]).split(",") if s) if isinstance(r["inputs"], str) else ()
        nodes[r["layer"]] = _Node(r["kind"], operands, parse_shape(r["out_shape"]),
                                  parse_shape(r["in_shape"]) if str(r["in_shape"]) else (), window,
                                  int(r.get("groups", 0) or 0), r["kind"] == "input" or r["n_neurons"] > 0)
    return nodes


def _taps(out: np.ndarray, kernel: int, stride: int, padding: int, dilation: int, size: int) -> np.ndarray:
    """The input rows (or columns) that output rows ``out`` of a window read (padding dropped), sorted."""
    if len(out) == 0:
        return out
    if dilation == 1 and kernel >= stride and len(out) == out[-1] - out[0] + 1:
        # a run of outputs whose windows touch or overlap reads one run of inputs
        return np.arange(max(0, out[0] * stride - padding), min(size, out[-1] * stride - padding + kernel))
    rows = (out[:, None] * stride - padding + np.arange(kernel)[None, :] * dilation).ravel()
    present = np.zeros(size, bool)
    present[rows[(rows >= 0) & (rows < size)]] = True
    return np.flatnonzero(present)


def _window(node: _Node, box: Box, in_shape: tuple[int, ...], channels: Callable[[np.ndarray], np.ndarray]) -> Box | None:
    if node.window is None or len(box) != 3 or len(in_shape) != 3:
        return None
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = node.window
    c, y, x = box
    return channels(c), _taps(y, kh, sh, ph, dh, in_shape[1]), _taps(x, kw, sw, pw, dw, in_shape[2])


def _conv(node: _Node, box: Box, in_shape: tuple[int, ...]) -> Box | None:
    """A convolution: every input channel of the output channels' groups, under the window."""
    groups = node.groups or 1
    per_out, per_in = node.out_shape[0] // groups, in_shape[0] // groups
    if groups == 1:
        return _window(node, box, in_shape, lambda c: np.arange(in_shape[0]))
    return _window(node, box, in_shape, lambda c: (np.unique(c // per_out)[:, None] * per_in + np.arange(per_in)).ravel())


def _pool(node: _Node, box: Box, in_shape: tuple[int, ...]) -> Box | None:
    """A pool: the same channels, under the window."""
    return _window(node, box, in_shape, lambda c: c)


def _token(node: _Node, box: Box, in_shape: tuple[int, ...]) -> Box | None:
    """A token-wise linear layer (a 1x1 convolution): every input feature of the same tokens."""
    return (np.arange(in_shape[0]),) + box[1:] if len(box) == 3 and len(in_shape) == 3 else None


def _same(node: _Node, box: Box, in_shape: tuple[int, ...]) -> Box | None:
    """An element-wise node (a residual add, a product, a neuron group's own current): the same box."""
    return box if len(box) == len(in_shape) else None


#: kind -> rule turning a box of the node's output into the box of one input it reads
#: (``None``: the whole input). Extend it for a new kind whose outputs read only part of
#: an input; a kind missing here reads all of it.
RECEPTIVE: dict[str, Callable] = {
    "conv2d": _conv,
    "maxpool2d": _pool,
    "avgpool2d": _pool,
    "sumpool2d": _pool,
    "token_linear": _token,
    "add": _same,
    "multiply": _same,
    "neuron": _same,
    "cuba_neuron": _same,
    "leaky_integrator": _same,
    "relu": _same,
    "readout": _same,
}


# ----------------------------------------------------------------------------- walking back


def _receptive_sources(nodes: dict[str, _Node], group: str, box: Box) -> dict[str, list[Box | None]]:
    """The boxes of every source (neuron group or input) that ``box`` of ``group`` reads
    (``None``: all of it)."""
    found: dict[str, list[Box | None]] = {}

    def walk(name: str, box: Box | None) -> None:
        node = nodes[name]
        if name != group and node.source:
            found.setdefault(name, []).append(box)
            return
        rule = RECEPTIVE.get(node.kind)
        for source in node.operands:
            if source not in nodes:  # a hand-made table names an input it has no row for
                continue
            in_shape = nodes[source].out_shape
            # what the node reads must be the source's own shape: a reshape between them
            # (a flatten, a broadcast operand) leaves the box meaningless, so all is read
            read_as = node.out_shape if rule is _same else node.in_shape
            fits = rule is not None and box is not None and in_shape == read_as
            walk(source, rule(node, box, in_shape) if fits else None)

    walk(group, box)
    return found


def _union(boxes: list[Box]) -> tuple[np.ndarray, list[int]] | None:
    """The union of product boxes as a mask of their bounding region and that region's
    first index per dimension (None: the boxes hold nothing)."""
    boxes = [b for b in boxes if all(len(axis) for axis in b)]  # a window over padding alone reads nothing
    if not boxes:
        return None
    lo = [min(int(b[d][0]) for b in boxes) for d in range(len(boxes[0]))]
    hi = [max(int(b[d][-1]) for b in boxes) for d in range(len(boxes[0]))]
    mask = np.zeros([h - l + 1 for l, h in zip(lo, hi)], bool)  # noqa: E741
    for b in boxes:
        if all(len(axis) == axis[-1] - axis[0] + 1 for axis in b):  # runs: slices, much faster than np.ix_
            mask[tuple(slice(axis[0] - l, axis[-1] - l + 1) for axis, l in zip(b, lo))] = True  # noqa: E741
        else:
            mask[np.ix_(*(axis - l for axis, l in zip(b, lo)))] = True  # noqa: E741
    return mask, lo


def _union_size(boxes: list[Box]) -> int:
    """Elements in the union of product boxes."""
    boxes = [b for b in boxes if all(len(axis) for axis in b)]
    if len(boxes) <= 1:  # one box: its size, without a mask
        return math.prod(len(axis) for axis in boxes[0]) if boxes else 0
    mask, _ = _union(boxes)
    return int(np.count_nonzero(mask))


def union_indices(boxes: list[Box | None], shape: tuple[int, ...]) -> np.ndarray | None:
    """The flat (row-major) indices of ``shape`` in the union of ``boxes``, sorted (None:
    a box is the whole source)."""
    if any(b is None for b in boxes):
        return None
    union = _union(boxes)
    if union is None:
        return np.zeros(0, np.int64)
    mask, lo = union
    where = np.nonzero(mask)
    return np.ravel_multi_index(tuple(w + l for w, l in zip(where, lo)), shape).astype(np.int64)  # noqa: E741


def _slices(neurons: int, cores: int, limited_by: str, neurons_per_core: int | None) -> int:
    """How many runs of consecutive neurons the group's cores hold (module docstring)."""
    if limited_by == "axons" and neurons_per_core:
        return min(neurons, math.ceil(neurons / neurons_per_core))
    return min(neurons, cores)


def reach_fractions(layers: pd.DataFrame, mapping: pd.DataFrame, neurons_per_core: int | None) -> dict[tuple[str, str], float]:
    """``fraction(f, g)`` for every source ``f`` and group ``g`` it feeds (module docstring).

    Parameters
    ----------
    layers : pandas.DataFrame
        A validated layers table.
    mapping : pandas.DataFrame
        :attr:`hw_models.capacity.Mapping.layers`: ``layer``, ``neurons``, ``cores``,
        ``limited_by`` of every neuron group.
    neurons_per_core : int or None
        The profile's ``[capacity]`` neuron limit (to find the slices of an axon-split group).

    Returns
    -------
    dict
        ``(source, group)`` -> the mean messages a core of ``group`` receives per spike of
        ``source``, in ``(0, 1]``.
    """
    nodes = nodes_of(layers)
    out: dict[tuple[str, str], float] = {}
    for g in mapping.itertuples(index=False):
        reached: dict[str, int] = {}
        for _, per_source in slice_sources(nodes, g, neurons_per_core):
            for source, boxes in per_source.items():
                whole = any(b is None for b in boxes)
                reached[source] = reached.get(source, 0) + (math.prod(nodes[source].out_shape) if whole else _union_size(boxes))
        for source, total in reached.items():
            out[(source, g.layer)] = total / (math.prod(nodes[source].out_shape) * int(g.cores))
    return out


def slice_bounds(g, neurons_per_core: int | None) -> np.ndarray:
    """The first neuron of each of a mapped group's slices, and its neuron count last
    (``g``: a row of :attr:`hw_models.capacity.Mapping.layers`)."""
    slices = _slices(int(g.neurons), int(g.cores), g.limited_by, neurons_per_core)
    return np.cumsum([0] + [len(a) for a in np.array_split(np.arange(int(g.neurons)), slices)])


def slice_sources(nodes: dict[str, _Node], g, neurons_per_core: int | None):
    """For each slice of mapped group ``g`` in order: ``(lo, hi)`` its first and last neuron,
    and source -> the boxes of that source its neurons read (``None``: all of it)."""
    shape = nodes[g.layer].out_shape
    bounds = slice_bounds(g, neurons_per_core)
    for lo, hi in zip(bounds[:-1], bounds[1:] - 1):
        per_source: dict[str, list[Box | None]] = {}
        for first_last in range_boxes(int(lo), int(hi), shape):
            box = tuple(np.arange(a, b + 1) for a, b in first_last)
            for source, boxes in _receptive_sources(nodes, g.layer, box).items():
                per_source.setdefault(source, []).extend(boxes)
        yield (int(lo), int(hi)), per_source
