"""faiss inner-product search over unit sentence vectors (inner product = cosine).

The vectors come from the one sentence encoder, ``prunestack.models.registry().encoder(folder)``
(all-MiniLM-L6-v2 by default, or any local BERT-style folder such as a pruned MiniLM), whose
``encode(texts)`` embeds passages. This module neither loads nor holds models.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def flat_index(vectors: np.ndarray) -> Any:
    """A faiss ``IndexFlatIP`` over unit vectors [n, dim] (inner product = cosine)."""
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def cosine_scores(query_vec: np.ndarray, doc_vecs: np.ndarray) -> np.ndarray:
    """Cosine of one query [dim] against every document [n, dim], via faiss; returns [n]."""
    n = len(doc_vecs)
    scores = np.full(n, -1.0, dtype=np.float32)
    if n == 0:
        return scores
    index = flat_index(doc_vecs)
    sims, ids = index.search(np.ascontiguousarray(query_vec[None, :], dtype=np.float32), n)
    scores[ids[0]] = sims[0]  # [n]
    return scores
