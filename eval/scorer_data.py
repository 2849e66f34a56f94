"""Training data for the learned field scorer: varied synthetic documents, and the chain of real,
augmented and synthetic documents that training reads.

What it does:

- :func:`synthetic_documents` makes ``n`` labelled documents (till receipts in a Malaysian
  or a Western style, invoices, application forms) from the synthetic generator's content
  (``eval.synth.content``: names, addresses, phones, items, money styles, date formats) laid
  out as OCR-like line boxes and passed through the same layout step as a scan
  (``parsers.layout.aggregate``), so a document costs milliseconds, not a PDF render. Each
  document gets its own schema: a random subset of field concepts, each under one of many key
  names (some nested: ``vendor.name``) with a paraphrased description or none
  (``scorer_fields.json``, data, not code), string fields expected AS PRINTED, a few fields
  typed (``format: date`` → ISO, ``number`` → a float). The pages carry what real receipts
  carry around the values: registration numbers glued after company names (expected without
  them), logo and branch lines above the name, subtotal / tax / rounding / cash / change
  amounts around the total, GST summaries with their own "Total", label/amount blocks printed
  as two separate columns, a second date (an exchange deadline, a reprint), greetings and
  footers.
- :func:`training_documents` chains the real documents (the reader passed in, e.g.
  ``train_scorer.documents``), ``augment_copies`` scan-like copies of each
  (``eval.scorer_augment.augment``: noise around the expected values, never in them), and
  ``synthetic`` synthetic documents, every other one augmented: the iterator
  ``train_scorer.train`` consumes. The reader is passed in (``read=``) because
  ``train_scorer`` imports this module: the layer test forbids the cycle.

What it does not do: build candidates or training groups (``train_scorer.groups_of``), train,
add noise (``eval.scorer_augment``), render images or run OCR (``eval.synth.generate`` writes
PDFs and degraded scans for the benchmarks).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from prunestack.errors import ConfigError
from prunestack.eval.scorer_augment import augment, keep_strings
from prunestack.eval.synth import content as C
from prunestack.parsers.layout import aggregate
from prunestack.parsers.lines import line_from_box
from prunestack.parsers.primitives import PageLines
from prunestack.pipeline.document import BBox, Document, Source

Labelled = tuple[str, Document, dict[str, Any], dict[str, Any]]
#: concept -> {"names": [...], "descriptions": [...]} (dotted names are nested key paths)
CONCEPTS: dict[str, dict[str, list[str]]] = {
    k: v for k, v in json.loads((Path(__file__).with_name("scorer_fields.json"))
                                .read_text(encoding="utf-8")).items() if not k.startswith("_")}

_MY_WORDS = ["MAJU", "JAYA", "SRI", "BINTANG", "MUTIARA", "SENTOSA", "SEJAHTERA", "INDAH", "ABADI",
             "KIM", "HENG", "WAN", "SHENG", "LIAN", "HUAT", "TECK", "GUAN", "SOON", "FATT"]
_MY_KINDS = ["KEDAI RUNCIT", "RESTORAN", "SYARIKAT", "PERNIAGAAN", "KEDAI MAKANAN", "HARDWARE",
             "BOOK", "STATIONERY", "TRADING", "PHARMACY", "MINI MARKET", "BAKERY"]
_MY_SUFFIX = ["SDN BHD", "SDN. BHD.", "ENTERPRISE", "TRADING", "(M) SDN BHD", "SDN BHD", "& CO"]
_MY_STREETS = ["JALAN MERANTI", "JALAN SAGU", "JALAN BUKIT BINTANG", "JALAN TUN RAZAK",
               "JALAN PJU", "LORONG PERDANA", "JALAN KLANG LAMA", "JALAN SS"]
_MY_AREAS = ["TAMAN DAYA", "TAMAN SRI MUDA", "BANDAR BARU", "TAMAN MELAWATI", "SEKSYEN 13",
             "TAMAN PELANGI", "BANDAR PUCHONG JAYA"]
_MY_CITIES = [("40400", "SHAH ALAM", "SELANGOR"), ("81100", "JOHOR BAHRU", "JOHOR"),
              ("50450", "KUALA LUMPUR", "W.P. KUALA LUMPUR"), ("47100", "PUCHONG", "SELANGOR"),
              ("10250", "GEORGETOWN", "PULAU PINANG"), ("69000", "GENTING HIGHLANDS", "PAHANG")]
_MY_ITEMS = ["MILO 1KG", "ROTI GARDENIA", "NASI LEMAK", "TEH TARIK", "KF MODELLING CLAY",
             "A4 PAPER 80GSM", "MINERAL WATER 1.5L", "CHICKEN RICE", "KOPI O", "PANADOL 10S",
             "SPARE RIB PLATTER", "ICE LEMON TEA", "BATTERY AA 4S", "SCOTCH TAPE"]
_GREETINGS = ["THANK YOU", "PLEASE COME AGAIN !", "THANK YOU, PLEASE COME AGAIN",
              "GOODS SOLD ARE NOT RETURNABLE OR EXCHANGEABLE", "Have a nice day!",
              "Thank you for shopping with us", "*** CUSTOMER COPY ***", "Powered by iPOS",
              "WELCOME", "SERVED WITH PRIDE"]


# ------------------------------------------------------------------------ page as line boxes
class _Sheet:
    """Line boxes on one page, written top to bottom (monospaced text: width ∝ characters)."""

    def __init__(self, width: float, size: float, rng: random.Random) -> None:
        self.width, self.size, self.rng = width, size, rng
        self.margin = 0.05 * width
        self.y = self.margin
        self.boxes: list[tuple[str, BBox]] = []

    def put(self, text: str, where: str | float = "left", dy: float = 0.0) -> None:
        text = " ".join(text.split())
        if not text:
            return
        w = len(text) * self.size * 0.6
        if where == "center":
            x0 = (self.width - w) / 2
        elif where == "right":
            x0 = self.width - self.margin - w
        elif where == "left":
            x0 = self.margin
        else:
            x0 = float(where)
        x0 += self.rng.uniform(-1.5, 1.5)
        y0 = self.y + dy + self.rng.uniform(-0.8, 0.8)
        self.boxes.append((text, BBox(x0=max(0.0, x0), y0=y0, x1=max(0.0, x0) + w,
                                      y1=y0 + self.size)))

    def row(self, *cells: tuple[str, str | float]) -> None:
        for text, where in cells:
            self.put(text, where)
        self.nl()

    def nl(self, lines: float = 1.0) -> None:
        self.y += lines * self.size * 1.45

    def document(self, name: str) -> Document:
        lines = [line_from_box(t, b) for t, b in self.boxes]
        lines.sort(key=lambda ln: (ln.bbox.y0, ln.bbox.x0))
        page = PageLines(number=1, width=self.width, height=self.y + self.margin, lines=lines,
                         source=Source.OCR, ocr_backend="synthetic")
        return aggregate([page], source_name=name, mime_type="image/png")


class _Values:
    """What a page shows per concept: the printed text, and the number or ISO date behind it."""

    def __init__(self) -> None:
        self.printed: dict[str, str] = {}
        self.number: dict[str, float] = {}
        self.iso: dict[str, str] = {}

    def add(self, concept: str, printed: str, number: float | None = None,
            iso: str | None = None) -> str:
        self.printed[concept] = printed
        if number is not None:
            self.number[concept] = number
        if iso is not None:
            self.iso[concept] = iso
        return printed


def _money(rng: random.Random, lo: float, hi: float) -> Decimal:
    return C.money(rng.uniform(lo, hi))


def _my_company(rng: random.Random) -> str:
    words = rng.sample(_MY_WORDS, rng.randint(1, 3))
    return " ".join([rng.choice(_MY_KINDS), *words, rng.choice(_MY_SUFFIX)])


def _reg_no(rng: random.Random) -> str:
    return f"{rng.randint(1000, 1299999):06d}-{rng.choice('AXKPWUHTVDM')}"


def _my_address(rng: random.Random) -> list[str]:
    pc, city, state = rng.choice(_MY_CITIES)
    first = f"NO. {rng.randint(1, 99)}, {rng.choice(_MY_STREETS)} {rng.randint(1, 30)},"
    lines = [first, f"{rng.choice(_MY_AREAS)},", f"{pc} {city}, {state}."]
    if rng.random() < 0.3:
        lines = [first + f" {rng.choice(_MY_AREAS)},", lines[2]]
    return lines


def _date_text(rng: random.Random, d: Any, style: str) -> str:
    if style == "my":
        f = rng.choice(["dmy", "dmy", "dmy_dash", "dmon", "iso", "dmy_dot"])
        mon = C.MONTHS[d.month - 1][:3].upper()
        return {"dmy": f"{d.day:02d}/{d.month:02d}/{d.year}",
                "dmy_dash": f"{d.day:02d}-{d.month:02d}-{d.year}",
                "dmon": f"{d.day:02d}/{mon}/{d.year}" if rng.random() < 0.5 else
                f"{d.day:02d} {mon} {d.year}",
                "iso": d.isoformat(), "dmy_dot": f"{d.day:02d}.{d.month:02d}.{d.year}"}[f]
    return C.format_date(d, rng.choice(C.DATE_FORMATS))


def _labelled(s: _Sheet, rng: random.Random, label: str, value: str) -> None:
    """``label value`` as one box, or label and value as two boxes on one row."""
    r = rng.random()
    if r < 0.45:
        s.row((f"{label} {value}", "left"))
    elif r < 0.8:
        s.row((label, "left"), (value, s.margin + (len(label) + 2) * s.size * 0.6))
    else:
        s.row((label, "left"), (value, "right"))


# ------------------------------------------------------------------------ document kinds
def _receipt(rng: random.Random) -> tuple[_Sheet, _Values]:
    """A till receipt: Malaysian (SROIE-like) or Western style."""
    my = rng.random() < 0.65
    s, v = _Sheet(rng.uniform(380, 620), rng.uniform(11, 16), rng), _Values()
    if rng.random() < 0.25:  # a logo or branch line above the name
        s.row((rng.choice(["MORGANFIELD'S", "99 SPEEDMART", "MR. D.I.Y.", "*** WELCOME ***",
                           "TAN WOON YANN", "@ BRANCH 12"]), "center"))
    name = _my_company(rng) if my else rng.choice([C.company(rng), rng.choice(C.SHOPS).upper()])
    v.add("company", name)
    reg = _reg_no(rng)
    v.add("registration", reg)
    glue = rng.random()
    if glue < 0.25:
        s.row((f"{name} ({reg})", "center"))
    elif glue < 0.35:
        s.row((f"{name} {reg}", "center"))
    else:
        s.row((name, "center"))
        s.row((rng.choice([f"({reg})", f"CO. REG. NO: {reg}", f"COMPANY NO : {reg}"]), "center"))
    if my:
        addr = _my_address(rng)
    else:
        a = C.address(rng)
        addr = [a["street"], f"{a['postal_code']} {a['city']}", a["country"]]
    for ln in addr:
        s.row((ln, "center"))
    v.add("address", " ".join(addr))
    phone = f"0{rng.randint(3, 9)}-{rng.randint(1000, 9999)} {rng.randint(1000, 9999)}" if my \
        else C.phone(rng)
    v.add("phone", phone)
    s.row((f"{rng.choice(['TEL:', 'TEL NO:', 'Tel', 'PHONE:'])} {phone}", "center"))
    if my and rng.random() < 0.7:
        s.row((f"GST REG NO : {rng.randint(0, 9999):04d} {rng.randint(0, 9999):04d} "
               f"{rng.randint(0, 9999):04d}", "center"))
    s.nl(0.5)
    s.row((rng.choice(["TAX INVOICE", "CASH BILL", "RECEIPT", "SIMPLIFIED TAX INVOICE",
                       "OFFICIAL RECEIPT"]), "center"))
    number = rng.choice(["CS", "TD", "INV", "R", ""]) + f"{rng.randint(1, 99999999):08d}"
    v.add("number", number)
    _labelled(s, rng, rng.choice(["INVOICE NO:", "BILL NO :", "DOC NO.:", "Receipt #",
                                  "DOCUMENT NO :", "RECEIPT NO:"]), number)
    day = C.random_date(rng, C.dt.date(2016, 1, 1), 2500)
    date = v.add("date", _date_text(rng, day, "my" if my else "west"), iso=day.isoformat())
    hh, mm, ss = rng.randint(7, 22), rng.randint(0, 59), rng.randint(0, 59)
    time = rng.choice([f"{hh:02d}:{mm:02d}", f"{hh}:{mm:02d}:{ss:02d}",
                       f"{(hh - 1) % 12 + 1}:{mm:02d}:{ss:02d} {'PM' if hh >= 12 else 'AM'}"])
    r = rng.random()
    if r < 0.4:
        s.row((f"DATE: {date} {time}", "left"))
    elif r < 0.7:
        s.row(("DATE:", "left"))
        s.row((f"{date} {time}", "left"))
    else:
        s.row((date, "left"), (time, "right"))
    cashier = rng.choice(C.FIRST).upper() if my else rng.choice(C.FIRST)
    v.add("cashier", cashier)
    _labelled(s, rng, rng.choice(["CASHIER:", "Cashier", "SERVED BY:", "OPERATOR :"]), cashier)
    s.nl(0.5)
    _items(s, rng, _MY_ITEMS if my else C.GROCERIES, v)
    _totals(s, rng, v, my)
    s.nl(0.5)
    for g in rng.sample(_GREETINGS, rng.randint(1, 3)):
        s.row((g, "center"))
    if rng.random() < 0.6:  # another date: an exchange deadline, a promotion, a reprint
        other = day + C.dt.timedelta(days=rng.choice([-400, -30, 7, 14, 30, 90]))
        s.row((f"{rng.choice(['EXCHANGE BEFORE', 'PROMO VALID TILL', 'REPRINTED', 'Member since'])}"
               f" {_date_text(rng, other, 'my' if my else 'west')}", "center"))
    return s, v


def _items(s: _Sheet, rng: random.Random, names: list[str], v: _Values) -> None:
    s.row(("DESCRIPTION" if rng.random() < 0.5 else "ITEM", "left"), ("QTY", s.width * 0.55),
          ("AMOUNT", "right"))
    subtotal = Decimal(0)
    for name in rng.sample(names, rng.randint(1, min(6, len(names)))):
        qty, price = rng.randint(1, 4), _money(rng, 0.8, 60)
        amount = C.money(price * qty)
        subtotal += amount
        if rng.random() < 0.5:
            s.row((name, "left"), (str(qty), s.width * 0.55), (f"{amount}", "right"))
        else:  # SROIE style: the name, then qty x price and amount on the next row
            s.row((name, "left"))
            s.row((f"{qty} PC", "left"), (f"{price}", s.width * 0.45), (f"{amount}", "right"))
    v.add("subtotal", f"{subtotal}", float(subtotal))


def _totals(s: _Sheet, rng: random.Random, v: _Values, my: bool) -> None:
    subtotal = Decimal(v.printed["subtotal"])
    rate = Decimal(rng.choice(["6", "6", "0", "10", "8"]))
    tax = C.money(subtotal * rate / 100)
    raw = subtotal + tax
    total = (raw * 20).quantize(Decimal(1)) / 20 if my else raw
    total = C.money(total)
    rounding = total - raw
    cash = C.money(max(total, Decimal(math.ceil(total / 10) * 10)))
    change = cash - total
    pre = rng.choice(["", "", "RM", "RM "]) if my else rng.choice(["", "$", "€"])

    def amt(x: Decimal) -> str:
        return f"{pre}{x}" if pre.strip() and pre == pre.strip() else f"{x}"

    v.add("tax", amt(tax), float(tax))
    v.add("total", amt(total), float(total))
    v.add("rounding", f"{rounding}", float(rounding))
    v.add("cash", amt(cash), float(cash))
    v.add("change", amt(change), float(change))
    v.add("subtotal", amt(subtotal), float(subtotal))
    tax_label = rng.choice(["GST 6%", "TOTAL GST", "SST", "SERVICE TAX", "Tax", "TOTAL TAX"]) \
        if my else rng.choice(["VAT", "Tax", "Sales tax"])
    total_label = rng.choice(["TOTAL", "TOTAL (RM):", "ROUNDED TOTAL (RM):", "TOTAL INCL. GST",
                              "NETT TOTAL", "GRAND TOTAL", "Total Amount:"]) if my \
        else rng.choice(["TOTAL", "Total", "Amount due", "TOTAL DUE", "Grand total"])
    rows = [(rng.choice(["SUB TOTAL", "Subtotal", "TOTAL EXCL. GST", "Total Sales"]),
             v.printed["subtotal"]), (tax_label, v.printed["tax"])]
    if my or rounding:
        rows.append((rng.choice(["ROUNDING ADJ", "ROUNDING ADJUSTMENT:", "Rounding"]),
                     v.printed["rounding"]))
    rows.append((total_label, v.printed["total"]))
    paid = rng.choice(["CASH", "CASH", "VISA", "MASTER", "Debit card"])
    v.add("payment_method", paid)
    rows += [(paid, v.printed["cash"]), ("CHANGE", v.printed["change"])]
    if rng.random() < 0.3:
        rows.insert(rng.randint(0, len(rows)), ("TOTAL QTY:", str(rng.randint(1, 12))))
    style = rng.random()
    x_amt = "right" if rng.random() < 0.7 else s.width * 0.62
    if style < 0.45:  # label and amount on one row, as two boxes
        for label, value in rows:
            s.row((label, "left"), (value, x_amt))
    elif style < 0.7:  # one box per row
        for label, value in rows:
            s.row((f"{label} {value}", "left"))
    else:  # labels in one block, amounts in a separate column, rows not level
        top = s.y
        for label, _ in rows:
            s.row((label, "left"))
        bottom, s.y = s.y, top + s.size * rng.uniform(0.5, 0.9)
        for _, value in rows:
            s.row((value, x_amt))
        s.y = max(s.y, bottom)
    if my and rate and rng.random() < 0.5:  # the GST summary has its own "Total"
        s.nl(0.5)
        s.row(("GST SUMMARY", "left"), ("AMOUNT(RM)", s.width * 0.45), ("TAX(RM)", "right"))
        s.row((f"SR @ {rate}%", "left"), (f"{subtotal}", s.width * 0.45), (f"{tax}", "right"))
        s.row(("TOTAL", "left"), (f"{subtotal}", s.width * 0.45), (f"{tax}", "right"))


def _invoice(rng: random.Random) -> tuple[_Sheet, _Values]:
    """A Western invoice: vendor header, numbers and dates as label/value rows, items, totals."""
    inv = C.invoice(rng, rng.randint(1, 6))
    gt, rd = inv["gt"], inv["render"]
    style: C.MoneyStyle = rd["style"]
    s, v = _Sheet(rng.uniform(560, 640), rng.uniform(9, 12), rng), _Values()
    vendor = gt["vendor"]["name"]
    v.add("company", vendor)
    s.row((vendor, "left"), (rng.choice(["INVOICE", "Invoice", "TAX INVOICE"]), "right"))
    a = gt["vendor"]["address"]
    addr = [a["street"], f"{a['postal_code']} {a['city']}", a["country"]]
    for ln in addr:
        s.row((ln, "left"))
    v.add("address", " ".join(addr))
    v.add("phone", rd["vendor_phone"])
    s.row((f"Tel. {rd['vendor_phone']}", "left"))
    s.nl()
    v.add("number", gt["invoice_number"])
    issued = v.add("date", C.format_date(rd["issued"], rd["date_format"]),
                   iso=rd["issued"].isoformat())
    due = v.add("due_date", C.format_date(rd["due"], rd["date_format"]), iso=rd["due"].isoformat())
    labels = rng.choice([("Invoice No.", "Invoice date", "Due date"),
                         ("Invoice #", "Date", "Payment due"), ("Number", "Issued", "Due by")])
    for label, value in zip(labels, (gt["invoice_number"], issued, due), strict=True):
        s.row((label, s.width * 0.55), (value, "right"))
    s.nl()
    customer = gt["customer"]["name"]
    v.add("customer", customer)
    s.row((rng.choice(["Bill to", "Billed to", "Customer"]), "left"))
    s.row((customer, "left"))
    ca = gt["customer"]["address"]
    for ln in [ca["street"], f"{ca['postal_code']} {ca['city']}", ca["country"]]:
        s.row((ln, "left"))
    s.nl()
    s.row(("Description", "left"), ("Qty", s.width * 0.5), ("Unit price", s.width * 0.62),
          ("Amount", "right"))
    for it in rd["items"]:
        s.row((it["description"], "left"), (str(it["quantity"]), s.width * 0.5),
              (style.number(it["unit_price"]), s.width * 0.62),
              (style.number(it["amount"]), "right"))
    s.nl(0.5)
    for concept, label, x in [("subtotal", "Subtotal", rd["subtotal"]),
                              ("tax", f"{rng.choice(['VAT', 'Tax'])} {rd['rate']}%", rd["tax"]),
                              ("total", rng.choice(["Total", "Total due", "Amount due"]),
                               rd["total"])]:
        # "€1.234,50" is one amount as printed; in "1,234.50 EUR" the code is the unit
        shown = style.amount(x) if rng.random() < 0.5 else style.number(x)
        v.add(concept, shown if style.symbol_first else style.number(x), float(x))
        s.row((label, s.width * 0.55), (shown, "right"))
    s.nl()
    s.row((f"Payment terms: {(rd['due'] - rd['issued']).days} days. IBAN {rd['iban']}", "left"))
    s.row((f"Thank you for your business. {vendor}", "left"), ("Page 1 of 1", "right"))
    return s, v


def _form(rng: random.Random) -> tuple[_Sheet, _Values]:
    """An application form: labelled boxes, the label above or left of its value."""
    gt, dfmt = C.form(rng)["gt"], rng.choice(C.DATE_FORMATS)
    ap = gt["applicant"]
    s, v = _Sheet(rng.uniform(560, 640), rng.uniform(9, 12), rng), _Values()
    s.row((f"{rng.choice(['City Sports Club', 'Riverside Library', 'Open Data Society'])}: "
           "Membership Application", "left"))
    s.row(("Please complete in block capitals.", "left"), (f"Form ID: {gt['form_id']}", "right"))
    v.add("form_id", gt["form_id"])
    born = C.dt.date.fromisoformat(ap["date_of_birth"])
    rows = [("first_name", "First name", ap["first_name"]),
            ("last_name", "Last name", ap["last_name"]),
            ("birth_date", "Date of birth", C.format_date(born, dfmt)),
            ("email", "Email", ap["email"]), ("phone", "Phone", ap["phone"]),
            ("city", "City", ap["address"]["city"]), ("employer", "Employer", gt["employer"])]
    above = rng.random() < 0.5
    for concept, label, value in rows:
        v.add(concept, value, iso=born.isoformat() if concept == "birth_date" else None)
        if above:
            s.row((label, "left"))
            s.row((value, "left"))
        else:
            s.row((label, "left"), (value, s.width * 0.35))
    start = C.dt.date.fromisoformat(gt["start_date"])
    s.row(("Start date", "left"), (C.format_date(start, dfmt), s.width * 0.35))
    s.nl()
    signed = C.dt.date.fromisoformat(gt["signature_date"])
    s.row(("Signature", "left"), (C.format_date(signed, dfmt), s.width * 0.5))
    s.row(("Date signed", s.width * 0.5))
    s.row(("registered charity - questions to info@members.example.org", "left"))
    return s, v


_KINDS: list[tuple[str, Callable[[random.Random], tuple[_Sheet, _Values]], float]] = [
    ("receipt", _receipt, 0.6), ("invoice", _invoice, 0.25), ("form", _form, 0.15)]


# ------------------------------------------------------------------------ schemas
def _schema(rng: random.Random, v: _Values) -> tuple[dict[str, Any], dict[str, Any]]:
    """A random schema over some of the page's concepts, and the expected JSON."""
    concepts = [c for c in v.printed if c in CONCEPTS]
    core = [c for c in ("company", "address", "date", "total") if c in concepts]
    pick: list[str] = [c for c in core if rng.random() < 0.85]
    rest = [c for c in concepts if c not in core]
    pick += rng.sample(rest, rng.randint(0 if core else 2, min(4 if core else 6, len(rest))))
    props: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    used: set[str] = set()
    for c in pick:
        names = [n for n in CONCEPTS[c]["names"] if n.split(".")[0] not in used]
        # a nested name must not land under a key already used as a leaf, or the reverse
        names = [n for n in names if not _clash(props, n.split("."))]
        if not names:
            continue
        path = rng.choice(names).split(".")
        node: dict[str, Any] = {"type": "string"}
        if rng.random() < 0.75:
            node["description"] = rng.choice(CONCEPTS[c]["descriptions"])
        value: Any = v.printed[c]
        if c in v.iso and rng.random() < 0.25:
            node["format"], value = "date", v.iso[c]
        elif c in v.number and rng.random() < 0.25:
            node["type"], value = "number", v.number[c]
        _put(props, expected, path, node, value)
        used.add(".".join(path))
    schema = {"type": "object", "properties": props, "required": list(props)}
    return schema, expected


