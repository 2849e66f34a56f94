"""Issue 14's probes against a live server: hostile schemas and inputs never take it down.

One ``prunestack`` server runs in a subprocess for the whole module (``tests/api/hostile.py``:
15 s request deadline, two workers, an API key), beside a loopback listener whose URLs the
schemas name. Every probe of the issue's list is sent on its own connection and must:

* answer with a status below 500 within 20 s;
* leave ``/healthz`` answering within 1 s while it runs (a parallel thread polls it);
* make no connection to the listener (no URL or file named by a schema is ever read);
* grow the server's RSS by less than 300 MB (peak, sampled every 50 ms with psutil);
* free its worker slot within 3 s of the answer;

and some must answer something precise (a 422 that names the keyword, a 200 with valid data).
A probe that hangs, kills or bloats the server fails with what it did, and the server is
restarted so the next probe starts clean. Further down: a client that drops frees its worker, a
request past its deadline stops its work, the server log carries no stray "Future exception was
never retrieved", and the README lists every limit setting.
"""

from __future__ import annotations

import json
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api.hostile import HEADERS, ROOT, Listener, Outcome, ServerProcess, run_probe

TEXT = "Invoice No: INV-77\nDate: 31/01/2024\nName: Bob\na: hello\nTotal: EUR 12.00"
SMALL_HTML = b"<html><body><p>Invoice No: INV-77</p><p>Total: 12.00</p></body></html>"
EVIL = "^(a+)+$"
#: 36 a's and a '1': hours of backtracking for Python's re on ``^(a+)+$``.
EVIL_TEXT = "Invoice No: " + "a" * 36 + "1"
SETTINGS = {"request_timeout_s": 15, "max_concurrency": 2, "max_queue": 8, "queue_timeout_s": 5,
            "examples_dir": ROOT / "examples"}
ANSWER_WITHIN = 20.0


# ------------------------------------------------------------------------------- input makers


def obj(props: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props, **extra}
    if required:
        out["required"] = required
    return out


def deep_properties(n: int) -> str:
    """A schema ``n`` levels of ``properties`` deep, as JSON text (json.dumps would recurse)."""
    return ('{"type":"object","properties":{"a":' * n + '{"type":"string"}' + "}}" * n)


def deep_all_of(n: int) -> str:
    return ('{"allOf":[' * n + json.dumps(obj({"a": {"type": "string"}})) + "]}" * n)


def ref_chain(target_bytes: int) -> dict[str, Any]:
    """``$defs`` d0 → d1 → ... → dN, each a ``$ref`` to the next, about ``target_bytes`` long."""
    n = target_bytes // 34
    defs: dict[str, Any] = {f"d{i}": {"$ref": f"#/$defs/d{i + 1}"} for i in range(n)}
    defs[f"d{n}"] = {"type": "string"}
    return obj({"a": {"$ref": "#/$defs/d0"}}, ["a"], **{"$defs": defs})


def ref_fanout(levels: int) -> dict[str, Any]:
    """Each level refers to the next twice: 2**levels leaves once inlined (a "billion laughs")."""
    defs: dict[str, Any] = {
        f"d{i}": obj({"l": {"$ref": f"#/$defs/d{i + 1}"}, "r": {"$ref": f"#/$defs/d{i + 1}"}},
                     ["l", "r"]) for i in range(levels)}
    defs[f"d{levels}"] = {"type": "string", "minLength": 1}
    return obj({"a": {"$ref": "#/$defs/d0"}}, ["a"], **{"$defs": defs})


def big_html(chars: int) -> bytes:
    row = "<p>Line item {i}: consulting services, 1 hour at EUR 12.00</p>\n"
    parts, size, i = ["<!doctype html><html><body>"], 0, 0
    while size < chars:
        parts.append(row.format(i=i))
        size += len(parts[-1])
        i += 1
    parts.append("<p>Total: EUR 12.00</p></body></html>")
    return "".join(parts).encode()


def deep_html(n: int) -> bytes:
    return b"<html><body>" + b"<div>" * n + b"Total: 12.00" + b"</div>" * n + b"</body></html>"


