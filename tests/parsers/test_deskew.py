"""Skew estimation on rendered, rotated text pages and box rotation into the deskewed frame."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from parsers.document import BBox
from parsers.ocr.deskew import MIN_SKEW_DEG, deskew_lines, estimate_skew, estimate_skew_bands
from parsers.primitives import Line, Word


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
