"""Rewrite a loaded schema into the one form every decoding backend compiles.

What it does: ``prepare_schema`` loads (:func:`.load.load_schema`), inlines local ``$ref``s
(:func:`.refs.resolve_refs`), drops ``format`` values JSON Schema does not define, rewrites
Draft-4 boolean bounds and Draft-4/6/7 tuple ``items: [...]`` into their 2020-12 forms, and
closes objects to their listed properties (``strict_objects``). ``formats_as_patterns`` swaps
known formats for ASCII-only, calendar-safe patterns; ``schema_hash`` is a canonical hash (for
caches). Every rewrite keeps what validates under the original schema (closing objects only
narrows it), which ``tests/decoding/test_property.py`` checks against ``jsonschema``.

What it does not do: compile grammars (``pipeline.decoding.backends``) or decide what a backend
can enforce (:mod:`.support`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from prunestack.pipeline.schema.drafts import DRAFT2020
from prunestack.pipeline.schema.keywords import (
    STANDARD_FORMATS,
    map_subschemas,
    rewrite_nodes,
)
from prunestack.pipeline.schema.load import SchemaSource, load_schema
from prunestack.pipeline.schema.refs import resolve_refs


def drop_unknown_formats(node: Any) -> Any:
    """Remove ``format`` values JSON Schema does not define (OpenAPI's ``int32``, ``double``,
    ``decimal``, ``byte``; ``phone``...): validators ignore them, so must the decoder."""

    def fix(out: dict[str, Any]) -> dict[str, Any]:
        if "format" in out and out["format"] not in STANDARD_FORMATS:
            del out["format"]
        return out

    return rewrite_nodes(node, fix)


def normalise_draft4(node: Any) -> Any:
    """Draft-4 boolean bounds ``{"minimum": 0, "exclusiveMinimum": true}`` → the numeric form
    ``{"exclusiveMinimum": 0}`` that later drafts and the backends read."""

    def fix(out: dict[str, Any]) -> dict[str, Any]:
        for excl, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if isinstance(out.get(excl), bool):
                if out.pop(excl) and bound in out:
                    out[excl] = out.pop(bound)
        return out

    return rewrite_nodes(node, fix)


def normalise_draft7(node: Any) -> Any:
    """Draft-7 tuple ``items: [a, b], additionalItems: c`` → ``prefixItems: [a, b], items: c``."""

    def fix(out: dict[str, Any]) -> dict[str, Any]:
        if isinstance(out.get("items"), list):
            out["prefixItems"] = out.pop("items")
            if "additionalItems" in out:
                out["items"] = out.pop("additionalItems")
            else:
                out["items"] = True
        return out

    return rewrite_nodes(node, fix)


def close_objects(node: Any, in_all_of: bool = False) -> Any:
    """Add ``additionalProperties: false`` to object schemas that list ``properties`` and say
    nothing about extra keys (not inside ``allOf``, where it would change the meaning). Output
    valid for the closed schema is valid for the original; it stops a decoder inventing keys."""
    if isinstance(node, list):
        return [close_objects(x, in_all_of) for x in node]
    if not isinstance(node, dict):
        return node
    out = map_subschemas(node, lambda k, v: close_objects(v, k == "allOf"))
    if ("properties" in out and not in_all_of and "additionalProperties" not in out
            and "patternProperties" not in out and "unevaluatedProperties" not in out
            and isinstance(out["properties"], dict)):
        # a required name the properties do not list was allowed by the open object: keep it
        extra = [r for r in out.get("required", []) if isinstance(r, str)
                 and r not in out["properties"]]
        if extra:
            out["properties"] = {**out["properties"], **{r: {} for r in extra}}
        out["additionalProperties"] = False
    return out


def prepare_schema(schema: SchemaSource, strict_objects: bool = True) -> dict[str, Any]:
    """Load, inline refs and normalise: the form every backend compiles, declared 2020-12.
    ``strict_objects`` closes objects to their listed properties (see :func:`close_objects`)."""
    raw = load_schema(schema)
    draft = raw.draft
    out = drop_unknown_formats(resolve_refs(raw))
    if draft == "4":
        out = normalise_draft4(out)
    if draft in ("4", "6", "7"):
        out = normalise_draft7(out)
        out["$schema"] = DRAFT2020
    return close_objects(out) if strict_objects else out


def schema_hash(schema: dict[str, Any]) -> str:
    """A short canonical hash of a schema (key order does not matter)."""
    canon = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canon.encode()).hexdigest()[:24]


_DATE = (r"[1-9][0-9]{3}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)"
         r"|(0[13578]|1[02])-31)")
_TIME = (r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
         r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])")
ASCII_FORMATS = {
    "date": f"^{_DATE}$",
    "time": f"^{_TIME}$",
    "date-time": f"^{_DATE}T{_TIME}$",
    "uuid": r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
}


def formats_as_patterns(node: Any) -> Any:
    """Replace ``format`` by an ASCII-only, calendar-safe ``pattern`` where one is known.
    outlines-core's own format regexes use Unicode ``\\d`` (they admit digits like '༣') and
    allow 31 days in every month; these patterns only produce values ``jsonschema`` accepts."""

    def fix(out: dict[str, Any]) -> dict[str, Any]:
        if out.get("format") in ASCII_FORMATS and "pattern" not in out:
            out["pattern"] = ASCII_FORMATS[out.pop("format")]
        return out

    return rewrite_nodes(node, fix)
