"""compile_schema on the real Mistral tokenizer: all three backends honour the Matcher protocol,
errors are clear, compiled artefacts are cached in memory and on disk."""

from __future__ import annotations

import copy
import time

import pytest
import torch

from prunestack.errors import ConfigError, DeadlineError, ModelError, SchemaError
from prunestack.pipeline.decoding import Matcher, compile_schema
from prunestack.pipeline.decoding import backends as B
from prunestack.pipeline.decoding.vocab import (
    pack_bitmask,
    token_bytes,
    tokenizer_hash,
    unpack_bitmask,
)

SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"},
                                           "tag": {"enum": ["red", "green"]}},
          "required": ["ok", "tag"]}


def _ids(tok, text):
    """Token ids of ``text`` with no SentencePiece prefix space."""
    from prunestack.pipeline.decoding.vocab import llg_tokenizer

    return llg_tokenizer(tok).tokenize_str(text)


@pytest.mark.parametrize("backend", ["llguidance", "outlines", "xgrammar"])
def test_matcher_protocol_walk_and_rollback(tok, backend):
    m = compile_schema(SCHEMA, tok, backend=backend)
    assert isinstance(m, Matcher) and m.backend == backend
    mask = m.mask()
    assert mask.dtype == torch.bool and mask.shape == (m.vocab_size,)
    assert 0 < int(mask.sum()) < 100  # only ways to start '{"ok":...'
    assert not mask[tok.eos_token_id] and not m.is_accepting()
    text = '{"ok":true,"tag":"green"}'
    ids = _ids(tok, text)
    for t in ids:
        assert m.mask()[t], tok.convert_ids_to_tokens([t])
        m.advance(t)
    assert m.is_accepting() and m.mask()[tok.eos_token_id]
    m.rollback(3)
    assert not m.is_accepting()
    for t in ids[-3:]:
        m.advance(t)
    assert m.is_accepting()


@pytest.mark.parametrize("backend", ["llguidance", "outlines", "xgrammar"])
def test_bad_token_is_rejected_without_poisoning(tok, backend):
    m = compile_schema(SCHEMA, tok, backend=backend)
    bad = _ids(tok, "hello")[0]
    with pytest.raises(B.TokenRejectedError):
        m.advance(bad)
    first = _ids(tok, '{"ok":true,"tag":"red"}')
    for t in first:
        m.advance(t)
    assert m.is_accepting()


@pytest.mark.parametrize("backend", ["llguidance", "outlines", "xgrammar"])
def test_forced_tokens_spell_the_forced_text(tok, backend):
    m = compile_schema(SCHEMA, tok, backend=backend)
    forced = m.forced_tokens()
    if backend == "llguidance":  # byte-level forcing: '{"ok":' has one canonical tokenization
        assert tok.decode(forced).startswith('{"ok')
    for t in forced:  # forced tokens are allowed, in order
        assert m.mask()[t]
        m.advance(t)
    for t in _ids(tok, '{"ok":true,"tag":"red"}')[len(forced):]:
        m.advance(t)
    assert m.is_accepting() and m.forced_tokens() == []


def test_auto_prefers_llguidance_xgrammar_for_reuse_and_falls_back_to_outlines(tok, monkeypatch):
    assert compile_schema(SCHEMA, tok).backend == "llguidance"
    # a schema serving many documents: xgrammar's faster masks repay its slower compile
    assert compile_schema(SCHEMA, tok, expected_uses=B.XGRAMMAR_MIN_USES).backend == "xgrammar"
    monkeypatch.setattr(B, "_available", lambda name: name != "llguidance")
    assert compile_schema(SCHEMA, tok, backend="auto").backend == "outlines"  # one-off
    monkeypatch.setattr(B, "_available", lambda name: name != "xgrammar")
    assert compile_schema(SCHEMA, tok, expected_uses=100).backend == "llguidance"


def test_keyword_nobody_supports_is_named(tok):
    s = {"type": "object", "properties": {"a": {"type": "array", "uniqueItems": True}}}
    with pytest.raises(SchemaError, match="uniqueItems"):
        compile_schema(s, tok)
    with pytest.raises(SchemaError, match="minimum"):
        compile_schema({"type": "integer", "minimum": 3}, tok, backend="outlines")


