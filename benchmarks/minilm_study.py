"""Real weights: prune all-MiniLM-L6-v2 (heads + FFN channels) with every criterion at 20/30/50 %.

Measured on real English text that ships with the machine (licence texts and Python standard
library docstrings, held-out split): cosine similarity of sentence embeddings (mean pooling + L2
normalisation, as sentence-transformers does) to the dense model's, and top-10 retrieval overlap
(30 queries against 120 passages, at most 32 tokens each; share of the dense top-10 that the
pruned top-10 recovers).
Head pruning cannot be written as a stock BertConfig (transformers derives the head size from
hidden / heads), so the study also prunes FFN channels only with uniform widths; the best such
encoder is saved as a stock folder (``reports/minilm-pruned``) for retrieval and its forward-pass
speed-up is measured side by side with the dense model.

Run: ``python -m benchmarks.minilm_study`` (also called by ``bench_pruning``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch

from prunestack.pipeline.pruning.measure import retrieval_texts as corpus
from prunestack.pipeline.pruning.measure import sentence_embed as embed
from prunestack.pipeline.pruning.measure import topk_overlap

REPORTS = Path("reports")
CRITERIA = ["magnitude", "wanda-sp", "flap", "taylor"]
RATIOS = [0.2, 0.3, 0.5]


def _load():
    from transformers import AutoModel, AutoTokenizer

    from prunestack.models import minilm_path

    path = minilm_path()
    return (AutoModel.from_pretrained(str(path), local_files_only=True).eval(),
            AutoTokenizer.from_pretrained(str(path), local_files_only=True), path)


def main(quick: bool = False) -> dict[str, Any]:
    from rich.console import Console
    from rich.table import Table

    from prunestack.pipeline.pruning import prune, save_pruned
    from prunestack.pipeline.pruning.measure import encoder_latency

    torch.manual_seed(0)
    console = Console()
    REPORTS.mkdir(exist_ok=True)
    dense, tok, path = _load()
    queries, passages = corpus()
    if quick:
        queries, passages = queries[:20], passages[:100]
    qd, cd = embed(dense, tok, queries), embed(dense, tok, passages)
    rows: list[dict[str, Any]] = []
    runs = [(c, r, ["heads", "channels"], None) for c in CRITERIA for r in RATIOS]
    runs += [(c, r, ["channels"], "uniform") for c in ("flap",) for r in RATIOS]
    best: tuple[float, Any, dict[str, Any]] | None = None
    for crit, ratio, structs, allocation in runs:
        model, _, _ = _load()
        recipe: dict[str, Any] = {"method": crit, "ratio": ratio, "structures": structs,
                                  "nsamples": 8, "seqlen": 64}
        if allocation:
            recipe["allocation"] = allocation
        t0 = time.perf_counter()
        res = prune(model, recipe, tokenizer=tok, progress=False)
        q, c = embed(model, tok, queries), embed(model, tok, passages)
        row = {"criterion": crit, "structures": "+".join(structs),
               "allocation": res.recipe.allocation, "ratio": ratio,
               "achieved": round(res.stats["achieved_ratio"], 4),
               "model_params_removed": round(res.stats["model_params_removed"], 4),
               "cosine": round(float((c * cd).sum(1).mean()), 4),
               "top10_overlap": round(topk_overlap(qd, cd, q, c), 4),
               "prune_s": round(time.perf_counter() - t0, 1)}
        rows.append(row)
        console.print(row)
        if structs == ["channels"] and ratio == 0.5 and (best is None or row["cosine"] > best[0]):
            best = (row["cosine"], model, row)
    assert best is not None
    out_dir = REPORTS / "minilm-pruned"
    entry = save_pruned(best[1], out_dir, tok, meta={"study_row": best[2]})
    from transformers import AutoModel

    stock = AutoModel.from_pretrained(str(out_dir), local_files_only=True).eval()  # stock BERT
    check = float((embed(stock, tok, passages[:50]) * embed(best[1], tok, passages[:50]))
                  .sum(1).min())
    lat = encoder_latency({"dense": dense, "pruned": stock}, seqlen=128, batch=16,
                          repeats=3 if quick else 7)
    summary = {"model": str(path), "queries": len(queries), "passages": len(passages),
               "rows": rows, "best_stock_encoder": {**best[2], "folder": str(out_dir),
                                                    "stock_config": entry["uniform"],
                                                    "reload_min_cosine": round(check, 6),
                                                    "dense_forward_s": lat["dense"],
                                                    "pruned_forward_s": lat["pruned"],
                                                    "speedup": lat["dense"] / lat["pruned"]}}
    (REPORTS / "pruning_minilm.json").write_text(json.dumps(summary, indent=1))
    md = ["# all-MiniLM-L6-v2 pruning study", "",
          f"{len(queries)} queries, {len(passages)} passages of held-out English text; "
          "cosine = mean cosine of pruned vs dense passage embeddings; top-10 overlap vs dense.",
          "", "| criterion | structures | allocation | ratio | achieved | model params removed "
          "| cosine | top-10 overlap |", "|---|---|---|---|---|---|---|---|"]
    md += [f"| {r['criterion']} | {r['structures']} | {r['allocation']} | {r['ratio']} | "
           f"{r['achieved']} | {r['model_params_removed']} | {r['cosine']} | "
           f"{r['top10_overlap']} |" for r in rows]
    b = summary["best_stock_encoder"]
    md += ["", f"Best stock (uniform FFN) encoder at 50 %: {b['criterion']}, cosine {b['cosine']},"
           f" top-10 overlap {b['top10_overlap']}, forward speed-up {b['speedup']:.2f}x "
           f"(batch 16 x 128 tokens, CPU), saved to `{b['folder']}`."]
    (REPORTS / "pruning_minilm.md").write_text("\n".join(md) + "\n")
    _plot(rows)
    table = Table(title="MiniLM pruning: similarity to the dense encoder")
    for col in ("criterion", "structures", "ratio", "cosine", "top10_overlap"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["criterion"], r["structures"], str(r["ratio"]), str(r["cosine"]),
                      str(r["top10_overlap"]))
    Console().print(table)
    Console().print(f"best stock encoder: {b}")
    return summary


def _plot(rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for key in sorted({(r["criterion"], r["structures"]) for r in rows}):
        rs = [r for r in rows if (r["criterion"], r["structures"]) == key]
        for i, metric in enumerate(("cosine", "top10_overlap")):
            ax[i].plot([r["ratio"] for r in rs], [r[metric] for r in rs], marker="o",
                       label=f"{key[0]} ({key[1]})")
            ax[i].set_xlabel("pruning ratio")
            ax[i].set_ylabel(metric)
    ax[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(REPORTS / "pruning_minilm.png", dpi=100)


if __name__ == "__main__":
    main()
