"""The token-by-token walk (pipeline.decoding.walk) and MaskBench on the real Mistral tokenizer:
every backend judges tiny schemas' valid and invalid instances right; xgrammar is used only where
it enforces the schema (each keyword it is trusted with refuses an invalid instance, each one it
ignores is refused for it); the benchmark runs end to end on the dev data when it is there."""

from __future__ import annotations

import json

import pytest

from benchmarks import bench_maskbench as MB
from prunestack.errors import SchemaError
from prunestack.pipeline.decoding import compile_schema
from prunestack.pipeline.decoding.backends import XGrammarMatcher, _captured_stderr
from prunestack.pipeline.decoding.vocab import token_bytes, xgr_tokenizer_info
from prunestack.pipeline.decoding.walk import compact, exact_tokens, walk_text
from prunestack.pipeline.schema.support import XGRAMMAR_EXTRA

TINY = [
    ({"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}},
      "required": ["n"]},
     [{"n": 3}], [{"n": 0}, {}, {"n": "3"}]),
    ({"type": "array", "items": {"enum": ["café", "thé"]}, "maxItems": 2},
     [[], ["café", "thé"]], [["cafe"], ["thé", "thé", "thé"]]),
    ({"type": "string", "pattern": "^[a-z]+-[0-9]{2}$"}, ["ab-12"], ["ab-1", "AB-12"]),
]


def test_exact_tokens_spell_the_text(tok):
    tb = token_bytes(tok)
    for text in ['{"n":3}', '["café","thé"]', '"日本語 \u2603"', ' lead']:
        ids, _ = exact_tokens(tok, text)
        assert b"".join(tb[i] for i in ids) == text.encode()
    assert compact({"a": [1, "é"]}) == '{"a":[1,"é"]}'


@pytest.mark.parametrize("backend", ["llguidance", "xgrammar", "outlines"])
@pytest.mark.parametrize("case", range(len(TINY)))
def test_walk_judges_tiny_schemas(tok, backend, case):
    schema, good, bad = TINY[case]
    if backend == "outlines" and case == 0:
        pytest.skip("outlines-core cannot enforce minimum (refused by name)")
    m = compile_schema(schema, tok, backend=backend)
    for value in good:
        m.reset()
        w = walk_text(m, tok, compact(value))
        assert w.accepted, (value, w)
        assert len(w.mask_seconds) == len(exact_tokens(tok, compact(value))[0]) + 1
    for value in bad:
        m.reset()
        w = walk_text(m, tok, compact(value))
        assert not w.accepted and w.rejected_at is not None, value


def test_walk_names_the_refused_token(tok):
    m = compile_schema(TINY[0][0], tok, backend="llguidance")
    w = walk_text(m, tok, '{"n":0}')
    assert not w.accepted and w.rejected_piece.startswith("0")
    m.reset()
    w = walk_text(m, tok, "{}")
    assert not w.accepted and (w.rejected_at, w.rejected_piece) == (0, "{}")  # one token


# each keyword xgrammar is trusted with: (schema, an instance it must refuse)
TRUSTED = {
    "minimum": ({"type": "integer", "minimum": 5}, 3),
    "maximum": ({"type": "integer", "maximum": 5}, 7),
    "exclusiveMinimum": ({"type": "integer", "exclusiveMinimum": 5}, 5),
    "exclusiveMaximum": ({"type": "number", "exclusiveMaximum": 5}, 5),
    "multipleOf": ({"type": "integer", "multipleOf": 3}, 10),
    "minProperties": ({"type": "object", "minProperties": 2}, {"a": 1}),
    "maxProperties": ({"type": "object", "maxProperties": 1}, {"a": 1, "b": 2}),
    "propertyNames": ({"type": "object", "propertyNames": {"pattern": "^[a-z]+$"}}, {"A1": 1}),
}
# keywords xgrammar 0.2 silently ignores: (schema, an invalid instance it accepts)
IGNORED = {
    "not": ({"not": {"type": "string"}}, "a"),
    "uniqueItems": ({"type": "array", "items": {"type": "integer"}, "uniqueItems": True}, [1, 1]),
    "contains": ({"type": "array", "contains": {"const": 1}}, [2]),
    "dependentRequired": ({"type": "object", "dependentRequired": {"a": ["b"]}}, {"a": 1}),
    "unevaluatedProperties": ({"type": "object", "properties": {"a": {}},
                               "unevaluatedProperties": False}, {"a": 1, "b": 1}),
    "if": ({"if": {"properties": {"a": {"const": 1}}}, "then": {"required": ["b"]}}, {"a": 1}),
}


