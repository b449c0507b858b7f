"""Summing a batch's per-sample, per-step counts into the replay's totals, in one pass."""

from __future__ import annotations

from numba import njit

__all__ = ["tally_counts"]


@njit(cache=True)  # serial: one pass over a few MB; a parallel region would cost more to start and to compile
def tally_counts(counts, totals, per_sample):
    """``totals[r, t, c] += sum_b counts[b, r, t, c]`` and ``per_sample[b, r, c] = sum_t counts[b, r, t, c]``.

    ``counts`` is a batch's ``(B, R, T, C)`` int64 array, ``totals`` ``(R, T, C)`` and
    ``per_sample`` ``(B, R, C)`` (overwritten). Integer sums: exact in any order.
    """
    n_b, n_r, n_t, n_c = counts.shape
    for b in range(n_b):
        for r in range(n_r):
            ps = per_sample[b, r]
            ps[:] = 0
            for t in range(n_t):
                row = counts[b, r, t]
                tot = totals[r, t]
                for c in range(n_c):
                    tot[c] += row[c]
                    ps[c] += row[c]
