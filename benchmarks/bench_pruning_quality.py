"""Pruning quality: method x ratio on the real MiniLM and on GQA Llamas with 2 and 8 KV heads.

- all-MiniLM-L6-v2 (real weights): flap, wanda-sp, taylor (heads + FFN channels) and block at
  20/30/50 %: achieved ratio of the pruned structures, embedding cosine and top-10 retrieval
  overlap against the dense encoder on held-out text (``benchmarks.minilm_study``'s corpus), CPU
  forward speed ratio, pruning wall time. ``sublayer`` (FinerCut) needs a causal LM: not run.
- Llama, random weights, the shape of the 12.9 M model of issue 18 (hidden 256, 6 blocks,
  8 query heads of 32 over 2 or 8 KV heads, intermediate 768, the real 32,768-token Mistral
  tokenizer, tied embeddings): all five methods at 20/30/50 %: achieved ratio, cosine of the
  last hidden states to the dense model's on held-out text, prefill speed ratio, wall time.
- Taylor wall time on the 2-KV Llama, calibration 32 x 128 tokens: one sample per backward (the
  loop before issue 18, reproduced here) vs the engine's batched backward, interleaved in the same
  run, best of two each.

Calibration: the recipe default (32 x 128 tokens of the built-in English text, ``calib`` split).
No recovery (distillation) is applied: "after recovery" columns are not measured.
Writes reports/pruning_quality.{json,md,png}. ``PRUNESTACK_BENCH_QUICK=1`` runs 8 x 64 tokens.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

REPORTS = Path("reports")
RATIOS = [0.2, 0.3, 0.5]
MINILM_METHODS = ["flap", "wanda-sp", "taylor", "block"]
LLAMA_METHODS = ["flap", "wanda-sp", "taylor", "block", "sublayer"]


def llama(n_kv: int, vocab: int, seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=256, intermediate_size=768,
                      num_hidden_layers=6, num_attention_heads=8, num_key_value_heads=n_kv,
                      head_dim=32, max_position_embeddings=512, tie_word_embeddings=True,
                      bos_token_id=1, eos_token_id=2)
    return LlamaForCausalLM(cfg).eval()


def taylor_per_sample(spec: Any, ids: torch.Tensor) -> dict[tuple[int, str], torch.Tensor]:
    """First-order Taylor scores as the engine computed them before issue 18: one forward and
    backward per sample, gradients summed after each backward."""
    from prunestack.pipeline.pruning import criteria as C

    model = spec.model
    weights = {}
    for ls in spec.layers:
        weights[(ls.index, "heads")] = C.attn_weights(ls.attn)
        weights[(ls.index, "channels")] = C.mlp_weights(ls.mlp)
    wanted = {id(w) for d in weights.values() for w in d.values()}
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    for p in model.parameters():
        p.requires_grad_(id(p) in wanted)
    gsum = {id(w): torch.zeros_like(w) for d in weights.values() for w in d.values()}
    try:
        for i in range(ids.shape[0]):
            x = ids[i: i + 1]
            model(input_ids=x, labels=x, use_cache=False).loss.backward()
            for d in weights.values():
                for w in d.values():
                    if w.grad is not None:
                        gsum[id(w)] += w.grad
                        w.grad = None
    finally:
        for name, p in model.named_parameters():
            p.requires_grad_(flags[name])
    n = ids.shape[0]
    out = {}
    for (li, kind), d in weights.items():
        elem = {k: C.taylor_elem(w.detach(), gsum[id(w)] / n) for k, w in d.items()}
        ls = spec.layers[li]
        out[(li, kind)] = (C.heads_from_elem(ls.attn, elem) if kind == "heads"
                           else C.channels_from_elem(ls.mlp, elem))
    return out


def taylor_timing(tok: Any, vocab: int, nsamples: int, seqlen: int) -> dict[str, Any]:
    from prunestack.pipeline.pruning.calibration import local_english, token_samples
    from prunestack.pipeline.pruning.engine import taylor_batch, taylor_scores
    from prunestack.pipeline.pruning.families import discover

    model = llama(2, vocab)
    spec = discover(model)
    ids = token_samples(tok, local_english("calib"), nsamples, seqlen)
    before, after = [], []
    for _ in range(2):  # interleaved, best of two: the shared CPU's load varies over minutes
        t0 = time.perf_counter()
        old = taylor_per_sample(spec, ids)
        before.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        new = taylor_scores(spec, ids, 1, spec.layers)
        after.append(time.perf_counter() - t0)
    diff = max(float(((new[k] - old[k]).abs() / old[k].abs().clamp(min=1e-12)).max())
               for k in old)
    return {"model_params": sum(p.numel() for p in model.parameters()),
            "calibration": f"{nsamples} x {seqlen}", "per_sample_s": round(min(before), 2),
            "batched_s": round(min(after), 2), "speedup": round(min(before) / min(after), 2),
            "per_sample_runs_s": [round(t, 2) for t in before],
            "batched_runs_s": [round(t, 2) for t in after],
            "batch": taylor_batch(spec, seqlen), "max_rel_diff": diff}


@torch.no_grad()
def _hidden(model: Any, ids: torch.Tensor) -> torch.Tensor:
    return model(input_ids=ids, output_hidden_states=True, use_cache=False).hidden_states[-1]


def llama_rows(tok: Any, vocab: int, recipe_base: dict[str, Any]) -> list[dict[str, Any]]:
    from prunestack.pipeline.pruning import prune
    from prunestack.pipeline.pruning.calibration import local_english, token_samples
    from prunestack.pipeline.pruning.measure import prefill_decode

    held = token_samples(tok, local_english("heldout"), 8, 128, seed=1)
    rows = []
    for n_kv in (2, 8):
        dense = llama(n_kv, vocab)
        ref = _hidden(dense, held)
        for method in LLAMA_METHODS:
            for ratio in RATIOS:
                model = llama(n_kv, vocab)
                t0 = time.perf_counter()
                res = prune(model, {**recipe_base, "method": method, "ratio": ratio},
                            tokenizer=tok, progress=False)
                wall = time.perf_counter() - t0
                cos = float(F.cosine_similarity(_hidden(model, held), ref, dim=-1).mean())
                lat = prefill_decode({"dense": dense, "pruned": model}, prompt_len=128,
                                     decode_tokens=2, repeats=3, vocab=vocab)
                rows.append({"model": f"llama {n_kv}kv", "method": method, "ratio": ratio,
                             "achieved": round(res.stats["achieved_ratio"], 4),
                             "model_params_removed": round(res.stats["model_params_removed"], 4),
                             "cosine": round(cos, 4), "top10_overlap": None,
                             "speed_ratio": round(lat["dense"]["prefill_s"]
                                                  / lat["pruned"]["prefill_s"], 3),
                             "prune_s": round(wall, 1)})
                print(rows[-1], flush=True)
    return rows


def minilm_rows(recipe_base: dict[str, Any]) -> list[dict[str, Any]]:
    from benchmarks.minilm_study import _load, corpus, embed, topk_overlap
    from prunestack.pipeline.pruning import prune
    from prunestack.pipeline.pruning.measure import encoder_latency

    dense, tok, _ = _load()
    queries, passages = corpus()
    qd, cd = embed(dense, tok, queries), embed(dense, tok, passages)
    rows = []
    for method in MINILM_METHODS:
        for ratio in RATIOS:
            model, _, _ = _load()
            t0 = time.perf_counter()
            res = prune(model, {**recipe_base, "method": method, "ratio": ratio}, tokenizer=tok,
                        progress=False)
            wall = time.perf_counter() - t0
            q, c = embed(model, tok, queries), embed(model, tok, passages)
            lat = encoder_latency({"dense": dense, "pruned": model}, seqlen=128, batch=16,
                                  repeats=3)
            rows.append({"model": "minilm", "method": method, "ratio": ratio,
                         "achieved": round(res.stats["achieved_ratio"], 4),
                         "model_params_removed": round(res.stats["model_params_removed"], 4),
                         "cosine": round(float((c * cd).sum(1).mean()), 4),
                         "top10_overlap": round(topk_overlap(qd, cd, q, c), 4),
                         "speed_ratio": round(lat["dense"] / lat["pruned"], 3),
                         "prune_s": round(wall, 1)})
            print(rows[-1], flush=True)
    return rows


def main() -> dict[str, Any]:
    from prunestack.models import load_tokenizer, write_mistral_tokenizer

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    REPORTS.mkdir(exist_ok=True)
    quick = os.environ.get("PRUNESTACK_BENCH_QUICK") == "1"
    nsamples, seqlen = (8, 64) if quick else (32, 128)
    base = {"nsamples": nsamples, "seqlen": seqlen}
    with tempfile.TemporaryDirectory() as d:
        tok = load_tokenizer(write_mistral_tokenizer(d))
    vocab = 32768
    out: dict[str, Any] = {"calibration": f"built-in English (calib split), {nsamples} x "
                           f"{seqlen} tokens", "threads": torch.get_num_threads()}
    out["taylor"] = taylor_timing(tok, vocab, nsamples, seqlen)
    print(out["taylor"], flush=True)
    rows = minilm_rows(base) + llama_rows(tok, vocab, base)
    out["rows"] = rows
    (REPORTS / "pruning_quality.json").write_text(json.dumps(out, indent=1))
    cols = ["model", "method", "ratio", "achieved", "model_params_removed", "cosine",
            "top10_overlap", "speed_ratio", "prune_s"]
    t = out["taylor"]
    md = ["# Pruning quality", "", f"Calibration: {out['calibration']}; CPU, "
          f"{out['threads']} threads. No recovery applied.", "",
          f"Taylor on the 2-KV Llama ({t['model_params'] / 1e6:.1f} M params, "
          f"{t['calibration']}): one sample per backward {t['per_sample_s']} s, batched "
          f"({t['batch']} per backward) {t['batched_s']} s, {t['speedup']}x; scores agree to "
          f"{t['max_rel_diff']:.1e} (relative).", "",
          "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    md += ["| " + " | ".join("" if r[c] is None else str(r[c]) for c in cols) + " |"
           for r in rows]
    (REPORTS / "pruning_quality.md").write_text("\n".join(md) + "\n")
    _plot(rows)
    print("\n".join(md))
    return out


def _plot(rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = sorted({r["model"] for r in rows})
    fig, ax = plt.subplots(2, len(models), figsize=(4 * len(models), 7), squeeze=False)
    for j, m in enumerate(models):
        for method in sorted({r["method"] for r in rows if r["model"] == m}):
            rs = [r for r in rows if r["model"] == m and r["method"] == method]
            x = [r["ratio"] for r in rs]
            ax[0][j].plot(x, [r["achieved"] for r in rs], marker="o", label=method)
            ax[1][j].plot(x, [r["cosine"] for r in rs], marker="o", label=method)
        ax[0][j].plot(RATIOS, RATIOS, "k:", label="target")
        ax[0][j].set_title(m)
        ax[0][j].set_ylabel("achieved ratio")
        ax[1][j].set_ylabel("cosine to dense")
        ax[1][j].set_xlabel("target ratio")
        ax[0][j].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(REPORTS / "pruning_quality.png", dpi=100)


if __name__ == "__main__":
    main()
