"""Layout aggregation on synthetic PageLines with exact expectations."""

from __future__ import annotations

import pytest

from prunestack.parsers.layout import aggregate
from prunestack.parsers.primitives import Line, Word
from prunestack.parsers.segments import split_line
from prunestack.pipeline.document import BBox, ElementKind, Source
from tests.parsers.synth_lines import cells, line, page, paragraph

A = "Alpha paragraph one talks about the first topic in some length so that it wraps over lines."
B = "Beta paragraph two continues the left column with more words to wrap around nicely."
C = "Gamma paragraph three opens the right column and has enough words to wrap twice here."
D = "Delta paragraph four ends the right column with a final sentence of several words."


def _merge_rows(lines: list[Line]) -> list[Line]:
    """Join lines that share a baseline into one Line (as a PDF reader may hand them over)."""
    by_y: dict[float, list[Line]] = {}
    for ln in lines:
        by_y.setdefault(round(ln.bbox.y0, 1), []).append(ln)
    out = []
    for group in by_y.values():
        words = [w for ln in sorted(group, key=lambda g: g.bbox.x0) for w in ln.words]
        out.append(Line(words=words, bbox=BBox.enclosing([w.bbox for w in words])))
    return out


def two_column_page(*, merged: bool = False, ocr: bool = False):
    kw = {"ocr": ocr}
    lines = [line("ACME Corp confidential", 72, 30, 8, **kw),
             line("Annual Report", 240, 72, 20, **kw),
             line("Left Section", 72, 110, 14, **kw),
             line("Right Section", 330, 110, 14, **kw)]
    a, y = paragraph(A, 72, 130, 40, **kw)
    b, _ = paragraph(B, 72, y + 10, 40, **kw)
    c, y = paragraph(C, 330, 130, 40, **kw)
    d, _ = paragraph(D, 330, y + 10, 40, **kw)
    lines += a + b + c + d + [line("Summary of both columns in one full width closing paragraph.",
                                   72, 240, **kw),
                              line("1", 300, 760, **kw)]
    if merged:
        lines = _merge_rows(lines)
    return page(lines, ocr=ocr)


@pytest.mark.parametrize("merged", [False, True])
def test_two_column_reading_order(merged):
    doc = aggregate([two_column_page(merged=merged)], source_name="r", mime_type="application/pdf")
    got = [(e.kind, e.text.split()[0]) for e in doc.elements()]
    assert got == [
        (ElementKind.HEADER, "ACME"),
        (ElementKind.TITLE, "Annual"),
        (ElementKind.HEADING, "Left"),
        (ElementKind.TEXT, "Alpha"),
        (ElementKind.TEXT, "Beta"),
        (ElementKind.HEADING, "Right"),
        (ElementKind.TEXT, "Gamma"),
        (ElementKind.TEXT, "Delta"),
        (ElementKind.TEXT, "Summary"),
        (ElementKind.PAGE_NUMBER, "1"),
    ]
    texts = {e.text.split()[0]: e.text for e in doc.elements()}
    assert texts["Alpha"] == A and texts["Delta"] == D  # whole paragraphs, nothing interleaved
    assert [e.id for e in doc.elements()] == [f"p1-e{i}" for i in range(1, 11)]


def test_heading_levels_and_title():
    doc = aggregate([two_column_page()], mime_type="application/pdf")
    heads = [(e.kind, e.level, e.text) for e in doc.elements()
             if e.kind in (ElementKind.TITLE, ElementKind.HEADING)]
    assert heads == [(ElementKind.TITLE, 1, "Annual Report"),
                     (ElementKind.HEADING, 2, "Left Section"),
                     (ElementKind.HEADING, 2, "Right Section")]


def test_ocr_input_uses_line_height_for_headings():
    doc = aggregate([two_column_page(ocr=True)], mime_type="image/png")
    kinds = {e.text: e.kind for e in doc.elements()}
    assert kinds["Annual Report"] == ElementKind.TITLE
    assert kinds["Left Section"] == ElementKind.HEADING
    assert kinds[A] == ElementKind.TEXT
    assert all(e.source == Source.OCR for e in doc.elements())


