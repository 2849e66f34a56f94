"""The exact rewrites (``pipeline.schema.rewrites`` / ``negate``) and closing, checked against
``jsonschema`` itself: over a pool of instances, the prepared schema accepts exactly what the
original accepts (closed: never more, and still something), and what cannot be rewritten
exactly is left for the backends to refuse. Token-level walks: tests/decoding/test_schema_forms.py.
"""

from __future__ import annotations

import itertools

import pytest

from prunestack.pipeline.schema import DRAFT_URIS, prepare_schema, validator
from prunestack.pipeline.schema.negate import json_equal, negate

SCALARS = [None, True, False, 0, 1, 2, 3, 3.0, 3.5, -1, 10, "", "a", "foo", "fo", "foox", "bar",
           "x", "3"]
OBJECTS = [{}, {"a": 1}, {"b": 1}, {"a": 1, "b": 2}, {"a": "x"}, {"a": True}, {"a": False},
           {"a": True, "b": 1}, {"c": 1}, {"a": 1, "c": 2}, {"k": "a"}, {"k": "b", "y": "s"},
           {"k": "a", "x": 1}, {"k": "c"}, {"t": 1}, {"t": 2}, {"t": 1, "u": 0}, {"foo": 12},
           {"foo": 12, "bar": 1}, {"foo": 13}]
ARRAYS = [[], [1], [1, 2], [1.0, 2], [2, 1], [1, 1], [1, 2, 3], ["x"], ["x", "y"], ["x", "x"],
          ["y", "x", "y"], [True], [True, False], [True, True], ["w"]]
POOL = SCALARS + OBJECTS + ARRAYS

