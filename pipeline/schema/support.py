"""What a constrained decoder needs to know about a prepared schema.

What it does: names the keywords and formats each backend enforces (``SUPPORTED``,
``LLGUIDANCE_FORMATS``, ``OUTLINES_FORMATS``) and lists those a schema uses that a backend would
silently ignore (:func:`unsupported_keywords`), so the caller refuses the schema up front with
an error naming the keyword; ``closing_budget`` bounds the bytes needed to finish any partly
written instance.

What it does not do: compile grammars (``pipeline.decoding.backends``) or rewrite schemas
(:mod:`.normalize`).
"""

from __future__ import annotations

import json
from typing import Any

from prunestack.errors import SchemaError
from prunestack.pipeline.schema.keywords import ANNOTATIONS, STANDARD, formats, keywords
from prunestack.pipeline.schema.refs import resolve_pointer

# Keywords every backend implements (structure, types, enums, strings, arrays).
CORE = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "prefixItems", "enum",
    "const", "anyOf", "allOf", "$ref", "minItems", "maxItems", "minLength", "maxLength",
    "pattern", "format",
})
# Keywords llguidance 1.9 implements beyond CORE. ``oneOf``: llguidance compiles it only where
# it proves the branches disjoint and refuses it otherwise (outlines-core compiles it as a plain
# alternation, i.e. ``anyOf``: refused there); ``pipeline.schema.rewrites`` turns the oneOfs it
# can prove (or negate) into ``anyOf`` first.
LLGUIDANCE_EXTRA = frozenset({
    "oneOf",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minProperties", "maxProperties", "patternProperties", "unevaluatedProperties",
    "propertyNames", "additionalItems",
})
# outlines-core 0.2 turns these into regexes; it ignores numeric bounds, multipleOf, uniqueItems,
# patternProperties (REFERENCES.md), so a schema using them is refused for that backend.
# Formats sent to outlines as our own ASCII patterns (``formats_as_patterns``). Its "uri" and
# "email" regexes admit an unescaped '"' inside the JSON string (invalid JSON), so are refused.
OUTLINES_FORMATS = frozenset({"date-time", "date", "time", "uuid"})
# "uri-template" reaches llguidance as RFC 6570's grammar (``normalize.URI_TEMPLATE``).
LLGUIDANCE_FORMATS = frozenset({"date", "time", "date-time", "duration", "email", "hostname",
                                "ipv4", "ipv6", "uri", "uuid", "uri-template"})

# Keywords xgrammar 0.2 (``strict_mode=False``) enforces beyond CORE, each checked by a walk of an
# invalid instance (tests/decoding/test_xgrammar.py). It silently ignores ``not``, ``if``/``then``,
# ``uniqueItems``, ``contains``, ``dependentRequired``, ``unevaluatedProperties`` (invalid
# instances accepted: not listed, so refused) and rejects valid keys under ``patternProperties``;
# a multi-branch ``allOf`` or a non-disjoint ``oneOf`` make it warn, which the backend refuses.
XGRAMMAR_EXTRA = frozenset({
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minProperties", "maxProperties", "propertyNames",
})
# Formats sent to xgrammar as our own ASCII patterns (its own format rules are not relied on).
XGRAMMAR_FORMATS = OUTLINES_FORMATS

SUPPORTED = {
    "llguidance": CORE | LLGUIDANCE_EXTRA | ANNOTATIONS,
    "outlines": CORE | ANNOTATIONS,
    "xgrammar": CORE | XGRAMMAR_EXTRA | ANNOTATIONS,
}


def unsupported_keywords(schema: dict[str, Any], backend: str) -> list[str]:
    """Keywords (and ``format: x`` values) that ``backend`` cannot enforce, sorted."""
    bad = sorted((keywords(schema) & STANDARD) - SUPPORTED[backend])
    if backend == "llguidance":
        bad += [f"format: {f}" for f in sorted(formats(schema) - LLGUIDANCE_FORMATS)]
    if backend == "outlines":
        bad += [f"format: {f}" for f in sorted(formats(schema) - OUTLINES_FORMATS)]
    if backend == "xgrammar":
        bad += [f"format: {f}" for f in sorted(formats(schema) - XGRAMMAR_FORMATS)]
    return bad


_FORMAT_BYTES = {"date-time": 25, "date": 10, "time": 14, "uuid": 36, "email": 8, "uri": 12,
                 "ipv4": 15, "ipv6": 39, "hostname": 8, "duration": 8}


def closing_budget(node: Any, depth: int = 0, root: Any = None) -> int:
    """A conservative byte count to finish *any* partly written instance of ``node`` by the
    shortest route: every property (optional ones may already be open), the largest ``anyOf``
    branch, ``minItems`` items plus one open item, formats at full length, ``$ref``s followed
    (``root``: the schema they point into, default ``node``). A token is at least one byte, so
    this many tokens always suffice once the decoder only closes."""
    root = node if root is None else root
    if depth > 8 or not isinstance(node, dict):
        return 8
    if isinstance(node.get("$ref"), str) and isinstance(root, dict):
        try:
            target = resolve_pointer(root, node["$ref"])
        except SchemaError:
            target = None
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return max(closing_budget(target, depth + 1, root),
                   closing_budget(rest, depth + 1, root) if rest else 0)
    if "const" in node:
        return len(json.dumps(node["const"]))
    if "enum" in node:
        return max((len(json.dumps(v)) for v in node["enum"]), default=4)
    branches = [b for k in ("anyOf", "oneOf", "allOf") for b in node.get(k, [])]
    if branches:
        inner = [closing_budget(b, depth + 1, root) for b in branches]
        return sum(inner) if "allOf" in node else max(inner)
    t = node.get("type")
    types = t if isinstance(t, list) else [t]
    sizes = []
    for ty in types:
        if ty == "object" or (ty is None and "properties" in node):
            props = node.get("properties", {})
            sizes.append(2 + sum(len(json.dumps(k)) + 2 + closing_budget(v, depth + 1, root)
                                 for k, v in props.items()))
        elif ty == "array" or (ty is None and ("items" in node or "prefixItems" in node)):
            item = closing_budget(node.get("items", {}), depth + 1, root) if isinstance(
                node.get("items"), dict) else 4
            pre = sum(closing_budget(p, depth + 1, root) + 1 for p in node.get("prefixItems", []))
            sizes.append(2 + pre + (int(node.get("minItems", 0)) + 1) * (item + 1))
        elif ty == "string":
            n = _FORMAT_BYTES.get(node.get("format", ""), 0)
            if "pattern" in node:
                n = max(n, 16)
            sizes.append(2 + max(n, int(node.get("minLength", 0))))
        elif ty in ("integer", "number"):
            sizes.append(8)
        else:
            sizes.append(5)
    return max(sizes) if sizes else 8
