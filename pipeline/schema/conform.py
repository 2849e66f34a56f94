"""Make data valid against a user's JSON Schema: coercion, stand-ins, the missing-value report.

``conform(data, schema)`` turns whatever an engine produced into data that validates: values are
coerced to the declared types (each ``anyOf``/``oneOf`` branch or type-list member tried in
turn; an ISO date rewritten to the layout a ``pattern`` wants; numbers checked against
``multipleOf`` in decimal arithmetic), missing optional values are dropped, missing nullable
values become ``null``, ``const`` values are written, and missing required values get a stand-in
that satisfies the field's own constraints (:func:`empty_value`, :mod:`.placeholders`), each
reported in ``missing``. Every value is checked with THE validator (:func:`.validate.fits`);
the final check of a whole document is :func:`.validate.validation_errors`. The stand-ins of one
call spend from one :class:`.limits.PlaceholderBudget` (the schema's ``max_schema_placeholder``,
counted before anything is built), so ``minItems`` nested in ``minItems`` cannot multiply past
it. Reading sub-schemas is :mod:`.nodes`; this module does not read documents.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from prunestack.cancel import checkpoint
from prunestack.pipeline.schema import placeholders as P
from prunestack.pipeline.schema import regex as R
from prunestack.pipeline.schema.keywords import ANNOTATIONS
from prunestack.pipeline.schema.limits import (
    PlaceholderBudget,
    count,
    limits_of,
    placeholder_budget,
)
from prunestack.pipeline.schema.nodes import (
    MAX_SCHEMA_DEPTH,
    alternatives,
    main_type,
    norm,
    resolve,
)
from prunestack.pipeline.schema.normalize import ASCII_FORMATS
from prunestack.pipeline.schema.validate import fits, path_str


def empty_value(node: Any, root: dict[str, Any], depth: int = 0, where: str = "") -> Any:
    """A stand-in that satisfies the sub-schema's own constraints, for a required value that was
    not found (always reported as missing by the caller); ``where``: its data path, for the
    message when the stand-ins pass their budget."""
    with placeholder_budget(limits_of(root).max_schema_placeholder) as budget:
        return _empty(node, root, depth, where, budget)


def _empty(node: Any, root: dict[str, Any], depth: int, where: str,
           budget: PlaceholderBudget) -> Any:
    checkpoint("placeholder building")  # a cancelled API request stops here (prunestack.cancel)
    node = norm(node, root)
    budget.spend(1, "required", where)
    if "const" in node:
        return node["const"]
    if node.get("enum"):
        return node["enum"][0]
    typ, nullable = main_type(node)
    if nullable or typ == "null" or not (set(node) - _ANNOTATIONS):
        return None  # null is allowed (or anything is: {} / true)
    if depth > MAX_SCHEMA_DEPTH:
        return {} if typ == "object" else [] if typ == "array" else None
    if typ == "object":
        props = node.get("properties", {})
        return {k: _empty(props.get(k, _extra_schema(node, k)), root, depth + 1,
                          f"{where}.{k}" if where else k, budget)
                for k in node.get("required", [])}
    if typ == "array":
        prefix = _prefix(node)
        items = _items(node)
        return _fill(prefix, items, 0, count(node.get("minItems")), root, depth + 1, where,
                     budget)
    if typ in ("number", "integer"):
        return _number_standin(node, root, typ)
    if typ == "boolean":
        return False
    budget.spend(count(node.get("minLength")), "minLength", where)
    return _string_standin(node, root)


def _fill(prefix: list[Any], items: Any, start: int, n: int, root: dict[str, Any], depth: int,
          where: str, budget: PlaceholderBudget) -> list[Any]:
    """Stand-ins for array positions ``start`` to ``n - 1``: tuple positions one by one; the
    rest are alike, so one is built, all are paid for before they exist, and it is copied."""
    out = [_empty(prefix[i], root, depth, f"{where}[{i}]", budget)
           for i in range(start, min(n, len(prefix)))]
    first_i = max(start, len(prefix))
    if n > first_i:
        left = budget.left
        first = _empty(items, root, depth, f"{where}[{first_i}]", budget)
        budget.spend(max(1, left - budget.left) * (n - first_i - 1), "minItems", where)
        out += [first, *(copy.deepcopy(first) for _ in range(n - first_i - 1))]
    return out


# a node with only these keys accepts any value (OpenAPI's ``nullable`` included)
_ANNOTATIONS = ANNOTATIONS | {"nullable"}


def _number_standin(node: dict[str, Any], root: dict[str, Any], typ: str) -> int | float:
    for c in _number_candidates(node, typ):
        try:
            c = int(c) if typ == "integer" and float(c).is_integer() else c
        except (OverflowError, ValueError):  # a bound past float's range
            continue
        if typ == "integer" and not isinstance(c, int):
            continue
        if fits(c, node, root):
            return c
    return 0 if typ == "integer" else 0.0


def _number_candidates(node: dict[str, Any], typ: str) -> list[Any]:
    """Numbers worth trying for a stand-in: 0, each bound and its neighbours, the first multiple
    of ``multipleOf`` past the minimum, a point inside a narrow range, ±1. A schema's numbers
    can be anything (``1e308``, ``1e-300`` steps): a candidate whose arithmetic overflows or
    cannot be done in decimal precision is skipped, never an error."""
    step = node.get("multipleOf")
    unit = step if isinstance(step, (int, float)) and not isinstance(step, bool) and step > 0 \
        else 1
    cands: list[Any] = [0]

    def add(make: Any) -> None:
        try:
            cands.extend(make())
        except (ArithmeticError, OverflowError, ValueError, TypeError):
            pass

    for key, sign in (("minimum", 0), ("exclusiveMinimum", 1), ("maximum", 0),
                      ("exclusiveMaximum", -1)):
        v = node.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            def near(v: Any = v, sign: int = sign) -> list[Any]:
                base = P.fit_multiple(v, unit) if step else v
                base = v if base is None else base
                return [base, base + sign * unit, v + sign * unit, v + sign]
            add(near)
    if step:
        lo = node.get("minimum", node.get("exclusiveMinimum", 0))
        if isinstance(lo, (int, float)):
            def first() -> list[Any]:
                k = int(Decimal(repr(lo)) // Decimal(repr(unit))) + 1
                return [float(Decimal(k) * Decimal(repr(unit)))]
            add(first)
    nums = [node.get(k) for k in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")]
    lo = next((v for v in nums[:2] if isinstance(v, (int, float)) and not isinstance(v, bool)),
              None)
    hi = next((v for v in nums[2:] if isinstance(v, (int, float)) and not isinstance(v, bool)),
              None)
    if lo is not None and hi is not None:  # a narrow range: (0, 1) exclusive
        def inside(lo: Any = lo, hi: Any = hi) -> list[Any]:
            mid = lo / 2 + hi / 2  # not (lo + hi) / 2: that overflows at 1e308
            return [mid, P.fit_multiple(mid, unit) if step else mid, int(mid), int(mid) + 1]
        add(inside)
    return [c for c in [*cands, 1, -1] if c is not None]


def _string_standin(node: dict[str, Any], root: dict[str, Any]) -> str:
    lo = count(node.get("minLength"))
    hi = node.get("maxLength")
    pattern = node.get("pattern")
    fmt = node.get("format")
    cands = [P.FORMAT_PLACEHOLDERS.get(fmt) if isinstance(fmt, str) else None,
             P.minimal_string(pattern, lo, hi), "", "?" * max(lo, 1), "0" * max(lo, 1), "-"]
    for c in cands:
        if c is not None and fits(c, node, root):
            return c
    return "" if lo == 0 else "?" * lo


def _prefix(node: dict[str, Any]) -> list[Any]:
    if isinstance(node.get("prefixItems"), list):
        return node["prefixItems"]
    return node["items"] if isinstance(node.get("items"), list) else []


def _items(node: dict[str, Any]) -> Any:
    """The schema of array items after any tuple prefix (``False`` when none are allowed)."""
    if isinstance(node.get("items"), list):
        return node.get("additionalItems", True)
    return node.get("items", True)


def _extra_schema(node: dict[str, Any], name: str) -> Any:
    """The schema a property not listed in ``properties`` falls under."""
    for pat, sub in (node.get("patternProperties") or {}).items():
        if R.search_or(pat, name, "patternProperties"):
            return sub
    return node.get("additionalProperties", True)


def coerce(value: Any, node: Any, root: dict[str, Any]) -> Any:
    """Cast a scalar to the node's type; raise ValueError when it cannot be done faithfully."""
    node = resolve(node, root)
    alts, nullable = alternatives(node, root)
    if value is None:
        if nullable:
            return None
        raise ValueError("null not allowed")
    last: Exception = ValueError("no branch")
    for alt in alts:
        try:
            out = _coerce_one(value, norm(alt, root))
        except (ValueError, TypeError, ArithmeticError) as exc:
            last = exc
            continue
        if fits(out, alt, root):
            return out
        last = ValueError(f"{out!r} breaks the schema's constraints")
    raise last if isinstance(last, ValueError) else ValueError(str(last))


