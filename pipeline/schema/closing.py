"""Closed objects for generation: no key the schema does not name — never an unsatisfiable
schema.

What it does: :func:`close_objects` gives every object schema that starts an instance location
(the root, a property's, an item's schema) ``additionalProperties: false`` over *every* name any
schema applied at that location lists: its own ``properties`` and ``required``, and those of
every ``allOf``/``anyOf``/``oneOf``/``if``/``then``/``else``/``dependentSchemas`` branch and
``$ref`` target evaluated there, and of every other schema the same location meets (two
``allOf`` members that both describe ``properties.x``). The closed schema is the original
and "no other keys": it only narrows (an instance valid when closed was valid before) and keeps
every instance whose keys the schema names, so a satisfiable schema stays satisfiable (the
``allOf`` whose ``oneOf`` branches each list some of the keys). Branches are never closed one by
one (inside ``oneOf`` or ``not`` that would widen the schema). Locations where the schema means
more keys (``patternProperties``, an ``additionalProperties``/``unevaluatedProperties`` schema,
``propertyNames``), or a ``minProperties`` above the names it lists, stay open. Works with
``$ref``s kept (a definition used at several locations is closed over all of them), walks
locations iteratively within a budget, and returns the schema unclosed if the budget runs out
(faithful is always sound).

What it does not do: decide whether to close (``prepare_schema(closed=...)``: extraction and
generation turn it on; matching is faithful by default), or fix a property order.
"""

from __future__ import annotations

from typing import Any

from prunestack.pipeline.schema.keywords import rewrite_nodes
from prunestack.pipeline.schema.refs import resolve_pointer

#: locations and members visited before closing gives up (returns the schema open)
CLOSE_BUDGET = 200_000
_MONOTONE = ("allOf", "anyOf", "then", "else")  # narrowing a branch narrows the whole
_OTHER = ("oneOf", "not", "if")  # narrowing a branch may widen the whole
_ITEMS = ("items", "additionalItems", "unevaluatedItems", "contains")
_ESCAPES = ("patternProperties", "propertyNames")


class _Budget(Exception):
    pass


def close_objects(schema: Any) -> Any:
    """``schema`` with its instance locations closed (see the module docstring)."""
    if not isinstance(schema, dict):
        return schema
    schema = rewrite_nodes(schema, _one_of_by_required_keys)
    try:
        plan = _plan(schema)
    except _Budget:
        return schema
    return _apply(schema, plan)


def _object_branch(node: Any) -> bool:
    return (isinstance(node, dict) and "$ref" not in node
            and isinstance(node.get("properties", {}), dict)
            and isinstance(node.get("required", []), list)
            and not any(k in node for k in (*_ESCAPES, "additionalProperties",
                                            "unevaluatedProperties")))


def _one_of_by_required_keys(node: dict[str, Any]) -> dict[str, Any]:
    """Closed mode: a ``oneOf`` of object branches told apart only by the keys they require
    (open objects may carry another branch's keys, so it is not disjoint as written) becomes an
    ``anyOf`` whose branch i also forbids the keys other branches require and it does not name.
    Every instance it accepts is in branch i and in no other (each other one misses a required
    key): a narrowing, as closing is; only instances carrying another branch's keys are lost."""
    branches = node.get("oneOf")
    if not (isinstance(branches, list) and len(branches) > 1
            and all(_object_branch(b) for b in branches)):
        return node
    if node.get("type") != "object" and not all(b.get("type") == "object" for b in branches):
        return node
    named = [set(b.get("properties", {})) | {r for r in b.get("required", [])
                                               if isinstance(r, str)} for b in branches]
    needs = [{r for r in b.get("required", []) if isinstance(r, str)} for b in branches]
    own_required = set(node.get("required", [])) if isinstance(node.get("required"), list) \
        else set()
    forbid = []
    for i in range(len(branches)):
        if any(not (needs[j] - named[i]) for j in range(len(branches)) if j != i):
            return node  # some other branch requires nothing branch i lacks: not told apart
        keys = set().union(*(needs[j] - named[i] for j in range(len(branches)) if j != i))
        if keys & own_required:
            return node
        forbid.append(keys)
    out = {k: v for k, v in node.items() if k != "oneOf"}
    told = [{**b, "properties": {**b.get("properties", {}), **dict.fromkeys(sorted(f), False)}}
            for b, f in zip(branches, forbid, strict=True)]
    if "anyOf" in out:
        out["allOf"] = [*out.get("allOf", []), {"anyOf": told}]
    else:
        out["anyOf"] = told
    return out


def _members(top: Any, root: dict[str, Any], spend: list[int],
             targets: set[int]) -> list[tuple[Any, bool]]:
    """Every schema evaluated in place with ``top`` (through combinators and ``$ref``), each
    with whether it is reached through ``oneOf``/``not``/``if`` (where closing it is unsound);
    ``$ref`` targets are added to ``targets``."""
    out: list[tuple[Any, bool]] = []
    seen: set[tuple[int, bool]] = set()
    stack: list[tuple[Any, bool]] = [(top, False)]
    while stack:
        node, odd = stack.pop()
        if not isinstance(node, dict) or (id(node), odd) in seen:
            continue
        spend[0] += 1
        if spend[0] > CLOSE_BUDGET:
            raise _Budget
        seen.add((id(node), odd))
        out.append((node, odd))
        if isinstance(node.get("$ref"), str):
            try:
                target = resolve_pointer(root, node["$ref"])
                targets.add(id(target))
                stack.append((target, odd))
            except Exception:  # a pointer load_schema accepted: cannot happen; close less
                pass
        for k in (*_MONOTONE, *_OTHER):
            v = node.get(k)
            subs = v if isinstance(v, list) else [v]
            stack.extend((s, odd or k in _OTHER) for s in subs if isinstance(s, dict))
        deps = node.get("dependentSchemas")
        if isinstance(deps, dict):
            stack.extend((s, odd) for s in deps.values() if isinstance(s, dict))
    return out


