"""Keep the last few small compiled :class:`~asnn_sim.sim.engine.Simulator` s for the next replays.

Compiling a graph (weight layouts, tap tables, buffers) costs a few milliseconds, which
for a small network replaying a few hundred samples is a tenth of the call. A notebook
calls :func:`asnn_sim.sim.simulate` again and again on the same graph (often in both
precisions), so the last :data:`KEEP` compiled simulators are kept and handed out again
while a request matches: the same graph object with the same contents (a fingerprint of
every array and setting, so a weight changed in place is noticed), precision,
conventions and batch size.

Only small simulators are kept (:data:`KEEP_BYTES` in all, counting their buffers,
their compiled weights and the graph's own arrays, all of which a kept simulator holds
on to): a big network's compile is negligible beside its replay, and its memory would
stay taken for nothing. A simulator is taken out while it runs, so two threads never
share one.
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


def _walk(graph: Graph, contents: bool) -> tuple[list, int]:
    """Every node's settings (arrays by dtype and shape) and, with ``contents``, a crc32 of its arrays."""
    settings = [graph.kind, graph.timesteps]
    crc = 0
    for node in graph.nodes:
        settings.append(type(node).__name__)
        for f in fields(node):
            value = getattr(node, f.name)
            if isinstance(value, np.ndarray):
                settings.append((f.name, value.dtype.str, value.shape))
                if contents:
                    crc = zlib.crc32(np.ascontiguousarray(value).view(np.uint8).reshape(-1), crc)
            else:
                settings.append((f.name, value))
    return settings, crc


def fingerprint(graph: Graph) -> int:
    """A checksum of everything a compile reads: every node's fields (arrays by content) and the timesteps."""
    settings, crc = _walk(graph, True)
    return zlib.crc32(repr(settings).encode(), crc)


def structure(graph: Graph) -> int:
    """A checksum of the graph's structure: every node's fields with its arrays by shape only."""
    return zlib.crc32(repr(_walk(graph, False)[0]).encode())


def footprint(sim: Simulator) -> int:
    """Bytes a kept ``sim`` holds: every distinct array its compiled states and its graph's
    nodes reach (views counted once, by the array they view)."""
    seen: dict[int, int] = {id(b): 0 for b in sim.buffers()}  # counted once, in buffer_bytes

    def add(value) -> None:
        if isinstance(value, np.ndarray):
            base = value
            while isinstance(base.base, np.ndarray):
                base = base.base
            seen.setdefault(id(base), base.nbytes)
        elif isinstance(value, (tuple, list)):
            for item in value:
                add(item)

    for record in [*sim.states, *sim.graph.nodes]:
        if record is not None:
            for f in fields(record):
                add(getattr(record, f.name))
    return sum(seen.values()) + sim.buffer_bytes


@contextmanager
def compiled(graph: Graph, precision: str, conventions: Conventions | None, batch_size: int) -> Iterator[Simulator]:
    """A :class:`Simulator` for the request: the kept one if it matches, else a new one.

    On leaving, a small enough simulator is kept for the next request (the least recently
    used ones make room); one whose run raised is not kept.
    """
    global _kept
    request = (precision, conventions or Conventions(), int(batch_size))
    with _lock:  # taken out: another thread compiles its own meanwhile
        mine = [k[1].graph is graph and k[0][0] == request for k in _kept]
        candidates = [k for k, m in zip(_kept, mine) if m]
        _kept = [k for k, m in zip(_kept, mine) if not m]
    sim, now = None, None
    if candidates:
        now = fingerprint(graph)
        sim = next((s for (_, fp, _), s in candidates if fp == now), None)
    if sim is None:
        sim = Simulator(graph, precision, conventions, batch_size)
    yield sim
    size = footprint(sim)
    if size <= KEEP_BYTES:
        key = (request, fingerprint(graph) if now is None else now, size)
        with _lock:
            _kept.append((key, sim))
            while len(_kept) > KEEP or sum(k[2] for k, _ in _kept) > KEEP_BYTES:
                _kept.pop(0)
