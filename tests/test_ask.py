"""Asking a document a question: Python, CLI and API on a generated three-page PDF.

The PDF is written by reportlab with known answers: a semantic fact in a paragraph on page 1
("built in 1857"), a figure with its caption, a maintenance table on page 2 (who repaints the
lantern room), and a note in the bottom-right corner of page 3 (a location question). Filler
paragraphs make budgets bite. The crash case of issue 16 ("What is the title of figure 1?" on
a caption holding a lone UTF-16 surrogate, as pdfium reports characters outside the BMP) runs
on a document built in memory.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

import prunestack
from prunestack.errors import ConfigError, InputError
from prunestack.pipeline.ask import DocumentCache, ask_document, document_cache, prepare_document
from prunestack.pipeline.document import BBox, Document, Element, ElementKind, Page, Source
from tests import CLI

ROOT = Path(__file__).resolve().parents[1]
W, H = A4
FILLER = ("The harbour committee met on several occasions to discuss visitor access, parking, "
          "signage along the coastal path and the budget for the coming seasons. Members "
          "agreed that further surveys would be commissioned when funds allow.")
KEYS = {"question", "question_type", "answer", "answer_provenance", "evidence", "timings"}


def _para(c: canvas.Canvas, x: float, y: float, text: str, size: int = 10,
          width: int = 95) -> float:
    """Draw ``text`` wrapped at ``width`` characters; return the next baseline."""
    words, line = text.split(), ""
    c.setFont("Helvetica", size)
    for w in words:
        if len(line) + len(w) + 1 > width:
            c.drawString(x, y, line)
            y -= size * 1.4
            line = w
        else:
            line = f"{line} {w}".strip()
    if line:
        c.drawString(x, y, line)
        y -= size * 1.4
    return y - size


def make_pdf() -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    # page 1: title, a fact, a figure with its caption, filler
    c.setFont("Helvetica-Bold", 20)
    c.drawCentredString(W / 2, H - 70, "Harbour Lighthouse Survey")
    y = H - 120
    c.setFont("Helvetica-Bold", 13)
    c.drawString(60, y, "History")
    y = _para(c, 60, y - 22, "The lighthouse was built in 1857 by the engineer Thomas Aldwych "
              "and first lit in the spring of the following year.")
    for _ in range(3):
        y = _para(c, 60, y, FILLER)
    c.rect(60, y - 150, 200, 140)
    y = _para(c, 60, y - 170, "Figure 1: Cross-section of the granite tower", size=9)
    for _ in range(2):
        y = _para(c, 60, y, FILLER)
    c.showPage()
    # page 2: a table with a header row
    c.setFont("Helvetica-Bold", 13)
    c.drawString(60, H - 70, "Maintenance Schedule")
    rows = [("Task", "Interval", "Contractor"), ("Clean the lens", "monthly", "Harbour Staff"),
            ("Repaint the lantern room", "every 5 years", "Coastal Paints Ltd"),
            ("Service the foghorn", "yearly", "Signal Works")]
    y = H - 110
    for r in rows:
        for x, cell in zip((60, 260, 400), r, strict=True):
            c.setFont("Helvetica-Bold" if r is rows[0] else "Helvetica", 10)
            c.drawString(x, y, cell)
        y -= 18
    y -= 20
    for _ in range(3):
        y = _para(c, 60, y, FILLER)
    c.showPage()
    # page 3: filler, and a note in the bottom-right corner
    y = H - 70
    for _ in range(4):
        y = _para(c, 60, y, FILLER)
    c.setFont("Helvetica", 9)
    c.drawRightString(W - 50, 50, "Approved by Jane Okafor")
    c.showPage()
    c.save()
    return buf.getvalue()


@pytest.fixture(scope="module")
def pdf(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ask") / "lighthouse.pdf"
    path.write_bytes(make_pdf())
    return path


def words(res) -> int:
    return sum(len(e.text.split()) for e in res.evidence)


def evidence_text(res) -> str:
    return " ".join(e.text for e in res.evidence)


def test_semantic_question_finds_the_fact(pdf):
    res = prunestack.ask(pdf, "In which year was the lighthouse built?", budget=40)
    assert set(res.model_dump()) == KEYS
    assert res.question_type == "semantic"
    assert "1857" in evidence_text(res)
    assert words(res) <= 40
    first = next(e for e in res.evidence if "1857" in e.text)
    assert first.page == 1 and "History" in first.path
    assert res.answer is not None and res.answer_provenance is not None
    assert res.answer_provenance["page"] in {e.page for e in res.evidence}


def test_table_question_keeps_the_header_context(pdf):
    res = prunestack.ask(pdf, "Which contractor repaints the lantern room?", budget=30)
    assert "Coastal Paints Ltd" in evidence_text(res)
    assert all(e.page == 2 for e in res.evidence[:1])


def test_location_question_uses_the_page_grid(pdf):
    res = prunestack.ask(pdf, "Who signed at the bottom right of page 3?", budget=20)
    assert res.question_type == "location"
    assert "Jane Okafor" in evidence_text(res)
    assert words(res) <= 20


@pytest.mark.parametrize("budget", [1, 3, 10, 25, 60, 200])
def test_budget_is_never_exceeded_and_order_is_reading_order(pdf, budget):
    res = prunestack.ask(pdf, "What does the harbour committee discuss?", budget=budget)
    assert 0 < words(res) <= budget
    pages = [e.page for e in res.evidence]
    assert pages == sorted(pages)
    for e in res.evidence:
        assert 0.0 <= e.score <= 1.0 and e.bbox.x1 > e.bbox.x0


def test_second_question_on_the_same_document_comes_from_the_cache(pdf):
    document_cache().clear()
    cold = prunestack.ask(pdf.read_bytes(), "Who built the lighthouse?")
    warm = prunestack.ask(pdf.read_bytes(), "Who built the lighthouse?")
    assert cold.timings["cached"] == 0.0 and cold.timings["parse"] > 0
    assert warm.timings["cached"] == 1.0 and warm.timings["parse"] == 0.0
    assert [e.text for e in warm.evidence] == [e.text for e in cold.evidence]
    assert "Thomas Aldwych" in evidence_text(warm)


def _figure_doc() -> Document:
    box = BBox(x0=50, y0=300, x1=300, y1=320)
    els = [Element(id="p1-e0", kind=ElementKind.TEXT, text="Results of the tank survey.",
                   page=1, bbox=BBox(x0=50, y0=100, x1=300, y1=120), source=Source.PDF_TEXT),
           Element(id="p1-e1", kind=ElementKind.FIGURE, text="", page=1,
                   bbox=BBox(x0=50, y0=130, x1=300, y1=290), source=Source.PDF_TEXT),
           # pdfium reports U+1D465 (mathematical italic x) as two UTF-16 halves
           Element(id="p1-e2", kind=ElementKind.CAPTION,
                   text="Figure 1: Growth of \ud835\udc65 over time", page=1, bbox=box,
                   source=Source.PDF_TEXT)]
    return Document(source_name="fig", mime_type="application/pdf",
                    pages=[Page(number=1, width=600, height=800, elements=els)])


def test_figure_title_question_does_not_crash_on_a_lone_surrogate():
    from prunestack.models import registry

    encoder = registry().encoder()
    prepared, hit = prepare_document("figure-doc", _figure_doc, encoder, DocumentCache())
    assert not hit
    res = ask_document(prepared, "What is the title of figure 1?", 50, encoder=encoder)
    caption = next(e for e in res.evidence if "Growth of" in e.text)
    assert caption.path[-1].startswith("figure: Figure 1")


def test_bad_input_is_a_clear_error(pdf, tmp_path):
    with pytest.raises(InputError, match="question is empty"):
        prunestack.ask(pdf, "   ")
    with pytest.raises(ConfigError, match="budget 0"):
        prunestack.ask(pdf, "Who?", budget=0)
    with pytest.raises(ConfigError, match="needs a causal LM"):
        prunestack.ask(pdf, "Who?", engine="generative")
    with pytest.raises(InputError, match="file not found"):
        prunestack.ask(tmp_path / "missing.pdf", "Who?")


def test_html_and_text_sources():
    html = ("<html><body><h1>Opening hours</h1><p>The museum opens at 9 am.</p>"
            "<h2>Tickets</h2><p>Adults pay 12 euros; children enter free.</p></body></html>")
    res = prunestack.ask(html, "How much do adults pay?", budget=12)
    assert "12 euros" in evidence_text(res) and words(res) <= 12
    hit = next(e for e in res.evidence if "12 euros" in e.text)
    assert hit.path[:2] == ["Opening hours", "Tickets"]  # section titles down to the paragraph
    assert hit.score == max(e.score for e in res.evidence)


def test_generative_engine_answers_under_the_schema(pdf, tiny_llama_dir):
    res = prunestack.ask(pdf, "In which year was the lighthouse built?", budget=40,
                         engine="generative", model=tiny_llama_dir)
    assert words(res) <= 40
    assert res.answer is None or isinstance(res.answer, str)
    if res.answer_provenance is not None:  # a random model may cite nothing
        assert 0 <= res.answer_provenance["evidence"] < len(res.evidence)


# ------------------------------------------------------------------------------------- CLI


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_cli_prints_json_and_text(pdf):
    r = cli("ask", str(pdf), "Which contractor repaints the lantern room?", "--budget", "30",
            "--format", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == KEYS
    assert "Coastal Paints Ltd" in " ".join(e["text"] for e in out["evidence"])
    assert set(out["evidence"][0]) == {"text", "page", "bbox", "path", "score"}
    r = cli("ask", str(pdf), "Who signed at the bottom right of page 3?", "-b", "20")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("answer:") and "Jane Okafor" in r.stdout


def test_cli_errors_are_one_line(pdf, tmp_path):
    for args, msg in [(("ask", str(pdf), " "), "question is empty"),
                      (("ask", str(pdf), "Who?", "--budget", "0"), "budget 0"),
                      (("ask", str(pdf), "Who?", "--format", "xml"), "unknown format"),
                      (("ask", str(pdf), "Who?", "--engine", "generative"), "needs a causal LM"),
                      (("ask", str(tmp_path / "nope.pdf"), "Who?"), "file not found")]:
        r = cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        line = r.stderr.strip().splitlines()[-1]
        assert line.startswith("error:") and msg in line, line
        assert "Traceback" not in r.stderr


# ------------------------------------------------------------------------------------- API


@pytest.fixture(scope="module")
def server():
    from prunestack.api.settings import Settings
    from tests.api.conftest import LiveServer

    with LiveServer(Settings(max_upload_bytes=2_000_000, max_pages=5, max_concurrency=2,
                             max_queue=8, queue_timeout_s=30, max_text_chars=5000)) as srv:
        yield srv


def test_api_multipart_and_json(server, pdf):
    import httpx

    r = httpx.post(f"{server.url}/v1/ask", timeout=120,
                   files={"file": ("lighthouse.pdf", pdf.read_bytes(), "application/pdf")},
                   data={"question": "In which year was the lighthouse built?", "budget": "40"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert set(out) == KEYS and "1857" in " ".join(e["text"] for e in out["evidence"])
    assert sum(len(e["text"].split()) for e in out["evidence"]) <= 40
    r = httpx.post(f"{server.url}/v1/ask", timeout=120, json={
        "question": "How much do adults pay?", "budget": 12,
        "html": "<h1>Tickets</h1><p>Adults pay 12 euros.</p><p>Children enter free.</p>"})
    assert r.status_code == 200, r.text
    assert "12 euros" in " ".join(e["text"] for e in r.json()["evidence"])


@pytest.mark.parametrize("kwargs, status, msg", [
    ({"json": {"question": "", "text": "abc"}}, 422, "question"),
    ({"json": {"question": "Who?", "text": "abc", "budget": 0}}, 422, "budget"),
    ({"json": {"question": "Who?"}}, 422, "exactly one of"),
    ({"json": {"question": "Who?", "text": "x" * 6000}}, 413, "over the limit"),
    ({"json": {"question": "Who?", "text": "abc", "engine": "generative"}}, 422, "needs 'model'"),
    ({"json": {"question": "Who?", "text": "abc", "model": "nope", "engine": "generative"}},
     422, "unknown model"),
    ({"data": {"question": "Who?"}, "files": {"file": ("a.pdf", b"", "application/pdf")}},
     400, "empty"),
    ({"data": {"question": "Who?"}, "files": {"file": ("a.bin", b"\x00\x01garbage", "x/y")}},
     415, ""),
    ({"data": {"question": "Who?", "budget": "many"},
      "files": {"file": ("a.html", b"<p>hi</p>", "text/html")}}, 422, "whole number"),
    ({"content": b"question=Who", "headers": {"content-type": "text/plain"}}, 415, "content type"),
])
def test_api_errors_use_the_envelope(server, kwargs, status, msg):
    import httpx

    r = httpx.post(f"{server.url}/v1/ask", timeout=60, **kwargs)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "status"} and body["status"] == status
    assert set(body["error"]) == {"type", "message", "hint"}
    assert msg in body["error"]["message"]
