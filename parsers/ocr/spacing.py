"""Recover the spaces between Latin words that a CTC recogniser dropped, from the pixels.

PP-OCRv4's recogniser (trained mostly on Chinese) often emits ``Freshmilktwolitres`` for
"Fresh milk two litres" on small Latin text. The image still shows the word gaps: in the line's
crop, columns with no ink form runs; inter-letter runs are narrow and inter-word runs are wide.
``word_gaps`` finds the wide runs with a per-line two-cluster split (gap widths are bimodal),
falling back to an absolute rule relative to the text height when a line has too few gaps to
split. ``insert_spaces`` then puts a space between two consecutive recognised characters whose
x-positions (the CTC column of each character, mapped to pixels) lie on both sides of a word gap.

Pure numpy; no model calls. It never removes a space the recogniser produced.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Ink: pixels darker than this share of the way from the crop's darkest to its lightest value.
INK_LEVEL = 0.55
#: A word gap holds at least one paper column: one with no pixel darker than this share of the
#: way. Blurred scans leave faint ink (a third of the contrast) in the thin arcs of "O", "U" or
#: "e" and between touching letters; those blank runs are letter-sized but no word gap ("Office"
#: read as "O f fice"), while the space between two words stays paper-white.
PAPER_LEVEL = 0.75
#: Without a clear two-cluster split, a blank run at least this share of the text height is a
#: word gap (a Helvetica space is ~0.28 em; letter gaps are under ~0.12 em of the text height).
ABS_GAP_SHARE = 0.30
#: Two clusters of gap widths count as distinct when the wide one is this many times the narrow.
MIN_CLUSTER_RATIO = 1.8
#: A word gap is never narrower than this share of the text height.
MIN_GAP_SHARE = 0.25
#: In a line with several word-gap candidates, one narrower than this share of the wide ones
#: (the median of the wider half, counted at most up to ``WIDE_CAP_SHARE`` × the text height) is
#: a letter gap: on blurred scans a straight-sided pair ("ll", "El") leaves a blank run half a
#: space wide, while the line's real spaces are all alike.
RELATIVE_SHARE = 0.6
WIDE_CAP_SHARE = 0.45
#: With spaces the recogniser did emit, word gaps are at least this share of their median width.
KNOWN_GAP_SHARE = 0.6
#: Between two digits, next to a "1" or next to narrow punctuation, a gap must be this share of
#: the text height: the digit 1 is narrow on a full-width (tabular) advance and punctuation is a
#: small mark between wide bearings (a whole cell in monospace fonts), so "416", "04-14",
#: "12.50" and "TA.K" show blanks nearly as wide as a space.
DIGIT_GAP_SHARE = 0.42
#: Between a letter and a "1", a gap at least this share of the line's letter-to-letter word
#: gaps is a space (when the line has such gaps to measure).
LETTER_ONE_SHARE = 0.85
_DIGITS = frozenset("0123456789")
_NARROW = frozenset(".,:;()[]{}'\"!|-/（）：，。")
#: Next to narrow punctuation, a word gap is at least this share of the line's letter-to-letter
#: word gaps (monospace punctuation leaves half a cell blank on each side; a space is a cell).
REF_SHARE = 0.8
#: Next to narrow punctuation, without letter-to-letter gaps to compare with: share of the height.
PUNCT_GAP_SHARE = 0.5


def ink_profile(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """Columns that hold ink (bool, [W]) and the text height in pixels for a line crop [H, W]."""
    if gray.size == 0:
        return np.zeros(0, dtype=bool), 0.0
    lo, hi = float(gray.min()), float(gray.max())
    if hi - lo < 40:  # no contrast: nothing printed
        return np.zeros(gray.shape[1], dtype=bool), 0.0
    ink = gray < lo + INK_LEVEL * (hi - lo)  # [H, W]
    cols: np.ndarray = np.asarray(ink.any(axis=0))  # [W]: a T's crossbar may be one pixel high
    rows = np.nonzero(ink.sum(axis=1) >= 2)[0]
    height = float(rows[-1] - rows[0] + 1) if rows.size else 0.0
    return cols, height


def blank_runs(cols: np.ndarray) -> list[tuple[int, int]]:
    """Runs ``[start, end)`` of ink-free columns strictly between the first and last ink column."""
    idx = np.nonzero(cols)[0]
    if idx.size < 2:
        return []
    runs = []
    prev = idx[0]
    for x in idx[1:]:
        if x - prev > 1:
            runs.append((int(prev + 1), int(x)))
        prev = x
    return runs


def gap_threshold(widths: list[int], text_height: float,
                  known: list[int] | None = None) -> float:
    """The width (pixels) from which a blank run is a word gap, for one line.

    ``known`` are the widths of gaps where the recogniser itself put a space: when present they
    calibrate the line (same font, same scale) and the cluster split is not needed.
    """
    floor = MIN_GAP_SHARE * text_height
    absolute = ABS_GAP_SHARE * text_height
    if known:
        return max(floor, KNOWN_GAP_SHARE * float(np.median(known)))
    w = np.sort(np.asarray(widths, dtype=float))
    if w.size < 3:
        return max(absolute, floor)
    # Best split of the sorted widths into narrow | wide (1-D 2-means on log widths).
    lw = np.log(w + 1.0)
    best_k, best_cost = 0, float("inf")
    for k in range(1, w.size):
        a, b = lw[:k], lw[k:]
        cost = a.var() * a.size + b.var() * b.size
        if cost < best_cost:
            best_k, best_cost = k, cost
    narrow, wide = w[:best_k], w[best_k:]
    if np.median(wide) >= MIN_CLUSTER_RATIO * max(np.median(narrow), 1.0):
        return max(float(np.sqrt(narrow.max() * wide.min())) + 0.5, floor)
    # One cluster: either all letter gaps (one word) or all word gaps (monospace, spaced).
    return max(absolute, floor)


def word_gaps(gray: np.ndarray, spaces: list[tuple[float, float]] | None = None
              ) -> list[tuple[int, int]]:
    """Word gaps ``[start, end)`` (crop columns) in a single-line crop [H, W].

    ``spaces`` are ``(left, right)`` crop x-ranges between the centres of the two characters
    around each space the recogniser emitted; the widest blank run inside each calibrates the
    threshold. Only runs with at least one paper column (``PAPER_LEVEL``) can be word gaps; all
    runs take part in the threshold.
    """
    cols, height = ink_profile(gray)
    if height <= 0:
        return []
    runs = blank_runs(cols)
    if not runs:
        return []
    dark, light = float(gray.min()), float(gray.max())
    paper = gray.min(axis=0) >= dark + PAPER_LEVEL * (light - dark)  # [W]: not even faint ink
    known = []
    for lo, hi in spaces or []:
        inside = [e - s for s, e in runs if lo < (s + e) / 2 < hi]
        if inside:
            known.append(max(inside))
    t = gap_threshold([e - s for s, e in runs], height, known)
    found = [(s, e) for s, e in runs if e - s >= t and paper[s:e].any()]
    if len(found) >= 2:
        widths = sorted(e - s for s, e in found)
        wide = min(float(np.median(widths[len(widths) // 2:])), WIDE_CAP_SHARE * height)
        found = [(s, e) for s, e in found if e - s >= RELATIVE_SHARE * wide]
    return found


def _neighbours(chars: list[str], centers: list[float], x: float) -> tuple[str, str]:
    """The nearest non-space characters left and right of ``x`` ("" at the ends)."""
    left = right = ""
    for ch, c in zip(chars, centers, strict=True):
        if ch == " ":
            continue
        if c < x:
            left = ch
        elif not right:
            right = ch
    return left, right


def insert_spaces(chars: list[str], centers: list[float],
                  gaps: Sequence[tuple[float, float]], text_height: float = 0.0) -> str:
    """The text of ``chars`` with a space wherever a gap lies between two neighbours' centres.

    ``centers[i]`` is character i's x in the same coordinates as ``gaps``. Gaps between two
    letters set the line's reference word-gap width (their median). Next to narrow punctuation a
    gap must be ≥ ``REF_SHARE`` × that reference (without one: ``PUNCT_GAP_SHARE`` × the text
    height); between two digits or next to a ``1`` also ≥ ``DIGIT_GAP_SHARE`` × the text height.
    Existing spaces stay.
    """
    if len(chars) != len(centers):
        raise ValueError("one centre per character")
    letter_gaps = []
    for s, e in gaps:
        a, b = _neighbours(chars, centers, (s + e) / 2)
        if a.isalpha() and b.isalpha():
            letter_gaps.append(e - s)
    ref = REF_SHARE * float(np.median(letter_gaps)) if letter_gaps else None
    out: list[str] = []
    for i, ch in enumerate(chars):
        if i and ch != " " and out and out[-1] != " ":
            a, lo, hi = chars[i - 1], centers[i - 1], centers[i]
            need = 0.0
            if (a in _DIGITS and ch in _DIGITS) or "1" in (a, ch):
                need = max(DIGIT_GAP_SHARE * text_height, ref or 0.0)
                if (a.isalpha() or ch.isalpha()) and letter_gaps:
                    # a letter beside a "1" ("KENARI 17"): the 1's bearing is under half a
                    # space, so the line's own word gaps between letters set the bar
                    need = min(need, max(LETTER_ONE_SHARE * float(np.median(letter_gaps)),
                                         MIN_GAP_SHARE * text_height))
            elif a in _NARROW or ch in _NARROW:
                need = ref if ref is not None else PUNCT_GAP_SHARE * text_height
            if any(lo < (s + e) / 2 < hi and e - s >= need for s, e in gaps):
                out.append(" ")
        out.append(ch)
    return "".join(out).strip()
