"""A boilerplate prior for blocks: demote navigation, cookie banners, share bars, related links.

Cleaning (:mod:`retrieval.clean`) is lossless about visible text on purpose — it keeps nav menus,
footers and cookie text — so the pruners alone decided what to keep, and on real pages a
"related stories" teaser or a nav menu that repeats the question's words out-scored the article
(a short block with the query terms wins BM25's length normalisation). This module gives every
block a prior ``p`` in [0, 1] (1 = certainly boilerplate) from two signals, as boilerpipe,
jusText and trafilatura do:

- *where it sits* in the ORIGINAL page (the cleaned tree has no attributes; each block maps back
  to its source element): walking up from the element, the first landmark decides —
  ``<nav>``/``<aside>``/``<footer>``, ``role=navigation|banner|contentinfo|complementary|...``, or a
  class/id naming boilerplate (cookie, consent, share, social, related, newsletter, comments,
  breadcrumb, sidebar, menu, ads..., also in ``aria-label``; phrases such as "you might also
  like", "see also") → 1; ``<main>``/``role=main``/an ``itemprop`` body → 0 (the article wins);
  an ``<article>`` → 0 unless a boilerplate landmark encloses it (teaser cards are articles
  too). A ``<header>`` counts (0.5) only outside ``<article>``/``<main>`` (an article's header
  holds its title and byline). ``<html>``/``<body>`` classes are ignored
  (``navigation-with-keyboard`` on a body says nothing about its blocks), and so are layout
  flags: a negator (``has``, ``with``, ``no``, ``and``, ...) *anywhere before* the word in the
  same class name cancels it (``has-sidebar``, ``no-ads``, ``page-and-w-sidebar``). Words of
  names (class, id, ``aria-label``) never demote an ``<article>`` or an element that holds most
  (> ``MAJORITY``) of the page's words — one word of a class list (``<article class="post
  url-breadcrumb">``, a page wrapper ``class="… and-w-sidebar"``) marked whole articles as
  boilerplate on 3 of 60 real news pages; tags and roles (``<nav>``, ``role=navigation``) still
  do;
- *link density*: the share of the block's words inside ``<a>`` (menus, tag lists, teaser grids),
  mapped linearly from 0 at 30 % to 1 at 80 %. Headings are exempt (titles are often links).

:func:`demote` scales a score by ``1 - weight * p`` (negative scores move further down), so the
order among main-content blocks is unchanged and boilerplate is kept only when nothing in the
main content matches as well. It never deletes a block: an answer that only a footer holds (a
street address) can still be kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from prunestack.retrieval.blocktree import Block
from prunestack.retrieval.clean import Node


class BoilerplateConfig(BaseModel):
    """How strongly blocks that look like page furniture are demoted (``weight=0`` turns it off)."""

    model_config = ConfigDict(extra="forbid")

    weight: float = Field(default=0.8, ge=0.0, le=1.0,
                          description="score × (1 − weight × prior); 0 = off, 1 = boilerplate "
                                      "blocks score 0")
    link_density_low: float = Field(default=0.3, ge=0.0, le=1.0,
                                    description="text-in-links share where the prior starts")
    link_density_high: float = Field(default=0.8, ge=0.0, le=1.0,
                                     description="text-in-links share where the prior is 1")


BOILER_TAGS = frozenset({"nav", "aside", "footer", "menu"})
HEADER_TAGS = frozenset({"header"})
MAIN_TAGS = frozenset({"article", "main"})
BOILER_ROLES = frozenset({
    "navigation", "banner", "contentinfo", "complementary", "dialog", "alertdialog", "search",
    "menubar", "menu", "toolbar",
})
MAIN_ROLES = frozenset({"main", "article"})
MAIN_ITEMPROPS = frozenset({"articlebody", "text", "description", "mainentity", "reviewbody"})
# class / id words (after splitting on -, _, spaces and camelCase), matched as prefixes
BOILER_PREFIXES = (
    "cookie", "consent", "gdpr", "onetrust", "cmplz", "share", "sharing", "social", "related",
    "similar", "newsletter", "subscribe", "signup", "comment", "respond", "breadcrumb", "sidebar",
    "navbar", "navbox", "navigation", "menu", "footer", "advert", "sponsor", "promo", "popular",
    "mostread", "trending", "recommend", "pagination", "skiplink", "signature", "announcement",
    "ticker", "feedback", "catlinks", "editsection", "taglist", "copyright", "disclosure",
    "disclaimer", "toc", "tableofcontents", "vote", "reflist",
    "login",
)
BOILER_WORDS = frozenset({
    "nav", "ad", "ads", "adslot", "tags", "topics", "skip", "legal", "postprofile", "references",
    "cart",
})
# "has-sidebar", "with-comments", "no-ads": a layout flag on the main wrapper, not boilerplate
NEGATORS = frozenset({"has", "with", "without", "no", "show", "hide", "and"})
HEADER_WORDS = frozenset({"header", "masthead", "topbar", "headerbar"})
BOILER_PHRASES = ("also like", "also on", "also bought", "also viewed", "see also", "more from",
                  "read next", "up next", "more stories")
ARTICLE = -2.0  # an <article>: main content unless a boilerplate landmark encloses it (teaser
# cards of a "related" grid are <article>s too)
HEADER_PRIOR = 0.5  # a header outside any article: site chrome, or a div-soup page's title
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
MAJORITY = 0.5  # share of the page's words above which an element is "most of the page"
UNCOUNTED = frozenset({"script", "style", "noscript", "template"})  # their text is not read
_SPLIT = re.compile(r"[\s\-_:/.]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def name_words(value: str) -> list[str]:
    """``"docSidebarContainer_YfHR nav-links"`` -> ``["doc", "sidebar", "container", "yf", "hr",
    "nav", "links"]`` (lower case)."""
    return [w.lower() for part in _SPLIT.split(value) for w in _CAMEL.split(part) if w]


def names_boiler(name: str, prose: bool = False) -> bool:
    """True when one class name (or id) names boilerplate: a boilerplate word or prefix with no
    negator anywhere before it in the same name (``"sidebar-left"`` yes, ``"has-sidebar"``,
    ``"page-and-w-sidebar"`` no). ``prose=True`` (an ``aria-label``): only the word right before
    negates ("Share and follow" is a share bar)."""
    words = name_words(name)
    return any((w in BOILER_WORDS or w.startswith(BOILER_PREFIXES))
               and not any(v in NEGATORS for v in words[max(0, i - 1) if prose else 0:i])
               for i, w in enumerate(words))


def _names_boiler(value: str) -> bool:
    """Any whitespace-separated name of an attribute value (a class list) names boilerplate."""
    return any(names_boiler(name) for name in value.split())


class PageWords:
    """Words of every element of an ORIGINAL (lxml) page, counted once, lazily: text and tails,
    scripts and styles excluded. ``holds_most(el)``: ``el`` holds more than ``MAJORITY`` of
    the page's words."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self._words: dict[Any, int] | None = None  # lxml element -> words (keeps proxies alive)

    def _count(self) -> dict[Any, int]:
        words: dict[Any, int] = {}
        for el in reversed(list(self.root.iter())):
            if not isinstance(el.tag, str) or el.tag.lower() in UNCOUNTED:
                words[el] = 0
                continue
            n = len((el.text or "").split())
            for c in el:
                n += words.get(c, 0) + len((c.tail or "").split())
            words[el] = n
        return words

    def holds_most(self, el: Any) -> bool:
        if self._words is None:
            self._words = self._count()
        total = self._words.get(self.root, 0)
        return total > 0 and self._words.get(el, 0) > MAJORITY * total


