"""Rewrite a loaded schema into the one form every decoding backend compiles.

What it does: ``prepare_schema`` loads (:func:`.load.load_schema`), keeps local ``$ref``s as
references (Draft-4/6/7 siblings a validator ignores dropped, :func:`drop_ref_siblings`;
definitions no reference reaches dropped, :func:`prune_definitions`), drops ``format`` values
JSON Schema does not define, rewrites Draft-4 boolean bounds and Draft-4/6/7 tuple
``items: [...]`` into their 2020-12 forms, rewrites ``not``, dependencies, ``oneOf`` and
``uniqueItems`` exactly where it can (:mod:`.rewrites`), and, only when asked
(``closed=True``), closes objects (:mod:`.closing`). ``formats_as_patterns`` swaps known formats
for our patterns (ASCII-only, calendar-safe dates; RFC 6570 for ``uri-template``);
``schema_hash`` is a canonical hash (for caches). Every rewrite keeps exactly what validates
under the original schema (closing only narrows it), which ``tests/decoding/test_property.py``
checks against ``jsonschema`` and ``tests/decoding/test_schema_forms.py`` token by token.

What it does not do: compile grammars (``pipeline.decoding.backends``), inline references (only
the outlines backend needs that: :func:`.refs.resolve_refs`) or decide what a backend can
enforce (:mod:`.support`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import unquote

from prunestack.pipeline.schema.closing import close_objects
from prunestack.pipeline.schema.drafts import DRAFT2020, OLD_DRAFTS
from prunestack.pipeline.schema.keywords import (
    STANDARD_FORMATS,
    URI_TEMPLATE,
    VALUE_KEYWORDS,
    map_subschemas,
    rewrite_nodes,
)
from prunestack.pipeline.schema.load import SchemaSource, load_schema
from prunestack.pipeline.schema.refs import kept_beside_ref
from prunestack.pipeline.schema.rewrites import rewrite_keywords


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


def drop_ref_siblings(schema: dict[str, Any], draft: str) -> dict[str, Any]:
    """Draft-4/6/7: the keywords beside a ``$ref`` that validators ignore, dropped (what
    :func:`.refs.kept_beside_ref` keeps stays), so the schema reads the same once declared
    2020-12, where siblings apply. The root keeps its ``$schema``/``$id``/``$defs``."""
    if draft not in OLD_DRAFTS:
        return schema

    def fix(out: dict[str, Any]) -> dict[str, Any]:
        if isinstance(out.get("$ref"), str):
            return {k: v for k, v in out.items() if k == "$ref" or kept_beside_ref(k, draft)}
        return out

    top = dict(schema)
    if isinstance(schema.get("$ref"), str):
        kept = fix(top)
        top = {**kept, **{k: schema[k] for k in ("$schema", "$id") if k in schema}}
    return map_subschemas(top, lambda _k, v: rewrite_nodes(v, fix))


def prune_definitions(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without the ``$defs``/``definitions`` entries no reference reaches (a
    keyword in an unused definition must not refuse the schema); iterative."""
    containers = [c for c in ("$defs", "definitions") if isinstance(schema.get(c), dict)]
    if not containers:
        return schema
    keep: dict[str, set[str]] = {c: set() for c in containers}
    stack: list[Any] = [{k: v for k, v in schema.items() if k not in containers}]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        ref = node.get("$ref")
        if isinstance(ref, str):
            parts = [unquote(p).replace("~1", "/").replace("~0", "~")
                     for p in ref.partition("#")[2].split("/")[1:]]
            if parts and parts[0] in keep:
                if len(parts) == 1:
                    return schema  # a pointer at the whole container: keep everything
                if parts[1] not in keep[parts[0]] and parts[1] in schema[parts[0]]:
                    keep[parts[0]].add(parts[1])
                    stack.append(schema[parts[0]][parts[1]])
        for k, v in node.items():
            if k not in VALUE_KEYWORDS and isinstance(v, (dict, list)):
                stack.append(v)
    out = {k: v for k, v in schema.items() if k not in containers}
    for c in containers:
        if keep[c]:
            out[c] = {n: s for n, s in schema[c].items() if n in keep[c]}
    return out


def prepare_schema(schema: SchemaSource, closed: bool = False) -> dict[str, Any]:
    """Load and normalise into the form every backend compiles, declared 2020-12: faithful —
    it accepts exactly the documents the schema accepts. References stay references (only the
    outlines backend inlines them, :func:`.refs.resolve_refs`); :func:`.rewrites.
    rewrite_keywords` turns ``not``, dependencies, disjoint ``oneOf`` and small ``uniqueItems``
    into keywords backends enforce. ``closed=True`` is a generation preference, not validity:
    no key the schema does not name (:func:`close_objects`)."""
    raw = load_schema(schema)
    draft = raw.draft
    out = drop_unknown_formats(drop_ref_siblings(dict(raw), draft))
    if draft == "4":
        out = normalise_draft4(out)
    if draft in ("4", "6", "7"):
        out = normalise_draft7(out)
        out["$schema"] = DRAFT2020
    out = rewrite_keywords(prune_definitions(out))
    return close_objects(out) if closed else out


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


#: formats a backend gets as our own patterns (:func:`formats_as_patterns`)
FORMAT_PATTERNS = {**ASCII_FORMATS, "uri-template": URI_TEMPLATE}


def formats_as_patterns(node: Any) -> Any:
    """Replace ``format`` by our ``pattern`` where one is known: ASCII-only, calendar-safe
    dates and times (outlines-core's own format regexes use Unicode ``\\d``, admitting digits
    like '༣', and allow 31 days in every month; llguidance's admit year 0000), and RFC 6570's
    grammar for ``uri-template``. These patterns only produce values ``jsonschema`` accepts."""

    def fix(out: dict[str, Any]) -> dict[str, Any]:
        if out.get("format") in FORMAT_PATTERNS and "pattern" not in out:
            out["pattern"] = FORMAT_PATTERNS[out.pop("format")]
        return out

    return rewrite_nodes(node, fix)
