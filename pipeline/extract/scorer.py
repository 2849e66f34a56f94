"""The learned field scorer: a MiniLM cross-encoder rating "is this candidate the field's value?".

What it does:

- reads a document as lines with boxes (:func:`doc_lines`: each element's text lines, a table's
  cells one by one, in reading order) and makes a field's candidates (:func:`candidates`) by the
  field's kind (``extractive.value_kind``): every amount token of every line for an amount,
  every date for a date, the parser's value per line for the other typed kinds, and, for plain
  string and address fields, whole lines and their :func:`text_variants` first and then spans
  of up to ``max_span`` consecutive lines around the best lines (span-boundary refinement: an
  address over three lines, a name cut at a line break);
- writes each (field, candidate) pair as text (:func:`pair_text`): the field's key path and
  description, then the candidate's text and its context — the row it sits on (a label printed
  left of an amount), the lines before and after it in reading order (written "above:" and
  "below:"), and its layout as words (vertical and
  horizontal position on the page in percent, which line of how many, element kind, "large"
  when the text layer has a font size above the page's median);
- scores pairs with a fine-tuned ``all-MiniLM-L6-v2`` (mean-pooled last hidden states → one
  linear unit → a logit) loaded from a scorer folder (:class:`LearnedScorer`, :func:`load_scorer`):
  every field's whole-line candidates in one call, then every free-text field's spans in
  another, each distinct pair once, in batches of similar token length (little padding); the
  issuer's name and an address skip lines with fewer than two letters (prices, dates, dashes)
  and picks each field's best candidate (:meth:`LearnedScorer.extract`; the issuer's name and
  address fields skip other parties' lines, the issuer's name is taken above the page's first
  price when a candidate is there, and the pick then meets the receipt reading rules of
  ``pipeline.extract.receipt``: the cash-rounded total, an address's building lines, a name's
  first line), as the schema wants it
  (``extractive.field_value``: printed text for plain strings, normalised for numbers, ISO dates
  for ``format: date``).

A scorer folder is a ``save_pretrained`` BERT folder (config, safetensors, tokenizer) plus
``scorer_head.safetensors`` (the linear unit) and ``scorer.json`` (input length, span length,
threshold, version). The encoder loads through the model registry (one copy per process);
the head is a few hundred floats kept beside it.

What it does not do: train (``prunestack.eval.train_scorer`` builds pairs from labelled data and
fits a folder), parse documents, fill arrays of objects (the rule engine does), or decide where it
is used (``pipeline.extract.core`` runs it for scalar fields when ``scorer="learned"``).
"""

from __future__ import annotations

import json
import math
import re
import statistics
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prunestack.cancel import checkpoint
from prunestack.encoder import mean_pool, tokenizable
from prunestack.errors import ModelError
from prunestack.pipeline.document import BBox, Document, ElementKind
from prunestack.pipeline.extract import values as V
from prunestack.pipeline.extract.extractive import grand_total_field, parse_for, value_kind
from prunestack.pipeline.extract.ocrfix import fix_letter_digit_confusions, tidy_mark_spacing
from prunestack.pipeline.extract.receipt import (
    SELLER_ADDRESSES,
    SELLER_NAMES,
    address_end,
    address_head,
    address_start,
    business_line,
    cash_rounded,
    label_line,
    name_start,
    other_party_line,
    owner_line,
    paid_total,
)
from prunestack.pipeline.extract.types import Leaf
from prunestack.pipeline.schema import FieldSpec

SCORER_VERSION = 1
HEAD_FILE = "scorer_head.safetensors"
CONFIG_FILE = "scorer.json"
#: kinds whose value is free text: whole lines and multi-line spans are their candidates
SPAN_KINDS = frozenset({"string", "address"})
DEFAULTS = {"max_length": 96, "max_span": 4, "anchors": 3, "min_prob": 0.0,
            "version": SCORER_VERSION}


@dataclass
class DocLine:
    """One line of a page: text, box, element, and the element's kind and font size."""

    text: str
    bbox: BBox
    page: int
    element_id: str
    kind: str
    confidence: float
    font_size: float | None