def solid_png(width: int, height: int, rgb: tuple[int, int, int] = (255, 255, 255)) -> bytes:
    """A solid-colour RGB PNG written row by row (a 144 MP one is ~450 KB; never in memory)."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    row = b"\x00" + bytes(rgb) * width
    comp = zlib.compressobj(6)
    idat = b"".join([comp.compress(row) for _ in range(height)] + [comp.flush()])
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def text_png(text: str) -> bytes:
    """A small PNG with ``text`` in large black letters (the OCR warm-up)."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (640, 120), "white")
    ImageDraw.Draw(img).text((20, 30), text, fill="black", font=ImageFont.load_default(size=48))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def json_body(schema: dict[str, Any] | str, text: str = TEXT, key: str = "text",
              extra: str = "") -> tuple[str, str, dict[str, Any]]:
    """A JSON ``/v1/extract`` request; ``schema`` may be JSON text (too deep for json.dumps)."""
    schema_json = schema if isinstance(schema, str) else json.dumps(schema)
    content = f'{{"schema":{schema_json},"{key}":{json.dumps(text)}{extra}}}'
    return "POST", "/v1/extract", {"content": content.encode(),
                                   "headers": {"content-type": "application/json"}}


def multipart(schema: dict[str, Any] | str, name: str, data: bytes, mime: str,
              path: str = "/v1/extract") -> tuple[str, str, dict[str, Any]]:
    form = {} if path == "/v1/parse" else {
        "schema": schema if isinstance(schema, str) else json.dumps(schema)}
    return "POST", path, {"files": {"file": (name, data, mime)}, "data": form}


# ------------------------------------------------------------------------------------ probes


@dataclass
class Probe:
    """One hostile request and what, beyond the generic bars, its answer must be."""

    id: str
    build: Callable[[str], tuple[str, str, dict[str, Any]]]  # listener URL -> request
    expect: str = "<500"  # "<500" | "4xx" | "422" | "400/422" | "413" | "200-valid"
    names: tuple[str, ...] = ()  # must all appear in the error's message + hint
    any_name: tuple[str, ...] = ()  # one of these must appear (case-insensitive)
    setting: bool = False  # the error must name a Settings field (a limit's setting)
    schema: dict[str, Any] | None = None  # for "200-valid": the data must validate against it
    why: str = ""


NESTED_ID_LOCAL_REF = obj({"item": {
    "$id": "item.json", "type": "object", "properties": {"name": {"$ref": "#/$defs/name"}},
    "$defs": {"name": {"type": "string"}}}}, ["item"], **{"$id": "https://example.com/root.json"})
REF_TO_NESTED_ID = obj({"name": {"$ref": "name.json"}}, ["name"], **{
    "$id": "https://example.com/root.json", "$defs": {"n": {"$id": "name.json",
                                                             "type": "string"}}})
INVOICE_SCHEMA_URI = (ROOT / "examples" / "invoice_schema.json").as_uri()


