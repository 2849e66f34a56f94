"""Input limits on a real uvicorn server with tight settings: text characters for every input form
(JSON text, an HTML upload once decoded, a parsed PDF), the nesting of JSON bodies (measured
before parsing), the schema limits from the server's settings (JSON body and multipart), lone
surrogates, HTML nested past the parser's depth, and the decoded-page pixel bound. Every refusal
is a 4xx in the one error shape, names its limit, and leaves the server answering."""

from __future__ import annotations

import io
import json
import time

import httpx
import pypdfium2 as pdfium
import pytest
from PIL import Image

from prunestack.api.service import render_page
from prunestack.api.settings import Settings
from tests.api.conftest import LiveServer
from tests.parsers import docgen

TEXT_LIMIT = 5000
SCHEMA = {"type": "object", "properties": {"invoice_number": {"type": "string"}}}


@pytest.fixture(scope="module")
def tight(examples_dir):
    with LiveServer(Settings(max_upload_bytes=2_000_000, max_pages=5, examples_dir=examples_dir,
                             max_text_chars=TEXT_LIMIT, max_json_depth=32,
                             max_pixels=1_000_000, max_schema_depth=20, max_schema_enum=100,
                             max_concurrency=2, max_queue=8, queue_timeout_s=30)) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(tight):
    with httpx.Client(base_url=tight.url, timeout=60) as c:
        yield c


def refused(r: httpx.Response, status: int, *words: str) -> str:
    assert r.status_code == status, (r.status_code, r.text[:500])
    body = r.json()
    assert body["status"] == status and set(body["error"]) == {"type", "message", "hint"}
    text = f"{body['error']['message']} {body['error']['hint']}"
    for w in words:
        assert w in text, text
    return text


