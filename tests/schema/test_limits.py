"""Schema limits: each refused by name one past its boundary and accepted at it, the issue's
probes refused fast, every real schema accepted, and the ``$ref`` expansion count checked against
a naive recursive count of the same thing."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prunestack.errors import SchemaError
from prunestack.jsondepth import text_depth, value_depth
from prunestack.pipeline.schema import (
    DEFAULT_LIMITS,
    SchemaLimits,
    check_limits,
    conform,
    load_schema,
)
from prunestack.pipeline.schema.limits import measure
from prunestack.pipeline.schema.refs import resolve_pointer
from tests.extract.schemas_realworld import cases

# ../shared/data from the project root (also from a worktree one level further down)
MASKBENCH = next((p / "shared" / "data" / "maskbench-dev" for p in Path(__file__).resolve().parents
                  if (p / "shared" / "data" / "maskbench-dev").is_dir()), None)


def refused(schema: Any, limits: SchemaLimits, *words: str) -> str:
    with pytest.raises(SchemaError) as err:
        load_schema(schema, limits=limits)
    msg = str(err.value)
    for w in words:
        assert w in msg, msg
    return msg


def obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


def nest(levels: int) -> dict[str, Any]:
    """``levels`` objects, each the only property of the one above: JSON depth 2 * levels."""
    s: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        s = obj(a=s)
    return s


# ------------------------------------------------------------------ each limit, at its boundary
def test_bytes_text_and_dict():
    schema = obj(a={"type": "string", "description": "x" * 500})
    size = len(json.dumps(schema, separators=(",", ":")))
    at = SchemaLimits(max_schema_bytes=size)
    load_schema(schema, limits=at)
    load_schema(json.dumps(schema, separators=(",", ":")), limits=at)
    over = SchemaLimits(max_schema_bytes=size - 1)
    refused(schema, over, "max_schema_bytes", "PRUNESTACK_MAX_SCHEMA_BYTES", f"{size - 1:,}")
    refused(json.dumps(schema, separators=(",", ":")).encode(), over, "max_schema_bytes")


def test_depth_as_written_before_parsing():
    schema = nest(10)  # depth 21: 10 x (schema, properties) + the string schema
    assert value_depth(schema) == 21 == text_depth(json.dumps(schema))
    load_schema(schema, limits=SchemaLimits(max_schema_depth=21))
    msg = refused(schema, SchemaLimits(max_schema_depth=20), "max_schema_depth",
                  "PRUNESTACK_MAX_SCHEMA_DEPTH", "as written")
    assert "properties/a/properties/a" in msg  # the place where it passed the limit
    refused(json.dumps(schema), SchemaLimits(max_schema_depth=20), "max_schema_depth")


def test_depth_with_refs_inlined():
    """Two definitions, each 5 deep, the first referring to the second."""
    schema = {"type": "object", "properties": {"x": {"$ref": "#/$defs/a"}},
              "$defs": {"a": obj(n=obj(m={"$ref": "#/$defs/b"})),
                        "b": obj(n=obj(m={"type": "string"}))}}
    got = measure(schema)
    assert got["max_schema_depth"][0] == 7  # $defs/a/properties/n/properties/m
    assert got["inlined_depth"][0] == 11  # x at 3, holding a (5 deep) whose m holds b (5)
    load_schema(schema, limits=SchemaLimits(max_schema_depth=11))
    refused(schema, SchemaLimits(max_schema_depth=10), "with every $ref inlined",
            "properties/x/$ref", "max_schema_depth")


def test_recursive_ref_is_not_inlined_forever():
    schema = {"type": "object", "properties": {"name": {"type": "string"},
                                               "children": {"type": "array",
                                                            "items": {"$ref": "#"}}}}
    got = measure(schema)
    assert got["inlined_depth"][0] == 2 * got["max_schema_depth"][0] - 1
    load_schema(schema)


def test_subschemas():
    schema = obj(**{f"p{i}": {"type": "string"} for i in range(9)})  # 10 schema objects
    load_schema(schema, limits=SchemaLimits(max_schema_subschemas=10))
    refused(schema, SchemaLimits(max_schema_subschemas=9), "max_schema_subschemas",
            "schema objects")


def test_enum_and_properties():
    schema = obj(a={"enum": list(range(50))}, b=obj(**{f"p{i}": {} for i in range(30)}))
    load_schema(schema, limits=SchemaLimits(max_schema_enum=50, max_schema_properties=30))
    refused(schema, SchemaLimits(max_schema_enum=49), "properties/a/enum", "max_schema_enum",
            "50")
    refused(schema, SchemaLimits(max_schema_properties=29), "properties/b/properties",
            "max_schema_properties")


@pytest.mark.parametrize("key,node", [
    ("minLength", {"type": "string"}),
    ("minItems", {"type": "array"}),
    ("minProperties", {"type": "object"}),
    ("minContains", {"type": "array", "contains": {"type": "integer"}}),
])
def test_placeholder_keywords(key, node):
    lim = SchemaLimits(max_schema_placeholder=1000)
    load_schema(obj(a={**node, key: 999}), limits=lim)
    refused(obj(a={**node, key: 1001}), lim, f"properties/a/{key}", "max_schema_placeholder",
            "PRUNESTACK_MAX_SCHEMA_PLACEHOLDER", "1,001")


def test_placeholder_under_an_unknown_keyword_is_seen():
    """A ``$ref`` can point anywhere, so a schema hidden under ``x-defs`` is checked too, and a
    property called ``default`` is a schema, not data."""
    lim = SchemaLimits(max_schema_placeholder=1000)
    refused({"type": "object", "x-defs": {"s": {"minLength": 10**9}},
             "properties": {"a": {"$ref": "#/x-defs/s"}}}, lim, "x-defs/s/minLength")
    refused(obj(default={"type": "string", "minLength": 5000}), lim,
            "properties/default/minLength")
    load_schema(obj(a={"type": "string", "default": {"minLength": 10**9}}), limits=lim)


def test_stand_in_sizes_multiply():
    inner = {"type": "array", "minItems": 30, "items": {"type": "string", "minLength": 30}}
    schema = {**obj(a={"type": "array", "minItems": 30, "items": inner}), "required": ["a"]}
    size = 1 + 30 * (1 + 30 * 30)  # the outer list, 30 inner lists of 30 strings of 30
    assert measure(schema)["standin"][0] == size + 1  # and the object holding it
    load_schema(schema, limits=SchemaLimits(max_schema_placeholder=size + 1))
    refused(schema, SchemaLimits(max_schema_placeholder=size), "at (root)", "made by required")
    refused(schema, SchemaLimits(max_schema_placeholder=size - 1), "at properties/a:",
            "made by minItems", "max_schema_placeholder")


def test_cycle_steps_are_bounded():
    """12 definitions that all refer to each other: inlining follows every simple path
    (12! of them); the walk stops at its step budget and names the setting."""
    k = 12
    defs = {f"d{i}": obj(**{f"p{j}": {"$ref": f"#/$defs/d{j}"} for j in range(k)})
            for i in range(k)}
    t = time.perf_counter()
    refused({**obj(x={"$ref": "#/$defs/d0"}), "$defs": defs}, DEFAULT_LIMITS,
            "cycles of $refs", "max_schema_ref_expansion")
    assert time.perf_counter() - t < 1.0
    small = {f"d{i}": obj(**{f"p{j}": {"$ref": f"#/$defs/d{j}"} for j in range(4)})
             for i in range(4)}
    load_schema({**obj(x={"$ref": "#/$defs/d0"}), "$defs": small})


def test_limits_object():
    with pytest.raises(ValueError, match="max_schema_depth"):
        SchemaLimits(max_schema_depth=500)
    with pytest.raises(ValueError, match="positive"):
        SchemaLimits(max_schema_enum=0)
    loaded = load_schema(obj(a={"enum": [1, 2, 3]}), limits=SchemaLimits(max_schema_enum=3))
    assert loaded.limits.max_schema_enum == 3
    assert load_schema(loaded) is loaded  # loaded once: the same limits
    with pytest.raises(SchemaError, match="max_schema_enum"):
        load_schema(loaded, limits=SchemaLimits(max_schema_enum=2))
    assert load_schema(loaded, limits=DEFAULT_LIMITS).limits == DEFAULT_LIMITS


def test_schema_file_over_the_limit_is_not_read(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps(obj(a={"description": "x" * 5000})))
    with pytest.raises(SchemaError, match="max_schema_bytes"):
        load_schema(path, limits=SchemaLimits(max_schema_bytes=2000))


def test_lone_surrogate_in_a_schema():
    with pytest.raises(SchemaError, match="lone UTF-16 surrogate"):
        load_schema('{"type": "object", "properties": {"a\\ud800": {}}}')
    assert load_schema('{"type": "object", "description": "\\ud83d\\ude00"}')["description"] \
        == "\U0001f600"


# ------------------------------------------------------------------ the issue's probes
def allof(levels: int) -> dict[str, Any]:
    s: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        s = {"allOf": [s]}
    return s


def _deep_text(levels: int) -> str:
    return '{"type":"object","properties":{"a":' * levels + "{}" + "}}" * levels


@pytest.mark.parametrize("name,schema,words", [
    ("minLength", {**obj(invoice_number={"type": "string", "minLength": 300_000_000}),
                   "required": ["invoice_number"]}, ("minLength", "max_schema_placeholder")),
    ("minItems of minItems", {**obj(a={"type": "array", "minItems": 3000, "items": {
        "type": "array", "minItems": 3000}}), "required": ["a"]},
     ("minItems", "max_schema_placeholder")),
    ("1M enum", obj(a={"enum": list(range(1_000_000))}), ("enum", "max_schema_enum")),
    ("5000 deep", nest(5000), ("max_schema_depth",)),
    ("5000 deep text", _deep_text(5000), ("max_schema_depth",)),
    ("100k deep brackets", "[" * 100_000, ("max_schema_depth",)),
    ("400 deep allOf", allof(400), ("max_schema_depth",)),
])
def test_issue_probes_are_refused_fast(name, schema, words):
    t = time.perf_counter()
    refused(schema, DEFAULT_LIMITS, *words)
    assert time.perf_counter() - t < 1.0, name


def test_a_ref_chain_that_doubles_is_refused_in_milliseconds():
    n = 1000
    defs = {f"d{i}": obj(a={"$ref": f"#/$defs/d{i + 1}"}, b={"$ref": f"#/$defs/d{i + 1}"})
            for i in range(n)}
    defs[f"d{n}"] = {"type": "string"}
    schema = {**obj(x={"$ref": "#/$defs/d0"}), "$defs": defs}
    text = json.dumps(schema)
    assert len(text) > 100_000
    t = time.perf_counter()
    refused(text, DEFAULT_LIMITS, "properties/x/$ref", "max_schema_ref_expansion",
            "more than 10**18")
    assert time.perf_counter() - t < 1.0
    chain = {f"d{i}": {"$ref": f"#/$defs/d{i + 1}"} for i in range(3000)}
    chain["d3000"] = {"type": "string"}
    t = time.perf_counter()
    refused({**obj(x={"$ref": "#/$defs/d0"}), "$defs": chain}, DEFAULT_LIMITS,
            "max_schema_ref_expansion")
    assert time.perf_counter() - t < 1.0


def test_stand_ins_are_bounded_at_run_time_too():
    """A plain dict handed to ``conform`` was never loaded: the budget still holds it."""
    big = {**obj(a={"type": "array", "minItems": 1000, "items": {
        "type": "array", "minItems": 1000, "items": {"type": "string"}}}), "required": ["a"]}
    t = time.perf_counter()
    with pytest.raises(SchemaError, match=r"a/minItems.*max_schema_placeholder"):
        conform({}, big)
    assert time.perf_counter() - t < 1.0
    with pytest.raises(SchemaError, match="minLength"):
        conform({}, {**obj(a={"type": "string", "minLength": 300_000_000}), "required": ["a"]})
    ok = {**obj(a={"type": "array", "minItems": 150, "items": {
        "type": "array", "minItems": 150, "items": {"type": "string", "minLength": 2}}}),
        "required": ["a"]}  # 150 x (1 + 150 x 3) = 67,650 values and characters
    data, missing = conform({}, ok)
    assert len(data["a"]) == 150 and all(len(x) == 150 for x in data["a"])
    assert data["a"][0][0] == "aa" and data["a"][0] is not data["a"][1]  # copies, not aliases
    assert missing[0]["path"] == "a"


# ------------------------------------------------------------------ real schemas pass
def _real_cases() -> list[tuple[str, Any]]:
    return [(name, s) for name, (s, expect) in cases().items()
            if expect == "ok" and isinstance(s, dict)]


@pytest.mark.parametrize("name,schema", _real_cases())
def test_realworld_schemas_pass(name, schema):
    load_schema(schema)


@pytest.mark.skipif(MASKBENCH is None, reason="needs ../shared/data/maskbench-dev "
                    "(real JSONSchemaBench schemas, not in the repository)")
def test_every_maskbench_schema_passes_the_limits():
    """The 400 real schemas (GitHub, Kubernetes, SchemaStore, ...): none is refused by a limit,
    each is checked within 200 ms (about 10 ms on a quiet machine), and each quantity stays
    under its default with room."""
    assert MASKBENCH is not None
    files = sorted(MASKBENCH.glob("*.json"))
    assert len(files) >= 400
    worst: dict[str, int] = {}
    for f in files:
        schema = json.loads(f.read_text())["schema"]
        t = time.perf_counter()
        check_limits(schema)
        assert time.perf_counter() - t < 0.2, f.name
        for k, (v, _) in measure(schema).items():
            worst[k] = max(worst.get(k, 0), v)
    assert worst["max_schema_depth"] * 2 <= DEFAULT_LIMITS.max_schema_depth
    assert worst["inlined_depth"] * 2 <= DEFAULT_LIMITS.max_schema_depth
    assert worst["max_schema_enum"] * 2 <= DEFAULT_LIMITS.max_schema_enum
    assert worst["max_schema_ref_expansion"] * 10 <= DEFAULT_LIMITS.max_schema_ref_expansion
    assert worst["standin"] * 100 <= DEFAULT_LIMITS.max_schema_placeholder


# ------------------------------------------------------------------ the expansion count
def naive_expansion(schema: dict[str, Any]) -> tuple[int, int]:
    """(JSON values, nesting) with every ``$ref`` replaced by its target unless that target is
    already being inlined on the path: the definition ``check_limits`` computes with memos."""
    def walk(node: Any, stack: tuple[int, ...], schema_pos: bool) -> tuple[int, int]:
        if not isinstance(node, dict | list):
            return 1, 0
        items = node.items() if isinstance(node, dict) else enumerate(node)
        size, height = 1, 1
        for k, v in items:
            data = isinstance(node, dict) and k in ("enum", "const", "default", "examples")
            s, h = walk(v, stack, schema_pos and not data)
            size, height = size + s, max(height, h + 1)
        if schema_pos and isinstance(node, dict) and isinstance(node.get("$ref"), str):
            target = resolve_pointer(schema, node["$ref"])
            if id(target) not in stack:
                s, h = walk(target, (*stack, id(target)), True)
                size, height = size + s, max(height, h)
        return size, height

    return walk(schema, (), True)


names = st.sampled_from(["a", "b", "c"])


@st.composite
def ref_schemas(draw: Any) -> dict[str, Any]:
    """Small schemas whose definitions refer to each other (cycles included)."""
    def node(depth: int) -> Any:
        kind = draw(st.integers(0, 4 if depth < 3 else 1))
        if kind == 0:
            return {"type": "string"}
        if kind == 1:
            return {"$ref": f"#/$defs/{draw(names)}"}
        if kind == 2:
            return {"type": "object", "properties": {
                n: node(depth + 1) for n in draw(st.lists(names, max_size=3, unique=True))}}
        if kind == 3:
            return {"anyOf": [node(depth + 1) for _ in range(draw(st.integers(1, 3)))]}
        return {"type": "array", "items": node(depth + 1), "enum": [[{"$ref": "#"}]]}

    return {"type": "object", "properties": {"x": node(0), "y": {"$ref": "#"}},
            "$defs": {n: node(0) for n in ("a", "b", "c")}}


@settings(max_examples=150, deadline=None)
@given(ref_schemas())
def test_expansion_matches_the_naive_count(schema):
    got = measure(schema)
    assert (got["max_schema_ref_expansion"][0], got["inlined_depth"][0]) == \
        naive_expansion(schema)


# ------------------------------------------------------------------ depth of JSON text
def test_text_depth_skips_strings_and_stops_early():
    assert text_depth('{"a": "[[[{{{", "b": [1, [2]]}') == 3
    assert text_depth(r'{"a": "\"[[[", "b": []}') == 2
    assert text_depth('"[[[[ unterminated') == 0  # a string to the end: nothing to count
    assert text_depth("[" * 10**6, stop_at=64) == 65
    assert text_depth(json.dumps({"a": [[1]]}).encode("utf-16")) == 3
    assert text_depth(json.dumps({"a": "\u5b5b\u5b5b"}).encode("utf-16-le")) == 1  # bytes 5B 5B
    assert text_depth("42") == 0


def test_value_depth_without_recursion():
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    assert value_depth(deep) == 100_001
    assert value_depth(deep, stop_at=10) == 11
    loop: list[Any] = []
    loop.append(loop)
    assert value_depth(loop, stop_at=50) == 51
    with pytest.raises(ValueError, match="contains itself"):
        value_depth(loop)
    shared = [1]
    assert value_depth([shared, shared]) == 2  # the same list twice is not a cycle


def test_the_facade_refuses_a_deep_dict_schema_before_any_work():
    import prunestack

    deep = nest(5000)
    with pytest.raises(SchemaError, match="max_schema_depth"):
        prunestack.extract("Invoice No: 12", schema=deep)
    with pytest.raises(SchemaError, match="max_schema_depth"):
        prunestack.generate_json(None, None, deep, "JSON:")  # no model is touched


@pytest.mark.parametrize("node", [
    {"type": "number", "minimum": 1e300, "multipleOf": 1e-300},  # decimal precision exceeded
    {"type": "integer", "minimum": 1e308, "maximum": 1e308},  # (lo + hi) / 2 is infinite
    {"type": "number", "multipleOf": 3, "minimum": 10**400},  # past float's range
    {"type": "integer", "multipleOf": 1e308},
])
def test_stand_ins_for_hostile_numbers_never_raise(node):
    schema = load_schema({**obj(a=node), "required": ["a"]})
    data, missing = conform({}, schema)
    assert set(data) == {"a"} and isinstance(data["a"], int | float)
    assert missing[0]["path"] == "a"
