"""The scatter kernels add every event's weights in event-list order, bit for bit.

The conv and linear kernels sum runs of spikes in registers for the leading blocks of a
row and in passes of up to four events for the rest (``kernels/scatter.py``); both must
give exactly what one plain pass per event gives, for every row length: shorter than a
block, a multiple of a block, a remainder after blocks, and longer than the register path
takes. The reference here is numpy, one event and one tap at a time.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from asnn_sim.sim import kernels
from asnn_sim.sim.kernels.events import ANALOG, BINARY

ROW_LENGTHS = [1, 7, 32, 64, 100, 128, 192, 256, 257, 320, 512]


def _event_lists(rng, n_in: int, batch: int, density: float, analog: bool, dtype):
    """Channels-last event lists (sorted flat indices) and their values."""
    mask = rng.random((batch, n_in)) < density
    cnt = mask.sum(axis=1).astype(np.int64)
    idx = np.zeros((batch, max(1, n_in)), np.int32)
    val = np.zeros((batch, max(1, n_in)), dtype)
    for b in range(batch):
        where = np.flatnonzero(mask[b])
        idx[b, : where.size] = where
        val[b, : where.size] = rng.normal(size=where.size) if analog else 1
    return idx, cnt, val


def _count_columns(batch: int):
    """ACs and MACs as columns of one block, as the engine passes them: the same compiled
    signature, so the suite compiles no extra kernel for this file (a batch of 1 would be
    typed contiguous, another signature; the column split is tested with more threads)."""
    counts = np.zeros((batch, 2), np.int64)
    return counts[:, 0], counts[:, 1]


def _reference_conv(idx, cnt, val, analog, shape, out_hw, wt, k, stride, pad):
    """One event and one tap at a time, in list order (numpy adds a row elementwise)."""
    c_in, _, w = shape
    h_out, w_out = out_hw
    cur = np.zeros((idx.shape[0], h_out * w_out, wt.shape[1]), wt.dtype)
    for b in range(idx.shape[0]):
        for e in range(cnt[b]):
            for ky, kx, o in _taps(int(idx[b, e]), c_in, w, k, stride, pad, h_out):
                row = wt[(ky * k + kx) * c_in + int(idx[b, e]) % c_in]
                cur[b, o] = cur[b, o] + (val[b, e] * row if analog else row)
    return cur


@settings(max_examples=25, deadline=None)
@given(
    c_out=st.sampled_from(ROW_LENGTHS),
    c_in=st.integers(1, 9),
    hw=st.integers(2, 6),
    k=st.sampled_from([1, 3]),
    stride=st.sampled_from([1, 2]),
    density=st.sampled_from([0.2, 0.6, 1.0]),
    analog=st.booleans(),
    precision=st.sampled_from(["float32", "float64"]),
    batch=st.sampled_from([2, 3]),
    split=st.booleans(),
    seed=st.integers(0, 2**16),
)
@example(c_out=320, c_in=5, hw=5, k=3, stride=1, density=0.6, analog=False, precision="float32", batch=2, split=True, seed=1)
@example(c_out=200, c_in=3, hw=4, k=3, stride=2, density=1.0, analog=True, precision="float64", batch=3, split=True, seed=2)
def test_conv_scatter_sums_in_event_order_bit_for_bit(c_out, c_in, hw, k, stride, density, analog, precision, batch, split, seed):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(precision)
    pad = k // 2
    h_out = (hw + 2 * pad - k) // stride + 1
    idx, cnt, val = _event_lists(rng, c_in * hw * hw, batch, density, analog, dtype)
    wt = rng.normal(size=(k * k * c_in, c_out)).astype(dtype)
    tables = kernels.conv_tables((c_in, hw, hw), (c_out, h_out, h_out), (k, k), (stride, stride), (pad, pad))
    cur = np.zeros((batch, h_out * h_out, c_out), dtype)
    marks = np.zeros((batch, h_out * h_out), np.uint8)
    acs, macs = _count_columns(batch)
    nnz = (wt != 0).sum(axis=1).astype(np.int64)
    # split: as if twice as many threads as samples, so rows of 128+ are split by columns
    parts = kernels.column_parts(batch, c_out, 2 * batch if split else 1)
    kernels.conv_scatter(idx, cnt, val, ANALOG if analog else BINARY, False, False, c_in, hw, *tables, wt, nnz, c_out, cur,
                         marks, acs, macs, parts)
    expected = _reference_conv(idx, cnt, val, analog, (c_in, hw, hw), (h_out, h_out), wt, k, stride, pad)
    assert np.array_equal(cur, expected)
    # every pair counted once, however the columns were split between threads
    pairs = [sum(1 for e in range(cnt[b]) for _ in _taps(int(idx[b, e]), c_in, hw, k, stride, pad, h_out)) * c_out
             for b in range(batch)]
    assert (macs if analog else acs).tolist() == pairs


def _taps(flat, c_in, w, k, stride, pad, n_out):
    """The ``(ky, kx, output position)`` an input element reaches, padding and strides applied
    (square maps of ``n_out x n_out`` outputs)."""
    y, x = divmod(flat // c_in, w)
    for ky in range(k):
        for kx in range(k):
            ny, nx = y + pad - ky, x + pad - kx
            if ny % stride == 0 and nx % stride == 0 and 0 <= ny // stride < n_out and 0 <= nx // stride < n_out:
                yield ky, kx, (ny // stride) * n_out + nx // stride


def test_a_batch_smaller_than_the_threads_is_split_by_columns():
    assert kernels.column_parts(1, 128, 2) == 2  # batch 1 on two cores: half a row each
    assert kernels.column_parts(2, 128, 2) == 1 and kernels.column_parts(16, 512, 2) == 1
    assert kernels.column_parts(1, 64, 2) == 1  # one block: not worth a second thread
    assert kernels.column_parts(1, 512, 8) == 8 and kernels.column_parts(3, 512, 8) == 2


@pytest.mark.parametrize("analog", [False, True])
@pytest.mark.parametrize("precision", ["float32", "float64"])
@pytest.mark.parametrize("n_out", ROW_LENGTHS)
def test_linear_scatter_sums_in_event_order_bit_for_bit(n_out, precision, analog):
    rng = np.random.default_rng(n_out)
    dtype = np.dtype(precision)
    idx, cnt, val = _event_lists(rng, 300, 3, 0.3, analog, dtype)
    wt = rng.normal(size=(300, n_out)).astype(dtype)
    cur = np.zeros((3, n_out), dtype)
    touched = np.zeros((3, 1), np.uint8)
    acs, macs = _count_columns(3)
    kernels.linear_scatter(idx, cnt, val, ANALOG if analog else BINARY, False, False, wt, (wt != 0).sum(axis=1).astype(np.int64), cur, touched, acs, macs)
    expected = np.zeros_like(cur)
    for b in range(3):
        for e in range(cnt[b]):
            expected[b] = expected[b] + (val[b, e] * wt[idx[b, e]] if analog else wt[idx[b, e]])
    assert np.array_equal(cur, expected)
    assert (macs if analog else acs).tolist() == (cnt * n_out).tolist()
