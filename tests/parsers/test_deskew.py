"""Skew estimation on rendered, rotated text pages and box rotation into the deskewed frame."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from prunestack.parsers.ocr.deskew import (
    MIN_SKEW_DEG,
    deskew_lines,
    estimate_skew,
    estimate_skew_bands,
    level_frame,
)
from prunestack.parsers.primitives import Line, Word
from prunestack.pipeline.document import BBox


def _page(angle: float) -> np.ndarray:
    img = Image.new("L", (900, 1100), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=22)
    for i in range(20):
        draw.text((80, 80 + 45 * i), f"Row {i} Description of item   {i * 7}   {i * 13}.50",
                  fill=0, font=font)
    return np.asarray(img.rotate(angle, fillcolor=255))  # [H, W], counter-clockwise


@pytest.mark.parametrize("angle", [-2.5, -1.2, 0.0, 1.5, 3.0])
def test_estimate_skew_undoes_the_rotation(angle):
    assert estimate_skew(_page(angle)) == pytest.approx(-angle, abs=0.15)


def test_blank_page_has_no_skew():
    assert estimate_skew(np.full((200, 300), 255, dtype=np.uint8)) == 0.0


def _word(text: str, x: float, y: float) -> Word:
    return Word(text=text, bbox=BBox(x0=x, y0=y, x1=x + 60, y1=y + 20))


def test_deskew_levels_the_cells_of_one_row():
    # A row whose right end sits 21 px higher over 1000 px: rotated ~1.2° counter-clockwise.
    left, right = _word("Keyboard", 100, 521), _word("696.24", 1100, 500)
    lines = [Line(words=[left], bbox=left.bbox), Line(words=[right], bbox=right.bbox)]
    out = deskew_lines(lines, -1.2, 1200.0, 1600.0)
    ys = [ln.bbox.y0 for ln in out]
    assert abs(ys[0] - ys[1]) < 1.5
    assert [ln.bbox.width for ln in out] == [60, 60]  # sizes kept
    assert deskew_lines(lines, MIN_SKEW_DEG / 2, 1200.0, 1600.0) is lines


def test_band_estimates_agree_on_a_uniformly_rotated_page():
    bands = estimate_skew_bands(_page(2.0))
    assert len(bands) >= 2
    assert all(a == pytest.approx(-2.0, abs=0.3) for _, a in bands)
    assert estimate_skew_bands(np.full((200, 300), 255, dtype=np.uint8)) == []


def test_deskew_interpolates_band_angles_by_line_height():
    # Top band level, bottom band tilted: only the bottom row's cells move towards each other.
    top = [_word("Top", 100, 100), _word("Row", 1100, 100)]
    bottom = [_word("Keyboard", 100, 1521), _word("696.24", 1100, 1500)]
    lines = [Line(words=[w], bbox=w.bbox) for w in [*top, *bottom]]
    out = deskew_lines(lines, [(100.0, 0.0), (1500.0, -1.2)], 1200.0, 1600.0)
    by_text = {ln.text: ln.bbox.y0 for ln in out}
    assert by_text["Top"] == pytest.approx(100, abs=0.5)
    assert by_text["Row"] == pytest.approx(100, abs=0.5)
    assert abs(by_text["Keyboard"] - by_text["696.24"]) < 2.5


def test_level_frame_takes_levelled_boxes_back_onto_the_scan():
    bands = [(100.0, -1.0), (1500.0, -2.0)]
    words = [_word("Keyboard", 100, 1521), _word("696.24", 1100, 80), _word("Mid", 600, 800)]
    lines = [Line(words=[w], bbox=w.bbox) for w in words]
    frame = level_frame(bands, 1200.0, 1600.0)
    assert frame is not None and frame.page_size == (1200.0, 1600.0)
    assert [(t.y, t.degrees) for t in frame.tilt] == bands
    for levelled in deskew_lines(lines, bands, 1200.0, 1600.0):
        back = frame.to_page(levelled.bbox)
        orig = next(w.bbox for w in words if w.text == levelled.words[0].text)
        assert back.cx == pytest.approx(orig.cx, abs=1.0)
        assert (back.y0 + back.y1) / 2 == pytest.approx((orig.y0 + orig.y1) / 2, abs=1.0)
    assert level_frame([(10.0, MIN_SKEW_DEG / 2)], 100.0, 100.0) is None  # not levelled
    assert level_frame([], 100.0, 100.0) is None
    assert frame.scaled(0.5).to_page(BBox(x0=50, y0=40, x1=80, y1=50)).x1 <= 600.0


def test_parse_puts_the_lines_of_a_tilted_scan_back_where_they_are_on_it():
    """Real OCR on a page rotated by 2°: the layout works on level rows, and the element boxes
    come back on the scan — the bottom line (moved most by the rotation) where its ink is."""
    import io

    from prunestack.parsers.ingest import parse

    angle, font = 2.0, ImageFont.load_default(size=22)
    img = Image.new("L", (900, 1100), 255)
    draw = ImageDraw.Draw(img)
    for i in range(12):  # enough lines for the skew estimate
        draw.text((80, 80 + 45 * i), f"Row {i} Description of item   {i * 7}   {i * 13}.50",
                  fill=0, font=font)
    last = "Total amount due 1234.50"
    draw.text((80, 1000), last, fill=0, font=font)
    buf = io.BytesIO()
    img.rotate(angle, fillcolor=255).save(buf, format="PNG")
    doc = parse(buf.getvalue(), ocr="rapidocr")
    frame = doc.pages[0].frame
    assert frame is not None and frame.tilt
    assert (doc.pages[0].width, doc.pages[0].height) == (900, 1100)
    # where the last line really is on the scan: its unrotated centre turned about the centre
    x0, y0, x1, y1 = font.getbbox(last)
    cx, cy, a = 80 + (x0 + x1) / 2, 1000 + (y0 + y1) / 2, np.radians(angle)
    true_x = 450 + (cx - 450) * np.cos(a) + (cy - 550) * np.sin(a)
    true_y = 550 - (cx - 450) * np.sin(a) + (cy - 550) * np.cos(a)
    on_scan = next(e.bbox for e in doc.elements() if e.text.startswith("Total"))
    assert abs((on_scan.y0 + on_scan.y1) / 2 - true_y) < 4
    assert abs(on_scan.cx - true_x) < 6
    levelled = next(e.bbox for e in doc.levelled().elements() if e.text.startswith("Total"))
    assert abs(levelled.cx - true_x) > 10  # the levelled frame is off by ~17 px here
