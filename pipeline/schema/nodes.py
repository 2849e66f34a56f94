"""Reading one sub-schema the way planning and conformance need it.

What it does: ``resolve`` follows local ``$ref`` pointers (siblings kept as
:func:`.refs.kept_beside_ref` says) and merges ``allOf`` parts; ``alternatives`` lists the
non-null branches of a node (``anyOf``/``oneOf`` members, or one per member of a type list) and
whether null is allowed; ``norm`` reduces a node to its first non-null branch, ``null`` kept in
its type when the union allowed it; ``main_type`` names the JSON type a node describes, inferred
from its keywords when ``type`` is absent. ``true``/``false`` sub-schemas read as ``{}`` and
``{"not": {}}``.

What it does not do: inline a whole schema (:func:`.refs.resolve_refs`, for decoders), validate
values (:mod:`.validate`) or plan fields (:mod:`.fields`).
"""

from __future__ import annotations

from typing import Any

from prunestack.errors import SchemaError
from prunestack.pipeline.schema.drafts import declared_draft
from prunestack.pipeline.schema.refs import kept_beside_ref, resolve_pointer

MAX_SCHEMA_DEPTH = 16


def as_node(node: Any) -> dict[str, Any]:
    """Boolean sub-schemas as dicts: ``true`` → ``{}``, ``false`` → ``{"not": {}}``."""
    if node is False:
        return {"not": {}}
    return node if isinstance(node, dict) else {}


def resolve(node: Any, root: dict[str, Any], depth: int = 0,
            refs: list[str] | None = None) -> dict[str, Any]:
    """Follow local ``$ref`` pointers and merge ``allOf`` parts; ``refs`` collects the pointers
    followed (recursion detection)."""
    node = as_node(node)
    while "$ref" in node:
        if depth > MAX_SCHEMA_DEPTH:
            raise SchemaError("schema $ref chain too deep or recursive")
        ref = node["$ref"]
        target = as_node(resolve_pointer(root, ref))
        if refs is not None:
            refs.append(ref)
        draft = declared_draft(root)
        node = {**target, **{k: v for k, v in node.items()
                             if k != "$ref" and kept_beside_ref(k, draft)}}
        depth += 1
    if isinstance(node.get("allOf"), list):
        if depth > MAX_SCHEMA_DEPTH:
            raise SchemaError("schema allOf/$ref nesting too deep or recursive")
        out = {k: v for k, v in node.items() if k != "allOf"}
        for part in node["allOf"]:
            part = resolve(part, root, depth + 1, refs)
            for k, v in part.items():
                if k == "properties" and isinstance(v, dict):
                    props = dict(out.get("properties", {}))
                    for name, sub in v.items():
                        props[name] = {"allOf": [props[name], sub]} if name in props else sub
                    out["properties"] = props
                elif k == "required" and isinstance(v, list):
                    out["required"] = list(dict.fromkeys([*out.get("required", []), *v]))
                elif k not in out:
                    out[k] = v
        node = out
    return node


def is_null(node: dict[str, Any]) -> bool:
    """Whether a resolved node allows only ``null``."""
    t = node.get("type")
    return t == "null" or t == ["null"] or ("const" in node and node["const"] is None) or \
        node.get("enum") == [None]


def alternatives(node: dict[str, Any], root: dict[str, Any]) -> tuple[list[dict], bool]:
    """The non-null branches of a node (``anyOf``/``oneOf`` members, or one per type of a
    type list), each resolved, and whether null is allowed."""
    for key in ("anyOf", "oneOf"):
        subs = node.get(key)
        if isinstance(subs, list):
            res = [resolve(s, root) for s in subs]
            real = [s for s in res if not is_null(s)]
            rest = {k: v for k, v in node.items() if k != key}
            alts = [a for r in real for a in alternatives({**r, **{
                k: v for k, v in rest.items() if k not in r}}, root)[0]]
            return alts, len(real) < len(res) or ("type" in rest and main_type(rest)[1])
    t = node.get("type")
    if isinstance(t, list):
        real = [x for x in t if x != "null"]
        return [{**node, "type": x} for x in real] or [node], "null" in t
    return [node], main_type(node)[1]


def norm(node: Any, root: dict[str, Any], refs: list[str] | None = None) -> dict[str, Any]:
    """A sub-schema resolved and reduced to its first non-null branch, with ``null`` kept in
    its type when the union allowed null."""
    node = resolve(node, root, refs=refs)
    if not any(isinstance(node.get(k), list) for k in ("anyOf", "oneOf")):
        return node
    alts, nullable = alternatives(node, root)
    if not alts or alts == [node]:
        return node
    first = alts[0]  # already resolved by alternatives
    out = {k: v for k, v in first.items() if k not in ("anyOf", "oneOf")}
    if nullable:
        t, _ = main_type(first)
        out["type"] = [t, "null"]
    return out


def main_type(node: dict[str, Any]) -> tuple[str, bool]:
    """(main type, nullable) of a resolved schema node."""
    t = node.get("type")
    nullable = False
    if isinstance(t, list):
        nullable = "null" in t
        rest = [x for x in t if x != "null"]
        t = rest[0] if rest else "null"
    if t is None:
        if "const" in node:
            t = json_type(node["const"])
        elif any(k in node for k in ("properties", "additionalProperties", "patternProperties",
                                     "required", "minProperties", "dependentRequired")):
            t = "object"
        elif any(k in node for k in ("items", "prefixItems", "minItems", "maxItems")):
            t = "array"
        elif "enum" in node:
            vals = [v for v in node["enum"] if v is not None]
            nullable = nullable or None in node["enum"]
            t = json_type(vals[0]) if vals else "null"
        elif any(k in node for k in ("minimum", "maximum", "exclusiveMinimum",
                                     "exclusiveMaximum", "multipleOf")):
            t = "number"
        else:
            t = "string"
    return str(t), nullable


def json_type(v: Any) -> str:
    """The JSON type of a Python value parsed from JSON."""
    return {bool: "boolean", int: "integer", float: "number", dict: "object", list: "array",
            type(None): "null"}.get(type(v), "string")
