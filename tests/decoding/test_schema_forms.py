"""Keyword forms the decoders now support by exact rewrites (``pipeline.schema.rewrites``), the
faithful default, closed mode and kept references — every instance walked token by token
through a real llguidance matcher over the real Mistral 32k tokenizer (``token_walk``). The
labels are checked against the package's validator first, so a wrong label fails the test
rather than hiding a false accept."""

from __future__ import annotations

import time

import pytest

from prunestack.errors import SchemaError
from prunestack.pipeline.decoding import compile_schema
from prunestack.pipeline.schema import DRAFT_URIS, prepare_schema, validator
from tests.decoding.token_walk import walks

# name: (schema, valid instances, invalid instances)
FORMS = {
    "not_type": ({"not": {"type": "string"}}, [1, None, {}, [], True, 2.5], ["a", ""]),
    "not_type_in_typed_node": ({"type": ["string", "null"], "not": {"type": "null"}},
                               ["x"], [None, 1]),
    "not_required": ({"type": "object", "properties": {"a": {}, "b": {}},
                      "not": {"required": ["a", "b"]}},
                     [{}, {"a": 1}, {"b": 1}, {"c": 1}], [{"a": 1, "b": 2}, "s"]),
    "not_enum_strings": ({"type": "string", "not": {"enum": ["foo", "bar"]}},
                         ["fo", "foox", "", "baz", "ba"], ["foo", "bar"]),
    "not_const_number": ({"not": {"const": 3}}, [2, 3.5, "3", 4, -3, None], [3, 3.0]),
    "not_enum_object": ({"not": {"enum": [{"a": True}]}},
                        [{"a": False}, {}, {"a": True, "b": 1}, 1],
                        [{"a": True}]),
    "not_const_array": ({"not": {"const": [1, 2]}}, [[1], [1, 3], [1, 2, 3], [], "x"],
                        [[1, 2], [1.0, 2]]),
    "not_not": ({"not": {"not": {"type": "integer", "minimum": 2}}}, [2, 5], [1, "x", None]),
    "not_properties": ({"type": "object", "not": {"properties": {"a": {"type": "string"}}}},
                       [{"a": 1}, {"a": None}], [{}, {"a": "x"}, {"b": 1}]),
    "not_anyof_bounds": ({"type": "integer", "not": {"anyOf": [{"minimum": 10},
                                                               {"maximum": 0}]}},
                         [1, 5, 9], [0, 10, -4, 12]),
    "dependent_required": ({"type": "object", "properties": {"a": {}, "b": {}, "c": {}},
                            "dependentRequired": {"a": ["b"]}},
                           [{}, {"b": 1}, {"a": 1, "b": 2}, {"b": 1, "c": 2}],
                           [{"a": 1}, {"a": 1, "c": 2}]),
    "dependencies_draft7_schema": ({"$schema": DRAFT_URIS["7"], "type": "object",
                                    "properties": {"a": {}, "b": {"type": "integer"}},
                                    "dependencies": {"a": {"required": ["b"],
                                                           "properties": {"b": {"minimum": 3}}}}},
                                   [{}, {"b": 1}, {"a": 1, "b": 3}, {"a": 1, "b": 4}],
                                   [{"a": 1}, {"a": 1, "b": 1}]),
    # (one map mixing both forms trips ``referencing``'s crawler, which reads the first value)
    "dependencies_draft7_array": ({"$schema": DRAFT_URIS["7"], "type": "object",
                                   "properties": {"a": {}, "c": {}},
                                   "dependencies": {"c": ["a"]}},
                                  [{}, {"a": 1}, {"a": 1, "c": 0}], [{"c": 1}]),
    "oneof_const_discriminator": ({"oneOf": [
        {"type": "object", "properties": {"k": {"const": "a"}, "x": {"type": "integer"}},
         "required": ["k"]},
        {"type": "object", "properties": {"k": {"const": "b"}, "y": {"type": "string"}},
         "required": ["k"]}]},
        [{"k": "a", "x": 1}, {"k": "b", "y": "s"}, {"k": "a"}],
        [{"k": "c"}, {"k": "a", "x": "s"}, {"x": 1}, "a"]),
    "oneof_disjoint_types": ({"oneOf": [{"type": "string"}, {"type": "integer"}]},
                             ["s", 3], [1.5, None, [], True]),
    # no "type": non-objects pass both branches, so oneOf refuses them
    "oneof_discriminator_untyped": ({"oneOf": [
        {"properties": {"t": {"enum": [1]}}, "required": ["t"], "additionalProperties": False},
        {"properties": {"t": {"enum": [2]}}, "required": ["t"], "additionalProperties": False}]},
        [{"t": 1}, {"t": 2}], ["x", 5, None, {"t": 3}, {"t": 1, "u": 0}]),
    # open objects may carry both keys: not disjoint, rewritten exactly by negation
    "oneof_overlapping_required": ({"type": "object", "oneOf": [
        {"required": ["a"]}, {"required": ["b"]}],
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}},
        [{"a": 1}, {"b": 1}, {"a": 1, "c": 0}],
        [{"a": 1, "b": 2}, {}, {"c": 1}]),
    "unique_enum_items": ({"type": "array", "items": {"enum": ["x", "y", "z"]},
                           "uniqueItems": True},
                          [[], ["x"], ["x", "y"], ["z", "y", "x"]],
                          [["x", "x"], ["y", "x", "y"], ["w"]]),
    "unique_boolean_items": ({"type": "array", "items": {"type": "boolean"},
                              "uniqueItems": True, "minItems": 1},
                             [[True], [False, True]], [[], [True, True]]),
    "unique_false": ({"type": "array", "uniqueItems": False}, [[1, 1], []], [{}]),
    "unique_in_enum": ({"enum": [[1, 1], [1, 2], "s"], "uniqueItems": True},
                       [[1, 2], "s"], [[1, 1], [2, 1]]),
    "uri_template": ({"type": "string", "format": "uri-template"},
                     ["http://x/{id}", "{+path}/a{?q,r}", "plain", "/u/{user:3}{/p*}", "%20"],
                     ["http://x/{id", "{a b}", "a}b", "%zz", "{x:0}", "<"]),
}


