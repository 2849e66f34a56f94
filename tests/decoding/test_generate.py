"""generate_json and the gpt-fast style loop: forced tokens skip model calls, budget closure,
bad input."""

from __future__ import annotations

import json

import jsonschema
import pytest
import torch

from prunestack.errors import ConfigError, DeadlineError, ModelError, SchemaError
from prunestack.pipeline.decoding import compile_schema, generate_json
from prunestack.pipeline.decoding.generate import encode_prompt, generate

SCHEMA = {"type": "object", "properties": {
    "invoice_number": {"type": "string", "pattern": "^INV-[0-9]{4}$"},
    "currency": {"enum": ["EUR", "USD"]},
    "total": {"type": "number", "minimum": 0, "maximum": 1000},
    "lines": {"type": "array", "items": {"type": "string", "maxLength": 8}, "minItems": 1,
              "maxItems": 2}},
    "required": ["invoice_number", "currency", "total", "lines"]}


def test_generate_json_returns_valid_value_and_stats(target, tok):
    r = generate_json(target, tok, "Invoice:", SCHEMA, max_new_tokens=80)
    jsonschema.validate(r.value, SCHEMA)
    assert r.valid and json.loads(r.text) == r.value
    assert r.backend == "llguidance" and r.tokens > 0 and r.compile_s >= 0
    # forced tokens ride along with sampled ones: fewer model calls than tokens
    assert r.forced_tokens > 0 and r.model_calls < r.tokens


def test_forced_tokens_do_not_change_greedy_output(target, tok):
    ids = encode_prompt(tok, "Invoice:")
    a = generate(target, ids, compile_schema(SCHEMA, tok), tok.eos_token_id, 60, tokenizer=tok)
    b = generate(target, ids, compile_schema(SCHEMA, tok), tok.eos_token_id, 60, tokenizer=tok,
                 use_forced=False)
    assert tok.decode(a.tokens) == tok.decode(b.tokens)
    assert a.model_calls < b.model_calls


def test_sampling_is_seeded(target, tok):
    a = generate_json(target, tok, "x", SCHEMA, temperature=1.0, seed=5, max_new_tokens=80)
    b = generate_json(target, tok, "x", SCHEMA, temperature=1.0, seed=5, max_new_tokens=80)
    assert a.text == b.text
    jsonschema.validate(a.value, SCHEMA)


def test_tight_budget_still_closes(target, tok):
    s = {"type": "object", "properties": {"note": {"type": "string"},
                                          "more": {"type": "array", "items": {"type": "string"}}},
         "required": ["note", "more"]}
    r = generate_json(target, tok, "x", s, max_new_tokens=24, temperature=1.0, seed=3)
    assert r.tokens <= 24
    jsonschema.validate(r.value, s)


def test_budget_too_small_is_a_clear_error(target, tok):
    s = {"type": "object", "properties": {"s": {"type": "string", "minLength": 40}},
         "required": ["s"]}
    with pytest.raises(DeadlineError, match="did not close"):
        generate_json(target, tok, "x", s, max_new_tokens=6)


def test_bad_input(target, tok):
    with pytest.raises(SchemaError):
        generate_json(target, tok, "x", '{"type": ')
    with pytest.raises(SchemaError, match="JSON object"):
        generate_json(target, tok, "x", "[1]")
    with pytest.raises(ConfigError, match="unknown constraint backend"):
        generate_json(target, tok, "x", SCHEMA, backend="guidance")


def test_unconstrained_loop_matches_transformers_greedy(target, tok):
    ids = encode_prompt(tok, "Hello")
    ours = generate(target, ids, None, eos=-1, max_new_tokens=12)
    ref = target.generate(ids, max_new_tokens=12, do_sample=False, pad_token_id=0,
                          eos_token_id=None)
    assert ours.tokens == ref[0, ids.shape[1]:].tolist()


def test_empty_prompt_and_missing_eos(target, tok):
    import copy

    r = generate_json(target, tok, "", {"type": "boolean"}, max_new_tokens=8)
    assert isinstance(r.value, bool)
    no_eos = copy.deepcopy(tok)
    no_eos.eos_token = None
    with pytest.raises(ModelError, match="EOS"):
        generate_json(target, no_eos, "x", SCHEMA)
    assert torch.is_tensor(encode_prompt(tok, ""))
