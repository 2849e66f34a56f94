"""Phrases and reading order of real-world PDF constructions (generated with reportlab), the
causes found on mmda-dev (``benchmarks/bench_parsing_fidelity.py``):

* text drawn at font size 1 and scaled up by the text matrix / CTM (common in InDesign, Quartz
  and OCR output): pdfium reports size 1, so every word gap looked like a column gap and titles
  fell apart into one-word elements ("Tailoring / and / of / a / tuning");
* letter-spaced text (``Tc``, or each glyph drawn on its own) under such a matrix;
* a scan's OCR text layer (invisible words, each drawn on its own, drifting baselines): its
  drawing order is the reading order;
* a form whose drawing order reads across wide gaps row by row;
* vertical labels, which came out one letter per word;
* table cells wrapped onto two or three lines, drawn cell by cell: each line had become a row of
  its own, interleaving neighbouring cells line by line;
* an index set in two columns of dot-leader entries, which had been read as a two-column table
  (unrelated entries paired row by row) and then run together into one paragraph;
* a form line whose words are placed one by one (no space characters) beside a dot leader drawn
  dot by dot: the leader's even gaps passed for letter spacing and glued the words together
  ("(d)thebalanceofthepurchaseprice");
* a legal form's line numbers in the right margin, built into the lines beside them ("... due
  and 31 payable").
"""

from __future__ import annotations

import io
import re

import pypdfium2 as pdfium
import pytest

from prunestack.parsers.ingest import parse
from prunestack.parsers.pdf import pdf_page_lines
from prunestack.pipeline.document import ElementKind

TITLE = "Tailoring and tuning of a small language model for forms"
LEFT = [
    "The first column starts here and it talks about",
    "the reasons why a reader wants whole phrases kept",
    "together in the order in which they were written.",
    "Vallecitos Trails Closed on 24 May 2017 after rain.",
]
RIGHT = [
    "The second column follows the first one and it",
    "continues the argument with more words of its own",
    "so that the order of the columns can be checked",
    "against what a reader of this page would expect.",
]


def _pdf(draw) -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(595.28, 841.89), invariant=1)
    draw(c)
    c.showPage()
    c.save()
    return buf.getvalue()


def _scaled(c, x: float, y: float, size: float, text: str, *, font: str = "Helvetica",
            char_space: float = 0.0, mode: int = 0) -> None:
    """``text`` at font size 1 under a ``size``× matrix (what pdfium reports as size 1)."""
    c.saveState()
    c.transform(size, 0, 0, size, x, y)
    t = c.beginText(0, 0)
    t.setFont(font, 1)
    t.setCharSpace(char_space / size)
    t.setTextRenderMode(mode)
    t.textOut(text)
    c.drawText(t)
    c.restoreState()


def _words(text: str) -> list[str]:
    return re.sub(r"[\W_]+", " ", text.casefold()).split()


def _pdfium_words(data: bytes) -> list[str]:
    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[0]
        tp = page.get_textpage()
        text = tp.get_text_range()
        tp.close()
        page.close()
        return _words(text)
    finally:
        pdf.close()


def _body(doc) -> list:
    return [e for e in doc.pages[0].elements
            if e.kind not in (ElementKind.HEADER, ElementKind.FOOTER, ElementKind.PAGE_NUMBER)]


def _title_page(c) -> None:
    # the title word by word (one text object each, as layout programs emit it), font size 1
    # scaled by 18; two columns of body text at size 1 scaled by 10 (tracked by 1.5 points) and 9
    x = 60.0
    for w in TITLE.split():
        _scaled(c, x, 760, 18, w, font="Helvetica-Bold")
        x += c.stringWidth(w, "Helvetica-Bold", 18) + 5.0
    right = 60 + max(c.stringWidth(ln, "Helvetica", 10) + 1.5 * len(ln) for ln in LEFT) + 24
    for i, line in enumerate(LEFT):
        _scaled(c, 60, 700 - 14 * i, 10, line, char_space=1.5)
    for i, line in enumerate(RIGHT):
        _scaled(c, right, 700 - 14 * i, 9, line)


def test_scaled_text_keeps_title_and_columns_whole_and_in_order():
    data = _pdf(_title_page)
    doc = parse(data)
    els = _body(doc)
    assert els[0].kind == ElementKind.TITLE
    assert els[0].text == TITLE
    assert els[0].font_size == pytest.approx(18, abs=0.5)  # the size as drawn, not pdfium's 1
    texts = [e.text for e in els[1:]]
    assert texts == [" ".join(LEFT), " ".join(RIGHT)]