def _probes() -> list[Probe]:
    P = Probe
    return [
        # ---- 1. regular expressions: linear time, backtracking-only features refused by name
        P("regex-pattern-nested-quantifier-36a", lambda L: json_body(
            obj({"invoice_number": {"type": "string", "pattern": EVIL}}, ["invoice_number"]),
            EVIL_TEXT), why="Python's re backtracks for hours holding the GIL"),
        P("regex-patternProperties-nested-quantifier", lambda L: json_body(
            obj({"a" * 36 + "1": {"type": "string"}}, ["a" * 36 + "1"],
                patternProperties={EVIL: {"type": "string"}}), EVIL_TEXT)),
        P("regex-propertyNames-nested-quantifier", lambda L: json_body(
            obj({"a" * 36 + "1": {"type": "string"}}, ["a" * 36 + "1"],
                propertyNames={"pattern": EVIL}), EVIL_TEXT)),
        P("regex-backreference-refused", lambda L: json_body(
            obj({"invoice_number": {"type": "string", "pattern": r"^(a+)\1$"}})),
          expect="422", names=("pattern", "invoice_number"),
          any_name=("backreference", "back-reference", "\\1")),
        P("regex-lookahead-refused", lambda L: json_body(
            obj({"invoice_number": {"type": "string", "pattern": r"^(?=INV)\w+$"}})),
          expect="422", names=("pattern", "invoice_number"),
          any_name=("lookahead", "look-ahead", "lookaround", "look-around", "(?=")),
        # ---- 2. no I/O from a schema: every reference stays inside the document
        P("dynamicRef-loopback-url", lambda L: json_body(
            obj({"a": {"$dynamicRef": f"{L}/dynamic.json"}}, ["a"])),
          expect="422", names=("$dynamicRef",)),
        P("ref-loopback-url", lambda L: json_body(obj({"a": {"$ref": f"{L}/ref.json"}}, ["a"])),
          expect="422", names=("$ref",)),
        P("relative-root-id-nested-absolute-id-ref", lambda L: json_body(obj(
            {"a": obj({"c": {"$ref": "c.json"}}, ["c"], **{"$id": f"{L}/nested/a.json"})},
            ["a"], **{"$id": "invoice.json"})), expect="4xx"),
        P("relative-root-id-nested-absolute-id-dynamicRef", lambda L: json_body(obj(
            {"a": obj({"c": {"$dynamicRef": "c.json"}}, ["c"], **{"$id": f"{L}/nested/a.json"})},
            ["a"], **{"$id": "invoice.json"})), expect="4xx"),
        P("schema-keyword-loopback-url", lambda L: json_body(
            obj({"a": {"type": "string"}}, **{"$schema": f"{L}/meta.json"}))),
        P("recursiveRef-with-loopback-id", lambda L: json_body(obj(
            {"a": {"$recursiveRef": "#"}}, **{
                "$schema": "https://json-schema.org/draft/2019-09/schema",
                "$id": f"{L}/recursive.json", "$recursiveAnchor": True}))),
        P("dynamicRef-file-examples-invoice-schema", lambda L: json_body(
            obj({"a": {"$dynamicRef": INVOICE_SCHEMA_URI}}, ["a"])),
          expect="422", names=("$dynamicRef",),
          why="loaded the file: 200 with valid=false"),
        P("dynamicRef-file-etc-hostname", lambda L: json_body(
            obj({"a": {"$dynamicRef": "file:///etc/hostname"}}, ["a"])),
          expect="422", names=("$dynamicRef",), why="500 vs 200 told whether a file exists"),
        P("ref-file-etc-hostname", lambda L: json_body(
            obj({"a": {"$ref": "file:///etc/hostname"}}, ["a"])), expect="422", names=("$ref",)),
        P("file-id-base-relative-ref", lambda L: json_body(
            obj({"a": {"$ref": "hostname"}}, ["a"], **{"$id": "file:///etc/"})), expect="4xx"),
        P("nested-id-local-ref-is-valid", lambda L: json_body(NESTED_ID_LOCAL_REF),
          expect="200-valid", schema=NESTED_ID_LOCAL_REF,
          why="a valid schema: '#' in a nested $id resolves inside that resource"),
        P("ref-to-nested-id-is-valid", lambda L: json_body(REF_TO_NESTED_ID),
          expect="200-valid", schema=REF_TO_NESTED_ID,
          why="a valid schema: the $ref names a $id inside the document"),
        P("nested-id-local-ref-escaping-its-resource", lambda L: json_body(obj(
            {"item": obj({"name": {"$ref": "#/$defs/name"}}, **{"$id": "https://x.example/i"})},
            **{"$defs": {"name": {"type": "string"}}})), expect="4xx",
          why="PointerToNowhere was a 500"),
        # ---- 3. limits a schema cannot exceed (placeholders, enum)
        P("minLength-300000000", lambda L: json_body(
            obj({"a": {"type": "string", "minLength": 300_000_000}}, ["a"])),
          expect="422", names=("minLength", "properties/a"), setting=True,
          why="added 1.36 GB of RSS and answered 300 MB"),
        P("minLength-1e40", lambda L: json_body(
            obj({"a": {"type": "string", "minLength": 10**40}}, ["a"])),
          expect="422", names=("minLength", "properties/a")),
        P("minItems-3000-of-minItems-3000", lambda L: json_body(obj({"a": {
            "type": "array", "minItems": 3000, "items": {
                "type": "array", "minItems": 3000, "items": {"type": "string"}}}}, ["a"])),
          expect="422", names=("minItems", "properties/a"), setting=True),
        P("minProperties-10000000", lambda L: json_body(obj({"a": {
            "type": "object", "minProperties": 10_000_000}}, ["a"])),
          expect="422", names=("minProperties", "properties/a"), setting=True),
        P("minContains-10000000", lambda L: json_body(obj({"a": {
            "type": "array", "contains": {"type": "string"}, "minContains": 10_000_000}}, ["a"])),
          expect="422", names=("minContains", "properties/a"), setting=True),
        P("enum-1M-values", lambda L: json_body(
            obj({"a": {"enum": [f"v{i}" for i in range(1_000_000)]}}, ["a"])),
          expect="422", any_name=("enum", "bytes", "size"), setting=True,
          why="kept a worker busy for minutes after its 504; an enum limit or the schema-size "
              "limit may refuse it"),
        P("huge-and-tiny-numbers", lambda L: json_body(obj({
            "a": {"type": "number", "minimum": 1e308, "multipleOf": 5e-324},
            "b": {"type": "integer", "exclusiveMinimum": 2**70, "multipleOf": 10**30},
            "c": {"type": "number", "multipleOf": 1e308}}, ["a", "b", "c"]))),
        P("infinite-number-1e999", lambda L: json_body(
            '{"type":"object","properties":{"a":{"type":"number","maximum":1e999,'
            '"multipleOf":1e-999}},"required":["a"]}')),
        # ---- 4. depth and size: no RecursionError, no event-loop stall
        P("schema-5000-deep-json-body", lambda L: json_body(deep_properties(5000)),
          expect="4xx"),
        P("schema-5000-deep-multipart", lambda L: multipart(
            deep_properties(5000), "a.html", SMALL_HTML, "text/html"), expect="4xx"),
        P("allOf-400-deep", lambda L: json_body(deep_all_of(400))),
        P("request-json-100000-deep", lambda L: json_body(
            obj({"a": {"type": "string"}}), extra=',"x":' + "[" * 100_000 + "]" * 100_000),
          expect="4xx"),
        P("ref-chain-178KB", lambda L: json_body(ref_chain(178_000)),
          why="22.6 s on the event loop, /healthz stalled 7.5 s"),
        P("ref-fanout-40-levels", lambda L: json_body(ref_fanout(40)), expect="422",
          names=("$ref",), setting=True, why="$ref expansion size"),
        # ---- text that cannot be encoded
        P("lone-surrogate-in-text", lambda L: json_body(obj({"a": {"type": "string"}}),
                                                        "Invoice \ud800 No: 1"),
          expect="400/422", why="TypeError in the tokenizer"),
        P("lone-surrogate-in-html", lambda L: json_body(
            obj({"a": {"type": "string"}}), "<p>a: \udfff</p>", key="html"), expect="400/422"),
        P("lone-surrogate-in-schema-key", lambda L: json_body(
            obj({"a\ud800": {"type": "string"}}, ["a\ud800"]))),
        # ---- 6. inputs: text limit for files too, deep HTML, a big image
        P("html-file-2500k-chars-extract", lambda L: multipart(
            obj({"total": {"type": "number"}}), "big.html", big_html(2_500_000), "text/html"),
          expect="4xx", why="the 2M-character limit applied to JSON bodies only"),
        P("html-file-2500k-chars-parse", lambda L: multipart(
            "", "big.html", big_html(2_500_000), "text/html", path="/v1/parse"), expect="4xx"),
        P("html-100000-deep-divs-file", lambda L: multipart(
            obj({"total": {"type": "number"}}), "deep.html", deep_html(100_000), "text/html")),
        P("html-100000-deep-divs-json", lambda L: json_body(
            obj({"total": {"type": "number"}}), deep_html(100_000).decode(), key="html")),
        P("png-12000x12000-solid", lambda L: multipart(
            obj({"total": {"type": "number"}}), "big.png", solid_png(12_000, 12_000),
            "image/png"), why="went to 1.9 GB RSS and kept working after its 504"),
    ]


