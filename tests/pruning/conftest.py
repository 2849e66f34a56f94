"""Tiny random models of every supported family, built from their configs (no hub access)."""

from __future__ import annotations

import pytest
import torch

VOCAB = 512
COMMON = {"vocab_size": VOCAB, "hidden_size": 64, "num_hidden_layers": 3,
          "max_position_embeddings": 256, "bos_token_id": 1, "eos_token_id": 2,
          "pad_token_id": 0, "tie_word_embeddings": False}


def family_config(name: str):
    """A tiny config of ``name``: 8 query heads over 4 key/value heads (GQA), head size 8."""
    import transformers as tf

    attn = {"num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 8}
    if name == "llama":
        return tf.LlamaConfig(**COMMON, **attn, intermediate_size=96)
    if name == "mistral":
        return tf.MistralConfig(**COMMON, **attn, intermediate_size=96, sliding_window=None)
    if name == "qwen2":
        return tf.Qwen2Config(**COMMON, **attn, intermediate_size=96)
    if name == "qwen3":
        return tf.Qwen3Config(**COMMON, **attn, intermediate_size=96)
    if name == "phi3":
        kw = {k: v for k, v in attn.items() if k != "head_dim"}
        return tf.Phi3Config(**COMMON, **kw, intermediate_size=96)
    if name == "gemma":
        return tf.GemmaConfig(**COMMON, **attn, intermediate_size=96)
    if name == "gemma2":
        return tf.Gemma2Config(**COMMON, **attn, intermediate_size=96, sliding_window=16,
                               query_pre_attn_scalar=8)
    if name == "mixtral":
        return tf.MixtralConfig(**COMMON, **attn, intermediate_size=32, num_local_experts=8,
                                num_experts_per_tok=2)
    if name == "qwen2_moe":
        return tf.Qwen2MoeConfig(**COMMON, **attn, intermediate_size=64, moe_intermediate_size=32,
                                 shared_expert_intermediate_size=48, num_experts=8,
                                 num_experts_per_tok=2)
    if name == "bert":
        return tf.BertConfig(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=3,
                             num_attention_heads=8, intermediate_size=96,
                             max_position_embeddings=256)
    raise KeyError(name)


FAMILIES = ["llama", "mistral", "qwen2", "qwen3", "phi3", "gemma", "gemma2", "mixtral",
            "qwen2_moe", "bert"]


def build(name: str, seed: int = 0):
    import transformers as tf

    torch.manual_seed(seed)
    cfg = family_config(name)
    cls = tf.BertModel if name == "bert" else tf.AutoModelForCausalLM
    model = cls(cfg) if name == "bert" else cls.from_config(cfg)
    return model.eval()


class ByteTokenizer:
    """A minimal real tokenizer for tiny vocabularies: UTF-8 bytes shifted past the specials."""

    bos_token_id, eos_token_id, cls_token_id, pad_token_id = 1, 2, None, 0

    def __call__(self, text: str, add_special_tokens: bool = False):
        return {"input_ids": [3 + b for b in text.encode("utf-8")][:4000]}


@pytest.fixture()
def byte_tok():
    return ByteTokenizer()