@dataclass
class Cand:
    """A candidate value: ``value`` as the field wants it, ``printed`` as on the page, from
    lines ``first..last`` (inclusive) of :func:`doc_lines`."""

    value: Any
    printed: str
    first: int
    last: int
    bbox: BBox


def doc_lines(doc: Document) -> list[DocLine]:
    """The document's lines in reading order: an element's printed lines (``Element.lines``,
    else its text lines with its box split evenly), a table's cells one per line (with the
    cell's box when it has one)."""
    out: list[DocLine] = []
    for e in doc.elements():
        if e.kind == ElementKind.TABLE and e.cells:
            for c in e.cells:
                if c.text.strip():
                    out.append(DocLine(" ".join(c.text.split()), c.bbox or e.bbox, e.page, e.id,
                                       "table", e.confidence, e.font_size))
            continue
        if e.lines:
            for tl in e.lines:
                if tl.text.strip():
                    out.append(DocLine(" ".join(tl.text.split()), tl.bbox, e.page, e.id,
                                       str(e.kind), e.confidence, e.font_size))
            continue
        parts = [" ".join(t.split()) for t in e.text.splitlines() if t.strip()]
        h = e.bbox.height / max(1, len(parts))
        for i, t in enumerate(parts):
            box = BBox(x0=e.bbox.x0, y0=e.bbox.y0 + i * h, x1=e.bbox.x1, y1=e.bbox.y0 + (i + 1) * h)
            out.append(DocLine(t, box, e.page, e.id, str(e.kind), e.confidence, e.font_size))
    return out


#: a leading label ending in a colon ("DIMILIKI: ", "Company name: ", OCR's "CASH1ER: "); a
#: time ("10:21") starts with a digit and stays, and so does an address's own numbering label
#: ("NO: G3, BLK G", "LOT NO : 20, LEVEL UG1"): the number it labels is part of the address
_LEAD_LABEL = re.compile(r"^(?!(?:lot|unit|shop|house|no)\b\W*(?:no\b\W*)?:)"
                         r"[^\W\d][^:]{0,29}:\s*(?=\S)", re.I)
#: trailing bracketed groups ("(1070687-M)", "(CHERAS)", an unclosed "(")
_TRAIL_BRACKET = re.compile(r"(?:\s*[(\[][^()\[\]]*[)\]]?)+[\s,.;:]*$")
#: trailing words holding a digit (a registration number glued after a name)
_TRAIL_DIGITS = re.compile(r"(?:\s+\S*\d\S*)+\s*$")
_TRAIL_PUNCT = re.compile(r"[\s,;:(\-]+$")


def text_variants(text: str) -> list[str]:
    """``text`` and what is left of it without a leading label, trailing brackets, trailing
    words with digits, or trailing punctuation (alone and combined): the ways a printed line
    holds more than one value ("GOLDEN SCOOP SDN BHD (169609-A)", "DIMILIKI: BANH MI CAFE SDN
    BHD 1110644-W"). Generic text shapes, no dataset words; a variant needs two letters."""
    out = [text]
    for rx in (_LEAD_LABEL, _TRAIL_BRACKET, _TRAIL_DIGITS, _TRAIL_PUNCT):
        for t in list(out):
            v = rx.sub("", t).strip()
            if v != t and sum(ch.isalpha() for ch in v) >= 2 and v not in out:
                out.append(v)
    return out


def _amount_value(t: str, p: V.Parsed) -> tuple[Any, str]:
    """An amount candidate's (value, printed): a plain string field keeps a spaced currency
    word when the candidate token has one (``RM 13.30``); otherwise the field's value."""
    printed = " ".join(p.as_printed.split())
    if isinstance(p.value, str) and t != p.value and t.endswith(p.value):
        return t, t
    return p.value, printed


