"""Compile a JSON Schema into a :class:`~pipeline.decoding.types.Matcher`, with three backends.

What it does: ``compile_schema(schema, tokenizer, backend="auto")`` prepares the schema
(``pipeline.schema.prepare_schema``), refuses up front any keyword the chosen backend cannot enforce
(``SchemaError`` naming it), compiles under a timeout, and returns a fresh matcher. Backends:

* ``llguidance`` — JSON Schema → llguidance grammar (Earley parser + lexer), compiled once into a
  template ``LLMatcher`` that every matcher deep-copies; widest keyword coverage, fastest
  compile (well under a millisecond for most schemas), forced tokens via ``compute_ff_tokens``.
* ``xgrammar`` — xgrammar's ``GrammarCompiler`` (``strict_mode=False``: the schema's own
  semantics, no invented closing of objects) + ``GrammarMatcher``; about 2x faster masks than
  llguidance but a slower compile. Used only where it is sound: a schema using a keyword xgrammar
  ignores (``pipeline.schema.support``) is refused for it, and so is any schema whose compile makes
  xgrammar warn that it loosens the semantics (e.g. "oneOf ... falling back to anyOf": its C++
  log, captured from the process's stderr while it compiles).
* ``outlines`` — outlines-core: schema → regex → token-level DFA ``Index`` over a
  ``Vocabulary`` built offline from the tokenizer's bytes; ``Guide`` walks it.
* ``auto`` — among the sound backends, by measured cost (``benchmarks/bench_maskbench.py``):
  llguidance then outlines for a one-off schema (compile cost dominates); xgrammar first when the
  caller says the schema serves at least ``XGRAMMAR_MIN_USES`` documents (``expected_uses``: its
  faster masks repay its compile). A backend that is missing, refuses or times out hands over to
  the next. xgrammar's compile holds the GIL, so ``compile_timeout_s`` only fires after it ends.

Compiled artefacts (the llguidance template matcher, the xgrammar compiled grammar, the outlines
``Index``) are cached in memory, keyed by backend + schema hash + tokenizer hash; the slow ones
(xgrammar, outlines) also on disk under ``$PRUNESTACK_CACHE`` (default
``~/.cache/prunestack/decoding``), written on a worker thread; a second
``compile_schema`` of the same schema object skips preparation too (keyed by the input's hash).
Matchers themselves hold per-sequence state and are never shared.

What it does not do: touch logits (``pipeline.decoding.processor``) or run a model.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib.util
import json
import os
import pickle
import tempfile
import threading
from collections.abc import Iterator
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
    xgr_tokenizer_info,
)
from prunestack.pipeline.schema import (
    SchemaSource,
    formats_as_patterns,
    prepare_schema,
    resolve_refs,
    schema_hash,
    unsupported_keywords,
)

BACKENDS = ("auto", "llguidance", "outlines", "xgrammar")
#: part of every cache key: bump when the schema → grammar/index translation changes, so the
#: on-disk cache never serves an artefact compiled by older rules
ARTEFACT_VERSION = "v4"
#: ``auto`` tries xgrammar first from this many expected documents per schema on. MaskBench at
#: 32k, first 60 schemas (quiet): xgrammar's cold compile +4 ms at the median, its masks -7 µs a
#: token, so it pays back after ~600 tokens (~8 extraction documents). Over all 400 schemas on a
#: loaded machine its mean mask was not cheaper (29.5 vs 21.7 µs): re-measure before relying on it
#: (docs/decoding.md, MaskBench).
XGRAMMAR_MIN_USES = 8
_MEMORY: dict[str, Any] = {}
_PREPARED: dict[str, tuple[dict[str, Any], str]] = {}  # input hash -> (prepared, its hash)
_PACKAGES = {"llguidance": "llguidance", "outlines": "outlines_core", "xgrammar": "xgrammar"}
_PIP = {"llguidance": "llguidance", "outlines": "outlines-core", "xgrammar": "xgrammar"}


class TokenRejectedError(PrunestackError):
    """A token was fed to a matcher whose grammar does not allow it."""


def cache_dir() -> Path:
    return Path(os.environ.get("PRUNESTACK_CACHE", Path.home() / ".cache" / "prunestack")) / \
        "decoding"


def clear_caches() -> None:
    """Forget every compiled artefact held in memory (the disk cache stays): the next
    ``compile_schema`` of a schema compiles it again unless ``$PRUNESTACK_CACHE`` has it."""
    _MEMORY.clear()
    _PREPARED.clear()


class LLGuidanceMatcher:
    """Matcher over an ``llguidance.LLMatcher``; rejects a bad token without poisoning its state."""

    backend = "llguidance"

    def __init__(self, template: Any, llt: Any) -> None:
        self._m = template.deep_copy()
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

    def reset(self) -> None:
        self._m.reset()

    def forced_tokens(self) -> list[int]:
        return list(self._m.compute_ff_tokens())


class _Stepper:
    """Shared by the matchers whose engine has no forced-token call: the forced run is found by
    following single-token masks, then rolled back."""

    eos_token_id: int
    _bm: torch.Tensor
    vocab_size: int

    def mask(self) -> torch.Tensor:
        self.fill_bitmask(self._bm[0])  # type: ignore[attr-defined]
        return unpack_bitmask(self._bm, self.vocab_size)[0]  # [V]

    def forced_tokens(self) -> list[int]:
        out: list[int] = []
        while len(out) < 64:
            allowed = self.mask().nonzero().flatten()
            if len(allowed) != 1 or int(allowed[0]) == self.eos_token_id:
                break
            out.append(int(allowed[0]))
            self.advance(out[-1])  # type: ignore[attr-defined]
        if out:
            self.rollback(len(out))  # type: ignore[attr-defined]
        return out


class OutlinesMatcher(_Stepper):
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

    def reset(self) -> None:
        self._g.reset()
        self._done = False

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


class XGrammarMatcher(_Stepper):
    """Matcher over an ``xgrammar.GrammarMatcher`` (a refused token leaves its state as it was).
    Once EOS is accepted xgrammar computes no more masks: the matcher then allows EOS alone
    (a finished row of a batch keeps emitting it) and counts those for ``rollback``."""

    backend = "xgrammar"

    def __init__(self, compiled: Any, n_vocab: int, eos: int) -> None:
        import xgrammar

        self._m = xgrammar.GrammarMatcher(compiled, override_stop_tokens=[eos])
        self.vocab_size = n_vocab
        self.eos_token_id = eos
        self._bm = new_bitmask(1, n_vocab)
        self._after_end = 0  # EOS tokens advanced after the grammar terminated

    def fill_bitmask(self, row: torch.Tensor) -> None:
        """Write the packed mask into a contiguous int32 CPU row [W]."""
        if self._m.is_terminated():
            row.zero_()
            row[self.eos_token_id // 32] = 1 << (self.eos_token_id % 32)
            return
        self._m.fill_next_token_bitmask(row)

    def allows(self, token_id: int) -> bool:
        if self._m.is_terminated():
            return token_id == self.eos_token_id
        if not self._m.accept_token(int(token_id)):
            return False
        self._m.rollback(1)
        return True

    def advance(self, token_id: int) -> None:
        if self._m.is_terminated() and token_id == self.eos_token_id:
            self._after_end += 1
        elif self._m.is_terminated() or not self._m.accept_token(int(token_id)):
            raise TokenRejectedError(f"token {token_id} is not allowed by the grammar here")

    def rollback(self, n: int) -> None:
        extra = min(n, self._after_end)
        self._after_end -= extra
        if n - extra:
            self._m.rollback(int(n - extra))

    def is_accepting(self) -> bool:
        return bool(self._m.is_terminated() or self._m.is_completed())

    def reset(self) -> None:
        self._m.reset()
        self._after_end = 0


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


def _llguidance_template(grammar: str, tokenizer: Any) -> Any:
    """The one compile of an llguidance grammar: a template matcher to deep-copy."""
    import llguidance

    m = llguidance.LLMatcher(llg_tokenizer(tokenizer), grammar, log_level=0)
    if m.is_error():
        raise SchemaError(f"llguidance cannot compile the schema: {m.get_error()}")
    return m


def _compile_llguidance(schema: dict, tokenizer: Any) -> tuple[str, Any]:
    import llguidance

    # llguidance's own "date"/"date-time" admit year 0000 (and Feb 31), which Python's
    # date.fromisoformat, jsonschema's format checker and pydantic reject: use our patterns
    try:
        grammar = llguidance.LLMatcher.grammar_from_json_schema(
            formats_as_patterns(schema), defaults={"whitespace_flexible": False})
    except ValueError as exc:
        raise SchemaError(f"llguidance cannot compile the schema: {exc}") from exc
    return grammar, _llguidance_template(grammar, tokenizer)


_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _captured_stderr() -> Iterator[list[str]]:
    """Capture what native code writes to file descriptor 2 (xgrammar's C++ log) meanwhile.
    Process-wide: another thread's stderr in that window lands in the capture too."""
    out: list[str] = []
    with _STDERR_LOCK, tempfile.TemporaryFile() as tmp:
        try:
            saved = os.dup(2)
        except OSError as exc:  # no stderr to watch: its warnings would go unseen
            raise SchemaError("cannot watch xgrammar's warnings (no standard error stream)",
                              "use backend='llguidance'") from exc
        os.dup2(tmp.fileno(), 2)
        try:
            yield out
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            out.extend(tmp.read().decode(errors="replace").splitlines())


def _compile_xgrammar(schema: dict, tokenizer: Any) -> tuple[str, Any]:
    import xgrammar

    compiler = xgrammar.GrammarCompiler(xgr_tokenizer_info(tokenizer), max_threads=1,
                                        cache_enabled=False)
    with _captured_stderr() as log:
        try:
            compiled = compiler.compile_json_schema(
                json.dumps(formats_as_patterns(schema)), any_whitespace=False,
                separators=(",", ":"), strict_mode=False)
        except Exception as exc:  # xgrammar raises RuntimeError / its own types
            raise SchemaError(f"xgrammar cannot compile the schema: {exc}") from exc
    loose = [line.split("Warning:", 1)[1].strip() for line in log if "Warning:" in line]
    if loose:
        raise SchemaError(f"xgrammar would loosen the schema: {loose[0]}",
                          "use backend='llguidance' (or 'auto', which skips xgrammar here)")
    return compiled.serialize_json(), compiled


def outlines_vocabulary(tokenizer: Any) -> Any:
    """outlines-core ``Vocabulary`` from the tokenizer's bytes (offline; no hub)."""
    from outlines_core import Vocabulary

    eos = eos_id(tokenizer)
    table: dict[bytes, list[int]] = {}
    for i, b in enumerate(token_bytes(tokenizer)):
        if b and i != eos:
            table.setdefault(b, []).append(i)
    return Vocabulary(eos, table)


def _compile_outlines(schema: dict, tokenizer: Any) -> tuple[Any, Any]:
    from outlines_core import Index
    from outlines_core.json_schema import build_regex_from_schema

    try:
        regex = build_regex_from_schema(json.dumps(formats_as_patterns(resolve_refs(schema))),
                                        "")
        index = Index(regex, outlines_vocabulary(tokenizer))
    except Exception as exc:  # outlines-core raises ValueError / its own types
        raise SchemaError(f"outlines-core cannot compile the schema: {exc}") from exc
    return index, index


def _revive(backend: str, stored: Any, tokenizer: Any) -> Any:
    """The live artefact from what the disk cache holds."""
    if backend == "llguidance":
        return _llguidance_template(stored, tokenizer)
    if backend == "xgrammar":
        import xgrammar

        return xgrammar.CompiledGrammar.deserialize_json(stored, xgr_tokenizer_info(tokenizer))
    return stored


_COMPILERS = {"llguidance": _compile_llguidance, "xgrammar": _compile_xgrammar,
              "outlines": _compile_outlines}


def _prepare_tokenizer(backend: str, tokenizer: Any) -> None:
    """Convert the tokenizer for ``backend`` outside the timed compile (cached per tokenizer)."""
    if backend == "llguidance":
        llg_tokenizer(tokenizer)
    elif backend == "xgrammar":
        xgr_tokenizer_info(tokenizer)
    else:
        token_bytes(tokenizer)


_POOL: list[concurrent.futures.ThreadPoolExecutor] = []
_POOL_LOCK = threading.Lock()


#: backends whose compiled artefact is worth a disk cache: llguidance recompiles its grammar
#: (about 1 ms) faster than a pickle of it can be read back
_ON_DISK = frozenset({"xgrammar", "outlines"})


def _compile_pool() -> concurrent.futures.ThreadPoolExecutor:
    with _POOL_LOCK:
        if not _POOL:
            _POOL.append(concurrent.futures.ThreadPoolExecutor(
                max_workers=4, thread_name_prefix="prunestack-compile"))
        return _POOL[0]


def _timed_compile(backend: str, schema: dict, tokenizer: Any, timeout_s: float) -> Any:
    """Run the compiler on a long-lived worker thread (starting a thread per compile costs
    ~0.1–2 ms of a cold start), under ``timeout_s``; a worker stuck past it is abandoned to
    finish in the background and a fresh one serves the next compile."""
    pool = _compile_pool()
    future = pool.submit(_COMPILERS[backend], schema, tokenizer)
    try:
        return future.result(timeout=timeout_s)
    except concurrent.futures.TimeoutError as exc:
        with _POOL_LOCK:
            if _POOL and _POOL[0] is pool:
                _POOL.clear()
        pool.shutdown(wait=False)
        raise DeadlineError(f"{backend} did not compile the schema within {timeout_s:g} s",
                            "simplify the schema or raise compile_timeout_s") from exc


def _artefact(backend: str, schema: dict, tokenizer: Any, timeout_s: float,
              shash: str | None = None) -> Any:
    key = (f"{backend}-{ARTEFACT_VERSION}-{shash or schema_hash(schema)}-"
           f"{tokenizer_hash(tokenizer)}")
    if key in _MEMORY:
        return _MEMORY[key]
    _prepare_tokenizer(backend, tokenizer)
    disk = backend in _ON_DISK
    stored = _disk_get(key) if disk else None
    if stored is not None:
        art = _revive(backend, stored, tokenizer)
    else:
        stored, art = _timed_compile(backend, schema, tokenizer, timeout_s)
        if disk:  # pickling and writing cost milliseconds: off the time to first mask
            _compile_pool().submit(_disk_put, key, stored)
    _MEMORY[key] = art
    return art


def _matcher(backend: str, art: Any, tokenizer: Any) -> Matcher:
    if backend == "llguidance":
        return LLGuidanceMatcher(art, llg_tokenizer(tokenizer))
    if backend == "xgrammar":
        return XGrammarMatcher(art, vocab_size(tokenizer), eos_id(tokenizer))
    return OutlinesMatcher(art, vocab_size(tokenizer), eos_id(tokenizer))


def _available(backend: str) -> bool:
    return importlib.util.find_spec(_PACKAGES[backend]) is not None


def _prepared(schema: SchemaSource, closed: bool = False) -> tuple[dict[str, Any], str]:
    """``prepare_schema(schema, closed=closed)`` and its hash, memoised by the hash of a dict
    input (a schema compiled again skips loading, the meta-schema check and the rewrites)."""
    if not isinstance(schema, dict) or type(schema) is not dict:
        prepared = prepare_schema(schema, closed=closed)
        return prepared, schema_hash(prepared)
    try:
        key = f"{int(closed)}-{schema_hash(schema)}"
    except (TypeError, ValueError):  # not JSON-serialisable: let prepare_schema say why
        prepared = prepare_schema(schema, closed=closed)
        return prepared, schema_hash(prepared)
    if key not in _PREPARED:
        prepared = prepare_schema(schema, closed=closed)
        _PREPARED[key] = (prepared, schema_hash(prepared))
    return _PREPARED[key]


def backend_order(backend: str, expected_uses: int = 1) -> list[str]:
    """The backends ``compile_schema`` tries, in order (see the module docstring)."""
    if backend != "auto":
        return [backend]
    if expected_uses >= XGRAMMAR_MIN_USES:
        return ["xgrammar", "llguidance", "outlines"]
    # one-off: never xgrammar, whose compile holds the GIL (compile_timeout_s cannot stop it;
    # MaskBench found one that ran for minutes) and, as a fallback, passed nothing more
    return ["llguidance", "outlines"]


def compile_schema(schema: SchemaSource, tokenizer: Any, backend: str = "auto",
                   compile_timeout_s: float = 30.0, expected_uses: int = 1,
                   closed: bool = False) -> Matcher:
    """A fresh :class:`Matcher` for ``schema`` over ``tokenizer``'s vocabulary: faithful (it
    accepts exactly the schema's documents) unless ``closed=True``, a generation preference
    that admits no key the schema does not name (``pipeline.schema.close_objects``).

    ``backend``: "auto", "llguidance", "xgrammar" or "outlines"; ``expected_uses``: how many
    documents the caller will constrain with this schema (``auto`` prefers xgrammar's faster
    masks from ``XGRAMMAR_MIN_USES`` on, llguidance's faster compile below).

    Raises ``ConfigError`` for an unknown backend, ``SchemaError`` for an invalid schema or one
    using keywords no backend supports (the message names them), ``ModelError`` for a tokenizer
    without EOS, ``DeadlineError`` when compilation exceeds ``compile_timeout_s``."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown constraint backend {backend!r}", f"one of {list(BACKENDS)}")
    eos_id(tokenizer)
    prepared, shash = _prepared(schema, closed)
    errors: list[PrunestackError] = []
    for name in backend_order(backend, expected_uses):
        if not _available(name):
            errors.append(ConfigError(f"backend {name!r} is not installed",
                                      f"pip install {_PIP[name]}"))
            continue
        bad = unsupported_keywords(prepared, name)
        if bad:
            errors.append(SchemaError(f"unsupported keyword(s) for {name}: {', '.join(bad)}"))
            continue
        try:
            return _matcher(name, _artefact(name, prepared, tokenizer, compile_timeout_s, shash),
                            tokenizer)
        except (SchemaError, DeadlineError) as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    first = errors[0]
    raise type(first)("; ".join(e.message for e in errors), first.hint)
