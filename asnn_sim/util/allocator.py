"""Keep freed memory in the process for the next tensor of the same size (glibc malloc).

A training step allocates and frees the same few tensor sizes over and over: a Fashion-MNIST
LeNet's first-layer maps are 26 MB at batch 64, T = 4. glibc serves blocks above its
*mmap threshold* with fresh pages from the kernel and gives them back on ``free``, and
trims the heap's free top above its *trim threshold*; either way the next tensor pays a
page fault per 4 KiB page, which on a virtual machine costs more than the arithmetic
(about a fifth of a training step here, NOTES.md). Raising both thresholds keeps such
blocks in the heap for reuse; the cost is that up to :data:`TRIM_THRESHOLD` of freed
memory stays counted in the process's resident size.

Only glibc is touched (other C libraries have no ``mallopt``), and a threshold the user
set through glibc's own environment variables (``MALLOC_MMAP_THRESHOLD_`` ...) wins.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

#: Blocks up to this size come from the heap (glibc's largest allowed value on 64-bit).
MMAP_THRESHOLD = 32 * 1024 * 1024
#: Free memory at the heap's top kept instead of returned to the kernel.
TRIM_THRESHOLD = 1024 * 1024 * 1024
#: Extra bytes the heap grows by each time, so growth is rare.
TOP_PAD = 64 * 1024 * 1024

# mallopt parameter numbers from glibc's malloc.h.
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_USER_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")

_done = False


def keep_freed_memory() -> bool:
    """Set glibc's thresholds (once per process; later calls do nothing).

    Returns
    -------
    bool
        True when the settings are in force (now or from an earlier call); False on a
        C library without ``mallopt`` or when the user's own variables are set.
    """
    global _done
    if _done:
        return True
    if any(name in os.environ for name in _USER_VARIABLES):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, musl without the symbol)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    ok = all(
        mallopt(param, value)
        for param, value in ((_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD), (_M_TOP_PAD, TOP_PAD))
    )
    _done = ok
    return ok
