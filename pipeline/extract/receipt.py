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

It also holds the receipt facts the learned scorer (``pipeline.extract.scorer``) applies to its
picks, each a plain reading rule checked on the 280 SROIE training receipts it was not written on:

- :func:`cash_rounded`: a grand total is the cash-rounded amount when the till prints a rounding
  line and the pick is not a multiple of 5 cents;
- :func:`address_start`: an address starts at the building / floor / unit lines just above the
  street line a scorer prefers;
- :func:`name_start`: a business name read from its second line ("ENTERPRISE ... SDN BHD") starts
  one line up;
- :func:`other_party_line` / :func:`owner_line`: the issuer's name and address never come from a
  "BILL TO :" block (nor the till software's "POWERED BY ..." line), nor the name from under a
  lone "OWNED BY :" label;
- :func:`paid_total`: a grand total is what was tendered less the change, when the page prints
  both ("CASH 20.00 / CHANGE 1.20") and a candidate holds that amount;
- :func:`address_head` / :func:`address_end`: an address does not start with the shop's name
  or branch (a line of words that names no place), and runs on to its postcode-and-town line
  and its state line ("SELANGOR", "DARUL EHSAN"), not past its country or into a bracketed
  branch; :func:`business_line`: a line with a legal form is never the address;
- :func:`label_line`: the issuer's name never comes from a contact, social-media or staff line
  ("FACEBOOK: ZENANDCOFFEE", "SERVED BY: CASHIER").

It does not touch nested party objects (``pipeline.extract.extractive.parties`` reads those) nor
invoices that are not receipt-like.
"""

from __future__ import annotations

import re
from typing import Any

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
                       r"cash\s*(?:sale|bill)|bill|welcome|copy|guest\s*check)\W*$", re.I)
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


#: a till's cash rounding: "ROUNDING ADJ", "TOTAL ROUNDED", "RND", "ROUND OFF"
_ROUNDING = re.compile(r"\bround(?:ing|ed)?\b|\brnd\b", re.I)


def cash_rounded(amounts: list[Any], scores: list[float], best: int, texts: list[str]) -> int:
    """The candidate a grand total keeps: ``best``, or, on a page that prints a rounding line
    and when ``best``'s amount is not a whole multiple of 5 cents, the best-scoring candidate
    whose amount is, within 4 cents of it — the rounded total the customer paid ("TOTAL
    30.91 / ROUNDING ADJUSTMENT 0.01 / TOTAL ROUNDED 30.90"). ``amounts`` are the candidates'
    values (numbers, or amount strings such as "RM 30.90"), ``texts`` the page's lines."""
    value = _amount(amounts[best])
    if value is None or _five_cents(value) or not any(_ROUNDING.search(t) for t in texts):
        return best
    near = [i for i, a in enumerate(amounts)
            if (v := _amount(a)) is not None and _five_cents(v) and 0 < abs(v - value) < 0.045]
    return max(near, key=lambda i: scores[i]) if near else best


#: a line that starts with what the customer handed over: "CASH", "CASH TENDERED", "PAYMENT",
#: "ACCEPTED TOTAL" (not "CASHIER", "CASH SALE", "CASH BILL", "CASH CHANGE")
_TENDER = re.compile(r"^\W*(?:cash(?!\s*(?:ier|sale|bill|change|\s*refund))(?:\s*(?:tendered|paid|"
                     r"received|rm))?|tender(?:ed)?|payment|paid|amount\s*(?:paid|tendered|received)|"
                     r"accepted\s*total|received)\b", re.I)
#: a line that starts with the change given back: "CHANGE", "CHANGE DUE", "YOUR CHANGE"
_CHANGE = re.compile(r"^\W*(?:(?:cash|your)\s*)?change(?:\s*(?:due|amt|amount|rm))?\b", re.I)


def paid_total(amounts: list[Any], scores: list[float], best: int, texts: list[str],
               boxes: list[BBox], pages: list[int]) -> int:
    """The candidate a grand total keeps: ``best``, or, on a page that prints both the amount
    tendered and the change ("CASH 20.00 / CHANGE 1.20"), the best-scoring candidate whose
    amount is their difference when ``best``'s is not — what the customer paid, which a till
    prints as its grand total whatever the lines above it are called (subtotal before tax,
    GST summary "TOTAL", rounding). ``texts`` / ``boxes`` / ``pages`` are the page's lines; a
    label's amount is on its line or on the nearest line to its right in the same row."""
    tendered = _labelled_amount(_TENDER, texts, boxes, pages)
    change = _labelled_amount(_CHANGE, texts, boxes, pages, after=tendered[0] if tendered else None)
    if tendered is None or change is None or tendered[1] <= change[1]:
        return best
    paid = round(tendered[1] - change[1], 2)
    value = _amount(amounts[best])
    if value is not None and abs(value - paid) < 0.005:
        return best
    same = [i for i, a in enumerate(amounts)
            if (v := _amount(a)) is not None and abs(v - paid) < 0.005]
    return max(same, key=lambda i: scores[i]) if same else best


def _labelled_amount(label: re.Pattern[str], texts: list[str], boxes: list[BBox], pages: list[int],
                     after: int | None = None) -> tuple[int, float] | None:
    """(line index, amount) of the first line that starts with ``label`` (below line ``after``
    when given, or in its row) and has an amount: after the label on its line, else the nearest
    amount-only line to its right in the same row."""
    for i, t in enumerate(texts):
        m = label.match(t)
        if m is None or (after is not None and (pages[i] != pages[after] or
                                                boxes[i].y1 <= boxes[after].y1)):
            continue
        rest = t[m.end():]
        if re.search(r"[^\W\d]{2}", _AMOUNT_MARKS.sub("", rest)):
            continue  # more words after the label: "PAID TIME", "CASH REFUND POLICY"
        if (v := _only_amount(rest)) is not None:
            return i, v
        row = {j: v for j in range(len(texts)) if j != i and pages[j] == pages[i] and
               boxes[j].x0 >= boxes[i].x1 and _same_row(boxes[i], boxes[j]) and
               (v := _only_amount(texts[j])) is not None}
        if row:
            return i, row[min(row, key=lambda j: boxes[j].x0)]
    return None


#: what may stand beside an amount on a till line: a currency word, "SR" / "ZR" tax codes, "*"
_AMOUNT_MARKS = re.compile(r"\b(?:RM|MYR|SGD|USD|SR|ZR|S|Z)(?![^\W\d])", re.I)


def _only_amount(text: str) -> float | None:
    """The amount of a line that holds one decimal amount and nothing else but punctuation and
    :data:`_AMOUNT_MARKS` (":  RM 20.00", "RM100.00", "4.90 *"); ``None`` otherwise."""
    found = V.printed_amounts(text)
    if len(found) != 1 or ("." not in found[0] and "," not in found[0]):
        return None
    rest = _AMOUNT_MARKS.sub("", text.replace(found[0], " "))
    if any(ch.isalnum() for ch in rest):
        return None
    return _amount(found[0])


def _same_row(a: BBox, b: BBox) -> bool:
    """``b``'s vertical centre lies within ``a``'s height, or ``a``'s within ``b``'s."""
    cb, ca = (b.y0 + b.y1) / 2, (a.y0 + a.y1) / 2
    return a.y0 <= cb <= a.y1 or b.y0 <= ca <= b.y1


def _amount(value: Any) -> float | None:
    """A candidate's amount: its number, or an amount string read by ``values.parse_amount``
    ("RM 1,234.50" → 1234.5)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    p = V.parse_amount(str(value))
    return float(p.value) if p is not None else None


def _five_cents(value: float) -> bool:
    cents = round(value * 100)
    return abs(value * 100 - cents) < 1e-6 and cents % 5 == 0


#: words of a street address's first lines: the building, floor, unit and street ("LEVEL 6,
#: BANGUNAN TH, DAMANSARA UPTOWN3", "G-26, GRD FLOOR, CITTA MALL", "UNIT 105, BLOCK A, ...")
_ADDRESS_WORDS = re.compile(
    r"\b(?:lot|level|lvl|floor|flr|gnd|grd|ground|basement|unit|suite|block|blk|no|"
    r"jalan|jln|lorong|persiaran|taman|tmn|bandar|seksyen|kawasan|bangunan|menara|wisma|"
    r"kompleks|complex|plaza|mall|tower|building|bldg|centre|center|pusat|dataran|avenue|"
    r"street|road|square)\b\.?", re.I)
#: a unit number: "G-26", "A-G-06", "4F-27", "#02-03", "37-1"
_UNIT_NUMBER = re.compile(r"#\s*\d|\b[A-Z]?\d*[A-Z]?\d+-[A-Z0-9]+(?:-[A-Z0-9]+)?\b", re.I)
#: a line that names a business, not a place: legal forms, a registration number
_BUSINESS = re.compile(r"\b(?:sdn\.?\s*bhd|bhd|s/b|enterprise|trading|ltd|limited|inc|llc|"
                       r"gmbh|plc|corp(?:oration)?|company|co\.|reg)(?:\W|$)|"
                       r"\b\d{5,8}\s*-\s*[A-Z]\b", re.I)


def business_line(text: str) -> bool:
    """``text`` names a business (a legal form, a registration number): never an address
    ("GH DISTRIBUTOR & MARKETING SDN BHD" is the name above it)."""
    return bool(_BUSINESS.search(text))


def address_line(text: str) -> bool:
    """A line that reads as the start of a street address (building, floor, unit, street words
    or a unit number) and not as a business name, registration, phone or document-type line."""
    t = text.strip()
    if not t or _BUSINESS.search(t) or re.search(_REG, t, re.I) or _STOP.search(t) or \
            _DOC_TYPE.match(t) or _letter_share(t) < 0.4:
        return False
    return bool(_ADDRESS_WORDS.search(t) or _UNIT_NUMBER.search(t))


def address_start(texts: list[str], boxes: list[BBox], first: int, taken: set[int],
                  most: int = 2) -> int:
    """Where an address picked as lines ``first..`` really starts: up to ``most`` lines above
    it that are :func:`address_line`\\ s, close above (a gap under one line height), not
    ``taken`` by another field, the top one holding a number (a unit, floor or lot; a line of
    words above it is a branch or mall name). These are the building and floor lines a scorer
    leaves off when it prefers the line with the street number ("LEVEL 6, BANGUNAN TH,
    DAMANSARA UPTOWN3" above "NO.3, JALAN SS21/39, 47400 PETALING JAYA")."""
    start = first
    while start > 0 and first - start < most and start - 1 not in taken:
        if not _close_above(boxes[start - 1], boxes[start]) or \
                not address_line(texts[start - 1]):
            break
        start -= 1
    while start < first and not any(ch.isdigit() for ch in texts[start]):
        start += 1  # an address starts at its unit or building number, not at a branch name
    return start


#: words that end a business name and never begin one: "AIK HUAT HARDWARE / ENTERPRISE
#: (SETIA ALAM) SDN BHD" read from its second line starts with one
_NAME_TAIL_WORDS = frozenset({"enterprise", "enterprises", "trading", "sdn", "bhd", "holdings",
                              "industries", "corporation", "company", "co", "ltd", "limited",
                              "inc", "llc", "gmbh", "plc", "(m)"})


#: a postcode at the start of a line: "81750 JOHOR BAHRU", "15000 KHEMISSET"
_POSTCODE_HEAD = re.compile(r"^\s*\d{4,6}\b\s*,?\s*[^\W\d]{2}")
_POSTCODE = re.compile(r"(?<![\d-])\d{5}(?![\d-])")
#: where an address ends for sure: its country
_COUNTRY_END = re.compile(r"\b(?:malaysia|singapore|indonesia|thailand|brunei|philippines|"
                          r"vietnam|china|japan|india|morocco|australia)\W*$", re.I)


def address_end(texts: list[str], boxes: list[BBox], last: int, taken: set[int],
                most: int = 2) -> int:
    """Where an address picked as lines ``..last`` really ends: up to ``most`` lines close below
    it, not ``taken``, that finish it — the postcode-and-town line when the pick holds no
    postcode yet ("BANDAR BARU PERMAS JAYA" / "81750 JOHOR BAHRU, JOHOR."), or, after a pick
    that holds its postcode and does not end with a country, a short line of words only (the
    state: "SELANGOR", "DARUL EHSAN"). Phone, tax, document-type and business lines end it, and
    so does a branch name in brackets."""
    end = last
    while end + 1 < len(texts) and end - last < most and end + 1 not in taken and \
            _close_above(boxes[end], boxes[end + 1]):
        t = texts[end + 1].strip()
        if not t or _STOP.search(t) or _DOC_TYPE.match(t) or _BUSINESS.search(t) or \
                re.search(_REG, t, re.I) or re.fullmatch(r"\(.*\)\W*", t):
            break  # (a line in brackets is the branch: "(TESCO EXTRA KAJANG)")
        body = " ".join(texts[:end + 1])
        has_postcode = bool(_POSTCODE.search(body))
        if not has_postcode and _POSTCODE_HEAD.match(t):
            end += 1
        elif has_postcode and not _COUNTRY_END.search(texts[end]) and len(t.split()) <= 3 and \
                not any(ch.isdigit() for ch in t) and _letter_share(t) >= 0.7:
            end += 1
        else:
            break
    return end


def address_head(texts: list[str]) -> int:
    """How many of an address pick's first lines ``texts`` are not address but the shop's name
    or branch above it: leading lines with no digit and no address word ("THREE STOOGES BISTRO
    & CAFE", "BHPETROL SUBANG AIRPORT", "SEGI CASH & CARRY SDN. BHD."), at least one line left.
    A words-only line that names a place stays ("PARADIGM MALL", "MENARA KEN")."""
    drop = 0
    while drop < len(texts) - 1 and not any(ch.isdigit() for ch in texts[drop]) and \
            not (_ADDRESS_WORDS.search(texts[drop]) and not _BUSINESS.search(texts[drop])):
        drop += 1
    return drop


def name_start(texts: list[str], boxes: list[BBox], first: int, taken: set[int]) -> int:
    """Where a business name picked as lines ``first..`` starts: one line earlier when the pick
    begins with a word that ends names (ENTERPRISE, TRADING, SDN BHD...) and the line close
    above is words only (no digits, no document-type line), not ``taken`` by another field."""
    words = texts[first].split()
    if first == 0 or first - 1 in taken or not words or \
            words[0].lower().strip(".,") not in _NAME_TAIL_WORDS:
        return first
    t = texts[first - 1].strip()
    if not _close_above(boxes[first - 1], boxes[first]) or any(ch.isdigit() for ch in t) or \
            _DOC_TYPE.match(t) or _letter_share(t) < 0.7:
        return first
    return first - 1


def _close_above(above: BBox, here: BBox) -> bool:
    """``above`` is the line just over ``here``: it starts higher, and the gap between them is
    under one line height (``here``'s)."""
    return above.y0 < here.y0 and here.y0 - above.y1 <= max(1.0, here.y1 - here.y0)


#: a label naming the business that owns the shop: "OWNED BY :", "DIMILIKI OLEH", "OPERATED BY"
_OWNER_LABEL = re.compile(r"\b(?:owned|operated|managed)\s+by\b|\bdimiliki\b", re.I)


def owner_line(texts: list[str], i: int) -> bool:
    """Line ``i`` is only an owner label ("OWNED BY :") or follows one ("SANYU SUPPLY SDN
    BHD", also with a document-type line such as "TAX INVOICE" read between them): it names the
    legal entity behind the shop, not the shop its letterhead prints. (A label and name on one
    line, "DIMILIKI OLEH : DOVE HOLDINGS SDN BHD", is left to the scorer: annotators take such
    lines as the company.)"""
    j = i - 1
    while j >= 0 and _DOC_TYPE.match(texts[j]):  # "TAX INVOICE" printed beside the label
        j -= 1
    return _owner_label(texts[i]) or (j >= 0 and _owner_label(texts[j]))


def _owner_label(text: str) -> bool:
    """``text`` is an owner label and nothing after it ("OWNED BY :")."""
    m = _OWNER_LABEL.search(text)
    return m is not None and not text[m.end():].strip(" :.-")


#: a contact, social-media or staff label: what follows it is a handle, an address or a
#: person, never the business's name ("FACEBOOK: ZENANDCOFFEE", "SERVED BY: CASHIER")
_LABEL_LINE = re.compile(r"^\W*(?:e-?mail|facebook|fb|instagram|ig|twitter|whatsapp|line|"
                         r"wechat|wi-?fi(?:\s+password)?|password|website|web|url|"
                         r"tel|phone|fax|h/?p|served\s+by|cashier|operator|sales\s*person|"
                         r"staff|waiter|server|clerk)\b[^:]{0,12}:", re.I)


def label_line(text: str) -> bool:
    """``text`` starts with a contact, social-media or staff label ("FACEBOOK: ZENANDCOFFEE",
    "WIFI PASSWORD: ...", "SERVED BY: CASHIER"): the words after it are not the business's
    printed name."""
    return bool(_LABEL_LINE.match(text))


#: a label that starts another party's block: "BILL TO :", "SHIP TO", "SOLD TO", "CUSTOMER :"
#: and the till software's maker: "POWERED BY ARMS F&B", "SOFTWARE BY ..."
_OTHER_PARTY = re.compile(r"^\W*(?:bill(?:ed)?|ship(?:ped)?|sold|deliver(?:ed)?|invoice)\s+to\b|"
                          r"^\W*(?:customer|buyer|consignee)\b|"
                          r"\b(?:powered|software|system|pos)\s+(?:by|from)\b", re.I)


def other_party_line(texts: list[str], i: int, reach: int = 4) -> bool:
    """Line ``i`` is in the block of another party than the issuer: within ``reach`` lines
    under a "BILL TO :" / "SHIP TO" / "CUSTOMER" label (or on the label's line), before any
    phone, tax-number or document-type line closes the block."""
    for j in range(i, max(-1, i - reach - 1), -1):
        if _OTHER_PARTY.search(texts[j]):
            return True
        if j < i and (_STOP.search(texts[j]) or _DOC_TYPE.match(texts[j])):
            return False
    return False
