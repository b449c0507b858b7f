"""Scatter over receptive fields: convolution and linear layers add weight rows per input event
(and count the pairs); pooling windows take each event. One file because they share the
inlined tap helpers, and Numba's cache does not see a change to a helper in another file.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from asnn_sim.sim.kernels.events import BINARY, GRADED

__all__ = ["MODE_AVG", "MODE_MAX", "MODE_OR", "column_parts", "conv_scatter", "conv_tables", "linear_scatter", "pool_events", "tap_table", "window_table"]


MODE_OR, MODE_MAX, MODE_AVG = 0, 1, 2  # pooling: spikes (OR), max of values, mean


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


VECTOR_BYTES = 32  # one AVX register; LLVM splits the vectors on narrower targets
BLOCK_VECTORS = 8  # vectors of a row kept in registers while a run of events is summed
MAX_BLOCKS = 6  # longer rows stay with the row-by-row passes (measured: NOTES.md, issue 23)


@intrinsic
def _sum_rows_in_registers(typingctx, cur, o, wt, base, ib, vb, start, end, jlo, jhi, weighted):
    """``cur[o, jlo:m] += wt[base + ib[k], jlo:m]`` (times ``vb[k]`` if ``weighted``) for ``k`` in
    ``start..end-1``, one event after the other; returns ``m``.

    ``m - jlo`` is the largest multiple of :data:`BLOCK_VECTORS` vectors of :data:`VECTOR_BYTES`
    (64 float32 or 32 float64 per block) that fits before ``jhi``; ``m = jlo`` (nothing done)
    when ``cur``'s rows are longer than :data:`MAX_BLOCKS` blocks or the arrays are not
    contiguous. Each block of ``cur[o]`` is loaded into registers once, every event's weights are added to it in event order, and it is
    stored once: the same operations in the same order as one pass per event (a product
    rounded, then added: no fused multiply-add), so the sums are bit-identical, without a
    load and store of ``cur[o]`` per event. Written in LLVM IR because Numba's loops keep
    ``cur[o]`` in memory (it may alias ``wt``) and LLVM does not turn scalar accumulators
    into vectors across the event loop. ``weighted`` must be a literal (``True`` or ``False``).

    Measured on the conv calls of ResNet-19 and Spikformer-4-384 (NOTES.md, issue 23):
    1.2-1.3x on rows of 128 to 384 float32; rows of 2 KB and more (ResNet-19's 512
    channels, 9.4 MB of weights) stream their weights from L3 better row by row.
    """
    if not isinstance(weighted, types.BooleanLiteral):
        return None
    sig = types.intp(cur, o, wt, base, ib, vb, start, end, jlo, jhi, weighted)
    if not (cur.layout == wt.layout == ib.layout == vb.layout == "C" and cur.dtype == wt.dtype):
        # the pointer arithmetic below needs contiguous rows of one width in both arrays
        return sig, lambda context, builder, signature, args: context.cast(builder, args[8], signature.args[8], types.intp)
    scaled = weighted.literal_value

    def codegen(context, builder, signature, args):
        cur_t, o_t, wt_t, base_t, ib_t, vb_t, start_t, end_t, jlo_t, jhi_t, _ = signature.args
        intp_t = context.get_value_type(types.intp)

        def as_intp(value, typ):
            return context.cast(builder, value, typ, types.intp)

        def const(v):
            return ir.Constant(intp_t, v)

        cur_a = context.make_array(cur_t)(context, builder, args[0])
        wt_a = context.make_array(wt_t)(context, builder, args[2])
        ib_a = context.make_array(ib_t)(context, builder, args[4])
        vb_a = context.make_array(vb_t)(context, builder, args[5])
        o_v, base_v = as_intp(args[1], o_t), as_intp(args[3], base_t)
        start_v, end_v = as_intp(args[6], start_t), as_intp(args[7], end_t)
        jlo_v, jhi_v = as_intp(args[8], jlo_t), as_intp(args[9], jhi_t)
        element = context.get_value_type(cur_t.dtype)
        width = VECTOR_BYTES // context.get_abi_sizeof(element)
        vector_t = ir.VectorType(element, width)
        align = context.get_abi_sizeof(element)
        n = cgutils.unpack_tuple(builder, cur_a.shape, 2)[1]
        block = const(BLOCK_VECTORS * width)
        m = builder.add(jlo_v, builder.mul(builder.sdiv(builder.sub(jhi_v, jlo_v), block), block))
        m = builder.select(builder.icmp_signed(">", n, const(MAX_BLOCKS * BLOCK_VECTORS * width)), jlo_v, m)
        row = builder.gep(cur_a.data, [builder.mul(o_v, n)])
        # allocas in the entry block: LLVM promotes them to registers
        acc = [cgutils.alloca_once(builder, vector_t) for _ in range(BLOCK_VECTORS)]

        def vectors(ptr):
            return [builder.bitcast(builder.gep(ptr, [const(u * width)]), vector_t.as_pointer()) for u in range(BLOCK_VECTORS)]

        with cgutils.for_range_slice(builder, jlo_v, m, block, intp_t) as (j, _):
            out = vectors(builder.gep(row, [j]))
            for a, p in zip(acc, out):
                builder.store(builder.load(p, align=align), a)
            with cgutils.for_range_slice(builder, start_v, end_v, const(1), intp_t) as (k, _):
                r = builder.add(base_v, as_intp(builder.load(builder.gep(ib_a.data, [k])), ib_t.dtype))
                w = builder.gep(wt_a.data, [builder.add(builder.mul(r, n), j)])
                if scaled:
                    v = context.cast(builder, builder.load(builder.gep(vb_a.data, [k])), vb_t.dtype, cur_t.dtype)
                    lanes = ir.VectorType(ir.IntType(32), width)
                    v = builder.insert_element(ir.Constant(vector_t, ir.Undefined), v, ir.Constant(ir.IntType(32), 0))
                    v = builder.shuffle_vector(v, ir.Constant(vector_t, ir.Undefined), ir.Constant(lanes, [0] * width))  # splat
                for a, p in zip(acc, vectors(w)):
                    term = builder.load(p, align=align)
                    if scaled:
                        term = builder.fmul(v, term)
                    builder.store(builder.fadd(builder.load(a), term), a)
            for a, p in zip(acc, out):
                builder.store(builder.load(a), p, align=align)
        return m

    return sig, codegen


@njit(inline="always")
def _add_rows(cur, o, wt, base, ib, vb, start, end, binary, jlo, jhi):
    """``cur[o, jlo:jhi] += wt[base + ib[k], jlo:jhi]`` (times ``vb[k]`` unless ``binary``) for ``k`` in
    ``start..end-1``, in that order.

    The leading blocks of the columns are summed in registers (:func:`_sum_rows_in_registers`);
    the other columns go through passes of up to four events over ``cur[o]``:
    ``(((d + w0) + w1) + w2) + w3`` is the same sequence of roundings as four separate
    passes, with a quarter of the loads and stores of ``cur[o]`` and of the loop overhead.
    Rows are indexed in place rather than taken as a view per event (which costs a
    reference count each; in place measured 5-9 % faster on the LeNet's conv calls, NOTES.md).
    """
    if binary:
        j0 = _sum_rows_in_registers(cur, o, wt, base, ib, vb, start, end, jlo, jhi, False)
    else:
        j0 = _sum_rows_in_registers(cur, o, wt, base, ib, vb, start, end, jlo, jhi, True)
    if j0 == jhi:
        return
    # unsigned bounds: with a signed start Numba checks every index for wraparound, and the
    # loops no longer vectorise (measured 2-3x slower)
    j0 = np.uint64(j0)
    nu = np.uint64(jhi)
    k = start
    if binary:
        while k + 4 <= end:
            r0 = base + ib[k]
            r1 = base + ib[k + 1]
            r2 = base + ib[k + 2]
            r3 = base + ib[k + 3]
            for j in range(j0, nu):
                cur[o, j] = (((cur[o, j] + wt[r0, j]) + wt[r1, j]) + wt[r2, j]) + wt[r3, j]
            k += 4
        while k < end:
            r0 = base + ib[k]
            for j in range(j0, nu):
                cur[o, j] += wt[r0, j]
            k += 1
    else:
        while k + 4 <= end:
            r0 = base + ib[k]
            r1 = base + ib[k + 1]
            r2 = base + ib[k + 2]
            r3 = base + ib[k + 3]
            v0 = vb[k]
            v1 = vb[k + 1]
            v2 = vb[k + 2]
            v3 = vb[k + 3]
            for j in range(j0, nu):
                cur[o, j] = (((cur[o, j] + v0 * wt[r0, j]) + v1 * wt[r1, j]) + v2 * wt[r2, j]) + v3 * wt[r3, j]
            k += 4
        while k < end:
            r0 = base + ib[k]
            v0 = vb[k]
            for j in range(j0, nu):
                cur[o, j] += v0 * wt[r0, j]
            k += 1


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


COLUMN_ALIGN = 64  # a part of a row starts on a block of the register sums (and a cache line)


def column_parts(batch: int, n_cols: int, threads: int) -> int:
    """Into how many column ranges each sample's output rows are split, so that a batch
    smaller than the thread count still keeps every thread busy (a batch of 1 on 2 cores).

    Each part replays all of the sample's events on its own columns: the threads write
    disjoint elements, and every element still receives its events in list order.
    """
    if batch >= threads:
        return 1
    return max(1, min(threads // max(batch, 1), n_cols // COLUMN_ALIGN))


@njit(parallel=True, cache=True)
def conv_scatter(
    idx, cnt, val, event_class, expand_graded, skip_zero, c_in, width,
    y_count, y_row, y_out, x_count, x_row, x_out,
    wt, nnz, n_syn, current, touched, acs, macs, parts,
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
    parts : int
        Column ranges per sample, each replayed by its own iteration (:func:`column_parts`).

    Notes
    -----
    A run of consecutive events at the same position (the channels of one pixel) reaches
    the same output positions, so the taps are looked up once per run; for each tap the
    run's weight rows are added one event after the other (:func:`_add_rows`). Every
    output element thus still receives its contributions in event-list order.

    A batch smaller than the thread count is also split by output columns
    (``parts``, from :func:`column_parts`): at batch 1 each of two threads adds half of every weight row.
    """
    n_cols = current.shape[2]
    chunk = -(-n_cols // parts)
    chunk = -(-chunk // COLUMN_ALIGN) * COLUMN_ALIGN
    for i in prange(cnt.shape[0] * parts):
        b = i // parts
        part = i - b * parts
        jlo = min(n_cols, part * chunk)
        jhi = min(n_cols, jlo + chunk)
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
                    _add_rows(cur, o, wt, r, ib, vb, e, end, event_class == BINARY, jlo, jhi)
            for k in range(e, end if part == 0 else e):  # counted once, by the first part
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
        if part == 0:
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
        _add_rows(current[b : b + 1], 0, wt, 0, ib, vb, 0, n, event_class == BINARY, 0, n_out)
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
