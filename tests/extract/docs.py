"""Hand-built Documents (what a parser gives for a simple invoice) and the invoice schema."""

from __future__ import annotations

from prunestack.pipeline.document import (
    BBox,
    Document,
    Element,
    ElementKind,
    Page,
    Source,
    TableCell,
)

INVOICE_SCHEMA = {
    "type": "object",
    "properties": {
        "invoice_number": {"type": "string", "description": "Invoice identifier"},
        "invoice_date": {"type": "string", "format": "date"},
        "due_date": {"type": ["string", "null"], "format": "date"},
        "currency": {"type": "string", "description": "ISO 4217 currency code"},
        "vendor": {"type": "object", "properties": {
            "name": {"type": "string"},
            "address": {"type": "object", "properties": {
                "street": {"type": "string"}, "city": {"type": "string"},
                "postal_code": {"type": "string"}, "country": {"type": "string"}}}}},
        "customer": {"type": "object", "properties": {
            "name": {"type": "string"},
            "address": {"type": "object", "properties": {
                "street": {"type": "string"}, "city": {"type": "string"},
                "postal_code": {"type": "string"}, "country": {"type": "string"}}}}},
        "line_items": {"type": "array", "items": {"type": "object", "properties": {
            "description": {"type": "string"}, "quantity": {"type": "integer"},
            "unit_price": {"type": "number"}, "amount": {"type": "number"}}}},
        "subtotal": {"type": "number"},
        "tax_rate": {"type": "number", "description": "tax rate in percent"},
        "tax": {"type": "number"},
        "total": {"type": "number", "description": "total amount due"},
    },
    "required": ["invoice_number", "invoice_date", "total"],
}


def _el(i: int, kind: ElementKind, text: str, box: tuple, **kw) -> Element:
    return Element(id=f"p1-e{i}", kind=kind, text=text, page=1,
                   bbox=BBox(x0=box[0], y0=box[1], x1=box[2], y1=box[3]),
                   source=Source.PDF_TEXT, **kw)


def kv(i: int, key: str, value: str, y: float, x: float = 350) -> Element:
    return _el(i, ElementKind.KEY_VALUE, f"{key}: {value}", (x, y, x + 200, y + 12), key=key,
               value=value, value_bbox=BBox(x0=x + 90, y0=y, x1=x + 200, y1=y + 12))


def invoice_document() -> Document:
    rows = [["Description", "Qty", "Unit price", "Amount"],
            ["Laptop stand", "2", "€45,00", "€90,00"],
            ["USB-C cable", "3", "€12,50", "€37,50"],
            ["Consulting hours", "10", "€120,00", "€1.200,00"]]
    cells = [TableCell(row=r, col=c, text=t,
                       bbox=BBox(x0=50 + 120 * c, y0=330 + 20 * r, x1=160 + 120 * c,
                                 y1=345 + 20 * r))
             for r, row in enumerate(rows) for c, t in enumerate(row)]
    els = [
        _el(0, ElementKind.TITLE, "INVOICE", (50, 40, 200, 70), level=1),
        _el(1, ElementKind.TEXT, "From:\nNorthwind Traders Ltd\n12 Main Street\n10115 Berlin\n"
            "Germany", (50, 100, 250, 170)),
        _el(2, ElementKind.TEXT, "Bill To:\nAnna Rossi\n7 Station Road\n75001 Paris\nFrance",
            (50, 200, 250, 270)),
        kv(3, "Invoice No", "INV-2024-00123", 100),
        kv(4, "Invoice Date", "07.03.2024", 116),
        kv(5, "Due Date", "06.04.2024", 132),
        kv(6, "Currency", "EUR", 148),
        _el(7, ElementKind.TABLE, "\n".join(" | ".join(r) for r in rows), (50, 330, 530, 410),
            cells=cells),
        kv(8, "Subtotal", "€1.327,50", 430),
        kv(9, "Tax (19%)", "€252,23", 446),
        kv(10, "Total", "€1.579,73", 462),
        _el(11, ElementKind.FOOTER, "Northwind Traders Ltd · IBAN DE12 1234 5678 9012 3456 78",
            (50, 800, 545, 812)),
    ]
    return Document(source_name="invoice.pdf", mime_type="application/pdf",
                    pages=[Page(number=1, width=595, height=842, elements=els)])


EXPECTED = {
    "invoice_number": "INV-2024-00123", "invoice_date": "2024-03-07", "due_date": "2024-04-06",
    "currency": "EUR",
    "vendor": {"name": "Northwind Traders Ltd", "address": {
        "street": "12 Main Street", "city": "Berlin", "postal_code": "10115",
        "country": "Germany"}},
    "customer": {"name": "Anna Rossi", "address": {
        "street": "7 Station Road", "city": "Paris", "postal_code": "75001",
        "country": "France"}},
    "line_items": [
        {"description": "Laptop stand", "quantity": 2, "unit_price": 45.0, "amount": 90.0},
        {"description": "USB-C cable", "quantity": 3, "unit_price": 12.5, "amount": 37.5},
        {"description": "Consulting hours", "quantity": 10, "unit_price": 120.0,
         "amount": 1200.0}],
    "subtotal": 1327.5, "tax_rate": 19.0, "tax": 252.23, "total": 1579.73,
}
