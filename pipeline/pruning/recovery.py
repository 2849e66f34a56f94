"""Recovery after pruning: LoRA fine-tuning with peft on local text/JSONL, merged back.

Optional self-data distillation: with a ``teacher`` (the dense model folder), each training window
keeps its first half as the prompt and the teacher's greedy continuation replaces the second half,
so the pruned model learns the dense model's own outputs instead of foreign text. After training
the adapters are merged (``merge_and_unload``) and the folder is saved with
``prunestack.saved.save_model`` (same per-layer widths). Causal LMs only; no instruction
templates are applied.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field

from prunestack.errors import ConfigError, ModelError
from prunestack.pipeline.pruning.calibration import local_english, read_texts, token_samples
from prunestack.pipeline.pruning.engine import load_any
from prunestack.pipeline.pruning.families import discover
from prunestack.pipeline.pruning.measure import perplexity
from prunestack.pipeline.pruning.report import write_report
from prunestack.saved import FORMAT_KEYS, save_model


class RecoveryOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int = Field(100, ge=1)
    rank: int = Field(8, ge=1)
    alpha: int = Field(16, ge=1)
    lr: float = Field(1e-4, gt=0)
    seqlen: int = Field(128, ge=8)
    batch: int = Field(4, ge=1)
    teacher: str | None = None
    seed: int = 0


def lora_targets(model: Any) -> list[str]:
    """Leaf names of the prunable linears (q/k/v/o or qkv, gate/up/down or gate_up)."""
    names: set[str] = set()
    for ls in discover(model).layers:
        for sub in (ls.attn, ls.mlp):
            if sub is not None:
                names |= {n.split(".")[-1] for n, m in sub.module.named_modules()
                          if isinstance(m, torch.nn.Linear) and n}
    return sorted(names)


@torch.no_grad()
def distill_windows(teacher: Any, ids: torch.Tensor) -> torch.Tensor:
    """[N, L]: first half of each window, second half regenerated greedily by the teacher."""
    half = ids.shape[1] // 2
    out = teacher.generate(ids[:, :half], attention_mask=torch.ones_like(ids[:, :half]),
                           max_new_tokens=ids.shape[1] - half, min_new_tokens=ids.shape[1] - half,
                           do_sample=False, pad_token_id=0)
    return out[:, : ids.shape[1]]


def recover(pruned_dir: str | Path, data: str | Path, out: str | Path,
            opts: RecoveryOptions | None = None,
            echo: Callable[[str], Any] = lambda _s: None) -> dict[str, Any]:
    from peft import LoraConfig, get_peft_model
    from tqdm.auto import trange

    opts = opts or RecoveryOptions()
    t0 = time.perf_counter()
    model, tok = load_any(pruned_dir)
    if tok is None or not hasattr(model, "generate"):
        raise ModelError(f"{pruned_dir}: recovery needs a causal LM with its tokenizer")
    docs = read_texts(data)
    n_windows = opts.steps * opts.batch
    ids = token_samples(tok, docs, n_windows, opts.seqlen, opts.seed)
    if opts.teacher:
        teacher, _ = load_any(opts.teacher)
        echo("self-data distillation: teacher continuations ...")
        ids = torch.cat([distill_windows(teacher, ids[i: i + 8]) for i in range(0, len(ids), 8)])
        del teacher
    held = local_english("heldout")
    rep: dict[str, Any] = {"ppl_before": perplexity(model, tok, held, 128, 16)["ppl"]}
    targets = lora_targets(model)
    if not targets:
        raise ConfigError("no linear layers to adapt")
    peft_model = get_peft_model(model, LoraConfig(r=opts.rank, lora_alpha=opts.alpha,
                                                  target_modules=targets, lora_dropout=0.0))
    params = [p for p in peft_model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=opts.lr)
    peft_model.train()
    losses = []
    for step in trange(opts.steps, desc="LoRA", leave=False):
        x = ids[step * opts.batch: (step + 1) * opts.batch]
        loss = peft_model(input_ids=x, labels=x, use_cache=False).loss
        loss.backward()
        optim.step()
        optim.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
    merged = peft_model.merge_and_unload().eval()
    rep.update({"loss_first": losses[0], "loss_last": sum(losses[-5:]) / len(losses[-5:]),
                "ppl_after": perplexity(merged, tok, held, 128, 16)["ppl"],
                "lora_targets": targets, "options": opts.model_dump(),
                "wall_s": time.perf_counter() - t0})
    meta = dict(getattr(merged.config, "prunestack", None) or {})
    meta = {k: v for k, v in meta.items() if k not in FORMAT_KEYS}
    meta["recovery"] = {k: rep[k] for k in ("loss_first", "loss_last", "ppl_before", "ppl_after")}
    save_model(merged, out, tok, meta=meta)
    write_report(rep, out, stem="recover_report")
    return rep
