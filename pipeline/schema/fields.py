"""The fields an extraction engine must fill, planned from an object schema.

``plan_fields(schema)`` walks the object schema (local ``$ref`` resolved, JSON-pointer escapes
and ``%``-encoding included; ``allOf`` merged; ``anyOf``/``oneOf`` with ``null`` read as
"nullable"; ``true``/``false``/``{}`` sub-schemas; recursion stopped where a ``$ref`` repeats;
``const`` values not searched) into the leaves an engine must find: scalar fields, nested objects
(flattened to dotted paths), arrays of scalars and arrays of objects (line items).
``require_object_root`` refuses a schema whose root does not describe an object with properties
(there would be nothing to find). Loading and checking a schema is :mod:`.load`; making data
valid against it is :mod:`.conform`. This module does not read documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from prunestack.errors import SchemaError
from prunestack.pipeline.schema.nodes import MAX_SCHEMA_DEPTH, main_type, norm
from prunestack.pipeline.schema.validate import path_str

# ISO 4217 codes a field name or label may carry as its unit ("total_gbp", "Total (EUR)").
ISO_CURRENCIES = frozenset(
    "USD EUR GBP JPY CHF CAD AUD NZD CNY INR BRL MXN SEK NOK DKK PLN CZK HUF SGD HKD MYR "
    "ZAR KRW TRY RUB AED SAR THB IDR PHP VND".split()
)


@dataclass
class FieldSpec:
    """One leaf (or one array) the engine has to fill."""

    path: tuple[str | int, ...]
    name: str
    description: str
    type: str  # string | number | integer | boolean | array | object
    format: str | None = None
    enum: list[Any] | None = None
    nullable: bool = False
    required: bool = False
    items: list[FieldSpec] = field(default_factory=list)  # arrays of objects: item properties
    item_type: str | None = None  # arrays of scalars: the item type
    schema: dict[str, Any] = field(default_factory=dict)

    @property
    def dotted(self) -> str:
        return path_str(self.path)

    @property
    def label_name(self) -> str:
        """The readable name without a currency code ("Total (GBP)", ``total_eur`` → "total"):
        the code is the unit, not what a document's label says."""
        words = humanize(self.name).split()
        kept = [w for w in words if w.upper() not in ISO_CURRENCIES]
        return " ".join(kept or words)

    def descriptor(self) -> str:
        """Text the retrieval and label matching embed: the readable name plus the description."""
        words = self.label_name
        return f"{words}: {self.description}" if self.description else words


def humanize(name: str) -> str:
    """``invoiceNumber`` / ``invoice_number`` / ``Invoice No.`` → ``invoice number`` /
    ``invoice no``."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    s = re.sub(r"[^\w]+|_", " ", s)  # "Invoice No." / "Total (GBP)" / "vat-id" → words
    return " ".join(s.split()).lower()


def require_object_root(schema: dict[str, Any], refs: list[str] | None = None
                        ) -> dict[str, Any]:
    """The schema's root, resolved; ``SchemaError`` unless it is an object with properties."""
    root = norm(schema, schema, refs)
    if main_type(root)[0] != "object" or not isinstance(root.get("properties"), dict):
        raise SchemaError("the schema's root must be an object with properties",
                          'e.g. {"type": "object", "properties": {"total": {"type": "number"}}}')
    return root


def plan_fields(schema: dict[str, Any]) -> list[FieldSpec]:
    """The fields an engine must fill, in schema order (nested objects flattened)."""
    refs: list[str] = ["#"]  # "#" is the root itself
    root = require_object_root(schema, refs)
    if isinstance(schema.get("$id"), str):
        refs.append(schema["$id"])
    return _plan_object(root, schema, (), 0, frozenset(refs))


def _plan_object(node: dict[str, Any], root: dict[str, Any], prefix: tuple[str | int, ...],
                 depth: int, seen: frozenset[str]) -> list[FieldSpec]:
    if depth > MAX_SCHEMA_DEPTH:
        return []
    required = set(node.get("required", []))
    out: list[FieldSpec] = []
    for name, raw in node.get("properties", {}).items():
        refs: list[str] = []
        sub = norm(raw, root, refs)
        if sub.get("not") == {} or (seen & set(refs)) or "const" in sub:
            continue  # `false` (never present), a recursive reference, or a value the schema
            # fixes (`const`, e.g. a discriminator): nothing to look for
        typ, nullable = main_type(sub)
        if typ == "null":
            continue
        inner = seen | set(refs)
        enum = sub.get("enum") if isinstance(sub.get("enum"), list) else None
        spec = FieldSpec(path=(*prefix, name), name=name,
                         description=str(sub.get("description") or ""),
                         type=typ, format=sub.get("format"), enum=enum,
                         nullable=nullable, required=name in required, schema=sub)
        if typ == "object":
            children = _plan_object(sub, root, spec.path, depth + 1, inner)
            for c in children:  # give nested leaves their parent's context ("vendor name")
                c.description = (c.description + " " if c.description else "") + \
                    f"({humanize(name)} {humanize(c.name)})"
            out.extend(children)
            continue
        if typ == "array":
            if "prefixItems" in sub or isinstance(sub.get("items"), list):
                continue  # tuples: conform() writes the shortest valid one
            irefs: list[str] = []
            items = norm(sub.get("items", {}), root, irefs)
            if items.get("not") == {} or (inner & set(irefs)):
                continue
            ityp, _ = main_type(items)
            if ityp == "object":
                spec.items = _plan_object(items, root, (), depth + 1, inner | set(irefs))
            elif ityp == "array":
                continue
            else:
                spec.item_type = ityp
        out.append(spec)
    return out
