"""Layout templates: draw an invoice, a till receipt or a form as a born-digital PDF (reportlab).

Layouts vary with a seeded ``random.Random``: single- or two-column headers, key–value blocks,
line-item tables with ruled rows, logos drawn as coloured boxes with initials, footers with
payment terms and page numbers, three fonts, A4 or Letter paper. Receipts are narrow (80 mm) till
slips in a monospaced font, as long as their content. PDFs are written with reportlab's
``invariant`` mode, so the same content and seed give byte-identical files. Content comes from
:mod:`eval.synth.content`; this module only draws it.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.pdfgen.canvas import Canvas

from prunestack.eval.synth.content import format_date

FONTS = [("Helvetica", "Helvetica-Bold"), ("Times-Roman", "Times-Bold"),
         ("Courier", "Courier-Bold")]
MM = 72 / 25.4


def _canvas(path: Path, size: tuple[float, float]) -> Canvas:
    c = Canvas(str(path), pagesize=size, invariant=1)
    c.setTitle(path.stem)
    c.setCreator("prunestack synth")
    return c


def _logo(c: Canvas, x: float, y_top: float, name: str, rng: random.Random) -> None:
    """A logo as a filled box (a circle or rectangle) with the company's initials."""
    r, g, b = (rng.uniform(0.1, 0.7) for _ in range(3))
    c.setFillColorRGB(r, g, b)
    w, h = 46, 34
    is_rect = rng.random() < 0.5
    if is_rect:
        c.roundRect(x, y_top - h, w, h, 6, stroke=0, fill=1)
    else:
        c.circle(x + h / 2, y_top - h / 2, h / 2, stroke=0, fill=1)
    c.setFillColorRGB(1, 1, 1)
    c.setFont("Helvetica-Bold", 13)
    initials = "".join(p[0] for p in name.split()[:2]).upper()
    cx = x + (w / 2 if is_rect else h / 2)
    c.drawCentredString(cx, y_top - h / 2 - 4, initials)
    c.setFillColorRGB(0, 0, 0)


def _addr_lines(addr: dict[str, str], rng_order: bool) -> list[str]:
    pc, city = addr["postal_code"], addr["city"]
    city = f"{pc} {city}" if rng_order else f"{city} {pc}"
    return [addr["street"], city, addr["country"]]


def _kv_block(c: Canvas, x: float, y: float, rows: list[tuple[str, str]], font: tuple[str, str],
              size: float, label_w: float) -> float:
    for label, value in rows:
        c.setFont(font[1], size)
        c.drawString(x, y, label)
        c.setFont(font[0], size)
        c.drawString(x + label_w, y, value)
        y -= size * 1.5
    return y


