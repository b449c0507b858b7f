"""Element-wise work: residual adds of currents and of event lists."""

from __future__ import annotations

from numba import njit, prange

__all__ = ["add_current", "add_events", "add_events_to_current"]


@njit(parallel=True, cache=True)
def add_current(dst, dst_marks, src, bias, src_marks, per):
    """``dst += src + bias`` element-wise (``dst`` starts at zero, so the first operand is copied
    exactly); clears ``src``. The source's marks (``per`` neurons each) are ORed into the
    per-neuron ``dst_marks`` and cleared."""
    n = dst.shape[1]
    for b in prange(dst.shape[0]):
        d = dst[b]
        s = src[b]
        for j in range(n):
            d[j] += s[j] + bias[j]
            s[j] = 0
        dm = dst_marks[b]
        sm = src_marks[b]
        for i in range(sm.shape[0]):
            if sm[i]:
                for j in range(i * per, (i + 1) * per):
                    dm[j] = 1
                sm[i] = 0


@njit(parallel=True, cache=True)
def add_events_to_current(dst, dst_marks, idx, cnt, val, binary, adds):
    """Add event values (1 for spikes) into the current ``dst``, marking each neuron reached;
    one addition per event."""
    for b in prange(dst.shape[0]):
        d = dst[b]
        dm = dst_marks[b]
        for e in range(cnt[b]):
            o = idx[b, e]
            if binary:
                d[o] += 1.0
            else:
                d[o] += val[b, e]
            dm[o] = 1
        adds[b] += cnt[b]


@njit(parallel=True, cache=True)
def add_events(idx_a, cnt_a, val_a, bin_a, idx_b, cnt_b, val_b, bin_b, acc, mark, out_idx, out_cnt, out_val, adds):
    """Element-wise sum of two event lists (sums of spikes become graded values).

    ``bin_a``/``bin_b``: the list is spikes (value 1; its ``val`` is not read).
    ``adds (B,)`` gets one per event landing on an element the other list already holds
    (an addition of two non-zero values); the other events are copies.
    """
    for b in prange(cnt_a.shape[0]):
        a = acc[b]
        m = mark[b]
        k = 0
        for e in range(cnt_a[b]):
            o = idx_a[b, e]
            a[o] += 1.0 if bin_a else val_a[b, e]
            if m[o] == 0:
                m[o] = 1
                out_idx[b, k] = o
                k += 1
        for e in range(cnt_b[b]):
            o = idx_b[b, e]
            a[o] += 1.0 if bin_b else val_b[b, e]
            if m[o] == 0:
                m[o] = 1
                out_idx[b, k] = o
                k += 1
        adds[b] += cnt_a[b] + cnt_b[b] - k
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
