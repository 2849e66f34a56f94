"""Regression tests against the reference package ``htmlrag`` 0.1.1 (its bugs, our fixes).

- ``Pruner.prune_HTML`` breaks out of its loop at the first block that overflows, never trims the
  lower-ranked blocks after it, then deletes *higher*-ranked blocks until the page fits;
- ``build_block_tree`` renames same-name siblings (``<p0>``, ``<p1>``) in the HTML it returns;
- blocks come out breadth-first, not in document order.
"""

from __future__ import annotations

import numpy as np
import pytest

from prunestack.retrieval.blocktree import build_block_tree
from prunestack.retrieval.budget import HFTokenCounter
from prunestack.retrieval.prune import select_blocks

htmlrag = pytest.importorskip("htmlrag")

A = "Alpha: the harbour plant opened on Tuesday morning."
B = "Beta: four turbines will make power for homes."
D = "Delta: " + "long filler text about the weather and boats " * 4
C = "Gamma: the bakery won a national award."
E = "Epsilon: ferry timetables change in spring."
PAGE = f"<html><body><p>{A}</p><p>{B}</p><p>{D}</p><p>{C}</p><p>{E}</p></body></html>"
RANKED = [A, B, D, C, E]  # best first
BUDGET = 70  # Mistral tokens


@pytest.fixture(scope="module")
def reference(mistral_tokenizer):
    cleaned = htmlrag.clean_html(PAGE)
    block_tree, renamed_html = htmlrag.build_block_tree(cleaned, max_node_words=10)
    texts = [b[0].get_text() for b in block_tree]
    rankings = [next(i for i, t in enumerate(texts) if t.startswith(s[:5])) for s in RANKED]
    out = htmlrag.BM25HTMLPruner().prune_HTML(renamed_html, block_tree, rankings,
                                              mistral_tokenizer, BUDGET)
    return {"texts": texts, "renamed": renamed_html, "out": out}


@pytest.fixture(scope="module")
def ours(mistral_tokenizer):
    tree = build_block_tree(PAGE, max_words=40)  # each <p> one block, like the reference's
    rank = {s[:5]: r for r, s in enumerate(RANKED)}
    scores = np.array([len(RANKED) - rank[b.text[:5]] for b in tree.blocks], dtype=float)
    counter = HFTokenCounter(mistral_tokenizer)
    kept, html, n = select_blocks(tree.root, tree.blocks, scores, BUDGET, counter)
    return {"tree": tree, "kept": kept, "html": html, "tokens": n, "counter": counter}


def test_reference_drops_higher_ranked_block(reference):
    out = reference["out"]
    assert A[:20] in out
    assert B[:20] not in out  # rank 2 deleted ...
    assert C[:20] in out and E[:20] in out  # ... while ranks 4 and 5 survive


def test_ours_keeps_blocks_by_rank(ours, mistral_tokenizer):
    html = ours["html"]
    assert A[:20] in html and B[:20] in html  # the two best always fit
    assert D[:20] not in html  # too big: skipped, not a reason to stop
    assert C[:20] in html  # next best that fits
    assert ours["tokens"] == ours["counter"].count(html) <= BUDGET


def test_reference_renames_tags_we_do_not(reference, ours):
    assert "<p0>" in reference["renamed"] and "<p0>" in reference["out"]
    assert "<p0>" not in ours["html"] and "<p>" in ours["html"]
    assert [b.path for b in ours["kept"]] == ["/html/body/p[1]", "/html/body/p[2]",
                                              "/html/body/p[4]"]


def test_reference_block_order_is_breadth_first(reference, ours):
    first_letters = [t[0] for t in reference["texts"]]
    assert first_letters != sorted(first_letters, key="ABDGE".index)  # Delta moved to the end
    ours_letters = [b.text[0] for b in ours["tree"].blocks]
    assert ours_letters == list("ABDGE")  # document order
