"""Candidate values from a Document: key–value pairs, table cells, text lines and spatial pairs.

A :class:`Candidate` is a piece of text that might be a field's value, with the *label* that names
it (the key of a key–value pair, the column header and row head of a table cell, the text before a
colon, the line above, or a short label element to its left or above) and its *context* (the
heading of its section). Provenance travels with it: element id, page, box, confidence. Scoring
against fields is :mod:`pipeline.extract.extractive`'s job; tables as arrays of objects are read
there too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prunestack.cancel import checked
from prunestack.pipeline.document import BBox, Document, Element, ElementKind

_COLON = re.compile(r"^\s*(?P<label>[^:\n]{1,48}?)\s*[:：]\s*(?P<value>\S.*)$")
_LABELISH = re.compile(r"^[^\d@:]{1,40}:?$")
#: "Issued 07/07/2022", "Invoice No. IN-7", "Total 1,234.00 EUR": a label of one to three
#: letter-only words and, after it, a short value whose first token holds a digit (or is a month
#: name: "Issued May 18, 2024"). OCR often reads a label and its value as one line without the
#: colon a text layer would keep.
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+"
_INLINE_LABEL = re.compile(
    r"^\s*(?P<label>[^\W\d_][^\W\d_.#/&'’-]*[.#]?(?:\s+[^\W\d_][^\W\d_.#/&'’-]*[.#]?){0,2}?)"
    r"\s+(?P<value>(?:" + _MONTH + r")?\S*\d\S*(?:\s+\S+){0,3})\s*$", re.I)


@dataclass
class Candidate:
    text: str  # the raw value text
    label: str  # what names it ("" if nothing does)
    context: str  # section heading / neighbouring text
    element_id: str
    page: int
    bbox: BBox
    confidence: float
    origin: str  # kv | inline | table | line | block | pair | title
    lines: list[tuple[str, BBox]] | None = None  # blocks: each line with its box


def _line_boxes(e: Element, n: int) -> list[BBox]:
    """Split an element's box evenly into ``n`` line boxes (elements keep one box for all lines)."""
    h = e.bbox.height / max(1, n)
    return [BBox(x0=e.bbox.x0, y0=e.bbox.y0 + i * h, x1=e.bbox.x1, y1=e.bbox.y0 + (i + 1) * h)
            for i in range(n)]


def _is_label(text: str) -> bool:
    t = text.strip()
    return bool(t) and len(t.split()) <= 5 and bool(_LABELISH.match(t))


