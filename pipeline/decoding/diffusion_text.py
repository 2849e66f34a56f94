"""Token text for slot infill, and a leaf-value ``Matcher`` that works on any tokenizer.

Diffusion slot infill needs two things per value slot: a token mask that keeps the value valid
JSON, and a way to turn the committed tokens back into JSON text. Both must agree on what text a
token stands for, and that depends on the tokenizer family:

- **WordPiece** (BERT, MiniLM): ``##x`` continues the previous word; a word token after another
  word needs a space; BERT splits punctuation into its own tokens, which attach without spaces;
  a ``##`` token only follows a word or another ``##`` token (never starts a value).
  (So ``"new york"`` round-trips, ``"a, b"`` comes back as ``"a,b"``: WordPiece loses that space.)
- **SentencePiece / Metaspace** (Llama, Mistral, LLaDA): ``▁`` is a space; byte-fallback
  tokens ``<0xNN>`` are not used in values.
- **Byte-level BPE** (GPT-2, Qwen/Dream): ``Ġ``-style byte alphabet mapped back to UTF-8.

``TokenTexts`` gives each token's text in context; ``LeafMatcher`` implements the ``Matcher``
protocol (``pipeline.decoding.types``) for *leaf* JSON values only — ``string`` (min/maxLength,
no escapes: values never contain ``"``, ``\\`` or control characters), ``integer``, ``number``,
``boolean``, ``null``, ``enum``/``const`` — by running each token's text through a small
character automaton. It does not do objects, arrays, ``pattern`` or combinators: those slots go to
``pipeline.decoding.compile_schema`` (llguidance / outlines-core). Leading whitespace before a
value is allowed (SentencePiece values start with ``▁``) and stripped from the text.
"""

from __future__ import annotations

import json
import math
import re
import weakref
from typing import Any

import torch

from prunestack.errors import SchemaError
from prunestack.pipeline.decoding.vocab import gpt2_byte_decoder, pack_bitmask

# token kinds
SPECIAL, CONT, PUNCT, WORD = 0, 1, 2, 3
_NUMBER_RE = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")
_INTEGER_RE = re.compile(r"-?(0|[1-9]\d*)")
_NUMBER_CHARS = set("0123456789-+.eE")
_SKIP_RE = re.compile(r"\[unused\d+\]|<0x[0-9A-Fa-f]{2}>|<.*>")


