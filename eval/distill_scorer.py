"""A pruned learned field scorer (issue 15, steps 4-5): prune a fine-tuned scorer with the
project's pruning engine, recover it by distillation from the dense scorer, save it small.

``distill(teacher, out, data, ratio=..., method=...)``:

1. reads the labelled documents of ``data`` (``train_scorer.documents``, both layouts) and makes
   the same (document, field) groups as training (``train_scorer.groups_of``: the positive first,
   then negatives);
2. **prunes** a fresh copy of the teacher's encoder with ``pipeline.pruning.prune`` (attention
   heads and FFN channels; ``flap``, ``taylor`` or ``magnitude``) to remove ``ratio`` of the
   layer parameters; the calibration rows are tokenised (field, candidate) pairs from those
   groups, cut to one common length (pairs shorter than it are not used, so no row is padded),
   not generic English;
3. **distils**: the student (pruned encoder + the teacher's head) learns on the same groups with
   ``KL(softmax(t / T) || softmax(s / T)) * T^2`` over each group's logits, plus the MSE between
   student and teacher logits, plus the hard group cross-entropy (the positive is first). Every
   student weight but the embeddings trains; AdamW, linear decay, seeded, a tqdm bar, stops at
   ``minutes`` (or ``max_steps``);
4. **saves** a scorer folder with the weights in ``dtype`` (fp16 by default: half the bytes; the
   registry loads it back as fp32 on CPU): the pruned BERT folder in the one saved format
   (``prunestack.saved.save_model``: per-layer widths in config.json, so
   ``registry().encoder(out)`` and ``scorer.load_scorer(out)`` rebuild it), the head,
   ``scorer.json`` with ``pruned`` and ``distill`` records, and a model-card ``README.md``.

It does not evaluate the result (``benchmarks/bench_receipts_real.py --scorer-model DENSE
--scorer-model PRUNED`` does, side by side), train a dense scorer (``train_scorer``), or choose
the product's default scorer.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from pathlib import Path
from typing import Any

from prunestack.errors import ConfigError, InputError
from prunestack.eval.train_scorer import Group, card_header, optimizer_step, training_groups
from prunestack.pipeline.extract import scorer as S

#: width methods the scorer may be pruned with (heads and FFN channels)
METHODS = ("flap", "taylor", "magnitude")
SAVE_DTYPES = ("float16", "float32")


def check_args(teacher: Path, ratio: float, method: str, minutes: float, dtype: str) -> None:
    """ConfigError / InputError for arguments ``distill`` cannot use (before any loading)."""
    if not 0.0 < ratio < 1.0:
        raise ConfigError(f"prune ratio must be between 0 and 1 (exclusive), got {ratio}",
                          "e.g. --prune 0.3 removes 30 % of the layer parameters")
    if method not in METHODS:
        raise ConfigError(f"unknown pruning method for the scorer: {method!r}",
                          f"one of {', '.join(METHODS)} (heads and FFN channels)")
    if minutes <= 0:
        raise ConfigError("--max-minutes must be positive")
    if dtype not in SAVE_DTYPES:
        raise ConfigError(f"unknown save dtype {dtype!r}", f"one of {', '.join(SAVE_DTYPES)}")
    if not (teacher / S.HEAD_FILE).is_file() or not (teacher / "config.json").is_file():
        raise InputError(f"--teacher {teacher} is not a scorer folder (needs config.json and "
                         f"{S.HEAD_FILE})",
                         "train the dense scorer first: `prunestack train extractor --data DIR "
                         "--out DENSE_DIR`")


def calibration_rows(tokenizer: Any, groups: list[Group], nsamples: int, max_length: int,
                     seed: int) -> Any:
    """[N, L] token ids of (field, candidate) pairs, none padded: L is the largest length that
    ``nsamples`` pairs reach (at most ``max_length``); N pairs of at least L tokens, cut to L
    (the candidate side is cut; each row keeps [CLS] ... [SEP] ... [SEP])."""
    firsts = [g.field_text for g in groups for _ in g.pairs]
    seconds = [p for g in groups for p in g.pairs]
    enc = tokenizer(firsts, seconds, truncation="only_second", max_length=max_length)
    lengths = sorted((len(x) for x in enc["input_ids"]), reverse=True)
    length = lengths[min(nsamples, len(lengths)) - 1]
    if length < 8:
        raise InputError(f"the training pairs are too short to calibrate on ({length} tokens)",
                         "label documents with more text around the values")
    pool = [i for i, x in enumerate(enc["input_ids"]) if len(x) >= length]
    pick = sorted(random.Random(seed).sample(pool, min(nsamples, len(pool))))
    cut = tokenizer([firsts[i] for i in pick], [seconds[i] for i in pick],
                    truncation="only_second", max_length=length, return_tensors="pt")
    return cut["input_ids"]  # [N, L], every row exactly L tokens


def _group_loss(s: Any, t: Any, temperature: float) -> Any:
    """Distillation loss of one group: student logits ``s`` [G], teacher ``t`` [G], positive 0."""
    import torch
    import torch.nn.functional as F

    kl = F.kl_div(F.log_softmax(s / temperature, -1), F.softmax(t / temperature, -1),
                  reduction="sum") * temperature ** 2
    hard = F.cross_entropy(s[None], torch.zeros(1, dtype=torch.long))
    return kl + F.mse_loss(s, t) + hard


def distill(teacher: Path, out: Path, data: Path | None, *, ratio: float, method: str = "flap",
            minutes: float, seed: int, dtype: str = "float16", progress: bool = True,
            epochs: int = 1, max_steps: int | None = None, limit: int | None = None,
            nsamples: int = 64, negatives: int = 5, groups_per_step: int = 4,
            lr: float = 1e-4, head_lr: float = 5e-4, temperature: float = 2.0,
            synthetic: int = 0, augment_copies: int = 0) -> dict[str, Any]:
    """Prune the scorer of ``teacher`` to remove ``ratio`` of its layer parameters, distil it on
    the groups of ``data``, save it to ``out``; returns the summary (also in scorer.json)."""
    import torch
    from tqdm import tqdm

    from prunestack.models import load_pretrained, load_tokenizer, minilm_path
    from prunestack.pipeline.pruning import PruneRecipe, prune
    from prunestack.pipeline.pruning.report import count_params

    teacher, out = Path(teacher), Path(out)
    data = Path(data) if data is not None else None
    check_args(teacher, ratio, method, minutes, dtype)
    if epochs < 1:
        raise ConfigError("--epochs must be at least 1")
    if out.resolve() == teacher.resolve():
        raise ConfigError("--out must differ from --teacher", "the teacher folder is read only")
    rng = random.Random(seed)
    torch.manual_seed(seed)
    cfg = S.read_config(teacher)
    max_length = int(cfg["max_length"])
    docs, groups = training_groups(data, rng, negatives, int(cfg["max_span"]), synthetic=synthetic,
                                   augment_copies=augment_copies, seed=seed, limit=limit,
                                   progress=progress)
    tok_dir = teacher if any((teacher / f).is_file() for f in ("tokenizer.json", "vocab.txt")) \
        else minilm_path()
    tokenizer = load_tokenizer(tok_dir)
    dense = load_pretrained(teacher, causal=False)  # the teacher, fp32, frozen
    hidden = int(dense.config.hidden_size)
    t_head = S.load_head(teacher, hidden)
    for p in [*dense.parameters(), *t_head.parameters()]:
        p.requires_grad_(False)

    # ---- prune (the engine, calibrated on the scorer's own pairs) ----
    student = load_pretrained(teacher, causal=False)  # a fresh copy: pruning edits in place
    ids = calibration_rows(tokenizer, groups, nsamples, max_length, seed)  # [N, L]
    recipe = PruneRecipe.build(method=method, ratio=ratio, nsamples=int(ids.shape[0]),
                               seqlen=int(ids.shape[1]), seed=seed)
    t0 = time.monotonic()
    res = prune(student, recipe, tokenizer=tokenizer, progress=progress, ids=ids)
    prune_s = time.monotonic() - t0
    student = res.model
    head = S.load_head(teacher, hidden)  # the student's head starts as the teacher's

    # ---- distil ----
    student.train()
    head.train()
    for p in student.embeddings.parameters():
        p.requires_grad_(False)
    body = [p for p in student.parameters() if p.requires_grad]
    params = body + list(head.parameters())
    opt = torch.optim.AdamW([{"params": body, "lr": lr},
                             {"params": list(head.parameters()), "lr": head_lr}],
                            weight_decay=0.01)
    per_step = max(1, groups_per_step)
    planned = epochs * -(-len(groups) // per_step)
    if max_steps is not None:
        planned = min(planned, max_steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1.0 - s / max(1, planned)))
    teacher_logits: dict[int, Any] = {}  # group index -> [G], computed once
    t0, step, losses, stopped = time.monotonic(), 0, [], False
    bar = tqdm(total=planned, desc="distil", unit="step", disable=not progress)
    for _ in range(epochs):
        order = list(range(len(groups)))
        rng.shuffle(order)
        for s in range(0, len(order), per_step):
            idx = order[s:s + per_step]
            batch = [groups[i] for i in idx]
            enc = tokenizer([g.field_text for g in batch for _ in g.pairs],
                            [p for g in batch for p in g.pairs], truncation="only_second",
                            max_length=max_length, padding=True, return_tensors="pt")
            todo = [i for i in idx if i not in teacher_logits]
            if todo:
                with torch.no_grad():
                    t_all = S.forward(dense, t_head, enc)  # [sum of group sizes]
                at = 0
                for i in idx:
                    n = len(groups[i].pairs)
                    teacher_logits.setdefault(i, t_all[at:at + n].clone())
                    at += n
            logits = S.forward(student, head, enc)  # [sum of group sizes]
            loss, at = logits.new_zeros(()), 0
            for i in idx:
                n = len(groups[i].pairs)
                loss = loss + _group_loss(logits[at:at + n], teacher_logits[i], temperature)
                at += n
            losses.append(optimizer_step(opt, sched, params, loss / len(batch)))
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{sum(losses[-20:]) / len(losses[-20:]):.3f}")
            if time.monotonic() - t0 > 60 * minutes:
                stopped = True
            if stopped or (max_steps is not None and step >= max_steps):
                break
        if stopped or (max_steps is not None and step >= max_steps):
            break
    bar.close()
    student.eval()
    head.eval()
    pruned = {"ratio": ratio, "method": method, "teacher": str(teacher),
              "calibration": f"{int(ids.shape[0])} (field, candidate) pairs x "
                             f"{int(ids.shape[1])} tokens",
              "params_before": res.stats["params_before"],
              "params_after": count_params(student),
              "layer_params_removed": round(float(res.stats.get("achieved_ratio", ratio)), 4),
              "layers": res.stats["layers"], "prune_seconds": round(prune_s, 1)}
    dist = {"data": str(data), "synthetic": synthetic, "augment_copies": augment_copies,
            "documents": len(docs), "groups": len(groups), "steps": step,
            "epochs": epochs, "seed": seed, "temperature": temperature, "lr": lr,
            "head_lr": head_lr, "groups_per_step": per_step, "negatives": negatives,
            "loss": "KL(teacher || student) * T^2 + MSE(logits) + group cross-entropy",
            "trainable": "all layers and the head; embeddings frozen",
            "stopped_at_time_limit": stopped,
            "minutes": round((time.monotonic() - t0) / 60, 2),
            "final_loss": round(sum(losses[-20:]) / max(1, len(losses[-20:])), 4),
            "dtype": dtype}
    save(student, tokenizer, head, cfg, pruned, dist, out, dtype)
    return {"pruned": pruned, "distill": dist, "out": str(out)}


def save(model: Any, tokenizer: Any, head: Any, teacher_cfg: dict[str, Any],
         pruned: dict[str, Any], dist: dict[str, Any], out: Path, dtype: str) -> None:
    """A scorer folder in the one saved format, weights (encoder and head) in ``dtype``."""
    import torch
    from safetensors.torch import save_file

    from prunestack.saved import save_model

    if out.exists() and (out / S.HEAD_FILE).is_file():
        shutil.rmtree(out)  # an earlier scorer: no stale files beside the new weights
    out.mkdir(parents=True, exist_ok=True)
    torch_dtype = getattr(torch, dtype)
    model = model.to(torch_dtype)
    save_model(model, out, tokenizer, meta={"pruned": {k: pruned[k] for k in
                                                       ("ratio", "method", "teacher")}})
    save_file({k: v.detach().to(torch_dtype).contiguous() for k, v in head.state_dict().items()},
              str(out / S.HEAD_FILE))
    cfg = {k: v for k, v in teacher_cfg.items() if k not in ("training", "pruned", "distill")}
    if "training" in teacher_cfg:
        cfg["teacher_training"] = teacher_cfg["training"]
    cfg.update(pruned=pruned, distill=dist)
    (out / S.CONFIG_FILE).write_text(json.dumps(cfg, indent=1), encoding="utf-8")
    (out / "README.md").write_text(card(pruned, dist), encoding="utf-8")


def card(p: dict[str, Any], d: dict[str, Any]) -> str:
    widths = ", ".join(f"{r['heads']}h/{r.get('intermediate', 0)}" for r in p["layers"])
    return card_header("pruned", "distilled") + f"""\
