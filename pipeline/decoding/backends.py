"""Compile a JSON Schema into a :class:`~pipeline.decoding.types.Matcher`, with two backends.

What it does: ``compile_schema(schema, tokenizer, backend="auto")`` prepares the schema
(``pipeline.schema.prepare_schema``), refuses up front any keyword the chosen backend cannot enforce
(``SchemaError`` naming it), compiles under a timeout, and returns a fresh matcher. Backends:

* ``llguidance`` — JSON Schema → llguidance grammar (Earley parser + lexer, ~50–100 µs per mask,
  widest keyword coverage, forced tokens via ``compute_ff_tokens``).
* ``outlines`` — outlines-core: schema → regex → token-level DFA ``Index`` over a
  ``Vocabulary`` built offline from the tokenizer's bytes; ``Guide`` walks it.
* ``auto`` — llguidance, then outlines if llguidance is missing, refuses or times out.

Compiled artefacts (the llguidance grammar, the outlines ``Index``) are cached in memory and on
disk under ``$PRUNESTACK_CACHE`` (default ``~/.cache/prunestack/decoding``), keyed by backend +
schema hash + tokenizer hash; matchers themselves hold per-sequence state and are never shared.

What it does not do: touch logits (``pipeline.decoding.processor``) or run a model.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import json
import os
import pickle
from pathlib import Path
from typing import Any

import torch

from prunestack.errors import ConfigError, DeadlineError, PrunestackError, SchemaError
from prunestack.pipeline.decoding.types import Matcher
from prunestack.pipeline.decoding.vocab import (
    eos_id,
    llg_tokenizer,
    new_bitmask,
    token_bytes,
    tokenizer_hash,
    unpack_bitmask,
    vocab_size,
)
from prunestack.pipeline.schema import (
    SchemaSource,
    formats_as_patterns,
    prepare_schema,
    resolve_refs,
    schema_hash,
    unsupported_keywords,
)

BACKENDS = ("auto", "llguidance", "outlines")
#: part of every cache key: bump when the schema → grammar/index translation changes, so the
#: on-disk cache never serves an artefact compiled by older rules
ARTEFACT_VERSION = "v2"
_MEMORY: dict[str, Any] = {}


class TokenRejectedError(PrunestackError):
    """A token was fed to a matcher whose grammar does not allow it."""


def cache_dir() -> Path:
    return Path(os.environ.get("PRUNESTACK_CACHE", Path.home() / ".cache" / "prunestack")) / \
        "decoding"


class LLGuidanceMatcher:
    """Matcher over an ``llguidance.LLMatcher``; rejects a bad token without poisoning its state."""

    backend = "llguidance"

    def __init__(self, llt: Any, grammar: str) -> None:
        import llguidance

        self._m = llguidance.LLMatcher(llt, grammar, log_level=0)
        if self._m.is_error():
            raise SchemaError(f"llguidance refused the grammar: {self._m.get_error()}")
        self.vocab_size = int(llt.vocab_size)
        self.eos_token_id = int(llt.eos_token)
        self._bm = new_bitmask(1, self.vocab_size)  # [1, W]

    def fill_bitmask(self, row: torch.Tensor) -> None:
        """Write the packed mask into a contiguous int32 CPU row [W]."""
        self._m.unsafe_compute_mask_ptr(row.data_ptr(), row.numel() * 4)

    def mask(self) -> torch.Tensor:
        self.fill_bitmask(self._bm[0])
        return unpack_bitmask(self._bm, self.vocab_size)[0]  # [V]

    def allows(self, token_id: int) -> bool:
        return self._m.validate_tokens([int(token_id)]) == 1

    def advance(self, token_id: int) -> None:
        if not self.allows(token_id) or not self._m.consume_token(int(token_id)):
            raise TokenRejectedError(f"token {token_id} is not allowed by the grammar here")

    def rollback(self, n: int) -> None:
        if n and not self._m.rollback(int(n)):
            raise TokenRejectedError(f"cannot roll back {n} tokens: {self._m.get_error()}")

    def is_accepting(self) -> bool:
        return bool(self._m.is_accepting())

    def forced_tokens(self) -> list[int]:
        return list(self._m.compute_ff_tokens())


class OutlinesMatcher:
    """Matcher over an outlines-core ``Guide`` (token-level DFA)."""

    backend = "outlines"

    def __init__(self, index: Any, n_vocab: int, eos: int, max_rollback: int = 4096) -> None:
        from outlines_core import Guide

        self._g = Guide(index, max_rollback=max_rollback)
        self.vocab_size = n_vocab
        self.eos_token_id = eos
        self._bm = new_bitmask(1, n_vocab)
        self._done = False  # EOS consumed

    def fill_bitmask(self, row: torch.Tensor) -> None:
        if self._done:
            row.zero_()
            row[self.eos_token_id // 32] = 1 << (self.eos_token_id % 32)
            return
        self._g.write_mask_into(row.data_ptr(), row.numel(), 4)

    def mask(self) -> torch.Tensor:
        self.fill_bitmask(self._bm[0])
        return unpack_bitmask(self._bm, self.vocab_size)[0]

    def allows(self, token_id: int) -> bool:
        if self._done:
            return token_id == self.eos_token_id
        return bool(self._g.accepts_tokens([int(token_id)]))

    def advance(self, token_id: int) -> None:
        if not self.allows(token_id):
            raise TokenRejectedError(f"token {token_id} is not allowed by the grammar here")
        if token_id == self.eos_token_id:
            self._done = True
        self._g.advance(int(token_id), return_tokens=False)

    def rollback(self, n: int) -> None:
        if n and self._done:
            self._done = False
        if n:
            self._g.rollback_state(int(n))

    def is_accepting(self) -> bool:
        return self._done or bool(self._g.is_finished())

    def forced_tokens(self) -> list[int]:
        out: list[int] = []
        while len(out) < 64:
            allowed = self._g.get_tokens()
            if len(allowed) != 1 or allowed[0] == self.eos_token_id:
                break
            out.append(int(allowed[0]))
            self._g.advance(int(allowed[0]), return_tokens=False)
        if out:
            self._g.rollback_state(len(out))
        return out


# ---------------------------------------------------------------- compilation


def _disk_get(key: str) -> Any:
    p = cache_dir() / f"{key}.pkl"
    if p.is_file():
        try:
            return pickle.loads(p.read_bytes())
        except Exception:
            p.unlink(missing_ok=True)
    return None


def _disk_put(key: str, value: Any) -> None:
    try:
        d = cache_dir()
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / f"{key}.{os.getpid()}.tmp"
        tmp.write_bytes(pickle.dumps(value))
        tmp.replace(d / f"{key}.pkl")
    except OSError:
        pass  # a read-only home is not an error; the memory cache still works


def _compile_llguidance(schema: dict, tokenizer: Any) -> str:
    import llguidance

    # llguidance's own "date"/"date-time" admit year 0000 (and Feb 31), which Python's
    # date.fromisoformat, jsonschema's format checker and pydantic reject: use our patterns
    grammar = llguidance.LLMatcher.grammar_from_json_schema(
        formats_as_patterns(schema), defaults={"whitespace_flexible": False})
    is_err, msgs = llguidance.LLMatcher.validate_grammar_with_warnings(
        grammar, llg_tokenizer(tokenizer))
    if is_err:
        msg = msgs[0] if msgs else "unknown error"
        raise SchemaError(f"llguidance cannot compile the schema: {msg}")
    return grammar


def outlines_vocabulary(tokenizer: Any) -> Any:
    """outlines-core ``Vocabulary`` from the tokenizer's bytes (offline; no hub)."""
    from outlines_core import Vocabulary

    eos = eos_id(tokenizer)
    table: dict[bytes, list[int]] = {}
    for i, b in enumerate(token_bytes(tokenizer)):
        if b and i != eos:
            table.setdefault(b, []).append(i)
    return Vocabulary(eos, table)


