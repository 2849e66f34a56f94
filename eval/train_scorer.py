"""Training the learned field scorer (``prunestack train extractor``): labelled documents in, a
scorer folder out.

Two data layouts, found by looking at ``--data``:

- **SROIE** (``key/ID.json`` + ``box/ID.csv`` [+ ``img/ID.jpg``]): only the receipts WITHOUT an
  image are read (their gold OCR lines as the page, through the same layout step as OCR); those
  with an image are the evaluation split and are never trained on. Schema: ``eval.sroie.SCHEMA``.
- **your documents**: a folder with ``schema.json`` and, for each document ``NAME.pdf`` /
  ``.png`` / ``.jpg`` / ``.html`` / ``.txt``, the expected output ``NAME.json`` (the JSON the
  schema describes; scalar fields at any depth are learned, arrays are not).

For each document and scalar field, the candidates come from ``pipeline.extract.scorer``; a
candidate is positive when its value equals the expected one (text: after upper-casing and
collapsing whitespace; numbers: equal as numbers). A (document, field) group with a positive
and a negative becomes one training group: one positive (at random when several match) and up
to ``negatives`` others (:func:`hard_negatives`: a third sharing a line with the positive — the
boundary mistakes —, a third within three lines of it, the rest at random). Loss: softmax
cross-entropy over the group plus a binary term per pair, so the sigmoid of a logit reads as a
probability. Only the top ``train_layers`` transformer layers (3 of 6 by default) and the head
are trained, so the embeddings and lower layers run once per pair before training
(:class:`LowerCache`) and an epoch costs only the top layers: three epochs over the 280 SROIE
training receipts fit in under an hour on two cores. AdamW, linear decay, seeded; tqdm bars;
stops at ``max_minutes``. Starts from the real MiniLM (``prunestack.models``) or from a scorer
folder (``init``: fine-tune a shipped or earlier scorer on your documents).

It does not evaluate (``benchmarks/bench_receipts_real.py`` does) or prune.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prunestack.encoder import mean_pool
from prunestack.errors import ConfigError, InputError
from prunestack.eval.sroie import norm
from prunestack.pipeline.document import Document
from prunestack.pipeline.extract import scorer as S
from prunestack.pipeline.extract import values as V
from prunestack.pipeline.schema import FieldSpec, load_schema, plan_fields

DOC_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".html", ".htm", ".txt")


@dataclass
class Group:
    field_text: str
    pairs: list[str]  # candidate texts, the positive first
    n_pos: int


def matches(value: Any, expected: Any) -> bool:
    """A candidate value equals the expected one (numbers as numbers, text normalised)."""
    if isinstance(expected, bool) or expected is None:
        return value == expected
    if isinstance(expected, int | float):
        try:
            return abs(float(value) - float(expected)) < 1e-6
        except (TypeError, ValueError):
            return False
    return norm(value) == norm(expected)


def expected_at(data: Any, path: tuple) -> Any:
    """The expected value at a field's key path (None where the JSON has none)."""
    for p in path:
        if isinstance(data, dict) and p in data:
            data = data[p]
        else:
            return None
    return data


