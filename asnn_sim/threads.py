"""CPU thread counts of the two parallel runtimes in one process: torch and Numba.

On Linux both run their parallel loops on one OpenMP runtime, and its thread count is
process-wide. Numba's OpenMP threading layer sets that count to its own
(``NUMBA_NUM_THREADS``, by default every CPU) whenever a parallel kernel runs, so after
a replay torch would compute with Numba's count instead of the one it was given
(``OMP_NUM_THREADS`` or ``torch.set_num_threads``). Training sums floats in an order
that depends on the thread count, so a model trained after a replay in the same process
(``asnn compare`` does that) would get other weights for the same seed than one trained
in a fresh process. :func:`torch_threads_kept` undoes that side effect.

This module imports nothing: torch is touched only when the caller already imported it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def torch_threads_kept() -> Iterator[None]:
    """Leave torch's intra-op thread count as it was before the block.

    A no-op when torch has not been imported (a replay-only process never loads it).
    """
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