def landmark(el: Any, page: PageWords | None = None) -> float | None:
    """Prior from the element itself: 1.0 boilerplate, 0.0 main content (``<main>``,
    ``role=main``, an ``itemprop`` body), ``None`` no signal, ``-1.0`` a header-like element
    (counts only outside an article), ``ARTICLE`` an ``<article>`` (main content unless a
    boilerplate landmark encloses it). Names (class, id, ``aria-label``) never make an
    ``<article>``, nor an element holding most of ``page``'s words, boilerplate."""
    tag = el.tag.lower() if isinstance(el.tag, str) else ""
    if tag in ("html", "body"):
        return None
    role = (el.get("role") or "").strip().lower()
    itemprop = (el.get("itemprop") or "").strip().lower()
    if tag == "main" or role == "main" or itemprop in MAIN_ITEMPROPS:
        return 0.0
    if tag in BOILER_TAGS or role in BOILER_ROLES:
        return 1.0
    article = tag in MAIN_TAGS or role in MAIN_ROLES
    label = el.get("aria-label") or ""
    words = name_words(f"{el.get('class') or ''} {el.get('id') or ''} {label}")
    if not article and (_names_boiler(f"{el.get('class') or ''} {el.get('id') or ''}")
                        or names_boiler(label, prose=True)
                        or any(p in " ".join(words) for p in BOILER_PHRASES)):
        if page is None or not page.holds_most(el):
            return 1.0
    if article:
        return ARTICLE
    if tag in HEADER_TAGS or any(w in HEADER_WORDS for w in words):
        return -1.0
    return None


