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


def test_the_package_docstring_lists_every_kind():
    documented = {line.split("``")[1] for line in nodes.__doc__.splitlines() if line.startswith("``")}
    assert documented == set(KINDS)


def test_a_name_taken_by_another_class_is_refused():
    @dataclass
    class Impostor(Node):
        kind = "conv2d"

    with pytest.raises(ValueError, match="node kind 'conv2d' is already registered by Conv2d"):
        register(Impostor)
    assert register(KINDS["conv2d"]) is KINDS["conv2d"]  # registering the same class again is harmless
