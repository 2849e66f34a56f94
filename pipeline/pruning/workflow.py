"""A full pruning run as the CLI does it: load, measure dense, prune, save, measure, report.

Perplexity is on held-out text (the built-in calibration corpus' held-out split unless given) at
a stated sequence length; latency is dense vs pruned, measured interleaved in one process. For
encoders (BERT) the report gives the cosine similarity of sentence embeddings to the dense
model's and the encoder forward latency instead of perplexity and decode speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from prunestack.errors import ConfigError
from prunestack.pipeline.pruning.calibration import builtin_corpus, read_texts, token_samples
from prunestack.pipeline.pruning.engine import encoder_embed, load_any, prune
from prunestack.pipeline.pruning.measure import encoder_latency, perplexity, prefill_decode
from prunestack.pipeline.pruning.recipe import PruneRecipe
from prunestack.pipeline.pruning.report import write_report
from prunestack.saved import save_model


def _held_out(eval_text: Path | None) -> list[str]:
    return read_texts(eval_text) if eval_text else builtin_corpus("heldout")


def run_prune(model_dir: Path, out: Path, recipe: PruneRecipe, eval_text: Path | None = None,
              eval_seqlen: int = 128, latency: bool = True,
              echo: Callable[[str], Any] = lambda _s: None) -> dict[str, Any]:
    if Path(out).resolve() == Path(model_dir).resolve():
        raise ConfigError("the output folder must differ from the model folder",
                          "pruning writes a new folder and never overwrites the dense model")
    t0 = time.perf_counter()
    model, tok = load_any(model_dir)
    texts = _held_out(eval_text)
    causal = hasattr(model, "generate") and getattr(model.config, "model_type", "") != "bert"
    rep: dict[str, Any] = {"model_dir": str(model_dir), "out": str(out)}
    if causal and tok is not None:
        echo(f"dense perplexity at seqlen {eval_seqlen} ...")
        rep["ppl_dense"] = perplexity(model, tok, texts, eval_seqlen)["ppl"]
        rep["ppl_seqlen"] = eval_seqlen
    elif tok is not None:
        ids = token_samples(tok, texts, 64, min(eval_seqlen, 128), seed=1)
        with torch.no_grad():
            dense_emb = encoder_embed(model, ids)
    res = prune(model, recipe, tokenizer=tok, progress=True)
    save_model(model, out, tok, meta={"recipe": recipe.model_dump(mode="json")})
    (out / "recipe.yaml").write_text(recipe.to_yaml())
    rep.update(res.stats)
    if causal and tok is not None:
        rep["ppl_pruned"] = perplexity(model, tok, texts, eval_seqlen)["ppl"]
    elif tok is not None:
        with torch.no_grad():
            emb = encoder_embed(model, ids)
        rep["embedding_cosine_to_dense"] = float(F.cosine_similarity(emb, dense_emb).mean())
    if latency:
        echo("latency, dense vs pruned (interleaved) ...")
        dense, _ = load_any(model_dir)
        if causal:
            lat = prefill_decode({"dense": dense, "pruned": model}, prompt_len=eval_seqlen)
            rep["latency"] = {f"{k}_{m}": v for k, d in lat.items() for m, v in d.items()}
            rep["prefill_speedup"] = lat["dense"]["prefill_s"] / lat["pruned"]["prefill_s"]
            rep["decode_speedup"] = (lat["dense"]["decode_s_per_token"]
                                     / lat["pruned"]["decode_s_per_token"])
        else:
            lat2 = encoder_latency({"dense": dense, "pruned": model}, seqlen=eval_seqlen)
            rep["latency"] = {f"{k}_forward_s": v for k, v in lat2.items()}
            rep["encoder_speedup"] = lat2["dense"] / lat2["pruned"]
        del dense
    rep["total_wall_s"] = time.perf_counter() - t0
    write_report(rep, out)
    return rep
