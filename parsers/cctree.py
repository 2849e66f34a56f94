"""The component-correlation tree (CCTree, after MoDora) built from a ``Document``.

``build_cctree(doc)`` walks the body elements in reading order with a stack keyed by heading level:

* a TITLE/HEADING of level L pops every open section of level ≥ L and opens a section node under
  what remains on the stack (the root is level 0); a heading closes the current component;
* TEXT paragraphs append to the open *text* component (one per run of paragraphs), LIST_ITEMs to a
  *list* component, consecutive KEY_VALUE elements to a *key_value_group*; a TABLE or FIGURE is a
  component of its own and takes as its title a CAPTION only when that caption is the element
  immediately before or after it (otherwise the caption is ordinary text);
* furniture (header, footer, page number, sidebar) goes to one *supplement* node per page, after
  the body sections, with ``content_layer = FURNITURE``.

Every node keeps the boxes (with pages) and element ids it covers. Keywords are assigned bottom-up
with MoDora's budget: a leaf gets 2; an internal node gets
``ceil((depth + height - 1) / depth + log2((sum of its children's budgets) ** 2) + 1)``, with
depth 1 at the root and height 1 at a leaf. Keywords themselves are the node subtree's terms
ranked by TF-IDF (term frequency in the subtree × smoothed inverse frequency over the leaves;
English stopwords removed; title terms count double) — a lexical method, no model.

``find_by_location(tree, page, row, col)`` answers location questions on a 3 × 3 grid of the page
(rows top→bottom, columns left→right, 0-based): a node is in the cell that holds the centre of one
of its boxes (``pipeline.document.grid``, the rule extraction's location questions use too). HTML
pages have no geometry, so it refuses them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from prunestack.cancel import checked
from prunestack.errors import InputError
from prunestack.pipeline.document import BBox, Document, Element, ElementKind
from prunestack.pipeline.document.grid import grid_cell


class NodeKind(StrEnum):
    ROOT = "root"
    SECTION = "section"
    TEXT = "text"
    LIST = "list"
    TABLE = "table"
    FIGURE = "figure"
    KEY_VALUE_GROUP = "key_value_group"
    SUPPLEMENT = "supplement"
    HEADER = "header"
    FOOTER = "footer"
    PAGE_NUMBER = "page_number"
    SIDEBAR = "sidebar"


class ContentLayer(StrEnum):
    BODY = "body"
    FURNITURE = "furniture"


class PageBox(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page: int
    bbox: BBox


class KVItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    value: str
    element_id: str


class CCNode(BaseModel):
    """One node of the CCTree: the root, a section, a component or a furniture leaf."""

    model_config = ConfigDict(extra="forbid")

    id: str = ""
    kind: NodeKind
    title: str = ""
    text: str = ""
    level: int | None = Field(default=None, description="heading level of a section")
    bboxes: list[PageBox] = Field(default_factory=list)
    pages: list[int] = Field(default_factory=list)
    children: list[CCNode] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    keyword_budget: int = 0
    depth: int = 1
    height: int = 1
    content_layer: ContentLayer = ContentLayer.BODY
    element_ids: list[str] = Field(default_factory=list)
    rows: list[list[str]] | None = Field(default=None, description="table cells, row 0 = header")
    pairs: list[KVItem] | None = Field(default=None, description="key-value group items")
    page_sizes: dict[int, tuple[float, float]] | None = Field(
        default=None, description="root only: page number -> (width, height)"
    )

    @property
    def page(self) -> int | None:
        return self.pages[0] if self.pages else None

    def iter(self) -> Iterator[CCNode]:
        """Pre-order, iteratively."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def node(self, node_id: str) -> CCNode:
        for n in self.iter():
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def leaves(self) -> list[CCNode]:
        return [n for n in self.iter() if not n.children]

    def subtree_text(self) -> str:
        return "\n".join(t for n in self.iter() for t in (n.title, n.text) if t)


# ------------------------------------------------------------------------------------- building


def _add(node: CCNode, e: Element) -> None:
    node.bboxes.append(PageBox(page=e.page, bbox=e.bbox))
    if e.page not in node.pages:
        node.pages.append(e.page)
    node.element_ids.append(e.id)


