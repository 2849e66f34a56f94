"""Measure pruning quality on labelled pages: answer recall and the share spent on boilerplate.

A labelled page is an HTML file plus (question, answer string) pairs and the XPaths of its main
content (``main``, minus ``exclude``), in the ORIGINAL page as parsed by
:func:`retrieval.clean.parse_html`. For one pruning run:

- *hit*: the answer string occurs in the text of the pruned HTML (text nodes joined by a space,
  whitespace collapsed, so table cells read ``Weight 1.6 kg``);
- *boilerplate share*: tokens of kept blocks whose source element lies outside the main content,
  over the tokens of all kept blocks.

It does not prune by itself beyond calling :func:`retrieval.prune.prune_tree`, and the labels are
never seen by the pruners. Used by ``tests/retrieval/test_realworld_pages.py`` and
``benchmarks/bench_rag_realworld.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from prunestack.parsers.charset import decode_html
from prunestack.retrieval.blocktree import build_block_tree
from prunestack.retrieval.budget import TokenCounter
from prunestack.retrieval.clean import parse_html
from prunestack.retrieval.prune import PruneConfig, Pruner, block_words_for_budget, prune_tree


@dataclass
class LabelledPage:
    name: str
    html: bytes
    qa: list[tuple[str, str]]
    main: list[str]
    exclude: list[str]


def load_pages(folder: str | Path) -> list[LabelledPage]:
    """Pages of ``folder``: ``<name>.html`` + ``questions.json`` + ``main_content.json``."""
    folder = Path(folder)
    questions = json.loads((folder / "questions.json").read_text())
    main = json.loads((folder / "main_content.json").read_text())
    return [LabelledPage(name, (folder / f"{name}.html").read_bytes(),
                         [(q, a) for q, a in qa], main[name]["main"], main[name]["exclude"])
            for name, qa in sorted(questions.items())]


def html_text(html: str) -> str:
    """Text of an HTML fragment, text nodes joined by one space."""
    if not html.strip():
        return ""
    root = etree.fromstring(html, etree.HTMLParser())
    return " ".join(" ".join(root.itertext()).split()) if root is not None else ""


def contains_answer(html: str, answer: str) -> bool:
    return " ".join(answer.split()) in html_text(html)


def main_elements(page: LabelledPage) -> tuple[Any, set[Any], set[Any]]:
    """(parsed original page, main-content root elements, excluded root elements)."""
    root = parse_html(decode_html(page.html))
    main = {e for x in page.main for e in root.xpath(x)}
    excl = {e for x in page.exclude for e in root.xpath(x)}
    return root, main, excl


def _is_main(el: Any, main: set[Any], excl: set[Any]) -> bool:
    for e in (el, *el.iterancestors()):
        if e in excl:
            return False
        if e in main:
            return True
    return False


def run_page(page: LabelledPage, question: str, budget: int, pruner: Pruner,
             counter: TokenCounter, config: PruneConfig | None = None) -> dict[str, Any]:
    """Prune ``page`` for ``question`` like :func:`retrieval.prune.prune_html` does and return
    the output with its boilerplate tokens (blocks mapped back to the original elements)."""
    cfg = config or PruneConfig()
    tree = build_block_tree(page.html, cfg.max_words)
    if tree is None:
        return {"html": "", "tokens": 0, "boiler_tokens": 0}
    max_words = block_words_for_budget(tree, budget, counter)
    res = prune_tree(tree, question, budget, pruner, counter, max_words=max_words,
                     boilerplate=cfg.boilerplate, fill=cfg.fill)
    blocks = tree.refine(tree.blocks, max_words) if max_words < tree.max_words else tree.blocks
    by_path = {b.path: b for b in blocks}
    root, main, excl = main_elements(page)
    boiler = total = 0
    for path in res.kept_paths:
        b = by_path[path]
        n = counter.count(b.text)
        total += n
        src = b.source_path
        found = root.xpath(src) if src else []
        if not (found and _is_main(found[0], main, excl)):
            boiler += n
    return {"html": res.html, "tokens": res.tokens, "kept_tokens": total, "boiler_tokens": boiler}


def evaluate(pages: list[LabelledPage], pruner: Pruner, counter: TokenCounter,
             budgets: tuple[int, ...] = (128, 256, 512),
             config: PruneConfig | None = None) -> dict[int, dict[str, float]]:
    """Per budget: answer recall over every (page, question) and the boilerplate share of all
    kept tokens (pooled)."""
    out: dict[int, dict[str, float]] = {}
    for budget in budgets:
        hits = n = boiler = kept = 0
        misses: list[str] = []
        for page in pages:
            for q, a in page.qa:
                r = run_page(page, q, budget, pruner, counter, config)
                ok = contains_answer(r["html"], a)
                hits += ok
                n += 1
                boiler += r["boiler_tokens"]
                kept += r["kept_tokens"]
                if not ok:
                    misses.append(f"{page.name}: {q}")
        out[budget] = {"recall": hits / max(n, 1), "boilerplate_share": boiler / max(kept, 1),
                       "questions": n, "misses": misses}  # type: ignore[dict-item]
    return out
