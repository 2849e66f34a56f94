"""Random JSON Schemas for the property test: nested objects, arrays with bounds, enums, numbers
with bounds, strings with formats and patterns, optional properties, anyOf, $ref (2020-12
``$defs`` and Draft-7 ``definitions``), const, booleans, nulls; and a share of schemas using
keywords no backend enforces (they must be refused up front, naming the keyword)."""

from __future__ import annotations

import random
from typing import Any

FORMATS = ["date", "date-time", "time", "email", "uuid", "uri"]
PATTERNS = [r"^[A-Z]{3}-[0-9]{2,4}$", r"^[a-z]+$", r"^\d{3}$", r"^(foo|bar)[0-9]?$",
            r"^[a-f0-9]{4}(-[a-f0-9]{2})?$"]
WORDS = ["alpha", "beta", "gamma", "delta", "red", "green", "blue", "x", "yes", "no"]
# (``not: {type}``, ``uniqueItems`` over small sets and dependencies are now rewritten exactly:
# tests/decoding/test_schema_forms.py walks them; these forms have no exact grammar form)
UNSUPPORTED = [("not", {"pattern": "^a"}), ("unevaluatedItems", False), ("if", {"type": "object"}),
               ("contains", {"type": "integer"}), ("minContains", 1)]


def _leaf(r: random.Random) -> dict[str, Any]:
    kind = r.choice(["int", "num", "str", "fmt", "pat", "enum", "bool", "null", "const"])
    if kind == "int":
        s: dict[str, Any] = {"type": "integer"}
        lo = r.randint(-50, 50)
        if r.random() < 0.7:
            s["minimum"] = lo
        if r.random() < 0.7:
            s["maximum"] = lo + r.randint(0, 200)
        if r.random() < 0.2:
            s["exclusiveMinimum"] = lo - 1
            s.pop("minimum", None)
        return s
    if kind == "num":
        s = {"type": "number"}
        if r.random() < 0.7:
            s["minimum"] = round(r.uniform(-10, 10), 2)
            s["maximum"] = s["minimum"] + round(r.uniform(0.5, 100), 2)
        return s
    if kind == "str":
        s = {"type": "string"}
        if r.random() < 0.5:
            s["maxLength"] = r.randint(1, 12)
        if r.random() < 0.3:
            s["minLength"] = r.randint(0, min(3, s.get("maxLength", 3)))
        return s
    if kind == "fmt":
        return {"type": "string", "format": r.choice(FORMATS)}
    if kind == "pat":
        return {"type": "string", "pattern": r.choice(PATTERNS)}
    if kind == "enum":
        vals: list[Any] = r.sample(WORDS, r.randint(1, 4))
        if r.random() < 0.3:
            vals.append(r.randint(0, 9))
        return {"enum": vals}
    if kind == "bool":
        return {"type": "boolean"}
    if kind == "null":
        return {"type": "null"}
    return {"const": r.choice(WORDS)}


def _node(r: random.Random, depth: int, defs: dict[str, Any]) -> dict[str, Any]:
    roll = r.random()
    if depth >= 2 or roll < 0.45:
        return _leaf(r)
    if roll < 0.62:
        s: dict[str, Any] = {"type": "array", "items": _node(r, depth + 1, defs)}
        if r.random() < 0.6:
            s["minItems"] = r.randint(0, 2)
        s["maxItems"] = s.get("minItems", 0) + r.randint(0, 3)
        return s
    if roll < 0.75:
        return {"anyOf": [_node(r, depth + 1, defs) for _ in range(r.randint(2, 3))]}
    if roll < 0.85 and defs is not None:
        name = f"d{len(defs)}"
        defs[name] = {}  # reserve the name before recursing
        defs[name] = _node(r, depth + 1, defs)
        return {"$ref": f"#/$defs/{name}"}
    return _object(r, depth + 1, defs)


def _object(r: random.Random, depth: int, defs: dict[str, Any]) -> dict[str, Any]:
    n = r.randint(1, 4)
    names = r.sample(["id", "name", "when", "kind", "tags", "score", "meta", "note", "ok"], n)
    props = {k: _node(r, depth, defs) for k in names}
    required = [k for k in names if r.random() < 0.6]
    s: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        s["required"] = required
    return s


def random_schema(seed: int) -> tuple[dict[str, Any], str | None]:
    """A schema and, when it uses a keyword no backend enforces, that keyword."""
    r = random.Random(seed)
    defs: dict[str, Any] = {}
    schema = _object(r, 0, defs)
    if defs:
        schema["$defs"] = defs
    if r.random() < 0.15:  # Draft-7 spelling
        schema["$schema"] = "http://json-schema.org/draft-07/schema#"
        if "$defs" in schema:
            schema["definitions"] = schema.pop("$defs")
            text = _retarget(schema)
            schema = text
    bad = None
    if r.random() < 0.08:
        key, val = r.choice(UNSUPPORTED)
        first = next(iter(schema["properties"]))
        schema["properties"][first] = {**schema["properties"][first], key: val}
        bad = key
    return schema, bad


def _retarget(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (v.replace("#/$defs/", "#/definitions/") if k == "$ref" else _retarget(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_retarget(x) for x in node]
    return node
