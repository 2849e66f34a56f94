"""Block trees: document order, full coverage, word limits, paths that resolve, no renaming."""

from __future__ import annotations

import re
import sys

import pytest
from lxml import etree

from prunestack.retrieval.blocktree import build_block_tree, render
from prunestack.retrieval.clean import clean_html, serialize

from .conftest import deep_page, fixture_html, real_pages


def words(s: str) -> list[str]:
    return s.split()


def chars(texts) -> str:
    """All non-space characters in order (block edges may split a word like `policy</a>.`)."""
    return "".join("".join(t.split()) for t in texts)


@pytest.mark.parametrize("max_words", [4, 16, 64, 10_000])
def test_blocks_cover_page_in_document_order(page_name, max_words):
    tree = build_block_tree(fixture_html(page_name), max_words)
    # every character once, in document order
    assert chars(b.text for b in tree.blocks) == chars([tree.root.text()])
    assert all(0 < b.words <= max_words for b in tree.blocks)


def test_small_page_is_one_block():
    tree = build_block_tree(fixture_html("docs_page"), 10_000)
    assert [b.path for b in tree.blocks] == ["/html"]


def test_paths_resolve_in_cleaned_page(page_name):
    tree = build_block_tree(fixture_html(page_name), 8)
    doc = etree.fromstring(clean_html(fixture_html(page_name)), etree.HTMLParser())
    for b in tree.blocks:
        xpath = b.path.split("#", 1)[0]
        hits = doc.xpath(xpath)
        if b.kind == "run":  # a range of child nodes (text and inline elements)
            assert len(hits) == b.span[1] - b.span[0], b.path
        else:
            assert len(hits) == 1, b.path
        found = "".join(h if isinstance(h, str) else h.xpath("string()") for h in hits)
        # Block.text puts a space at element edges ("Season Output"), string() glues them
        assert "".join(b.text.split()) in "".join(found.split())
        if b.kind == "element":
            assert doc.getroottree().getpath(hits[0]) == b.path  # same scheme as lxml


def test_source_paths_map_back_to_original_elements():
    raw = fixture_html("news_article")
    tree = build_block_tree(raw, 8)
    original = etree.fromstring(raw.decode(), etree.HTMLParser())
    for b in tree.blocks:
        el = original.getroottree().xpath(b.source_path)
        assert el, b.source_path
        text = el[0] if isinstance(el[0], str) else el[0].xpath("string()")
        assert b.text.split()[0] in " ".join(text.split())


def test_tags_are_never_renamed():
    tree = build_block_tree(fixture_html("news_article"), 6)
    html = render(tree.root, tree.blocks)
    tags = set(re.findall(r"<([a-z0-9]+)", html))
    assert not any(re.fullmatch(r"[a-z]+\d+", t) and t not in {"h1", "h2", "h3", "h4", "h5", "h6"}
                   for t in tags)
    assert html == serialize(tree.root)  # all blocks = the whole cleaned page


def test_render_subset_keeps_ancestors_and_order():
    tree = build_block_tree(fixture_html("news_article"), 8)
    pick = [b for b in tree.blocks if "seven metres" in b.text or "Tomas Reyes" in b.text]
    assert len(pick) == 2
    html = render(tree.root, list(reversed(pick)))  # order given does not matter
    doc = etree.fromstring(html, etree.HTMLParser())
    text = doc.xpath("string()")
    assert text.index("seven metres") < text.index("Tomas Reyes")
    assert doc.xpath("//article//blockquote/p")  # ancestors kept
    assert "Most read" not in html and "cookies" not in html


def test_inline_runs_keep_sentences_whole():
    sentence = ("Install it with <code>rustup</code> from <a>the site</a> today. "
                "Then run <code>cargo new</code> to start. ")
    page = "<p>" + "lead words here. " * 10 + "</p><p>" + sentence * 3 + "</p>"
    tree = build_block_tree(page, 16)
    runs = [b for b in tree.blocks if b.kind == "run"]
    assert runs and all(b.words <= 16 for b in tree.blocks)
    first = runs[0]
    assert first.text.startswith("Install it with rustup from the site today.")
    html = render(tree.root, [first])
    assert "<code>rustup</code>" in html and "<a>the site</a>" in html
    assert chars(b.text for b in tree.blocks) == chars([tree.root.text()])
    fine = tree.refine(runs, 4)
    assert all(b.words <= 4 for b in fine)
    assert chars(b.text for b in fine) == chars(b.text for b in runs)


def test_huge_paragraph_is_chunked():
    page = "<p>" + " ".join(f"w{i}" for i in range(1000)) + "</p>"
    tree = build_block_tree(page, 100)
    assert len(tree.blocks) == 10 and all(b.kind == "text" for b in tree.blocks)
    assert tree.blocks[3].path == "/html/body/p/text()#w300-400"
    html = render(tree.root, [tree.blocks[3]])
    words300 = " ".join(f"w{i}" for i in range(300, 400))
    assert html == f"<html><body><p>{words300}</p></body></html>"


def test_refine_splits_to_smaller_blocks():
    tree = build_block_tree(fixture_html("news_article"), 64)
    fine = tree.refine(tree.blocks, 8)
    assert all(b.words <= 8 for b in fine)
    assert chars(b.text for b in fine) == chars([tree.root.text()])


def test_deep_tree_without_recursion():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(300)
    try:
        page = "<body>" + "<section><p>x y</p>" * 1200 + "</section>" * 1200 + "</body>"
        tree = build_block_tree(page, 3)
        html = render(tree.root, tree.blocks[::2])
    finally:
        sys.setrecursionlimit(old)
    assert len(tree.blocks) == 1200 and html.count("<p>") == 600


def test_empty_page_gives_none():
    assert build_block_tree("<div> </div>", 10) is None
    assert build_block_tree(deep_page(10, ""), 10) is None


def test_real_pages_block_trees():
    pages = real_pages()
    if not pages:
        pytest.skip("no real HTML documentation on this machine")
    for p in pages:
        tree = build_block_tree(p.read_bytes(), 64)
        assert chars(b.text for b in tree.blocks) == chars([tree.root.text()])
        assert all(b.words <= 64 for b in tree.blocks)


def test_chunks_cut_after_sentence_ends():
    from prunestack.retrieval.blocktree import chunk_spans

    w = "One two three four. Five six seven eight nine ten eleven twelve".split()
    assert chunk_spans(w, 6) == [(0, 4), (4, 10), (10, 12)]  # cut after "four."
    assert chunk_spans("a b c d e f g".split(), 3) == [(0, 3), (3, 6), (6, 7)]  # no sentence end
    assert chunk_spans(['He said "yes."', "x", "y"], 2) == [(0, 1), (1, 3)]
