"""References in a schema: resolved inside the document and never fetched, pointers inlined, and
THE sibling rule.

What it does:

* :func:`no_io_registry` is the ``referencing`` registry every validator of the package is built
  with: the schema's own resources (its root and every embedded ``$id``), the bundled
  meta-schemas (``jsonschema`` adds them) and a retrieve function that refuses
  (:func:`refuse_retrieval`). ``jsonschema``'s default
  registry would ``urlopen`` any ``http(s):`` or ``file:`` URI a schema names; with this one
  nothing is fetched and no file is read, whatever a schema says.
* :func:`check_refs` (run by ``load_schema``) makes every ``$ref``, ``$dynamicRef`` and
  ``$recursiveRef`` resolve inside the document, read as a validator reads it (``referencing``'s
  own resolver over the document's resources, retrieval refused): the base URI of nested ``$id``s
  (relative and absolute) applies, and anchors (``$anchor``, ``$dynamicAnchor``, a Draft-4/6/7
  ``"#name"`` id) are found where the document defines them. A ``SchemaError`` naming the keyword
  and its place refuses the rest: a reference to another document (``http(s):``, ``file:``,
  ``urn:``, a relative name no ``$id`` defines: "remote: schemas are never fetched"), a pointer
  to nowhere or into ``enum``/``const``/``default``/``examples`` data, an anchor the document does
  not define, a nested ``$schema`` naming no known draft, an ``$id`` that is no URI, and a cycle
  of references that never reaches a value (``{"allOf": [{"$ref": "#"}]}``: a validator would
  recurse forever).
* :func:`localize_refs` checks the same way and returns the schema with every ``$ref`` written
  as a pointer from the root (``#party`` or ``party.json`` under a nested ``$id`` become
  ``#/$defs/party``) and the nested ``$id``s those pointers no longer need dropped: a validator
  reads it exactly as the original, and every later reader (:func:`resolve_pointer`, the inliner,
  extraction's node reader, the decoders) only meets root pointers. A schema with
  ``$dynamicRef``/``$recursiveRef``/their anchors is checked but kept as written (its dynamic
  targets depend on the nested ``$id``s).
* :func:`resolve_pointer` follows one root pointer (``#/$defs/a~1b``, ``#/definitions/per%25cent``,
  ``#``, or the schema's own ``$id`` + a fragment); :func:`follow_ref` follows a chain of bare
  pointers; :func:`resolve_refs` inlines every reference (a recursive one stays a ``$ref``) for
  the outlines backend (every other decoder compiles references as grammar rules).
  Which keywords beside a ``$ref`` count is decided here once, for decoding and extraction alike
  (:func:`kept_beside_ref`):

  * 2019-09 and 2020-12: every sibling applies (they are merged over the target);
  * Draft-4/6/7: validators ignore a ``$ref``'s siblings, so only the meta-data annotations that
    cannot change what validates survive (``title``, ``description``, ``default``, ``examples``,
    ``readOnly``, ``writeOnly``, ``deprecated``, ``$comment``) and the ``$defs``/``definitions``
    containers (pointers may still lead into them). ``$id`` beside a ``$ref`` is dropped:
    ``jsonschema`` ignores it in these drafts too, and merged into an inlined target it would
    change the base URI of the target's own references.

What it does not do: fetch or read anything, evaluate ``$dynamicRef`` dynamically (validators
do, inside the document), bound how far references expand (the schema limits do), or merge
``allOf`` (:mod:`.nodes` does, for extraction).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import quote, unquote, urljoin, urlsplit

from prunestack.errors import SchemaError
from prunestack.pipeline.schema.drafts import OLD_DRAFTS, declared_draft, meta_draft
from prunestack.pipeline.schema.keywords import MAP_KEYS, VALUE_KEYWORDS, map_subschemas

#: what survives beside a ``$ref`` in Draft-4/6/7 (see the module docstring)
OLD_DRAFT_REF_SIBLINGS = frozenset({
    "title", "description", "default", "examples", "readOnly", "writeOnly", "deprecated",
    "$comment", "$defs", "definitions"})
#: the keywords that name another schema by URI
REF_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")
#: the document's own keys, kept at the root whatever the draft
_ROOT_KEYS = frozenset({"$schema", "$id", "$defs", "definitions"})
#: keywords whose targets depend on the evaluation path, not only on the document
_DYNAMIC = frozenset({"$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor"})
#: applicators that evaluate their sub-schemas against the same value (no descent into it)
_IN_PLACE_ONE = ("not", "if", "then", "else")
_IN_PLACE_LIST = ("allOf", "anyOf", "oneOf")
_IN_PLACE_MAP = ("dependentSchemas", "dependencies")
#: the base URI of a document that declares no absolute ``$id`` (``.invalid`` never resolves,
#: RFC 6761; nothing is retrieved anyway): relative ``$id``s and references resolve against it
DOCUMENT_BASE = "https://schema.prunestack.invalid/root.json"
_HINT = "copy the referenced schema under $defs and refer to it as '#/$defs/<name>'"

Path = tuple[str | int, ...]


def kept_beside_ref(key: str, draft: str) -> bool:
    """Whether keyword ``key`` next to a ``$ref`` counts in a schema of ``draft``."""
    return draft not in OLD_DRAFTS or key in OLD_DRAFT_REF_SIBLINGS


# ------------------------------------------------------------------ the registry that never fetches
def refuse_retrieval(uri: str) -> NoReturn:
    """The retrieve function of every registry the package builds: nothing named by a schema is
    ever fetched or read, so a reference the document does not define is unresolvable."""
    from referencing.exceptions import NoSuchResource

    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


def _specification(draft: str) -> Any:
    """``referencing``'s reading of a draft: where ids, anchors and sub-schemas are."""
    import referencing.jsonschema as rj

    return {"4": rj.DRAFT4, "6": rj.DRAFT6, "7": rj.DRAFT7, "2019-09": rj.DRAFT201909,
            "2020-12": rj.DRAFT202012}[draft]


