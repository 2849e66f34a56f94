"""PDF text layer → words/lines with boxes, font size and bold; page selection; bad PDFs."""

from __future__ import annotations

import io

import pytest
from reportlab.pdfgen import canvas

from prunestack.parsers.errors import (
    CorruptPdfError,
    EmptyPdfError,
    EncryptedPdfError,
    PageSelectionError,
)
from prunestack.parsers.pages import parse_pages
from prunestack.parsers.pdf import page_count, pdf_page_lines
from prunestack.pipeline.document import Source
from tests.parsers import docgen


def _line(page, startswith):
    hits = [ln for ln in page.lines if ln.text.startswith(startswith)]
    assert hits, f"no line starts with {startswith!r}: {[ln.text for ln in page.lines]}"
    return hits[0]


def test_invoice_text_layer_lines_and_words(invoice_pdf):
    p1, p2 = pdf_page_lines(invoice_pdf)
    assert (p1.number, p2.number) == (1, 2)
    assert p1.source is Source.PDF_TEXT and p1.ocr_backend is None
    assert p1.width == pytest.approx(docgen.PAGE_W, abs=0.01)
    texts = [ln.text for ln in p1.lines]
    # Every key-value pair reads as one line, label then value, with single spaces.
    for k, v in docgen.KV_LEFT:
        assert f"{k}: {v}" in texts
    # Every table row is on one line (cells in left-to-right order).
    for item in docgen.LINE_ITEMS:
        assert " ".join(item.cells()) in texts
    assert texts[-1] == f"{docgen.FOOTER} Page 1 of 2"  # the footer is the lowest line
    # Lines are top to bottom.
    assert [ln.bbox.y0 for ln in p1.lines] == sorted(ln.bbox.y0 for ln in p1.lines)


def test_boxes_are_top_left_points(invoice_pdf):
    (p1,) = pdf_page_lines(invoice_pdf, pages="1")
    inv = _line(p1, "Invoice No:")
    word = inv.words[0]
    assert word.text == "Invoice"
    # docgen draws this label at x=340 with its top at y=96 (10 pt Helvetica-Bold).
    assert word.bbox.x0 == pytest.approx(340, abs=0.6)
    assert 92 < word.bbox.y0 < 98 < word.bbox.y1 < 110
    width = canvas.Canvas(io.BytesIO()).stringWidth("Invoice", "Helvetica-Bold", 10)
    assert word.bbox.width == pytest.approx(width, abs=1.0)
    value = inv.words[-1]
    assert value.text == "INV-2024-0042" and value.bbox.x0 == pytest.approx(440, abs=0.6)


def test_font_size_and_weight(invoice_pdf):
    p1, p2 = pdf_page_lines(invoice_pdf)
    title = _line(p1, "INVOICE")
    assert title.font_size == pytest.approx(docgen.SIZE_TITLE, abs=0.1) and title.bold is True
    seller = _line(p1, docgen.SELLER[0])
    assert seller.font_size == pytest.approx(docgen.SIZE_H1, abs=0.1) and seller.bold is True
    inv = _line(p1, "Invoice No:")
    assert [w.bold for w in inv.words] == [True, True, False]  # bold label, regular value
    assert inv.words[-1].font_size == pytest.approx(docgen.SIZE_BODY, abs=0.1)
    footer = _line(p1, "Northwind Traders Ltd -")
    assert footer.font_size == pytest.approx(docgen.SIZE_SMALL, abs=0.1) and footer.bold is False
    assert _line(p2, docgen.TERMS_TITLE).font_size == pytest.approx(docgen.SIZE_TITLE, abs=0.1)
    heading = _line(p2, "Payment Returns")  # two column headings share a baseline
    assert heading.bold is True and heading.font_size == pytest.approx(docgen.SIZE_H2, abs=0.1)


def test_two_column_words_keep_their_column(invoice_pdf):
    (p2,) = pdf_page_lines(invoice_pdf, pages="2")
    # A baseline shared by both columns holds the words of both, with a gutter between them.
    row = _line(p2, "Payment is due")
    xs = [w.bbox.x0 for w in row.words]
    assert xs == sorted(xs)
    right = [w for w in row.words if w.bbox.x0 > docgen.PAGE_W / 2]
    assert " ".join(w.text for w in right).startswith("Unused goods")
    left_end = max(w.bbox.x1 for w in row.words if w.bbox.x0 < docgen.PAGE_W / 2)
    assert min(w.bbox.x0 for w in right) - left_end > 20  # the 30 pt gutter


