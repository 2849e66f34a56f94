"""``not``, rewritten into forms a grammar enforces: the exact complement of a sub-schema, or
nothing.

What it does: :func:`negate` returns a schema that accepts exactly the instances ``schema``
rejects, built from keywords every grammar backend enforces (``type`` lists, ``anyOf``/``allOf``,
``properties: {k: false}`` for "key absent", numeric and length bounds, a ``pattern`` for "any
string but these"), or ``None`` when it cannot say so exactly (``pattern``, ``format``,
``multipleOf``, ``items``, ``oneOf``, ``patternProperties``...). The forms covered:
``not: {type}`` (the complement type list; ``integer`` inside ``number`` is refused),
``not: {required: [...]}``, ``not: {enum|const}`` (per type: the other booleans, numbers below,
between or above the values, a string pattern from the values' trie, one array or object value
by length / member / key), ``not: {not: S}`` (= S), ``not: {allOf|anyOf}`` (De Morgan),
``not: {properties}`` alone, and bounds (``minimum`` → below it, ``minLength`` → shorter...).
A keyword only constrains its own instance type, so its complement is always restricted to that
type (``not: {minimum: 3}`` is a number below 3, never a string). :func:`json_equal` is JSON
Schema's equality (``1 == 1.0``, ``true != 1``).

What it does not do: decide where a ``not`` is rewritten (:mod:`.rewrites`) or validate.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from prunestack.pipeline.schema.keywords import ANNOTATIONS

#: JSON Schema's six instance types (``integer`` is a subset of ``number``)
TYPES = ("array", "boolean", "null", "number", "object", "string")
_NEVER = False  # the schema that accepts nothing
_DEPTH = 16  # how deep a negation may recurse (through $ref, nested not, values)


def json_equal(a: Any, b: Any) -> bool:
    """JSON Schema equality: numbers by value (``1 == 1.0``), booleans never equal numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def json_type(v: Any) -> str:
    """The JSON type of a value (``number`` for every number)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


def negate(schema: Any, resolve: Any = None, depth: int = 0) -> Any:
    """A schema accepting exactly what ``schema`` rejects, or ``None`` (see the module
    docstring). ``resolve(ref)`` returns a ``$ref``'s target (``None``: refs are refused)."""
    if depth > _DEPTH:
        return None
    if schema is True:
        return _NEVER
    if schema is False:
        return {}
    if not isinstance(schema, dict):
        return None
    body = {k: v for k, v in schema.items() if k not in ANNOTATIONS}
    if "$ref" in body:
        if resolve is None or len(body) > 1:
            return None
        return negate(resolve(body["$ref"]), resolve, depth + 1)
    if not body:
        return _NEVER
    if "properties" in body and not {"patternProperties", "additionalProperties",
                                     "unevaluatedProperties"}.isdisjoint(body):
        return None
    return _union(_negate_keyword(key, value, resolve, depth) for key, value in body.items())


def _negate_keyword(key: str, value: Any, resolve: Any, depth: int) -> Any:
    """The complement of one keyword on its own (``None``: not expressible)."""
    if key == "type":
        return _not_type(value)
    if key == "required" and isinstance(value, list):
        names = [n for n in value if isinstance(n, str)]
        if not names:
            return _NEVER
        absent = [{"properties": {n: False}} for n in dict.fromkeys(names)]
        return {"type": "object", **(absent[0] if len(absent) == 1 else {"anyOf": absent})}
    if key == "enum" and isinstance(value, list):
        return not_values(value, resolve, depth)
    if key == "const":
        return not_values([value], resolve, depth)
    if key == "not":
        return value if isinstance(value, (dict, bool)) else None
    if key in ("allOf", "anyOf") and isinstance(value, list) and value:
        negs = [negate(s, resolve, depth + 1) for s in value]
        if any(n is None for n in negs):
            return None
        if key == "allOf":  # not (A and B) = not A or not B
            live = [n for n in negs if n is not _NEVER]
            return {"anyOf": live} if live else _NEVER
        if any(n is _NEVER for n in negs):  # not (A or B) = not A and not B
            return _NEVER
        return negs[0] if len(negs) == 1 else {"allOf": negs}
    if key == "properties" and isinstance(value, dict):
        branches = []
        for name, sub in value.items():
            neg = negate(sub, resolve, depth + 1)
            if neg is None:
                return None
            if neg is not _NEVER:
                branches.append({"required": [name], "properties": {name: neg}})
        if not branches:
            return _NEVER
        return {"type": "object", **(branches[0] if len(branches) == 1 else
                                     {"anyOf": branches})}
    return _not_bound(key, value)


def _not_type(value: Any) -> Any:
    names = value if isinstance(value, list) else [value]
    if not all(isinstance(n, str) and (n in TYPES or n == "integer") for n in names):
        return None
    if "integer" in names and "number" not in names:
        return None  # "a number that is not an integer" has no grammar form here
    rest = [t for t in TYPES if t not in names]
    return {"type": rest} if rest else _NEVER


