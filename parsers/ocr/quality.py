"""Word-level OCR quality against known text: what the spacing measurements report.

``word_accuracy(truth, got)`` is the share of ground-truth words (whitespace-split, order-free,
counted with multiplicity) that appear in the OCR output: a glued ``Freshmilk`` scores zero for
both ``Fresh`` and ``milk``, a spurious split ``rec eipt`` scores zero for ``receipt``.
``word_precision`` is the same the other way round (share of OCR words that are true words).
Pure functions, no I/O.
"""

from __future__ import annotations

from collections import Counter


def _bag(lines: list[str]) -> Counter[str]:
    return Counter(w for line in lines for w in line.split())


def word_accuracy(truth: list[str], got: list[str]) -> float:
    """Share of the words of ``truth`` found in ``got`` (multiset recall)."""
    t, g = _bag(truth), _bag(got)
    total = sum(t.values())
    return sum((t & g).values()) / total if total else 1.0


def word_precision(truth: list[str], got: list[str]) -> float:
    """Share of the words of ``got`` that are words of ``truth`` (multiset precision)."""
    t, g = _bag(truth), _bag(got)
    total = sum(g.values())
    return sum((t & g).values()) / total if total else 1.0
