"""Candidates from a scanned invoice's top block: a field grid beside the seller's address."""

from __future__ import annotations

from parsers.document import BBox, Document, Element, ElementKind, Page, Source, TableCell
from pipeline.extract.candidates import from_document


def _cell(row: int, col: int, text: str, x: float, y: float) -> TableCell:
    return TableCell(row=row, col=col, text=text,
                     bbox=BBox(x0=x, y0=y, x1=x + 10 * len(text), y1=y + 25))


def _doc() -> Document:
    # The layout stage made one table of the header, the field grid and the "From" column; the
    # address continues in a text element whose OCR box overlaps the table's bottom by 5 px.
    cells = [_cell(0, 0, "Lakeshore Print Works Ltd", 150, 110), _cell(0, 2, "Invoice", 990, 110),
             _cell(1, 1, "Invoice #", 630, 180), _cell(1, 2, "F-2024-73966", 900, 180),
             _cell(2, 0, "From", 120, 240), _cell(2, 1, "Payment due", 630, 240),
             _cell(2, 2, "Feb 22, 2024", 900, 240),
             _cell(3, 0, "50 Hill Crescent", 120, 272), _cell(3, 1, "Currency", 630, 272),
             _cell(3, 2, "EUR", 900, 272)]
    table = Element(id="p1-e0", kind=ElementKind.TABLE, text="", page=1, source=Source.OCR,
                    bbox=BBox(x0=120, y0=107, x1=1170, y1=302), cells=cells)
    below = Element(id="p1-e1", kind=ElementKind.TEXT, text="Boston 92302\nUnited States", page=1,
                    source=Source.OCR, bbox=BBox(x0=122, y0=297, x1=235, y1=349))
    return Document(source_name="scan.png", mime_type="image/png",
                    pages=[Page(number=1, width=1240, height=1754, elements=[table, below])])


def test_party_heading_in_a_column_labels_the_block_and_overlapping_lines_join_it():
    blocks = [c for c in from_document(_doc()) if c.origin == "block" and c.element_id == "p1-e0"]
    first = blocks[0]
    assert first.label == "From"
    assert first.text == "50 Hill Crescent\nBoston 92302\nUnited States"
    assert (first.lines or [])[0][0] == "50 Hill Crescent"
