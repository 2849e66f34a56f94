"""Split amounts, dates and times re-joined (``parsers.ocr.numbers``): the pure rule, and real
rapidocr on letter-spaced till print, where spacing recovery splits them at a letter gap."""

from __future__ import annotations

import pytest

from prunestack.parsers.ocr.numbers import merge_split_numbers
from prunestack.parsers.ocr.rapid import RapidOcrBackend
from prunestack.parsers.primitives import Word
from prunestack.pipeline.document import BBox
from tests.parsers import docgen


def _words(*parts: str | int) -> list[Word]:
    """Words 8 px a character; an int between two texts is the blank (px) between them."""
    out, x, gap = [], 0.0, 2.0
    for p in parts:
        if isinstance(p, int):
            gap = float(p)
            continue
        if out:
            x += gap
        out.append(Word(text=p, bbox=BBox(x0=x, y0=0, x1=x + 8 * len(p), y1=12),
                        confidence=0.9 if p != "15" else 0.6))
        x += 8 * len(p)
        gap = 2.0
    return out


@pytest.mark.parametrize(("parts", "want"), [
    (("RM", "64.", "15"), ["RM", "64.15"]),
    (("R", "M", "30", ".", "90"), ["R", "M", "30.90"]),
    (("1", "70.", "00"), ["170.00"]),
    (("Date:", "5/", "3/2018", "22:", "52:", "33"), ["Date:", "5/3/2018", "22:52:33"]),
    (("18-", "1", "1-", "1", "8", "1", "3:58"), ["18-11-18", "13:58"]),
    (("1,", "234.50",), ["1,234.50"]),
    (("2", 20, "12.50"), ["2", "12.50"]),  # quantity and price: a blank wider than a character
    (("1.00", "2.00"), ["1.00", "2.00"]),  # two amounts never make one
    (("Tel", "03-", "5521"), ["Tel", "03-", "5521"]),  # no amount, date or time
    (("64.", "15A"), ["64.", "15A"]),  # a letter is no number punctuation
])
def test_split_values_joined(parts, want):
    assert [w.text for w in merge_split_numbers(_words(*parts))] == want


def test_joined_box_and_confidence():
    words = _words("TOTAL", "64.", "15")
    merged = merge_split_numbers(words)
    assert merged[1].bbox == BBox.enclosing([words[1].bbox, words[2].bbox])
    assert merged[1].confidence == 0.6


def test_rapidocr_letter_spaced_values_rejoined():
    """Real rapidocr on 9 pt Courier and Helvetica: without the repair spacing recovery splits
    some of these values ("13 : 58", "18-1 1-18" measured); with it every value is one word,
    and a quantity beside a price stays apart."""
    lines = ["TOTAL RM64.15", "DATE 18-11-18 13:58", "CASH 170.00", "2     12.50"]
    split_seen = False
    for font in ("Courier", "Helvetica"):
        image = docgen.render_page(docgen.text_pdf(lines, size=9, font=font), 0, 200)
        rows = RapidOcrBackend().raw(image)
        words = {w.text for ln in RapidOcrBackend().lines_from_raw(rows, image) for w in ln.words}
        assert {"RM64.15", "18-11-18", "13:58", "170.00", "12.50", "2"} <= words, font
        assert not any(w.startswith("212") for w in words)
        before = {w.text for ln in RapidOcrBackend(join_numbers=False).lines_from_raw(rows, image)
                  for w in ln.words}
        split_seen |= not {"18-11-18", "13:58", "12.50"} <= before
    assert split_seen  # the case the repair exists for does occur on this input


def test_fullwidth_punctuation_normalised():
    from prunestack.parsers.ocr.rapid import _split_words

    box = BBox(x0=0, y0=0, x1=60, y1=10)
    chars = list("（M）SDN")
    cboxes = [BBox(x0=10 * i, y0=0, x1=10 * i + 9, y1=10) for i in range(len(chars))]
    words = _split_words("（M） SDN", chars, cboxes, [0.9] * len(chars), box)
    assert [w.text for w in words] == ["(M)", "SDN"]
