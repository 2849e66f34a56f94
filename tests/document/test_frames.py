"""Page frames: the maths of ``PageFrame`` against independent references, and a page's boxes
moved onto the page (``Page.placed``) and back onto the levelled page (``Document.levelled``)."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from prunestack.pipeline.document import (
    BBox,
    Document,
    Element,
    ElementKind,
    Page,
    PageFrame,
    Source,
    TableCell,
    TiltBand,
)
from prunestack.pipeline.document.geometry import _interp

W, H = 1240.0, 1754.0
TILTED = PageFrame(width=W, height=H, tilt=(TiltBand(y=200.0, degrees=-2.0),
                                            TiltBand(y=1500.0, degrees=-3.0)))


def _corners_turned(box: BBox, deg: float, cx: float, cy: float) -> np.ndarray:
    """The four corners of ``box`` turned ``deg`` degrees clockwise on screen (y down) about
    (cx, cy), with a rotation matrix: the reference for ``unlevel``. [4, 2]"""
    a = math.radians(deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])  # [2, 2]
    pts = np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x0, box.y1], [box.x1, box.y1]])
    return (pts - [cx, cy]) @ rot.T + [cx, cy]


def _random_boxes(n: int, seed: int = 0) -> list[BBox]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        w, h = rng.uniform(5, 700), rng.uniform(8, 60)
        x, y = rng.uniform(60, W - 60 - w), rng.uniform(60, H - 60 - h)
        out.append(BBox(x0=x, y0=y, x1=x + w, y1=y + h))
    return out


def test_interp_is_numpys():
    xp, fp = [100.0, 420.5, 900.0, 1500.0], [-2.0, -2.25, -1.5, -3.0]
    for x in [0.0, 100.0, 250.25, 420.5, 700.0, 900.0, 1499.999, 1500.0, 2000.0]:
        assert _interp(x, xp, fp) == float(np.interp(x, xp, fp))  # to the bit


def test_unlevel_encloses_the_corners_turned_back():
    for box in _random_boxes(50):
        deg = float(np.interp(box.cy, [200.0, 1500.0], [-2.0, -3.0]))
        pts = _corners_turned(box, deg, W / 2, H / 2)
        out = TILTED.unlevel(box)
        assert [out.x0, out.y0, out.x1, out.y1] == pytest.approx(
            [*pts.min(axis=0), *pts.max(axis=0)], abs=1e-9)
        # the box enclosing a turned box is larger than it
        assert out.width * out.height > box.width * box.height


def test_level_inverts_unlevel():
    for box in _random_boxes(200, seed=1):
        back = TILTED.level(TILTED.unlevel(box))
        assert [back.x0, back.y0, back.x1, back.y1] == pytest.approx(
            [box.x0, box.y0, box.x1, box.y1], abs=1e-9)
        assert TILTED.from_page(TILTED.to_page(box)) == back


def test_unlevel_clips_to_the_page_and_level_keeps_a_too_thin_box_centred():
    clipped = 0
    for box in (BBox(x0=0, y0=0, x1=600, y1=20), BBox(x0=W - 600, y0=0, x1=W, y1=20)):
        pts = _corners_turned(box, -2.0, W / 2, H / 2)
        lo, hi = np.clip(pts.min(axis=0), 0, [W, H]), np.clip(pts.max(axis=0), 0, [W, H])
        out = TILTED.unlevel(box)
        assert [out.x0, out.y0, out.x1, out.y1] == pytest.approx([*lo, *hi], abs=1e-9)
        clipped += int((pts.min(axis=0) < 0).any())
    assert clipped  # one of the two corners' boxes ran off the page
    thin = BBox(x0=100, y0=500, x1=700, y1=501)  # no turned box encloses to a 1 pt strip
    out = TILTED.level(thin)
    assert out.height == 0 and out.width > 0
    assert out.cx == pytest.approx(TILTED.level(BBox(x0=399, y0=500, x1=401, y1=501)).cx)


def test_level_points_gives_a_tilted_lines_corners_its_own_box():
    # a line of the levelled page, tilted with the page: its four corners, not its upright box
    for box in _random_boxes(200, seed=3):
        deg = float(np.interp(box.cy, [200.0, 1500.0], [-2.0, -3.0]))
        corners = _corners_turned(box, deg, W / 2, H / 2)  # [4, 2], as a recogniser's quad
        out = TILTED.level_points(corners.tolist())
        assert [out.x0, out.y0, out.x1, out.y1] == pytest.approx(
            [box.x0, box.y0, box.x1, box.y1], abs=1e-9)
        back = TILTED.unlevel(out)  # on the page: the corners' upright box
        assert [back.x0, back.y0, back.x1, back.y1] == pytest.approx(
            [*corners.min(axis=0), *corners.max(axis=0)], abs=1e-9)
    # a character of a line turned by the line's tilt, read at the line's levelled height
    deg = float(np.interp(815.0, [200.0, 1500.0], [-2.0, -3.0]))
    char = _corners_turned(BBox(x0=400, y0=800, x1=420, y1=830), deg, W / 2, H / 2).tolist()
    out = TILTED.level_points(char, 815.0)
    assert [out.x0, out.y0, out.x1, out.y1] == pytest.approx([400, 800, 420, 830], abs=1e-9)
    assert PageFrame(width=W, height=H).level_points([(3, 4), (9, 1), (5, 8)]) == \
        BBox(x0=3, y0=1, x1=9, y1=8)  # no tilt: the points' upright box


def test_quarter_turn_frame_maps_boxes_exactly():
    # a 300 x 200 frame read upright, shown turned a quarter clockwise on a 200 x 300 page:
    # (x, y) -> (200 - y, x)
    turn = PageFrame(width=300.0, height=200.0, matrix=(0.0, 1.0, -1.0, 0.0, 200.0, 0.0))
    assert turn.page_size == (200.0, 300.0)
    box = BBox(x0=10, y0=20, x1=110, y1=40)
    assert turn.to_page(box) == BBox(x0=160, y0=10, x1=180, y1=110)
    assert turn.from_page(turn.to_page(box)) == box
    assert turn.level(box) == box and turn.unlevel(box) == box  # no tilt


def test_scaled_frame_maps_scaled_boxes():
    small = TILTED.scaled(0.5)
    assert small.page_size == (W / 2, H / 2)
    for box in _random_boxes(20, seed=2):
        half = BBox(x0=box.x0 / 2, y0=box.y0 / 2, x1=box.x1 / 2, y1=box.y1 / 2)
        big, little = TILTED.to_page(box), small.to_page(half)
        assert [little.x0 * 2, little.y0 * 2, little.x1 * 2, little.y1 * 2] == pytest.approx(
            [big.x0, big.y0, big.x1, big.y1], abs=1e-9)


def test_a_singular_matrix_is_refused():
    with pytest.raises(ValueError, match="not invertible"):
        PageFrame(width=1, height=1, matrix=(1.0, 1.0, 1.0, 1.0, 0.0, 0.0))


def _page() -> Page:
    kv = Element(id="p1-e1", kind=ElementKind.KEY_VALUE, text="Total: 9.50", page=1,
                 bbox=BBox(x0=100, y0=1400, x1=500, y1=1425), source=Source.OCR,
                 key="Total", value="9.50", value_bbox=BBox(x0=300, y0=1400, x1=500, y1=1425))
    table = Element(id="p1-e2", kind=ElementKind.TABLE, text="a | b", page=1,
                    bbox=BBox(x0=100, y0=600, x1=900, y1=700), source=Source.OCR,
                    cells=[TableCell(row=0, col=0, text="a", bbox=BBox(x0=100, y0=600, x1=400,
                                                                       y1=650)),
                           TableCell(row=0, col=1, text="b")])
    return Page(number=1, width=W, height=H, elements=[kv, table], ocr_backend="rapidocr")


def test_placed_moves_every_box_and_levelled_takes_them_back():
    laid_out = _page()
    placed = laid_out.placed(TILTED)
    assert (placed.width, placed.height, placed.frame) == (W, H, TILTED)
    kv, table = placed.elements
    assert kv.bbox == TILTED.to_page(laid_out.elements[0].bbox)
    assert kv.value_bbox == TILTED.to_page(laid_out.elements[0].value_bbox)
    assert table.cells[0].bbox == TILTED.to_page(laid_out.elements[1].cells[0].bbox)
    assert table.cells[1].bbox is None
    assert laid_out.placed(None) is laid_out
    doc = Document(mime_type="image/png", pages=[placed])
    back = doc.levelled().pages[0].elements
    for got, want in zip(back, laid_out.elements, strict=True):
        assert got.bbox.x0 == pytest.approx(want.bbox.x0, abs=1e-9)
        assert got.bbox.y1 == pytest.approx(want.bbox.y1, abs=1e-9)
    untilted = Document(mime_type="application/pdf", pages=[laid_out])
    assert untilted.levelled() is untilted


def test_frame_round_trips_through_document_json():
    doc = Document(mime_type="image/png", pages=[_page().placed(TILTED)])
    again = Document.model_validate_json(doc.model_dump_json())
    assert again == doc and again.pages[0].frame == TILTED
    assert "frame" in doc.model_dump(mode="json")["pages"][0]
