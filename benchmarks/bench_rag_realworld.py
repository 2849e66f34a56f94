"""Real-world page benchmark for HTML pruning: answer recall and boilerplate share.

Pages: ``tests/retrieval/pages_realworld`` (10 pages with the markup of real sites, 37 questions
whose answer is one sentence or table cell of the main content; boilerplate holds distractors).
For bm25, embed (real all-MiniLM-L6-v2) and hybrid (the two fused, ``HybridPruner``) at budgets
128 / 256 / 512 MiniLM tokens, with the boilerplate prior on (default) and off
(``BoilerplateConfig(weight=0)``), side by side in one run:

- recall: share of questions whose answer string is in the pruned HTML's text;
- boilerplate share: tokens of kept blocks outside the hand-labelled main content / all kept tokens.

Writes reports/bench_rag_realworld.{json,md,png} and prints a table.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

REPORTS = Path("reports")
PAGES = Path("tests/retrieval/pages_realworld")
BUDGETS = (128, 256, 512)
COMMAND = "python -m benchmarks.run_all rag_realworld"


def run() -> dict[str, Any]:
    from benchmarks.bench_html import CachedEncoder
    from prunestack.models import minilm_path
    from prunestack.retrieval.boilerplate import BoilerplateConfig
    from prunestack.retrieval.budget import make_counter
    from prunestack.retrieval.prune import BM25Pruner, EmbedPruner, HybridPruner, PruneConfig
    from prunestack.retrieval.quality import evaluate, load_pages

    pages = load_pages(PAGES)
    counter = make_counter(str(minilm_path()))
    embed = EmbedPruner(CachedEncoder())
    pruners = {"bm25": BM25Pruner(), "embed": embed, "hybrid": HybridPruner(embed=embed)}
    configs = {"prior on": PruneConfig(),
               "prior off": PruneConfig(boilerplate=BoilerplateConfig(weight=0.0))}
    rows: list[dict[str, Any]] = []
    for pname, pruner in pruners.items():
        for cname, cfg in configs.items():
            t0 = time.perf_counter()
            res = evaluate(pages, pruner, counter, BUDGETS, cfg)
            secs = time.perf_counter() - t0
            for budget, r in res.items():
                rows.append({"pruner": pname, "config": cname, "budget": budget,
                             "recall": r["recall"], "boilerplate_share": r["boilerplate_share"],
                             "questions": r["questions"], "misses": r["misses"],
                             "seconds": secs})
    return {"command": COMMAND, "pages": len(pages),
            "questions": sum(len(p.qa) for p in pages), "counter": "all-MiniLM-L6-v2 tokens",
            "rows": rows}


def write_reports(res: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "bench_rag_realworld.json").write_text(json.dumps(res, indent=1,
                                                                 ensure_ascii=False))
    lines = ["# HTML pruning on real-world-like pages", "", f"Command: `{res['command']}`", "",
             f"{res['pages']} pages, {res['questions']} questions, budgets in {res['counter']}.",
             "", "| pruner | prior | " + " | ".join(f"recall@{b}" for b in BUDGETS) + " | "
             + " | ".join(f"boiler@{b}" for b in BUDGETS) + " |",
             "|---|---|" + "---|" * (2 * len(BUDGETS))]
    groups: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
    for r in res["rows"]:
        groups.setdefault((r["pruner"], r["config"]), {})[r["budget"]] = r
    for (p, c), by in groups.items():
        lines.append(f"| {p} | {c} | " + " | ".join(f"{by[b]['recall']:.3f}" for b in BUDGETS)
                     + " | " + " | ".join(f"{by[b]['boilerplate_share']:.3f}" for b in BUDGETS)
                     + " |")
    (REPORTS / "bench_rag_realworld.md").write_text("\n".join(lines) + "\n")

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for (p, c), by in groups.items():
        style = "-" if c == "prior on" else "--"
        a.plot(BUDGETS, [by[x]["recall"] for x in BUDGETS], style, marker="o", label=f"{p}, {c}")
        b.plot(BUDGETS, [by[x]["boilerplate_share"] for x in BUDGETS], style, marker="o",
               label=f"{p}, {c}")
    a.set_xlabel("budget (MiniLM tokens)")
    a.set_ylabel("answer recall")
    a.set_ylim(0, 1)
    b.set_xlabel("budget (MiniLM tokens)")
    b.set_ylabel("share of kept tokens on boilerplate")
    b.set_ylim(0, 1)
    a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(REPORTS / "bench_rag_realworld.png", dpi=120)


def main() -> None:
    import torch
    from rich.console import Console
    from rich.table import Table

    torch.set_num_threads(1)
    res = run()
    write_reports(res)
    t = Table(title="answer recall / boilerplate share (MiniLM-token budgets)")
    for c in ("pruner", "prior", "budget", "recall", "boilerplate share"):
        t.add_column(c)
    for r in res["rows"]:
        t.add_row(r["pruner"], r["config"], str(r["budget"]), f"{r['recall']:.3f}",
                  f"{r['boilerplate_share']:.3f}")
    Console().print(t)


if __name__ == "__main__":
    main()
