"""Generative pruner mechanics on a tiny random Llama with the real Mistral tokenizer.

Random weights say nothing about relevance; these tests check the algorithm: one forward pass per
branching trie node, probabilities from the LAST position soft-maxed over the candidates only, the
path-score formula, KV-cache reuse giving the same numbers, and budgets in the full pipelines.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from lxml import etree

from prunestack.retrieval.blocktree import build_block_tree
from prunestack.retrieval.budget import WordCounter
from prunestack.retrieval.clean import serialize
from prunestack.retrieval.generative import LOG_FLOOR, GenerativeScorer, branching_nodes, build_trie
from prunestack.retrieval.prune import BM25Pruner, GenPruner, TwoStepPruner, prune_html, prune_tree

from .conftest import fixture_html

QUESTION = "How many gigawatt hours will the turbines produce?"


@pytest.fixture(scope="module")
def scorer(tiny_llama_dir):
    return GenerativeScorer.from_folder(tiny_llama_dir)


@pytest.fixture(scope="module")
def tree():
    return build_block_tree(fixture_html("news_article"), 12)


def walk_branching(root):
    """(prefix, node) for every trie node with several children."""
    out, stack = [], [(root, [])]
    while stack:
        node, prefix = stack.pop()
        if len(node.children) > 1:
            out.append((prefix, node))
        stack.extend((c, [*prefix, t]) for t, c in node.children.items())
    return out


def test_one_forward_per_branching_node(scorer, tree):
    calls = []
    handle = scorer.model.register_forward_hook(lambda *a: calls.append(1))
    try:
        paths = [b.tag_path for b in tree.blocks]
        scores = scorer.score(serialize(tree.root), QUESTION, paths)
    finally:
        handle.remove()
    encoded = [scorer.encode_path(p) for p in paths]
    n_branch = branching_nodes(build_trie(encoded))
    n_nodes = len({tuple(e[:i]) for e in encoded for i in range(1, len(e) + 1)})
    assert len(calls) == scorer.forward_calls == n_branch
    assert 2 <= n_branch < n_nodes  # single-child nodes cost nothing
    assert scores.shape == (len(paths),) and np.isfinite(scores).all()


def test_probabilities_come_from_the_last_position(scorer, tree):
    html = serialize(tree.root)
    paths = [b.tag_path for b in tree.blocks]
    scorer.score(html, QUESTION, paths)
    prompt = scorer.prompt_ids(html, QUESTION, max(len(scorer.encode_path(p)) for p in paths))
    differs_from_pos0 = False
    for prefix, node in walk_branching(scorer.trie):
        ids = torch.tensor([prompt + prefix])
        with torch.inference_mode():
            logits = scorer.model(input_ids=ids, use_cache=False).logits[0]  # [S, V]
        cands = list(node.children)
        want = torch.softmax(logits[-1, cands], -1)  # next-token prediction, candidates only
        got = torch.tensor([node.children[t].prob for t in cands])
        assert torch.allclose(got, want, atol=1e-4)
        assert math.isclose(float(got.sum()), 1.0, abs_tol=1e-5)
        pos0 = torch.softmax(logits[0, cands], -1)  # what the reference reads
        differs_from_pos0 |= not torch.allclose(pos0, want, atol=1e-3)
    assert differs_from_pos0


def test_cache_reuse_gives_the_same_scores(scorer, tiny_llama_dir, tree):
    html, paths = serialize(tree.root), [b.tag_path for b in tree.blocks]
    cached = scorer.score(html, QUESTION, paths)
    plain = GenerativeScorer(scorer.model, scorer.tokenizer, use_cache=False)
    uncached = plain.score(html, QUESTION, paths)
    np.testing.assert_allclose(cached, uncached, rtol=1e-4, atol=1e-4)
    assert plain.forward_calls == scorer.forward_calls


def test_path_score_formula(scorer, tree):
    paths = [b.tag_path for b in tree.blocks]
    scores = scorer.score(serialize(tree.root), QUESTION, paths)
    mean_depth = np.mean([len(p) for p in paths])
    for i in (0, len(paths) // 2, len(paths) - 1):
        node, total = scorer.trie, 0.0
        for t in scorer.encode_path(paths[i]):
            node = node.children[t]
            total += math.log(max(node.prob, LOG_FLOOR))
        assert math.isclose(scores[i], total / mean_depth, rel_tol=1e-9)


def test_long_page_is_cut_to_the_model_context(scorer):
    page = "<html><body>" + "".join(f"<p>paragraph {i} " + "text " * 30 + "</p>"
                                    for i in range(200)) + "</body></html>"
    tree = build_block_tree(page, 40)
    paths = [b.tag_path for b in tree.blocks]
    prompt = scorer.prompt_ids(serialize(tree.root), QUESTION, 20)
    assert len(prompt) + 20 <= scorer.model.config.max_position_embeddings
    assert np.isfinite(scorer.score(serialize(tree.root), QUESTION, paths)).all()


def test_gen_and_two_step_respect_budget(scorer, tiny_llama_dir):
    page = fixture_html("news_article")
    for budget in (10, 30, 60):
        r = prune_html(page, QUESTION, budget, GenPruner(scorer))
        assert r.tokens == len(r.html.split()) <= budget and r.html
        etree.fromstring(r.html, etree.HTMLParser())
    r = prune_html(page, QUESTION, 40, "gen", model=tiny_llama_dir)
    assert 0 < r.tokens <= 40


def test_two_step_fine_blocks_come_from_coarse_selection(scorer):
    tree = build_block_tree(fixture_html("news_article"), 64)
    two = TwoStepPruner(BM25Pruner(), GenPruner(scorer), factor=2.0, fine_max_words=8)
    coarse = prune_tree(tree, QUESTION, 60, BM25Pruner(), WordCounter(), max_words=64)
    r = prune_tree(tree, QUESTION, 30, two, WordCounter(), max_words=64)
    assert 0 < r.tokens <= 30
    for path in r.kept_paths:  # every fine block lies inside a block the coarse step kept
        assert any(path.split("#")[0].startswith(c.split("#")[0]) for c in coarse.kept_paths)
