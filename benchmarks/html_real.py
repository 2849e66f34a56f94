"""Needle queries on real pages for the HTML pruners, side by side in one run (part 3 of
``benchmarks/bench_html.py``; run it with ``python -m benchmarks.run_all html --parts real``).

Pages: ``articles-dev`` (81 real news / blog pages, several languages; ``ground-truth.json`` holds
each page's articleBody) and ``tests/retrieval/pages_realworld`` (10 pages with the markup of real
sites; ``main_content.json`` labels the main content). A needle is a body sentence of 12-40 words;
the query is its first ``query_words`` words; a hit is at least ``HIT_SHARE`` of the sentence's
words surviving pruning in order (difflib matching blocks over lower-cased ``\\w+`` tokens of the
output's text); pages not in English give 3x as many needles (they are few). Sentences that do
not survive cleaning of the whole page (ground truth that the
page renders differently) are left out and counted.

Budgets are words of the output's text as a reader sees it (:class:`WordCounter`); the report
gives the largest output / budget in that count (must be <= 1) and in the old count (whitespace
tokens of the HTML string, which glued ``<li><a>Home</a></li><li><a>News</a></li>`` into one).
Writes ``reports/bench_html_real.{json,md,png}`` and prints a table.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import time
from collections import defaultdict
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import numpy as np

REPORTS = Path("reports")
REALWORLD = Path("tests/retrieval/pages_realworld")
HIT_SHARE = 0.9
MIN_SENT, MAX_SENT = 12, 40
COMMAND = "python -m benchmarks.run_all html --parts real"
_SENT = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])|\n+")
_TOK = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> list[str]:
    return _TOK.findall(text.lower())


def survives(sentence: list[str], out: list[str]) -> float:
    """Share of ``sentence``'s tokens found, in order, in ``out``."""
    if not sentence:
        return 0.0
    m = SequenceMatcher(None, out, sentence, autojunk=False)
    return sum(b.size for b in m.get_matching_blocks()) / len(sentence)


def sentences(text: str) -> list[str]:
    return [" ".join(s.split()) for s in _SENT.split(text)
            if MIN_SENT <= len(s.split()) <= MAX_SENT]