ROWS = [["Item", "Qty", "Unit Price", "Amount"],
        ["Widget A", "2", "10.00", "20.00"],
        ["Gadget B", "1", "99.50", "99.50"],
        ["Cable C", "5", "3.20", "16.00"],
        ["Adapter D", "3", "7.25", "21.75"],
        ["Manual E", "1", "0.00", "0.00"]]


def invoice_page(conf: float = 1.0):
    lines = [line("INVOICE", 72, 60, 22, bold=True),
             line("Invoice No: INV-2024-001", 72, 100, conf=conf),
             cells(["Date:", "2024-03-15"], [72, 180], 115),
             line("Customer:", 72, 135),
             line("Acme Industries Ltd", 72, 148),
             line("12 Long Road", 72, 160),
             cells(["Order", "Terms"], [350, 450], 135, bold=True),
             cells(["Web shop", "Net 30"], [350, 450], 148),
             line("Ship To", 350, 165, bold=True),
             line("Dock 4", 350, 178),
             line("Items", 72, 190, 14, bold=True)]
    xs = [72, 250, 330, 430]
    lines += [cells(r, xs, 210 + i * 16, bold=(i == 0)) for i, r in enumerate(ROWS)]
    lines += [line("Notes", 72, 320, 14, bold=True),
              line("• Payment due in 30 days", 72, 340),
              line("• Late fees apply after the due date and are charged", 72, 354),
              line("monthly on the balance", 82, 366),
              line("2. Thank you", 72, 380),
              line("Table 1: prices exclude VAT", 72, 400)]
    return page(lines)


def test_table_cells_six_rows_with_header():
    doc = aggregate([invoice_page()], mime_type="application/pdf")
    tables = [e for e in doc.elements() if e.kind == ElementKind.TABLE]
    assert len(tables) == 1
    t = tables[0]
    assert t.table_rows() == ROWS
    assert [c.text for c in t.cells if c.row == 0] == ROWS[0]  # header row is row 0
    assert all(c.bbox is not None for c in t.cells)
    assert t.bbox.y0 == pytest.approx(210) and t.bbox.y1 == pytest.approx(210 + 5 * 16 + 10)


def test_key_value_shapes():
    doc = aggregate([invoice_page(conf=0.7)], mime_type="application/pdf")
    kvs = [e for e in doc.elements() if e.kind == ElementKind.KEY_VALUE]
    got = {e.key: e.value for e in kvs}
    assert got == {
        "Invoice No": "INV-2024-001",  # inline
        "Date": "2024-03-15",  # label left of value, across a gap
        "Customer": "Acme Industries Ltd 12 Long Road",  # label above a two-line value
        "Order": "Web shop",  # grid of labels over values
        "Terms": "Net 30",
        "Ship To": "Dock 4",  # bold label without a colon over a plain value
    }
    inline = next(e for e in kvs if e.key == "Invoice No")
    assert inline.text == "Invoice No: INV-2024-001"
    assert inline.confidence == pytest.approx(0.7)
    assert inline.value_bbox is not None and inline.value_bbox.x0 > inline.bbox.x0
    cust = next(e for e in kvs if e.key == "Customer")
    assert cust.value_bbox.y0 == pytest.approx(148) and cust.value_bbox.y1 == pytest.approx(170)


def test_lists_captions_and_heading_sections():
    doc = aggregate([invoice_page()], mime_type="application/pdf")
    items = [e.text for e in doc.elements() if e.kind == ElementKind.LIST_ITEM]
    assert items == ["• Payment due in 30 days",
                     "• Late fees apply after the due date and are charged monthly on the balance",
                     "2. Thank you"]
    caps = [e.text for e in doc.elements() if e.kind == ElementKind.CAPTION]
    assert caps == ["Table 1: prices exclude VAT"]
    heads = [(e.kind, e.level, e.text) for e in doc.elements() if e.level]
    assert heads == [(ElementKind.TITLE, 1, "INVOICE"), (ElementKind.HEADING, 2, "Items"),
                     (ElementKind.HEADING, 2, "Notes")]


