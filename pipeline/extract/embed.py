"""Sentence embeddings with all-MiniLM-L6-v2 (mean pooling over tokens, then L2 normalisation).

The encoder loads once per folder and process (``get_embedder``) from a local folder only
(``pipeline.models.minilm_path()`` by default); vectors of texts already seen come from a bounded
cache, so a field descriptor or a recurring label is encoded once. Cosine similarity is a dot
product of the normalised vectors. This module does not decide what to embed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from prunestack.errors import ModelError

_LOCK = threading.Lock()
_EMBEDDERS: dict[str, Embedder] = {}


class Embedder:
    def __init__(self, folder: str | Path, max_length: int = 128, cache_size: int = 20000) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        p = Path(folder)
        if not (p / "config.json").is_file():
            raise ModelError(f"no sentence encoder in {p}", "expected all-MiniLM-L6-v2's folder")
        self.tokenizer = AutoTokenizer.from_pretrained(str(p), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(p), local_files_only=True).eval()
        self.max_length = max_length
        self.dim = int(self.model.config.hidden_size)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._torch = torch

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """[N, dim] float32, each row L2-normalised (zeros for empty texts)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo: list[int] = []
        with self._lock:
            for i, t in enumerate(texts):
                if t in self._cache:
                    out[i] = self._cache[t]
                    self._cache.move_to_end(t)
                elif t.strip():
                    todo.append(i)
        uniq = list(dict.fromkeys(texts[i] for i in todo))
        vecs: dict[str, np.ndarray] = {}
        torch = self._torch
        for s in range(0, len(uniq), batch_size):
            chunk = uniq[s:s + batch_size]
            enc = self.tokenizer(chunk, padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="pt")
            with torch.inference_mode():
                hidden = self.model(**enc).last_hidden_state  # [B, T, H]
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # [B, T, 1]
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # [B, H]
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            for t, v in zip(chunk, pooled.float().numpy(), strict=True):
                vecs[t] = v
        with self._lock:
            for t, v in vecs.items():
                self._cache[t] = v
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        for i in todo:
            out[i] = vecs[texts[i]]
        return out

    def similarity(self, queries: list[str], texts: list[str]) -> np.ndarray:
        """[Q, N] cosine similarities."""
        if not queries or not texts:
            return np.zeros((len(queries), len(texts)), dtype=np.float32)
        return self.encode(queries) @ self.encode(texts).T


def get_embedder(folder: str | Path | None = None) -> Embedder:
    """The process-wide encoder for ``folder`` (MiniLM by default), loaded on first use."""
    if folder is None:
        from prunestack.models import minilm_path

        folder = minilm_path()
    key = str(Path(folder).resolve())
    with _LOCK:
        if key not in _EMBEDDERS:
            _EMBEDDERS[key] = Embedder(key)
        return _EMBEDDERS[key]
