"""The extractive engine: pick each field's value among the document's candidates, offline.

For every scalar field, every candidate that the field's value parser accepts is scored by
``0.55·sim(descriptor, label) + 0.15·sim(descriptor, context) + 0.2·fit + 0.1·relevance`` (MiniLM
cosine similarities; ``fit`` from :mod:`pipeline.extract.values`; ``relevance`` from retrieval)
plus a small prior for key–value pairs; pairs are then assigned greedily by score so one value
does not answer two fields unless nothing else fits. Arrays of objects (line items) come from the
best-matching tables: columns are matched to item properties by header similarity and by how many
of the column's cells parse as the property's type; total rows are skipped. The engine returns raw
values and provenance; coercion and validation against the schema happen in
:mod:`pipeline.extract.core`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from parsers.document import BBox, Document, ElementKind
from pipeline.extract import values as V
from pipeline.extract.candidates import Candidate, from_document, table_header_row
from pipeline.extract.schema import FieldSpec, humanize

ORIGIN_PRIOR = {"kv": 0.06, "table": 0.03, "pair": 0.04, "line": 0.02, "block": 0.0, "title": 0.0,
                "block_head": 0.02}
#: kinds whose shape alone says what they are (a label is not needed to trust them)
SELF_EVIDENT = frozenset({"currency", "email", "url"})
ADDRESS_PARTS = {"street": "street", "street_address": "street", "address_line1": "street",
                 "line1": "street", "city": "city", "town": "city", "postal_code": "postal_code",
                 "postcode": "postal_code", "zip": "postal_code", "zip_code": "postal_code",
                 "state": "state", "region": "state", "country": "country"}
_TOTAL_ROW = re.compile(r"^\s*(sub\s*-?total|total|grand total|tax|vat|gst|discount|shipping|"
                        r"balance|amount due|net|gross)\b", re.I)


@dataclass
class Leaf:
    """A found value with where it came from."""

    value: Any
    page: int
    bbox: BBox
    element_id: str
    confidence: float
    text: str


def value_kind(spec: FieldSpec | None, typ: str | None = None, name: str = "",
               fmt: str | None = None) -> str:
    """Which value parser a field needs, from its type, format and name."""
    if spec is not None:
        typ, name, fmt = spec.type if spec.type != "array" else spec.item_type, spec.name, \
            spec.format
        if spec.enum:
            return "enum"
    words = set(humanize(name).split())
    if typ == "boolean":
        return "boolean"
    if typ == "integer":
        return "integer"
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


def parse_for(kind: str, text: str, spec: FieldSpec | None, dayfirst: bool | None
              ) -> V.Parsed | None:
    if kind == "date":
        return V.parse_date(text, dayfirst)
    if kind == "amount":
        return V.parse_amount(text)
    if kind == "integer":
        return V.parse_number(text, integer=True)
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
    return V.Parsed(p.value, p.span, max(0.0, p.fit - penalty))


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
            for ci, c in enumerate(cands):
                if allowed is not None and c.element_id not in allowed:
                    continue
                p = parse_for(kind, c.text, f, dayfirst)
                if p is None or p.fit <= 0:
                    continue
                label = c.label or (_label_before(c, p.span) if c.origin == "line" else "")
                rows.append((fi, ci, p, label))
        if not rows:
            return {}
        descs = [f.descriptor() for f in fields]
        labels = sorted({r[3] for r in rows} | {cands[r[1]].context for r in rows})
        lab_idx = {t: i for i, t in enumerate(labels)}
        sim = self.embedder.similarity(descs, labels)  # [F, L]
        name_sim = self.embedder.similarity([humanize(f.name) for f in fields], labels)  # [F, L]
        kinds = [value_kind(f) for f in fields]
        scored = []
        for fi, ci, p, label in rows:
            c = cands[ci]
            f = fields[fi]
            lab = max(sim[fi, lab_idx[label]], name_sim[fi, lab_idx[label]]) if label else 0.0
            ctx = sim[fi, lab_idx[c.context]] if c.context else 0.0
            rel = relevance.get(f.dotted, {}).get(c.element_id, 0.0)
            w_fit = 0.4 if kinds[fi] in SELF_EVIDENT else 0.2
            s = 0.55 * lab + 0.15 * ctx + w_fit * p.fit + 0.1 * rel + \
                ORIGIN_PRIOR.get(c.origin, 0)
            scored.append((float(s), fi, ci, p))
        scored.sort(key=lambda t: -t[0])
        taken: dict[tuple[str, str], int] = {}
        out: dict[str, Leaf] = {}
        fallback: dict[int, tuple[float, int, V.Parsed]] = {}
        for s, fi, ci, p in scored:
            f = fields[fi]
            if f.dotted in out or s < self.min_score:
                continue
            c = cands[ci]
            key = (c.element_id, str(p.value))
            if key in taken and taken[key] != fi:
                fallback.setdefault(fi, (s, ci, p))
                continue
            taken[key] = fi
            out[f.dotted] = Leaf(p.value, c.page, c.bbox, c.element_id,
                                 round(min(1.0, s) * c.confidence, 4), p.span)
        for fi, (s, ci, p) in fallback.items():
            f = fields[fi]
            if f.dotted not in out and s >= max(0.75, self.min_score + 0.2):
                c = cands[ci]
                out[f.dotted] = Leaf(p.value, c.page, c.bbox, c.element_id,
                                     round(min(1.0, s) * c.confidence * 0.8, 4), p.span)
        return out

    # ------------------------------------------------------------------ arrays
    def array_of_scalars(self, doc: Document, f: FieldSpec, cands: list[Candidate]
                         ) -> list[Leaf]:
        kind = value_kind(f)
        dayfirst = V.date_order_hint([e.text for e in doc.elements()])
        hits = [(c, p) for c in cands if c.label
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
        """Rows of the best-matching table(s) as items, one Leaf per matched property."""
        dayfirst = V.date_order_hint([e.text for e in doc.elements()])
        props = f.items
        if not props:
            return []
        matches = []
        for e in doc.elements():
            if e.kind != ElementKind.TABLE or not e.cells:
                continue
            rows = e.table_rows()
            head = table_header_row(rows)
            headers = rows[head]
            body = rows[head + 1:]
            if len(headers) < 2 or not body:
                continue
            sim = np.maximum(
                self.embedder.similarity([p.descriptor() for p in props], headers),
                self.embedder.similarity([humanize(p.name) for p in props], headers))  # [P, C]
            rate = np.zeros_like(sim)
            for pi, p in enumerate(props):
                kind = value_kind(p)
                for cj in range(len(headers)):
                    cells = [r[cj] for r in body if cj < len(r) and r[cj].strip()
                             and not _TOTAL_ROW.match(r[0] if r else "")]
                    ok = [parse_for(kind, c, p, dayfirst) for c in cells]
                    rate[pi, cj] = np.mean([o is not None and o.fit > 0.5 for o in ok]) \
                        if cells else 0.0
            score = 0.7 * sim + 0.3 * rate
            mapping: dict[int, int] = {}
            for flat in np.argsort(-score, axis=None):
                pi, cj = divmod(int(flat), len(headers))
                if pi in mapping or cj in mapping.values() or score[pi, cj] < 0.35:
                    continue
                mapping[pi] = cj
            if not mapping:
                continue
            quality = float(np.mean([score[p, c] for p, c in mapping.items()])) * \
                len(mapping) / len(props)
            matches.append((quality, e, head, mapping))
        if not matches:
            return []
        best = max(m[0] for m in matches)
        items: list[dict[str, Leaf]] = []
        for quality, e, head, mapping in sorted(matches, key=lambda m: (m[1].page, m[1].bbox.y0)):
            if quality < max(0.3, 0.8 * best):
                continue
            cell_at = {(c.row, c.col): c for c in e.cells or []}
            rows = e.table_rows()
            for r in range(head + 1, len(rows)):
                first = next((t for t in rows[r] if t.strip()), "")
                if _TOTAL_ROW.match(first):
                    continue
                item: dict[str, Leaf] = {}
                for pi, cj in mapping.items():
                    cell = cell_at.get((r, cj))
                    if cell is None or not cell.text.strip():
                        continue
                    p = parse_for(value_kind(props[pi]), cell.text, props[pi], dayfirst)
                    if p is None:
                        continue
                    item[props[pi].name] = Leaf(p.value, e.page, cell.bbox or e.bbox, e.id,
                                                round(quality * e.confidence, 4), p.span)
                if len(item) >= max(1, len(mapping) // 2):
                    items.append(item)
        return items

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
        blocks = [c for c in cands if c.origin == "block" and c.lines
                  and V.address_score(c.text) >= 0.5]
        if not groups or not blocks:
            return {}
        keys = list(groups)
        descs = [humanize(" ".join(str(p) for p in k)) for k in keys]
        owner = [humanize(" ".join(str(p) for p in k[:-1])) or descs[i]
                 for i, k in enumerate(keys)]
        lab = self.embedder.similarity(descs, [c.label or c.context for c in blocks])  # [G, B]
        own = self.embedder.similarity(owner, [c.label or c.context for c in blocks])  # [G, B]
        score = 0.6 * np.maximum(lab, own) + 0.4 * np.array(
            [[V.address_score(c.text) for c in blocks]] * len(keys))
        # earlier blocks break ties in schema order (vendor before customer on most documents)
        score -= 1e-3 * np.arange(len(blocks))[None, :]
        out: dict[str, Leaf] = {}
        used_g: set[int] = set()
        used_el: set[str] = set()
        for flat in np.argsort(-score, axis=None):
            gi, bi = divmod(int(flat), len(blocks))
            c = blocks[bi]
            if gi in used_g or c.element_id in used_el or score[gi, bi] < 0.3:
                continue
            used_g.add(gi)
            used_el.add(c.element_id)
            parts = V.split_address(c.text)
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
                box = line_boxes[li][1] if li < len(line_boxes) else c.bbox
                name_path = ".".join(str(p) for p in keys[gi][:-1]) + ".name"
                out[name_path] = Leaf(val, c.page, box, c.element_id, conf, val)
        return out
