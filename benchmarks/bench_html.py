"""HTML-for-RAG benchmark: cleaning speed vs the reference package, and a needle test per pruner.

1. Speed: clean + block tree (256 words) on the same real pages with ours and with ``htmlrag``
   0.1.1's ``clean_html`` / ``build_block_tree``, interleaved page by page in one run (the machine
   load hits both alike); pages/s and the ratio.
2. Needle: on pages of >= ``MIN_WORDS`` words, a sentence is picked at random (seeded); query = its
   first ``QUERY_WORDS`` words; hit = the whole sentence is in the pruned output. Budgets 256, 1024
   whitespace words, for bm25, embed (MiniLM), gen and two-step (bm25 -> gen) against a plain-text
   baseline (cleaned page text cut into 100-word chunks, BM25, best chunks that fit). ``gen`` runs a
   tiny RANDOM Llama (no trained causal LM is available offline): it measures mechanics and cost,
   not quality; pass ``PRUNESTACK_BENCH_LM=/path/to/model`` to use a real one.

3. Real pages (``--parts real``): the 81 real news / blog pages of ``../shared/data/articles-dev``
   (``PRUNESTACK_ARTICLES_DATA``; several languages, ``ground-truth.json`` has each articleBody)
   and the 10 real-world-like pages of ``tests/retrieval/pages_realworld``. Needle = a body
   sentence of 12-40 words (articleBody, or the hand-labelled main content), query = its first
   ``QUERY_WORDS`` words, hit = at least 90 % of the sentence's words survive pruning, in order
   (``difflib`` matching blocks over ``\\w+`` tokens); sentences that do not survive even
   unpruned cleaning are left out. Budgets 256 and 1024 words of the output's text
   (``WordCounter``: what a reader sees), for bm25 (with and without continuation fill), embed,
   hybrid (RRF) and auto side by side, plus the 100-word-chunk baseline; hit rate overall, per
   page set and per language (:func:`prunestack.retrieval.lang.guess_language` on the body
   text); the largest output / budget in words of text (must be <= 1) and in the old count
   (whitespace tokens of the HTML string). Writes reports/bench_html_real.{json,md,png}.

Pages for 1-2: real HTML documentation found on this machine (rustup's books, Debian docs), else
the test fixtures. Writes reports/bench_html.{json,md,png} and prints a table.
``python -m benchmarks.run_all html --parts real`` runs part 3 only (``--per-page N`` needles per
page, default 4).
"""

from __future__ import annotations

import glob
import json
import os
import random
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

REPORTS = Path("reports")
# ../shared/data from the project root (also from a worktree one level further down)
ARTICLES = Path(os.environ.get("PRUNESTACK_ARTICLES_DATA") or next(
    (p / "shared/data/articles-dev" for p in Path.cwd().resolve().parents
     if (p / "shared/data/articles-dev").is_dir()), "../shared/data/articles-dev"))
GLOBS = ("/root/.rustup/toolchains/*/share/doc/rust/html/book/ch*.html",
         "/root/.rustup/toolchains/*/share/doc/rust/html/reference/*.html",
         "/usr/share/doc/*/html/*.html", "/usr/share/doc/*/*.html")
SPEED_PAGES = 40
NEEDLE_PAGES = 10
NEEDLES_PER_PAGE = 3
MIN_WORDS = 2200
QUERY_WORDS = 8
BUDGETS = (256, 1024)
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def find_pages() -> list[Path]:
    found: list[str] = []
    for g in GLOBS:
        found.extend(sorted(glob.glob(g)))
    pages = [Path(p) for p in dict.fromkeys(found) if Path(p).stat().st_size > 4000]
    if not pages:
        pages = sorted(Path("tests/retrieval/fixtures").glob("*[!n].html"))
    return pages


def squash(s: str) -> str:
    return "".join(s.split())


def speed(pages: list[Path]) -> dict[str, Any]:
    import htmlrag

    from prunestack.retrieval.blocktree import build_block_tree
    from prunestack.retrieval.clean import clean_tree

    ours = ref = 0.0
    ours_blocks = ref_blocks = 0
    for p in pages:
        raw = p.read_bytes()
        text = raw.decode("utf-8", "replace")
        t0 = time.perf_counter()
        tree = build_block_tree(clean_tree(raw), 256)
        ours += time.perf_counter() - t0
        ours_blocks += len(tree.blocks) if tree else 0
        t0 = time.perf_counter()
        blocks, _ = htmlrag.build_block_tree(htmlrag.clean_html(text), max_node_words=256)
        ref += time.perf_counter() - t0
        ref_blocks += len(blocks)
    n = len(pages)
    return {"pages": n, "ours_s": ours, "ref_s": ref, "ours_pages_per_s": n / ours,
            "ref_pages_per_s": n / ref, "speedup": ref / ours, "ours_blocks": ours_blocks,
            "ref_blocks": ref_blocks}