def table_header_row(rows: list[list[str]]) -> int:
    """Index of the header row: the first row whose cells are mostly non-numeric words."""
    for i, row in enumerate(rows[:3]):
        filled = [c for c in row if c.strip()]
        if len(filled) >= max(2, len(row) // 2) and all(not re.search(r"\d", c) for c in filled):
            return i
    return 0


def from_document(doc: Document) -> list[Candidate]:
    out: list[Candidate] = []
    section = ""
    elements = doc.elements()
    for e in checked(elements, "candidates", 256):
        if e.kind in (ElementKind.TITLE, ElementKind.HEADING):
            section = e.text.strip()
            out.append(Candidate(e.text.strip(), "", "document title" if e.kind ==
                                 ElementKind.TITLE else "heading", e.id, e.page, e.bbox,
                                 e.confidence, "title"))
            continue
        if e.kind == ElementKind.KEY_VALUE and e.key is not None and e.value is not None:
            out.append(Candidate(e.value, e.key.strip().rstrip(":"), section, e.id, e.page,
                                 e.value_bbox or e.bbox, e.confidence, "kv",
                                 [(e.value, e.value_bbox or e.bbox)]))
            # values inside the key ("Tax (19%)") stay findable through the whole line
            if re.search(r"\d", e.key):
                out.append(Candidate(e.text, "", section, e.id, e.page, e.bbox, e.confidence,
                                     "line"))
            continue
        if e.kind == ElementKind.TABLE and e.cells:
            out.extend(_table_candidates(e, section))
            out.extend(_column_blocks(e, elements, section))
            continue
        out.extend(_text_candidates(e, section))
    out.extend(_spatial_pairs(elements))
    return out


def _table_candidates(e: Element, section: str) -> list[Candidate]:
    rows = e.table_rows()
    head = table_header_row(rows)
    if head == 0 and rows and any(re.search(r"\d", t) for t in rows[0]):
        head = -1  # no header row: a grid of labels and values ("Invoice No. | IN-7")
    by_pos = {(c.row, c.col): c for c in e.cells or []}
    out = []
    for c in e.cells or []:
        if c.row <= head or not c.text.strip():
            continue
        col_head = rows[head][c.col] if 0 <= head < len(rows) and c.col < len(rows[head]) \
            else ""
        left = [rows[c.row][j] for j in range(c.col) if rows[c.row][j].strip()]
        label = " ".join([*left[-1:], col_head]).strip() if left else col_head
        box = c.bbox or e.bbox
        out.append(Candidate(c.text, label, section, e.id, e.page, box, e.confidence, "table"))
        if (c.row, c.col + 1) in by_pos and _is_label(c.text):
            nxt = by_pos[(c.row, c.col + 1)]
            out.append(Candidate(nxt.text, c.text.strip().rstrip(":"), section, e.id, e.page,
                                 nxt.bbox or e.bbox, e.confidence, "table"))
    return out


_PARTY = (r"from|bill(?:ed)?\s+to|ship(?:ped)?\s+to|sold\s+to|invoice\s+to|deliver\s+to|customer|"
          r"client|buyer|seller|vendor|supplier|remit\s+to")
_PARTY_PREFIX = re.compile(rf"^\s*(?P<label>{_PARTY})\s*:?\s+(?P<rest>\S.*)$", re.I | re.S)
#: A party heading alone on its line ("From", "Bill to:").
_PARTY_LABEL = re.compile(rf"^\s*(?:{_PARTY})\s*:?\s*$", re.I)


def _text_candidates(e: Element, section: str) -> list[Candidate]:
    lines = [ln for ln in e.text.splitlines() if ln.strip()]
    if not lines:
        return []
    boxes = _line_boxes(e, len(lines))
    ctx = "page footer" if e.kind == ElementKind.FOOTER else \
        "page header" if e.kind == ElementKind.HEADER else section
    out = []
    m = _PARTY_PREFIX.match(e.text)
    if m:  # "Billed to Noah Okafor 135 Elm Avenue ..." (OCR often glues the label on)
        rest = m["rest"].strip()
        out.append(Candidate(rest, m["label"], ctx, e.id, e.page, e.bbox, e.confidence, "block",
                             [(ln.strip(), b) for ln, b in zip(rest.splitlines(), boxes[-len(
                                 rest.splitlines()):], strict=False)] or [(rest, e.bbox)]))
    prev = ""
    for ln, box in zip(lines, boxes, strict=True):
        m = _COLON.match(ln)
        if m:
            out.append(Candidate(m["value"], m["label"], ctx, e.id, e.page, box, e.confidence,
                                 "line"))
        else:
            m = _INLINE_LABEL.match(ln)
            if m and e.kind != ElementKind.PAGE_NUMBER and not _PARTY_PREFIX.match(ln):
                out.append(Candidate(m["value"].strip(), m["label"].strip(), ctx, e.id, e.page,
                                     box, e.confidence, "inline"))
        out.append(Candidate(ln.strip(), prev.strip().rstrip(":") if _is_label(prev) else "",
                             ctx, e.id, e.page, box, e.confidence, "line"))
        prev = ln
    if len(lines) == 1:
        out.append(Candidate(lines[0].strip(), "", ctx, e.id, e.page, e.bbox, e.confidence,
                             "block", [(lines[0].strip(), e.bbox)]))
    else:
        first = lines[0].strip()
        pairs = [(ln.strip(), b) for ln, b in zip(lines, boxes, strict=True)]
        if _is_label(first):
            body = "\n".join(lines[1:])
            out.append(Candidate(body, first.rstrip(":"), ctx, e.id, e.page,
                                 BBox.enclosing(boxes[1:]), e.confidence, "block", pairs[1:]))
            out.append(Candidate(lines[1].strip(), first.rstrip(":"), ctx, e.id, e.page,
                                 boxes[1], e.confidence, "block_head"))
        out.append(Candidate("\n".join(lines), "", ctx, e.id, e.page, e.bbox, e.confidence,
                             "block", pairs))
    return out


def _spatial_pairs(elements: list[Element]) -> list[Candidate]:
    """Short label elements paired with the nearest element right of them or just below."""
    out = []
    for lab in checked(elements, "label pairs"):  # each label looks at every element
        if lab.kind in (ElementKind.TABLE, ElementKind.KEY_VALUE, ElementKind.TITLE) or \
                not _is_label(lab.text):
            continue
        best: tuple[float, Element] | None = None
        for e in elements:
            if e is lab or e.page != lab.page or e.kind == ElementKind.TABLE or \
                    not e.text.strip() or lab.bbox.height > 1.6 * max(1.0, e.bbox.height):
                continue  # a label is not much taller than its value (titles are not labels)
            same_row = abs(e.bbox.cy - lab.bbox.cy) < max(lab.bbox.height, 1) * 0.6 \
                and e.bbox.x0 >= lab.bbox.x1 - 1
            gap = e.bbox.y0 - lab.bbox.y1  # OCR boxes of adjacent lines may overlap a little
            below = -0.3 * lab.bbox.height <= gap < max(lab.bbox.height, 1) * 1.8 \
                and abs(e.bbox.x0 - lab.bbox.x0) < max(lab.bbox.width, 20)
            if not (same_row or below):
                continue
            dist = (e.bbox.x0 - lab.bbox.x1) if same_row else 2 * (e.bbox.y0 - lab.bbox.y1)
            if best is None or dist < best[0]:
                best = (dist, e)
        if best is not None:
            e = best[1]
            lines = [ln.strip() for ln in e.text.splitlines() if ln.strip()]
            pairs = list(zip(lines, _line_boxes(e, len(lines)), strict=True))
            more = _block_below(e, elements) if _PARTY_LABEL.match(lab.text) and \
                len(lines) == 1 else None
            if more is not None:  # "Bill to" / name (a heading on OCR) / the address below it
                rest = [ln.strip() for ln in more.text.splitlines() if ln.strip()]
                pairs += list(zip(rest, _line_boxes(more, len(rest)), strict=True))
            out.append(Candidate("\n".join(t for t, _ in pairs), lab.text.strip().rstrip(":"),
                                 "", e.id, e.page, BBox.enclosing([b for _, b in pairs]),
                                 min(e.confidence, lab.confidence), "pair", pairs))
    return out


def _block_below(e: Element, elements: list[Element]) -> Element | None:
    """A text element starting right under the one-line element ``e`` (same left edge within two
    line heights, top within one line height of ``e``'s bottom; OCR boxes may overlap): the rest
    of a party block whose first line (the name) the layout read as a heading of its own."""
    h = max(1.0, e.bbox.height)
    below = [o for o in elements if o is not e and o.page == e.page
             and o.kind in (ElementKind.TEXT, ElementKind.HEADING) and o.text.strip()
             and -0.5 * h <= o.bbox.y0 - e.bbox.y1 <= h and abs(o.bbox.x0 - e.bbox.x0) <= 2 * h]
    return min(below, key=lambda o: o.bbox.y0, default=None)


def _column_blocks(t: Element, elements: list[Element], section: str) -> list[Candidate]:
    """Narrow tables whose columns are text blocks ("From | Bill to" with an address line per
    row) as one block per column; a line just below the table inside a column's span joins it.
    In any table, a party label ("From", "Bill to") inside a column starts a block of the cells
    below it (an address beside a field grid read into one table)."""
    rows = t.table_rows()
    if not rows or len(rows) < 3:
        return []
    cells = {(c.row, c.col): c for c in t.cells or []}
    out = []
    for col in range(len(rows[0])):
        body = [(rows[r][col], cells.get((r, col))) for r in range(1, len(rows))
                if col < len(rows[r]) and rows[r][col].strip()]
        if not body:
            continue
        lines = [(txt.strip(), c.bbox if c is not None and c.bbox else t.bbox) for txt, c in body]
        x0 = min(b.x0 for _, b in lines)
        x1 = max(b.x1 for _, b in lines)
        line_h = max(1.0, max(b.height for _, b in lines))
        for e in elements:
            if e.page == t.page and e.kind == ElementKind.TEXT and \
                    -0.5 * line_h <= e.bbox.y0 - t.bbox.y1 < 1.5 * line_h and \
                    x0 - 2 <= e.bbox.x0 <= x1:  # OCR boxes of adjacent lines may overlap
                lines.append((e.text.strip(), e.bbox))
        label = rows[0][col].strip()
        k = next((i for i, (txt, _) in enumerate(lines[:-1]) if _PARTY_LABEL.match(txt)), None)
        if k is None and len(rows[0]) > 3:
            continue  # a wide table's columns are fields, unless a party label heads a block
        if k is not None:
            # "From" inside the column (the rows above were something else: a field grid's
            # values): it names the block below it and is not its first line
            label, lines = lines[k][0].rstrip(":"), lines[k + 1:]
        out.append(Candidate("\n".join(txt for txt, _ in lines), label, section,
                             t.id, t.page, BBox.enclosing([b for _, b in lines]), t.confidence,
                             "block", lines))
    return out
