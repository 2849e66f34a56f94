"""Limits no schema may pass, checked before anything reads it: THE guard against tiny schemas
that ask for unbounded work.

What it does: :class:`SchemaLimits` holds one number per quantity (each field is also the name of
the server setting that sets it, ``PRUNESTACK_<FIELD>`` in the environment);
:func:`check_text` refuses schema *text* too big or too deeply nested before ``json.loads`` runs
(Python's JSON scanner recurses once per level); :func:`check_limits` walks a parsed schema with
an explicit stack (no recursion: it runs before the meta-schema check, which recurses) and
refuses, with a :class:`~prunestack.errors.SchemaError` naming the keyword, its place, the limit
and its setting:

* ``max_schema_bytes`` — the schema's JSON text;
* ``max_schema_depth`` — nesting of arrays and objects, as written and with every non-recursive
  ``$ref`` inlined (what decoders and the ``$ref`` inliner walk, recursively);
* ``max_schema_subschemas`` — schema objects in the document;
* ``max_schema_ref_expansion`` — JSON values the schema would hold with every non-recursive
  ``$ref`` inlined, as :func:`.refs.resolve_refs` does: computed per ``$ref`` target with
  memoisation (a cycle of references is walked within a budget), never by inlining, so a chain
  of definitions that doubles at each step is refused in milliseconds;
* ``max_schema_enum`` — values of one ``enum``;
* ``max_schema_properties`` — names in one ``properties``;
* ``max_schema_placeholder`` — ``minLength``, ``minItems``, ``minProperties`` and
  ``minContains`` each, and the stand-in :mod:`.conform` could build for any one sub-schema
  (values plus characters; an upper bound: ``minItems`` nested in ``minItems`` multiplies,
  required properties add up): a required value that was not found gets a stand-in, so it must
  be buildable. The same number bounds, at run time, everything the stand-ins of one document
  add up to (:class:`PlaceholderBudget`), for what a static bound cannot see (recursion).

The defaults pass every real schema we have, with room: measured with :func:`measure` on the 400
JSONSchemaBench schemas of ``maskbench-dev`` (GitHub, Kubernetes, SchemaStore, Snowplow,
Washington Post, MCP, function-calling sets) and the hand-written and pydantic-generated schemas
of ``tests/extract/schemas_realworld``, the largest of each quantity is:

==============================  =========================  =========
quantity                        largest in real schemas    default
==============================  =========================  =========
bytes (compact JSON)            80,570                     1,000,000
depth, as written               15                         64
depth, ``$ref``s inlined        28                         64
schema objects                  477                        20,000
``$ref`` expansion (values)     34,080                     500,000
values in one ``enum``          2,442                      10,000
names in one ``properties``     131                        2,000
``minLength`` etc.              57 (``minLength``)         100,000
one stand-in (values + chars)   177                        100,000
``$ref``-cycle steps            3                          20,000
==============================  =========================  =========

(449 schemas; the figures come from ``measure``, every schema checked in under 10 ms). The issue's
probes are refused: ``minLength: 300000000`` by its keyword, ``minItems`` 3000 of ``minItems``
3000 as a 9,003,001-value stand-in, a 1M-value ``enum``, a 5000-deep schema and a 400-deep
``allOf`` by depth before they are parsed, and a 178 KB chain of definitions that doubles at
each step in about 30 ms.

What it does not do: check that a schema is valid JSON Schema (:mod:`.load`), resolve references
for use (:mod:`.refs`), or build stand-ins (:mod:`.conform`).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from typing import Any

from prunestack.errors import SchemaError
from prunestack.graphs import strongly_connected
from prunestack.jsondepth import text_depth
from prunestack.pipeline.schema.keywords import MAP_KEYS, VALUE_KEYWORDS
from prunestack.pipeline.schema.refs import resolve_pointer

#: the deepest ``max_schema_depth`` may be set: validation, the ``$ref`` inliner and the
#: conformer recurse (a few frames per level) and an 80-level nest of ``properties`` (161 deep)
#: is the most they take within Python's default recursion limit
MAX_DEPTH = 128
PLACEHOLDER_KEYWORDS = ("minLength", "minItems", "minProperties", "minContains")
#: the walks through cycles of ``$ref``s (recursive schemas) may take one step per this many
#: values of ``max_schema_ref_expansion`` (20,000 steps by default; real schemas take 3)
CYCLE_STEPS_PER = 25


@dataclass(frozen=True)
class SchemaLimits:
    """The largest schema :func:`check_limits` lets through; each field is a server setting of
    the same name (``PRUNESTACK_MAX_SCHEMA_BYTES``...). See the module docstring for what each
    counts and the figures behind the defaults."""

    max_schema_bytes: int = 1_000_000
    max_schema_depth: int = 64
    max_schema_subschemas: int = 20_000
    max_schema_ref_expansion: int = 500_000
    max_schema_enum: int = 10_000
    max_schema_properties: int = 2_000
    max_schema_placeholder: int = 100_000

    def __post_init__(self) -> None:
        for f in fields(self):
            if not isinstance(getattr(self, f.name), int) or getattr(self, f.name) < 1:
                raise ValueError(f"{f.name} must be a positive integer")
        if self.max_schema_depth > MAX_DEPTH:
            raise ValueError(f"max_schema_depth must be at most {MAX_DEPTH}: the code that walks "
                             "a schema after this check recurses once per level")


DEFAULT_LIMITS = SchemaLimits()


def setting(name: str) -> str:
    """How a limit is named to a user: the setting and its environment variable."""
    return f"setting {name}, env PRUNESTACK_{name.upper()}"


def _refuse(what: str, where: str, value: int, name: str, limits: SchemaLimits, hint: str
            ) -> SchemaError:
    return SchemaError(f"schema too large at {where or '(root)'}: {what} is {value:,}, over the "
                       f"limit of {getattr(limits, name):,} ({setting(name)})", hint)


# ------------------------------------------------------------------ text and parsed values
def check_text(text: str | bytes, limits: SchemaLimits = DEFAULT_LIMITS) -> None:
    """Refuse schema text too big or too deeply nested, before it is parsed."""
    check_size(len(text) if isinstance(text, bytes | bytearray)
               else len(text.encode("utf-8", "surrogatepass")), limits)
    if text_depth(text, stop_at=limits.max_schema_depth) > limits.max_schema_depth:
        raise _deep(None, "(root)", limits, "as written")


def check_size(size: int, limits: SchemaLimits = DEFAULT_LIMITS) -> None:
    """Refuse a schema whose JSON text is ``size`` bytes, over ``max_schema_bytes``."""
    if size > limits.max_schema_bytes:
        raise _refuse("its JSON text (bytes)", "(root)", size, "max_schema_bytes", limits,
                      "send a smaller schema, or raise the limit")


def _deep(depth: int | None, where: str, limits: SchemaLimits, how: str) -> SchemaError:
    """``depth`` None: a scan that stopped past the limit (more than the limit, not exact)."""
    levels = f"more than {limits.max_schema_depth:,}" if depth is None else f"{depth:,}"
    return SchemaError(f"schema too deeply nested at {where}: {how}, it nests {levels} levels of "
                       f"arrays and objects, over the limit of {limits.max_schema_depth:,} "
                       f"({setting('max_schema_depth')})",
                       "flatten the schema (move shared parts under $defs), or raise the limit")


_SCHEMA, _MAP, _DATA = 0, 1, 2


@dataclass
class _Walk:
    """What one pass over a schema found: counts, and the containers and ``$ref``s the
    expansion needs (positions are pre-order indexes of the JSON values)."""

    values: int = 0
    subschemas: int = 0
    depth: int = 0
    # measure(): quantity -> (largest value, its place)
    biggest: dict[str, tuple[int, str]] = field(default_factory=dict)
    # id of a container -> (start, end, depth, height)
    span: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)
    refs: list[tuple[int, str, int, Any]] = field(default_factory=list)  # (start, $ref, depth, at)
    schemas: list[tuple[dict[str, Any], Any]] = field(default_factory=list)  # with their places


def _place(where: Any) -> str:
    """A place in the schema as ``properties/a/items`` (a long one keeps its two ends)."""
    parts: list[str] = []
    while where is not None:
        where, key = where
        parts.append(str(key))
    text = "/".join(reversed(parts)) or "(root)"
    return text if len(text) <= 200 else f"{text[:80]}/.../{text[-110:]}"


def _walk(schema: Any, limits: SchemaLimits | None) -> _Walk:
    """One iterative pass (see :func:`check_limits`); with ``limits`` None it only measures."""
    out = _Walk()
    heights: dict[int, int] = {}
    n = 0
    # (value, kind, depth, where, parent id); leaving=True entries close a container
    stack: list[tuple[Any, int, int, Any, int, bool]] = [(schema, _SCHEMA, 1, None, 0, False)]
    while stack:
        node, kind, depth, where, parent, leaving = stack.pop()
        if leaving:
            start, _, d, _ = out.span[id(node)]
            h = heights.pop(id(node), 1)
            out.span[id(node)] = (start, n, d, h)
            if parent:
                heights[parent] = max(heights.get(parent, 1), h + 1)
            continue
        n += 1
        if not isinstance(node, dict | list):
            continue
        if limits is not None and depth > limits.max_schema_depth:
            raise _deep(None, _place(where), limits, "as written")
        out.depth = max(out.depth, depth)
        out.span[id(node)] = (n - 1, n, depth, 1)
        stack.append((node, kind, depth, where, parent, True))
        if isinstance(node, list):
            for i, v in enumerate(node):
                stack.append((v, kind, depth + 1, (where, i), id(node), False))
            continue
        if kind == _SCHEMA:
            out.subschemas += 1
            if limits is not None and out.subschemas > limits.max_schema_subschemas:
                raise _refuse("the number of schema objects", "(root)", out.subschemas,
                              "max_schema_subschemas", limits,
                              "share repeated parts with $ref, or raise the limit")
            _check_node(node, where, out, limits)
            out.schemas.append((node, where))
            if isinstance(node.get("$ref"), str):
                out.refs.append((n - 1, node["$ref"], depth, where))
        for k, v in node.items():
            sub = (_DATA if kind == _DATA or (kind == _SCHEMA and k in VALUE_KEYWORDS) else
                   _MAP if kind == _SCHEMA and k in MAP_KEYS and isinstance(v, dict) else
                   _SCHEMA)
            stack.append((v, sub, depth + 1, (where, k), id(node), False))
    out.values = n
    return out


def _note(out: _Walk, quantity: str, value: int, where: Any, key: str) -> None:
    if value > out.biggest.get(quantity, (-1, ""))[0]:
        out.biggest[quantity] = (value, f"{_place(where)}/{key}".removeprefix("(root)/"))


def _check_node(node: dict[str, Any], where: Any, out: _Walk, limits: SchemaLimits | None
                ) -> None:
    """The per-object limits: enum size, properties count, stand-in sizes. Every object in a
    schema position counts (also under a keyword nobody knows: a ``$ref`` may point there)."""
    enum, props = node.get("enum"), node.get("properties")
    checks: list[tuple[str, int, str, str]] = []
    if isinstance(enum, list):
        checks.append(("enum", len(enum), "max_schema_enum", "the number of enum values"))
    if isinstance(props, dict):
        checks.append(("properties", len(props), "max_schema_properties",
                       "the number of properties"))
    for key in PLACEHOLDER_KEYWORDS:
        v = node.get(key)
        if isinstance(v, int | float) and not isinstance(v, bool):
            size = int(min(v, 2**62)) if v == v else 0  # NaN: never a size
            checks.append((key, size, "max_schema_placeholder",
                           f"{key} (the size of the stand-in for a missing value)"))
    for key, value, name, what in checks:
        if limits is None:
            _note(out, key if name == "max_schema_placeholder" else name, value, where, key)
        elif value > getattr(limits, name):
            raise _refuse(what, f"{_place(where)}/{key}".removeprefix("(root)/"), value, name,
                          limits, f"lower {key}, or raise the limit")


# ------------------------------------------------------------------ $ref expansion
def _expansion(schema: Any, walk: _Walk, limits: SchemaLimits | None
               ) -> tuple[int, int, str]:
    """(values, height, place of the ``$ref`` contributing most) of ``schema`` with every
    non-recursive ``$ref`` inlined the way :func:`.refs.resolve_refs` does it: a reference to a
    target already being inlined on the current path stays a pointer (one value)."""
    span, refs = walk.span, walk.refs
    if not refs:
        return walk.values, walk.depth, "(root)"
    root = schema if isinstance(schema, dict) else {}
    starts = [r[0] for r in refs]  # refs are recorded in pre-order: already sorted

    def target_of(ref: str) -> Any:
        try:
            t = resolve_pointer(root, ref)
        except SchemaError:
            return None  # remote, an anchor, nowhere: :func:`.refs.check_refs` refuses it
        return t if isinstance(t, dict | list) and id(t) in span else None

    # the reference graph: node = a container that is a target (or the root)
    targets: dict[int, Any] = {id(schema): schema}
    ref_target: list[int | None] = []
    for _, ref, _, _ in refs:
        t = target_of(ref)
        ref_target.append(None if t is None else id(t))
        if t is not None:
            targets[id(t)] = t

    def inside(t: int) -> list[tuple[int, int]]:
        """(target, relative depth of the $ref object) for every resolvable $ref in ``t``."""
        start, end, depth, _ = span[t]
        lo, hi = bisect.bisect_left(starts, start), bisect.bisect_left(starts, end)
        return [(u, refs[i][2] - depth + 1) for i in range(lo, hi)
                if (u := ref_target[i]) is not None]

    edges = {t: inside(t) for t in targets}
    order = strongly_connected({t: [u for u, _ in e] for t, e in edges.items()})
    size_cap = limits.max_schema_ref_expansion if limits else 1 << 62
    depth_cap = limits.max_schema_depth if limits else 1 << 62
    memo: dict[int, tuple[int, int]] = {}  # target -> (values, height) entered from outside
    budget = [size_cap // CYCLE_STEPS_PER]  # steps of the walks through reference cycles

    def base(t: int) -> tuple[int, int]:
        start, end, _, height = span[t]
        return end - start, height

    for comp in order:  # each after every component it points to
        members = set(comp)
        cyclic = len(comp) > 1 or any(u == comp[0] for u, _ in edges[comp[0]])
        for t in comp:
            if not cyclic:
                size, height = base(t)
                for u, rel in edges[t]:
                    us, uh = memo[u]
                    size += us
                    height = max(height, rel - 1 + uh)
                memo[t] = (min(size, 1 << 62), height)
            else:
                try:
                    memo[t] = _cycle_walk(t, members, edges, memo, base, budget,
                                          size_cap, depth_cap)
                except _Steps:
                    assert limits is not None  # without limits the budget is unbounded
                    raise SchemaError(
                        f"schema too large: inlining its cycles of $refs (recursive "
                        f"definitions reached from {len(comp)} places) takes more than "
                        f"{size_cap // CYCLE_STEPS_PER:,} steps "
                        f"({setting('max_schema_ref_expansion')}, one step per "
                        f"{CYCLE_STEPS_PER} values)",
                        "let fewer definitions refer to each other, or raise the limit"
                    ) from None
    # the root is walked with nothing on the stack: a "#" inside it is inlined once
    size, height = base(id(schema))
    most: tuple[int, int] = (-1, 0)
    where = "(root)"
    for i, (_, _ref, depth, at) in enumerate(refs):
        target = ref_target[i]
        if target is None:
            continue
        us, uh = memo[target]
        size += us
        height = max(height, depth - 1 + uh)
        if (us, -depth) > most:  # the largest; of equals, the one nearest the root
            most, where = (us, -depth), f"{_place(at)}/$ref".removeprefix("(root)/")
    return size, height, where


def _cycle_walk(t: int, members: set[int], edges: dict[int, list[tuple[int, int]]],
                memo: dict[int, tuple[int, int]], base: Any, budget: list[int],
                size_cap: int, depth_cap: int) -> tuple[int, int]:
    """(values, height) of target ``t`` inlined with ``t`` on the stack, inside its cycle of
    references: every simple path is followed (that is what inlining does), with an explicit
    stack; it stops, answering "over", once the values pass ``size_cap`` or the height
    ``depth_cap``, and raises :class:`_Steps` past the steps the shared ``budget`` allows (one
    per target entered)."""
    # frame: [target, index of its next edge, size, height, relative depth in parent, offset
    # of its top from the top of t]
    s0, h0 = base(t)
    frames: list[list[int]] = [[t, 0, s0, h0, 1, 0]]
    on_path = {t}
    total, deepest = s0, h0  # lower bounds of the answer: stop as soon as one is over
    while True:
        top = frames[-1]
        node, i = top[0], top[1]
        if i < len(edges[node]):
            top[1] += 1
            u, rel = edges[node][i]
            if u in on_path:
                continue  # kept as a pointer: counted in base already
            off = top[5] + rel - 1
            if u not in members:
                us, uh = memo[u]
                top[2] += us
                top[3] = max(top[3], rel - 1 + uh)
            else:
                budget[0] -= 1
                if budget[0] < 0:
                    raise _Steps
                us, uh = base(u)
                frames.append([u, 0, us, uh, rel, off])
                on_path.add(u)
            total, deepest = total + us, max(deepest, off + uh)
            if total > size_cap or deepest > depth_cap:
                return (total, deepest)
            continue
        frames.pop()
        on_path.discard(node)
        if not frames:
            return (top[2], top[3])
        parent = frames[-1]
        parent[2] += top[2]
        parent[3] = max(parent[3], top[4] - 1 + top[3])


class _Steps(Exception):
    """The walks through cycles of references took more steps than they may."""


# ------------------------------------------------------------------ stand-in sizes
def count(v: Any) -> int:
    """A size keyword's value as a count (NaN, negatives and non-numbers: 0)."""
    if not isinstance(v, int | float) or isinstance(v, bool) or v != v or v <= 0:
        return 0
    return int(min(v, 2**62))