def _strip_bullet(text: str) -> str:
    return re.sub(r"^([•·▪◦‣●○■□–—*-]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)])\s+", "", text).strip()


def _captions(body: list[Element]) -> dict[int, int]:
    """Index of table/figure → index of its caption (immediate neighbour only)."""
    taken: dict[int, int] = {}
    used: set[int] = set()
    for i, e in enumerate(body):
        if e.kind not in (ElementKind.TABLE, ElementKind.FIGURE):
            continue
        for j in (i - 1, i + 1):
            if 0 <= j < len(body) and body[j].kind == ElementKind.CAPTION and j not in used:
                taken[i] = j
                used.add(j)
                break
    return taken


def build_cctree(doc: Document) -> CCNode:
    """``Document`` → CCTree (see the module docstring for the rules)."""
    body = [e for e in doc.elements() if not e.is_furniture]
    title = next((e.text for e in body if e.kind == ElementKind.TITLE), doc.source_name)
    root = CCNode(kind=NodeKind.ROOT, title=title,
                  page_sizes={p.number: (p.width, p.height) for p in doc.pages})
    captions = _captions(body)
    caption_idx = set(captions.values())
    stack: list[tuple[int, CCNode]] = [(0, root)]
    current: CCNode | None = None
    texts: dict[int, tuple[CCNode, list[str]]] = {}  # text / list nodes: their pieces

    for i, e in enumerate(checked(body, "document tree", 256)):
        parent = stack[-1][1]
        if i in caption_idx:
            continue
        if e.kind in (ElementKind.TITLE, ElementKind.HEADING):
            lvl = e.level or 1
            while len(stack) > 1 and stack[-1][0] >= lvl:
                stack.pop()
            sec = CCNode(kind=NodeKind.SECTION, title=e.text, level=lvl)
            _add(sec, e)
            stack[-1][1].children.append(sec)
            stack.append((lvl, sec))
            current = None
        elif e.kind in (ElementKind.TABLE, ElementKind.FIGURE):
            kind = NodeKind.TABLE if e.kind == ElementKind.TABLE else NodeKind.FIGURE
            comp = CCNode(kind=kind, text=e.text,
                          rows=e.table_rows() if e.kind == ElementKind.TABLE else None)
            _add(comp, e)
            if i in captions:
                cap = body[captions[i]]
                comp.title = cap.text
                _add(comp, cap)
            parent.children.append(comp)
            current = None
        else:
            kind = {
                ElementKind.LIST_ITEM: NodeKind.LIST,
                ElementKind.KEY_VALUE: NodeKind.KEY_VALUE_GROUP,
            }.get(e.kind, NodeKind.TEXT)
            if current is None or current.kind != kind:
                current = CCNode(kind=kind, pairs=[] if kind == NodeKind.KEY_VALUE_GROUP else None)
                parent.children.append(current)
            _add(current, e)
            piece = _strip_bullet(e.text) if kind == NodeKind.LIST else e.text
            sep = "\n\n" if kind == NodeKind.TEXT else "\n"
            # joined once at the end: growing the string per element was quadratic (a page of
            # 150k <br> lines took 13 s here)
            parts = texts.setdefault(id(current), (current, []))[1]
            if any(parts):
                parts.append(sep)
                parts.append(piece)
            else:
                parts[:] = [piece]
            if current.pairs is not None:
                current.pairs.append(KVItem(key=e.key or "", value=e.value or "",
                                            element_id=e.id))
    for node, parts in texts.values():
        node.text = "".join(parts)

    for page in doc.pages:
        furn = [e for e in page.elements if e.is_furniture]
        if not furn:
            continue
        sup = CCNode(kind=NodeKind.SUPPLEMENT, title=f"page {page.number} supplement",
                     content_layer=ContentLayer.FURNITURE)
        for e in furn:
            leaf = CCNode(kind=NodeKind(e.kind.value), text=e.text,
                          content_layer=ContentLayer.FURNITURE)
            _add(leaf, e)
            _add(sup, e)
            sup.children.append(leaf)
        root.children.append(sup)

    for e in body:  # the root covers every body page
        if e.page not in root.pages:
            root.pages.append(e.page)
    _number(root)
    assign_keywords(root)
    return root


