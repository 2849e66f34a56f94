"""Local ``$ref``s: inlining, recursion, refusals, and THE sibling rule, pinned for decoding and
extraction alike and checked against ``jsonschema``."""

from __future__ import annotations

import jsonschema
import pytest

from prunestack.errors import SchemaError
from prunestack.pipeline.schema import (
    DRAFT_URIS,
    kept_beside_ref,
    load_schema,
    plan_fields,
    prepare_schema,
    validator,
)

DRAFT7 = DRAFT_URIS["7"]
CODE = {"type": "string", "maxLength": 3, "description": "target"}
BESIDE = {"$ref": "#/definitions/code", "$id": "http://other.example/c", "readOnly": True,
          "description": "beside", "title": "C", "maxLength": 1}


def test_local_refs_are_inlined_with_sibling_keywords():
    s = {"type": "object", "properties": {"p": {"$ref": "#/$defs/pt", "description": "x"},
                                          "q": {"$ref": "#/properties/p"}},
         "$defs": {"pt": {"type": "integer", "minimum": 0}}}
    out = prepare_schema(s)
    assert out["properties"]["p"] == {"type": "integer", "minimum": 0, "description": "x"}
    assert out["properties"]["q"]["minimum"] == 0
    assert "$defs" not in out  # no recursive pointer left: definitions dropped


def test_recursive_ref_is_kept_and_bare_cycles_are_refused():
    tree = {"type": "object", "properties": {"kids": {"type": "array",
                                                      "items": {"$ref": "#"}, "maxItems": 2}}}
    out = prepare_schema(tree)
    assert out["properties"]["kids"]["items"]["properties"]["kids"]["items"] == {"$ref": "#"}
    with pytest.raises(SchemaError, match="cycle"):
        prepare_schema({"type": "object", "properties": {"a": {"$ref": "#/$defs/d"}},
                        "$defs": {"d": {"$ref": "#/$defs/d"}}})
    with pytest.raises(SchemaError, match="points nowhere"):
        prepare_schema({"type": "object", "properties": {"a": {"$ref": "#/$defs/zzz"}}})
    with pytest.raises(SchemaError, match="is remote: schemas are never fetched"):
        prepare_schema({"type": "object", "properties": {"a": {"$ref": "http://x/y.json"}}})


@pytest.mark.parametrize("draft", ["4", "6", "7"])
def test_old_drafts_keep_annotations_beside_ref_but_not_id(draft):
    """Draft-4/6/7 validators ignore a ``$ref``'s siblings. Kept: meta-data annotations that
    cannot change what validates (``readOnly``, ``description``...). Dropped: ``$id`` (it
    would re-base the inlined target's own references; ``jsonschema`` ignores it here too) and
    every assertion (``maxLength``, ``type``)."""
    assert kept_beside_ref("readOnly", draft) and kept_beside_ref("description", draft)
    assert not kept_beside_ref("$id", draft) and not kept_beside_ref("maxLength", draft)
    assert not kept_beside_ref("type", draft)


@pytest.mark.parametrize("draft", ["2019-09", "2020-12"])
def test_new_drafts_apply_every_sibling(draft):
    for key in ("$id", "readOnly", "maxLength", "type"):
        assert kept_beside_ref(key, draft)


def test_decoder_and_extraction_read_a_draft7_ref_alike():
    schema = {"$schema": DRAFT7, "type": "object", "definitions": {"code": CODE},
              "properties": {"c": BESIDE}}
    want = {"type": "string", "maxLength": 3, "description": "beside", "readOnly": True,
            "title": "C"}
    assert prepare_schema(schema)["properties"]["c"] == want  # decoding
    (field,) = plan_fields(load_schema(schema))  # extraction
    assert field.schema == want and field.description == "beside"
    # and both agree with jsonschema, which ignores maxLength: 1 beside the $ref
    ref = jsonschema.Draft7Validator(schema)
    ours = validator(prepare_schema(schema))
    for value, ok in (("ab", True), ("abcd", False)):
        assert ref.is_valid({"c": value}) is ok
        assert ours.is_valid({"c": value}) is ok


def test_2020_siblings_apply_for_decoder_and_extraction():
    schema = {"type": "object", "$defs": {"code": CODE}, "properties": {"c": {
        "$ref": "#/$defs/code", "readOnly": True, "maxLength": 1}}}
    assert prepare_schema(schema)["properties"]["c"]["maxLength"] == 1
    (field,) = plan_fields(load_schema(schema))
    assert field.schema["maxLength"] == 1 and field.schema["readOnly"] is True
    assert not jsonschema.Draft202012Validator(schema).is_valid({"c": "ab"})
    assert not validator(prepare_schema(schema)).is_valid({"c": "ab"})


def test_a_draft7_root_ref_keeps_its_definitions_for_recursion():
    schema = {"$schema": DRAFT7, "$ref": "#/definitions/node", "definitions": {"node": {
        "type": "object", "properties": {"name": {"type": "string"},
                                         "kids": {"type": "array",
                                                  "items": {"$ref": "#/definitions/node"}}}}}}
    out = prepare_schema(schema, strict_objects=False)
    assert out["definitions"] and out["properties"]["kids"]["items"] == {
        "$ref": "#/definitions/node"}
    ok = {"name": "a", "kids": [{"name": "b", "kids": []}]}
    bad = {"name": "a", "kids": [{"name": 5}]}
    for inst, want in ((ok, True), (bad, False)):
        assert jsonschema.Draft7Validator(schema).is_valid(inst) is want
        assert validator(out).is_valid(inst) is want
