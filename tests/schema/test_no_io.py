"""No I/O from a schema: whatever URL, file or URN a schema names, the package neither fetches
nor reads it.

A real HTTP listener on loopback counts every connection it accepts (and answers a valid schema,
so a fetch would go unnoticed by the result); a Python audit hook records every ``urllib``
request, every TCP connect and every open of the files the schemas name. Schemas name the
listener and the files through every keyword that takes a URI: ``$ref``, ``$dynamicRef``,
``$recursiveRef``, ``$schema`` (root and nested), a relative root ``$id`` with a nested absolute
``$id`` and a relative ``$ref``. ``load_schema``, the validators (on the raw schema too) and
``prunestack.extract`` (the façade, extractive engine, text input) refuse each with a
``SchemaError`` naming the keyword and its place, and the listener and the hook see nothing. The
controls show both detectors work: stock ``jsonschema`` with its default registry does connect
and does read the file. Valid schemas with nested ``$id``s and anchors validate and extract.
"""

from __future__ import annotations

import http.server
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing.exceptions import Unresolvable

import prunestack
from prunestack.errors import SchemaError
from prunestack.pipeline.schema import (
    DRAFT_URIS,
    fits,
    load_schema,
    no_io_registry,
    validation_errors,
    validator,
)

TEXT = "Invoice No: INV-7\nSeller: ACME GmbH\nTotal: 12.50 EUR"
D2019 = DRAFT_URIS["2019-09"]


# ------------------------------------------------------------------ the detectors
class _Counting(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Answer)
        self.connections = 0
        self.paths: list[str] = []

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1  # every accepted TCP connection, request or not
        return True


class _Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.paths.append(self.path)  # type: ignore[attr-defined]
        body = b'{"type": "integer"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/schema+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[_Counting]:
    srv = _Counting()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


_SEEN: list[tuple[str, str]] = []
_WATCH: dict[str, set[str]] = {"files": set()}
_ACTIVE: list[bool] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _ACTIVE:
        return
    if event == "urllib.Request":
        _SEEN.append((event, str(args[0])))
    elif event == "socket.connect" and isinstance(args[1], tuple):  # TCP, not a local socket
        _SEEN.append((event, str(args[1])))
    elif event == "open" and isinstance(args[0], (str, Path)) and \
            str(args[0]) in _WATCH["files"]:
        _SEEN.append((event, str(args[0])))


sys.addaudithook(_audit)  # audit hooks cannot be removed: it records only while a test watches


@pytest.fixture
def io_seen(tmp_path: Path) -> Iterator[list[tuple[str, str]]]:
    """What the process tried while the test ran: urllib requests, TCP connects, opens of the
    files in ``_WATCH["files"]``."""
    _SEEN.clear()
    _ACTIVE.append(True)
    yield _SEEN
    _ACTIVE.clear()
    _WATCH["files"].clear()


@pytest.fixture
def json_file(tmp_path: Path) -> Path:
    """A real JSON schema on disk that a schema may name by ``file://``."""
    path = tmp_path / "secret_schema.json"
    path.write_text('{"type": "integer"}')
    _WATCH["files"].add(str(path))
    return path