def structural_prior(el: Any, page: PageWords | None = None) -> float:
    """Walk from ``el`` up the ORIGINAL page: the nearest landmark decides (see module doc).
    ``page``: the page's :class:`PageWords` (so a wrapper holding most of the page is never
    boilerplate by name); built here when not given."""
    if page is None:
        page = PageWords(el.getroottree().getroot())
    header_seen = article_seen = False
    e = el
    while e is not None:
        mark = landmark(e, page)
        if mark == -1.0:
            header_seen = header_seen or not article_seen
        elif mark == ARTICLE:
            article_seen = True
        elif mark is not None:
            if mark == 0.0:
                return 0.0  # inside the main content (a header there is its title)
            return 1.0
        e = e.getparent()
    if article_seen:
        return 0.0  # an article no boilerplate landmark encloses
    return HEADER_PRIOR if header_seen else 0.0


def link_word_counts(root: Node) -> dict[int, int]:
    """Words inside ``<a>`` in every element's subtree, keyed by ``id(node)``; bottom-up."""
    out: dict[int, int] = {}
    for node in reversed(list(root.iter_nodes())):
        if node.tag == "a":
            out[id(node)] = len(node.text().split())
        else:
            out[id(node)] = sum(out[id(c)] for c in node.children if isinstance(c, Node))
    return out


def _block_link_words(b: Block, links: dict[int, int]) -> int:
    if b.kind == "element":
        return links.get(id(b.node), 0)
    if b.kind == "run":
        return sum(links.get(id(c), 0) for c in b.node.children[b.span[0]:b.span[1]]
                   if isinstance(c, Node))
    return b.words if b.node.tag == "a" else 0


def block_priors(root: Node, blocks: Sequence[Block],
                 config: BoilerplateConfig | None = None,
                 links: dict[int, int] | None = None) -> np.ndarray:
    """Boilerplate prior of each block, float [n_blocks] in [0, 1]. ``links``: the page's
    :func:`link_word_counts` when the caller already has them (one walk per page, not per call)."""
    cfg = config or BoilerplateConfig()
    if links is None:
        links = link_word_counts(root)
    lo, hi = cfg.link_density_low, max(cfg.link_density_high, cfg.link_density_low + 1e-6)
    cache: dict[int, float] = {}
    page: PageWords | None = None
    out = np.zeros(len(blocks), dtype=np.float64)  # [n_blocks]
    for i, b in enumerate(blocks):
        src = b.node.source
        if src is not None and isinstance(getattr(src, "tag", None), str):
            key = id(b.node)
            if key not in cache:
                if page is None:
                    page = PageWords(src.getroottree().getroot())
                cache[key] = structural_prior(src, page)
            structural = cache[key]
        else:
            structural = 0.0
        density = 0.0
        in_heading = b.node.tag in HEADINGS or any(a.tag in HEADINGS for a in b.node.ancestors())
        if b.words > 0 and not in_heading:
            ld = _block_link_words(b, links) / b.words
            density = min(1.0, max(0.0, (ld - lo) / (hi - lo)))
        out[i] = max(structural, density)
    return out


def demote(scores: np.ndarray, priors: np.ndarray, weight: float) -> np.ndarray:
    """``scores × (1 − weight × prior)`` for positive scores, ``scores × (1 + weight × prior)``
    for negative ones (both move boilerplate down); float [n_blocks]."""
    s = np.asarray(scores, dtype=np.float64)  # [n_blocks]
    p = np.asarray(priors, dtype=np.float64)  # [n_blocks]
    if s.shape != p.shape:
        raise ValueError(f"{s.shape} scores for {p.shape} priors")
    factor = np.where(s > 0, 1.0 - weight * p, 1.0 + weight * p)
    return s * factor