def no_io_registry(schema: Any = None, draft: str | None = None) -> Any:
    """The registry for a validator of ``schema`` (see the module docstring): the schema's own
    resources (its root and every embedded ``$id``), crawled, and retrieval refused. ``draft``:
    the draft to read ``schema`` as (default: the one it declares). ``jsonschema`` combines the
    registry a validator is given with the bundled meta-schemas
    (``jsonschema_specifications.REGISTRY``) itself, so they are not copied in here: copying
    them again would cost ~0.1 ms per validator, and extraction builds many."""
    from referencing import Registry

    registry = Registry(retrieve=refuse_retrieval)  # type: ignore[call-arg]
    if not isinstance(schema, dict):
        return registry
    resource = _specification(draft or declared_draft(schema)).create_resource(schema)
    return registry.with_resource(resource.id() or "", resource).crawl()


# ------------------------------------------------------------------ one root pointer
def resolve_pointer(root: dict[str, Any], ref: Any) -> Any:
    """The target of a root pointer (what a loaded schema's ``$ref``s are). ``SchemaError`` for
    a reference to another document, an anchor, or a pointer that leads nowhere."""
    if not isinstance(ref, str):
        raise SchemaError(f"$ref must be a string, got {ref!r}")
    base, _, frag = ref.partition("#")
    own = str(root.get("$id", "")).partition("#")[0]
    if base and base != own:
        raise SchemaError(f"$ref {ref!r} is remote: schemas are never fetched", _HINT)
    if frag and not frag.startswith("/"):
        raise SchemaError(f"$ref {ref!r} names an anchor; load the schema first "
                          "(load_schema turns anchors into pointers)",
                          "or use a pointer such as '#/$defs/<name>'")
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


def pointer_of(path: Path) -> str:
    """The root pointer of a place: ``("$defs", "a/b")`` → ``#/$defs/a~1b`` (RFC 6901 escapes,
    then percent-encoding for a URI fragment)."""
    return "#" + "".join(
        "/" + quote(str(p).replace("~", "~0").replace("/", "~1"), safe="!$&'()*+,;=:@")
        for p in path)


def place(path: Path) -> str:
    """A place in a schema as messages name it: ``properties/a`` (``(root)`` for the root)."""
    return "/".join(str(p) for p in path) or "(root)"


# ------------------------------------------------------------------ the document's references
@dataclass
class _Ref:
    where: Path        # the schema object holding the keyword
    keyword: str       # $ref, $dynamicRef or $recursiveRef
    value: str
    base: str          # the base URI in force there
    target: Path = ()  # the (static) target's place


@dataclass
class _Scan:
    refs: list[_Ref] = field(default_factory=list)
    nodes: dict[Path, dict[str, Any]] = field(default_factory=dict)  # every schema object
    rebased: list[tuple[Path, str]] = field(default_factory=list)    # nested ids: (place, key)
    dynamic: bool = False
    root_base: str = DOCUMENT_BASE


