"""The boilerplate prior's name rules: negators anywhere before the word in a class name cancel
it; names never demote an ``<article>`` or an element holding most of the page's text (the cases
that marked whole articles as boilerplate on real news pages); tags and roles still do."""

from __future__ import annotations

import pytest
from lxml import etree

from prunestack.retrieval.blocktree import build_block_tree
from prunestack.retrieval.boilerplate import PageWords, block_priors, names_boiler
from prunestack.retrieval.prune import prune_html

BODY = " ".join(f"Paragraph {i} of the story tells what happened in the town that day."
                for i in range(6))


def priors(page: str, max_words: int = 20) -> dict[str, float]:
    tree = build_block_tree(page, max_words)
    return {b.text: p for b, p in zip(tree.blocks, block_priors(tree.root, tree.blocks),
                                      strict=True)}


@pytest.mark.parametrize(("name", "boiler"), [
    ("sidebar", True), ("sidebar-left", True), ("left-sidebar", True), ("share-bar", True),
    ("has-sidebar", False), ("no-ads", False), ("with-comments", False),
    ("and-w-sidebar", False),  # the negator two words before the word
    ("page-and-w-sidebar", False), ("layout-with-left-sidebar", False),
    ("no-js-share-buttons", False), ("main-content", False), ("story-body", False),
])
def test_negators_anywhere_before_the_word_cancel_it(name, boiler):
    assert names_boiler(name) is boiler


def test_aria_label_prose_only_negates_the_next_word():
    assert names_boiler("Share and follow", prose=True)
    assert not names_boiler("Pages with sidebar", prose=True)


def test_article_with_a_boilerplate_word_in_its_class_list_is_main_content():
    page = (f"<html><body><article class='post type-post url-breadcrumb'><h1>Flood "
            f"warning</h1><p>{BODY}</p></article>"
            "<div class='breadcrumb'><a>Home</a> / <a>News</a> / <a>Local</a></div>"
            "</body></html>")
    pri = priors(page)
    body = [p for t, p in pri.items() if t.startswith("Paragraph")]
    assert body and max(body) == 0.0
    assert pri["Flood warning"] == 0.0
    assert pri["Home / News / Local"] == 1.0  # a real breadcrumb outside the article still is


def test_wrapper_holding_most_of_the_page_is_not_boilerplate_by_name():
    page = (f"<html><body><div class='page-wrap sidebar-layout'><div class='story'><p>{BODY}</p>"
            "</div><div class='sidebar'><p>Most read: five other stories today</p></div></div>"
            "</body></html>")
    pri = priors(page)
    body = [p for t, p in pri.items() if t.startswith("Paragraph")]
    assert body and max(body) == 0.0  # "sidebar-layout" wraps the whole page
    assert pri["Most read: five other stories today"] == 1.0  # the small sidebar still is


def test_tags_and_roles_still_demote_even_big_elements():
    page = f"<html><body><nav><p>{BODY}</p></nav><p>Short main text here.</p></body></html>"
    pri = priors(page)
    assert max(p for t, p in pri.items() if t.startswith("Paragraph")) == 1.0
    page = (f"<html><body><div role='complementary'><p>{BODY}</p></div>"
            "<p>Short main text.</p></body></html>")
    assert max(p for t, p in priors(page).items() if t.startswith("Paragraph")) == 1.0


def test_page_words_skip_scripts_and_count_tails():
    root = etree.fromstring("<html><body><div id='a'>one two <b>three</b> four<script>x y z "
                            "w v u</script></div><p>five</p></body></html>", etree.HTMLParser())
    pw = PageWords(root)
    div = root.xpath("//div")[0]
    assert pw.holds_most(div)  # 4 of 5 words
    assert not pw.holds_most(root.xpath("//p")[0])


def test_article_with_breadcrumb_class_is_kept_by_the_pruner():
    page = (f"<html><body><article class='article url-breadcrumb'><p>The lighthouse keeper "
            f"counted ninety one seagulls on the pier.</p><p>{BODY}</p></article>"
            "<aside><p>The lighthouse keeper quiz: how many seagulls can you count?</p></aside>"
            "</body></html>")
    r = prune_html(page, "how many seagulls did the lighthouse keeper count", 12, "bm25")
    assert "ninety one seagulls" in r.html
