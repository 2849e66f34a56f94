"""Schema-skeleton infill with tiny random masked LMs: every output validates against its schema,
every committed slot token was allowed by the slot's matcher, slots grow when they run out of
room, commit accounting adds up, and bad input fails with a clear error."""

from __future__ import annotations

import jsonschema
import pytest
import torch

from prunestack.errors import ConfigError, PrunestackError, SchemaError
from prunestack.pipeline.decoding.diffusion import (
    DiffusionDecodingError,
    build_skeleton,
    generate_json_diffusion,
)
from prunestack.pipeline.decoding.diffusion_core import MaskPredictor
from prunestack.pipeline.decoding.diffusion_text import LeafMatcher

SCHEMAS = [
    {"type": "object", "properties": {"name": {"type": "string", "maxLength": 12},
                                      "age": {"type": "integer"}, "ok": {"type": "boolean"}},
     "required": ["name", "age", "ok"]},
    {"type": "object", "properties": {
        "color": {"enum": ["red", "dark blue", 3, None]}, "score": {"type": "number"},
        "kind": {"const": "point"},
        "at": {"type": "object",
               "properties": {"x": {"type": "integer"}, "note": {"type": "null"}}},
    }},
    {"type": "integer"},  # a whole-output slot
]


def _bert(vocab: int, seed: int):
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(seed)
    return BertForMaskedLM(BertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=1,
                                      num_attention_heads=2, intermediate_size=64,
                                      max_position_embeddings=512)).eval()


@pytest.mark.parametrize(("schema", "seed", "parallel"), [
    (SCHEMAS[0], 0, True), (SCHEMAS[0], 1, False), (SCHEMAS[1], 2, True), (SCHEMAS[1], 3, False),
    (SCHEMAS[2], 4, True)], ids=["person-par", "person-ar", "mixed-par", "mixed-ar", "integer"])
def test_random_model_outputs_validate_and_respect_slot_constraints(minilm_tok, wp, schema, seed,
                                                                    parallel):
    model = _bert(len(minilm_tok), seed)
    res = generate_json_diffusion(model, minilm_tok, "name: alice age: 31", schema,
                                  parallel=parallel, slot_max_len=6,
                                  remasking=["margin", "entropy"][seed % 2])
    jsonschema.validate(res.value, schema)
    specs = {s.path: s for s in build_skeleton(schema) if not isinstance(s, str)}
    assert set(res.slot_tokens) == set(specs)
    for path, ids in res.slot_tokens.items():  # replay: every commit was allowed, value complete
        m = LeafMatcher(specs[path].schema, wp)
        for t in ids:
            assert bool(m.mask()[t])
            m.advance(t)
        assert m.is_accepting() and m.text == res.slots[path]
    # each step commits >= 1; commits = value tokens + one end token per slot
    assert min(res.commits_per_step) >= 1
    assert sum(res.commits_per_step) == res.tokens + len(specs)
    assert res.model_calls >= res.steps
    if not parallel:
        # baseline: one model-chosen token per call (grammar-forced tokens come free)
        assert res.model_calls == res.steps


def test_slots_grow_when_they_run_out_of_room(minilm_tok):
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "number"}}}
    res = generate_json_diffusion(_bert(len(minilm_tok), 3), minilm_tok, "a: x", schema,
                                  slot_init_len=1, slot_max_len=5, expand_by=2, max_expand_rounds=0)
    assert res.expansions >= 1  # a one-cell slot cannot hold a string and its end token
    assert len(res.slot_tokens["$.a"]) >= 2
    jsonschema.validate(res.value, schema)


def test_finish_mode_closes_values_at_the_cap(minilm_tok):
    schema = {"type": "object", "properties": {"s": {"type": "string"}, "t": {"type": "string"}}}
    res = generate_json_diffusion(_bert(len(minilm_tok), 5), minilm_tok, "", schema, slot_max_len=3,
                                  slot_init_len=3)
    for ids in res.slot_tokens.values():
        assert len(ids) <= 4  # cap 3, then finish mode takes the closing quote
    jsonschema.validate(res.value, schema)


def test_budget_and_input_errors(minilm_tok):
    model = _bert(len(minilm_tok), 0)
    schema = {"type": "object", "properties": {f"k{i}": {"type": "string"} for i in range(5)}}
    with pytest.raises(DiffusionDecodingError, match="max_new_tokens"):
        generate_json_diffusion(model, minilm_tok, "", schema, max_new_tokens=8)
    with pytest.raises(SchemaError, match="invalid JSON Schema at type"):
        generate_json_diffusion(model, minilm_tok, "", {"type": "strnig"})
    with pytest.raises(ConfigError, match="threshold"):
        generate_json_diffusion(model, minilm_tok, "", {"type": "integer"}, threshold=0)
    with pytest.raises(SchemaError, match="slot_backend"):
        generate_json_diffusion(model, minilm_tok, "", {"type": "integer"}, slot_backend="x")
    # WordPiece has no byte-level grammar backend: a non-leaf slot fails with a clear error
    with pytest.raises(PrunestackError):
        generate_json_diffusion(model, minilm_tok, "",
                                {"type": "array", "items": {"type": "integer"}})


def test_composite_slot_uses_compile_schema_with_dream_predictor(tiny_llama_dir,
                                                                 mistral_tokenizer):
    from transformers import AutoModelForCausalLM

    llama = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, local_files_only=True).eval()
    pred = MaskPredictor(llama, mask_id=0, shift=True)  # Dream-style: logits shifted by one
    schema = {"type": "object", "properties": {
        "ids": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 9},
                "maxItems": 2},
        "name": {"type": "string", "maxLength": 5}}}
    res = generate_json_diffusion(pred, mistral_tokenizer, "ids: 1 2", schema, slot_max_len=10)
    jsonschema.validate(res.value, schema)
    assert isinstance(res.value["ids"], list) and res.model_calls == pred.calls
