"""Clean web HTML for RAG: keep what a reader needs, drop everything else, stay well-formed.

What it does (HtmlRAG's ``clean_html``, made fast and structure-safe):

- decodes bytes with :func:`parsers.charset.decode_html`, the decoder ``parsers.html`` uses (an
  explicit encoding, else BOM, ``<meta charset>`` or XML declaration read as browsers do, else
  strict UTF-8 — undecodable bytes are an error, never silent mojibake), parses with lxml (C,
  linear) and walks the tree iteratively (no recursion, so deep nesting cannot raise
  ``RecursionError``);
- drops scripts, styles, comments, doctype/processing instructions, form controls, embedded media,
  hidden elements (:mod:`parsers.visibility`, the rule ``parsers.html`` uses too: ``hidden`` but
  not ``hidden="until-found"``, ``aria-hidden="true"``, ``display:none``, except panels an
  accordion toggle controls) and every attribute except ``colspan`` / ``rowspan`` on table cells
  and, optionally, ``href`` on links;
- drops elements without text (empty table cells of a kept row stay, so columns do not shift);
- unwraps wrappers whose single element child holds all their text, removing the *generic* one of
  the pair (``div``/``span``...) and keeping semantic tags and table/list structure intact;
- drops invisible characters (soft hyphens, zero-width spaces: they split words for search) and
  collapses whitespace (except inside ``pre``).

It does not decide relevance (see :mod:`retrieval.prune`) and does not render or run JavaScript.
The cleaned tree is a light :class:`Node` tree; each node remembers the lxml element it came from,
so block paths can map back to the original document (:func:`source_path`).
"""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from prunestack.cancel import checked
from prunestack.errors import TooLargeError
from prunestack.parsers.charset import decode_html, visible
from prunestack.parsers.visibility import hidden_rule

# Subtrees removed entirely (their tail text stays).
DROP_TAGS = frozenset({
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math", "canvas",
    "video", "audio", "source", "track", "picture", "map", "meta", "link", "base", "input",
    "button", "select", "option", "optgroup", "textarea", "datalist", "dialog", "img", "area",
})
# Never unwrapped: the root skeleton and the table / list structure a reader needs.
STRUCTURAL = frozenset({
    "html", "head", "body", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption",
    "colgroup", "ul", "ol", "li", "dl", "dt", "dd",
})
# Wrappers with no meaning of their own: removed first when a pair is unwrapped.
GENERIC = frozenset({
    "div", "span", "font", "center", "big", "small", "nobr", "tt", "u", "form", "label", "fieldset",
})
# Elements that separate words: replaced by a space when dropped.
BREAKS = frozenset({"br", "hr", "p", "div", "li", "tr", "td", "th", "table", "section", "img"})
CELLS = frozenset({"td", "th"})
INLINE = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "i", "kbd", "mark", "q",
    "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "font", "big", "tt",
    "del", "ins", "label", "nobr",
})
_WS = re.compile(r"\s+")
_XML_DECL = re.compile(r"^\ufeff?\s*<\?xml[^>]*\?>")


class CleanConfig(BaseModel):
    """Options a user may set for cleaning."""

    model_config = ConfigDict(extra="forbid")

    keep_href: bool = False
    max_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    drop_hidden: bool = True


@dataclass(eq=False, slots=True)
class Node:
    """An element of the cleaned tree. ``children`` holds ``Node`` and ``str`` (text) in order."""

    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Node | str] = field(default_factory=list, repr=False)
    parent: Node | None = field(default=None, repr=False)
    source: Any = field(default=None, repr=False)  # the lxml element of the original document

    def iter_nodes(self):
        """Pre-order (document order) iteration over element nodes, iterative."""
        stack: list[Node] = [self]
        while stack:
            n = stack.pop()
            yield n
            stack.extend(c for c in reversed(n.children) if isinstance(c, Node))

    def ancestors(self) -> list[Node]:
        out, p = [], self.parent
        while p is not None:
            out.append(p)
            p = p.parent
        return out

    def text(self) -> str:
        """All text of the subtree, in order, whitespace-collapsed."""
        return _WS.sub(" ", self.raw_text()).strip()

    def raw_text(self, lo: int = 0, hi: int | None = None,
                 inline: frozenset[str] | None = None) -> str:
        """Concatenated text of children [lo, hi) and their subtrees, whitespace as is; with
        ``inline``, every element whose tag is not in it gets a space on each side."""
        parts: list[str] = []
        stack: list[Node | str] = list(reversed(self.children[lo:hi]))
        while stack:
            n = stack.pop()
            if isinstance(n, str):
                parts.append(n)
            else:
                if inline is not None and n.tag not in inline:
                    parts.append(" ")
                    stack.append(" ")
                stack.extend(reversed(n.children))
        return "".join(parts)


