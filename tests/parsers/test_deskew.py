"""Skew estimation on rendered, rotated text pages, and an OCR page's lines put on its levelled
page from their quadrilaterals' corners."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from prunestack.parsers.ocr.deskew import (
    MIN_SKEW_DEG,
    estimate_skew,
    estimate_skew_bands,
    level_frame,
)
from prunestack.parsers.ocr.rapid import RapidOcrBackend
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


def _turned(x: float, y: float, angle: float, w: float, h: float) -> tuple[float, float]:
    """Where PIL's ``rotate(angle)`` (counter-clockwise on screen, about the centre) puts a point
    of a ``w`` × ``h`` page."""
    a = math.radians(angle)
    return (w / 2 + (x - w / 2) * math.cos(a) + (y - h / 2) * math.sin(a),
            h / 2 - (x - w / 2) * math.sin(a) + (y - h / 2) * math.cos(a))


def _quad(box: tuple[float, float, float, float], angle: float) -> list[list[float]]:
    """``box`` of the level page turned with it: top-left, top-right, bottom-right, bottom-left
    (a recogniser's quadrilateral around the tilted ink)."""
    x0, y0, x1, y1 = box
    return [list(_turned(x, y, angle, 900, 1100)) for x, y in ((x0, y0), (x1, y0), (x1, y1),
                                                                (x0, y1))]


def _upright(quad: list[list[float]]) -> list[float]:
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    return [min(xs), min(ys), max(xs), max(ys)]


def test_a_tilted_scans_lines_are_levelled_from_their_corners():
    """rapidocr-shaped rows around the ink of a page turned 3°: each line's box on the levelled
    page is as tall as its text (its upright box on the scan is ~20 px taller), its words lie
    along it, and both go back onto the scan as the box enclosing the turned ink."""
    angle, font = 3.0, ImageFont.load_default(size=22)
    img = Image.new("L", (900, 1100), 255)
    draw = ImageDraw.Draw(img)
    rows, truth = [], []
    for i in range(20):
        x, y, text = 80, 80 + 45 * i, f"Row {i} Description of item   {i * 7}   {i * 13}.50"
        draw.text((x, y), text, fill=0, font=font)
        x0, y0, x1, y1 = draw.textbbox((x, y), text, font=font)
        # one cell per character, over the line's height, as rapidocr gives them
        edges = [x + font.getlength(text[:k]) for k in range(len(text) + 1)]
        cells = [_quad((a, y0, b, y1), angle) for a, b in itertools.pairwise(edges)]
        rows.append([_quad((x0, y0, x1, y1), angle), text, 0.9, cells, list(text),
                     [0.9] * len(text)])
        words = [(m.group(), (edges[m.start()], y0, edges[m.end()], y1))
                 for m in re.finditer(r"\S+", text)]
        truth.append(((x0, y0, x1, y1), words))
    scan = img.rotate(angle, fillcolor=255)
    lines, frame = RapidOcrBackend(recover_spacing=False).page_from_raw(rows, scan)
    assert frame is not None and all(t.degrees == pytest.approx(-angle, abs=0.3)
                                     for t in frame.tilt)
    assert [ln.text for ln in lines] == [" ".join(r[1].split()) for r in rows]  # text kept
    for line, row, (box, words) in zip(lines, rows, truth, strict=True):
        assert _upright(row[0])[3] - _upright(row[0])[1] > box[3] - box[1] + 15  # on the scan
        assert line.bbox.height == pytest.approx(box[3] - box[1], abs=2.0)  # levelled: the text's
        back = frame.to_page(line.bbox)
        assert [back.x0, back.y0, back.x1, back.y1] == pytest.approx(
            _upright(_quad(box, angle)), abs=2.0)
        assert [w.text for w in line.words] == [w for w, _ in words]
        for word, (_, wbox) in zip(line.words, words, strict=True):
            assert (word.bbox.y0, word.bbox.y1) == (line.bbox.y0, line.bbox.y1)
            assert word.bbox.width == pytest.approx(wbox[2] - wbox[0], abs=2.0)
            back = frame.to_page(word.bbox)
            assert [back.x0, back.y0, back.x1, back.y1] == pytest.approx(
                _upright(_quad(wbox, angle)), abs=2.0)


def test_band_estimates_agree_on_a_uniformly_rotated_page():
    bands = estimate_skew_bands(_page(2.0))
    assert len(bands) >= 2
    assert all(a == pytest.approx(-2.0, abs=0.3) for _, a in bands)
    assert estimate_skew_bands(np.full((200, 300), 255, dtype=np.uint8)) == []


def test_level_frame_records_the_bands():
    bands = [(100.0, -1.0), (1500.0, -2.0)]
    frame = level_frame(bands, 1200.0, 1600.0)
    assert frame is not None and frame.page_size == (1200.0, 1600.0)
    assert [(t.y, t.degrees) for t in frame.tilt] == bands
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
