"""Test documents written by a real PDF library (reportlab), with their ground truth.

What it makes:
- ``invoice_pdf()``: a two-page invoice. Page 1: seller header block, a large "INVOICE" title,
  key-value pairs with the label left of the value ("Invoice No: INV-2024-0042") and with the label
  above the value ("Bill To" over the buyer block, "PO Number" over "PO-7781"), a line-item table
  with ``len(LINE_ITEMS)`` (≥5) rows, totals that add up, a footer and a page number. Page 2: a
  two-column "Terms and Conditions" page with headings of several sizes and a footer.
- ``text_pdf(lines)``: one page of plain English lines (for OCR word-spacing checks).
- ``encrypted_pdf()``, ``zero_page_pdf()``, ``truncated_pdf()``: bad inputs.
- ``render_page(pdf_bytes, index, dpi)`` → PIL image (pypdfium2), ``png_bytes(image)``,
  ``degrade(image, seed)``: a slight, seeded scan-like degradation (tilt, blur, noise, JPEG).

Everything is deterministic (reportlab ``invariant=1``). Coordinates of the ground truth are in PDF
points with a top-left origin (the convention of ``parsers.document``).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageFilter
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen import canvas

PAGE_W, PAGE_H = A4  # 595.27 x 841.89 points

SELLER = ["Northwind Traders Ltd", "12 Harbour Road", "Bristol BS1 4QA", "VAT GB123456789"]
BUYER = ["Acme Corporation", "400 Market Street", "Springfield IL 62701"]
#: label-left-of-value pairs on page 1, in reading order
KV_LEFT = [
    ("Invoice No", "INV-2024-0042"),
    ("Invoice Date", "2024-03-15"),
    ("Due Date", "2024-04-14"),
    ("Currency", "GBP"),
]
#: label-above-value pairs on page 1
KV_ABOVE = [("PO Number", "PO-7781"), ("Account Manager", "Jane Smith")]
TABLE_HEADER = ["Description", "Qty", "Unit Price", "Amount"]


@dataclass(frozen=True)
class LineItem:
    description: str
    qty: int
    unit_price: float

    @property
    def amount(self) -> float:
        return round(self.qty * self.unit_price, 2)

    def cells(self) -> list[str]:
        return [self.description, str(self.qty), f"{self.unit_price:.2f}", f"{self.amount:.2f}"]


LINE_ITEMS = [
    LineItem("Steel bolts M8 box", 4, 12.50),
    LineItem("Hex nuts M8 box", 4, 6.25),
    LineItem("Cordless drill", 1, 149.00),
    LineItem("Safety goggles", 10, 4.80),
    LineItem("Work gloves pair", 12, 3.75),
    LineItem("Measuring tape", 3, 9.90),
]
TAX_RATE = 0.20


def totals(items: list[LineItem] = LINE_ITEMS, tax_rate: float = TAX_RATE) -> dict[str, float]:
    subtotal = round(sum(i.amount for i in items), 2)
    tax = round(subtotal * tax_rate, 2)
    return {"subtotal": subtotal, "tax": tax, "total": round(subtotal + tax, 2)}


FOOTER = "Northwind Traders Ltd - Registered in England No. 01234567"

#: page 2: (heading, paragraph) per column section; the title is TERMS_TITLE
TERMS_TITLE = "Terms and Conditions"
TERMS_LEFT = [
    ("Payment", "Payment is due within thirty days of the invoice date. Late payments accrue "
                "interest at two percent per month on the outstanding balance."),
    ("Delivery", "Goods are shipped from our Bristol warehouse within five working days. "
                 "Delivery times are estimates and not guaranteed."),
]
TERMS_RIGHT = [
    ("Returns", "Unused goods may be returned within fourteen days in their original packaging. "
                "A restocking fee of ten percent applies to all returns."),
    ("Warranty", "Power tools carry a twelve month warranty against manufacturing defects. "
                 "The warranty does not cover misuse or normal wear."),
]
#: font sizes used, largest first: title, invoice title, section heading, body
SIZE_TITLE, SIZE_H1, SIZE_H2, SIZE_BODY, SIZE_SMALL = 24, 18, 13, 10, 8


def _canvas(buf: io.BytesIO, **kw) -> canvas.Canvas:
    c = canvas.Canvas(buf, pagesize=A4, invariant=1, **kw)
    c.setTitle("prunestack test document")
    return c


def _text(c: canvas.Canvas, x: float, top: float, s: str, font: str = "Helvetica",
          size: float = SIZE_BODY) -> None:
    """Draw ``s`` with its top (ascent) at ``top`` points from the page top."""
    c.setFont(font, size)
    c.drawString(x, PAGE_H - top - size * 0.8, s)


def _text_right(c: canvas.Canvas, x_right: float, top: float, s: str, font: str = "Helvetica",
                size: float = SIZE_BODY) -> None:
    c.setFont(font, size)
    c.drawRightString(x_right, PAGE_H - top - size * 0.8, s)


def _footer(c: canvas.Canvas, page: int, n_pages: int) -> None:
    c.setLineWidth(0.5)
    c.line(50, PAGE_H - 800, PAGE_W - 50, PAGE_H - 800)
    _text(c, 50, 808, FOOTER, size=SIZE_SMALL)
    _text_right(c, PAGE_W - 50, 808, f"Page {page} of {n_pages}", size=SIZE_SMALL)


def _invoice_page(c: canvas.Canvas, items: list[LineItem]) -> None:
    # Header block: seller, top left; document title, top right.
    _text(c, 50, 50, SELLER[0], "Helvetica-Bold", SIZE_H1)
    for i, s in enumerate(SELLER[1:]):
        _text(c, 50, 76 + 14 * i, s)
    _text_right(c, PAGE_W - 50, 50, "INVOICE", "Helvetica-Bold", SIZE_TITLE)
    # Key-value pairs, label left of value (label bold, value at a fixed column).
    for i, (k, v) in enumerate(KV_LEFT):
        _text(c, 340, 96 + 16 * i, f"{k}:", "Helvetica-Bold")
        _text(c, 440, 96 + 16 * i, v)
    # Label above value: "Bill To" over the buyer block, two small labelled boxes.
    _text(c, 50, 180, "Bill To", "Helvetica-Bold", SIZE_BODY)
    for i, s in enumerate(BUYER):
        _text(c, 50, 196 + 14 * i, s)
    for i, (k, v) in enumerate(KV_ABOVE):
        x = 340 + 120 * i
        _text(c, x, 180, k, "Helvetica-Bold", SIZE_BODY)
        _text(c, x, 196, v)
    # Line-item table.
    cols_left = [50, 300, 380, 470]
    right_edges = [None, 350, 450, PAGE_W - 50]
    top = 270
    _text(c, 50, top - 26, "Items", "Helvetica-Bold", SIZE_H2)
    c.setLineWidth(0.8)
    c.line(50, PAGE_H - top + 4, PAGE_W - 50, PAGE_H - top + 4)
    for j, h in enumerate(TABLE_HEADER):
        if right_edges[j] is None:
            _text(c, cols_left[j], top + 2, h, "Helvetica-Bold")
        else:
            _text_right(c, right_edges[j], top + 2, h, "Helvetica-Bold")
    c.line(50, PAGE_H - top - 16, PAGE_W - 50, PAGE_H - top - 16)
    for r, item in enumerate(items):
        y = top + 24 + 20 * r
        for j, cell in enumerate(item.cells()):
            if right_edges[j] is None:
                _text(c, cols_left[j], y, cell)
            else:
                _text_right(c, right_edges[j], y, cell)
    y_end = top + 24 + 20 * len(items)
    c.line(50, PAGE_H - y_end + 2, PAGE_W - 50, PAGE_H - y_end + 2)
    t = totals(items)
    labels = [("Subtotal", t["subtotal"]), (f"VAT {int(TAX_RATE * 100)}%", t["tax"]),
              ("Total", t["total"])]
    for i, (k, v) in enumerate(labels):
        font = "Helvetica-Bold" if k == "Total" else "Helvetica"
        _text_right(c, 450, y_end + 10 + 18 * i, k, font)
        _text_right(c, PAGE_W - 50, y_end + 10 + 18 * i, f"{v:.2f}", font)
    _text(c, 50, y_end + 80, "Thank you for your business. Please quote the invoice number "
          "with your payment.", size=SIZE_BODY)


def _column(c: canvas.Canvas, x: float, top: float, width: float,
            sections: list[tuple[str, str]]) -> None:
    y = top
    for heading, para in sections:
        _text(c, x, y, heading, "Helvetica-Bold", SIZE_H2)
        y += SIZE_H2 + 8
        for ln in simpleSplit(para, "Helvetica", SIZE_BODY, width):
            _text(c, x, y, ln)
            y += SIZE_BODY + 4
        y += 14


def _terms_page(c: canvas.Canvas) -> None:
    _text(c, 50, 50, TERMS_TITLE, "Helvetica-Bold", SIZE_TITLE)
    col_w = (PAGE_W - 100 - 30) / 2
    _column(c, 50, 100, col_w, TERMS_LEFT)
    _column(c, 50 + col_w + 30, 100, col_w, TERMS_RIGHT)


def invoice_pdf(items: list[LineItem] | None = None, *, terms_page: bool = True) -> bytes:
    """The two-page test invoice as PDF bytes (one page when ``terms_page`` is False)."""
    items = LINE_ITEMS if items is None else items
    buf = io.BytesIO()
    c = _canvas(buf)
    n = 2 if terms_page else 1
    _invoice_page(c, items)
    _footer(c, 1, n)
    c.showPage()
    if terms_page:
        _terms_page(c)
        _footer(c, 2, n)
        c.showPage()
    c.save()
    return buf.getvalue()


def text_pdf(lines: list[str], *, size: float = 14, font: str = "Helvetica",
             page_size: tuple[float, float] | None = None, line_gap: float = 1.8) -> bytes:
    """One page with ``lines`` drawn top-down at ``size`` points (page fits them if no size)."""
    buf = io.BytesIO()
    width = page_size[0] if page_size else 40 + max(
        canvas.Canvas(io.BytesIO()).stringWidth(s, font, size) for s in lines)
    height = page_size[1] if page_size else 40 + size * line_gap * len(lines)
    c = canvas.Canvas(buf, pagesize=(width, height), invariant=1)
    for i, s in enumerate(lines):
        c.setFont(font, size)
        c.drawString(20, height - 20 - size * line_gap * i - size, s)
    c.showPage()
    c.save()
    return buf.getvalue()


def multipage_pdf(n_pages: int) -> bytes:
    """``n_pages`` A4 pages each saying ``This is page K`` (for page-selection tests)."""
    buf = io.BytesIO()
    c = _canvas(buf)
    for k in range(1, n_pages + 1):
        _text(c, 50, 60, f"This is page {k}", "Helvetica-Bold", SIZE_H1)
        _text(c, 50, 100, f"Body text of page number {k}.")
        c.showPage()
    c.save()
    return buf.getvalue()


def encrypted_pdf(user_password: str = "secret") -> bytes:
    """A PDF that needs a user password to open."""
    from reportlab.lib import pdfencrypt

    buf = io.BytesIO()
    enc = pdfencrypt.StandardEncryption(user_password, ownerPassword="owner-" + user_password)
    c = canvas.Canvas(buf, pagesize=A4, encrypt=enc)
    _text(c, 50, 60, "Confidential")
    c.showPage()
    c.save()
    return buf.getvalue()


def zero_page_pdf() -> bytes:
    """A structurally valid PDF whose page tree is empty (written by pdfium)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    buf = io.BytesIO()
    pdf.save(buf)
    pdf.close()
    return buf.getvalue()


