"""JSON Schema handling for extraction: checking a user's schema and planning the fields to find.

``load_schema`` parses a schema and refuses, with a message naming the problem, invalid ones (at
the failing keyword's path), unknown ``$schema`` drafts, remote ``$ref``s, anchors and pointers
that lead nowhere, and roots that are not objects. ``plan_fields(schema)`` walks the object
schema (local ``$ref`` resolved, JSON-pointer escapes and ``%``-encoding included; ``allOf``
merged; ``anyOf``/``oneOf`` with ``null`` read as "nullable"; ``true``/``false``/``{}``
sub-schemas; recursion stopped where a ``$ref`` repeats; ``const`` values not searched) into the
leaves an engine must find: scalar fields, nested objects (flattened to dotted paths), arrays of
scalars and arrays of objects (line items). Making data valid against the schema (coercion,
stand-ins, the missing report) is :mod:`pipeline.extract.conformance`. This module does not read
documents and does not fetch remote ``$ref``s.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from prunestack.errors import SchemaError
from prunestack.pipeline.schema.prepare import VALUE_KEYWORDS, resolve_pointer

SCALAR_TYPES = ("string", "number", "integer", "boolean")
# ISO 4217 codes a field name or label may carry as its unit ("total_gbp", "Total (EUR)").
ISO_CURRENCIES = frozenset(
    "USD EUR GBP JPY CHF CAD AUD NZD CNY INR BRL MXN SEK NOK DKK PLN CZK HUF SGD HKD MYR "
    "ZAR KRW TRY RUB AED SAR THB IDR PHP VND".split()
)
MAX_SCHEMA_DEPTH = 16


@dataclass
class FieldSpec:
    """One leaf (or one array) the engine has to fill."""

    path: tuple[str | int, ...]
    name: str
    description: str
    type: str  # string | number | integer | boolean | array | object
    format: str | None = None
    enum: list[Any] | None = None
    nullable: bool = False
    required: bool = False
    items: list[FieldSpec] = field(default_factory=list)  # arrays of objects: item properties
    item_type: str | None = None  # arrays of scalars: the item type
    schema: dict[str, Any] = field(default_factory=dict)

    @property
    def dotted(self) -> str:
        return path_str(self.path)

    @property
    def label_name(self) -> str:
        """The readable name without a currency code ("Total (GBP)", ``total_eur`` → "total"):
        the code is the unit, not what a document's label says."""
        words = humanize(self.name).split()
        kept = [w for w in words if w.upper() not in ISO_CURRENCIES]
        return " ".join(kept or words)

    def descriptor(self) -> str:
        """Text the retrieval and label matching embed: the readable name plus the description."""
        words = self.label_name
        return f"{words}: {self.description}" if self.description else words