PROBES = _probes()


# ----------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def long_scan(tmp_path_factory) -> bytes:
    """A degraded synthetic invoice scan on 40 image-only pages (the image stored once, so the
    PDF is ~0.8 MB): ~2 s of OCR per page on the dev machine, over the 15 s deadline anywhere."""
    from reportlab.pdfgen import canvas

    from prunestack.eval.synth.generate import SynthConfig, generate

    out = tmp_path_factory.mktemp("hostile-scan")
    generate(SynthConfig(kind="invoice", n=1, seed=3, scans=True), out, progress=False)
    png = next((out / "scans").glob("*.png"))
    pdf = canvas.Canvas(str(out / "scan40.pdf"), pagesize=(595, 842))
    for _ in range(40):
        pdf.drawImage(str(png), 0, 0, 595, 842)
        pdf.showPage()
    pdf.save()
    return (out / "scan40.pdf").read_bytes()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    with Listener() as lst:
        yield lst


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    def warmup(srv: ServerProcess) -> None:
        """Load what a first request loads (tokenizer, OCR), so RSS baselines are fair."""
        schema = json.dumps(obj({"total": {"type": "number"}}))
        with srv.client(120) as c:
            for kw in ({"json": {"schema": json.loads(schema), "text": TEXT}},
                       {"files": {"file": ("a.html", SMALL_HTML, "text/html")},
                        "data": {"schema": schema}},
                       {"files": {"file": ("total.png", text_png("Total: EUR 12.00"),
                                           "image/png")}, "data": {"schema": schema}}):
                r = c.post("/v1/extract", **kw)
                if r.status_code == 504:  # a slow first OCR load on a busy machine: once more
                    srv.idle_within(60)
                    r = c.post("/v1/extract", **kw)
                assert r.status_code == 200, f"warm-up request failed: {r.text[:300]}"

    log = tmp_path_factory.mktemp("hostile-log") / "server.log"
    with ServerProcess(log, SETTINGS, warmup) as srv:
        yield srv