_BOUNDS = {  # keyword -> (instance type, complement keyword, how its value moves)
    "minimum": ("number", "exclusiveMaximum", 0), "maximum": ("number", "exclusiveMinimum", 0),
    "exclusiveMinimum": ("number", "maximum", 0), "exclusiveMaximum": ("number", "minimum", 0),
    "minLength": ("string", "maxLength", -1), "maxLength": ("string", "minLength", 1),
    "minItems": ("array", "maxItems", -1), "maxItems": ("array", "minItems", 1),
}


def _not_bound(key: str, value: Any) -> Any:
    if key not in _BOUNDS or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    ty, other, step = _BOUNDS[key]
    if step == 0:
        return {"type": "number", other: value}
    if step < 0 and value <= 0:
        return _NEVER  # minLength 0 holds for every string
    if value != int(value):
        return None
    return {"type": ty, other: int(value) + step}


def not_values(values: list[Any], resolve: Any = None, depth: int = 0) -> Any:
    """Every instance equal to none of ``values``, type by type (see the module docstring)."""
    by_type: dict[str, list[Any]] = {t: [] for t in TYPES}
    for v in values:
        if not any(json_equal(v, w) for w in by_type[json_type(v)]):
            by_type[json_type(v)].append(v)
    return _union({"type": ty} if not vals else _not_these(ty, vals, resolve, depth)
                  for ty, vals in by_type.items())


def _union(pieces: Iterable[Any]) -> Any:
    """The ``anyOf`` of ``pieces`` (schemas accepting what one negated part rejects): None as
    soon as one is inexpressible, pieces that accept nothing (``_NEVER``) left out, ``_NEVER``
    when all are."""
    parts: list[Any] = []
    for piece in pieces:
        if piece is None:
            return None
        if piece is not _NEVER:
            parts.append(piece)
    if not parts:
        return _NEVER
    return parts[0] if len(parts) == 1 else {"anyOf": parts}


def _not_these(ty: str, vals: list[Any], resolve: Any, depth: int) -> Any:
    if ty == "null":
        return _NEVER
    if ty == "boolean":
        rest = [b for b in (False, True) if b not in vals]
        return {"enum": rest} if rest else _NEVER
    if ty == "number":
        cuts = sorted(float(v) if isinstance(v, float) else v for v in vals)
        gaps = [{"type": "number", "exclusiveMaximum": cuts[0]}]
        gaps += [{"type": "number", "exclusiveMinimum": a, "exclusiveMaximum": b}
                 for a, b in itertools.pairwise(cuts)]
        gaps.append({"type": "number", "exclusiveMinimum": cuts[-1]})
        return {"anyOf": gaps}
    if ty == "string":
        return {"type": "string", "pattern": "^" + _not_words(vals) + "$"}
    if len(vals) > 1 or depth > _DEPTH:
        return None  # more than one array / object value: left to the caller to refuse
    return _not_array(vals[0], resolve, depth) if ty == "array" else \
        _not_object(vals[0], resolve, depth)


def _not_array(value: list[Any], resolve: Any, depth: int) -> Any:
    n = len(value)
    branches: list[Any] = [{"minItems": n + 1}]
    if n:
        branches.insert(0, {"maxItems": n - 1})
    for i, item in enumerate(value):
        neg = not_values([item], resolve, depth + 1)
        if neg is None:
            return None
        if neg is not _NEVER:
            branches.append({"minItems": n, "prefixItems": [{}] * i + [neg]})
    return {"type": "array", "anyOf": branches}


def _not_object(value: dict[str, Any], resolve: Any, depth: int) -> Any:
    branches: list[Any] = [{"minProperties": len(value) + 1}]
    for name, item in value.items():
        branches.append({"properties": {name: False}})
        neg = not_values([item], resolve, depth + 1)
        if neg is None:
            return None
        if neg is not _NEVER:
            branches.append({"required": [name], "properties": {name: neg}})
    return {"type": "object", "anyOf": branches}


# ------------------------------------------------------------------ any string but these words
_SPECIAL = set("\\^$.|?*+()[]{}/-")


def _esc(ch: str) -> str:
    """One character as a regex literal both ECMA-262 and Rust's regex read the same way."""
    if ch in _SPECIAL:
        return "\\" + ch
    if ch < " " or ch == "\x7f":
        return f"\\u{ord(ch):04x}"
    return ch


def _not_words(words: list[str]) -> str:
    """A regex (no anchors) matching every string except ``words``: over the words' trie, a
    string leaves the trie at some node by ending early (where no word ends) or by a character
    no word continues with; after a word's last character, any continuation."""
    trie: dict[str, Any] = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}  # end of a word

    def out(node: dict[str, Any]) -> str:
        kids = sorted(k for k in node if k)
        alts = []
        if kids:
            alts.append("[^" + "".join(_esc(k) for k in kids) + "][\\s\\S]*")
        else:
            alts.append("[\\s\\S]+")
        alts += [_esc(k) + out(node[k]) for k in kids]
        body = "(?:" + "|".join(alts) + ")"
        return body if "" in node else body + "?"

    return out(trie)
