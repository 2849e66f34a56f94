"""Real-world user JSON Schemas for the extraction and decoding hardening tests.

Each case is ``(schema, expect)``: ``expect`` is ``"ok"`` (the result must validate against the
schema with ``jsonschema``) or ``("refuse", text)`` (the schema must be refused up front with a
``SchemaError`` whose message contains ``text``). Pydantic-generated cases come from real models
(``model_json_schema()``, v2), the rest are written the way OpenAPI documents, JSON Schema Store
entries and hand-written user schemas look.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from pydantic import AnyUrl, BaseModel, ConfigDict, Field


# ------------------------------------------------------------------ pydantic models
class Currency(str, enum.Enum):  # noqa: UP042 (as users write it)
    EUR = "EUR"
    USD = "USD"
    GBP = "GBP"


class Address(BaseModel):
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None


class Party(BaseModel):
    name: str = Field(description="Company or person name")
    address: str | None = None
    vat_id: str | None = Field(default=None, description="VAT registration number")


class LineItem(BaseModel):
    description: str
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    amount: Decimal
    sub_items: list[LineItem] = Field(default_factory=list)


class PydInvoice(BaseModel):
    """A commercial invoice."""

    invoice_number: str | None = Field(default=None, description="Invoice No as printed")
    issue_date: dt.date | None = None
    due_date: dt.date | None = None
    currency: Currency | None = None
    seller: Party | None = None
    buyer: Party | None = None
    line_items: list[LineItem] = Field(default_factory=list)
    subtotal: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = Field(default=None, description="Total amount due")


class PydInvoiceStrict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invoice_number: str = Field(min_length=3, max_length=32)
    issue_date: dt.date
    currency: Literal["EUR", "USD", "GBP"]
    seller: Party
    total: float = Field(ge=0)
    tax: float | None = Field(default=None, ge=0, lt=10_000)
    paid: bool = False


class PaymentMethod(str, enum.Enum):  # noqa: UP042 (as users write it)
    CASH = "cash"
    CARD = "card"
    OTHER = "other"


class ReceiptLine(BaseModel):
    name: str
    price: float


class Receipt(BaseModel):
    merchant_name: str | None = None
    merchant_email: str | None = Field(default=None, json_schema_extra={"format": "email"})
    website: AnyUrl | None = None
    transaction_time: dt.datetime | None = None
    payment_method: PaymentMethod = PaymentMethod.CARD
    items: list[ReceiptLine] | None = None
    total: float
    receipt_id: UUID | None = None


class POItem(BaseModel):
    sku: str = Field(pattern=r"^[A-Z0-9-]+$")
    quantity: int = Field(ge=1, le=10_000)
    unit_price: float = Field(gt=0, multiple_of=0.01)


class PurchaseOrder(BaseModel):
    po_number: str = Field(pattern=r"^PO-\d+$", description="Purchase order number")
    order_date: dt.date
    buyer_email: str | None = Field(default=None, json_schema_extra={"format": "email"})
    items: list[POItem] = Field(min_length=1, max_length=50)
    total: float = Field(ge=0)


class TxType(str, enum.Enum):  # noqa: UP042 (as users write it)
    DEBIT = "debit"
    CREDIT = "credit"


class Transaction(BaseModel):
    date: dt.date
    description: str
    amount: Decimal
    type: TxType


class BankStatement(BaseModel):
    iban: str | None = Field(default=None, pattern=r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
    account_holder: str | None = None
    statement_period_start: dt.date | None = None
    statement_period_end: dt.date | None = None
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    transactions: list[Transaction] = []


class ShippingLabel(BaseModel):
    tracking_number: str
    carrier: Literal["DHL", "UPS", "FedEx", "Royal Mail"] | None = None
    ship_to: Address
    ship_from: Address | None = None
    weight_kg: float | None = Field(default=None, gt=0)
    ship_date: dt.date | None = None


class IDCard(BaseModel):
    document_number: str
    surname: str
    given_names: str
    date_of_birth: dt.date
    expiry_date: dt.date | None = None
    sex: Literal["M", "F", "X"] | None = None
    nationality: str | None = Field(default=None, min_length=3, max_length=3)


class CardPayment(BaseModel):
    kind: Literal["card"]
    card_last4: str | None = Field(default=None, pattern=r"^\d{4}$")


class BankPayment(BaseModel):
    kind: Literal["bank_transfer"]
    iban: str | None = None
    bic: str | None = None


class InvoiceWithPayment(BaseModel):
    """Discriminated union (oneOf + discriminator), aliases, dict and tuple fields."""

    model_config = ConfigDict(populate_by_name=True)

    number: str = Field(alias="invoiceNumber", description="Invoice No")
    issued: dt.date = Field(alias="issueDate")
    payment: CardPayment | BankPayment | None = Field(default=None, discriminator="kind")
    tax_breakdown: dict[str, float] = Field(default_factory=dict,
                                            description="tax amount per rate")
    tags: set[str] = Field(default_factory=set)
    service_period: tuple[dt.date, dt.date] | None = None
    vat_rate: Literal[0, 5, 20] | None = None
    grand_total: Decimal = Field(alias="grandTotal", max_digits=12, decimal_places=2)


def _pyd(model: type[BaseModel], mode: str = "validation") -> dict[str, Any]:
    return model.model_json_schema(mode=mode)  # type: ignore[arg-type]


def _older_pydantic_allof(schema: dict[str, Any]) -> dict[str, Any]:
    """Pydantic < 2.? and v1 wrapped a $ref that had siblings in ``allOf: [{"$ref": ...}]``."""
    out = dict(schema)
    props = {}
    for k, v in schema["properties"].items():
        if "$ref" in v:
            v = {"allOf": [{"$ref": v["$ref"]}], "description": f"the {k}"}
        props[k] = v
    out["properties"] = props
    return out


# ------------------------------------------------------------------ hand-written schemas
OPENAPI_NULLABLE = {  # OpenAPI 3.0 style: nullable: true (not JSON Schema; ignored by validators)
    "type": "object",
    "properties": {
        "invoice_number": {"type": "string", "nullable": True},
        "issue_date": {"type": "string", "format": "date", "nullable": True},
        "total": {"type": "number", "nullable": True},
        "currency": {"type": "string", "enum": ["EUR", "USD", "GBP", None], "nullable": True},
    },
    "required": ["invoice_number", "total"],
}

OPENAPI31_TYPE_LISTS = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "invoice_number": {"type": ["string", "null"]},
        "issue_date": {"type": ["string", "null"], "format": "date"},
        "total": {"type": ["number", "string"]},
        "tax": {"type": ["null", "number"]},
        "seller": {"type": ["object", "null"], "properties": {
            "name": {"type": ["string", "null"]}}},
        "line_items": {"type": ["array", "null"], "items": {"type": "object", "properties": {
            "description": {"type": "string"}, "amount": {"type": ["number", "null"]}}}},
    },
    "required": ["invoice_number", "issue_date", "total", "seller"],
}

SCHEMASTORE_DRAFT7 = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": "https://example.com/schemas/invoice.json",
    "title": "Invoice",
    "type": "object",
    "additionalProperties": False,
    "definitions": {
        "money": {"type": "number", "multipleOf": 0.01, "minimum": 0,
                  "examples": [12.5]},
        "party": {"type": "object", "additionalProperties": False, "required": ["name"],
                  "properties": {"name": {"type": "string", "minLength": 1},
                                 "address": {"type": "string"}}},
    },
    "properties": {
        "invoice_number": {"type": "string", "pattern": "^[A-Z]{2,5}-\\d{4}-\\d+$",
                           "description": "Invoice No"},
        "issue_date": {"type": "string", "format": "date"},
        "document_type": {"const": "invoice"},
        "seller": {"$ref": "#/definitions/party"},
        "buyer": {"$ref": "#/definitions/party"},
        "subtotal": {"$ref": "#/definitions/money"},
        "tax": {"$ref": "#/definitions/money"},
        "total": {"allOf": [{"$ref": "#/definitions/money"}], "exclusiveMaximum": 1000000},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True,
                 "maxItems": 5},
        "line_items": {"type": "array", "minItems": 1, "maxItems": 100, "items": {
            "type": "object", "additionalProperties": False,
            "required": ["description", "amount"],
            "properties": {"description": {"type": "string", "maxLength": 200},
                           "quantity": {"type": "integer", "minimum": 1},
                           "amount": {"$ref": "#/definitions/money"}}}},
    },
    "required": ["invoice_number", "issue_date", "document_type", "seller", "total",
                 "line_items"],
}

ADDITIONAL_PROPS_SCHEMA = {
    "type": "object",
    "properties": {"invoice_number": {"type": "string"}, "total": {"type": "number"}},
    "additionalProperties": {"type": "string"},
    "patternProperties": {"^x-": {"type": "string"}},
    "required": ["total"],
}

ONE_OF_PAYMENT = {
    "type": "object",
    "properties": {
        "invoice_number": {"type": "string"},
        "total": {"oneOf": [{"type": "number"}, {"type": "string", "pattern": "^\\d+$"}]},
        "payment": {"oneOf": [
            {"type": "object", "properties": {"iban": {"type": "string"}},
             "required": ["iban"]},
            {"type": "object", "properties": {"card_last4": {"type": "string",
                                                             "pattern": "^\\d{4}$"}},
             "required": ["card_last4"]}]},
    },
    "required": ["invoice_number", "total"],
}

RECURSIVE_ITEMS = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {"item": {"type": "object", "properties": {
        "description": {"type": "string"}, "amount": {"type": "number"},
        "children": {"type": "array", "items": {"$ref": "#/$defs/item"}}},
        "required": ["description"]}},
    "type": "object",
    "properties": {"invoice_number": {"type": "string"},
                   "line_items": {"type": "array", "items": {"$ref": "#/$defs/item"}},
                   "total": {"type": "number"}},
    "required": ["invoice_number", "line_items"],
}

POINTER_ESCAPES = {
    "$defs": {"a/b": {"type": "string", "description": "invoice number"},
              "m~n": {"type": "number"},
              "per%cent": {"type": "number", "description": "tax rate"}},
    "type": "object",
    "properties": {"invoice_number": {"$ref": "#/$defs/a~1b"},
                   "total": {"$ref": "#/$defs/m~0n"},
                   "tax_rate": {"$ref": "#/$defs/per%25cent"}},
    "required": ["invoice_number", "total", "tax_rate"],
}

NO_ROOT_TYPE = {
    "description": "no type at the root, only properties",
    "properties": {"invoice_number": {"type": "string", "examples": ["INV-1"]},
                   "total": {"type": "number"}},
    "required": ["invoice_number", "total"],
}

REQUIRED_NOT_IN_PROPERTIES = {
    "type": "object",
    "properties": {"invoice_number": {"type": "string"}, "total": {"type": "number"}},
    "required": ["invoice_number", "total", "purchase_order"],
}

TRUE_AND_EMPTY = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {"invoice_number": {}, "total": True, "notes": {"description": "anything"},
                   "seller": {"type": "object", "properties": {"name": True}}},
    "required": ["invoice_number", "total", "notes"],
}

ITEMS_FALSE_PREFIX = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "invoice_number": {"type": "string"},
        "period": {"type": "array", "prefixItems": [{"type": "string", "format": "date"},
                                                    {"type": "string", "format": "date"}],
                   "items": False},
        "empty": {"type": "array", "items": False},
        "total": {"type": "number"},
    },
    "required": ["invoice_number", "period", "total"],
}

DRAFT7_TUPLE = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {"invoice_number": {"type": "string"},
                   "amounts": {"type": "array", "items": [{"type": "number"},
                                                          {"type": "string"}],
                               "additionalItems": False, "minItems": 2}},
    "required": ["invoice_number", "amounts"],
}

IF_THEN_ELSE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {"invoice_number": {"type": "string"}, "currency": {"type": "string"},
                   "total": {"type": "number"}, "vat_id": {"type": "string"}},
    "if": {"properties": {"currency": {"const": "EUR"}}, "required": ["currency"]},
    "then": {"required": ["vat_id"]},
    "else": {"not": {"required": ["vat_id"]}},
    "required": ["invoice_number", "total"],
}

NOT_KEYWORD = {
    "type": "object",
    "properties": {"invoice_number": {"type": "string", "not": {"const": ""}},
                   "total": {"type": "number", "not": {"const": 0}}},
    "required": ["invoice_number", "total"],
}

DEPENDENT_REQUIRED = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {"invoice_number": {"type": "string"}, "total": {"type": "number"},
                   "tax": {"type": "number"}, "tax_rate": {"type": "number"}},
    "dependentRequired": {"tax": ["tax_rate"]},
    "minProperties": 2,
    "required": ["invoice_number"],
}

REMOTE_REF = {
    "type": "object",
    "properties": {"invoice_number": {"type": "string"},
                   "seller": {"$ref": "http://example.com/schemas/party.json"}},
}

UNRESOLVABLE_REF = {
    "type": "object",
    "properties": {"invoice_number": {"$ref": "#/definitions/missing"}},
}

INVALID_TYPE = {"type": "object", "properties": {"total": {"type": "money"}}}
INVALID_REQUIRED = {"type": "object", "properties": {"total": {"type": "number"}},
                    "required": "total"}
NOT_OBJECT_ROOT = {"type": "array", "items": {"type": "object"}}
BOOL_ROOT = True

CONST_AND_FORMATS = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "schema_version": {"const": 2},
        "kind": {"type": "string", "const": "receipt"},
        "receipt_id": {"type": "string", "format": "uuid"},
        "issued_at": {"type": "string", "format": "date-time"},
        "seller_email": {"type": "string", "format": "email"},
        "seller_website": {"type": "string", "format": "uri"},
        "invoice_date": {"type": "string", "format": "date"},
        "total": {"type": "integer"},
    },
    "required": ["schema_version", "kind", "receipt_id", "issued_at", "invoice_date", "total"],
}

STRING_FORMAT_DATE_NUMBERS = {  # a date field typed as a string with a pattern; money as strings
    "type": "object",
    "properties": {
        "invoice_number": {"type": "string", "maxLength": 8},
        "issue_date": {"type": "string", "pattern": "^\\d{2}/\\d{2}/\\d{4}$"},
        "total": {"type": "string", "description": "total amount due"},
        "tax": {"type": "integer"},
        "subtotal": {"type": "number", "multipleOf": 0.5},
    },
    "required": ["invoice_number", "issue_date", "total", "tax", "subtotal"],
}

ENUM_REF_NO_TYPE = {
    "$defs": {"Currency": {"enum": ["EUR", "USD", "GBP"], "title": "Currency"}},
    "type": "object",
    "properties": {"currency": {"$ref": "#/$defs/Currency"},
                   "currency2": {"allOf": [{"$ref": "#/$defs/Currency"}], "default": "EUR"},
                   "invoice_number": {"type": "string"}},
    "required": ["currency", "currency2", "invoice_number"],
}

NESTED_REQUIRED_NO_VALUE = {
    "type": "object",
    "properties": {
        "bank": {"type": "object", "required": ["iban", "bic"], "additionalProperties": False,
                 "properties": {"iban": {"type": "string", "minLength": 15},
                                "bic": {"type": "string", "pattern": "^[A-Z]{6}[A-Z0-9]{2,5}$"}}},
        "signature_present": {"type": "boolean"},
        "page_count": {"type": "integer", "minimum": 1, "maximum": 99},
        "discount": {"type": "number", "exclusiveMinimum": 0},
    },
    "required": ["bank", "signature_present", "page_count", "discount"],
}


ROOT_RECURSION = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {"invoice_number": {"type": "string"}, "total": {"type": "number"},
                   "credit_note_for": {"$ref": "#"}},
    "required": ["invoice_number"],
}

ANCHOR_REF = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {"party": {"$anchor": "party", "type": "object",
                        "properties": {"name": {"type": "string"}}}},
    "type": "object",
    "properties": {"seller": {"$ref": "#party"}},
}

# A bundled (compound) document as JSON Schema 2020-12 describes it: embedded resources with
# their own $id, references relative to them, an anchor, and a recursive reference inside one.
NESTED_IDS = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://example.com/schemas/invoice.json",
    "type": "object",
    "required": ["invoice_number", "total"],
    "properties": {
        "invoice_number": {"type": "string"},
        "total": {"$ref": "money.json"},
        "seller": {"$ref": "party.json"},
        "buyer": {"$ref": "https://example.com/schemas/party.json"},
    },
    "$defs": {
        "money": {"$id": "money.json", "type": "number", "minimum": 0},
        "party": {
            "$id": "party.json", "type": "object",
            "$defs": {"name": {"type": "string"}, "addr": {"$anchor": "addr", "type": "string"}},
            "properties": {"name": {"$ref": "#/$defs/name"}, "address": {"$ref": "#addr"},
                           "parent": {"$ref": "#"}},
        },
    },
}

DRAFT4_BOOL_EXCLUSIVE = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "properties": {"total": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
                   "invoice_number": {"type": "string"}},
    "required": ["total", "invoice_number"],
}

UNKNOWN_DRAFT = {"$schema": "http://example.com/my-draft#", "type": "object",
                 "properties": {"total": {"type": "number"}}}

NUMBER_BOUNDS = {
    "type": "object",
    "properties": {
        "total": {"type": "integer", "maximum": 100, "description": "total amount due"},
        "vat_rate": {"enum": [0, 5, 20], "description": "VAT rate in percent"},
        "due_date": {"type": ["string", "null"], "format": "date",
                     "pattern": "^\\d{4}-\\d{2}-\\d{2}$"},
        "examples_field": {"type": "string", "examples": ["a", "b"], "default": "n/a"},
    },
    "required": ["total", "vat_rate", "due_date"],
    "examples": [{"total": 1, "vat_rate": 5, "due_date": None}],
}


ECMA_UNICODE_PATTERN = {  # JSON Schema regexes are ECMA-262 (run on RE2); Python's re has no \p{L}
    "type": "object",
    "properties": {"seller_name": {"type": "string", "pattern": "^[\\p{L} .]+$"}},
    "required": ["seller_name"],
}

ECMA_NAMED_GROUP = {
    "type": "object",
    "properties": {"invoice_number": {"type": "string",
                                      "pattern": "^(?<prefix>[A-Z]+)-\\d+"}},
}

BACKTRACKING_PATTERN = {  # a lookahead: only a backtracking engine runs it, refused by name
    "type": "object",
    "properties": {"invoice_number": {"type": "string", "pattern": "^(?=.*\\d)[A-Z0-9-]+$"}},
}

OPENAPI_FORMATS = {  # OpenAPI formats JSON Schema does not define: annotations
    "type": "object",
    "properties": {"total": {"type": "number", "format": "double"},
                   "line_count": {"type": "integer", "format": "int32"},
                   "tax": {"type": "string", "format": "decimal"},
                   "phone": {"type": "string", "format": "phone"}},
    "required": ["total", "tax"],
}

REQUIRED_BUT_FORBIDDEN = {
    "type": "object", "additionalProperties": False,
    "properties": {"invoice_number": {"type": "string"}},
    "required": ["invoice_number", "po_number"],
}

NARROW_RANGES = {
    "type": "object",
    "properties": {"year": {"type": "integer", "minimum": 2000, "maximum": 2100},
                   "discount_share": {"type": "number", "exclusiveMinimum": 0,
                                      "exclusiveMaximum": 1},
                   "nested": {"$defs": {"x": {"type": "number"}}, "type": "object",
                              "properties": {"total": {"$ref": "#/properties/nested/$defs/x"}}}},
    "required": ["year", "discount_share"],
}


DRAFT7_REF_SIBLING = {  # Draft-7 validators ignore keywords next to $ref: total is a string
    "$schema": "http://json-schema.org/draft-07/schema#",
    "definitions": {"text": {"type": "string"}},
    "type": "object",
    "properties": {"total": {"$ref": "#/definitions/text", "type": "number",
                             "description": "total amount due"}},
    "required": ["total"],
}

UNDECLARED_DRAFT7_TUPLE = {  # no $schema, but only Draft-7 reads items: [...]
    "type": "object",
    "properties": {"invoice_number": {"type": "string"},
                   "totals": {"type": "array", "items": [{"type": "number"}, {"type": "string"}],
                              "minItems": 1}},
    "required": ["invoice_number", "totals"],
}


QUICKTYPE_ROOT_REF = {  # quicktype's output: draft-06, the root itself a $ref, recursion
    "$schema": "http://json-schema.org/draft-06/schema#", "$ref": "#/definitions/Invoice",
    "definitions": {
        "Invoice": {"type": "object", "additionalProperties": False, "title": "Invoice",
                    "properties": {"invoiceNumber": {"type": "string"},
                                   "issueDate": {"type": "string", "format": "date"},
                                   "total": {"type": "number"},
                                   "lineItems": {"type": "array",
                                                 "items": {"$ref": "#/definitions/LineItem"}}},
                    "required": ["invoiceNumber", "total"]},
        "LineItem": {"type": "object", "additionalProperties": False, "title": "LineItem",
                     "properties": {"description": {"type": "string"},
                                    "amount": {"type": "number"},
                                    "children": {"type": "array",
                                                 "items": {"$ref": "#/definitions/LineItem"}}},
                     "required": ["description"]}},
}


def cases() -> dict[str, tuple[Any, Any]]:
    inv = _pyd(PydInvoice)
    return {
        "pyd_invoice": (inv, "ok"),
        "pyd_invoice_serialization": (_pyd(PydInvoice, "serialization"), "ok"),
        "pyd_invoice_allof": (_older_pydantic_allof(inv), "ok"),
        "pyd_invoice_strict": (_pyd(PydInvoiceStrict), "ok"),
        "pyd_receipt": (_pyd(Receipt), "ok"),
        "pyd_purchase_order": (_pyd(PurchaseOrder), "ok"),
        "pyd_bank_statement": (_pyd(BankStatement), "ok"),
        "pyd_shipping_label": (_pyd(ShippingLabel), "ok"),
        "pyd_id_card": (_pyd(IDCard), "ok"),
        "pyd_line_item_recursive": (_pyd(LineItem), "ok"),
        "openapi_nullable": (OPENAPI_NULLABLE, "ok"),
        "openapi31_type_lists": (OPENAPI31_TYPE_LISTS, "ok"),
        "schemastore_draft7": (SCHEMASTORE_DRAFT7, "ok"),
        "additional_props_schema": (ADDITIONAL_PROPS_SCHEMA, "ok"),
        "one_of_payment": (ONE_OF_PAYMENT, "ok"),
        "recursive_items": (RECURSIVE_ITEMS, "ok"),
        "pointer_escapes": (POINTER_ESCAPES, "ok"),
        "no_root_type": (NO_ROOT_TYPE, "ok"),
        "required_not_in_properties": (REQUIRED_NOT_IN_PROPERTIES, "ok"),
        "true_and_empty": (TRUE_AND_EMPTY, "ok"),
        "items_false_prefix": (ITEMS_FALSE_PREFIX, "ok"),
        "draft7_tuple": (DRAFT7_TUPLE, "ok"),
        "if_then_else": (IF_THEN_ELSE, "ok"),
        "not_keyword": (NOT_KEYWORD, "ok"),
        "dependent_required": (DEPENDENT_REQUIRED, "ok"),
        "const_and_formats": (CONST_AND_FORMATS, "ok"),
        "string_format_date_numbers": (STRING_FORMAT_DATE_NUMBERS, "ok"),
        "enum_ref_no_type": (ENUM_REF_NO_TYPE, "ok"),
        "nested_required_no_value": (NESTED_REQUIRED_NO_VALUE, "ok"),
        "pyd_discriminated_alias": (_pyd(InvoiceWithPayment), "ok"),
        "pyd_discriminated_alias_ser": (_pyd(InvoiceWithPayment, "serialization"), "ok"),
        "root_recursion": (ROOT_RECURSION, "ok"),
        "draft4_bool_exclusive": (DRAFT4_BOOL_EXCLUSIVE, "ok"),
        "number_bounds": (NUMBER_BOUNDS, "ok"),
        "openapi_formats": (OPENAPI_FORMATS, "ok"),
        "draft7_ref_sibling": (DRAFT7_REF_SIBLING, "ok"),
        "quicktype_root_ref": (QUICKTYPE_ROOT_REF, "ok"),
        "undeclared_draft7_tuple": (UNDECLARED_DRAFT7_TUPLE, "ok"),
        "narrow_ranges": (NARROW_RANGES, "ok"),
        "ecma_unicode_pattern": (ECMA_UNICODE_PATTERN, "ok"),
        "ecma_named_group": (ECMA_NAMED_GROUP, "ok"),
        "backtracking_pattern": (BACKTRACKING_PATTERN, ("refuse", "uses a lookahead (?=")),
        "required_but_forbidden": (REQUIRED_BUT_FORBIDDEN, ("refuse", "'po_number'")),
        "anchor_ref": (ANCHOR_REF, "ok"),
        "nested_ids": (NESTED_IDS, "ok"),
        "unknown_draft": (UNKNOWN_DRAFT, ("refuse", "my-draft")),
        "remote_ref": (REMOTE_REF, ("refuse", "http://example.com/schemas/party.json")),
        "unresolvable_ref": (UNRESOLVABLE_REF, ("refuse", "#/definitions/missing")),
        "invalid_type": (INVALID_TYPE, ("refuse", "money")),
        "invalid_required": (INVALID_REQUIRED, ("refuse", "required")),
        "not_object_root": (NOT_OBJECT_ROOT, ("refuse", "root must be an object")),
        "bool_root": (BOOL_ROOT, ("refuse", "JSON object")),
    }
