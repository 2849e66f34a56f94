"""One ``load_schema`` for everyone: every input form, every refusal, paths only when allowed."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field

from prunestack.errors import SchemaError
from prunestack.pipeline.schema import (
    DRAFT2020,
    DRAFT_URIS,
    LoadedSchema,
    load_schema,
    plan_fields,
    prepare_schema,
    require_object_root,
)

S = {"type": "object", "properties": {"a": {"type": "integer"}}}


class Invoice(BaseModel):
    number: str = Field(description="Invoice No")
    total: float | None = None


def test_every_form_loads_to_the_same_schema(tmp_path):
    f = tmp_path / "s.json"
    f.write_text(json.dumps(S))
    want = {"$schema": DRAFT2020, **S}  # the draft it was read as is recorded
    forms = [S, json.dumps(S), json.dumps(S).encode(), f, str(f),
             "\ufeff" + json.dumps(S), b"\xef\xbb\xbf" + json.dumps(S).encode(),
             json.dumps(S).encode("utf-16"), json.dumps(S).encode("utf-32-le")]
    for form in forms:
        got = load_schema(form)
        assert got == want and isinstance(got, LoadedSchema) and got.draft == "2020-12", form
    f.write_bytes(b"\xef\xbb\xbf" + json.dumps(S).encode())  # a Windows editor's BOM
    assert load_schema(f) == want


def test_a_pydantic_model_class_loads_its_json_schema():
    got = load_schema(Invoice)
    assert got == {"$schema": DRAFT2020, **Invoice.model_json_schema()}
    assert [f.name for f in plan_fields(got)] == ["number", "total"]


def test_loading_a_loaded_schema_is_free_and_the_draft_is_kept():
    s = load_schema(S)
    assert load_schema(s) is s and prepare_schema(s) == prepare_schema(S)
    old = load_schema({"type": "array", "items": [{"type": "integer"}]})  # only Draft-7 reads it
    assert old["$schema"] == DRAFT_URIS["7"] and old.draft == "7"
    declared = {"$schema": "https://json-schema.org/draft/2019-09/schema#", **S}
    assert load_schema(declared) == declared and load_schema(declared).draft == "2019-09"


@pytest.mark.parametrize("bad, match", [
    ('{"type": "object",', "not valid JSON"),
    (b"\xff\xfe\x00", "not UTF-8, UTF-16 or UTF-32 text"),
    (b"\x80abc", "not UTF-8, UTF-16 or UTF-32 text"),
    ("[1, 2]", "must be a JSON object"),
    ('"string"', "must be a JSON object"),
    (True, "JSON object"),
    ({"type": "objekt"}, "invalid JSON Schema"),
    ({"type": "object", "properties": {"a": {"minLength": -1}}}, "invalid JSON Schema at"),
    ({"$schema": "http://example.com/my-draft"}, "unsupported \\$schema"),
    ({"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
      "properties": {"a": {"type": "string", "minLength": "3"}}}, "invalid JSON Schema at"),
    ({"properties": {"a": {"pattern": "^(?=.*\\d)\\w+$"}}}, "a/pattern uses a lookahead"),
    ({"properties": {"a": {"pattern": "(?<x>a)\\k<x>"}}}, "backreference \\\\k<x>"),
    ({"required": ["b"], "properties": {"a": {}}, "additionalProperties": False}, "'b'"),
    ({"properties": {"a": {"$ref": "http://x/y.json"}}}, "at properties/a is remote"),
    ({"properties": {"a": {"$ref": "#party"}}}, "anchor the schema does not define"),
    ({"properties": {"a": {"$ref": "#/$defs/zzz"}}}, "points nowhere"),
    ({"properties": {"a": {"$ref": "#/$defs/d"}}, "$defs": {"d": {"$ref": "#/$defs/d"}}},
     "cycle"),
])
def test_bad_schemas_fail_clearly(bad, match):
    with pytest.raises(SchemaError, match=match):
        load_schema(bad)


def test_missing_file(tmp_path):
    with pytest.raises(SchemaError, match="schema file not found"):
        load_schema(tmp_path / "nope.json")
    with pytest.raises(SchemaError, match="schema file not found"):
        load_schema(str(tmp_path / "nope.json"))


def test_paths_are_refused_unread_when_not_allowed(tmp_path, monkeypatch):
    """What a network user sends is never a file name: a path is refused before the file is
    opened or even looked for (no existence oracle), whether or not it exists."""
    f = tmp_path / "s.json"
    f.write_text(json.dumps(S))
    assert load_schema(str(f)) == {"$schema": DRAFT2020, **S}  # the library reads it

    def no_disk(*a, **k):
        raise AssertionError("the file system was touched")

    from pathlib import Path

    for name in ("is_file", "exists", "read_bytes", "read_text", "open", "stat"):
        monkeypatch.setattr(Path, name, no_disk)
    for form in (str(f), f, str(tmp_path / "missing.json"), "  schema.json"):
        with pytest.raises(SchemaError, match="path is not accepted"):
            load_schema(form, allow_path=False)
    assert load_schema(json.dumps(S), allow_path=False) == {"$schema": DRAFT2020, **S}
    with pytest.raises(SchemaError, match="not valid JSON"):
        load_schema("/etc/passwd", allow_path=False)  # not a .json name: parsed as JSON text


def test_decoding_accepts_any_root_extraction_needs_an_object():
    arr = load_schema({"type": "array", "items": {"type": "integer"}})
    assert prepare_schema(arr)["type"] == "array"
    for bad in (arr, load_schema({"type": "object"}), load_schema({"$ref": "#/$defs/a",
                                                                   "$defs": {"a": {}}})):
        with pytest.raises(SchemaError, match="root must be an object"):
            require_object_root(bad)
        with pytest.raises(SchemaError, match="root must be an object"):
            plan_fields(bad)


def test_meta_check_fast_path_and_worded_violation(monkeypatch):
    """A valid schema is settled by jsonschema_rs alone (the Python meta-validator is not run);
    an invalid one is still refused with the Python validator's message naming the place, and
    an undeclared Draft-7 tuple schema still reads as Draft-7."""
    pytest.importorskip("jsonschema_rs")
    from prunestack.pipeline.schema import load as L

    def no_python(draft):
        raise AssertionError("the Python meta-validator ran for a valid schema")

    monkeypatch.setattr(L, "_meta_validator", no_python)
    assert L.check_metaschema({"type": "object", "properties": {"a": {"type": "integer"}}}
                              ) == "2020-12"
    monkeypatch.undo()
    with pytest.raises(SchemaError, match="properties/a/type"):
        L.check_metaschema({"type": "object", "properties": {"a": {"type": "integr"}}})
    assert L.check_metaschema({"type": "array", "items": [{"type": "integer"}]}) == "7"
