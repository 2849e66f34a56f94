"""JSON Schema handling for extraction: fields to look for, coercion, and a guaranteed-valid result.

``plan_fields(schema)`` walks an object schema (local ``$ref`` resolved, ``anyOf``/``oneOf`` with
``null`` read as "nullable") into the leaves an engine must find: scalar fields, nested objects
(flattened to dotted paths), arrays of scalars and arrays of objects (line items). ``conform``
turns whatever an engine produced into data that validates against the schema: values are coerced
to the declared types, missing optional values are dropped, missing nullable values become ``null``
and missing required non-nullable values are filled with an empty value of the right type and
reported in ``missing`` (or left out, when ``fill_required`` is off, and the result marked invalid).
This module does not read documents.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from prunestack.errors import SchemaError

SCALAR_TYPES = ("string", "number", "integer", "boolean")
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

    def descriptor(self) -> str:
        """Text the retrieval and label matching embed: the readable name plus the description."""
        words = humanize(self.name)
        return f"{words}: {self.description}" if self.description else words


def path_str(path: tuple[str | int, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def humanize(name: str) -> str:
    """``invoiceNumber`` / ``invoice_number`` → ``invoice number``."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ").replace("-", " ")
    return " ".join(s.split()).lower()


def load_schema(schema: str | dict[str, Any]) -> dict[str, Any]:
    """Parse and check a JSON Schema (Draft 7 or 2020-12); the root must describe an object."""
    import jsonschema

    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as exc:
            raise SchemaError(f"schema is not valid JSON: {exc}") from exc
    if not isinstance(schema, dict):
        raise SchemaError("schema must be a JSON object")
    try:
        jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)\
            .check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise SchemaError(f"invalid JSON Schema: {exc.message}") from exc
    root = resolve(schema, schema)
    if _types(root)[0] != "object" or not isinstance(root.get("properties"), dict):
        raise SchemaError("the schema's root must be an object with properties",
                          'e.g. {"type": "object", "properties": {"total": {"type": "number"}}}')
    return schema


def resolve(node: dict[str, Any], root: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """Follow local ``$ref`` pointers (``#/definitions/x``, ``#/$defs/x``)."""
    while isinstance(node, dict) and "$ref" in node:
        if depth > MAX_SCHEMA_DEPTH:
            raise SchemaError("schema $ref chain too deep or recursive")
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise SchemaError(f"only local $ref pointers are supported, got {ref!r}")
        target: Any = root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise SchemaError(f"unresolvable $ref {ref!r}")
            target = target[part]
        extra = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **extra}
        depth += 1
    return node


def _types(node: dict[str, Any]) -> tuple[str, bool]:
    """(main type, nullable) of a schema node."""
    t = node.get("type")
    nullable = False
    if isinstance(t, list):
        nullable = "null" in t
        rest = [x for x in t if x != "null"]
        t = rest[0] if rest else "null"
    for key in ("anyOf", "oneOf"):
        if t is None and isinstance(node.get(key), list):
            subs = node[key]
            nullable = nullable or any(isinstance(s, dict) and s.get("type") == "null"
                                       for s in subs)
            real = [s for s in subs if isinstance(s, dict) and s.get("type") != "null"]
            if real:
                inner, inner_null = _types(real[0])
                return inner, nullable or inner_null
    if t is None:
        if "properties" in node:
            t = "object"
        elif "items" in node:
            t = "array"
        elif "enum" in node:
            vals = [v for v in node["enum"] if v is not None]
            nullable = nullable or None in node["enum"]
            t = {bool: "boolean", int: "integer", float: "number"}.get(type(vals[0]), "string") \
                if vals else "string"
        else:
            t = "string"
    return str(t), nullable


def _branch(node: dict[str, Any]) -> dict[str, Any]:
    """The first non-null branch of an ``anyOf``/``oneOf`` (with ``null`` kept in its type when
    the union allowed null), merged with the node's own keywords."""
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list):
            real = [s for s in node[key] if isinstance(s, dict) and s.get("type") != "null"]
            if real:
                _, nullable = _types(node)
                out = {**real[0], **{k: v for k, v in node.items() if k != key}}
                if nullable:
                    t, _ = _types(real[0])
                    out["type"] = [t, "null"]
                return out
    return node


def plan_fields(schema: dict[str, Any]) -> list[FieldSpec]:
    """The fields an engine must fill, in schema order (nested objects flattened)."""
    root = resolve(schema, schema)
    return _plan_object(root, schema, (), 0)


def _plan_object(node: dict[str, Any], root: dict[str, Any], prefix: tuple[str | int, ...],
                 depth: int) -> list[FieldSpec]:
    if depth > MAX_SCHEMA_DEPTH:
        raise SchemaError("schema nests objects too deeply")
    required = set(node.get("required", []))
    out: list[FieldSpec] = []
    for name, sub in node.get("properties", {}).items():
        sub = _branch(resolve(sub, root))
        typ, nullable = _types(sub)
        spec = FieldSpec(path=(*prefix, name), name=name, description=sub.get("description", ""),
                         type=typ, format=sub.get("format"), enum=sub.get("enum"),
                         nullable=nullable, required=name in required, schema=sub)
        if typ == "object":
            children = _plan_object(sub, root, spec.path, depth + 1)
            for c in children:  # give nested leaves their parent's context ("vendor name")
                c.description = (c.description + " " if c.description else "") + \
                    f"({humanize(name)} {humanize(c.name)})"
            out.extend(children)
            continue
        if typ == "array":
            items = _branch(resolve(sub.get("items", {}), root))
            ityp, _ = _types(items)
            if ityp == "object":
                spec.items = _plan_object(items, root, (), depth + 1)
            else:
                spec.item_type = ityp
        out.append(spec)
    return out


