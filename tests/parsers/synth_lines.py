"""Synthetic ``PageLines`` for layout tests: words placed with a fixed-pitch font model.

A word of n characters at font size f is 0.5·n·f wide and f tall; words on a line are separated by
0.25·f (a normal space). ``ocr=True`` drops font facts, like OCR does.
"""

from __future__ import annotations

from prunestack.parsers.primitives import Line, PageLines, Word
from prunestack.pipeline.document import BBox, Source


def line(text: str, x: float, y: float, size: float = 10.0, *, bold: bool = False,
         ocr: bool = False, conf: float = 1.0) -> Line:
    words = []
    cx = x
    for w in text.split():
        width = 0.5 * len(w) * size
        words.append(Word(text=w, bbox=BBox(x0=cx, y0=y, x1=cx + width, y1=y + size),
                          confidence=conf, font_size=None if ocr else size,
                          bold=None if ocr else bold))
        cx += width + 0.25 * size
    return Line(words=words, bbox=BBox.enclosing([w.bbox for w in words]), confidence=conf)


def cells(texts: list[str], xs: list[float], y: float, size: float = 10.0, **kw) -> Line:
    """One line whose words sit at given x positions (table rows, label/value with gaps)."""
    parts = [line(t, x, y, size, **kw) for t, x in zip(texts, xs, strict=True) if t]
    words = [w for p in parts for w in p.words]
    return Line(words=words, bbox=BBox.enclosing([w.bbox for w in words]))


def page(lines: list[Line], number: int = 1, *, width: float = 612, height: float = 792,
         ocr: bool = False) -> PageLines:
    return PageLines(number=number, width=width, height=height, lines=lines,
                     source=Source.OCR if ocr else Source.PDF_TEXT,
                     ocr_backend="rapidocr" if ocr else None)


def paragraph(text: str, x: float, y: float, width_chars: int, size: float = 10.0,
              leading: float = 1.2, **kw) -> tuple[list[Line], float]:
    """Wrap ``text`` at ``width_chars`` characters; returns the lines and the y below them."""
    out, cur = [], ""
    for w in text.split():
        if cur and len(cur) + 1 + len(w) > width_chars:
            out.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    if cur:
        out.append(cur)
    lines = [line(t, x, y + i * size * leading, size, **kw) for i, t in enumerate(out)]
    return lines, y + len(out) * size * leading