def _compile_outlines(schema: dict, tokenizer: Any) -> Any:
    from outlines_core import Index
    from outlines_core.json_schema import build_regex_from_schema

    try:
        regex = build_regex_from_schema(json.dumps(formats_as_patterns(resolve_refs(schema))),
                                        "")
        return Index(regex, outlines_vocabulary(tokenizer))
    except Exception as exc:  # outlines-core raises ValueError / its own types
        raise SchemaError(f"outlines-core cannot compile the schema: {exc}") from exc


def _artefact(backend: str, schema: dict, tokenizer: Any, timeout_s: float) -> Any:
    key = f"{backend}-{ARTEFACT_VERSION}-{schema_hash(schema)}-{tokenizer_hash(tokenizer)}"
    if key in _MEMORY:
        return _MEMORY[key]
    art = _disk_get(key)
    if art is None:
        fn = _compile_llguidance if backend == "llguidance" else _compile_outlines
        if backend == "llguidance":
            llg_tokenizer(tokenizer)  # convert outside the timed window
        else:
            token_bytes(tokenizer)
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        try:
            art = pool.submit(fn, schema, tokenizer).result(timeout=timeout_s)
        except concurrent.futures.TimeoutError as exc:
            raise DeadlineError(f"{backend} did not compile the schema within {timeout_s:g} s",
                                "simplify the schema or raise compile_timeout_s") from exc
        finally:
            pool.shutdown(wait=False)
        _disk_put(key, art)
    _MEMORY[key] = art
    return art


