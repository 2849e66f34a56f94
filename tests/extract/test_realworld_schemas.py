"""Real-world user schemas (pydantic v2 output, OpenAPI, JSON Schema Store style, recursive,
escaped pointers, boolean sub-schemas, tuples, if/then/else...) on the bundled born-digital
invoice PDF, through the library, the HTTP API and the CLI: every answer validates against the
user's schema with ``jsonschema`` (the schema's own draft, formats checked, numbers read as
decimals: jsonschema's advice for ``multipleOf``), or the schema is refused up front with a
``SchemaError`` (HTTP 422) that names the problem."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
import regex as mrab_regex

from prunestack.errors import SchemaError
from prunestack.pipeline.extract import extract_document
from prunestack.pipeline.schema import conform, plan_fields, validation_errors
from prunestack.pipeline.schema.placeholders import date_as_pattern, fit_multiple, minimal_string
from tests.extract.schemas_realworld import (
    DEPENDENT_REQUIRED,
    IF_THEN_ELSE,
    POINTER_ESCAPES,
    PydInvoice,
    cases,
)

ROOT = Path(__file__).resolve().parents[2]
PDF = ROOT / "examples" / "sample_invoice.pdf"
EXPECTED = json.loads((ROOT / "examples" / "sample_invoice.expected.json").read_text())
PLAIN = json.loads((ROOT / "examples" / "invoice_schema.json").read_text())
CASES = cases()


def _ecma_pattern(validator, patrn, instance, schema):
    """``pattern`` on the ``regex`` package (it reads ``\\p{L}`` and ``(?<name>…)`` as ECMA-262
    does, where Python's ``re`` refuses them): an engine independent of ours, for reference."""
    if validator.is_type(instance, "string") and not mrab_regex.search(patrn, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {patrn!r}")


def schema_errors(data, schema) -> list[str]:
    """What a user's validator says: the schema's draft (none named: 2020-12, as
    ``jsonschema.validate`` assumes, unless only Draft-7 can read it), formats checked, JSON
    numbers parsed as Decimal, ``pattern`` read as ECMA-262."""
    new = jsonschema.Draft202012Validator
    cls = jsonschema.validators.validator_for(schema) if "$schema" in schema else \
        new if new(new.META_SCHEMA).is_valid(schema) else jsonschema.Draft7Validator
    cls = jsonschema.validators.extend(cls, {"pattern": _ecma_pattern})

    def dec(x):
        return json.loads(json.dumps(x), parse_float=Decimal)

    return [f"{list(e.absolute_path)}: {e.message}" for e in
            cls(dec(schema), format_checker=cls.FORMAT_CHECKER).iter_errors(dec(data))]


@pytest.fixture(scope="module")
def doc():
    from prunestack.parsers.ingest import parse

    return parse(PDF)


@pytest.mark.parametrize("name", list(CASES))
def test_library_output_validates_or_schema_is_refused(doc, name):
    schema, expect = CASES[name]
    if expect == "ok":
        res = extract_document(doc, schema)
        assert schema_errors(res.data, schema) == [], res.data
        assert res.valid and not res.errors
        flat = json.dumps(res.data)
        for path, prov in res.provenance.items():  # provenance only for values in the answer
            assert prov.page == 1 and prov.bbox.x1 >= prov.bbox.x0, path
            assert path.split(".")[0].split("[")[0] in flat
    else:
        with pytest.raises(SchemaError) as info:
            extract_document(doc, schema)
        assert expect[1] in str(info.value)


def test_pydantic_optional_fields_are_extracted_like_plain_ones(doc):
    """``anyOf [X, null]`` (pydantic Optional) and ``anyOf [$ref, null]`` must not read as
    "absent": the values equal those the plain schema gets (and the hand-checked answer)."""
    plain = extract_document(doc, PLAIN).data
    for schema in (CASES["pyd_invoice"][0], CASES["pyd_invoice_allof"][0]):
        res = extract_document(doc, schema)
        got = res.data
        assert {"invoice_number", "issue_date", "total", "seller.name"} <= set(res.provenance)
        for key in ("invoice_number", "issue_date", "due_date", "currency", "subtotal", "tax",
                    "total"):
            assert got[key] == plain[key] == EXPECTED[key], key
        assert got["seller"]["name"] == plain["seller"]["name"] == EXPECTED["seller"]["name"]
        assert got["buyer"]["name"] == EXPECTED["buyer"]["name"]
        assert [i["amount"] for i in got["line_items"]] == \
            [i["amount"] for i in EXPECTED["line_items"]]
        PydInvoice.model_validate(got)  # and the user's own model accepts it
    qt = extract_document(doc, CASES["quicktype_root_ref"][0]).data  # root "$ref", draft-06
    assert qt["invoiceNumber"] == EXPECTED["invoice_number"] and qt["total"] == EXPECTED["total"]
    assert [i["amount"] for i in qt["lineItems"]] == [i["amount"] for i in EXPECTED["line_items"]]
    # pydantic's serialization mode types Decimal as a string: amounts still read as amounts
    ser = extract_document(doc, CASES["pyd_invoice_serialization"][0]).data
    assert ser["total"] == "498.34" and ser["tax"] == "83.06"
    assert ser["line_items"][0]["quantity"] == "4"


def test_api_extract_with_real_world_schemas():
    from fastapi.testclient import TestClient

    from prunestack.api.app import create_app
    from prunestack.api.settings import Settings

    pdf = PDF.read_bytes()
    names = ["pyd_invoice", "pyd_discriminated_alias", "schemastore_draft7", "recursive_items",
             "pointer_escapes", "if_then_else", "true_and_empty", "remote_ref", "anchor_ref",
             "nested_ids", "invalid_required", "unknown_draft"]
    with TestClient(create_app(Settings())) as c:
        for name in names:
            schema, expect = CASES[name]
            r = c.post("/v1/extract", files={"file": ("inv.pdf", pdf, "application/pdf")},
                       data={"schema": json.dumps(schema)})
            if expect == "ok":
                assert r.status_code == 200, (name, r.text)
                body = r.json()
                assert schema_errors(body["data"], schema) == [], name
                assert body["valid"]
            else:
                assert r.status_code == 422, (name, r.text)
                assert expect[1] in r.json()["error"]["message"], name
        r = c.post("/v1/extract", json={"schema": CASES["pyd_invoice"][0],
                                        "text": "Invoice No: INV-7\nTotal: 12.50 EUR"})
        assert r.status_code == 200 and r.json()["data"]["invoice_number"] == "INV-7"
        r = c.post("/v1/extract", json={"schema": CASES["remote_ref"][0], "text": "x"})
        assert r.status_code == 422 and "http://example.com" in r.json()["error"]["message"]
        r = c.post("/v1/extract", json={"schema": True, "text": "x"})
        assert r.status_code == 422 and "JSON object" in r.json()["error"]["message"]


def _cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    from prunestack.api.cli import main

    monkeypatch.setattr(sys, "argv", ["prunestack", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_extract_with_pydantic_schema_and_refusals(tmp_path, monkeypatch, capsys):
    path = tmp_path / "pyd.json"
    path.write_text(json.dumps(CASES["pyd_invoice"][0]))
    code, out, err = _cli(monkeypatch, capsys, "extract", str(PDF), "--schema", str(path))
    assert code == 0, err
    data = json.loads(out)
    assert schema_errors(data, CASES["pyd_invoice"][0]) == []
    assert data["invoice_number"] == EXPECTED["invoice_number"]
    for name in ("remote_ref", "pointer_escapes"):
        path.write_text(json.dumps(CASES[name][0]))
        code, out, err = _cli(monkeypatch, capsys, "extract", str(PDF), "--schema", str(path))
        if name == "remote_ref":
            assert code == 2 and err.startswith("error: ") and "party.json" in err
            assert "Traceback" not in err
        else:
            assert code == 0 and json.loads(out)["invoice_number"] == "HOS-2025-0117"


# ------------------------------------------------------------------ units behind the fixes
def test_recursive_refs_plan_finitely_and_conform():
    fields = {f.dotted: f for f in plan_fields(CASES["pyd_line_item_recursive"][0])}
    assert "sub_items" not in fields and set(fields) >= {"description", "amount"}
    items = {f.dotted: f for f in plan_fields(CASES["recursive_items"][0])}["line_items"].items
    assert [i.name for i in items] == ["description", "amount"]
    root = {f.dotted for f in plan_fields(CASES["root_recursion"][0])}
    assert root == {"invoice_number", "total"}  # "$ref": "#" is not searched again


def test_pointer_escapes_and_percent_encoding_resolve():
    fields = {f.dotted: f for f in plan_fields(POINTER_ESCAPES)}
    assert fields["invoice_number"].type == "string"
    assert fields["total"].type == "number" and fields["tax_rate"].type == "number"


def test_placeholders_satisfy_their_constraints():
    assert minimal_string(r"^PO-\d+$") == "PO-0"
    assert minimal_string(r"^[A-Z]{6}[A-Z0-9]{2,5}$") == "AAAAAAAA"
    assert minimal_string(None, 3, 5) == "aaa" and minimal_string("x", 0, 0) is None
    assert minimal_string(r"(?=x)a") is None  # lookarounds: give up, the caller checks
    assert fit_multiple(64.99, 0.01) == 64.99  # a float-division validator says no; decimals yes
    assert fit_multiple(12.345, 0.01) == 12.34 and fit_multiple(415.28, 0.5) is None
    assert date_as_pattern("2025-02-03", r"^\d{2}/\d{2}/\d{4}$") == "03/02/2025"
    schema = CASES["nested_required_no_value"][0]
    data, missing = conform({}, schema)
    assert validation_errors(data, schema) == []
    assert data["bank"]["bic"] == "AAAAAAAA" and len(data["bank"]["iban"]) >= 15
    assert {m["path"] for m in missing} >= {"bank.iban", "bank.bic", "page_count"}


def test_whole_object_rules_are_repaired(doc):
    from prunestack.pipeline.extract.core import ExtractOptions, _finish
    from prunestack.pipeline.extract.core import _drop_invalid as drop

    data = drop({"invoice_number": "A", "currency": "GBP", "total": 1.0, "vat_id": "GB1"},
                IF_THEN_ELSE)
    assert data == {"invoice_number": "A", "currency": "GBP", "total": 1.0}
    res = _finish({"invoice_number": "X", "tax": 1.0}, {}, DEPENDENT_REQUIRED, "test", doc,
                  ExtractOptions(), {})
    assert res.valid and res.data["tax_rate"] == 0
    assert [m.path for m in res.missing] == ["tax_rate"]  # the stand-in is reported


def test_property_names_with_dots_and_currency_units(doc):
    """Spreadsheet-style names ("Invoice No.", "V.A.T. number", "Total (GBP)") are property
    names, not paths: no value is split into invented nested keys; a currency code in a name
    is the unit, not part of the label to match."""
    schema = {"type": "object", "required": ["Invoice No.", "Total (GBP)"], "properties": {
        "Invoice No.": {"type": "string"}, "Total (GBP)": {"type": "number"},
        "tax_gbp": {"type": "number"}, "Issue date": {"type": "string", "format": "date"},
        "seller": {"type": "object", "properties": {"name": {"type": "string"},
                                                    "V.A.T. number": {"type": "string"}}}}}
    res = extract_document(doc, schema)
    assert schema_errors(res.data, schema) == []
    assert set(res.data) <= set(schema["properties"]), res.data  # no invented keys
    assert set(res.data["seller"]) <= {"name", "V.A.T. number"}
    assert res.data["Invoice No."] == EXPECTED["invoice_number"]
    assert res.data["Total (GBP)"] == EXPECTED["total"] and res.data["tax_gbp"] == EXPECTED["tax"]
    assert res.data["Issue date"] == EXPECTED["issue_date"]
    assert res.provenance["Invoice No."].page == 1


def test_formats_are_checked_even_without_optional_checkers():
    """jsonschema checks "time"/"date-time" only with optional packages; extraction checks
    date, time, date-time and uuid itself and reshapes what it can (a clock time, an ISO date
    for a date-time, an upper-case uuid)."""
    schema = {"type": "object", "required": ["t", "u", "d"], "properties": {
        "t": {"type": "string", "format": "time"}, "u": {"type": "string", "format": "uuid"},
        "d": {"type": "string", "format": "date"},
        "dt": {"type": "string", "format": "date-time"}}}
    data, missing = conform({"t": "Time: 9:30 pm", "u": "6F9619FF-8B86-D011-B42D-00C04FC964FF",
                             "d": "2024-02-29", "dt": "2024-03-01"}, schema)
    assert data == {"t": "21:30:00Z", "u": "6f9619ff-8b86-d011-b42d-00c04fc964ff",
                    "d": "2024-02-29", "dt": "2024-03-01T00:00:00Z"} and missing == []
    data, missing = conform({"t": "Greenfield Dental Clinic", "u": "x", "d": "2023-02-29"},
                            schema)
    assert data["t"] == "00:00:00Z" and data["d"] == "1970-01-01"  # stand-ins, reported
    assert {m["path"] for m in missing} == {"t", "u", "d"}


def test_schema_file_with_a_windows_bom(tmp_path, monkeypatch, capsys):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(PLAIN).encode())
    code, out, err = _cli(monkeypatch, capsys, "extract", str(PDF), "--schema", str(path))
    assert code == 0, err
    assert json.loads(out)["total"] == EXPECTED["total"]
