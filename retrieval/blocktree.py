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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from prunestack.errors import ConfigError
from retrieval.clean import CleanConfig, Node, _start, clean_tree, serialize, source_path


@dataclass(eq=False, slots=True)
class Block:
    node: Node  # element block: the element; text block: the element the text sits in
    path: str
    kind: Literal["element", "text"]
    words: int
    tag_path: tuple[str, ...]  # HtmlRAG-style names ("div2"), for the generative prompt only
    child_index: int = -1  # text block: index of the text in node.children
    span: tuple[int, int] = (0, 0)  # text block: word range [start, end) of that text

    @property
    def text(self) -> str:
        if self.kind == "element":
            return self.node.text()
        words = str(self.node.children[self.child_index]).split()
        return " ".join(words[self.span[0]:self.span[1]])

    @property
    def html(self) -> str:
        if self.kind == "element":
            return serialize(self.node)
        return htmllib.escape(self.text, quote=False)

    @property
    def source_path(self) -> str | None:
        """XPath of the corresponding element in the original, uncleaned document."""
        sp = source_path(self.node)
        if sp is None or self.kind == "element":
            return sp
        return sp + "/text()"

    def ancestors(self) -> list[Node]:
        """Elements that must be opened around this block (innermost first)."""
        anc = self.node.ancestors()
        return [self.node, *anc] if self.kind == "text" else anc


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
            else:
                start, end = b.span
                for s in range(start, end, max_words):
                    e = min(s + max_words, end)
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


def _chunk_path(base: str, start: int, end: int) -> str:
    base = base.split("#", 1)[0]
    return f"{base}#w{start}-{end}"


def _split(node: Node, path: str, tag_path: tuple[str, ...], max_words: int,
           words: dict[int, int]) -> list[Block]:
    """Blocks under ``node`` in document order: subtrees within ``max_words`` become element
    blocks, bigger ones are opened, direct text of an opened element becomes text blocks."""
    out: list[Block] = []
    # stack items: (node, path, tag_path) to consider, or (parent, text index, parent path, tp)
    stack: list[tuple] = [("node", node, path, tag_path)]
    while stack:
        item = stack.pop()
        if item[0] == "text":
            _, parent, idx, ppath, ptp, k = item
            tw = len(str(parent.children[idx]).split())
            tpath = f"{ppath}/text()[{k}]" if k else f"{ppath}/text()"
            if tw <= max_words:
                out.append(Block(parent, tpath, "text", tw, ptp, idx, (0, tw)))
            else:
                for s in range(0, tw, max_words):
                    e = min(s + max_words, tw)
                    out.append(Block(parent, _chunk_path(tpath, s, e), "text", e - s, ptp, idx,
                                     (s, e)))
            continue
        _, n, npath, ntp = item
        w = words[id(n)]
        if w <= max_words:
            if w > 0:
                out.append(Block(n, npath, "element", w, ntp))
            continue
        names = {id(c): (step, name) for c, step, name in _child_names(n)}
        n_texts = sum(1 for c in n.children if isinstance(c, str))
        pending: list[tuple] = []
        k = 0
        for idx, c in enumerate(n.children):
            if isinstance(c, str):
                k += 1  # XPath counts every text node, blank ones too
                if c.strip():
                    pending.append(("text", n, idx, npath, ntp, k if n_texts > 1 else 0))
            else:
                step, name = names[id(c)]
                pending.append(("node", c, f"{npath}/{step}", (*ntp, name)))
        stack.extend(reversed(pending))
    return out


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


def render(root: Node, selected: Sequence[Block]) -> str:
    """HTML with only ``selected`` blocks, in document order, inside their ancestor tags."""
    if not selected:
        return ""
    full: set[int] = set()
    opened: set[int] = set()
    texts: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for b in selected:
        if b.kind == "element":
            full.add(id(b.node))
        else:
            texts.setdefault((id(b.node), b.child_index), []).append(b.span)
        for a in b.ancestors():
            if id(a) in opened:
                break
            opened.add(id(a))
    if id(root) in full:
        return serialize(root)
    out: list[str] = []
    stack: list[Node | tuple[str] | tuple[int, int, Node]] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            if len(item) == 1:
                out.append(item[0])
            else:
                parent, idx = item[2], item[1]
                out.append(_render_text(str(parent.children[idx]),
                                        texts[(id(parent), idx)]))
            continue
        out.append(_start(item))
        stack.append((f"</{item.tag}>",))
        for idx in range(len(item.children) - 1, -1, -1):
            c = item.children[idx]
            if isinstance(c, str):
                if (id(item), idx) in texts:
                    stack.append((0, idx, item))
            elif id(c) in full:
                stack.append((serialize(c),))
            elif id(c) in opened:
                stack.append(c)
    return "".join(out)


def _render_text(text: str, spans: list[tuple[int, int]]) -> str:
    words = text.split()
    parts = [" ".join(words[s:e]) for s, e in sorted(spans)]
    body = htmllib.escape(" ".join(parts), quote=False)
    lead = " " if text[:1].isspace() else ""
    trail = " " if text[-1:].isspace() else ""
    return lead + body + trail
