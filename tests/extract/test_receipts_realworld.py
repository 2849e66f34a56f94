"""SROIE-style till receipts: shop name, address, date and grand total.

The hand-built documents copy what rapidocr + the layout step gave for receipts drawn by
``receipts_realworld`` (elements, their merges and OCR slips, verbatim); one test runs a drawn
receipt through real OCR end to end. These are tests of the rule engine's receipt logic
(``scorer="rules"``); the learned scorer, the default on till receipts, is measured on real
receipts by ``benchmarks/bench_receipts_real.py`` and tested in ``test_scorer.py`` /
``test_shipped_scorer.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from prunestack.parsers.ocr.rapid import quad_crop
from prunestack.parsers.ocr.spacing import word_gaps
from prunestack.pipeline.document import (
    BBox,
    Document,
    Element,
    ElementKind,
    Page,
    Source,
    TableCell,
)
from prunestack.pipeline.extract import ExtractOptions, extract_document
from prunestack.pipeline.extract.ocrfix import fix_letter_digit_confusions, split_glued_time
from prunestack.pipeline.extract.receipt import letterhead, receipt_like
from prunestack.pipeline.extract.values import parse_date
from tests.extract.receipts_realworld import SROIE_SCHEMA, receipt

RULES = ExtractOptions(scorer="rules")


def receipt_doc(texts: list[str], table: list[tuple[str, str]], tail: str = "THANK YOU"
                ) -> Document:
    """A receipt page as the OCR layout gives it: text elements, the items/totals table, a
    footer line. Boxes stack 24 units per line on a 480-wide strip."""
    els, y = [], 20.0
    for i, t in enumerate(texts):
        n = t.count("\n") + 1
        els.append(Element(id=f"p1-e{i}", kind=ElementKind.TEXT, text=t, page=1,
                           bbox=BBox(x0=40, y0=y, x1=440, y1=y + 20 * n),
                           source=Source.OCR, confidence=0.95))
        y += 24 * n
    cells = [TableCell(row=r, col=c, text=v, bbox=BBox(x0=30 + 300 * c, y0=y + 24 * r,
                                                        x1=250 + 200 * c, y1=y + 24 * r + 20))
             for r, row in enumerate(table) for c, v in enumerate(row)]
    els.append(Element(id="p1-t", kind=ElementKind.TABLE, text="\n".join(
        " | ".join(r) for r in table), page=1, bbox=BBox(x0=30, y0=y, x1=450,
                                                          y1=y + 24 * len(table)),
        source=Source.OCR, confidence=0.95, cells=cells))
    y += 24 * len(table) + 10
    els.append(Element(id="p1-f", kind=ElementKind.TEXT, text=tail, page=1,
                       bbox=BBox(x0=100, y0=y, x1=380, y1=y + 20), source=Source.OCR,
                       confidence=0.95))
    return Document(source_name="receipt.png", mime_type="image/png",
                    pages=[Page(number=1, width=480, height=y + 60, elements=els,
                                ocr_backend="rapidocr")])


TOTALS = [("4 x 6.40 MILO ICE", "25.60"), ("2 x 42.39", "84.78"), ("SUBTOTAL", "329.06"),
          ("SERVICE TAX 6%", "19.74"), ("ROUNDING ADJ", "0.00"), ("TOTAL INCL. GST", "348.80"),
          ("CASH", "350.00"), ("CHANGE", "1.20"), ("SR @ 6%", "329.06 19.74")]


@pytest.mark.parametrize(("text", "want"), [
    ("25/10/201919:28:17", "25/10/2019 19:28:17"),
    ("28 DEC 201722:34:34", "28 DEC 2017 22:34:34"),
    ("28/12/1913:34:59", "28/12/19 13:34:59"),  # a 2-digit year when 4 leave no valid time
    ("DATE:2017-02-0322:05:03", "DATE:2017-02-03 22:05:03"),
    ("25/10/2019 19:28:17", "25/10/2019 19:28:17"),
    ("Total 12:30", "Total 12:30"),
])
def test_split_glued_time(text, want):
    assert split_glued_time(text) == want


def test_dates_with_a_glued_time_parse_day_first():
    assert parse_date("25/10/201919:28:17").value == "2019-10-25"
    assert parse_date("28/12/1913:34:59").value == "2019-12-28"
    assert parse_date("28 DEC 201722:34:34").value == "2017-12-28"
    assert parse_date("DATE:2017-02-0322:05:03").value == "2017-02-03"
    assert parse_date("2024-03-15T10:00:00").value == "2024-03-15"  # ISO 8601 date-time


def test_letter_digit_confusions_in_letterheads():
    assert fix_letter_digit_confusions("NO. 123, L0R0NG HAJI TAIB 2, JALAN IP0H") == \
        "NO. 123, LORONG HAJI TAIB 2, JALAN IPOH"
    assert fix_letter_digit_confusions("811OO JOHOR BAHRU") == "81100 JOHOR BAHRU"
    assert fix_letter_digit_confusions("MR. D.1.Y. (M) SDN BHD") == "MR. D.I.Y. (M) SDN BHD"
    for same in ("TEL: 03-4696870", "A4 PAPER 80GSM", "SS 2/61", "BOX 100"):
        assert fix_letter_digit_confusions(same) == same


def test_quad_crop_keeps_neighbour_lines_out_of_word_gaps():
    """A tilted line's upright box holds ink of the lines above and below it in the word gap;
    masked to the detector's quadrilateral, the gap is paper again."""
    gray = np.full((40, 100), 255, dtype=np.uint8)  # [H, W]
    gray[18:30, 5:40] = 0  # word 1
    gray[18:30, 60:95] = 0  # word 2
    gray[0:9, 35:70] = 0  # the end of the line above, inside the upright box
    quad = [[0, 14], [100, 14], [100, 34], [0, 34]]
    assert not any(s <= 45 < e for s, e in word_gaps(gray[0:34, 0:100]))
    masked = quad_crop(gray, quad, 0, 0, 100, 34)
    assert any(s <= 45 < e for s, e in word_gaps(masked))
    assert (masked[18:30] == gray[18:30]).all()  # inside the quad nothing changes


