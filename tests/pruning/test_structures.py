"""Coarse structures and the remaining criteria/allocation paths."""

from __future__ import annotations

import torch

from prunestack.pipeline.pruning import prune
from prunestack.pipeline.pruning.families import discover
from prunestack.pipeline.pruning.structures import block_influence, js_divergence, stun_select
from tests.pruning.conftest import build


def test_stun_keeps_one_expert_per_router_cluster():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 16, generator=g) * 5
    rows = torch.cat([centres + 0.01 * torch.randn(4, 16, generator=g) for _ in range(2)])
    keep = stun_select(rows, 4)  # experts i and i+4 share a cluster
    assert sorted(k % 4 for k in keep) == [0, 1, 2, 3]


def test_divergences():
    x = torch.randn(2, 5, 11)
    assert abs(js_divergence(x, x)) < 1e-12
    assert js_divergence(x, -x) > 0.01
    h = torch.randn(2, 4, 8)
    assert abs(block_influence(h, h)) < 1e-12 and block_influence(h, -h) > 1.9


def test_taylor_second_order_encoder_and_layer_importance(byte_tok):
    model = build("bert")
    x = torch.randint(3, 500, (1, 12))
    res = prune(model, {"method": "taylor", "taylor_order": 2, "ratio": 0.25, "nsamples": 4,
                        "seqlen": 32}, tokenizer=byte_tok, progress=False)
    assert all(r["heads"] == 6 and r["intermediate"] == 72 for r in res.stats["layers"])
    assert model(input_ids=x).last_hidden_state.shape == (1, 12, 64)
    model = build("llama")
    res = prune(model, {"method": "wanda-sp", "ratio": 0.3, "allocation": "layer-importance",
                        "nsamples": 4, "seqlen": 32, "keep_first": 1}, tokenizer=byte_tok,
                progress=False)
    layers = res.stats["layers"]
    assert layers[0]["heads"] == 8 and layers[0]["intermediate"] == 96  # kept untouched
    assert len(res.stats["block_influence"]) == 3
    assert model.generate(x, max_new_tokens=2, do_sample=False).shape == (1, 14)


def test_distill_windows_keep_prompt_half():
    from prunestack.pipeline.pruning.recovery import distill_windows, lora_targets

    teacher = build("qwen2")
    ids = torch.randint(3, 500, (2, 16))
    out = distill_windows(teacher, ids)
    assert out.shape == ids.shape and torch.equal(out[:, :8], ids[:, :8])
    assert set(lora_targets(teacher)) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                          "up_proj", "down_proj"}
    assert discover(teacher).layers[0].attn.group == 2
