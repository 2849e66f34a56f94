"""JsonSchemaLogitsProcessor inside transformers' generate: greedy, batched, beam search,
assisted (speculative) generation, a model whose embedding is padded past the tokenizer."""

from __future__ import annotations

import json

import pytest
import torch

from prunestack.pipeline.decoding import JsonSchemaLogitsProcessor
from prunestack.pipeline.decoding.processor import apply_mask

SCHEMA = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 6},
                                           "n": {"type": "integer", "minimum": 0,
                                                 "maximum": 99}},
          "required": ["name", "n"]}


def _gen(model, tok, proc, prompts, **kw):
    tok.padding_side = "left"
    tok.pad_token = tok.pad_token or tok.unk_token
    enc = tok(prompts, return_tensors="pt", padding=True)
    out = model.generate(**enc, logits_processor=[proc], max_new_tokens=40,
                         pad_token_id=tok.pad_token_id, **kw)
    return [tok.decode(row[enc.input_ids.shape[1]:], skip_special_tokens=True) for row in out]


def _check(text):
    value = json.loads(text)
    assert set(value) == {"name", "n"} and len(value["name"]) <= 6 and 0 <= value["n"] <= 99


@pytest.mark.parametrize("backend", ["auto", "xgrammar"])
def test_greedy_batched(target, tok, backend):
    proc = JsonSchemaLogitsProcessor(SCHEMA, tok, backend=backend)
    texts = _gen(target, tok, proc, ["Person:", "Give me a longer prompt here:"],
                 do_sample=False)
    for t in texts:
        _check(t)
    assert len(proc.rows) == 2


def test_sampling_and_beam_search(target, tok):
    torch.manual_seed(1)
    _check(_gen(target, tok, JsonSchemaLogitsProcessor(SCHEMA, tok), ["Person:"],
                do_sample=True, temperature=1.0)[0])
    _check(_gen(target, tok, JsonSchemaLogitsProcessor(SCHEMA, tok), ["Person:"],
                do_sample=False, num_beams=3)[0])


def test_assisted_generation_equals_plain(target, draft, tok):
    ids = tok("Person:", return_tensors="pt").input_ids
    plain = target.generate(ids, logits_processor=[JsonSchemaLogitsProcessor(SCHEMA, tok)],
                            max_new_tokens=40, do_sample=False, pad_token_id=0)
    draft.generation_config.num_assistant_tokens = 4
    assisted = target.generate(ids, logits_processor=[JsonSchemaLogitsProcessor(SCHEMA, tok)],
                               assistant_model=draft, max_new_tokens=40, do_sample=False,
                               pad_token_id=0)
    assert torch.equal(plain, assisted)
    _check(tok.decode(plain[0, ids.shape[1]:], skip_special_tokens=True))


def test_resync_rolls_back_when_the_sequence_shrinks(tok):
    proc = JsonSchemaLogitsProcessor(SCHEMA, tok, prompt_len=3)
    from prunestack.pipeline.decoding.vocab import llg_tokenizer

    prompt = torch.tensor([[1, 5, 6]])
    body = llg_tokenizer(tok).tokenize_str('{"name":"ab","n":7}')
    scores = torch.zeros(1, len(tok))
    for k in (len(body), 3, len(body) - 1, 0, len(body)):  # forward, back, forward ...
        ids = torch.cat([prompt, torch.tensor([body[:k]], dtype=torch.long)], 1)
        out = proc(ids, scores.clone())
        if k < len(body):
            assert torch.isfinite(out[0, body[k]])
    assert torch.isfinite(out[0, tok.eos_token_id]) and int(torch.isfinite(out).sum()) <= 3


def test_finished_row_may_only_emit_eos_or_pad(tok):
    proc = JsonSchemaLogitsProcessor(SCHEMA, tok, prompt_len=1)
    from prunestack.pipeline.decoding.vocab import llg_tokenizer

    body = [*llg_tokenizer(tok).tokenize_str('{"name":"ab","n":7}'), tok.eos_token_id, 0]
    out = proc(torch.tensor([[1, *body]]), torch.zeros(1, len(tok)))
    assert set(torch.isfinite(out[0]).nonzero().flatten().tolist()) <= {tok.eos_token_id, 0}


@pytest.mark.parametrize("v_model", [32768 + 64, 32000])
def test_model_vocab_differs_from_tokenizer(tok, v_model):
    allowed = torch.zeros(1, 32768, dtype=torch.bool)
    allowed[0, [5, 31999, 32767]] = True
    out = apply_mask(torch.zeros(1, v_model), allowed)
    assert out.shape == (1, v_model)
    finite = torch.isfinite(out[0]).nonzero().flatten().tolist()
    assert finite == [i for i in (5, 31999, 32767) if i < v_model]


def test_padded_embedding_model_generates_valid_json(tok):
    from transformers import LlamaForCausalLM

    from tests.conftest import tiny_llama_config

    torch.manual_seed(3)
    padded = LlamaForCausalLM(tiny_llama_config(vocab_size=32768 + 128)).eval()
    text = _gen(padded, tok, JsonSchemaLogitsProcessor(SCHEMA, tok), ["Person:"],
                do_sample=False)[0]
    _check(text)
