"""Real-world user schemas (tests/extract/schemas_realworld) through ``compile_schema`` (auto:
llguidance first) over the real Mistral tokenizer, and a short ``generate_json`` with a tiny
random Llama: every schema compiles, or is refused with a ``SchemaError`` naming the keyword or
reference at fault; generated JSON validates against the user's original schema."""

from __future__ import annotations

import json
from decimal import Decimal

import jsonschema
import pytest
import torch

from prunestack.errors import SchemaError
from prunestack.pipeline.decoding import compile_schema, generate_json
from prunestack.pipeline.schema import prepare_schema, resolve_pointer
from tests.extract.schemas_realworld import cases

CASES = cases()
# keywords no backend enforces: refused by name at the decoding layer (the extraction engine
# leaves them out of the decoder's schema and repairs the result instead)
# (faithful compile: a oneOf of open objects told apart only by required keys is not disjoint;
# dependentRequired is rewritten, then llguidance refuses minProperties beside optional keys)
REFUSED = {"schemastore_draft7": "uniqueItems", "if_then_else": "if",
           "dependent_required": "minProperties", "one_of_payment": "oneOf",
           "pyd_discriminated_alias": "uniqueItems", "pyd_discriminated_alias_ser": "uniqueItems"}
ACCEPTED_HERE = {"not_object_root"}  # decoding constrains any root, not only objects


@pytest.fixture(scope="module")
def tiny():
    from transformers import LlamaForCausalLM

    from tests.conftest import tiny_llama_config

    torch.manual_seed(0)
    return LlamaForCausalLM(tiny_llama_config(num_hidden_layers=2)).eval()


@pytest.mark.parametrize("name", list(CASES))
def test_compile_or_named_refusal(tok, name):
    schema, expect = CASES[name]
    if name in REFUSED:
        with pytest.raises(SchemaError, match=REFUSED[name]):
            compile_schema(schema, tok)
    elif expect == "ok" or name in ACCEPTED_HERE:
        m = compile_schema(schema, tok)
        assert m.backend == "llguidance"  # auto: the widest backend handles them all
        assert int(m.mask().sum()) > 0
    else:
        with pytest.raises(SchemaError) as info:
            compile_schema(schema, tok)
        assert expect[1] in str(info.value), str(info.value)


def test_generation_closes_a_oneof_told_apart_by_required_keys(tok):
    m = compile_schema(CASES["one_of_payment"][0], tok, closed=True)
    assert m.backend == "llguidance" and int(m.mask().sum()) > 0


def test_prepare_normalises_draft4_and_keeps_required_extras():
    p = prepare_schema(CASES["draft4_bool_exclusive"][0])
    assert p["properties"]["total"] == {"type": "number", "exclusiveMinimum": 0}
    p = prepare_schema(CASES["required_not_in_properties"][0], closed=True)
    assert "purchase_order" in p["properties"] and p["additionalProperties"] is False
    p = prepare_schema(CASES["pointer_escapes"][0])
    tax = resolve_pointer(p, p["properties"]["tax_rate"]["$ref"])  # '#/$defs/per%25cent'
    assert tax["type"] == "number"  # the reference is kept and still resolves


@pytest.mark.parametrize("name", ["pyd_invoice_strict", "pointer_escapes", "recursive_items",
                                  "openapi_nullable", "draft4_bool_exclusive",
                                  "required_not_in_properties", "const_and_formats",
                                  "draft7_ref_sibling", "openapi_formats",
                                  "quicktype_root_ref", "nested_ids", "anchor_ref"])
def test_generate_json_validates_against_the_users_schema(tok, tiny, name):
    schema = CASES[name][0]
    r = generate_json(tiny, tok, "Invoice as JSON:", schema, max_new_tokens=160)
    new = jsonschema.Draft202012Validator  # the draft named, or what jsonschema.validate assumes
    cls = jsonschema.validators.validator_for(schema) if "$schema" in schema else \
        new if new(new.META_SCHEMA).is_valid(schema) else jsonschema.Draft7Validator

    def dec(x):
        return json.loads(json.dumps(x), parse_float=Decimal)

    errors = [e.message for e in
              cls(dec(schema), format_checker=cls.FORMAT_CHECKER).iter_errors(dec(r.value))]
    assert r.valid and errors == [], (r.text, errors)
