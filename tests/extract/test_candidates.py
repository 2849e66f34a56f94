"""Candidates from a scanned invoice's top block: a field grid beside the seller's address."""

from __future__ import annotations

from prunestack.pipeline.document import (
    BBox,
    Document,
    Element,
    ElementKind,
    Page,
    Source,
    TableCell,
)
from prunestack.pipeline.extract.candidates import from_document
from prunestack.pipeline.extract.extractive import org_heading


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


def _page(*elements: Element) -> Document:
    return Document(source_name="scan.png", mime_type="image/png",
                    pages=[Page(number=1, width=1240, height=1754, elements=list(elements))])


def _text(i: int, text: str, y: float, kind: ElementKind = ElementKind.TEXT) -> Element:
    return Element(id=f"p1-e{i}", kind=kind, text=text, page=1, source=Source.OCR,
                   bbox=BBox(x0=100, y0=y, x1=100 + 10 * len(text), y1=y + 25))


def test_label_then_value_line_without_colon_is_an_inline_pair():
    doc = _page(_text(0, "Issued 07/07/2022", 100), _text(1, "Invoice No. IN-2022-44790", 140),
                _text(2, "182 Elm Avenue", 180), _text(3, "Page 1 of 1", 1700,
                                                       ElementKind.PAGE_NUMBER),
                _text(4, "Due by July 2,2024", 220))
    inline = {(c.label, c.text) for c in from_document(doc) if c.origin == "inline"}
    assert inline == {("Issued", "07/07/2022"), ("Invoice No.", "IN-2022-44790"),
                      ("Due by", "July 2,2024")}


def test_grid_without_header_row_keeps_its_first_row_values():
    cells = [_cell(0, 0, "Invoice No.", 700, 200), _cell(0, 1, "IN-2023-23232", 870, 200),
             _cell(1, 0, "Invoice date", 700, 230), _cell(1, 1, "August 2,2023", 870, 230),
             _cell(2, 0, "Due date", 700, 260), _cell(2, 1, "Sep 1, 2023", 870, 260),
             _cell(3, 0, "Currency", 700, 290), _cell(3, 1, "EUR", 870, 290)]
    table = Element(id="p1-e0", kind=ElementKind.TABLE, text="", page=1, source=Source.OCR,
                    bbox=BBox(x0=700, y0=200, x1=1000, y1=315), cells=cells)
    pairs = {(c.label, c.text) for c in from_document(_page(table)) if c.origin == "table"}
    assert ("Invoice No.", "IN-2023-23232") in pairs
    assert ("Invoice date", "August 2,2023") in pairs


def test_party_label_inside_a_wide_table_column_starts_a_block():
    """Four columns (logo, name, field labels, values); "From" in column 0 under the logo."""
    cells = [_cell(0, 0, "NA", 130, 140), _cell(0, 1, "Northwind Analytics GmbH", 220, 125),
             _cell(0, 3, "TAX INVOICE", 820, 120), _cell(1, 2, "Number", 710, 200),
             _cell(1, 3, "IN-2022-06503", 870, 200), _cell(2, 0, "From", 114, 251),
             _cell(2, 2, "Due by", 715, 257), _cell(2, 3, "30/11/2022", 870, 254),
             _cell(3, 0, "110 Mill Road", 111, 277), _cell(3, 2, "Currency", 716, 286),
             _cell(3, 3, "CHF", 875, 285)]
    table = Element(id="p1-e0", kind=ElementKind.TABLE, text="", page=1, source=Source.OCR,
                    bbox=BBox(x0=111, y0=118, x1=1108, y1=312), cells=cells)
    below = Element(id="p1-e1", kind=ElementKind.TEXT, text="27022 London\nUnited Kingdom",
                    page=1, source=Source.OCR, bbox=BBox(x0=111, y0=304, x1=242, y1=360))
    blocks = [c for c in from_document(_page(table, below)) if c.origin == "block"
              and c.element_id == "p1-e0"]
    assert [(b.label, b.text) for b in blocks] == [
        ("From", "110 Mill Road\n27022 London\nUnited Kingdom")]


def test_label_beside_a_text_block_pairs_with_its_lines():
    lab = _text(0, "Customer", 390)
    body = Element(id="p1-e1", kind=ElementKind.TEXT, page=1, source=Source.OCR,
                   text="Silverline Hardware LLC\n227 Mill Road\n54184 London",
                   bbox=BBox(x0=100, y0=415, x1=300, y1=490))
    pair = next(c for c in from_document(_page(lab, body)) if c.origin == "pair")
    assert pair.label == "Customer"
    assert [t for t, _ in pair.lines or []] == ["Silverline Hardware LLC", "227 Mill Road",
                                               "54184 London"]


def test_letterhead_name_up_to_its_legal_suffix():
    def cand(text: str, origin: str = "table"):
        return next(c for c in from_document(_page(_text(0, text, 100))) if c.origin == "block"
                    ).__class__(text, "", "", "p1-e0", 1, BBox(x0=0, y0=0, x1=1, y1=1), 1.0,
                                origin)
    assert org_heading(cand("Northwind Design Studio LLC ND Tel.+248922284850")) == \
        "Northwind Design Studio LLC"
    assert org_heading(cand("Riverstone Consulting B.V.", "block")) == \
        "Riverstone Consulting B.V."
    assert org_heading(cand("Such as we do")) is None  # "as" is a legal form only capitalised
    assert org_heading(cand("Printer paper A4")) is None


def test_party_label_over_a_name_heading_takes_the_address_below_it():
    """OCR: "Bill to", the name read as a heading (its box overlaps the label's by a pixel),
    and the address as a text element under the name."""
    lab = Element(id="p1-e0", kind=ElementKind.TEXT, text="Bill to", page=1, source=Source.OCR,
                  bbox=BBox(x0=642, y0=351, x1=689, y1=376))
    name = Element(id="p1-e1", kind=ElementKind.HEADING, text="Copperleaf Systems B.V.", page=1,
                   source=Source.OCR, bbox=BBox(x0=638, y0=375, x1=841, y1=412))
    addr = Element(id="p1-e2", kind=ElementKind.TEXT, page=1, source=Source.OCR,
                   text="106 Market Square Vienna 85836 Austria",
                   bbox=BBox(x0=638, y0=405, x1=791, y1=488))
    pair = next(c for c in from_document(_page(lab, name, addr)) if c.origin == "pair"
                and c.label == "Bill to")
    assert [t for t, _ in pair.lines or []] == ["Copperleaf Systems B.V.",
                                               "106 Market Square Vienna 85836 Austria"]