def line_candidates(lines: list[DocLine], spec: FieldSpec, dayfirst: bool | None) -> list[Cand]:
    """Single-line candidates of ``spec`` (for span kinds: each whole line)."""
    kind = value_kind(spec)
    out: list[Cand] = []
    seen: set[tuple[int, str]] = set()
    for i, ln in enumerate(lines):
        if kind in SPAN_KINDS:  # the line and its variants: "NAME SDN BHD (123-X)", "NAME SDN BHD"
            texts = text_variants(ln.text)
        elif kind == "amount":
            texts = V.printed_amounts(ln.text)
        else:
            p = parse_for(kind, ln.text, spec, dayfirst)
            texts = [p.span] if p is not None else []
        for t in texts:
            p = parse_for("string" if kind in SPAN_KINDS else kind, t, spec, dayfirst)
            if p is None:
                continue
            if kind in SPAN_KINDS:
                value: Any = " ".join(t.split())
                printed = value
            elif kind == "amount":
                value, printed = _amount_value(t, p)
            else:
                value, printed = p.value, " ".join(p.as_printed.split())
            if (i, str(value)) in seen:
                continue
            seen.add((i, str(value)))
            out.append(Cand(value, printed, i, i, ln.bbox))
    return out


def span_candidates(lines: list[DocLine], spec: FieldSpec, anchors: list[int],
                    max_span: int) -> list[Cand]:
    """Refinement around anchor lines: spans of 2..``max_span`` consecutive lines on one page
    that contain an anchor, with their :func:`text_variants` (a span's leading label or trailing
    brackets cut off as well). A single line's variants are :func:`line_candidates` already:
    scoring them only around the best whole lines lost every name printed with its
    registration number (the whole line never ranked high enough to become an anchor)."""
    out: list[Cand] = []
    seen: set[tuple[int, int, str]] = set()

    def add(c: Cand) -> None:
        for v in text_variants(c.printed):
            if (c.first, c.last, v) not in seen:
                seen.add((c.first, c.last, v))
                if v != c.printed or c.first != c.last:
                    out.append(Cand(v, v, c.first, c.last, c.bbox))

    for a in anchors:  # (a single line's variants are line candidates already)
        for first in range(max(0, a - max_span + 1), a + 1):
            for last in range(a, min(len(lines), first + max_span)):
                if last == first or lines[first].page != lines[last].page:
                    continue
                add(span(lines, first, last))
    return out


def span(lines: list[DocLine], first: int, last: int) -> Cand:
    text = " ".join(ln.text for ln in lines[first:last + 1])
    return Cand(text, text, first, last, BBox.enclosing([ln.bbox for ln in lines[first:last + 1]]))


def candidates(lines: list[DocLine], spec: FieldSpec, dayfirst: bool | None,
               max_span: int = 4) -> list[Cand]:
    """All candidates of ``spec`` (training: the refinement of every line, not only of the
    best ones)."""
    out = line_candidates(lines, spec, dayfirst)
    if value_kind(spec) in SPAN_KINDS:
        out += span_candidates(lines, spec, list(range(len(lines))), max_span)
    return out


def field_text(spec: FieldSpec) -> str:
    """The field side of a pair: key path and description."""
    path = ".".join(str(p) for p in spec.path)
    return f"{path}: {spec.description}" if spec.description else path


def pair_text(lines: list[DocLine], c: Cand, sizes: tuple[float, float],
              body_font: float | None) -> str:
    """The candidate side of a pair: its text, layout as words, its row, the lines around it."""
    w, h = max(sizes[0], 1.0), max(sizes[1], 1.0)
    b = c.bbox
    first = lines[c.first]
    layout = (f"y {round(100 * b.y0 / h)} x {round(100 * b.x0 / w)} to {round(100 * b.x1 / w)}, "
              f"line {c.first + 1} of {len(lines)}, {first.kind}")
    if body_font and first.font_size and first.font_size > 1.2 * body_font:
        layout += ", large"
    mid = (first.bbox.y0 + first.bbox.y1) / 2
    row = [ln for ln in lines if ln.page == first.page and ln.bbox.y0 <= mid <= ln.bbox.y1]
    row_text = " ".join(ln.text for ln in sorted(row, key=lambda ln: ln.bbox.x0))
    above = lines[c.first - 1].text if c.first > 0 else ""
    below = lines[c.last + 1].text if c.last + 1 < len(lines) else ""
    return (f"{c.printed} [SEP] {layout} [SEP] row: {row_text} [SEP] above: {above} "
            f"[SEP] below: {below}")


