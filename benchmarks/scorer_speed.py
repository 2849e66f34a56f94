"""Learned field scorer size and speed: parameters, folder MB, pairs scored per second.

Usage (from the repository root)::

    python -m benchmarks.scorer_speed DENSE_DIR PRUNED30_DIR PRUNED50_DIR [--data DIR]
        [--pairs 512] [--threads 2] [--repeats 3]

The pairs are real: every (field, candidate) pair of the SROIE evaluation receipts (those with an
image; their gold OCR lines as the page, ``eval.sroie.gold_document``) as the scorer builds them
at extraction time (``scorer.line_candidates`` + ``pair_text``), the first ``--pairs`` of them.
Each folder is loaded once through ``scorer.load_scorer`` (the registry: fp32 on CPU), warmed up
on one batch, then timed scoring all pairs in batches of 32 (``LearnedScorer.logits``), the best
of ``--repeats`` runs, as wall time and as process CPU time (``--threads`` torch threads; on a
shared machine the CPU time is the steadier figure). Speed (CPU) is against the first folder.
A helper study, not part of ``make bench``: it prints a Markdown table and writes
``reports/scorer_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


def pairs(data: Path, limit: int) -> tuple[list[str], list[str]]:
    from prunestack.eval.sroie import SCHEMA, gold_document, receipt_ids
    from prunestack.pipeline.extract import scorer as S
    from prunestack.pipeline.extract import values as V
    from prunestack.pipeline.schema import plan_fields

    firsts: list[str] = []
    seconds: list[str] = []
    for rid in receipt_ids(data, with_images=True):
        doc = gold_document(data, rid)
        lines = S.doc_lines(doc)
        dayfirst = V.date_order_hint([ln.text for ln in lines])
        sizes, body = S.page_sizes(doc), S.body_font_size(lines)
        for f in plan_fields(SCHEMA):
            for c in S.line_candidates(lines, f, dayfirst):
                firsts.append(S.field_text(f))
                seconds.append(S.pair_text(lines, c, sizes.get(lines[c.first].page, (1.0, 1.0)),
                                           body))
        if len(firsts) >= limit:
            break
    return firsts[:limit], seconds[:limit]


def measure(folder: Path, firsts: list[str], seconds: list[str], repeats: int) -> dict[str, Any]:
    from safetensors import safe_open

    from prunestack.pipeline.extract.scorer import load_scorer

    scorer = load_scorer(folder)
    scorer.logits(firsts[:32], seconds[:32])  # warm-up
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        scorer.logits(firsts, seconds)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        disk_dtype = str(f.get_tensor(next(iter(f.keys()))).dtype).removeprefix("torch.")
    layers = scorer.model.encoder.layer
    return {"scorer": folder.name, "folder": str(folder),
            "params": sum(p.numel() for p in scorer.model.parameters()),
            "layer_params": sum(p.numel() for p in layers.parameters()),
            "heads": [x.attention.self.num_attention_heads for x in layers],
            "ffn": [x.intermediate.dense.out_features for x in layers],
            "folder_mb": sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) / 1e6,
            "weights_dtype": disk_dtype, "pairs": len(firsts), "seconds": best,
            "cpu_seconds": best_cpu, "pairs_per_s": len(firsts) / best,
            "pairs_per_cpu_s": len(firsts) / best_cpu}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", type=Path, nargs="+", help="scorer folders, the reference first")
    ap.add_argument("--data", type=Path, default=Path("../shared/data/sroie-dev"))
    ap.add_argument("--pairs", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("reports"))
    args = ap.parse_args(argv if argv is not None else sys.argv[1:])
    if not (args.data / "key").is_dir():
        print(f"skipped: no SROIE data at {args.data} (--data)")
        return
    import torch

    torch.set_num_threads(args.threads)
    firsts, seconds = pairs(args.data, args.pairs)
    rows = [measure(f, firsts, seconds, args.repeats) for f in args.folders]
    lines = ["| scorer | weights | params | layer params | folder MB | pairs/s (wall) | "
             "pairs per CPU-s | speed (CPU) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['scorer']} | {r['weights_dtype']} | {r['params'] / 1e6:.2f} M | "
                     f"{r['layer_params'] / 1e6:.2f} M | {r['folder_mb']:.1f} | "
                     f"{r['pairs_per_s']:.0f} | {r['pairs_per_cpu_s']:.0f} | "
                     f"{r['pairs_per_cpu_s'] / rows[0]['pairs_per_cpu_s']:.2f}x |")
    table = "\n".join(lines)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scorer_speed.json").write_text(json.dumps(rows, indent=1))
    print(f"{len(firsts)} real (field, candidate) pairs, batch 32, {args.threads} threads, "
          f"best of {args.repeats}:\n\n{table}")


if __name__ == "__main__":
    main()