# ------------------------------------------------------------------ the probes
def _http_probes(url: str) -> dict[str, tuple[dict[str, Any], str]]:
    """name → (schema naming the listener, what the refusal must say)."""
    return {
        "ref": ({"type": "object", "properties": {"a": {"$ref": f"{url}/ref.json"}}},
                r"\$ref '[^']+/ref.json' at properties/a is remote"),
        "dynamicRef": ({"type": "object", "properties": {"a": {"$dynamicRef": f"{url}/x"}}},
                       r"\$dynamicRef '[^']+/x' at properties/a is remote"),
        "dynamicRef_anchor": ({"type": "object",
                               "properties": {"a": {"$dynamicRef": f"{url}/m.json#meta"}}},
                              r"\$dynamicRef .* at properties/a is remote"),
        "recursiveRef": ({"$schema": D2019, "type": "object",
                          "properties": {"a": {"$recursiveRef": f"{url}/rec.json"}}},
                         r"\$recursiveRef .* at properties/a is remote"),
        "nested_id_relative_ref": (
            {"$id": "schemas/root.json", "type": "object",
             "properties": {"a": {"$id": f"{url}/a/b.json", "$ref": "c.json"}}},
            r"\$ref 'c.json' at properties/a is remote \(http://127\.0\.0\.1:\d+/a/c\.json\)"),
        "nested_id_pointer": (
            {"type": "object", "$defs": {"x": {"type": "integer"}},
             "properties": {"a": {"$id": f"{url}/n.json", "$ref": "#/$defs/x"}}},
            r"\$ref '#/\$defs/x' at properties/a points nowhere"),
        "allOf_id": ({"type": "object",
                      "allOf": [{"$id": f"{url}/all.json", "$ref": "other.json"}]},
                     r"\$ref 'other.json' at allOf/0 is remote"),
        "unknown_keyword": ({"type": "object", "properties": {"a": {"type": "string"}},
                             "x-remote": {"$ref": f"{url}/x.json"}},
                            r"\$ref .* at x-remote is remote"),
        "schema_root": ({"$schema": f"{url}/draft-07/schema#", "type": "object",
                         "properties": {"a": {"type": "string"}}},
                        r"unsupported \$schema"),
        "schema_nested": ({"type": "object",
                           "properties": {"a": {"$schema": f"{url}/s", "type": "string"}}},
                          r"\$schema '[^']+/s' at properties/a names no draft"),
    }


def _file_probes(path: Path) -> dict[str, tuple[dict[str, Any], str]]:
    uri = path.as_uri()
    return {
        "ref_hostname": ({"type": "object", "properties": {"a": {"$ref": "file:///etc/hostname"}}},
                         r"\$ref 'file:///etc/hostname' at properties/a names a file"),
        "dynamicRef_hostname": ({"type": "object",
                                 "properties": {"a": {"$dynamicRef": "file:///etc/hostname"}}},
                                r"\$dynamicRef 'file:///etc/hostname' .* names a file"),
        "ref_json_file": ({"type": "object", "properties": {"a": {"$ref": uri}}},
                          r"\$ref 'file://[^']+secret_schema.json' at properties/a names a file"),
        "dynamicRef_json_file": ({"type": "object", "properties": {"a": {"$dynamicRef": uri}}},
                                 r"\$dynamicRef .* names a file"),
        "relative_to_file_id": ({"$id": path.parent.as_uri() + "/root.json", "type": "object",
                                 "properties": {"a": {"$ref": path.name}}},
                                r"\$ref 'secret_schema.json' at properties/a names a file"),
    }


HTTP_NAMES = list(_http_probes("http://127.0.0.1:1"))
FILE_NAMES = list(_file_probes(Path("/tmp/x.json")))


def _every_door(schema: dict[str, Any], match: str) -> None:
    """Load, validate (raw schema too) and extract: a named refusal, never a fetch."""
    with pytest.raises(SchemaError, match=match):
        load_schema(schema)
    with pytest.raises(SchemaError, match=match):
        prunestack.extract(TEXT, schema)
    for value in ({"a": 1}, {"a": "x"}):
        try:  # a raw schema's validator resolves nothing outside it: an error, not a fetch
            validation_errors(value, schema)
        except SchemaError:
            pass
        try:
            validator(schema).is_valid(value)
        except (Unresolvable, SchemaError):  # unresolvable, or a $schema naming no draft
            pass
        fits(value, schema, schema)


@pytest.mark.parametrize("name", HTTP_NAMES)
def test_urls_a_schema_names_are_never_fetched(listener, io_seen, name):
    url = f"http://127.0.0.1:{listener.server_address[1]}"
    schema, match = _http_probes(url)[name]
    _every_door(schema, match)
    assert listener.connections == 0 and listener.paths == []
    assert io_seen == []


@pytest.mark.parametrize("name", FILE_NAMES)
def test_files_a_schema_names_are_never_read(json_file, io_seen, name):
    schema, match = _file_probes(json_file)[name]
    _every_door(schema, match)
    assert io_seen == []


