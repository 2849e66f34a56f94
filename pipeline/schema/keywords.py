"""The JSON Schema vocabulary this package reads, and walks over every sub-schema.

What it does: names the keyword families every other module of the package needs (annotations,
keywords whose values are data, keys that hold a map / a list / one sub-schema, the standard
keywords and formats of Draft-4 to 2020-12; ``URI_TEMPLATE``, RFC 6570's grammar as a
pattern, which both the validator's ``uri-template`` check and the decoders use);
``rewrite_nodes`` rewrites every sub-schema bottom up; ``keywords`` and ``formats`` list what a
schema uses.

What it does not do: read, check, resolve or validate a schema (:mod:`.load`, :mod:`.refs`,
:mod:`.validate`), or know what a decoding backend enforces (:mod:`.support`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

VALUE_KEYWORDS = ("enum", "const", "default", "examples")  # their values are data, not schemas

# Keywords that carry no constraint on an instance.
ANNOTATIONS = frozenset({
    "$schema", "$id", "$comment", "$anchor", "$defs", "definitions", "title", "description",
    "default", "examples", "deprecated", "readOnly", "writeOnly", "$vocabulary",
    "contentMediaType",
})

# Every keyword with a meaning in Draft-4/6/7, 2019-09 or 2020-12. Anything else (OpenAPI's
# ``nullable``/``example``/``discriminator``, ``x-*`` extensions, pydantic's extras) is an unknown
# keyword, which JSON Schema validators ignore; so do the backends, so it is never refused.
STANDARD = ANNOTATIONS | frozenset({
    "type", "properties", "required", "additionalProperties", "items", "prefixItems", "enum",
    "const", "anyOf", "oneOf", "allOf", "$ref", "minItems", "maxItems", "minLength", "maxLength",
    "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "multipleOf", "minProperties", "maxProperties", "patternProperties", "unevaluatedProperties",
    "propertyNames", "additionalItems", "not", "if", "then", "else", "dependentRequired",
    "dependentSchemas", "dependencies", "uniqueItems", "contains", "minContains", "maxContains",
    "unevaluatedItems", "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor",
    "contentEncoding", "contentSchema",
})

# The formats JSON Schema defines; any other "format" is an annotation validators ignore.
STANDARD_FORMATS = frozenset({
    "date", "time", "date-time", "duration", "email", "idn-email", "hostname", "idn-hostname",
    "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference", "uuid", "uri-template",
    "json-pointer", "relative-json-pointer", "regex"})

# RFC 6570 section 2: literals (any character but CTL, SP, '"', "'", '%' (except in a
# pct-encoded triplet), '<', '>', '\\', '^', '`', '{', '|', '}') and expressions
# '{' [operator] varspec *(',' varspec) '}'; varname = varchar *(['.'] varchar);
# modifier = ':' 1-9 then up to 3 digits | '*'. ucschar / iprivate as the RFC lists them.
_PCT = "%[0-9A-Fa-f]{2}"
_VARCHAR = f"(?:[A-Za-z0-9_]|{_PCT})"
_VARSPEC = f"{_VARCHAR}(?:\\.?{_VARCHAR})*(?::[1-9][0-9]{{0,3}}|\\*)?"
_LITERAL = ("[!#$&(-;=?-\\[\\]_a-z~\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\ue000-\uf8ff"
            "\U00010000-\U0001fffd\U00020000-\U0002fffd\U00030000-\U0003fffd"
            "\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd"
            "\U00070000-\U0007fffd\U00080000-\U0008fffd\U00090000-\U0009fffd"
            "\U000a0000-\U000afffd\U000b0000-\U000bfffd\U000c0000-\U000cfffd"
            "\U000d0000-\U000dfffd\U000e1000-\U000efffd\U000f0000-\U000ffffd"
            "\U00100000-\U0010fffd]")
URI_TEMPLATE = (f"^(?:{_LITERAL}|{_PCT}|\\{{[+#./;?&=,!@|]?{_VARSPEC}(?:,{_VARSPEC})*\\}})*$")

# Keys under which a value is a map of sub-schemas / a list of sub-schemas / one sub-schema.
MAP_KEYS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
LIST_KEYS = ("anyOf", "oneOf", "allOf", "prefixItems")
ONE_KEYS = ("items", "additionalProperties", "additionalItems", "not", "if", "then", "else",
            "contains", "propertyNames", "unevaluatedProperties", "unevaluatedItems")


def map_subschemas(node: dict[str, Any], f: Callable[[str, Any], Any]) -> dict[str, Any]:
    """A copy of the object node ``node`` with ``f(keyword, child)`` applied to every child that
    may hold sub-schemas. Values of ``enum``/``const``/``default``/``examples`` are data and kept
    as they are; a ``properties``-like map is not itself a schema (a property may be named
    ``format``), so ``f`` gets each of its values, with the map's keyword."""
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k in VALUE_KEYWORDS:
            out[k] = v
        elif k in MAP_KEYS and isinstance(v, dict):
            out[k] = {name: f(k, sub) for name, sub in v.items()}
        else:
            out[k] = f(k, v)
    return out


def rewrite_nodes(node: Any, fix: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """Bottom-up rewrite of every sub-schema: ``fix`` gets each object node (children already
    rewritten, a fresh dict it may change) and returns it. Values of ``enum``/``const``/
    ``default``/``examples`` are data and left alone; a ``properties``-like map is not itself a
    schema (a property may be named ``format``), only its values are."""
    if isinstance(node, list):
        return [rewrite_nodes(x, fix) for x in node]
    if not isinstance(node, dict):
        return node
    return fix(map_subschemas(node, lambda _k, v: rewrite_nodes(v, fix)))


def keywords(node: Any) -> set[str]:
    """Every keyword used anywhere in a schema (property names are not keywords)."""
    found: set[str] = set()
    if isinstance(node, list):
        for x in node:
            found |= keywords(x)
        return found
    if not isinstance(node, dict):
        return found
    for k, v in node.items():
        found.add(k)
        if k in MAP_KEYS and isinstance(v, dict):
            for sub in v.values():
                found |= keywords(sub)
        elif k in LIST_KEYS or k in ONE_KEYS:
            found |= keywords(v)
    return found


def formats(node: Any) -> set[str]:
    """Every ``format`` value used anywhere in a schema."""
    if isinstance(node, list):
        return set().union(*(formats(x) for x in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = {node["format"]} if isinstance(node.get("format"), str) else set()
    for k, v in node.items():
        if k in VALUE_KEYWORDS:
            continue
        if k in MAP_KEYS and isinstance(v, dict):
            found |= formats(list(v.values()))
        elif isinstance(v, (dict, list)):
            found |= formats(v)
    return found
