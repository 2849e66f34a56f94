"""The one saved-model format: pruned models and vocabulary-trimmed drafts are written by
``prunestack.saved.save_model`` and reload through the registry's loader to the same logits."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from transformers import AutoModelForCausalLM

from prunestack.models import load_causal_lm
from prunestack.pipeline.decoding.vocab_trim import trim_head
from prunestack.pipeline.pruning import prune
from prunestack.rebuild import TrimmedLMHead
from prunestack.saved import load_saved, read_entry, save_model
from tests.pruning.conftest import ByteTokenizer, build

KEPT = torch.tensor([0, 1, 2, 3, 7, 40, 41, 200, 511])


def _logits(model, x):
    with torch.no_grad():
        return model(input_ids=x).logits


def _variant(kind: str):
    model = build("llama")
    if "pruned" in kind:
        prune(model, {"method": "flap", "ratio": 0.3, "nsamples": 4, "seqlen": 32},
              tokenizer=ByteTokenizer(), progress=False)
    if "trimmed" in kind:
        trim_head(model, KEPT)
    return model


@pytest.mark.parametrize("kind", ["pruned", "trimmed", "pruned+trimmed"])
def test_save_reload_same_logits(kind, tmp_path, mistral_tokenizer):
    model = _variant(kind)
    x = torch.randint(3, 500, (2, 12))
    ref = _logits(model, x)
    entry = save_model(model, tmp_path, mistral_tokenizer, meta={"note": kind})
    assert read_entry(tmp_path) == entry and entry["note"] == kind and not entry["uniform"]
    assert (tmp_path / "tokenizer_config.json").is_file()
    reloaded = load_causal_lm(tmp_path, device="cpu")  # the one loader, no pruning import
    torch.testing.assert_close(_logits(reloaded, x), ref, rtol=0, atol=0)
    remote = AutoModelForCausalLM.from_pretrained(tmp_path, trust_remote_code=True,
                                                  local_files_only=True).eval()
    torch.testing.assert_close(_logits(remote, x), ref, rtol=0, atol=0)
    if "trimmed" in kind:
        assert entry["trimmed"] == {"lm_head": len(KEPT)}
        assert isinstance(reloaded.lm_head, TrimmedLMHead)
        with safe_open(str(tmp_path / "model.safetensors"), "pt") as f:
            assert f.get_slice("lm_head.weight").get_shape()[0] == len(KEPT)  # k rows on disk
        assert torch.isinf(_logits(reloaded, x)).sum() == 2 * 12 * (512 - len(KEPT))
        out = reloaded.generate(x[:1], max_new_tokens=4, do_sample=False)
        assert set(out[0, 12:].tolist()) <= set(KEPT.tolist())
    else:
        assert "trimmed" not in entry


def test_a_saved_folder_saves_again_unchanged(tmp_path):
    """Reloaded (a Pruned* subclass) and saved again: same entry, same stock architecture."""
    model = _variant("pruned+trimmed")
    first = save_model(model, tmp_path / "a")
    again = save_model(load_saved(tmp_path / "a"), tmp_path / "b")
    assert again == first
    cfg = json.loads((tmp_path / "b" / "config.json").read_text())
    assert cfg["architectures"] == ["LlamaForCausalLM"]


def test_trimming_a_trimmed_head_is_refused():
    from prunestack.errors import ModelError

    model = _variant("trimmed")
    with pytest.raises(ModelError, match="already trimmed"):
        trim_head(model, KEPT[:3])