def test_the_detectors_see_what_stock_jsonschema_does(listener, json_file, io_seen):
    """Control: jsonschema's default registry fetches URLs and reads files a schema names
    (deprecated, with a warning); the listener and the audit hook both see it."""
    url = f"http://127.0.0.1:{listener.server_address[1]}/ref.json"
    with pytest.warns(DeprecationWarning):
        assert not jsonschema.Draft202012Validator({"$ref": url}).is_valid("x")
    assert listener.connections == 1 and listener.paths == ["/ref.json"]
    with pytest.warns(DeprecationWarning):
        assert not jsonschema.Draft202012Validator({"$ref": json_file.as_uri()}).is_valid("x")
    kinds = {kind for kind, _ in io_seen}
    assert {"urllib.Request", "socket.connect", "open"} <= kinds, io_seen
    # the same schemas with the package's registry: refused, nothing more seen
    before = list(io_seen)
    for schema in ({"$ref": url}, {"$ref": json_file.as_uri()}):
        with pytest.raises(Unresolvable):
            jsonschema.Draft202012Validator(schema, registry=no_io_registry(schema)).is_valid(1)
    assert listener.connections == 1 and io_seen == before


# ------------------------------------------------------------------ valid schemas still work
NESTED = {
    "$id": "https://example.com/schemas/invoice.json",
    "type": "object",
    "required": ["invoice_number", "total"],
    "$defs": {"money": {"type": "number", "minimum": 0}},
    "properties": {
        "invoice_number": {"$ref": "party.json#/$defs/code"},
        "total": {"$ref": "#/$defs/money"},
        "seller": {
            "$id": "party.json",  # relative to the root: https://example.com/schemas/party.json
            "type": "object",
            "$defs": {"code": {"type": "string", "minLength": 2},
                      "name": {"$anchor": "name", "type": "string"}},
            "properties": {"name": {"$ref": "#name"}},
        },
    },
}


def test_a_valid_schema_with_nested_ids_and_anchors_validates_and_extracts(listener, io_seen):
    loaded = load_schema(NESTED)
    assert loaded["properties"]["invoice_number"]["$ref"] == \
        "#/properties/seller/$defs/code"
    assert loaded["properties"]["seller"]["properties"]["name"]["$ref"] == \
        "#/properties/seller/$defs/name"
    assert "$id" not in loaded["properties"]["seller"]  # it only served those references
    ref = jsonschema.Draft202012Validator(NESTED, registry=no_io_registry(NESTED))
    for value in ({"invoice_number": "INV-7", "total": 1, "seller": {"name": "A"}},
                  {"invoice_number": "I", "total": 1}, {"invoice_number": "INV", "total": -1},
                  {"invoice_number": "INV", "total": 1, "seller": {"name": 5}}):
        assert (validation_errors(value, loaded) == []) is ref.is_valid(value), value
    res = prunestack.extract(TEXT, NESTED)
    assert res.valid and res.errors == []
    assert res.data["invoice_number"] == "INV-7" and res.data["total"] == 12.5
    assert list(ref.iter_errors(res.data)) == []  # the user's own schema, as written
    assert listener.connections == 0 and io_seen == []


def test_schema_text_with_a_file_uri_is_refused_through_the_json_path(json_file, io_seen):
    """The same refusal when the schema arrives as JSON text (what the API and CLI pass)."""
    text = json.dumps({"type": "object", "properties": {"a": {"$ref": json_file.as_uri()}}})
    with pytest.raises(SchemaError, match="names a file: schemas never read files"):
        load_schema(text, allow_path=False)
    assert io_seen == []


def test_validators_read_the_bundled_meta_schemas_without_fetching(listener, io_seen):
    """The registry a validator gets holds the bundled meta-schemas, so a raw schema that
    refers to one validates offline; ``load_schema`` still refuses it (not in the document)."""
    schema = {"$ref": "http://json-schema.org/draft-07/schema#"}
    assert validation_errors({"type": "object"}, schema) == []
    assert validation_errors({"type": 5}, schema) != []
    with pytest.raises(SchemaError, match="is remote: schemas are never fetched"):
        load_schema(schema)
    assert listener.connections == 0 and io_seen == []
