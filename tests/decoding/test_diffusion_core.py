"""Diffusion decoding mechanics: the pure math, the predictor adapters, and the free-form loop
driven by a scripted mask predictor whose confidences are set exactly (so commit counts,
expansions, insertions and stopping are checked against hand-computed values)."""

from __future__ import annotations

import math

import pytest
import torch

from prunestack.errors import ConfigError, ModelError
from prunestack.pipeline.decoding.diffusion_core import (
    DiffusionConfig,
    MaskPredictor,
    block_boundary,
    commit_count,
    done_probability,
    make_config,
    make_predictor,
    normalized_entropy,
    select_commits,
    token_scores,
)
from prunestack.pipeline.decoding.diffusion_free import diffuse

V, MASK, END = 50, 49, 0


class _Out:
    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits


class ScriptedMLM(torch.nn.Module):
    """Bidirectional "model": at generated position j it puts probability ``conf(j)`` on
    ``target[j]`` (the end token after the target) and spreads the rest uniformly."""

    def __init__(self, prompt_len: int, target: list[int], conf) -> None:
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))
        self.prompt_len, self.target, self.conf = prompt_len, target, conf

    def forward(self, input_ids: torch.Tensor) -> _Out:
        b, n = input_ids.shape
        probs = torch.full((b, n, V), 1.0 / V)
        for i in range(self.prompt_len, n):
            j = i - self.prompt_len
            tok = self.target[j] if j < len(self.target) else END
            c = self.conf(j)
            probs[:, i] = (1 - c) / (V - 1)
            probs[:, i, tok] = c
        return _Out(probs.log())


def _run(target, conf, **cfg):
    max_new = cfg.pop("max_new_tokens", 64)
    prompt = [3, 4, 5]
    pred = MaskPredictor(ScriptedMLM(len(prompt), target, conf), MASK)
    return diffuse(pred, prompt, DiffusionConfig(**cfg), end_id=END, max_new_tokens=max_new)


def test_entropy_and_done_probability():
    uniform = torch.full((1, V), 1.0 / V)
    peaked = torch.zeros(1, V)
    peaked[0, 7] = 1.0
    assert normalized_entropy(uniform).item() == pytest.approx(1.0, abs=1e-5)
    assert normalized_entropy(peaked).item() == pytest.approx(0.0, abs=1e-5)
    r = done_probability(torch.tensor([0.0, 0.15, 1.0]), 0.15, 0.05)
    assert r[0] > 0.95 and r[1] == pytest.approx(0.5) and r[2] < 1e-6


def test_block_boundary_is_the_change_point():
    r = torch.tensor([0.99] * 6 + [0.01] * 10)
    assert block_boundary(r, 2, 12) == 6  # done span ends where uncertainty starts
    assert block_boundary(torch.full((40,), 0.999), 4, 32) == 32  # all done: longest block
    assert block_boundary(torch.full((40,), 0.001), 4, 32) == 4  # nothing done: shortest
    assert block_boundary(torch.full((3,), 0.5), 4, 32) == 3  # fewer positions than block_min


def test_commit_count_and_selection():
    assert commit_count(torch.tensor([0.9, 0.8, 0.7, 0.1])) == 3  # round(2.5) -> 3 (half up)
    assert commit_count(torch.tensor([0.01, 0.02])) == 1  # at least one
    conf = torch.tensor([0.95, 0.2, 0.92, 0.5])
    assert select_commits(conf, conf, 1, 0.9).tolist() == [0, 2]  # threshold wins over k
    assert select_commits(conf, conf, 3, 0.9).tolist() == [0, 2, 3]  # topped up by score
    low = torch.tensor([0.1, 0.3, 0.2])
    assert select_commits(low, low, 0, 0.9).tolist() == [1]  # at least one per step


def test_remasking_scores_rank_differently():
    probs = torch.tensor([[0.50, 0.49, 0.01], [0.45, 0.10, 0.45], [0.40, 0.30, 0.30]])
    tok, conf, s_conf = token_scores(probs, "low_confidence")
    assert tok.tolist() == [0, 0, 0] and conf.tolist() == pytest.approx([0.5, 0.45, 0.4])
    _, _, s_margin = token_scores(probs, "margin")
    _, _, s_ent = token_scores(probs, "entropy")
    assert int(s_conf.argmax()) == 0  # most confident
    assert int(s_margin.argmax()) == 2  # 0.40 - 0.30 is the widest margin
    assert int(s_ent.argmax()) == 0  # two-way split has the lowest entropy


def test_config_rejects_bad_options():
    with pytest.raises(ConfigError, match="threshold"):
        make_config({"threshold": 1.5})
    with pytest.raises(ConfigError, match="thresold: Extra"):
        make_config({"thresold": 0.5})
    with pytest.raises(ConfigError, match="block_min"):
        make_config({"block_min": 9, "block_max": 4})