def documents(data: Path) -> Iterator[tuple[str, Document, dict[str, Any], dict[str, Any]]]:
    """(name, document, expected JSON, schema) of every training document in ``data``."""
    if (data / "key").is_dir() and (data / "box").is_dir():
        from prunestack.eval.sroie import SCHEMA, gold, gold_document, receipt_ids

        for rid in receipt_ids(data, with_images=False):  # never the evaluation split
            yield rid, gold_document(data, rid), gold(data, rid), SCHEMA
        return
    if not (data / "schema.json").is_file():
        raise InputError(f"{data} is neither a SROIE folder (key/, box/) nor a folder with "
                         "schema.json", "see `prunestack train extractor --help` for the layouts")
    schema = load_schema(data / "schema.json")
    found = False
    for doc_path in sorted(data.iterdir()):
        want = doc_path.with_suffix(".json")
        if doc_path.suffix.lower() not in DOC_SUFFIXES or not want.is_file():
            continue
        found = True
        try:
            expected = json.loads(want.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{want} is not valid JSON: {exc}") from None
        yield doc_path.stem, _read(doc_path), expected, schema
    if not found:
        raise InputError(f"no labelled documents in {data}",
                         "put NAME.pdf (or .png/.jpg/.html/.txt) beside NAME.json")


def _read(path: Path) -> Document:
    if path.suffix.lower() == ".txt":
        from prunestack.parsers.text import text_document

        return text_document(path.read_text(encoding="utf-8"), name=path.name)
    from prunestack.parsers.ingest import parse

    return parse(path)


def groups_of(doc: Document, expected: dict[str, Any], fields: list[FieldSpec],
              rng: random.Random, negatives: int, max_span: int) -> list[Group]:
    """Training groups of one document (fields without a positive candidate are skipped)."""
    lines = S.doc_lines(doc)
    if not lines:
        return []
    dayfirst = V.date_order_hint([ln.text for ln in lines])
    sizes, body = S.page_sizes(doc), S.body_font_size(lines)
    out = []
    for f in fields:
        want = expected_at(expected, f.path)
        if want is None or want == "":
            continue
        cands = S.candidates(lines, f, dayfirst, max_span)
        pos = [c for c in cands if matches(c.value, want)]
        neg = [c for c in cands if not matches(c.value, want)]
        if not pos or not neg:
            continue
        p = rng.choice(pos)
        pick = hard_negatives(p, neg, rng, negatives)
        texts = [S.pair_text(lines, c, sizes.get(lines[c.first].page, (1.0, 1.0)), body)
                 for c in [p, *pick]]
        out.append(Group(S.field_text(f), texts, 1))
    return out


def training_groups(data: Path | None, rng: random.Random, negatives: int, max_span: int, *,
                    synthetic: int = 0, augment_copies: int = 0, seed: int = 0,
                    limit: int | None = None, progress: bool = True
                    ) -> tuple[list[Any], list[Group]]:
    """The training documents (real, augmented, synthetic: ``scorer_data.training_documents``,
    the first ``limit``) and their groups; InputError when no field has a positive."""
    from tqdm import tqdm

    from prunestack.eval.scorer_data import training_documents

    docs = list(training_documents(data, synthetic, augment_copies, seed, read=documents))
    if limit is not None:
        docs = docs[:limit]
    groups: list[Group] = []
    for _name, doc, expected, schema in tqdm(docs, desc="candidates", unit="doc",
                                             disable=not progress):
        fields = [f for f in plan_fields(schema) if f.type not in ("array", "object")]
        groups += groups_of(doc, expected, fields, rng, negatives, max_span)
    if not groups:
        raise InputError(f"no field of the documents in {data} has its expected value among "
                         "the candidates", "check that NAME.json holds the values as printed")
    return docs, groups


def hard_negatives(p: S.Cand, neg: list[S.Cand], rng: random.Random, n: int) -> list[S.Cand]:
    """Up to ``n`` negatives for positive ``p``: a third that share a line with it (the same line
    cut differently, a span one line too long or short — the boundary mistakes), a third within
    three lines of it (its label, the amounts beside it), the rest at random."""
    overlap = [c for c in neg if c.first <= p.last and p.first <= c.last]
    near = [c for c in neg if c not in overlap and
            (abs(c.first - p.first) <= 3 or abs(c.last - p.last) <= 3)]
    pick: list[S.Cand] = []
    for pool, k in ((overlap, n // 3), (near, n // 3)):
        rng.shuffle(pool)
        pick += pool[:k]
    rest = [c for c in neg if all(c is not q for q in pick)]
    return pick + rng.sample(rest, min(len(rest), n - len(pick)))


def train(data: Path | None, out: Path, *, epochs: int = 2, seed: int = 0,
          max_minutes: float = 50.0,
          init: Path | None = None, negatives: int = 7, lr: float = 1e-4, head_lr: float = 2e-3,
          max_length: int = 96, train_layers: int = 3, groups_per_step: int = 8,
          limit: int | None = None, synthetic: int = 0, augment_copies: int = 0,
          progress: bool = True) -> dict[str, Any]:
    """Fit a scorer on ``data`` and save it to ``out``; returns the training summary."""
    import torch
    from tqdm import tqdm

    from prunestack.models import load_pretrained, load_tokenizer, minilm_path

    if epochs < 1:
        raise ConfigError("--epochs must be at least 1")
    if max_minutes <= 0:
        raise ConfigError("--max-minutes must be positive")
    rng = random.Random(seed)
    torch.manual_seed(seed)
    cfg = dict(S.DEFAULTS, max_length=max_length)
    docs, groups = training_groups(data, rng, negatives, int(cfg["max_span"]), synthetic=synthetic,
                                   augment_copies=augment_copies, seed=seed, limit=limit,
                                   progress=progress)
    base = init if init is not None else minilm_path()
    if init is not None:
        if not (init / S.HEAD_FILE).is_file():
            raise InputError(f"--init {init} is not a scorer folder (no {S.HEAD_FILE})")
        cfg = dict(S.read_config(init), max_length=max_length)
    model = load_pretrained(base, causal=False)
    tokenizer = load_tokenizer(base if (base / "tokenizer.json").is_file() or
                               (base / "vocab.txt").is_file() else minilm_path())
    hidden = int(model.config.hidden_size)
    head = S.load_head(init, hidden) if init is not None else S.new_head(hidden)
    layers = model.encoder.layer
    split = max(0, len(layers) - max(1, train_layers))
    cache = LowerCache(model, tokenizer, groups, split, max_length, progress)
    # the embeddings and the lower layers stay as they are: their outputs are computed once per
    # pair (the cache), so an epoch costs only the trained top layers
    for p in model.parameters():
        p.requires_grad_(False)
    top = list(layers[split:])
    body = [p for layer in top for p in layer.parameters()]
    for p in body:
        p.requires_grad_(True)
    params = body + list(head.parameters())
    for layer in top:
        layer.train()
    head.train()
    # the head starts at zero: it needs a larger step than the pretrained layers
    opt = torch.optim.AdamW([{"params": body, "lr": lr},
                             {"params": list(head.parameters()), "lr": head_lr}],
                            weight_decay=0.01)
    per_step = max(1, groups_per_step)
    steps = epochs * -(-len(groups) // per_step)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1.0 - s / max(1, steps)))
    t0, step, losses, stopped = time.monotonic(), 0, [], False
    bar = tqdm(total=epochs * len(groups), desc="train", unit="group", disable=not progress)
    for _ in range(epochs):
        order = list(range(len(groups)))
        rng.shuffle(order)
        for s in range(0, len(order), per_step):
            batch = order[s:s + per_step]
            logits = cache.logits(top, head, batch)  # one pass for all pairs of the batch
            loss = torch.zeros(())
            at = 0
            for gi in batch:
                n = len(groups[gi].pairs)
                lg = logits[at:at + n]  # [G], the positive first
                at += n
                target = torch.zeros_like(lg)
                target[0] = 1.0
                first = torch.zeros(1, dtype=torch.long)
                loss = loss + torch.nn.functional.cross_entropy(lg[None], first) \
                    + 0.5 * torch.nn.functional.binary_cross_entropy_with_logits(lg, target)
            losses.append(optimizer_step(opt, sched, params, loss / len(batch)))
            step += 1
            bar.update(len(batch))
            bar.set_postfix(loss=f"{sum(losses[-20:]) / len(losses[-20:]):.3f}")
            if time.monotonic() - t0 > 60 * max_minutes:
                stopped = True
                break
        if stopped:
            break
    bar.close()
    summary = {"documents": len(docs), "groups": len(groups), "steps": step, "seed": seed,
               "epochs": epochs, "negatives": negatives, "lr": lr, "head_lr": head_lr,
               "max_length": max_length, "train_layers": train_layers,
               "groups_per_step": groups_per_step,
               "stopped_at_time_limit": stopped, "minutes": round((time.monotonic() - t0) / 60, 2),
               "final_loss": round(sum(losses[-20:]) / max(1, len(losses[-20:])), 4),
               "init": str(init) if init else "all-MiniLM-L6-v2", "data": str(data),
               "synthetic": synthetic, "augment_copies": augment_copies}
    save(model, tokenizer, head, cfg, summary, out)
    return summary


def optimizer_step(opt: Any, sched: Any, params: list[Any], loss: Any) -> float:
    """One update: backward, gradients clipped to norm 1, optimiser and schedule stepped; the
    loss as a float (training and distillation share it)."""
    import torch

    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    sched.step()
    return float(loss.detach())


class LowerCache:
    """Every training pair tokenised once and run once through the frozen part of the encoder
    (embeddings + the lower ``split`` layers); :meth:`logits` runs only the trained top layers
    on a batch of groups. Hidden states are kept in fp16 (about 1 GB for 1,000 groups of 16
    pairs at 96 tokens); pairs are padded to ``max_length``."""

    def __init__(self, model: Any, tokenizer: Any, groups: list[Group], split: int,
                 max_length: int, progress: bool, batch: int = 64) -> None:
        import torch
        from tqdm import tqdm

        self.model = model
        self.starts: list[int] = []
        firsts: list[str] = []
        seconds: list[str] = []
        for g in groups:
            self.starts.append(len(firsts))
            firsts += [g.field_text] * len(g.pairs)
            seconds += g.pairs
        self.sizes = [len(g.pairs) for g in groups]
        enc = tokenizer(firsts, seconds, truncation="only_second", max_length=max_length,
                        padding="max_length", return_tensors="pt")
        self.mask = enc["attention_mask"]
        states = []
        model.eval()
        with torch.inference_mode():
            for b in tqdm(range(0, len(firsts), batch), desc="frozen layers", unit="batch",
                          disable=not progress):
                part = {k: v[b:b + batch] for k, v in enc.items()}
                out = model(**part, output_hidden_states=True)
                states.append(out.hidden_states[split].to(torch.float16))
        self.states = torch.cat(states)  # [pairs, S, H]

    def logits(self, top: list[Any], head: Any, batch: list[int]) -> Any:
        import torch

        idx = torch.tensor([i for gi in batch
                            for i in range(self.starts[gi], self.starts[gi] + self.sizes[gi])])
        h = self.states[idx].float()
        mask = self.mask[idx]
        ext = self.model._create_attention_masks(
            attention_mask=mask, encoder_attention_mask=None, embedding_output=h,
            encoder_hidden_states=None, past_key_values=None)
        if isinstance(ext, tuple):
            ext = ext[0]
        for layer in top:
            out = layer(h, attention_mask=ext)
            h = out[0] if isinstance(out, tuple) else out
        return head(mean_pool(h, mask)).squeeze(-1)


def save(model: Any, tokenizer: Any, head: Any, cfg: dict[str, Any], summary: dict[str, Any],
         out: Path) -> None:
    """A scorer folder: BERT folder + head + scorer.json + a model card stub."""
    from safetensors.torch import save_file

    from prunestack.saved import save_model

    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    save_model(model, out, tokenizer)  # the one saved format: a pruned --init reloads too
    save_file({k: v.detach().contiguous() for k, v in head.state_dict().items()},
              str(out / S.HEAD_FILE))
    (out / S.CONFIG_FILE).write_text(json.dumps({**cfg, "training": summary}, indent=1),
                                     encoding="utf-8")
    (out / "README.md").write_text(_card(summary), encoding="utf-8")


def card_header(*tags: str) -> str:
    """The model card's front matter (Hugging Face style) of a scorer folder."""
    return ("---\nbase_model: sentence-transformers/all-MiniLM-L6-v2\nlibrary_name: prunestack\n"
            f"tags: [{', '.join(('field-scorer', 'cross-encoder', 'document-extraction', *tags))}]"
            "\nlicense: apache-2.0\n---\n")


def _card(s: dict[str, Any]) -> str:
    return card_header() + f"""\
# prunestack field scorer (version {S.SCORER_VERSION})

A cross-encoder over (field key path + description, candidate value in context with layout as
text) that scores whether the candidate is the field's value. Used by
`prunestack extract --scorer learned --scorer-model DIR`.

- Started from: {s['init']} (Apache-2.0).
- Trained on: `{s['data']}` — {s['documents']} documents, {s['groups']} (document, field)
  groups. SROIE data (ICDAR 2019) is for research use under its publishers' terms; only
  receipts without an image were used, those with images are the evaluation split.
- Settings: epochs {s['epochs']}, seed {s['seed']}, negatives per group {s['negatives']},
  lr {s['lr']}, max length {s['max_length']}, trained layers {s['train_layers']};
  {s['steps']} steps in {s['minutes']} min (stopped at the time limit:
  {s['stopped_at_time_limit']}); final loss {s['final_loss']}.
- Metrics: measure with `python -m benchmarks.bench_receipts_real --scorer-model DIR`.
- Retrain: `prunestack train extractor --data {s['data']} --out DIR --epochs {s['epochs']}
  --seed {s['seed']} --synthetic {s.get('synthetic', 0)} --augment {s.get('augment_copies', 0)}`
  (`--data None`: synthetic documents only, leave `--data` out).
- Limits: scalar fields only (arrays come from the rule engine); values must appear on the
  page as a line, a span of up to four lines, or a typed token (amount, date, ...).
"""