def _matcher(backend: str, art: Any, tokenizer: Any) -> Matcher:
    if backend == "llguidance":
        return LLGuidanceMatcher(llg_tokenizer(tokenizer), art)
    return OutlinesMatcher(art, vocab_size(tokenizer), eos_id(tokenizer))


def _available(backend: str) -> bool:
    mod = "llguidance" if backend == "llguidance" else "outlines_core"
    return importlib.util.find_spec(mod) is not None


def compile_schema(schema: SchemaSource, tokenizer: Any, backend: str = "auto",
                   compile_timeout_s: float = 30.0, closed: bool = False) -> Matcher:
    """A fresh :class:`Matcher` for ``schema`` over ``tokenizer``'s vocabulary: faithful (it
    accepts exactly the schema's documents) unless ``closed=True``, a generation preference
    that admits no key the schema does not name (``pipeline.schema.close_objects``).

    Raises ``ConfigError`` for an unknown backend, ``SchemaError`` for an invalid schema or one
    using keywords no backend supports (the message names them), ``ModelError`` for a tokenizer
    without EOS, ``DeadlineError`` when compilation exceeds ``compile_timeout_s``."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown constraint backend {backend!r}", f"one of {list(BACKENDS)}")
    eos_id(tokenizer)
    prepared = prepare_schema(schema, closed=closed)
    order = ["llguidance", "outlines"] if backend == "auto" else [backend]
    errors: list[PrunestackError] = []
    for name in order:
        if not _available(name):
            pkg = "llguidance" if name == "llguidance" else "outlines-core"
            errors.append(ConfigError(f"backend {name!r} is not installed", f"pip install {pkg}"))
            continue
        bad = unsupported_keywords(prepared, name)
        if bad:
            errors.append(SchemaError(f"unsupported keyword(s) for {name}: {', '.join(bad)}"))
            continue
        try:
            return _matcher(name, _artefact(name, prepared, tokenizer, compile_timeout_s),
                            tokenizer)
        except (SchemaError, DeadlineError) as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    first = errors[0]
    raise type(first)("; ".join(e.message for e in errors), first.hint)