def page_sizes(doc: Document) -> dict[int, tuple[float, float]]:
    return {p.number: (p.width, p.height) for p in doc.pages}


def body_font_size(lines: list[DocLine]) -> float | None:
    sizes = [ln.font_size for ln in lines if ln.font_size]
    return statistics.median(sizes) if sizes else None


def read_config(folder: Path) -> dict[str, Any]:
    cfg = dict(DEFAULTS)
    path = folder / CONFIG_FILE
    if path.is_file():
        cfg.update(json.loads(path.read_text(encoding="utf-8")))
    return cfg


class LearnedScorer:
    """A scorer folder's encoder (from the registry) + head: ``logits(fields, texts)``."""

    def __init__(self, encoder: Any, head: Any, config: dict[str, Any]) -> None:
        self.model = encoder.model
        self.tokenizer = encoder.tokenizer
        self.head = head  # torch.nn.Linear(hidden, 1)
        self.config = config

    def logits(self, firsts: list[str], seconds: list[str], batch_size: int = 32) -> list[float]:
        """One logit per (field text, candidate text) pair. Each distinct pair is scored once,
        in batches of pairs of similar token length (sorted, so a batch pads to little more
        than its own pairs): the same logits as pair by pair, fewer padded positions."""
        import torch

        pairs = list(dict.fromkeys(zip(firsts, seconds, strict=True)))  # distinct, in order
        if not pairs:
            return []
        enc = self.tokenizer([tokenizable(a) for a, _ in pairs], [tokenizable(b) for _, b in pairs],
                             truncation="only_second", max_length=self.config["max_length"])
        order = sorted(range(len(pairs)), key=lambda i: -len(enc["input_ids"][i]))
        got: list[float] = [0.0] * len(pairs)
        for s in range(0, len(order), batch_size):
            checkpoint("field scoring")  # a cancelled API request stops before each batch
            idx = order[s:s + batch_size]
            width = len(enc["input_ids"][idx[0]])  # the longest of the batch
            batch = {k: torch.full((len(idx), width), self.tokenizer.pad_token_id
                                   if k == "input_ids" else 0, dtype=torch.long)
                     for k in enc}  # [b, width] each, padded on the right
            for row, i in enumerate(idx):
                for k, v in enc.items():
                    batch[k][row, :len(v[i])] = torch.tensor(v[i])
            with torch.inference_mode():
                for i, v in zip(idx, forward(self.model, self.head, batch).tolist(), strict=True):
                    got[i] = v
        where = {p: i for i, p in enumerate(pairs)}
        return [got[where[p]] for p in zip(firsts, seconds, strict=True)]

    def extract(self, doc: Document, fields: list[FieldSpec]) -> dict[str, Leaf]:
        """Each scalar field's best candidate (above ``min_prob``), as a :class:`Leaf`."""
        lines = doc_lines(doc)
        if not lines:
            return {}
        texts = [ln.text for ln in lines]
        dayfirst = V.date_order_hint(texts)
        sizes = page_sizes(doc)
        body = body_font_size(lines)
        out: dict[str, Leaf] = {}
        taken: set[int] = set()  # lines other fields were read from
        # every field's candidates are scored in one call (fuller, length-sorted batches): the
        # whole lines first, then the spans around each free-text field's best lines
        kinds = {f.dotted: value_kind(f) for f in fields}
        owns = {f.dotted: _issuer_own(texts, str(f.path[-1]).lower())
                if str(f.path[-1]).lower() in SELLER_NAMES | SELLER_ADDRESSES else None
                for f in fields}
        cands_of = {f.dotted: _keep(_worded(line_candidates(lines, f, dayfirst), f),
                                    owns[f.dotted]) for f in fields}
        scores_of = self._score_all(lines, fields, cands_of, sizes, body)
        more_of: dict[str, list[Cand]] = {}
        for f in fields:
            cands, scores = cands_of[f.dotted], scores_of[f.dotted]
            if kinds[f.dotted] in SPAN_KINDS and cands:
                order = sorted(range(len(cands)), key=lambda i: -scores[i])
                anchors = [cands[i].first for i in order[:self.config["anchors"]]]
                more_of[f.dotted] = _keep(span_candidates(lines, f, anchors,
                                                          self.config["max_span"]),
                                          owns[f.dotted])
        more_scores = self._score_all(lines, fields, more_of, sizes, body)
        for f in fields:
            name, kind = str(f.path[-1]).lower(), kinds[f.dotted]
            cands = cands_of[f.dotted] + more_of.get(f.dotted, [])
            scores = scores_of[f.dotted] + more_scores.get(f.dotted, [])
            if not cands:
                continue
            fit = _address_fit if kind == "address" else \
                _letterhead_fit(lines) if name in SELLER_NAMES else None
            best = _best(cands, scores, fit)
            prob = 1.0 / (1.0 + math.exp(-scores[best]))
            if prob < self.config["min_prob"]:
                continue
            if kind in SPAN_KINDS:  # a name or address printed twice: the letterhead's copy
                best = _topmost_same(cands, best)
            if kind == "amount" and grand_total_field(f):  # the rounded total, when printed
                amounts = [c.value for c in cands]
                best = paid_total(amounts, scores, best, texts, [ln.bbox for ln in lines],
                                  [ln.page for ln in lines])
                best = cash_rounded(amounts, scores, best, texts)
            c = cands[best]
            if kind == "address":  # with the building / floor lines just above it
                c = _trim_head(lines, _extend_up(lines, c, taken, address_start), address_head)
                c = _extend_down(lines, c, taken, address_end)
            elif name in SELLER_NAMES:  # "AIK HUAT HARDWARE / ENTERPRISE..."
                c = _extend_up(lines, c, taken, name_start)
            taken.update(range(c.first, c.last + 1))
            ln = lines[c.first]
            value = c.value
            if kind == "address":  # letterhead text: undo OCR's O/0 swaps (811OO)
                value = tidy_mark_spacing(fix_letter_digit_confusions(value))
            out[f.dotted] = Leaf(value, ln.page, c.bbox, ln.element_id,
                                 round(prob * min(x.confidence for x in lines[c.first:c.last + 1]),
                                       4), c.printed)
        return out

    def _score_all(self, lines: list[DocLine], fields: list[FieldSpec],
                   cands_of: dict[str, list[Cand]], sizes: dict[int, tuple[float, float]],
                   body: float | None) -> dict[str, list[float]]:
        """The logits of every field's candidates in ``cands_of`` ({dotted: candidates}), in one
        :meth:`logits` call."""
        firsts: list[str] = []
        seconds: list[str] = []
        spans: dict[str, tuple[int, int]] = {}
        for f in fields:
            cands = cands_of.get(f.dotted, [])
            spans[f.dotted] = (len(firsts), len(firsts) + len(cands))
            firsts += [field_text(f)] * len(cands)
            seconds += [pair_text(lines, c, sizes.get(lines[c.first].page, (1.0, 1.0)), body)
                        for c in cands]
        got = self.logits(firsts, seconds)
        return {k: got[a:b] for k, (a, b) in spans.items()}


