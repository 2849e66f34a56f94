"""Line numbers in a page margin: a column of increasing integers beside the text lines.

Legal forms, pleading paper and numbered review copies of papers number their lines in a margin.
Each number sits on a text line's baseline, so the text layer builds it into that line, and a
line that runs close to the margin swallows it into its last segment ("... owing, due and 31"
before "payable; ..." on the next line). ``split_line_numbers`` finds such a column on a page
and cuts its numbers off into segments of their own with the ``sidebar`` role, so the layout
step keeps them out of the text as page furniture.

A column of line numbers: at least ``MIN_NUMBERS`` bare integers (1–4 digits), each the first or
the last word of its segment, wholly in the left or right ``MARGIN`` of the page, aligned on one
edge (right edges within ``ALIGN`` points for the right margin, left edges for the left one),
counting up by one from top to bottom at ≥ ``IN_ORDER`` of their steps (the page numbers of a
table of contents in a margin jump), and outside the text: at most ``CROSSING`` of the page's
other words reach past the middle of the numbers towards the page edge (the item numbers of an
invoice or a numbered list start where the text above and below them starts). Nothing else in
the margin is judged here (``parsers.layout`` marks small margin text as sidebar by its own
rule).
"""

from __future__ import annotations

from itertools import pairwise
from statistics import median

from prunestack.parsers.segments import Seg, seg_from_words
from prunestack.pipeline.document import ElementKind

MIN_NUMBERS = 8
MARGIN = 0.12  # share of the page width on each side
ALIGN = 2.0  # points
IN_ORDER = 0.8
CROSSING = 0.02
_MAX_DIGITS = 4


def _candidates(segs: list[Seg], width: float) -> list[tuple[Seg, int, str]]:
    """(segment, index of the word in it, side) for bare integers in a margin that begin or end
    their segment."""
    out: list[tuple[Seg, int, str]] = []
    for s in segs:
        for i in {0, len(s.words) - 1}:
            w = s.words[i]
            if not (w.text.isdigit() and len(w.text) <= _MAX_DIGITS):
                continue
            if w.bbox.x0 >= (1 - MARGIN) * width:
                out.append((s, i, "right"))
            elif w.bbox.x1 <= MARGIN * width:
                out.append((s, i, "left"))
    return out


def _column(cands: list[tuple[Seg, int, str]], side: str) -> list[tuple[Seg, int, str]]:
    """The largest group of ``side`` candidates aligned on their outer edge, if it counts as a
    column of line numbers."""
    mine = [c for c in cands if c[2] == side]

    def edge(c: tuple[Seg, int, str]) -> float:
        box = c[0].words[c[1]].bbox
        return box.x1 if side == "right" else box.x0

    best: list[tuple[Seg, int, str]] = []
    for ref in mine:
        group = [c for c in mine if abs(edge(c) - edge(ref)) <= ALIGN]
        if len(group) > len(best):
            best = group
    if len(best) < MIN_NUMBERS:
        return []
    best.sort(key=lambda c: c[0].words[c[1]].bbox.y0)
    values = [int(c[0].words[c[1]].text) for c in best]
    steps = sum(b == a + 1 for a, b in pairwise(values))
    return best if steps >= IN_ORDER * (len(values) - 1) else []


def _outside(col: list[tuple[Seg, int, str]], segs: list[Seg], side: str) -> bool:
    """At most ``CROSSING`` of the page's other words reach past the column's middle."""
    if not col:
        return False
    mine = {(id(s), i) for s, i, _ in col}
    boxes = [s.words[i].bbox for s, i, _ in col]
    others = [w.bbox for s in segs for j, w in enumerate(s.words) if (id(s), j) not in mine]
    if side == "right":
        mid = min(b.x1 for b in boxes) - 0.5 * median(b.width for b in boxes)
        crossing = sum(b.x1 > mid for b in others)
    else:
        mid = max(b.x0 for b in boxes) + 0.5 * median(b.width for b in boxes)
        crossing = sum(b.x0 < mid for b in others)
    return crossing <= CROSSING * len(others)


def split_line_numbers(segs: list[Seg], width: float) -> list[Seg]:
    """``segs`` with the page's margin line numbers (see module doc) cut off into segments of
    their own, marked ``sidebar``; unchanged when the page has no such column."""
    cands = _candidates(segs, width)
    found: list[tuple[Seg, int, str]] = []
    for side in ("right", "left"):
        col = _column(cands, side)
        if _outside(col, segs, side):
            found += col
    if not found:
        return segs
    cut: dict[int, set[int]] = {}
    for s, i, _ in found:
        cut.setdefault(id(s), set()).add(i)
    out: list[Seg] = []
    for s in segs:
        idx = cut.get(id(s))
        if idx is None:
            out.append(s)
            continue
        rest = [w for i, w in enumerate(s.words) if i not in idx]
        if rest:
            out.append(seg_from_words(rest, s.confidence))
        for i in sorted(idx):
            number = seg_from_words([s.words[i]], s.confidence)
            number.role = ElementKind.SIDEBAR.value
            out.append(number)
    return out