def html_page(chars: int) -> bytes:
    words = " ".join(f"word{i}" for i in range(chars // 8))
    return f"<html><body><p>Invoice No: 12</p><p>{words}</p></body></html>".encode()


# ------------------------------------------------------------------ text, whatever its form
def test_html_upload_is_held_to_the_text_limit_once_decoded(client):
    page = html_page(2 * TEXT_LIMIT)
    assert len(page) < 2_000_000  # under the upload limit: the text limit is what refuses it
    files = {"file": ("page.html", page, "text/html")}
    refused(client.post("/v1/extract", files=files, data={"schema": json.dumps(SCHEMA)}), 413,
            "the HTML, once decoded,", f"{TEXT_LIMIT:,}", "max_text_chars",
            "PRUNESTACK_MAX_TEXT_CHARS")
    refused(client.post("/v1/parse", files=files), 413, "max_text_chars")
    ok = client.post("/v1/parse", files={"file": ("p.html", html_page(TEXT_LIMIT // 2),
                                                  "text/html")})
    assert ok.status_code == 200, ok.text


def test_a_parsed_pdf_is_held_to_the_text_limit(client):
    pdf = docgen.text_pdf([f"Line {i}: " + "lorem ipsum dolor sit amet " * 3 for i in range(80)],
                          size=8)
    refused(client.post("/v1/parse", files={"file": ("t.pdf", pdf, "application/pdf")}), 413,
            "the parsed document has", "max_text_chars")


def test_json_text_and_html_are_held_to_the_text_limit(client):
    long = "Invoice No: 12. " + "x" * TEXT_LIMIT
    refused(client.post("/v1/extract", json={"schema": SCHEMA, "text": long}), 413,
            "the 'text'", "max_text_chars")
    refused(client.post("/v1/html/prune", json={"html": f"<p>{long}</p>", "query": "invoice"}),
            413, "the 'html'", "max_text_chars")


# ------------------------------------------------------------------ nesting of JSON bodies
@pytest.mark.parametrize("path", ["/v1/extract", "/v1/html/prune"])
def test_a_deep_json_body_is_refused_before_it_is_parsed(client, path):
    t = time.monotonic()
    r = client.post(path, content=b"[" * 100_000 + b"]" * 100_000,
                    headers={"content-type": "application/json"})
    refused(r, 413, "nests more than 32 levels", "max_json_depth")
    assert time.monotonic() - t < 5
    assert client.get("/healthz").status_code == 200


def _nested(levels: int) -> dict:
    s: dict = {"type": "string"}
    for _ in range(levels):
        s = {"type": "object", "properties": {"a": s}}
    return s


def test_schema_limits_come_from_the_settings(client):
    """Depth 21 passes the body's 32 but not the schema's 20; the same schema as a multipart
    field; an enum past 100; a stand-in of 300,000,000 characters (the default limit)."""
    deep = _nested(10)
    refused(client.post("/v1/extract", json={"schema": deep, "text": "Invoice No: 12"}), 422,
            "max_schema_depth", "PRUNESTACK_MAX_SCHEMA_DEPTH", "over the limit of 20")
    refused(client.post("/v1/extract", files={"file": ("p.html", html_page(100), "text/html")},
                        data={"schema": json.dumps(deep)}), 422, "max_schema_depth")
    text_5000 = '{"type":"object","properties":{"a":' * 5000 + "{}" + "}}" * 5000
    refused(client.post("/v1/extract", files={"file": ("p.html", html_page(100), "text/html")},
                        data={"schema": text_5000}), 422, "max_schema_depth")
    enum = {"type": "object", "properties": {"a": {"enum": list(range(150))}}}
    refused(client.post("/v1/extract", json={"schema": enum, "text": "Invoice No: 12"}), 422,
            "properties/a/enum", "150", "max_schema_enum")
    huge = {"type": "object", "required": ["invoice_number"], "properties": {
        "invoice_number": {"type": "string", "pattern": "^[0-9]+$", "minLength": 300_000_000}}}
    refused(client.post("/v1/extract", json={"schema": huge, "text": "Invoice No: aaa1"}), 422,
            "properties/invoice_number/minLength", "max_schema_placeholder")
    ok = client.post("/v1/extract", json={"schema": _nested(9), "text": "Invoice No: 12"})
    assert ok.status_code == 200, ok.text


# ------------------------------------------------------------------ lone surrogates
def test_lone_surrogates_are_400_not_500(client):
    body = (b'{"schema": {"type": "object", "properties": {"n": {"type": "string"}}}, '
            b'"text": "Invoice \\ud800 No: 12"}')
    refused(client.post("/v1/extract", content=body, headers={"content-type": "application/json"}),
            400, "lone UTF-16 surrogate")
    body = b'{"html": "<p>Paris</p>", "query": "capital \\udfff", "pruner": "embed"}'
    refused(client.post("/v1/html/prune", content=body,
                        headers={"content-type": "application/json"}), 400, "lone UTF-16")
    pair = (b'{"schema": {"type": "object", "properties": {"n": {"type": "string"}}}, '
            b'"text": "Invoice \\ud83d\\ude00 No: 12"}')
    ok = client.post("/v1/extract", content=pair, headers={"content-type": "application/json"})
    assert ok.status_code == 200, ok.text


# ------------------------------------------------------------------ HTML depth, pixels
def test_html_nested_5000_deep_is_413(live):
    """On the default server (its text limit is far away): the nesting refuses it."""
    html = ("<html><body>" + "<div>" * 5000 + "Invoice No: 12" + "</div>" * 5000
            + "</body></html>")
    files = {"file": ("deep.html", html.encode(), "text/html")}
    with httpx.Client(base_url=live.url, timeout=60) as c:
        refused(c.post("/v1/parse", files=files), 413, "256")
        refused(c.post("/v1/extract", files=files, data={"schema": json.dumps(SCHEMA)}), 413,
                "256")
        refused(c.post("/v1/extract", json={"schema": SCHEMA, "html": html}), 413, "256")
        refused(c.post("/v1/html/prune", json={"html": html, "query": "invoice"}), 413, "depth")
        assert c.get("/healthz").json()["running"] == 0


def test_images_over_the_decoded_pixel_bound(client):
    img = Image.new("RGB", (1500, 1000), "white")  # 1.5 MP over the server's 1 MP
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    refused(client.post("/v1/parse", files={"file": ("big.png", buf.getvalue(), "image/png")}),
            413, "1,500,000 pixels", "PRUNESTACK_MAX_PIXELS")


def test_page_renders_stay_within_the_pixel_bound():
    """A 200 x 200 inch PDF page asked for at scale 4 would be 3.3 gigapixels: it is drawn at
    the scale that fits ``max_pixels``."""
    pdf = pdfium.PdfDocument.new()
    pdf.new_page(14400, 14400)
    buf = io.BytesIO()
    pdf.save(buf)
    png = render_page(buf.getvalue(), "application/pdf", 1, 4.0, max_pixels=1_000_000)
    w, h = Image.open(io.BytesIO(png)).size
    assert w * h <= 1_000_000 and w > 900
    big = Image.new("RGB", (2000, 1500), "white")
    jb = io.BytesIO()
    big.save(jb, format="JPEG")
    out = Image.open(io.BytesIO(render_page(jb.getvalue(), "image/jpeg", 1, 1.5,
                                            max_pixels=1_000_000)))
    assert out.width * out.height <= 1_000_000
