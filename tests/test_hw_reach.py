"""Which cores a spike reaches (hw_models/reach.py) against brute force with PyTorch.

The brute force sends one spike from every source neuron through the same layers with
all-ones weights (PyTorch's own conv2d and max_pool2d), reads which target neurons
light up, and counts the cores (runs of consecutive neurons, as numpy.array_split cuts a
group) that hold them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from hw_models.reach import range_boxes, reach_fractions


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=4), st.data())
def test_range_boxes_hold_exactly_the_range(shape, data):
    size = math.prod(shape)
    lo = data.draw(st.integers(0, size - 1))
    hi = data.draw(st.integers(lo, size - 1))
    boxes = range_boxes(lo, hi, tuple(shape))
    assert len(boxes) <= 2 * len(shape) - 1
    flat = np.concatenate([np.ravel_multi_index(np.meshgrid(*[np.arange(a, b + 1) for a, b in box], indexing="ij"),
                                                tuple(shape)).ravel() for box in boxes])
    assert sorted(flat.tolist()) == list(range(lo, hi + 1))  # every index once: no gap, no overlap


def _shape(shape) -> str:
    return "x".join(map(str, shape))


def _row(layer, kind, inputs, in_shape, out_shape, neurons=0, **window):
    return {"layer": layer, "kind": kind, "inputs": inputs, "in_shape": _shape(in_shape), "out_shape": _shape(out_shape),
            "n_neurons": neurons, "kernel": window.get("kernel", ""), "stride": window.get("stride", ""),
            "padding": window.get("padding", ""), "dilation": window.get("dilation", ""), "groups": window.get("groups", 0)}


def _pairs(k, s, p, d=1):
    return {"kernel": f"{k}x{k}", "stride": f"{s}x{s}", "padding": f"{p}x{p}", "dilation": f"{d}x{d}"}


def _brute_force(source_shape, forward, target_neurons, slices, cores):
    """Messages per core of the target group per source spike, one spike at a time."""
    bounds = np.cumsum([len(a) for a in np.array_split(np.arange(target_neurons), slices)])
    n = math.prod(source_shape)
    lit = forward(torch.eye(n, dtype=torch.float64).reshape(n, *source_shape)).reshape(n, -1).numpy() != 0  # a batch of one-hots
    total = sum(len(np.unique(np.searchsorted(bounds, np.flatnonzero(row), side="right"))) for row in lit)
    return total / (n * cores)


@settings(max_examples=60, deadline=None)
@given(groups=st.integers(1, 3), per_in=st.integers(1, 2), per_out=st.integers(1, 3), h=st.integers(3, 8), w=st.integers(3, 8),
       k=st.integers(1, 3), s=st.integers(1, 3), d=st.integers(1, 2), pad=st.integers(0, 1), pool=st.booleans(), data=st.data())
def test_reach_of_a_convolution_matches_brute_force(groups, per_in, per_out, h, w, k, s, d, pad, pool, data):
    c_in, c_out = groups * per_in, groups * per_out
    src = (c_in, h, w)
    pooled = (c_in, (h - 2) // 2 + 1, (w - 2) // 2 + 1) if pool else src
    extent = d * (k - 1) + 1
    out = (c_out, (pooled[1] + 2 * pad - extent) // s + 1, (pooled[2] + 2 * pad - extent) // s + 1)
    if min(out[1:]) < 1:
        return
    n_out = math.prod(out)
    cores = data.draw(st.integers(1, min(n_out, 9)), label="cores")
    rows = [_row("lif1", "neuron", "", src, src, math.prod(src))]
    if pool:
        rows.append(_row("pool1", "maxpool2d", "lif1", src, pooled, **_pairs(2, 2, 0)))
    rows += [_row("conv2", "conv2d", "pool1" if pool else "lif1", pooled, out, groups=groups, **_pairs(k, s, pad, d)),
             _row("lif2", "neuron", "conv2", out, out, n_out)]
    mapping = pd.DataFrame([{"layer": "lif2", "neurons": n_out, "cores": cores, "limited_by": "neurons"}])
    fraction = reach_fractions(pd.DataFrame(rows), mapping, neurons_per_core=None)[("lif1", "lif2")]

    ones = torch.ones((c_out, per_in, k, k), dtype=torch.float64)

    def forward(x):
        if pool:
            x = F.max_pool2d(x, 2, 2)
        return F.conv2d(x, ones, stride=s, padding=pad, dilation=d, groups=groups)

    assert fraction == pytest.approx(_brute_force(src, forward, n_out, cores, cores), rel=1e-12)


def test_a_residual_block_takes_the_union_of_its_paths():
    # lif1 (4x6x6) -> conv 3x3 stride 2 (4x3x3) + a 1x1 stride-2 shortcut -> add -> lif2 on 4 cores:
    # the two paths read the same source; a core's sources are the union of both windows
    src, out = (4, 6, 6), (4, 3, 3)
    rows = [_row("lif1", "neuron", "", src, src, 144),
            _row("conv_a", "conv2d", "lif1", src, out, groups=4, **_pairs(3, 2, 1)),
            _row("conv_b", "conv2d", "lif1", src, out, groups=1, **_pairs(1, 2, 0)),
            _row("add", "add", "conv_a,conv_b", out, out),
            _row("lif2", "neuron", "add", out, out, 36)]
    mapping = pd.DataFrame([{"layer": "lif2", "neurons": 36, "cores": 4, "limited_by": "neurons"}])
    fraction = reach_fractions(pd.DataFrame(rows), mapping, None)[("lif1", "lif2")]
    a, b = torch.ones((4, 1, 3, 3), dtype=torch.float64), torch.ones((4, 4, 1, 1), dtype=torch.float64)

    def forward(x):
        return F.conv2d(x, a, stride=2, padding=1, groups=4) + F.conv2d(x, b, stride=2)

    assert fraction == pytest.approx(_brute_force(src, forward, 36, 4, 4), rel=1e-12)


@pytest.mark.parametrize("cores", [1, 2, 3, 5, 7, 45])
def test_a_token_wise_layer_reaches_the_cores_holding_its_tokens(cores):
    src, out = (4, 3, 3), (5, 3, 3)
    rows = [_row("lif1", "neuron", "", src, src, 36), _row("tfc1", "token_linear", "lif1", src, out),
            _row("lif2", "neuron", "tfc1", out, out, 45)]
    mapping = pd.DataFrame([{"layer": "lif2", "neurons": 45, "cores": cores, "limited_by": "neurons"}])
    fraction = reach_fractions(pd.DataFrame(rows), mapping, None)[("lif1", "lif2")]
    ones = torch.ones((5, 4, 1, 1), dtype=torch.float64)
    assert fraction == pytest.approx(_brute_force(src, lambda x: F.conv2d(x, ones), 45, cores, cores), rel=1e-12)


def test_dense_links_and_unknown_windows_reach_every_core():
    src, out = (2, 4, 4), (3, 4, 4)
    rows = [_row("input", "input", "", src, src),
            _row("conv1", "conv2d", "input", src, out),  # no window stated: a table written before the columns
            _row("lif1", "neuron", "conv1", out, out, 48),
            _row("fc1", "linear", "lif1", (48,), (5,)),
            _row("lif2", "neuron", "fc1", (5,), (5,), 5)]
    mapping = pd.DataFrame([{"layer": "lif1", "neurons": 48, "cores": 3, "limited_by": "neurons"},
                            {"layer": "lif2", "neurons": 5, "cores": 2, "limited_by": "neurons"}])
    assert reach_fractions(pd.DataFrame(rows), mapping, None) == {("input", "lif1"): 1.0, ("lif1", "lif2"): 1.0}


def test_a_neuron_split_over_cores_by_its_axons_receives_on_one_of_them():
    # 5 neurons with 48 inputs each, 16 axons per core: 1 slice of 5 neurons over 3 cores; a
    # spike reaches the one core that holds its synapses
    rows = [_row("lif1", "neuron", "", (48,), (48,), 48), _row("fc1", "linear", "lif1", (48,), (5,)),
            _row("lif2", "neuron", "fc1", (5,), (5,), 5)]
    mapping = pd.DataFrame([{"layer": "lif2", "neurons": 5, "cores": 3, "limited_by": "axons"}])
    assert reach_fractions(pd.DataFrame(rows), mapping, neurons_per_core=1024)[("lif1", "lif2")] == pytest.approx(1 / 3)


def test_the_layers_table_states_every_window():
    import asnn_sim.api as asnn

    graph = (asnn.GraphBuilder((2, 9, 9), encoding="frames", timesteps=1, seed=0)
             .conv(weight=np.ones((4, 1, 3, 3)), stride=2, padding=(1, 0), dilation=(2, 1), groups=2).neuron()
             .maxpool(2, 1, 1).flatten().linear(weight=np.ones((3, 4 * 5 * 5))).readout().build())
    layers = asnn.simulate(graph, frames=np.ones((1, 1, 2, 9, 9), np.uint8), progress=False).layers.set_index("layer")
    conv = layers.loc["conv1"]
    assert (conv["kernel"], conv["stride"], conv["padding"], conv["dilation"], conv["groups"]) == ("3x3", "2x2", "1x0", "2x1", 2)
    pool = layers.loc["pool1"]
    assert (pool["kernel"], pool["stride"], pool["padding"], pool["dilation"], pool["groups"]) == ("2x2", "1x1", "1x1", "1x1", 0)
    fc = layers.loc["fc1"]
    assert (fc["kernel"], fc["groups"]) == ("", 0)
