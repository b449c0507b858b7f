"""docs/energy.md stays true: its example profile loads and runs, its tables match the files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hw_models import estimate, list_profiles, load_profile
from hw_models.synthetic import two_layer_counts

DOC = Path(__file__).resolve().parents[1] / "docs" / "energy.md"


@pytest.fixture(scope="module")
def text():
    assert DOC.is_file(), "docs/energy.md is missing"
    return DOC.read_text()


def test_example_profile_in_docs_loads_and_runs(text, tmp_path):
    block = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    path = tmp_path / "my-chip.toml"
    path.write_text(block)
    profile = load_profile(path)
    b = estimate(two_layer_counts(), profile)
    assert (b.loc[b["component"] == "static", "energy_pj"] > 0).all()


def test_docs_list_every_shipped_profile_and_constant(text):
    for name in list_profiles():
        assert f"### `{name}`" in text
        for const in load_profile(name).constants:
            assert f"| `{const}` |" in text
