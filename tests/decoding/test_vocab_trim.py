"""Draft vocabulary trimming: coverage math, FLOPs model, TPE search, d2t mapping, the trimmed
head, and the draft folder written by trim_draft."""

from __future__ import annotations

import json
import random

import pytest
import torch
from pydantic import ValidationError
from transformers import LlamaForCausalLM

from prunestack.errors import ConfigError, InputError
from prunestack.models import load_causal_lm
from prunestack.pipeline.decoding.vocab_trim import (
    TrimConfig,
    TrimmedLMHead,
    coverage_curve,
    d2t,
    draft_flops,
    kept_ids,
    read_assistant_texts,
    reduction,
    search_k,
    trim_draft,
    utility,
)
from tests.conftest import tiny_llama_config


def test_coverage_curve():
    counts = torch.tensor([0, 5, 3, 0, 2])
    order, cov = coverage_curve(counts)
    assert order[:3].tolist() == [1, 2, 4]
    assert torch.allclose(cov, torch.tensor([0.5, 0.8, 1.0, 1.0, 1.0], dtype=torch.float64))


def test_flops_model_and_reduction():
    cfg = tiny_llama_config()
    v = cfg.vocab_size
    assert draft_flops(cfg, v) - draft_flops(cfg, 100) == 2 * cfg.hidden_size * (v - 100)
    assert reduction(cfg, v, v) == 0.0
    rs = [reduction(cfg, k, v) for k in (50, 1000, 20000)]
    assert rs == sorted(rs, reverse=True) and 0 < rs[-1] < rs[0] < 1


def test_utility_respects_min_coverage():
    assert utility(0.96, 0.5, 0.5, 0.95) == pytest.approx(0.73)
    assert utility(0.90, 0.9, 0.5, 0.95) < -1


def test_search_matches_exhaustive_and_constraint():
    cfg = tiny_llama_config()
    counts = torch.tensor([1000 // (i + 1) for i in range(cfg.vocab_size)])  # Zipf
    _, cov = coverage_curve(counts)
    res = search_k(cov, cfg, TrimConfig(alpha=0.5, min_coverage=0.8, n_trials=40))
    assert res.coverage >= 0.8 and len(res.trials) == 40
    best_u = utility(float(cov[res.best_k_exhaustive - 1]),
                     reduction(cfg, res.best_k_exhaustive, cfg.vocab_size), 0.5, 0.8)
    assert res.utility <= best_u + 1e-9 and res.utility >= best_u - 0.02
    again = search_k(cov, cfg, TrimConfig(alpha=0.5, min_coverage=0.8, n_trials=40))
    assert again.k == res.k  # seeded TPE
    with pytest.raises(ConfigError, match="unreachable"):
        search_k(cov, cfg, TrimConfig(min_coverage=1.0, k_max=100))


def test_d2t_maps_draft_ids_to_target_ids():
    kept = kept_ids(torch.tensor([9, 4, 7, 1]), 3, always=[2])
    assert kept.tolist() == [2, 4, 7, 9]
    off = d2t(kept)
    assert (torch.arange(4) + off).tolist() == kept.tolist()


def test_trimmed_head_scatters_into_full_logits():
    torch.manual_seed(0)
    w = torch.randn(50, 8)
    kept = torch.tensor([3, 10, 49])
    head = TrimmedLMHead(w, kept)
    x = torch.randn(2, 5, 8)
    out = head(x)
    assert out.shape == (2, 5, 50)
    assert torch.allclose(out[..., kept], x @ w[kept].T)
    mask = torch.ones(50, dtype=torch.bool)
    mask[kept] = False
    assert torch.isinf(out[..., mask]).all()


def test_config_is_validated():
    with pytest.raises(ValidationError):
        TrimConfig(alpha=1.5)
    with pytest.raises(ValidationError):
        TrimConfig(bogus=1)


def _corpus(path, n=200):
    rnd = random.Random(0)
    with path.open("w") as f:
        for _ in range(n):
            v = {"name": rnd.choice(["Ann", "Bo", "Cy"]), "age": rnd.randint(1, 99)}
            f.write(json.dumps({"messages": [{"role": "user", "content": "IGNORED user text"},
                                             {"role": "assistant", "content": json.dumps(v)}]})
                    + "\n")
        f.write(json.dumps({"response": "plain response row"}) + "\n")


def test_read_assistant_texts(tmp_path):
    p = tmp_path / "c.jsonl"
    _corpus(p, 3)
    texts = read_assistant_texts(p)
    assert len(texts) == 4 and all("IGNORED" not in t for t in texts)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": []}\n{oops\n')
    with pytest.raises(InputError, match=":2 is not valid JSON"):
        read_assistant_texts(bad)
    bad.write_text('{"messages": [{"role": "user", "content": "x"}]}\n')
    with pytest.raises(InputError, match="no assistant responses"):
        read_assistant_texts(bad)


def test_trim_draft_writes_a_loadable_folder(tmp_path, tok, mistral_tokenizer_dir):
    import shutil

    src = tmp_path / "draft"
    torch.manual_seed(0)
    model = LlamaForCausalLM(tiny_llama_config(num_hidden_layers=1)).eval()
    model.save_pretrained(src)
    for f in mistral_tokenizer_dir.iterdir():
        shutil.copy(f, src / f.name)
    corpus = tmp_path / "c.jsonl"
    _corpus(corpus)
    res, out = trim_draft(src, corpus, tmp_path / "out", TrimConfig(min_coverage=0.99,
                                                                   n_trials=20))
    meta = json.loads((out / "draft_vocab.json").read_text())
    assert (out / "pareto.png").stat().st_size > 1000
    kept = torch.tensor(meta["kept"])
    assert tok.eos_token_id in meta["kept"] and meta["coverage"] >= 0.99
    assert (torch.arange(len(kept)) + torch.tensor(meta["d2t"])).tolist() == meta["kept"]
    loaded = load_causal_lm(out, device="cpu")
    assert isinstance(loaded.lm_head, TrimmedLMHead)
    ids = torch.tensor([[1, 100, 200]])
    full = model(ids).logits
    trimmed = loaded(ids).logits
    assert torch.allclose(trimmed[..., kept], full[..., kept], atol=1e-5)
    assert torch.isinf(trimmed).sum() == 3 * (full.shape[-1] - len(kept))
    assert res.k >= 50
