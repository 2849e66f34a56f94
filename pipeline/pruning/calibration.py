"""Calibration data and the layer-by-layer capture loop.

- ``read_texts``: documents from a plain-text file (blank-line separated) or JSONL (``text`` field).
- ``builtin_corpus``: the shipped calibration text (``prunestack/corpora/calibration-en``: 1.9 MB
  of Django documentation prose, BSD-3-Clause, and 0.76 MB of synthetic receipts, invoices and
  forms), split into ``calib`` and ``heldout`` runs; the default for pruning and distillation.
- ``local_english``: English text of another source that is on every machine: the licence texts
  in /usr/share/common-licenses and the docstrings of Python's standard library; encoder
  benchmarks measure on it as text the calibration and distillation never saw.
- ``token_samples``: fixed-length token windows [N, L] from documents (no padding).
- ``capture``: run the model once with every block replaced by a recorder that returns its input,
  keeping the input of block 0 and the keyword arguments each block receives (masks, rotary
  embeddings). Afterwards ``run_block`` runs one block at a time and the caller feeds outputs
  forward, so activations of one block are alive at a time (FLAP/Wanda style).

Gradient criteria use the full model, in batches (see ``engine``).
"""

from __future__ import annotations

import functools
import gzip
import importlib
import inspect
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from prunestack.errors import InputError
from prunestack.jsonl import jsonl_rows
from prunestack.models import CALIBRATION_CORPUS

_STDLIB = ("argparse", "asyncio.events", "collections", "concurrent.futures", "csv", "dataclasses",
           "datetime", "decimal", "difflib", "email.message", "enum", "fractions", "functools",
           "heapq", "http.client", "inspect", "ipaddress", "itertools", "json", "logging",
           "multiprocessing.pool", "os", "pathlib", "pickle", "random", "re", "shutil", "socket",
           "sqlite3", "statistics", "string", "subprocess", "tarfile", "tempfile", "textwrap",
           "threading", "typing", "unittest.case", "urllib.parse", "uuid", "xml.dom.minidom",
           "zipfile", "zoneinfo")


def read_texts(path: str | Path) -> list[str]:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"calibration/data file not found: {p}")
    raw = p.read_text(encoding="utf-8", errors="replace")
    if p.suffix in (".jsonl", ".json"):
        docs = []
        for _, obj in jsonl_rows(p, raw):
            text = obj.get("text") if isinstance(obj, dict) else obj
            if not isinstance(text, str):
                text = " ".join(str(obj.get(k, "")) for k in ("prompt", "instruction", "input",
                                                               "output", "response")).strip()
            if text:
                docs.append(text)
    else:
        docs = [d.strip() for d in raw.split("\n\n") if d.strip()]
    if not docs:
        raise InputError(f"{p} holds no text")
    return docs


#: the shipped corpus (see its README.md for sources, licences and the build command)
CORPUS = CALIBRATION_CORPUS
#: entries are cut into runs of this many; every tenth run is held out
_RUN = 20


