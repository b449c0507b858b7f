"""Choice lists and defaults for the ``asnn`` parsers, gathered without heavy imports.

``asnn --help`` must answer at once, so building the parsers may not import torch,
numba, pandas, matplotlib, pyarrow or scikit-learn (``tests/test_cli_conventions.py``
checks every command); it does not import numpy either (a third of the time budget).

* From light modules: :data:`asnn_sim.training.models.MODEL_NAMES` (the registry imports a
  model's builders on first use), :data:`asnn_sim.training.models.SURROGATE_NAMES`,
  :data:`asnn_sim.training.models.RESIDUALS`, :data:`asnn_sim.training.models.POOLS` and
  :data:`asnn_sim.graph.counts_schema.CONVENTIONS`.
* Read without importing the module that owns them, so each keeps one source of truth:
  hardware profile names from the ``hw_models/profiles/*.toml`` file listing, and
  literal constants and dataclass field defaults parsed (``ast``) from the owner's
  source: datasets, encodings and thresholds (modules that import numpy), the neuron
  resets (torch), the training devices and :class:`~asnn_sim.training.train.TrainConfig` defaults (torch), the Dampfhoffer
  band (``hw_models``, pandas). A non-literal value there fails loudly, and
  ``tests/test_cli_conventions.py`` compares every value read here with the imported one.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from asnn_sim.graph.counts_schema import CONVENTIONS
from asnn_sim.training.models import MODEL_NAMES, POOLS, RESIDUALS, SURROGATE_NAMES

__all__ = [
    "CONVENTIONS",
    "DATASETS",
    "ENCODINGS",
    "MODEL_NAMES",
    "POOLS",
    "RESETS",
    "RESIDUALS",
    "SURROGATE_NAMES",
    "THRESHOLD_KINDS",
    "dampfhoffer_band",
    "profile_names",
    "train_defaults",
    "train_devices",
]


def module_path(module: str) -> Path:
    """The source file of ``module``, found without running it or its packages."""
    top, *rest = module.split(".")
    spec = importlib.util.find_spec(top)  # a top-level lookup executes no package code
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"package {top!r} not found")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*rest)
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


@functools.cache
def _tree(module: str) -> ast.Module:
    path = module_path(module)
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _assigned(body: list[ast.stmt], name: str) -> ast.expr | None:
    for node in body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return node.value
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return node.value
    return None


def literal(module: str, name: str) -> Any:
    """The value of ``NAME = <literal>`` at the top level of ``module``, read from its source."""
    value = _assigned(_tree(module).body, name)
    if value is None:
        raise LookupError(f"{module} does not assign {name} at top level")
    try:
        return ast.literal_eval(value)
    except ValueError:
        raise LookupError(f"{module}.{name} is not a literal; the command line cannot read it without importing {module}") from None


def dataclass_defaults(module: str, cls: str) -> dict[str, Any]:
    """Field name -> literal default of dataclass ``cls`` in ``module``, read from its source."""
    for node in _tree(module).body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            defaults = {}
            for stmt in node.body:
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
                    try:
                        defaults[stmt.target.id] = ast.literal_eval(stmt.value)
                    except ValueError:
                        raise LookupError(f"{module}.{cls}.{stmt.target.id}: the default is not a literal") from None
            return defaults
    raise LookupError(f"{module} defines no class {cls}")


@functools.cache
def train_defaults() -> SimpleNamespace:
    """The defaults of :class:`asnn_sim.training.train_config.TrainConfig` (``d.model``, ``d.epochs``, ...)."""
    return SimpleNamespace(**dataclass_defaults("asnn_sim.training.train_config", "TrainConfig"))


@functools.cache
def train_devices() -> tuple[str, ...]:
    """:data:`asnn_sim.training.train_config.DEVICES`."""
    return tuple(literal("asnn_sim.training.train_config", "DEVICES"))


@functools.cache
def dampfhoffer_band() -> tuple[float, float]:
    """:data:`hw_models.activity.DAMPFHOFFER_BAND`, the break-even band of spikes per synapse."""
    return tuple(literal("hw_models.activity", "DAMPFHOFFER_BAND"))


@functools.cache
def profile_names() -> tuple[str, ...]:
    """Names of the shipped hardware profiles (as :func:`hw_models.list_profiles`), sorted."""
    folder = module_path("hw_models").parent / "profiles"
    return tuple(sorted(p.stem for p in folder.glob("*.toml")))


DATASETS: tuple[str, ...] = tuple(literal("asnn_sim.training.data", "DATASETS"))
ENCODINGS: tuple[str, ...] = tuple(literal("asnn_sim.graph.encoding", "ENCODINGS"))
THRESHOLD_KINDS: tuple[str, ...] = tuple(literal("asnn_sim.graph.encoding", "THRESHOLD_KINDS"))
RESETS: tuple[str, ...] = tuple(literal("asnn_sim.training.neurons", "RESETS"))
