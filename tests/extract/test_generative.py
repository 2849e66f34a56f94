"""Generative engine with a tiny random Llama (real Mistral tokenizer): always schema-valid."""

from __future__ import annotations

import jsonschema
import pytest

from prunestack.pipeline.extract import extract_document
from prunestack.pipeline.extract.generative import bounded_schema, build_prompt
from prunestack.pipeline.schema import plan_fields
from tests.extract.docs import INVOICE_SCHEMA, invoice_document

SMALL = {"type": "object", "properties": {
    "invoice_number": {"type": "string"}, "total": {"type": ["number", "null"]},
    "currency": {"type": "string", "enum": ["EUR", "USD"]}},
    "required": ["invoice_number", "total", "currency"]}


@pytest.fixture(scope="module")
def tiny(tiny_llama_dir):
    from prunestack.models import load_causal_lm, load_tokenizer

    return load_causal_lm(tiny_llama_dir), load_tokenizer(tiny_llama_dir)


def test_prompt_fits_context_and_lists_fields(tiny):
    _, tok = tiny
    doc = invoice_document()
    fields = plan_fields(INVOICE_SCHEMA)
    prompt = build_prompt(doc, fields, {}, tok, max_prompt_tokens=2000, prompt_chars=5000)
    assert "- vendor.address.city (string)" in prompt and "INV-2024-00123" in prompt
    small = build_prompt(doc, fields, {}, tok, max_prompt_tokens=300, prompt_chars=5000)
    assert "vendor.address.city;" in small and "line_items[description, quantity" in small
    assert len(tok(small)["input_ids"]) <= 300 + 2


def test_bounded_schema_caps_strings_and_arrays():
    b = bounded_schema(INVOICE_SCHEMA, max_string=32, max_items=4)
    assert b["properties"]["invoice_number"]["maxLength"] == 32
    assert b["properties"]["line_items"]["maxItems"] == 4
    assert "maxLength" not in b["properties"]["invoice_date"]  # formats stay exact


@pytest.mark.parametrize("schema", [SMALL, INVOICE_SCHEMA])
def test_generative_output_always_validates(tiny, schema):
    model, tok = tiny
    res = extract_document(invoice_document(), schema, "generative", model=model, tokenizer=tok)
    jsonschema.validate(res.data, schema)
    assert res.valid and res.engine == "generative"
    # a random model rarely finds real values: whatever it misses is reported, never hidden
    required = set(schema.get("required", []))
    for m in res.missing:
        assert m.path.split(".")[0].split("[")[0] in required or m.path
    assert res.timings["extract"] > 0


def test_speculative_with_draft_is_valid_too(tiny):
    model, tok = tiny
    res = extract_document(invoice_document(), SMALL, "generative", model=model, tokenizer=tok,
                           draft_model=model)
    jsonschema.validate(res.data, SMALL)
