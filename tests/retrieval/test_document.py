"""Document retrieval's grid: one rule (the box centre) for extraction's location questions and
the CCTree's ``find_by_location``, shown on an element that straddles two cells."""

from __future__ import annotations

import pytest

from prunestack.errors import InputError
from prunestack.parsers.cctree import build_cctree, find_by_location
from prunestack.pipeline.document import BBox, Document, Element, ElementKind, Page, Source
from prunestack.pipeline.document.grid import grid_cell, in_cells
from prunestack.retrieval.document import Question, classify, locate

W, H = 600.0, 900.0  # cells: x 0..200..400..600, y 0..300..600..900


def _doc(boxes: dict[str, tuple[ElementKind, tuple[float, float, float, float]]]) -> Document:
    els = [Element(id=eid, kind=kind, text=eid, page=1, source=Source.PDF_TEXT, level=1,
                   bbox=BBox(x0=b[0], y0=b[1], x1=b[2], y1=b[3]))
           for eid, (kind, b) in boxes.items()]
    return Document(source_name="grid.pdf", mime_type="application/pdf",
                    pages=[Page(number=1, width=W, height=H, elements=els)])


def test_an_element_straddling_two_cells_belongs_to_the_cell_of_its_centre():
    # "wide" spans the top-centre and top-right cells (x 300..590); its centre x = 445 is in the
    # right column. "left", a title, is wholly in the top-left cell.
    doc = _doc({"left": (ElementKind.TITLE, (20, 20, 150, 40)),
                "wide": (ElementKind.TEXT, (300, 20, 590, 40))})
    assert grid_cell(doc.element("wide").bbox, W, H) == (0, 2)
    # extraction's location question and the CCTree lookup give the same answer
    assert set(locate(doc, classify("reference in the top right corner", 1))) == {"wide"}
    assert locate(doc, Question("location", rows=(0,), cols=(1,))) == {}  # overlaps, not there
    tree = build_cctree(doc)
    assert [n.element_ids for n in find_by_location(tree, 1, 0, 2)] == [["wide"]]
    assert find_by_location(tree, 1, 0, 1) == []
    assert [n.element_ids for n in find_by_location(tree, 1, 0, 0)] == [["left"]]


def test_every_box_is_in_exactly_one_cell():
    on_line = BBox(x0=150, y0=250, x1=250, y1=350)  # centre (200, 300): on two grid lines
    assert grid_cell(on_line, W, H) == (1, 1)  # a line belongs to the cell below / right
    off_page = BBox(x0=560, y0=880, x1=640, y1=920)  # overhangs the bottom-right corner
    assert grid_cell(off_page, W, H) == (2, 2)
    assert grid_cell(BBox(x0=-30, y0=-10, x1=10, y1=0), W, H) == (0, 0)
    for box in (on_line, off_page):
        assert sum(in_cells(box, W, H, (r,), (c,)) for r in range(3) for c in range(3)) == 1


def test_pages_without_geometry():
    html = Document(mime_type="text/html", pages=[Page(number=1, width=0, height=0, elements=[
        Element(id="p1-e0", kind=ElementKind.TEXT, text="x", page=1, source=Source.HTML,
                bbox=BBox(x0=0, y0=0, x1=0, y1=0))])])
    assert locate(html, classify("top right", 1)) == {"p1-e0": 1.0}  # kept whole
    with pytest.raises(InputError, match="no geometry"):
        grid_cell(BBox(x0=0, y0=0, x1=0, y1=0), 0, 0)
