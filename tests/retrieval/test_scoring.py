"""BM25 against bm25s (Lucene), MiniLM embeddings against sentence-transformers, pruned encoders."""

from __future__ import annotations

import numpy as np
import pytest

from prunestack.errors import ModelError
from prunestack.models import load_encoder
from prunestack.retrieval.bm25 import BM25, bm25_scores, tokenize
from prunestack.retrieval.embed import cosine_scores

DOCS = ["The tidal plant has four turbines and makes power for twelve thousand homes.",
        "Ferry timetables change in spring; the harbour office has the details.",
        "Turbines, turbines and more turbines: the engineers love turbines.",
        "A bakery on the quay won a national award for its sourdough bread.",
        ""]


def test_bm25_matches_bm25s_lucene():
    bm25s = pytest.importorskip("bm25s")
    docs = [tokenize(d) for d in DOCS]
    ref = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    ref.index(docs, show_progress=False)
    for q in ("turbines homes", "bakery sourdough award", "harbour", "spring ferry turbines"):
        qt = tokenize(q)
        np.testing.assert_allclose(bm25_scores(qt, docs), ref.get_scores(qt), rtol=1e-5)


def test_bm25_edge_cases():
    assert BM25([]).scores("x").shape == (0,)
    assert not BM25(DOCS).scores("the of and").any()  # stop words only: no signal
    s = BM25(DOCS).scores("turbines")
    assert s.argmax() == 2 and s[3] == 0


def test_minilm_matches_sentence_transformers(embed_pruner, minilm_dir):
    st = pytest.importorskip("sentence_transformers")
    model = st.SentenceTransformer(str(minilm_dir), device="cpu")
    want = model.encode(DOCS[:4], normalize_embeddings=True)
    got = embed_pruner.encoder.encode(DOCS[:4])
    assert got.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose((got * want).sum(1), 1.0, atol=1e-4)


def test_cosine_scores_rank_the_answer_first(embed_pruner):
    enc = embed_pruner.encoder
    s = cosine_scores(enc.encode(["who won a prize for bread?"])[0], enc.encode(DOCS[:4]))
    assert s.argmax() == 3


def test_pruned_encoder_folder_without_tokenizer(tmp_path, minilm_dir):
    from transformers import AutoConfig, AutoModel

    cfg = AutoConfig.from_pretrained(minilm_dir, local_files_only=True)
    full = AutoModel.from_pretrained(minilm_dir, local_files_only=True)
    cfg.num_hidden_layers = 3  # what a depth-pruned MiniLM looks like on disk
    small = AutoModel.from_config(cfg)
    small.load_state_dict(full.state_dict(), strict=False)
    small.save_pretrained(tmp_path / "pruned")
    enc = load_encoder(tmp_path / "pruned")  # tokenizer falls back to MiniLM's
    v = enc.encode(DOCS[:2])
    assert v.shape == (2, 384) and np.isfinite(v).all()
    with pytest.raises(ModelError, match="not found"):
        load_encoder(tmp_path / "missing")
