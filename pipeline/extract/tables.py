"""Arrays of objects (line items) read from tables.

Each table becomes a dense grid of (text, box) cells; its header row is found
(:func:`~pipeline.extract.candidates.table_header_row`), columns the parser merged ("Qty Unit
price" over cells "3 45.00") are split back when every body cell of the column holds the same
number of numeric tokens, and item properties are matched to columns greedily by
``0.7·sim(property, header) + 0.3·(share of the column's cells that parse as the property's
type)``. The best table (and others nearly as good, e.g. a table continued on the next page)
give one item per body row; total/tax rows are skipped.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from prunestack.pipeline.document import BBox, Document, Element, ElementKind
from prunestack.pipeline.extract.candidates import table_header_row
from prunestack.pipeline.schema import FieldSpec, humanize

TOTAL_ROW = re.compile(r"^\s*(?:[a-z]+\s+)?(sub\s*-?total|total|tax|vat|gst|discount|shipping|"
                       r"balance|amount due|net|gross)\b", re.I)
_NUM_TOKEN = re.compile(r"^[-(]?[$€£¥]?\d[\d.,']*%?\)?$")

Cell = tuple[str, BBox]


def grid(e: Element) -> list[list[Cell]]:
    """The table as dense rows of (text, box); empty cells get the table's box."""
    rows = e.table_rows()
    boxes = {(c.row, c.col): c.bbox for c in e.cells or [] if c.bbox is not None}
    return [[(t, boxes.get((r, c), e.bbox)) for c, t in enumerate(row)]
            for r, row in enumerate(rows)]


def _split_cell(text: str, box: BBox, k: int) -> list[Cell]:
    """``text``'s k tokens with boxes cut from ``box`` in proportion to character offsets."""
    toks = text.split()
    n = max(1, len(text))
    out, pos = [], 0
    for t in toks:
        start = text.index(t, pos)
        pos = start + len(t)
        x0 = box.x0 + box.width * start / n
        x1 = box.x0 + box.width * pos / n
        out.append((t, BBox(x0=x0, y0=box.y0, x1=max(x0, x1), y1=box.y1)))
    return out[:k]


def split_merged(g: list[list[Cell]], head: int, embedder: Any, descs: list[str]
                 ) -> list[list[Cell]]:
    """Split columns whose every body cell holds the same number k ≥ 2 of numeric tokens; the
    header's words are cut into k groups where the groups best match the property names."""
    if not g:
        return g
    body = [r for r in g[head + 1:] if not TOTAL_ROW.match(next((t for t, _ in r if t.strip()),
                                                                  ""))]
    n_cols = len(g[head])
    new_rows = [list(r) for r in g]
    for cj in reversed(range(n_cols)):
        cells = [r[cj][0] for r in body if cj < len(r) and r[cj][0].strip()]
        if len(cells) < 1:
            continue
        ks = {len(c.split()) for c in cells}
        if len(ks) != 1 or (k := ks.pop()) < 2 or \
                not all(_NUM_TOKEN.match(t) for c in cells for t in c.split()):
            continue
        words = g[head][cj][0].split()
        if len(words) < k:
            continue
        # best cut of the header words into k contiguous groups (k = 2 or 3 in practice)
        cuts = _cuts(len(words), k)
        groups = [[" ".join(words[a:b]) for a, b in zip((0, *c), (*c, len(words)), strict=True)]
                  for c in cuts]
        flat = sorted({t for gr in groups for t in gr})
        sim = embedder.similarity(descs, flat)  # [P, T]
        idx = {t: i for i, t in enumerate(flat)}
        best = max(groups, key=lambda gr: sum(float(sim[:, idx[t]].max()) for t in gr))
        for r, row in enumerate(new_rows):
            if cj >= len(row):
                continue
            text, box = row[cj]
            if r == head:
                parts = [(t, box) for t in best]
            elif len(text.split()) == k:
                parts = _split_cell(text, box, k)
            else:
                parts = [(text, box)] + [("", box)] * (k - 1)
            row[cj:cj + 1] = parts
    return new_rows


def _cuts(n: int, k: int) -> list[tuple[int, ...]]:
    if k == 2:
        return [(i,) for i in range(1, n)]
    return [(i, j) for i in range(1, n - 1) for j in range(i + 1, n)] if k == 3 else []


def read_items(doc: Document, props: list[FieldSpec], embedder: Any,
               parse: Any, kind_of: Any) -> list[dict[str, Any]]:
    """Items as ``{property name: (Parsed, page, box, element id, quality)}`` dicts."""
    descs = [p.descriptor() for p in props]
    names = [humanize(p.name) for p in props]
    matches = []
    for e in doc.elements():
        if e.kind != ElementKind.TABLE or not e.cells:
            continue
        g0 = grid(e)
        head = table_header_row([[t for t, _ in r] for r in g0])
        g = split_merged(g0, head, embedder, descs)
        headers = [t for t, _ in g[head]]
        body = g[head + 1:]
        if len(headers) < 2 or not body:
            continue
        sim = np.maximum(embedder.similarity(descs, headers),
                         embedder.similarity(names, headers))  # [P, C]
        rate = np.zeros_like(sim)
        for pi, p in enumerate(props):
            kind = kind_of(p)
            for cj in range(len(headers)):
                cells = [r[cj][0] for r in body if cj < len(r) and r[cj][0].strip()
                         and not TOTAL_ROW.match(r[0][0] if r else "")]
                ok = [parse(kind, c, p) for c in cells]
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
        matches.append((quality, e, g, head, mapping))
    if not matches:
        return []
    best = max(m[0] for m in matches)
    items: list[dict[str, Any]] = []
    for quality, e, g, head, mapping in sorted(matches, key=lambda m: (m[1].page, m[1].bbox.y0)):
        if quality < max(0.3, 0.8 * best):
            continue
        for row in g[head + 1:]:
            first = next((t for t, _ in row if t.strip()), "")
            if TOTAL_ROW.match(first):
                continue
            item: dict[str, Any] = {}
            for pi, cj in mapping.items():
                if cj >= len(row) or not row[cj][0].strip():
                    continue
                text, box = row[cj]
                p = parse(kind_of(props[pi]), text, props[pi])
                if p is not None:
                    item[props[pi].name] = (p, e.page, box, e.id, quality * e.confidence)
            if len(item) >= max(1, len(mapping) // 2):
                items.append(item)
    return items
