"""The package layers, checked on the import statements of every module (parsed, not run).

::

    4  asnn_sim.app, asnn_sim.api, asnn_sim.cli   the command, the Python API, the torchrun entry point,
       asnn_sim.plots                             and the figures for any graph
    3  asnn_sim.interop, asnn_sim.scale, hw_models  export/NIR/builder/parity; Dask; the energy model
    2  asnn_sim.sim, asnn_sim.training              the simulator; models, neurons, data, training
    1  asnn_sim.graph                               ir, node kinds, counts contract, encoders, frames
    0  asnn_sim.util                                files, folders, names, progress, threads

A module imports only from packages of a lower layer (or its own package); packages on
the same layer do not import each other, except on top (the API calls the app's report). hw_models, beside layer 3, takes from asnn_sim
only the counts contract and the node kinds. Every ``import`` counts, wherever it is
(module top, inside a function, under ``TYPE_CHECKING``): a lazy import is still a
dependency. The package's ``asnn_sim/__init__.py`` is its table of contents, not a layer:
any module may import it (for ``__version__``), and it may name the top layer inside a
function (its ``__getattr__``, run on first use of ``asnn_sim.api``), never at module
level, so ``import asnn_sim`` loads nothing above the core. Old module paths
(``asnn_sim.ir``, ...; asnn_sim/_moved.py) are for users, never imported here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from asnn_sim._moved import new_name

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("asnn_sim", "hw_models")

#: package -> layer (a module imports only from lower layers or its own package)
LAYER = {
    "asnn_sim.util": 0,
    "asnn_sim.graph": 1,
    "asnn_sim.sim": 2,
    "asnn_sim.training": 2,
    "asnn_sim.interop": 3,
    "asnn_sim.scale": 3,
    "hw_models": 3,
    "asnn_sim.app": 4,
    "asnn_sim.api": 4,
    "asnn_sim.plots": 4,
    "asnn_sim.cli": 4,
}
# What hw_models may import from asnn_sim: the counts contract and the node-kind registry.
HW_MODELS_MAY_USE = ("asnn_sim.graph.counts_schema", "asnn_sim.graph.nodes")
# Heavy runtimes hw_models never imports: the energy model runs on count files alone.
HW_MODELS_NEVER = ("torch", "numba")
# The simulator and the graph format run without torch (the brief's promise).
TORCH_FREE = ("asnn_sim.sim", "asnn_sim.graph.ir", "asnn_sim.graph.counts_schema", "asnn_sim.graph.encoding",
              "asnn_sim.graph.frames")
# The package __init__ (table of contents) may import the top layer lazily, inside a function.
PACKAGE = "asnn_sim"
TOP_LAYER = max(LAYER.values())


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


MODULES = _modules()


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _in_function_lines(tree: ast.AST) -> set[int]:
    """Lines of the import statements nested in a function (run when it is called)."""
    lines = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines |= {n.lineno for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))}
    return lines


def imports_of(module: str, source: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, imported module) for every import in ``source``, relative imports resolved.

    ``from pkg import name`` counts as an import of ``pkg.name`` when that is a module of
    this repository, else of ``pkg``.
    """
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((node.lineno, sub if sub in MODULES else target))
    return found


def package_of(module: str) -> str | None:
    """The layer package of ``module`` (None: the table of contents, or not ours)."""
    parts = module.split(".")
    for n in (2, 1):
        if ".".join(parts[:n]) in LAYER:
            return ".".join(parts[:n])
    return None


def layer_violations(module: str, source: str, is_package: bool = False) -> list[str]:
    """Each import of ``module`` that breaks a layering rule, as 'module line N imports X: rule'."""
    problems = []
    lazy = _in_function_lines(ast.parse(source))
    mine = package_of(module)
    for line, target in imports_of(module, source, is_package):
        theirs = package_of(target)
        rule = None
        if new_name(target):
            rule = f"old module path (now {new_name(target)})"
        elif _within(module, "hw_models"):
            if _within(target, "asnn_sim") and not any(_within(target, ok) for ok in HW_MODELS_MAY_USE):
                rule = f"hw_models may import from asnn_sim only {', '.join(HW_MODELS_MAY_USE)}"
            elif any(_within(target, heavy) for heavy in HW_MODELS_NEVER):
                rule = f"hw_models must not import {', '.join(HW_MODELS_NEVER)}"
        elif any(_within(module, p) for p in TORCH_FREE) and _within(target, "torch"):
            rule = "the simulator and the graph format must not import torch"
        elif theirs is not None and theirs != mine:
            if mine is None:  # the table of contents
                if module == PACKAGE and line in lazy:
                    continue  # the package's lazy attributes (asnn_sim.api on first use)
                if LAYER[theirs] == TOP_LAYER:
                    rule = ("core modules must not import the top layer (asnn_sim.app and asnn_sim.api sit on top)"
                            "; the package __init__ may, inside a function only")
            elif LAYER[theirs] >= LAYER[mine] and LAYER[mine] < TOP_LAYER:  # the top may use itself
                rule = (f"{mine} (layer {LAYER[mine]}) must not import {theirs} (layer {LAYER[theirs]}): "
                        + ("core modules must not import the top layer (asnn_sim.app and asnn_sim.api sit on top)"
                           if LAYER[theirs] == TOP_LAYER else "only lower layers"))
        if rule:
            problems.append(f"{module} (line {line}) imports {target}: {rule}")
    return problems


