"""What the constraint backends need to know about a Hugging Face tokenizer, computed once.

What it does: a stable hash of a tokenizer (for cache keys), its EOS id (a tokenizer without one is
an error), the bytes each token id stands for (SentencePiece byte-fallback and GPT-2 byte-level
tokenizers), the llguidance tokenizer conversion (~1 s, cached in memory per tokenizer), packed
bitmask helpers, and a per-token "closes the JSON" priority used to finish output under a token
budget. Everything is cached per tokenizer object.

What it does not do: load tokenizers from disk (``pipeline.models.load_tokenizer``) or compile
schemas (``pipeline.decoding.backends``).
"""

from __future__ import annotations

import hashlib
import json
import weakref
from functools import cache
from typing import Any

import torch

from prunestack.errors import ModelError

_CACHE: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _slot(tokenizer: Any) -> dict[str, Any]:
    try:
        return _CACHE.setdefault(tokenizer, {})
    except TypeError:  # not weak-referenceable: no caching
        return {}


def _backend_json(tokenizer: Any) -> str:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ModelError(f"{type(tokenizer).__name__} is not a fast tokenizer",
                         "constrained decoding needs a tokenizers-backed (fast) tokenizer")
    return backend.to_str()


def eos_id(tokenizer: Any) -> int:
    eos = getattr(tokenizer, "eos_token_id", None)
    if eos is None:
        raise ModelError("the tokenizer has no EOS token",
                         "set tokenizer.eos_token (e.g. '</s>') so generation can stop")
    return int(eos)


def vocab_size(tokenizer: Any) -> int:
    """Number of token ids the tokenizer can emit (base vocabulary + added tokens)."""
    return len(tokenizer)


def tokenizer_hash(tokenizer: Any) -> str:
    slot = _slot(tokenizer)
    if "hash" not in slot:
        h = hashlib.sha256(_backend_json(tokenizer).encode())
        h.update(f"|eos={eos_id(tokenizer)}|n={vocab_size(tokenizer)}".encode())
        slot["hash"] = h.hexdigest()[:24]
    return slot["hash"]


@cache
def _gpt2_byte_decoder() -> dict[str, int]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


def token_bytes(tokenizer: Any) -> list[bytes | None]:
    """Bytes of each token id; ``None`` for special tokens (they never appear inside JSON)."""
    slot = _slot(tokenizer)
    if "bytes" in slot:
        return slot["bytes"]
    decoder = json.dumps(json.loads(_backend_json(tokenizer)).get("decoder"))
    byte_level = "ByteLevel" in decoder
    special = set(getattr(tokenizer, "all_special_ids", []))
    added = {int(i) for i in getattr(tokenizer, "added_tokens_decoder", {})}
    n = vocab_size(tokenizer)
    pieces = tokenizer.convert_ids_to_tokens(list(range(n)))
    table = _gpt2_byte_decoder()
    out: list[bytes | None] = []
    for i, piece in enumerate(pieces):
        if piece is None or i in special or (i in added and not byte_level):
            out.append(None)
        elif byte_level:
            try:
                out.append(bytes(table[c] for c in piece))
            except KeyError:
                out.append(piece.encode())
        elif len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
            out.append(bytes([int(piece[3:5], 16)]))
        else:
            out.append(piece.replace("\u2581", " ").encode())
    slot["bytes"] = out
    return out


def llg_tokenizer(tokenizer: Any) -> Any:
    """The llguidance view of the tokenizer (about 1 s to build; cached per tokenizer object)."""
    slot = _slot(tokenizer)
    if "llg" not in slot:
        import llguidance

        slot["llg"] = llguidance.LLTokenizer(_backend_json(tokenizer), eos_token=eos_id(tokenizer))
    return slot["llg"]


def closing_priority(tokenizer: Any) -> torch.Tensor:
    """Float [V]: 3 for EOS, 2 for tokens made only of ``}`` / ``]`` (and spaces), 1 for tokens
    made only of ``"}],`` characters, else 0. Added to masked logits near the token budget, so
    the decoder prefers closing the value over opening new content."""
    slot = _slot(tokenizer)
    if "closing" not in slot:
        pr = torch.zeros(vocab_size(tokenizer))
        for i, b in enumerate(token_bytes(tokenizer)):
            if not b:
                continue
            s = b.strip()
            if s and all(c in b"}]" for c in s):
                pr[i] = 2.0
            elif s and all(c in b'"}],' for c in s):
                pr[i] = 1.0
        pr[eos_id(tokenizer)] = 3.0
        slot["closing"] = pr
    return slot["closing"]


_SHIFTS = torch.arange(32, dtype=torch.int32)


def unpack_bitmask(bitmask: torch.Tensor, n: int) -> torch.Tensor:
    """int32 [B, W] packed (bit j of word w = token 32·w+j) → bool [B, n]."""
    bits = (bitmask.unsqueeze(-1) >> _SHIFTS.to(bitmask.device)) & 1  # [B, W, 32]
    return bits.reshape(bitmask.shape[0], -1)[:, :n].bool()  # [B, n]


def new_bitmask(batch: int, n: int) -> torch.Tensor:
    return torch.zeros(batch, (n + 31) // 32, dtype=torch.int32)  # [B, W]
