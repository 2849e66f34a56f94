"""Block trees: split a cleaned page into blocks of at most ``max_words`` words; render subsets.

A *block* is either a whole element subtree (``kind="element"``) or a run of at most ``max_words``
words of one text node that sits directly under a split element (``kind="text"``; HtmlRAG's
"non-leaf" block, made finer so a page that is one huge paragraph can still be pruned). Blocks come
in document order (depth-first, unlike the reference's breadth-first order) and every word of the
page is in exactly one block.

Paths are XPaths into the cleaned page (``/html/body/div[2]/p``, index only where same-name
siblings exist, exactly like ``lxml``'s ``getpath``); text blocks end in ``/text()[k]`` and, when a
text node is chunked, ``#w<start>-<end>`` (word range). Tags are never renamed — the reference
package renames siblings to ``p0``/``p1`` in its output; here the HtmlRAG-style names
(``tag_path``) exist only as the generative pruner's prompt vocabulary. ``Block.source`` maps back
to the element of the original (uncleaned) document.

Rendering (:func:`render`) keeps the chosen blocks, in document order, inside their ancestor tags
and nothing else; the result is well-formed. Walks are iterative (no recursion limit).
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from prunestack.cancel import checkpoint
from prunestack.errors import ConfigError
from prunestack.retrieval.clean import (
    INLINE,
    CleanConfig,
    Node,
    _start,
    clean_tree,
    serialize,
    source_path,
)

_WORD = re.compile(r"\S+")  # the words of str.split(): \s is the same Unicode whitespace


@lru_cache(maxsize=32)
def split_words(text: str) -> tuple[str, ...]:
    """``text.split()``, cached: every chunk of one huge text node needs the same split, and
    redoing it per chunk made a page that is one long text quadratic (a str caches its hash, so
    a hit costs O(1))."""
    return tuple(text.split())


@lru_cache(maxsize=32)
def word_offsets(text: str) -> tuple[tuple[int, int], ...]:
    """``(start, end)`` character offsets of each whitespace-separated word of ``text``."""
    return tuple(m.span() for m in _WORD.finditer(text))


def word_slice(text: str, start: int, end: int) -> str:
    """Words [start, end) of ``text`` with the whitespace between them as it is (a chunk of a
    ``<pre>`` keeps its newlines and indentation; cleaned text has single spaces anyway)."""
    offs = word_offsets(text)
    return text[offs[start][0]:offs[end - 1][1]] if end > start else ""


def spaced_text(node: Node, lo: int = 0, hi: int | None = None) -> str:
    """Text of children [lo, hi) of ``node`` with a space at the edges of every non-inline
    element, whitespace collapsed: ``<li>Home</li><li>News</li>`` reads "Home News" and
    ``<td>Weight</td><td>1.6 kg</td>`` "Weight 1.6 kg" (pages without whitespace between list
    items or cells glued words together, so "Weight1.6" matched neither query word)."""
    return " ".join(node.raw_text(lo, hi, inline=INLINE).split())


@dataclass(eq=False, slots=True)
class Block:
    node: Node  # element block: the element; text block: the element the text sits in
    path: str
    kind: Literal["element", "text", "run"]
    words: int
    tag_path: tuple[str, ...]  # HtmlRAG-style names ("div2"), for the generative prompt only
    child_index: int = -1  # text block: index of the text in node.children
    span: tuple[int, int] = (0, 0)  # text: word range [start, end); run: child range [lo, hi)

    @property
    def text(self) -> str:
        if self.kind == "element":
            return spaced_text(self.node)
        if self.kind == "run":
            return spaced_text(self.node, *self.span)
        words = split_words(str(self.node.children[self.child_index]))
        return " ".join(words[self.span[0]:self.span[1]])

    @property
    def html(self) -> str:
        if self.kind == "element":
            return serialize(self.node)
        if self.kind == "run":
            return "".join(htmllib.escape(c, quote=False) if isinstance(c, str) else serialize(c)
                           for c in self.node.children[self.span[0]:self.span[1]])
        text = str(self.node.children[self.child_index])
        return htmllib.escape(word_slice(text, *self.span), quote=False)

    @property
    def source_path(self) -> str | None:
        """XPath of the element in the original, uncleaned document that holds this block (for
        text and run blocks: the element their text sits in)."""
        return source_path(self.node)

    def ancestors(self) -> list[Node]:
        """Elements that must be opened around this block (innermost first)."""
        anc = self.node.ancestors()
        return anc if self.kind == "element" else [self.node, *anc]


@dataclass
class BlockTree:
    root: Node
    blocks: list[Block]
    max_words: int
    _words: dict[int, int] = field(default_factory=dict, repr=False)

    def refine(self, blocks: Iterable[Block], max_words: int) -> list[Block]:
        """Split the given blocks further to ``max_words`` (document order kept)."""
        out: list[Block] = []
        for b in blocks:
            if b.words <= max_words:
                out.append(b)
            elif b.kind == "element":
                out.extend(_split(b.node, b.path, b.tag_path, max_words, self._words))
            elif b.kind == "run":
                ppath = b.path.rsplit("/node()", 1)[0]
                out.extend(_split(b.node, ppath, b.tag_path, max_words, self._words,
                                  ("group", b.node, b.span[0], b.span[1], ppath, b.tag_path)))
            else:
                words = split_words(str(b.node.children[b.child_index]))
                for s, e in chunk_spans(words, max_words, *b.span):
                    out.append(Block(b.node, _chunk_path(b.path, s, e), "text", e - s,
                                     b.tag_path, b.child_index, (s, e)))
        return out


def word_counts(root: Node) -> dict[int, int]:
    """Words of every element's subtree, keyed by ``id(node)`` (bottom-up, iterative)."""
    words: dict[int, int] = {}
    for node in reversed(list(root.iter_nodes())):
        words[id(node)] = sum(words[id(c)] if isinstance(c, Node) else len(c.split())
                              for c in node.children)
    return words


