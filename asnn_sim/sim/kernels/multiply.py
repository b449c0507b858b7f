"""The element-wise product of two event lists (the ``multiply`` kind).

Exactness: each product is one floating-point multiplication of the two stored values
(1.0 for a spike), the same operation PyTorch performs element-wise, so a float64
replay matches the dense reference bit for bit.
"""

from __future__ import annotations

from numba import njit, prange

__all__ = ["multiply_events"]


@njit(parallel=True, cache=True)
def multiply_events(idx_a, cnt_a, val_a, bin_a, idx_b, cnt_b, val_b, bin_b, acc, out_idx, out_cnt, out_val, products):
    """``a * b`` element-wise for two event lists of one shape.

    ``acc (B, n)`` is zeroed scratch: ``a``'s values are placed there (an event is never
    0, so a non-zero entry means "``a`` holds this element"), every event of ``b`` landing
    on one makes a product, and ``acc`` is zeroed again. ``products (B,)`` gets one per
    pair of non-zero operands (the work done); a product that rounds to 0 is not an event.
    The output lists follow ``b``'s order.
    """
    for s in prange(cnt_a.shape[0]):
        a = acc[s]
        for e in range(cnt_a[s]):
            a[idx_a[s, e]] = 1.0 if bin_a else val_a[s, e]
        k = 0
        for e in range(cnt_b[s]):
            o = idx_b[s, e]
            if a[o] != 0:
                p = a[o] * (1.0 if bin_b else val_b[s, e])
                products[s] += 1
                if p != 0:
                    out_idx[s, k] = o
                    out_val[s, k] = p
                    k += 1
        out_cnt[s] = k
        for e in range(cnt_a[s]):
            a[idx_a[s, e]] = 0
