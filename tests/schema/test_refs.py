"""Local ``$ref``s: kept as references by ``prepare_schema`` (inlined only for outlines),
recursion, refusals, and THE sibling rule, pinned for decoding and extraction alike and checked
against ``jsonschema``."""

from __future__ import annotations

import jsonschema
import pytest

from prunestack.errors import SchemaError
from prunestack.pipeline.schema import (
    DRAFT_URIS,
    kept_beside_ref,
    load_schema,
    localize_refs,
    meta_draft,
    no_io_registry,
    plan_fields,
    prepare_schema,
    resolve_refs,
    validation_errors,
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
    out = resolve_refs(load_schema(s))  # the outlines backend's form
    assert out["properties"]["p"] == {"type": "integer", "minimum": 0, "description": "x"}
    assert out["properties"]["q"]["minimum"] == 0
    assert "$defs" not in out  # no recursive pointer left: definitions dropped
    kept = prepare_schema(s)  # every other backend compiles the references as rules
    assert kept["properties"]["p"] == {"$ref": "#/$defs/pt", "description": "x"}
    assert kept["$defs"] == s["$defs"]


def test_recursive_ref_is_kept_and_bare_cycles_are_refused():
    tree = {"type": "object", "properties": {"kids": {"type": "array",
                                                      "items": {"$ref": "#"}, "maxItems": 2}}}
    out = resolve_refs(load_schema(tree))
    assert out["properties"]["kids"]["items"]["properties"]["kids"]["items"] == {"$ref": "#"}
    assert prepare_schema(tree)["properties"]["kids"]["items"] == {"$ref": "#"}
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
    assert resolve_refs(load_schema(schema))["properties"]["c"] == want  # outlines
    assert prepare_schema(schema)["properties"]["c"] == {  # other decoders: maxLength dropped
        "$ref": "#/definitions/code", "description": "beside", "readOnly": True, "title": "C"}
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
    out = prepare_schema(schema)
    assert out["definitions"]["node"]["properties"]["kids"]["items"] == {
        "$ref": "#/definitions/node"}
    ok = {"name": "a", "kids": [{"name": "b", "kids": []}]}
    bad = {"name": "a", "kids": [{"name": 5}]}
    for inst, want in ((ok, True), (bad, False)):
        assert jsonschema.Draft7Validator(schema).is_valid(inst) is want
        assert validator(out).is_valid(inst) is want


# ------------------------------------------------------------------ references inside the document
D4, D2019 = DRAFT_URIS["4"], DRAFT_URIS["2019-09"]

#: name → (schema, instances): each loaded schema must judge every instance as stock jsonschema
#: judges the schema as written (with a registry that never fetches)
INSIDE = {
    "nested_ids": ({"$id": "http://ex.com/root.json", "type": "object", "properties": {
        "a": {"$id": "http://ex.com/sub/a.json", "$defs": {"x": {"type": "integer"}},
              "type": "object", "properties": {"q": {"$ref": "#/$defs/x"},
                                               "r": {"$ref": "b.json"}}},
        "b": {"$id": "sub/b.json", "type": "string", "maxLength": 2}}},
        [{"a": {"q": 1, "r": "ab"}}, {"a": {"q": "x"}}, {"a": {"r": "abc"}}, {"b": "abc"}]),
    "nested_id_without_root_id": ({"type": "object", "properties": {"a": {
        "$id": "http://ex.com/a.json", "$defs": {"x": {"type": "integer"}},
        "properties": {"q": {"$ref": "#/$defs/x"}}}}}, [{"a": {"q": 1}}, {"a": {"q": "s"}}]),
    "anchor": ({"$defs": {"party": {"$anchor": "party", "type": "object",
                                    "properties": {"name": {"type": "string"}}}},
                "type": "object", "properties": {"seller": {"$ref": "#party"}}},
               [{"seller": {"name": "x"}}, {"seller": {"name": 1}}]),
    "draft7_id_anchor": ({"$schema": DRAFT7, "type": "object",
                          "definitions": {"p": {"$id": "#pp", "type": "integer"}},
                          "properties": {"a": {"$ref": "#pp"}}},
                         [{"a": 1}, {"a": "x"}]),
    "draft4_id": ({"$schema": D4, "id": "http://ex.com/r.json", "type": "object", "properties": {
        "a": {"id": "s/a.json", "definitions": {"x": {"type": "integer"}},
              "properties": {"q": {"$ref": "#/definitions/x"}}}}},
        [{"a": {"q": 1}}, {"a": {"q": "s"}}]),
    "own_id": ({"$id": "http://ex.com/root.json", "definitions": {"x": {"type": "integer"}},
                "type": "object", "properties": {
                    "a": {"$ref": "http://ex.com/root.json#/definitions/x"},
                    "b": {"$ref": "root.json#/definitions/x"}}},
               [{"a": 1, "b": 2}, {"a": "x"}, {"b": "y"}]),
    "escapes_under_nested_id": ({"$id": "http://ex.com/r", "type": "object", "properties": {"a": {
        "$id": "http://ex.com/s",
        "$defs": {"a/b": {"type": "integer"}, "per%cent": {"type": "string"},
                  "t~x": {"type": "boolean"}},
        "properties": {"q": {"$ref": "#/$defs/a~1b"}, "r": {"$ref": "#/$defs/per%25cent"},
                       "s": {"$ref": "#/$defs/t~0x"}}}}},
        [{"a": {"q": 1, "r": "x", "s": True}}, {"a": {"q": "x"}}, {"a": {"r": 1}},
         {"a": {"s": 1}}]),
    "pointer_into_a_nested_resource": ({"type": "object", "$defs": {"s": {
        "$id": "http://ex.com/s", "$defs": {"y": {"type": "integer"}},
        "properties": {"z": {"$ref": "#/$defs/y"}}}},
        "properties": {"a": {"$ref": "#/$defs/s/properties/z"}}}, [{"a": 1}, {"a": "x"}]),
    "boolean_target": ({"$defs": {"t": False}, "type": "object",
                        "properties": {"a": {"$ref": "#/$defs/t"}}}, [{"a": 1}, {}]),
    "dynamic_tree": ({"$id": "https://ex.com/tree", "$dynamicAnchor": "node", "type": "object",
                      "properties": {"data": True, "children": {
                          "type": "array", "items": {"$dynamicRef": "#node"}}}},
                     [{"children": [{"children": []}]}, {"children": [1]}]),
}


@pytest.mark.parametrize("name", list(INSIDE))
def test_references_resolve_inside_the_document_as_jsonschema_reads_them(name):
    schema, instances = INSIDE[name]
    loaded = load_schema(schema)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    ref = cls(schema, registry=no_io_registry(schema))
    for inst in instances:
        assert validator(loaded).is_valid(inst) is ref.is_valid(inst), (name, inst)
    if "$dynamicRef" not in str(schema):  # the rest only meet root pointers afterwards
        refs = _keyed(loaded, "$ref")
        nested_ids = [i for k in ("$id", "id") for i in _keyed(
            {kk: v for kk, v in loaded.items() if kk != k}, k)]  # the root's own id stays
        assert all(r == "#" or r.startswith("#/") for r in refs), refs
        assert all(i.startswith("#") for i in nested_ids), nested_ids  # anchors may stay
        prepare_schema(loaded)  # the inliner and the field planner read it
        plan_fields(loaded)


def _keyed(node, key: str) -> list:
    """Every value of ``key`` in a schema, root first (property names are not keys)."""
    if isinstance(node, list):
        return [x for v in node for x in _keyed(v, key)]
    if not isinstance(node, dict):
        return []
    out = [node[key]] if isinstance(node.get(key), str) else []
    for k, v in node.items():
        if k in ("properties", "$defs", "definitions") and isinstance(v, dict):
            out += [x for sub in v.values() for x in _keyed(sub, key)]
        elif k not in ("enum", "const", "default", "examples"):
            out += _keyed(v, key)
    return out


def test_anchors_and_nested_ids_become_root_pointers():
    schema, _ = INSIDE["nested_ids"]
    out = localize_refs({"$schema": DRAFT_URIS["2020-12"], **schema})
    assert out["properties"]["a"]["properties"] == {
        "q": {"$ref": "#/properties/a/$defs/x"}, "r": {"$ref": "#/properties/b"}}
    assert "$id" not in out["properties"]["a"] and out["$id"] == "http://ex.com/root.json"
    assert schema["properties"]["a"]["$id"] == "http://ex.com/sub/a.json"  # input untouched
    anchor = load_schema(INSIDE["anchor"][0])
    assert anchor["properties"]["seller"] == {"$ref": "#/$defs/party"}
    escaped = load_schema(INSIDE["escapes_under_nested_id"][0])["properties"]["a"]["properties"]
    assert escaped["q"]["$ref"] == "#/properties/a/$defs/a~1b"
    assert escaped["r"]["$ref"] == "#/properties/a/$defs/per%25cent"
    plain = {"$schema": DRAFT_URIS["2020-12"], "type": "object",
             "properties": {"a": {"$ref": "#/$defs/x"}}, "$defs": {"x": {"type": "string"}}}
    assert localize_refs(plain) is plain  # nothing to rewrite: the same object
    dynamic = {"$schema": DRAFT_URIS["2020-12"], **INSIDE["dynamic_tree"][0]}
    assert localize_refs(dynamic) is dynamic  # dynamic targets need the $ids: kept as written


def test_a_recursive_reference_under_a_nested_id_stays_a_root_pointer_for_decoders():
    schema = {"type": "object", "properties": {"tree": {
        "$id": "https://ex.com/tree.json", "type": "object",
        "properties": {"name": {"type": "string"},
                       "kids": {"type": "array", "items": {"$ref": "#"}, "maxItems": 2}}}}}
    out = prepare_schema(schema)
    kids = out["properties"]["tree"]["properties"]["kids"]["items"]
    assert kids == {"$ref": "#/properties/tree"}
    ok = {"tree": {"name": "a", "kids": [{"name": "b", "kids": []}]}}
    bad = {"tree": {"name": "a", "kids": [{"name": 5}]}}
    ref = jsonschema.Draft202012Validator(schema, registry=no_io_registry(schema))
    for inst, want in ((ok, True), (bad, False)):
        assert ref.is_valid(inst) is want
        assert validator(out).is_valid(inst) is want


@pytest.mark.parametrize(("schema", "match"), [
    ({"type": "object", "$ref": "#"}, r"cycle that never reaches a value: \(root\) -> \(root\)"),
    ({"allOf": [{"$ref": "#"}]}, r"cycle .*\(root\) -> allOf/0 -> \(root\)"),
    ({"properties": {"a": {"if": {"$ref": "#/properties/a"}}}}, "cycle"),
    ({"properties": {"a": {"$ref": "#/$defs/b"}}, "$defs": {"b": {"not": {"$ref": "#/$defs/b"}}}},
     "cycle"),
    ({"$dynamicAnchor": "a", "allOf": [{"$ref": "#/$defs/x"}], "$defs": {"x": {
        "$id": "http://ex.com/x", "$dynamicAnchor": "a", "$dynamicRef": "#a"}}}, "cycle"),
    ({"type": "object", "default": {"type": "integer"}, "properties": {"a": {"$ref": "#/default"}}},
     r"'#/default' at properties/a points into enum/const/default/examples data"),
    ({"type": "object", "required": ["a"], "properties": {"a": {"$ref": "#/required"}}},
     "points at a list, not at a schema"),
    ({"allOf": [{}], "properties": {"a": {"$ref": "#/allOf/x"}}}, "cannot be resolved inside"),
    ({"properties": {"a": {"$id": "http://[::1", "type": "string"}}},
     r"\$id 'http://\[::1' at properties/a is not a URI reference"),
    ({"properties": {"a": {"$ref": "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"}}},
     "at properties/a is remote"),
    ({"properties": {"a": {"$ref": "other.json"}}},
     "'other.json' at properties/a names a document this schema does not define"),
    ({"$schema": D2019, "properties": {"a": {"$recursiveRef": "#/x"}}}, "must be '#'"),
    ({"type": "object", "x-a": {"$ref": 5}}, r"\$ref at x-a must be a string"),
])
def test_references_that_cannot_be_read_inside_the_document_are_refused(schema, match):
    with pytest.raises(SchemaError, match=match):
        load_schema(schema)


def test_recursion_through_a_value_and_ignored_draft7_siblings_are_not_cycles():
    load_schema({"type": "object",
                 "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}}})
    load_schema({"$schema": DRAFT7, "definitions": {"a": {"type": "object"}},
                 "$ref": "#/definitions/a", "allOf": [{"$ref": "#"}]})  # siblings ignored


def test_meta_draft_only_reads_json_schema_org_uris():
    assert meta_draft("http://json-schema.org/draft-07/schema") == "7"
    assert meta_draft("https://json-schema.org/draft-07/schema#") == "7"
    assert meta_draft("http://json-schema.org/draft-04/hyper-schema#") == "4"
    assert meta_draft("https://json-schema.org/draft/2020-12/schema/") == "2020-12"
    for uri in ("http://127.0.0.1:8080/draft-07/schema#", "file:///draft-07/schema",
                "http://json-schema.org/draft-07/other"):
        with pytest.raises(SchemaError, match="unsupported"):
            meta_draft(uri)


def test_validating_a_raw_schema_with_a_foreign_reference_is_an_error_not_a_crash():
    with pytest.raises(SchemaError, match="cannot be resolved inside it"):
        validation_errors({"a": 1}, {"properties": {"a": {"$ref": "http://ex.invalid/x.json"}}})


def test_a_relative_root_id_resolves_its_anchors_and_own_name():
    """``referencing`` registers a relative root ``$id`` under a doubled path and then misses
    the root's anchors (stock ``jsonschema`` raises on ``#xx`` here); the loaded schema reads
    them against a base that never resolves on any network, and validates."""
    schema = {"$id": "schemas/root.json", "type": "object",
              "$defs": {"x": {"$anchor": "xx", "type": "integer"}},
              "properties": {"a": {"$ref": "#xx"}, "b": {"$ref": "root.json#/$defs/x"}}}
    loaded = load_schema(schema)
    assert loaded["properties"] == {"a": {"$ref": "#/$defs/x"}, "b": {"$ref": "#/$defs/x"}}
    assert validation_errors({"a": 1, "b": 2}, loaded) == []
    assert len(validation_errors({"a": "s", "b": "t"}, loaded)) == 2
