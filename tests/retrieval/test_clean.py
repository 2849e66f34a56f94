"""Cleaning: golden outputs on real-world-like pages, structure kept, bad input handled."""

from __future__ import annotations

import sys

import pytest
from lxml import etree

from prunestack.errors import InputError, TooLargeError
from prunestack.parsers.charset import decode_html
from prunestack.retrieval.clean import CleanConfig, clean_html, clean_tree

from .conftest import FIXTURES, deep_page, fixture_html, real_pages


def parse(html: str):
    return etree.fromstring(html, etree.HTMLParser())


def test_golden(page_name):
    got = clean_html(fixture_html(page_name))
    want = (FIXTURES / f"{page_name}.clean.html").read_text().strip()
    assert got == want


def test_idempotent_and_parses(page_name):
    once = clean_html(fixture_html(page_name))
    assert clean_html(once) == once
    assert etree.tostring(parse(once), encoding=str, method="html") == once


def test_drops_noise_keeps_structure():
    out = clean_html(fixture_html("news_article"))
    for gone in ("<script", "<style", "dataLayer", "<!--", "DOCTYPE", "class=", "Accept all",
                 "Buy cheap flights", "Hidden newsletter", "<img", "googletagmanager"):
        assert gone not in out
    for kept in ("<article>", "<nav>", "<aside>", "<footer>", "<h2>", "<blockquote>", "<caption>",
                 '<th rowspan="2">', '<th colspan="2">'):
        assert kept in out
    # a row with an empty cell keeps the cell (columns must not shift); a fully empty row goes
    root = parse(out)
    rows = root.xpath("//tbody/tr")
    assert [len(r.xpath("td")) for r in rows] == [3, 3, 3, 3]


def test_unwraps_generic_wrappers_only():
    out = clean_html("<div><div><div><p>deep text</p></div></div></div>"
                     "<ul><li><div>item text</div></li></ul><table><tr><td><span>x</span></td>"
                     "</tr></table><section><div>kept section</div></section>")
    assert "<body><p>deep text</p>" in out
    assert "<li>item text</li>" in out
    assert "<td>x</td>" in out
    assert "<section>kept section</section>" in out


def test_keep_href_option():
    page = '<p>see <a href="/docs?a=1&amp;b=2">docs</a> <a href="javascript:go()">js</a></p>'
    assert "href" not in clean_html(page)
    out = clean_html(page, CleanConfig(keep_href=True))
    assert '<a href="/docs?a=1&amp;b=2">docs</a>' in out
    assert "javascript" not in out


def test_whitespace_and_breaks():
    out = clean_html("<p>line one<br>line   two\n\n  three</p><pre>a\n  b</pre>")
    assert "<p>line one line two three</p>" in out
    assert "<pre>a\n  b</pre>" in out


@pytest.mark.parametrize("page", ["", "   \n ", "<!-- only a comment -->", "<script>x()</script>",
                                  "<div><span></span></div>"])
def test_empty_pages_give_empty_result(page):
    assert clean_html(page) == ""
    assert clean_tree(page) is None


def test_encodings():
    assert clean_html("café".encode()) == "<html><body>café</body></html>"
    latin = '<meta charset="iso-8859-1"><p>café</p>'.encode("latin-1")
    assert "café" in clean_html(latin)
    with pytest.raises(InputError, match="not valid utf-8"):
        clean_html(b"<p>caf\xe9 \xff\xfe</p>")
    assert "café" in clean_html(b"<p>caf\xe9</p>", encoding="latin-1")
    with pytest.raises(InputError, match="unknown encoding"):
        decode_html(b"x", encoding="no-such-codec")
    assert "ab" in clean_html("<p>a\x00b</p>")


def test_size_limit():
    with pytest.raises(TooLargeError):
        clean_html(b"<p>" + b"word " * 1000 + b"</p>", CleanConfig(max_bytes=1000))


def test_deep_nesting_is_iterative():
    # 1,500 levels: well past Python's recursion limit here, so any recursive walk would fail
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(400)
    try:
        out = clean_html(deep_page(1500))
    finally:
        sys.setrecursionlimit(old)
    assert out == "<html><body>deep needle text</body></html>"


def test_hundred_thousand_deep_nesting_is_a_clear_error():
    # lxml stops at 2048 levels and silently drops the rest; we refuse instead of losing text
    with pytest.raises(TooLargeError, match="nesting"):
        clean_html(deep_page(100_000))


def test_real_pages_on_disk():
    pages = real_pages()
    if not pages:
        pytest.skip("no real HTML documentation on this machine")
    for p in pages:
        out = clean_html(p.read_bytes())
        assert out.startswith("<html>") and out.endswith("</html>")
        assert clean_html(out) == out
        root = parse(out)
        assert "<script" not in out and "style=" not in out
        assert len(root.xpath("string()").split()) > 20