def tokenizer_family(tokenizer: Any) -> str:
    """'wordpiece', 'metaspace', 'bytelevel' or 'plain', read from the backend decoder."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    desc = repr(backend.decoder) if backend is not None and backend.decoder is not None else ""
    if "WordPiece" in desc:
        return "wordpiece"
    if "ByteLevel" in desc:
        return "bytelevel"
    if "▁" in desc or "Metaspace" in desc:
        return "metaspace"
    vocab = tokenizer.get_vocab()
    if sum(1 for t in vocab if t.startswith("##")) > len(vocab) // 20:
        return "wordpiece"
    if sum(1 for t in vocab if t.startswith("▁")) > len(vocab) // 20:
        return "metaspace"
    return "plain"


class TokenTexts:
    """Per-token text and kind for one tokenizer, and the context rule that joins them."""

    def __init__(self, tokenizer: Any, vocab_size: int | None = None) -> None:
        self.family = tokenizer_family(tokenizer)
        vocab = tokenizer.get_vocab()
        n = max(vocab_size or 0, len(tokenizer), max(vocab.values()) + 1)
        self.vocab_size = n
        special = set(getattr(tokenizer, "all_special_ids", []) or [])
        self.text: list[str] = [""] * n
        self.kind: list[int] = [SPECIAL] * n
        bd = gpt2_byte_decoder() if self.family == "bytelevel" else None
        for tok, i in vocab.items():
            if i in special or i >= n or _SKIP_RE.fullmatch(tok):
                continue
            if self.family == "wordpiece":
                if tok.startswith("##") and len(tok) > 2:
                    self.text[i], self.kind[i] = tok[2:], CONT
                elif len(tok) == 1 and not tok.isalnum():
                    self.text[i], self.kind[i] = tok, PUNCT
                else:
                    self.text[i], self.kind[i] = tok, WORD
            elif self.family == "metaspace":
                self.text[i], self.kind[i] = tok.replace("▁", " "), WORD
            elif bd is not None:
                try:
                    self.text[i] = bytes(bd[c] for c in tok).decode("utf-8")
                    self.kind[i] = WORD
                except (KeyError, UnicodeDecodeError):
                    continue
            else:
                self.text[i], self.kind[i] = tok, WORD
            if not self.text[i] or any(ord(c) < 32 for c in self.text[i]):
                self.kind[i] = SPECIAL
        self.valid_ids = [i for i in range(n) if self.kind[i] != SPECIAL]
        # tokens made only of closing characters: what finish mode tries first
        self.closing_ids = [i for i in self.valid_ids
                            if self.text[i].strip() and set(self.text[i].strip()) <= set('"]}')]
        self.mask_cache: dict[Any, torch.Tensor] = {}  # shared by LeafMatchers over this vocab
        self.numeric_ids = [i for i in self.valid_ids
                            if set(self.text[i]) <= _NUMBER_CHARS | {" "}]
        # every character some token can write (an uncased vocabulary has no capitals)
        self.charset: frozenset[str] = frozenset(
            "".join(self.text[i] for i in self.valid_ids)) | {" "}

    def piece(self, token_id: int, prev_kind: int) -> str:
        """Text that ``token_id`` adds after a token of kind ``prev_kind`` (SPECIAL = start)."""
        k = self.kind[token_id]
        if self.family == "wordpiece" and k == WORD and prev_kind in (WORD, CONT):
            return " " + self.text[token_id]
        return self.text[token_id]

    def join(self, ids: list[int]) -> str:
        out, prev = [], SPECIAL
        for t in ids:
            if self.kind[t] == SPECIAL:
                continue
            out.append(self.piece(t, prev))
            prev = self.kind[t]
        return "".join(out)


_TEXTS_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def token_texts(tokenizer: Any) -> TokenTexts:
    """``TokenTexts(tokenizer)``, built once per tokenizer object."""
    try:
        cached = _TEXTS_CACHE.get(tokenizer)
    except TypeError:  # not weak-referenceable
        return TokenTexts(tokenizer)
    if cached is None:
        cached = _TEXTS_CACHE[tokenizer] = TokenTexts(tokenizer)
    return cached


def is_leaf_schema(schema: dict) -> bool:
    """True when ``LeafMatcher`` can constrain this schema."""
    if not isinstance(schema, dict):
        return False
    if "enum" in schema or "const" in schema:
        return True
    typ = schema.get("type")
    if typ in ("integer", "number", "boolean", "null"):
        return True
    return typ == "string" and "pattern" not in schema


# --- the character automaton -------------------------------------------------------------
# A state is a tuple (phase, text, count, prev_kind); phase in {"ws", "lit", "num", "str", "end"}.


class LeafMatcher:
    """``Matcher`` for one leaf JSON value over ``TokenTexts``; ``text`` is the value so far."""

    backend = "leaf"

    def __init__(self, schema: dict, texts: TokenTexts) -> None:
        if not is_leaf_schema(schema):
            raise SchemaError(f"not a leaf schema: {json.dumps(schema)[:120]}",
                              "objects, arrays, patterns and combinators need compile_schema")
        self.schema = schema
        self.texts = texts
        self.vocab_size = texts.vocab_size
        self.literals: list[str] | None = None
        if "const" in schema:
            self.literals = [json.dumps(schema["const"])]
        elif "enum" in schema:
            self.literals = [json.dumps(v) for v in schema["enum"]]
        elif schema.get("type") == "boolean":
            self.literals = ["true", "false"]
        elif schema.get("type") == "null":
            self.literals = ["null"]
        if self.literals is not None:
            spellable = [lit for lit in self.literals if set(lit) <= texts.charset]
            if not spellable:
                raise SchemaError(
                    f"no value of {self.literals} can be written with this tokenizer",
                    "its vocabulary lacks some of their characters (an uncased vocabulary "
                    "has no capitals)")
            self.literals = spellable
        self.kind = "lit" if self.literals is not None else schema["type"]
        self.min_len = int(schema.get("minLength", 0))
        self.max_len = schema.get("maxLength")
        self.lo, self.hi = _numeric_bounds(schema)
        self._stack: list[tuple[str, int]] = [("", SPECIAL)]  # (value text, prev token kind)
        self._mask_cache = texts.mask_cache
        self._schema_key = json.dumps(schema, sort_keys=True)

    # -- text-level checks
    def _viable(self, text: str) -> bool:
        """Is ``text`` (leading whitespace allowed) a prefix of some valid value?"""
        s = text.lstrip(" ")
        if not s:
            return True
        if self.kind == "lit":
            return any(lit.startswith(s) for lit in self.literals or [])
        if self.kind in ("integer", "number"):
            return _number_prefix(s, self.kind == "integer") and self._in_reach(s)
        # string: '"' then chars without '"' '\\' then optional closing '"'
        if s[0] != '"':
            return False
        body = s[1:]
        closed = body.endswith('"')
        inner = body[:-1] if closed else body
        if '"' in inner or "\\" in inner:
            return False
        if self.max_len is not None and len(inner) > int(self.max_len):
            return False
        return not (closed and len(inner) < self.min_len)

    def _complete(self, text: str) -> bool:
        s = text.strip(" ")
        if self.kind == "lit":
            return s in (self.literals or [])
        if self.kind in ("integer", "number"):
            pattern = _INTEGER_RE if self.kind == "integer" else _NUMBER_RE
            return pattern.fullmatch(s) is not None and self.lo <= float(s) <= self.hi
        return len(s) >= 2 and s.endswith('"') and self._viable(s)

    def _in_reach(self, s: str) -> bool:
        """Can the number prefix ``s`` still end inside [lo, hi]? Exact for integers; for
        numbers the integer part is checked against the widened range and no exponent is
        allowed once bounds exist (the value itself is checked on completion)."""
        if self.lo == -math.inf and self.hi == math.inf:
            return True
        head = re.match(r"-?\d*", s)
        int_part = head.group(0) if head else s
        if len(int_part) < len(s) and (self.kind == "integer" or re.search("[eE]", s)):
            return False
        integer = self.kind == "integer"
        lo = self.lo if math.isinf(self.lo) else (math.ceil if integer else math.floor)(self.lo)
        hi = self.hi if math.isinf(self.hi) else (math.floor if integer else math.ceil)(self.hi)
        return _int_prefix_in_range(int_part, lo, hi)

    # -- Matcher protocol
    @property
    def text(self) -> str:
        return self._stack[-1][0].strip(" ")

    def _key(self) -> Any:
        text, prev = self._stack[-1]
        s = text.lstrip(" ")
        if self.kind == "string" and s.startswith('"') and not s[1:].endswith('"') and len(s) > 0:
            count = len(s) - 1 if (self.max_len is not None or self.min_len) else -1
            return (self._schema_key, "str", count, prev)
        return (self._schema_key, "t", text, prev)

    def mask(self) -> torch.Tensor:
        key = self._key()
        cached = self._mask_cache.get(key)
        if cached is not None:
            return cached
        text, prev = self._stack[-1]
        out = torch.zeros(self.vocab_size, dtype=torch.bool)  # [V]
        if not (self.kind == "string" and self._complete(text)):  # a closed string takes nothing
            tt = self.texts
            numeric = self.kind in ("integer", "number")
            lit_chars = set("".join(self.literals or [])) | {" "}
            cont_ok = prev in (WORD, CONT)
            for i in tt.numeric_ids if numeric else tt.valid_ids:
                if self.kind == "lit" and not set(tt.text[i]) <= lit_chars:
                    continue
                if tt.kind[i] == CONT and not cont_ok:
                    continue
                if self._viable(text + tt.piece(i, prev)):
                    out[i] = True
        self._mask_cache[key] = out
        return out

    def fill_bitmask(self, row: torch.Tensor) -> None:
        row.copy_(pack_bitmask(self.mask()))

    def reset(self) -> None:
        del self._stack[1:]

    def advance(self, token_id: int) -> None:
        text, prev = self._stack[-1]
        new = text + self.texts.piece(token_id, prev)
        kind = self.texts.kind[token_id]
        bad_kind = kind == SPECIAL or (kind == CONT and prev not in (WORD, CONT))
        if bad_kind or not self._viable(new):
            raise SchemaError(f"token {token_id} ({self.texts.text[token_id]!r}) not allowed "
                              f"after {text!r}")
        self._stack.append((new, kind))

    def rollback(self, n: int) -> None:
        if n < 0 or n > len(self._stack) - 1:
            raise ValueError(f"cannot roll back {n} tokens ({len(self._stack) - 1} advanced)")
        if n:
            del self._stack[-n:]

    def is_accepting(self) -> bool:
        return self._complete(self._stack[-1][0])

    def forced_tokens(self) -> list[int]:
        """The single allowed token, when exactly one is allowed and the value is not done."""
        if self.is_accepting():
            return []
        m = self.mask()
        if int(m.sum()) == 1:
            return [int(m.nonzero()[0, 0])]
        return []


def _numeric_bounds(schema: dict) -> tuple[float, float]:
    """[lo, hi] from minimum/maximum and the exclusive forms (exclusive integer bounds are
    tightened by one; exclusive number bounds by the smallest float step)."""
    lo, hi = float(schema.get("minimum", -math.inf)), float(schema.get("maximum", math.inf))
    ex_lo, ex_hi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    step_int = schema.get("type") == "integer"
    if isinstance(ex_lo, int | float) and not isinstance(ex_lo, bool):
        lo = max(lo, math.floor(ex_lo) + 1 if step_int else math.nextafter(ex_lo, math.inf))
    if isinstance(ex_hi, int | float) and not isinstance(ex_hi, bool):
        hi = min(hi, math.ceil(ex_hi) - 1 if step_int else math.nextafter(ex_hi, -math.inf))
    return lo, hi


def _int_prefix_in_range(s: str, lo: float, hi: float) -> bool:
    """Can the JSON integer prefix ``s`` ('-', '12', '-3'...) be completed to an integer in
    [lo, hi]? Each count k of further digits gives one interval of reachable values."""
    neg = s.startswith("-")
    digits = s[1:] if neg else s
    if not digits:
        return lo <= min(hi, -1) if neg else lo <= hi
    v = int(digits)
    for k in [0] if digits == "0" else range(19):
        a, b = v * 10**k, v * 10**k + 10**k - 1
        if neg:
            a, b = -b, -a
        if a <= hi and b >= lo:
            return True
    return False


def _number_prefix(s: str, integer: bool) -> bool:
    """Is ``s`` a prefix of a JSON integer/number?"""
    i, n = 0, len(s)
    if i < n and s[i] == "-":
        i += 1
    if i == n:
        return True
    if s[i] == "0":
        i += 1
    elif s[i].isdigit():
        while i < n and s[i].isdigit():
            i += 1
    else:
        return False
    if i == n:
        return True
    if integer:
        return False
    if s[i] == ".":
        i += 1
        if i == n:
            return True
        if not s[i].isdigit():
            return False
        while i < n and s[i].isdigit():
            i += 1
        if i == n:
            return True
    if s[i] in "eE":
        i += 1
        if i < n and s[i] in "+-":
            i += 1
        while i < n and s[i].isdigit():
            i += 1
    return i == n