def _issuer_own(texts: list[str], name: str) -> Callable[[Cand], bool]:
    """For the issuer's name or address field ``name`` (the page's line ``texts``): whether a
    candidate is the issuer's, i.e. not read from another party's block ("BILL TO :",
    ``receipt.other_party_line``) nor, for the name, under a lone owner label
    (``receipt.owner_line``: the shop's owner) or from a contact or staff line ("FACEBOOK:
    ZENANDCOFFEE", ``receipt.label_line``)."""
    owner_too = name in SELLER_NAMES
    foreign = [other_party_line(texts, j) or (owner_too and (owner_line(texts, j) or
                                                             label_line(texts[j])))
               for j in range(len(texts))]
    return lambda c: not any(foreign[c.first:c.last + 1])


def _best(cands: list[Cand], scores: list[float], fit: Callable[[Cand], bool] | None) -> int:
    """The best-scoring candidate among those ``fit`` accepts (among all when it accepts none,
    or without ``fit``)."""
    pool = [i for i, c in enumerate(cands) if fit is None or fit(c)] or range(len(cands))
    return max(pool, key=lambda i: scores[i])


def _address_fit(c: Cand) -> bool:
    """An address pick does not name a business (``receipt.business_line``). Applied to the
    final pick only: such a line is a fair anchor for the spans below it."""
    return not business_line(str(c.value))


