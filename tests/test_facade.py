"""The façade (``import prunestack``): cheap to import, one call per job, every source and schema
form, typed results, clear errors. Real invoice PDF, real MiniLM, real parsers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

import prunestack
from prunestack.errors import ConfigError, InputError, SchemaError

REPO = Path(__file__).resolve().parents[1]
PDF = REPO / "examples" / "sample_invoice.pdf"
SCHEMA = REPO / "examples" / "invoice_schema.json"
EXPECTED = json.loads((REPO / "examples" / "sample_invoice.expected.json").read_text())


def test_import_is_cheap():
    """Importing the façade loads none of the heavy libraries."""
    code = ("import sys, prunestack\n"
            "heavy = [m for m in ('torch', 'transformers', 'fastapi', 'pypdfium2', 'lxml',"
            " 'prunestack.parsers', 'prunestack.pipeline') if m in sys.modules]\n"
            "print(heavy)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_extract_outside_the_checkout(tmp_path):
    """The acceptance call, from a folder that is not the checkout, in a fresh interpreter."""
    code = (f"import json, prunestack\n"
            f"res = prunestack.extract({str(PDF)!r}, schema={str(SCHEMA)!r})\n"
            f"print(json.dumps(res.data))")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout.splitlines()[-1]) == EXPECTED


@pytest.fixture(scope="module")
def by_path():
    return prunestack.extract(PDF, schema=SCHEMA)


def test_every_source_and_schema_form_gives_the_same_data(by_path):
    assert by_path.valid and by_path.data == EXPECTED
    schema = json.loads(SCHEMA.read_text())
    for source, sch in [(str(PDF), str(SCHEMA)), (PDF.read_bytes(), schema),
                        (PDF, SCHEMA.read_text())]:
        res = prunestack.extract(source, schema=sch)
        assert res.data == by_path.data
        assert res.provenance == by_path.provenance
    assert by_path.model_dump()["data"] == EXPECTED


def test_pydantic_model_schema_and_text_source():
    class Receipt(BaseModel):
        shop: str | None = None
        total: float

    res = prunestack.extract("Shop: Supermarkt Meyer\n\nTotal: EUR 12.50", schema=Receipt)
    assert res.data == {"shop": "Supermarkt Meyer", "total": 12.5}
    Receipt.model_validate(res.data)


def test_parse_sources():
    doc = prunestack.parse(PDF)
    assert doc.pages[0].elements and doc.pages[0].width > 500
    html = prunestack.parse("<html><body><h1>Menu</h1><p>Soup: leek</p></body></html>")
    assert [e.text for e in html.elements()] == ["Menu", "Soup: leek"]
    text = prunestack.parse("first paragraph\n\nsecond one")
    assert [e.text for e in text.elements()] == ["first paragraph", "second one"]


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(InputError, match="not found"):
        prunestack.parse(str(tmp_path / "missing.pdf"))
    with pytest.raises(SchemaError):
        prunestack.extract("Total: 5", schema='{"type": "object", "properties": 3}')
    with pytest.raises(ConfigError, match="min_score"):
        prunestack.extract("Total: 5", schema={"type": "object"}, min_score=7)
    with pytest.raises(ConfigError, match="colour"):
        prunestack.extract("Total: 5", schema={"type": "object"}, colour="red")


def test_prune_html_result_is_typed():
    page = ("<html><body><nav>Home News Sport</nav><article><p>The ferry to Cork resumes on "
            "Thursday after the storm.</p><p>Tickets cost 40 euros.</p></article></body></html>")
    r = prunestack.prune_html(page, "when does the ferry resume?", budget=32)
    assert "Thursday" in r.html and "Home" not in r.html and r.tokens <= 32
    assert r.model_dump()["budget"] == 32
