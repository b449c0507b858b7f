"""Docs that must match the code."""

from pathlib import Path

from asnn_sim.graph.counts_schema import COUNT_COLUMNS, KEY_COLUMNS, LAYER_COLUMNS

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_counting_doc_defines_every_column_as_the_schema_does():
    text = (DOCS / "counting.md").read_text()
    for column in KEY_COLUMNS + COUNT_COLUMNS + LAYER_COLUMNS:
        assert f"| `{column.name}` | {column.doc} |" in text, column.name


def test_counting_doc_lists_the_count_columns_in_table_order():
    text = (DOCS / "counting.md").read_text()
    positions = [text.index(f"| `{c.name}` | {c.doc} |") for c in COUNT_COLUMNS]
    assert positions == sorted(positions)