def test_furniture_repeated_across_pages_and_sidebar():
    pages = []
    for n in (1, 2, 3):
        body, _ = paragraph(f"Body text number {n} " * 8, 72, 100, 60)
        pages.append(page([line("Quarterly Review 2024", 72, 90, 9),  # repeated, not in 6% band
                           *body,
                           line("Draft", 20, 400, 7),  # margin note
                           line(f"Confidential - page {n} of 3", 72, 700),  # repeated footer
                           line(f"{n}", 300, 770)], number=n))
    doc = aggregate(pages, mime_type="application/pdf")
    for p in doc.pages:
        kinds = {e.text: e.kind for e in p.elements}
        assert kinds["Quarterly Review 2024"] == ElementKind.HEADER
        assert kinds[f"Confidential - page {p.number} of 3"] == ElementKind.FOOTER
        assert kinds[str(p.number)] == ElementKind.PAGE_NUMBER
        assert kinds["Draft"] == ElementKind.SIDEBAR
        assert [e.kind for e in p.elements].count(ElementKind.TEXT) == 1
        assert p.elements[0].kind == ElementKind.HEADER  # furniture on top comes first


def test_single_page_small_band_text_is_furniture_but_big_title_is_not():
    doc = aggregate([page([line("INVOICE", 72, 20, 20), line("ref 778", 500, 20, 8),
                           *paragraph("Some body text " * 6, 72, 100, 60)[0]])],
                    mime_type="application/pdf")
    kinds = {e.text: e.kind for e in doc.elements()}
    assert kinds["INVOICE"] == ElementKind.TITLE
    assert kinds["ref 778"] == ElementKind.HEADER


def test_every_element_keeps_page_bbox_confidence_source():
    doc = aggregate([two_column_page(), invoice_page()], source_name="x.pdf",
                    mime_type="application/pdf")
    assert doc.source_name == "x.pdf" and doc.mime_type == "application/pdf"
    for p in doc.pages:
        for e in p.elements:
            assert e.page == p.number and e.source == Source.PDF_TEXT
            assert 0 <= e.bbox.x0 <= e.bbox.x1 <= p.width and 0 <= e.bbox.y0 <= e.bbox.y1
            assert e.id.startswith(f"p{p.number}-e")


def test_empty_page_and_no_pages():
    doc = aggregate([page([])], mime_type="application/pdf")
    assert doc.pages[0].elements == []
    assert aggregate([], mime_type="application/pdf").pages == []


def test_three_column_running_text_is_not_a_table():
    words = "lorem ipsum dolor sitam conse adipi elits sedeo".split()  # 5 letters: 175 pt lines
    lines = [line(" ".join(words[(i + c + k) % 8] for k in range(6)) + f" c{c}",
                  40 + c * 190, 80 + i * 12)
             for c in range(3) for i in range(10)]
    doc = aggregate([page(lines)], mime_type="application/pdf")
    els = doc.elements()
    assert [e.kind for e in els] == [ElementKind.TEXT] * 3
    assert [e.text.split()[-1] for e in els] == ["c0", "c1", "c2"]  # column by column
    assert all(e.text.count(f"c{i}") == 10 for i, e in enumerate(els))


def test_table_at_the_top_edge_is_not_furniture():
    rows = [cells(r, [40, 200, 300, 400], 8 + 14 * i) for i, r in enumerate(ROWS)]
    doc = aggregate([page(rows)], mime_type="application/pdf")
    assert [e.kind for e in doc.elements()] == [ElementKind.TABLE]
    assert doc.elements()[0].table_rows() == ROWS


def test_ocr_line_height_wobble_keeps_one_paragraph():
    ps, _ = paragraph(A + " " + B, 72, 100, 40, ocr=True)
    wobbly = []
    for i, ln in enumerate(ps):  # box heights 10, 12, 10, 12 ... (descenders, tilt)
        grow = 2.0 if i % 2 else 0.0
        words = [w.model_copy(update={"bbox": w.bbox.model_copy(update={"y1": w.bbox.y1 + grow})})
                 for w in ln.words]
        wobbly.append(Line(words=words, bbox=BBox.enclosing([w.bbox for w in words])))
    doc = aggregate([page(wobbly, ocr=True)], mime_type="image/png")
    assert [e.text for e in doc.elements()] == [A + " " + B]