def load_cases(data: Path, per_page: int, seed: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Needle cases from both page sets: (cases, sentences left out as unreachable)."""
    from prunestack.retrieval.blocktree import build_block_tree, spaced_text
    from prunestack.retrieval.lang import guess_language
    from prunestack.retrieval.quality import load_pages, main_elements

    rng = random.Random(seed)
    pages: list[tuple[str, str, bytes, str]] = []  # (set, id, raw html, body text)
    truth = json.loads((data / "ground-truth.json").read_text())
    for pid in sorted(truth):
        f = data / "html" / f"{pid}.html.gz"
        if f.exists():
            pages.append(("articles-dev", pid, gzip.decompress(f.read_bytes()),
                          truth[pid]["articleBody"]))
    for page in load_pages(REALWORLD):
        _, main, excl = main_elements(page)
        body = "\n".join(" ".join(" ".join(e.itertext()).split()) for e in main if e not in excl)
        pages.append(("realworld", page.name, page.html, body))
    cases: list[dict[str, Any]] = []
    dropped = 0
    for set_name, pid, raw, body in pages:
        tree = build_block_tree(raw, 256)
        if tree is None:
            continue
        page_tokens = tokens(spaced_text(tree.root))
        lang = guess_language(body)
        quota = per_page if lang == "en" else 3 * per_page  # few non-English pages: more each
        picked = 0
        cands = sentences(body)
        rng.shuffle(cands)
        for sent in cands:
            if picked >= quota:
                break
            st = tokens(sent)
            if len(st) < MIN_SENT or survives(st, page_tokens) < HIT_SHARE:
                dropped += 1
                continue
            cases.append({"set": set_name, "page": pid, "lang": lang, "tree": tree,
                          "text": spaced_text(tree.root), "sentence": sent, "sent_tokens": st})
            picked += 1
    return cases, dropped


def baseline(text: str, query: str, budget: int) -> str:
    from benchmarks.bench_html import baseline as chunks

    return chunks(text, query, budget)


def run_real(data: Path, per_page: int, query_words: int, budgets: tuple[int, ...],
             encoder: Any) -> dict[str, Any]:
    from rich.console import Console
    from rich.table import Table
    from tqdm import tqdm

    from prunestack.retrieval.budget import WordCounter, html_text
    from prunestack.retrieval.prune import (
        AutoPruner,
        BM25Pruner,
        EmbedPruner,
        HybridPruner,
        block_words_for_budget,
        prune_tree,
    )

    if not (data / "ground-truth.json").exists():
        raise FileNotFoundError(f"{data}/ground-truth.json not found: pass --data or set "
                                "PRUNESTACK_ARTICLES_DATA")
    cases, dropped = load_cases(data, per_page)
    embed = EmbedPruner(encoder)
    bm25 = BM25Pruner()
    pruners: dict[str, tuple[Any, bool]] = {  # name -> (pruner, continuation fill)
        "bm25": (bm25, True),
        "bm25 (no fill)": (bm25, False),
        "embed": (embed, True),
        "hybrid": (HybridPruner(embed=embed, bm25=bm25), True),
        "auto": (AutoPruner(hybrid=HybridPruner(embed=embed, bm25=bm25), bm25=bm25), True),
    }
    counter = WordCounter()
    names = ["baseline-100w", *pruners]
    rows: list[dict[str, Any]] = []
    secs = dict.fromkeys(names, 0.0)
    for case in tqdm(cases, desc="real needles", unit="case"):
        query = " ".join(case["sentence"].split()[:query_words])
        tree = case["tree"]
        for budget in budgets:
            t0 = time.perf_counter()
            kept = baseline(case["text"], query, budget)
            secs["baseline-100w"] += time.perf_counter() - t0
            rows.append({"pruner": "baseline-100w", "budget": budget, "set": case["set"],
                         "lang": case["lang"], "page": case["page"],
                         "hit": survives(case["sent_tokens"], tokens(kept)) >= HIT_SHARE,
                         "ratio": len(kept.split()) / budget, "old_ratio":
                         len(kept.split()) / budget, "filled": 0, "chosen": "baseline"})
            max_words = block_words_for_budget(tree, budget, counter)
            for name, (pruner, fill) in pruners.items():
                t0 = time.perf_counter()
                r = prune_tree(tree, query, budget, pruner, counter, max_words=max_words,
                               fill=fill)
                secs[name] += time.perf_counter() - t0
                text = html_text(r.html)
                words = len(text.split())
                assert r.tokens == words <= budget, (case["page"], name, budget, words)
                rows.append({"pruner": name, "budget": budget, "set": case["set"],
                             "lang": case["lang"], "page": case["page"],
                             "hit": survives(case["sent_tokens"], tokens(text)) >= HIT_SHARE,
                             "ratio": words / budget, "old_ratio": len(r.html.split()) / budget,
                             "filled": r.filled, "chosen": r.pruner,
                             "sentence": case["sentence"]})
    res = summarise(rows, names, budgets, secs)
    res.update({"command": COMMAND, "cases": len(cases), "dropped_unreachable": dropped,
                "pages": len({(c["set"], c["page"]) for c in cases}),
                "per_page": per_page, "query_words": query_words, "hit_share": HIT_SHARE,
                "budget_unit": "words of the output's text (WordCounter)",
                "misses": [r for r in rows
                           if not r["hit"] and r["pruner"] in ("bm25", "hybrid", "auto")]})
    write_reports(res, names, budgets)
    console = Console()
    t = Table(title=f"real-page needles ({res['cases']} cases, {res['pages']} pages)")
    for c in ("pruner", *[f"hit@{b}" for b in budgets], "max words/budget", "old max", "s"):
        t.add_column(c)
    for n in names:
        o = res["overall"][n]
        t.add_row(n, *[f"{o[str(b)]['hit']:.3f}" for b in budgets], f"{o['max_ratio']:.3f}",
                  f"{o['max_old_ratio']:.3f}", f"{secs[n]:.1f}")
    console.print(t)
    console.print(f"wrote {REPORTS}/bench_html_real.json, .md, .png")
    return res


def summarise(rows: list[dict[str, Any]], names: list[str], budgets: tuple[int, ...],
              secs: dict[str, float]) -> dict[str, Any]:
    def rate(sel: list[dict[str, Any]]) -> dict[str, Any]:
        return {"hit": float(np.mean([r["hit"] for r in sel])) if sel else float("nan"),
                "n": len(sel)}

    overall: dict[str, Any] = {}
    by_set: dict[str, Any] = defaultdict(dict)
    by_lang: dict[str, Any] = defaultdict(dict)
    for n in names:
        mine = [r for r in rows if r["pruner"] == n]
        overall[n] = {str(b): rate([r for r in mine if r["budget"] == b]) for b in budgets}
        overall[n].update({
            "max_ratio": max((r["ratio"] for r in mine), default=0.0),
            "max_old_ratio": max((r["old_ratio"] for r in mine), default=0.0),
            "mean_ratio": {str(b): float(np.mean([r["ratio"] for r in mine
                                                  if r["budget"] == b] or [0]))
                           for b in budgets},
            "mean_filled": float(np.mean([r["filled"] for r in mine] or [0])),
            "seconds": secs[n],
            "chosen": dict(sorted({c: sum(r["chosen"] == c for r in mine)
                                   for c in {r["chosen"] for r in mine}}.items())),
        })
        for key, dest in (("set", by_set), ("lang", by_lang)):
            for v in sorted({r[key] for r in mine}):
                dest[v][n] = {str(b): rate([r for r in mine if r[key] == v and r["budget"] == b])
                              for b in budgets}
    return {"overall": overall, "by_set": dict(by_set), "by_lang": dict(by_lang)}


def write_reports(res: dict[str, Any], names: list[str], budgets: tuple[int, ...]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "bench_html_real.json").write_text(json.dumps(res, indent=1, ensure_ascii=False))
    hits = " | ".join(f"hit@{b}" for b in budgets)
    lines = ["# HTML pruners on real pages: needle queries", "", f"Command: `{res['command']}`",
             "", f"{res['cases']} needles from {res['pages']} pages (articles-dev + the 10 "
             f"real-world-like pages); query = a body sentence's first {res['query_words']} "
             f"words; hit = ≥ {res['hit_share']:.0%} of its words survive, in order; "
             f"{res['dropped_unreachable']} sentences not in the cleaned page left out. Budgets "
             f"in {res['budget_unit']}.", "",
             f"| pruner | {hits} | max words/budget | old count max | mean filled blocks | "
             "seconds |", "|---|" + "---|" * (len(budgets) + 4)]
    for n in names:
        o = res["overall"][n]
        lines.append(f"| {n} | " + " | ".join(f"{o[str(b)]['hit']:.3f}" for b in budgets)
                     + f" | {o['max_ratio']:.3f} | {o['max_old_ratio']:.3f} | "
                     f"{o['mean_filled']:.2f} | {o['seconds']:.1f} |")
    for title, key in (("Per page set", "by_set"), ("Per language (guessed from the body text)",
                                                     "by_lang")):
        lines += ["", f"## {title}", "", "| group | n | " + " | ".join(
            f"{n} @{b}" for n in names if "no fill" not in n for b in budgets) + " |",
            "|---|---|" + "---|" * (len([n for n in names if "no fill" not in n]) * len(budgets))]
        for g, by in res[key].items():
            count = next(iter(by.values()))[str(budgets[0])]["n"]
            lines.append(f"| {g} | {count} | " + " | ".join(
                f"{by[n][str(b)]['hit']:.3f}" for n in names if "no fill" not in n
                for b in budgets) + " |")
    auto = res["overall"].get("auto", {}).get("chosen")
    if auto:
        lines += ["", f"auto chose: {auto} (prunes over both budgets)."]
    (REPORTS / "bench_html_real.md").write_text("\n".join(lines) + "\n")

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4))
    x = np.arange(len(names))
    for k, budget in enumerate(budgets):
        a.bar(x + k * 0.4, [res["overall"][n][str(budget)]["hit"] for n in names], 0.4,
              label=f"{budget} words")
    a.set_xticks(x + 0.2, names, rotation=20, fontsize=8)
    a.set_ylim(0.5, 1.0)
    a.set_ylabel("needle hit rate")
    a.legend()
    langs = list(res["by_lang"])
    lx = np.arange(len(langs))
    shown = [n for n in names if "no fill" not in n and n != "baseline-100w"]
    for k, n in enumerate(shown):
        b.bar(lx + k * 0.8 / len(shown), [res["by_lang"][g][n][str(budgets[0])]["hit"]
                                          for g in langs], 0.8 / len(shown), label=n)
    b.set_xticks(lx + 0.4, [f"{g} ({res['by_lang'][g][shown[0]][str(budgets[0])]['n']})"
                            for g in langs])
    b.set_ylabel(f"hit@{budgets[0]} by language")
    b.set_ylim(0, 1.05)
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(REPORTS / "bench_html_real.png", dpi=120)
