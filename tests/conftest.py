"""Shared fixtures: real tokenizers and encoders that install offline, tiny models from configs.

Nothing here reaches a model hub. Torch runs single-threaded in tests so parallel helpers and CI on
two cores stay predictable.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except Exception:
        has_cuda = False
    if not has_cuda:
        skip = pytest.mark.skip(reason="needs CUDA")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _torch_threads():
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


@pytest.fixture(scope="session")
def mistral_tokenizer_dir(tmp_path_factory) -> Path:
    """Folder with the real 32k Mistral SentencePiece tokenizer, loadable by AutoTokenizer."""
    from prunestack.models import write_mistral_tokenizer

    return write_mistral_tokenizer(tmp_path_factory.mktemp("mistral-tok"))


@pytest.fixture(scope="session")
def mistral_tokenizer(mistral_tokenizer_dir):
    from prunestack.models import load_tokenizer

    return load_tokenizer(mistral_tokenizer_dir)


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    from prunestack.models import minilm_path

    return minilm_path()


def tiny_llama_config(vocab_size: int = 32768, **overrides):
    """A tiny Llama config (GQA: 4 query heads, 2 key/value heads) for tests."""
    from transformers import LlamaConfig

    kw = {"vocab_size": vocab_size, "hidden_size": 64, "intermediate_size": 128,
          "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
          "max_position_embeddings": 512, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0,
          "tie_word_embeddings": False}
    kw.update(overrides)
    return LlamaConfig(**kw)


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory, mistral_tokenizer_dir) -> Path:
    """A saved tiny random Llama with the real Mistral tokenizer beside it."""
    import shutil

    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(tiny_llama_config()).save_pretrained(out)
    for f in mistral_tokenizer_dir.iterdir():
        shutil.copy(f, out / f.name)
    return out


@pytest.fixture(scope="session")
def pruned_minilm_dir(tmp_path_factory, minilm_dir) -> Path:
    """The real MiniLM pruned by the project's own engine, heads AND FFN channels (FLAP, 30 %,
    the same share in every layer), saved with its tokenizer as a non-stock folder."""
    import prunestack

    out = tmp_path_factory.mktemp("minilm-pruned")
    prunestack.prune_model(minilm_dir, out, method="flap", ratio=0.3,
                           structures=["heads", "channels"], allocation="uniform",
                           nsamples=8, seqlen=64)
    return out


@pytest.fixture(scope="session")
def pruned_llama_dir(tmp_path_factory, tiny_llama_dir) -> Path:
    """The tiny Llama with 30 % of its MLP channels pruned (FLAP), saved with its real Mistral
    tokenizer: a draft on the same vocabulary as ``tiny_llama_dir``."""
    import prunestack

    out = tmp_path_factory.mktemp("llama-pruned")
    prunestack.prune_model(tiny_llama_dir, out, method="flap", ratio=0.3,
                           structures=["channels"], nsamples=4, seqlen=32)
    return out