def test_heading_over_full_width_content_closes_the_columns():
    lines = [line("Seller Ltd", 50, 60), line("1 Road", 50, 74), line("Town", 50, 88),
             line("Invoice No: 7", 350, 60), line("Date: 2024-01-01", 350, 74),
             line("Items", 50, 130, 14, bold=True),
             line("Body text under the heading runs across the whole width of the page.", 50, 150)]
    doc = aggregate([page(lines)], mime_type="application/pdf")
    assert [e.text for e in doc.elements()] == [
        "Seller Ltd 1 Road Town", "Invoice No: 7", "Date: 2024-01-01", "Items",
        "Body text under the heading runs across the whole width of the page."]


def test_heading_in_a_longer_left_column_stays_in_it():
    left, y = paragraph(A, 72, 100, 40)
    left += [line("Later", 72, y + 20, 14, bold=True)]
    more, _ = paragraph(B, 72, y + 40, 40)
    right, _ = paragraph(C, 330, 100, 40)
    doc = aggregate([page(left + more + right)], mime_type="application/pdf")
    assert [e.text for e in doc.elements()] == [A, "Later", B, C]


def test_ocr_field_block_beside_an_address_is_key_values_not_a_table():
    """No colons, no bold (OCR): labels | values in two columns, an address sharing two rows."""
    kw = {"ocr": True}
    lines = [line("Seller Ltd", 50, 40, 16, **kw), line("1 Road", 50, 60, **kw),
             line("Town AB1 2CD", 50, 74, **kw)]
    facts = [("Invoice Date", "2025-08-15"), ("Due Date", "2025-08-25"),
             ("Customer ID", "C-585"), ("Invoice No", "INV-39756"), ("Currency", "EUR")]
    lines += [cells([k, v], [330, 430], 60 + 14 * i, **kw) for i, (k, v) in enumerate(facts)]
    lines += [cells(["Contact", "Terms"], [50, 200], 160, **kw),
              cells(["Maria Lopez", "Net 30"], [50, 200], 174, **kw)]
    doc = aggregate([page(lines, ocr=True)], mime_type="image/png")
    kv = {e.key: e.value for e in doc.elements() if e.kind == ElementKind.KEY_VALUE}
    assert kv == {**dict(facts), "Contact": "Maria Lopez", "Terms": "Net 30"}
    assert not [e for e in doc.elements() if e.kind == ElementKind.TABLE]
    assert "1 Road Town AB1 2CD" in [e.text for e in doc.elements()]


def test_two_column_table_with_header_stays_a_table():
    rows = [["Country", "Capital"], ["France", "Paris"], ["Spain", "Madrid"], ["Peru", "Lima"]]
    doc = aggregate([page([cells(r, [72, 250], 100 + 16 * i) for i, r in enumerate(rows)])],
                    mime_type="application/pdf")
    assert [e.kind for e in doc.elements()] == [ElementKind.TABLE]
    assert doc.elements()[0].table_rows() == rows


def test_table_header_under_two_side_by_side_addresses_starts_a_new_table():
    """Level OCR rows (a deskewed scan): two address blocks share rows right above the table."""
    kw = {"ocr": True}
    lines = [cells(["From", "Bill to"], [50, 330], 100, **kw),
             cells(["193 Linden Street", "Oakridge Electric Ltd"], [50, 330], 114, **kw),
             cells(["Toronto 78806", "153 Hill Crescent"], [50, 330], 128, **kw),
             cells(["Canada", "Dublin 91828"], [50, 330], 142, **kw)]
    rows = [["Description", "Qty", "Unit price", "Amount"],
            ["USB-C cable", "10", "106.32", "1,063.20"],
            ["Office chair", "11", "744.81", "8,192.91"],
            ["Keyboard", "7", "98.75", "691.25"]]
    lines += [cells(r, [50, 330, 420, 520], 164 + 14 * i, **kw) for i, r in enumerate(rows)]
    doc = aggregate([page(lines, ocr=True)], mime_type="image/png")
    tables = [e for e in doc.elements() if e.kind == ElementKind.TABLE]
    assert tables and tables[-1].table_rows() == rows


