"""Fixtures for the decoding tests: the real Mistral tokenizer, tiny random Llamas built in memory
(target, a layer-dropped draft), and a per-session compile cache under tmp."""

from __future__ import annotations

import copy

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("PRUNESTACK_CACHE", str(tmp_path_factory.mktemp("ps-cache")))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def tok(mistral_tokenizer):
    return mistral_tokenizer


@pytest.fixture(scope="session")
def target():
    from transformers import LlamaForCausalLM

    from tests.conftest import tiny_llama_config

    torch.manual_seed(0)
    return LlamaForCausalLM(tiny_llama_config(num_hidden_layers=3)).eval()


def drop_layers(model, keep: list[int]):
    """A depth-pruned copy of ``model`` (the draft): only the decoder layers in ``keep``."""
    draft = copy.deepcopy(model)
    draft.model.layers = torch.nn.ModuleList([draft.model.layers[i] for i in keep])
    for new_idx, layer in enumerate(draft.model.layers):
        layer.self_attn.layer_idx = new_idx
    draft.config.num_hidden_layers = len(keep)
    if hasattr(draft.config, "layer_types") and draft.config.layer_types:
        draft.config.layer_types = [draft.config.layer_types[i] for i in keep]
    return draft.eval()


@pytest.fixture(scope="session")
def draft(target):
    return drop_layers(target, [0, 2])


@pytest.fixture(scope="module")
def minilm_tok(minilm_dir):
    """The real MiniLM WordPiece tokenizer (the masked LM side of diffusion decoding)."""
    from prunestack.models import load_tokenizer

    return load_tokenizer(minilm_dir)


@pytest.fixture(scope="module")
def wp(minilm_tok):
    """Token texts of the MiniLM vocabulary."""
    from prunestack.pipeline.decoding.diffusion_text import TokenTexts

    return TokenTexts(minilm_tok)
