"""HTML bytes → ``Document``: headings, paragraphs, lists, tables, definition lists, furniture.

``parse_html(data, name=...)``:

* **decoding** — ``parsers.charset.decode_html`` (text already decoded is taken as it is): a
  byte-order mark wins, then a ``<meta charset>`` / ``http-equiv`` / XML declaration in the
  first 64 KiB, read as browsers read it (``iso-8859-1`` is windows-1252, ``gb2312`` is
  gb18030, ...), then strict UTF-8. Bytes that do not decode under that charset, or HTML with no
  text at all, raise ``InputError``.
* **depth** — libxml2's HTML parser stops nesting at 256 levels and silently drops everything
  below (and after) that point. A parse that reaches the cap therefore raises ``TooLargeError``
  instead of returning a truncated document; every walk here is iterative (``lxml.etree.iterwalk``),
  so no depth can hit Python's recursion limit. Every walk checks for cancellation every few
  thousand nodes (``prunestack.cancel``), so a cancelled API request stops within a moment even
  on a page of millions of nodes.
* **mapping** — ``h1``–``h6`` → HEADING with that level (the first ``h1`` → TITLE); ``p``, ``pre``,
  ``blockquote``, loose text in containers → TEXT; ``li`` → LIST_ITEM (nested lists give their own
  items); ``table`` → TABLE with cells placed on a grid honouring ``colspan``/``rowspan``
  (row 0 holds the first row, normally the ``th`` header row); ``dl`` → one KEY_VALUE per ``dd``
  (key = the preceding ``dt``); ``figure``/``img[alt]`` → FIGURE, ``figcaption`` → CAPTION right
  after it. Furniture: ``nav`` and a page-level ``header`` → HEADER, a page-level ``footer`` and
  cookie/consent banners (id/class) → FOOTER, ``aside`` → SIDEBAR (``role`` landmarks likewise).
  ``script``, ``style``, ``template``, ``noscript``, SVG, embedded media, form controls
  (``select``, ``textarea``, ``button``) and hidden elements (``parsers.visibility``, the rule
  ``retrieval.clean`` uses too: ``hidden`` but not ``hidden="until-found"``,
  ``aria-hidden="true"``, inline ``display:none``/``visibility:hidden``, except the panels a
  disclosure toggle controls) are dropped.
* **geometry** — HTML has none: the document has one page of size 0 × 0 and every element a
  zero box at the origin, confidence 1 and source ``html``. Location questions do not apply.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import lxml.etree as etree
import lxml.html

from prunestack.cancel import checked
from prunestack.errors import InputError, TooLargeError
from prunestack.parsers.charset import decode_html, visible
from prunestack.parsers.visibility import hidden_rule
from prunestack.pipeline.document import (
    BBox,
    Document,
    Element,
    ElementKind,
    Page,
    Source,
    TableCell,
)

LIBXML_MAX_DEPTH = 256
MAX_COLSPAN = 1000
MAX_TABLE_SLOTS = 1_000_000

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_COOKIE = re.compile(r"cookie|consent|gdpr", re.I)
# Not page text: code, metadata, embedded media and their fallbacks, SVG drawings (icon titles,
# chart paths), and form controls (a country <select> is hundreds of options; button labels).
_SKIP = frozenset({
    "script", "style", "template", "noscript", "head", "iframe", "object", "embed", "svg",
    "canvas", "video", "audio", "map", "select", "datalist", "textarea", "button",
})
_BLOCK = frozenset({
    "address", "article", "body", "blockquote", "center", "dd", "details", "dialog", "div", "dt",
    "fieldset", "form", "hr", "html", "li", "main", "menu", "ol", "p", "pre", "section",
    "summary", "ul", "br", "td", "th", "tr", "caption", "legend", "option", "select",
})
_ZERO = BBox(x0=0, y0=0, x1=0, y1=0)
_EVERY = 4096  # nodes between cancellation checks


Hidden = Callable[[etree._Element], bool]


def _text(el: etree._Element, hidden: Hidden, skip: frozenset[str] = frozenset()) -> str:
    """Whitespace-normalised text of ``el``'s subtree, leaving out ``skip`` tags' subtrees and
    ``hidden`` elements."""
    parts: list[str] = []
    walker = etree.iterwalk(el, events=("start", "end"))
    for ev, node in checked(walker, "HTML text", _EVERY):
        if not isinstance(node.tag, str):
            if ev == "end" and node.tail and node is not el:
                parts.append(node.tail)
            continue
        if ev == "start":
            if node is not el and (node.tag in skip or node.tag in _SKIP or hidden(node)):
                walker.skip_subtree()
                continue
            if node.text:
                parts.append(node.text)
            if node.tag == "br":
                parts.append(" ")
        elif node is not el and node.tail:
            parts.append(node.tail)
    return " ".join(visible("".join(parts)).split())


def _furniture_kind(el: etree._Element) -> ElementKind | None:
    tag = el.tag
    role = (el.get("role") or "").lower()
    ident = f"{el.get('id') or ''} {el.get('class') or ''}"
    if tag == "nav" or role in ("navigation", "banner"):
        return ElementKind.HEADER
    if tag == "aside" or role == "complementary":
        return ElementKind.SIDEBAR
    if role == "contentinfo" or (ident.strip() and _COOKIE.search(ident)):
        return ElementKind.FOOTER
    if tag in ("header", "footer"):
        in_content = any(a.tag in ("article", "section", "main") for a in el.iterancestors())
        if not in_content:
            return ElementKind.HEADER if tag == "header" else ElementKind.FOOTER
    return None


def _table_cells(table: etree._Element, hidden: Hidden) -> list[TableCell]:
    trs = [tr for tr in table.iter("tr") if next(tr.iterancestors("table"), None) is table]
    occupied: set[tuple[int, int]] = set()
    cells: list[TableCell] = []
    for r, tr in enumerate(checked(trs, "HTML table", 256)):
        col = 0
        for td in tr:
            if not isinstance(td.tag, str) or td.tag not in ("td", "th"):
                continue
            while (r, col) in occupied:
                col += 1
            cs = min(MAX_COLSPAN, max(1, _int(td.get("colspan"), 1)))
            rs_raw = _int(td.get("rowspan"), 1)
            rs = len(trs) - r if rs_raw <= 0 else min(rs_raw, len(trs) - r)
            if len(occupied) + rs * cs > MAX_TABLE_SLOTS:
                raise TooLargeError(f"an HTML table spans more than {MAX_TABLE_SLOTS:,} cells")
            for dr in range(rs):
                for dc in range(cs):
                    occupied.add((r + dr, col + dc))
            cells.append(TableCell(row=r, col=col, text=_text(td, hidden), row_span=rs,
                                   col_span=cs))
            col += cs
    return cells


def _int(value: str | None, default: int) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


class _Builder:
    def __init__(self) -> None:
        self.elements: list[Element] = []
        self.pending: list[str] = []
        self.seen_h1 = False

    def emit(self, kind: ElementKind, text: str, **extra: Any) -> None:
        if kind == ElementKind.HEADING and extra.get("level") == 1 and not self.seen_h1:
            self.seen_h1 = True
            kind = ElementKind.TITLE
        text = visible(text)
        self.elements.append(Element(id=f"p1-e{len(self.elements) + 1}", kind=kind, text=text,
                                     page=1, bbox=_ZERO, source=Source.HTML, **extra))

    def flush(self, ctx: tuple[ElementKind, int | None]) -> None:
        text = " ".join(visible("".join(self.pending)).split())
        self.pending = []
        if text:
            kind, level = ctx
            self.emit(kind, text, **({"level": level} if level else {}))


def _walk(root: etree._Element, hidden: Hidden) -> list[Element]:
    b = _Builder()
    ctx: list[tuple[ElementKind, int | None]] = [(ElementKind.TEXT, None)]
    pushed: set[int] = set()
    walker = etree.iterwalk(root, events=("start", "end"))
    for ev, el in checked(walker, "HTML parsing", _EVERY):
        if not isinstance(el.tag, str):  # comments, processing instructions
            if ev == "end" and el.tail:
                b.pending.append(el.tail)
            continue
        tag = el.tag.lower()
        if ev == "end":
            if id(el) in pushed:
                b.flush(ctx.pop())
                pushed.discard(id(el))
            elif tag in _BLOCK:
                b.flush(ctx[-1])
            if el.tail:
                b.pending.append(el.tail)
            continue
        if tag in _SKIP or hidden(el):
            walker.skip_subtree()
            continue
        furn = _furniture_kind(el)
        whole = furn is not None or tag in ("table", "dl", "figure", "img", "pre")
        if whole or tag in _BLOCK or re.fullmatch(r"h[1-6]", tag):
            b.flush(ctx[-1])
        if furn is not None:
            text = _text(el, hidden)
            if text:
                b.emit(furn, text)
            walker.skip_subtree()
        elif tag == "table":
            cells = _table_cells(el, hidden)
            if cells:
                rows: dict[int, list[str]] = {}
                for c in cells:
                    rows.setdefault(c.row, []).append(c.text)
                b.emit(ElementKind.TABLE, "\n".join(" | ".join(r) for r in rows.values()),
                       cells=cells)
            walker.skip_subtree()
        elif tag == "dl":
            key = ""
            for child in el:
                if not isinstance(child.tag, str):
                    continue
                if child.tag == "dt":
                    key = _text(child, hidden)
                elif child.tag == "dd" and key:
                    value = _text(child, hidden)
                    b.emit(ElementKind.KEY_VALUE, f"{key}: {value}", key=key, value=value,
                           value_bbox=_ZERO)
            walker.skip_subtree()
        elif tag in ("figure", "img"):
            img = el if tag == "img" else next(el.iter("img"), None)
            alt = " ".join((img.get("alt") or "").split()) if img is not None else ""
            cap = next(el.iter("figcaption"), None) if tag == "figure" else None
            if alt or cap is not None or tag == "figure":
                b.emit(ElementKind.FIGURE, alt or _text(el, hidden, frozenset({"figcaption"})))
            if cap is not None and _text(cap, hidden):
                b.emit(ElementKind.CAPTION, _text(cap, hidden))
            walker.skip_subtree()
        elif tag == "pre":
            text = "".join(el.itertext()).strip("\n")
            if text.strip():
                b.emit(ElementKind.TEXT, text)
            walker.skip_subtree()
        else:
            m = re.fullmatch(r"h([1-6])", tag)
            if m:
                ctx.append((ElementKind.HEADING, int(m.group(1))))
                pushed.add(id(el))
            elif tag == "li":
                ctx.append((ElementKind.LIST_ITEM, None))
                pushed.add(id(el))
            elif tag in ("p", "blockquote", "caption"):
                ctx.append((ElementKind.TEXT, None))
                pushed.add(id(el))
            if tag == "br":
                b.pending.append(" ")
            if el.text:
                b.pending.append(el.text)
    b.flush(ctx[-1])
    return b.elements


def _max_depth(root: etree._Element) -> int:
    depth = deepest = 0
    for ev, _ in checked(etree.iterwalk(root, events=("start", "end")), "HTML parsing", _EVERY):
        depth += 1 if ev == "start" else -1
        deepest = max(deepest, depth)
    return deepest


def parse_html(data: bytes | str, *, name: str = "") -> Document:
    """HTML bytes (or text already decoded) → ``Document`` with one zero-size page (see the
    module docstring)."""
    text = _XML_DECL.sub("", decode_html(data)).replace("\x00", "")
    if not text.strip():
        raise InputError("the HTML file is empty")
    try:
        root = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise InputError(f"the HTML cannot be parsed: {exc}") from None
    if _max_depth(root) >= LIBXML_MAX_DEPTH:
        raise TooLargeError(
            f"the HTML is nested {LIBXML_MAX_DEPTH} or more levels deep; the parser would drop "
            "everything below that depth",
            f"flatten the markup to under {LIBXML_MAX_DEPTH} levels",
        )
    hidden = hidden_rule(root)
    title_el = root.find(".//title")
    title = _text(title_el, hidden) if title_el is not None else ""
    meta = {"title": title} if title else {}
    elements = _walk(root, hidden)
    if not any(e.text.strip() for e in elements):
        raise InputError("the HTML has no visible text")
    return Document(source_name=name, mime_type="text/html", metadata=meta,
                    pages=[Page(number=1, width=0, height=0, elements=elements)])