def _coerce_one(value: Any, node: dict[str, Any]) -> Any:
    typ, _ = main_type(node)
    if "const" in node:
        c = node["const"]
        if c == value or str(c).strip().lower() == str(value).strip().lower():
            return c
        raise ValueError(f"{value!r} is not the const {c!r}")
    if node.get("enum"):
        for opt in node["enum"]:
            if opt == value or (isinstance(opt, str) and str(value).strip().lower()
                                == opt.lower()):
                return opt
        raise ValueError(f"{value!r} not in enum")
    if typ == "string":
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # a quantity 4.0 read as text is "4"
        s = value if isinstance(value, str) else json.dumps(value) \
            if isinstance(value, (dict, list)) else str(value)
        return _reshape_string(s, node)
    if typ == "integer":
        if isinstance(value, bool):
            raise ValueError("bool is not an integer")
        f = float(str(value).replace(",", "")) if not isinstance(value, (int, float)) else value
        if f != int(f):
            raise ValueError("not a whole number")
        out: Any = int(f)
    elif typ == "number":
        if isinstance(value, bool):
            raise ValueError("bool is not a number")
        out = float(value) if not isinstance(value, (int, float)) else value
    elif typ == "boolean":
        if isinstance(value, bool):
            return value
        s = str(value).strip().lower()
        if s in ("true", "yes", "1"):
            return True
        if s in ("false", "no", "0"):
            return False
        raise ValueError("not a boolean")
    elif typ in ("object", "array"):
        if isinstance(value, dict if typ == "object" else list):
            return value
        raise ValueError(f"not an {typ}")
    elif typ == "null":
        raise ValueError("only null allowed")
    else:
        return value
    step = node.get("multipleOf")
    if isinstance(step, (int, float)) and not isinstance(step, bool):
        fitted = P.fit_multiple(out, step)
        if fitted is None:
            raise ValueError(f"{out!r} is not a multiple of {step}")
        out = fitted
    return out


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CLOCK = re.compile(r"\b([01]?\d|2[0-3])[:.]([0-5]\d)(?:[:.]([0-5]\d))?\b")