def test_dream_adapter_shifts_logits_by_one(tiny_llama_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, local_files_only=True).eval()
    model.config.model_type = "dream"  # what Dream's config says; the adapter keys on it
    pred = make_predictor(model, type("Tok", (), {"mask_token_id": 5})())
    assert pred.shift and pred.mask_id == 5
    ids = torch.tensor([[1, 20, 30, 40, 5, 5]])
    with torch.no_grad():
        raw = model(input_ids=ids).logits
    out = pred(ids)
    assert torch.allclose(out[:, 1:], raw[:, :-1]) and torch.allclose(out[:, 0], raw[:, 0])
    assert pred.calls == 1


def test_llada_adapter_keeps_positions_and_default_mask_id(tiny_llama_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, local_files_only=True).eval()
    model.config.model_type = "llada"
    pred = make_predictor(model, type("Tok", (), {"mask_token_id": None})())
    assert not pred.shift and pred.mask_id == 126336  # LLaDA's [MASK] id
    ids = torch.tensor([[1, 20, 30]])
    with torch.no_grad():
        assert torch.allclose(pred(ids), model(input_ids=ids).logits)


def test_bert_adapter_and_missing_mask_token(minilm_dir):
    from transformers import BertConfig, BertForMaskedLM

    from prunestack.models import load_tokenizer

    tok = load_tokenizer(minilm_dir)
    model = BertForMaskedLM(BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1,
                                       num_attention_heads=2, intermediate_size=64))
    pred = make_predictor(model, tok)
    assert not pred.shift and pred.mask_id == tok.mask_token_id == 103
    with pytest.raises(ModelError, match="mask token"):
        make_predictor(model, type("Tok", (), {"mask_token_id": None})())
    with pytest.raises(ConfigError, match="kind"):
        make_predictor(model, tok, "gpt")


def test_confident_model_commits_everything_in_one_step():
    target = list(range(10, 20))
    res = _run(target, lambda j: 0.99, init_len=16)
    assert res.ids == target
    assert res.expansions == 0 and res.steps == 1
    assert res.commits_per_step == [16]  # 10 tokens + 6 end tokens, all >= threshold
    assert res.model_calls == 1  # the length probe's logits are reused for step one


def test_low_eos_confidence_expands_the_canvas():
    target = list(range(10, 40))  # 30 tokens, canvas starts at 16
    res = _run(target, lambda j: 0.99, init_len=16, expand_by=8)
    # tail end-probability: 16 -> 0, 24 -> 0, 32 -> 2/8, 40 -> 1: three expansions
    assert res.expansions == 3 and res.canvas_len == 40
    assert res.ids == target and res.model_calls == 4


def test_uncertain_model_commits_one_token_per_step():
    target = [11, 12, 13, 14, 15]
    res = _run(target, lambda j: 0.5, init_len=8, eos_threshold=0.0)
    assert res.commits_per_step == [1] * res.steps
    assert res.ids == target and res.insertions == 0
    # one call per step: the length probe's logits serve the first step (canvas unchanged)
    assert res.model_calls == res.steps == len(target) + 1


def test_posterior_commit_count_without_threshold_hits():
    # confidence 0.85 (< threshold 0.9) but low entropy: the posterior commits several per step
    target = list(range(10, 22))
    on = _run(target, lambda j: 0.85, init_len=16, done_entropy=0.5)
    off = _run(target, lambda j: 0.85, init_len=16, done_entropy=0.5, posterior_commits=False)
    assert on.ids == target == off.ids
    assert max(on.commits_per_step) > 1 and on.steps < off.steps
    assert off.commits_per_step == [1] * off.steps


def test_very_low_confidence_inserts_masks():
    target = list(range(10, 22))  # longer than the canvas: no end token in the first step
    res = _run(target, lambda j: 0.99 if j != 3 else 0.03, init_len=8, eos_threshold=0.0,
               max_new_tokens=40)
    assert res.commits_per_step[0] == 7  # everything but the very-low-confidence position
    assert res.insertions >= 1  # ... which became expand_by=8 masks
    assert 8 + 7 <= res.canvas_len <= 40


def test_autoregressive_mode_is_one_token_per_call():
    target = [21, 22, 23, 24]
    res = _run(target, lambda j: 0.99, init_len=6, eos_threshold=0.0, parallel=False)
    assert res.ids == target
    # four tokens, then the end token ends the sequence (fills the rest): five steps
    assert res.commits_per_step == [1] * 5 and res.steps == 5


def test_stops_at_max_new_tokens():
    res = _run(list(range(10, 48)), lambda j: 0.99, init_len=8, max_new_tokens=20)
    assert res.canvas_len == 20 and len(res.ids) == 20 and res.ids == list(range(10, 30))
    assert not math.isnan(float(res.steps))
