"""THE way into the package: a JSON Schema from any form, checked once, for every caller.

What it does: ``load_schema`` takes a dict, JSON text (``str`` or ``bytes``; a byte-order mark
from a Windows editor is dropped, UTF-16/32 bytes are read), a ``Path`` or a path string naming a
``.json`` file, or a pydantic model class (its ``model_json_schema()``), and refuses, with a
message naming the place, what no validator or decoder can use: text that is not JSON, a
document that is not a JSON object, an unknown ``$schema``, a schema its draft's meta-schema
rejects, a pattern RE2 cannot run in linear time (a lookahead, a backreference: :mod:`.regex`), a
required property ``additionalProperties: false`` forbids, and a ``$ref``/``$dynamicRef``/
``$recursiveRef`` that names another document (URL, file, URN: nothing is ever fetched or
read), an anchor the document does not define, leads nowhere or loops
(:func:`.refs.check_refs`). It returns a :class:`LoadedSchema` whose ``$ref``s are pointers from
its root (:func:`.refs.localize_refs`: ``#party`` or a reference under a nested ``$id`` become
``#/$defs/party``) and that names the draft it was read as in ``$schema``, so every later check
(validators, the ``$ref``-sibling rule) reads the same draft; loading a ``LoadedSchema`` again
returns it unchanged, so a caller that checked a schema early (an API route failing fast) and
the pipeline it hands it to load it once.

``allow_path=False`` is for schemas that come from a network user: a path (``Path`` or a string
that looks like one) is refused without the file being read or even looked for.

Before anything parses or walks it, a schema is held to :class:`.limits.SchemaLimits` (``limits``,
default :data:`.limits.DEFAULT_LIMITS`; the server passes its settings'): JSON text's size and
nesting before ``json.loads``, then :func:`.limits.check_limits` (no recursion) before the
meta-schema check (which recurses). The returned schema carries the limits it passed
(``LoadedSchema.limits``): the conformer builds its stand-ins within the same budget.

What it does not do: fetch anything a schema names (the meta-schema check, too, runs with
:func:`.refs.no_io_registry`), require an object root (extraction does that:
:func:`.fields.require_object_root`), or rewrite the schema beyond root pointers
(:mod:`.normalize` does).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeAlias

from pydantic import BaseModel

from prunestack.errors import SchemaError
from prunestack.pipeline.schema import regex
from prunestack.pipeline.schema.drafts import (
    DRAFT_URIS,
    declared_draft,
    meta_draft,
    validator_class,
)
from prunestack.pipeline.schema.keywords import MAP_KEYS, VALUE_KEYWORDS
from prunestack.pipeline.schema.limits import (
    DEFAULT_LIMITS,
    SchemaLimits,
    check_limits,
    check_size,
    check_text,
    limits_of,
)
from prunestack.pipeline.schema.refs import localize_refs, no_io_registry

SchemaSource: TypeAlias = dict[str, Any] | str | bytes | Path | type[BaseModel]


class LoadedSchema(dict[str, Any]):
    """A schema :func:`load_schema` has checked; its ``$schema`` names the draft it was read
    as. Treat it as read-only: a changed copy should be a plain dict, loaded again."""

    limits: SchemaLimits = DEFAULT_LIMITS  # what it was checked against (set by load_schema)

    @property
    def draft(self) -> str:
        return declared_draft(self)


def load_schema(schema: SchemaSource, *, allow_path: bool = True,
                limits: SchemaLimits | None = None) -> LoadedSchema:
    """``schema`` parsed and checked (see the module docstring); ``SchemaError`` otherwise.
    ``limits``: the :class:`.limits.SchemaLimits` to hold it to (default: the defaults; for a
    ``LoadedSchema``, those it was loaded with)."""
    if isinstance(schema, LoadedSchema):
        if limits is None or limits == limits_of(schema):
            return schema
        check_limits(schema, limits)  # held to other limits: check again, carry the new ones
        out = LoadedSchema(schema)
        out.limits = limits
        return out
    limits = limits or DEFAULT_LIMITS
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        schema = schema.model_json_schema()
    elif isinstance(schema, Path) or (isinstance(schema, str) and _looks_like_path(schema)):
        if not allow_path:
            raise SchemaError("a schema file path is not accepted here",
                              "send the schema itself as JSON text")
        schema = _read(Path(schema), limits)
    if isinstance(schema, (bytes, bytearray, str)):
        check_text(schema, limits)  # size and nesting, before json.loads recurses
    if isinstance(schema, (bytes, bytearray)):
        try:
            schema = json.loads(schema)  # UTF-8 (with or without a BOM), UTF-16, UTF-32
        except UnicodeDecodeError as exc:
            raise SchemaError(f"schema is not UTF-8, UTF-16 or UTF-32 text: {exc.reason}"
                              ) from exc
        except json.JSONDecodeError as exc:
            raise _not_json(exc) from exc
    elif isinstance(schema, str):
        try:
            schema = json.loads(schema.lstrip("\ufeff"))
        except json.JSONDecodeError as exc:
            raise _not_json(exc) from exc
    if not isinstance(schema, dict):
        raise SchemaError(f"a JSON Schema must be a JSON object, got {type(schema).__name__}",
                          'wrap it, e.g. {"type": "object", "properties": {...}}')
    check_limits(schema, limits)  # iterative: before anything that recurses over the schema
    draft = check_metaschema(schema)
    if "$schema" not in schema:
        schema = {"$schema": DRAFT_URIS[draft], **schema}
    out = LoadedSchema(localize_refs(schema))
    out.limits = limits
    return out


def _looks_like_path(text: str) -> bool:
    """A short string that is not JSON text and names a ``.json`` file."""
    t = text.lstrip("\ufeff").lstrip()
    return not t.startswith(("{", "[", '"')) and len(t) < 4096 and Path(t).suffix == ".json"


def _read(path: Path, limits: SchemaLimits) -> bytes:
    if not path.is_file():
        raise SchemaError(f"schema file not found: {path}")
    check_size(path.stat().st_size, limits)  # before the file is read into memory
    return path.read_bytes()


def _not_json(exc: json.JSONDecodeError) -> SchemaError:
    return SchemaError(f"schema is not valid JSON: {exc.msg} at line {exc.lineno} "
                       f"column {exc.colno}")


def check_metaschema(schema: dict[str, Any]) -> str:
    """Validate against the meta-schema of the draft ``schema`` is written in and return that
    draft: "4", "6", "7", "2019-09" or "2020-12". The draft is its ``$schema`` (the unversioned
    ``json-schema.org/schema``: 2020-12); without one 2020-12 (what ``jsonschema.validate`` and
    pydantic assume), or Draft-7 when only Draft-7's meta-schema accepts it (tuple
    ``items: [...]`` in an undeclared old schema). Each meta-schema is checked at most once.
    Then :func:`check_satisfiable`."""
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


def _meta_error(schema: dict[str, Any], draft: str) -> Any:
    """The most relevant meta-schema violation of ``schema`` under ``draft`` (None: valid).
    A schema the Rust validator (``jsonschema_rs``, microseconds) finds valid is valid; the
    Python validator (milliseconds) runs only to find and word the violation, or without it."""
    if _rust_meta_valid(schema, draft):
        return None
    import jsonschema  # ~0.1 s: only when a schema is checked, not when the package is imported

    return jsonschema.exceptions.best_match(_meta_validator(draft).iter_errors(schema))


def _rust_meta_valid(schema: dict[str, Any], draft: str) -> bool:
    try:
        import jsonschema_rs
    except ImportError:
        return False
    try:
        return bool(jsonschema_rs.meta.is_valid({**schema, "$schema": DRAFT_URIS[draft]}))
    except Exception:  # a draft or construct it does not know: the Python validator decides
        return False


@lru_cache(maxsize=8)
def _meta_validator(draft: str) -> Any:
    """The validator of ``draft``'s meta-schema; its registry refuses retrieval (the bundled
    meta-schemas are all it needs)."""
    cls = validator_class(draft)
    return cls(cls.META_SCHEMA, registry=no_io_registry())


def check_satisfiable(node: Any, where: str = "") -> None:
    """Refuse, naming the place, what the meta-schema lets through but no validator or decoder
    can use: a ``pattern`` (or ``patternProperties`` key) that is not ECMA-262 or needs a
    backtracking engine (:func:`.regex.user_pattern`: lookaround, backreferences...), and a
    ``required`` property that ``additionalProperties: false`` forbids."""
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
        regex.user_pattern(pat, at.lstrip("/"))
    if node.get("additionalProperties") is False and isinstance(node.get("required"), list):
        raw = node.get("properties")
        props: dict[str, Any] = raw if isinstance(raw, dict) else {}
        for name in node["required"]:
            if isinstance(name, str) and name not in props and not any(
                    regex.search(p, name) for p in node.get("patternProperties") or {}):
                raise SchemaError(f"required property {name!r} at {where.lstrip('/') or '(root)'}"
                                  " can never be present: additionalProperties is false and "
                                  "properties does not list it",
                                  "add it to properties or remove it from required")
    for k, v in node.items():
        if k in VALUE_KEYWORDS:
            continue
        if k in MAP_KEYS and isinstance(v, dict):
            for name, sub in v.items():
                check_satisfiable(sub, f"{where}/{k}/{name}")
        elif isinstance(v, (dict, list)):
            check_satisfiable(v, f"{where}/{k}")
