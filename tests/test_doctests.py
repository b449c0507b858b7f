"""Every ``>>>`` example in the packages runs and prints what its docstring says.

The modules are found by their source (any ``>>>``), so a new example is tested without
being listed here. Examples that would write files or start processes are written so
that they do not (or use ``# doctest: +SKIP`` with a reason beside it).
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


WITH_EXAMPLES = sorted(
    _module_name(p) for pkg in ("asnn_sim", "hw_models") for p in (ROOT / pkg).rglob("*.py") if ">>>" in p.read_text()
)


def test_examples_found():
    assert {"asnn_sim.api", "asnn_sim.interop.builder", "hw_models.model"} <= set(WITH_EXAMPLES)


@pytest.mark.parametrize("module", WITH_EXAMPLES)
def test_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module}: '>>>' in the source but no example collected"
    assert result.failed == 0, f"{module}: {result.failed} of {result.attempted} examples failed (output above)"