#: an amount with two decimals that is not part of a dotted date or a longer number: a price
_PRICE = re.compile(r"(?<![\d.,])\d{1,7}[.,]\d{2}(?![\d.,])")


def _letterhead_fit(lines: list[DocLine]) -> Callable[[Cand], bool]:
    """For the issuer's name: the candidate starts on the first page above its first line with a
    price (the letterhead, before the items and totals). Item names, "Cashier", a "Powered by"
    footer and the legal lines under the totals are below it. Applied to the final pick only
    (``_best`` falls back to every candidate when none fits: a page without prices, or a name
    printed only in the footer)."""
    page = lines[0].page
    first = next((i for i, ln in enumerate(lines)
                  if ln.page == page and _PRICE.search(ln.text)), len(lines))
    return lambda c: lines[c.first].page == page and c.first < first


def _worded(cands: list[Cand], f: FieldSpec) -> list[Cand]:
    """For an address or the issuer's name, the line candidates with two letters or more (a
    price, a date or a row of dashes is neither; not scoring them is ~a third fewer pairs on a
    till receipt); every candidate of other fields, or when none has two letters."""
    if value_kind(f) != "address" and str(f.path[-1]).lower() not in SELLER_NAMES:
        return cands
    kept = [c for c in cands if sum(ch.isalpha() for ch in c.printed) >= 2]
    return kept or cands


def _keep(cands: list[Cand], own: Callable[[Cand], bool] | None) -> list[Cand]:
    """``cands`` that ``own`` accepts (all of them when it accepts none, or without ``own``)."""
    kept = [c for c in cands if own(c)] if own is not None else cands
    return kept or cands


def _extend_up(lines: list[DocLine], c: Cand, taken: set[int],
               start_of: Callable[[list[str], list[BBox], int, set[int]], int]) -> Cand:
    """``c`` from where ``start_of`` (``receipt.address_start`` / ``receipt.name_start``, given
    the texts and boxes of ``c``'s page up to its first line) says it starts."""
    lo = c.first
    while lo > 0 and lines[lo - 1].page == lines[c.first].page:
        lo -= 1
    start = lo + start_of([ln.text for ln in lines[lo:c.first + 1]],
                          [ln.bbox for ln in lines[lo:c.first + 1]], c.first - lo,
                          {i - lo for i in taken if lo <= i <= c.first})
    if start == c.first:
        return c
    head = " ".join(ln.text for ln in lines[start:c.first])
    box = BBox.enclosing([ln.bbox for ln in lines[start:c.last + 1]])
    return Cand(f"{head} {c.value}", f"{head} {c.printed}", start, c.last, box)


def _topmost_same(cands: list[Cand], best: int) -> int:
    """The candidate that reads as ``best`` (same letters and digits, punctuation and spacing
    aside) and starts highest on the page: a receipt repeats its name in the footer ("ENW
    HARDWARE CENTRE (M) SDN BHD." under the items, "... SDN. BHD." in the letterhead), and the
    letterhead's form is the one a reader copies."""
    key = _alnum(str(cands[best].value))
    same = [i for i, c in enumerate(cands) if _alnum(str(c.value)) == key]
    return min(same, key=lambda i: (cands[i].first, i != best))


