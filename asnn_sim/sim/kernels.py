"""The simulator's inner loops: Numba kernels over a batch of samples, parallel over samples.

Data layout
-----------
Feature maps are stored channels-last: element ``(c, y, x)`` of a ``(C, H, W)`` map has
flat index ``(y * W + x) * C + c``. A spike then adds one contiguous weight vector
(all output channels) per kernel tap, which the compiler vectorises.

A tensor travelling between layers is an *event list* per sample:
``idx[b, :cnt[b]]`` are the flat indices of its non-zero elements and, for analog or
graded tensors, ``val[b, :cnt[b]]`` their values. Binary spike lists carry no values
(their ``val`` is a placeholder no kernel reads): a spike adds the weight itself, an
accumulate (AC).

A *current* (what a neuron integrates) is a dense ``(B, n)`` buffer plus *marks* of the
neurons an input event reached; its consumer (neuron, ReLU, readout or an add of
currents) adds the pending bias, reads it, and leaves buffer and marks zeroed.

Counting happens where the work happens: every kernel that performs synaptic operations
returns how many (input event, in-bounds synapse) pairs it processed, per sample, so a
padded tap is never counted. Conventions (graded events, zero weights) are applied here
and nowhere else.

Performance notes
-----------------
Measurements and the commands that produce them: ``docs/performance.md``.

* Synaptic scatter: a spike adds whole contiguous weight rows (all output channels)
  through slices, which LLVM vectorises (no index arithmetic inside the loop). Which
  outputs a spike reaches along each axis is precomputed per layer (:func:`conv_tables`,
  :func:`window_table`), so there are no per-tap divisions or bounds branches. The
  events of one pixel (its channels, consecutive in a list) share the tap lookup, and
  up to four events are added per pass over an output row (:func:`_add_rows`).
* Neuron update (:func:`neuron_update`, and :func:`cuba_update` for current-based
  neurons): two passes over 512-neuron chunks, the arithmetic and threshold (vectorised)
  into flags, then the compaction of the spike indices.
* Input frames are scanned plane by plane and the events counting-sorted into
  channels-last order, instead of reading a transposed copy.
* Attention (:func:`attention_products`): a ``(D, H, W)`` map stored channels-last is
  the token-major ``(N, D)`` matrix, so the three event lists are written into dense
  float64 ``Q``, ``K^T`` and ``V`` (rows contiguous where the products read them) and
  every head's products skip zero operands. The kernel is serial: its work is a few
  percent of a Spikformer's synaptic work, and a parallel region would add seconds to
  the cold compile.
* Exactness: no ``fastmath`` and no fused multiply-adds (Numba's default). Every output
  element receives the same floating-point operations in the same order (input events
  in list order) as a plain scalar loop, so replays are reproducible bit for bit and a
  float64 replay stays spike-for-spike identical to PyTorch.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Event classes (what kind of tensor carries the events); see counts_schema.
BINARY, GRADED, ANALOG = 0, 1, 2


def tap_table(n_in: int, n_out: int, k: int, s: int, p: int, d: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Along one axis of a convolution: which (kernel tap, output coordinate) pairs each input coordinate reaches.

    Returns ``count (n_in,)``, ``tap (n_in, k)`` and ``out (n_in, k)``: input coordinate
    ``i`` reaches output ``out[i, a]`` through tap ``tap[i, a]`` for ``a < count[i]``, in
    increasing tap order, where ``out * s + tap * d - p == i`` (``d``: the dilation).
    Padding taps and taps between strides are absent.
    """
    count = np.zeros(n_in, np.int64)
    tap = np.zeros((n_in, k), np.int64)
    out = np.zeros((n_in, k), np.int64)
    for i in range(n_in):
        for kt in range(k):
            n = i + p - kt * d
            if n >= 0 and n % s == 0 and n // s < n_out:
                tap[i, count[i]] = kt
                out[i, count[i]] = n // s
                count[i] += 1
    return count, tap, out