def test_page_selection():
    pdf = docgen.multipage_pdf(5)
    assert page_count(pdf) == 5
    got = pdf_page_lines(pdf, pages="2-3,5")
    assert [p.number for p in got] == [2, 3, 5]
    assert [p.lines[0].text for p in got] == ["This is page 2", "This is page 3", "This is page 5"]
    with pytest.raises(PageSelectionError, match="has 5 page"):
        pdf_page_lines(pdf, pages="4-7")


@pytest.mark.parametrize(
    ("spec", "n", "expected"),
    [(None, 3, [1, 2, 3]), ("all", 2, [1, 2]), ("1-3", 5, [1, 2, 3]), ("2-", 4, [2, 3, 4]),
     ("-2", 4, [1, 2]), ("3,1,3", 3, [1, 3]), (" 1 - 2 , 4 ", 4, [1, 2, 4])],
)
def test_parse_pages(spec, n, expected):
    assert parse_pages(spec, n) == expected


@pytest.mark.parametrize("spec", ["0", "3-1", "a-b", "1-2-3", "-", ",", "9"])
def test_parse_pages_rejects(spec):
    with pytest.raises(PageSelectionError):
        parse_pages(spec, 5)


def test_encrypted_pdf():
    with pytest.raises(EncryptedPdfError, match="password"):
        pdf_page_lines(docgen.encrypted_pdf())
    with pytest.raises(EncryptedPdfError, match="wrong"):
        pdf_page_lines(docgen.encrypted_pdf("secret"), password="nope")
    (p,) = pdf_page_lines(docgen.encrypted_pdf("secret"), password="secret")
    assert p.lines[0].text == "Confidential"


def test_zero_page_pdf():
    with pytest.raises(EmptyPdfError, match="no pages"):
        pdf_page_lines(docgen.zero_page_pdf())


@pytest.mark.parametrize("fraction", [0.05, 0.4, 0.9])
def test_truncated_pdf(fraction):
    with pytest.raises(CorruptPdfError, match="cannot be read"):
        pdf_page_lines(docgen.truncated_pdf(fraction))


def test_garbage_after_header():
    with pytest.raises(CorruptPdfError):
        pdf_page_lines(b"%PDF-1.7\n" + bytes(range(256)) * 20)


@pytest.mark.parametrize("rotation", [90, 270])
def test_rotated_page_reads_in_display_coordinates(rotation):
    """A /Rotate page whose content is drawn turned back, so it displays upright."""
    import pypdfium2 as pdfium

    buf = io.BytesIO()
    # reportlab keeps the displayed size (400 x 300) and swaps the media box: user space is
    # 300 wide and 400 high.
    c = canvas.Canvas(buf, pagesize=(400, 300), invariant=1)
    c.setPageRotation(rotation)
    c.setFont("Helvetica", 12)
    # We want the text at display (x=40, baseline y=60), reading left to right.
    if rotation == 90:  # display (X, Y) = (y, x)
        c.translate(60, 40)
        c.rotate(90)
    else:  # 270: display (X, Y) = (400 - y, 300 - x)
        c.translate(240, 360)
        c.rotate(-90)
    c.drawString(0, 0, "Rotated page text")
    c.showPage()
    c.save()
    data = buf.getvalue()
    assert pdfium.PdfDocument(data)[0].get_cropbox() == (0, 0, 300, 400)
    (p,) = pdf_page_lines(data)
    assert (p.width, p.height) == pytest.approx((400, 300))
    (line,) = p.lines
    assert line.text == "Rotated page text"
    assert line.bbox.x0 == pytest.approx(40, abs=1)
    assert line.bbox.y0 < 60 < line.bbox.y1 < 65  # baseline at 60, descenders just below
    xs = [w.bbox.x0 for w in line.words]
    assert xs == sorted(xs)