class CachedEncoder:
    """MiniLM with a text -> vector cache (each page's blocks are embedded once per block size)."""

    def __init__(self) -> None:
        from prunestack.models import registry

        self.inner = registry().encoder()
        self.dim = self.inner.dim
        self.cache: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            for t, v in zip(todo, self.inner.encode(todo), strict=True):
                self.cache[t] = v
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, self.dim))


def baseline(text: str, query: str, budget: int) -> str:
    """Plain text, 100-word chunks, BM25, best chunks that fit, in document order."""
    from prunestack.retrieval.bm25 import BM25

    words = text.split()
    chunks = [" ".join(words[i:i + 100]) for i in range(0, len(words), 100)]
    scores = BM25(chunks).scores(query)
    kept, used = [], 0
    for i in np.argsort(-scores, kind="stable"):
        n = len(chunks[i].split())
        if used + n <= budget:
            kept.append(int(i))
            used += n
    return " ".join(chunks[i] for i in sorted(kept))


def tiny_lm(folder: Path) -> Path:
    import shutil

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from prunestack.models import write_mistral_tokenizer

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=32768, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                      bos_token_id=1, eos_token_id=2, pad_token_id=0)
    LlamaForCausalLM(cfg).save_pretrained(folder)
    tok = write_mistral_tokenizer(folder / "tok")
    for f in tok.iterdir():
        shutil.copy(f, folder / f.name)
    return folder


def needle(pages: list[Path], work: Path) -> dict[str, Any]:
    from lxml import etree
    from tqdm import tqdm

    from prunestack.retrieval.blocktree import build_block_tree
    from prunestack.retrieval.budget import WordCounter
    from prunestack.retrieval.prune import (
        BM25Pruner,
        EmbedPruner,
        GenPruner,
        PruneConfig,
        TwoStepPruner,
        prune_tree,
    )

    lm = os.environ.get("PRUNESTACK_BENCH_LM") or str(tiny_lm(work / "tiny-llama"))
    gen = GenPruner(lm, max_prompt_tokens=1024)
    pruners = {"bm25": BM25Pruner(), "embed": EmbedPruner(CachedEncoder()), "gen": gen,
               "two-step": TwoStepPruner(BM25Pruner(), gen, 2.0, PruneConfig().fine_max_words)}
    counter = WordCounter()
    rng = random.Random(0)
    cases = []
    for p in pages:
        tree = build_block_tree(p.read_bytes(), 128)
        if tree is None:
            continue
        text = tree.root.text()
        if len(text.split()) < MIN_WORDS:
            continue
        sents = [s for s in _SENT.split(text) if 12 <= len(s.split()) <= 40]
        for s in rng.sample(sents, min(NEEDLES_PER_PAGE, len(sents))):
            cases.append((p, tree, text, s))
        if len({c[0] for c in cases}) >= NEEDLE_PAGES:
            break
    names = ["baseline-100w", *pruners]
    hits = {b: dict.fromkeys(names, 0) for b in BUDGETS}
    secs = dict.fromkeys(names, 0.0)
    for _page, tree, text, sent in tqdm(cases, desc="needle cases", unit="case"):
        query = " ".join(sent.split()[:QUERY_WORDS])
        for budget in BUDGETS:
            t0 = time.perf_counter()
            kept = baseline(text, query, budget)
            secs["baseline-100w"] += time.perf_counter() - t0
            hits[budget]["baseline-100w"] += squash(sent) in squash(kept)
            for name, pruner in pruners.items():
                t0 = time.perf_counter()
                r = prune_tree(tree, query, budget, pruner, counter, max_words=128)
                secs[name] += time.perf_counter() - t0
                assert r.tokens <= budget
                out = etree.fromstring(r.html, etree.HTMLParser()).xpath("string()") if r.html \
                    else ""
                hits[budget][name] += squash(sent) in squash(out)
    n = len(cases)
    return {"cases": n, "pages": len({c[0] for c in cases}), "query_words": QUERY_WORDS,
            "lm": "tiny random Llama (mechanics only)" if "PRUNESTACK_BENCH_LM" not in os.environ
            else lm,
            "hit_rate": {str(b): {k: v / max(n, 1) for k, v in h.items()} for b, h in hits.items()},
            "seconds": secs}


