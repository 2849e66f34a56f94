"""Where a box sits on its page on a 3 × 3 grid: the one rule every location question uses.

What it does: :func:`grid_cell` gives the (row, col) of the cell that holds a box's **centre**
(rows top → bottom, columns left → right, 0-based). Cells are half-open, ``[k·w/3, (k+1)·w/3)``,
so every box is in exactly one cell: a centre on a grid line belongs to the cell below / to the
right of it, and a centre off the page (a box overhanging the edge) to the nearest edge cell.
:func:`in_cells` asks whether that cell is among the chosen rows and columns.

Why the centre and not overlap: a box that straddles two cells answers for one of them only, so
a full-width title line is "top centre", not also "top left" and "top right", and a question
about the top-right corner is not flooded by every wide element that reaches into it.
``retrieval.document.locate`` (extraction's location questions) and
``parsers.cctree.find_by_location`` (CCTree nodes) both use this rule.

What it does not do: read questions (``retrieval.document.classify`` does), or refuse pages
without geometry (an HTML page has width and height 0; the callers decide what that means).
"""

from __future__ import annotations

import math
from collections.abc import Collection

from prunestack.errors import InputError
from prunestack.pipeline.document.model import BBox

GRID = 3  # cells per side


def _index(v: float, size: float) -> int:
    return min(GRID - 1, max(0, math.floor(GRID * v / size)))


def grid_cell(box: BBox, width: float, height: float) -> tuple[int, int]:
    """(row, col) of the cell holding ``box``'s centre on a ``width`` × ``height`` page."""
    if width <= 0 or height <= 0:
        raise InputError(f"a page of {width} x {height} has no geometry (HTML input?)",
                         "location questions need a PDF or an image")
    return _index(box.cy, height), _index(box.cx, width)


def in_cells(box: BBox, width: float, height: float, rows: Collection[int],
             cols: Collection[int]) -> bool:
    """True when ``box``'s cell (:func:`grid_cell`) is in one of ``rows`` and one of ``cols``."""
    row, col = grid_cell(box, width, height)
    return row in rows and col in cols
