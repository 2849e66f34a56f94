"""Every supported family prunes, saves, reloads with identical logits and generates."""

from __future__ import annotations

import json

import pytest
import torch

from prunestack.pipeline.pruning import load_pruned, prune, save_pruned
from tests.pruning.conftest import FAMILIES, build

MOE = {"mixtral", "qwen2_moe"}


def _out(model, x):
    with torch.no_grad():
        o = model(input_ids=x)
    return o.logits if hasattr(o, "logits") else o.last_hidden_state


@pytest.mark.parametrize("family", FAMILIES)
def test_family_flap_global_reload_generate(family, byte_tok, tmp_path):
    model = build(family)
    recipe = {"method": "flap", "ratio": 0.3, "nsamples": 4, "seqlen": 32}
    if family in MOE:
        recipe["structures"] = ["heads"]
    res = prune(model, recipe, tokenizer=byte_tok, progress=False)
    assert res.stats["params_after"] < res.stats["params_before"]
    x = torch.randint(3, 500, (1, 10))
    ref = _out(model, x)
    entry = save_pruned(model, tmp_path)
    reloaded = load_pruned(tmp_path)
    torch.testing.assert_close(_out(reloaded, x), ref, rtol=0, atol=0)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["prunestack"]["uniform"] == entry["uniform"]
    if family != "bert":
        out = reloaded.generate(x, max_new_tokens=5, do_sample=False)
        assert out.shape == (1, 15)
        # FLAP compensation created o_proj/down_proj biases where the family has none
        assert not entry["uniform"]


@pytest.mark.parametrize("family", ["mistral", "phi3", "qwen3"])
def test_uniform_widths_give_a_stock_checkpoint(family, byte_tok, tmp_path):
    from transformers import AutoModelForCausalLM

    model = build(family)
    prune(model, {"method": "wanda-sp", "ratio": 0.25, "nsamples": 4, "seqlen": 32},
          tokenizer=byte_tok, progress=False)
    entry = save_pruned(model, tmp_path)
    assert entry["uniform"]
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert "auto_map" not in cfg and not (tmp_path / "modeling_prunestack.py").exists()
    assert cfg["num_attention_heads"] == 6 and cfg["num_key_value_heads"] == 3
    assert cfg["intermediate_size"] == 72
    stock = AutoModelForCausalLM.from_pretrained(tmp_path, local_files_only=True).eval()
    x = torch.randint(3, 500, (1, 10))
    torch.testing.assert_close(_out(stock, x), _out(model, x), rtol=0, atol=0)


def test_nonuniform_loads_with_stock_remote_code(byte_tok, tmp_path):
    from transformers import AutoModelForCausalLM

    model = build("phi3")  # fused qkv_proj / gate_up_proj and per-module config overrides
    prune(model, {"method": "flap", "ratio": 0.4, "nsamples": 4, "seqlen": 32},
          tokenizer=byte_tok, progress=False)
    save_pruned(model, tmp_path)
    assert (tmp_path / "modeling_prunestack.py").exists()
    remote = AutoModelForCausalLM.from_pretrained(tmp_path, trust_remote_code=True,
                                                  local_files_only=True).eval()
    x = torch.randint(3, 500, (1, 10))
    torch.testing.assert_close(_out(remote, x), _out(model, x), rtol=0, atol=0)
    assert remote.generate(x, max_new_tokens=3, do_sample=False).shape == (1, 13)


def test_models_py_dispatches_to_load_pruned(byte_tok, tmp_path):
    from prunestack.models import load_causal_lm

    model = build("llama")
    prune(model, {"method": "flap", "ratio": 0.3, "nsamples": 4, "seqlen": 32},
          tokenizer=byte_tok, progress=False)
    save_pruned(model, tmp_path)
    x = torch.randint(3, 500, (1, 8))
    torch.testing.assert_close(_out(load_causal_lm(tmp_path), x), _out(model, x), rtol=0, atol=0)


@pytest.mark.parametrize("family", sorted(MOE))
def test_experts_stun(family, tmp_path):
    model = build(family)
    res = prune(model, {"method": "experts", "ratio": 0.5}, progress=False)
    assert res.stats["achieved_ratio"] == 0.5
    assert all(row["experts"] == 4 for row in res.stats["layers"])
    entry = save_pruned(model, tmp_path)
    assert entry["uniform"]
    x = torch.randint(3, 500, (1, 8))
    r = load_pruned(tmp_path)
    torch.testing.assert_close(_out(r, x), _out(model, x), rtol=0, atol=0)
    assert r.generate(x, max_new_tokens=3, do_sample=False).shape == (1, 11)


def test_blocks_and_sublayers(byte_tok, tmp_path):
    model = build("gemma2")  # per-layer layer_types must be renumbered
    res = prune(model, {"method": "block", "ratio": 0.34, "nsamples": 4, "seqlen": 32},
                tokenizer=byte_tok, progress=False)
    assert len(res.stats["removed_blocks"]) == 1 and model.config.num_hidden_layers == 2
    save_pruned(model, tmp_path / "b")
    x = torch.randint(3, 500, (1, 8))
    torch.testing.assert_close(_out(load_pruned(tmp_path / "b"), x), _out(model, x))
    model = build("llama")
    res = prune(model, {"method": "sublayer", "ratio": 0.25, "nsamples": 4, "seqlen": 32},
                tokenizer=byte_tok, progress=False)
    assert res.stats["removed_sublayers"]
    entry = save_pruned(model, tmp_path / "s")
    assert entry["zeroed"]
    r = load_pruned(tmp_path / "s")
    torch.testing.assert_close(_out(r, x), _out(model, x))
    full = r.generate(x, max_new_tokens=4, do_sample=False)
    nocache = r.generate(x, max_new_tokens=4, do_sample=False, use_cache=False)
    assert torch.equal(full, nocache)