class _Base:
    """A stand-in for ``referencing``'s resolver while walking: it only tracks the base URI, so
    the specification's own ``maybe_in_subresource`` decides where an ``$id`` re-bases."""

    def __init__(self, uri: str) -> None:
        self.uri = uri

    def in_subresource(self, subresource: Any) -> _Base:
        sub_id = subresource.id()
        return self if sub_id is None else _Base(urljoin(self.uri, sub_id))


def _children(node: Any, path: Path) -> Iterator[tuple[Any, Path, tuple[str | int, ...]]]:
    """(child, its place, the pointer segments from ``node``) for every object or list that may
    hold a sub-schema; data (``enum``/``const``/``default``/``examples``) is not walked."""
    if isinstance(node, list):
        for i, x in enumerate(node):
            if isinstance(x, (dict, list)):
                yield x, (*path, i), (i,)
        return
    for k, v in node.items():
        if k in VALUE_KEYWORDS:
            continue
        if k in MAP_KEYS and isinstance(v, dict):
            for name, sub in v.items():
                if isinstance(sub, (dict, list)):
                    yield sub, (*path, k, name), (k, name)
        elif isinstance(v, (dict, list)):
            yield v, (*path, k), (k,)


def _walk(schema: dict[str, Any], draft: str) -> tuple[_Scan, dict[int, Path]]:
    """Every schema object with its place and base URI, iteratively (no recursion limit), and
    every object's and list's place by identity (to name where a resolved reference lands)."""
    scan = _Scan()
    places: dict[int, Path] = {id(schema): ()}
    root_spec = _specification(draft)
    scan.root_base = _join(DOCUMENT_BASE, root_spec, schema, ())
    # (node, place, base, pointer segments since the last re-basing, its specification)
    stack: list[tuple[Any, Path, _Base, tuple[str | int, ...], Any]] = [
        (schema, (), _Base(scan.root_base), (), root_spec)]
    while stack:
        node, path, base, segments, spec = stack.pop()
        if isinstance(node, dict):
            scan.nodes[path] = node
            scan.dynamic = scan.dynamic or not _DYNAMIC.isdisjoint(node)
            for k in MAP_KEYS:
                if isinstance(node.get(k), dict):
                    places.setdefault(id(node[k]), (*path, k))
            for kw in REF_KEYWORDS:
                if kw in node:
                    if not isinstance(node[kw], str):
                        raise SchemaError(f"{kw} at {place(path)} must be a string, "
                                          f"got {node[kw]!r}")
                    scan.refs.append(_Ref(path, kw, node[kw], base.uri))
        for child, cpath, step in _children(node, path):
            places.setdefault(id(child), cpath)
            cbase, csegs, cspec = base, (*segments, *step), spec
            if isinstance(child, dict):
                cspec = _own_specification(child, spec, cpath)
                try:
                    cbase = spec.maybe_in_subresource(
                        segments=csegs, resolver=base, subresource=cspec.create_resource(child))
                except (AttributeError, TypeError, ValueError) as exc:
                    key = _id_key(cspec)
                    raise SchemaError(f"{key} {child.get(key)!r} at {place(cpath)} is not a "
                                      f"URI reference: {exc}") from exc
                if cbase is not base:
                    csegs = ()
                    scan.rebased.append((cpath, _id_key(cspec)))
            stack.append((child, cpath, cbase, csegs, cspec))
    return scan, places


def _own_specification(node: dict[str, Any], spec: Any, path: Path) -> Any:
    """The specification ``node`` is read with: its own ``$schema``'s (a known draft), else
    ``spec``."""
    uri = node.get("$schema")
    if not isinstance(uri, str):
        return spec
    try:
        return _specification(meta_draft(uri))
    except SchemaError as exc:
        raise SchemaError(f"$schema {uri!r} at {place(path)} names no draft this package "
                          "reads: a $schema is never fetched",
                          "use Draft-4/6/7, 2019-09 or 2020-12") from exc


def _id_key(spec: Any) -> str:
    return "id" if spec.name == "draft-04" else "$id"