def _standins(schema: Any, walk: _Walk, cap: int | None) -> tuple[int, str, str]:
    """The largest stand-in :mod:`.conform` could build for any one sub-schema (values plus
    characters; an upper bound: every branch of ``anyOf`` considered, ``allOf`` parts added),
    as ``(size, place, keyword that makes it)``; with ``cap``, ``(size, place, keyword)`` of
    the first one found over it. A recursive reference counts one value (the conformer stops
    recursing at a fixed depth and spends from :class:`PlaceholderBudget`). Runs after the
    ``$ref`` expansion check, so its recursion is at most as deep as the inlined schema."""
    root = schema if isinstance(schema, dict) else {}
    memo: dict[int, tuple[int, str]] = {}
    on_path: set[int] = set()

    def size(node: Any) -> tuple[int, str]:
        if not isinstance(node, dict):
            return 1, ""
        key = id(node)
        if key in memo:
            return memo[key]
        if key in on_path:
            return 1, ""
        on_path.add(key)
        got = _own(node)
        on_path.discard(key)
        memo[key] = got
        return got

    def _own(node: dict[str, Any]) -> tuple[int, str]:
        if "const" in node or isinstance(node.get("enum"), list):
            return 1, ""  # written from the schema: bounded by its bytes
        parts: list[tuple[int, str]] = []  # added up (allOf, a $ref and its siblings)
        if isinstance(node.get("$ref"), str):
            try:
                parts.append(size(resolve_pointer(root, node["$ref"])))
            except SchemaError:
                pass
        all_of = node.get("allOf")
        parts += [size(sub) for sub in (all_of if isinstance(all_of, list) else [])]
        branches = [size(b) for k in ("anyOf", "oneOf") if isinstance(node.get(k), list)
                    for b in node[k]]
        own: list[tuple[int, str]] = [(count(node.get("minLength")), "minLength")]
        req = node.get("required")
        if isinstance(req, list):
            raw = node.get("properties")
            props: dict[str, Any] = raw if isinstance(raw, dict) else {}
            extra = node.get("additionalProperties", True)
            total = 1 + sum(size(props.get(r, extra))[0] for r in req if isinstance(r, str))
            own.append((total, "required"))
        n = count(node.get("minItems"))
        if n:
            prefix = node.get("prefixItems", node.get("items"))
            prefix = prefix if isinstance(prefix, list) else []
            rest = node.get("additionalItems", True) if isinstance(node.get("items"), list) \
                else node.get("items", True)
            head = sum(size(p)[0] for p in prefix[:n])
            tail = (n - len(prefix)) * size(rest)[0] if n > len(prefix) else 0
            own.append((1 + head + tail, "minItems"))
        best = max([*own, *branches, (1, "")])
        total = best[0] + sum(p[0] for p in parts)
        keyword = max([best, *parts])[1]
        if cap is not None and total > cap:
            raise _Big(total, node, keyword)
        return total, keyword

    out = (0, "(root)", "")
    try:
        for node, where in walk.schemas:
            got, keyword = size(node)
            if got > out[0]:
                out = (got, _place(where), keyword)
    except _Big as big:
        place = next((_place(w) for n, w in walk.schemas if n is big.node), "(root)")
        return big.size, place, big.keyword
    return out