def test_letterhead_name_reg_and_address_joined_in_one_element():
    doc = receipt_doc(["MYDIN MOHAMED HOLDINGS BHD (534286-W) NO. 64, JALAN BUKIT BINTANG, "
                       "TAMAN MAJU JAYA， 81750 JOHOR BAHRU,JOHOR.", "TEL: 03-3346825",
                       "TAX INVOICE", "INV935688", "28.11.2018 19:25:08"], TOTALS)
    assert receipt_like(doc)
    name, addr = letterhead(doc)
    assert name.value == "MYDIN MOHAMED HOLDINGS BHD"
    assert addr.value == "NO. 64, JALAN BUKIT BINTANG, TAMAN MAJU JAYA, 81750 JOHOR BAHRU, " \
        "JOHOR."


def test_letterhead_skips_registration_line_and_stops_at_phone():
    doc = receipt_doc(["POPULAR BOOK CO. (M) SDN BHD",
                       "COMPANY NO. 252649-D NO. 82,JALAN PERMAS 10/8, TAMAN MOLEK, "
                       "40150 SHAH ALAM,SELANGOR. TEL:04-5454704",
                       "GST ID NO: 854239408834", "TAX INVOICE"], TOTALS)
    name, addr = letterhead(doc)
    assert name.value == "POPULAR BOOK CO. (M) SDN BHD"
    assert addr.value == "NO. 82, JALAN PERMAS 10/8, TAMAN MOLEK, 40150 SHAH ALAM, SELANGOR."


def test_sroie_fields_from_an_ocr_layout():
    """Company is the top line (not the CASHIER name), the unlabelled date after the document
    number is found, and the total is the grand total, not SUBTOTAL / CASH / the tax line."""
    doc = receipt_doc(["99 SPEED MART S/B （592015-A)",
                       "NO. 169, JALAN KENARI 17, BANDAR PUCHONG JAYA, 811OO JOHOR BAHRU, JOHOR.",
                       "TEL: 03-4696870", "SIMPLIFIED TAX INVOICE", "CS36681",
                       "25/10/201919:28:17", "CASHIER:ANIS"], TOTALS)
    data = extract_document(doc, SROIE_SCHEMA, options=RULES).data
    assert data == {"company": "99 SPEED MART S/B",
                    "address": "NO. 169, JALAN KENARI 17, BANDAR PUCHONG JAYA, 81100 JOHOR "
                               "BAHRU, JOHOR.",
                    "date": "25/10/2019", "total": 348.8}  # the date as printed (a string)