def builtin_corpus(split: str = "calib", source: str | None = None) -> list[str]:
    """Entries of the shipped calibration corpus, in file order (deterministic).

    ``split``: "calib" (nine runs of 20 entries in ten), "heldout" (the tenth) or "all";
    ``source``: "django-docs", "synthetic-documents" or None for both."""
    if split not in ("calib", "heldout", "all"):
        raise InputError(f"unknown corpus split {split!r}", "one of calib, heldout, all")
    rows = _builtin_rows()
    keep = [(i, text) for i, (src, text) in enumerate(rows) if source in (None, src)]
    if split == "all":
        return [t for _, t in keep]
    held = split == "heldout"
    return [t for i, t in keep if ((i // _RUN) % 10 == 9) == held]


@functools.lru_cache(maxsize=1)
def _builtin_rows() -> tuple[tuple[str, str], ...]:
    with gzip.open(_corpus_file(), "rt", encoding="utf-8") as fh:
        return tuple((r["source"], r["text"]) for r in map(json.loads, fh))


def _corpus_file() -> Path:
    path = CORPUS / "corpus.jsonl.gz"
    if not path.is_file():
        raise InputError(f"the built-in calibration corpus is missing ({path})",
                         "reinstall prunestack or give a --calib file")
    return path


def local_english(split: str = "all", max_chars: int = 400_000) -> list[str]:
    """Real English paragraphs available offline, in a fixed order (deterministic).

    ``split``: "calib" (even paragraphs), "heldout" (odd paragraphs) or "all".
    """
    out = list(_local_english(max_chars))
    if split == "calib":
        return out[0::2]
    if split == "heldout":
        return out[1::2]
    return out


@functools.lru_cache(maxsize=2)
def _local_english(max_chars: int) -> tuple[str, ...]:
    docs: list[str] = []
    lic = Path("/usr/share/common-licenses")
    if lic.is_dir():
        for f in sorted(lic.iterdir()):
            if f.is_file() and not f.is_symlink():
                docs += [" ".join(p.split()) for p in f.read_text(errors="replace").split("\n\n")]
    for name in _STDLIB:
        try:
            mod = importlib.import_module(name)  # stdlib only: names from _STDLIB
        except Exception:
            continue
        for _, obj in sorted(vars(mod).items()):
            doc = inspect.getdoc(obj) if callable(obj) or inspect.ismodule(obj) else None
            if doc and getattr(obj, "__module__", name) == name:
                docs += [" ".join(p.split()) for p in doc.split("\n\n")]
    out, total = [], 0
    for d in docs:
        if len(d) >= 80 and sum(c.isalpha() for c in d) > 0.6 * len(d) and total < max_chars:
            out.append(d)
            total += len(d)
    return tuple(out)


def token_samples(tokenizer: Any, docs: list[str], nsamples: int, seqlen: int,
                  seed: int = 0) -> torch.Tensor:
    """[nsamples, seqlen] token windows from the concatenated documents."""
    ids: list[int] = []
    for d in docs:
        ids += tokenizer(d, add_special_tokens=False)["input_ids"]
        if tokenizer.eos_token_id is not None:
            ids.append(tokenizer.eos_token_id)
    if len(ids) < seqlen + 1:
        raise InputError(f"calibration text has {len(ids)} tokens, need at least {seqlen + 1}",
                         "give a longer --calib file or a smaller --seqlen")
    stream = torch.tensor(ids)
    g = torch.Generator().manual_seed(seed)
    starts = torch.randint(0, len(ids) - seqlen, (nsamples,), generator=g)
    out = torch.stack([stream[s: s + seqlen] for s in starts.tolist()])
    if getattr(tokenizer, "cls_token_id", None) is not None and tokenizer.bos_token_id is None:
        out[:, 0] = tokenizer.cls_token_id  # BERT-style encoders expect [CLS] first
    elif tokenizer.bos_token_id is not None:
        out[:, 0] = tokenizer.bos_token_id
    return out


class _Recorder(nn.Module):
    """Stands in for a block: records what it receives, returns its input unchanged."""

    def __init__(self, block: nn.Module, store: list) -> None:
        super().__init__()
        self.store = store
        for name in ("attention_type", "layer_idx", "is_sliding"):
            if hasattr(block, name):
                setattr(self, name, getattr(block, name))

    def forward(self, hidden_states: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        self.store.append((hidden_states, args, kwargs))
        return hidden_states


@torch.no_grad()
def capture(model: nn.Module, layers: nn.ModuleList, input_ids: torch.Tensor
            ) -> tuple[torch.Tensor, list[tuple[tuple, dict]]]:
    """Inputs of block 0 [N, L, H] and, per block, the extra (args, kwargs) it is called with."""
    originals = list(layers)
    stores: list[list] = [[] for _ in originals]
    for i, block in enumerate(originals):
        layers[i] = _Recorder(block, stores[i])
    try:
        kw: dict[str, Any] = {"use_cache": False}
        if getattr(model.config, "model_type", "") == "bert":
            kw = {"attention_mask": torch.ones_like(input_ids)}
        model(input_ids=input_ids.to(next(model.parameters()).device), **kw)
    finally:
        for i, block in enumerate(originals):
            layers[i] = block
    hidden0 = stores[0][0][0]
    extras = [(s[0][1], s[0][2]) for s in stores]
    return hidden0, extras


@torch.no_grad()
def run_block(block: nn.Module, hidden: torch.Tensor, extra: tuple[tuple, dict]) -> torch.Tensor:
    """Output hidden states [N, L, H] of one block."""
    out = block(hidden, *extra[0], **extra[1])
    return out[0] if isinstance(out, tuple) else out