def _clash(props: dict[str, Any], path: list[str]) -> bool:
    node: Any = props
    for i, p in enumerate(path):
        if p not in node:
            return False
        if i == len(path) - 1 or node[p].get("type") != "object":
            return True
        node = node[p]["properties"]
    return False


def _put(props: dict[str, Any], expected: dict[str, Any], path: list[str], node: dict[str, Any],
         value: Any) -> None:
    for p in path[:-1]:
        obj = props.setdefault(p, {"type": "object", "properties": {}, "required": []})
        obj["required"].append(path[path.index(p) + 1])
        props = obj["properties"]
        expected = expected.setdefault(p, {})
    props[path[-1]] = node
    expected[path[-1]] = value


def synthetic_documents(n: int, seed: int = 0) -> Iterator[Labelled]:
    """``n`` labelled synthetic documents: (name, Document, expected JSON, schema); document
    ``i`` depends only on ``(seed, i)``."""
    if n < 0:
        raise ConfigError(f"the number of synthetic documents must be >= 0, not {n}")
    for i in range(n):
        rng = random.Random(f"{seed}:scorer-data:{i}")
        kind, make, _ = rng.choices(_KINDS, weights=[w for *_, w in _KINDS])[0]
        sheet, values = make(rng)
        schema, expected = _schema(rng, values)
        name = f"synth-{kind}-{i:05d}"
        yield name, sheet.document(name), expected, schema


def training_documents(data: Path | None, synthetic: int = 0, augment_copies: int = 0,
                       seed: int = 0, *, read: Callable[[Path], Iterable[Labelled]]
                       ) -> Iterator[Labelled]:
    """The real documents of ``data`` (``read(data)``), each followed by ``augment_copies``
    augmented copies, then ``synthetic`` synthetic documents, every other one augmented."""
    if augment_copies < 0:
        raise ConfigError(f"--augment must be >= 0, not {augment_copies}")
    if data is None and synthetic <= 0:
        raise ConfigError("no training data", "pass --data DIR, --synthetic N, or both")
    rng = random.Random(f"{seed}:augment")
    if data is not None:
        for name, doc, expected, schema in read(data):
            yield name, doc, expected, schema
            keep = keep_strings(doc, expected)
            for k in range(augment_copies):
                yield f"{name}~aug{k + 1}", augment(doc, rng, keep), expected, schema
    for i, (name, doc, expected, schema) in enumerate(synthetic_documents(synthetic, seed)):
        if i % 2:
            doc = augment(doc, rng, keep_strings(doc, expected))
            name += "~aug"
        yield name, doc, expected, schema
