"""Value parsers against hand-written expectations."""

from __future__ import annotations

import pytest

from prunestack.pipeline.extract import values as V


@pytest.mark.parametrize(("text", "dayfirst", "iso"), [
    ("2024-03-07", None, "2024-03-07"), ("07/03/2024", True, "2024-03-07"),
    ("03/07/2024", False, "2024-03-07"), ("31/01/2024", None, "2024-01-31"),
    ("01/31/2024", None, "2024-01-31"), ("07.03.2024", None, "2024-03-07"),
    ("7 March 2024", None, "2024-03-07"), ("March 7, 2024", None, "2024-03-07"),
    ("Mar 7, 2024", None, "2024-03-07"), ("7th Mar 2024", None, "2024-03-07"),
    ("Issued: 2024/3/7", None, "2024-03-07"), ("Invoice 2024", None, None),
    ("31/02/2024", None, None),
])
def test_dates(text, dayfirst, iso):
    p = V.parse_date(text, dayfirst)
    assert (p.value if p else None) == iso


def test_date_order_hint():
    assert V.date_order_hint(["due 31/01/2024", "issued 02/01/2024"]) is True
    assert V.date_order_hint(["due 01/31/2024"]) is False
    assert V.date_order_hint(["01/02/2024"]) is None


@pytest.mark.parametrize(("text", "value"), [
    ("€1.234,56", 1234.56), ("1,234.56 EUR", 1234.56), ("Total: $ 99.00", 99.0),
    ("1 234,50 CHF", 1234.5), ("CHF1,234.50", 1234.5), ("(12.00)", -12.0),
    ("Amount: -12.00", -12.0), ("INV-2024-00123", None), ("7.03.2024", None),
    ("Tax (19%): 19.00", 19.0), ("£7", 7.0),
    # OCR read one grouping/decimal mark as the other: a 2-digit last group is the decimals
    ("2.378.53 GBP", 2378.53), ("8,192,91", 8192.91), ("EUR 1.250.000", 1250000.0),
    ("EUR 1.250.000", 1250000.0),
])
def test_amounts(text, value):
    p = V.parse_amount(text)
    assert (p.value if p else None) == value


def test_percent_currency_ids_contacts():
    assert V.parse_percent("VAT 19%").value == 19.0
    assert V.parse_percent("Tax 7,5 %").value == 7.5
    assert V.parse_percent("1,234.00") is None
    assert V.parse_currency("Total 1.234,56 EUR").value == "EUR"
    assert V.parse_currency("£12.00").value == "GBP"
    assert V.parse_identifier("Invoice No: INV-2024-00123").value == "INV-2024-00123"
    assert V.parse_identifier("no digits here") is None
    assert V.parse_email("mail anna.rossi@example.org now").value == "anna.rossi@example.org"
    assert V.parse_phone("Tel. +36 410 223 1056").value == "+36 410 223 1056"
    assert V.parse_phone("07/03/2024") is None
    assert V.parse_number("Qty: 12", integer=True).value == 12
    assert V.parse_number("2.5", integer=True) is None
    assert V.parse_boolean("Yes").value is True
    assert V.parse_enum("Plan: premium", ["Standard", "Premium"]).value == "Premium"


@pytest.mark.parametrize(("text", "parts"), [
    ("Northwind Traders Ltd\n12 Main Street\n10115 Berlin\nGermany",
     {"name": "Northwind Traders Ltd", "street": "12 Main Street", "postal_code": "10115",
      "city": "Berlin", "country": "Germany"}),
    ("Anna Costa 111 Lindenstrasse 75101 Amsterdam Netherlands",
     {"name": "Anna Costa", "street": "111 Lindenstrasse", "postal_code": "75101",
      "city": "Amsterdam", "country": "Netherlands"}),
    ("12 Main Street Toronto 94076 Canada",
     {"street": "12 Main Street", "postal_code": "94076", "city": "Toronto",
      "country": "Canada"}),
    ("12 Main Street, London 12345, United Kingdom",
     {"street": "12 Main Street", "postal_code": "12345", "city": "London",
      "country": "United Kingdom"}),
    ("66 Canal Street\nBoston, MA 02110",
     {"street": "66 Canal Street", "postal_code": "02110", "city": "Boston", "state": "MA"}),
])
def test_split_address(text, parts):
    got = {k: v for k, (v, _) in V.split_address(text).items()}
    assert got == parts


