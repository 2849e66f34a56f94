"""Recovery after pruning: LoRA fine-tuning of a causal LM, distillation of an encoder.

Causal LMs: LoRA fine-tuning with peft on local text/JSONL (default: the built-in calibration
corpus' ``calib`` split), merged back.

Optional self-data distillation: with a ``teacher`` (the dense model folder), each training window
keeps its first half as the prompt and the teacher's greedy continuation replaces the second half,
so the pruned model learns the dense model's own outputs instead of foreign text. After training
the adapters are merged (``merge_and_unload``) and the folder is saved with
``prunestack.saved.save_model`` (same per-layer widths). No instruction templates are applied.

Encoders (BERT-style sentence encoders such as all-MiniLM-L6-v2): :func:`distill_encoder` first
refits, by least squares and layer by layer, each pruned FFN's output projection so that the
layer's pre-LayerNorm sum matches the teacher's on the first ``refit_texts`` distillation texts
(:func:`refit_ffn_outputs`: closed form, no gradient steps), then trains
every weight of the pruned encoder to reproduce the dense encoder (``teacher``, required) on
text: per-token hidden-state MSE of the last layer and, layer-wise (TinyBERT-style, weight
``layer_weight``), of every intermediate layer's output (when the student kept the teacher's
depth, as width pruning does), plus the cosine distance of the mean-pooled sentence
embeddings, plus the MSE between the two models' in-batch similarity matrices (what retrieval
ranks by). Texts are whole paragraphs and their first sentences (query-like), with padding and
attention masks as at inference. The report gives embedding cosine and top-10 retrieval overlap
against the dense encoder before and after, on held-out text of another source
(``calibration.local_english``: licence texts and docstrings) that training never reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field

from prunestack.errors import ConfigError, InputError, ModelError
from prunestack.pipeline.pruning.calibration import builtin_corpus, read_texts, token_samples
from prunestack.pipeline.pruning.engine import is_causal_folder, load_any
from prunestack.pipeline.pruning.families import discover, layers_of
from prunestack.pipeline.pruning.measure import (
    agreement_reference,
    encoder_agreement,
    perplexity,
)
from prunestack.pipeline.pruning.report import write_report
from prunestack.saved import FORMAT_KEYS, save_model

#: what an unset option of :class:`RecoveryOptions` means, per model kind
DEFAULTS = {"causal": {"steps": 100, "batch": 4, "lr": 1e-4, "seqlen": 128},
            "encoder": {"steps": 300, "batch": 32, "lr": 1e-4, "seqlen": 64}}


class RecoveryOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int | None = Field(None, ge=1, description="optimizer steps; None = 100 for a "
                              "causal LM, 300 for an encoder")
    rank: int = Field(8, ge=1, description="LoRA rank (causal LMs)")
    alpha: int = Field(16, ge=1)
    lr: float | None = Field(None, gt=0, description="None = 1e-4 (LoRA and encoders)")
    seqlen: int | None = Field(None, ge=8, description="window / text length in tokens; None = "
                               "128 for a causal LM, 64 for an encoder")
    batch: int | None = Field(None, ge=1, description="None = 4 for a causal LM, 32 for an "
                              "encoder")
    teacher: str | None = None
    relation_weight: float = Field(10.0, ge=0, description="encoders: weight of the in-batch "
                                   "similarity-matrix loss")
    layer_weight: float = Field(1.0, ge=0, description="encoders: weight of each intermediate "
                                "layer's hidden-state MSE (0 = last layer only)")
    refit_texts: int = Field(1536, ge=0, description="encoders: texts for the least-squares "
                             "refit of each FFN output projection before distillation (0 = none)")
    seed: int = 0

    def resolved(self, kind: str) -> tuple[RecoveryOptions, int, int, float, int]:
        """These options with the ``kind``'s defaults filled in, and (steps, batch, lr, seqlen)."""
        full = self.model_copy(update={k: getattr(self, k) or v for k, v in DEFAULTS[kind].items()})
        return full, int(full.steps or 0), int(full.batch or 0), float(full.lr or 0), \
            int(full.seqlen or 0)


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


def recover(pruned_dir: str | Path, data: str | Path | None, out: str | Path,
            opts: RecoveryOptions | None = None,
            echo: Callable[[str], Any] = lambda _s: None) -> dict[str, Any]:
    """Recover a pruned folder and save it to ``out``: LoRA for a causal LM, distillation from
    ``opts.teacher`` for an encoder. ``data``: text/JSONL; None = the built-in corpus."""
    opts = opts or RecoveryOptions()
    t0 = time.perf_counter()
    if not is_causal_folder(pruned_dir) and not opts.teacher:
        raise ConfigError(_NO_TEACHER, _TEACHER_HINT)  # before loading anything
    model, tok = load_any(pruned_dir)
    if tok is None:
        raise ModelError(f"{pruned_dir}: recovery needs the model's tokenizer in the folder")
    docs = read_texts(data) if data else builtin_corpus("calib")
    if not hasattr(model, "generate"):
        return distill_encoder(model, tok, docs, out, opts, t0)
    return _lora(model, tok, docs, out, opts, t0, echo)