def _plan(root: dict[str, Any]) -> dict[int, tuple[Any, set[str] | None]]:
    """For each node to close (by id): the node and the names to close it over (``None``:
    leave it open). Closed: location tops, or for a top holding a ``$ref`` the target it leads
    to (a ``$ref`` with sibling keywords is refused by llguidance when recursive), over the
    names of every location where that node is evaluated; never one reached through
    ``oneOf``/``not``/``if``."""
    plan: dict[int, tuple[Any, set[str] | None]] = {}
    closable: set[int] = set()
    targets: set[int] = set()
    spend = [0]
    seen: set[frozenset[int]] = set()
    stack: list[list[Any]] = [[root]]
    while stack:
        tops = stack.pop()
        key = frozenset(id(t) for t in tops)
        if key in seen:
            continue
        seen.add(key)
        closable.update(id(t) for t in tops)
        members = [m for t in tops for m in _members(t, root, spend, targets)]
        names: set[str] = set()
        open_ = has_props = False
        min_props = 0
        for m, _odd in members:
            props = m.get("properties")
            if isinstance(props, dict):
                has_props = True
                names |= set(props)
            names |= {r for r in m.get("required", []) if isinstance(r, str)} if isinstance(
                m.get("required"), list) else set()
            for kw in ("dependentRequired",):
                if isinstance(m.get(kw), dict):
                    names |= set(m[kw])
                    names |= {n for v in m[kw].values() if isinstance(v, list) for n in v
                              if isinstance(n, str)}
            if any(m.get(k) for k in _ESCAPES) or any(
                    k in m and m[k] is not False for k in ("additionalProperties",
                                                         "unevaluatedProperties")):
                open_ = True
            if isinstance(m.get("minProperties"), int):
                min_props = max(min_props, m["minProperties"])
        if min_props > len(names) or not has_props:
            open_ = True
        for m, odd in members:  # every node met here is closed over these names too
            _note(plan, m, None if (open_ or odd) else names)
        _children(members, stack)
    closable |= targets
    return {k: v for k, v in plan.items() if k in closable and "$ref" not in v[0]}


def _note(plan: dict[int, tuple[Any, set[str] | None]], node: Any,
          names: set[str] | None) -> None:
    old = plan.get(id(node), (node, set()))[1]
    plan[id(node)] = (node, None if old is None or names is None else old | names)


def _children(members: list[tuple[Any, bool]], stack: list[list[Any]]) -> None:
    """The next locations: per property name, every member's schema for it (plus every
    pattern / additional schema, which may apply to it too); one location for all items."""
    by_name: dict[str, list[Any]] = {}
    loose: list[Any] = []
    items: list[Any] = []
    for m, _odd in members:
        props = m.get("properties")
        if isinstance(props, dict):
            for name, sub in props.items():
                if isinstance(sub, dict):
                    by_name.setdefault(name, []).append(sub)
        pats = m.get("patternProperties")
        if isinstance(pats, dict):
            loose += [s for s in pats.values() if isinstance(s, dict)]
        for k in ("additionalProperties", "unevaluatedProperties"):
            if isinstance(m.get(k), dict):
                loose.append(m[k])
        for k in _ITEMS:
            if isinstance(m.get(k), dict):
                items.append(m[k])
        if isinstance(m.get("prefixItems"), list):
            items += [s for s in m["prefixItems"] if isinstance(s, dict)]
    for subs in by_name.values():
        stack.append(subs + loose)
    if loose:
        stack.append(loose)
    if items:
        stack.append(items)


def _apply(schema: dict[str, Any], plan: dict[int, tuple[Any, set[str] | None]]) -> Any:
    """Copy ``schema`` with every planned top closed (nodes are matched by identity)."""
    done: dict[int, Any] = {}

    def copy(node: Any) -> Any:
        if isinstance(node, list):
            return [copy(x) for x in node]
        if not isinstance(node, dict):
            return node
        if id(node) in done:
            return done[id(node)]
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k in ("enum", "const", "default", "examples"):
                out[k] = v
            elif k in ("properties", "patternProperties", "$defs", "definitions",
                       "dependentSchemas") and isinstance(v, dict):
                out[k] = {n: copy(s) for n, s in v.items()}
            else:
                out[k] = copy(v)
        names = plan.get(id(node), (None, None))[1]
        if names is not None and "additionalProperties" not in out:
            given = out.get("properties")
            props: dict[str, Any] = given if isinstance(given, dict) else {}
            out["properties"] = {**props, **{n: {} for n in sorted(names) if n not in props}}
            out["additionalProperties"] = False
        done[id(node)] = out
        return out

    return copy(schema)