def draw_invoice(path: Path, content: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Draw an invoice; returns the layout choices (for the record's metadata)."""
    gt, rd = content["gt"], content["render"]
    style, dfmt = rd["style"], rd["date_format"]
    size = rng.choice([A4, LETTER])
    font = rng.choice(FONTS[:2])
    layout = rng.choice(["single", "two_column"])
    W, H = size
    m = 48
    c = _canvas(path, size)
    fs = 9.5

    # Header: logo + vendor name left, title right.
    _logo(c, m, H - m, gt["vendor"]["name"], rng)
    c.setFont(font[1], 13)
    c.drawString(m + 56, H - m - 14, gt["vendor"]["name"])
    c.setFont(font[0], fs)
    c.drawString(m + 56, H - m - 28, f"Tel. {rd['vendor_phone']}")
    title = rng.choice(["INVOICE", "Invoice", "TAX INVOICE"])
    c.setFont(font[1], 22)
    c.drawRightString(W - m, H - m - 18, title)

    labels = rng.choice([("Invoice No.", "Invoice date", "Due date"),
                         ("Invoice #", "Date", "Payment due"),
                         ("Number", "Issued", "Due by")])
    kv = [(labels[0], gt["invoice_number"]), (labels[1], format_date(rd["issued"], dfmt)),
          (labels[2], format_date(rd["due"], dfmt)), ("Currency", gt["currency"])]
    order = rng.random() < 0.5
    y = H - m - 70
    if layout == "single":
        _kv_block(c, W - m - 200, H - m - 46, kv, font, fs, 80)
        c.setFont(font[1], fs)
        c.drawString(m, y, "From")
        yy = y - fs * 1.5
        c.setFont(font[0], fs)
        for line in _addr_lines(gt["vendor"]["address"], order):
            c.drawString(m, yy, line)
            yy -= fs * 1.4
        y = yy - 14
        c.setFont(font[1], fs)
        c.drawString(m, y, rng.choice(["Bill to", "Billed to", "Customer"]))
        yy = y - fs * 1.5
        c.setFont(font[0], fs)
        for line in [gt["customer"]["name"], *_addr_lines(gt["customer"]["address"], order)]:
            c.drawString(m, yy, line)
            yy -= fs * 1.4
        y = yy - 18
    else:
        # Boxed key-value strip across the page, then vendor | customer columns.
        c.setStrokeColorRGB(0.6, 0.6, 0.6)
        c.rect(m, y - 30, W - 2 * m, 40, stroke=1, fill=0)
        cw = (W - 2 * m) / len(kv)
        for i, (label, value) in enumerate(kv):
            c.setFont(font[1], fs - 1.5)
            c.drawString(m + 6 + i * cw, y - 2, label)
            c.setFont(font[0], fs)
            c.drawString(m + 6 + i * cw, y - 18, value)
        y -= 56
        for col, (who, label) in enumerate([(gt["vendor"], "From"), (gt["customer"], "Bill to")]):
            x = m + col * (W - 2 * m) / 2
            c.setFont(font[1], fs)
            c.drawString(x, y, label)
            yy = y - fs * 1.5
            c.setFont(font[0], fs)
            lines = _addr_lines(who["address"], order)
            if col == 1:
                lines = [who["name"], *lines]
            for line in lines:
                c.drawString(x, yy, line)
                yy -= fs * 1.4
        y = yy - 22

    # Line-item table.
    cols = [m, W - m - 250, W - m - 170, W - m - 80]
    heads = ["Description", "Qty", "Unit price", "Amount"]
    c.setFillColorRGB(0.88, 0.88, 0.9)
    c.rect(m, y - 5, W - 2 * m, fs + 9, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    c.setFont(font[1], fs)
    for i, (x, h) in enumerate(zip(cols, heads, strict=True)):
        if i == 0:
            c.drawString(x + 4, y, h)
        else:
            c.drawRightString(x + 70, y, h)
    y -= fs + 10
    c.setFont(font[0], fs)
    c.setStrokeColorRGB(0.8, 0.8, 0.8)
    for it in rd["items"]:
        c.drawString(cols[0] + 4, y, it["description"])
        c.drawRightString(cols[1] + 70, y, str(it["quantity"]))
        c.drawRightString(cols[2] + 70, y, style.number(it["unit_price"]))
        c.drawRightString(cols[3] + 70, y, style.number(it["amount"]))
        c.line(m, y - 5, W - m, y - 5)
        y -= fs + 9
    # Totals, right-aligned.
    y -= 8
    tax_label = rng.choice(["VAT", "Tax", "Sales tax"])
    rate = f"{rd['rate']}"
    for label, value, bold in [("Subtotal", rd["subtotal"], False),
                               (f"{tax_label} {rate}%", rd["tax"], False),
                               ("Total", rd["total"], True)]:
        c.setFont(font[1] if bold else font[0], fs + (1.5 if bold else 0))
        c.drawString(W - m - 200, y, label)
        c.drawRightString(W - m + 2, y, style.amount(value))
        y -= fs * 1.7
    # Footer.
    c.setStrokeColorRGB(0.5, 0.5, 0.5)
    c.line(m, 70, W - m, 70)
    c.setFont(font[0], 7.5)
    c.drawString(m, 58, f"Payment terms: {(rd['due'] - rd['issued']).days} days. IBAN {rd['iban']}")
    c.drawString(m, 47, f"Thank you for your business. {gt['vendor']['name']}")
    c.drawRightString(W - m, 47, "Page 1 of 1")
    c.showPage()
    c.save()
    return {"layout": layout, "font": font[0], "paper": "A4" if size == A4 else "Letter",
            "date_format": dfmt, "decimal_comma": style.decimal_comma}


def draw_receipt(path: Path, content: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A narrow (80 mm) till receipt in Courier; the page is as long as the content."""
    gt, rd = content["gt"], content["render"]
    style, dfmt = rd["style"], rd["date_format"]
    W = 80 * MM
    fs, lh, m = 8.0, 11.0, 12.0
    lines: list[tuple[str, str, str]] = []  # (kind, left, right): center | lr | sep | bold
    merchant = gt["merchant"]
    a = merchant["address"]
    lines += [("bold", merchant["name"], ""), ("center", a["street"], ""),
              ("center", f"{a['postal_code']} {a['city']}", ""), ("center", a["country"], ""),
              ("center", f"Tel {merchant['phone']}", ""),
              ("center", f"VAT no. {rng.choice(['GB', 'DE', 'FR'])}{rng.randint(10**8, 10**9)}",
               ""), ("sep", "", "")]
    lines += [("lr", f"Receipt {rd['receipt_no']}", f"Cashier {rd['cashier']}"),
              ("lr", format_date(rd["day"], dfmt), gt["time"]), ("sep", "", "")]
    for it in rd["items"]:
        lines.append(("lr", it["description"], style.number(it["amount"])))
        if it["quantity"] > 1:
            lines.append(("lr", f"  {it['quantity']} x {style.number(it['unit_price'])}", ""))
    lines += [("sep", "", ""), ("boldlr", f"TOTAL {gt['currency']}", style.number(rd["subtotal"])),
              ("lr", f"incl. tax {rd['rate']}%", style.number(rd["tax"])),
              ("lr", "Paid by", gt["payment_method"]), ("sep", "", ""),
              ("barcode", "", ""), ("center", rng.choice(["Thank you for your visit!",
                                                          "Thank you! Come again.",
                                                          "Have a nice day!"]), ""),
              ("center", "Open daily 07:00-21:00", "")]
    H = max(m * 2 + lh * (len(lines) + 4), 1.5 * W)  # a slip is torn off at a minimum length
    c = _canvas(path, (W, H))
    y = H - m - lh
    for kind, left, right in lines:
        if kind in ("bold", "boldlr"):
            c.setFont("Courier-Bold", fs + 1.5)
        else:
            c.setFont("Courier", fs)
        if kind in ("bold", "center"):
            c.drawCentredString(W / 2, y, left)
        elif kind in ("lr", "boldlr"):
            c.drawString(m, y, left)
            if right:
                c.drawRightString(W - m, y, right)
        elif kind == "sep":
            c.setDash(2, 2)
            c.line(m, y + 3, W - m, y + 3)
            c.setDash()
        elif kind == "barcode":
            x = m + 20.0
            while x < W - m - 20:
                bw = rng.choice([0.8, 1.2, 2.0])
                c.rect(x, y - 10, bw, 20, stroke=0, fill=1)
                x += bw + rng.choice([0.8, 1.5, 2.2])
            y -= lh * 2
        y -= lh
    c.showPage()
    c.save()
    return {"layout": "till", "font": "Courier", "paper": "80mm", "date_format": dfmt,
            "decimal_comma": style.decimal_comma}


def draw_form(path: Path, content: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """An application form: labelled boxes, checkboxes, a signature line, a footer."""
    gt, dfmt = content["gt"], content["render"]["date_format"]
    size = rng.choice([A4, LETTER])
    font = rng.choice(FONTS[:2])
    layout = rng.choice(["single", "two_column"])
    W, H = size
    m = 50
    ap = gt["applicant"]
    c = _canvas(path, size)
    org = rng.choice(["City Sports Club", "Riverside Library", "Open Data Society",
                      "Harbor Co-Working", "Green Valley Association"])
    _logo(c, m, H - m, org, rng)
    c.setFont(font[1], 16)
    c.drawString(m + 58, H - m - 14, f"{org}: Membership Application")
    c.setFont(font[0], 9)
    c.drawString(m + 58, H - m - 28, "Please complete in block capitals.")
    c.drawRightString(W - m, H - m - 44, f"Form ID: {gt['form_id']}")

    sections = [
        ("Applicant", [("First name", ap["first_name"]), ("Last name", ap["last_name"]),
                       ("Date of birth", format_date(_d(ap["date_of_birth"]), dfmt)),
                       ("Email", ap["email"]), ("Phone", ap["phone"])]),
        ("Address", [("Street", ap["address"]["street"]), ("City", ap["address"]["city"]),
                     ("Postal code", ap["address"]["postal_code"]),
                     ("Country", ap["address"]["country"])]),
        ("Membership", [("Employer", gt["employer"]),
                        ("Start date", format_date(_d(gt["start_date"]), dfmt)),
                        ("Membership type", gt["membership_type"])]),
    ]
    y = H - m - 70
    ncol = 2 if layout == "two_column" else 1
    colw = (W - 2 * m - (ncol - 1) * 16) / ncol
    for title, fields in sections:
        c.setFont(font[1], 11)
        c.drawString(m, y, title)
        c.setStrokeColorRGB(0.3, 0.3, 0.3)
        c.line(m, y - 4, W - m, y - 4)
        y -= 20
        for i, (label, value) in enumerate(fields):
            col = i % ncol
            x = m + col * (colw + 16)
            c.setFont(font[0], 7.5)
            c.setFillColorRGB(0.35, 0.35, 0.35)
            c.drawString(x, y, label)
            c.setFillColorRGB(0, 0, 0)
            c.setStrokeColorRGB(0.6, 0.6, 0.6)
            c.rect(x, y - 21, colw, 16, stroke=1, fill=0)
            c.setFont(font[0], 10)
            c.drawString(x + 4, y - 16, value)
            if col == ncol - 1 or i == len(fields) - 1:
                y -= 34
        y -= 8
    for label, flag in [("Subscribe to the newsletter", gt["newsletter"]),
                        ("I accept the terms and conditions", gt["terms_accepted"])]:
        c.rect(m, y - 2, 10, 10, stroke=1, fill=0)
        if flag:
            c.line(m + 1, y - 1, m + 9, y + 7)
            c.line(m + 1, y + 7, m + 9, y - 1)
        c.setFont(font[0], 10)
        c.drawString(m + 16, y, f"{label}: {'Yes' if flag else 'No'}")
        y -= 20
    y -= 20
    c.line(m, y, m + 200, y)
    c.setFont(font[0], 8)
    c.drawString(m, y - 11, "Signature")
    c.setFont(font[0], 10)
    c.drawString(m + 260, y + 3, format_date(_d(gt["signature_date"]), dfmt))
    c.line(m + 256, y, m + 400, y)
    c.setFont(font[0], 8)
    c.drawString(m + 260, y - 11, "Date signed")
    c.setFont(font[0], 7)
    c.drawString(m, 40, f"{org} - registered charity - data handled under our privacy policy.")
    c.drawRightString(W - m, 40, "Page 1 of 1")
    c.showPage()
    c.save()
    return {"layout": layout, "font": font[0], "paper": "A4" if size == A4 else "Letter",
            "date_format": dfmt}


def _d(iso: str):
    return dt.date.fromisoformat(iso)


DRAW = {"invoice": draw_invoice, "receipt": draw_receipt, "form": draw_form}
