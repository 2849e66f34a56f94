"""Key–value pairs from segments: "Invoice No: 123", label left of value, label above value.

Three shapes are recognised, in this order, on segments not yet claimed by anything else:

1. **inline** — one segment whose text is ``<key>: <value>`` with a short key (≤ 5 words that
   contain a letter) and a non-empty value; the key box is the words up to the colon.
2. **label left of value** — a label segment (ends with ``:``, ≤ 5 words; or bold ≤ 4 words
   followed by a non-bold segment that ends the row) and the nearest segment to its right in the
   same visual row, unless that one is a label itself or further than 0.35 page widths away.
3. **label above value** — a label segment with nothing (or another label) to its right, and a
   short segment (≤ 10 words) starting under it in the next row, at most 1.2 label heights below;
   lines continuing that value straight below (same left edge, line spacing) join the value.

Grids of labels over values (two rows, several columns) are left to ``parsers.tables``, which
turns a two-row grid into key–value pairs. After tables are found, ``find_bold_label_pairs`` adds
a fourth shape: a bold label without a colon over a plain value ("Bill To" over an address).
This module does not look at tables or prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prunestack.parsers.segments import Seg, rows, x_overlap
from prunestack.pipeline.document import BBox

_INLINE = re.compile(r"^\s*(?P<key>[^:：]{1,48}?)\s*[:：]\s+(?P<value>\S.*)$")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_CAPTION_KEY = re.compile(r"^(figure|fig\.|table|chart|image)\s*\d+", re.I)
MAX_KEY_WORDS = 5
MAX_VALUE_WORDS_BELOW = 10


@dataclass
class KVPair:
    key: str
    value: str
    key_bbox: BBox
    value_bbox: BBox
    segs: list[Seg]

    @property
    def bbox(self) -> BBox:
        return self.key_bbox.union(self.value_bbox)

    @property
    def confidence(self) -> float:
        return min(s.confidence for s in self.segs)


def _good_key(key: str) -> bool:
    key = key.strip()
    return (
        bool(key)
        and len(key.split()) <= MAX_KEY_WORDS
        and bool(_HAS_LETTER.search(key))
        and not _CAPTION_KEY.match(key)  # "Table 1: ..." is a caption
    )


def split_inline(text: str) -> tuple[str, str] | None:
    """``"Invoice No: 123"`` → ``("Invoice No", "123")``; None when the text is not that shape."""
    m = _INLINE.match(text)
    if not m or not _good_key(m.group("key")):
        return None
    return m.group("key").strip(), m.group("value").strip()


def is_label(seg: Seg) -> bool:
    """A segment that reads as a field label: ``"Invoice No:"`` (≤ 5 words, ends with a colon)."""
    t = seg.text.strip()
    return t.endswith((":", "：")) and _good_key(t[:-1])


def _inline_pair(seg: Seg) -> KVPair | None:
    kv = split_inline(seg.text)
    if kv is None:
        return None
    # The key is the words up to and including the first word that ends with (or is) a colon.
    cut = next(
        (i for i, w in enumerate(seg.words) if w.text.endswith((":", "："))), None
    )
    if cut is None or cut + 1 >= len(seg.words):
        return None
    key_words, value_words = seg.words[: cut + 1], seg.words[cut + 1 :]
    return KVPair(
        key=kv[0],
        value=kv[1],
        key_bbox=BBox.enclosing([w.bbox for w in key_words]),
        value_bbox=BBox.enclosing([w.bbox for w in value_words]),
        segs=[seg],
    )


def _pair(label: Seg, value: Seg, more: list[Seg] | None = None) -> KVPair:
    key = label.text.strip().rstrip(":：").strip()
    values = [value, *(more or [])]
    return KVPair(key=key, value=" ".join(v.text.strip() for v in values), key_bbox=label.bbox,
                  value_bbox=BBox.enclosing([v.bbox for v in values]), segs=[label, *values])


def extend_down(first: Seg, segs: list[Seg]) -> list[Seg]:
    """Free segments that continue a label-above value downwards: same left edge (± half a line
    height), each at most 0.8 line heights under the previous one, same size (± 15%; ± 30% for
    OCR box heights) and weight, not heading-sized,
    ≤ 10 words, not a label."""
    h = first.bbox.height or 1.0
    out: list[Seg] = []
    cur = first
    cands = sorted((s for s in segs if not s.role and s is not first), key=lambda s: s.bbox.y0)
    while True:
        nxt = next((
            s for s in cands
            if s not in out
            and not s.big
            and abs(s.bbox.x0 - first.bbox.x0) <= 0.5 * h
            and 0 <= s.bbox.y0 - cur.bbox.y1 <= 0.8 * h
            and s.n_words <= MAX_VALUE_WORDS_BELOW
            and abs(s.size - first.size) <= (0.15 if first.font_size else 0.3) * first.size
            and s.bold == first.bold
            and not is_label(s)
            and split_inline(s.text) is None
        ), None)
        if nxt is None:
            return out
        out.append(nxt)
        cur = nxt


def find_pairs(segs: list[Seg], *, max_value_width: float) -> list[KVPair]:
    """All key–value pairs among ``segs`` (segments with a role already set are skipped).

    ``max_value_width`` bounds a value segment's width (a page-wide prose line is not a value).
    Claimed segments get ``role = "kv"``.
    """
    free = [s for s in segs if not s.role]
    pairs: list[KVPair] = []
    grid = rows(free)

    def add(pair: KVPair) -> None:  # claim at once: a value is never reused as a label
        pairs.append(pair)
        for s in pair.segs:
            s.role = "kv"

    for r_i, row in enumerate(grid):
        for c_i, seg in enumerate(row):
            if seg.role:
                continue
            right = next((s for s in row[c_i + 1 :] if not s.role), None)
            if is_label(seg):
                # Another label to the right (colon, or bold next to a plain label) is no value.
                right_label = right is not None and (
                    is_label(right) or (right.bold is True and seg.bold is False)
                )
                value_ok = (
                    right is not None
                    and not right_label
                    and right.bbox.width <= max_value_width
                    and right.bbox.x0 - seg.bbox.x1 <= 0.7 * max_value_width
                )
                if right is not None and value_ok:
                    add(_pair(seg, right))
                    continue
                if (right is None or right_label) and r_i + 1 < len(grid):
                    below = _value_below(seg, grid[r_i + 1], max_value_width)
                    if below is not None:
                        below.role = "kv"
                        add(_pair(seg, below, extend_down(below, free)))
                        continue
            elif (
                seg.bold
                and right is not None
                and right.bold is False
                and seg.n_words <= 4
                and split_inline(seg.text) is None
                and right.bbox.width <= max_value_width
                and right.bbox.x0 - seg.bbox.x1 <= 0.7 * max_value_width
                and right is row[-1]  # a value ends its row; a bold cell in a table does not
            ):
                add(_pair(seg, right))
                continue
            inline = _inline_pair(seg)
            if inline is not None and seg.bbox.width <= max_value_width * 1.5:
                add(inline)
    return pairs


def is_bold_label(seg: Seg) -> bool:
    """A bold short segment that does not read as a sentence: ``"Bill To"``."""
    t = seg.text.strip()
    return (
        seg.bold is True
        and seg.n_words <= 4
        and _good_key(t)
        and not t.endswith((".", "!", "?", ",", ";"))
        and split_inline(t) is None
    )


def find_bold_label_pairs(segs: list[Seg], *, max_value_width: float) -> list[KVPair]:
    """Label above value without a colon: a bold label (``is_bold_label``) with nothing, or only
    other bold text, to its right, over a plain (non-bold) value — run after table detection so
    table header rows are already taken. Claimed segments get ``role = "kv"``."""
    free = [s for s in segs if not s.role]
    grid = rows(free)
    pairs: list[KVPair] = []
    for r_i, row in enumerate(grid[:-1]):
        for c_i, seg in enumerate(row):
            right = next((s for s in row[c_i + 1 :] if not s.role), None)
            if seg.role or not is_bold_label(seg) or (right is not None and not right.bold):
                continue
            below = _value_below(seg, grid[r_i + 1], max_value_width, plain=True)
            if below is None:
                continue
            below.role = seg.role = "kv"
            more = extend_down(below, free)
            for s in more:
                s.role = "kv"
            pairs.append(_pair(seg, below, more))
    return pairs


def _value_below(label: Seg, next_row: list[Seg], max_value_width: float,
                 plain: bool = False) -> Seg | None:
    h = label.bbox.height or 1.0
    for s in next_row:
        if s.role or is_label(s) or split_inline(s.text) is not None:
            continue
        if plain and s.bold is not False:
            continue
        gap = s.bbox.y0 - label.bbox.y1
        starts_under = (
            abs(s.bbox.x0 - label.bbox.x0) <= 1.5 * h or x_overlap(s.bbox, label.bbox) > 0.5
        )
        if (
            -0.2 * h <= gap <= 1.2 * h
            and starts_under
            and s.n_words <= MAX_VALUE_WORDS_BELOW
            and s.bbox.width <= max_value_width
        ):
            return s
    return None