def test_address_score():
    assert V.address_score("161 Hill Crescent 59088 Paris France") >= 0.5
    assert V.address_score("14 May 2021") < 0.5
    assert V.address_score("Thank you for your business.") == 0


@pytest.mark.parametrize(("text", "iso"), [
    ("01/ 10/2022", "2022-10-01"),  # OCR spaces around a separator
    ("30/ 1 1 /2022", "2022-11-30"),  # ... and inside a two-digit part
    ("Jun 19,2022", "2022-06-19"),  # no space after the comma
    ("August 2,2023", "2023-08-02"),
])
def test_ocr_spaced_dates(text, iso):
    p = V.parse_date(text)
    assert p is not None and p.value == iso


def test_ocr_spaced_ids_and_amounts():
    assert V.parse_identifier("IN- 2023-23232").value == "IN-2023-23232"
    assert V.parse_identifier("INV -2023-7").value == "INV-2023-7"
    assert V.parse_identifier("A - B 12").value == "A - B 12"  # a spaced dash stays
    # one number in a cell: OCR spaces next to a mark or before a short group are removed
    assert V.parse_amount("21 1,66").value == 211.66
    assert V.parse_amount("2.61 1,60").value == 2611.6
    assert V.parse_amount("1 .491,69").value == 1491.69
    assert V.parse_amount("1. 421,08 EUR").value == 1421.08
    assert V.parse_amount("1 234,56").value == 1234.56  # a space grouping thousands stays one
    # in a line with words, "3 1,50" may be a quantity and a price: not joined
    assert V.ocr_compact_number("Qty 3 1,50 each") == "Qty 3 1,50 each"


@pytest.mark.parametrize(("text", "parts"), [
    ("33 Canal Street\nMadrid 56988 Spain",
     {"street": "33 Canal Street", "city": "Madrid", "postal_code": "56988", "country": "Spain"}),
    ("179 Park Avenue\n1 1346 Lisbon\nPortugal",  # OCR split the postal code after a "1"
     {"street": "179 Park Avenue", "city": "Lisbon", "postal_code": "11346",
      "country": "Portugal"}),
    ("22 Orchard Lane\nSpringfield 6 2704",
     {"street": "22 Orchard Lane", "city": "Springfield", "postal_code": "62704"}),
    ("182 Elm Avenue Dublin 49607 lreland",  # OCR l for I in the country
     {"street": "182 Elm Avenue", "city": "Dublin", "postal_code": "49607",
      "country": "Ireland"}),
])
def test_split_address_joined_lines_and_ocr_country(text, parts):
    got = {k: v for k, (v, _) in V.split_address(text).items()}
    assert {k: got.get(k) for k in parts} == parts


def test_country_name_tolerates_l_i_confusion():
    assert V.country_name("lreland") == "ireland"
    assert V.country_name("1taly") == "italy"
    assert V.country_name("Iceberg") is None


@pytest.mark.parametrize(("texts", "want"), [
    (["Invoice date 09/05/2022", "Due 13/05/2022"], True),  # an unambiguous date decides
    (["Invoice date 09/05/2022", "Due 05/13/2022", "Total €5"], False),
    (["Invoice date 09/05/2022", "Total $1,234.00", "San Francisco, CA 94105"], False),
    (["Date 09/05/2022", "Boston, MA 02110"], False),  # a US state and ZIP code
    (["Date 09/05/2022", "BANDAR TUN HUSSEIN ON 47300 PETALING JAYA"], None),  # no US state
    (["Invoice date 09/05/2022", "Total 1.234,00 €", "VAT 19%"], True),
    (["Rechnungsdatum 09.05.2022", "Summe $12.00"], True),  # dot dates are day-first
    (["Date 09/05/2022"], None),
])
def test_date_order_hint_uses_locale_signs_when_dates_are_ambiguous(texts, want):
    assert V.date_order_hint(texts) is want
    if want is not None:
        assert V.parse_date("09/05/2022", want).value == ("2022-05-09" if want else "2022-09-05")