@pytest.mark.parametrize("name", list(FORMS))
def test_form_walked_token_by_token_without_false_accepts(tok, name):
    schema, good, bad = FORMS[name]
    ref = validator(schema)
    assert all(ref.is_valid(v) for v in good) and not any(ref.is_valid(v) for v in bad)
    for value in good:
        assert walks(compile_schema(schema, tok, "llguidance"), tok, value), value
    for value in bad:
        assert not walks(compile_schema(schema, tok, "llguidance"), tok, value), value


@pytest.mark.parametrize(("schema", "keyword"), [
    ({"type": "string", "not": {"pattern": "^a"}}, "not"),
    ({"oneOf": [{"type": "string", "pattern": "^a"}, {"type": "string", "pattern": "b$"}],
      "type": "string"}, "oneOf"),
    ({"type": "array", "items": {"enum": list(range(20))}, "uniqueItems": True}, "uniqueItems"),
    ({"type": "array", "items": {"type": "string"}, "uniqueItems": True}, "uniqueItems"),
    ({"type": "number", "not": {"type": "integer"}}, "not"),
])
def test_what_cannot_be_said_exactly_is_refused_by_name(tok, schema, keyword):
    with pytest.raises(SchemaError, match=keyword):
        compile_schema(schema, tok, "llguidance")


OBJ = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
       "required": ["a"]}


def test_faithful_by_default_extra_keys_and_key_order(tok):
    extra = {"a": 1, "zz": True}
    assert walks(compile_schema(OBJ, tok), tok, extra)  # the schema allows other keys
    assert not walks(compile_schema(OBJ, tok, closed=True), tok, extra)  # generation: none
    assert walks(compile_schema(OBJ, tok, closed=True), tok, {"a": 1, "b": "x"})
    # llguidance fixes properties to schema order (documented in docs/decoding.md): another
    # order is valid JSON Schema but refused by the grammar, in both modes
    assert validator(OBJ).is_valid({"b": "x", "a": 1})
    assert not walks(compile_schema(OBJ, tok), tok, {"b": "x", "a": 1})