def _number(root: CCNode) -> None:
    """Ids in pre-order (``n0`` = root), depths top-down, heights bottom-up."""
    order: list[CCNode] = []
    stack: list[tuple[CCNode, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        node.id = f"n{len(order)}"
        node.depth = depth
        order.append(node)
        stack.extend((c, depth + 1) for c in reversed(node.children))
    for node in reversed(order):
        node.height = 1 + max((c.height for c in node.children), default=0)


# ------------------------------------------------------------------------------------- keywords

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers herself him himself his how i if in into is it its itself just
me more most my myself no nor not now of off on once only or other our ours ourselves out over own
same she should so some such than that the their theirs them themselves then there these they this
those through to too under until up very was we were what when where which while who whom why will
with would you your yours yourself yourselves per via may might must shall upon within without
page pages one two three etc
""".split())

_TOKEN = re.compile(r"[^\W_][\w\-./]*[^\W_]|[^\W\d_]")


def terms(text: str) -> list[str]:
    """Lower-cased terms of ≥ 3 characters with at least one letter (words, codes); no stopwords."""
    out = []
    for tok in _TOKEN.findall(text.lower()):
        tok = tok.strip("-./")
        if len(tok) < 3 or tok in STOPWORDS or not re.search(r"[^\W\d_]", tok):
            continue
        out.append(tok)
    return out


def keyword_budget(depth: int, height: int, child_budgets: list[int]) -> int:
    """MoDora's keyword count: 2 for a leaf, else
    ``ceil((depth + height - 1) / depth + log2((sum child budgets) ** 2) + 1)``."""
    if not child_budgets:
        return 2
    total = sum(child_budgets)
    return math.ceil((depth + height - 1) / depth + math.log2(total**2) + 1)


def assign_keywords(root: CCNode) -> None:
    """Budgets and TF-IDF keywords for every node, bottom-up (``depth``/``height`` must be set)."""
    order = list(root.iter())
    leaves = [n for n in order if not n.children]
    df: Counter[str] = Counter()
    for leaf in leaves:
        df.update(set(terms(f"{leaf.title} {leaf.text}")))
    n_docs = max(1, len(leaves))
    counts: dict[int, Counter[str]] = {}
    first_seen: dict[str, int] = {}
    for pos, t in enumerate(terms(root.subtree_text())):
        first_seen.setdefault(t, pos)
    for node in reversed(order):  # children before parents
        own: Counter[str] = Counter(terms(node.text))
        for t in terms(node.title):
            own[t] += 2
        for c in node.children:
            own.update(counts[id(c)])
        counts[id(node)] = own
        node.keyword_budget = keyword_budget(node.depth, node.height,
                                             [c.keyword_budget for c in node.children])

        def score(t: str, own: Counter[str] = own) -> tuple[float, int]:
            idf = math.log((1 + n_docs) / (1 + df.get(t, 0))) + 1.0
            return (-own[t] * idf, first_seen.get(t, 0))

        node.keywords = sorted(own, key=score)[: node.keyword_budget]


# ------------------------------------------------------------------------------------- location


def find_by_location(tree: CCNode, page: int, row: int, col: int) -> list[CCNode]:
    """Nodes with a box on ``page`` whose centre lies in cell (row, col) of a 3 × 3 grid (0-based;
    rows top→bottom, columns left→right; :func:`pipeline.document.grid.grid_cell`). A node with
    boxes in several cells is in each of those cells. The root and supplement containers are not
    returned."""
    if not (0 <= row <= 2 and 0 <= col <= 2):
        raise InputError(f"grid cell ({row}, {col}) is outside the 3x3 grid", "use 0, 1 or 2")
    sizes = tree.page_sizes or {}
    if page not in sizes:
        raise InputError(f"page {page} is not in the document", f"pages: {sorted(sizes)}")
    w, h = sizes[page]
    if w <= 0 or h <= 0:
        raise InputError(f"page {page} has no geometry (HTML input)",
                         "location questions need a PDF or an image")
    out = []
    for node in tree.iter():
        if node.kind in (NodeKind.ROOT, NodeKind.SUPPLEMENT):
            continue
        if any(b.page == page and grid_cell(b.bbox, w, h) == (row, col) for b in node.bboxes):
            out.append(node)
    return out