def _reshape_string(s: str, node: dict[str, Any]) -> str:
    """An ISO date in the layout a ``pattern`` or ``format: date-time`` asks for; a clock time
    in a text as RFC 3339 ``HH:MM:SSZ`` for ``format: time``. A value that still does not have
    the shape its ``format`` names (date, time, date-time, uuid) is refused: ``jsonschema``
    only checks some formats when optional packages are installed, so this checks them
    always."""
    fmt, pattern = node.get("format"), node.get("pattern")
    if _ISO_DATE.match(s):
        if fmt == "date-time":
            s += "T00:00:00Z"
        if isinstance(pattern, str) and not R.search_or(pattern, s, "pattern", default=True):
            s = P.date_as_pattern(s, pattern) or s
    if fmt == "time" and not re.search(ASCII_FORMATS["time"], s):
        m = _CLOCK.search(s)
        if m:
            hour = int(m[1])
            after = s[m.end():].strip().lower()
            if after.startswith("pm") and hour < 12:
                hour += 12
            elif after.startswith("am") and hour == 12:
                hour = 0
            s = f"{hour:02d}:{m[2]}:{m[3] or '00'}Z"
    if fmt == "uuid":
        s = s.lower()
    if not _has_format(s, fmt, ASCII_FORMATS):
        raise ValueError(f"{s!r} is not a {fmt}")
    return s


def _has_format(s: str, fmt: Any, patterns: dict[str, str]) -> bool:
    try:
        if fmt == "date":
            return bool(_ISO_DATE.match(s)) and date.fromisoformat(s) is not None
        if fmt == "date-time":
            return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?"
                                     r"([Zz]|[+-]\d{2}:\d{2})", s)) and \
                datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00")) \
                is not None
    except ValueError:
        return False
    if fmt in ("time", "uuid"):
        return re.search(patterns[fmt], s) is not None
    return True


def conform(data: Any, schema: dict[str, Any], fill_required: bool = True
            ) -> tuple[Any, list[dict[str, str]]]:
    """Make ``data`` valid against ``schema`` as far as possible; returns (data, missing report).

    The report lists every required value that was missing or unusable, with what was done."""
    missing: list[dict[str, str]] = []
    with placeholder_budget(limits_of(schema).max_schema_placeholder):
        out = _conform_node(copy.deepcopy(data), schema, schema, (), missing, fill_required)
    return out, missing


