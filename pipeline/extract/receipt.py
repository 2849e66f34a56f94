"""Till receipts: the shop name and address of the letterhead, and the receipt's date.

A shop receipt (SROIE / CORD style) names its issuer nowhere: the shop name is the first line,
centred in capitals, often with a registration number ("(860019-U)", "Co. Reg. No: ...") on or
under it, and the address is the lines after it up to the phone / GST / "TAX INVOICE" lines.
Label similarity cannot find them (no label says "company"), and the nearest label-like words
("CASHIER : ANIS") attract a top-level ``company`` field. For receipt-like documents (a narrow
page, or till words such as CASH / CHANGE / ROUNDING / CASHIER / THANK YOU) this module reads:

- a top-level seller-name string field (``company``, ``merchant``, ``store_name``...) from the
  first letter-dominated line that is not a document type or registration line, the registration
  part cut off;
- a top-level seller-address string field (``address``, ``store_address``...) from the lines
  after it, registration prefixes removed, cut at the first phone / GST / e-mail / document-type
  marker, joined by single spaces;
- a top-level date field the label scorer left empty, from the first date printed in the top
  part of the receipt (till receipts print one date, often after an unlabelled document number),
  as printed unless the field asks for ``format: date``.

It does not touch nested party objects (``pipeline.extract.extractive.parties`` reads those) nor
invoices that are not receipt-like.
"""

from __future__ import annotations

import re

from prunestack.pipeline.document import BBox, Document, ElementKind
from prunestack.pipeline.extract import values as V
from prunestack.pipeline.extract.extractive import parse_for
from prunestack.pipeline.extract.ocrfix import fix_letter_digit_confusions
from prunestack.pipeline.extract.types import Leaf
from prunestack.pipeline.schema import FieldSpec

SELLER_NAMES = frozenset({"company", "company_name", "merchant", "merchant_name", "store",
                          "store_name", "shop", "shop_name", "vendor", "vendor_name", "seller",
                          "seller_name", "business_name", "retailer", "issuer"})
SELLER_ADDRESSES = frozenset({"address", "company_address", "merchant_address", "store_address",
                              "shop_address", "vendor_address", "seller_address",
                              "business_address"})
DATE_NAMES = frozenset({"date", "receipt_date", "purchase_date", "transaction_date",
                        "invoice_date", "sale_date"})

_TILL_WORDS = re.compile(r"\b(?:CASH|CHANGE|ROUNDING|CASHIER|THANK\s?YOU|QTY|TOTAL\s*\(RM\)|"
                         r"NETT\s?TOTAL|CHANGE\s?DUE|TENDERED)\b", re.I)
_DOC_TYPE = re.compile(r"^\W*(?:(?:simplified\s+)?tax\s*invoice|invoice|(?:official\s+)?receipt|"
                       r"cash\s*(?:sale|bill)|bill|welcome|copy)\W*$", re.I)
#: a registration number: "Co. Reg. No: 2015...", "COMPANY NO. 252649-D", "(860019-U)", "ROC ..."
_REG = (r"(?:co(?:mpany)?\.?\s*(?:reg(?:istration)?\.?\s*)?no\.?|reg(?:istration)?\.?\s*no\.?|"
        r"roc\s*no\.?|business\s*reg\w*\.?\s*no\.?)\s*[:.]?\s*[\w-]*\d[\w-]*"
        r"|\(\s*\d{4,}\s*[-‐]?\s*[A-Z]\s*\)")
_REG_HEAD = re.compile(r"^\s*(?:" + _REG + r")[\s,.]*", re.I)
#: a registration number broken over two lines: "... SDN BHD COMPANY" / "NO. 537226-V LOT 50"
_REG_WORD_TAIL = re.compile(r"\s*\b(?:company|co\.?\s*reg(?:istration)?\.?|reg(?:istration)?\.?)"
                            r"(?:\s*no\.?)?\s*$", re.I)
