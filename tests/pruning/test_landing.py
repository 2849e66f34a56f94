"""Every method lands on its target on grouped-query Llamas with 2 and with 8 key/value heads.

Width methods (flap, wanda-sp, taylor, magnitude) land within +-2 % of the pruned structures'
parameters; the depth methods (block, sublayer) within half of their unit (one block, one
sublayer), which is what removing whole blocks or sublayers allows (docs/pruning.md).
"""

from __future__ import annotations

import pytest
import torch

from prunestack.pipeline.pruning import load_pruned, prune, save_pruned
from prunestack.pipeline.pruning.families import discover

WIDTH = ["flap", "wanda-sp", "taylor", "magnitude"]


def tiny_llama(n_kv: int, layers: int = 4, seed: int = 0):
    """hidden 256, 8 query heads of size 32 over ``n_kv`` key/value heads, intermediate 688."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=512, hidden_size=256, intermediate_size=688,
                      num_hidden_layers=layers, num_attention_heads=8, num_key_value_heads=n_kv,
                      head_dim=32, max_position_embeddings=256, bos_token_id=1, eos_token_id=2,
                      pad_token_id=0, tie_word_embeddings=False)
    return LlamaForCausalLM(cfg).eval()


def block_weights(model) -> int:
    """Weights of the prunable linears of every block (q, k, v, o, gate, up, down)."""
    total = 0
    for ls in discover(model).layers:
        if ls.attn is not None:
            total += sum(lin.weight.numel() for lin in (ls.attn.q, ls.attn.k, ls.attn.v,
                                                       ls.attn.o))
        if ls.mlp is not None:
            total += sum(lin.weight.numel() for lin in (ls.mlp.gate, ls.mlp.up, ls.mlp.down))
    return total


@pytest.mark.parametrize("n_kv", [2, 8])
@pytest.mark.parametrize("method", WIDTH)
def test_width_methods_land_within_two_percent(method, n_kv, byte_tok):
    for ratio in (0.2, 0.3, 0.5):
        model = tiny_llama(n_kv)
        before = block_weights(model)
        res = prune(model, {"method": method, "ratio": ratio, "nsamples": 4, "seqlen": 32},
                    tokenizer=byte_tok, progress=False)
        measured = 1 - block_weights(model) / before  # recounted from the pruned weights
        assert abs(res.stats["achieved_ratio"] - measured) < 1e-9
        assert abs(measured - ratio) <= 0.02, (method, n_kv, ratio, measured)
        for ls in discover(model).layers:
            assert ls.mlp.width % 8 == 0
            assert ls.attn.n_heads % ls.attn.n_kv == 0
            assert ls.attn.n_heads * ls.attn.head_dim == ls.attn.o.in_features


def test_round_to_64_and_flops_count_land(byte_tok):
    model = tiny_llama(2)
    res = prune(model, {"method": "flap", "ratio": 0.3, "round_to": 64, "count": "flops",
                        "flops_seqlen": 128, "nsamples": 4, "seqlen": 32},
                tokenizer=byte_tok, progress=False)
    assert abs(res.stats["achieved_ratio"] - 0.3) <= 0.02
    assert all(r["intermediate"] % 64 == 0 for r in res.stats["layers"])


@pytest.mark.parametrize("n_kv", [2, 8])
def test_depth_methods_land_within_half_a_unit(n_kv, byte_tok):
    dense = tiny_llama(n_kv)
    spec = discover(dense)
    block = sum(p.numel() for p in spec.layers[0].module.parameters())
    mlp = sum(p.numel() for p in spec.layers[0].module.mlp.parameters())
    attn = sum(p.numel() for p in spec.layers[0].module.self_attn.parameters())
    for ratio in (0.2, 0.3, 0.5):
        res = prune(tiny_llama(n_kv), {"method": "block", "ratio": ratio, "nsamples": 4,
                                       "seqlen": 32}, tokenizer=byte_tok, progress=False)
        assert abs(res.stats["achieved_ratio"] - ratio) <= 0.5 * block / (4 * block) + 1e-9
        res = prune(tiny_llama(n_kv), {"method": "sublayer", "ratio": ratio, "nsamples": 4,
                                       "seqlen": 32}, tokenizer=byte_tok, progress=False)
        total = 4 * (mlp + attn) - attn  # block 0 keeps its attention
        assert abs(res.stats["achieved_ratio"] - ratio) <= 0.5 * mlp / total + 1e-9


@pytest.mark.parametrize("method", ["flap", "wanda-sp"])
def test_query_heads_pruned_inside_groups_reload_with_identical_logits(method, byte_tok,
                                                                       tmp_path):
    model = tiny_llama(2)
    # heads only: on random weights FLAP's global list keeps every head at 30 % (a head's score
    # is a mean of 32 standardised channel scores, near 0, above the channels' threshold)
    res = prune(model, {"method": method, "ratio": 0.3, "nsamples": 4, "seqlen": 32,
                        "structures": ["heads"]}, tokenizer=byte_tok, progress=False)
    assert any(r["kv_heads"] == 2 and r["heads"] < 8 for r in res.stats["layers"])
    x = torch.randint(3, 500, (1, 12))
    with torch.no_grad():
        ref = model(input_ids=x).logits
    save_pruned(model, tmp_path)
    again = load_pruned(tmp_path)
    with torch.no_grad():
        torch.testing.assert_close(again(input_ids=x).logits, ref, rtol=0, atol=0)
    assert again.generate(x, max_new_tokens=3, do_sample=False).shape == (1, 15)