def write_reports(res: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "bench_html.json").write_text(json.dumps(res, indent=1))
    sp, nd = res["speed"], res["needle"]
    lines = ["# HTML for RAG benchmark", "", f"Command: `{res['command']}`", "",
             "## Clean + block tree (256 words), same pages, one run", "",
             "| | pages | seconds | pages/s | blocks |", "|---|---|---|---|---|",
             f"| prunestack | {sp['pages']} | {sp['ours_s']:.2f} | {sp['ours_pages_per_s']:.1f} | "
             f"{sp['ours_blocks']} |",
             f"| htmlrag 0.1.1 | {sp['pages']} | {sp['ref_s']:.2f} | {sp['ref_pages_per_s']:.1f} | "
             f"{sp['ref_blocks']} |", "", f"Speed-up: **{sp['speedup']:.1f}x**", "",
             f"## Needle test ({nd['cases']} sentences from {nd['pages']} pages, query = first "
             f"{nd['query_words']} words, hit = whole sentence kept)", "",
             "| pruner | " + " | ".join(f"hit@{b}" for b in BUDGETS) + " | seconds |",
             "|---|" + "---|" * (len(BUDGETS) + 1)]
    for name in nd["seconds"]:
        rates = " | ".join(f"{nd['hit_rate'][str(b)][name]:.2f}" for b in BUDGETS)
        lines.append(f"| {name} | {rates} | {nd['seconds'][name]:.1f} |")
    lines += ["", f"gen / two-step language model: {nd['lm']}."]
    (REPORTS / "bench_html.md").write_text("\n".join(lines) + "\n")

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.bar(["prunestack", "htmlrag"], [sp["ours_pages_per_s"], sp["ref_pages_per_s"]],
          color=["tab:blue", "tab:gray"])
    a.set_ylabel("pages / s (clean + block tree)")
    a.set_title(f"{sp['speedup']:.1f}x faster on {sp['pages']} real pages")
    names = list(nd["seconds"])
    x = np.arange(len(names))
    for k, budget in enumerate(BUDGETS):
        b.bar(x + k * 0.4, [nd["hit_rate"][str(budget)][n] for n in names], 0.4,
              label=f"{budget} words")
    b.set_xticks(x + 0.2, names, rotation=15)
    b.set_ylim(0, 1)
    b.set_ylabel("needle hit rate")
    b.legend()
    fig.tight_layout()
    fig.savefig(REPORTS / "bench_html.png", dpi=120)


def main(argv: list[str] | None = None) -> None:
    import argparse
    import tempfile

    import torch

    ap = argparse.ArgumentParser(prog="python -m benchmarks.run_all html")
    ap.add_argument("--parts", default="speed,needle,real",
                    help="comma-separated: speed, needle (rust docs), real (articles-dev)")
    ap.add_argument("--per-page", type=int, default=4, help="real: needles per page")
    ap.add_argument("--data", type=Path, default=ARTICLES)
    args = ap.parse_args(argv or [])
    parts = {x.strip() for x in args.parts.split(",") if x.strip()}
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    if "real" in parts:
        from benchmarks.html_real import run_real

        run_real(args.data, args.per_page, QUERY_WORDS, BUDGETS, CachedEncoder())
    if not parts & {"speed", "needle"}:
        return
    pages = find_pages()
    res: dict[str, Any] = {"command": "python -m benchmarks.run_all html"}
    res["speed"] = speed(pages[:SPEED_PAGES])
    with tempfile.TemporaryDirectory() as work:
        res["needle"] = needle(pages, Path(work))
    write_reports(res)
    _print_tables(res)


def _print_tables(res: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    sp, nd = res["speed"], res["needle"]
    t = Table(title="clean + block tree")
    for c in ("impl", "pages/s", "seconds"):
        t.add_column(c)
    t.add_row("prunestack", f"{sp['ours_pages_per_s']:.1f}", f"{sp['ours_s']:.2f}")
    t.add_row("htmlrag", f"{sp['ref_pages_per_s']:.1f}", f"{sp['ref_s']:.2f}")
    console.print(t)
    console.print(f"speed-up {sp['speedup']:.1f}x")
    t = Table(title=f"needle ({nd['cases']} cases)")
    for c in ("pruner", *[f"hit@{b}" for b in BUDGETS], "seconds"):
        t.add_column(c)
    for name in nd["seconds"]:
        t.add_row(name, *[f"{nd['hit_rate'][str(b)][name]:.2f}" for b in BUDGETS],
                  f"{nd['seconds'][name]:.1f}")
    console.print(t)
    console.print(f"wrote {REPORTS}/bench_html.json, .md, .png")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