# ---------------------------------------------------------------------------- conform
def empty_value(node: dict[str, Any], root: dict[str, Any]) -> Any:
    """A schema-consistent placeholder for a required value that was not found."""
    node = _branch(resolve(node, root))
    if node.get("enum"):
        return node["enum"][0]
    if "const" in node:
        return node["const"]
    typ, nullable = _types(node)
    if nullable:
        return None
    if typ == "object":
        return {k: empty_value(v, root) for k, v in node.get("properties", {}).items()
                if k in set(node.get("required", []))}
    if typ == "array":
        n = int(node.get("minItems", 0))
        return [empty_value(node.get("items", {}), root) for _ in range(n)]
    if typ in ("number", "integer"):
        lo = node.get("minimum", node.get("exclusiveMinimum", 0))
        return int(lo) if typ == "integer" else float(lo)
    if typ == "boolean":
        return False
    return "" if int(node.get("minLength", 0)) == 0 else "?" * int(node["minLength"])


def coerce(value: Any, node: dict[str, Any], root: dict[str, Any]) -> Any:
    """Cast a scalar to the node's type; raise ValueError when it cannot be done faithfully."""
    node = _branch(resolve(node, root))
    typ, nullable = _types(node)
    if value is None:
        if nullable:
            return None
        raise ValueError("null not allowed")
    if node.get("enum"):
        for opt in node["enum"]:
            if opt == value or (isinstance(opt, str) and str(value).lower() == opt.lower()):
                return opt
        raise ValueError(f"{value!r} not in enum")
    if typ == "string":
        return value if isinstance(value, str) else json.dumps(value) \
            if isinstance(value, (dict, list)) else str(value)
    if typ == "integer":
        if isinstance(value, bool):
            raise ValueError("bool is not an integer")
        f = float(str(value).replace(",", "")) if not isinstance(value, (int, float)) else value
        if f != int(f):
            raise ValueError("not a whole number")
        return int(f)
    if typ == "number":
        if isinstance(value, bool):
            raise ValueError("bool is not a number")
        return float(value) if not isinstance(value, (int, float)) else value
    if typ == "boolean":
        if isinstance(value, bool):
            return value
        s = str(value).strip().lower()
        if s in ("true", "yes", "1"):
            return True
        if s in ("false", "no", "0"):
            return False
        raise ValueError("not a boolean")
    return value


def conform(data: Any, schema: dict[str, Any], fill_required: bool = True
            ) -> tuple[Any, list[dict[str, str]]]:
    """Make ``data`` valid against ``schema`` as far as possible; returns (data, missing report).

    The report lists every required value that was missing or unusable, with what was done."""
    missing: list[dict[str, str]] = []
    out = _conform_node(copy.deepcopy(data), schema, schema, (), missing, fill_required)
    return out, missing


def _conform_node(value: Any, node: dict[str, Any], root: dict[str, Any],
                  path: tuple[str | int, ...], missing: list[dict[str, str]], fill: bool) -> Any:
    node = _branch(resolve(node, root))
    typ, nullable = _types(node)
    if typ == "object":
        if not isinstance(value, dict):
            value = {}
        props = node.get("properties", {})
        required = set(node.get("required", []))
        out: dict[str, Any] = {}
        for name, sub in props.items():
            sub_r = _branch(resolve(sub, root))
            sub_t, sub_null = _types(sub_r)
            v = value.get(name)
            if v is not None or sub_t in ("object", "array"):
                cv = _conform_node(v, sub_r, root, (*path, name), missing, fill)
                if cv is not None or sub_null:
                    out[name] = cv
                    continue
            if sub_null:
                out[name] = None
            elif name in required:
                missing.append({"path": path_str((*path, name)),
                                "reason": "required value not found",
                                "action": "filled with an empty value" if fill else "left out"})
                if fill:
                    out[name] = empty_value(sub_r, root)
        if node.get("additionalProperties", True) is not False:
            for k, v in value.items():
                if k not in props and v is not None:
                    out[k] = v
        return out
    if typ == "array":
        items = node.get("items", {})
        vals = value if isinstance(value, list) else []
        out_list = [_conform_node(v, items, root, (*path, i), missing, fill)
                    for i, v in enumerate(vals)]
        out_list = [v for v in out_list if v is not None]
        if "maxItems" in node:
            out_list = out_list[: int(node["maxItems"])]
        if len(out_list) < int(node.get("minItems", 0)):
            if value is None and nullable:
                return None
            missing.append({"path": path_str(path), "reason": "fewer items than minItems",
                            "action": "padded with empty items" if fill else "left short"})
            if fill:
                out_list += [empty_value(items, root)
                             for _ in range(int(node["minItems"]) - len(out_list))]
        if value is None and nullable and not out_list:
            return None
        return out_list
    try:
        return coerce(value, node, root)
    except (ValueError, TypeError):
        return None


def validation_errors(data: Any, schema: dict[str, Any]) -> list[str]:
    import jsonschema

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return [f"{path_str(tuple(e.absolute_path)) or '$'}: {e.message}"
            for e in cls(schema).iter_errors(data)]
