"""Layout aggregation (MoDora's local alignment): lines with boxes in, typed page elements out.

``aggregate(pages, source_name=..., mime_type=...)`` turns the ``PageLines`` of the PDF text layer
or of an OCR backend into a ``Document``. Per page, in this order:

1. lines are cut into segments at wide gaps (``parsers.segments``), and a margin column of
   line numbers into segments of their own (``parsers.margins``: sidebar furniture);
2. page furniture: page numbers in the top/bottom tenth, text repeated at the same place on at
   least half of the pages (≥ 2), small text (≤ 0.92 × body) in the top/bottom 6% band, small
   text wholly in the left/right 10% margin (sidebar); never a segment in a row of three or more (a
   table row), and a bare number not next to another number;
3. key–value pairs (``parsers.keyvalue``; heading-sized text takes no part), then tables
   (``parsers.tables``), then bold labels without a colon over plain values;
4. reading order: a column gutter is an x position that separates the items of at least two rows
   and that no item of those rows covers; items crossing it (titles, full-width blocks, tables),
   and headings directly over such an item, cut the flow, and between two cuts the left column
   is read before the right one; the
   same rule is applied again inside each column (three columns), otherwise rows top to bottom;
5. segments become paragraphs, headings and list items: a block continues while the next line is
   just below (gap ≤ the page's usual line gap + 0.4 body heights), overlaps it horizontally, has
   the same size (± 15%; ± 30% for OCR box heights), and the previous line is not a short
   sentence end;
6. headings: size ≥ 1.15 × the body size (for OCR, where the box height stands in for the size:
   a short line ≥ 1.25 × the body height, or ≥ 1.05 × with ≥ 1.3 × wider characters), or a bold
   short line that does not end like a sentence; levels rank the distinct heading
   sizes of the whole document (bold body-size headings last); the first level-1 heading in the
   top 40% of page 1 is the TITLE. Captions start with "Figure n", "Fig. n" or "Table n".

Element ids are ``p{page}-e{n}`` in reading order (header furniture first, then the body, then the
remaining furniture). Every element keeps its page, box, the minimum confidence of its segments and
the source of the page. Figures are not produced: ``PageLines`` carries no image boxes. A page
whose lines come in another frame (``PageLines.frame``: a levelled scan, sideways text read
upright) is laid out in that frame; only then are its boxes mapped onto the page
(``Page.placed``), so every box of the ``Document`` is on the page as given.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from statistics import median

from prunestack.parsers.keyvalue import KVPair, find_bold_label_pairs, find_pairs
from prunestack.parsers.margins import split_line_numbers
from prunestack.parsers.primitives import PageLines
from prunestack.parsers.segments import (
    Seg,
    body_size,
    median_height,
    rows,
    split_line,
    x_overlap,
    y_overlap,
)
from prunestack.parsers.tables import TableBlock, find_tables, has_leader
from prunestack.pipeline.document import (
    BBox,
    Document,
    Element,
    ElementKind,
    Page,
    Source,
    TextLine,
)

_PAGE_NO = re.compile(
    r"^(page\s*)?\d{1,4}(\s*(of|/)\s*\d{1,4})?$|^[-–—]\s*\d{1,4}\s*[-–—]$", re.IGNORECASE
)
_BULLET = re.compile(r"^([•·▪◦‣●○■□–—*-]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)]|\(?[ivxIVX]{1,4}[.)])\s+")
_CAPTION = re.compile(r"^(figure|fig\.|table|chart|image)\s*\d+", re.IGNORECASE)
_SENTENCE_END = (".", "!", "?", ":", ";")
HEADING_RATIO_FONT = 1.15
HEADING_RATIO_HEIGHT = 1.25
#: ``_drawn_across``: the share of steps of the drawing order that must go down the page (or
#: stay on the row) before it is trusted over a column gutter.
DRAWN_DOWN = 0.8
#: ``_drawn_local``: the share of steps of the drawing order that must go to a neighbouring item
#: before it is trusted where the geometry cannot separate columns.
DRAWN_LOCAL = 0.7


@dataclass
class _Item:
    """One unit of reading order: a segment, a table or a key–value pair."""

    bbox: BBox
    seg: Seg | None = None
    table: TableBlock | None = None
    kv: KVPair | None = None
    heading: bool = False  # heading-sized text: may start a new band (see ``_order``)

    @property
    def order(self) -> int | None:
        """Earliest drawing-order position of its segments (None: OCR, no drawing order)."""
        segs = ([self.seg] if self.seg is not None else
                self.table.segs if self.table is not None else self.kv.segs if self.kv else [])
        found = [o for o in (s.order for s in segs) if o is not None]
        return min(found) if found else None


@dataclass
class _Ctx:
    page: PageLines
    body: float  # body size (points, or box height for OCR)
    body_h: float  # median segment height
    line_gap: float  # usual gap between consecutive lines of a paragraph
    font_based: bool
    body_cw: float = 0.0  # median character width of long lines (OCR size cue)


# ----------------------------------------------------------------------------------- furniture


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\d+", "#", text.lower())).strip()


def _mark_furniture(pages: list[PageLines], segs: list[list[Seg]], body: float) -> None:
    """Set ``role`` to a furniture kind value on header/footer/page-number/sidebar segments."""
    n_pages = len(pages)
    seen: Counter[tuple[str, bool]] = Counter()
    if n_pages >= 2:
        for pl, ss in zip(pages, segs, strict=True):
            keys = {(_norm(s.text), s.bbox.cy < pl.height / 2) for s in ss if _in_band(s, pl, 0.15)}
            seen.update(keys)
    for pl, ss in zip(pages, segs, strict=True):
        h, w = pl.height or 1.0, pl.width or 1.0
        # Row mates: a segment in a row of 3+ segments is a table cell, never furniture; a bare
        # number is a page number only next to at most one non-numeric segment.
        mates = {id(s): r for r in rows([s for s in ss if _in_band(s, pl, 0.15)]) for s in r}
        for s in ss:
            if s.role:  # margin line numbers (``parsers.margins``)
                continue
            top = s.bbox.cy < h / 2
            small = s.size <= body * 0.92
            row = mates.get(id(s), [s])
            if len(row) >= 3:
                continue
            others = [o for o in row if o is not s]
            bare = s.text.strip().isdigit()
            if (
                _in_band(s, pl, 0.10)
                and _PAGE_NO.match(s.text.strip())
                and not (bare and any(o.text.strip()[:1].isdigit() for o in others))
            ):
                s.role = ElementKind.PAGE_NUMBER.value
            elif (
                n_pages >= 2
                and _in_band(s, pl, 0.15)
                and seen[(_norm(s.text), top)] >= max(2, (n_pages + 1) // 2)
            ) or (_in_band(s, pl, 0.06) and small):
                s.role = (ElementKind.HEADER if top else ElementKind.FOOTER).value
            elif (s.bbox.x1 < 0.10 * w or s.bbox.x0 > 0.90 * w) and s.size < body * 0.95:
                s.role = ElementKind.SIDEBAR.value


def _in_band(s: Seg, pl: PageLines, frac: float) -> bool:
    return s.bbox.cy < frac * pl.height or s.bbox.cy > (1 - frac) * pl.height


# --------------------------------------------------------------------------------- reading order


def _item_rows(items: list[_Item]) -> list[list[_Item]]:
    out: list[list[_Item]] = []
    boxes: list[BBox] = []
    for it in sorted(items, key=lambda i: (i.bbox.cy, i.bbox.x0)):
        if out and y_overlap(boxes[-1], it.bbox) >= 0.5:
            out[-1].append(it)
            boxes[-1] = boxes[-1].union(it.bbox)
        else:
            out.append([it])
            boxes.append(it.bbox)
    return [sorted(r, key=lambda i: i.bbox.x0) for r in out]


def _gutter(rws: list[list[_Item]]) -> float | None:
    """The x that separates the items of the most rows without any item of those rows covering
    it (None unless it separates at least two rows); within the band that stays free in all those
    rows, the position crossed by the fewest items of the region."""
    cands: set[float] = set()
    for r in rws:
        for a, b in pairwise(r):
            if b.bbox.x0 > a.bbox.x1:
                cands.add(round((a.bbox.x1 + b.bbox.x0) / 2, 1))
    best: float | None = None
    best_rows: list[list[_Item]] = [[]]  # beat one row: at least two rows must split
    for x in sorted(cands):
        split = [
            r for r in rws
            if not any(i.bbox.x0 < x < i.bbox.x1 for i in r)
            and any(i.bbox.x1 <= x for i in r) and any(i.bbox.x0 >= x for i in r)
        ]
        if len(split) > len(best_rows):
            best, best_rows = x, split
    if best is None:
        return None
    lo = max(max(i.bbox.x1 for i in r if i.bbox.x1 <= best) for r in best_rows)
    hi = min(min(i.bbox.x0 for i in r if i.bbox.x0 >= best) for r in best_rows)
    items = [i for r in rws for i in r]
    edges = sorted({lo, hi, *(e for i in items for e in (i.bbox.x0, i.bbox.x1) if lo < e < hi)})

    def crossings(x: float) -> int:
        return sum(1 for i in items if i.bbox.x0 < x < i.bbox.x1)

    spots = [((a + b) / 2, b - a) for a, b in pairwise(edges)] or [(best, 0.0)]
    return min(spots, key=lambda p: (crossings(p[0]), -p[1]))[0]


def _opens_full_width(seq: list[_Item], k: int, x: float) -> bool:
    """True when the item right under ``seq[k]`` (a heading) crosses the gutter ``x`` and no item
    between them lies on the other side: the heading belongs to full-width content below it
    (a table under "Items"), not to its column."""
    left = seq[k].bbox.cx < x
    for it in seq[k + 1 :]:
        if it.bbox.x0 < x < it.bbox.x1:
            return True
        if (it.bbox.cx < x) != left:
            return False
        if it.bbox.y0 > seq[k].bbox.y1:  # the first item below it on its own side
            return False
    return False


def _drawn_across(items: list[_Item], x: float) -> bool:
    """True when the PDF's drawing order reads across the gutter ``x`` row by row (a form, an
    invoice, a grid of labels and values) instead of down one side and then the other: in
    drawing order the items switch sides more often than columns allow (once per band; an item
    crossing the gutter adds a band) and at least as often as the smaller side has items, while
    going down the page (at least ``DRAWN_DOWN`` of the steps: a scrambled order is no guide).
    Without a drawing order (OCR) it is False: the geometry decides alone."""
    if any(it.order is None for it in items) or len(items) < 4:
        return False
    drawn = sorted(items, key=lambda it: it.order or 0)
    sides = [0 if it.bbox.x1 <= x else 2 if it.bbox.x0 >= x else 1 for it in drawn]
    switches = sum(1 for a, b in pairwise(sides) if a != b)
    n_left, n_right, n_cross = sides.count(0), sides.count(2), sides.count(1)
    if switches <= max(2 + 2 * n_cross, min(n_left, n_right)):
        return False
    down = sum(1 for a, b in pairwise(drawn) if b.bbox.y0 >= a.bbox.y0 - 0.5 * a.bbox.height)
    return down >= DRAWN_DOWN * (len(drawn) - 1)


def _next_to(a: _Item, b: _Item) -> bool:
    """``b`` reads on from ``a``: on its row to its right, or just under it, overlapping it."""
    if y_overlap(a.bbox, b.bbox) >= 0.5 and b.bbox.x0 >= a.bbox.cx:
        return True
    h = max(a.bbox.height, b.bbox.height, 1e-6)
    return 0 <= b.bbox.y0 - a.bbox.y1 + 0.3 * h <= 2.5 * h and x_overlap(a.bbox, b.bbox) > 0


def _drawn_local(items: list[_Item]) -> bool:
    """Whether the drawing order reads like a reader: at least ``DRAWN_LOCAL`` of its steps go
    to the item next to the previous one (``_next_to``). A scrambled order, or one drawn by
    style (all headings, then all body text), jumps around. False without a drawing order."""
    if len(items) < 4 or any(it.order is None for it in items):
        return False
    drawn = sorted(items, key=lambda it: it.order or 0)
    return sum(map(_next_to, drawn, drawn[1:])) >= DRAWN_LOCAL * (len(drawn) - 1)


def _order(items: list[_Item], depth: int = 0) -> list[_Item]:
    if len(items) <= 1:
        return list(items)
    rws = _item_rows(items)
    x = _gutter(rws) if depth < 8 else None
    if x is None:
        if any(len(r) > 1 for r in rws) and _drawn_local(items):
            # side-by-side items without a clean gutter (a pull quote between two columns,
            # text wrapped around a box): the geometry cannot tell rows from columns
            return sorted(items, key=lambda it: it.order or 0)
        return [i for r in rws for i in r]
    if _drawn_across(items, x) or _drawn_local(items):
        # the drawing order reads like a reader, or reads the gutter row by row: keep it
        return sorted(items, key=lambda it: it.order or 0)
    out: list[_Item] = []
    left: list[_Item] = []
    right: list[_Item] = []
    seq = sorted(items, key=lambda i: (i.bbox.y0, i.bbox.x0))
    for k, it in enumerate(seq):
        if it.bbox.x0 < x < it.bbox.x1 or (it.heading and _opens_full_width(seq, k, x)):
            # Spans the gutter, or is a heading over full-width content: closes the columns
            # above it.
            out += _order(left, depth + 1) + _order(right, depth + 1) + [it]
            left, right = [], []
        elif it.bbox.cx < x:
            left.append(it)
        else:
            right.append(it)
    return out + _order(left, depth + 1) + _order(right, depth + 1)


# ------------------------------------------------------------------------------ blocks of lines


def _char_w(s: Seg) -> float:
    return s.bbox.width / max(1, len(s.text.replace(" ", "")))


def _is_big(s: Seg, ctx: _Ctx) -> bool:
    """Heading-sized: font ≥ 1.15 × body; for OCR (box heights are noisy: descenders) a short
    line ≥ 1.25 × the body height, or ≥ 1.05 × with characters ≥ 1.3 × the body's width."""
    if not re.search(r"[^\W\d_]", s.text) or s.n_words > 16:
        return False
    if ctx.font_based:
        return s.size >= HEADING_RATIO_FONT * ctx.body
    if s.n_words > 8:
        return False
    return s.size >= HEADING_RATIO_HEIGHT * ctx.body or (
        s.size >= 1.05 * ctx.body and ctx.body_cw > 0 and _char_w(s) >= 1.3 * ctx.body_cw
    )


