"""The decoder's form: Draft-4/7 rewrites, closed objects, formats as patterns, hashing, and
what each backend enforces."""

from __future__ import annotations

from prunestack.pipeline.schema import (
    closing_budget,
    formats_as_patterns,
    prepare_schema,
    schema_hash,
    unsupported_keywords,
)


def test_draft7_tuple_items_and_definitions():
    s = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "array",
         "items": [{"type": "integer"}, {"$ref": "#/definitions/s"}], "additionalItems": False,
         "definitions": {"s": {"type": "string"}}}
    out = prepare_schema(s)
    assert out["prefixItems"] == [{"type": "integer"}, {"$ref": "#/definitions/s"}]
    assert out["definitions"] == {"s": {"type": "string"}}  # references stay references
    assert out["items"] is False and "additionalItems" not in out


def test_closed_objects_name_every_key_of_the_location():
    s = {"type": "object", "properties": {"a": {"type": "object", "properties": {}}},
         "allOf": [{"properties": {"b": {}}}]}
    out = prepare_schema(s, closed=True)
    assert out["additionalProperties"] is False
    assert set(out["properties"]) == {"a", "b"}  # the allOf member's key stays allowed
    assert out["properties"]["a"]["additionalProperties"] is False
    assert "additionalProperties" not in out["allOf"][0]
    assert "additionalProperties" not in prepare_schema(s)  # faithful by default


def test_unsupported_keywords_are_named_per_backend():
    s = prepare_schema({"type": "object", "properties": {
        "n": {"type": "integer", "minimum": 1}, "t": {"type": "array", "uniqueItems": True},
        "e": {"type": "string", "format": "email"}}})
    assert unsupported_keywords(s, "llguidance") == ["uniqueItems"]  # items of any string
    assert unsupported_keywords(s, "outlines") == ["minimum", "uniqueItems", "format: email"]


def test_hash_is_canonical():
    assert schema_hash({"a": 1, "b": [1, 2]}) == schema_hash({"b": [1, 2], "a": 1})
    assert schema_hash({"a": 1}) != schema_hash({"a": 2})


def test_closing_budget_grows_with_structure():
    small = closing_budget({"type": "object", "properties": {"a": {"type": "integer"}}})
    big = closing_budget({"type": "object", "properties": {
        "a": {"type": "integer"}, "b": {"type": "string", "format": "date-time"},
        "c": {"type": "array", "items": {"type": "string"}, "minItems": 3}}})
    assert 0 < small < big


def test_format_patterns_only_produce_valid_calendar_values():
    import re

    import jsonschema

    pat = formats_as_patterns({"type": "string", "format": "date"})["pattern"]
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    for good in ("2024-02-28", "1999-12-31", "2000-04-30"):
        assert re.fullmatch(pat.strip("^$"), good) and checker.conforms(good, "date")
    for bad in ("2024-02-30", "2024-04-31", "0000-01-01", "2024-13-01"):
        assert not re.fullmatch(pat.strip("^$"), bad)


def test_properties_named_like_keywords_are_properties():
    # a property called "format" (or any keyword name) is a name in a map, not a keyword: the
    # normalisation passes crashed on a dict "format" and dropped a boolean one
    s = {"type": "object", "properties": {"format": {"type": "string", "format": "date"},
                                          "pattern": True, "items": {"type": "integer"}},
         "required": ["format", "pattern"]}
    out = prepare_schema(s)
    assert set(out["properties"]) == {"format", "pattern", "items"}
    assert out["properties"]["format"] == {"type": "string", "format": "date"}
    assert out["properties"]["pattern"] is True
    fixed = formats_as_patterns(out)["properties"]
    assert set(fixed) == {"format", "pattern", "items"}
    assert "format" not in fixed["format"] and fixed["format"]["pattern"]  # date → pattern