class _Big(Exception):
    def __init__(self, size: int, node: dict[str, Any], keyword: str) -> None:
        self.size, self.node, self.keyword = size, node, keyword


# ------------------------------------------------------------------ the checks
def check_limits(schema: Any, limits: SchemaLimits = DEFAULT_LIMITS) -> None:
    """Refuse a parsed schema that passes any of ``limits`` (see the module docstring); no
    recursion, so a schema nested 100,000 deep is refused in one linear pass."""
    walk = _walk(schema, limits)  # depth first of all: it stops where the nesting passes it
    check_size(_json_bytes(schema), limits)
    values, height, where = _expansion(schema, walk, limits)
    if values > limits.max_schema_ref_expansion:
        raise SchemaError(
            f"schema too large at {where}: with every $ref inlined it would hold "
            f"{f'{values:,}' if values < 1 << 62 else 'more than 10**18'} JSON values, over the "
            f"limit of {limits.max_schema_ref_expansion:,} "
            f"({setting('max_schema_ref_expansion')})",
            "refer to fewer copies of large definitions, or raise the limit")
    if height > limits.max_schema_depth:
        raise _deep(height, where, limits, "with every $ref inlined")
    size, place, keyword = _standins(schema, walk, limits.max_schema_placeholder)
    if size > limits.max_schema_placeholder:
        raise SchemaError(
            f"schema too large at {place}: a stand-in for a missing value there would hold "
            f"{f'{size:,}' if size < 1 << 62 else 'more than 10**18'} values and characters "
            f"(made by {keyword}), over the limit of {limits.max_schema_placeholder:,} "
            f"({setting('max_schema_placeholder')})",
            f"lower {keyword} (nested minItems multiply), or raise the limit")


