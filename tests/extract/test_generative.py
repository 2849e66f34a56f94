"""Generative engine with a tiny random Llama (real Mistral tokenizer): always schema-valid."""

from __future__ import annotations

import jsonschema
import pytest

from prunestack.pipeline.extract import ExtractOptions, extract_document
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
    doc = invoice_document()
    res = extract_document(doc, schema, "generative", model=model, tokenizer=tok)
    jsonschema.validate(res.data, schema)
    assert res.valid and res.engine == "generative"
    # the grammar makes even a random model write every required key: nothing is filled in
    assert set(schema["required"]) <= set(res.data)
    assert res.missing == [] and res.warnings == []
    # a grounded value points at the element whose text it was read from
    for prov in res.provenance.values():
        assert prov.text and prov.text in doc.element(prov.element_id).text
    assert res.timings["extract"] > 0


def test_unclosed_generation_reports_every_required_value_missing(tiny):
    model, tok = tiny
    res = extract_document(invoice_document(), SMALL, "generative",
                           ExtractOptions(max_new_tokens=16), model=model, tokenizer=tok)
    assert any("did not close" in w for w in res.warnings)
    # nothing the model wrote is kept; every required non-nullable value is filled and reported
    assert res.data == {"invoice_number": "", "total": None, "currency": "EUR"}
    assert {m.path for m in res.missing} == {"invoice_number", "currency"}
    assert res.provenance == {} and res.valid


def test_speculative_with_draft_is_valid_too(tiny):
    model, tok = tiny
    res = extract_document(invoice_document(), SMALL, "generative", model=model, tokenizer=tok,
                           draft_model=model)
    jsonschema.validate(res.data, SMALL)