def test_invoice_like_page_is_not_a_receipt():
    doc = receipt_doc(["Northwind Traders Ltd", "12 Main Street, 10115 Berlin", "Invoice"],
                      [("Subtotal", "100.00"), ("Total", "119.00")], tail="Payment in 30 days")
    doc.pages[0].width, doc.pages[0].height = 595, 842
    assert not receipt_like(doc)


def test_drawn_receipt_through_real_ocr(tmp_path):
    """A drawn receipt (rotated, blurred, faded) through rapidocr and the extractive engine."""
    from prunestack.parsers.ingest import parse

    r = receipt(9)
    path = tmp_path / "r.png"
    r.image.save(path)
    data = extract_document(parse(path, ocr="rapidocr"), SROIE_SCHEMA, options=RULES).data
    assert data["company"] == r.truth["company"]
    assert data["address"] == r.truth["address"]
    assert data["date"] == r.truth["date"]  # as printed: a string field without a format
    assert data["total"] == float(r.truth["total"])


def test_space_between_a_letter_and_a_one_measured_on_the_line():
    """Monospace "KENARI 17": the blank before the 1 is as wide as the line's word gaps between
    letters (10 px) but just under the absolute digit bar (0.42 × 24 px); "KENARI17" with a
    letter-sized blank stays joined."""
    from prunestack.parsers.ocr.spacing import insert_spaces

    chars = list("JALANKENARI17")
    centers = [80, 90, 103, 116, 126, 148, 158, 171, 184, 198, 208, 225, 234]
    assert insert_spaces(chars, centers, [(135, 145), (211, 221)], 24.0) == "JALAN KENARI 17"
    assert insert_spaces(chars, centers, [(135, 145), (213, 218)], 24.0) == "JALAN KENARI17"


def test_total_label_nudges_only_grand_total_fields():
    from prunestack.pipeline.extract.extractive import total_label_adjust
    from prunestack.pipeline.schema import plan_fields

    fields = {f.name: f for f in plan_fields({"type": "object", "properties": {
        "total": {"type": "number"}, "subtotal": {"type": "number"},
        "tax_total": {"type": "number"}}})}
    for label in ("SUBTOTAL", "CASH", "CHANGE", "ROUNDING ADJ", "GST 6%", "TOTAL QTY"):
        assert total_label_adjust(fields["total"], label) < 0, label
    for label in ("TOTAL INCL. GST", "NETT TOTAL", "TOTAL (RM)", "GRAND TOTAL", "TOTAL"):
        assert total_label_adjust(fields["total"], label) > 0, label
    assert total_label_adjust(fields["subtotal"], "SUBTOTAL") == 0
    assert total_label_adjust(fields["tax_total"], "GST 6%") == 0


def test_tax_summary_amounts_and_rates_are_not_one_amount():
    from prunestack.pipeline.extract.values import parse_amount

    assert parse_amount("135.85 8. 15").value == 135.85  # was glued into 135858.15
    assert parse_amount("2.61 1,60").value == 2611.6  # one number split in a thousands group
    assert parse_amount("SR @ 6%") is None  # a rate, not an amount


def test_letterhead_registration_broken_over_two_lines():
    doc = receipt_doc(["UNIHAKKA INTERNATIONAL SDN BHD COMPANY",
                       "N0. 537226-V LOT 50, JALAN KENARI 17, TAMAN MAJU JAYA, 50450 KUALA "
                       "LUMPUR, W.P.", "TEL: 03-1234567", "TAX INVOICE"], TOTALS)
    name, addr = letterhead(doc)
    assert name.value == "UNIHAKKA INTERNATIONAL SDN BHD"
    assert addr.value == "LOT 50, JALAN KENARI 17, TAMAN MAJU JAYA, 50450 KUALA LUMPUR, W.P."