def _is_heading(s: Seg, ctx: _Ctx) -> bool:
    text = s.text.strip()
    if not re.search(r"[^\W\d_]", text) or s.n_words > 16:
        return False
    if _is_big(s, ctx):
        return True
    return bool(s.bold) and s.n_words <= 12 and not text.endswith((*_SENTENCE_END, ","))


def _line_kind(s: Seg, ctx: _Ctx) -> ElementKind:
    if _is_heading(s, ctx):
        return ElementKind.HEADING
    if _BULLET.match(s.text.strip()):
        return ElementKind.LIST_ITEM
    return ElementKind.TEXT


def _continues(block: list[Seg], kind: ElementKind, s: Seg, s_kind: ElementKind, ctx: _Ctx) -> bool:
    last = block[-1]
    gap = s.bbox.y0 - last.bbox.y1
    if gap < -0.3 * ctx.body_h or gap > ctx.line_gap + 0.4 * ctx.body_h:
        return False
    bx0, bx1 = min(b.bbox.x0 for b in block), max(b.bbox.x1 for b in block)
    inter = min(bx1, s.bbox.x1) - max(bx0, s.bbox.x0)
    if inter <= 0.1 * max(1e-6, min(bx1 - bx0, s.bbox.width)):  # no horizontal overlap
        return False
    size_tol = 0.15 if ctx.font_based else 0.3  # OCR box heights wobble (descenders, tilt)
    if abs(s.size - last.size) > size_tol * max(s.size, last.size):
        return False
    if kind == ElementKind.HEADING:
        return s_kind == ElementKind.HEADING
    if s_kind != ElementKind.TEXT:
        return False
    if kind == ElementKind.LIST_ITEM:
        return s.bbox.x0 >= block[0].bbox.x0 + 0.5 * ctx.body_h
    if has_leader(last.text):  # an index or contents entry ends at its leader and number
        return False
    width = bx1 - bx0
    short_end = last.text.rstrip().endswith(_SENTENCE_END[:3]) and last.bbox.width < 0.8 * width
    return not short_end


