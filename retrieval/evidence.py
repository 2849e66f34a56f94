"""Evidence for a question: hybrid retrieval over a document's components within a word budget.

What it does: :meth:`EvidenceIndex.build` cuts a parsed document (its CCTree) into *units* once:
every section heading, every component (text run, list, table, figure, key-value group) and
every furniture line, with a component longer than ``max_unit_words`` split at element
boundaries (and an element longer than that into word windows) and never across two cells of
the page grid. Each unit keeps its page, the
box around its elements, its CCTree path (section titles down to the component), and a matching
text that adds tree context: the section titles on its path and, for a table, its header row.
The index holds three rankings' inputs: BM25 tokens of the matching text, BM25 tokens of the
unit's *window* (its matching text with the neighbouring units' text, after and before it in
turn, up to :data:`WINDOW` = 100 words: :func:`span`), and, when an encoder is given, the
units' sentence vectors (MiniLM). :meth:`EvidenceIndex.search` then

1. classifies the question (:func:`retrieval.document.classify`): a *location* question ("top
   left of page 2") puts the units with an element in the named grid cells of the named pages
   (``pipeline.document.grid``) ahead of all others; a semantic question ranks every unit;
2. fuses the rankings with reciprocal-rank fusion (RRF: ``Σ w / (60 + rank)``; a unit with no
   BM25 match gets nothing from that ranking); a question about a title ("title", "headline",
   "heading") adds a fourth ranking, the section headings in reading order;
3. packs the budget (:func:`pack`): whole units in rank order, each kept unit bringing its
   window along (the units after and before it, up to a quarter of the budget and at most 100
   words: :func:`pack_window`), so evidence carries the context a reader needs (the
   continuation of a paragraph or table, where an answer often follows the words that match
   the question; the heading or name just above them); budget left over when no whole unit
   fits is filled with the part that fits of the next unit of one of the best windows. The
   budget counts the words of the evidence text (``len(text.split())``) and is never exceeded
   (a best unit bigger than the budget is cut to the window holding most question terms).

Evidence comes back in reading order. The index is plain data (numpy arrays and lists), so a
caller can keep it per document and ask many questions for the cost of one question embedding.

What it does not do: parse documents, build the CCTree (``parsers.cctree``), load an encoder
(the caller passes one with ``encode(texts)`` and ``similarity``), cache indexes (``pipeline.ask``
does), or pick an answer out of the evidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from prunestack.cancel import checkpoint
from prunestack.parsers.cctree import CCNode, NodeKind
from prunestack.pipeline.document import BBox, Document, Element
from prunestack.pipeline.document.grid import grid_cell
from prunestack.retrieval.bm25 import bm25_scores, tokenize
from prunestack.retrieval.document import Question, classify

RRF_K = 60
#: weights of the rankings in the fusion: BM25 own text, BM25 of the window, embeddings
WEIGHTS = (1.0, 1.0, 0.5)
#: words of a unit's window, the unit and its neighbours in reading order (:func:`span`), as
#: the second ranking scores it (the size of the chunks a plain BM25 retriever would use)
WINDOW = 100
#: budget left when no whole unit fits goes to the next unit of one of the best FILL_FROM windows
FILL_FROM = 3

#: a question about a title: headings, earliest first, are a fourth ranking
_TITLE_Q = re.compile(r"\b(titles?|titled|headlines?|headings?)\b", re.I)


def pack_window(budget: int) -> int:
    """Words of the window a kept unit brings into the evidence: a quarter of the budget, at
    most :data:`WINDOW` (so a small budget still holds several places of the document)."""
    return min(WINDOW, budget // 4)


@dataclass(frozen=True)
class Unit:
    """One piece of evidence a search can return."""

    text: str  # what the reader sees (and the budget counts)
    words: int
    page: int
    bbox: BBox
    path: tuple[str, ...]  # section titles down to the component ("table", "text", ...)
    component: int  # units cut from one component share this number
    element_ids: tuple[str, ...]
    cells: frozenset[tuple[int, int, int]]  # (page, row, col) of its elements' centres
    match: str  # the text that is matched: path titles, table header row, own text


@dataclass(frozen=True)
class Evidence:
    text: str
    page: int
    bbox: BBox
    path: list[str]
    score: float
    unit: int
    element_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "page": self.page, "bbox": self.bbox.model_dump(),
                "path": self.path, "score": round(self.score, 4)}


@dataclass
class SearchResult:
    question: Question
    evidence: list[Evidence]
    words: int
    budget: int


@dataclass
class EvidenceIndex:
    """The units of one document and what ranking them needs (built once per document)."""

    units: list[Unit]
    tokens: list[list[str]]
    window_tokens: list[list[str]]
    vectors: np.ndarray | None  # [n_units, dim] unit rows, or None without an encoder
    n_pages: int
    encoder_name: str = ""
    stats: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, doc: Document, tree: CCNode, encoder: Any = None,
              max_unit_words: int = 64, window: int = WINDOW) -> EvidenceIndex:
        units = build_units(doc, tree, max_unit_words)
        tokens = [tokenize(u.match) for u in units]
        win_tokens = []
        for i, u in enumerate(units):
            if i % 4096 == 0:
                checkpoint("evidence windows")
            others = (units[j].text for j in span(units, i, window)[1:])
            win_tokens.append(tokenize(" ".join((u.match, *others))))
        vectors = None
        if encoder is not None and units:
            checkpoint("evidence index")
            vectors = encoder.encode([u.match for u in units], max_length=128)  # [N, dim]
        return cls(units, tokens, win_tokens, vectors, len(doc.pages),
                   str(getattr(encoder, "folder", "")) if encoder is not None else "")

    def rank(self, question: str, encoder: Any = None) -> tuple[Question, np.ndarray]:
        """(question type, fused score per unit); location hits score above every other unit."""
        q = classify(question, self.n_pages)
        n = len(self.units)
        fused = np.zeros(n, dtype=np.float64)
        if n == 0:
            return q, fused
        qtok = tokenize(question)
        lists = [bm25_scores(qtok, self.tokens), bm25_scores(qtok, self.window_tokens)]
        if self.vectors is not None and encoder is not None:
            qv = encoder.encode_cached([question], max_length=128)[0]  # [dim]
            lists.append(self.vectors @ qv)  # [N]
        for k, (w, scores) in enumerate(zip(WEIGHTS, lists, strict=False)):
            order = np.argsort(-scores, kind="stable")
            ranks = np.empty(n, dtype=np.float64)
            ranks[order] = np.arange(1, n + 1)
            contrib = w / (RRF_K + ranks)
            if k < 2:
                contrib[scores <= 0] = 0.0  # BM25: no shared term, no vote
            fused += contrib
        if _TITLE_Q.search(question):
            heads = [i for i, u in enumerate(self.units) if u.path and u.path[-1] == "heading"]
            for r, i in enumerate(heads):
                fused[i] += 1.0 / (RRF_K + r + 1)
        if q.kind == "location":
            inside = np.array([_in_question_cells(u, q) for u in self.units])
            if inside.any():
                fused[inside] += 1.0
            else:
                q = Question("semantic")
        return q, fused

    def search(self, question: str, budget: int, encoder: Any = None) -> SearchResult:
        q, fused = self.rank(question, encoder)
        chosen = pack(self.units, fused, budget, qtok=tokenize(question))
        top = float(fused.max()) if len(fused) else 1.0
        ev = [Evidence(text, u.page, u.bbox, list(u.path), float(fused[i]) / (top or 1.0), i,
                       u.element_ids)
              for i, text in sorted(chosen.items()) for u in [self.units[i]]]
        return SearchResult(q, ev, sum(len(e.text.split()) for e in ev), budget)


def _in_question_cells(u: Unit, q: Question) -> bool:
    return any((not q.pages or p in q.pages) and r in q.rows and c in q.cols
               for p, r, c in u.cells)


# ------------------------------------------------------------------------------------- units


def _kind_label(node: CCNode) -> str:
    return {NodeKind.KEY_VALUE_GROUP: "key-value"}.get(node.kind, str(node.kind))


def _cells(elements: Sequence[Element], sizes: dict[int, tuple[float, float]]
           ) -> frozenset[tuple[int, int, int]]:
    out: set[tuple[int, int, int]] = set()
    for e in elements:
        w, h = sizes.get(e.page, (0.0, 0.0))
        if w <= 0 or h <= 0:  # HTML: no geometry, the page is in every cell
            out.update((e.page, r, c) for r in range(3) for c in range(3))
        else:
            out.add((e.page, *grid_cell(e.bbox, w, h)))
    return frozenset(out)


def _windows(elements: list[Element], max_words: int,
             sizes: dict[int, tuple[float, float]]) -> list[tuple[list[Element], str]]:
    """Consecutive elements grouped into pieces of at most ``max_words`` words, never across
    grid cells (a location question can then keep a corner note without the paragraph above
    it); an element longer than ``max_words`` on its own, as word windows."""
    out: list[tuple[list[Element], str]] = []
    cur: list[Element] = []
    cur_words = 0
    for e in elements:
        if cur and _cells([cur[-1]], sizes) != _cells([e], sizes):
            out.append((cur, " ".join(x.text for x in cur)))
            cur, cur_words = [], 0
        words = e.text.split()
        if not words:
            continue
        if len(words) > max_words:
            if cur:
                out.append((cur, " ".join(x.text for x in cur)))
                cur, cur_words = [], 0
            for s in range(0, len(words), max_words):
                out.append(([e], " ".join(words[s:s + max_words])))
            continue
        if cur and cur_words + len(words) > max_words:
            out.append((cur, " ".join(x.text for x in cur)))
            cur, cur_words = [], 0
        cur.append(e)
        cur_words += len(words)
    if cur:
        out.append((cur, " ".join(x.text for x in cur)))
    return out


def build_units(doc: Document, tree: CCNode, max_unit_words: int = 64) -> list[Unit]:
    """The units of ``doc`` in reading order (see the module docstring)."""
    by_id = {e.id: e for e in doc.elements()}
    sizes = {p.number: (p.width, p.height) for p in doc.pages}
    units: list[Unit] = []
    comp = 0
    stack: list[tuple[CCNode, tuple[str, ...]]] = [(tree, ())]
    while stack:
        node, path = stack.pop()
        if node.kind == NodeKind.ROOT:
            stack.extend((c, ()) for c in reversed(node.children))
            continue
        if node.kind in (NodeKind.SECTION, NodeKind.SUPPLEMENT):
            title = " ".join(node.title.split())
            sec_path = (*path, title[:120]) if node.kind == NodeKind.SECTION else \
                (*path, title)
            own = [by_id[i] for i in node.element_ids[:1] if i in by_id] \
                if node.kind == NodeKind.SECTION else []
            if own and own[0].text.strip():
                comp += 1
                units += _units_of(own, (*path, "heading"), comp, sizes, max_unit_words, "")
            stack.extend((c, sec_path) for c in reversed(node.children))
            continue
        elements = [by_id[i] for i in node.element_ids if i in by_id]
        if not elements:
            continue
        comp += 1
        header = " | ".join(c for c in (node.rows or [[]])[0] if c) if node.kind == \
            NodeKind.TABLE else ""
        label = _kind_label(node) if not node.title else f"{_kind_label(node)}: {node.title}"
        units += _units_of(elements, (*path, label[:120]), comp, sizes, max_unit_words, header)
    return units


def _units_of(elements: list[Element], path: tuple[str, ...], comp: int,
              sizes: dict[int, tuple[float, float]], max_words: int, header: str) -> list[Unit]:
    out = []
    for els, text in _windows(elements, max_words, sizes):
        text = " ".join(text.split())
        page = els[0].page
        box = BBox.enclosing([e.bbox for e in els if e.page == page])
        titles = " / ".join(p for p in path[:-1] if p)
        match = " | ".join(p for p in (titles, header, text) if p)
        out.append(Unit(text, len(text.split()), page, box, path, comp,
                        tuple(dict.fromkeys(e.id for e in els)), _cells(els, sizes), match))
    return out


# ------------------------------------------------------------------------------------- packing


def _cut(text: str, budget: int, qtok: list[str]) -> str:
    """The ``budget``-word window of ``text`` holding most question terms."""
    words = text.split()
    q = set(qtok)
    hits = [1 if re.sub(r"\W+", "", w.lower()) in q else 0 for w in words]
    best, best_s = 0, -1
    run = sum(hits[:budget])
    for s in range(0, max(1, len(words) - budget + 1)):
        if s:
            run += hits[s + budget - 1] - hits[s - 1] if s + budget - 1 < len(words) else 0
        if run > best_s:
            best, best_s = s, run
    return " ".join(words[best:best + budget])


def span(units: Sequence[Unit], i: int, window: int = WINDOW,
         group: Sequence[int] | None = None) -> tuple[int, ...]:
    """The window of unit ``i``: the unit, then its neighbours in reading order, one after it,
    one before it, in turn (a side stops at the first unit that would take the window over
    ``window`` words, or at the document's edge), so the window holds the words that follow a
    match (an answer often comes after the words that match the question) and the words that
    lead up to it (a heading, a name above a quote). ``group``: a document number per unit
    (units of several documents in one list); a window never crosses into another document."""
    out, words = [i], units[i].words
    ends = {1: i + 1, -1: i - 1}  # the next unit on each side still open (after, then before)
    while ends:
        for step, j in list(ends.items()):
            if 0 <= j < len(units) and words + units[j].words <= window and (
                    group is None or group[j] == group[i]):
                out.append(j)
                words += units[j].words
                ends[step] = j + step
            else:
                del ends[step]
    return tuple(out)


def pack(units: list[Unit], fused: np.ndarray, budget: int, qtok: list[str] | None = None,
         window: int | None = None, group: Sequence[int] | None = None) -> dict[int, str]:
    """Unit index -> text kept, within ``budget`` words (see the module docstring); ``window``:
    the words of the window each kept unit brings along (default :func:`pack_window`);
    ``group``: a document number per unit, as :func:`span` takes it."""
    chosen: dict[int, str] = {}
    if budget <= 0 or not units:
        return chosen
    window = pack_window(budget) if window is None else window
    left = budget
    order = [int(i) for i in np.argsort(-fused, kind="stable")]

    def take(i: int) -> bool:
        nonlocal left
        if i in chosen or units[i].words > left:
            return False
        chosen[i] = units[i].text
        left -= units[i].words
        return True

    for rank, i in enumerate(order):
        if left <= 0:
            break
        if rank == 0 and units[i].words > left:  # the best unit alone is over the budget
            chosen[i] = _cut(units[i].text, left, qtok or [])
            left -= len(chosen[i].split())
            continue
        if take(i):  # a kept unit brings its window (the unit first, then its neighbours)
            for j in span(units, i, window, group)[1:]:
                take(j)
    if left > 0:  # leftover: the part that fits of the next unit of one of the best windows
        for i in order[:FILL_FROM]:
            s = span(units, i, window, group)
            nxt = next((j for j in (*s[1:], max(s) + 1, min(s) - 1)
                        if 0 <= j < len(units) and j not in chosen and (
                            group is None or group[j] == group[i])), None)
            if nxt is not None:
                words = units[nxt].text.split()
                chosen[nxt] = " ".join(words[:left] if nxt > i else words[-left:])
                left -= len(chosen[nxt].split())
                break
    return chosen
