"""Teach a small masked LM to fill schema skeletons, and a synthetic key–value task to do it on.

Off-the-shelf BERT-style masked LMs are trained at 15–30 % masking and generate poorly from
all-mask canvases. ``train_skeleton_mlm`` fine-tunes (or trains from scratch) any HF masked LM on
the exact canvases ``generate_json_diffusion`` builds — ``prompt`` then the JSON skeleton, each
value slot holding the value's tokens followed by end tokens — masking the slot cells at a ratio
drawn uniformly from [0.05, 1] per example (even steps mask i.i.d., odd steps mask a random suffix
of each slot, which is what left-to-right slot commits look like), with the loss on masked cells.

The synthetic task (``kv_example``) is "name: alice age: 31 city: paris" → ``{"name": "alice",
"age": 31, "city": "paris"}``. ``kv_tokenizer`` writes a real WordPiece ``BertTokenizer`` folder
whose vocabulary makes every value one token, so the prompt has a fixed layout; trained with
``slot_lengths`` equal to the decoder's initial slot lengths (``kv_slot_lengths``), a 2-layer
model learns the position-to-position copy in a few hundred steps (seconds). Content-addressed
copying across variable layouts (multi-token values, random padding) takes far longer: with
hidden size 64 we saw no copying after 800 steps for BERT, RoFormer or DeBERTa-v2.
Used by the tests and ``benchmarks/bench_diffusion.py``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import torch

from prunestack.pipeline.decoding.diffusion import build_skeleton, initial_slot_length
from prunestack.pipeline.decoding.diffusion_core import DiffusionConfig, end_token

NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
         "mallory", "oscar"]
CITIES = ["paris", "london", "rome", "berlin", "madrid", "tokyo", "oslo", "vienna", "lisbon",
          "dublin", "prague", "cairo"]
KV_SCHEMA: dict = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0},
                   "city": {"type": "string"}},
    "required": ["name", "age", "city"],
    "additionalProperties": False,
}


def kv_tokenizer(folder: str | Path) -> Any:
    """Write and load a WordPiece BertTokenizer whose vocabulary covers the key–value task."""
    from transformers import AutoTokenizer

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    words = sorted({w for c in CITIES for w in c.split()} | set(NAMES))
    vocab = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list('{}":,.-')
             + ["name", "age", "city"] + words + [str(d) for d in range(100)]
             + [f"##{d}" for d in range(10)])
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n")
    (out / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 128}))
    return AutoTokenizer.from_pretrained(str(out), local_files_only=True)


def kv_slot_lengths(tokenizer: Any, schema: dict = KV_SCHEMA, **options: Any) -> list[int]:
    """The decoder's initial slot lengths for ``schema`` (what the model should be trained at)."""
    cfg = DiffusionConfig(**options)
    return [initial_slot_length(s, tokenizer, cfg) for s in build_skeleton(schema)
            if not isinstance(s, str)]


def kv_example(rng: random.Random, shuffle: bool = False) -> tuple[str, dict]:
    """One (prompt, value) pair; ``shuffle`` lists the prompt's fields in a random order."""
    value = {"name": rng.choice(NAMES), "age": rng.randint(1, 99), "city": rng.choice(CITIES)}
    keys = list(value)
    if shuffle:
        rng.shuffle(keys)
    return " ".join(f"{k}: {value[k]}" for k in keys), value


def encode_example(tokenizer: Any, prompt: str, schema: dict, value: Any
                   ) -> tuple[list[int], list[list[int] | None], list[list[int]]]:
    """Pre-tokenised pieces of one training canvas: prompt ids, skeleton pieces (literal ids, or
    ``None`` for a slot) and each slot's value ids."""
    prompt_ids = list(tokenizer(prompt)["input_ids"])
    pieces: list[list[int] | None] = []
    values: list[list[int]] = []
    for seg in build_skeleton(schema):
        if isinstance(seg, str):
            pieces.append(list(tokenizer(seg, add_special_tokens=False)["input_ids"]))
            continue
        node: Any = value
        for key in seg.path.split(".")[1:]:
            node = node[key]
        pieces.append(None)
        values.append(list(tokenizer(json.dumps(node), add_special_tokens=False)["input_ids"]))
    if getattr(tokenizer, "cls_token_id", None) is not None and tokenizer.sep_token_id is not None:
        pieces.append([tokenizer.sep_token_id])
    return prompt_ids, pieces, values