def _line_gap(segs: list[Seg]) -> float:
    """The usual vertical gap between a line and the next line under it."""
    gaps = []
    ordered = sorted(segs, key=lambda s: s.bbox.y0)
    for i, s in enumerate(ordered):
        for t in ordered[i + 1 :]:
            if t.bbox.y0 >= s.bbox.y1 - 0.3 * s.bbox.height and x_overlap(s.bbox, t.bbox) > 0.5:
                gaps.append(max(0.0, t.bbox.y0 - s.bbox.y1))
                break
    return median(gaps) if gaps else 0.3 * median_height(segs)


# ----------------------------------------------------------------------------------- assembling


def _element_from_block(block: list[Seg], kind: ElementKind, ctx: _Ctx, eid: str) -> Element:
    text = " ".join(s.text.strip() for s in block)
    if kind == ElementKind.TEXT and _CAPTION.match(text):
        kind = ElementKind.CAPTION
    sizes = [s.font_size for s in block if s.font_size]
    bolds = [s.bold for s in block if s.bold is not None]
    return Element(
        id=eid,
        kind=kind,
        text=text,
        page=ctx.page.number,
        bbox=BBox.enclosing([s.bbox for s in block]),
        confidence=min(s.confidence for s in block),
        source=ctx.page.source,
        font_size=max(sizes) if sizes else None,
        bold=all(bolds) if bolds else None,
        lines=[TextLine(text=s.text.strip(), bbox=s.bbox) for s in block] if len(block) > 1
        else None,
        # Provisional level carrier for headings: the size; replaced by the rank later.
        level=None,
    )


