"""Local ``$ref`` pointers: resolve one, check them all, inline them, and THE sibling rule.

What it does: ``resolve_pointer`` follows one local reference (``#/$defs/a~1b``,
``#/definitions/per%25cent``, ``#``, or the schema's own ``$id`` + a fragment); ``check_refs``
fails before any work on a reference that is remote, names an anchor, leads nowhere or is a
cycle of bare pointers; ``resolve_refs`` inlines every reference (a recursive one stays a
``$ref``). Which keywords beside a ``$ref`` count is decided here once, for decoding and
extraction alike (:func:`kept_beside_ref`):

* 2019-09 and 2020-12: every sibling applies (they are merged over the target);
* Draft-4/6/7: validators ignore a ``$ref``'s siblings, so only the meta-data annotations that
  cannot change what validates survive (``title``, ``description``, ``default``, ``examples``,
  ``readOnly``, ``writeOnly``, ``deprecated``, ``$comment``) and the ``$defs``/``definitions``
  containers (pointers may still lead into them). ``$id`` beside a ``$ref`` is dropped:
  ``jsonschema`` ignores it in these drafts too, and merged into an inlined target it would
  change the base URI of the target's own references.

What it does not do: fetch remote schemas, resolve ``$anchor``/``$dynamicRef``, or merge
``allOf`` (:mod:`.nodes` does, for extraction).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from prunestack.errors import SchemaError
from prunestack.pipeline.schema.drafts import OLD_DRAFTS, declared_draft
from prunestack.pipeline.schema.keywords import MAP_KEYS, VALUE_KEYWORDS, map_subschemas

#: what survives beside a ``$ref`` in Draft-4/6/7 (see the module docstring)
OLD_DRAFT_REF_SIBLINGS = frozenset({
    "title", "description", "default", "examples", "readOnly", "writeOnly", "deprecated",
    "$comment", "$defs", "definitions"})
#: the document's own keys, kept at the root whatever the draft
_ROOT_KEYS = frozenset({"$schema", "$id", "$defs", "definitions"})


def kept_beside_ref(key: str, draft: str) -> bool:
    """Whether keyword ``key`` next to a ``$ref`` counts in a schema of ``draft``."""
    return draft not in OLD_DRAFTS or key in OLD_DRAFT_REF_SIBLINGS


def resolve_pointer(root: dict[str, Any], ref: Any) -> Any:
    """The target of a local ``$ref``. ``SchemaError`` for a remote reference, an anchor, or a
    pointer that leads nowhere."""
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


def follow_ref(root: dict[str, Any], ref: str) -> Any:
    """The target of ``ref``, past any chain of bare ``{"$ref": ...}`` pointers; a chain that
    comes back to itself describes nothing and is a ``SchemaError``."""
    seen, hop = {ref}, resolve_pointer(root, ref)
    while isinstance(hop, dict) and set(hop) == {"$ref"}:
        if hop["$ref"] in seen:
            raise SchemaError(f"$ref cycle with no content at {ref!r}",
                              "a schema that only refers to itself describes nothing")
        seen.add(hop["$ref"])
        hop = resolve_pointer(root, hop["$ref"])
    return hop


def check_refs(node: Any, root: dict[str, Any] | None = None) -> None:
    """Every ``$ref`` anywhere in the schema must lead to content inside it."""
    root = node if root is None else root
    if isinstance(node, list):
        for x in node:
            check_refs(x, root)
    elif isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                follow_ref(root, v)
            elif k in MAP_KEYS and isinstance(v, dict):
                for sub in v.values():
                    check_refs(sub, root)
            elif k not in VALUE_KEYWORDS:
                check_refs(v, root)


def resolve_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Inline every local ``$ref``; a recursive reference stays a ``$ref`` (backends handle it).
    Sibling keywords next to a ``$ref`` are merged over the target as :func:`kept_beside_ref`
    says for the draft ``schema`` declares."""
    root = schema
    draft = declared_draft(schema)

    def walk(node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(x, stack) for x in node]
        if not isinstance(node, dict):
            return node
        if isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            follow_ref(root, ref)
            if ref in stack:
                return dict(node)  # recursive: keep the pointer
            target = walk(resolve_pointer(root, ref), (*stack, ref))
            if not isinstance(target, dict):
                return target
            rest = {k: walk(v, stack) for k, v in node.items() if k != "$ref" and (
                kept_beside_ref(k, draft) or (node is root and k in _ROOT_KEYS))}
            return {**target, **rest}
        return map_subschemas(node, lambda _k, v: walk(v, stack))

    out = walk(schema, ())
    # keep definitions only if a recursive $ref still needs them
    body = {k: v for k, v in out.items() if k not in ("$defs", "definitions")}
    if "$ref" not in json.dumps(body):
        out.pop("$defs", None)
        out.pop("definitions", None)
    return out
