"""Values as printed: a ``string`` field without a ``format`` gets the text as it stands on the
page (after OCR repair), never a normalised form; ``number``/``integer``, ``format: date`` and
enums get the normalised value (issue 15, step 1). Checked on the value parsers, on the one rule
(``extractive.field_value``), and end to end through ``prunestack.extract`` on plain text and on
a real PDF drawn with reportlab (text layer → layout → candidates → engine → conform)."""

from __future__ import annotations

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

import prunestack
from prunestack.pipeline.extract import values as V
from prunestack.pipeline.extract.extractive import field_value
from prunestack.pipeline.schema import conform, plan_fields

AS_PRINTED = {"type": "object", "properties": {
    "date": {"type": "string", "description": "the date as printed"},
    "total": {"type": "string", "description": "the total as printed"}}}
TYPED = {"type": "object", "properties": {
    "date": {"type": "string", "format": "date"},
    "total": {"type": "number"}}}


@pytest.mark.parametrize(("text", "printed", "value"), [
    ("TOTAL RM 8.20", "8.20", 8.2),          # a code set off by a space is a word of its own
    ("NETT TOTAL: $8.20", "$8.20", 8.2),     # a symbol glued to the number is part of it
    ("RM8.20", "RM8.20", 8.2),
    ("7.00", "7.00", 7.0),                   # decimals kept: not float → str ("7")
    ("1.234,50 EUR", "1.234,50", 1234.5),
    ("(12.00)", "(12.00)", -12.0),
    ("-1.73", "-1.73", -1.73),
    ("8,20€", "8,20€", 8.2),
])
def test_amounts_keep_their_printed_token(text, printed, value):
    p = V.parse_amount(text)
    assert p is not None and p.as_printed == printed and p.value == value


@pytest.mark.parametrize(("text", "printed", "iso"), [
    ("DATE: 11/01/2018 10:22", "11/01/2018", "2018-01-11"),
    ("15/APR/2017", "15/APR/2017", "2017-04-15"),
    ("25/10/201919:28:17", "25/10/2019", "2019-10-25"),   # OCR glued the time on: split off
    ("Date 30/ 1 1 /2022", "30/11/2022", "2022-11-30"),   # OCR spaces removed
    ("03 MAR 2018", "03 MAR 2018", "2018-03-03"),
])
def test_dates_keep_their_printed_form(text, printed, iso):
    p = V.parse_date(text)
    assert p is not None and p.as_printed == printed and p.value == iso


def test_a_multi_line_value_is_its_lines_joined_by_one_space():
    p = V.parse_address("LOT 1851-A, JALAN KPB 6,\nKAWASAN PERINDUSTRIAN BALAKONG,\n"
                        "43300 SERI KEMBANGAN, SELANGOR")
    assert p is not None
    assert p.as_printed == ("LOT 1851-A, JALAN KPB 6, KAWASAN PERINDUSTRIAN BALAKONG, "
                            "43300 SERI KEMBANGAN, SELANGOR")


def _field(node: dict, name: str = "x"):
    return plan_fields({"type": "object", "properties": {name: node}})[0]


def test_the_schema_decides_printed_or_normalised():
    date, amount = V.parse_date("11/01/2018"), V.parse_amount("RM 7.00")
    assert field_value(date, _field({"type": "string"})).value == "11/01/2018"
    assert field_value(date, _field({"type": "string", "format": "date"})).value == "2018-01-11"
    assert field_value(amount, _field({"type": "string"})).value == "7.00"
    assert field_value(amount, _field({"type": "number"})).value == 7.0
    assert field_value(amount, _field({"type": "integer"})).value == 7.0
    # an array of strings: its items' schema decides
    dates = _field({"type": "array", "items": {"type": "string"}})
    iso_dates = _field({"type": "array", "items": {"type": "string", "format": "date"}})
    assert field_value(date, dates).value == "11/01/2018"
    assert field_value(date, iso_dates).value == "2018-01-11"
    # an enum maps to its member
    cur = V.parse_currency("Total EUR 7.00")
    assert field_value(cur, _field({"type": "string", "enum": ["EUR", "USD"]})).value == "EUR"


def test_a_pattern_gets_the_printed_text_when_it_matches_else_the_normalised_value():
    date = V.parse_date("Date: 11/01/2018")
    slash = {"type": "string", "pattern": r"^\d{2}/\d{2}/\d{4}$"}
    dotted = {"type": "string", "pattern": r"^\d{2}\.\d{2}\.\d{4}$"}
    assert field_value(date, _field(slash)).value == "11/01/2018"
    iso = field_value(date, _field(dotted)).value
    assert iso == "2018-01-11"  # conform fits it to the pattern's layout
    schema = {"type": "object", "properties": {"d": dotted}}
    assert conform({"d": iso}, schema)[0] == {"d": "11.01.2018"}
    cur = V.parse_currency("Total £7.00")
    assert field_value(cur, _field({"type": "string", "pattern": "^[A-Z]{3}$"})).value == "GBP"
    assert field_value(cur, _field({"type": "string"})).value == "£"


def test_plain_text_through_the_facade():
    text = "Kedai Runcit Ali\n\nDate: 11/01/2018\nTotal: RM 7.00"
    assert prunestack.extract(text, schema=AS_PRINTED).data == \
        {"date": "11/01/2018", "total": "7.00"}
    assert prunestack.extract(text, schema=TYPED).data == {"date": "2018-01-11", "total": 7.0}
    dollars = "Coffee Bean\n\nDate: 15/APR/2017\nNett total: $8.20"
    assert prunestack.extract(dollars, schema=AS_PRINTED).data == \
        {"date": "15/APR/2017", "total": "$8.20"}
    assert prunestack.extract(dollars, schema=TYPED).data == {"date": "2017-04-15", "total": 8.2}


def test_a_real_pdf_through_the_facade(tmp_path):
    """A born-digital receipt: label left, amount right-aligned, as tills and invoices print."""
    path = tmp_path / "receipt.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    w, h = A4
    c.setFont("Helvetica-Bold", 16)
    c.drawString(72, h - 72, "Kedai Runcit Ali Sdn Bhd")
    c.setFont("Helvetica", 11)
    c.drawString(72, h - 100, "12, Jalan Ampang, 50450 Kuala Lumpur")
    c.drawString(72, h - 130, "Date: 11/01/2018")
    c.drawString(72, h - 150, "Bill No: CS-0042")
    for i, (item, price) in enumerate([("Teh tarik", "3.50"), ("Roti canai", "3.50")]):
        c.drawString(72, h - 190 - 20 * i, item)
        c.drawRightString(w - 72, h - 190 - 20 * i, price)
    c.drawString(72, h - 240, "TOTAL")
    c.drawRightString(w - 72, h - 240, "RM 7.00")
    c.save()
    res = prunestack.extract(path, schema=AS_PRINTED)
    assert res.data == {"date": "11/01/2018", "total": "7.00"}
    assert res.provenance["total"].text == "RM 7.00"  # where it was read: the whole amount
    assert prunestack.extract(path, schema=TYPED).data == {"date": "2018-01-11", "total": 7.0}