def test_llguidance_refusal_is_a_schema_error(tok):
    # a standard format llguidance cannot enforce is refused by name; a format JSON Schema does
    # not define (OpenAPI's "int32", "no-such-format") is an annotation, ignored like validators do
    with pytest.raises(SchemaError, match="format: uri-reference"):
        compile_schema({"type": "string", "format": "uri-reference"}, tok, backend="llguidance")
    compile_schema({"type": "string", "format": "no-such-format"}, tok, backend="llguidance")


def test_unknown_backend_and_invalid_schema(tok):
    with pytest.raises(ConfigError, match="unknown constraint backend"):
        compile_schema(SCHEMA, tok, backend="nope")
    with pytest.raises(SchemaError, match="not valid JSON"):
        compile_schema("{nope", tok)
    with pytest.raises(SchemaError, match="JSON object"):
        compile_schema("[]", tok)


def test_tokenizer_without_eos(tok):
    no_eos = copy.deepcopy(tok)
    no_eos.eos_token = None
    assert no_eos.eos_token_id is None
    with pytest.raises(ModelError, match="no EOS"):
        compile_schema(SCHEMA, no_eos)
    assert tok.eos_token_id == 2  # the shared fixture is untouched


def test_compile_cache_memory_and_disk(tok, tmp_path, monkeypatch):
    monkeypatch.setenv("PRUNESTACK_CACHE", str(tmp_path))
    s = {"type": "object", "properties": {"fresh": {"type": "integer"}}, "required": ["fresh"]}
    B._MEMORY.clear()
    compile_schema(s, tok, backend="llguidance")
    compile_schema(s, tok, backend="outlines")
    compile_schema(s, tok, backend="xgrammar")
    B._compile_pool().submit(lambda: None).result()  # disk writes run on the worker
    for _ in range(100):
        files = sorted(p.name.split("-")[0] for p in (tmp_path / "decoding").glob("*.pkl"))
        if len(files) == 2:
            break
        time.sleep(0.05)
    assert files == ["outlines", "xgrammar"]  # llguidance recompiles faster than it reads
    assert all(tokenizer_hash(tok) in p.name for p in (tmp_path / "decoding").glob("*.pkl"))
    B.clear_caches()  # a new process: the disk copy is used and works
    for backend in ("outlines", "xgrammar", "llguidance"):
        m = compile_schema(s, tok, backend=backend)
        for t in _ids(tok, '{"fresh":12}'):
            m.advance(t)
        assert m.is_accepting()


def test_compile_timeout(tok, tmp_path, monkeypatch):
    monkeypatch.setenv("PRUNESTACK_CACHE", str(tmp_path))
    B._MEMORY.clear()
    s = {"type": "object", "properties": {f"k{i}": {"type": "string", "pattern": "^[a-z]{3,9}$"}
                                          for i in range(40)}}
    with pytest.raises(DeadlineError, match="did not compile"):
        compile_schema(s, tok, backend="outlines", compile_timeout_s=0.001)


def test_token_bytes_and_bitmask_roundtrip(tok):
    tb = token_bytes(tok)
    assert len(tb) == len(tok)
    assert tb[tok.convert_tokens_to_ids("<0x0A>")] == b"\n"
    assert tb[tok.eos_token_id] is None
    assert tb[tok("hello world", add_special_tokens=False).input_ids[-1]] == b" world"
    allowed = torch.rand(1000) > 0.5
    assert torch.equal(unpack_bitmask(pack_bitmask(allowed).unsqueeze(0), 1000)[0], allowed)


def test_second_compile_skips_preparation(tok, monkeypatch):
    calls = []
    real = B.prepare_schema
    monkeypatch.setattr(B, "prepare_schema",
                        lambda s, closed=False: calls.append(1) or real(s, closed=closed))
    s = {"type": "object", "properties": {"memo": {"type": "integer"}}, "required": ["memo"]}
    m1, m2 = compile_schema(s, tok), compile_schema(dict(s), tok)
    assert len(calls) == 1 and m1 is not m2  # fresh matchers, one preparation
    m1.advance(_ids(tok, '{"')[0])
    assert not m2.is_accepting() and m2.mask()[_ids(tok, '{"')[0]]  # independent state