def _json_bytes(schema: Any) -> int:
    """Bytes of ``schema`` as compact UTF-8 JSON (its depth is checked: ``json.dumps`` is
    safe); a value JSON cannot hold, or a string that is not text (a lone surrogate, which
    tokenizers and regex engines cannot take), is a ``SchemaError``."""
    try:
        text = json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"the schema holds a value JSON cannot: {exc}",
                          "use only dicts, lists, strings, numbers, booleans and None") from None
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise SchemaError(f"the schema holds a lone UTF-16 surrogate "
                          f"({exc.object[exc.start:exc.end]!a}) near "
                          f"{exc.object[max(0, exc.start - 30):exc.start]!r}: it is not text",
                          "a \\ud800-\\udbff escape must be followed by a \\udc00-\\udfff one"
                          ) from None


def measure(schema: Any) -> dict[str, tuple[int, str]]:
    """Every quantity :func:`check_limits` bounds, as ``{name: (value, place)}`` (the place of
    the largest one where it has one): for choosing limits from real schemas."""
    walk = _walk(schema, None)
    values, height, where = _expansion(schema, walk, None)
    out = dict(walk.biggest)
    out["max_schema_bytes"] = (_json_bytes(schema), "(root)")
    out["max_schema_depth"] = (walk.depth, "(root)")
    out["inlined_depth"] = (height, where)
    out["max_schema_subschemas"] = (walk.subschemas, "(root)")
    out["max_schema_ref_expansion"] = (values, where)
    size, place, _ = _standins(schema, walk, None)
    out["standin"] = (size, place)
    return out