# --------------------------------------------------------------------------------- the probes


def _names_a_setting(text: str) -> bool:
    """Whether ``text`` names a setting: ``PRUNESTACK_SOMETHING`` or a Settings field."""
    from prunestack.api.settings import Settings

    if re.search(r"\bPRUNESTACK_[A-Z0-9_]+", text):
        return True
    return any(re.search(rf"\b{re.escape(name)}\b", text) for name in Settings.model_fields)


def _expectation_problems(probe: Probe, out: Outcome) -> list[str]:
    if out.status is None or out.status >= 500:
        return []  # already said
    problems: list[str] = []
    want = probe.expect
    ok = {"<500": True, "4xx": 400 <= out.status < 500, "422": out.status == 422,
          "400/422": out.status in (400, 422), "413": out.status == 413,
          "200-valid": out.status == 200}[want]
    if not ok:
        problems.append(f"expected {want}, got {out.status}")
    if out.status >= 400:
        text = out.error_text()
        missing = [n for n in probe.names if n not in text]
        if missing:
            problems.append(f"the error does not name {missing}: {text!r}")
        if probe.any_name and not any(n.lower() in text.lower() for n in probe.any_name):
            problems.append(f"the error names none of {list(probe.any_name)}: {text!r}")
        if probe.setting and not _names_a_setting(text):
            problems.append(f"the error names no setting (a Settings field or PRUNESTACK_*): "
                            f"{text!r}")
    if want == "200-valid" and out.status == 200:
        body = out.json() or {}
        if body.get("valid") is not True:
            problems.append(f"answered valid={body.get('valid')!r}, errors={body.get('errors')}")
        else:
            from jsonschema.validators import validator_for
            from referencing import Registry

            def refuse(uri: str) -> Any:
                raise LookupError(f"the test's own validator refuses to fetch {uri}")

            assert probe.schema is not None
            validator = validator_for(probe.schema)(probe.schema, registry=Registry(
                retrieve=refuse))
            errs = [e.message for e in validator.iter_errors(body.get("data"))]
            if errs:
                problems.append(f"data {body.get('data')!r} is not valid: {errs[:3]}")
    return problems


@pytest.mark.parametrize("probe", PROBES, ids=[p.id for p in PROBES])
def test_hostile_probe(probe: Probe, server: ServerProcess, listener: Listener) -> None:
    out = run_probe(server, listener, lambda: probe.build(listener.url), timeout=ANSWER_WITHIN)
    problems = out.problems(answer_within=ANSWER_WITHIN) + _expectation_problems(probe, out)
    why = f" (issue 14: {probe.why})" if probe.why else ""
    assert not problems, f"probe {probe.id}{why}: " + "; ".join(problems) + " " + out.summary()


