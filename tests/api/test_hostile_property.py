"""Property test for issue 14: generated hostile schemas never break a live server.

Hypothesis builds nested JSON Schemas from the whole keyword set (``type``, ``properties``,
``required``, ``items``, ``prefixItems``, ``allOf``/``anyOf``/``oneOf``/``not``, ``enum``/``const``,
``pattern``/``patternProperties``/``propertyNames`` with backtracking patterns, every ``min*``/
``max*``, ``multipleOf`` with huge and tiny numbers, ``$ref``/``$defs``, ``$id`` with odd values
(URLs of a loopback listener, ``file:``, relative, broken), ``$dynamicRef``/``$dynamicAnchor``,
``format``, and nesting thousands of levels deep) and posts each, with a short text, to
``/v1/extract`` of a server in a subprocess (``tests/api/hostile.py``). Every answer must come
within 10 s with a status below 500, the server must not grow by more than the watcher's kill
limit, its worker must free within 5 s, and the listener must see no connection.

Examples are generated deterministically (``derandomize``) and not shrunk: a hanging server is
restarted per failing example, so shrinking would cost minutes; the failure message carries the
schema as sent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.api.hostile import Listener, ServerProcess, run_probe

LISTENER = "http://LISTENER"  # replaced by the listener's URL when a schema is sent
TEXT = ("Invoice No: " + "a" * 36 + "1\nDate: 2024-01-31\nName: Bob\nEmail: bob@example.com\n"
        "a: hello\nTotal: EUR 12.00")
ANSWER_WITHIN = 10.0

NAMES = ["a", "b", "invoice_number", "total", "name", "a" * 36 + "1", "$ref", "", "x y",
         "\u00e9t\u00e9", "0"]
PATTERNS = ["^(a+)+$", "(a|a)*b", "(a*)*$", r"^(\w+\s?)*$", "(x+x+)+y", "^(a|aa)+$",
            "(.*a){12}", r"(?=a)a", r"(a)\1", "[", r"(?<=a)b", r"\p{L}+", "a{1000000}",
            "(a{1,1000}){1,1000}", r"^\d{4}-\d{2}-\d{2}$", "", ".*", "(?i)inv", "[[:alpha:]]",
            r"\Z", "(?P<x>a)(?P=x)"]
REFS = ["#", "#/$defs/d", "#/$defs/missing", "#/properties", f"{LISTENER}/ref.json",
        f"{LISTENER}/x#/a", "file:///etc/hostname", "file:///", "other.json", "#node",
        "urn:example:x", "//LISTENER/y", "../up.json", "#/%24defs/d", "#/$defs/d/properties/~1",
        "#/$defs/d/$ref"]
IDS = [f"{LISTENER}/root.json", f"{LISTENER}/dir/", "file:///etc/", "file:///tmp/x.json",
       "invoice.json", "urn:uuid:4f1c6a3e-0000-4000-8000-000000000000", "#frag", "",
       "http://[::1", "//LISTENER/x", "https://example.com/a b", "\\\\server\\share",
       "mailto:x@y", "d"]
METASCHEMAS = ["https://json-schema.org/draft/2020-12/schema",
               "https://json-schema.org/draft/2019-09/schema",
               "http://json-schema.org/draft-07/schema#", f"{LISTENER}/meta.json", "file:///etc/"]
NUMBERS = [0, 1, 2, 3, 36, 3000, 10**6, 300_000_000, 2**63, 10**40, -1, 0.5, 1e-308, 5e-324,
           1e308, 1.7976931348623157e308, math.inf]
FORMATS = ["date", "date-time", "time", "email", "idn-email", "uri", "uri-reference", "iri",
           "hostname", "ipv4", "ipv6", "uuid", "regex", "json-pointer", "duration", "nope"]
TYPES = ["string", "number", "integer", "boolean", "null", "object", "array"]


@dataclass(frozen=True)
class Deep:
    """``inner`` wrapped ``n`` levels deep in ``kind`` (written as text: too deep to dump)."""

    n: int
    kind: str
    inner: Any

    def __repr__(self) -> str:
        return f"Deep({self.n}, {self.kind!r}, ...)"


@dataclass(frozen=True)
class BigEnum:
    n: int

    def __repr__(self) -> str:
        return f"BigEnum({self.n})"


WRAP = {"properties": ('{"type":"object","properties":{"a":', "}}"),
        "items": ('{"type":"array","items":', "}"), "allOf": ('{"allOf":[', "]}"),
        "anyOf": ('{"anyOf":[{"type":"null"},', "]}"), "not": ('{"not":{"not":', "}}"),
        "ref": ('{"$defs":{"d":{"type":"string"}},"properties":{"a":', "}}")}


def dump(x: Any, listener: str) -> str:
    """JSON text of a generated schema, with the listener's URL put in (Infinity allowed: the
    server's JSON parser reads it)."""
    if isinstance(x, Deep):
        pre, post = WRAP[x.kind]
        return pre * x.n + dump(x.inner, listener) + post * x.n
    if isinstance(x, BigEnum):
        return '{"enum":[' + ",".join(f'"v{i}"' for i in range(x.n)) + "]}"
    if isinstance(x, dict):
        return "{" + ",".join(f"{dump(k, listener)}:{dump(v, listener)}"
                              for k, v in x.items()) + "}"
    if isinstance(x, list):
        return "[" + ",".join(dump(v, listener) for v in x) + "]"
    if isinstance(x, str):
        return json.dumps(x.replace("http://LISTENER", listener)
                          .replace("//LISTENER", listener.removeprefix("http:")))
    return json.dumps(x)