def test_every_module_is_in_a_layer():
    """The root holds the table of contents and the two front doors; everything else is in a layer package."""
    loose = [m for m in MODULES if m.startswith("asnn_sim") and package_of(m) is None and m not in (PACKAGE, "asnn_sim._moved")]
    assert not loose, f"modules outside the layer packages: {loose}"


def test_modules_found():
    assert {"asnn_sim.app.cli", "asnn_sim.sim.engine", "hw_models.model", "asnn_sim.graph.counts_schema"} <= set(MODULES)
    assert "hw_models.cli" not in MODULES, "hw_models has no command line: the energy commands live in asnn_sim.app"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_respects_the_layers(module):
    path = MODULES[module]
    problems = layer_violations(module, path.read_text(encoding="utf-8"), path.name == "__init__.py")
    assert not problems, "layering broken:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("hw_models.model", "from asnn_sim.training.train import TrainConfig", "hw_models.model (line 1) imports asnn_sim.training.train"),
        ("hw_models.model", "def f():\n    import torch", "hw_models.model (line 2) imports torch"),
        ("hw_models.run", "from asnn_sim.app import plots", "imports asnn_sim.app.plots"),
        ("asnn_sim.training.train", "from hw_models import estimate", "asnn_sim.training.train (line 1) imports hw_models"),
        ("asnn_sim.sim.engine", "from ..app.cli import main", "asnn_sim.sim.engine (line 1) imports asnn_sim.app.cli"),
        ("asnn_sim.sim.engine", "import torch.nn", "imports torch.nn: the simulator"),
        ("asnn_sim.graph.ir", "from torch import nn", "asnn_sim.graph.ir (line 1) imports torch"),
        ("asnn_sim.interop.builder", "def f():\n    from asnn_sim import api", "asnn_sim.interop.builder (line 2) imports asnn_sim.api"),
        ("asnn_sim", "import asnn_sim.api", "asnn_sim (line 1) imports asnn_sim.api: core modules must not import the top layer"),
        ("hw_models.run", "from asnn_sim.api import simulate", "imports asnn_sim.api"),
        ("asnn_sim.graph.ir", "from asnn_sim.sim.engine import Engine", "asnn_sim.graph (layer 1) must not import asnn_sim.sim"),
        ("asnn_sim.sim.replay", "from asnn_sim.training.data import load", "asnn_sim.sim (layer 2) must not import asnn_sim.training"),
        ("asnn_sim.training.train", "def f():\n    from asnn_sim.interop import export", "must not import asnn_sim.interop"),
        ("asnn_sim.util.atomic", "from asnn_sim.graph import ir", "asnn_sim.util (layer 0) must not import asnn_sim.graph"),
        ("asnn_sim.scale.cluster", "from asnn_sim.interop.parity import check", "asnn_sim.scale (layer 3) must not import asnn_sim.interop"),
        ("asnn_sim.app.cli", "from asnn_sim.ir import load_graph", "old module path (now asnn_sim.graph.ir)"),
        ("asnn_sim.interop.export", "import hw_models", "must not import hw_models"),
    ],
)
def test_checker_catches_violations(module, source, expected):
    problems = layer_violations(module, source)
    assert len(problems) == 1 and expected in problems[0], problems


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("hw_models.counts", "from asnn_sim.graph.counts_schema import count_names"),
        ("hw_models.counts", "from asnn_sim.graph import counts_schema"),
        ("hw_models.ops", "from asnn_sim.graph.nodes import REGISTRY"),
        ("hw_models.run", "from .counts import load_counts"),
        ("asnn_sim.app.report", "from hw_models import run_energy\nimport torch"),
        ("asnn_sim.interop.export", "import torch\nfrom asnn_sim.graph.ir import Graph"),
        ("asnn_sim.api", "from hw_models import run_energy\nfrom asnn_sim.app.report import build_report"),
        ("asnn_sim", "def __getattr__(name):\n    import asnn_sim.api as api\n    return api"),
        ("asnn_sim.interop.parity", "from asnn_sim.sim import replay\nfrom asnn_sim.training.train import load_run"),
        ("asnn_sim.sim.replay", "from asnn_sim import __version__\nfrom asnn_sim.util import atomic"),
        ("asnn_sim.graph.nodes.input", "from asnn_sim.graph.encoding import encoder_work"),
    ],
)
def test_checker_allows_what_the_layers_allow(module, source):
    assert layer_violations(module, source) == []


def test_old_module_paths_still_import_the_same_modules_with_a_warning():
    import importlib
    import sys

    from asnn_sim._moved import MOVED

    for old, new in MOVED.items():
        sys.modules.pop(f"asnn_sim.{old}", None)
        with pytest.warns(DeprecationWarning, match=rf"asnn_sim\.{old} moved to asnn_sim\.{new}"):
            module = importlib.import_module(f"asnn_sim.{old}")
        assert module is importlib.import_module(f"asnn_sim.{new}")
        assert module.__spec__.name == f"asnn_sim.{new}"  # the real module keeps its own spec
    from asnn_sim.graph.nodes.base import Node  # a submodule through the old package path too
    import asnn_sim.nodes.base as old_base

    assert old_base.Node is Node
