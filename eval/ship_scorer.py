"""Shipping a field scorer: copy a trained (pruned, distilled) scorer folder to where the package
reads its default (``prunestack.models.FIELD_SCORER``), measure it, and write its model card.

Usage (from the repository root)::

    python -m prunestack.eval.ship_scorer --model DIR [--data ../shared/data/sroie-dev]

What it measures (written to ``metrics.json`` beside the weights and into the card):

- **the fixed sample**: field accuracy on ``synthetic_documents(SAMPLE_N, SAMPLE_SEED)`` — the
  same documents on every machine, so ``tests/extract/test_shipped_scorer.py`` re-measures it
  offline and checks the card's figure;
- **SROIE gold lines** (when ``--data`` is given): per-field exact match after upper-casing and
  collapsing whitespace on the evaluation split (the receipts with an image; never trained on),
  from the annotators' OCR lines, as ``benchmarks/bench_receipts_real.py`` (a) measures it.

What it does not do: train (``train_scorer``), prune or distil (``distill_scorer``), or time the
scorer (``benchmarks/bench_receipts_real.py`` does, side by side with the dense one).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

from prunestack.errors import InputError
from prunestack.eval.scorer_data import synthetic_documents
from prunestack.eval.train_scorer import card_header, expected_at, matches
from prunestack.pipeline.extract import scorer as S
from prunestack.pipeline.schema import plan_fields

SAMPLE_N = 30
SAMPLE_SEED = 20261207
#: the files of a scorer folder that ship (nothing else is copied)
FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
         S.HEAD_FILE, S.CONFIG_FILE)
#: not shipped: a pruned folder's ``modeling_prunestack.py`` (a copy of ``prunestack.rebuild`` for
#: stock transformers' remote code); prunestack rebuilds the folder with its own module


def sample_accuracy(scorer: S.LearnedScorer, n: int = SAMPLE_N, seed: int = SAMPLE_SEED
                    ) -> dict[str, Any]:
    """Share of scalar fields right on the fixed synthetic sample (value as the schema wants
    it; text compared after upper-casing and collapsing whitespace, numbers as numbers)."""
    right = total = 0
    for _name, doc, expected, schema in synthetic_documents(n, seed):
        fields = [f for f in plan_fields(schema) if f.type not in ("array", "object")]
        got = scorer.extract(doc, fields)
        for f in fields:
            want = expected_at(expected, f.path)
            if want is None or want == "":
                continue
            total += 1
            leaf = got.get(f.dotted)
            right += leaf is not None and matches(leaf.value, want)
    return {"documents": n, "seed": seed, "fields": total,
            "accuracy": round(right / max(1, total), 4)}


def sroie_accuracy(scorer: S.LearnedScorer, data: Path) -> dict[str, Any]:
    """Per-field accuracy, mean and all-four-right on SROIE's evaluation split, gold lines."""
    from prunestack.eval.sroie import FIELDS, SCHEMA, field_hits, gold, gold_document, receipt_ids

    fields = plan_fields(SCHEMA)
    hits = []
    for rid in receipt_ids(data, with_images=True):
        got = scorer.extract(gold_document(data, rid), fields)
        hits.append(field_hits(gold(data, rid), {k: v.value for k, v in got.items()}))
    n = max(1, len(hits))
    acc = {k: round(sum(h[k] for h in hits) / n, 4) for k in FIELDS}
    return {"receipts": len(hits), "fields": acc,
            "mean": round(sum(acc.values()) / len(FIELDS), 4),
            "all_four": round(sum(all(h.values()) for h in hits) / n, 4)}


