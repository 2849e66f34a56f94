"""Phrases and reading order of real-world PDF constructions (generated with reportlab), the
causes found on mmda-dev (``benchmarks/bench_parsing_fidelity.py``):

* text drawn at font size 1 and scaled up by the text matrix / CTM (common in InDesign, Quartz
  and OCR output): pdfium reports size 1, so every word gap looked like a column gap and titles
  fell apart into one-word elements ("Tailoring / and / of / a / tuning");
* letter-spaced text (``Tc``, or each glyph drawn on its own) under such a matrix;
* a scan's OCR text layer (invisible words, each drawn on its own, drifting baselines): its
  drawing order is the reading order;
* a form whose drawing order reads across wide gaps row by row;
* vertical labels, which came out one letter per word.
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