# ------------------------------------------------------------------ stand-ins at run time
class PlaceholderBudget:
    """What the stand-ins for one document may add up to (values plus characters): the
    run-time side of ``max_schema_placeholder``, for sizes that multiply (``minItems`` inside
    ``minItems``) and that no single keyword shows."""

    def __init__(self, limit: int = DEFAULT_LIMITS.max_schema_placeholder) -> None:
        self.limit = limit
        self.left = limit

    def spend(self, n: int, keyword: str, where: str) -> None:
        """Take ``n`` (before building it); ``SchemaError`` when the budget runs out."""
        self.left -= max(0, n)
        if self.left < 0:
            raise SchemaError(
                f"schema too large at {where or '(root)'}/{keyword}: the stand-in values for "
                f"missing required data would pass the limit of {self.limit:,} values and "
                f"characters ({setting('max_schema_placeholder')})",
                f"lower {keyword} (nested minItems multiply), or raise the limit")


_BUDGET: ContextVar[PlaceholderBudget | None] = ContextVar("prunestack_placeholders",
                                                           default=None)


@contextmanager
def placeholder_budget(limit: int | None = None) -> Iterator[PlaceholderBudget]:
    """The budget stand-ins built in this context spend from: the one already open (nested
    calls share it), or a new one of ``limit`` (default: ``max_schema_placeholder``'s)."""
    current = _BUDGET.get()
    if current is not None:
        yield current
        return
    budget = PlaceholderBudget(limit or DEFAULT_LIMITS.max_schema_placeholder)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def limits_of(schema: Any) -> SchemaLimits:
    """The limits a loaded schema was checked against (the defaults for any other value)."""
    lim = getattr(schema, "limits", None)
    return lim if isinstance(lim, SchemaLimits) else DEFAULT_LIMITS