def ship(model: Path, dest: Path, data: Path | None = None) -> dict[str, Any]:
    """Copy ``model``'s scorer files to ``dest``, measure them there, write the card."""
    missing = [f for f in FILES if not (model / f).is_file()]
    if missing:
        raise InputError(f"{model} is not a complete scorer folder (missing {', '.join(missing)})")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for f in FILES:
        shutil.copy2(model / f, dest / f)
    scorer = S.load_scorer(dest)
    metrics: dict[str, Any] = {"sample": sample_accuracy(scorer)}
    if data is not None:
        metrics["sroie_gold_lines"] = sroie_accuracy(scorer, data)
    (dest / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
    write_card(dest)
    return metrics


def write_card(dest: Path) -> None:
    """``dest``'s README.md from its scorer.json and metrics.json (the teacher's training
    summary: ``teacher_training`` of a distilled scorer)."""
    metrics = json.loads((dest / "metrics.json").read_text(encoding="utf-8"))
    (dest / "README.md").write_text(card(S.read_config(dest), metrics, dest), encoding="utf-8")


def card(cfg: dict[str, Any], metrics: dict[str, Any], dest: Path) -> str:
    """The model card: what it is, data and licences, metrics, how to retrain."""
    pruned = cfg.get("pruned", {})
    distill = cfg.get("distill", {})
    train = cfg.get("training") or cfg.get("teacher_training") or {}
    size = sum(p.stat().st_size for p in dest.iterdir() if p.is_file()) / 1e6
    sr = metrics.get("sroie_gold_lines")
    sroie = (f"SROIE dev evaluation split ({sr['receipts']} receipts with images, never trained "
             f"on), from the gold OCR lines: mean {sr['mean']:.3f}, all four right "
             f"{sr['all_four']:.3f}; " + ", ".join(f"{k} {v:.3f}" for k, v in sr["fields"].items())
             if sr else "SROIE: not measured when shipped")
    sm = metrics["sample"]
    return card_header("pruned", "distilled") + f"""\
# prunestack field scorer (version {cfg.get('version')}) — the default of `prunestack extract`

A cross-encoder over (field key path + description, candidate value in context with layout as
text) that scores whether the candidate is the field's value; `pipeline/extract/scorer.py`
builds the candidates (lines, spans of up to {cfg.get('max_span')} lines, a line without its
label or glued registration number, amounts, dates) and picks each scalar field's best.

- **Base:** all-MiniLM-L6-v2 (Apache-2.0), fine-tuned as a scorer (top {train.get('train_layers')}
  of 6 layers and a linear head), then pruned with prunestack's own engine
  ({pruned.get('method', '—')}, {pruned.get('ratio', 0):.0%} of the attention heads and MLP
  channels) and recovered by distillation from the dense scorer on the same data
  ({distill.get('steps')} steps of {distill.get('groups_per_step')} groups, {distill.get('epochs')}
  epoch(s), {distill.get('minutes')} min; loss {distill.get('loss')}).
- **Weights:** fp16 safetensors, {size:.1f} MB in this folder; loaded as fp32 on CPU.
- **Training data:** the 280 receipts of the SROIE dev set that have no image (ICDAR 2019
  SROIE, research use under its publishers' terms; their gold OCR lines with boxes) plus
  {train.get('synthetic', 0)} synthetic receipts, invoices and forms
  (`eval/scorer_data.py`, generated, no licence constraints) with {train.get('augment_copies', 0)}
  scan-augmented copy per real receipt. The 120 receipts with images are the evaluation split.
- **Metrics** (`metrics.json`):
  - {sroie}.
  - Fixed synthetic sample (`synthetic_documents({sm['documents']}, seed={sm['seed']})`,
    {sm['fields']} fields): accuracy {sm['accuracy']:.3f} — re-measured offline by
    `tests/extract/test_shipped_scorer.py`.
  - End to end from images and the speed against the dense scorer:
    `python -m benchmarks.run_all receipts_real` (see the README's figures).
- **Retrain:**
  `prunestack train extractor --data ../shared/data/sroie-dev
  --synthetic {train.get('synthetic', 0)} --augment {train.get('augment_copies', 0)}
  --out dense --seed {train.get('seed', 0)}`, then
  `prunestack train extractor --data ../shared/data/sroie-dev
  --synthetic {distill.get('synthetic', 0)} --augment {distill.get('augment_copies', 0)}
  --teacher dense --prune {pruned.get('ratio', 0.5)} --epochs {distill.get('epochs', 1)}
  --out pruned`, then
  `python -m prunestack.eval.ship_scorer --model pruned --data ../shared/data/sroie-dev`.
- **Fine-tune on your documents:** `prunestack train extractor --data MY_DIR --init
  {dest.name} --out MY_SCORER` (layout: `schema.json` + `NAME.pdf|png|jpg|html|txt` +
  `NAME.json`), then `prunestack extract --scorer-model MY_SCORER`.
- **Limits:** scalar fields only (arrays come from the rule engine); a value must be printed as a
  line, a span of lines, a line's part, or a typed token; trained mostly on Malaysian and
  Western till receipts — measure on your own documents.
"""


def main(argv: list[str] | None = None) -> None:
    from prunestack.models import FIELD_SCORER

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, help="the scorer folder to ship")
    ap.add_argument("--data", type=Path, default=None, help="SROIE dev folder (metrics)")
    ap.add_argument("--dest", type=Path, default=FIELD_SCORER)
    ap.add_argument("--card-only", action="store_true",
                    help="rewrite DEST's model card from its scorer.json and metrics.json")
    a = ap.parse_args(argv)
    if a.card_only:
        write_card(a.dest)
        return
    if a.model is None:
        ap.error("--model is required (or --card-only)")
    print(json.dumps(ship(a.model, a.dest, a.data), indent=1))


if __name__ == "__main__":
    main()
