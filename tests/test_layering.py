"""The package layers, checked on the import statements of every module (parsed, not run).

::

    asnn_sim.app     cli, energy_cli, pipeline, report, plots        (top: imported by nothing below)
    asnn_sim.api     the Python API (the same steps as functions)    (top, beside the app)
    asnn_sim.cli     `python -m asnn_sim.cli`, the command for torchrun (top: an entry point)
        |
    hw_models        energy model and profiles                       (from asnn_sim: the counts contract only)
        |
    asnn_sim core    ir, sim, counts_schema, encoding, data, neurons, models, train, export, builder, ...

Every ``import`` counts, wherever it is (module top, inside a function, under
``TYPE_CHECKING``): a lazy import is still a dependency. One exception: the package's
``asnn_sim/__init__.py`` is its table of contents, not a layer; it may name the top
layer inside a function (its ``__getattr__``, run on first use of ``asnn_sim.api``),
never at module level, so ``import asnn_sim`` loads nothing above core.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("asnn_sim", "hw_models")

# What hw_models may import from asnn_sim: the counts contract (and, later, the node-kind registry).
HW_MODELS_MAY_USE = ("asnn_sim.counts_schema", "asnn_sim.nodes")
# Heavy runtimes hw_models never imports: the energy model runs on count files alone.
HW_MODELS_NEVER = ("torch", "numba")
# The simulator and the graph format run without torch (the brief's promise).
TORCH_FREE = ("asnn_sim.sim", "asnn_sim.ir")
# The top layer: the two front doors, the `asnn` command and the Python API. asnn_sim.cli
# is the `asnn` command again under a short module name (`torchrun -m asnn_sim.cli train`);
# it only calls asnn_sim.app.cli.main, so it is an entry point of the top layer, not core.
TOP = ("asnn_sim.app", "asnn_sim.api", "asnn_sim.cli")
# The package __init__ (table of contents) may import the top layer lazily, inside a function.
PACKAGE = "asnn_sim"


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


def layer_violations(module: str, source: str, is_package: bool = False) -> list[str]:
    """Each import of ``module`` that breaks a layering rule, as 'module line N imports X: rule'."""
    problems = []
    lazy = _in_function_lines(ast.parse(source))
    for line, target in imports_of(module, source, is_package):
        rule = None
        in_top = any(_within(module, top) for top in TOP)
        if _within(module, "asnn_sim") and not in_top:
            if any(_within(target, top) for top in TOP):
                if module == PACKAGE and line in lazy:
                    continue  # the package's lazy attributes (asnn_sim.api on first use)
                rule = ("core modules must not import the top layer (asnn_sim.app and asnn_sim.api sit on top)"
                        + ("; the package __init__ may, inside a function only" if module == PACKAGE else ""))
            elif _within(target, "hw_models"):
                rule = "core modules must not import hw_models (the energy side sits above core)"
            elif any(_within(module, p) for p in TORCH_FREE) and _within(target, "torch"):
                rule = "the simulator and the graph format must not import torch"
        elif _within(module, "hw_models"):
            if _within(target, "asnn_sim") and not any(_within(target, ok) for ok in HW_MODELS_MAY_USE):
                rule = f"hw_models may import from asnn_sim only {', '.join(HW_MODELS_MAY_USE)}"
            elif any(_within(target, heavy) for heavy in HW_MODELS_NEVER):
                rule = f"hw_models must not import {', '.join(HW_MODELS_NEVER)}"
        if rule:
            problems.append(f"{module} (line {line}) imports {target}: {rule}")
    return problems


def test_modules_found():
    assert {"asnn_sim.app.cli", "asnn_sim.sim.engine", "hw_models.model", "asnn_sim.counts_schema"} <= set(MODULES)
    assert "hw_models.cli" not in MODULES, "hw_models has no command line: the energy commands live in asnn_sim.app"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_respects_the_layers(module):
    path = MODULES[module]
    problems = layer_violations(module, path.read_text(encoding="utf-8"), path.name == "__init__.py")
    assert not problems, "layering broken:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("hw_models.model", "from asnn_sim.train import TrainConfig", "hw_models.model (line 1) imports asnn_sim.train"),
        ("hw_models.model", "def f():\n    import torch", "hw_models.model (line 2) imports torch"),
        ("hw_models.run", "from asnn_sim.app import plots", "imports asnn_sim.app.plots"),
        ("asnn_sim.train", "from hw_models import estimate", "asnn_sim.train (line 1) imports hw_models"),
        ("asnn_sim.sim.engine", "from ..app.cli import main", "asnn_sim.sim.engine (line 1) imports asnn_sim.app.cli"),
        ("asnn_sim.sim.engine", "import torch.nn", "imports torch.nn: the simulator"),
        ("asnn_sim.ir", "from torch import nn", "asnn_sim.ir (line 1) imports torch"),
        ("asnn_sim.builder", "def f():\n    from asnn_sim import api", "asnn_sim.builder (line 2) imports asnn_sim.api"),
        ("asnn_sim", "import asnn_sim.api", "asnn_sim (line 1) imports asnn_sim.api: core modules must not import the top layer"),
        ("hw_models.run", "from asnn_sim.api import simulate", "imports asnn_sim.api"),
    ],
)
def test_checker_catches_violations(module, source, expected):
    problems = layer_violations(module, source)
    assert len(problems) == 1 and expected in problems[0], problems


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("hw_models.counts", "from asnn_sim.counts_schema import count_names"),
        ("hw_models.counts", "from asnn_sim import counts_schema"),
        ("hw_models.ops", "from asnn_sim.nodes import REGISTRY"),
        ("hw_models.run", "from .counts import load_counts"),
        ("asnn_sim.app.report", "from hw_models import run_energy\nimport torch"),
        ("asnn_sim.export", "import torch\nfrom asnn_sim.ir import Graph"),
        ("asnn_sim.api", "from hw_models import run_energy\nfrom asnn_sim.app.report import build_report"),
        ("asnn_sim", "def __getattr__(name):\n    import asnn_sim.api as api\n    return api"),
    ],
)
def test_checker_allows_what_the_layers_allow(module, source):
    assert layer_violations(module, source) == []