def test_letter_spaced_scaled_text_and_glyph_by_glyph_words_stay_whole():
    def draw(c) -> None:
        _scaled(c, 72, 700, 12, "Vallecitos Trails Closed", char_space=3.0)  # a quarter em
        x = 72.0
        for word in ("Canyon", "Road", "Reopened"):  # every glyph drawn on its own, tracked
            for ch in word:
                _scaled(c, x, 640, 12, ch)
                x += c.stringWidth(ch, "Helvetica", 12) + 2.0
            x += c.stringWidth(" ", "Helvetica", 12)  # a space, tracked like the letters

    lines = pdf_page_lines(_pdf(draw))[0].lines
    assert [[w.text for w in ln.words] for ln in lines] == [
        ["Vallecitos", "Trails", "Closed"], ["Canyon", "Road", "Reopened"]]
    assert lines[0].words[0].font_size == pytest.approx(12, abs=0.1)
    # pdfium's own text splits the glyph-by-glyph words into letters ("C a n y o n R o a d")
    assert "Canyon" not in _pdfium_words(_pdf(draw))
    doc = parse(_pdf(draw))
    assert " ".join(e.text for e in _body(doc)) == "Vallecitos Trails Closed Canyon Road Reopened"


def _ocr_layer_page(c) -> None:
    # a tilted scan's OCR layer: every word its own invisible text object, baselines drifting
    # by up to 3 points along a line, two columns drawn column by column (the OCR engine's
    # reading order), with a short line of the right column level with the left one
    x0s, y = (60.0, 320.0), 700.0
    for col, lines in zip(x0s, (LEFT, RIGHT), strict=True):
        for i, line in enumerate(lines):
            x = col
            for k, w in enumerate(line.split()):
                _scaled(c, x, y - 16 * i - 0.35 * k, 10, w, mode=3)
                x += c.stringWidth(w, "Helvetica", 10) + 3.2


def test_ocr_text_layer_keeps_its_drawing_order():
    data = _pdf(_ocr_layer_page)
    doc = parse(data)
    ours = _words(" ".join(e.text for e in doc.pages[0].elements))
    assert ours == _pdfium_words(data)
    assert ours == _words(" ".join(LEFT + RIGHT))
    assert len(doc.pages[0].elements) <= 4  # paragraphs, not one element per word


FORM = [("Invoice number", "AEB3A43806", "Billing date", "23.11.2023"),
        ("Guest name", "KRAUSE BENNET", "Room", "0707"),
        ("Check in date", "23.11.2023", "Check out date", "24.11.2023"),
        ("Payment method", "Mastercard", "Balance due", "0,00 SEK")]


def _form_page(c) -> None:
    # a form drawn row by row: each word on its own, wide gaps between label and value
    c.setFont("Helvetica", 9)
    for i, row in enumerate(FORM):
        y = 700 - 22 * i
        for x, cell in zip((50, 170, 330, 450), row, strict=True):
            at = float(x)
            for w in cell.split():
                c.drawString(at, y, w)
                at += c.stringWidth(w + " ", "Helvetica", 9)


def test_single_word_spans_follow_pdfium_order():
    data = _pdf(_form_page)
    doc = parse(data)
    ours = _words(" ".join(e.text for e in doc.pages[0].elements))
    assert ours == _pdfium_words(data) == _words(" ".join(" ".join(r) for r in FORM))


def test_vertical_label_is_one_word():
    def draw(c) -> None:
        c.setFont("Helvetica", 10)
        for i in range(6):
            c.drawString(72, 700 - 14 * i, f"Body line {i} of the page, read across as usual.")
        c.saveState()
        c.translate(560, 500)
        c.rotate(90)
        c.setFont("Helvetica-Bold", 14)
        c.drawString(0, 0, "CATCHES & LATCHES")
        c.restoreState()

    words = [w.text for ln in pdf_page_lines(_pdf(draw))[0].lines for w in ln.words]
    assert "CATCHES" in words and "LATCHES" in words
    assert not {"C", "A", "T"} & set(words)


SUPPLIERS = [  # (name, address, contact): each cell's lines
    (["Supplier's name"], ["Address"], ["Contact details"]),
    (["Godfreys Vacuum Cleaner", "Specialists"], ["Various stores"],
     ["1800 815 270", "www.godfreys.com.au"]),
    (["Graphic Art Mart"], ["1/22 Loyalty Rd,", "North Rocks NSW 2151"],
     ["02 8843 0299", "www.gamart.com.au"]),
    (["Kimberly-Clark", "c/o Officemax Aus"], ["20 Worth St,", "Chullora NSW 2190"],
     ["02 8732 0222", "www.kimberly-clark.com.au"]),
    (["The Kyoto Costume Institute"],
     ["103, Shichi-jo Goshonouchi", "Minamimachi, Shimogyo-ku,", "Kyoto, 600-8864 Japan"],
     ["+81 (75) 321 9221", "www.kci.or.jp/exhibitions/", "mannequin_e.html"]),
    (["Harry Daines"], ["175 Botany Rd,", "Waterloo NSW 2017"],
     ["02 9699 3977", "www.harrydaines.com.au"]),
]


