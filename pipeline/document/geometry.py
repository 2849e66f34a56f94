"""Boxes and page frames: ``BBox``, and ``PageFrame``, the transform between the frame a page's
layout was worked out in and the original page.

Coordinates are page units (PDF points, pixels of the original image) with the origin at the
top-left corner and y growing downwards. The layout step does not always work on the page as it
is: the words of a tilted scan are levelled first so that one table row shares one baseline
(``parsers.ocr.deskew``), and a PDF page whose text runs sideways is read where its text is
upright (``parsers.pdf``). A :class:`PageFrame` records how that layout frame sits on the page:

* ``matrix`` — an affine map ``(a, b, c, d, e, f)`` in PDF order, ``x' = a·x + c·y + e``,
  ``y' = b·x + d·y + f``, of the layout frame onto the (levelled) page: the quarter turn of
  sideways text, or nothing;
* ``tilt`` — how the page was levelled: ``(y, degrees)`` bands of the counter-clockwise rotation
  (as shown) about the page's centre that made its rows level, read at a box's height by linear
  interpolation (a perspective-warped photo tilts its top and bottom lines differently).

``to_page(box)`` maps a layout-frame box onto the page, ``from_page(box)`` a page box into the
layout frame; ``unlevel`` / ``level`` are their tilt halves (the levelled page is where the rows
of a tilted scan are level: what row and column reasoning needs). A box is axis-aligned, so a
box taken through a tilt becomes the box enclosing its four turned corners (the ink of a tilted
line), clipped to the page; ``level`` inverts exactly that, so ``from_page(to_page(b))`` is ``b``
to rounding. ``level_points`` levels the corners of a quadrilateral (an OCR line's, tilted with
the page) to its tight box on the levelled page, which ``unlevel`` turns back into (nearly) the
quadrilateral's upright box on the page. Page images shrunk for OCR have their boxes scaled back
to the original pixels before the layout step (its thresholds are in page units), so a frame's
units are the page's.

This module is pure maths on immutable values: it does not estimate a tilt, read a PDF or move
any element (``parsers.layout`` maps a page's boxes once its layout is done).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Matrix = tuple[float, float, float, float, float, float]
#: ``x' = x``, ``y' = y``.
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


class BBox(BaseModel):
    """An axis-aligned box (x0, y0) top-left to (x1, y1) bottom-right, in page units."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    x0: float
    y0: float
    x1: float
    y1: float

    @model_validator(mode="after")
    def _ordered(self) -> BBox:
        if self.x1 < self.x0 or self.y1 < self.y0:
            raise ValueError(f"box corners out of order: {self}")
        return self

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    def union(self, other: BBox) -> BBox:
        return BBox(
            x0=min(self.x0, other.x0),
            y0=min(self.y0, other.y0),
            x1=max(self.x1, other.x1),
            y1=max(self.y1, other.y1),
        )

    def intersects(self, other: BBox) -> bool:
        return not (
            other.x0 > self.x1 or other.x1 < self.x0 or other.y0 > self.y1 or other.y1 < self.y0
        )

    @staticmethod
    def enclosing(boxes: list[BBox]) -> BBox:
        if not boxes:
            raise ValueError("no boxes to enclose")
        out = boxes[0]
        for b in boxes[1:]:
            out = out.union(b)
        return out