# --------------------------------------------------------------------------------- strategies

# hostile values half of the time, so that some schemas get past the first check and into
# extraction (a schema refused up front exercises little)
names = st.sampled_from(NAMES)
numbers = st.one_of(st.sampled_from([0, 1, 2, 3, 5, 10, 0.01]), st.sampled_from(NUMBERS))
patterns = st.one_of(st.sampled_from(["^[A-Z]+-\\d+$", "^a", "[0-9.]+"]),
                     st.sampled_from(PATTERNS))
scalars = st.one_of(st.none(), st.booleans(), numbers, st.sampled_from([*NAMES, "aaaa1"]))


def _with(base: st.SearchStrategy[dict[str, Any]],
          optional: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(base, st.fixed_dictionaries({}, optional=optional)).map(
        lambda t: {**t[0], **t[1]})


string_kw = {"minLength": numbers, "maxLength": numbers, "pattern": patterns,
             "format": st.sampled_from(FORMATS)}
number_kw = {"minimum": numbers, "maximum": numbers, "exclusiveMinimum": numbers,
             "exclusiveMaximum": numbers, "multipleOf": numbers}
ref_kw = {"$id": st.sampled_from(IDS), "$anchor": st.sampled_from(["node", "a b", ""]),
          "$dynamicAnchor": st.just("node"), "$comment": st.just("hostile")}

leaves = st.one_of(
    _with(st.fixed_dictionaries({"type": st.just("string")}), string_kw),
    _with(st.fixed_dictionaries({"type": st.sampled_from(["number", "integer"])}), number_kw),
    st.fixed_dictionaries({"type": st.sampled_from(TYPES)}),
    st.fixed_dictionaries({"type": st.lists(st.sampled_from(TYPES), max_size=3)}),
    st.booleans(),
    st.fixed_dictionaries({"$ref": st.sampled_from(REFS)}),
    st.fixed_dictionaries({"$dynamicRef": st.sampled_from(REFS)}),
    st.fixed_dictionaries({"$recursiveRef": st.sampled_from(["#", f"{LISTENER}/r.json"])}),
    st.fixed_dictionaries({"enum": st.lists(scalars, max_size=5)}),
    st.builds(BigEnum, st.sampled_from([10, 100, 1000, 1000, 50_000])),
    st.fixed_dictionaries({"const": scalars}),
    st.fixed_dictionaries({"format": st.sampled_from(FORMATS)}),
)


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    props = st.dictionaries(names, children, max_size=4)
    obj = _with(st.fixed_dictionaries({"type": st.just("object"), "properties": props}), {
        "required": st.lists(names, max_size=4),
        "patternProperties": st.dictionaries(patterns, children, max_size=2),
        "additionalProperties": children, "propertyNames": st.fixed_dictionaries(
            {"pattern": patterns}),
        "minProperties": numbers, "maxProperties": numbers,
        "dependentRequired": st.dictionaries(names, st.lists(names, max_size=2), max_size=2),
        **ref_kw})
    arr = _with(st.fixed_dictionaries({"type": st.just("array")}), {
        "items": children, "prefixItems": st.lists(children, max_size=3),
        "minItems": numbers, "maxItems": numbers, "contains": children, "minContains": numbers,
        "maxContains": numbers, "uniqueItems": st.booleans(), **ref_kw})
    combo = st.one_of(
        st.fixed_dictionaries({"allOf": st.lists(children, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"anyOf": st.lists(children, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"oneOf": st.lists(children, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"not": children}),
        st.fixed_dictionaries({"if": children, "then": children, "else": children}))
    with_defs = _with(st.fixed_dictionaries({
        "$defs": st.dictionaries(st.sampled_from(["d", "node", "x"]), children, min_size=1,
                                 max_size=3),
        "$ref": st.sampled_from(REFS)}), ref_kw)
    deep = st.builds(Deep, st.sampled_from([100, 600, 3000, 5000]), st.sampled_from(sorted(WRAP)),
                     children)
    return st.one_of(obj, arr, combo, with_defs, deep)


schemas = st.recursive(leaves, _extend, max_leaves=8)

roots = _with(st.fixed_dictionaries({
    "type": st.just("object"),
    "properties": st.dictionaries(names, schemas, min_size=1, max_size=4)}), {
    "required": st.lists(names, max_size=4),
    "$schema": st.sampled_from(METASCHEMAS),
    "$id": st.sampled_from(IDS),
    "$defs": st.dictionaries(st.sampled_from(["d", "node", "x"]), schemas, max_size=3),
    "$dynamicAnchor": st.just("node"),
    "patternProperties": st.dictionaries(patterns, schemas, max_size=2),
    "additionalProperties": schemas})


# ----------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    with Listener() as lst:
        yield lst


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    def warmup(srv: ServerProcess) -> None:
        with srv.client(120) as c:
            r = c.post("/v1/extract", json={"schema": {"type": "object", "properties": {
                "total": {"type": "number"}}}, "text": TEXT})
            assert r.status_code == 200, f"warm-up request failed: {r.text[:300]}"

    log = tmp_path_factory.mktemp("hostile-prop-log") / "server.log"
    with ServerProcess(log, {"request_timeout_s": 8, "max_concurrency": 2, "max_queue": 8,
                             "queue_timeout_s": 5}, warmup) as srv:
        yield srv


# --------------------------------------------------------------------------------------- test


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
@given(schema=roots)
def test_generated_hostile_schemas_never_break_the_server(schema, server, listener):
    body = f'{{"schema":{dump(schema, listener.url)},"text":{json.dumps(TEXT)}}}'.encode()
    out = run_probe(server, listener, lambda: ("POST", "/v1/extract", {
        "content": body, "headers": {"content-type": "application/json"}}),
        timeout=ANSWER_WITHIN, idle_within=5.0)
    problems = out.problems(answer_within=ANSWER_WITHIN, health_within=None, rss_limit_mb=None,
                            idle_within=5.0)
    sent = body[:1200].decode("utf-8", "replace")
    assert not problems, ("generated schema: " + "; ".join(problems) + " " + out.summary()
                          + f"\nrequest body ({len(body)} bytes, first 1200): {sent}")