def _suppliers_page(c) -> None:
    # a supplier list as a layout program draws it: cell by cell, each cell's lines in turn
    # (12.5 pt apart), rows 23 pt apart (about a blank line between them)
    c.setFont("Helvetica", 9)
    y = 780.0
    for row in SUPPLIERS:
        for x, cell in zip((57, 211, 360), row, strict=True):
            for k, line in enumerate(cell):
                c.drawString(x, y - 12.5 * k, line)
        y -= 12.5 * (max(len(cell) for cell in row) - 1) + 23


def test_wrapped_table_cells_stay_whole_in_their_row():
    data = _pdf(_suppliers_page)
    tables = [e for e in parse(data).pages[0].elements if e.kind == ElementKind.TABLE]
    assert len(tables) == 1
    t = tables[0]
    expected = [[" ".join(cell) for cell in row] for row in SUPPLIERS]
    got = [[c.text for c in t.cells if c.row == r] for r in range(len(expected))]
    assert got == expected
    assert max(c.row for c in t.cells) == len(SUPPLIERS) - 1
    assert t.text.splitlines()[1] == \
        "Godfreys Vacuum Cleaner Specialists | Various stores | 1800 815 270 www.godfreys.com.au"
    assert _words(t.text) == _pdfium_words(data)  # pdfium reads cell by cell as well


ITEMS = [("1 Labour (Tradesman)", "$102.50", "1.75", "$179.38"),
         ("2 Labour (Apprentice)", "$56.40", "1.75", "$98.70"),
         ("3 Labour (AV Tech)", "$81.20", "2.00", "$162.40")]
TOTALS = [[("Claimed Amount", "$623.18"), ("Claimed GST", "$62.32"),
           ("Total Claimed", "$685.50")],
          [("Approved", "$623.18"), ("Approved GST", "$62.32"), ("Total Approved", "$685.50")]]


def _invoice_totals_page(c) -> None:
    # item rows spaced apart, then two blocks of label/value lines set close together and drawn
    # column by column (the labels, then the values): lines linked by the drawing order like a
    # wrapped cell's, but every line is a whole row
    c.setFont("Helvetica", 10)
    y = 760.0
    for row in [("ID Description", "Rate", "Quantity", "Amount"), *ITEMS]:
        for x, cell in zip((50, 250, 350, 450), row, strict=True):
            c.drawString(x, y, cell)
        y -= 30
    for block in TOTALS:
        for col, x in ((0, 250), (1, 450)):
            for k, pair in enumerate(block):
                c.drawString(x, y - 12 * k, pair[col])
        y -= 12 * len(block) + 30


def test_complete_lines_drawn_column_by_column_stay_separate_rows():
    doc = parse(_pdf(_invoice_totals_page))
    text = "\n".join(e.text for e in doc.pages[0].elements)
    for label, value in (pair for block in TOTALS for pair in block):
        assert re.search(rf"^{re.escape(label)}(?: \||:) {re.escape(value)}$", text, re.M), \
            (label, text)


INDEX_LEFT = ["Adolph, S.", "Anderson, D. J.", "Baker, S. W.", "Beatty, P.", "Belshee, A.",
              "Berenson, S. B.", "Bergin, J.", "Boechler, K."]
INDEX_RIGHT = ["Law, A.", "Layman, L.", "Learn, S.", "Leip, D.", "Liu, L.", "Madden, R.",
               "Mann, C.", "Maurer, F."]


def _leader(c, x: float, y: float, name: str, page: int, width: float) -> None:
    # "Name ........ 123" filling ``width`` points, as an index sets its entries
    dots = "." * int((width - c.stringWidth(f"{name} {page}", "Helvetica", 10))
                     / c.stringWidth(".", "Helvetica", 10))
    c.drawString(x, y, f"{name} {dots}{page}")


def _index_page(c) -> None:
    # an author index in two columns, each drawn top to bottom (as mmda-dev's 306.pdf is)
    c.setFont("Helvetica-Bold", 16)
    c.drawString(240, 780, "Author Index")
    c.setFont("Helvetica", 10)
    for x, names in ((72, INDEX_LEFT), (324, INDEX_RIGHT)):
        for i, name in enumerate(names):
            _leader(c, x, 740 - 11.5 * i, name, 20 + 7 * i, 216)


def test_index_in_two_leader_columns_reads_column_by_column_one_entry_each():
    els = parse(_pdf(_index_page)).pages[0].elements
    assert not [e for e in els if e.kind == ElementKind.TABLE]
    entries = [e.text for e in els if "..." in e.text]
    assert [re.sub(r" \.+\d+$", "", t) for t in entries] == INDEX_LEFT + INDEX_RIGHT