CASES = {
    "not_type": {"not": {"type": "string"}},
    "not_types": {"not": {"type": ["array", "object", "null"]}},
    "not_required": {"not": {"required": ["a", "b"]}},
    "not_enum_mixed": {"not": {"enum": [6, "foo", [], True, {"foo": 12}]}},
    "not_const_array": {"not": {"const": [1, 2]}},
    "not_const_object": {"not": {"const": {"a": True}}},
    "not_not": {"not": {"not": {"type": "integer", "minimum": 2}}},
    "not_allof_required": {"not": {"allOf": [{"required": ["a"]}, {"required": ["b"]}]}},
    "not_anyof": {"not": {"anyOf": [{"type": "string"}, {"minimum": 2}]}},
    "not_properties": {"not": {"properties": {"a": {"type": "string"}}}},
    "not_bounds": {"not": {"minLength": 2, "maxItems": 1}},
    "dependent_required": {"dependentRequired": {"a": ["b"]}},
    "dependent_schemas": {"dependentSchemas": {"a": {"properties": {"b": {"const": 2}}}}},
    "dependencies_draft7": {"$schema": DRAFT_URIS["7"], "dependencies": {"c": ["a"]}},
    "oneof_types": {"oneOf": [{"type": "string"}, {"type": "number"}]},
    "oneof_discriminator": {"oneOf": [
        {"properties": {"k": {"const": "a"}}, "required": ["k"]},
        {"properties": {"k": {"const": "b"}}, "required": ["k"]}]},
    "oneof_overlap": {"oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
    "oneof_values": {"oneOf": [{"enum": [1, 2]}, {"type": "string"}, {"const": None}]},
    "unique_enum": {"type": "array", "items": {"enum": ["x", "y"]}, "uniqueItems": True},
    "unique_bool": {"type": "array", "items": {"type": "boolean"}, "uniqueItems": True},
    "unique_in_enum": {"enum": [[1, 1], [1, 2], "x"], "uniqueItems": True},
}


@pytest.mark.parametrize("name", list(CASES))
def test_rewrite_is_exact_over_the_pool(name):
    schema = CASES[name]
    prepared = prepare_schema(schema)
    for kw in ("not", "dependentRequired", "dependentSchemas", "dependencies", "oneOf",
               "uniqueItems"):
        assert kw not in str(prepared), (kw, prepared)  # rewritten, not left for refusal
    ref, ours = validator(schema), validator(prepared)
    verdicts = [ref.is_valid(v) for v in POOL]
    assert any(verdicts) and not all(verdicts)  # the pool tells the languages apart
    for value, want in zip(POOL, verdicts, strict=True):
        assert ours.is_valid(value) == want, (value, prepared)


@pytest.mark.parametrize("schema", [
    {"not": {"pattern": "^a"}},
    {"not": {"type": "integer"}},
    {"not": {"enum": [[1], [2]]}},
    {"oneOf": [{"type": "string", "pattern": "^a"}, {"type": "string", "pattern": "b$"}]},
    {"oneOf": [{"type": "integer"}, {"type": "number"}]},
    {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
    {"type": ["array", "null"], "items": {"enum": [1, 2]}, "uniqueItems": True},
])
def test_inexact_forms_are_left_for_refusal(schema):
    prepared = prepare_schema(schema)
    assert any(k in prepared for k in ("not", "oneOf", "uniqueItems")), prepared


def test_negate_is_a_complement():
    for schema in ({"type": "boolean"}, {"const": 3}, {"enum": ["a", "ab", ""]},
                   {"required": ["a"]}, {"maximum": 2}, {"minItems": 2}):
        neg = negate(schema)
        ref, comp = validator(schema), validator(neg)
        for value in POOL:
            assert comp.is_valid(value) != ref.is_valid(value), (schema, value)


def test_json_equality_is_json_schema_equality():
    assert json_equal(1, 1.0) and not json_equal(True, 1) and not json_equal(0, False)
    assert json_equal({"a": [1, 2.0]}, {"a": [1.0, 2]}) and not json_equal([1], [1, 1])


def test_closing_narrows_and_keeps_every_named_key_combination():
    schemas = [
        {"type": "object", "allOf": [
            {"properties": {"x": {"type": "integer"}}, "required": ["x"]},
            {"oneOf": [{"properties": {"y": {"const": 1}}, "required": ["y"]},
                       {"properties": {"z": {"const": 2}}, "required": ["z"]}]}]},
        {"type": "object", "properties": {"a": {}}, "anyOf": [{"properties": {"b": {}}},
                                                             {"required": ["c"]}]},
        {"type": "object", "properties": {"one": {"$ref": "#/$defs/i"},
                                          "two": {"allOf": [{"$ref": "#/$defs/i"},
                                                            {"properties": {"e": {}}}]}},
         "$defs": {"i": {"type": "object", "properties": {"n": {}}}}},
        {"type": "object", "oneOf": [{"properties": {"a": {}}, "required": ["a"]},
                                     {"properties": {"b": {}}, "required": ["b"]}]},
    ]
    values = [{}, {"x": 1, "y": 1}, {"x": 1, "z": 2}, {"x": 1, "y": 1, "w": 0},
              {"a": 1}, {"a": 1, "b": 1}, {"a": 1, "c": 1}, {"a": 1, "zz": 1},
              {"one": {"n": 1}}, {"two": {"n": 1, "e": 2}}, {"one": {"n": 1, "e": 2}},
              {"b": 1}, {"b": 1, "q": 1}]
    for schema in schemas:
        ref, closed = validator(schema), validator(prepare_schema(schema, closed=True))
        accepted = [v for v in values if closed.is_valid(v)]
        assert accepted, schema  # never unsatisfiable
        assert all(ref.is_valid(v) for v in accepted), schema  # only narrows
    # every key combination the schema names stays valid; other keys do not
    want = [([{"x": 1, "y": 1}, {"x": 1, "z": 2}], [{"x": 1, "y": 1, "w": 0}]),
            ([{"a": 1}, {"a": 1, "b": 1}, {"a": 1, "c": 1}], [{"a": 1, "zz": 1}]),
            ([{"one": {"n": 1}}, {"two": {"n": 1, "e": 2}}], [{"one": {"z": 1}}]),
            ([{"a": 1}, {"b": 1}], [{"a": 1, "b": 1}, {"b": 1, "q": 1}])]
    for schema, (good, bad) in zip(schemas, want, strict=True):
        closed = validator(prepare_schema(schema, closed=True))
        assert all(closed.is_valid(v) for v in good), schema
        assert not any(closed.is_valid(v) for v in bad), schema


def test_unique_items_lists_every_unique_array():
    out = prepare_schema({"type": "array", "items": {"enum": ["x", "y", "z"]},
                          "uniqueItems": True, "minItems": 1})
    assert len(out["enum"]) == 3 + 6 + 6
    assert all(len({str(x) for x in a}) == len(a) for a in out["enum"])
    assert [list(p) for p in itertools.permutations("xyz", 3)] == out["enum"][-6:]