def _join(base: str, spec: Any, node: dict[str, Any], path: Path) -> str:
    """``base`` re-based by ``node``'s own ``$id`` (if any)."""
    try:
        own = spec.create_resource(node).id()
        return base if own is None else urljoin(base, own)
    except (AttributeError, TypeError, ValueError) as exc:
        key = _id_key(spec)
        raise SchemaError(f"{key} {node.get(key)!r} at {place(path)} is not a URI reference: "
                          f"{exc}") from exc


def _outside(ref: _Ref) -> SchemaError:
    """The refusal of a reference to a document the schema does not define."""
    where = f"{ref.keyword} {ref.value!r} at {place(ref.where)}"
    try:
        joined = urljoin(ref.base, ref.value)
        scheme = urlsplit(joined).scheme.lower()
    except ValueError:
        joined, scheme = ref.value, ""
    if scheme == "file":
        return SchemaError(f"{where} names a file: schemas never read files", _HINT)
    if joined.startswith(DOCUMENT_BASE.rpartition("/")[0] + "/"):
        return SchemaError(f"{where} names a document this schema does not define (no $id "
                           "matches it): schemas are never fetched", _HINT)
    also = f" ({joined})" if joined != ref.value else ""
    return SchemaError(f"{where} is remote{also}: schemas are never fetched", _HINT)


def _resolve_all(schema: dict[str, Any], scan: _Scan, places: dict[int, Path]) -> None:
    """Resolve every reference inside the document (``referencing``'s resolver, retrieval
    refused) and record the place of its target; ``SchemaError`` for any that does not."""
    from referencing import Registry
    from referencing.exceptions import NoSuchAnchor, PointerToNowhere, Unresolvable

    root = _specification(declared_draft(schema)).create_resource(schema)
    try:
        registry = Registry(retrieve=refuse_retrieval).with_resource(  # type: ignore[call-arg]
            DOCUMENT_BASE, root).crawl()
    except (AttributeError, TypeError, ValueError) as exc:
        raise SchemaError(f"the schema's $id values cannot be read: {exc}") from exc
    resolvers: dict[str, Any] = {}
    for ref in scan.refs:
        where = place(ref.where)
        if ref.keyword == "$recursiveRef" and ref.value != "#":
            if ":" in ref.value:
                raise _outside(ref)
            raise SchemaError(f"$recursiveRef {ref.value!r} at {where} must be '#'",
                              "2019-09 allows only '#'; use $ref for a pointer")
        resolver = resolvers.setdefault(ref.base, registry.resolver(base_uri=ref.base))
        try:
            resolved = resolver.lookup(ref.value)
        except PointerToNowhere:
            raise SchemaError(f"{ref.keyword} {ref.value!r} at {where} points nowhere",
                              "point at a schema inside the document, e.g. '#/$defs/<name>'"
                              ) from None
        except NoSuchAnchor:
            raise SchemaError(f"{ref.keyword} {ref.value!r} at {where} names an anchor the "
                              "schema does not define",
                              "define it with $anchor, or use a pointer such as "
                              "'#/$defs/<name>'") from None
        except Unresolvable:  # the resource is not in the document; retrieval was refused
            raise _outside(ref) from None
        except (LookupError, TypeError, ValueError) as exc:
            raise SchemaError(f"{ref.keyword} {ref.value!r} at {where} cannot be resolved "
                              f"inside the schema: {exc}", _HINT) from None
        ref.target = _target_place(ref, resolved.contents, resolver, places)


def _target_place(ref: _Ref, contents: Any, resolver: Any, places: dict[int, Path]) -> Path:
    """Where a resolved reference lands, as a place from the root."""
    what = f"{ref.keyword} {ref.value!r} at {place(ref.where)}"
    if isinstance(contents, dict):
        if id(contents) not in places:
            raise SchemaError(f"{what} points into enum/const/default/examples data, "
                              "not at a schema")
        return places[id(contents)]
    if not isinstance(contents, bool):
        raise SchemaError(f"{what} points at a {type(contents).__name__}, not at a schema")
    # true/false have no identity: the place of the resource the pointer starts from, + the
    # pointer's segments (an anchor or a whole resource is always an object)
    uri, _, frag = ref.value.partition("#")
    start = resolver.lookup(uri + "#").contents
    path = places.get(id(start))
    if path is None:
        raise SchemaError(f"{what} points into enum/const/default/examples data, "
                          "not at a schema")
    node: Any = start
    for raw in unquote(frag[1:]).split("/") if frag else ():
        seg: str | int = int(raw) if isinstance(node, list) else \
            raw.replace("~1", "/").replace("~0", "~")
        node = node[seg]  # resolved above: every segment exists
        path = (*path, seg)
    return path


