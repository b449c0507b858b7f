"""The Python examples of the README and docs/python.md run as written.

Each file's ```python blocks run in order in one namespace (as a reader pastes them into
one session), in an empty working folder, so nothing lands in the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Use it from Python"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def readme_section(section: str = SECTION) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert section in text, f"README.md has no '{section}' section"
    body = text.split(section, 1)[1]
    return body.split("\n## ", 1)[0]


def run_blocks(blocks: list[str], where: Path, monkeypatch) -> dict:
    monkeypatch.chdir(where)
    namespace: dict = {"__name__": "__main__"}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"<block {i + 1}>", "exec"), namespace)
        except Exception as e:  # name the block that failed
            raise AssertionError(f"python block {i + 1} failed: {type(e).__name__}: {e}\n{code}") from e
    return namespace


@pytest.mark.slow
def test_readme_python_section_runs_as_written(tmp_path, monkeypatch, capsys):
    blocks = python_blocks(readme_section())
    assert len(blocks) >= 2
    ns = run_blocks(blocks, tmp_path, monkeypatch)
    out = capsys.readouterr().out
    assert "cmos45-int8-sram" in out and "loihi" in out
    assert ns["result"].summary["parity"]["identical"]
    assert (tmp_path / "quick.asnn").is_file()


def test_python_doc_runs_as_written(tmp_path, monkeypatch, capsys):
    text = (ROOT / "docs" / "python.md").read_text(encoding="utf-8")
    blocks = python_blocks(text)
    assert len(blocks) >= 5
    ns = run_blocks(blocks, tmp_path, monkeypatch)
    out = capsys.readouterr().out
    # the outputs the page quotes
    assert "node 'fc1': a linear layer reads a vector, but 'conv1' gives shape (8, 6, 6); add .flatten() (after a neuron) first" in out
    assert "(2, 8, 1, 3, 3) [0 1 1 1]" in out
    assert "hard 0.5 0.5" in out
    assert ns["graph"].node("lif2").reset == "soft"
    describe = text.split("`describe()` prints what was built:", 1)[1].split("```", 2)[1]
    for line in describe.strip().splitlines():
        if line != "...":
            assert line in out, line


def test_readme_lists_the_python_doc():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    documentation = text.split("## Documentation", 1)[1].split("\n## ", 1)[0]
    assert "[docs/python.md](docs/python.md)" in documentation


@pytest.mark.parametrize("name", ["README.md", "docs/python.md"])
def test_every_asnn_function_named_in_the_docs_exists(name):
    import asnn_sim.api as asnn

    text = (ROOT / name).read_text(encoding="utf-8")
    for used in set(re.findall(r"\basnn\.([A-Za-z_]+)\(", text)):
        assert hasattr(asnn, used), f"{name} uses asnn.{used}, which asnn_sim.api does not have"


@pytest.mark.frameworks
def test_readme_nir_section_runs_as_written(tmp_path, monkeypatch, capsys):
    pytest.importorskip("snntorch")  # installed by make setup (and CI) with nir and nirtorch
    blocks = python_blocks(readme_section("## Count and price your snnTorch / SpikingJelly model"))
    assert len(blocks) == 1
    ns = run_blocks(blocks, tmp_path, monkeypatch)
    out = capsys.readouterr().out
    assert "loihi" in out and "synaptic_acs" in out
    assert ns["result"].summary["n_samples"] == 100 and ns["result"].summary["encoding"] == "frames"
    assert (tmp_path / "model.nir").is_file()