def _page_elements(pl: PageLines, segs: list[Seg], body: float, font_based: bool,
                   body_cw: float) -> list[Element]:
    ctx = _Ctx(pl, body, median_height(segs), _line_gap([s for s in segs if not s.role]),
               font_based, body_cw)
    big = [s for s in segs if not s.role and _is_big(s, ctx)]
    big_ids = {id(s) for s in big}
    for s in big:
        s.big = True
    for s in big:  # headings take no part in key-value pairs
        s.role = "big"
    pairs = find_pairs(segs, max_value_width=0.5 * (pl.width or 1.0))
    for s in big:
        s.role = ""
    tables, grid_pairs = find_tables(segs, page_width=pl.width or 1.0)
    for s in big:
        s.role = s.role or "big"
    pairs += find_bold_label_pairs(segs, max_value_width=0.5 * (pl.width or 1.0))
    for s in big:
        s.role = "" if s.role == "big" else s.role
    furniture = [s for s in segs if s.role and s.role not in ("kv", "table")]
    items = [_Item(bbox=s.bbox, seg=s, heading=id(s) in big_ids)
             for s in segs if not s.role]
    items += [_Item(bbox=t.bbox, table=t) for t in tables]
    items += [_Item(bbox=p.bbox, kv=p) for p in [*pairs, *grid_pairs]]

    out: list[Element] = []

    def eid() -> str:
        return f"p{pl.number}-e{len(out) + 1}"

    top = sorted((s for s in furniture if s.bbox.cy < pl.height / 2 and s.role != "sidebar"),
                 key=lambda s: (s.bbox.y0, s.bbox.x0))
    rest = sorted((s for s in furniture if s not in top), key=lambda s: (s.bbox.y0, s.bbox.x0))
    for s in top:
        out.append(_element_from_block([s], ElementKind(s.role), ctx, eid()))

    block: list[Seg] = []
    block_kind = ElementKind.TEXT

    def flush() -> None:
        nonlocal block
        if block:
            out.append(_element_from_block(block, block_kind, ctx, eid()))
            block = []

    ordered = (sorted(items, key=lambda it: (it.order is None, it.order or 0)) if pl.drawn_order
               else _order(items))
    for it in ordered:
        if it.seg is not None:
            kind = _line_kind(it.seg, ctx)
            if block and _continues(block, block_kind, it.seg, kind, ctx):
                block.append(it.seg)
                continue
            flush()
            block, block_kind = [it.seg], kind
            continue
        flush()
        if it.table is not None:
            t = it.table
            rows = [[c.text for c in t.cells if c.row == r] for r in range(t.n_rows)]
            out.append(Element(
                id=eid(), kind=ElementKind.TABLE, text="\n".join(" | ".join(r) for r in rows),
                page=pl.number, bbox=t.bbox, confidence=t.confidence, source=pl.source,
                cells=t.cells,
            ))
        elif it.kv is not None:
            p = it.kv
            out.append(Element(
                id=eid(), kind=ElementKind.KEY_VALUE, text=f"{p.key}: {p.value}", page=pl.number,
                bbox=p.bbox, confidence=p.confidence, source=pl.source, key=p.key, value=p.value,
                value_bbox=p.value_bbox,
            ))
    flush()
    for s in rest:
        out.append(_element_from_block([s], ElementKind(s.role), ctx, eid()))
    return out