def _conform_node(value: Any, node: Any, root: dict[str, Any], path: tuple[str | int, ...],
                  missing: list[dict[str, str]], fill: bool, depth: int = 0) -> Any:
    checkpoint("conformance")  # once per value: a cancelled API request stops here
    node = norm(node, root)
    typ, nullable = main_type(node)
    if node.get("not") == {}:
        return None  # `false`: no value is allowed
    if depth > 4 * MAX_SCHEMA_DEPTH:
        return None
    if not set(node) - _ANNOTATIONS:
        return value  # {} / true: any value is valid as it is
    if typ == "object" and "const" not in node and not node.get("enum"):
        return _conform_object(value, node, root, path, missing, fill, depth)
    if typ == "array" and "const" not in node and not node.get("enum"):
        return _conform_array(value, node, root, path, missing, fill, depth, nullable)
    try:
        return coerce(value, node, root)
    except (ValueError, TypeError):
        return None


def _report(missing: list[dict[str, str]], path: tuple, fill: bool,
            reason: str = "required value not found") -> None:
    missing.append({"path": path_str(path), "reason": reason,
                    "action": "filled with a placeholder value" if fill else "left out"})


def _conform_object(value: Any, node: dict[str, Any], root: dict[str, Any], path: tuple,
                    missing: list[dict[str, str]], fill: bool, depth: int) -> dict[str, Any]:
    value = value if isinstance(value, dict) else {}
    props = node.get("properties", {})
    required = [r for r in node.get("required", []) if isinstance(r, str)]
    out: dict[str, Any] = {}
    for name in [*props, *[r for r in required if r not in props]]:
        sub = norm(props[name] if name in props else _extra_schema(node, name), root)
        sub_t, sub_null = main_type(sub)
        v = value.get(name)
        if v is not None:
            cv = _conform_node(v, sub, root, (*path, name), missing, fill, depth + 1)
            if cv is not None and (sub_t != "object" or name in required
                                   or _substantive(cv, sub, root)):
                out[name] = cv
                continue
        if "const" in sub and name in required:
            out[name] = sub["const"]  # fully determined by the schema: nothing is missing
        elif sub_null and sub.get("not") != {}:
            out[name] = None
        elif name not in required:
            if sub_t == "array" and sub.get("not") != {} and not sub.get("minItems"):
                out[name] = []  # an optional list with nothing found
        elif sub_t in ("object", "array") and "const" not in sub and not sub.get("enum"):
            if fill or sub_t == "object":
                out[name] = _conform_node({} if sub_t == "object" else [], sub, root,
                                          (*path, name), missing, fill, depth + 1)
            else:
                _report(missing, (*path, name), fill)
        else:
            _report(missing, (*path, name), fill)
            if fill:
                out[name] = empty_value(sub, root, where=path_str((*path, name)))
    extra = node.get("additionalProperties", True)
    for k, v in value.items():
        if k in props or k in out or v is None:
            continue
        sch = _extra_schema(node, k)
        if sch is False or (sch is extra and extra is False):
            continue
        cv = _conform_node(v, sch, root, (*path, k), [], fill, depth + 1)
        if cv is not None:
            out[k] = cv
    return out


def _substantive(value: Any, node: dict[str, Any], root: dict[str, Any]) -> bool:
    """Whether an optional object holds anything found (not only nulls and the ``const``
    values the schema fixes, e.g. a discriminator)."""
    if not isinstance(value, dict):
        return value is not None
    props = node.get("properties", {})
    for k, v in value.items():
        sub = norm(props.get(k, {}), root)
        if "const" in sub or v is None:
            continue
        if _substantive(v, sub, root):
            return True
    return False


def _conform_array(value: Any, node: dict[str, Any], root: dict[str, Any], path: tuple,
                   missing: list[dict[str, str]], fill: bool, depth: int, nullable: bool
                   ) -> list[Any] | None:
    prefix, items = _prefix(node), _items(node)
    vals = value if isinstance(value, list) else []
    out: list[Any] = []
    for v in vals:
        in_prefix = len(out) < len(prefix)
        sch = prefix[len(out)] if in_prefix else items
        if sch is False:
            break
        cv = _conform_node(v, sch, root, (*path, len(out)), missing, fill, depth + 1)
        if cv is None:
            if in_prefix:
                break  # a tuple position that cannot be filled ends the tuple
            continue
        if node.get("uniqueItems") and cv in out:
            continue
        out.append(cv)
    if "maxItems" in node:
        out = out[: int(node["maxItems"])]
    n_min = count(node.get("minItems"))
    if len(out) < n_min:
        if value is None and nullable:
            return None
        _report(missing, path, fill, "fewer items than minItems")
        if fill:
            with placeholder_budget() as budget:  # the one conform() opened
                out += _fill(prefix, items, len(out), n_min, root, 0, path_str(path), budget)
    if value is None and nullable and not out:
        return None
    return out