# ---------------------------------------------------------------------------- decoding and parsing

def parse_html(text: str, max_bytes: int = 32 * 1024 * 1024) -> Any:
    """Parse with lxml; returns the root element or ``None`` for a page with no elements.

    lxml silently truncates documents nested deeper than its hard limit (256 levels, 2048 with
    ``huge_tree``); we raise :class:`TooLargeError` instead of losing the rest of the page.
    """
    from lxml import etree

    if len(text) > max_bytes:
        raise TooLargeError(f"page has {len(text):,} characters, over the limit of {max_bytes:,}",
                            "raise max_bytes or split the page")
    # lxml refuses a str that starts with an XML declaration naming an encoding (XHTML pages)
    text = _XML_DECL.sub("", text.replace("\x00", ""), count=1)
    if not text.strip():
        return None
    parser = etree.HTMLParser(huge_tree=True, remove_comments=True, remove_pis=True,
                              no_network=True, recover=True)
    root = etree.fromstring(text, parser)
    for err in parser.error_log:
        if err.level_name == "FATAL" and "depth" in err.message.lower():
            raise TooLargeError(f"HTML nesting is deeper than the parser's limit: {err.message}",
                                "the page is malformed or adversarial; flatten it first")
    return root


# ----------------------------------------------------------------------------------- tree building

def _is_toggle(el: Any) -> bool:
    """A disclosure button (``aria-expanded``): its text is the question / section heading."""
    return el.get("aria-expanded") is not None or el.get("aria-controls") is not None


def _keep_attrs(tag: str, el: Any, cfg: CleanConfig) -> dict[str, str]:
    out: dict[str, str] = {}
    if tag in CELLS:
        for k in ("colspan", "rowspan"):
            v = el.get(k)
            if v and v.strip().isdigit() and v.strip() != "1":
                out[k] = v.strip()
    elif tag == "a" and cfg.keep_href:
        href = (el.get("href") or "").strip()
        if href and not href.lower().startswith("javascript:"):
            out["href"] = href
    return out


def _build(root: Any, cfg: CleanConfig) -> Node:
    """lxml tree -> Node tree, skipping dropped subtrees; iterative."""
    from lxml import etree

    top = Node("#root")
    stack: list[Node] = [top]
    walker = etree.iterwalk(root, events=("start", "end"))
    skipped: Any = None  # the element whose subtree is being skipped (its end event still comes)
    hidden = hidden_rule(root) if cfg.drop_hidden else None
    for event, el in checked(walker, "HTML cleaning", 4096):
        tag = el.tag if isinstance(el.tag, str) else None
        if event == "start":
            if tag is not None and tag.lower() == "button" and _is_toggle(el):
                tag = "span"  # an accordion button's text is the heading: keep it as text
            elif tag is None or tag.lower() in DROP_TAGS or (hidden is not None and hidden(el)):
                walker.skip_subtree()
                skipped = el
                parent = stack[-1]
                if tag is not None and tag.lower() in BREAKS:
                    parent.children.append(" ")
                if el.tail:
                    parent.children.append(visible(el.tail))
                continue
            tag = tag.lower()
            node = Node(tag, _keep_attrs(tag, el, cfg), [], stack[-1], el)
            stack[-1].children.append(node)
            stack.append(node)
            if el.text:
                node.children.append(visible(el.text))
        else:
            if el is skipped or tag is None:
                skipped = None
                continue
            stack.pop()
            if el.tail:
                stack[-1].children.append(visible(el.tail))
    return top


def _has_text(s: str) -> bool:
    return bool(s) and not s.isspace()