def window_table(n_in: int, n_out: int, k: int, s: int, p: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Along one axis of a pooling: the windows ``o * s - p <= i < o * s - p + k`` containing each input coordinate
    (``p``: zero padding on each side; padded positions hold no events).

    Returns ``count (n_in,)`` and ``out (n_in, ceil(k / s))`` in increasing order.
    """
    width = -(-k // s)
    count = np.zeros(n_in, np.int64)
    out = np.zeros((n_in, width), np.int64)
    for i in range(n_in):
        for o in range(n_out):
            if o * s - p <= i < o * s - p + k:
                out[i, count[i]] = o
                count[i] += 1
    return count, out


@njit(parallel=True, cache=True)
def frame_to_events(frame, idx, cnt, val, tmp_pos, tmp_val, start):
    """Event lists (channels-last indices) of the non-zero elements of channel-first frames ``(B, C, H, W)``.

    ``frame`` must be C-contiguous. Values are first converted to ``val``'s dtype; an
    element is an event when the converted value is non-zero (so a float64 frame replayed
    in float32 drops exactly what a float32 copy of it would). Each channel plane is
    scanned contiguously into ``tmp_pos``/``tmp_val`` (``(B, n)`` scratch: int32 and
    ``val``'s dtype), then a stable counting sort by position (``start``: ``(B, H * W + 1)``
    int64 scratch) lists the events in channels-last order; a transposed copy of the
    frames, read with strides, is several times slower.
    """
    n_b, c_in, h, w = frame.shape
    hw = h * w
    for b in prange(n_b):
        f = frame[b]
        ib = idx[b]
        vb = val[b]
        k = 0
        if c_in == 1:  # channel-first is channels-last
            plane = f[0].ravel()
            for p in range(hw):
                v = vb.dtype.type(plane[p])
                if v != 0:
                    ib[k] = p
                    vb[k] = v
                    k += 1
        else:
            tp = tmp_pos[b]
            tv = tmp_val[b]
            st = start[b]
            st[:] = 0
            for c in range(c_in):
                plane = f[c].ravel()  # a view: frames are C-contiguous
                for p in range(hw):
                    v = vb.dtype.type(plane[p])
                    if v != 0:
                        tp[k] = p * c_in + c
                        tv[k] = v
                        k += 1
                        st[p + 1] += 1
            for p in range(hw):
                st[p + 1] += st[p]
            # Stable: the events come channel by channel, so each position's list is in channel order.
            for e in range(k):
                j = tp[e]
                p = j // c_in
                d = st[p]
                ib[d] = j
                vb[d] = tv[e]
                st[p] = d + 1
        cnt[b] = k


@njit(cache=True)  # only for recording spikes (parity checks): serial, cheap to compile
def events_to_dense(idx, cnt, channels, out):
    """Mark the events of channels-last lists in channel-first flat maps ``out (B, n)`` (uint8, zeroed).

    ``channels`` is the map's channel count (a vector of ``n`` elements: ``channels = n``).
    """
    for b in range(out.shape[0]):
        o = out[b]
        plane = o.shape[0] // channels
        for e in range(cnt[b]):
            j = idx[b, e]
            o[(j % channels) * plane + j // channels] = 1


@njit(inline="always")
def _add_rows(dst, wt, base, ib, vb, start, end, binary):
    """``dst += wt[base + ib[k]]`` (times ``vb[k]`` unless ``binary``) for ``k`` in ``start..end-1``, in that order.

    Up to four events per pass over ``dst``: ``(((d + w0) + w1) + w2) + w3`` is the same
    sequence of roundings as four separate passes, with a quarter of the loads and stores
    of ``dst`` and of the loop overhead.
    """
    n = dst.shape[0]
    k = start
    if binary:
        while k + 4 <= end:
            w0 = wt[base + ib[k]]
            w1 = wt[base + ib[k + 1]]
            w2 = wt[base + ib[k + 2]]
            w3 = wt[base + ib[k + 3]]
            for j in range(n):
                dst[j] = (((dst[j] + w0[j]) + w1[j]) + w2[j]) + w3[j]
            k += 4
        if k + 2 <= end:
            w0 = wt[base + ib[k]]
            w1 = wt[base + ib[k + 1]]
            for j in range(n):
                dst[j] = (dst[j] + w0[j]) + w1[j]
            k += 2
        if k < end:
            w0 = wt[base + ib[k]]
            for j in range(n):
                dst[j] += w0[j]
    else:
        while k + 4 <= end:
            w0 = wt[base + ib[k]]
            w1 = wt[base + ib[k + 1]]
            w2 = wt[base + ib[k + 2]]
            w3 = wt[base + ib[k + 3]]
            v0 = vb[k]
            v1 = vb[k + 1]
            v2 = vb[k + 2]
            v3 = vb[k + 3]
            for j in range(n):
                dst[j] = (((dst[j] + v0 * w0[j]) + v1 * w1[j]) + v2 * w2[j]) + v3 * w3[j]
            k += 4
        if k + 2 <= end:
            w0 = wt[base + ib[k]]
            w1 = wt[base + ib[k + 1]]
            v0 = vb[k]
            v1 = vb[k + 1]
            for j in range(n):
                dst[j] = (dst[j] + v0 * w0[j]) + v1 * w1[j]
            k += 2
        if k < end:
            w0 = wt[base + ib[k]]
            v0 = vb[k]
            for j in range(n):
                dst[j] += v0 * w0[j]


@njit(inline="always")
def _pixel_run(ib, e, n, channels):
    """The run of events from ``e`` at one position (its channels, consecutive in a list).

    Returns ``pos, lo, end``: the position, its first flat index ``pos * channels``, and
    the end of the run; such a run shares its tap or window lookup.
    """
    pos = ib[e] // channels
    lo = pos * channels
    hi = lo + channels
    end = e + 1
    while end < n and ib[end] >= lo and ib[end] < hi:
        end += 1
    return pos, lo, end


def conv_tables(in_shape, out_shape, kernel, stride, padding, dilation=(1, 1)) -> tuple[np.ndarray, ...]:
    """Per-axis tables for :func:`conv_scatter`, from :func:`tap_table`.

    Returns ``y_count, y_row, y_out, x_count, x_row, x_out``: input row ``y`` reaches
    output row ``oy = y_out[y, a] / w_out`` (stored premultiplied by ``w_out``) through
    kernel row ``ky`` (``oy * stride + ky * dilation - padding == y``), whose weights start at row ``y_row[y, a] = ky * k_w * c_in`` of the
    ``(k_h * k_w * c_in, c_out)`` weight matrix; likewise ``x_row = kx * c_in`` and
    ``x_out = ox`` for columns.
    """
    c_in, h, w = in_shape
    _, h_out, w_out = out_shape
    k_h, k_w = kernel
    y_count, y_tap, y_out = tap_table(h, h_out, k_h, stride[0], padding[0], dilation[0])
    x_count, x_tap, x_out = tap_table(w, w_out, k_w, stride[1], padding[1], dilation[1])
    return y_count, y_tap * (k_w * c_in), y_out * w_out, x_count, x_tap * c_in, x_out


@njit(parallel=True, cache=True)
def conv_scatter(
    idx, cnt, val, event_class, expand_graded, skip_zero, c_in, width,
    y_count, y_row, y_out, x_count, x_row, x_out,
    wt, nnz, n_syn, current, touched, acs, macs,
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
    y_count, y_row, y_out, x_count, x_row, x_out : :func:`conv_tables`
    wt : (k_h * k_w * c_in, c_out) weights, row ``(ky * k_w + kx) * c_in + ci``
    nnz : (k_h * k_w * c_in,) number of non-zero weights per row (of existing synapses)
    n_syn : int
        Existing synapses per weight row: ``c_out / groups`` (a grouped conv's ``wt`` is
        dense, with zeros where an input channel is outside an output channel's group:
        they add nothing and are not counted).
    current : (B, h_out * w_out, c_out), accumulated into
    touched : (B, h_out * w_out) uint8: output positions an event reached are set to 1
        (the consumer of the current counts and clears them)
    acs, macs : (B,) int64 outputs, added to

    Notes
    -----
    A run of consecutive events at the same position (the channels of one pixel) reaches
    the same output positions, so the taps are looked up once per run; for each tap the
    run's weight rows are added one event after the other (:func:`_add_rows`). Every
    output element thus still receives its contributions in event-list order.
    """
    for b in prange(cnt.shape[0]):
        cur = current[b]
        mark = touched[b]
        ib = idx[b]
        vb = val[b]
        n = cnt[b]
        n_ac = 0
        n_mac = 0
        e = 0
        while e < n:
            pos, lo, end = _pixel_run(ib, e, n, c_in)
            y = pos // width
            x = pos - y * width
            ny = y_count[y]
            nx = x_count[x]
            for a in range(ny):
                r_y = y_row[y, a] - lo  # + flat index = weight row
                o_y = y_out[y, a]
                for c in range(nx):
                    r = r_y + x_row[x, c]
                    o = o_y + x_out[x, c]
                    mark[o] = 1
                    _add_rows(cur[o], wt, r, ib, vb, e, end, event_class == BINARY)
            for k in range(e, end):
                if skip_zero:
                    pairs = 0
                    ci = ib[k] - lo
                    for a in range(ny):
                        for c in range(nx):
                            pairs += nnz[y_row[y, a] + x_row[x, c] + ci]
                else:
                    pairs = ny * nx * n_syn
                if event_class == BINARY:
                    n_ac += pairs
                elif event_class == GRADED and expand_graded:
                    n_ac += pairs * np.int64(vb[k])
                else:
                    n_mac += pairs
            e = end
        acs[b] += n_ac
        macs[b] += n_mac


@njit(parallel=True, cache=True)
def linear_scatter(idx, cnt, val, event_class, expand_graded, skip_zero, wt, nnz, current, touched, acs, macs):
    """Scatter input events through a fully connected layer; ``wt`` is ``(n_in, n_out)``.

    The events' weight rows are added in list order (:func:`_add_rows`). ``touched``
    ``(B, 1)`` is set to 1 when any event arrived (every output neuron is reached).
    """
    n_out = wt.shape[1]
    for b in prange(cnt.shape[0]):
        ib = idx[b]
        vb = val[b]
        n = cnt[b]
        _add_rows(current[b], wt, 0, ib, vb, 0, n, event_class == BINARY)
        n_ac = 0
        n_mac = 0
        for e in range(n):
            pairs = nnz[ib[e]] if skip_zero else n_out
            if event_class == BINARY:
                n_ac += pairs
            elif event_class == GRADED and expand_graded:
                n_ac += pairs * np.int64(vb[e])
            else:
                n_mac += pairs
        acs[b] += n_ac
        macs[b] += n_mac
        if n > 0:
            touched[b, 0] = 1


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
def neuron_update(current, bias, own_bias, mem, leak, gain, threshold, hard, ge, v_reset, first, marks, per, out_idx, out_cnt, touched):
    """One timestep of LIF/ASNN neurons, in the reference's exact order of operations.

    ``v = leak * v + gain * (current + bias) + own_bias``; spike where ``v - threshold > 0``
    (``>= 0`` with ``ge``); soft reset ``v -= threshold`` or hard reset ``v = v_reset``.
    ``bias``, ``own_bias`` and ``threshold`` are ``(n,)`` per neuron (an absent bias is
    zeros: adding 0.0 changes no bit). With ``first`` the old membrane is taken as 0 (the
    buffer is not read, so it needs no clearing between batches). Clears ``current`` for
    the next step, counts and clears the ``marks`` into ``touched``, and writes the spikes
    as event lists in increasing index order.

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
                cc[j] = 0
                flags[j] = s
            k = _compact(flags, lo, hi - lo, oi, k)
        out_cnt[b] = k
        touched[b] += _count_marks(marks, per, b)


@njit(parallel=True, cache=True)
def cuba_update(current, bias, own_bias, syn, mem, syn_leak, syn_gain, leak, gain, threshold, hard, ge, v_reset, first,
                marks, per, out_idx, out_cnt, touched):
    """One timestep of current-based LIF neurons (NIR's CubaLIF, snnTorch's ``Synaptic``).

    ``i = syn_leak * i + syn_gain * (current + bias)`` first, then the membrane integrates
    the new ``i``: ``v = leak * v + gain * i + own_bias``; spike, reset, event lists,
    ``current`` and ``marks`` exactly as :func:`neuron_update`. ``syn`` ``(B, n)`` holds
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


MODE_OR, MODE_MAX, MODE_AVG = 0, 1, 2


@njit(parallel=True, cache=True)
def pool_events(idx, cnt, val, binary, mode, channels, width, y_count, y_out, x_count, x_out, w_out, inv, acc, mark, windows, out_idx, out_cnt, out_val, ops):
    """2-D pooling on event lists; inputs are non-negative (spikes or ReLU outputs).

    ``binary``: the input is spikes (value 1; ``val`` is not read).
    ``MODE_OR``: max of spikes, i.e. an output spike if any input in the window spiked.
    ``MODE_MAX``: max of analog values (absent elements are 0, never above a present one).
    ``MODE_AVG``: window mean (``acc`` sums value * ``inv``, ``inv = 1 / window size``).
    ``y_count, y_out, x_count, x_out``: :func:`window_table` of the two axes.
    ``acc (B, n_out)`` and ``mark (B, n_out)`` are scratch, left zeroed; ``windows`` is
    ``(B, y_out.shape[1] * x_out.shape[1])`` int64 scratch. Output events are listed in
    the order of their first contributing input event. ``ops (B,)`` gets one per
    (input event, window) pair: an OR, a compare or an add.
    """
    for b in prange(cnt.shape[0]):
        a = acc[b]
        m = mark[b]
        ib = idx[b]
        oi = out_idx[b]
        win = windows[b]
        n = cnt[b]
        k = 0
        e = 0
        while e < n:
            pos, lo, end = _pixel_run(ib, e, n, channels)
            y = pos // width
            x = pos - y * width
            n_win = 0
            for i in range(y_count[y]):
                row = y_out[y, i] * w_out
                for j in range(x_count[x]):
                    win[n_win] = (row + x_out[x, j]) * channels - lo
                    n_win += 1
            ops[b] += (end - e) * n_win
            for ev in range(e, end):
                v = a.dtype.type(1) if binary else val[b, ev]  # spike lists carry no values
                for i in range(n_win):
                    o = win[i] + ib[ev]
                    if m[o] == 0:
                        m[o] = 1
                        oi[k] = o
                        k += 1
                    if mode == MODE_MAX:
                        if v > a[o]:
                            a[o] = v
                    elif mode == MODE_AVG:
                        a[o] += v * inv
            e = end
        for e in range(k):
            o = oi[e]
            out_val[b, e] = a[o] if mode != MODE_OR else 1
            a[o] = 0
            m[o] = 0
        out_cnt[b] = k


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


@njit(inline="always")
def _to_dense(idx, cnt, val, binary, dst, transpose, tokens, features):
    """Write one sample's event list into the dense ``dst`` (zeroed): token-major
    ``dst[n * features + d]``, or feature-major ``dst[d * tokens + n]`` with ``transpose``."""
    for e in range(cnt):
        j = idx[e]
        o = (j % features) * tokens + j // features if transpose else j
        dst[o] = 1.0 if binary else val[e]


@njit(cache=True)
def _attention_sample(qd, kt, vd, s, m, o, heads, n_tok, scale, cur, mk, cb, slots):
    """One sample of :func:`attention_products`, from its dense ``Q``, ``K^T`` and ``V``."""
    D = cur.shape[0] // n_tok
    dh = D // heads
    for j in range(heads):
        lo = j * dh
        s[:] = 0.0
        m[:] = 0.0
        o[:] = 0.0
        # S = Q K^T (rows of K^T are contiguous) and M = K^T V
        for n in range(n_tok):
            for d in range(dh):
                x = qd[n * D + lo + d]
                if x != 0:
                    kr = kt[(lo + d) * n_tok : (lo + d + 1) * n_tok]
                    for c in range(n_tok):
                        s[n * n_tok + c] += x * kr[c]
        for r in range(n_tok):
            vr = vd[r * D + lo : r * D + lo + dh]
            for d in range(dh):
                x = kt[(lo + d) * n_tok + r]
                if x != 0:
                    for e in range(dh):
                        m[d * dh + e] += x * vr[e]
        # products of each order
        a1 = 0
        b2 = 0
        for d in range(dh):
            nq = 0
            nk = 0
            nm = 0
            for n in range(n_tok):
                nq += qd[n * D + lo + d] != 0
                nk += kt[(lo + d) * n_tok + n] != 0
            for e in range(dh):
                nm += m[d * dh + e] != 0
            a1 += nq * nk
            b2 += nq * nm
        a2 = 0
        b1 = 0
        for r in range(n_tok):
            nv = 0
            nk = 0
            ns = 0
            for e in range(dh):
                nv += vd[r * D + lo + e] != 0
                nk += kt[(lo + e) * n_tok + r] != 0
            for n in range(n_tok):
                ns += s[n * n_tok + r] != 0
            a2 += ns * nv
            b1 += nk * nv
        if b1 + b2 < a1 + a2:  # Q (K^T V)
            cb[slots[2]] += b1
            cb[slots[3]] += b2
            cb[slots[4]] += 1
            for n in range(n_tok):
                orow = o[n * dh : (n + 1) * dh]
                for d in range(dh):
                    x = qd[n * D + lo + d]
                    if x != 0:
                        mr = m[d * dh : (d + 1) * dh]
                        for e in range(dh):
                            orow[e] += x * mr[e]
        else:  # (Q K^T) V
            cb[slots[0]] += a1
            cb[slots[1]] += a2
            for n in range(n_tok):
                orow = o[n * dh : (n + 1) * dh]
                for r in range(n_tok):
                    x = s[n * n_tok + r]
                    if x != 0:
                        vr = vd[r * D + lo : r * D + lo + dh]
                        for e in range(dh):
                            orow[e] += x * vr[e]
        sc = cur.dtype.type(scale)
        for n in range(n_tok):
            for e in range(dh):
                x = o[n * dh + e]
                cur[n * D + lo + e] = sc * cur.dtype.type(x)
                if x != 0:
                    mk[n * D + lo + e] = 1


@njit(cache=True)  # serial: a few percent of a Spikformer's work; a parallel region would triple its compile time
def attention_products(
    q_idx, q_cnt, q_val, q_bin, k_idx, k_cnt, k_val, k_bin, v_idx, v_cnt, v_val, v_bin,
    tokens, heads, scale, dense, work, current, marks, counts, slots,
):
    """Softmax-free attention of event lists: per head ``O = scale * Q K^T V``, in the cheaper order.

    Parameters
    ----------
    q_*, k_*, v_* : event lists of three ``(D, H, W)`` maps (channels-last: flat index
        ``n * D + d`` for token ``n = y * W + x`` and feature ``d``); ``*_bin``: spikes
        (value 1, ``val`` not read)
    tokens : N = H * W
    heads : the features split into ``heads`` blocks of ``dh = D / heads``
    scale : output scale, applied last in ``current``'s precision
    dense : (3, N * D) float64 scratch, reused sample after sample: Q token-major, K
        feature-major (transposed), V token-major
    work : (N * N + dh * dh + N * dh,) float64 scratch: S = Q K^T, M = K^T V and the head's output
    current : (B, N * D) written (every element), the attention's output current
    marks : (B, N * D) uint8: set to 1 where the output is non-zero
    counts : (B, n) int64, added to: the products of step 1 and step 2 of the order used go
        to columns ``slots[0], slots[1]`` for (Q K^T) V, ``slots[2], slots[3]`` for
        Q (K^T V); ``slots[4]`` counts the heads that used Q (K^T V)

    Notes
    -----
    A product counts when both operands are non-zero. Per head, with ``nz`` counting
    non-zero entries: (Q K^T) V takes ``sum_d nz(Q[:, d]) nz(K[:, d])`` products for S
    and ``sum_m nz(S[:, m]) nz(V[m, :])`` for S V; Q (K^T V) takes
    ``sum_m nz(K[m, :]) nz(V[m, :])`` for M and ``sum_d nz(Q[:, d]) nz(M[d, :])`` for Q M.
    Both S and M are computed (their zeros decide the counts), then the output from the
    order with fewer products (ties: (Q K^T) V). Everything is accumulated in float64:
    spikes and graded sums give integers, which both orders compute exactly, so the
    output does not depend on the order chosen; analog values are summed in index order.
    """
    n_tok = tokens
    D = current.shape[1] // n_tok
    dh = D // heads
    qd = dense[0]
    kt = dense[1]
    vd = dense[2]
    nn = n_tok * n_tok
    for b in range(q_cnt.shape[0]):
        qd[:] = 0.0
        kt[:] = 0.0
        vd[:] = 0.0
        _to_dense(q_idx[b], q_cnt[b], q_val[b], q_bin, qd, False, n_tok, D)
        _to_dense(k_idx[b], k_cnt[b], k_val[b], k_bin, kt, True, n_tok, D)
        _to_dense(v_idx[b], v_cnt[b], v_val[b], v_bin, vd, False, n_tok, D)
        _attention_sample(qd, kt, vd, work[:nn], work[nn : nn + dh * dh], work[nn + dh * dh : nn + dh * dh + n_tok * dh],
                          heads, n_tok, scale, current[b], marks[b], counts[b], slots)
