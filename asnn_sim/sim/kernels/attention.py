"""Spike x spike attention: dense Q, K^T, V from event lists; products per head, the cheaper association order."""

from __future__ import annotations

from numba import njit

from asnn_sim.util.threads import in_slices

__all__ = ["attention_in_threads", "attention_products"]


@njit(inline="always")
def _to_dense(idx, cnt, val, binary, dst, transpose, tokens, features):
    """Write one sample's event list into the dense ``dst`` (zeroed): token-major
    ``dst[n * features + d]``, or feature-major ``dst[d * tokens + n]`` with ``transpose``."""
    for e in range(cnt):
        j = idx[e]
        o = (j % features) * tokens + j // features if transpose else j
        dst[o] = 1.0 if binary else val[e]


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)  # serial; attention_in_threads splits a batch (a parallel region would triple the compile)
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


def attention_in_threads(threads, q, k, v, tokens, heads, scale, dense, work, current, marks, counts, slots) -> None:
    """:func:`attention_products` over a batch split into ``threads`` slices of samples, run
    at once (the kernel releases the GIL); ``q, k, v`` are ``(idx, cnt, val, binary)`` and
    ``dense``/``work`` hold one scratch space per slice (first axis). Each sample gets the
    same operations whatever the split."""
    def run(lo, hi, i):
        attention_products(q[0][lo:hi], q[1][lo:hi], q[2][lo:hi], q[3], k[0][lo:hi], k[1][lo:hi], k[2][lo:hi], k[3],
                           v[0][lo:hi], v[1][lo:hi], v[2][lo:hi], v[3], tokens, heads, scale, dense[i], work[i],
                           current[lo:hi], marks[lo:hi], counts[lo:hi], slots)

    in_slices(run, len(q[1]), min(threads, len(dense)))
