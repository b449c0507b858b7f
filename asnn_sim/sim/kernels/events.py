"""Events in and out: frames scanned into channels-last event lists, and lists back to dense maps (parity recording)."""

from __future__ import annotations

from numba import njit, prange

from asnn_sim.graph.nodes.base import CLASS_CODE

__all__ = ["ANALOG", "BINARY", "GRADED", "events_to_dense", "frame_to_events"]


# Event classes (what kind of tensor carries the events), as the node kinds define them;
# plain ints, which Numba compiles in as constants.
BINARY, GRADED, ANALOG = CLASS_CODE["binary"], CLASS_CODE["graded"], CLASS_CODE["analog"]


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
