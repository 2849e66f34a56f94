"""Keywords grammar backends do not implement, rewritten exactly into ones they do.

What it does: :func:`rewrite_keywords` rewrites, bottom up, every sub-schema's

* ``not`` → the complement :func:`.negate.negate` builds, as one more ``allOf`` member;
* ``dependentRequired`` / ``dependentSchemas`` / Draft-7 ``dependencies`` → per key, an
  ``allOf`` member ``anyOf: [key absent, key present and its requirements]``;
* ``oneOf`` → ``anyOf`` when every pair of branches is *provably* disjoint (:func:`disjoint`):
  disjoint types, finite values (``const``/``enum``) the other branch rejects, or (both only
  objects) a key both require whose values one branch lists and the other rejects, or a key one
  requires and the other forbids (``properties: {k: false}`` or a closed object not listing it).
  An open object may carry the other branch's keys, so different required keys alone prove
  nothing. A ``oneOf`` not proven disjoint is kept (and refused by name);
* ``uniqueItems`` → nothing when ``false`` or ``maxItems <= 1``; the values of an ``enum``
  with repeated items dropped; for items from a small finite set (``enum``/``const``/
  ``boolean``/``null``) the ``enum`` of every array of distinct items within the length bounds
  (at most :data:`MAX_UNIQUE_ARRAYS`); otherwise kept (and refused).

Each rewrite accepts exactly the instances the original accepts (zero false accepts is the hard
rule; ``tests/schema/test_rewrites.py`` walks instances token by token through a real matcher);
anything it cannot prove is left as written for :func:`.support.unsupported_keywords` to refuse.
References stay references: ``$ref`` targets are read (never copied) to prove disjointness.

What it does not do: close objects or inline references (:mod:`.normalize`, :mod:`.refs`).
"""

from __future__ import annotations

import itertools
from typing import Any

from prunestack.pipeline.schema.keywords import ANNOTATIONS, rewrite_nodes
from prunestack.pipeline.schema.negate import TYPES, json_equal, json_type, negate
from prunestack.pipeline.schema.refs import resolve_pointer

#: the most arrays a ``uniqueItems`` rewrite may list
MAX_UNIQUE_ARRAYS = 256
_ALL = frozenset(TYPES)


