"""The registry of node kinds: a kind registers itself where it is defined.

``@register`` on a kind's class (after ``@dataclass``'s, so above it) adds it to
:data:`KINDS`; :mod:`asnn_sim.graph.nodes` imports every kind module of the package, so a
new kind is one new module and nothing else to edit.
"""

from __future__ import annotations

from asnn_sim.graph.nodes.base import Node, fail

#: kind name -> node class
KINDS: dict[str, type[Node]] = {}


def register(cls: type[Node]) -> type[Node]:
    """Add a node kind to the registry (usable as a class decorator).

    Raises
    ------
    ValueError
        If the class has no ``kind`` or the name is taken by another class.
    """
    if not cls.kind:
        raise ValueError(f"{cls.__name__} has no kind name")
    if KINDS.get(cls.kind, cls) is not cls:
        raise ValueError(f"node kind {cls.kind!r} is already registered by {KINDS[cls.kind].__name__}")
    KINDS[cls.kind] = cls
    return cls


def kind_class(kind: str, node: str = "?") -> type[Node]:
    """The class of ``kind``; a GraphError naming ``node`` and the known kinds otherwise."""
    try:
        return KINDS[kind]
    except KeyError:
        raise fail(node, f"unknown node type {kind!r}; known: {', '.join(KINDS)}") from None
