"""Pruning to a token budget: planted answers kept, budget never exceeded, output well-formed."""

from __future__ import annotations

import numpy as np
import pytest
from lxml import etree

from prunestack.errors import ConfigError, InputError
from prunestack.retrieval.blocktree import build_block_tree
from prunestack.retrieval.budget import HFTokenCounter, WordCounter, html_text, make_counter
from prunestack.retrieval.prune import (
    BM25Pruner,
    PruneConfig,
    prune_html,
    prune_tree,
    select_blocks,
)

from .conftest import PAGES, deep_page, fixture_html, real_pages

QUESTIONS = {
    "news_article": ("How many gigawatt hours will the four turbines produce a year?",
                     "48 gigawatt hours a year"),
    "recipe_blog": ("How long can I store the crackers?", "airtight tin for up to a week"),
    "docs_page": ("How many times is a request tried with max_attempts?",
                  "to change how many times a request is tried"),
}


def text_of(html: str) -> str:
    if not html:
        return ""
    return " ".join(etree.fromstring(html, etree.HTMLParser()).xpath("string()").split())


@pytest.mark.parametrize("budget", [40, 64])
@pytest.mark.parametrize("page", PAGES)
def test_bm25_keeps_planted_answer(page, budget):
    question, answer = QUESTIONS[page]
    r = prune_html(fixture_html(page), question, budget, "bm25")
    assert answer in text_of(r.html)
    assert r.tokens == len(html_text(r.html).split()) <= budget  # words of the text


@pytest.mark.parametrize("page", PAGES)
def test_embed_keeps_planted_answer(page, embed_pruner):
    question, answer = QUESTIONS[page]
    r = prune_html(fixture_html(page), question, 40, embed_pruner)
    assert answer in text_of(r.html)
    assert r.tokens <= 40
    assert "cookie" not in r.html.lower() and "Most read" not in r.html  # boilerplate pruned


def test_answer_planted_in_real_page():
    pages = real_pages(3)
    if not pages:
        pytest.skip("no real HTML documentation on this machine")
    sentence = "The lighthouse keeper counted exactly ninety one seagulls on the pier today."
    for p in pages:
        raw = p.read_bytes().decode("utf-8", "replace")
        i = raw.lower().rfind("</p>")
        planted = raw[:i] + " " + sentence + raw[i:]
        r = prune_html(planted, "how many seagulls did the lighthouse keeper count", 64, "bm25")
        assert sentence in text_of(r.html), p
        assert r.tokens <= 64


@pytest.mark.parametrize("counter_kind", ["words", "mistral"])
def test_budget_never_exceeded(counter_kind, mistral_tokenizer):
    counter = WordCounter() if counter_kind == "words" else HFTokenCounter(mistral_tokenizer)
    for page in PAGES:
        question = QUESTIONS[page][0]
        for budget in (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 10_000):
            r = prune_html(fixture_html(page), question, budget, "bm25", tokenizer=counter)
            assert r.tokens == counter.count(r.html) <= budget, (page, budget)
            if r.html:
                doc = etree.fromstring(r.html, etree.HTMLParser())
                assert doc.tag == "html"
            if budget == 10_000:  # everything fits: the whole cleaned page
                assert text_of(r.html) == text_of(build_block_tree(fixture_html(page)).root
                                                  .text())


def test_kept_blocks_in_document_order_inside_ancestors():
    r = prune_html(fixture_html("news_article"), "turbines homes mayor harbour railway", 60)
    tree = build_block_tree(fixture_html("news_article"), 30)
    order = {b.path: i for i, b in enumerate(tree.blocks)}
    positions = [order[p] for p in r.kept_paths if p in order]
    assert positions == sorted(positions)
    assert "<article>" in r.html  # kept blocks stay inside their ancestor tags
    assert len(r.scores) == len(r.kept_paths) == len(r.source_paths)


def test_greedy_skips_blocks_that_do_not_fit():
    tree = build_block_tree("<p>one two three four five six seven eight nine ten</p><p>a b</p>"
                            "<p>c d e</p>", 10)
    counter = WordCounter()
    kept, html, n = select_blocks(tree.root, tree.blocks, np.array([3.0, 2.0, 1.0]), 7, counter)
    assert [b.text for b in kept] == ["a b", "c d e"]  # the best block is too big: skipped
    assert n == counter.count(html) <= 7


def test_tokenizer_folder_counts_budget(mistral_tokenizer_dir):
    counter = make_counter(mistral_tokenizer_dir)
    r = prune_html(fixture_html("recipe_blog"), "store crackers", 40,
                   tokenizer=mistral_tokenizer_dir)
    assert r.tokens == counter.count(r.html) <= 40 and r.html


def test_bad_inputs():
    page = fixture_html("recipe_blog")
    with pytest.raises(InputError, match="query is empty"):
        prune_html(page, "  ", 50)
    with pytest.raises(ConfigError):
        prune_html(page, "x", -1)
    with pytest.raises(ConfigError, match="unknown pruner"):
        prune_html(page, "x", 10, "nope")
    with pytest.raises(ConfigError, match="needs a causal LM"):
        prune_html(page, "x", 10, "gen")
    with pytest.raises(Exception, match="extra"):
        PruneConfig(bogus=1)
    empty = prune_html("", "question", 50)
    assert (empty.html, empty.kept_paths, empty.tokens) == ("", [], 0)
    assert prune_html(deep_page(500), "needle", 50).html.endswith(
        "<body>deep needle text</body></html>")
    assert prune_html(page, "no overlap whatsoever", 0).html == ""


def test_ten_megabyte_page_prunes():
    para = "<div class='row'><p>filler words about nothing in particular at all</p></div>\n"
    half = 10_000_000 // len(para) // 2
    page = "<html><body>" + para * half + "<p>the secret code is 4711</p>" + para * half
    assert len(page) >= 9_900_000
    tree = build_block_tree(page, 256)  # prune_html = this + prune_tree
    assert tree.root.text().count("filler") == 2 * half  # nothing lost in cleaning
    r = prune_tree(tree, "what is the secret code", 20, BM25Pruner(), WordCounter(), 10)
    assert "the secret code is 4711" in r.html and r.tokens <= 20
