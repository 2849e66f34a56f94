"""Dense sentence embeddings (all-MiniLM-L6-v2 by default) and faiss inner-product search.

Embedding = mean of the last hidden states over real tokens, L2-normalised (what
sentence-transformers does for this model), so inner product = cosine. Any local BERT-style encoder
folder loadable with ``AutoModel.from_pretrained`` works — including a pruned MiniLM written by
``pipeline.pruning``; if that folder has no tokenizer, MiniLM's is used (vocabularies must match).
Never reaches a model hub. Does not fine-tune and does not cache embeddings between calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from prunestack.errors import ModelError

_TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "tokenizer.model")


class Encoder:
    """``Encoder(folder).encode(texts)`` -> float32 [n, dim], rows of unit norm."""

    def __init__(self, encoder: str | Path | None = None, max_length: int = 256,
                 batch_size: int = 32, device: str = "cpu") -> None:
        import torch
        from transformers import AutoModel

        from prunestack.models import load_tokenizer, minilm_path

        folder = Path(encoder) if encoder is not None else minilm_path()
        if not folder.is_dir() or not (folder / "config.json").is_file():
            raise ModelError(f"encoder folder not found or has no config.json: {folder}",
                             "pass a local folder saved with save_pretrained")
        has_tok = any((folder / f).is_file() for f in _TOKENIZER_FILES)
        self.tokenizer = load_tokenizer(folder if has_tok else minilm_path())
        try:
            self.model = AutoModel.from_pretrained(str(folder), local_files_only=True).to(device)
        except Exception as exc:
            raise ModelError(f"cannot load an encoder from {folder}: {exc}") from exc
        self.model.eval()
        vocab = getattr(self.model.config, "vocab_size", None)
        if vocab is not None and len(self.tokenizer) > vocab:
            raise ModelError(f"tokenizer has {len(self.tokenizer)} tokens, encoder only {vocab}",
                             "put the matching tokenizer files in the encoder folder")
        self.folder = folder
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device
        self.dim = int(self.model.config.hidden_size)
        self._torch = torch

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        torch = self._torch
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # longest first, so each batch pads to similar lengths (rows are put back in order)
        order = sorted(range(len(texts)), key=lambda j: -len(texts[j]))
        for i in range(0, len(texts), self.batch_size):
            rows = order[i:i + self.batch_size]
            batch = [texts[j] if texts[j].strip() else " " for j in rows]
            enc = self.tokenizer(batch, padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="pt").to(self.device)
            with torch.inference_mode():
                hidden = self.model(**enc).last_hidden_state  # [B, S, H]
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # [B, S, 1]
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # [B, H]
            pooled = torch.nn.functional.normalize(pooled.float(), p=2, dim=1)
            out[rows] = pooled.cpu().numpy()
        return out


@lru_cache(maxsize=4)
def _cached_encoder(folder: str | None) -> Encoder:
    return Encoder(folder)


def get_encoder(encoder: str | Path | None = None) -> Encoder:
    """A process-wide shared :class:`Encoder` per folder (models load once)."""
    return _cached_encoder(str(Path(encoder).resolve()) if encoder is not None else None)


def flat_index(vectors: np.ndarray) -> Any:
    """A faiss ``IndexFlatIP`` over unit vectors [n, dim] (inner product = cosine)."""
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def cosine_scores(query_vec: np.ndarray, doc_vecs: np.ndarray) -> np.ndarray:
    """Cosine of one query [dim] against every document [n, dim], via faiss; returns [n]."""
    n = len(doc_vecs)
    scores = np.full(n, -1.0, dtype=np.float32)
    if n == 0:
        return scores
    index = flat_index(doc_vecs)
    sims, ids = index.search(np.ascontiguousarray(query_vec[None, :], dtype=np.float32), n)
    scores[ids[0]] = sims[0]  # [n]
    return scores