def _check_cycles(scan: _Scan, draft: str) -> None:
    """Refuse a cycle of references and in-place applicators (``allOf``, ``not``, ``if``...)
    that never descends into the value: a validator would recurse forever on it."""
    targets: dict[Path, list[Path]] = {}
    for ref in scan.refs:
        targets.setdefault(ref.where, []).append(ref.target)
        if ref.keyword != "$ref":  # its dynamic target may be any same-named anchor
            name = ref.value.partition("#")[2]
            targets[ref.where] += [p for p, n in scan.nodes.items() if (
                n.get("$dynamicAnchor") == name if ref.keyword == "$dynamicRef"
                else n.get("$recursiveAnchor") is True)]

    def edges(path: Path) -> list[Path]:
        node = scan.nodes[path]
        out = list(targets.get(path, ()))
        if "$ref" in node and draft in OLD_DRAFTS:
            return out  # siblings of a $ref are not evaluated
        for k in _IN_PLACE_ONE:
            if isinstance(node.get(k), dict):
                out.append((*path, k))
        for k in _IN_PLACE_LIST:
            if isinstance(node.get(k), list):
                out += [(*path, k, i) for i, x in enumerate(node[k]) if isinstance(x, dict)]
        for k in _IN_PLACE_MAP:
            if isinstance(node.get(k), dict):
                out += [(*path, k, n) for n, x in node[k].items() if isinstance(x, dict)]
        return [p for p in out if p in scan.nodes]

    state: dict[Path, int] = {}  # 1: on the current chain, 2: done
    for start in scan.nodes:
        if start in state:
            continue
        chain: list[tuple[Path, Iterator[Path]]] = [(start, iter(edges(start)))]
        state[start] = 1
        while chain:
            here, todo = chain[-1]
            nxt = next(todo, None)
            if nxt is None:
                state[here] = 2
                chain.pop()
            elif state.get(nxt) == 1:
                on_chain = [p for p, _ in chain]
                loop = [*on_chain[on_chain.index(nxt):], nxt]
                raise SchemaError("reference cycle that never reaches a value: "
                                  + " -> ".join(place(p) for p in loop),
                                  "a recursive schema must pass through properties or items "
                                  "before it refers back")
            elif nxt not in state:
                state[nxt] = 1
                chain.append((nxt, iter(edges(nxt))))


def _scan(schema: dict[str, Any]) -> _Scan:
    draft = declared_draft(schema)
    scan, places = _walk(schema, draft)
    _resolve_all(schema, scan, places)
    _check_cycles(scan, draft)
    return scan


def check_refs(schema: dict[str, Any]) -> None:
    """Every reference anywhere in ``schema`` resolves inside it (see the module docstring);
    ``SchemaError`` naming the keyword and its place otherwise."""
    _scan(schema)


def localize_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` checked as :func:`check_refs` does, with every ``$ref`` a root pointer and
    the nested ``$id``s dropped (see the module docstring); ``schema`` itself when nothing needs
    rewriting or it uses dynamic references. Only the objects on a rewritten path are copied
    (iteratively); the rest is shared with ``schema``, which is left as it was."""
    scan = _scan(schema)
    moved = [r for r in scan.refs if r.keyword == "$ref" and (
        r.base != scan.root_base or not (r.value == "#" or r.value.startswith("#/")))]
    if scan.dynamic or not (moved or scan.rebased):
        return schema
    out = dict(schema)
    fresh = {id(out)}  # containers copied so far: only those on an edited path are

    def at(path: Path) -> dict[str, Any]:
        node: Any = out
        for p in path:
            child = node[p]
            if id(child) not in fresh:
                child = dict(child) if isinstance(child, dict) else list(child)
                node[p] = child
                fresh.add(id(child))
            node = child
        return node  # type: ignore[no-any-return]

    for r in moved:
        at(r.where)["$ref"] = pointer_of(r.target)
    for path, key in scan.rebased:
        at(path).pop(key, None)
    return out


# ------------------------------------------------------------------ inlining, for decoders
def resolve_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Inline every root-pointer ``$ref`` (a loaded schema has only those); a recursive
    reference stays a ``$ref`` (backends handle it). Sibling keywords next to a ``$ref`` are
    merged over the target as :func:`kept_beside_ref` says for the draft ``schema`` declares."""
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
