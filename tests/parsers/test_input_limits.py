"""Inputs that must not cost unbounded memory or reach a tokenizer broken: the decoded-page pixel
bound (a JPEG read at a reduced scale, other images refused before decoding), lone surrogates in
text, and HTML nested deeper than the parser keeps."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from prunestack.errors import InputError, TooLargeError
from prunestack.parsers.html import parse_html
from prunestack.parsers.image import load_pages
from prunestack.parsers.ingest import parse_source
from prunestack.parsers.text import text_document
from prunestack.retrieval.prune import prune_html


def _encode(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture(scope="module")
def page() -> Image.Image:
    """A 3000 x 2000 page (6 MP) with a black band at the top left."""
    img = Image.new("RGB", (3000, 2000), "white")
    ImageDraw.Draw(img).rectangle([0, 0, 599, 199], fill="black")
    return img


def test_jpeg_over_the_bound_is_decoded_at_a_reduced_scale(page):
    """6 MP under a 1 MP bound: read at 1/4 (750 x 500), never at full size; the factor maps its
    pixels back to the original's and the content is where it was."""
    out, factor = load_pages(_encode(page, "JPEG"), max_pixels=1_000_000)[0]
    assert out.size == (750, 500) and factor == 4.0
    assert out.getpixel((50, 20))[0] < 60 and out.getpixel((400, 300))[0] > 200
    # a working size below the bound still wins: shrunk further, factor exact
    small, f = load_pages(_encode(page, "JPEG"), max_pixels=1_000_000, work_pixels=200_000)[0]
    assert small.width * small.height <= 200_000 and f == pytest.approx(3000 / small.width)


def test_other_images_over_the_bound_are_refused_before_decoding(page):
    with pytest.raises(TooLargeError, match=r"6,000,000 pixels, over the limit of 1,000,000"
                                            r".*PRUNESTACK_MAX_PIXELS"):
        load_pages(_encode(page, "PNG"), max_pixels=1_000_000)
    # under the bound it is read at full size, as before
    assert load_pages(_encode(page, "PNG"), max_pixels=6_000_000)[0][0].size == (3000, 2000)


def test_a_jpeg_too_big_even_at_one_eighth_is_refused(page):
    with pytest.raises(TooLargeError, match="over the limit"):
        load_pages(_encode(page, "JPEG"), max_pixels=50_000)  # 1/8 is 375 x 250 = 93,750


@pytest.mark.parametrize("call", [
    lambda: text_document("Invoice \ud800 No: 12"),
    lambda: parse_html("<p>Invoice \udfff No: 12</p>"),
    lambda: parse_source("Total \ud83d: 12"),  # a high surrogate without its low half
    lambda: prune_html("<p>Invoice \ud800 No: 12</p>", "invoice", 16),
])
def test_lone_surrogates_are_an_input_error(call):
    with pytest.raises(InputError, match="lone UTF-16 surrogate"):
        call()


def test_a_surrogate_pair_is_text():
    assert "\U0001f600" in text_document("smile \U0001f600 please").pages[0].elements[0].text


def test_html_nested_5000_deep_is_too_large_not_a_recursion_error():
    html = "<html><body>" + "<div>" * 5000 + "deep" + "</div>" * 5000 + "</body></html>"
    with pytest.raises(TooLargeError, match="256"):
        parse_html(html)
    with pytest.raises(TooLargeError, match="depth"):
        prune_html(html, "deep", 32)
