"""Scan-like augmentation of a labelled Document at the LINE level (no images), for training
the learned field scorer.

What it does: :func:`augment` copies a document with tilt and perspective of the line boxes,
jittered line heights, OCR character confusions (O/0, I/1/l, S/5, B/8, G/6), faded (dropped)
characters, a space lost between two words or put inside one, a letter-spaced word ("S d n B h
d"), lines split in two or merged, and neighbouring lines or blocks read out of order; tables
keep their cells in place with noisy text. Expected values are KEPT INTACT: the caller names
them (``keep``; :func:`keep_strings` finds them on the page, numbers and ISO dates by their
printed tokens), and no noise changes their characters, splits them, glues a neighbour onto
them, merges their lines with others or moves those lines, so a training label stays right
and every candidate that matched before still matches. Doubled spaces are not made: the
scorer collapses whitespace runs, so they would not show.

What it does not do: render or degrade images (``eval.synth.degrade`` does, for the
benchmarks), change an expected value to follow the noise, or decide which documents get
augmented (``eval.scorer_data.training_documents``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from typing import Any

from prunestack.pipeline.document import BBox, Document, ElementKind, TextLine
from prunestack.pipeline.extract import values as V

_CONFUSE = {"O": "0", "0": "O", "I": "1", "1": "l", "l": "1", "S": "5", "5": "S", "B": "8",
            "8": "B", "G": "6", "Z": "2", "o": "0", "i": "l", "e": "c"}


#: what sets a value off from its label or a registration number: kept with the value
_SEPARATORS = frozenset(":;,()[] ")


def _protected(text: str, keep: list[str]) -> list[bool]:
    """Per character of a line: part of an expected value (an occurrence of one, with the
    separator that sets it off — "CASHIER: INES" keeps its ": ", else the value is no longer a
    part of the line a scorer can cut out — or the whole line when it is a piece of a value
    printed over several lines)."""
    mask = [False] * len(text)
    low = text.upper()
    for k in keep:
        ku = k.upper()
        at = low.find(ku)
        while at >= 0:
            first, last = at, at + len(ku)
            while first > 0 and at - first < 2 and text[first - 1] in _SEPARATORS:
                first -= 1
            while last < len(text) and last - at - len(ku) < 2 and text[last] in _SEPARATORS:
                last += 1
            for j in range(first, last):
                mask[j] = True
            at = low.find(ku, at + 1)
        if len(text.strip()) >= 3 and low.strip() in ku:
            return [True] * len(text)
    return mask


def _noisy(text: str, mask: list[bool], rng: random.Random, p: float) -> str:
    """OCR noise on the unprotected characters of one line."""
    out: list[str] = []
    n = len(text)
    for j, ch in enumerate(text):
        near = mask[j] or (j > 0 and mask[j - 1]) or (j + 1 < n and mask[j + 1])
        if mask[j]:
            out.append(ch)
            continue
        r = rng.random()
        if ch == " ":
            out.append("" if r < p and not near else ch)  # two words glued
        elif r < p and ch in _CONFUSE:
            out.append(_CONFUSE[ch])
        elif r < p * 1.3:
            continue  # faded away
        elif r < p * 1.5 and ch.isalpha() and not near:
            out.append(ch + " ")  # a space inside a word
        else:
            out.append(ch)
    return "".join(out)


def _letter_spaced(text: str, mask: list[bool], rng: random.Random) -> str:
    """One unprotected capitalised word spread out by spacing recovery ("S d n B h d")."""
    words, at, spans = text.split(" "), 0, []
    for w in words:
        if 3 <= len(w) <= 7 and w.isalpha() and not any(mask[at:at + len(w)]):
            spans.append((at, w))
        at += len(w) + 1
    if not spans:
        return text
    at, w = rng.choice(spans)
    return text[:at] + " ".join(w) + text[at + len(w):]


def _split_box(b: BBox, frac: float) -> tuple[BBox, BBox]:
    x = b.x0 + frac * b.width
    return (BBox(x0=b.x0, y0=b.y0, x1=x, y1=b.y1), BBox(x0=x, y0=b.y0, x1=b.x1, y1=b.y1))


def _element_lines(e: Any) -> list[tuple[str, BBox]]:
    if e.lines:
        return [(t.text, t.bbox) for t in e.lines if t.text.strip()]
    parts = [t for t in e.text.splitlines() if t.strip()]
    h = e.bbox.height / max(1, len(parts))
    return [(t, BBox(x0=e.bbox.x0, y0=e.bbox.y0 + i * h, x1=e.bbox.x1, y1=e.bbox.y0 + (i + 1) * h))
            for i, t in enumerate(parts)]


def _reshape(lines: list[tuple[str, BBox]], keep: list[str], rng: random.Random,
             p: float, spaced: float) -> list[tuple[str, BBox]]:
    """Split, merge, swap and noise the lines of one element (never a protected line's text)."""
    out: list[tuple[str, BBox]] = []
    for text, box in lines:
        mask = _protected(text, keep)
        spaces = [j for j, ch in enumerate(text) if ch == " " and not mask[j]]
        if spaces and rng.random() < 0.08:  # a recogniser cut the line in two
            j = rng.choice(spaces)
            a, b = _split_box(box, j / max(1, len(text)))
            out += [(text[:j], a), (text[j + 1:], b)]
        else:
            out.append((text, box))
    i = 0
    while i + 1 < len(out):
        free = not any(_protected(out[i][0], keep)) and not any(_protected(out[i + 1][0], keep))
        r = rng.random()
        if free and r < 0.06:  # two lines read as one
            out[i:i + 2] = [(f"{out[i][0]} {out[i + 1][0]}", out[i][1].union(out[i + 1][1]))]
        elif free and r < 0.12:  # read out of order
            out[i], out[i + 1] = out[i + 1], out[i]
            i += 2
        else:
            i += 1
    noisy = []
    for text, box in out:
        mask = _protected(text, keep)
        if rng.random() < spaced:
            text = _letter_spaced(text, mask, rng)
            mask = _protected(text, keep)
        text = " ".join(_noisy(text, mask, rng, p).split())
        if text:
            noisy.append((text, box))
    return noisy


def augment(doc: Document, rng: random.Random, keep: Iterable[str] = ()) -> Document:
    """A copy of ``doc`` with scan-like noise at the line level (see the module docstring).

    ``keep``: the expected values as printed; their characters and their lines are left as they
    are (the labels stay right), everything around them may change."""
    keep_l = sorted({" ".join(str(k).split()) for k in keep if str(k).strip()}, key=len,
                    reverse=True)
    p = rng.choice([0.0, 0.01, 0.02, 0.04, 0.07])  # the scan's noise level
    spaced = rng.choice([0.0, 0.05, 0.15])
    pages = []
    for page in doc.pages:
        w, h = max(page.width, 1.0), max(page.height, 1.0)
        tilt = math.radians(rng.uniform(-2.5, 2.5))
        persp = rng.uniform(-0.05, 0.05)
        cx, cy = w / 2, h / 2

        def geo(b: BBox, tilt: float = tilt, persp: float = persp, cx: float = cx,
                cy: float = cy, h: float = h) -> BBox:
            mx, my = (b.x0 + b.x1) / 2 - cx, (b.y0 + b.y1) / 2 - cy
            scale = 1.0 + persp * (my / h)  # the far edge of the page prints narrower
            nx = cx + scale * (mx * math.cos(tilt) - my * math.sin(tilt))
            ny = cy + mx * math.sin(tilt) + my * math.cos(tilt)
            hw, hh = scale * b.width / 2, b.height / 2 * rng.uniform(0.8, 1.2)
            return BBox(x0=max(0.0, nx - hw), y0=max(0.0, ny - hh), x1=max(0.0, nx + hw) + 1e-3,
                        y1=max(0.0, ny + hh) + 1e-3)

        elements = []
        order = list(page.elements)
        for i in range(len(order) - 1):  # neighbouring blocks read out of order
            a, b = order[i], order[i + 1]
            if rng.random() < 0.05 and not any(
                    any(_protected(t, keep_l)) for t, _ in _element_lines(a) + _element_lines(b)):
                order[i], order[i + 1] = b, a
        for e in order:
            if e.kind == ElementKind.TABLE and e.cells:  # cells keep their place, noisy text
                cells = []
                for c in e.cells:
                    t = " ".join(_noisy(c.text, _protected(c.text, keep_l), rng, p).split())
                    cells.append(c.model_copy(update={"text": t or c.text}))
                elements.append(e.model_copy(update={"cells": cells}).moved(geo))
                continue
            lines = _reshape(_element_lines(e), keep_l, rng, p, spaced)
            if not lines:
                continue
            moved = [TextLine(text=t, bbox=geo(b)) for t, b in lines]
            elements.append(e.model_copy(update={
                "text": "\n".join(t.text for t in moved), "lines": moved,
                "bbox": BBox.enclosing([t.bbox for t in moved]),
                "confidence": round(max(0.0, e.confidence - 3 * p), 4)}))
        pages.append(page.model_copy(update={"elements": elements}))
    return doc.model_copy(update={"pages": pages})


def keep_strings(doc: Document, expected: Any) -> list[str]:
    """The expected values as the page prints them: every string leaf, and for a number leaf
    or an ISO date the page's tokens that read as it (``7.00`` for 7.0, ``11/01/2018`` for
    2018-01-11)."""
    leaves: list[Any] = []

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            for y in x.values():
                walk(y)
        elif isinstance(x, list):
            for y in x:
                walk(y)
        elif x is not None and not isinstance(x, bool):
            leaves.append(x)

    walk(expected)
    out = [str(x) for x in leaves if isinstance(x, str)]
    numbers = [float(x) for x in leaves if isinstance(x, int | float)]
    isos = {x for x in out if len(x) == 10 and x[4] == "-" and x[7] == "-"}
    if numbers or isos:
        for line in doc.text.splitlines():
            for m in V._AMOUNT.finditer(line):
                tok = V._amount_token(line, m).strip()
                got = V.parse_amount(tok)
                if got is not None and any(abs(float(got.value) - n) < 1e-6 for n in numbers):
                    out.append(tok)
            d = V.parse_date(line) if isos else None
            if d is not None and d.value in isos:
                out.append(d.span)
    return out
