"""The one sentence encoder (all-MiniLM-L6-v2 by default): texts in, unit vectors out.

Embedding = mean of the last hidden states over real tokens, L2-normalised (what
sentence-transformers does for this model), so a dot product is a cosine.

Two ways in, one model and one pooling:

- :meth:`SentenceEncoder.encode` embeds passages (HTML blocks, index rows): every text, an empty
  one as ``" "``, batched longest first (rows are put back in order), 256 tokens by default,
  nothing cached;
- :meth:`SentenceEncoder.similarity` / :meth:`SentenceEncoder.encode_cached` embed short recurring
  texts (field descriptors, labels, headers): distinct texts in first-seen order, an empty one as
  zeros, 128 tokens by default, through a bounded text -> vector cache keyed by
  ``(max_length, text)``.

Each way keeps the batching its callers were measured with (padding changes the last bits of a
vector). Get one from ``prunestack.models.registry().encoder()`` so a process holds one copy;
this module does not load folders (``prunestack.models.load_encoder`` does) nor share encoders.
Every forward pass is a cancellation checkpoint (``prunestack.cancel``).

Text reaches the tokenizer through :func:`tokenizable`: a lone UTF-16 surrogate (pdfium reports a
character outside the BMP, such as the mathematical italic letters of a figure caption, as two
halves) becomes U+FFFD. The Rust tokenizer refuses such a ``str`` with ``TypeError:
TextEncodeInput must be Union[...]``, which is how "What is the title of figure 1?" once crashed
document retrieval.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from prunestack.cancel import checkpoint

_SURROGATE = re.compile("[\ud800-\udfff]")


def tokenizable(text: str) -> str:
    """``text`` with every lone UTF-16 surrogate replaced by U+FFFD (tokenizers refuse them)."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def mean_pool(hidden: Any, attention_mask: Any) -> Any:
    """[B, S, H] hidden states → [B, H]: the mean over real (unmasked) tokens."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # [B, S, 1]
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

class SentenceEncoder:
    """``encoder.encode(texts)`` -> float32 [n, dim], rows of unit norm.

    Wraps an already loaded encoder ``model`` (eval mode) and its ``tokenizer``;
    ``prunestack.models.load_encoder`` builds one from a folder."""

    def __init__(self, model: Any, tokenizer: Any, folder: str | Path, device: str = "cpu",
                 cache_size: int = 20000) -> None:
        import torch  # torch loads with the model, not with prunestack.models (cheap import)

        self.model = model
        self.tokenizer = tokenizer
        self.folder = Path(folder)
        self.device = device
        self.dim = int(model.config.hidden_size)
        self._torch = torch
        self._cache: OrderedDict[tuple[int, str], np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _pooled(self, batch: list[str], max_length: int) -> Any:
        """One forward pass: mean-pooled, L2-normalised float32 vectors [B, H] (a torch tensor)."""
        checkpoint("sentence embedding")  # a cancelled API request stops before each batch
        torch = self._torch
        enc = self.tokenizer([tokenizable(t) for t in batch], padding=True, truncation=True,
                             max_length=max_length, return_tensors="pt").to(self.device)
        with torch.inference_mode():
            hidden = self.model(**enc).last_hidden_state  # [B, S, H]
        return torch.nn.functional.normalize(mean_pool(hidden, enc["attention_mask"]).float(),
                                             p=2, dim=1)

    def encode(self, texts: Sequence[str], max_length: int = 256,
               batch_size: int = 32) -> np.ndarray:
        """Passages -> [n, dim]: every text embedded (an empty one as " "), no cache."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # longest first, so each batch pads to similar lengths (rows are put back in order)
        order = sorted(range(len(texts)), key=lambda j: -len(texts[j]))
        for i in range(0, len(texts), batch_size):
            rows = order[i:i + batch_size]
            batch = [texts[j] if texts[j].strip() else " " for j in rows]
            out[rows] = self._pooled(batch, max_length).cpu().numpy()
        return out

    def encode_cached(self, texts: Sequence[str], max_length: int = 128,
                      batch_size: int = 64) -> np.ndarray:
        """Short recurring texts -> [n, dim] (zeros for empty texts), through the vector cache."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo: list[int] = []
        with self._lock:
            for i, t in enumerate(texts):
                key = (max_length, t)
                if key in self._cache:
                    out[i] = self._cache[key]
                    self._cache.move_to_end(key)
                elif t.strip():
                    todo.append(i)
        uniq = list(dict.fromkeys(texts[i] for i in todo))
        vecs: dict[str, np.ndarray] = {}
        for s in range(0, len(uniq), batch_size):
            chunk = uniq[s:s + batch_size]
            for t, v in zip(chunk, self._pooled(chunk, max_length).cpu().numpy(), strict=True):
                vecs[t] = v
        with self._lock:
            for t, v in vecs.items():
                self._cache[(max_length, t)] = v
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        for i in todo:
            out[i] = vecs[texts[i]]
        return out

    def similarity(self, queries: list[str], texts: list[str],
                   max_length: int = 128) -> np.ndarray:
        """[Q, N] cosine similarities of short texts (cached vectors)."""
        if not queries or not texts:
            return np.zeros((len(queries), len(texts)), dtype=np.float32)
        return self.encode_cached(queries, max_length) @ self.encode_cached(texts, max_length).T
