"""Question-type-aware retrieval over a document's components (after MoDora).

What it does: a question (for extraction, a field's descriptor) is first classified
(:func:`classify`). A *location* question names a place on the page ("top right", "footer",
"page 2", "last page") and is answered by a 3 × 3 grid over each page (:func:`locate`): every
element whose box's centre lies in a chosen cell is kept (the rule of
``pipeline.document.grid``); a page without geometry (HTML) is kept whole. A *semantic* question
descends the CCTree (``parsers.cctree``) level by level (:func:`descend`), scoring each child by
sentence-embedding similarity between the question and the child's title, keywords and text
head, plus keyword overlap, and keeping a small beam. :func:`retrieve` does both and returns a
relevance in [0, 1] per element id; extraction uses it to restrict (location) or boost
(semantic) its candidates.

The question types are shared with ``retrieval.evidence`` (asking a document a question), which
ranks the document's components with hybrid BM25 + MiniLM instead of this descent.

What it does not do: build the CCTree (``parsers.cctree.build_cctree``), load an encoder (the
caller passes one with ``similarity(queries, texts)``), or pick values out of the elements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from prunestack.cancel import checkpoint
from prunestack.parsers.cctree import CCNode
from prunestack.pipeline.document import Document
from prunestack.pipeline.document.grid import in_cells

ROW_WORDS = {0: ("top", "upper", "header", "heading area"), 1: ("middle", "centre", "center"),
             2: ("bottom", "lower", "footer", "foot")}
COL_WORDS = {0: ("left",), 1: ("centre", "center", "middle"), 2: ("right",)}
_PAGE = re.compile(r"\b(?:page|p\.)\s*(\d+)\b", re.I)
_LOCATION = re.compile(r"\b(top|bottom|upper|lower|corner|header|footer|margin|"
                       r"first page|last page|page \d+|"
                       r"(?:the|on|at|to|far)\s+(?:left|right)(?!\s+to\b)|"
                       r"(?:centre|center|middle) of the (?:page|document|cover)|"
                       r"(?:left|right)[- ](?:side|corner|column|half|margin|edge|hand))\b"
                       r"|^\s*(?:left|right)\b", re.I)
#: quoted names ("the last step in 'Right mitt'") are not places
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|‘[^’]*’|“[^”]*”")


class TextSimilarity(Protocol):
    """A sentence encoder as retrieval uses it (``prunestack.encoder.SentenceEncoder`` is one)."""

    def similarity(self, queries: list[str], texts: list[str]) -> np.ndarray:
        """[Q, N] cosine similarities."""
        ...


@dataclass(frozen=True)
class Question:
    kind: str  # "location" | "semantic"
    pages: tuple[int, ...] = ()  # empty = all pages
    rows: tuple[int, ...] = (0, 1, 2)
    cols: tuple[int, ...] = (0, 1, 2)


def classify(descriptor: str, n_pages: int) -> Question:
    """Location question (with its grid cells and pages) or semantic question. "left" and
    "right" name a place only beside a position word ("top right", "on the left", "right
    column"), and nothing inside quotes counts ("the last step in 'Right mitt'")."""
    text = _QUOTED.sub(" ", descriptor).lower()
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


def locate(doc: Document, q: Question) -> dict[str, float]:
    """Element ids inside the question's grid cells (relevance 1.0)."""
    out: dict[str, float] = {}
    for page in doc.pages:
        if q.pages and page.number not in q.pages:
            continue
        if page.width <= 0 or page.height <= 0:  # HTML: no geometry, keep the whole page
            out.update({e.id: 1.0 for e in page.elements})
            continue
        for e in page.elements:
            if in_cells(e.bbox, page.width, page.height, q.rows, q.cols):
                out[e.id] = 1.0
    return out


def _node_text(node: CCNode) -> str:
    parts = [node.title, " ".join(node.keywords), node.text[:300]]
    if not parts[2]:
        parts[2] = " ".join(c.text[:80] for c in node.children[:6])
    return " ".join(p for p in parts if p).strip()


def _keyword_overlap(desc: str, node: CCNode) -> float:
    kws = {k.lower() for k in node.keywords}
    words = set(re.findall(r"[a-z0-9]+", desc.lower()))
    return len(kws & words) / max(1, len(words)) if kws else 0.0


def descend(tree: CCNode, descriptor: str, embedder: TextSimilarity, beam: int = 3
            ) -> dict[str, float]:
    """Relevance per element id from a beam descent of the tree by similarity to ``descriptor``:
    each kept node gives its own elements its score (clipped to [0, 1])."""
    out: dict[str, float] = {}
    frontier: list[CCNode] = [tree]
    while frontier:
        nxt: list[tuple[CCNode, float]] = []
        for node in frontier:
            checkpoint("retrieval")
            children = node.children
            if not children:
                continue
            sims = embedder.similarity([descriptor], [_node_text(c) for c in children])[0]  # [C]
            scores = sims + 0.5 * np.array([_keyword_overlap(descriptor, c) for c in children])
            for i in np.argsort(-scores)[:beam]:
                nxt.append((children[int(i)], float(scores[int(i)])))
        for node, score in nxt:
            rel = float(max(0.0, min(1.0, score)))
            for eid in node.element_ids:
                out[eid] = max(out.get(eid, 0.0), rel)
        frontier = [n for n, _ in nxt if n.children]
    return out


def retrieve(doc: Document, tree: CCNode, descriptor: str, embedder: TextSimilarity
             ) -> tuple[Question, dict[str, float]]:
    """(question type, relevance per element id) for one question; a location question whose
    cells hold nothing falls back to the semantic descent."""
    q = classify(descriptor, len(doc.pages))
    if q.kind == "location":
        hits = locate(doc, q)
        if hits:
            return q, hits
    return Question("semantic"), descend(tree, descriptor, embedder)
