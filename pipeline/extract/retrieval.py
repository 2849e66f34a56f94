"""Question-type-aware retrieval over a document's CCTree (after MoDora).

A field's descriptor is first classified: a *location* question names a place on the page ("top
right", "footer", "page 2", "last page") and is answered by a 3×3 grid over each page (rows top →
bottom, columns left → right): every element whose box overlaps a chosen cell is kept. A *semantic*
question descends the tree level by level, scoring each child by MiniLM similarity between the
descriptor and the child's title, keywords and text head, plus keyword overlap, and keeping a small
beam. The result is a relevance in [0, 1] per element id; the engines use it to restrict (location)
or boost (semantic) their candidates. When no CCTree builder is installed a plain tree is built:
root → sections opened by headings → one leaf per element, page furniture in a per-page node.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from prunestack.pipeline.document import BBox, Document, ElementKind

ROW_WORDS = {0: ("top", "upper", "header", "heading area"), 1: ("middle", "centre", "center"),
             2: ("bottom", "lower", "footer", "foot")}
COL_WORDS = {0: ("left",), 1: ("centre", "center", "middle"), 2: ("right",)}
_PAGE = re.compile(r"\b(?:page|p\.)\s*(\d+)\b", re.I)
_LOCATION = re.compile(r"\b(top|bottom|upper|lower|left|right|corner|header|footer|margin|"
                       r"first page|last page|page \d+)\b", re.I)


@dataclass
class Node:
    """The fallback tree node; mirrors the attributes of ``parsers.cctree.CCNode`` we read."""

    id: str
    kind: str
    title: str = ""
    text: str = ""
    page: int | None = None
    bboxes: list[BBox] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    element_ids: list[str] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)


@dataclass(frozen=True)
class Question:
    kind: str  # "location" | "semantic"
    pages: tuple[int, ...] = ()  # empty = all pages
    rows: tuple[int, ...] = (0, 1, 2)
    cols: tuple[int, ...] = (0, 1, 2)


def classify(descriptor: str, n_pages: int) -> Question:
    """Location question (with its grid cells and pages) or semantic question."""
    text = descriptor.lower()
    if not _LOCATION.search(text):
        return Question("semantic")
    pages: tuple[int, ...] = ()
    if m := _PAGE.search(text):
        pages = (int(m.group(1)),)
    elif "last page" in text:
        pages = (n_pages,)
    elif "first page" in text:
        pages = (1,)
    rows = tuple(r for r, ws in ROW_WORDS.items() if any(re.search(rf"\b{w}\b", text) for w in ws))
    cols = tuple(c for c, ws in COL_WORDS.items() if any(re.search(rf"\b{w}\b", text) for w in ws))
    return Question("location", pages, rows or (0, 1, 2), cols or (0, 1, 2))


def grid_cells(width: float, height: float, rows: tuple[int, ...], cols: tuple[int, ...]
               ) -> list[BBox]:
    """The chosen cells of a 3×3 split of a page."""
    w, h = width / 3, height / 3
    return [BBox(x0=c * w, y0=r * h, x1=(c + 1) * w, y1=(r + 1) * h) for r in rows for c in cols]


def locate(doc: Document, q: Question) -> dict[str, float]:
    """Element ids inside the question's grid cells (relevance 1.0)."""
    out: dict[str, float] = {}
    for page in doc.pages:
        if q.pages and page.number not in q.pages:
            continue
        if page.width <= 0 or page.height <= 0:  # HTML: no geometry, keep the whole page
            out.update({e.id: 1.0 for e in page.elements})
            continue
        cells = grid_cells(page.width, page.height, q.rows, q.cols)
        for e in page.elements:
            # the element's centre decides its cell (a wide header row spans several cells)
            centre = BBox(x0=e.bbox.cx, y0=e.bbox.cy, x1=e.bbox.cx, y1=e.bbox.cy)
            if any(c.intersects(centre) for c in cells):
                out[e.id] = 1.0
    return out


def fallback_tree(doc: Document) -> Node:
    root = Node(id="root", kind="root", title=doc.source_name)
    section = root
    for page in doc.pages:
        supp = Node(id=f"p{page.number}-supplement", kind="supplement", page=page.number)
        for e in page.elements:
            leaf = Node(id=e.id, kind=e.kind.value, text=e.text, page=e.page, bboxes=[e.bbox],
                        element_ids=[e.id])
            if e.is_furniture:
                supp.children.append(leaf)
            elif e.kind in (ElementKind.TITLE, ElementKind.HEADING):
                section = Node(id=f"s-{e.id}", kind="section", title=e.text, page=e.page,
                               bboxes=[e.bbox], element_ids=[e.id])
                root.children.append(section)
            else:
                section.children.append(leaf)
        if supp.children:
            root.children.append(supp)
    return root


def build_tree(doc: Document) -> Any:
    """The CCTree from ``parsers.cctree`` when it is installed, else :func:`fallback_tree`."""
    try:
        from prunestack.parsers.cctree import build_cctree  # type: ignore[import-not-found]
    except ImportError:
        return fallback_tree(doc)
    return build_cctree(doc)


def _element_ids(node: Any) -> list[str]:
    ids = list(getattr(node, "element_ids", None) or [])
    for c in getattr(node, "children", None) or []:
        ids.extend(_element_ids(c))
    return ids


def _node_text(node: Any) -> str:
    parts = [getattr(node, "title", "") or "", " ".join(getattr(node, "keywords", None) or []),
             (getattr(node, "text", "") or "")[:300]]
    if not parts[2]:
        parts[2] = " ".join((getattr(c, "text", "") or "")[:80]
                            for c in (getattr(node, "children", None) or [])[:6])
    return " ".join(p for p in parts if p).strip()


def _keyword_overlap(desc: str, node: Any) -> float:
    kws = {k.lower() for k in (getattr(node, "keywords", None) or [])}
    words = set(re.findall(r"[a-z0-9]+", desc.lower()))
    return len(kws & words) / max(1, len(words)) if kws else 0.0


def descend(tree: Any, descriptor: str, embedder: Any, beam: int = 3) -> dict[str, float]:
    """Relevance per element id from a beam descent of the tree by similarity to ``descriptor``."""
    out: dict[str, float] = {}
    frontier: list[tuple[Any, float]] = [(tree, 1.0)]
    while frontier:
        nxt: list[tuple[Any, float]] = []
        for node, _ in frontier:
            children = list(getattr(node, "children", None) or [])
            if not children:
                continue
            texts = [_node_text(c) for c in children]
            sims = embedder.similarity([descriptor], texts)[0]  # [C]
            scores = sims + 0.5 * np.array([_keyword_overlap(descriptor, c) for c in children])
            order = np.argsort(-scores)
            for i in order[:beam]:
                nxt.append((children[int(i)], float(scores[int(i)])))
        for node, score in nxt:
            rel = float(max(0.0, min(1.0, score)))
            for eid in getattr(node, "element_ids", None) or []:
                out[eid] = max(out.get(eid, 0.0), rel)
            if not getattr(node, "children", None):
                for eid in _element_ids(node):
                    out[eid] = max(out.get(eid, 0.0), rel)
        frontier = [(n, s) for n, s in nxt if getattr(n, "children", None)]
    return out


def retrieve(doc: Document, tree: Any, descriptor: str, embedder: Any) -> tuple[Question, dict]:
    """(question type, relevance per element id) for one field."""
    q = classify(descriptor, len(doc.pages))
    if q.kind == "location":
        hits = locate(doc, q)
        if hits:
            return q, hits
    return Question("semantic"), descend(tree, descriptor, embedder)
