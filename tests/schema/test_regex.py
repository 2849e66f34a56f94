"""User patterns run on RE2 (linear time) everywhere: validation, conformance, the schema checks,
extraction. Backtracking-only features are refused by name; ECMA-262 forms work with ECMA's
meaning, checked against Node's own ECMA-262 engine where ``node`` is installed; stock
``jsonschema`` is the reference for the keywords we re-plug; and a guard fails the moment a user
pattern reaches Python's ``re``."""

from __future__ import annotations

import contextlib
import json
import random
import re
import shutil
import signal
import subprocess
import time

import jsonschema
import pytest

import prunestack
from prunestack.errors import SchemaError
from prunestack.pipeline.schema import (
    DRAFT_URIS,
    as_decimal,
    check_satisfiable,
    conform,
    load_schema,
    validation_errors,
    validator,
)
from prunestack.pipeline.schema import regex as R
from prunestack.pipeline.schema.placeholders import minimal_string

EVIL = "^(a+)+$"  # exponential for a backtracking engine on "aaa…a1"
EVIL_TEXT = "a" * 40 + "1"  # Python's re: about 2**40 steps, hours
HANG_S = 10.0  # a generous hang bound, not a speed target


class Hang(Exception):
    pass


@contextlib.contextmanager
def hang_bound(seconds: float = HANG_S):
    """Fail (instead of hanging for hours) when the body runs longer than ``seconds``.
    SIGALRM reaches Python's ``re`` too: its matcher polls for signals while it backtracks."""
    def _alarm(signum, frame):
        raise Hang(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.perf_counter()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert time.perf_counter() - start < seconds


def _obj(pattern: str) -> dict:
    return {"type": "object", "properties": {"invoice_number": {"type": "string",
                                                                "pattern": pattern}},
            "required": ["invoice_number"]}


# ---------------------------------------------------------------- the hostile pattern


def test_backtracking_pattern_through_validation_and_conformance():
    schema = _obj(EVIL)
    with hang_bound():
        errs = validation_errors({"invoice_number": EVIL_TEXT}, schema)
    assert errs == [f"invoice_number: {EVIL_TEXT!r} does not match {EVIL!r}"]
    with hang_bound():
        data, missing = conform({"invoice_number": EVIL_TEXT}, schema)
    assert data == {"invoice_number": "a"} and [m["path"] for m in missing] == ["invoice_number"]
    assert validation_errors(data, schema) == []


@pytest.mark.parametrize("draft", ["7", "2019-09", "2020-12"])
def test_backtracking_pattern_as_a_property_name_pattern(draft):
    schema = {"$schema": DRAFT_URIS[draft], "type": "object",
              "patternProperties": {EVIL: {"type": "integer"}}, "additionalProperties": False}
    with hang_bound():
        assert len(validation_errors({EVIL_TEXT: 1}, schema)) == 1
        assert validation_errors({"aaaa": 1}, schema) == []
    if draft != "7":
        uneval = {"$schema": DRAFT_URIS[draft], "type": "object",
                  "allOf": [{"patternProperties": {EVIL: {}}}], "unevaluatedProperties": False}
        with hang_bound():
            assert validation_errors({"aaaa": 1}, uneval) == []
            assert "Unevaluated properties are not allowed" in \
                validation_errors({EVIL_TEXT: 1}, uneval)[0]


def test_backtracking_pattern_in_the_schema_checks():
    schema = {"type": "object", "patternProperties": {EVIL: {}}, "additionalProperties": False,
              "required": [EVIL_TEXT]}
    with hang_bound(), pytest.raises(SchemaError, match="can never be present"):
        check_satisfiable(schema)
    with hang_bound():
        check_satisfiable({**schema, "required": ["a" * 40]})


def test_backtracking_pattern_through_extraction():
    prunestack.extract("Invoice No: INV-1", _obj("^INV-\\d+$"))  # model loads outside the bound
    with hang_bound():
        res = prunestack.extract(f"Invoice No: {EVIL_TEXT}", _obj(EVIL))
    assert res.data == {"invoice_number": "a"} and res.valid
    assert [m.path for m in res.missing] == ["invoice_number"]


# ---------------------------------------------------------------- refused by name


@pytest.mark.parametrize("pattern, feature", [
    ("^(?=.*\\d)[A-Z0-9]+$", "a lookahead (?="),
    ("^(?!TEST)[A-Z]+$", "a negative lookahead (?!"),
    ("(?<=INV-)\\d+", "a lookbehind (?<="),
    ("(?<!-)\\d+", "a negative lookbehind (?<!"),
    ("^(\\d)\\1$", "a backreference \\1"),
    ("^(?<d>\\d)\\k<d>$", "a backreference \\k<d>"),
    ("^(?P<d>\\d)(?P=d)$", "a backreference (?P=name)"),
    ("^(?>a+)b$", "an atomic group (?>"),
    ("^a++b$", "a possessive quantifier ++"),
    ("^(a)(?(1)b|c)$", "a conditional group (?("),
])
def test_backtracking_features_are_refused_by_name(pattern, feature):
    with pytest.raises(SchemaError) as info:
        load_schema(_obj(pattern))
    msg = str(info.value)
    assert f"{pattern!r} at properties/invoice_number/pattern uses {feature}" in msg
    assert "RE2" in info.value.hint
    with pytest.raises(SchemaError, match="at patternProperties uses"):
        load_schema({"type": "object", "patternProperties": {pattern: {}}})


@pytest.mark.parametrize("pattern, match", [
    ("a" * (R.MAX_PATTERN_CHARS + 1), f"over the limit of {R.MAX_PATTERN_CHARS}"),
    ("(" * (R.MAX_GROUP_DEPTH + 1) + ")" * (R.MAX_GROUP_DEPTH + 1), "nests groups"),
    ("^.{0,5000}$", "over RE2's limit of 1000"),
    ("^(a{100}){100}$", "beyond RE2's limit of 1000"),
    ("^x{99999999999999999999}$", "over RE2's limit"),
    ("\\Aabc\\Z", "the escape \\\\A, which ECMA-262 does not define"),
    ("(?x) a b", "inline flag 'x'"),
    ("\\p{Foo}", "Unicode property RE2 does not have .* \\\\p{Foo}"),
    ("\\ud800", "lone surrogate U\\+D800"),
    ("(ab", "unclosed '\\('"),
    ("[z-a]", "out of order"),
])
def test_patterns_beyond_re2_or_ecma_are_refused_clearly(pattern, match):
    with pytest.raises(SchemaError, match=match):
        load_schema(_obj(pattern))


# ---------------------------------------------------------------- ECMA-262 as written


@pytest.mark.parametrize("pattern, good, bad", [
    ("^(?<year>\\d{4})-\\d{2}$", ["2024-03"], ["24-03", "2024-3"]),
    ("^caf\\u00e9$", ["café"], ["cafe", "cafÉ"]),
    ("^\\p{L}+$", ["Zoë", "Ωμέγα", "東京"], ["Zoë1", ""]),
    ("^[\\p{L} .'-]+$", ["Jean-Luc O'Neil Jr."], ["R2-D2"]),
    ("^\\p{Lu}\\p{Ll}+$", ["Émile"], ["émile"]),
    ("^\\p{Script=Greek}+$", ["αβγ"], ["abc"]),
    ("^\\d+$", ["123"], ["١٢٣", "123\n"]),  # ECMA: \d is ASCII, $ is the very end
    ("^\\s$", ["\u00a0", "\ufeff", "\u2028", "\v"], ["x"]),
    ("^.$", ["a", "😀"], ["\n", "\r", "\u2028"]),
    ("^[^]$", ["\n"], [""]),
    ("^\\u{1F600}|\\uD83D\\uDE00$", ["😀"], ["x"]),
    ("^\\x41\\cJ\\/$", ["A\n/"], ["A/"]),
    ("^a{2}}$", ["aa}"], ["aa"]),  # Annex B: a lone } is itself
])
def test_ecma_forms_work_with_their_ecma_meaning(pattern, good, bad):
    schema = load_schema(_obj(pattern))
    for s in good:
        assert validation_errors({"invoice_number": s}, schema) == [], s
    for s in bad:
        assert validation_errors({"invoice_number": s}, schema), s


def test_placeholders_are_built_from_the_ecma_tree():
    assert minimal_string("^(?<y>\\d{4})-\\p{Lu}{2}$") == "0000-AA"
    assert minimal_string("^[^\\s,]+$", 3) == "aaa"
    assert minimal_string("^INV-\\d+|PO\\d$") == "INV-0"
    assert minimal_string(EVIL) == "a"
    assert minimal_string("^(?=a)b$") is None  # refused: the caller tries other stand-ins
    deep = "(" * R.MAX_GROUP_DEPTH + "x" + ")" * R.MAX_GROUP_DEPTH
    assert minimal_string(deep) == "x"
    schema = _obj("^\\p{Lu}{3}-\\d{2}$")
    data, _ = conform({}, schema)
    assert data == {"invoice_number": "AAA-00"} and validation_errors(data, schema) == []


def test_format_regex_is_checked_without_python_re():
    schema = {"type": "string", "format": "regex"}
    assert validation_errors("^\\p{L}+(?<n>\\d)$", schema) == []
    assert validation_errors("(?=x)y", schema) == []  # ECMA has lookahead: still a regex
    assert validation_errors("(unclosed", schema)


def test_text_with_a_lone_surrogate_is_matched_not_crashed():
    assert validation_errors({"invoice_number": "INV-\ud800"}, _obj("^INV-")) == []
    assert R.search("x", "\udc00x") and not R.fullmatch("x", "\udc00x")


def test_compiled_patterns_stay_in_one_bounded_cache():
    """Each compiled pattern may hold up to ``MAX_MEM``: only ``CACHED`` are kept, and never in
    ``re2.compile``'s own cache of 128 as well (measured: 100 hostile patterns grew RSS by
    285 MiB through it, 88 MiB without)."""
    import re2

    before = re2._Regexp._make.cache_info().currsize
    for i in range(R.CACHED + 5):
        assert R.search(f"^x{i}-\\d+$", f"x{i}-2")
    assert re2._Regexp._make.cache_info().currsize == before
    assert R._program.cache_info().currsize <= R.CACHED


# ---------------------------------------------------------------- references


def _node_results(cases: list[tuple[str, str]]) -> list[bool]:
    script = ("const c = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "const r = c.map(([p, s]) => new RegExp(p, 'u').test(s));"
              "process.stdout.write(JSON.stringify(r));")
    out = subprocess.run(["node", "-e", script], input=json.dumps(cases), capture_output=True,
                         text=True, timeout=60, check=True)
    return json.loads(out.stdout)


def _random_pattern(rng: random.Random, depth: int = 0, names: list[int] | None = None) -> str:
    names = [] if names is None else names
    atoms = ["a", "b", "1", "-", ".", "\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "[ab]", "[^a]",
             "[a-c\\d]", "[^\\s-]", "\\.", "é", "\\u00e9", "\\p{L}", "\\P{L}", "[\\p{Lu}1]"]
    out = ""
    for _ in range(rng.randint(1, 4)):
        r = rng.random()
        if r < 0.15 and depth < 3:
            inner = "|".join(_random_pattern(rng, depth + 1, names)
                             for _ in range(rng.randint(1, 3)))
            names.append(len(names))
            out += rng.choice(["(", "(?:", f"(?<g{names[-1]}>"]) + inner + ")"
        elif r < 0.22:
            out += rng.choice(["^", "$", "\\b", "\\B"])
            continue
        else:
            out += rng.choice(atoms)
        out += rng.choice(["", "", "", "*", "+", "?", "{1,2}", "{2}", "*?", "+?", "{0,3}?"])
    return out


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node (the ECMA-262 reference)")
def test_search_agrees_with_node_ecma262():
    rng = random.Random(14)
    alphabet = ["a", "b", "A", "1", "-", " ", ".", "é", "É", "\n", "\r", "\u00a0", "\u2028", "٣",
                "_", "😀"]
    cases: list[tuple[str, str]] = []
    for _ in range(600):
        p = _random_pattern(rng)
        cases.append((p, "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))))
    cases += [("^\\s+$", "\ufeff\u3000\u00a0\t\v"), ("^[^\\S\\n]+$", " \t"),
              ("^[^\\S\\n]+$", " \n"), ("^\\w+$", "é"), ("\\bé", "aé"),
              ("^\\p{Script=Greek}$", "λ"), ("^(?:a|ab)c$", "abc"), ("^a{2,3}?$", "aaa")]
    ours = [R.search(p, s) for p, s in cases]
    want = _node_results(cases)
    diff = [(p, s, o, w) for (p, s), o, w in zip(cases, ours, want, strict=True) if o != w]
    assert diff == []


PATTERN_SCHEMAS = [
    {"type": "object", "properties": {"id": {"pattern": "^[A-Z]{3}-\\d+$"}},
     "patternProperties": {"^x-": {"type": "string"}, "_n$": {"type": "number"}},
     "additionalProperties": {"type": "boolean"}},
    {"type": "object", "patternProperties": {"^[a-z]+$": {"minimum": 0}},
     "additionalProperties": False},
    {"type": "object", "properties": {"a": {}}, "patternProperties": {"^b": {}},
     "additionalProperties": False},
    {"type": "object", "allOf": [{"properties": {"a": {}}}, {"patternProperties": {"^x-": {}}}],
     "if": {"required": ["k"]}, "then": {"patternProperties": {"^k": {}}},
     "else": {"properties": {"e": {"pattern": "^e+$"}}}, "unevaluatedProperties": False},
    {"type": "object", "$defs": {"d": {"patternProperties": {"^r": {"type": "integer"}}}},
     "$ref": "#/$defs/d", "anyOf": [{"properties": {"q": {}}}, {"required": ["z"]}],
     "dependentSchemas": {"dep": {"patternProperties": {"^dd": {}}}},
     "unevaluatedProperties": {"type": "string"}},
]
PATTERN_DATA = [{}, {"id": "ABC-12"}, {"id": "AB-1"}, {"x-a": "s", "y_n": 2, "z": True},
                {"x-a": 1}, {"abc": 1, "b": 2}, {"abc": -1}, {"a": 1, "bb": 1, "c": 1},
                {"a": 1, "x-1": 1, "k": 1, "kk": 2}, {"e": "eee", "a": 1}, {"e": "x"},
                {"r1": 1, "q": 1, "s": "t"}, {"r1": "no", "dep": 1, "dd1": 5, "o": 3},
                {"z": 1, "zz": "s"}]


@pytest.mark.parametrize("draft", ["4", "6", "7", "2019-09", "2020-12"])
@pytest.mark.parametrize("schema_no", range(len(PATTERN_SCHEMAS)))
def test_re2_keywords_agree_with_stock_jsonschema(draft, schema_no):
    """On patterns Python's ``re`` reads the same way, our keywords give jsonschema's answers
    and messages (``unevaluatedProperties`` and ``dependentSchemas`` from 2019-09 on)."""
    schema = {"$schema": DRAFT_URIS[draft], **PATTERN_SCHEMAS[schema_no]}
    stock = jsonschema.validators.validator_for(schema)(schema)
    ours = validator(schema)
    for data in PATTERN_DATA:
        want = sorted(e.message for e in stock.iter_errors(data))
        got = sorted(e.message for e in ours.iter_errors(as_decimal(data)))
        assert got == want, data


# ---------------------------------------------------------------- no user pattern reaches re


USER_PATTERNS = ("^INV-[0-9]{4}$", "^x-[a-z]+$", "^(?:EUR|USD)$")


@pytest.fixture
def re_guard(monkeypatch):
    """Python's ``re`` raises the moment it is asked to compile, match or parse a user pattern
    (or a pattern built around one, as ``jsonschema`` joins ``patternProperties`` keys)."""
    seen: list[str] = []

    def guard(name, real):
        def wrapper(pattern, *args, **kwargs):
            if isinstance(pattern, str) and any(u in pattern for u in USER_PATTERNS):
                seen.append(f"re.{name}({pattern!r})")
                raise AssertionError(f"a user pattern reached re.{name}: {pattern!r}")
            return real(pattern, *args, **kwargs)
        return wrapper

    for name in ("compile", "search", "match", "fullmatch", "findall", "finditer", "sub",
                 "split", "_compile"):
        monkeypatch.setattr(re, name, guard(name, getattr(re, name)))
    monkeypatch.setattr(re._parser, "parse", guard("_parser.parse", re._parser.parse))
    yield seen
    assert seen == []


def test_guard_catches_python_re(re_guard):
    with pytest.raises(AssertionError, match=r"reached re\.search"):
        re.search(USER_PATTERNS[0], "INV-2024")
    re_guard.clear()


def test_no_user_pattern_reaches_python_re(re_guard):
    schema = {"type": "object",
              "properties": {"invoice_number": {"type": "string", "pattern": USER_PATTERNS[0]},
                             "currency": {"type": "string", "pattern": USER_PATTERNS[2]},
                             "rx": {"type": "string", "format": "regex"}},
              "patternProperties": {USER_PATTERNS[1]: {"type": "string"}},
              "additionalProperties": False,
              "required": ["invoice_number", "currency", "x-ref"]}
    loaded = load_schema(schema)
    assert validation_errors({"invoice_number": "INV-2024", "currency": "EUR", "x-ref": "a",
                              "rx": USER_PATTERNS[1]}, loaded) == []
    assert len(validation_errors({"invoice_number": "2024", "currency": "eur", "y": 1},
                                 loaded)) == 4  # 2 patterns, 1 extra, 1 required
    data, missing = conform({"invoice_number": "INV-12", "currency": "EUR", "x-n": 5}, loaded)
    assert data == {"invoice_number": "INV-0000", "currency": "EUR", "x-ref": "",
                    "x-n": "5"}
    assert {m["path"] for m in missing} == {"invoice_number", "x-ref"}
    res = prunestack.extract("Invoice number: INV-2024\nCurrency: EUR\nTotal: 12.00 EUR", loaded)
    assert res.valid and res.data["invoice_number"] == "INV-2024"
    assert res.data["currency"] == "EUR"
