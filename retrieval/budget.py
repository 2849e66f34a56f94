"""Token counting for budgets: whitespace words by default, or any local HF tokenizer.

A budget is always checked on the exact string that is returned (see :mod:`retrieval.prune`); the
counter here only has to be deterministic. It does not truncate text and does not add special tokens
(a budget counts the context, not the chat template around it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from prunestack.models import registry


class TokenCounter(Protocol):
    name: str

    def count(self, text: str) -> int: ...

    def count_many(self, texts: Sequence[str]) -> list[int]: ...


class WordCounter:
    """Whitespace-separated words (``len(text.split())``)."""

    name = "words"

    def count(self, text: str) -> int:
        return len(text.split())

    def count_many(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]


class HFTokenCounter:
    """Tokens of a Hugging Face tokenizer, without special tokens."""

    def __init__(self, tokenizer: Any, name: str | None = None) -> None:
        self.tokenizer = tokenizer
        self.name = name or type(tokenizer).__name__
        self._backend = _unpadded(getattr(tokenizer, "backend_tokenizer", None))  # fast path

    def count(self, text: str) -> int:
        return self.count_many([text])[0]

    def count_many(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        if self._backend is not None:
            encs = self._backend.encode_batch(list(texts), add_special_tokens=False)
            return [len(e.ids) for e in encs]
        return [len(self.tokenizer.encode(t, add_special_tokens=False)) for t in texts]


def _unpadded(backend: Any) -> Any:
    """A copy of a Rust tokenizer without padding and truncation. Tokenizer files of sentence
    encoders (all-MiniLM-L6-v2's tokenizer.json) enable both: ``encode_batch`` then padded every
    block to the longest one (every block of a page "cost" 128 tokens) and truncated long texts
    (a 300-token block counted 128, so the budget could be exceeded)."""
    if backend is None:
        return None
    # always a private copy: transformers switches padding/truncation on the SHARED backend per
    # call (a later ``tok(texts, padding=True)`` elsewhere would change our counts)
    from tokenizers import Tokenizer

    clone = Tokenizer.from_str(backend.to_str())
    clone.no_padding()
    clone.no_truncation()
    return clone


def make_counter(tokenizer: str | Path | Any | None = None) -> TokenCounter:
    """``None``/``"words"`` -> :class:`WordCounter`; a folder -> its tokenizer; a tokenizer object
    -> :class:`HFTokenCounter` around it."""
    if tokenizer is None or (isinstance(tokenizer, str) and tokenizer == "words"):
        return WordCounter()
    if isinstance(tokenizer, str | Path):
        return HFTokenCounter(registry().tokenizer(tokenizer), name=str(tokenizer))
    if hasattr(tokenizer, "count") and hasattr(tokenizer, "count_many"):
        return tokenizer  # already a counter
    return HFTokenCounter(tokenizer)
