"""HTML → Document: mapping, charsets, furniture, tables with spans, and bad inputs."""

from __future__ import annotations

import codecs
import time

import pytest

from prunestack.errors import InputError, TooLargeError
from prunestack.parsers.cctree import NodeKind, build_cctree
from prunestack.parsers.html import LIBXML_MAX_DEPTH, parse_html
from prunestack.pipeline.document import ElementKind, Source

SHOP = b"""<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>
<style>p { color: red }</style><script>var x = "<p>not text</p>";</script></head>
<body><nav><a href="/">Home</a> <a href="/x">Products</a></nav>
<div class="cookie-banner">We use cookies. <button>OK</button></div>
<main><h1>Widget Catalogue</h1><p>Our <b>widgets</b> are
 great.</p>Loose text here.<!-- a comment --><h2>Prices</h2>
<table><thead><tr><th>Item</th><th>Price</th><th>Stock</th></tr></thead>
<tbody><tr><td rowspan="2">Widget</td><td>1.00</td><td>5</td></tr>
<tr><td colspan="2">sold out</td></tr></tbody></table>
<h3>Details</h3><ul><li>Fast <em>delivery</em><ul><li>EU only</li></ul></li><li>Returns</li></ul>
<dl><dt>SKU</dt><dd>W-1</dd><dt>Weight</dt><dd>2 kg</dd></dl>
<figure><img src="a.png" alt="A widget"><figcaption>Figure 1: the widget</figcaption></figure>
<article><header>Article head</header><p>Body</p></article>
<p hidden>secret</p>
</main><aside>Related links</aside><footer>(c) 2024 Shop</footer></body></html>"""


def test_mapping_of_elements():
    doc = parse_html(SHOP, name="shop.html")
    assert doc.mime_type == "text/html" and doc.source_name == "shop.html"
    assert doc.metadata == {"title": "Shop"}
    assert len(doc.pages) == 1 and (doc.pages[0].width, doc.pages[0].height) == (0, 0)
    got = [(e.kind, e.level, e.text) for e in doc.elements()]
    K = ElementKind
    assert got == [
        (K.HEADER, None, "Home Products"),
        (K.FOOTER, None, "We use cookies."),
        (K.TITLE, 1, "Widget Catalogue"),
        (K.TEXT, None, "Our widgets are great."),
        (K.TEXT, None, "Loose text here."),
        (K.HEADING, 2, "Prices"),
        (K.TABLE, None, "Item | Price | Stock\nWidget | 1.00 | 5\nsold out"),
        (K.HEADING, 3, "Details"),
        (K.LIST_ITEM, None, "Fast delivery"),
        (K.LIST_ITEM, None, "EU only"),
        (K.LIST_ITEM, None, "Returns"),
        (K.KEY_VALUE, None, "SKU: W-1"),
        (K.KEY_VALUE, None, "Weight: 2 kg"),
        (K.FIGURE, None, "A widget"),
        (K.CAPTION, None, "Figure 1: the widget"),
        (K.TEXT, None, "Article head"),  # a header inside an article is content
        (K.TEXT, None, "Body"),
        (K.SIDEBAR, None, "Related links"),
        (K.FOOTER, None, "(c) 2024 Shop"),
    ]
    for i, e in enumerate(doc.elements(), 1):
        assert e.id == f"p1-e{i}" and e.source == Source.HTML and e.page == 1
        assert (e.bbox.x0, e.bbox.y0, e.bbox.x1, e.bbox.y1) == (0, 0, 0, 0)
    kv = [e for e in doc.elements() if e.kind == K.KEY_VALUE]
    assert [(e.key, e.value) for e in kv] == [("SKU", "W-1"), ("Weight", "2 kg")]


def test_table_spans_on_grid():
    table = next(e for e in parse_html(SHOP).elements() if e.kind == ElementKind.TABLE)
    got = [(c.row, c.col, c.text, c.row_span, c.col_span) for c in table.cells]
    assert got == [(0, 0, "Item", 1, 1), (0, 1, "Price", 1, 1), (0, 2, "Stock", 1, 1),
                   (1, 0, "Widget", 2, 1), (1, 1, "1.00", 1, 1), (1, 2, "5", 1, 1),
                   (2, 1, "sold out", 1, 2)]
    assert table.table_rows()[0] == ["Item", "Price", "Stock"]


def test_cctree_of_html():
    t = build_cctree(parse_html(SHOP))
    kinds = [n.kind for n in t.iter()]
    assert kinds.count(NodeKind.SUPPLEMENT) == 1
    fig = next(n for n in t.iter() if n.kind == NodeKind.FIGURE)
    assert fig.title == "Figure 1: the widget"


def test_charset_from_meta_and_bom():
    latin = '<html><head><meta charset="iso-8859-1"></head><body><p>Caf\u00e9 cr\u00e8me</p>'
    doc = parse_html(latin.encode("latin-1"))
    assert doc.elements()[0].text == "Café crème"
    http_equiv = (b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
                  b"<p>\x93quoted\x94</p>")
    assert parse_html(http_equiv).elements()[0].text == "\u201cquoted\u201d"
    utf16 = codecs.BOM_UTF16_LE + "<p>Grüße</p>".encode("utf-16-le")
    assert parse_html(utf16).elements()[0].text == "Grüße"
    assert parse_html(codecs.BOM_UTF8 + "<p>naïve</p>".encode()).elements()[0].text == "naïve"


def test_xml_declaration_is_accepted():
    data = b'<?xml version="1.0" encoding="utf-8"?><html><body><p>ok</p></body></html>'
    assert parse_html(data).elements()[0].text == "ok"


@pytest.mark.parametrize("data", [b"", b"   \n\t ", b"<html><body></body></html>",
                                  b"<script>x()</script>"])
def test_empty_html_is_input_error(data):
    with pytest.raises(InputError):
        parse_html(data)


def test_non_utf8_without_charset_is_input_error():
    with pytest.raises(InputError, match=r"not valid utf-8 .*no charset declared"):
        parse_html("<p>Caf\u00e9</p>".encode("latin-1"))


def test_declared_charset_that_does_not_decode_is_input_error():
    with pytest.raises(InputError, match="declared charset"):
        parse_html(b'<meta charset="utf-8"><p>\xff\xfe\xfa</p>')


def test_100k_deep_nesting_is_too_large_quickly():
    n = 100_000
    data = b"<html><body>" + b"<div>" * n + b"deep" + b"</div>" * n + b"</body></html>"
    t0 = time.perf_counter()
    with pytest.raises(TooLargeError, match="nested"):
        parse_html(data)
    assert time.perf_counter() - t0 < 30  # generous: it takes well under a second


def test_nesting_under_the_limit_parses_correctly():
    n = LIBXML_MAX_DEPTH - 10
    data = b"<html><body>" + b"<div>" * n + b"deep text" + b"</div>" * n + b"<p>after</p>"
    assert [e.text for e in parse_html(data).elements()] == ["deep text", "after"]


def test_huge_spans_are_clamped_or_refused():
    ok = b"<table><tr><td colspan='999999'>a</td></tr><tr><td>b</td></tr></table>"
    cells = parse_html(ok).elements()[0].cells
    assert cells[0].col_span == 1000
    rows = "".join("<tr>" + "<td rowspan='0' colspan='1000'>x</td>" + "</tr>" for _ in range(1200))
    with pytest.raises(TooLargeError):
        parse_html(f"<table>{rows}</table>".encode())
