"""THE validator factory: the schema's own draft, formats checked, numbers read as decimals;
compared with ``jsonschema`` used the plain way wherever floats do not get in the way."""

from __future__ import annotations

import jsonschema
import pytest

from prunestack.pipeline.schema import (
    DRAFT_URIS,
    as_decimal,
    fits,
    load_schema,
    validation_errors,
    validator,
)


def _ours(schema, value) -> bool:
    return validator(schema).is_valid(as_decimal(value))


def test_the_draft_the_schema_declares_is_the_one_checked():
    d4 = {"$schema": DRAFT_URIS["4"], "type": "number", "minimum": 0, "exclusiveMinimum": True}
    assert not _ours(d4, 0) and _ours(d4, 0.5)
    d7 = {"$schema": DRAFT_URIS["7"], "type": "array", "items": [{"type": "integer"}],
          "additionalItems": False}
    assert _ours(d7, [1]) and not _ours(d7, [1, 2]) and not _ours(d7, ["x"])
    new = {"type": "array", "prefixItems": [{"type": "integer"}], "items": False}  # 2020-12
    assert _ours(new, [1]) and not _ours(new, [1, 2])
    # an undeclared Draft-7-only schema is read as Draft-7 once loaded
    assert not _ours(load_schema({"type": "array", "items": [{"type": "integer"}],
                                  "additionalItems": False}), [1, 2])


@pytest.mark.parametrize("fmt, good, bad", [
    ("date", "2024-02-29", "2023-02-29"),
    ("email", "a@example.com", "no-at-sign"),
    ("ipv4", "10.0.0.1", "10.0.0.256"),
    ("uuid", "6f9619ff-8b86-d011-b42d-00c04fc964ff", "6f9619ff"),
])
def test_formats_are_checked(fmt, good, bad):
    s = {"type": "string", "format": fmt}
    assert _ours(s, good) and not _ours(s, bad)
    ref = jsonschema.Draft202012Validator(s, format_checker=jsonschema.Draft202012Validator
                                          .FORMAT_CHECKER)
    assert ref.is_valid(good) and not ref.is_valid(bad)


def test_numbers_are_decimals():
    price = {"type": "number", "multipleOf": 0.01}
    assert _ours(price, 64.99) and not _ours(price, 64.995)
    assert not jsonschema.Draft202012Validator(price).is_valid(64.99)  # floats: why decimals
    for draft in ("6", "7", "2019-09", "2020-12"):  # 2.0 is an integer from Draft-6 on
        s = {"$schema": DRAFT_URIS[draft], "type": "integer"}
        assert _ours(s, 2.0) and _ours(s, 2) and not _ours(s, 2.5) and not _ours(s, True)
        assert jsonschema.validators.validator_for(s)(s).is_valid(2.0)
    d4 = {"$schema": DRAFT_URIS["4"], "type": "integer"}
    assert not _ours(d4, 2.0) and not jsonschema.Draft4Validator(d4).is_valid(2.0)


def test_validation_errors_name_the_path():
    s = {"type": "object", "required": ["n"], "properties": {
        "items": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}}}}}}
    errs = validation_errors({"items": [{"name": 5}]}, s)
    assert sorted(errs) == ["$: 'n' is a required property",
                            "items[0].name: 5 is not of type 'string'"]
    assert validation_errors({"n": 1, "items": []}, s) == []


def test_fits_checks_a_sub_schema_inside_its_root():
    root = load_schema({"$schema": DRAFT_URIS["7"], "type": "object",
                        "definitions": {"code": {"type": "string", "maxLength": 3}},
                        "properties": {"c": {"$ref": "#/definitions/code"}}})
    assert fits("ab", root["properties"]["c"], root)
    assert not fits("abcd", root["properties"]["c"], root)
    assert fits("anything", {"$ref": "http://elsewhere/x.json"}, root)  # the final check decides
