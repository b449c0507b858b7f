"""Neuron-like updates: LIF/ASNN, current-based, ReLU, leaky integrator and readout, one timestep of a batch."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["CHUNK", "cuba_update", "li_update", "neuron_update", "readout_events", "readout_update", "relu_update"]


CHUNK = 512  # neurons per pass of the two-pass neuron update (flags stay in L1)


@njit(inline="always")
def _count_marks(marks, per, b):
    """Neurons reached by an event in sample ``b`` (marks of ``per`` neurons each); clears the marks."""
    m = marks[b]
    hit = 0
    for i in range(m.shape[0]):
        hit += m[i]
        m[i] = 0
    return hit * per


@njit(inline="always")
def _fires(d, ge):
    """The threshold test on ``d = v - threshold``: ``v > threshold``, or ``v >= threshold``
    with ``ge`` (a select, not a branch, so the loop still vectorises). In IEEE arithmetic
    (gradual underflow) ``v - threshold`` is 0 only when ``v == threshold``, so this is the
    same test as comparing ``v`` with ``threshold`` directly."""
    return (d > 0) | (ge & (d == 0))


@njit(inline="always")
def _compact(flags, lo, count, oi, k):
    """Append ``lo + j`` to the index list ``oi`` (from position ``k``) for every set
    ``flags[j]``, ``j < count``; returns the new length."""
    for j in range(count):
        oi[k] = lo + j
        k += flags[j]
    return k


@njit(parallel=True, cache=True)
def neuron_update(current, bias, own_bias, mem, leak, gain, threshold, hard, ge, v_reset, first, marks, per, out_idx, out_cnt,
                  touched, before):
    """One timestep of LIF/ASNN neurons, in the reference's exact order of operations.

    ``v = leak * v + gain * (current + bias) + own_bias``; spike where ``v - threshold > 0``
    (``>= 0`` with ``ge``); soft reset ``v -= threshold`` or hard reset ``v = v_reset``.
    ``bias``, ``own_bias`` and ``threshold`` are ``(n,)`` per neuron (an absent bias is
    zeros: adding 0.0 changes no bit). With ``first`` the old membrane is taken as 0 (the
    buffer is not read, so it needs no clearing between batches). Clears ``current`` for
    the next step, counts and clears the ``marks`` into ``touched``, and writes the spikes
    as event lists in increasing index order. ``before``: None, or a ``(B, n)`` array that
    receives the membranes before the reset (recording them: ``v + threshold`` after a
    soft reset is not always the same float). Numba compiles the two cases apart and
    prunes the store from the None one, so a replay that records nothing runs the plain
    loop (a run-time flag cost 13-17 % of this kernel in float32).

    Each chunk is done in two passes: the arithmetic (vectorised; the threshold test and
    the reset are selects, so every element gets the same operations as in a scalar
    loop), then compaction of the spike flags into indices.
    """
    n = mem.shape[1]
    zero = mem.dtype.type(0)
    for b in prange(mem.shape[0]):
        cur = current[b]
        m = mem[b]
        oi = out_idx[b]
        flags = np.empty(CHUNK, np.uint8)
        k = 0
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK)
            mm = m[lo:hi]
            cc = cur[lo:hi]
            bb = bias[lo:hi]
            ob = own_bias[lo:hi]
            th = threshold[lo:hi]
            for j in range(hi - lo):
                old = zero if first else mm[j]
                v = leak * old + gain * (cc[j] + bb[j]) + ob[j]
                d = v - th[j]
                s = _fires(d, ge)
                after = v_reset if hard else d
                mm[j] = after if s else v
                if before is not None:  # decided when compiling (None: no store at all)
                    before[b, lo + j] = v
                cc[j] = 0
                flags[j] = s
            k = _compact(flags, lo, hi - lo, oi, k)
        out_cnt[b] = k
        touched[b] += _count_marks(marks, per, b)


@njit(parallel=True, cache=True)
def cuba_update(current, bias, own_bias, syn, mem, syn_leak, syn_gain, leak, gain, threshold, hard, ge, v_reset, first,
                marks, per, out_idx, out_cnt, touched, before):
    """One timestep of current-based LIF neurons (NIR's CubaLIF, snnTorch's ``Synaptic``).

    ``i = syn_leak * i + syn_gain * (current + bias)`` first, then the membrane integrates
    the new ``i``: ``v = leak * v + gain * i + own_bias``; spike, reset, event lists,
    ``current``, ``marks`` and ``before`` exactly as :func:`neuron_update`. ``syn`` ``(B, n)`` holds
    the synaptic currents between steps and is never reset by a spike; with ``first``
    both ``syn`` and ``mem`` are taken as 0 (neither is read).
    """
    n = mem.shape[1]
    zero = mem.dtype.type(0)
    for b in prange(mem.shape[0]):
        cur = current[b]
        m = mem[b]
        sy = syn[b]
        oi = out_idx[b]
        flags = np.empty(CHUNK, np.uint8)
        k = 0
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK)
            mm = m[lo:hi]
            ss = sy[lo:hi]
            cc = cur[lo:hi]
            bb = bias[lo:hi]
            ob = own_bias[lo:hi]
            th = threshold[lo:hi]
            for j in range(hi - lo):
                i_old = zero if first else ss[j]
                old = zero if first else mm[j]
                i = syn_leak * i_old + syn_gain * (cc[j] + bb[j])
                v = leak * old + gain * i + ob[j]
                d = v - th[j]
                s = _fires(d, ge)
                after = v_reset if hard else d
                ss[j] = i
                mm[j] = after if s else v
                if before is not None:
                    before[b, lo + j] = v
                cc[j] = 0
                flags[j] = s
            k = _compact(flags, lo, hi - lo, oi, k)
        out_cnt[b] = k
        touched[b] += _count_marks(marks, per, b)


@njit(parallel=True, cache=True)
def relu_update(current, bias, marks, per, out_idx, out_cnt, out_val, touched):
    """ReLU of ``current + bias`` as analog event lists; clears ``current``, counts and clears ``marks``."""
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
        touched[b] += _count_marks(marks, per, b)


@njit(cache=True)  # a few logits per sample: not worth a parallel region (or its compile time)
def readout_update(current, bias, scale, t, marks, per, step_logits, total, touched):
    """Readout at step ``t``: ``step_logits[:, t] = scale * (current + bias)``, summed into
    ``total`` (set at ``t == 0``).

    ``step_logits`` is ``(B, T, K)``. Clears ``current``; counts and clears ``marks``.
    """
    n = current.shape[1]
    first = t == 0
    for b in range(current.shape[0]):
        cur = current[b]
        for j in range(n):
            v = scale * (cur[j] + bias[j])
            step_logits[b, t, j] = v
            total[b, j] = v if first else total[b, j] + v
            cur[j] = 0
        touched[b] += _count_marks(marks, per, b)


@njit(cache=True)
def readout_events(idx, cnt, val, binary, scale, t, step_logits, total, touched):
    """Readout of events at step ``t``: ``step_logits[:, t] = scale * x_t`` with ``x_t`` the
    dense vector of the events (1 for a spike, else the value), summed into ``total``.

    ``step_logits`` is ``(B, T, K)`` and zero at ``t`` on entry; a vector's events are
    indexed by element, so ``idx`` addresses the logits directly. ``touched`` gains the
    number of events (each reaches one logit).
    """
    first = t == 0
    for b in range(cnt.shape[0]):
        row = step_logits[b, t]
        for e in range(cnt[b]):
            row[idx[b, e]] = 1 if binary else val[b, e]
        for j in range(row.shape[0]):
            v = scale * row[j]
            row[j] = v
            total[b, j] = v if first else total[b, j] + v
        touched[b] += cnt[b]


@njit(parallel=True, cache=True)
def li_update(current, bias, own_bias, mem, leak, gain, first, marks, per, out_idx, out_val, out_cnt, touched):
    """One timestep of leaky integrators: ``v = leak * v + gain * (current + bias) + own_bias``
    (the neuron's order of operations, without threshold or reset), written out as analog
    event lists of the non-zero membranes in increasing index order. With ``first`` the
    old membrane is taken as 0. Clears ``current``; counts and clears ``marks``."""
    n = mem.shape[1]
    zero = mem.dtype.type(0)
    for b in prange(mem.shape[0]):
        cur = current[b]
        m = mem[b]
        oi = out_idx[b]
        ov = out_val[b]
        k = 0
        for j in range(n):
            old = zero if first else m[j]
            v = leak * old + gain * (cur[j] + bias[j]) + own_bias[j]
            m[j] = v
            cur[j] = 0
            if v != 0:
                oi[k] = j
                ov[k] = v
                k += 1
        out_cnt[b] = k
        touched[b] += _count_marks(marks, per, b)
