"""Language-model measurements: perplexity at a stated sequence length, CPU latency.

- ``perplexity``: exp(mean next-token NLL) over non-overlapping windows of ``seqlen`` tokens of the
  given texts (no sliding context). Perplexity depends strongly on ``seqlen``; always report it.
- ``prefill_decode``: median wall time of a prefill of ``prompt_len`` tokens and the median time
  per decoded token (greedy, with the KV cache), measured interleaved across the given models so a
  shared, noisy CPU affects all of them alike. ``encoder_latency`` does the same for encoders.
- ``sentence_embed`` / ``topk_overlap`` / ``retrieval_texts`` / ``encoder_agreement`` (with its
  dense side, ``agreement_reference``, embedded once and reusable): how close a
  pruned sentence encoder stays to the dense one: cosine of the mean-pooled, L2-normalised
  embeddings and the share of the dense top-10 passages the pruned encoder also ranks top-10.
  Each retrieval set is 30 queries against 120 passages; the overlap is the mean over 5
  disjoint sets of English text from the machine (licence texts and Python docstrings, which
  neither calibration nor distillation reads; set 0 is the one earlier reports used alone: one
  set's overlap varies by ~0.06 from set to set, too coarse to resolve a 0.85 goal), and, as
  same-source text, over 4 sets of the shipped corpus' ``heldout`` split.
Pruning reports (``workflow``, ``recovery``) and the pruning benchmarks measure with these; no
generation quality metrics here.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

import torch
import torch.nn.functional as F


@torch.no_grad()
def perplexity(model: Any, tokenizer: Any, texts: list[str], seqlen: int = 128,
               max_windows: int = 64) -> dict[str, Any]:
    ids: list[int] = []
    for t in texts:
        ids += tokenizer(t, add_special_tokens=False)["input_ids"]
        if tokenizer.eos_token_id is not None:
            ids.append(tokenizer.eos_token_id)
    n = min(max_windows, len(ids) // seqlen)
    if n == 0:
        raise ValueError(f"need at least {seqlen} tokens of text, got {len(ids)}")
    dev = next(model.parameters()).device
    windows = torch.tensor(ids[: n * seqlen]).view(n, seqlen)
    if tokenizer.bos_token_id is not None:
        windows[:, 0] = tokenizer.bos_token_id
    nll, count = 0.0, 0
    for i in range(0, n, 8):
        x = windows[i: i + 8].to(dev)
        logits = model(input_ids=x, use_cache=False).logits.float()  # [B, L, V]
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                               x[:, 1:].reshape(-1), reduction="sum")
        nll += float(loss)
        count += x[:, 1:].numel()
    return {"ppl": math.exp(nll / count), "seqlen": seqlen, "windows": n, "tokens": count}


@torch.no_grad()
def _prefill_decode_once(model: Any, x: torch.Tensor, decode_tokens: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    out = model(input_ids=x, use_cache=True)
    t1 = time.perf_counter()
    past = out.past_key_values
    tok = out.logits[:, -1:].argmax(-1)
    t2 = time.perf_counter()
    for _ in range(decode_tokens):
        out = model(input_ids=tok, past_key_values=past, use_cache=True)
        past = out.past_key_values
        tok = out.logits[:, -1:].argmax(-1)
    t3 = time.perf_counter()
    return t1 - t0, (t3 - t2) / max(decode_tokens, 1)


def prefill_decode(models: dict[str, Any], prompt_len: int = 128, decode_tokens: int = 16,
                   repeats: int = 3, batch: int = 1, vocab: int | None = None,
                   seed: int = 0) -> dict[str, dict[str, float]]:
    """{name: {prefill_s, decode_s_per_token}} medians, runs interleaved across models."""
    g = torch.Generator().manual_seed(seed)
    any_model = next(iter(models.values()))
    v = vocab or any_model.config.vocab_size
    x = torch.randint(3, v, (batch, prompt_len), generator=g)
    for m in models.values():  # warm-up
        _prefill_decode_once(m, x[:, :8], 2)
    res: dict[str, list[tuple[float, float]]] = {k: [] for k in models}
    for _ in range(repeats):
        for name, m in models.items():
            res[name].append(_prefill_decode_once(m, x, decode_tokens))
    return {k: {"prefill_s": statistics.median(a for a, _ in r),
                "decode_s_per_token": statistics.median(b for _, b in r)} for k, r in res.items()}


@torch.no_grad()
def encoder_latency(models: dict[str, Any], seqlen: int = 128, batch: int = 16,
                    repeats: int = 5, vocab: int | None = None) -> dict[str, float]:
    """{name: median seconds per forward of [batch, seqlen]} interleaved across models."""
    v = vocab or next(iter(models.values())).config.vocab_size
    x = torch.randint(1000, v, (batch, seqlen), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(x)
    for m in models.values():
        m(input_ids=x[:2], attention_mask=mask[:2])
    res: dict[str, list[float]] = {k: [] for k in models}
    for _ in range(repeats):
        for name, m in models.items():
            t0 = time.perf_counter()
            m(input_ids=x, attention_mask=mask)
            res[name].append(time.perf_counter() - t0)
    return {k: statistics.median(r) for k, r in res.items()}


@torch.no_grad()
def sentence_embed(model: Any, tok: Any, texts: list[str], batch: int = 32, max_len: int = 32
                   ) -> torch.Tensor:
    """[N, H] mean-pooled (attention-masked), L2-normalised sentence embeddings."""
    from prunestack.encoder import mean_pool

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # batch similar lengths
    out = []
    for i in range(0, len(texts), batch):
        enc = tok([texts[j] for j in order[i: i + batch]], padding=True, truncation=True,
                  max_length=max_len, return_tensors="pt")
        h = model(**enc).last_hidden_state  # [B, L, H]
        out.append(F.normalize(mean_pool(h, enc["attention_mask"]), dim=-1))
    emb = torch.cat(out)
    return emb[torch.argsort(torch.tensor(order))]  # back to input order


def topk_overlap(q_dense: torch.Tensor, c_dense: torch.Tensor, q: torch.Tensor, c: torch.Tensor,
                 k: int = 10) -> float:
    """Share of each query's dense top-``k`` passages that the other embeddings rank top-``k``."""
    a = (q_dense @ c_dense.T).topk(k, dim=1).indices
    b = (q @ c.T).topk(k, dim=1).indices
    return float(sum(len(set(x.tolist()) & set(y.tolist())) for x, y in zip(a, b, strict=True))
                 / (k * len(a)))


