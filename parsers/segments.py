"""Line segments: the unit the layout step works on, and the small geometry helpers it shares.

A text line from the PDF text layer or an OCR backend may run across a column gutter or across
table cells. ``split_line`` cuts it at horizontal gaps wider than a fraction of the font size (on an
OCR line, also wider than 1.6 characters), so every ``Seg`` is a run of words that belongs to one
column, one cell or one label/value. ``rows`` groups segments whose vertical extents overlap into
visual rows. Nothing here classifies content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from statistics import median

from prunestack.parsers.primitives import Line, Word
from prunestack.pipeline.document import BBox

#: A gap between two words wider than this many font sizes splits a line into two segments.
SPLIT_GAP_EM = 0.8
#: On an OCR line (no font size) the gap must also be wider than this many character pitches
#: (the line's median word width per character): between the character cells of a monospace
#: receipt a word gap is a whole cell or more, up to 0.7 of the line's box height, so
#: ``SPLIT_GAP_EM`` alone cut "UNIHAKKA INTERNATIONAL | SDN BHD".
SPLIT_GAP_PITCH = 1.6


@dataclass
class Seg:
    """A run of words on one baseline: part (or all) of a ``Line``."""

    words: list[Word]
    bbox: BBox
    confidence: float
    font_size: float | None  # points, from the PDF; None from OCR
    bold: bool | None
    idx: int = 0  # position in the page's segment list (stable tie-breaker)
    role: str = field(default="")  # set by the classifiers: "table", "kv", "furniture", ...
    big: bool = False  # heading-sized (set by the layout step)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def size(self) -> float:
        """Font size, or for OCR (no font facts) the box height, which tracks it."""
        return self.font_size if self.font_size else self.bbox.height

    @property
    def n_words(self) -> int:
        return len(self.words)

    @property
    def order(self) -> int | None:
        """The earliest drawing-order position of its words (None without one: OCR)."""
        found = [w.order for w in self.words if w.order is not None]
        return min(found) if found else None


def seg_from_words(words: list[Word], line_conf: float) -> Seg:
    """A segment of ``words`` (one baseline, left to right); its confidence is at most the
    line's."""
    sizes = [w.font_size for w in words if w.font_size]
    flags = [w.bold for w in words if w.bold is not None]
    confs = [w.confidence for w in words]
    return Seg(
        words=words,
        bbox=BBox.enclosing([w.bbox for w in words]),
        confidence=min([*confs, line_conf]),
        font_size=max(sizes) if sizes else None,
        bold=all(flags) if flags else None,
    )


def split_line(line: Line) -> list[Seg]:
    """Cut ``line`` at word gaps wider than ``SPLIT_GAP_EM`` font sizes (columns, cells); on an
    OCR line also wider than ``SPLIT_GAP_PITCH`` character pitches."""
    words = sorted((w for w in line.words if w.text.strip()), key=lambda w: w.bbox.x0)
    if not words:
        return []
    size = line.font_size or line.bbox.height * 0.85 or 10.0
    gap = SPLIT_GAP_EM * size
    if not line.font_size:
        gap = max(gap, SPLIT_GAP_PITCH * median(w.bbox.width / len(w.text) for w in words))
    out: list[list[Word]] = [[words[0]]]
    for prev, w in pairwise(words):
        if w.bbox.x0 - prev.bbox.x1 > gap:
            out.append([w])
        else:
            out[-1].append(w)
    return [seg_from_words(ws, line.confidence) for ws in out]


def y_overlap(a: BBox, b: BBox) -> float:
    """Vertical overlap of two boxes as a share of the shorter one's height (0..1)."""
    inter = min(a.y1, b.y1) - max(a.y0, b.y0)
    h = min(a.height, b.height)
    if h <= 0:
        return 1.0 if inter >= 0 else 0.0
    return max(0.0, inter) / h


def x_overlap(a: BBox, b: BBox) -> float:
    """Horizontal overlap as a share of the narrower box's width (0..1)."""
    inter = min(a.x1, b.x1) - max(a.x0, b.x0)
    w = min(a.width, b.width)
    if w <= 0:
        return 1.0 if inter >= 0 else 0.0
    return max(0.0, inter) / w


def rows(segs: list[Seg]) -> list[list[Seg]]:
    """Group segments into visual rows (vertical overlap ≥ 50%), top to bottom, left to right."""
    out: list[list[Seg]] = []
    boxes: list[BBox] = []
    for s in sorted(segs, key=lambda s: (s.bbox.cy, s.bbox.x0)):
        if out and y_overlap(boxes[-1], s.bbox) >= 0.5:
            out[-1].append(s)
            boxes[-1] = boxes[-1].union(s.bbox)
        else:
            out.append([s])
            boxes.append(s.bbox)
    return [sorted(r, key=lambda s: s.bbox.x0) for r in out]


def body_size(segs: list[Seg]) -> float:
    """The body text size: the size (rounded to 0.5) covering the most characters."""
    weight: dict[float, int] = {}
    for s in segs:
        key = round(s.size * 2) / 2
        weight[key] = weight.get(key, 0) + len(s.text)
    if not weight:
        return 10.0
    return max(weight.items(), key=lambda kv: (kv[1], -kv[0]))[0]


def median_height(segs: list[Seg]) -> float:
    hs = [s.bbox.height for s in segs if s.bbox.height > 0]
    return median(hs) if hs else 10.0
