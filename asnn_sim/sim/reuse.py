"""Keep the last small compiled :class:`~asnn_sim.sim.engine.Simulator` for the next replay.

Compiling a graph (weight layouts, tap tables, buffers) costs a few milliseconds, which
for a small network replaying a few hundred samples is a tenth of the call. A notebook
calls :func:`asnn_sim.sim.simulate` again and again on the same graph, so the last
compiled simulator is kept and handed out again while the request matches: the same
graph object with the same contents (a fingerprint of every array and setting, so a
weight changed in place is noticed), precision, conventions and batch size.

Only simulators whose buffers are small are kept (:data:`KEEP_BYTES`): a big network's
compile is negligible beside its replay, and its buffers would stay in memory for
nothing. A simulator is taken out while it runs, so two threads never share one.
"""

from __future__ import annotations

import threading
import zlib
from contextlib import contextmanager
from dataclasses import fields
from typing import Iterator

import numpy as np

from asnn_sim.graph.ir import Graph
from asnn_sim.sim.engine import Conventions, Simulator

#: Buffers up to this size are kept between replays (bytes).
KEEP_BYTES = 32 * 2**20

_lock = threading.Lock()
_kept: tuple | None = None  # (key, Simulator)


def fingerprint(graph: Graph) -> int:
    """A checksum of everything a compile reads: every node's fields (arrays by content) and the timesteps."""
    settings = [graph.kind, graph.timesteps]
    crc = 0
    for node in graph.nodes:
        settings.append(type(node).__name__)
        for f in fields(node):
            value = getattr(node, f.name)
            if isinstance(value, np.ndarray):
                settings.append((f.name, value.dtype.str, value.shape))
                crc = zlib.crc32(np.ascontiguousarray(value).view(np.uint8).reshape(-1), crc)
            else:
                settings.append((f.name, value))
    return zlib.crc32(repr(settings).encode(), crc)


@contextmanager
def compiled(graph: Graph, precision: str, conventions: Conventions | None, batch_size: int) -> Iterator[Simulator]:
    """A :class:`Simulator` for the request: the kept one if it matches, else a new one.

    On leaving, a small enough simulator is kept for the next request (replacing the
    previous one); a run interrupted by an exception is cleaned up by the simulator itself
    at its next batch.
    """
    global _kept
    request = (precision, conventions or Conventions(), int(batch_size))
    with _lock:
        candidate, _kept = _kept, None  # taken: another thread compiles its own meanwhile
    sim, now = None, None
    if candidate is not None and candidate[1].graph is graph and candidate[0][0] == request:
        now = fingerprint(graph)
        sim = candidate[1] if candidate[0][1] == now else None
    if sim is None:
        sim = Simulator(graph, precision, conventions, batch_size)
    yield sim
    if sim.buffer_bytes <= KEEP_BYTES:
        key = (request, fingerprint(graph) if now is None else now)
        with _lock:
            _kept = (key, sim)