# -------------------------------------------------------------- work that ends with its request


def test_client_that_drops_after_1s_frees_its_worker_within_3s(server, listener, long_scan):
    """A 40-page scan (over a minute of OCR); the client gives up after 1 s; /healthz must show
    the slot free within 3 s of the drop."""
    server.ensure_ready()
    schema = json.dumps(obj({"total": {"type": "number"}}))
    seen_running = 0
    state: dict[str, Any] = {}

    def client() -> None:
        try:
            with httpx.Client(base_url=server.url, headers=HEADERS,
                              timeout=httpx.Timeout(30.0, read=1.0)) as c:
                r = c.post("/v1/extract", files={"file": ("scan40.pdf", long_scan,
                                                          "application/pdf")},
                           data={"schema": schema})
                state["answer"] = f"{r.status_code} {r.text[:200]}"
        except httpx.ReadTimeout:
            pass
        state["dropped"] = time.monotonic()

    t = threading.Thread(target=client)
    t.start()
    while t.is_alive():
        h = server.health()
        if h:
            seen_running = max(seen_running, h["running"])
        time.sleep(0.1)
    assert "answer" not in state, f"the 40-page scan answered within 1 s: {state['answer']}"
    assert seen_running >= 1, "the scan never showed as running on /healthz before the drop"
    freed = server.idle_within(3.0)
    if freed is None:
        h = server.health()
        server.restart("the dropped client's work was still running")
        pytest.fail(f"3 s after the client dropped (at 1 s) the worker was still busy: "
                    f"/healthz {h}; its work outlives its request")


def test_deadline_stops_the_work_within_2s_of_the_504(server, long_scan):
    """The same 40-page scan runs into the 15 s deadline: a 504, and the slot frees at the work's
    next checkpoint (between OCR lines and pages), within 2 s."""
    server.ensure_ready()
    schema = json.dumps(obj({"total": {"type": "number"}}))
    with server.client(40) as c:
        t0 = time.monotonic()
        r = c.post("/v1/extract", files={"file": ("scan40.pdf", long_scan, "application/pdf")},
                   data={"schema": schema})
        took = time.monotonic() - t0
    assert r.status_code == 504, (f"expected the scan to run into the 15 s deadline; got "
                                  f"{r.status_code} after {took:.1f} s: {r.text[:200]}")
    assert r.json()["error"]["type"] == "DeadlineError"
    freed = server.idle_within(2.0)
    if freed is None:
        h = server.health()
        server.restart("work went on after its 504")
        pytest.fail(f"2 s after the 504 the worker was still busy: /healthz {h}")


def test_server_log_has_no_stray_future_exceptions_or_unhandled_errors(server):
    """After every probe above: no "Future exception was never retrieved" (work that outlived
    its timeout), no unhandled exception in the ASGI app."""
    log = server.log_text()
    bad = [line for line in log.splitlines()
           if "Future exception was never retrieved" in line
           or "Exception in ASGI application" in line or "unexpected error on" in line]
    assert not bad, (f"{len(bad)} bad log line(s), e.g. {bad[:3]}; server restarts: "
                     f"{server.restarts}")


def test_listener_never_saw_a_connection(listener):
    assert listener.connections == 0, f"the server fetched: {listener.hits[:10]}"


# ---------------------------------------------------------------------------------------- docs


def test_readme_api_section_lists_every_limit_setting():
    """Every limit setting (``max_*``, ``*limit*``, ``schema_*``, the deadline) is in the
    README's REST API section by its environment name (``PRUNESTACK_X`` or ``X``)."""
    from prunestack.api.settings import Settings

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## REST API", 1)[1].split("\n## ", 1)[0]
    limits = [n for n in Settings.model_fields
              if "max" in n or "limit" in n or n.startswith("schema_") or n == "request_timeout_s"]
    missing = sorted(n for n in limits
                     if f"PRUNESTACK_{n.upper()}" not in section and n.upper() not in section)
    assert not missing, f"README's REST API section does not list {missing}"
