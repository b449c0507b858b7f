"""Node kinds register themselves where they are defined; the package finds every module."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

import pytest

import asnn_sim.graph.nodes as nodes
from asnn_sim.graph.nodes import KINDS, Node, register


def test_every_kind_module_registers_its_kind():
    modules = [m.name for m in pkgutil.iter_modules(nodes.__path__)
               if not m.name.startswith("_") and m.name not in ("base", "registry")]
    by_module = {cls.__module__.rsplit(".", 1)[1]: kind for kind, cls in KINDS.items()}
    assert sorted(by_module) == sorted(modules), "a module in asnn_sim/graph/nodes/ defines no registered kind"
    for name in modules:
        assert KINDS[by_module[name]].__module__ == importlib.import_module(f"asnn_sim.graph.nodes.{name}").__name__


def test_the_package_docstring_lists_every_kind_by_its_module_first_line():
    documented = {line.split("``")[1] for line in nodes.__doc__.splitlines() if line.startswith("* ``")}
    assert documented == set(KINDS)
    for kind, cls in KINDS.items():
        assert importlib.import_module(cls.__module__).__doc__.startswith(f"``{kind}``: "), kind


def test_a_name_taken_by_another_class_is_refused():
    @dataclass
    class Impostor(Node):
        kind = "conv2d"

    with pytest.raises(ValueError, match="node kind 'conv2d' is already registered by Conv2d"):
        register(Impostor)
    assert register(KINDS["conv2d"]) is KINDS["conv2d"]  # registering the same class again is harmless


def test_every_count_column_a_kind_fills_is_defined_once():
    from asnn_sim.graph.counts_schema import COUNT_COLUMNS, SHARED_COUNT_COLUMNS, SLOT

    names = [c.name for c in COUNT_COLUMNS]
    assert len(names) == len(set(names))
    assert names[:len(SHARED_COUNT_COLUMNS)] == [c.name for c in SHARED_COUNT_COLUMNS]
    for kind, cls in KINDS.items():
        assert set(cls.COUNTS) <= set(SLOT), kind
        assert {c.name for c in cls.OWN_COLUMNS} <= set(cls.COUNTS), f"{kind} defines a column it never fills"
    filled = {name for cls in KINDS.values() for name in cls.COUNTS}
    assert filled == set(names), "a count column no kind fills"


def test_a_column_two_kinds_define_differently_is_refused(monkeypatch):
    from asnn_sim.graph import counts_schema
    from asnn_sim.graph.counts_schema import Column

    @dataclass
    class Rival(Node):
        kind = "rival"
        OWN_COLUMNS = (Column("window_ops", "something else"),)

    monkeypatch.setitem(KINDS, "rival", Rival)
    with pytest.raises(ValueError, match="node kind 'rival' redefines count column 'window_ops'"):
        counts_schema._assemble_count_columns()


def _columns_table() -> dict[str, set[str]]:
    """docs/counting.md's "Which node fills which columns": kind -> the columns its row names."""
    import re
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "counting.md").read_text()
    table = text.split("## Which node fills which columns", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in table.splitlines():
        if not line.startswith("| `"):
            continue
        kinds_cell, columns_cell = line.strip("|").split("|")[:2]
        columns = set(re.findall(r"`([a-z_*]+)`", columns_cell))
        if "in_events_*" in columns:
            columns = (columns - {"in_events_*"}) | {"in_events_binary", "in_events_graded", "in_events_analog"}
        for kind in re.findall(r"`([a-z_0-9]+)`", kinds_cell):
            rows[kind] = columns
    return rows


def test_the_counting_doc_lists_every_counted_kind_with_its_columns():
    rows = _columns_table()
    counted = {kind: set(cls.COUNTS) for kind, cls in KINDS.items() if cls.COUNTED}
    assert rows == counted