def _child_names(node: Node) -> list[tuple[Node, str, str]]:
    """(child, xpath step, HtmlRAG name) for element children, in order."""
    totals: dict[str, int] = {}
    for c in node.children:
        if isinstance(c, Node):
            totals[c.tag] = totals.get(c.tag, 0) + 1
    seen: dict[str, int] = {}
    out = []
    for c in node.children:
        if isinstance(c, Node):
            k = seen.get(c.tag, 0)
            seen[c.tag] = k + 1
            dup = totals[c.tag] > 1
            out.append((c, f"{c.tag}[{k + 1}]" if dup else c.tag, f"{c.tag}{k}" if dup else c.tag))
    return out


def _ends_sentence(word: str) -> bool:
    """``end.`` / ``end?!`` / ``end."`` / ``end.)``."""
    return word[-1] in ".!?" or (len(word) > 1 and word[-2] in ".!?" and word[-1] in "\"')]’”")


def chunk_spans(words: Sequence[str], max_words: int, start: int = 0,
                end: int | None = None) -> list[tuple[int, int]]:
    """Word ranges of at most ``max_words``, cut after a sentence end (``.!?``) where possible."""
    end = len(words) if end is None else end
    spans: list[tuple[int, int]] = []
    s = start
    while s < end:
        e = min(s + max_words, end)
        if e < end:
            cut = next((j + 1 for j in range(e - 1, s - 1, -1) if _ends_sentence(words[j])),
                       None)
            if cut is not None and cut - s >= max(1, max_words // 3):
                e = cut
        spans.append((s, e))
        s = e
    return spans


def _chunk_path(base: str, start: int, end: int) -> str:
    base = base.split("#", 1)[0]
    return f"{base}#w{start}-{end}"


def _split(node: Node, path: str, tag_path: tuple[str, ...], max_words: int,
           words: dict[int, int], first: tuple | None = None) -> list[Block]:
    """Blocks under ``node`` in document order: subtrees within ``max_words`` become element
    blocks, bigger ones are opened; inside an opened element, consecutive text and small inline
    elements are grouped into runs of at most ``max_words`` (so a sentence with a link stays one
    block); a text node over ``max_words`` is cut into sentence-aligned chunks."""
    out: list[Block] = []
    stack: list[tuple] = [first or ("node", node, path, tag_path)]
    while stack:
        if len(out) % 256 == 0:
            checkpoint("HTML blocks")
        item = stack.pop()
        kind = item[0]
        if kind == "text":
            _, parent, idx, ppath, ptp, k = item
            tw_words = split_words(str(parent.children[idx]))
            tw = len(tw_words)
            tpath = f"{ppath}/text()[{k}]" if k else f"{ppath}/text()"
            if tw <= max_words:
                out.append(Block(parent, tpath, "text", tw, ptp, idx, (0, tw)))
            else:
                for s, e in chunk_spans(tw_words, max_words):
                    out.append(Block(parent, _chunk_path(tpath, s, e), "text", e - s, ptp, idx,
                                     (s, e)))
        elif kind == "run":
            _, parent, lo, hi, ppath, ptp, w = item
            rpath = f"{ppath}/node()[position()>={lo + 1} and position()<={hi}]"
            out.append(Block(parent, rpath, "run", w, ptp, lo, (lo, hi)))
        elif kind == "node":
            _, n, npath, ntp = item
            w = words[id(n)]
            if w <= max_words:
                if w > 0:
                    out.append(Block(n, npath, "element", w, ntp))
            else:
                stack.append(("group", n, 0, len(n.children), npath, ntp))
        else:  # "group": children [lo, hi) of an opened element
            _, n, lo, hi, npath, ntp = item
            stack.extend(reversed(_group(n, lo, hi, npath, ntp, max_words, words)))
    return out


def _blank(c: Node | str) -> bool:
    return isinstance(c, str) and c.isspace()


def _group(n: Node, lo: int, hi: int, npath: str, ntp: tuple[str, ...], max_words: int,
           words: dict[int, int]) -> list[tuple]:
    """Work items for children [lo, hi) of ``n``: runs of text + small inline elements, big texts,
    and other elements, in order."""
    names = {id(c): (step, name) for c, step, name in _child_names(n)}
    text_k: dict[int, int] = {}
    for idx, c in enumerate(n.children):
        if isinstance(c, str):
            text_k[idx] = len(text_k) + 1  # XPath counts every text node, blank ones too
    many_texts = len(text_k) > 1
    items: list[tuple] = []
    run: list[int] = []
    run_words = 0

    def single(idx: int) -> tuple:
        c = n.children[idx]
        if isinstance(c, str):
            return ("text", n, idx, npath, ntp, text_k[idx] if many_texts else 0)
        step, name = names[id(c)]
        return ("node", c, f"{npath}/{step}", (*ntp, name))

    def flush() -> None:
        nonlocal run, run_words
        content = [i for i in run if not _blank(n.children[i])]
        if run_words > 0:
            if len(content) == 1:
                items.append(single(content[0]))
            else:
                items.append(("run", n, content[0], content[-1] + 1, npath, ntp, run_words))
        run, run_words = [], 0

    for idx in range(lo, hi):
        c = n.children[idx]
        w = len(c.split()) if isinstance(c, str) else words[id(c)]
        groupable = w <= max_words and (isinstance(c, str) or c.tag in INLINE)
        if not groupable:
            flush()
            items.append(single(idx))
            continue
        if run_words + w > max_words:
            flush()
        run.append(idx)
        run_words += w
    flush()
    return items


def build_block_tree(html: str | bytes | Node, max_words: int = 256,
                     config: CleanConfig | None = None) -> BlockTree | None:
    """Clean (if given a string) and split a page into blocks; ``None`` for a page without text."""
    if max_words < 1:
        raise ConfigError(f"max_words must be >= 1, got {max_words}")
    root = html if isinstance(html, Node) else clean_tree(html, config)
    if root is None:
        return None
    words = word_counts(root)
    blocks = _split(root, "/" + root.tag, (root.tag,), max_words, words)
    return BlockTree(root, blocks, max_words, words)


SKELETON = frozenset({"html", "head", "body"})


def render(root: Node, selected: Sequence[Block], skeleton: bool = True) -> str:
    """HTML with only ``selected`` blocks, in document order, inside their ancestor tags.

    ``skeleton=False`` leaves out the ``html``/``head``/``body`` tags themselves (not their
    content), for embedding several pages' fragments in one context.
    """
    if not selected:
        return ""
    full: set[int] = set()
    opened: set[int] = set()
    texts: dict[tuple[int, int], list[tuple[int, int]]] = {}
    in_runs: set[tuple[int, int]] = set()  # (parent, child index) kept whole by a run block
    for b in selected:
        if b.kind == "element":
            full.add(id(b.node))
        elif b.kind == "run":
            in_runs.update((id(b.node), i) for i in range(*b.span))
        else:
            texts.setdefault((id(b.node), b.child_index), []).append(b.span)
        for a in b.ancestors():
            if id(a) in opened:
                break
            opened.add(id(a))
    if skeleton and id(root) in full:
        return serialize(root)
    out: list[str] = []
    # stack items: (node, whole subtree?) | ("end", html) | ("text", parent, index)
    stack: list[tuple] = [(root, id(root) in full)]
    while stack:
        item = stack.pop()
        if item[0] == "end":
            out.append(item[1])
            continue
        if item[0] == "text":
            parent, idx = item[1], item[2]
            out.append(_render_text(str(parent.children[idx]), texts[(id(parent), idx)]))
            continue
        node, whole = item
        if whole and (skeleton or node.tag not in SKELETON):
            out.append(serialize(node))
            continue
        if skeleton or node.tag not in SKELETON:
            out.append(_start(node))
            stack.append(("end", f"</{node.tag}>"))
        items: list[tuple] = []
        sep = False  # a blank text node (not part of any block) separates kept siblings
        for idx, c in enumerate(node.children):
            keep: tuple | None = None
            if (id(node), idx) in in_runs:
                keep = ("end", htmllib.escape(c, quote=False)) if isinstance(c, str) else (c, True)
            elif isinstance(c, str):
                if whole:
                    keep = ("end", htmllib.escape(c, quote=False))
                elif c.isspace():
                    sep = True
                elif (id(node), idx) in texts:
                    keep = ("text", node, idx)
            elif whole or id(c) in full:
                keep = (c, True)
            elif id(c) in opened:
                keep = (c, False)
            if keep is not None:
                if sep and items:
                    items.append(("end", " "))
                items.append(keep)
                sep = False
        stack.extend(reversed(items))
    return "".join(out)


def _render_text(text: str, spans: list[tuple[int, int]]) -> str:
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:  # adjacent chunks: keep the whitespace between them
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    body = htmllib.escape(" ".join(word_slice(text, s, e) for s, e in merged), quote=False)
    lead = " " if text[:1].isspace() else ""
    trail = " " if text[-1:].isspace() else ""
    return lead + body + trail


TABLE_PARTS = frozenset({"thead", "tbody", "tfoot"})


def _header_row(table: Node) -> Node | None:
    """The first row of ``table`` (not of a nested table) that holds a ``<th>``, else ``None``."""
    stack: list[Node] = [c for c in reversed(table.children) if isinstance(c, Node)]
    while stack:
        n = stack.pop()
        if n.tag == "tr":
            if any(isinstance(c, Node) and c.tag == "th" for c in n.children):
                return n
        elif n.tag in TABLE_PARTS:
            stack.extend(c for c in reversed(n.children) if isinstance(c, Node))
    return None


def table_header_blocks(blocks: Sequence[Block]) -> dict[int, list[int]]:
    """For each block inside a table row that is not the header row: the indices of the blocks
    that hold that table's header row (and caption), so a kept cell keeps its column names.
    Tables that fit in one block need nothing; blocks of the header row map to nothing."""
    tables: dict[int, tuple[Node, Node | None]] = {}
    owner: dict[int, int] = {}  # block index -> id(table) of its innermost enclosing table
    for i, b in enumerate(blocks):
        for a in b.ancestors():
            if a.tag == "table":
                if id(a) not in tables:
                    tables[id(a)] = (a, _header_row(a))
                owner[i] = id(a)
                break
    if not owner:
        return {}
    out: dict[int, list[int]] = {}
    cover: dict[int, list[int]] = {}
    members: dict[int, list[int]] = {}  # id(table) -> its blocks (one pass, not one per table)
    for i, tid in owner.items():
        members.setdefault(tid, []).append(i)
    for tid, (table, head) in tables.items():
        if head is None:
            continue
        caption = next((c for c in table.children if isinstance(c, Node) and c.tag == "caption"),
                       None)
        wanted = {id(head)} | ({id(caption)} if caption is not None else set())
        head_up: set[int] = set()  # thead / tbody around the header row
        for a in head.ancestors():
            if a is table:
                break
            head_up.add(id(a))
        idx = []
        for j in members.get(tid, ()):
            b = blocks[j]
            chain = {id(b.node)} | {id(a) for a in b.node.ancestors()}
            if chain & wanted or (b.kind == "element" and id(b.node) in head_up):
                idx.append(j)
        cover[tid] = idx
    for i, tid in owner.items():
        idx = cover.get(tid, [])
        if idx and i not in idx:
            out[i] = idx
    return out