def _lora(model: Any, tok: Any, docs: list[str], out: str | Path, opts: RecoveryOptions,
          t0: float, echo: Callable[[str], Any]) -> dict[str, Any]:
    from peft import LoraConfig, get_peft_model
    from tqdm.auto import trange

    opts, steps, batch, lr, seqlen = opts.resolved("causal")
    ids = token_samples(tok, docs, steps * batch, seqlen, opts.seed)
    if opts.teacher:
        teacher, _ = load_any(opts.teacher)
        echo("self-data distillation: teacher continuations ...")
        ids = torch.cat([distill_windows(teacher, ids[i: i + 8]) for i in range(0, len(ids), 8)])
        del teacher
    held = builtin_corpus("heldout")
    rep: dict[str, Any] = {"ppl_before": perplexity(model, tok, held, 128, 16)["ppl"]}
    targets = lora_targets(model)
    if not targets:
        raise ConfigError("no linear layers to adapt")
    peft_model = get_peft_model(model, LoraConfig(r=opts.rank, lora_alpha=opts.alpha,
                                                  target_modules=targets, lora_dropout=0.0))
    params = [p for p in peft_model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=lr)
    peft_model.train()
    losses = []
    for step in trange(steps, desc="LoRA", leave=False):
        x = ids[step * batch: (step + 1) * batch]
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


_NO_TEACHER = "recovering an encoder distils it from the dense encoder"
_TEACHER_HINT = "give the dense model folder: --teacher DIR"


def _distill_texts(docs: list[str], seed: int) -> list[str]:
    """Paragraphs and, as query-like short texts, their first sentences, shuffled."""
    import random

    out = []
    for d in docs:
        out.append(d)
        first = d.split(". ")[0]
        if 20 < len(first) < len(d):
            out.append(first)
    random.Random(seed).shuffle(out)
    return out


class _Stop(Exception):
    """Raised by a hook once the layer being refit has given its inputs (skips the rest)."""


def _ffn_io(model: Any, layer: Any, enc: Any) -> dict[str, torch.Tensor]:
    """Inputs of ``layer``'s FFN output block (intermediate activations, attention output) and
    of its LayerNorm (the pre-norm sum), from one forward of ``model`` cut short after it."""
    got: dict[str, torch.Tensor] = {}

    def block_in(_m: Any, args: tuple) -> None:
        got.update(inter=args[0], attn=args[1])

    def norm_in(_m: Any, args: tuple) -> None:
        got.update(pre=args[0])
        raise _Stop

    hooks = [layer.output.register_forward_pre_hook(block_in),
             layer.output.LayerNorm.register_forward_pre_hook(norm_in)]
    try:
        with torch.no_grad():
            model(**enc)
    except _Stop:
        pass
    finally:
        for h in hooks:
            h.remove()
    return got


def refit_ffn_outputs(model: Any, teacher: Any, tok: Any, texts: list[str], seqlen: int = 64,
                      ridge: float = 1e-2, chunk: int = 64) -> list[float] | None:
    """Least-squares refit of every pruned FFN's output projection (BERT ``output.dense``),
    layer by layer from the first: with the student's own inputs (earlier layers already
    refit), the weights and bias that best give the teacher's pre-LayerNorm sum of that layer
    on ``texts`` (ridge ``ridge`` × mean diagonal, towards the current weights). Returns each
    layer's relative residual (0 = exact), or None when the models are not BERT-shaped
    alike (different depth, no ``output.dense`` / ``output.LayerNorm``)."""
    s_layers: list[Any] = list(layers_of(model)[1])
    t_layers: list[Any] = list(layers_of(teacher)[1])
    if len(s_layers) != len(t_layers) or not all(
            hasattr(x, "output") and hasattr(x.output, "dense") and hasattr(x.output, "LayerNorm")
            for x in (*s_layers, *t_layers)):
        return None
    residuals = []
    for sl, tl in zip(s_layers, t_layers, strict=True):
        gram: torch.Tensor | None = None
        cross: torch.Tensor | None = None
        norm = 0.0
        for i in range(0, len(texts), chunk):
            enc = tok(texts[i: i + chunk], padding=True, truncation=True, max_length=seqlen,
                      return_tensors="pt")
            real = enc["attention_mask"].bool()  # [B, L]
            s, t = _ffn_io(model, sl, enc), _ffn_io(teacher, tl, enc)
            x = s["inter"][real]  # [N, k]
            x = torch.cat([x, torch.ones(len(x), 1)], 1)
            y = (t["pre"] - s["attn"])[real]  # [N, H]: what the FFN should add
            g, c = (x.T @ x).double(), (x.T @ y).double()
            gram, cross = (g, c) if gram is None or cross is None else (gram + g, cross + c)
            norm += float((y ** 2).sum())
        if gram is None or cross is None:
            raise InputError("no text to refit the FFN outputs on")
        w: Any = sl.output.dense
        old = torch.cat([w.weight.data.T, w.bias.data[None]], 0).double()  # [k+1, H]
        reg = ridge * float(torch.diagonal(gram).mean()) * torch.eye(len(gram), dtype=gram.dtype)
        reg[-1, -1] = 0.0  # the bias is not shrunk
        sol = torch.linalg.solve(gram + reg, cross + reg @ old)
        # ||X sol - Y||² = sol'G sol - 2 sol'C + ||Y||²
        err = float((sol * (gram @ sol)).sum() - 2 * (sol * cross).sum()) + norm
        residuals.append(max(err, 0.0) / max(norm, 1e-12))
        w.weight.data.copy_(sol[:-1].T.to(w.weight.dtype))
        w.bias.data.copy_(sol[-1].to(w.bias.dtype))
    return residuals


