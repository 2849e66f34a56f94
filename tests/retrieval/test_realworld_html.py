"""Real-world web pages through both HTML paths: ``retrieval`` (clean/prune) and ``parsers.html``.

Each case models something found on public pages: legacy charsets declared the way old CMSes
declare them, XHTML with an XML declaration, hidden markup, one huge unstructured paragraph.
"""

from __future__ import annotations

import random

import pytest

from prunestack.parsers.html import parse_html as parse_document
from prunestack.retrieval.blocktree import split_words
from prunestack.retrieval.clean import clean_html
from prunestack.retrieval.prune import prune_html

BODY = "<p>Caf\u00e9 cr\u00e8me \u20ac5 \u201csmart\u201d it\u2019s \u2013 done</p>"
WANT = "Caf\u00e9 cr\u00e8me \u20ac5 \u201csmart\u201d it\u2019s \u2013 done"


def _both(data: bytes) -> tuple[str, str]:
    """(cleaned HTML, text of the parsed Document) of ``data``."""
    doc = parse_document(data)
    return clean_html(data), " ".join(e.text for e in doc.elements())


@pytest.mark.parametrize("label", ["ISO-8859-1", "iso-8859-1", "latin1", "us-ascii"])
def test_latin1_label_is_windows_1252_like_browsers(label):
    # Old CMSes declare ISO-8859-1 but write Windows smart quotes, the euro sign and dashes
    # (bytes 0x80-0x9F). Browsers decode such pages as windows-1252; decoding as true latin-1
    # turned them into C1 control characters.
    data = (f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={label}">'
            f"</head><body>{BODY}</body></html>").encode("cp1252")
    cleaned, text = _both(data)
    assert WANT in cleaned and text == WANT


def test_gb2312_label_decodes_gbk_and_gb18030_characters():
    # Chinese pages labelled gb2312 routinely use GBK characters (镕 is not in GB2312)
    data = ('<html><head><meta charset="gb2312"></head><body><p>\u4e2d\u6587\u7f51\u9875 '
            "\u9555</p></body></html>").encode("gbk")
    cleaned, text = _both(data)
    want = "\u4e2d\u6587\u7f51\u9875 \u9555"
    assert want in cleaned and text == want


def test_shift_jis_label_decodes_windows_31j_characters():
    # ① and ～ are Windows extensions every Japanese "Shift_JIS" page may contain
    data = ('<html><head><meta charset="Shift_JIS"></head><body><p>\u6771\u4eac\u2460\uff5e'
            "</p></body></html>").encode("cp932")
    cleaned, text = _both(data)
    assert "\u6771\u4eac\u2460\uff5e" in cleaned and text == "\u6771\u4eac\u2460\uff5e"


def test_charset_declared_after_a_big_inline_script():
    head = "<script>" + "var x = 1;\n" * 800 + "</script>"  # ~9 KB before the meta tag
    data = (f'<html><head>{head}<meta charset="windows-1252"></head><body>{BODY}</body>'
            "</html>").encode("cp1252")
    cleaned, text = _both(data)
    assert WANT in cleaned and text == WANT


def test_xhtml_with_xml_declaration():
    # lxml refuses a str that carries an encoding declaration: clean_html crashed with ValueError
    data = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD '
            'XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
            f'<html xmlns="http://www.w3.org/1999/xhtml"><body>{BODY}</body></html>'
            ).encode("cp1252")
    cleaned, text = _both(data)
    assert WANT in cleaned and text == WANT
    assert "Caf\u00e9" in clean_html(data.decode("cp1252"))  # the same page as a str


def test_undeclared_legacy_bytes_stay_an_error():
    from prunestack.errors import InputError

    with pytest.raises(InputError):
        clean_html(f"<html><body>{BODY}</body></html>".encode("cp1252"))


def test_hidden_markup_is_dropped_by_the_document_parser_too():
    data = (b'<html><body><p>visible</p><p aria-hidden="true">icon label</p>'
            b'<div style="display: none">modal text</div><p style="visibility:hidden">ghost</p>'
            b'<table><tr><td>cell<span style="DISPLAY:NONE">tooltip</span></td></tr></table>'
            b"</body></html>")
    cleaned, text = _both(data)
    for gone in ("icon label", "modal text", "ghost", "tooltip"):
        assert gone not in cleaned and gone not in text
    assert "visible" in text and "cell" in text


def test_one_huge_paragraph_is_split_once_not_per_chunk():
    # a page that is one long text node (no block elements): every chunk used to re-split the
    # whole text, so a 5 MB page took minutes (quadratic); now the split is shared
    rng = random.Random(0)
    vocab = "the revenue of company grew by percent in year market share profit".split()
    page = "<html><body>" + " ".join(rng.choice(vocab) for _ in range(20_000)) + "</body></html>"
    split_words.cache_clear()
    res = prune_html(page, "revenue profit", 300)
    assert 0 < res.tokens <= 300 and res.blocks_total > 50
    assert split_words.cache_info().misses <= 3  # not one split per block


def test_svg_icons_and_form_controls_are_not_document_text():
    # icon SVGs carry <title>s, chart SVGs <text> labels, a country picker hundreds of <option>s;
    # the document parser emitted them (glued: "typed textmagnifier iconsvg label")
    svg = ('<svg viewBox="0 0 10 10"><title>magnifier icon</title>' + '<path d="M0 0L9 9"/>' * 500
           + "<text>chart axis label</text></svg>")
    options = "".join(f"<option>Country {i}</option>" for i in range(200))
    data = (f"<html><body><form><select>{options}</select><textarea>draft</textarea>"
            f"<button>Subscribe now</button></form>{svg}<canvas>no canvas support</canvas>"
            "<main><h1>Revenue report</h1><p>The revenue in 2023 was 5 million.</p></main>"
            "</body></html>").encode()
    cleaned, text = _both(data)
    assert text == "Revenue report The revenue in 2023 was 5 million."
    for gone in ("magnifier", "axis label", "Country 7", "Subscribe", "draft", "no canvas"):
        assert gone not in cleaned


def test_chunked_pre_block_keeps_its_newlines_and_indentation():
    # a long <pre><code> listing is cut into word chunks under a small budget; the chunks were
    # re-joined with single spaces, flattening the code onto one line
    code = "\n".join(f"def handler_{i}(request):\n    return  render(request, 'page_{i}.html')"
                     for i in range(30))
    page = (f"<html><body><h1>Install guide</h1><p>Use the handler functions below.</p>"
            f"<pre><code>{code}</code></pre></body></html>")
    res = prune_html(page, "handler render request", 60)
    assert 0 < res.tokens <= 60
    assert "def handler_0(request):\n    return  render(request, 'page_0.html')\n" in res.html
    assert any("#w" in p for p in res.kept_paths)  # it really was chunked


def test_soft_hyphens_and_zero_width_spaces_do_not_split_words():
    # German CMS text is full of &shy;, and editors leave zero-width spaces; both render as
    # nothing, but they stayed in the text, so "Donaudampfschiff" matched nothing
    data = ("<html><body><p>Die Donau&shy;dampf&shy;schiff&shy;fahrt f\u00e4hrt\u200b heute. "
            "Preis:&#8203;42&nbsp;\u20ac</p><p>Unrelated closing words here.</p></body></html>"
            ).encode()
    cleaned, text = _both(data)
    want = "Die Donaudampfschifffahrt f\u00e4hrt heute. Preis:42 \u20ac"
    assert want in cleaned and text.startswith(want)
    res = prune_html(data, "Donaudampfschifffahrt", 10)
    assert "Donaudampfschifffahrt" in res.html