def test_dot_leader_is_not_letter_spacing_for_the_words_beside_it():
    def draw(c) -> None:
        c.setFont("Helvetica", 6)
        x = 72.0
        for w in "(d) the balance of the purchase price".split():  # placed word by word
            c.drawString(x, 700, w)
            x += c.stringWidth(w, "Helvetica", 6) + 1.83
        x += 3.5
        for _ in range(80):  # the leader, dot by dot
            c.drawString(x, 700, ".")
            x += c.stringWidth(".", "Helvetica", 6) + 1.67
        c.drawString(x + 4, 700, "$")
        c.setFont("Helvetica", 10)
        c.drawString(72, 650, "The buyer pays the balance at closing, as the contract says.")

    words = [w.text for ln in pdf_page_lines(_pdf(draw))[0].lines for w in ln.words]
    assert words[:7] == ["(d)", "the", "balance", "of", "the", "purchase", "price"]


CLAUSE = ("Purchaser shall pay Seller for heating oil in the tank at the date of possession and "
          "the seller shall deliver the property free and clear of all liens and encumbrances "
          "except zoning ordinances building and use restrictions and easements of record which "
          "benefit the property or the area where the property is located in this county").split()


def _numbered_lines(width: float) -> list[str]:
    lines, cur = [], []
    for w in CLAUSE * 6:
        cur.append(w)
        if width - 8 <= _helvetica_width(" ".join(cur), 9) <= width:
            lines.append(" ".join(cur))
            cur = []
        elif _helvetica_width(" ".join(cur), 9) > width:
            lines.append(" ".join(cur[:-1]))
            cur = [w]
    return lines[:14]


def _helvetica_width(text: str, size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(text, "Helvetica", size)


def test_margin_line_numbers_are_furniture_not_line_text():
    lines = _numbered_lines(540.0)

    def draw(c) -> None:
        c.setFont("Helvetica", 9)
        for i, line in enumerate(lines):  # text to about 5 points from the numbers
            c.drawString(36, 740 - 12 * i, line)
        for i in range(len(lines)):  # the numbers last, right-aligned in the margin
            c.drawRightString(588, 740 - 12 * i, str(i + 1))

    els = parse(_pdf(draw)).pages[0].elements
    body = [e for e in els if e.kind != ElementKind.SIDEBAR]
    assert [e.text for e in body] == [" ".join(lines)]
    numbers = [e.text for e in els if e.kind == ElementKind.SIDEBAR]
    assert numbers == [str(i + 1) for i in range(len(lines))]


def test_contents_page_numbers_in_a_margin_stay_with_their_entries():
    entries = [(297, "Treatment: concepts and new developments"), (300, "Diabetes news"),
               (305, "Soluble epoxide hydrolase as a target"), (314, "Hepatic insulin"),
               (324, "Resveratrol and insulin resistance"), (336, "Prevalence of diabetes"),
               (345, "Vildagliptin as add-on therapy"), (354, "Smoking and metformin use"),
               (363, "Walking exercise"), (378, "Plasma glucose and hemoglobin A1c")]

    def draw(c) -> None:
        c.setFont("Helvetica", 9)
        for i, (page, title) in enumerate(entries):
            c.drawString(30, 740 - 30 * i, str(page))
            c.drawString(80, 740 - 30 * i, title)

    els = parse(_pdf(draw)).pages[0].elements
    assert not [e for e in els if e.kind == ElementKind.SIDEBAR]
    text = "\n".join(e.text for e in els)
    assert all(f"{page}" in text for page, _ in entries)


def test_numbered_item_rows_at_the_text_edge_keep_their_numbers():
    # an invoice whose items are numbered 1-10 at the page's text edge, where its heading and
    # totals start too: the numbers are the rows' first cells, not margin line numbers
    def draw(c) -> None:
        c.setFont("Helvetica", 9)
        c.drawString(40, 780, "Invoice 2024-117 from Fourbs Group to the Department of Education")
        c.drawString(40, 750, "No")
        c.drawString(80, 750, "Description")
        c.drawString(400, 750, "Amount")
        for i in range(10):
            y = 735 - 14 * i
            c.drawString(40, y, str(i + 1))
            c.drawString(80, y, f"Labour (AV Tech) visit {i + 1}")
            c.drawString(400, y, f"${81.2 * (i + 1):.2f}")
        c.drawString(40, 570, "Total claimed including GST as shown on this invoice")

    els = parse(_pdf(draw)).pages[0].elements
    assert not [e for e in els if e.kind == ElementKind.SIDEBAR]
    tables = [e for e in els if e.kind == ElementKind.TABLE]
    assert len(tables) == 1
    assert [c.text for c in tables[0].cells if c.col == 0] == ["No", *map(str, range(1, 11))]