def test_letterhead_far_above_a_field_grid_is_not_its_header_row():
    """OCR (scan): a letterhead row (name beside the title, a phone line wrapped under it) a
    little over 1.5 row heights above a grid of labels over values and two address columns; the
    wide name would bridge the grid's column gutters if it were the grid's first row."""
    kw = {"ocr": True}
    lines = [cells(["Granite Systems Engineering GmbH", "Invoice"], [50, 480], 60, **kw),
             line("Tel. +251197891772", 50, 72, **kw)]
    grid = [["Number", "Issued", "Due by"], ["IN-2021-70021", "10.02.2021", "12.03.2021"],
            ["From", "", "Bill to"], ["193 Linden Street", "", "Oakridge Electric Ltd"],
            ["Toronto 78806", "", "153 Hill Crescent"]]
    lines += [cells(r, [50, 180, 330], 100 + 14 * i, **kw) for i, r in enumerate(grid)]
    doc = aggregate([page(lines, ocr=True)], mime_type="image/png")
    tables = [e for e in doc.elements() if e.kind == ElementKind.TABLE]
    assert len(tables) == 1
    assert tables[0].table_rows()[:2] == grid[:2]  # "Number" and "Issued" stay two columns
    assert "Granite Systems Engineering GmbH" in " ".join(
        e.text for e in doc.elements() if e.kind != ElementKind.TABLE)


def test_a_monospace_ocr_lines_spaces_do_not_split_it_but_a_column_gap_does():
    """A receipt's monospace font: a space is a whole character cell (16.5 px at a 31 px box
    height, 0.7 of it), the word gaps between OCR character cells a little more."""
    words, x = [], 149.0
    for text, gap in [("UNIHAKKA", 22), ("INTERNATIONAL", 22), ("SDN", 22), ("BHD", 90),
                      ("33.67", 0)]:
        words.append(Word(text=text, bbox=BBox(x0=x, y0=110, x1=x + 16.5 * len(text), y1=141)))
        x += 16.5 * len(text) + gap
    segs = split_line(Line(words=words, bbox=BBox.enclosing([w.bbox for w in words])))
    assert [s.text for s in segs] == ["UNIHAKKA INTERNATIONAL SDN BHD", "33.67"]


def test_a_table_cell_of_two_segments_reads_left_to_right():
    """Two header words that share a column (a wide value below spans both) on level OCR rows
    whose boxes differ by a pixel in height: the cell reads as the row does, not by top edge."""
    kw = {"ocr": True}
    rows = [["Description", "Qty", "Unit price", "Amount"],
            ["USB-C cable", "10", "106.32", "1,063.20"],
            ["Office chair", "11", "744.81", "8,192.91"],
            ["Keyboard", "7", "98.75", "691.25"]]
    lines = []
    for i, r in enumerate(rows):  # one OCR line per cell; the third a pixel higher
        lines += [line(t, x, 164 + 14 * i - (1.0 if j == 2 else 0.0), **kw)
                  for j, (t, x) in enumerate(zip(r, [50, 330, 380, 520], strict=True))]
    lines += [cells(["Subtotal", "10,000.00 CHF"], [50, 340], 164 + 14 * 4, **kw)]
    doc = aggregate([page(lines, ocr=True)], mime_type="image/png")
    (table,) = [e for e in doc.elements() if e.kind == ElementKind.TABLE]
    assert table.table_rows()[:4] == [["Description", "Qty Unit price", "Amount"],
                                      ["USB-C cable", "10 106.32", "1,063.20"],
                                      ["Office chair", "11 744.81", "8,192.91"],
                                      ["Keyboard", "7 98.75", "691.25"]]
