"""A JSON-schema logits processor for ``transformers``' ``model.generate``.

What it does: keeps one :class:`Matcher` per batch row and, on *every* call, re-syncs it from
``input_ids`` (longest common prefix with what it consumed → roll back the difference → advance
the new tokens). It therefore works when the sequence jumps backwards or forwards between calls:
assisted (speculative) generation, where drafts are verified and rejected, and beam search, where
rows are reordered. Masks are packed bitmasks filled by the backend and applied to the whole batch
with tensor ops ([B, W] int32 → [B, V] bool → ``masked_fill``), never a Python loop over the
vocabulary. A model whose embedding is padded past the tokenizer's vocabulary (V_model > V_tok)
gets the extra ids masked; a smaller model head ignores ids it does not have.

What it does not do: append forced tokens (``generate`` calls the model for every token; our own
loop in ``pipeline.decoding.generate`` does that), or guarantee closure under ``max_new_tokens``
(use ``generate_json``, which steers towards closing brackets near the budget).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from pipeline.decoding.backends import compile_schema
from pipeline.decoding.types import Matcher
from pipeline.decoding.vocab import new_bitmask, pack_bitmask, unpack_bitmask


def allows(matcher: Matcher, token_id: int) -> bool:
    """Whether ``matcher`` accepts ``token_id`` next (cheap path when the backend has one)."""
    fn = getattr(matcher, "allows", None)
    if fn is not None:
        return bool(fn(token_id))
    m = matcher.mask()
    return token_id < m.shape[0] and bool(m[token_id])


class _Row:
    """One sequence's matcher and the generated tokens it has seen. Once the grammar refuses a
    token (EOS consumed, a finished beam padded) the row is *dead* from that position on."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        self.seen: list[int] = []
        self.dead_from: int | None = None  # index in `seen` of the first refused token

    def sync(self, generated: list[int]) -> None:
        seen, n = self.seen, len(self.seen)
        if len(generated) >= n and generated[:n] == seen:
            k = n
        else:
            k = 0
            for a, b in zip(seen, generated, strict=False):
                if a != b:
                    break
                k += 1
        if k < n:
            live = n if self.dead_from is None else self.dead_from
            if k < live:
                self.matcher.rollback(live - k)
                self.dead_from = None
            del seen[k:]
        for t in generated[k:]:
            if self.dead_from is None:
                if allows(self.matcher, t):
                    self.matcher.advance(t)
                else:
                    self.dead_from = len(seen)
            seen.append(t)


class JsonSchemaLogitsProcessor:
    """``LogitsProcessor``: restrict next-token scores to what the schema allows.

    ``prompt_len`` is the length of ``input_ids`` at the first call unless given. Rows that have
    finished (EOS) may only emit EOS (or pad)."""

    def __init__(self, schema: dict | str | Path, tokenizer: Any, backend: str = "auto",
                 prompt_len: int | None = None, compile_timeout_s: float = 30.0) -> None:
        self.schema = schema
        self.tokenizer = tokenizer
        self.backend = backend
        self.compile_timeout_s = compile_timeout_s
        self._first = compile_schema(schema, tokenizer, backend, compile_timeout_s)
        self.vocab_size = self._first.vocab_size
        self.eos_token_id = int(tokenizer.eos_token_id)
        pad = getattr(tokenizer, "pad_token_id", None)
        self.pad_token_id = int(pad) if pad is not None else self.eos_token_id
        self.prompt_len = prompt_len
        self.rows: list[_Row] = []
        self._bitmask = new_bitmask(1, self.vocab_size)

    def _ensure_rows(self, batch: int) -> None:
        while len(self.rows) < batch:
            m = self._first if not self.rows else compile_schema(
                self.schema, self.tokenizer, self.backend, self.compile_timeout_s)
            self.rows.append(_Row(m))
        if self._bitmask.shape[0] != batch:
            self._bitmask = new_bitmask(batch, self.vocab_size)  # [B, W]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        # input_ids: [B, T]   scores: [B, V_model]
        if self.prompt_len is None:
            self.prompt_len = input_ids.shape[1]
        batch = scores.shape[0]
        self._ensure_rows(batch)
        generated = input_ids[:, self.prompt_len:].tolist()  # B lists of ints
        for b in range(batch):
            row = self.rows[b]
            row.sync(generated[b])
            bm = self._bitmask[b]
            if row.dead_from is not None:
                bm.zero_()
                for t in {self.eos_token_id, self.pad_token_id}:
                    bm[t // 32] |= 1 << (t % 32)
            elif hasattr(row.matcher, "fill_bitmask"):
                row.matcher.fill_bitmask(bm)
            else:  # any other Matcher implementation
                bm.copy_(pack_bitmask(row.matcher.mask()))
        allowed = unpack_bitmask(self._bitmask, self.vocab_size).to(scores.device)  # [B, V_tok]
        return apply_mask(scores, allowed)


def apply_mask(scores: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """scores [B, V_model], allowed bool [B, V_tok] → new scores with −inf where not allowed.
    Ids past the tokenizer's vocabulary (padded embeddings) are never allowed. On CPU the work
    is done by numpy (single-threaded), see ``vocab.unpack_bitmask``."""
    v_model, v_tok = scores.shape[-1], allowed.shape[-1]
    n = min(v_model, v_tok)
    if scores.device.type == "cpu" and allowed.device.type == "cpu" and scores.dtype in (
            torch.float32, torch.float64):
        import numpy as np

        arr = scores.detach().numpy().copy()  # [B, V_model]
        np.putmask(arr[..., :n], ~allowed[..., :n].numpy(), -np.inf)
        arr[..., n:] = -np.inf
        return torch.from_numpy(arr)
    if v_model > v_tok:
        pad = allowed.new_zeros((*allowed.shape[:-1], v_model - v_tok))
        allowed = torch.cat([allowed, pad], dim=-1)  # [B, V_model]
    elif v_model < v_tok:
        allowed = allowed[..., :v_model]
    return scores.masked_fill(~allowed, float("-inf"))
