"""JSON Schemas (Draft 7) of the synthetic document kinds, with a description on every field.

The descriptions say where a reader finds the value, which helps extractive engines match fields
to document text. Every property is required and typed; dates are ISO strings (``format: date``),
money is a JSON number in the document's currency.
"""

from __future__ import annotations

from typing import Any


def _s(desc: str, **kw: Any) -> dict[str, Any]:
    return {"type": "string", "description": desc, **kw}


def _n(desc: str) -> dict[str, Any]:
    return {"type": "number", "description": desc}


def _obj(props: dict[str, Any], desc: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props, "required": list(props),
                           "additionalProperties": False}
    if desc:
        out["description"] = desc
    return out


ADDRESS = _obj({
    "street": _s("street and house number"),
    "city": _s("city"),
    "postal_code": _s("postal or ZIP code"),
    "country": _s("country"),
}, "postal address")

INVOICE_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Invoice",
    **_obj({
        "invoice_number": _s("invoice number"),
        "invoice_date": _s("invoice or issue date, ISO YYYY-MM-DD", format="date"),
        "due_date": _s("payment due date, ISO YYYY-MM-DD", format="date"),
        "currency": _s("ISO 4217 currency code", enum=["EUR", "USD", "GBP", "CHF"]),
        "vendor": _obj({"name": _s("seller company name"), "address": ADDRESS}, "the seller"),
        "customer": _obj({"name": _s("bill-to name"), "address": ADDRESS}, "the buyer"),
        "line_items": {
            "type": "array",
            "description": "rows of the line-item table",
            "minItems": 1,
            "items": _obj({
                "description": _s("item description"),
                "quantity": {"type": "integer", "description": "quantity", "minimum": 0},
                "unit_price": _n("unit price"),
                "amount": _n("line amount = quantity x unit price"),
            }),
        },
        "subtotal": _n("sum of line amounts before tax"),
        "tax_rate": _n("tax or VAT rate in percent"),
        "tax": _n("tax or VAT amount"),
        "total": _n("total amount due including tax"),
    }),
}

RECEIPT_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Receipt",
    **_obj({
        "merchant": _obj({"name": _s("shop name"), "address": ADDRESS,
                          "phone": _s("shop telephone number")}, "the shop"),
        "date": _s("purchase date, ISO YYYY-MM-DD", format="date"),
        "time": _s("purchase time HH:MM"),
        "currency": _s("ISO 4217 currency code", enum=["EUR", "USD", "GBP", "CHF"]),
        "items": {
            "type": "array",
            "description": "purchased items",
            "minItems": 1,
            "items": _obj({
                "description": _s("item name"),
                "quantity": {"type": "integer", "description": "quantity", "minimum": 1},
                "price": _n("line total"),
            }),
        },
        "tax": _n("tax included in the total"),
        "total": _n("total paid"),
        "payment_method": _s("payment method"),
    }),
}

FORM_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Membership application",
    **_obj({
        "form_id": _s("form identifier"),
        "applicant": _obj({
            "first_name": _s("first name"),
            "last_name": _s("last name"),
            "date_of_birth": _s("date of birth, ISO YYYY-MM-DD", format="date"),
            "email": _s("email address"),
            "phone": _s("phone number"),
            "address": ADDRESS,
        }, "the person applying"),
        "employer": _s("employer"),
        "start_date": _s("membership start date, ISO YYYY-MM-DD", format="date"),
        "membership_type": _s("membership type",
                              enum=["Standard", "Premium", "Student", "Family"]),
        "newsletter": {"type": "boolean", "description": "subscribe to the newsletter"},
        "terms_accepted": {"type": "boolean", "description": "terms and conditions accepted"},
        "signature_date": _s("date signed, ISO YYYY-MM-DD", format="date"),
    }),
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "invoice": INVOICE_SCHEMA, "receipt": RECEIPT_SCHEMA, "form": FORM_SCHEMA,
}
QUESTIONS: dict[str, str] = {
    "invoice": "Extract the invoice header, parties, line items and totals.",
    "receipt": "Extract the merchant, date, purchased items and totals from this receipt.",
    "form": "Extract the applicant's details and choices from this application form.",
}
#: SOB's ``schema_complexity`` per kind (nesting depth, arrays of objects, field count).
SCHEMA_COMPLEXITY: dict[str, str] = {"invoice": "hard", "receipt": "medium", "form": "medium"}
