"""Re-join amounts, dates and times that OCR word-spacing recovery split at a letter gap.

Thermal till receipts print digits letter-spaced: the blank between "6" and "4" or beside a "."
is as wide as a word gap elsewhere on the line, so spacing recovery (``parsers.ocr.spacing``)
turns ``RM64.15`` into ``RM 64. 15`` and ``18-11-18`` into ``18- 1 1- 1 8`` although the
recogniser read one token. Measured on the SROIE dev receipts (``benchmarks/bench_ocr_ceiling.py``),
such splits were the largest class of date and total values missing from rapidocr's text.

``merge_split_numbers(words)`` joins a run of two or more adjacent fragments of one line, each
made only of digits and number punctuation (``. , : / -``), when the joined text is a whole
amount (``170.00``, ``1,234.50``), date (``5/3/2018``, ``18-11-18``) or time (``13:58``,
``22:52:33``), taking the longest such run from the left. A boundary between two digits is
joined only when its blank is narrower than the run's mean character advance (so the quantity
and price of ``2  12.50`` stay two words); a boundary beside punctuation is always joined.
Boxes of joined words are the
union of their fragments', confidence the minimum. Nothing else is rewritten: no digit is
changed, no currency or label is touched.
"""

from __future__ import annotations

import itertools
import re

from prunestack.parsers.ocr.lexicon import join_runs
from prunestack.parsers.primitives import Word

#: Longest run of fragments joined into one value (``18- 1 1- 1 8`` is five).
MAX_PARTS = 8
_PIECE = re.compile(r"[0-9.,:/\-]+")
_VALUE = re.compile(
    r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?"  # 1,234.50
    r"|\d+[.,]\d{2}"  # 170.00, 64,15
    r"|\d{1,2}([-/.])\d{1,2}\1(?:\d{4}|\d{2})"  # 5/3/2018, 18-11-18
    r"|\d{4}([-/.])\d{1,2}\2\d{1,2}"  # 2018-03-05
    r"|\d{1,2}:\d{2}(?::\d{2})?"  # 13:58, 22:52:33
)


def _joinable(words: list[Word]) -> str | None:
    """The value ``words`` spell together when they are one split value, else None."""
    if any(not _PIECE.fullmatch(w.text) for w in words):
        return None
    text = "".join(w.text for w in words)
    if not _VALUE.fullmatch(text):
        return None
    advance = (words[-1].bbox.x1 - words[0].bbox.x0) / max(len(text), 1)
    for a, b in itertools.pairwise(words):
        if a.text[-1].isdigit() and b.text[0].isdigit() and b.bbox.x0 - a.bbox.x1 >= advance:
            return None  # two numbers side by side ("2  12.50"), not one split at a letter gap
    return text


def merge_split_numbers(words: list[Word]) -> list[Word]:
    """``words`` (one line, left to right) with split amounts, dates and times re-joined."""
    if len(words) < 2:
        return words
    return join_runs(words, MAX_PARTS, _joinable)