def token_mse(student: torch.Tensor, teacher: torch.Tensor, attention_mask: torch.Tensor
              ) -> torch.Tensor:
    """Mean squared difference of two [B, L, H] hidden states over real (unmasked) tokens."""
    mask = attention_mask.unsqueeze(-1).to(student.dtype)  # [B, L, 1]
    return (((student - teacher) ** 2) * mask).sum() / (mask.sum() * student.shape[-1])


def distill_encoder(model: Any, tok: Any, docs: list[str], out: str | Path,
                    opts: RecoveryOptions, t0: float | None = None) -> dict[str, Any]:
    """Distil the pruned encoder ``model`` from the dense ``opts.teacher`` on ``docs`` (all
    weights train; see the module docstring for the loss) and save it to ``out``."""
    from tqdm.auto import trange

    from prunestack.encoder import mean_pool

    t0 = time.perf_counter() if t0 is None else t0
    if not opts.teacher:
        raise ConfigError(_NO_TEACHER, _TEACHER_HINT)
    teacher, _ = load_any(opts.teacher)
    if (getattr(teacher.config, "hidden_size", None) != getattr(model.config, "hidden_size", 0)
            or hasattr(teacher, "generate")):
        raise ConfigError(f"{opts.teacher} is not the dense encoder of this pruned model",
                          "give the folder the model was pruned from")
    teacher.eval()
    opts, steps, batch, lr, seqlen = opts.resolved("encoder")
    torch.manual_seed(opts.seed)
    texts = _distill_texts(docs, opts.seed)
    depth = getattr(model.config, "num_hidden_layers", None)
    layerwise = opts.layer_weight > 0 and depth == getattr(teacher.config, "num_hidden_layers", 0)
    ref = agreement_reference(teacher, tok)  # the teacher's side, embedded once
    rep: dict[str, Any] = {"before": encoder_agreement(model, teacher, tok, reference=ref),
                           "layerwise": layerwise, "refit_residuals": None}
    if opts.refit_texts:
        model.eval()
        rep["refit_residuals"] = refit_ffn_outputs(model, teacher, tok, texts[: opts.refit_texts],
                                                   seqlen)
        if rep["refit_residuals"] is not None:
            rep["refit"] = encoder_agreement(model, teacher, tok, reference=ref)
    optim = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 1.0 - s / steps))
    model.train()
    losses = []
    for step in trange(steps, desc="distil", leave=False):
        start = (step * batch) % len(texts)
        enc = tok(texts[start: start + batch], padding=True, truncation=True,
                  max_length=seqlen, return_tensors="pt")
        with torch.no_grad():
            t_out = teacher(**enc, output_hidden_states=layerwise)
        s_out = model(**enc, output_hidden_states=layerwise)
        th, sh = t_out.last_hidden_state, s_out.last_hidden_state
        loss = token_mse(sh, th, enc["attention_mask"])
        if layerwise:  # hidden_states[0] is the (unpruned) embedding output, [-1] the last layer
            loss = loss + opts.layer_weight * sum(
                token_mse(s, t, enc["attention_mask"])
                for s, t in zip(s_out.hidden_states[1:-1], t_out.hidden_states[1:-1],
                                strict=True))
        te = F.normalize(mean_pool(th, enc["attention_mask"]), dim=-1)
        se = F.normalize(mean_pool(sh, enc["attention_mask"]), dim=-1)
        cos = (1 - (te * se).sum(-1)).mean()
        rel = F.mse_loss(se @ se.T, te @ te.T)
        loss = loss + cos + opts.relation_weight * rel
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        sched.step()
        optim.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
    model.eval()
    rep.update({"after": encoder_agreement(model, teacher, tok, reference=ref),
                "loss_first": losses[0],
                "loss_last": sum(losses[-10:]) / len(losses[-10:]), "texts": len(texts),
                "options": opts.model_dump(), "wall_s": time.perf_counter() - t0})
    meta = dict(getattr(model.config, "prunestack", None) or {})
    meta = {k: v for k, v in meta.items() if k not in FORMAT_KEYS}
    meta["recovery"] = {"distilled_from": str(opts.teacher), "before": rep["before"],
                        "refit": rep.get("refit"), "after": rep["after"], "steps": steps}
    save_model(model, out, tok, meta=meta)
    write_report(rep, out, stem="recover_report")
    return rep