def _xgrammar_direct(tok, schema):
    import xgrammar

    compiler = xgrammar.GrammarCompiler(xgr_tokenizer_info(tok), max_threads=1,
                                        cache_enabled=False)
    with _captured_stderr():
        g = compiler.compile_json_schema(json.dumps(schema), strict_mode=False,
                                         any_whitespace=False, separators=(",", ":"))
    return XGrammarMatcher(g, len(tok), tok.eos_token_id)


def test_trusted_list_is_exactly_the_checked_keywords():
    assert set(TRUSTED) == set(XGRAMMAR_EXTRA)


@pytest.mark.parametrize("keyword", sorted(TRUSTED))
def test_xgrammar_enforces_each_trusted_keyword(tok, keyword):
    schema, bad = TRUSTED[keyword]
    m = compile_schema(schema, tok, backend="xgrammar")
    assert m.backend == "xgrammar"
    assert not walk_text(m, tok, compact(bad)).accepted

#: of those, the ones ``prepare_schema`` rewrites exactly (``pipeline.schema.rewrites``)
REWRITTEN = {"not", "dependentRequired"}


@pytest.mark.parametrize("keyword", sorted(IGNORED))
def test_xgrammar_is_refused_where_it_would_accept_invalid_documents(tok, keyword):
    schema, bad = IGNORED[keyword]
    # why: xgrammar on its own accepts this invalid instance
    assert walk_text(_xgrammar_direct(tok, schema), tok, compact(bad)).accepted
    if keyword in REWRITTEN:  # prepare_schema rewrites it exactly; xgrammar enforces or refuses
        try:
            m = compile_schema(schema, tok, backend="xgrammar")
        except SchemaError:
            return  # e.g. "key absent" as `properties: {a: false}`, which xgrammar refuses
        assert m.backend == "xgrammar" and not walk_text(m, tok, compact(bad)).accepted
        return
    with pytest.raises(SchemaError, match=keyword):
        compile_schema(schema, tok, backend="xgrammar")


def test_xgrammar_loosening_warning_is_a_refusal(tok):
    all_of = {"allOf": [{"type": "integer", "minimum": 1}, {"maximum": 5}]}
    assert walk_text(_xgrammar_direct(tok, all_of), tok, "7").accepted  # loosened
    with pytest.raises(SchemaError, match="xgrammar would loosen the schema"):
        compile_schema(all_of, tok, backend="xgrammar")
    m = compile_schema(all_of, tok, expected_uses=1000)  # auto: never the unsound backend
    assert m.backend != "xgrammar"
    assert not walk_text(m, tok, "7").accepted
    m.reset()
    assert walk_text(m, tok, "3").accepted


def test_run_schema_counts_false_rejects_and_accepts(tok):
    schema, good, bad = TINY[0]
    tests = [{"valid": True, "data": v} for v in good] + [{"valid": False, "data": v}
                                                         for v in bad]
    encoded, _ = MB.encode_tests(tok, tests)
    rec = MB.run_schema("prunestack", "tiny", schema, tests, tok, encoded, timeout=10)
    assert rec["compiled"] and rec["passed"] and rec["false_accepts"] == 0
    assert rec["ttfm_ms"] > 0 and rec["hit_ms"] < rec["ttfm_ms"]
    flipped = [{**t, "valid": not t["valid"]} for t in tests]  # now every judgement is wrong
    rec = MB.run_schema("llguidance", "tiny", schema, flipped, tok, encoded, timeout=10)
    assert not rec["passed"]
    assert (rec["false_accepts"], rec["false_rejects"]) == (len(good), len(bad))
    assert {f["test"] for f in rec["failures"]} == set(range(len(tests)))


def test_maskbench_on_the_dev_data(tmp_path):
    data = MB.data_dir()
    if not data.is_dir():
        pytest.skip(f"no MaskBench data at {data} (not shipped)")
    result = MB.main(["--limit", "3", "--tokenizers", "mistral-32k", "--out", str(tmp_path)])
    assert result is not None
    for engine in MB.ENGINES:
        row = result["table"][f"{engine} / mistral-32k"]
        assert row["schemas"] == 3 and row["masks"] > 0
    assert result["table"]["prunestack / mistral-32k"]["false_accepts"] == 0
    assert {p.name for p in tmp_path.iterdir()} >= {"maskbench.json", "maskbench.md",
                                                    "maskbench.png", "maskbench-failures.jsonl"}


def test_xgrammar_screen_stops_a_compile_past_the_limit(tok):
    """xgrammar's compile holds the GIL, so the benchmark screens it in a killed-on-time child."""
    MB.xgrammar_screen({"type": "integer"}, tok, timeout=30)  # in time: no error
    with pytest.raises(TimeoutError, match="did not compile within"):
        MB.xgrammar_screen({"type": "integer"}, tok, timeout=1e-5)