def path_str(path: tuple[str | int, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def humanize(name: str) -> str:
    """``invoiceNumber`` / ``invoice_number`` / ``Invoice No.`` → ``invoice number`` /
    ``invoice no``."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    s = re.sub(r"[^\w]+|_", " ", s)  # "Invoice No." / "Total (GBP)" / "vat-id" → words
    return " ".join(s.split()).lower()


def load_schema(schema: str | dict[str, Any]) -> dict[str, Any]:
    """Parse and check a JSON Schema (Draft-4/6/7, 2019-09, 2020-12; undeclared: 2020-12, or
    Draft-7 when only that meta-schema accepts it); the root must describe an object. Returns the
    schema with the draft it was read as in ``$schema``."""
    if isinstance(schema, str):
        try:
            schema = json.loads(schema.lstrip("\ufeff"))  # a BOM from a Windows editor
        except json.JSONDecodeError as exc:
            raise SchemaError(f"schema is not valid JSON: {exc}") from exc
    if not isinstance(schema, dict):
        raise SchemaError("schema must be a JSON object",
                          'e.g. {"type": "object", "properties": {"total": {"type": "number"}}}')
    from prunestack.pipeline.schema.prepare import DRAFT_URIS, check_metaschema

    # the draft it is written in (an unknown $schema is refused, naming it), valid under that
    # draft's meta-schema, patterns Python's re can use, required names that can exist
    draft = check_metaschema(schema)
    if "$schema" not in schema:  # say which draft it was read as, for every later check
        schema = {"$schema": DRAFT_URIS[draft], **schema}
    _check_refs(schema, schema)
    root = norm(schema, schema)
    if _types(root)[0] != "object" or not isinstance(root.get("properties"), dict):
        raise SchemaError("the schema's root must be an object with properties",
                          'e.g. {"type": "object", "properties": {"total": {"type": "number"}}}')
    return schema


def _cls(schema: Any) -> Any:
    import jsonschema

    return jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator) \
        if isinstance(schema, dict) else jsonschema.Draft7Validator


def _check_refs(node: Any, root: dict[str, Any]) -> None:
    """Every ``$ref`` anywhere must point inside the schema (fail before any work)."""
    if isinstance(node, list):
        for x in node:
            _check_refs(x, root)
    elif isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                resolve_pointer(root, v)
            elif k not in VALUE_KEYWORDS:
                _check_refs(v, root)


def _as_node(node: Any) -> dict[str, Any]:
    """Boolean sub-schemas as dicts: ``true`` → ``{}``, ``false`` → ``{"not": {}}``."""
    if node is False:
        return {"not": {}}
    return node if isinstance(node, dict) else {}


def resolve(node: Any, root: dict[str, Any], depth: int = 0,
            refs: list[str] | None = None) -> dict[str, Any]:
    """Follow local ``$ref`` pointers and merge ``allOf`` parts; ``refs`` collects the pointers
    followed (recursion detection)."""
    node = _as_node(node)
    while "$ref" in node:
        if depth > MAX_SCHEMA_DEPTH:
            raise SchemaError("schema $ref chain too deep or recursive")
        ref = node["$ref"]
        target = _as_node(resolve_pointer(root, ref))
        if refs is not None:
            refs.append(ref)
        keep = _sibling_keys(root)
        node = {**target, **{k: v for k, v in node.items() if k != "$ref" and keep(k)}}
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


def _sibling_keys(root: dict[str, Any]) -> Any:
    """Which keywords next to a ``$ref`` count: all (2019-09+), or only annotations in
    Draft-4/6/7, whose validators ignore a ``$ref``'s siblings."""
    uri = str(root.get("$schema", ""))
    if any(d in uri for d in ("draft-04", "draft-06", "draft-07")):
        return lambda k: k in ("title", "description", "default", "examples", "$comment")
    return lambda k: True


def _is_null(node: dict[str, Any]) -> bool:
    t = node.get("type")
    return t == "null" or t == ["null"] or ("const" in node and node["const"] is None) or \
        node.get("enum") == [None]


def _alternatives(node: dict[str, Any], root: dict[str, Any]) -> tuple[list[dict], bool]:
    """The non-null branches of a node (``anyOf``/``oneOf`` members, or one per type of a
    type list), each resolved, and whether null is allowed."""
    for key in ("anyOf", "oneOf"):
        subs = node.get(key)
        if isinstance(subs, list):
            res = [resolve(s, root) for s in subs]
            real = [s for s in res if not _is_null(s)]
            rest = {k: v for k, v in node.items() if k != key}
            alts = [a for r in real for a in _alternatives({**r, **{
                k: v for k, v in rest.items() if k not in r}}, root)[0]]
            return alts, len(real) < len(res) or ("type" in rest and _types(rest)[1])
    t = node.get("type")
    if isinstance(t, list):
        real = [x for x in t if x != "null"]
        return [{**node, "type": x} for x in real] or [node], "null" in t
    return [node], _types(node)[1]


def norm(node: Any, root: dict[str, Any], refs: list[str] | None = None) -> dict[str, Any]:
    """A sub-schema resolved and reduced to its first non-null branch, with ``null`` kept in
    its type when the union allowed null."""
    node = resolve(node, root, refs=refs)
    if not any(isinstance(node.get(k), list) for k in ("anyOf", "oneOf")):
        return node
    alts, nullable = _alternatives(node, root)
    if not alts or alts == [node]:
        return node
    first = alts[0]  # already resolved by _alternatives
    out = {k: v for k, v in first.items() if k not in ("anyOf", "oneOf")}
    if nullable:
        t, _ = _types(first)
        out["type"] = [t, "null"]
    return out


def _types(node: dict[str, Any]) -> tuple[str, bool]:
    """(main type, nullable) of a resolved schema node."""
    t = node.get("type")
    nullable = False
    if isinstance(t, list):
        nullable = "null" in t
        rest = [x for x in t if x != "null"]
        t = rest[0] if rest else "null"
    if t is None:
        if "const" in node:
            t = _json_type(node["const"])
        elif any(k in node for k in ("properties", "additionalProperties", "patternProperties",
                                     "required", "minProperties", "dependentRequired")):
            t = "object"
        elif any(k in node for k in ("items", "prefixItems", "minItems", "maxItems")):
            t = "array"
        elif "enum" in node:
            vals = [v for v in node["enum"] if v is not None]
            nullable = nullable or None in node["enum"]
            t = _json_type(vals[0]) if vals else "null"
        elif any(k in node for k in ("minimum", "maximum", "exclusiveMinimum",
                                     "exclusiveMaximum", "multipleOf")):
            t = "number"
        else:
            t = "string"
    return str(t), nullable


def _json_type(v: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", dict: "object", list: "array",
            type(None): "null"}.get(type(v), "string")


def plan_fields(schema: dict[str, Any]) -> list[FieldSpec]:
    """The fields an engine must fill, in schema order (nested objects flattened)."""
    refs: list[str] = ["#"]  # "#" is the root itself
    root = norm(schema, schema, refs)
    if isinstance(schema.get("$id"), str):
        refs.append(schema["$id"])
    return _plan_object(root, schema, (), 0, frozenset(refs))


def _plan_object(node: dict[str, Any], root: dict[str, Any], prefix: tuple[str | int, ...],
                 depth: int, seen: frozenset[str]) -> list[FieldSpec]:
    if depth > MAX_SCHEMA_DEPTH:
        return []
    required = set(node.get("required", []))
    out: list[FieldSpec] = []
    for name, raw in node.get("properties", {}).items():
        refs: list[str] = []
        sub = norm(raw, root, refs)
        if sub.get("not") == {} or (seen & set(refs)) or "const" in sub:
            continue  # `false` (never present), a recursive reference, or a value the schema
            # fixes (`const`, e.g. a discriminator): nothing to look for
        typ, nullable = _types(sub)
        if typ == "null":
            continue
        inner = seen | set(refs)
        enum = sub.get("enum") if isinstance(sub.get("enum"), list) else None
        spec = FieldSpec(path=(*prefix, name), name=name,
                         description=str(sub.get("description") or ""),
                         type=typ, format=sub.get("format"), enum=enum,
                         nullable=nullable, required=name in required, schema=sub)
        if typ == "object":
            children = _plan_object(sub, root, spec.path, depth + 1, inner)
            for c in children:  # give nested leaves their parent's context ("vendor name")
                c.description = (c.description + " " if c.description else "") + \
                    f"({humanize(name)} {humanize(c.name)})"
            out.extend(children)
            continue
        if typ == "array":
            if "prefixItems" in sub or isinstance(sub.get("items"), list):
                continue  # tuples: conform() writes the shortest valid one
            irefs: list[str] = []
            items = norm(sub.get("items", {}), root, irefs)
            if items.get("not") == {} or (inner & set(irefs)):
                continue
            ityp, _ = _types(items)
            if ityp == "object":
                spec.items = _plan_object(items, root, (), depth + 1, inner | set(irefs))
            elif ityp == "array":
                continue
            else:
                spec.item_type = ityp
        out.append(spec)
    return out