def retrieval_texts(pool: int = 0) -> tuple[list[str], list[str]]:
    """(30 queries, 120 passages) of retrieval set ``pool``: passages are paragraphs of the
    machine's held-out English, the queries the first sentences of other paragraphs."""
    from prunestack.pipeline.pruning.calibration import local_english

    return _pool(local_english("calib"), local_english("heldout"), pool)


def corpus_retrieval_texts(pool: int = 0) -> tuple[list[str], list[str]]:
    """(30 queries, 120 passages) from the shipped corpus' ``heldout`` split (even entries are
    passages, first sentences of odd entries the queries): same source as the training text,
    never trained on."""
    from prunestack.pipeline.pruning.calibration import builtin_corpus

    held = builtin_corpus("heldout")
    return _pool(held[1::2], held[0::2], pool)


def _pool(query_docs: list[str], passage_docs: list[str], pool: int
          ) -> tuple[list[str], list[str]]:
    passages = passage_docs[120 * pool: 120 * (pool + 1)]
    queries = [p.split(". ")[0][:200] for p in query_docs[120 * pool: 120 * (pool + 1): 4]]
    if len(passages) < 120 or len(queries) < 30:
        raise ValueError(f"not enough text for retrieval set {pool}")
    return queries, passages


#: per retrieval set: (queries, passages, dense query embeddings, dense passage embeddings)
Reference = list[tuple[list[str], list[str], torch.Tensor, torch.Tensor]]


def agreement_reference(dense: Any, tok: Any, pools: int = 5, corpus_pools: int = 4
                        ) -> tuple[Reference, Reference]:
    """The dense encoder's side of :func:`encoder_agreement` (``pools`` other-source sets,
    ``corpus_pools`` held-out corpus sets), embedded once so that comparing several pruned
    models, or one model before and after recovery, does not embed it again."""
    def embed(sets: list[tuple[list[str], list[str]]]) -> Reference:
        return [(q, c, sentence_embed(dense, tok, q), sentence_embed(dense, tok, c))
                for q, c in sets]

    return (embed([retrieval_texts(k) for k in range(pools)]),
            embed([corpus_retrieval_texts(k) for k in range(corpus_pools)]))


def _agreement(model: Any, tok: Any, ref: Reference) -> tuple[list[float], list[float]]:
    overlaps, cosines = [], []
    for queries, passages, qd, cd in ref:
        q, c = sentence_embed(model, tok, queries), sentence_embed(model, tok, passages)
        overlaps.append(topk_overlap(qd, cd, q, c))
        cosines.append(float((c * cd).sum(1).mean()))
    return overlaps, cosines


def encoder_agreement(model: Any, dense: Any, tok: Any, pools: int = 5, corpus_pools: int = 4,
                      reference: tuple[Reference, Reference] | None = None) -> dict[str, float]:
    """Passage-embedding cosine and top-10 overlap of ``model`` against ``dense``: means over
    ``pools`` other-source retrieval sets (``top10_overlap_std``: their spread;
    ``top10_overlap_set0``: set 0 alone) and over ``corpus_pools`` held-out corpus sets.
    ``reference``: :func:`agreement_reference` of ``dense`` (computed here when None)."""
    other, corpus = reference or agreement_reference(dense, tok, pools, corpus_pools)
    ov, cos = _agreement(model, tok, other)
    out = {"cosine": statistics.mean(cos), "top10_overlap": statistics.mean(ov),
           "top10_overlap_std": statistics.pstdev(ov), "top10_overlap_set0": ov[0]}
    if corpus:
        ov, cos = _agreement(model, tok, corpus)
        out.update(corpus_cosine=statistics.mean(cos), corpus_top10_overlap=statistics.mean(ov))
    return out
