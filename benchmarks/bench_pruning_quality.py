"""Pruning quality: method x ratio on the real MiniLM and on GQA Llamas with 2 and 8 KV heads.

- all-MiniLM-L6-v2 (real weights): flap, wanda-sp, taylor (heads + FFN channels), flap-ffn (FFN
  channels only, the same width in every layer: a stock BERT folder) and block at 20/30/50 %:
  achieved ratio of the pruned structures, embedding cosine and top-10 retrieval overlap against
  the dense encoder on text of another source than the calibration and distillation text
  (``measure.encoder_agreement``: licence texts and Python docstrings, mean of 5 sets of 30
  queries x 120 passages; ``top10_set0`` the first set alone, as earlier reports gave it;
  ``corpus_top10`` on 4 such sets of the corpus' held-out split), CPU forward speed ratio,
  pruning wall time. The flap-ffn row at 50 % is then recovered from the dense encoder on the
  built-in corpus (``recovery.distill_encoder`` defaults: least-squares FFN refit, then
  layer-wise distillation) and measured again ("after" columns, plus the recovery wall time).
  ``sublayer`` (FinerCut) needs a causal LM: not run.
- Llama, random weights, the shape of the 12.9 M model of issue 18 (hidden 256, 6 blocks,
  8 query heads of 32 over 2 or 8 KV heads, intermediate 768, the real 32,768-token Mistral
  tokenizer, tied embeddings): all five methods at 20/30/50 %: achieved ratio, cosine of the
  last hidden states to the dense model's on held-out text, prefill speed ratio, wall time.
- Taylor wall time on the 2-KV Llama, calibration 32 x 128 tokens: one sample per backward (the
  loop before issue 18, reproduced here) vs the engine's batched backward with the fused
  output-layer loss, interleaved in the same run, best of two each.

Calibration: the recipe defaults (the built-in calibration-en corpus, calib split; 128 windows of
128 tokens, taylor 32). Writes reports/pruning_quality.{json,md,png}.
``PRUNESTACK_BENCH_QUICK=1`` runs 8 x 64 tokens and 40 distillation steps;
``PRUNESTACK_BENCH_PARTS=taylor,minilm`` (any of taylor, minilm, llama) runs only those parts.
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
MINILM_METHODS = ["flap", "wanda-sp", "taylor", "flap-ffn", "block"]
#: encoder distillation steps (batch 32) for the recovered row: flap-ffn at RECOVER_RATIO
RECOVER_STEPS = 600
RECOVER_RATIO = 0.5
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
    from prunestack.pipeline.pruning.calibration import builtin_corpus, token_samples
    from prunestack.pipeline.pruning.engine import taylor_batch, taylor_dtype, taylor_scores
    from prunestack.pipeline.pruning.families import discover

    model = llama(2, vocab)
    spec = discover(model)
    ids = token_samples(tok, builtin_corpus("calib"), nsamples, seqlen)
    before, after, auto = [], [], []
    low = taylor_dtype("auto", torch.device("cpu"))
    for _ in range(2):  # interleaved, best of two: the shared CPU's load varies over minutes
        t0 = time.perf_counter()
        old = taylor_per_sample(spec, ids)
        before.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        new = taylor_scores(spec, ids, 1, spec.layers, precision="fp32")
        after.append(time.perf_counter() - t0)
        if low is not None:  # the default where bf16 is fast (AMX CPUs, CUDA)
            t0 = time.perf_counter()
            fast = taylor_scores(spec, ids, 1, spec.layers, precision="auto")
            auto.append(time.perf_counter() - t0)
    diff = max(float(((new[k] - old[k]).abs() / old[k].abs().clamp(min=1e-12)).max())
               for k in old)
    out = {"model_params": sum(p.numel() for p in model.parameters()),
           "calibration": f"{nsamples} x {seqlen}", "per_sample_s": round(min(before), 2),
           "batched_s": round(min(after), 2), "speedup": round(min(before) / min(after), 2),
           "per_sample_runs_s": [round(t, 2) for t in before],
           "batched_runs_s": [round(t, 2) for t in after],
           "batch": taylor_batch(spec, seqlen), "max_rel_diff": diff}
    if auto:
        # how much bf16 products move the choice: share of each layer's top half kept by both
        agree = [len(set(fast[k].topk(len(fast[k]) // 2).indices.tolist())
                     & set(new[k].topk(len(new[k]) // 2).indices.tolist())) / (len(new[k]) // 2)
                 for k in new if len(new[k]) >= 2]
        out.update({"batched_bf16_s": round(min(auto), 2),
                    "speedup_bf16": round(min(before) / min(auto), 2),
                    "bf16_runs_s": [round(t, 2) for t in auto],
                    "bf16_top_half_agreement_min": round(min(agree), 4)})
    return out


@torch.no_grad()
def _hidden(model: Any, ids: torch.Tensor) -> torch.Tensor:
    return model(input_ids=ids, output_hidden_states=True, use_cache=False).hidden_states[-1]


def llama_rows(tok: Any, vocab: int, recipe_base: dict[str, Any]) -> list[dict[str, Any]]:
    from prunestack.pipeline.pruning import prune
    from prunestack.pipeline.pruning.calibration import builtin_corpus, token_samples
    from prunestack.pipeline.pruning.measure import prefill_decode

    held = token_samples(tok, builtin_corpus("heldout"), 8, 128, seed=1)
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


def minilm_rows(recipe_base: dict[str, Any], steps: int) -> list[dict[str, Any]]:
    from benchmarks.minilm_study import _load
    from prunestack.pipeline.pruning import prune
    from prunestack.pipeline.pruning.calibration import builtin_corpus
    from prunestack.pipeline.pruning.measure import (
        agreement_reference,
        encoder_agreement,
        encoder_latency,
    )
    from prunestack.pipeline.pruning.recovery import RecoveryOptions, distill_encoder

    dense, tok, path = _load()
    ref = agreement_reference(dense, tok)  # the dense side, embedded once for every row
    rows = []
    for method in MINILM_METHODS:
        for ratio in RATIOS:
            model, _, _ = _load()
            recipe = {**recipe_base, "method": method, "ratio": ratio}
            if method == "flap-ffn":
                recipe.update(method="flap", structures=["channels"], allocation="uniform")
            t0 = time.perf_counter()
            res = prune(model, recipe, tokenizer=tok, progress=False)
            wall = time.perf_counter() - t0
            agree = encoder_agreement(model, dense, tok, reference=ref)
            lat = encoder_latency({"dense": dense, "pruned": model}, seqlen=128, batch=16,
                                  repeats=3)
            row = {"model": "minilm", "method": method, "ratio": ratio,
                   "achieved": round(res.stats["achieved_ratio"], 4),
                   "model_params_removed": round(res.stats["model_params_removed"], 4),
                   "cosine": round(agree["cosine"], 4),
                   "top10_overlap": round(agree["top10_overlap"], 4),
                   "top10_set0": round(agree["top10_overlap_set0"], 4),
                   "corpus_top10": round(agree["corpus_top10_overlap"], 4),
                   "speed_ratio": round(lat["dense"] / lat["pruned"], 3),
                   "prune_s": round(wall, 1), "cosine_after": None, "top10_after": None,
                   "top10_set0_after": None, "corpus_top10_after": None, "recover_s": None}
            if method == "flap-ffn" and ratio == RECOVER_RATIO:
                with tempfile.TemporaryDirectory() as d:
                    rep = distill_encoder(model, tok, builtin_corpus("calib"), d,
                                          RecoveryOptions(steps=steps, teacher=str(path)))
                row.update(cosine_after=round(rep["after"]["cosine"], 4),
                           top10_after=round(rep["after"]["top10_overlap"], 4),
                           top10_set0_after=round(rep["after"]["top10_overlap_set0"], 4),
                           corpus_top10_after=round(rep["after"]["corpus_top10_overlap"], 4),
                           recover_s=round(rep["wall_s"], 1))
            rows.append(row)
            print(rows[-1], flush=True)
    return rows


def main() -> dict[str, Any]:
    from prunestack.models import load_tokenizer, write_mistral_tokenizer

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    REPORTS.mkdir(exist_ok=True)
    quick = os.environ.get("PRUNESTACK_BENCH_QUICK") == "1"
    base: dict[str, Any] = {"nsamples": 8, "seqlen": 64} if quick else {}
    steps = 40 if quick else RECOVER_STEPS
    with tempfile.TemporaryDirectory() as d:
        tok = load_tokenizer(write_mistral_tokenizer(d))
    vocab = 32768
    out: dict[str, Any] = {
        "calibration": "built-in calibration-en corpus (calib split), "
                       + ("8 x 64 tokens" if quick else "128 x 128 tokens (taylor 32 x 128)"),
        "recovery": f"flap-ffn at {RECOVER_RATIO:.0%}: distill_encoder, {steps} steps of 32 "
                    "texts",
        "threads": torch.get_num_threads()}
    parts = set((os.environ.get("PRUNESTACK_BENCH_PARTS") or "taylor,minilm,llama").split(","))
    out["parts"] = sorted(parts)
    if "taylor" in parts:
        out["taylor"] = taylor_timing(tok, vocab, *((8, 64) if quick else (32, 128)))
        print(out["taylor"], flush=True)
    rows = ((minilm_rows(base, steps) if "minilm" in parts else [])
            + (llama_rows(tok, vocab, base) if "llama" in parts else []))
    out["rows"] = rows
    (REPORTS / "pruning_quality.json").write_text(json.dumps(out, indent=1))
    cols = ["model", "method", "ratio", "achieved", "model_params_removed", "cosine",
            "top10_overlap", "top10_set0", "corpus_top10", "cosine_after", "top10_after",
            "top10_set0_after", "corpus_top10_after", "speed_ratio", "prune_s", "recover_s"]
    md = ["# Pruning quality", "", f"Calibration: {out['calibration']}; CPU, "
          f"{out['threads']} threads. Recovery: {out['recovery']}.", ""]
    if "taylor" in out:
        t = out["taylor"]
        md += [f"Taylor on the 2-KV Llama ({t['model_params'] / 1e6:.1f} M params, "
               f"{t['calibration']}): one sample per backward {t['per_sample_s']} s, batched "
               f"({t['batch']} per backward) {t['batched_s']} s, {t['speedup']}x; scores agree "
               f"to {t['max_rel_diff']:.1e} (relative)."
               + (f" With bf16 products (the default on this AMX CPU) {t['batched_bf16_s']} s, "
                  f"{t['speedup_bf16']}x; each layer's top half agrees with float32's to "
                  f"{t['bf16_top_half_agreement_min']:.3f} at worst." if "batched_bf16_s" in t
                  else ""), ""]
    md += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    md += ["| " + " | ".join("" if r.get(c) is None else str(r[c]) for c in cols) + " |"
           for r in rows]
    (REPORTS / "pruning_quality.md").write_text("\n".join(md) + "\n")
    if rows:
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
            if any(r.get("cosine_after") is not None for r in rs):
                ax[1][j].plot(x, [r.get("cosine_after") for r in rs], "--", marker="s",
                              label=f"{method} + distillation")
        ax[0][j].plot(RATIOS, RATIOS, "k:", label="target")
        ax[0][j].set_title(m)
        ax[0][j].set_ylabel("achieved ratio")
        ax[1][j].set_ylabel("cosine to dense")
        ax[1][j].set_xlabel("target ratio")
        ax[0][j].legend(fontsize=7)
        ax[1][j].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(REPORTS / "pruning_quality.png", dpi=100)


if __name__ == "__main__":
    main()
