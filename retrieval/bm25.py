"""Okapi BM25 (Lucene variant) over short documents such as HTML blocks.

score(q, d) = Σ_{t ∈ q} idf(t) · tf(t,d) / (tf(t,d) + k1·(1 − b + b·|d|/avgdl))  (Lucene ≥ 8 drops
the constant (k1+1) factor; rankings are the same),
idf(t) = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5)) — always positive, so common words never
subtract. Tokens: lower-cased ``\\w+`` runs, English stop words removed. Pure numpy; no index on
disk (the persistent index in :mod:`retrieval.index` is dense).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from prunestack.cancel import checked

_TOKEN = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset("""a an and are as at be but by for from has have he her his i if in into is
it its of on or she so such that the their then there these they this to was were what when where
which who will with you your we our not no do does did how can""".split())


def tokenize(text: str, stopwords: frozenset[str] = STOPWORDS) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in stopwords]


def bm25_scores(query_tokens: Sequence[str], docs_tokens: Sequence[Sequence[str]],
                k1: float = 1.5, b: float = 0.75) -> np.ndarray:
    """BM25 score of every document for one query; returns float64 [n_docs]."""
    n = len(docs_tokens)
    scores = np.zeros(n, dtype=np.float64)
    if n == 0 or not query_tokens:
        return scores
    lengths = np.array([len(d) for d in docs_tokens], dtype=np.float64)  # [n_docs]
    avgdl = float(lengths.mean()) or 1.0
    qset = set(query_tokens)
    tfs: dict[str, np.ndarray] = {t: np.zeros(n) for t in qset}
    for i, d in enumerate(checked(docs_tokens, "BM25", 4096)):
        for t, c in Counter(d).items():
            if t in qset:
                tfs[t][i] = c
    norm = k1 * (1.0 - b + b * lengths / avgdl)  # [n_docs]
    for t in query_tokens:  # a repeated query term counts again, as in Lucene
        tf = tfs[t]
        df = float((tf > 0).sum())
        if df == 0:
            continue
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        scores += idf * tf / (tf + norm)
    return scores


class BM25:
    """A small in-memory BM25 index: ``BM25(texts).scores(query)``."""

    def __init__(self, texts: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.docs = [tokenize(t) for t in texts]
        self.k1, self.b = k1, b

    def scores(self, query: str) -> np.ndarray:
        return bm25_scores(tokenize(query), self.docs, self.k1, self.b)
