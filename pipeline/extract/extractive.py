"""The extractive engine: pick each field's value among the document's candidates, offline.

For every scalar field, every candidate that the field's value parser accepts is scored by
``0.55·sim(descriptor, label) + 0.15·sim(descriptor, context) + 0.2·fit + 0.1·relevance`` (MiniLM
cosine similarities; ``fit`` from :mod:`pipeline.extract.values`; ``relevance`` from retrieval)
plus a small prior for key–value pairs; pairs are then assigned greedily by score so one value
does not answer two fields unless nothing else fits. Arrays of objects (line items) come from the
best-matching tables: columns are matched to item properties by header similarity and by how many
of the column's cells parse as the property's type; total rows are skipped. What a field gets
from a parsed span is :func:`field_value`'s rule: a ``string`` field without a ``format`` or
``enum`` gets the text as printed (``11/01/2018``, ``7.00``), other fields the normalised value
(ISO date, number, enum member). The engine returns these values and provenance; coercion and
validation against the schema happen in :mod:`pipeline.extract.core`.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from prunestack.cancel import checked
from prunestack.pipeline.document import Document
from prunestack.pipeline.extract import values as V
from prunestack.pipeline.extract.candidates import Candidate, from_document
from prunestack.pipeline.extract.tables import read_items
from prunestack.pipeline.extract.types import Leaf
from prunestack.pipeline.schema import FieldSpec, humanize

ORIGIN_PRIOR = {"kv": 0.06, "inline": 0.05, "table": 0.03, "pair": 0.04, "line": 0.02,
                "block": 0.0, "title": 0.0, "block_head": 0.02}
#: kinds whose shape alone says what they are (a label is not needed to trust them)
SELF_EVIDENT = frozenset({"currency", "email", "url"})
ADDRESS_PARTS = {"street": "street", "street_address": "street", "address_line1": "street",
                 "line1": "street", "city": "city", "town": "city", "postal_code": "postal_code",
                 "postcode": "postal_code", "zip": "postal_code", "zip_code": "postal_code",
                 "state": "state", "region": "state", "country": "country"}

#: words of a field name that make it an amount of money, unless a NOT_MONEY word is there too
MONEY_WORDS = frozenset({"total", "subtotal", "amount", "price", "tax", "balance", "fee", "cost",
                         "discount", "gross", "net"})
NOT_MONEY = frozenset({"id", "number", "no", "code", "name", "rate", "percent", "date",
                       "currency", "type", "words", "method", "status", "account", "iban",
                       "reference", "ref", "pages", "items", "count", "description"})


def value_kind(spec: FieldSpec | None, typ: str | None = None, name: str = "",
               fmt: str | None = None) -> str:
    """Which value parser a field needs, from its type, format and name."""
    if spec is not None:
        typ, name, fmt = spec.type if spec.type != "array" else spec.item_type, spec.name, \
            spec.format
        if spec.enum and "currency" not in humanize(name).split():
            return "enum"
    words = set(humanize(name).split())
    money = bool(words & MONEY_WORDS) and not words & NOT_MONEY
    if typ == "boolean":
        return "boolean"
    if typ == "integer":
        return "amount" if money else "integer"  # "tax": 83 must not take a VAT number
    if typ == "string" and fmt is None and (spec is None or "pattern" not in spec.schema):
        # money as text (pydantic's Decimal in serialization mode is {"type": "string"})
        if money:
            return "amount"
        if words & {"quantity", "qty"} and not words & NOT_MONEY:
            return "number"
    if typ == "number":
        return "percent" if words & {"rate", "percent", "percentage", "pct"} else "amount"
    if fmt in ("date", "date-time") or "date" in words or "dob" in words:
        return "date"
    if fmt == "email" or words & {"email", "e-mail", "mail"}:
        return "email"
    if words & {"phone", "telephone", "tel", "fax", "mobile"}:
        return "phone"
    if fmt in ("uri", "url") or words & {"url", "website", "web", "homepage"}:
        return "url"
    if "address" in words and not words & {"email"}:
        return "address"
    if "currency" in words:
        return "currency"
    if words & {"number", "no", "id", "ref", "reference", "code", "iban", "vat", "tin", "po",
                "sku"}:
        return "id"
    return "string"


def _value_node(spec: FieldSpec) -> tuple[str | None, dict[str, Any]]:
    """The scalar type and the sub-schema a field's values must fit (an array's items)."""
    if spec.type != "array":
        return spec.type, spec.schema
    items = spec.schema.get("items")
    return spec.item_type, items if isinstance(items, dict) else {}


def field_value(p: V.Parsed, spec: FieldSpec | None) -> V.Parsed:
    """THE rule for what a field gets from a parsed span: a ``string`` field without a
    ``format`` or ``enum`` gets the text as printed (``11/01/2018``, ``7.00``, ``$8.20``:
    :attr:`~pipeline.extract.values.Parsed.as_printed`), never a normalised form; with a
    ``pattern`` it gets the printed text when that matches, else the normalised value (which
    :func:`~pipeline.schema.conform` reshapes to the pattern where it can: an ISO date into the
    pattern's date layout). Normalised values go only where the schema asks for them:
    ``number``/``integer`` (7.0), ``boolean``, ``format: date``/``date-time`` (ISO 8601) and
    the other formats, enums (the enum member)."""
    if spec is None:
        return p
    typ, node = _value_node(spec)
    fmt = spec.format if spec.type != "array" else node.get("format")
    enum = spec.enum if spec.type != "array" else node.get("enum")
    if typ != "string" or fmt is not None or enum:
        return p
    printed = p.as_printed
    pattern = node.get("pattern")
    if isinstance(pattern, str) and printed != str(p.value):
        try:
            if re.search(pattern, printed) is None:
                return p
        except re.error:
            pass
    return V.Parsed(printed, p.span, p.fit, p.printed)


def parse_for(kind: str, text: str, spec: FieldSpec | None, dayfirst: bool | None
              ) -> V.Parsed | None:
    """``text`` read by ``kind``'s value parser, the value as ``spec`` wants it
    (:func:`field_value`: printed or normalised)."""
    p = _parse_kind(kind, text, spec, dayfirst)
    return None if p is None else field_value(p, spec)


def _parse_kind(kind: str, text: str, spec: FieldSpec | None, dayfirst: bool | None
                ) -> V.Parsed | None:
    if kind == "date":
        return V.parse_date(text, dayfirst)
    if kind == "amount":
        return V.parse_amount(text)
    if kind == "integer":
        return V.parse_number(text, integer=True)
    if kind == "number":
        return V.parse_number(text)
    if kind == "percent":
        return V.parse_percent(text)
    if kind == "email":
        return V.parse_email(text)
    if kind == "phone":
        return V.parse_phone(text)
    if kind == "url":
        return V.parse_url(text)
    if kind == "address":
        return V.parse_address(text)
    if kind == "currency":
        return V.parse_currency(text)
    if kind == "id":
        return V.parse_identifier(text)
    if kind == "boolean":
        return V.parse_boolean(text)
    if kind == "enum" and spec is not None and spec.enum:
        return V.parse_enum(text, [e for e in spec.enum if e is not None])
    p = V.parse_string(text)
    if p is None:
        return None
    # A plain string field should not take a value that is obviously a date, amount or e-mail.
    n_words = len(p.value.split())
    penalty = 0.0
    if re.fullmatch(r"[\d\s.,:/$€£%-]+", p.value):
        penalty += 0.5
    if n_words > 12:
        penalty += 0.3
    return V.Parsed(p.value, p.span, max(0.0, p.fit - penalty), p.printed)


def _label_before(c: Candidate, span: str) -> str:
    """For a line without a label: the words before the value span ("Invoice No INV-7")."""
    i = c.text.find(span)
    return c.text[:i].strip(" :#-\t(") if i > 0 else ""


class ExtractiveEngine:
    def __init__(self, embedder: Any, min_score: float = 0.42) -> None:
        self.embedder = embedder
        self.min_score = min_score

    # ------------------------------------------------------------------ scalars
    def scalars(self, doc: Document, fields: list[FieldSpec], relevance: dict[str, dict],
                restrict: dict[str, set[str]], cands: list[Candidate] | None = None
                ) -> dict[str, Leaf]:
        cands = cands if cands is not None else from_document(doc)
        dayfirst = V.date_order_hint([e.text for e in doc.elements()])
        rows: list[tuple[int, int, V.Parsed, str]] = []  # (field idx, cand idx, parsed, label)
        for fi, f in enumerate(fields):
            kind = value_kind(f)
            allowed = restrict.get(f.dotted)
            for ci, c in enumerate(checked(cands, "extraction", 1024)):
                if allowed is not None and c.element_id not in allowed:
                    continue
                p = parse_for(kind, c.text, f, dayfirst)
                if p is None or p.fit <= 0:
                    continue
                before = _label_before(c, p.span) if c.origin in ("line", "table") else ""
                label = before if (before and (c.origin == "table" or not c.label)) else c.label
                rows.append((fi, ci, p, label))
        if not rows:
            return {}
        descs = [f.descriptor() for f in fields]
        labels = sorted({r[3] for r in rows} | {cands[r[1]].context for r in rows})
        lab_idx = {t: i for i, t in enumerate(labels)}
        sim = self.embedder.similarity(descs, labels)  # [F, L]
        name_sim = self.embedder.similarity([f.label_name for f in fields], labels)  # [F, L]
        kinds = [value_kind(f) for f in fields]
        scored = []
        for fi, ci, p, label in rows:
            c = cands[ci]
            f = fields[fi]
            lab = max(sim[fi, lab_idx[label]], name_sim[fi, lab_idx[label]]) if label else 0.0
            ctx = sim[fi, lab_idx[c.context]] if c.context else 0.0
            rel = relevance.get(f.dotted, {}).get(c.element_id, 0.0)
            adjust = total_label_adjust(f, label)
            if adjust > 0:  # "TOTAL(RM)", "NETT TOTAL": MiniLM rates till captions low
                lab = max(lab, 0.5)
            if lab < (0.45 if kinds[fi] == "id" else 0.3) and kinds[fi] not in SELF_EVIDENT:
                continue  # nothing names this value as the field: do not guess
            w_fit = 0.4 if kinds[fi] in SELF_EVIDENT else 0.2
            s = 0.55 * lab + 0.15 * ctx + w_fit * p.fit + 0.1 * rel + \
                ORIGIN_PRIOR.get(c.origin, 0) + adjust
            scored.append((float(s), fi, ci, p))
        # One value answers one field: best total score over fields × distinct source values.
        best: dict[tuple[int, tuple[str, ...]], tuple[float, int, V.Parsed]] = {}
        for sc, fi, ci, p in scored:
            c = cands[ci]
            key = (c.element_id, str(p.value)) if c.origin != "table" else \
                (c.element_id, f"{c.bbox.x0:.0f},{c.bbox.y0:.0f}", str(p.value))
            if sc >= self.min_score and sc > best.get((fi, key), (-1.0,))[0]:
                best[(fi, key)] = (sc, ci, p)
        keys = sorted({k for _, k in best})
        k_idx = {k: j for j, k in enumerate(keys)}
        mat = np.zeros((len(fields), len(keys)))  # [F, K], 0 = not allowed
        for (fi, k), (sc, _, _) in best.items():
            mat[fi, k_idx[k]] = sc
        out: dict[str, Leaf] = {}
        for fi, kj in assign(mat):
            sc, ci, p = best[(fi, keys[kj])]
            c = cands[ci]
            out[fields[fi].dotted] = Leaf(p.value, c.page, c.bbox, c.element_id,
                                          round(min(1.0, sc) * c.confidence, 4), p.span)
        return out

    # ------------------------------------------------------------------ arrays
    def array_of_scalars(self, doc: Document, f: FieldSpec, cands: list[Candidate]
                         ) -> list[Leaf]:
        kind = value_kind(f)
        dayfirst = V.date_order_hint([e.text for e in doc.elements()])
        hits = [(c, p) for c in checked(cands, "extraction", 1024) if c.label
                for p in [parse_for(kind, c.text, f, dayfirst)] if p is not None and p.fit > 0.5]
        if not hits:
            return []
        sims = self.embedder.similarity([f.descriptor()], [c.label for c, _ in hits])[0]
        out: list[Leaf] = []
        seen: set[str] = set()
        for (c, p), s in zip(hits, sims, strict=True):
            if s >= 0.5 and str(p.value) not in seen:
                seen.add(str(p.value))
                out.append(Leaf(p.value, c.page, c.bbox, c.element_id, round(float(s), 4),
                                p.span))
        return out

    def array_of_objects(self, doc: Document, f: FieldSpec) -> list[dict[str, Leaf]]:
        """Rows of the best-matching table(s) as items (see :mod:`pipeline.extract.tables`)."""
        dayfirst = V.date_order_hint([e.text for e in doc.elements()])
        rows = read_items(doc, f.items, self.embedder,
                          lambda kind, text, spec: parse_for(kind, text, spec, dayfirst),
                          value_kind)
        return [{name: Leaf(p.value, page, box, eid, round(q, 4), p.span)
                 for name, (p, page, box, eid, q) in row.items()} for row in rows]

    # ------------------------------------------------------------------ address groups
    def address_groups(self, fields: list[FieldSpec], cands: list[Candidate]
                       ) -> dict[str, Leaf]:
        """Objects made of address parts (street, city, postal code, country) read from one
        address block each; the block's first line also answers a sibling ``name`` field."""
        groups: dict[tuple, list[FieldSpec]] = {}
        for f in fields:
            if len(f.path) >= 2 and str(f.path[-1]).lower() in ADDRESS_PARTS:
                groups.setdefault(tuple(f.path[:-1]), []).append(f)
        groups = {k: v for k, v in groups.items() if len(v) >= 2}
        blocks = [c for c in cands if c.origin in ("block", "kv", "pair") and c.lines
                  and V.address_score(c.text) >= 0.5]
        if not groups or not blocks:
            return {}
        keys = list(groups)
        descs = [humanize(" ".join(str(p) for p in k)) for k in keys]
        owner = [humanize(" ".join(str(p) for p in k[:-1])) or descs[i]
                 for i, k in enumerate(keys)]
        lab = self.embedder.similarity(descs, [c.label or c.context for c in blocks])  # [G, B]
        own = self.embedder.similarity(owner, [c.label or c.context for c in blocks])  # [G, B]
        roles = np.array([[role_agreement(" ".join(map(str, k)), c.label or c.context)
                           for c in blocks] for k in keys])  # [G, B] in {-1, 0, 1}
        score = 0.6 * np.maximum(lab, own) + 0.4 * np.array(
            [[V.address_score(c.text) for c in blocks]] * len(keys)) + 0.3 * roles
        # earlier blocks break ties in schema order (vendor before customer on most documents)
        score -= 1e-3 * np.arange(len(blocks))[None, :]
        out: dict[str, Leaf] = {}
        used_g: set[int] = set()
        used_b: list[Candidate] = []
        used_names: set[str] = set()
        for flat in np.argsort(-score, axis=None):
            gi, bi = divmod(int(flat), len(blocks))
            c = blocks[bi]
            if gi in used_g or score[gi, bi] < 0.3 or any(
                    u.element_id == c.element_id and u.bbox.intersects(c.bbox) for u in used_b):
                continue
            used_g.add(gi)
            used_b.append(c)
            parts = V.split_address(c.text)
            name_from = c
            if "name" not in parts and len(keys[gi]) >= 2 and \
                    party_of(keys[gi][:-1]) != "buyer":  # a letterhead names the seller only
                head = _org_above(c, cands, used_names)
                if head is not None:
                    parts["name"] = (head[0], -1)
                    name_from = head[1]
            if "name" in parts:
                used_names.add(parts["name"][0])
            conf = round(float(min(1.0, score[gi, bi])) * c.confidence, 4)
            line_boxes = c.lines or []
            for f in groups[keys[gi]]:
                part = ADDRESS_PARTS[str(f.path[-1]).lower()]
                if part in parts:
                    val, li = parts[part]
                    box = line_boxes[li][1] if li < len(line_boxes) else c.bbox
                    out[f.dotted] = Leaf(val, c.page, box, c.element_id, conf, val)
            if "name" in parts and len(keys[gi]) >= 2:
                val, li = parts["name"]
                box = name_from.bbox if li < 0 else \
                    line_boxes[li][1] if li < len(line_boxes) else c.bbox
                name_path = ".".join(str(p) for p in keys[gi][:-1]) + ".name"
                out[name_path] = Leaf(val, name_from.page, box, name_from.element_id, conf, val)
        return out


#: labels of the amounts around a grand total that are not it (a receipt's SUBTOTAL, CASH,
#: CHANGE, ROUNDING, GST lines) and labels that mark the grand total itself
_NOT_GRAND = re.compile(r"\bsub[\s-]?total|\bcash\b|\bchange\b|\brounding|\btendered|"
                        r"\bpaid\b|\bdiscount|\bsaving|\bqty\b|\bquantity|\bpcs\b", re.I)
_TAX_ONLY = re.compile(r"^(?!.*\btotal\b).*\b(?:gst|sst|vat|tax)\b", re.I)
_GRAND = re.compile(r"\b(?:grand|nett|net\s+total|incl\b|including)|\btotal\s*\(?rm\b|"
                    r"\bamount\s+due|\btotal\s+(?:due|amount|payable)|^\W*total\W*$", re.I)


def grand_total_field(f: FieldSpec) -> bool:
    """A field named as a grand total (total, total amount...; not a subtotal or a tax)."""
    words = set(humanize(f.name).split())
    return "total" in words and not words & {"sub", "subtotal", "tax", "vat", "gst", "net"}


def total_label_adjust(f: FieldSpec, label: str) -> float:
    """A score nudge for a grand-total field (named total / total amount..., not subtotal or
    tax): label similarity rates "SUBTOTAL", "CASH" or "GST 6%" close to "total amount paid",
    while on a receipt they are the amounts printed around the grand total."""
    if not grand_total_field(f) or not label:
        return 0.0
    if _NOT_GRAND.search(label) or _TAX_ONLY.search(label):
        return -0.15
    return 0.05 if _GRAND.search(label) else 0.0


_LEGAL_FORMS = r"ltd|limited|gmbh|inc|llc|plc|s\.a|b\.v|co|corp|ag|sarl|srl|oy|ab|as|kg|pty|llp"
_LEGAL = re.compile(r"\b(" + _LEGAL_FORMS + r")\b\.?", re.I)
_NOT_NAMES = {"from", "to", "bill", "billed", "ship", "invoice", "sold", "seller", "buyer",
              "customer", "vendor", "supplier", "tax", "receipt", "statement", "quote"}


def org_like(text: str) -> bool:
    """A company-name-like heading: no digits, a legal suffix or several capitalised words."""
    t = text.strip()
    words = t.split()
    if not t or any(ch.isdigit() for ch in t) or t.endswith(":") or not 2 <= len(words) <= 8:
        return False
    if {w.lower().strip(".,") for w in words} & _NOT_NAMES and not _LEGAL.search(t):
        return False
    return bool(_LEGAL.search(t)) or all(w[:1].isupper() for w in words)


_LEGAL_END = re.compile(r"^(?P<name>\D+?\b(?P<suffix>" + _LEGAL_FORMS + r")\b\.?)(?=\s|$)",
                        re.I)


def org_heading(c: Candidate) -> str | None:
    """The company name a heading-like candidate holds: a title/heading that is ``org_like``;
    or, in a one-line text block or a table cell, the words up to a capitalised legal suffix
    when they are ``org_like`` ("Riverstone Consulting B.V.", "Northwind Design LLC ND Tel.
    +1…" read into one cell): OCR measures font size from box heights and often leaves a
    letterhead name as plain text or glues the logo and phone number to it."""
    text = c.text.strip()
    if c.origin == "title":
        return text if org_like(text) else None
    if c.context in ("page footer", "page header") or "\n" in text or \
            c.origin not in ("block", "table"):
        return None
    m = _LEGAL_END.match(text)
    if m is None or not m["suffix"][:1].isupper() or not org_like(m["name"]):
        return None
    return m["name"].strip()


def _org_above(block: Candidate, cands: list[Candidate], used: set[str]
               ) -> tuple[str, Candidate] | None:
    """The nearest company-like heading above ``block`` on its page not already used: its
    name and the candidate it was read from."""
    best = None
    for c in cands:
        if c.page != block.page or c.bbox.y1 > block.bbox.y0 + 1:
            continue
        name = org_heading(c)
        if name is None or name in used:
            continue
        if best is None or c.bbox.y1 > best[1].bbox.y1:
            best = (name, c)
    return best


ROLES = {
    "seller": ("from", "seller", "vendor", "supplier", "issued by", "remit to", "sender",
               "merchant", "company", "issuer", "shop", "store", "payee"),
    "buyer": ("bill to", "billed to", "billing", "customer", "buyer", "client", "sold to",
              "ship to", "shipping", "invoice to", "recipient", "deliver to", "applicant"),
}


def _role(text: str) -> str | None:
    t = " " + humanize(text) + " "
    hits = [r for r, words in ROLES.items() if any(f" {w} " in t for w in words)]
    return hits[0] if len(hits) == 1 else None


def role_agreement(field_path: str, label: str) -> int:
    """+1 when a party field (vendor, customer...) and a block label name the same role
    (seller: From, Vendor...; buyer: Bill to, Customer...), -1 when they name opposite roles."""
    a, b = _role(field_path), _role(label)
    if a is None or b is None:
        return 0
    return 1 if a == b else -1


def assign(mat: np.ndarray) -> list[tuple[int, int]]:
    """Rows matched to columns maximising the summed score (0 entries are never used)."""
    if mat.size == 0:
        return []
    rows, cols = linear_sum_assignment(mat, maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if mat[r, c] > 0]


def party_of(path: tuple) -> str | None:
    """The role (seller / buyer) an object path names, e.g. ("vendor",) → seller."""
    return _role(" ".join(str(p) for p in path))


def parties(fields: list[FieldSpec], cands: list[Candidate], taken: dict[str, Leaf]
            ) -> dict[str, Leaf]:
    """``<party>.name`` and a string ``<party>.address`` for seller/buyer objects: the block,
    key–value pair or label pair whose label names the party's role ("Bill To: Anna Rossi,
    7 Station Road..."), split into name and address; a seller without one falls back to the
    company-like heading at the top of the first page."""
    out: dict[str, Leaf] = {}
    by_party: dict[tuple, dict[str, FieldSpec]] = {}
    for f in fields:
        if len(f.path) >= 2 and f.path[-1] in ("name", "address") and f.type == "string":
            by_party.setdefault(tuple(f.path[:-1]), {})[str(f.path[-1])] = f
    used: set[str] = set()
    for party, sub in by_party.items():
        role = party_of(party)
        if role is None:
            continue
        hits = [c for c in cands if c.origin in ("kv", "block", "pair")
                and _role(c.label or c.context) == role and c.text.strip()]
        hits.sort(key=lambda c: (c.origin != "kv", -V.address_score(c.text)))
        leaf_name = leaf_addr = None
        if hits:
            c = hits[0]
            parts = V.split_address(c.text)
            name = parts["name"][0] if "name" in parts else ""
            rest = _address_text(c.text, name)
            if name:
                leaf_name = Leaf(name, c.page, c.bbox, c.element_id, 0.7 * c.confidence, name)
            elif role == "seller":
                above = _org_above(c, cands, used)
                if above is not None:
                    text, head = above
                    leaf_name = Leaf(text, head.page, head.bbox, head.element_id,
                                     0.6 * head.confidence, text)
            if rest:
                addr = ", ".join(rest)
                leaf_addr = Leaf(addr, c.page, c.bbox, c.element_id, 0.7 * c.confidence, addr)
        elif role == "seller":
            heads = [(n, c) for c in cands if c.page == 1 and (n := org_heading(c))
                     and n not in used]
            if heads:
                text, c = min(heads, key=lambda h: h[1].bbox.y0)
                leaf_name = Leaf(text, c.page, c.bbox, c.element_id, 0.6 * c.confidence, text)
                below = [b for b in cands if b.origin == "block" and b.page == c.page
                         and 0 <= b.bbox.y0 - c.bbox.y1 < 3 * c.bbox.height
                         and V.address_score(b.text) >= 0.5]
                if below:
                    b = below[0]
                    addr = ", ".join(V.address_lines(b.text))
                    leaf_addr = Leaf(addr, b.page, b.bbox, b.element_id, 0.6 * b.confidence,
                                     addr)
        if leaf_name is not None and "name" in sub:
            out[sub["name"].dotted] = leaf_name
            used.add(leaf_name.value)
        if leaf_addr is not None and "address" in sub:
            out[sub["address"].dotted] = leaf_addr
    return {k: v for k, v in out.items() if k not in taken}


def _address_text(text: str, name: str) -> list[str]:
    """The address lines of a party block once its name is removed."""
    flat = " ".join(text.split())
    if name and flat.startswith(name):
        flat = flat[len(name):].strip(" ,")
    lines = [p.strip() for p in flat.split(",") if p.strip()] if "," in flat else \
        V._relines(flat)
    return [ln for ln in lines if ln and ln != name]
