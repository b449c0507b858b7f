"""Keep the last few small compiled :class:`~asnn_sim.sim.engine.Simulator` s for the next replays.

Compiling a graph (weight layouts, tap tables, buffers) costs a few milliseconds, which
for a small network replaying a few hundred samples is a tenth of the call. A notebook
calls :func:`asnn_sim.sim.simulate` again and again on the same graph (often in both
precisions), so the last :data:`KEEP` compiled simulators are kept and handed out again
while a request matches: the same graph object with the same contents (a fingerprint of
every array and setting, so a weight changed in place is noticed), precision,
conventions and batch size.

Only simulators whose buffers are small are kept (:data:`KEEP_BYTES` in all): a big
network's compile is negligible beside its replay, and its buffers would stay in memory
for nothing. A simulator is taken out while it runs, so two threads never share one.
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

#: How many compiled simulators are kept, and their buffers' total size (bytes).
KEEP = 4
KEEP_BYTES = 32 * 2**20

_lock = threading.Lock()
_kept: list[tuple] = []  # (key, Simulator), the most recently used last


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
    with _lock:  # taken out: another thread compiles its own meanwhile
        candidates = [k for k in _kept if k[1].graph is graph and k[0][0] == request]
        _kept = [k for k in _kept if k not in candidates]
    sim, now = None, None
    if candidates:
        now = fingerprint(graph)
        sim = next((s for (_, fp), s in candidates if fp == now), None)
    if sim is None:
        sim = Simulator(graph, precision, conventions, batch_size)
    yield sim
    if sim.buffer_bytes <= KEEP_BYTES:
        key = (request, fingerprint(graph) if now is None else now)
        with _lock:
            _kept.append((key, sim))
            while len(_kept) > KEEP or sum(s.buffer_bytes for _, s in _kept) > KEEP_BYTES:
                _kept.pop(0)
