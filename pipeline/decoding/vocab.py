"""What the constraint backends need to know about a Hugging Face tokenizer, computed once.

What it does: a stable hash of a tokenizer (for cache keys), its EOS id (a tokenizer without one is
an error), the bytes each token id stands for (SentencePiece byte-fallback and GPT-2 byte-level
tokenizers), the llguidance tokenizer conversion (~1 s, cached in memory per tokenizer), the
xgrammar ``TokenizerInfo``, packed bitmask helpers, and a per-token "closes the JSON" priority
used to finish output under a token budget. Everything is cached per tokenizer object.

What it does not do: load tokenizers from disk (``prunestack.models.load_tokenizer``) or compile
schemas (``pipeline.decoding.backends``).
"""

from __future__ import annotations

import hashlib
import json
import weakref
from functools import cache
from typing import Any

import numpy as np
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
def gpt2_byte_decoder() -> dict[str, int]:
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
    added = {int(i) for i, t in getattr(tokenizer, "added_tokens_decoder", {}).items()
             if getattr(t, "special", True)}
    n = vocab_size(tokenizer)
    pieces = tokenizer.convert_ids_to_tokens(list(range(n)))
    table = gpt2_byte_decoder()
    out: list[bytes | None] = []
    for i, piece in enumerate(pieces):
        if piece is None or i in special or i in added:
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


def xgr_tokenizer_info(tokenizer: Any) -> Any:
    """The xgrammar view of the tokenizer: its raw token bytes (special tokens empty, so never
    allowed) with EOS as the one stop token; ~10 ms at 32k, cached per tokenizer object."""
    slot = _slot(tokenizer)
    if "xgr" not in slot:
        import xgrammar

        table = token_bytes(tokenizer)
        slot["xgr"] = xgrammar.TokenizerInfo([b or b"" for b in table], xgrammar.VocabType.RAW,
                                             vocab_size=len(table),
                                             stop_token_ids=[eos_id(tokenizer)])
    return slot["xgr"]


# Single characters in the order that closes a JSON value fastest, outside / inside a string.
_OUTSIDE = '}],":0123456789-nultrefas[{.'
_INSIDE = '"@:/.-' + "abcdefghijklmnopqrstuvwxyz" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + "0123456789 _"


def closing_priority(tokenizer: Any) -> torch.Tensor:
    """Float [2, V] closing priorities, row 0 outside a JSON string, row 1 inside one.

    Highest: EOS (outside); then tokens that only close (``}``/``]`` runs outside, ``"`` + a
    ``}``/``]`` run inside; longer first); then single characters in an order that finishes any
    value quickly (outside: close, separate, then the cheapest scalars; inside: close the string,
    then the characters that complete e-mails, URIs, dates and common patterns). Everything else
    is 0. Added (scaled) to masked logits near the token budget, the decoder then takes the
    allowed token of highest priority, so the value closes within ``schema.closing_budget``
    bytes of the switch."""
    slot = _slot(tokenizer)
    if "closing" not in slot:
        pr = torch.zeros(2, vocab_size(tokenizer))
        top = len(_INSIDE) + 50
        for i, b in enumerate(token_bytes(tokenizer)):
            if not b:
                continue
            if len(b) > 1 and all(c in b"}]" for c in b):
                pr[0, i] = top + len(b)
            if len(b) > 1 and b[:1] == b'"' and all(c in b"}]" for c in b[1:]):
                pr[1, i] = top + len(b)
            if len(b) == 1:
                ch = chr(b[0])
                if ch in _OUTSIDE:
                    pr[0, i] = max(float(pr[0, i]), top - 1 - _OUTSIDE.index(ch))
                if ch in _INSIDE:
                    pr[1, i] = max(float(pr[1, i]), top - 1 - _INSIDE.index(ch))
        pr[0, eos_id(tokenizer)] = 2 * top
        slot["closing"] = pr
    return slot["closing"]


class StringState:
    """Closing-mode state of the generated JSON text: inside a string literal or not (tracked
    byte by byte), and the last few tokens (a token chosen 3 times in a row loses its closing
    priority, so a character that a format admits forever, like '/' in a URI's user part,
    cannot loop)."""

    REPEAT = 3

    def __init__(self) -> None:
        self.inside = False
        self.escape = False
        self.recent: tuple[int, ...] = ()

    def feed(self, data: bytes | None, token: int | None = None) -> None:
        for c in data or b"":
            if self.escape:
                self.escape = False
            elif self.inside and c == 0x5C:  # backslash
                self.escape = True
            elif c == 0x22:  # quote
                self.inside = not self.inside
        if token is not None:
            self.recent = (*self.recent, token)[-self.REPEAT:]

    def row(self, closing: torch.Tensor) -> torch.Tensor:
        """The closing priorities [V] to use now, from ``closing_priority`` [2, V]."""
        pr = closing[int(self.inside)]
        if len(self.recent) == self.REPEAT and len(set(self.recent)) == 1:
            pr = pr.clone()
            pr[self.recent[0]] = 0.0
        return pr


_SHIFTS = torch.arange(32, dtype=torch.int32)


def unpack_bitmask(bitmask: torch.Tensor, n: int) -> torch.Tensor:
    """int32 [B, W] packed (bit j of word w = token 32·w+j) → bool [B, n].

    On CPU this is numpy's ``unpackbits`` (single-threaded, ~20 µs at 131k): torch's
    element-wise ops over a 131k vocabulary go through the intra-op thread pool, which on a
    loaded machine costs milliseconds per call."""
    if bitmask.device.type == "cpu":
        raw = np.ascontiguousarray(bitmask.numpy()).view(np.uint8)  # [B, 4W] little-endian
        unpacked = np.unpackbits(raw, axis=-1, bitorder="little")[:, :n]  # [B, n] of 0/1
        return torch.from_numpy(np.ascontiguousarray(unpacked).view(np.bool_))
    bits = (bitmask.unsqueeze(-1) >> _SHIFTS.to(bitmask.device)) & 1  # [B, W, 32]
    return bits.reshape(bitmask.shape[0], -1)[:, :n].bool()  # [B, n]


def new_bitmask(batch: int, n: int) -> torch.Tensor:
    return torch.zeros(batch, (n + 31) // 32, dtype=torch.int32)  # [B, W]


def pack_bitmask(allowed: torch.Tensor) -> torch.Tensor:
    """bool [V] → int32 [W] packed like :func:`unpack_bitmask` expects."""
    n = allowed.shape[-1]
    w = (n + 31) // 32
    bits = torch.zeros(w * 32, dtype=torch.int64)
    bits[:n] = allowed.to(torch.int64)
    words = (bits.view(w, 32) << _SHIFTS.to(torch.int64)).sum(-1)  # [W] in [0, 2^32)
    return torch.where(words >= 2**31, words - 2**32, words).to(torch.int32)