def _assign_levels(pages: list[Page], tier: float) -> None:
    """Heading levels: distinct sizes, largest first; sizes within ``tier`` of a tier's top
    share its level (0.92 for fonts, 0.85 for OCR box heights)."""
    heads = [e for p in pages for e in p.elements if e.kind == ElementKind.HEADING]
    if not heads:
        return

    def size(e: Element) -> float:
        return e.font_size if e.font_size else e.bbox.height / max(1, e.text.count("\n") + 1)

    tiers: list[float] = []
    for s in sorted({round(size(e), 1) for e in heads}, reverse=True):
        if not tiers or s < tiers[-1] * tier:
            tiers.append(s)

    def level(e: Element) -> int:
        s = size(e)
        for i, t in enumerate(tiers):
            if s >= t * tier:
                return i + 1
        return len(tiers)

    for e in heads:
        e.level = level(e)
    first = pages[0].elements if pages else []
    page_h = pages[0].height or 1.0 if pages else 1.0
    cand = next((e for e in first if e.kind == ElementKind.HEADING and e.level == 1
                 and e.bbox.cy < 0.4 * page_h), None)
    if cand is not None:
        cand.kind = ElementKind.TITLE


def aggregate(pages: list[PageLines], *, source_name: str = "", mime_type: str) -> Document:
    """Lines with boxes → a ``Document`` of typed elements in reading order (see module doc)."""
    segs: list[list[Seg]] = []
    for pl in pages:
        ss = split_line_numbers([s for line in pl.lines for s in split_line(line)],
                                pl.width or 1.0)
        for i, s in enumerate(ss):
            s.idx = i
        segs.append(ss)
    all_segs = [s for ss in segs for s in ss]
    font_based = any(s.font_size for s in all_segs)
    body = body_size(all_segs)
    long = [_char_w(s) for s in all_segs if len(s.text) >= 20]
    body_cw = median(long) if long else 0.0
    _mark_furniture(pages, segs, body)
    out_pages = [
        Page(number=pl.number, width=pl.width, height=pl.height, ocr_backend=pl.ocr_backend,
             elements=_page_elements(pl, ss, body, font_based, body_cw))
        for pl, ss in zip(pages, segs, strict=True)
    ]
    _assign_levels(out_pages, 0.92 if font_based else 0.85)
    # laid out in each page's frame (levelled rows, upright text); boxes back onto the page
    out_pages = [p.placed(pl.frame) for p, pl in zip(out_pages, pages, strict=True)]
    return Document(source_name=source_name, mime_type=mime_type, pages=out_pages,
                    metadata={"source": pages[0].source.value if pages else Source.PDF_TEXT.value})
