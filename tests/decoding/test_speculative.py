"""Speculative decoding: greedy output equals plain greedy token for token (with and without a
schema, with a pruned and a vocabulary-trimmed draft); sampling follows the schema."""

from __future__ import annotations

import json

import jsonschema
import pytest
import torch

from prunestack.pipeline.decoding import compile_schema, generate_json
from prunestack.pipeline.decoding.generate import encode_prompt, generate
from prunestack.pipeline.decoding.speculative import speculative_generate
from prunestack.pipeline.decoding.vocab_trim import trim_head

SCHEMA = {"type": "object", "properties": {
    "name": {"type": "string", "maxLength": 20}, "age": {"type": "integer", "minimum": 0},
    "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "maxItems": 3},
    "when": {"type": "string", "format": "date"}},
    "required": ["name", "age", "tags", "when"]}


@pytest.fixture(scope="module")
def trimmed_draft(draft, tok):
    import copy

    d = copy.deepcopy(draft)
    keep = torch.arange(0, len(tok), 3)  # every third id: many target tokens missing
    return trim_head(d, torch.unique(torch.cat([keep, torch.tensor([tok.eos_token_id])])))


@pytest.mark.parametrize("k", [3])
@pytest.mark.parametrize("constrained", [False, True])
@pytest.mark.parametrize("which", ["pruned", "trimmed"])
def test_greedy_equals_plain_greedy(target, draft, trimmed_draft, tok, k, constrained, which):
    d = draft if which == "pruned" else trimmed_draft
    ids = encode_prompt(tok, "Extract the person:")
    eos = tok.eos_token_id
    kw = {"tokenizer": tok, "closing_margin": 30} if constrained else {}
    plain = generate(target, ids, compile_schema(SCHEMA, tok) if constrained else None, eos, 48,
                     **kw)
    spec = speculative_generate(target, d, ids,
                                compile_schema(SCHEMA, tok) if constrained else None, eos, 48,
                                k=k, **kw)
    assert spec.tokens == plain.tokens
    assert spec.drafted > 0 and 0.0 <= spec.acceptance_rate <= 1.0
    if constrained:
        jsonschema.validate(json.loads(tok.decode(spec.tokens)), SCHEMA)


def test_unconstrained_greedy_equals_transformers(target, draft, tok):
    ids = encode_prompt(tok, "Once upon a time")
    spec = speculative_generate(target, draft, ids, None, eos=-1, max_new_tokens=20, k=3)
    ref = target.generate(ids, max_new_tokens=20, do_sample=False, pad_token_id=0,
                          eos_token_id=None)
    assert spec.tokens == ref[0, ids.shape[1]:].tolist()


def test_draft_identical_to_target_accepts_everything(target, tok):
    ids = encode_prompt(tok, "Hi")
    spec = speculative_generate(target, target, ids, compile_schema(SCHEMA, tok),
                                tok.eos_token_id, 40, k=4, tokenizer=tok, closing_margin=30)
    assert spec.acceptance_rate == 1.0
    assert spec.target_calls < len(spec.tokens)


def test_sampling_mode_is_valid_and_seeded(target, draft, tok):
    a = generate_json(target, tok, "x", SCHEMA, temperature=1.0, seed=11, draft=draft, k=3,
                      max_new_tokens=64)
    b = generate_json(target, tok, "x", SCHEMA, temperature=1.0, seed=11, draft=draft, k=3,
                      max_new_tokens=64)
    assert a.text == b.text and a.acceptance_rate is not None
    jsonschema.validate(a.value, SCHEMA)


def test_accept_resample_rule_preserves_the_target_distribution(tok):
    """Unconstrained one-token check of the accept/resample rule on a 2-token-vocabulary toy:
    the empirical distribution of the first emitted token matches the target's softmax."""
    from prunestack.pipeline.decoding.speculative import _residual

    p = torch.tensor([0.7, 0.2, 0.1])
    q = torch.tensor([0.2, 0.5, 0.3])
    gen = torch.Generator().manual_seed(0)
    counts = torch.zeros(3)
    for _ in range(6000):
        x = int(torch.multinomial(q, 1, generator=gen))
        if float(torch.rand((), generator=gen)) * q[x] <= p[x]:
            counts[x] += 1
        else:
            counts[_residual(p, q, gen)] += 1
    assert torch.allclose(counts / counts.sum(), p, atol=0.03)