class TiltBand(BaseModel):
    """The levelling rotation (degrees, counter-clockwise as shown) at height ``y``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    y: float
    degrees: float


class PageFrame(BaseModel):
    """Where a ``width`` × ``height`` layout frame sits on its page (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    width: float = Field(ge=0, description="width of the layout frame, in page units")
    height: float = Field(ge=0, description="height of the layout frame, in page units")
    matrix: Matrix = Field(default=IDENTITY,
                           description="affine map (a, b, c, d, e, f) of the layout frame onto "
                                       "the levelled page: x' = a*x + c*y + e, y' = b*x + d*y + f")
    tilt: tuple[TiltBand, ...] = Field(
        default=(), description="how the page was levelled: rotation bands about its centre")

    @model_validator(mode="after")
    def _invertible(self) -> Self:
        a, b, c, d, _, _ = self.matrix
        if a * d - b * c == 0:
            raise ValueError(f"the frame's matrix is not invertible: {self.matrix}")
        return self

    @property
    def page_size(self) -> tuple[float, float]:
        """Width and height of the page the frame maps onto."""
        if self.matrix == IDENTITY:
            return self.width, self.height
        box = _affine(BBox(x0=0, y0=0, x1=self.width, y1=self.height), self.matrix)
        return box.width, box.height

    def to_page(self, box: BBox) -> BBox:
        """``box`` of the layout frame on the page: the matrix applied, then the levelling
        undone (:meth:`unlevel`)."""
        if self.matrix != IDENTITY:
            box = _affine(box, self.matrix)
        return self.unlevel(box)

    def from_page(self, box: BBox) -> BBox:
        """``box`` of the page in the layout frame: levelled (:meth:`level`), then the matrix
        undone."""
        box = self.level(box)
        return _affine(box, _inverse(self.matrix)) if self.matrix != IDENTITY else box

    def unlevel(self, box: BBox) -> BBox:
        """A box of the levelled page on the page: the box enclosing its corners turned back
        about the page's centre by the tilt read at the box's centre, clipped to the page."""
        if not self.tilt:
            return box
        cos, sin = self._cos_sin(box.cy)
        (cx, cy), (w, h) = self._centre(), self.page_size
        xs, ys = [], []
        for x, y in ((box.x0, box.y0), (box.x1, box.y0), (box.x0, box.y1), (box.x1, box.y1)):
            dx, dy = x - cx, y - cy
            xs.append(cx + dx * cos - dy * sin)
            ys.append(cy + dx * sin + dy * cos)
        return BBox(x0=min(max(min(xs), 0.0), w), y0=min(max(min(ys), 0.0), h),
                    x1=min(max(max(xs), 0.0), w), y1=min(max(max(ys), 0.0), h))

    def level(self, box: BBox) -> BBox:
        """A box of the page on the levelled page (where a tilted scan's rows are level): the
        inverse of :meth:`unlevel` — ``level(unlevel(b))`` is ``b`` to rounding, for every box
        ``unlevel`` did not clip. A box narrower than any turned box can be keeps its centre and
        gets no width (or height) there."""
        if not self.tilt:
            return box
        lx, ly, cos, sin = self._levelled_centre(box.cx, box.cy)
        c, s = abs(cos), abs(sin)
        det = c * c - s * s  # cos(2·angle) > 0: tilts stay far below 45°
        hw = max((box.width * c - box.height * s) / det, 0.0) / 2
        hh = max((box.height * c - box.width * s) / det, 0.0) / 2
        return BBox(x0=lx - hw, y0=ly - hh, x1=lx + hw, y1=ly + hh)

    def level_points(self, points: Sequence[Sequence[float]], y: float | None = None) -> BBox:
        """The tight box, on the levelled page, of page points turned level: the corners of a
        recogniser's quadrilateral around a tilted line give the line's own box there, where
        :meth:`level` of the quadrilateral's upright box keeps the tilt's inflation (about its
        width × sin(angle) of extra height). The tilt is read at the levelled height ``y``, or
        where the centre of the points' upright box lands (as :meth:`level` reads it), so a line
        and the characters along it can share the line's rotation."""
        xs, ys = [float(p[0]) for p in points], [float(p[1]) for p in points]
        if self.tilt:
            if y is None:
                _, y, cos, sin = self._levelled_centre((min(xs) + max(xs)) / 2,
                                                       (min(ys) + max(ys)) / 2)
            else:
                cos, sin = self._cos_sin(y)
            cx, cy = self._centre()
            offsets = [(px - cx, py - cy) for px, py in zip(xs, ys, strict=True)]
            xs = [cx + dx * cos + dy * sin for dx, dy in offsets]
            ys = [cy - dx * sin + dy * cos for dx, dy in offsets]
        return BBox(x0=min(xs), y0=min(ys), x1=max(xs), y1=max(ys))

    def scaled(self, f: float) -> PageFrame:
        """The same frame in units ``f`` times larger (work pixels → original pixels or points)."""
        a, b, c, d, e, g = self.matrix
        return PageFrame(width=self.width * f, height=self.height * f,
                         matrix=(a, b, c, d, e * f, g * f),
                         tilt=tuple(TiltBand(y=t.y * f, degrees=t.degrees) for t in self.tilt))

    def _centre(self) -> tuple[float, float]:
        w, h = self.page_size
        return w / 2, h / 2

    def _levelled_centre(self, x: float, y: float) -> tuple[float, float, float, float]:
        """Where page point (x, y) lands on the levelled page, and the cosine and sine of the
        tilt that took it there: the tilt read at the levelled height, a fixed point reached in
        two or three steps (band angles differ little)."""
        cx, cy = self._centre()
        dx, dy = x - cx, y - cy
        ly = y
        for _ in range(16):
            cos, sin = self._cos_sin(ly)
            lx, new = cx + dx * cos + dy * sin, cy - dx * sin + dy * cos
            if new == ly:
                break
            ly = new
        return lx, ly, cos, sin

    def _cos_sin(self, y: float) -> tuple[float, float]:
        """Cosine and sine of the tilt at height ``y``."""
        a = math.radians(_interp(y, [t.y for t in self.tilt], [t.degrees for t in self.tilt]))
        return math.cos(a), math.sin(a)


def _affine(box: BBox, m: Matrix) -> BBox:
    a, b, c, d, e, f = m
    corners = [(a * x + c * y + e, b * x + d * y + f)
               for x, y in ((box.x0, box.y0), (box.x1, box.y0), (box.x0, box.y1), (box.x1, box.y1))]
    return BBox(x0=min(p[0] for p in corners), y0=min(p[1] for p in corners),
                x1=max(p[0] for p in corners), y1=max(p[1] for p in corners))


def _inverse(m: Matrix) -> Matrix:
    a, b, c, d, e, f = m
    det = a * d - b * c
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    return ia, ib, ic, id_, -(ia * e + ic * f), -(ib * e + id_ * f)


def _interp(x: float, xp: list[float], fp: list[float]) -> float:
    """``numpy.interp(x, xp, fp)`` for increasing ``xp`` (the same arithmetic, so levelling and
    mapping back agree to the bit), without importing numpy into the document model."""
    if x <= xp[0]:
        return fp[0]
    if x >= xp[-1]:
        return fp[-1]
    j = next(i for i in range(len(xp) - 1) if xp[i] <= x < xp[i + 1])
    if x == xp[j]:
        return fp[j]
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    return slope * (x - xp[j]) + fp[j]
