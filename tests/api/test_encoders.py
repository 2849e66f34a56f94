"""Sentence encoders served by name (``PRUNESTACK_ENCODERS``), on a real uvicorn server: a
head- and FFN-pruned MiniLM answers ``/v1/extract`` and ``/v1/html/prune`` when a request names
it; an unknown name is a 422 in the one error shape; clients never send paths."""

from __future__ import annotations

import json

import httpx
import jsonschema
import pytest

from prunestack.api.settings import Settings

TEXT_SCHEMA = {"type": "object", "properties": {
    "invoice_number": {"type": "string"}, "total": {"type": "number"}}, "required": ["total"]}
TEXT = "ACME Tools Ltd\n\nInvoice No: INV-77\nDate: 31/01/2024\n\nTotal: EUR 1.234,50"
HTML = ("<article><p>The harbour at Bristol closed on Monday after a storm damaged the pier.</p>"
        "<p>Bakers in Lyon won a prize for sourdough bread this year.</p>"
        "<p>The football club signed a new goalkeeper from Madrid.</p></article>")


@pytest.fixture(scope="module")
def served(pruned_minilm_dir, examples_dir):
    from tests.api.conftest import LiveServer

    with LiveServer(Settings(encoders={"small": pruned_minilm_dir}, examples_dir=examples_dir,
                             max_pages=5, queue_timeout_s=30)) as srv:
        yield srv


def _unknown(r: httpx.Response, name: str) -> None:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["status"] == 422 and body["error"]["type"] == "ConfigError"
    assert f"unknown encoder {name!r}" in body["error"]["message"]
    assert "small" in body["error"]["hint"]


def test_models_lists_named_encoders_without_paths(served, pruned_minilm_dir):
    m = httpx.get(f"{served.url}/v1/models").json()
    assert m["encoders"] == [{"name": "small", "loaded": True}]  # preloaded at start-up
    assert m["embedder"] == {"name": "all-MiniLM-L6-v2", "loaded": True}
    assert str(pruned_minilm_dir) not in json.dumps(m)


def test_extract_with_a_named_pruned_encoder(served, examples_dir):
    with httpx.Client(base_url=served.url, timeout=120) as c:
        r = c.post("/v1/extract", json={"schema": TEXT_SCHEMA, "text": TEXT, "encoder": "small"})
        assert r.status_code == 200, r.text
        body = r.json()
        jsonschema.validate(body["data"], TEXT_SCHEMA)
        assert body["data"]["total"] == 1234.5
        # a multipart upload names it the same way
        schema = (examples_dir / "sample_invoice.schema.json").read_text()
        r = c.post("/v1/extract", data={"example": "sample_invoice", "schema": schema,
                                        "encoder": "small"})
        assert r.status_code == 200, r.text
        jsonschema.validate(r.json()["data"], json.loads(schema))
        _unknown(c.post("/v1/extract", json={"schema": TEXT_SCHEMA, "text": TEXT,
                                             "encoder": "large"}), "large")
        _unknown(c.post("/v1/extract", data={"example": "sample_invoice", "schema": schema,
                                             "encoder": "/etc/passwd"}), "/etc/passwd")


def test_html_prune_with_a_named_pruned_encoder(served, pruned_minilm_dir):
    with httpx.Client(base_url=served.url, timeout=120) as c:
        r = c.post("/v1/html/prune", json={"html": HTML, "query": "which bakery won a prize?",
                                           "budget": 12, "pruner": "embed", "encoder": "small"})
        assert r.status_code == 200, r.text
        assert "Bakers in Lyon" in r.json()["html"] and "goalkeeper" not in r.json()["html"]
        _unknown(c.post("/v1/html/prune", json={"html": HTML, "query": "q", "budget": 12,
                                                "pruner": "embed", "encoder": "big"}), "big")
        r = c.post("/v1/html/prune", json={"html": HTML, "query": "q", "budget": 12,
                                           "encoder": "small"})  # bm25 does not embed
        assert r.status_code == 422 and "embed, hybrid and auto" in r.json()["error"]["message"]
    assert served.app.state.registry.holds("encoder", pruned_minilm_dir)


def test_unknown_encoder_with_none_served(live):
    r = httpx.post(f"{live.url}/v1/extract", json={"schema": TEXT_SCHEMA, "text": TEXT,
                                                   "encoder": "small"}, timeout=60)
    assert r.status_code == 422 and r.json()["error"]["hint"] == "served encoders: none"


def test_default_encoder_setting(make_server, pruned_minilm_dir):
    srv = make_server(encoder=pruned_minilm_dir, preload_models=False)
    m = httpx.get(f"{srv.url}/v1/models").json()
    assert m["embedder"] == {"name": "default", "loaded": True} and m["encoders"] == []
    r = httpx.post(f"{srv.url}/v1/extract", json={"schema": TEXT_SCHEMA, "text": TEXT},
                   timeout=120)
    assert r.status_code == 200 and r.json()["data"]["total"] == 1234.5
    assert srv.app.state.registry.holds("encoder", pruned_minilm_dir)


def test_encoder_names_are_checked():
    with pytest.raises(ValueError, match="model name"):
        Settings(encoders={"../x": "/tmp"})
