"""Write the bundled sample documents: ``examples/sample_invoice.pdf``.

Run from the repository root: ``python examples/make_samples.py``. Deterministic (reportlab
``invariant=1``): running it again gives the same bytes. The invoice's expected extraction, valid
against ``examples/invoice_schema.json``, is written to ``examples/sample_invoice.expected.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

HERE = Path(__file__).resolve().parent
W, H = A4

SELLER = {"name": "Harbourside Office Supplies Ltd", "address": "7 Quay Street, Bristol BS1 4DB",
          "vat_id": "GB 284 1173 56"}
BUYER = {"name": "Greenfield Dental Clinic", "address": "22 Orchard Lane, Bath BA1 2QT"}
INVOICE = {"invoice_number": "HOS-2025-0117", "issue_date": "2025-02-03",
           "due_date": "2025-03-05", "currency": "GBP"}
ITEMS = [
    ("A4 copier paper, 5 reams", 4, 21.50),
    ("Black toner cartridge TN-2420", 2, 64.99),
    ("Ballpoint pens, box of 50", 3, 11.25),
    ("Lever arch files, pack of 10", 2, 18.40),
    ("Desk organiser, mesh", 5, 8.75),
    ("Printer service visit", 1, 85.00),
]
TAX_RATE = 0.20


def _text(c, x, top, s, font="Helvetica", size=10):
    c.setFont(font, size)
    c.drawString(x, H - top - size * 0.8, s)


def _right(c, x, top, s, font="Helvetica", size=10):
    c.setFont(font, size)
    c.drawRightString(x, H - top - size * 0.8, s)


def expected() -> dict:
    lines = [{"description": d, "quantity": q, "unit_price": p, "amount": round(q * p, 2)}
             for d, q, p in ITEMS]
    subtotal = round(sum(x["amount"] for x in lines), 2)
    tax = round(subtotal * TAX_RATE, 2)
    return {**INVOICE, "seller": SELLER, "buyer": BUYER, "line_items": lines,
            "subtotal": subtotal, "tax": tax, "total": round(subtotal + tax, 2)}


def write_invoice(path: Path) -> None:
    data = expected()
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    c.setTitle(f"Invoice {INVOICE['invoice_number']}")
    c.setAuthor(SELLER["name"])
    # Seller block and document title.
    _text(c, 50, 50, SELLER["name"], "Helvetica-Bold", 16)
    _text(c, 50, 74, SELLER["address"])
    _text(c, 50, 88, f"VAT ID: {SELLER['vat_id']}")
    _right(c, W - 50, 48, "INVOICE", "Helvetica-Bold", 22)
    # Invoice facts: label left of value.
    facts = [("Invoice No:", INVOICE["invoice_number"]), ("Issue Date:", INVOICE["issue_date"]),
             ("Due Date:", INVOICE["due_date"]), ("Currency:", INVOICE["currency"])]
    for i, (k, v) in enumerate(facts):
        _text(c, 350, 84 + 15 * i, k, "Helvetica-Bold")
        _text(c, 440, 84 + 15 * i, v)
    # Buyer block: label above value.
    _text(c, 50, 160, "Bill To", "Helvetica-Bold")
    _text(c, 50, 176, BUYER["name"])
    _text(c, 50, 190, BUYER["address"])
    # Line items.
    top = 240
    _text(c, 50, top - 24, "Items", "Helvetica-Bold", 13)
    c.setLineWidth(0.8)
    c.line(50, H - top + 4, W - 50, H - top + 4)
    _text(c, 50, top + 2, "Description", "Helvetica-Bold")
    _right(c, 350, top + 2, "Qty", "Helvetica-Bold")
    _right(c, 450, top + 2, "Unit Price", "Helvetica-Bold")
    _right(c, W - 50, top + 2, "Amount", "Helvetica-Bold")
    c.line(50, H - top - 16, W - 50, H - top - 16)
    for r, item in enumerate(data["line_items"]):
        y = top + 24 + 20 * r
        _text(c, 50, y, item["description"])
        _right(c, 350, y, str(item["quantity"]))
        _right(c, 450, y, f"{item['unit_price']:.2f}")
        _right(c, W - 50, y, f"{item['amount']:.2f}")
    y = top + 24 + 20 * len(ITEMS)
    c.line(50, H - y + 2, W - 50, H - y + 2)
    for i, (k, v) in enumerate([("Subtotal", data["subtotal"]),
                                (f"VAT {int(TAX_RATE * 100)}%", data["tax"]),
                                ("Total due", data["total"])]):
        font = "Helvetica-Bold" if k == "Total due" else "Helvetica"
        _right(c, 450, y + 10 + 18 * i, k, font)
        _right(c, W - 50, y + 10 + 18 * i, f"{v:.2f}", font)
    _text(c, 50, y + 80, "Payment Terms", "Helvetica-Bold", 13)
    _text(c, 50, y + 100, "Please pay by bank transfer within 30 days, quoting the invoice number.")
    _text(c, 50, y + 114, "Bank: Western Counties Bank   Sort code: 40-12-76   Account: 31926819")
    # Footer.
    c.setLineWidth(0.5)
    c.line(50, H - 800, W - 50, H - 800)
    _text(c, 50, 808, f"{SELLER['name']} - Registered in England and Wales No. 09876543", size=8)
    _right(c, W - 50, 808, "Page 1 of 1", size=8)
    c.showPage()
    c.save()


def main() -> None:
    write_invoice(HERE / "sample_invoice.pdf")
    (HERE / "sample_invoice.expected.json").write_text(json.dumps(expected(), indent=2) + "\n")


if __name__ == "__main__":
    main()
