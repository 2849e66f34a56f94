"""Walk a text through a matcher token by token: does the constraint accept exactly this text?

What it does: ``exact_tokens`` encodes a text so that the bytes of the tokens are exactly the
text's UTF-8 bytes (the tokenizer's own encoding when it round-trips; otherwise a greedy
longest-match over the token byte table, falling back to single-byte tokens), and ``walk`` feeds
those tokens to anything with the :class:`~pipeline.decoding.types.Matcher` shape — per token:
fill the packed mask, check the token's bit, advance — then checks that EOS is allowed at the
end. This is MaskBench's measure (``benchmarks/bench_maskbench.py``) and the tests' way of
proving that a keyword is enforced: an invalid instance must be refused at some token.

What it does not do: compile schemas (``pipeline.decoding.backends``), judge against
``jsonschema`` (the caller knows whether the instance is valid) or touch logits.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from prunestack.errors import ModelError
from prunestack.pipeline.decoding.vocab import _slot, eos_id, token_bytes


def compact(value: Any) -> str:
    """The compact serialisation MaskBench walks: no spaces, raw UTF-8 (no ``\\u`` escapes)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _byte_table(tokenizer: Any) -> tuple[dict[bytes, int], int]:
    slot = _slot(tokenizer)
    if "walk_table" not in slot:
        table: dict[bytes, int] = {}
        for i, b in enumerate(token_bytes(tokenizer)):
            if b and (b not in table or len(b) == 1):
                table.setdefault(b, i)
        slot["walk_table"] = (table, max(len(b) for b in table))
    return slot["walk_table"]


def exact_tokens(tokenizer: Any, text: str) -> tuple[list[int], bool]:
    """Token ids whose bytes concatenate to ``text``'s UTF-8, and whether the tokenizer's own
    (canonical) encoding gave them — its ``encode``, or for SentencePiece its model without the
    "▁" it puts before a text — False: greedy longest match over the byte table (llguidance,
    which only allows the canonical tokens of a stretch the grammar forces, may refuse those).
    ``ModelError`` when some byte has no token at all."""
    want = text.encode()
    tb = token_bytes(tokenizer)

    def exact(ids: list[int]) -> bool:
        return b"".join(tb[i] or b"\0\0" for i in ids) == want

    ids = tokenizer.encode(text, add_special_tokens=False)
    if exact(ids):
        return list(ids), True
    # SentencePiece adds a "▁" before the text: run its model alone (no normaliser/prefix)
    model = getattr(getattr(tokenizer, "backend_tokenizer", None), "model", None)
    if model is not None:
        try:
            ids = [t.id for t in model.tokenize(text.replace(" ", "\u2581"))]
        except Exception:  # a model without byte fallback meets an unknown character
            ids = []
        if ids and exact(ids):
            return ids, True
    table, longest = _byte_table(tokenizer)
    out: list[int] = []
    pos = 0
    while pos < len(want):
        for n in range(min(longest, len(want) - pos), 0, -1):
            tid = table.get(want[pos:pos + n])
            if tid is not None:
                out.append(tid)
                pos += n
                break
        else:
            raise ModelError(f"byte {want[pos]:#04x} at {pos} has no token in this vocabulary",
                             "use a tokenizer with byte-fallback tokens")
    return out, False


@dataclass
class Walk:
    """The outcome of one walk: ``accepted``; where it stopped (``rejected_at``: index of the
    refused token, ``len(tokens)`` when only EOS was refused, None when accepted); the refused
    token's text; and the time of every mask computed (seconds)."""

    accepted: bool
    rejected_at: int | None = None
    rejected_piece: str = ""
    mask_seconds: list[float] = field(default_factory=list)


def _allowed(row: torch.Tensor, token: int) -> bool:
    return bool((int(row[token >> 5]) >> (token & 31)) & 1)


def walk(matcher: Any, tokens: list[int], eos: int | None = None) -> Walk:
    """Feed ``tokens`` to ``matcher`` (``fill_bitmask`` + ``advance``) checking each against the
    mask first; accepted when every token is allowed and EOS is allowed at the end."""
    eos = matcher.eos_token_id if eos is None else eos
    row = torch.zeros((matcher.vocab_size + 31) // 32, dtype=torch.int32)  # [W]
    times: list[float] = []
    clock = time.perf_counter
    for i, tok in enumerate([*tokens, eos]):
        t0 = clock()
        matcher.fill_bitmask(row)
        times.append(clock() - t0)
        if not _allowed(row, tok):
            return Walk(False, i, "<eos>" if i == len(tokens) else str(tok), times)
        if i == len(tokens):
            break
        try:
            matcher.advance(tok)
        except Exception:  # the mask allowed it but the engine refused it: still a reject
            return Walk(False, i, str(tok), times)
    return Walk(True, None, "", times)


def walk_text(matcher: Any, tokenizer: Any, text: str) -> Walk:
    """``walk`` over :func:`exact_tokens` of ``text``, with the refused token shown as text."""
    ids, _ = exact_tokens(tokenizer, text)
    out = walk(matcher, ids, eos_id(tokenizer))
    if out.rejected_at is not None and out.rejected_at < len(ids):
        b = token_bytes(tokenizer)[ids[out.rejected_at]] or b""
        out.rejected_piece = b.decode(errors="replace")
    return out