def _simplify(top: Node) -> None:
    """Drop text-less elements, unwrap single-child wrappers; bottom-up, iterative."""
    order = list(top.iter_nodes())
    has_text: dict[int, bool] = {}
    for node in reversed(order):  # children before parents
        kids: list[Node | str] = []
        run: list[str] = []  # adjacent text, joined once (``+=`` per piece was quadratic:
        for c in node.children:  # 150k <br>-separated lines took 40 s)
            if isinstance(c, str):
                run.append(c)
            elif has_text[id(c)] or (c.tag in CELLS and node.tag == "tr"):
                if run:
                    kids.append("".join(run))
                    run = []
                kids.append(c)
            elif c.tag not in INLINE:
                run.append(" ")
        if run:
            kids.append("".join(run))
        node.children = kids
        has_text[id(node)] = any(
            (has_text[id(c)] if isinstance(c, Node) else _has_text(c)) for c in kids)
        elements = [c for c in kids if isinstance(c, Node)]
        if (len(elements) != 1 or any(isinstance(c, str) and _has_text(c) for c in kids)
                or node.tag == "#root"):
            continue
        child = elements[0]
        if node.tag not in STRUCTURAL and node.tag in GENERIC and child.tag not in CELLS | {"li"}:
            # outer is a plain wrapper: the child takes its place (done when the parent is visited)
            node.tag, node.attrs, node.children, node.source = (
                child.tag, child.attrs, child.children, child.source)
            for c in node.children:
                if isinstance(c, Node):
                    c.parent = node
        elif child.tag in GENERIC and child.tag not in STRUCTURAL:
            node.children = list(child.children)
            for c in node.children:
                if isinstance(c, Node):
                    c.parent = node
    # final whitespace tidy (not inside <pre>): collapse runs, trim at the edges of each element
    stack: list[tuple[Node, bool]] = [(top, False)]
    while stack:
        node, in_pre = stack.pop()
        in_pre = in_pre or node.tag == "pre"
        kids = node.children
        if not in_pre:
            for i, c in enumerate(kids):
                if isinstance(c, str) and ("  " in c or "\n" in c or "\t" in c or "\r" in c
                                           or "\xa0" in c or "\f" in c or "\v" in c):
                    kids[i] = _WS.sub(" ", c)
            if node.tag not in INLINE:  # an inline edge space may be the only word separator
                if kids and isinstance(kids[0], str):
                    kids[0] = kids[0].lstrip()
                if kids and isinstance(kids[-1], str):
                    kids[-1] = kids[-1].rstrip()
            if any(isinstance(c, str) and not c for c in kids):
                node.children = kids = [c for c in kids if not (isinstance(c, str) and not c)]
        stack.extend((c, in_pre) for c in kids if isinstance(c, Node))


def clean_tree(html: str | bytes, config: CleanConfig | None = None,
               encoding: str | None = None) -> Node | None:
    """Clean a page into a :class:`Node` tree rooted at ``<html>``; ``None`` when it has no text."""
    cfg = config or CleanConfig()
    if isinstance(html, bytes) and len(html) > cfg.max_bytes:
        raise TooLargeError(f"page has {len(html):,} bytes, over the limit of {cfg.max_bytes:,}",
                            "raise max_bytes or split the page")
    root = parse_html(decode_html(html, encoding), cfg.max_bytes)
    if root is None:
        return None
    top = _build(root, cfg)
    _simplify(top)
    elements = [c for c in top.children if isinstance(c, Node)]
    if not elements:
        return None
    out = elements[0]
    if out.tag != "html" or len(elements) > 1:
        out = Node("html", {}, list[Node | str](elements), None, root)
        for c in elements:
            c.parent = out
    out.parent = None
    return out


# ---------------------------------------------------------------------------------- serialisation

def _start(node: Node) -> str:
    if not node.attrs:
        return f"<{node.tag}>"
    attrs = "".join(f' {k}="{htmllib.escape(v, quote=True)}"' for k, v in node.attrs.items())
    return f"<{node.tag}{attrs}>"


def serialize(node: Node) -> str:
    """Compact, well-formed HTML for a subtree (iterative; text escaped)."""
    out: list[str] = []
    stack: list[Node | str | tuple[str]] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            out.append(item[0])
        elif isinstance(item, str):
            out.append(htmllib.escape(item, quote=False))
        else:
            out.append(_start(item))
            stack.append((f"</{item.tag}>",))
            stack.extend(reversed(item.children))
    return "".join(out)


def clean_html(html: str | bytes, config: CleanConfig | None = None,
               encoding: str | None = None) -> str:
    """Cleaned, well-formed HTML (``""`` for a page without text). See the module docstring."""
    tree = clean_tree(html, config, encoding)
    return serialize(tree) if tree is not None else ""


def source_path(node: Node) -> str | None:
    """XPath of the element in the ORIGINAL parsed document that ``node`` came from."""
    el = node.source
    if el is None:
        return None
    return el.getroottree().getpath(el)
