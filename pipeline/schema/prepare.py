"""Load, check and normalise a JSON Schema before any backend sees it.

What it does: parse a schema given as a dict, a JSON string or a file path; require a JSON object;
check it against its meta-schema (Draft-7 or 2020-12, chosen by ``$schema``, 2020-12 by default);
inline local ``$ref`` pointers (``#/definitions/..``, ``#/$defs/..``, any JSON pointer) unless they
are recursive; rewrite Draft-7 tuple ``items: [...]`` into 2020-12 ``prefixItems``; and find the
keywords a given backend would silently ignore, so the caller can refuse the schema up front with
an error that names the keyword. It also hashes a schema canonically (for caches).

What it does not do: compile grammars (``pipeline.decoding.backends``) or fetch remote ``$ref``s
(a non-local ``$ref`` is a :class:`SchemaError`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from prunestack.errors import SchemaError

DRAFT7 = "http://json-schema.org/draft-07/schema#"
VALUE_KEYWORDS = ("enum", "const", "default", "examples")  # their values are data, not schemas
DRAFT2020 = "https://json-schema.org/draft/2020-12/schema"

# Keywords that carry no constraint on the generated text.
ANNOTATIONS = frozenset({
    "$schema", "$id", "$comment", "$anchor", "$defs", "definitions", "title", "description",
    "default", "examples", "deprecated", "readOnly", "writeOnly", "$vocabulary",
    "contentMediaType",
})
# Keywords every backend implements (structure, types, enums, strings, arrays).
CORE = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "prefixItems", "enum",
    "const", "anyOf", "oneOf", "allOf", "$ref", "minItems", "maxItems", "minLength", "maxLength",
    "pattern", "format",
})
# Keywords llguidance 1.9 implements beyond CORE.
LLGUIDANCE_EXTRA = frozenset({
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minProperties", "maxProperties", "patternProperties", "unevaluatedProperties",
    "propertyNames", "additionalItems",
})
# outlines-core 0.2 turns these into regexes; it ignores numeric bounds, multipleOf, uniqueItems,
# patternProperties (REFERENCES.md), so a schema using them is refused for that backend.
# Formats sent to outlines as our own ASCII patterns (``formats_as_patterns``). Its "uri" and
# "email" regexes admit an unescaped '"' inside the JSON string (invalid JSON), so are refused.
OUTLINES_FORMATS = frozenset({"date-time", "date", "time", "uuid"})

# Every keyword with a meaning in Draft-7 / 2019-09 / 2020-12. Anything else (OpenAPI's
# ``nullable``/``example``/``discriminator``, ``x-*`` extensions, pydantic's extras) is an unknown
# keyword, which JSON Schema validators ignore; so do the backends, so it is never refused.
STANDARD = CORE | LLGUIDANCE_EXTRA | ANNOTATIONS | frozenset({
    "not", "if", "then", "else", "dependentRequired", "dependentSchemas", "dependencies",
    "uniqueItems", "contains", "minContains", "maxContains", "unevaluatedItems",
    "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor", "contentEncoding",
    "contentSchema",
})

SUPPORTED = {
    "llguidance": CORE | LLGUIDANCE_EXTRA | ANNOTATIONS,
    "outlines": CORE | ANNOTATIONS,
}
# Keys under which a value is a map of sub-schemas / a list of sub-schemas / one sub-schema.
_MAP_KEYS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_LIST_KEYS = ("anyOf", "oneOf", "allOf", "prefixItems")
_ONE_KEYS = ("items", "additionalProperties", "additionalItems", "not", "if", "then", "else",
             "contains", "propertyNames", "unevaluatedProperties", "unevaluatedItems")


def load_schema(schema: dict | str | Path) -> dict:
    """A schema as a dict, from a dict, a JSON text or a path to a ``.json`` file."""
    if isinstance(schema, Path) or (isinstance(schema, str) and not schema.lstrip().startswith(
            ("{", "[", '"')) and len(schema) < 4096 and Path(schema).suffix == ".json"):
        p = Path(schema)
        if not p.is_file():
            raise SchemaError(f"schema file not found: {p}")
        schema = p.read_text(encoding="utf-8-sig")  # a BOM from a Windows editor is dropped
    if isinstance(schema, str):
        try:
            schema = json.loads(schema.lstrip("\ufeff"))
        except json.JSONDecodeError as exc:
            raise SchemaError(f"schema is not valid JSON: {exc.msg} at line {exc.lineno} "
                              f"column {exc.colno}") from exc
    if not isinstance(schema, dict):
        raise SchemaError(f"a JSON Schema must be a JSON object, got {type(schema).__name__}",
                          'wrap it, e.g. {"type": "object", "properties": {...}}')
    return schema


def check_metaschema(schema: dict) -> str:
    """Validate against the meta-schema of the draft ``schema`` is written in and return that
    draft: "4", "6", "7", "2019-09" or "2020-12". The draft is its ``$schema`` (the unversioned
    ``json-schema.org/schema``: 2020-12); without one 2020-12 (what ``jsonschema.validate`` and
    pydantic assume), or Draft-7 when only Draft-7's meta-schema accepts it (tuple
    ``items: [...]`` in an undeclared old schema). Each meta-schema is checked at most once."""
    if "$schema" in schema:
        draft = meta_draft(str(schema["$schema"]))
        err = _meta_error(schema, draft)
    else:
        draft, err = "2020-12", _meta_error(schema, "2020-12")
        if err is not None and _meta_error(schema, "7") is None:
            draft, err = "7", None
    if err is not None:
        where = "/".join(str(p) for p in err.absolute_path) or "(root)"
        raise SchemaError(f"invalid JSON Schema at {where}: {err.message}")
    check_satisfiable(schema)
    return draft


def _meta_error(schema: dict, draft: str) -> Any:
    """The most relevant meta-schema violation of ``schema`` under ``draft`` (None: valid)."""
    import jsonschema

    cls = {"4": jsonschema.Draft4Validator, "6": jsonschema.Draft6Validator,
           "7": jsonschema.Draft7Validator, "2019-09": jsonschema.Draft201909Validator,
           "2020-12": jsonschema.Draft202012Validator}[draft]
    return jsonschema.exceptions.best_match(cls(cls.META_SCHEMA).iter_errors(schema))


def check_satisfiable(node: Any, where: str = "") -> None:
    """Refuse, naming the place, what the meta-schema lets through but no validator or decoder
    can use: a ``pattern`` (or ``patternProperties`` key) Python's ``re`` cannot compile (JSON
    Schema regexes are ECMA-262: ``\\p{L}``, ``(?<name>...)``), and a ``required`` property that
    ``additionalProperties: false`` forbids."""
    if isinstance(node, list):
        for i, x in enumerate(node):
            check_satisfiable(x, f"{where}/{i}")
        return
    if not isinstance(node, dict):
        return
    pats = [(node["pattern"], f"{where}/pattern")] if isinstance(node.get("pattern"), str) else []
    if isinstance(node.get("patternProperties"), dict):
        pats += [(k, f"{where}/patternProperties") for k in node["patternProperties"]]
    for pat, at in pats:
        try:
            re.compile(pat)
        except (re.error, OverflowError, RecursionError) as exc:
            raise SchemaError(f"pattern {pat!r} at {at.lstrip('/') or '(root)'} is not a regular "
                              f"expression Python can use: {exc}",
                              "write \\p{L} as [^\\W\\d_] and (?<name>...) as (?P<name>...)"
                              ) from exc
    if node.get("additionalProperties") is False and isinstance(node.get("required"), list):
        raw = node.get("properties")
        props: dict[str, Any] = raw if isinstance(raw, dict) else {}
        for name in node["required"]:
            if isinstance(name, str) and name not in props and not any(
                    re.search(p, name) for p in node.get("patternProperties") or {}):
                raise SchemaError(f"required property {name!r} at {where.lstrip('/') or '(root)'}"
                                  " can never be present: additionalProperties is false and "
                                  "properties does not list it",
                                  "add it to properties or remove it from required")
    for k, v in node.items():
        if k in VALUE_KEYWORDS:
            continue
        if k in _MAP_KEYS and isinstance(v, dict):
            for name, sub in v.items():
                check_satisfiable(sub, f"{where}/{k}/{name}")
        elif isinstance(v, (dict, list)):
            check_satisfiable(v, f"{where}/{k}")


# The formats JSON Schema defines; any other "format" is an annotation validators ignore.
STANDARD_FORMATS = frozenset({
    "date", "time", "date-time", "duration", "email", "idn-email", "hostname", "idn-hostname",
    "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference", "uuid", "uri-template",
    "json-pointer", "relative-json-pointer", "regex"})
LLGUIDANCE_FORMATS = frozenset({"date", "time", "date-time", "duration", "email", "hostname",
                                "ipv4", "ipv6", "uri", "uuid"})


def rewrite_nodes(node: Any, fix: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """Bottom-up rewrite of every sub-schema: ``fix`` gets each object node (children already
    rewritten, a fresh dict it may change) and returns it. Values of ``enum``/``const``/
    ``default``/``examples`` are data and left alone; a ``properties``-like map is not itself a
    schema (a property may be named ``format``), only its values are."""
    if isinstance(node, list):
        return [rewrite_nodes(x, fix) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k in VALUE_KEYWORDS:
            out[k] = v
        elif k in _MAP_KEYS and isinstance(v, dict):
            out[k] = {name: rewrite_nodes(sub, fix) for name, sub in v.items()}
        else:
            out[k] = rewrite_nodes(v, fix)
    return fix(out)


def drop_unknown_formats(node: Any) -> Any:
    """Remove ``format`` values JSON Schema does not define (OpenAPI's ``int32``, ``double``,
    ``decimal``, ``byte``; ``phone``...): validators ignore them, so must the decoder."""

    def fix(out: dict[str, Any]) -> dict[str, Any]:
        if "format" in out and out["format"] not in STANDARD_FORMATS:
            del out["format"]
        return out

    return rewrite_nodes(node, fix)


DRAFT_URIS = {"4": "http://json-schema.org/draft-04/schema#",
              "6": "http://json-schema.org/draft-06/schema#", "7": DRAFT7,
              "2019-09": "https://json-schema.org/draft/2019-09/schema", "2020-12": DRAFT2020}
OLD_DRAFTS = ("4", "6", "7")  # a $ref's sibling keywords are ignored in these


def meta_draft(uri: str) -> str:
    """The draft a ``$schema`` URI names; ``SchemaError`` for one that names none we know."""
    u = uri.rstrip("#/").replace("https://", "http://")
    for key in ("draft-04", "draft-06", "draft-07", "2019-09", "2020-12"):
        if key in u:
            return key.removeprefix("draft-0")
    if u in ("http://json-schema.org/schema", "http://json-schema.org/draft/next/schema"):
        return "2020-12"
    raise SchemaError(f"unsupported $schema {uri!r}", "use Draft-4/6/7, 2019-09 or 2020-12")


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


def resolve_pointer(root: dict[str, Any], ref: Any) -> Any:
    """The target of a local ``$ref`` (``#/$defs/a~1b``, ``#/definitions/per%25cent``, ``#``, or
    the schema's own ``$id`` followed by a fragment). ``SchemaError`` for a remote reference, an
    anchor, or a pointer that leads nowhere. Shared by decoding and extraction."""
    if not isinstance(ref, str):
        raise SchemaError(f"$ref must be a string, got {ref!r}")
    base, _, frag = ref.partition("#")
    own = str(root.get("$id", "")).partition("#")[0]
    if base and base != own:
        raise SchemaError(f"only local $ref pointers are supported, got {ref!r} "
                          "(remote schemas are not fetched)",
                          "copy the referenced schema under $defs and use '#/$defs/<name>'")
    if frag and not frag.startswith("/"):
        raise SchemaError(f"$ref {ref!r} names an anchor; only JSON pointers are supported",
                          "use a pointer such as '#/$defs/<name>'")
    node: Any = root
    for raw in frag.split("/")[1:]:
        part = unquote(raw).replace("~1", "/").replace("~0", "~")  # URI fragment, RFC 6901
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise SchemaError(f"$ref {ref!r} points nowhere (no {part!r})")
    return node


def resolve_refs(schema: dict, siblings: bool = True) -> dict:
    """Inline every local ``$ref``; a recursive reference stays a ``$ref`` (backends handle it).
    Sibling keywords next to ``$ref`` are merged over the target (2019-09+ semantics), or, with
    ``siblings=False`` (Draft-4/6/7, where validators ignore them), only annotations are."""
    root = schema

    def walk(node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(x, stack) for x in node]
        if not isinstance(node, dict):
            return node
        if isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            seen, hop = {ref}, resolve_pointer(root, ref)
            while isinstance(hop, dict) and set(hop) == {"$ref"}:  # a chain of bare pointers
                if hop["$ref"] in seen:
                    raise SchemaError(f"$ref cycle with no content at {ref!r}",
                                      "a schema that only refers to itself describes nothing")
                seen.add(hop["$ref"])
                hop = resolve_pointer(root, hop["$ref"])
            if ref in stack:
                return dict(node)  # recursive: keep the pointer
            target = walk(resolve_pointer(root, ref), (*stack, ref))
            if not isinstance(target, dict):
                return target
            rest = {k: walk(v, stack) for k, v in node.items()
                    if k != "$ref" and (siblings or k in ANNOTATIONS)}
            return {**target, **rest}
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k in VALUE_KEYWORDS:
                out[k] = v
            elif k in _MAP_KEYS and isinstance(v, dict):
                out[k] = {name: walk(sub, stack) for name, sub in v.items()}
            else:
                out[k] = walk(v, stack)
        return out

    out = walk(schema, ())
    # keep definitions only if a recursive $ref still needs them
    body = {k: v for k, v in out.items() if k not in ("$defs", "definitions")}
    if "$ref" not in json.dumps(body):
        out.pop("$defs", None)
        out.pop("definitions", None)
    return out


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
        if k in _MAP_KEYS and isinstance(v, dict):
            for sub in v.values():
                found |= keywords(sub)
        elif k in _LIST_KEYS or k in _ONE_KEYS:
            found |= keywords(v)
    return found


def formats(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(formats(x) for x in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = {node["format"]} if isinstance(node.get("format"), str) else set()
    for k, v in node.items():
        if k in VALUE_KEYWORDS:
            continue
        if k in _MAP_KEYS and isinstance(v, dict):
            found |= formats(list(v.values()))
        elif isinstance(v, (dict, list)):
            found |= formats(v)
    return found


def unsupported_keywords(schema: dict, backend: str) -> list[str]:
    """Keywords (and ``format: x`` values) that ``backend`` cannot enforce, sorted."""
    bad = sorted((keywords(schema) & STANDARD) - SUPPORTED[backend])
    if backend == "llguidance":
        bad += [f"format: {f}" for f in sorted(formats(schema) - LLGUIDANCE_FORMATS)]
    if backend == "outlines":
        bad += [f"format: {f}" for f in sorted(formats(schema) - OUTLINES_FORMATS)]
    return bad


def close_objects(node: Any, in_all_of: bool = False) -> Any:
    """Add ``additionalProperties: false`` to object schemas that list ``properties`` and say
    nothing about extra keys (not inside ``allOf``, where it would change the meaning). Output
    valid for the closed schema is valid for the original; it stops a decoder inventing keys."""
    if isinstance(node, list):
        return [close_objects(x, in_all_of) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k in VALUE_KEYWORDS:
            out[k] = v
        elif k in _MAP_KEYS and isinstance(v, dict):
            out[k] = {name: close_objects(sub) for name, sub in v.items()}
        else:
            out[k] = close_objects(v, k == "allOf")
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


def prepare_schema(schema: dict | str | Path, strict_objects: bool = True) -> dict:
    """Load, meta-validate, inline refs and normalise: the form every backend compiles.
    ``strict_objects`` closes objects to their listed properties (see :func:`close_objects`)."""
    raw = load_schema(schema)
    draft = check_metaschema(raw)
    out = drop_unknown_formats(resolve_refs(raw, siblings=draft not in OLD_DRAFTS))
    if draft == "4":
        out = normalise_draft4(out)
    if draft in ("4", "6", "7"):
        out = normalise_draft7(out)
        out["$schema"] = DRAFT2020
    return close_objects(out) if strict_objects else out


def schema_hash(schema: dict) -> str:
    canon = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canon.encode()).hexdigest()[:24]


def validator_for(schema: dict) -> Any:
    """A jsonschema validator (with format checks) for the *original* schema."""
    import jsonschema

    raw = copy.deepcopy(schema)
    cls = jsonschema.validators.validator_for(raw, default=jsonschema.Draft202012Validator)
    return cls(raw, format_checker=cls.FORMAT_CHECKER)


_FORMAT_BYTES = {"date-time": 25, "date": 10, "time": 14, "uuid": 36, "email": 8, "uri": 12,
                 "ipv4": 15, "ipv6": 39, "hostname": 8, "duration": 8}


def closing_budget(node: Any, depth: int = 0) -> int:
    """A conservative byte count to finish *any* partly written instance of ``node`` by the
    shortest route: every property (optional ones may already be open), the largest ``anyOf``
    branch, ``minItems`` items plus one open item, formats at full length. A token is at least
    one byte, so this many tokens always suffice once the decoder only closes."""
    if depth > 8 or not isinstance(node, dict):
        return 8
    if "const" in node:
        return len(json.dumps(node["const"]))
    if "enum" in node:
        return max((len(json.dumps(v)) for v in node["enum"]), default=4)
    branches = [b for k in ("anyOf", "oneOf", "allOf") for b in node.get(k, [])]
    if branches:
        inner = [closing_budget(b, depth + 1) for b in branches]
        return sum(inner) if "allOf" in node else max(inner)
    t = node.get("type")
    types = t if isinstance(t, list) else [t]
    sizes = []
    for ty in types:
        if ty == "object" or (ty is None and "properties" in node):
            props = node.get("properties", {})
            sizes.append(2 + sum(len(json.dumps(k)) + 2 + closing_budget(v, depth + 1)
                                 for k, v in props.items()))
        elif ty == "array" or (ty is None and ("items" in node or "prefixItems" in node)):
            item = closing_budget(node.get("items", {}), depth + 1) if isinstance(
                node.get("items"), dict) else 4
            pre = sum(closing_budget(p, depth + 1) + 1 for p in node.get("prefixItems", []))
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
