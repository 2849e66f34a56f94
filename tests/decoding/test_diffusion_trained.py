"""A small masked LM trained in the test (seconds, fixed seeds) on the synthetic key–value task:
schema-skeleton infill recovers the values, with fewer model calls than tokens produced, and
beats its own autoregressive baseline on calls at the same accuracy."""

from __future__ import annotations

import random

import jsonschema
import pytest
import torch

from prunestack.pipeline.decoding.diffusion import generate_json_diffusion
from prunestack.pipeline.decoding.diffusion_train import (
    KV_SCHEMA,
    kv_example,
    kv_slot_lengths,
    kv_tokenizer,
    tiny_kv_model,
    train_skeleton_mlm,
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.manual_seed(0)
    tok = kv_tokenizer(tmp_path_factory.mktemp("kv-tok"))
    rng = random.Random(0)
    train = [kv_example(rng) for _ in range(3000)]
    model = tiny_kv_model(len(tok), seed=0)
    losses = train_skeleton_mlm(model, tok, train, KV_SCHEMA, steps=TRAIN_STEPS, seed=0,
                                slot_lengths=kv_slot_lengths(tok), target_loss=0.03)
    return tok, model, losses


TRAIN_STEPS = 900  # upper bound: stops once the loss is below 0.03


def test_training_reduces_the_loss(trained):
    _, _, losses = trained
    assert sum(losses[-20:]) / 20 < 0.25 * sum(losses[:20]) / 20


def test_skeleton_infill_recovers_values_with_fewer_calls_than_tokens(trained):
    tok, model, _ = trained
    rng = random.Random(12345)
    test = [kv_example(rng) for _ in range(12)]
    exact = calls = tokens = 0
    for prompt, value in test:
        res = generate_json_diffusion(model, tok, prompt, KV_SCHEMA)
        jsonschema.validate(res.value, KV_SCHEMA)
        exact += res.value == value
        calls += res.model_calls
        tokens += res.tokens
        assert res.model_calls < res.tokens, (prompt, res.text, res.commits_per_step)
    assert exact >= 10, f"{exact}/12 exact"
    assert calls < 0.6 * tokens


def test_parallel_infill_needs_fewer_calls_than_autoregressive(trained):
    tok, model, _ = trained
    prompt, value = kv_example(random.Random(7))
    par = generate_json_diffusion(model, tok, prompt, KV_SCHEMA)
    ar = generate_json_diffusion(model, tok, prompt, KV_SCHEMA, parallel=False)
    assert par.value == value == ar.value
    assert ar.model_calls == ar.steps  # one call per model-chosen token (forced ones are free)
    assert par.model_calls < ar.model_calls
    assert max(par.commits_per_step) > 1  # several tokens committed in one step


def test_prompt_drives_the_output(trained):
    tok, model, _ = trained
    a = generate_json_diffusion(model, tok, "name: bob age: 42 city: dublin", KV_SCHEMA)
    b = generate_json_diffusion(model, tok, "name: judy age: 7 city: oslo", KV_SCHEMA)
    assert a.value == {"name": "bob", "age": 42, "city": "dublin"}
    assert b.value == {"name": "judy", "age": 7, "city": "oslo"}


def test_cli_decode_mode_diffusion(trained, tmp_path):
    """`prunestack decode --mode diffusion` on the saved model folder (real CLI, real files)."""
    import json

    from typer.testing import CliRunner

    from prunestack.api.cli import app

    tok, model, _ = trained
    folder = tmp_path / "kv-mlm"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(KV_SCHEMA))
    out = CliRunner().invoke(app, ["decode", "--mode", "diffusion", "--model", str(folder),
                                   "--schema", str(schema), "--prompt",
                                   "name: carol age: 55 city: rome"])
    assert out.exit_code == 0, out.output
    first = out.stdout.strip().splitlines()[0]
    assert json.loads(first) == {"name": "carol", "age": 55, "city": "rome"}