def skeleton_canvas(encoded: tuple[list[int], list[list[int] | None], list[list[int]]],
                    pads: list[int], end_id: int) -> tuple[list[int], list[tuple[int, int]]]:
    """Canvas ids (prompt + skeleton, each slot = value ids + ``pads[i]`` end tokens) and the
    (start, length) of every slot's cells."""
    prompt_ids, pieces, values = encoded
    ids = list(prompt_ids)
    spans: list[tuple[int, int]] = []
    for piece in pieces:
        if piece is not None:
            ids += piece
            continue
        cells = values[len(spans)] + [end_id] * pads[len(spans)]
        spans.append((len(ids), len(cells)))
        ids += cells
    return ids, spans


def train_skeleton_mlm(model: Any, tokenizer: Any, examples: list[tuple[str, Any]], schema: dict,
                       *, steps: int = 300, batch_size: int = 32, lr: float = 3e-3,
                       max_pad: int = 10, slot_lengths: list[int] | None = None, seed: int = 0,
                       end_token_id: int | None = None, target_loss: float | None = None,
                       progress: bool = False) -> list[float]:
    """Train ``model`` (HF masked LM, in place) on skeleton canvases; returns the loss per step.

    Each slot holds its value then end tokens: 0..``max_pad`` of them, or, with ``slot_lengths``,
    as many as fill the slot to that length (the decoder's initial slot lengths, see
    ``pipeline.decoding.diffusion.initial_slot_length``). The learning rate warms up linearly
    over the first 10 % of ``steps`` and then stays at ``lr``; with ``target_loss``, training
    stops early once the mean loss of the last 20 steps is below it."""
    from tqdm import tqdm

    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    end_id = end_token(tokenizer, end_token_id)
    mask_id = tokenizer.mask_token_id
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else end_id
    encoded = [encode_example(tokenizer, p, schema, v) for p, v in examples]
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / warm))
    model.train()
    losses = []
    for step in tqdm(range(steps), disable=not progress, desc="train skeleton MLM"):
        rows, spans_all = [], []
        for _ in range(batch_size):
            enc = rng.choice(encoded)
            if slot_lengths is not None:
                pads = [max(0, n - len(v)) for n, v in zip(slot_lengths, enc[2], strict=True)]
            else:
                pads = [rng.randint(0, max_pad) for _ in enc[2]]
            ids, spans = skeleton_canvas(enc, pads, end_id)
            rows.append(ids)
            spans_all.append(spans)
        width = max(len(r) for r in rows)
        x = torch.full((batch_size, width), pad_id)  # [B, L]
        att = torch.zeros(batch_size, width, dtype=torch.long)
        slot = torch.zeros(batch_size, width, dtype=torch.bool)  # [B, L] slot cells
        suffix_mask = torch.zeros(batch_size, width, dtype=torch.bool)
        for b, (r, spans) in enumerate(zip(rows, spans_all, strict=True)):
            x[b, :len(r)] = torch.tensor(r)
            att[b, :len(r)] = 1
            for s0, n in spans:
                slot[b, s0:s0 + n] = True
                cut = s0 + rng.randint(0, n - 1)
                suffix_mask[b, cut:s0 + n] = True
        t = torch.rand(batch_size, 1, generator=gen).clamp_min(0.05)  # mask ratio per example
        iid = (torch.rand(batch_size, width, generator=gen) < t) & slot
        masked = iid if step % 2 == 0 else suffix_mask
        for b in range(batch_size):  # at least one masked cell
            if not bool(masked[b].any()):
                masked[b, int(slot[b].nonzero()[0, 0])] = True
        labels = torch.where(masked, x, torch.full_like(x, -100))
        inp = torch.where(masked, torch.full_like(x, mask_id), x)
        loss = model(input_ids=inp, attention_mask=att, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if target_loss is not None and len(losses) >= 20 and sum(losses[-20:]) / 20 < target_loss:
            break
    model.eval()
    return losses


def tiny_bert(vocab_size: int, seed: int = 0, **overrides: Any) -> Any:
    """A small random ``BertForMaskedLM`` (2 layers, hidden 64) for tests and the benchmark."""
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(seed)
    kw: dict[str, Any] = {"vocab_size": vocab_size, "hidden_size": 64, "num_hidden_layers": 2,
                          "num_attention_heads": 4, "intermediate_size": 128,
                          "max_position_embeddings": 128, "hidden_dropout_prob": 0.0,
                          "attention_probs_dropout_prob": 0.0}
    kw.update(overrides)
    return BertForMaskedLM(BertConfig(**kw))


def tiny_kv_model(vocab_size: int, seed: int = 0) -> Any:
    """The model the tests and the benchmark train on the key–value task."""
    return tiny_bert(vocab_size, seed=seed)
