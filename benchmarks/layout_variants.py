"""Seeded invoice variants for the layout benchmark: documents the layout rules were not tuned on.

``variant(seed)`` writes a two-page PDF with reportlab and returns it with its ground truth. What
varies with the seed: font sizes (title, seller name, headings, body 9–11 pt), the document title,
the seller block, which key–value fields appear and in which style (``Key: value`` in one string,
``Key:`` and value at a fixed column, bold key without colon and value at a column), the position
of the field block, two label-above-value fields (with or without colon), the table's columns
(3–5 from a pool), row count (5–9) and column positions, numeric alignment, the two-column page's
gutter (18–40 pt), sections per column (2–3) and their sentences.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field

from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen import canvas

W, H = A4

TITLES = ["INVOICE", "Tax Invoice", "Sales Invoice", "Bill"]
SELLERS = [["Blue Harbor Supplies", "4 Dock Lane", "Leeds LS1 2AB"],
           ["Maple & Stone Co", "77 Ridge Avenue", "Toronto ON M5V 2T6", "HST 845 221 907"],
           ["Orion Lab Equipment", "Unit 9, Science Park", "Cambridge CB4 0WS"]]
FIELDS = [("Invoice No", "INV-{n:05d}"), ("Invoice Date", "2025-0{m}-1{d}"),
          ("Due Date", "2025-0{m}-2{d}"), ("Currency", "EUR"), ("Order Ref", "PO-{n:04d}"),
          ("Customer ID", "C-{d}{m}{d}")]
ABOVE = [("Ship To", "Harbour Depot"), ("Contact", "Maria Lopez"), ("Project", "Atlas Refit"),
         ("Terms", "Net 30")]
PRODUCTS = ["Copper wire spool", "LED panel light", "Cable ties pack", "Safety helmet",
            "Torque wrench", "Drill bit set", "Label printer", "Storage crate", "Hand cleaner"]
HEADINGS = ["Scope", "Payment", "Delivery", "Returns", "Warranty", "Liability", "Privacy"]
SENTENCES = [
    "All prices are quoted in the stated currency and exclude local duties.",
    "Orders are confirmed once the deposit has been received in full.",
    "Goods remain our property until the invoice has been settled.",
    "Claims for damage in transit must reach us within seven days.",
    "We may charge storage fees for goods not collected on time.",
    "Any dispute is governed by the laws of the seller's country.",
    "Personal data is processed only to fulfil the order.",
    "Support requests are answered within two working days.",
]


@dataclass
class Truth:
    paras: list[str] = field(default_factory=list)  # page 2, in reading order
    rows: list[list[str]] = field(default_factory=list)  # header + items
    pairs: list[tuple[str, str]] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    n_pages: int = 2


def _text(c: canvas.Canvas, x: float, top: float, s: str, bold: bool = False,
          size: float = 10, right: bool = False) -> None:
    c.setFont("Helvetica-Bold" if bold else "Helvetica", size)
    y = H - top - size * 0.8
    if right:
        c.drawRightString(x, y, s)
    else:
        c.drawString(x, y, s)


def variant(seed: int) -> tuple[bytes, Truth]:
    rng = random.Random(seed)
    body = rng.choice([9, 10, 11])
    head = body + rng.choice([3, 4])
    truth = Truth()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)

    title = rng.choice(TITLES)
    seller = rng.choice(SELLERS)
    _text(c, W - 50, 48, title, True, body + rng.choice([10, 14]), right=True)
    _text(c, 50, 50, seller[0], True, body + rng.choice([5, 7]))
    for i, s in enumerate(seller[1:]):
        _text(c, 50, 80 + (body + 4) * i, s, size=body)
    truth.headings.append(title)

    n, m, d = rng.randrange(1, 99999), rng.randrange(1, 9), rng.randrange(0, 9)
    style = rng.choice(["inline", "colon-gap", "bold-gap"])
    x_key = rng.choice([320, 340, 360])
    for i, (k, fmt) in enumerate(rng.sample(FIELDS, rng.randrange(3, 6))):
        v = fmt.format(n=n, m=m, d=d)
        top = 100 + (body + 6) * i
        if style == "inline":
            _text(c, x_key, top, f"{k}: {v}", size=body)
        else:
            _text(c, x_key, top, f"{k}:" if style == "colon-gap" else k, True, body)
            _text(c, x_key + 95, top, v, size=body)
        truth.pairs.append((k, v))
    colon = rng.random() < 0.5
    for i, (k, v) in enumerate(rng.sample(ABOVE, 2)):
        _text(c, 50 + 150 * i, 200, f"{k}:" if colon else k, True, body)
        _text(c, 50 + 150 * i, 200 + body + 6, v, size=body)
        truth.pairs.append((k, v))

    heading = rng.choice(["Items", "Line Items", "Details"])
    _text(c, 50, 250, heading, True, head)
    truth.headings.append(heading)
    cols = ["Description", *rng.sample(["Qty", "Unit", "Price", "Tax", "Amount"],
                                       rng.randrange(2, 5))]
    xs = [50] + [260 + i * (250 / (len(cols) - 1)) for i in range(1, len(cols))]
    rows = [cols]
    for _ in range(rng.randrange(5, 10)):
        qty = rng.randrange(1, 20)
        price = rng.randrange(100, 20000) / 100
        vals = {"Qty": str(qty), "Unit": rng.choice(["pc", "box", "kg"]),
                "Price": f"{price:.2f}", "Tax": f"{price * 0.2:.2f}",
                "Amount": f"{qty * price:.2f}"}
        rows.append([rng.choice(PRODUCTS)] + [vals[k] for k in cols[1:]])
    right_align = rng.random() < 0.5
    for r, row in enumerate(rows):
        for j, cell in enumerate(row):
            top = 280 + (body + 9) * r
            if j and right_align:
                _text(c, xs[j] + 40, top, cell, r == 0, body, right=True)
            else:
                _text(c, xs[j], top, cell, r == 0, body)
    truth.rows = rows
    _text(c, 50, 806, f"{seller[0]} - company register 55{seed:04d}", size=body - 2)
    _text(c, W - 50, 806, "Page 1 of 2", size=body - 2, right=True)
    c.showPage()

    terms = rng.choice(["Terms and Conditions", "General Terms", "Conditions of Sale"])
    _text(c, 50, 50, terms, True, body + 12)
    truth.headings.append(terms)
    gutter = rng.randrange(18, 41)
    col_w = (W - 100 - gutter) / 2
    picks = rng.sample(HEADINGS, rng.randrange(4, 7))
    half = (len(picks) + 1) // 2
    for x, sections in ((50, picks[:half]), (50 + col_w + gutter, picks[half:])):
        y = 100.0
        for h in sections:
            _text(c, x, y, h, True, head)
            truth.headings.append(h)
            y += head + 8
            para = " ".join(rng.sample(SENTENCES, rng.randrange(2, 4)))
            truth.paras.append(para)
            for ln in simpleSplit(para, "Helvetica", body, col_w):
                _text(c, x, y, ln, size=body)
                y += body + 4
            y += 14
    _text(c, 50, 806, f"{seller[0]} - company register 55{seed:04d}", size=body - 2)
    _text(c, W - 50, 806, "Page 2 of 2", size=body - 2, right=True)
    c.showPage()
    c.save()
    return buf.getvalue(), truth
