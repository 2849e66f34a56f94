"""End to end on real reportlab PDFs: pdfium text layer (exact) and rendered image + rapidocr
(tolerant) → ``aggregate`` → reading order, table cells, key–value pairs, furniture, CCTree."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

import pytest

from prunestack.parsers.cctree import NodeKind, build_cctree
from prunestack.parsers.layout import aggregate
from prunestack.parsers.pdf import pdf_page_lines
from prunestack.parsers.primitives import PageLines
from prunestack.pipeline.document import Document, ElementKind, Source
from tests.parsers import docgen

PARAS = [p for _, p in docgen.TERMS_LEFT + docgen.TERMS_RIGHT]
HEADS = [docgen.TERMS_TITLE] + [h for h, _ in docgen.TERMS_LEFT + docgen.TERMS_RIGHT]
ROWS = [docgen.TABLE_HEADER] + [i.cells() for i in docgen.LINE_ITEMS]


@pytest.fixture(scope="module")
def text_doc(invoice_pdf) -> Document:
    pages = pdf_page_lines(invoice_pdf)
    assert all(p.source == Source.PDF_TEXT for p in pages)
    return aggregate(pages, source_name="invoice.pdf", mime_type="application/pdf")


@pytest.fixture(scope="module")
def ocr_terms_doc(invoice_pdf) -> Document:
    """The two-column page rendered at 200 dpi and read back by rapidocr (pixel coordinates).
    Page 1 (the invoice) comes from the shared ``invoice_scan_doc`` fixture: a degraded 200-dpi
    scan parsed end to end, so OCR runs once per page for the whole test folder."""
    from prunestack.parsers.ocr import get_backend

    backend = get_backend("rapidocr")
    img = docgen.render_page(invoice_pdf, 1, dpi=200)
    page = PageLines(number=1, width=img.width, height=img.height, lines=backend.recognize(img),
                     source=Source.OCR, ocr_backend=backend.name)
    return aggregate([page], source_name="terms.png", mime_type="image/png")


def norm(s: str) -> str:
    return re.sub(r"\s+", "", s).lower()


def close(a: str, b: str, ratio: float = 0.85) -> bool:
    return SequenceMatcher(None, norm(a), norm(b)).ratio() >= ratio


# ----------------------------------------------------------------------------- text layer: exact


def test_text_layer_two_column_reading_order(text_doc):
    p2 = [e for e in text_doc.pages[1].elements if not e.is_furniture]
    assert [e.text for e in p2] == [
        HEADS[0], HEADS[1], PARAS[0], HEADS[2], PARAS[1], HEADS[3], PARAS[2], HEADS[4], PARAS[3]]
    assert [e.kind for e in p2[1::2]] == [ElementKind.HEADING] * 4
    assert [e.kind for e in p2[2::2]] == [ElementKind.TEXT] * 4


def test_text_layer_table_cells(text_doc):
    tables = [e for e in text_doc.elements() if e.kind == ElementKind.TABLE]
    assert len(tables) == 1
    rows = tables[0].table_rows()
    assert rows[: len(ROWS)] == ROWS
    t = docgen.totals()
    assert rows[len(ROWS):] == [["", "", "Subtotal", f"{t['subtotal']:.2f}"],
                                ["", "", "VAT 20%", f"{t['tax']:.2f}"],
                                ["", "", "Total", f"{t['total']:.2f}"]]


def test_text_layer_key_values(text_doc):
    kv = {e.key: e.value for e in text_doc.elements() if e.kind == ElementKind.KEY_VALUE}
    assert kv == {**dict(docgen.KV_LEFT), **dict(docgen.KV_ABOVE),
                  "Bill To": " ".join(docgen.BUYER)}


def test_text_layer_headings_furniture_and_tree(text_doc):
    p1 = text_doc.pages[0].elements
    title = [e for e in p1 if e.kind == ElementKind.TITLE]
    assert [e.text for e in title] == ["INVOICE"]
    for p in text_doc.pages:
        furn = {e.kind: e.text for e in p.elements if e.is_furniture}
        assert furn == {ElementKind.FOOTER: docgen.FOOTER,
                        ElementKind.PAGE_NUMBER: f"Page {p.number} of 2"}
    tree = build_cctree(text_doc)
    items = next(n for n in tree.iter() if n.kind == NodeKind.SECTION and n.title == "Items")
    assert [c.kind for c in items.children][:1] == [NodeKind.TABLE]
    kv_nodes = [n for n in tree.iter() if n.kind == NodeKind.KEY_VALUE_GROUP]
    assert sum(len(n.pairs) for n in kv_nodes) == 7
    assert sum(1 for n in tree.iter() if n.kind == NodeKind.SUPPLEMENT) == 2


# ------------------------------------------------------------------------------- OCR: tolerant


def _index(elements, needle: str) -> int:
    for i, e in enumerate(elements):
        if norm(needle) in norm(e.text) or close(needle, e.text):
            return i
    raise AssertionError(f"{needle!r} not found in {[e.text for e in elements]}")


def test_ocr_two_column_reading_order(ocr_terms_doc):
    p2 = [e for e in ocr_terms_doc.pages[0].elements if not e.is_furniture]
    order = [_index(p2, p[:40]) for p in PARAS]
    assert order == sorted(order)  # left column before right column, top to bottom
    for p in PARAS:
        assert close(p2[_index(p2, p[:40])].text, p, 0.9)  # whole paragraph in one element
    heads = [e.text for e in p2 if e.kind in (ElementKind.HEADING, ElementKind.TITLE)]
    found = sum(any(close(h, x) for x in heads) for h in HEADS)
    assert found >= 4


def test_ocr_table_cells(invoice_scan_doc):
    tables = [e for e in invoice_scan_doc.elements() if e.kind == ElementKind.TABLE]
    assert len(tables) == 1
    rows = tables[0].table_rows()
    assert len(rows) >= len(ROWS) and all(len(r) == 4 for r in rows)
    assert [norm(c) for c in rows[0]] == [norm(c) for c in ROWS[0]]
    pairs = [(got, want) for gr, wr in zip(rows[1 : len(ROWS)], ROWS[1:], strict=True)
             for got, want in zip(gr, wr, strict=True)]
    exact = sum(norm(g) == norm(w) for g, w in pairs)
    assert exact / len(pairs) >= 0.9


def test_ocr_key_values(invoice_scan_doc):
    kv = [(e.key or "", e.value or "") for e in invoice_scan_doc.elements()
          if e.kind == ElementKind.KEY_VALUE]
    for key, value in [*docgen.KV_LEFT, *docgen.KV_ABOVE]:
        assert any(close(k, key) and close(v, value) for k, v in kv), (key, value, kv)
    bill = [v for k, v in kv if close(k, "Bill To")]
    assert bill and close(bill[0], " ".join(docgen.BUYER), 0.9)


def test_ocr_furniture(invoice_scan_doc, ocr_terms_doc):
    for doc in (invoice_scan_doc, ocr_terms_doc):
        p = doc.pages[0]
        kinds = {e.kind for e in p.elements if e.is_furniture}
        assert kinds == {ElementKind.FOOTER, ElementKind.PAGE_NUMBER}
        assert all(e.source == Source.OCR for e in p.elements)