class _Root:
    """Reads ``$ref`` targets of the prepared root (pointers only; nothing is copied)."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self._validator: Any = None

    def resolve(self, ref: Any) -> Any:
        try:
            return resolve_pointer(self.root, ref)
        except Exception:  # a pointer into a part rewritten away: prove nothing
            return None

    def target(self, node: Any, depth: int = 0) -> Any:
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and depth < 16:
            node, depth = self.resolve(node["$ref"]), depth + 1
        return node

    def valid(self, node: Any, value: Any) -> bool | None:
        """Whether ``value`` validates against sub-schema ``node`` of the root (``None``: could
        not tell)."""
        from prunestack.pipeline.schema.validate import validator

        try:
            if self._validator is None:
                self._validator = validator(self.root)
            return bool(self._validator.evolve(schema=node).is_valid(value))
        except Exception:
            return None


def rewrite_keywords(schema: Any) -> Any:
    """``schema`` with the rewrites of the module docstring applied everywhere."""
    if not isinstance(schema, dict):
        return schema
    root = _Root(schema)

    def double_not(node: dict[str, Any]) -> dict[str, Any]:
        inner = node.get("not")
        if isinstance(inner, dict) and "not" in inner and set(inner) - {"not"} <= ANNOTATIONS:
            del node["not"]  # not (not S) = S, before S's own rewrites make it harder to negate
            _conjoin(node, [inner["not"]])
        return node

    schema = rewrite_nodes(schema, double_not)

    def fix(node: dict[str, Any]) -> dict[str, Any]:
        _dependencies(node)
        _not(node, root)
        _unique_items(node, root)
        _one_of(node, root)
        return node

    return rewrite_nodes(schema, fix)


def _conjoin(node: dict[str, Any], extra: list[Any]) -> None:
    """Add ``extra`` to what ``node`` requires (a loaded schema's ``allOf`` is a list)."""
    if extra:
        node["allOf"] = [*node.get("allOf", []), *extra]


def _not(node: dict[str, Any], root: _Root) -> None:
    if "not" not in node:
        return
    neg = negate(node["not"], root.resolve)
    if neg is None or neg is False:  # inexpressible, or the node accepts nothing: refuse
        return
    del node["not"]
    if neg != {}:
        _conjoin(node, [neg])


def _dependencies(node: dict[str, Any]) -> None:
    extra = []
    for key in ("dependentRequired", "dependentSchemas", "dependencies"):
        deps = node.get(key)
        if not isinstance(deps, dict):
            continue
        parts: list[dict[str, Any]] = []
        for name, need in deps.items():
            absent: dict[str, Any] = {"properties": {name: False}}
            if isinstance(need, list) and all(isinstance(n, str) for n in need):
                parts.append({"anyOf": [absent, {"required": [name, *need]}]})
            elif need is True or (isinstance(need, dict) and not need):
                continue
            elif need is False:
                parts.append(absent)
            elif isinstance(need, dict) and key != "dependentRequired":
                parts.append({"anyOf": [absent, {"required": [name], "allOf": [need]}]})
            else:
                break
        else:
            del node[key]
            extra += parts
    _conjoin(node, extra)


# ------------------------------------------------------------------ oneOf
def _types(node: Any, root: _Root, depth: int = 0) -> frozenset[str]:
    """Instance types ``node`` can accept (``integer`` counts as ``number``), an over-estimate."""
    node = root.target(node)
    if node is False:
        return frozenset()
    if not isinstance(node, dict) or depth > 16:
        return _ALL
    out = _ALL
    t = node.get("type")
    if isinstance(t, (str, list)):
        names = t if isinstance(t, list) else [t]
        out = frozenset("number" if n == "integer" else n for n in names if isinstance(n, str))
    vals = _values(node)
    if vals is not None:
        out &= frozenset(json_type(v) for v in vals)
    for sub in node.get("allOf", []) if isinstance(node.get("allOf"), list) else []:
        out &= _types(sub, root, depth + 1)
    if isinstance(node.get("anyOf"), list):
        out &= frozenset().union(*(_types(s, root, depth + 1) for s in node["anyOf"]))
    return out


def _values(node: Any) -> list[Any] | None:
    if not isinstance(node, dict):
        return None
    if "const" in node:
        return [node["const"]]
    return node["enum"] if isinstance(node.get("enum"), list) else None


def _required(node: Any, root: _Root) -> set[str]:
    node = root.target(node)
    if not isinstance(node, dict):
        return set()
    out = {r for r in node.get("required", []) if isinstance(r, str)} if isinstance(
        node.get("required"), list) else set()
    for sub in node.get("allOf", []) if isinstance(node.get("allOf"), list) else []:
        out |= _required(sub, root)
    return out


def _property(node: Any, root: _Root, name: str) -> list[Any]:
    """Every sub-schema ``node`` applies to the value of key ``name`` (through ``allOf``)."""
    node = root.target(node)
    if not isinstance(node, dict):
        return []
    props = node.get("properties")
    out = [props[name]] if isinstance(props, dict) and name in props else []
    for sub in node.get("allOf", []) if isinstance(node.get("allOf"), list) else []:
        out += _property(sub, root, name)
    return out


def _forbids(node: Any, root: _Root, name: str) -> bool:
    """``node`` accepts no object with key ``name``."""
    node = root.target(node)
    if not isinstance(node, dict):
        return False
    given = node.get("properties")
    props: dict[str, Any] = given if isinstance(given, dict) else {}
    if props.get(name) is False:
        return True
    if (node.get("additionalProperties") is False and name not in props
            and not node.get("patternProperties")):
        return True
    return any(_forbids(s, root, name) for s in (
        node.get("allOf", []) if isinstance(node.get("allOf"), list) else []))


def _none_of(values: list[Any], schemas: list[Any], root: _Root) -> bool:
    """No value of ``values`` validates against all of ``schemas`` (proven)."""
    for v in values:
        oks = [root.valid(s, v) for s in schemas]
        if any(ok is None for ok in oks):
            return False
        if all(oks):
            return False
    return True


def disjoint(a: Any, b: Any, root: _Root, outer: frozenset[str] = _ALL,
             outer_required: frozenset[str] = frozenset()) -> bool:
    """No instance is valid against both ``a`` and ``b`` (see the module docstring)."""
    common = _types(a, root) & _types(b, root) & outer
    if not common:
        return True
    for x, y in ((a, b), (b, a)):
        vals = _values(root.target(x))
        if vals is not None and _none_of(vals, [y], root):
            return True
    if common != {"object"}:
        return False
    req_a, req_b = _required(a, root) | outer_required, _required(b, root) | outer_required
    for name in req_a & req_b:
        pa, pb = _property(a, root, name), _property(b, root, name)
        for xs, ys in ((pa, pb), (pb, pa)):
            for x in xs:
                vals = _values(root.target(x))
                if vals is not None and ys and _none_of(vals, ys, root):
                    return True
    return any(_forbids(b, root, n) for n in req_a) or any(_forbids(a, root, n) for n in req_b)


#: keywords that only constrain objects (a branch of these alone accepts every non-object)
_OBJECT_ONLY = frozenset({
    "properties", "required", "additionalProperties", "patternProperties", "minProperties",
    "maxProperties", "propertyNames", "dependentRequired", "dependentSchemas", "dependencies",
    "unevaluatedProperties"})
#: the most ``oneOf`` branches rewritten by negation (the rewrite grows with their square)
MAX_NEGATED_BRANCHES = 6


def _accepts_all_non_objects(node: Any, root: _Root) -> frozenset[str]:
    """The non-object types ``node`` accepts every instance of (only object keywords)."""
    node = root.target(node)
    if node is True or node == {}:
        return _ALL - {"object"}
    if not isinstance(node, dict) or not set(node) <= _OBJECT_ONLY | ANNOTATIONS | {"type"}:
        return frozenset()
    t = node.get("type")
    if t is None:
        return _ALL - {"object"}
    names = t if isinstance(t, list) else [t]
    return frozenset(n for n in names if n in _ALL and n != "object")


def _one_of(node: dict[str, Any], root: _Root) -> None:
    """``oneOf`` → ``anyOf`` when its branches are pairwise disjoint (once the types every
    instance of which two branches accept are excluded: ``oneOf`` refuses those), else, for a
    few branches whose complements :func:`.negate.negate` can write, the exact
    ``anyOf: [S_i and not S_j (j != i)]``; otherwise kept (refused)."""
    branches = node.get("oneOf")
    if not isinstance(branches, list) or not branches:
        return
    outer = _types({k: v for k, v in node.items() if k in ("type", "const", "enum")}, root)
    req = frozenset(_required({"required": node.get("required", [])}, root))
    pairs = list(itertools.combinations(branches, 2))
    both = frozenset().union(*(_accepts_all_non_objects(x, root)
                               & _accepts_all_non_objects(y, root) for x, y in pairs))
    outer -= both  # an instance of these types is valid against two branches: refused
    if outer and all(disjoint(x, y, root, outer, req) for x, y in pairs):
        rewritten: Any = {"anyOf": branches}
    elif len(branches) <= MAX_NEGATED_BRANCHES:
        negs = [negate(b, root.resolve) for b in branches]
        if any(n is None for n in negs):
            return
        rewritten = {"anyOf": [
            {"allOf": [b, *(n for j, n in enumerate(negs) if j != i)]}
            for i, b in enumerate(branches)]}
        both = frozenset()
    else:
        return
    del node["oneOf"]
    if both:
        rewritten["type"] = sorted(outer)
    if "anyOf" in node or both:
        _conjoin(node, [rewritten])
    else:
        node["anyOf"] = rewritten["anyOf"]


# ------------------------------------------------------------------ uniqueItems
def _has_repeats(arr: list[Any]) -> bool:
    return any(json_equal(x, y) for x, y in itertools.combinations(arr, 2))


def _unique_items(node: dict[str, Any], root: _Root) -> None:
    if "uniqueItems" not in node:
        return
    ui = node["uniqueItems"]
    max_items = node.get("maxItems")
    if ui is False or (isinstance(max_items, int) and not isinstance(max_items, bool)
                       and max_items <= 1):
        del node["uniqueItems"]
        return
    if ui is not True:
        return
    own = _values(node)
    if own is not None:  # keep only the listed values without repeated items
        node.pop("const", None)
        node["enum"] = [v for v in own if not (isinstance(v, list) and _has_repeats(v))]
        del node["uniqueItems"]
        return
    items = node.get("items", True)
    if node.get("type") not in ("array", ["array"]):
        return  # the enum below would also refuse the node's other types
    if "prefixItems" in node or "contains" in node or "unevaluatedItems" in node:
        return
    target = root.target(items)
    if isinstance(target, dict) and target.get("type") == "boolean":
        pool: list[Any] | None = [False, True]
    elif isinstance(target, dict) and target.get("type") == "null":
        pool = [None]
    else:
        pool = _values(target)
    if pool is None:
        return
    distinct: list[Any] = []
    for v in pool:
        if not any(json_equal(v, w) for w in distinct) and root.valid(items, v) is True:
            distinct.append(v)
    lo = node.get("minItems", 0)
    hi = max_items if isinstance(max_items, int) else len(distinct)
    if not isinstance(lo, int) or isinstance(lo, bool):
        return
    hi = min(hi, len(distinct))
    total, count = 0, 1
    for k in range(hi + 1):
        if k:
            count *= len(distinct) - k + 1
        if k >= lo:
            total += count
        if total > MAX_UNIQUE_ARRAYS:
            return
    arrays = [list(p) for k in range(lo, hi + 1) for p in itertools.permutations(distinct, k)]
    del node["uniqueItems"]
    node["enum"] = arrays