_REG_NUMBER_HEAD = re.compile(r"^\s*(?:no\.?\s*[:.]?\s*)?\d{5,8}\s*-\s*[A-Z]\b[\s,.]*", re.I)
#: where the address ends: the phone, fax, GST/SST number, e-mail or a document-type line
_STOP = re.compile(r"\b(?:tel|phone|ph|fax|h/?p|mobile|gst|sst|e-?mail|website|www\.|"
                   r"(?:simplified\s+)?tax\s*invoice|receipt|invoice)\b", re.I)


#: words of paying at a till (an invoice has QTY and THANK YOU too, but not these)
_PAY_WORDS = re.compile(r"\b(?:CASH|CHANGE|ROUNDING|CASHIER|TENDERED|CHANGE\s?DUE)\b", re.I)


def till_receipt(doc: Document) -> bool:
    """A till receipt: a strip-shaped first page (width/height under 0.55; A4 and Letter are
    0.71-0.77) or at least two words of paying at a till (CASH, CHANGE, CASHIER, ROUNDING,
    TENDERED)."""
    return _till_page(doc, 0.55, _PAY_WORDS)


def receipt_like(doc: Document) -> bool:
    """A narrow first page (a till strip) or at least two till words (CASH, CHANGE, CASHIER...)."""
    return _till_page(doc, 0.7, _TILL_WORDS)


def _till_page(doc: Document, narrow: float, words: re.Pattern[str]) -> bool:
    """Page 1 is narrower than ``narrow`` (width/height) or shows two distinct ``words``."""
    if not doc.pages:
        return False
    p = doc.pages[0]
    if p.width and p.height and p.width / p.height < narrow:
        return True
    return len({m.group(0).upper() for e in p.elements for m in words.finditer(e.text)}) >= 2


_FULLWIDTH = str.maketrans({"，": ", ", "（": "(", "）": ")", "：": ":", "！": "!", "．": "."})


def _top_lines(doc: Document) -> list[tuple[str, BBox, str, float]]:
    """Page 1's text lines before the first table (the item list), in reading order:
    (text, element box, element id, confidence)."""
    out = []
    for e in doc.pages[0].elements:
        if e.kind == ElementKind.TABLE:
            break
        for ln in e.text.splitlines():
            if ln.strip():
                text = fix_letter_digit_confusions(" ".join(ln.translate(_FULLWIDTH).split()))
                out.append((text, e.bbox, e.id, e.confidence))
    return out


def _letter_share(text: str) -> float:
    chars = [c for c in text if not c.isspace()]
    return sum(c.isalpha() for c in chars) / max(1, len(chars))


#: where an address starts inside a line the layout joined to the shop name: "NO. 12,",
#: "LOT 5", "UNIT 3", a house number with a comma
_ADDR_START = re.compile(r"\b(?:NO|LOT|UNIT|BLK|BLOCK)\.?\s*\d|(?<=\s)\d{1,4}[A-Z]?\s*,",
                         re.I)


_COMMA_GLUE = re.compile(r"(?<=[^\W\d_.]),(?=[^\W_])|(?<=\d),(?=[^\W\d_])")
#: a Malaysian / most European postcode, possibly glued to the town ("81750JOHOR BAHRU")
_POSTCODE = re.compile(r"(?<!\d)\d{5}(?!\d)")


def _name_and_rest(text: str) -> tuple[str, str]:
    """A first letterhead line split into the shop name and what follows it on the line (the
    layout often joins the name, its registration number and the first address line)."""
    m = re.search(_REG, text, re.I)
    if m is not None and m.start() > 0:
        return text[:m.start()].strip(" ,.-"), text[m.end():].strip()
    a = _ADDR_START.search(text)
    if a is not None and a.start() > 0:
        return text[:a.start()].strip(" ,.-"), text[a.start():].strip()
    return text.strip(" ,-"), ""