def test_closing_never_makes_a_satisfiable_schema_unsatisfiable(tok):
    # the issue's case: an allOf whose nested oneOf branches each name some of the keys
    schema = {"type": "object", "allOf": [
        {"properties": {"x": {"type": "integer"}}, "required": ["x"]},
        {"oneOf": [{"properties": {"y": {"const": 1}}, "required": ["y"]},
                   {"properties": {"z": {"const": 2}}, "required": ["z"]}]}]}
    ref = validator(schema)
    for closed in (False, True):
        assert walks(compile_schema(schema, tok, closed=closed), tok, {"x": 1, "y": 1})
        assert walks(compile_schema(schema, tok, closed=closed), tok, {"x": 1, "z": 2})
        assert not ref.is_valid({"x": 1, "y": 1, "z": 2})
        assert not walks(compile_schema(schema, tok, closed=closed), tok,
                         {"x": 1, "y": 1, "z": 2})
    assert walks(compile_schema(schema, tok), tok, {"x": 1, "y": 1, "w": 0})
    assert not walks(compile_schema(schema, tok, closed=True), tok, {"x": 1, "y": 1, "w": 0})


def test_closed_mode_closes_shared_definitions_over_every_use(tok):
    schema = {"type": "object", "properties": {
        "one": {"$ref": "#/$defs/item"},
        "two": {"allOf": [{"$ref": "#/$defs/item"}, {"properties": {"extra": {}}}]}},
        "$defs": {"item": {"type": "object", "properties": {"n": {"type": "integer"}}}}}
    m = lambda: compile_schema(schema, tok, closed=True)  # noqa: E731
    assert walks(m(), tok, {"one": {"n": 1}, "two": {"n": 2, "extra": 3}})
    assert not walks(m(), tok, {"one": {"n": 1, "zz": 0}})
    assert "$ref" in str(prepare_schema(schema, closed=True))  # still a reference


def _wide_schema(n_leaves: int = 48, n_mids: int = 20) -> dict:
    """About 57 KB of definitions shared by reference (every leaf definition is used by several
    others): inlining copies each leaf at every use; references compile it once."""
    defs: dict = {}
    for i in range(n_leaves):
        defs[f"leaf{i}"] = {"type": "object", "required": ["f0"], "properties": {
            f"f{j}": {"type": "string", "maxLength": 40,
                      "description": f"field {j} of leaf {i}, a short text value"}
            for j in range(10)}}
    for i in range(n_mids):
        props: dict = {f"m{j}": {"type": "integer", "minimum": 0} for j in range(4)}
        for j in range(8):
            props[f"r{j}"] = {"$ref": f"#/$defs/leaf{(i * 3 + j * 5) % n_leaves}"}
        props["many"] = {"type": "array", "items": {"$ref": f"#/$defs/leaf{i}"}, "maxItems": 4}
        defs[f"mid{i}"] = {"type": "object", "properties": props}
    return {"type": "object", "$defs": defs, "properties": {
        f"p{i}": {"$ref": f"#/$defs/mid{i}"} for i in range(n_mids)}}


def test_many_shared_refs_compile_under_a_second(tok, tmp_path, monkeypatch):
    """Loading (meta-schema validation, reference and limit checks: done once, where a schema
    enters) is timed apart from compiling; references are compiled as grammar rules, never
    inlined (which copied every leaf at each use: 16.6 s on the issue's 57 KB schema)."""
    import json

    from prunestack.pipeline.decoding import backends
    from prunestack.pipeline.decoding.vocab import llg_tokenizer, tokenizer_hash
    from prunestack.pipeline.schema import load_schema

    schema = _wide_schema()
    size = len(json.dumps(schema, separators=(",", ":")))
    assert 50_000 < size < 70_000
    monkeypatch.setenv("PRUNESTACK_CACHE", str(tmp_path))  # a cold compile
    monkeypatch.setattr(backends, "_MEMORY", {})
    llg_tokenizer(tok), tokenizer_hash(tok)  # once per tokenizer (~1.5 s), not per schema
    # CPU time of this process (every thread): the budget holds on a loaded test machine too
    t0 = time.process_time()
    loaded = load_schema(schema)
    t1 = time.process_time()
    m = compile_schema(loaded, tok)
    m.mask()
    took = time.process_time() - t1
    assert took < 1.0, took
    assert t1 - t0 < 3.0  # jsonschema's 2020-12 meta-schema check dominates loading
    assert m.backend == "llguidance"
    assert "$ref" in json.dumps(prepare_schema(loaded))
    value = {"p0": {"m0": 1, "r0": {"f0": "a"}, "many": [{"f0": "b", "f1": "c"}]}}
    assert walks(compile_schema(schema, tok), tok, value)
    assert not walks(compile_schema(schema, tok), tok, {"p0": {"r0": {"f0": 1}}})
    assert not walks(compile_schema(schema, tok), tok, {"p0": {"many": [{"f1": "c"}]}})
