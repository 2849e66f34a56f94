"""Evidence windows (``retrieval.evidence``): a unit's window, the window BM25 ranking, and
packing that brings each kept unit's window into the evidence within the budget."""

from __future__ import annotations

import numpy as np
import pytest

from prunestack.pipeline.document import BBox
from prunestack.retrieval.bm25 import tokenize
from prunestack.retrieval.evidence import EvidenceIndex, Unit, pack, pack_window, span


def unit(text: str, match: str | None = None) -> Unit:
    return Unit(text, len(text.split()), 1, BBox(x0=0, y0=0, x1=1, y1=1), ("text",), 0, (),
                frozenset(), match or text)


def index(units: list[Unit], window: int = 100) -> EvidenceIndex:
    wins = [tokenize(" ".join([u.match, *(units[j].text for j in span(units, i, window)[1:])]))
            for i, u in enumerate(units)]
    return EvidenceIndex(units, [tokenize(u.match) for u in units], wins, None, 1)


def test_span_is_the_unit_then_after_and_before_in_turn_within_the_window():
    units = [unit(" ".join(["w"] * n)) for n in (5, 4, 3, 2, 6, 1)]
    assert span(units, 2, 100) == (2, 3, 1, 4, 0, 5)  # the whole document fits
    assert span(units, 2, 10) == (2, 3, 1)  # 3 + 2 + 4; the next after (6) and before (5) not
    assert span(units, 2, 3) == (2,)
    assert span(units, 0, 9) == (0, 1)  # the edge: only one side
    assert span(units, 5, 7) == (5, 4)


def test_window_ranking_finds_the_unit_whose_neighbours_match():
    filler = " ".join(f"word{i}" for i in range(30))
    units = [unit(filler),
             unit("Question six: who repaints the lantern room?"),
             unit("Coastal Paints Ltd, every second summer."),
             unit(filler.replace("word", "term"))]
    idx = index(units, window=20)
    assert [span(units, i, 20) for i in range(4)] == [(0,), (1, 2), (2, 1), (3,)]
    _, fused = idx.rank("who repaints the lantern room")
    # unit 1 by its own words, unit 2 by its window (which holds unit 1); the others share none
    assert fused[1] > fused[2] > 0.0 == fused[0] == fused[3]


@pytest.mark.parametrize("budget", [1, 4, 9, 16, 25, 48, 100, 400])
def test_pack_brings_the_window_and_never_exceeds_the_budget(budget):
    units = [unit(" ".join(f"filler{i}x{k}" for k in range(20))) for i in range(12)]
    units[4] = unit("By Hazel Brown, staff writer at the harbour gazette")  # above the match
    units[5] = unit("Question six: was the harbour rebuilt?")
    units[6] = unit("Yes, in 1857 after the storm.")
    fused = np.arange(12) / 100.0  # later fillers rank higher: rank order alone skips 4 and 6
    fused[5] = 1.0  # the question matches; its answer and byline share no word with it
    chosen = pack(units, fused, budget, qtok=tokenize("was the harbour rebuilt"))
    words = sum(len(t.split()) for t in chosen.values())
    assert words <= budget
    if budget >= 6:
        assert chosen[5] == units[5].text  # the best unit whole
    if budget >= 48:  # its window (a quarter of the budget, >= 12 words) holds the answer
        assert chosen[6] == units[6].text
    if budget >= 100:  # a 25-word window: the byline before it too
        assert chosen[4] == units[4].text
    if budget == 400:  # lower-ranked units (and their windows) fill the rest: all 201 words
        assert sorted(chosen) == list(range(len(units))) and words == 201


def test_pack_window_is_a_quarter_of_the_budget_up_to_100_words():
    assert [pack_window(b) for b in (8, 256, 400, 1024)] == [2, 64, 100, 100]


def test_windows_never_cross_documents_when_units_are_grouped():
    # two documents in one list (a persistent index's query): the best unit is the last of the
    # first document; its window and the leftover fill must stay in that document
    units = [unit(" ".join(["a"] * 5)) for _ in range(3)] + \
        [unit(" ".join(["b"] * 5)) for _ in range(3)]
    group = [0, 0, 0, 1, 1, 1]
    assert span(units, 2, 100) == (2, 3, 1, 4, 0, 5)
    assert span(units, 2, 100, group) == (2, 1, 0)
    assert span(units, 3, 100, group) == (3, 4, 5)
    fused = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
    mixed = pack(units, fused, 18, window=100)  # ungrouped: the window runs into document 1
    assert sorted(mixed) == [1, 2, 3, 4] and mixed[4] == "b b b"  # unit 4 cut as the fill
    kept = pack(units, fused, 18, window=100, group=group)  # 15 words in doc 0, 3 left over
    assert sorted(kept) == [0, 1, 2]  # no unit of document 1 to fill them with