def letterhead(doc: Document) -> tuple[Leaf | None, Leaf | None]:
    """The shop name and the address under it, as leaves (``None`` where not found)."""
    lines = _top_lines(doc)
    name = None
    start, rest0 = 0, ""
    for i, (text, box, eid, conf) in enumerate(lines[:4]):
        if _REG_HEAD.match(text) or _DOC_TYPE.match(text) or _STOP.match(text):
            continue
        cut, rest = _name_and_rest(text)
        if not rest and _REG_WORD_TAIL.search(cut):
            cut = _REG_WORD_TAIL.sub("", cut)
            if i + 1 < len(lines) and _REG_NUMBER_HEAD.match(lines[i + 1][0]):
                # the number continues on the next line: the address follows it there
                lines[i + 1] = (_REG_NUMBER_HEAD.sub("", lines[i + 1][0]), *lines[i + 1][1:])
        if cut and _letter_share(cut) >= 0.5 and not _ADDR_START.match(cut) and \
                V.parse_date(cut) is None:
            name = Leaf(cut, doc.pages[0].number, box, eid, round(0.7 * conf, 4), cut)
            start, rest0 = i + 1, rest
            break
    if name is None:
        return None, None
    parts: list[tuple[str, BBox, str, float]] = []
    first = lines[start - 1]
    todo = ([(rest0, first[1], first[2], first[3])] if rest0 else []) + lines[start:start + 8]
    for text, box, eid, conf in todo:
        rest = _REG_HEAD.sub("", text).strip()
        if not rest:
            continue  # a registration line of its own
        stop = _STOP.search(rest)
        if stop is not None:
            rest = rest[:stop.start()].strip(" ,")
        if V.parse_date(rest) is not None and not parts:
            break
        if rest:
            parts.append((rest, box, eid, conf))
        if stop is not None:
            break
    # OCR drops the space after a comma ("LOT 92,JALAN IPOH"); printed addresses have one
    text = fix_letter_digit_confusions(_COMMA_GLUE.sub(", ", " ".join(p[0] for p in parts)))
    if not parts or not re.search(r"\d", text) or (V.address_score(text) < 0.3 and
                                                    not _POSTCODE.search(text) and
                                                    text.count(",") < 2):
        return name, None
    addr = Leaf(text, doc.pages[0].number, BBox.enclosing([p[1] for p in parts]), parts[0][2],
                round(0.7 * min(p[3] for p in parts), 4), text)
    return name, addr


def receipt_date(doc: Document, dayfirst: bool | None, spec: FieldSpec | None = None
                 ) -> Leaf | None:
    """The first date printed on page 1 (a till prints one; after the document number), as
    ``spec`` wants it (``extractive.field_value``: as printed, or ISO for ``format: date``)."""
    for e in doc.pages[0].elements:
        for ln in e.text.splitlines():
            p = parse_for("date", ln, spec, dayfirst)
            if p is not None:
                return Leaf(p.value, e.page, e.bbox, e.id, round(0.6 * e.confidence, 4), p.span)
    return None


def receipt_fields(doc: Document, fields: list[FieldSpec]) -> dict[str, Leaf]:
    """Top-level seller name and address of a receipt-like document (see the module doc)."""
    flat = {str(f.path[0]).lower(): f for f in fields if len(f.path) == 1 and f.type == "string"}
    want_name = [f for n, f in flat.items() if n in SELLER_NAMES]
    want_addr = [f for n, f in flat.items() if n in SELLER_ADDRESSES]
    if not (want_name or want_addr) or not receipt_like(doc):
        return {}
    name, addr = letterhead(doc)
    out: dict[str, Leaf] = {}
    if name is not None:
        out.update({f.dotted: name for f in want_name[:1]})
    if addr is not None:
        out.update({f.dotted: addr for f in want_addr[:1]})
    return out


def missing_date(doc: Document, fields: list[FieldSpec], found: dict[str, Leaf]
                 ) -> dict[str, Leaf]:
    """A receipt's only top-level date field, when label scoring found nothing for it (day or
    month first as the document's own dates and locale signs say: ``values.date_order_hint``)."""
    dates = [f for f in fields if len(f.path) == 1 and str(f.path[0]).lower() in DATE_NAMES
             and f.type == "string"]
    if len(dates) != 1 or dates[0].dotted in found or not receipt_like(doc):
        return {}
    leaf = receipt_date(doc, V.date_order_hint([e.text for e in doc.elements()]), dates[0])
    return {dates[0].dotted: leaf} if leaf is not None else {}
