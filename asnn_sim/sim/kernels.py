"""The simulator's inner loops: Numba kernels over a batch of samples, parallel over samples.

Data layout
-----------
Feature maps are stored channels-last: element ``(c, y, x)`` of a ``(C, H, W)`` map has
flat index ``(y * W + x) * C + c``. A spike then adds one contiguous weight vector
(all output channels) per kernel tap, which the compiler vectorises.

A tensor travelling between layers is an *event list* per sample:
``idx[b, :cnt[b]]`` are the flat indices of its non-zero elements and, for analog or
graded tensors, ``val[b, :cnt[b]]`` their values. Binary spike lists carry no values
(``use_val = False``): a spike adds the weight itself, an accumulate (AC).

Counting happens where the work happens: every kernel that performs synaptic operations
returns how many (input event, in-bounds synapse) pairs it processed, per sample, so a
padded tap is never counted. Conventions (graded events, zero weights) are applied here
and nowhere else.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Event classes (what kind of tensor carries the events); see counts_schema.
BINARY, GRADED, ANALOG = 0, 1, 2


@njit(parallel=True, cache=True)
def dense_to_events(x, idx, cnt, val):
    """Collect the non-zero elements of ``x (B, n)`` into event lists (with values)."""
    for b in prange(x.shape[0]):
        k = 0
        row = x[b]
        for j in range(row.shape[0]):
            if row[j] != 0:
                idx[b, k] = j
                val[b, k] = row[j]
                k += 1
        cnt[b] = k


@njit(parallel=True, cache=True)
def conv_scatter(
    idx, cnt, val, event_class, expand_graded, skip_zero,
    c_in, width, k_h, k_w, s_h, s_w, p_h, p_w, h_out, w_out,
    wt, nnz, current, touched, acs, macs, n_touched,
):
    """Scatter input events through a 2-D convolution.

    Parameters
    ----------
    idx, cnt, val : event lists of the ``(c_in, H, width)`` input (channels-last indices)
    event_class : BINARY, GRADED or ANALOG
    expand_graded : bool
        Graded events count ``value`` ACs per synapse instead of one MAC.
    skip_zero : bool
        Count only synapses with a non-zero weight (``nnz``); the arithmetic is the same.
    wt : (k_h, k_w, c_in, c_out) weights
    nnz : (k_h, k_w, c_in) number of non-zero weights per tap
    current : (B, h_out * w_out * c_out), accumulated into
    touched : (B, h_out * w_out) uint8 scratch, left zeroed
    acs, macs, n_touched : (B,) int64 outputs, added to
    """
    c_out = wt.shape[3]
    for b in prange(cnt.shape[0]):
        cur = current[b]
        mark = touched[b]
        n_ac = 0
        n_mac = 0
        for e in range(cnt[b]):
            flat = idx[b, e]
            ci = flat % c_in
            pos = flat // c_in
            x = pos % width
            y = pos // width
            v = val[b, e]
            pairs = 0
            for ky in range(k_h):
                ny = y + p_h - ky
                if ny < 0 or ny % s_h != 0:
                    continue
                oy = ny // s_h
                if oy >= h_out:
                    continue
                for kx in range(k_w):
                    nx = x + p_w - kx
                    if nx < 0 or nx % s_w != 0:
                        continue
                    ox = nx // s_w
                    if ox >= w_out:
                        continue
                    o = oy * w_out + ox
                    base = o * c_out
                    w = wt[ky, kx, ci]
                    if event_class == BINARY:
                        for co in range(c_out):
                            cur[base + co] += w[co]
                    else:
                        for co in range(c_out):
                            cur[base + co] += v * w[co]
                    mark[o] = 1
                    pairs += nnz[ky, kx, ci] if skip_zero else c_out
            if event_class == BINARY:
                n_ac += pairs
            elif event_class == GRADED and expand_graded:
                n_ac += pairs * np.int64(v)
            else:
                n_mac += pairs
        acs[b] += n_ac
        macs[b] += n_mac
        hit = 0
        for o in range(mark.shape[0]):
            if mark[o]:
                hit += 1
                mark[o] = 0
        n_touched[b] += hit * c_out


@njit(parallel=True, cache=True)
def linear_scatter(idx, cnt, val, event_class, expand_graded, skip_zero, wt, nnz, current, acs, macs, n_touched):
    """Scatter input events through a fully connected layer; ``wt`` is ``(n_in, n_out)``."""
    n_out = wt.shape[1]
    for b in prange(cnt.shape[0]):
        cur = current[b]
        n_ac = 0
        n_mac = 0
        for e in range(cnt[b]):
            i = idx[b, e]
            w = wt[i]
            v = val[b, e]
            if event_class == BINARY:
                for o in range(n_out):
                    cur[o] += w[o]
            else:
                for o in range(n_out):
                    cur[o] += v * w[o]
            pairs = nnz[i] if skip_zero else n_out
            if event_class == BINARY:
                n_ac += pairs
            elif event_class == GRADED and expand_graded:
                n_ac += pairs * np.int64(v)
            else:
                n_mac += pairs
        acs[b] += n_ac
        macs[b] += n_mac
        if cnt[b] > 0:
            n_touched[b] += n_out


@njit(parallel=True, cache=True)
def neuron_update(current, bias, mem, leak, gain, threshold, out_idx, out_cnt):
    """One timestep of LIF/ASNN neurons, in the reference's exact order of operations.

    ``mem = leak * mem + gain * (current + bias)``; spike where ``mem - threshold > 0``;
    soft reset ``mem -= threshold``. Clears ``current`` for the next step and writes the
    spikes as event lists.
    """
    n = mem.shape[1]
    for b in prange(mem.shape[0]):
        cur = current[b]
        m = mem[b]
        k = 0
        for j in range(n):
            v = leak * m[j] + gain * (cur[j] + bias[j])
            if v - threshold > 0:
                v -= threshold
                out_idx[b, k] = j
                k += 1
            m[j] = v
            cur[j] = 0
        out_cnt[b] = k


@njit(parallel=True, cache=True)
def relu_update(current, bias, out_idx, out_cnt, out_val):
    """ReLU of ``current + bias`` as analog event lists; clears ``current``."""
    n = current.shape[1]
    for b in prange(current.shape[0]):
        cur = current[b]
        k = 0
        for j in range(n):
            v = cur[j] + bias[j]
            if v > 0:
                out_idx[b, k] = j
                out_val[b, k] = v
                k += 1
            cur[j] = 0
        out_cnt[b] = k


@njit(parallel=True, cache=True)
def readout_update(current, bias, scale, step_logits, total):
    """Readout: ``step_logits = scale * (current + bias)``, summed into ``total``; clears ``current``."""
    n = current.shape[1]
    for b in prange(current.shape[0]):
        cur = current[b]
        for j in range(n):
            v = scale * (cur[j] + bias[j])
            step_logits[b, j] = v
            total[b, j] += v
            cur[j] = 0


MODE_OR, MODE_MAX, MODE_AVG = 0, 1, 2


@njit(parallel=True, cache=True)
def pool_events(idx, cnt, val, mode, channels, width, k_h, k_w, s_h, s_w, h_out, w_out, acc, mark, out_idx, out_cnt, out_val):
    """2-D pooling on event lists; inputs are non-negative (spikes or ReLU outputs).

    ``MODE_OR``: max of spikes, i.e. an output spike if any input in the window spiked.
    ``MODE_MAX``: max of analog values (absent elements are 0, never above a present one).
    ``MODE_AVG``: window mean (``acc`` sums value / window size).
    ``acc (B, n_out)`` and ``mark (B, n_out)`` are scratch, left zeroed.
    """
    inv = 1.0 / (k_h * k_w)
    for b in prange(cnt.shape[0]):
        a = acc[b]
        m = mark[b]
        k = 0
        for e in range(cnt[b]):
            flat = idx[b, e]
            c = flat % channels
            pos = flat // channels
            x = pos % width
            y = pos // width
            v = val[b, e]
            # Windows containing row y: oy * s_h <= y < oy * s_h + k_h.
            oy_lo = max(0, (y - k_h + s_h) // s_h) if y - k_h + s_h > 0 else 0
            ox_lo = max(0, (x - k_w + s_w) // s_w) if x - k_w + s_w > 0 else 0
            for oy in range(oy_lo, min(h_out - 1, y // s_h) + 1):
                for ox in range(ox_lo, min(w_out - 1, x // s_w) + 1):
                    o = (oy * w_out + ox) * channels + c
                    if m[o] == 0:
                        m[o] = 1
                        out_idx[b, k] = o
                        k += 1
                    if mode == MODE_MAX:
                        if v > a[o]:
                            a[o] = v
                    elif mode == MODE_AVG:
                        a[o] += v * inv
        for e in range(k):
            o = out_idx[b, e]
            out_val[b, e] = a[o] if mode != MODE_OR else 1
            a[o] = 0
            m[o] = 0
        out_cnt[b] = k


@njit(parallel=True, cache=True)
def add_events(idx_a, cnt_a, val_a, idx_b, cnt_b, val_b, acc, mark, out_idx, out_cnt, out_val):
    """Element-wise sum of two event lists (sums of spikes become graded values)."""
    for b in prange(cnt_a.shape[0]):
        a = acc[b]
        m = mark[b]
        k = 0
        for e in range(cnt_a[b]):
            o = idx_a[b, e]
            a[o] += val_a[b, e]
            if m[o] == 0:
                m[o] = 1
                out_idx[b, k] = o
                k += 1
        for e in range(cnt_b[b]):
            o = idx_b[b, e]
            a[o] += val_b[b, e]
            if m[o] == 0:
                m[o] = 1
                out_idx[b, k] = o
                k += 1
        kept = 0
        for e in range(k):
            o = out_idx[b, e]
            if a[o] != 0:  # opposite values can cancel; a zero is not an event
                out_idx[b, kept] = o
                out_val[b, kept] = a[o]
                kept += 1
            a[o] = 0
            m[o] = 0
        out_cnt[b] = kept
