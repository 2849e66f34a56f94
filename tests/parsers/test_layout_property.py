"""Property: aggregation loses and duplicates no word, on random layouts (seeded)."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from prunestack.parsers.layout import aggregate
from tests.parsers.synth_lines import cells, line, page

VOCAB = ["Invoice", "No:", "Total", "12.50", "Date:", "alpha", "beta", "•", "1.", "Table", "3",
         "Page", "of", "Widget", "gamma", "delta.", "Summary", "x", "2024-01-05", "Ltd"]


def _words(text: str) -> Counter[str]:
    return Counter(w for w in re.sub(r"[:|]", " ", text).split())


def random_page(rng: random.Random, number: int, ocr: bool):
    lines = []
    for _ in range(rng.randrange(1, 40)):
        n = rng.randrange(1, 9)
        text = " ".join(rng.choice(VOCAB) for _ in range(n))
        x, y = rng.uniform(0, 500), rng.uniform(0, 760)
        size = rng.choice([7, 9, 10, 10, 10, 12, 16, 22])
        if rng.random() < 0.3:
            xs = sorted(rng.sample(range(20, 560, 10), 3))
            parts = [" ".join(rng.choice(VOCAB) for _ in range(rng.randrange(1, 3)))
                     for _ in xs]
            lines.append(cells(parts, xs, y, size, ocr=ocr))
        else:
            lines.append(line(text, x, y, size, bold=rng.random() < 0.2, ocr=ocr,
                              conf=rng.uniform(0.5, 1.0)))
    return page(lines, number, ocr=ocr)


@pytest.mark.parametrize("seed", range(40))
def test_no_word_lost_or_duplicated(seed):
    rng = random.Random(seed)
    ocr = seed % 3 == 0
    pages = [random_page(rng, n, ocr) for n in range(1, rng.randrange(2, 4))]
    doc = aggregate(pages, mime_type="application/pdf")
    want = sum((_words(ln.text) for p in pages for ln in p.lines), Counter())
    got: Counter[str] = Counter()
    for e in doc.elements():
        if e.cells is not None:
            got += sum((_words(c.text) for c in e.cells), Counter())
        elif e.key is not None:
            got += _words(e.key) + _words(e.value or "")
        else:
            got += _words(e.text)
    assert got == want
    ids = [e.id for e in doc.elements()]
    assert len(ids) == len(set(ids))
    for p in doc.pages:
        for e in p.elements:
            assert 0.5 <= e.confidence <= 1.0 and e.page == p.number


@pytest.mark.parametrize("seed", range(40, 60))
def test_cctree_covers_every_element_once(seed):
    from prunestack.parsers.cctree import NodeKind, build_cctree, keyword_budget

    rng = random.Random(seed)
    pages = [random_page(rng, n, seed % 2 == 0) for n in range(1, rng.randrange(2, 4))]
    doc = aggregate(pages, mime_type="application/pdf")
    tree = build_cctree(doc)
    covered = Counter(i for n in tree.iter() if n.kind not in (NodeKind.ROOT, NodeKind.SUPPLEMENT)
                      for i in n.element_ids)
    assert covered == Counter(e.id for e in doc.elements())
    for n in tree.iter():
        assert n.keyword_budget == keyword_budget(n.depth, n.height,
                                                  [c.keyword_budget for c in n.children])
        assert all(c.depth == n.depth + 1 for c in n.children)