def _alnum(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def _extend_down(lines: list[DocLine], c: Cand, taken: set[int],
                 end_of: Callable[[list[str], list[BBox], int, set[int]], int]) -> Cand:
    """``c`` down to where ``end_of`` (``receipt.address_end``, given the texts and boxes of
    ``c``'s page) says it ends."""
    lo, hi = c.first, c.last
    while lo > 0 and lines[lo - 1].page == lines[c.first].page:
        lo -= 1
    while hi + 1 < len(lines) and lines[hi + 1].page == lines[c.last].page:
        hi += 1
    end = lo + end_of([ln.text for ln in lines[lo:hi + 1]], [ln.bbox for ln in lines[lo:hi + 1]],
                      c.last - lo, {i - lo for i in taken if lo <= i <= hi})
    if end == c.last:
        return c
    tail = " ".join(ln.text for ln in lines[c.last + 1:end + 1])
    box = BBox.enclosing([ln.bbox for ln in lines[c.first:end + 1]])
    return Cand(f"{c.value} {tail}", f"{c.printed} {tail}", c.first, end, box)


def _trim_head(lines: list[DocLine], c: Cand, head_of: Callable[[list[str]], int]) -> Cand:
    """``c`` without the first lines ``head_of`` (``receipt.address_head``) says are not part
    of it; ``c`` unchanged when its text does not start with those lines' text."""
    drop = head_of([ln.text for ln in lines[c.first:c.last + 1]])
    head = " ".join(ln.text for ln in lines[c.first:c.first + drop])
    if not drop or not str(c.value).startswith(head + " ") or not c.printed.startswith(head + " "):
        return c
    first = c.first + drop
    box = BBox.enclosing([ln.bbox for ln in lines[first:c.last + 1]])
    return Cand(str(c.value)[len(head) + 1:], c.printed[len(head) + 1:], first, c.last, box)


def forward(model: Any, head: Any, enc: Any) -> Any:
    """Logits [B] of tokenised pairs: mean of the last hidden states over real tokens → head."""
    hidden = model(**enc).last_hidden_state  # [B, S, H]
    return head(mean_pool(hidden, enc["attention_mask"])).squeeze(-1)  # [B]


def new_head(hidden: int) -> Any:
    import torch

    torch.manual_seed(0)
    head = torch.nn.Linear(hidden, 1)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    return head


def load_head(folder: Path, hidden: int) -> Any:
    from safetensors.torch import load_file

    path = folder / HEAD_FILE
    if not path.is_file():
        raise ModelError(f"{folder} is not a scorer folder (no {HEAD_FILE})",
                         "train one with `prunestack train extractor --data DIR --out DIR`")
    head = new_head(hidden)
    head.load_state_dict(load_file(str(path)))
    return head.eval()


_HEADS: dict[str, LearnedScorer] = {}
_LOCK = threading.Lock()


def load_scorer(folder: str | Path | None = None) -> LearnedScorer:
    """THE scorer of ``folder`` in this process (its encoder held by the model registry); the
    shipped scorer (``prunestack.models.field_scorer_path``) when ``folder`` is None."""
    from prunestack.models import field_scorer_path, registry

    if folder is None:
        folder = field_scorer_path()
    p = Path(folder)
    if not (p / HEAD_FILE).is_file():
        raise ModelError(f"scorer folder not found or has no {HEAD_FILE}: {p}",
                         "train one with `prunestack train extractor --data DIR --out DIR`")
    key = str(p.resolve())
    with _LOCK:
        if key in _HEADS:
            return _HEADS[key]
    enc = registry().encoder(p)
    cfg = read_config(p)
    if cfg.get("version") != SCORER_VERSION:
        raise ModelError(f"{p} is a version {cfg.get('version')} scorer; this prunestack reads "
                         f"version {SCORER_VERSION}",
                         "retrain it with `prunestack train extractor`")
    scorer = LearnedScorer(enc, load_head(p, enc.dim), cfg)
    with _LOCK:
        return _HEADS.setdefault(key, scorer)
