"""Group positioned words into lines: the shared last step of the PDF text layer and OCR backends.

``group_lines(words, baselines)`` clusters words whose baselines agree (PDF: exact baselines from
the text layer) or, without baselines (OCR), whose vertical extents overlap by most of the smaller
height, then orders each line left to right. With ``in_order=True`` (the PDF text layer: words in
the order the content stream draws them) words are first chained into runs: a word that follows
the previous one to its right, close by and on about the same line (baselines within
``RUN_BASELINE_EM``) continues its run, and runs, not words, are clustered by their median
baseline. A line of a tilted scan's OCR layer drifts across several baselines; clustered word by
word it fell apart into one-word lines in scrambled order. ``line_from_box(text, box)`` makes a
line from a text known only with its line box (words spread over it by their characters). A
line may run across a column gutter or table cells; cutting it there is the layout step's job
(``parsers.layout``). Nothing here reads files.
"""

from __future__ import annotations

from dataclasses import dataclass

from prunestack.parsers.primitives import Line, Word
from prunestack.pipeline.document import BBox

#: Words share a line when their baselines differ by less than this many font sizes (heights).
BASELINE_TOL_EM = 0.25
#: Without baselines: vertical overlap needed, as a share of the smaller word height.
MIN_V_OVERLAP = 0.5
#: ``in_order``: the next word in drawing order continues a run when its baseline is within this
#: many font sizes of the previous word's and its gap to it is at most ``RUN_GAP_EM`` (and not
#: backwards by more than ``RUN_BACK_EM``: overlapping glyphs of a tight or bold font).
RUN_BASELINE_EM = 0.45
RUN_GAP_EM = 2.0
RUN_BACK_EM = 0.3


@dataclass
class _Row:
    words: list[Word]
    base: float  # baseline (PDF) or vertical centre (OCR)
    y0: float
    y1: float
    size: float


def _size(w: Word) -> float:
    return w.font_size if w.font_size else max(w.bbox.height, 1e-6)


def _runs(words: list[Word], baselines: list[float]) -> list[list[int]]:
    """Word indices chained into runs in the given (drawing) order (see the module doc)."""
    runs: list[list[int]] = []
    for i, w in enumerate(words):
        if runs:
            p = words[runs[-1][-1]]
            em = min(_size(p), _size(w))
            gap = w.bbox.x0 - p.bbox.x1
            if (abs(baselines[i] - baselines[runs[-1][-1]]) < RUN_BASELINE_EM * em
                    and -RUN_BACK_EM * em <= gap <= RUN_GAP_EM * em):
                runs[-1].append(i)
                continue
        runs.append([i])
    return runs


def run_lines(words: list[Word], baselines: list[float]) -> list[Line]:
    """Each run of ``words`` in drawing order (see the module doc) as one line, in that order:
    for a text layer whose drawing order is its reading order (a scan's OCR layer), where two
    runs on one baseline are two columns' lines, not one line."""
    if len(baselines) != len(words):
        raise ValueError("one baseline per word")
    out = []
    for r in _runs(words, baselines):
        ws = sorted((words[i] for i in r), key=lambda w: w.bbox.x0)
        out.append(Line(words=ws, bbox=BBox.enclosing([w.bbox for w in ws]),
                        confidence=min(w.confidence for w in ws)))
    return out


def group_lines(words: list[Word], baselines: list[float] | None = None, *,
                in_order: bool = False) -> list[Line]:
    """Lines of ``words`` top to bottom; each line's words left to right.

    ``baselines[i]`` is word i's baseline y (top-left origin); without them the vertical centre
    and box overlap decide. ``in_order``: the words come in drawing order and runs of them are
    kept together (needs ``baselines``; see the module doc).
    """
    if baselines is not None and len(baselines) != len(words):
        raise ValueError("one baseline per word")
    if in_order and baselines is not None:
        runs = _runs(words, baselines)
        merged = [Word(text=" ".join(words[i].text for i in r),  # a run as one unit to cluster
                       bbox=BBox.enclosing([words[i].bbox for i in r]),
                       font_size=sorted(_size(words[i]) for i in r)[len(r) // 2])
                  for r in runs]
        bases = [sorted(baselines[i] for i in r)[len(r) // 2] for r in runs]
        lines = group_lines(merged, bases)
        members = {id(m): r for m, r in zip(merged, runs, strict=True)}
        out = []
        for ln in lines:
            ws = sorted((words[i] for m in ln.words for i in members[id(m)]),
                        key=lambda w: w.bbox.x0)
            out.append(Line(words=ws, bbox=ln.bbox, confidence=min(w.confidence for w in ws)))
        return out
    order = sorted(range(len(words)), key=lambda i: (words[i].bbox.y0 + words[i].bbox.y1) / 2)
    rows: list[_Row] = []
    for i in order:
        w = words[i]
        base = baselines[i] if baselines is not None else w.bbox.cy
        best, best_d = None, float("inf")
        for row in rows[-8:]:  # rows are created top-down: only recent ones can match
            if baselines is not None:
                d = abs(row.base - base)
                ok = d < BASELINE_TOL_EM * min(row.size, _size(w))
            else:
                ov = min(row.y1, w.bbox.y1) - max(row.y0, w.bbox.y0)
                ok = ov >= MIN_V_OVERLAP * min(row.y1 - row.y0, w.bbox.height)
                d = abs(row.base - base)
            if ok and d < best_d:
                best, best_d = row, d
        if best is None:
            rows.append(_Row([w], base, w.bbox.y0, w.bbox.y1, _size(w)))
        else:
            best.words.append(w)
            best.y0, best.y1 = min(best.y0, w.bbox.y0), max(best.y1, w.bbox.y1)
            if baselines is None:
                best.base = (best.y0 + best.y1) / 2
    lines = []
    for row in rows:
        ws = sorted(row.words, key=lambda w: w.bbox.x0)
        conf = min(w.confidence for w in ws)
        lines.append(Line(words=ws, bbox=BBox.enclosing([w.bbox for w in ws]), confidence=conf))
    lines.sort(key=lambda ln: (ln.bbox.y0, ln.bbox.x0))
    return lines


def line_from_box(text: str, bbox: BBox, confidence: float = 1.0) -> Line:
    """A line of text known only with its box (a recogniser or an annotation that boxes lines,
    not words): its words placed across the box in proportion to their characters, one
    character width per space. Whitespace runs count as one space."""
    words = text.split()
    if not words:
        raise ValueError("a line needs text")
    n = len(" ".join(words))
    cw = bbox.width / n  # one character's width
    out, at = [], 0
    for w in words:
        out.append(Word(text=w, confidence=confidence,
                        bbox=BBox(x0=bbox.x0 + at * cw, y0=bbox.y0,
                                  x1=bbox.x0 + (at + len(w)) * cw, y1=bbox.y1)))
        at += len(w) + 1
    return Line(words=out, bbox=bbox, confidence=confidence)