def truncated_pdf(fraction: float = 0.4) -> bytes:
    """The first ``fraction`` of the invoice's bytes: header intact, xref and trailer gone."""
    data = invoice_pdf()
    return data[: int(len(data) * fraction)]


def render_page(pdf_bytes: bytes, index: int = 0, dpi: float = 200) -> Image.Image:
    """Page ``index`` (0-based) rendered to an RGB PIL image at ``dpi``."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        page = pdf[index]
        img = page.render(scale=dpi / 72).to_pil().convert("RGB")
        page.close()
    finally:
        pdf.close()
    return img


def png_bytes(image: Image.Image, fmt: str = "PNG", **save_kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **save_kw)
    return buf.getvalue()


def degrade(image: Image.Image, seed: int = 0, *, tilt_deg: float = 0.4, blur: float = 0.5,
            noise: int = 12, jpeg_quality: int = 75) -> Image.Image:
    """A slightly scanned-looking copy: small tilt, blur, salt noise and JPEG artefacts (seeded)."""
    rng = random.Random(seed)
    img = image.convert("L")
    angle = rng.uniform(-tilt_deg, tilt_deg)
    img = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    if noise:
        px = img.load()
        w, h = img.size
        for _ in range(w * h // 400):
            x, y = rng.randrange(w), rng.randrange(h)
            v = px[x, y]
            px[x, y] = max(0, min(255, v + rng.randint(-noise * 4, noise * 4)))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=jpeg_quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


#: English sentences for OCR word-spacing measurements (distinct words, receipt-like mix).
ENGLISH_LINES = [
    "Thank you for shopping with us today",
    "Please keep this receipt for your records",
    "Fresh milk two litres and brown bread",
    "The quick brown fox jumps over the lazy dog",
    "Total amount paid by credit card",
    "Returns are accepted within thirty days",
    "Store opening hours are nine to five",
    "Ask our staff about the loyalty program",
]

#: Receipt lines in the style of the SROIE receipts where PP-OCRv4 glues words
#: ("BOOKTA.K(TAMANDAYA)SDNBHD"): capitals, punctuation, numbers.
RECEIPT_LINES = [
    "BOOK TA .K (TAMAN DAYA) SDN BHD",
    "NO.5: 55,57 & 59, JALAN SAGU 18",
    "TAMAN DAYA, 81100 JOHOR BAHRU",
    "DOCUMENT NO : TD01167104",
    "CASHIER : MANIS",
    "KF MODELLING CLAY KIDDY FISH",
    "1 PC * 9.000 9.00",
    "TOTAL ROUNDED 9.00",
    "CASH 10.00",
    "CHANGE 1.00",
    "GOODS SOLD ARE NOT RETURNABLE OR",
    "THANK YOU FOR SHOPPING",
]