# prunestack field scorer, pruned (version {S.SCORER_VERSION})

The learned field scorer of `prunestack extract --scorer learned --scorer-model DIR` (a
cross-encoder over field and candidate-in-context pairs), pruned with prunestack's own engine
and recovered by distillation from the dense scorer it was cut from.

- Teacher: `{p['teacher']}` (all-MiniLM-L6-v2 fine-tuned by `prunestack train extractor`;
  Apache-2.0).
- Pruning: {p['method']}, attention heads and FFN channels, {p['ratio']:.0%} of the layer
  parameters targeted ({p['layer_params_removed']:.1%} removed); calibration:
  {p['calibration']} from the training data. Parameters {p['params_before']:,} →
  {p['params_after']:,}. Per layer (heads/FFN width): {widths}.
- Distillation on `{d['data']}`: {d['documents']} documents, {d['groups']} (document, field)
  groups; loss {d['loss']} (T = {d['temperature']}); {d['trainable']}; AdamW lr {d['lr']}
  (head {d['head_lr']}), seed {d['seed']}; {d['steps']} steps in {d['minutes']} min (stopped
  at the time limit: {d['stopped_at_time_limit']}); final loss {d['final_loss']}.
- Weights stored as {d['dtype']}; prunestack loads them as float32 on CPU.
- Data licences: SROIE (ICDAR 2019) is for research use under its publishers' terms; only
  receipts without an image were used, those with an image are the evaluation split.
- Metrics: `python -m benchmarks.bench_receipts_real --scorer-model {p['teacher']}
  --scorer-model DIR` (dense and pruned side by side: accuracy and scorer CPU seconds).
- Reproduce: `prunestack train extractor --data {d['data']} --out DIR --teacher
  {p['teacher']} --prune {p['ratio']} --method {p['method']} --seed {d['seed']}`.
- Limits: as the dense scorer (scalar fields only; values must appear on the page).
"""
