"""The persistent ask index: `rag index` on PDFs and images, `rag query`, `ask --index`.

A folder holds the generated three-page lighthouse PDF of ``tests/test_ask.py`` (written by
reportlab), a PNG notice (drawn with a real font, read by OCR), an HTML page and a damaged PDF.
It is indexed once by the real CLI (real MiniLM, real parser); questions then go through the
index from the CLI (a fresh process) and from Python, and must return exactly the evidence and
answer of the parse-each-time path. Stale entries (bytes changed, another parser version) are
never served: ``ask`` parses instead and says so, ``rag query`` and ``rag index`` re-build them.
"""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

import prunestack
from prunestack.errors import InputError
from prunestack.pipeline.ask import document_cache, query_index
from tests import CLI
from tests.test_ask import make_pdf

ROOT = Path(__file__).resolve().parents[1]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
QUESTIONS = [("In which year was the lighthouse built?", 40),
             ("Which contractor repaints the lantern room?", 30),
             ("Who signed at the bottom right of page 3?", 20),
             ("What is the title of figure 1?", 60)]
EVIDENCE_KEYS = {"text", "page", "bbox", "path", "score", "document"}


def make_png() -> bytes:
    img = Image.new("RGB", (900, 260), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 34)
    for i, line in enumerate(("Ferry timetable notice", "The last ferry leaves at 22:15",
                              "Tickets are sold at the harbour kiosk")):
        draw.text((30, 30 + 70 * i), line, fill="black", font=font)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def signed_pdf(signer: str) -> bytes:
    """A two-page report whose last page is signed by ``signer`` in the bottom-right corner."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setFont("Helvetica-Bold", 16)
    c.drawString(60, A4[1] - 70, "Quarterly Harbour Report")
    c.setFont("Helvetica", 10)
    c.drawString(60, A4[1] - 100, "Visitor numbers rose by a tenth over the summer months.")
    c.showPage()
    c.setFont("Helvetica", 10)
    c.drawString(60, A4[1] - 70, "The pier repairs finished in October.")
    c.drawRightString(A4[0] - 50, 50, f"Approved by {signer}")
    c.showPage()
    c.save()
    return buf.getvalue()


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def fresh_ask(*args, **kw):
    """``prunestack.ask`` as the first question of a process: nothing in the document cache."""
    document_cache().clear()
    try:
        return prunestack.ask(*args, **kw)
    finally:
        document_cache().clear()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    src = tmp_path_factory.mktemp("corpus")
    (src / "lighthouse.pdf").write_bytes(make_pdf())
    (src / "scans").mkdir()
    (src / "scans" / "notice.png").write_bytes(make_png())
    (src / "page.html").write_text("<html><body><article><h1>Harbour news</h1><p>The harbour "
                                   "festival opens on Saturday with a parade of boats.</p>"
                                   "</article></body></html>")
    (src / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage")
    idx = tmp_path_factory.mktemp("index") / "idx"
    r = cli("rag", "index", str(src), "--out", str(idx))
    assert r.returncode == 0, r.stderr
    assert "indexed 1 pages" in r.stdout and "2 documents (2 parsed, 0 unchanged)" in r.stdout
    assert "skipped broken.pdf: the PDF cannot be read" in r.stderr  # reported, not fatal
    return src, idx


def test_index_stores_units_with_versions(corpus):
    _, idx = corpus
    con = sqlite3.connect(str(idx / "store.sqlite"))
    rows = con.execute("SELECT source, sha256, parser, encoder, n_units, dim FROM documents "
                       "ORDER BY source").fetchall()
    units = con.execute("SELECT text, page, bbox, path FROM units").fetchall()
    con.close()
    assert [r[0] for r in rows] == ["lighthouse.pdf", "scans/notice.png"]
    assert all(len(r[1]) == 64 and r[2] and "|" in r[3] and r[4] > 0 and r[5] == 384
               for r in rows)
    assert len(units) == sum(r[4] for r in rows)
    assert any("Coastal Paints Ltd" in u[0] and u[1] == 2 for u in units)
    assert all(set(json.loads(u[2])) == {"x0", "y0", "x1", "y1"} and json.loads(u[3])
               for u in units)


@pytest.mark.parametrize(("question", "budget"), QUESTIONS)
def test_evidence_from_the_index_is_identical_to_parsing(corpus, question, budget):
    src, idx = corpus
    pdf = src / "lighthouse.pdf"
    parsed = fresh_ask(pdf, question, budget)
    stored = fresh_ask(pdf, question, budget, index=idx)
    assert stored.timings["index_hit"] == 1.0 and stored.timings["parse"] == 0.0
    assert "index_hit" not in parsed.timings and parsed.timings["parse"] > 0
    assert stored.evidence == parsed.evidence
    assert (stored.question_type, stored.answer, stored.answer_provenance) == (
        parsed.question_type, parsed.answer, parsed.answer_provenance)


def test_an_image_is_answered_from_the_index(corpus):
    src, idx = corpus
    res = fresh_ask(src / "scans" / "notice.png", "When does the last ferry leave?", 30,
                    index=idx)
    assert res.timings["index_hit"] == 1.0
    assert "22:15" in " ".join(e.text for e in res.evidence)


def test_rag_query_from_python_and_the_cli(corpus):
    _, idx = corpus
    res = query_index(idx, "Which contractor repaints the lantern room?", 40)
    assert res.words <= 40 and res.rebuilt == []
    assert res.evidence and res.evidence[0].document == "lighthouse.pdf"
    assert "Coastal Paints Ltd" in " ".join(e.text for e in res.evidence)
    ferry = query_index(idx, "When does the last ferry leave?", 12)
    assert ferry.evidence[0].document == "scans/notice.png" and ferry.words <= 12
    r = cli("rag", "query", str(idx), "Which contractor repaints the lantern room?", "-b", "40",
            "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert "html" in out and out["tokens"] <= 40  # the HTML page still goes the HTML way
    docs = out["documents"]
    assert docs["evidence"] == [e.model_dump() for e in res.evidence]
    assert all(set(e) == EVIDENCE_KEYS for e in docs["evidence"])
    r = cli("rag", "query", str(idx), "When does the last ferry leave?", "-b", "12")
    assert r.returncode == 0, r.stderr
    assert "scans/notice.png | page 1" in r.stdout and "22:15" in r.stdout


def test_ask_cli_reads_the_index_in_a_fresh_process(corpus, tmp_path):
    src, idx = corpus
    r = cli("ask", str(src / "lighthouse.pdf"), "Which contractor repaints the lantern room?",
            "-b", "30", "--format", "json", "--index", str(idx))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["timings"]["index_hit"] == 1.0 and out["timings"]["parse"] == 0.0
    assert "Coastal Paints Ltd" in " ".join(e["text"] for e in out["evidence"])
    other = tmp_path / "other.png"  # bytes the index does not hold: parsed, with a note
    Image.open(io.BytesIO(make_png())).convert("L").save(other)
    r = cli("ask", str(other), "When does the last ferry leave?", "--format", "json",
            "--index", str(idx))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["timings"]["index_miss"] == 1.0
    assert f"note: other.png is not in {idx}; parsed it" in r.stderr


def test_stale_entries_are_rebuilt_never_served(tmp_path):
    src, idx = tmp_path / "src", tmp_path / "idx"
    src.mkdir()
    pdf = src / "report.pdf"
    pdf.write_bytes(signed_pdf("Jane Okafor"))
    r = cli("rag", "index", str(src), "--out", str(idx))
    assert r.returncode == 0 and "1 documents (1 parsed" in r.stdout, r.stderr
    q = "Who signed at the bottom right of page 2?"
    # another parser version built the entry: ask parses (and says so), rag index re-parses
    con = sqlite3.connect(str(idx / "store.sqlite"))
    con.execute("UPDATE documents SET parser = 'old'")
    con.commit()
    con.close()
    res = fresh_ask(pdf, q, 20, index=idx)
    assert res.timings["index_stale"] == 1.0 and res.timings["parse"] > 0
    r = cli("rag", "index", str(src), "--out", str(idx))
    assert r.returncode == 0 and "1 documents (1 parsed, 0 unchanged)" in r.stdout, r.stderr
    assert fresh_ask(pdf, q, 20, index=idx).timings["index_hit"] == 1.0
    # the file changes on disk: its hash is not in the index, and rag query re-builds it
    pdf.write_bytes(signed_pdf("Ravi Menon"))
    res = fresh_ask(pdf, q, 20, index=idx)
    assert res.timings["index_miss"] == 1.0
    assert "Ravi Menon" in " ".join(e.text for e in res.evidence)
    out = query_index(idx, q, 20)
    assert out.rebuilt == ["report.pdf"]
    assert "Ravi Menon" in " ".join(e.text for e in out.evidence)
    assert query_index(idx, q, 20).rebuilt == []
    assert fresh_ask(pdf, q, 20, index=idx).timings["index_hit"] == 1.0
    # a stale entry whose file is gone cannot be re-built: an error, not old evidence
    con = sqlite3.connect(str(idx / "store.sqlite"))
    con.execute("UPDATE documents SET parser = 'old'")
    con.commit()
    con.close()
    pdf.unlink()
    with pytest.raises(InputError, match="is gone"):
        query_index(idx, q, 20)


def test_bad_input_is_one_line_on_stderr(corpus, tmp_path):
    src, _ = corpus
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage")
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04 not a document")
    (tmp_path / "empty").mkdir()
    cases = [(("rag", "index", str(tmp_path / "missing.pdf"), "--out", str(tmp_path / "o")),
              "not found"),
             (("rag", "index", str(tmp_path / "notes.docx"), "--out", str(tmp_path / "o")),
              "rag index does not take .docx files"),
             (("rag", "index", str(tmp_path / "broken.pdf"), "--out", str(tmp_path / "o")),
              "the PDF cannot be read"),
             (("rag", "index", str(tmp_path / "empty"), "--out", str(tmp_path / "o")),
              "no .html, .pdf or image files"),
             (("ask", str(src / "lighthouse.pdf"), "Who?", "--index", str(tmp_path)),
              "is not an index")]
    for args, msg in cases:
        r = cli(*args)
        assert r.returncode != 0, (args, r.stdout)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and msg in lines[0], r.stderr
    assert not (tmp_path / "o").exists()  # nothing written for a file that cannot be read
