"""One hidden-element rule and one HTML decoder for the document parser and the RAG cleaner:
each case is checked on the rule itself and through ``parse_html`` and ``clean_html``."""

from __future__ import annotations

import codecs

import lxml.html
import pytest

from prunestack.errors import InputError
from prunestack.parsers.charset import bom_codec, decode_html
from prunestack.parsers.detect import FileType, detect_type
from prunestack.parsers.html import parse_html
from prunestack.parsers.ingest import parse
from prunestack.parsers.visibility import disclosed_ids, hidden_rule, is_hidden
from prunestack.retrieval.clean import clean_html

CASES = [  # (element, hidden?)
    ('<p hidden>SECRET</p>', True),
    ('<p hidden="">SECRET</p>', True),
    ('<p hidden="hidden">SECRET</p>', True),
    ('<p hidden="bogus">SECRET</p>', True),  # an invalid value is the hidden state
    ('<div hidden="until-found">SECRET</div>', False),  # find-in-page reveals it
    ('<div hidden="UNTIL-FOUND">SECRET</div>', False),
    ('<p aria-hidden="true">SECRET</p>', True),
    ('<p aria-hidden="TRUE">SECRET</p>', True),
    ('<p aria-hidden="false">SECRET</p>', False),
    ('<p aria-hidden="">SECRET</p>', False),
    ('<p hidden aria-hidden="false">SECRET</p>', True),  # aria-hidden=false un-hides nothing
    ('<p style="display:none">SECRET</p>', True),
    ('<p style="color: red; DISPLAY : NONE">SECRET</p>', True),
    ('<p style="visibility: hidden">SECRET</p>', True),
    ('<p style="display:block">SECRET</p>', False),
]


def _page(el: str) -> str:
    return f"<html><body><p>visible text</p>{el}<p>after</p></body></html>"


@pytest.mark.parametrize(("el", "hidden"), CASES)
def test_one_rule_for_documents_and_rag(el, hidden):
    root = lxml.html.document_fromstring(_page(el))
    target = next(e for e in root.iter() if (e.text or "").strip() == "SECRET")
    assert is_hidden(target, frozenset()) is hidden
    assert hidden_rule(root)(target) is hidden
    doc_text = parse_html(_page(el).encode()).text
    cleaned = clean_html(_page(el))
    assert ("SECRET" in doc_text) is (not hidden)
    assert ("SECRET" in cleaned) is (not hidden)
    assert "visible text" in doc_text and "after" in cleaned


def test_a_panel_a_toggle_controls_is_kept_by_both():
    page = ('<html><body><h3><button aria-expanded="false" aria-controls="a1 a2">Do you ship '
            'abroad?</button></h3><div id="a1" hidden>Yes, to 40 countries.</div>'
            '<div id="a2" style="display:none" aria-hidden="true">Duties are prepaid.</div>'
            '<div id="x" hidden>gone</div></body></html>')
    root = lxml.html.document_fromstring(page)
    assert disclosed_ids(root) == {"a1", "a2"}
    doc_text, cleaned = parse_html(page).text, clean_html(page)
    for kept in ("Yes, to 40 countries.", "Duties are prepaid."):
        assert kept in doc_text and kept in cleaned
    assert "gone" not in doc_text and "gone" not in cleaned


@pytest.mark.parametrize("codec", ["utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be", "utf-8"])
def test_one_decoder_reads_every_byte_order_mark(codec):
    bom = {"utf-32-le": codecs.BOM_UTF32_LE, "utf-32-be": codecs.BOM_UTF32_BE,
           "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE,
           "utf-8": codecs.BOM_UTF8}[codec]
    data = bom + "<html><body><p>Grüße aus Köln</p></body></html>".encode(codec)
    assert bom_codec(data) is not None
    assert decode_html(data) == "<html><body><p>Grüße aus Köln</p></body></html>"
    assert parse_html(data).text == "Grüße aus Köln"
    assert "Grüße aus Köln" in clean_html(data)  # retrieval read UTF-32-LE as UTF-16 before
    assert detect_type(data) is FileType.HTML  # so parse() routes it (UTF-32 was refused)
    assert parse(data).text == "Grüße aus Köln"


def test_decoder_errors():
    with pytest.raises(InputError, match="not valid utf-8 at byte 6"):
        decode_html(b"<p>caf\xe9 \xff</p>")
    with pytest.raises(InputError, match="declared charset 'utf-8'"):
        decode_html(b'<meta charset="utf-8"><p>\xff\xfe\xfa</p>')
    with pytest.raises(InputError, match="unknown encoding"):
        decode_html(b"x", encoding="no-such-codec")
    assert decode_html(b"<p>caf\xe9</p>", encoding="latin-1") == "<p>café</p>"
    assert decode_html(b"") == ""  # the cleaner's empty page; the parser refuses it itself
    assert decode_html("<p>already text</p>") == "<p>already text</p>"
