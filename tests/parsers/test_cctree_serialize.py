"""Serialisers: JSON round trip and schema fields, Markdown and indented-tree output."""

from __future__ import annotations

import json

from prunestack.parsers.cctree import build_cctree
from prunestack.parsers.serialize import (
    document_from_json,
    document_to_json,
    from_json,
    to_json,
    to_markdown,
    to_tree,
)
from tests.parsers.test_cctree import sample_doc


def test_json_round_trip_and_fields():
    t = build_cctree(sample_doc())
    data = json.loads(to_json(t))
    assert data["kind"] == "root" and data["id"] == "n0" and data["page_sizes"] == {
        "1": [612.0, 792.0], "2": [612.0, 792.0]}
    sec = data["children"][0]
    assert set(sec) >= {"id", "kind", "title", "level", "bboxes", "pages", "children",
                        "keywords", "keyword_budget", "depth", "height", "content_layer",
                        "element_ids"}
    assert sec["bboxes"][0] == {"page": 1, "bbox": {"x0": 50.0, "y0": 40.0, "x1": 250.0,
                                                    "y1": 52.0}}
    assert "rows" not in sec  # None fields are left out
    assert from_json(to_json(t)) == t


def test_document_json_round_trip():
    doc = sample_doc()
    assert document_from_json(document_to_json(doc)) == doc


def test_markdown():
    md = to_markdown(build_cctree(sample_doc()))
    assert md == """# Invoice

**Invoice No**: 42
**Date**: 2024-03-15

Hardware supplies shipped from Bristol.

## Items

| Item | Price |
|---|---|
| Bolt | 1.00 |
| Nut | 0.50 |

*Table 1: hardware prices*

Figure 9: unrelated caption

Bolts are galvanised steel.

## Terms

- Payment within thirty days
- Returns within fourteen days

*Figure 1: the Bristol warehouse*

# Appendix

Contact the warehouse team.

## Page furniture

- p1 header: Northwind quarterly
- p1 page_number: 1
- p2 footer: Northwind Traders
"""
    assert "Page furniture" not in to_markdown(build_cctree(sample_doc()), furniture=False)


def test_markdown_escapes_pipes_in_cells():
    from prunestack.pipeline.document import Document, ElementKind, Page, TableCell
    from tests.parsers.test_cctree import el

    cells = [TableCell(row=0, col=0, text="a|b"), TableCell(row=0, col=1, text="c"),
             TableCell(row=1, col=0, text="1")]
    doc = Document(mime_type="x", pages=[Page(number=1, width=10, height=10, elements=[
        el(1, ElementKind.TABLE, "a|b | c\n1", 0, cells=cells)])])
    assert "| a\\|b | c |\n|---|---|\n| 1 |  |" in to_markdown(build_cctree(doc))


def test_tree():
    out = to_tree(build_cctree(sample_doc()))
    assert out.splitlines()[:6] == [
        'document "Invoice" [p1-2]',
        '├─ section "Invoice" (h1) [p1-2]',
        "│  ├─ key_value_group (2 pairs) [p1]: Invoice No: 42; Date: 2024-03-15",
        '│  ├─ text [p1]: "Hardware supplies shipped from Bristol."',
        '│  ├─ section "Items" (h2) [p1]',
        '│  │  ├─ table 3x2 "Table 1: hardware prices" [p1]: Item | Price',
    ]
    assert out.splitlines()[-1] == '   └─ footer [p2]: "Northwind Traders"'
    assert '├─ section "Appendix" (h1) [p2]' in out
