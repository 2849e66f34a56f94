"""Schema planning, coercion and the always-valid guarantee (checked with jsonschema)."""

from __future__ import annotations

import jsonschema
import pytest

from prunestack.errors import SchemaError
from prunestack.pipeline.schema import conform, load_schema, plan_fields, validation_errors
from tests.extract.docs import INVOICE_SCHEMA

REF_SCHEMA = {
    "type": "object",
    "definitions": {"money": {"type": "number", "description": "an amount"}},
    "properties": {
        "total": {"$ref": "#/definitions/money"},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "kind": {"enum": ["a", "b"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "party": {"type": "object", "properties": {"name": {"type": "string"}},
                  "required": ["name"]},
    },
    "required": ["total", "note", "kind", "tags", "party"],
    "additionalProperties": False,
}


def test_plan_fields_flattens_and_resolves_refs():
    fields = {f.dotted: f for f in plan_fields(REF_SCHEMA)}
    assert set(fields) == {"total", "note", "kind", "tags", "party.name"}
    assert fields["total"].type == "number" and fields["total"].description == "an amount"
    assert fields["note"].nullable and fields["note"].type == "string"
    assert fields["kind"].enum == ["a", "b"]
    assert fields["tags"].item_type == "string"
    assert "party name" in fields["party.name"].descriptor()
    items = {f.dotted: f for f in plan_fields(INVOICE_SCHEMA)}["line_items"].items
    assert [i.name for i in items] == ["description", "quantity", "unit_price", "amount"]


def test_conform_fills_and_reports_missing_required():
    data, missing = conform({"total": "12.5", "extra": 1}, REF_SCHEMA)
    jsonschema.validate(data, REF_SCHEMA)
    assert data["total"] == 12.5 and data["note"] is None and "extra" not in data
    assert {m["path"] for m in missing} == {"kind", "tags", "party.name"}
    data, missing = conform({}, REF_SCHEMA, fill_required=False)
    assert validation_errors(data, REF_SCHEMA)  # nothing invented: invalid, and reported
    assert {m["path"] for m in missing} >= {"total", "kind", "party.name"}


def test_conform_coerces_types_or_drops():
    schema = {"type": "object", "properties": {
        "n": {"type": "integer"}, "b": {"type": "boolean"}, "s": {"type": "string"},
        "e": {"type": "string", "enum": ["EUR", "USD"]}}}
    data, _ = conform({"n": "12", "b": "yes", "s": 5, "e": "eur"}, schema)
    assert data == {"n": 12, "b": True, "s": "5", "e": "EUR"}
    data, _ = conform({"n": 2.5, "e": "JPY"}, schema)
    assert data == {}


def test_bad_schemas_raise_schema_error():
    for bad in ('{"type": "object"', {"type": "array"}, {"type": "object", "properties": {
            "a": {"type": "wat"}}}, {"type": "object", "properties": {"a": {"$ref": "http://x"}}}):
        with pytest.raises(SchemaError):
            plan_fields(load_schema(bad))
