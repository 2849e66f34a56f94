"""Ask real PDFs questions (MoDora's MMDA dev set): evidence recall, answers, speed, crashes.

Usage (from the repository root)::

    python -m benchmarks.run_all ask_real
    python -m benchmarks.bench_ask_real [--data DIR] [--limit N] [--budgets 256 1024]

On ``DATA`` (default ``../shared/data/mmda-dev``: ``pdf/*.pdf`` and ``questions.json``), every
question is asked with ``prunestack.pipeline.ask`` (the code behind ``prunestack ask``; extractive
engine, MiniLM, the shipped learned scorer). Measured, side by side in one run:

- **answer-in-evidence** at each budget (words), on the questions whose normalised answer
  (NFKC, lower case, every run of non-word characters one space) occurs in the PDF's text
  layer as pdfplumber reads it: ours vs the baseline, BM25 (``retrieval.bm25``) over 100-word
  chunks of pdfplumber's text, chunks in rank order, the last one cut at the budget;
- **phrase fidelity**: on the same questions, how often the answer phrase occurs in our parsed
  text (all elements, reading order) vs in pdfplumber's;
- **crashes** over all questions (an exception from parsing or asking; must be 0);
- **extractive answers** by tag: exact (normalised answer == gold) and contained (the gold
  within the answer) rates;
- **seconds per question**: cold (the first question on a PDF: parse + index + ask, cache empty)
  and warm (the same document again, from the cache: retrieval + extractive answer, and
  retrieval alone), p50 / p95.

The data folder comes from ``--data`` or ``PRUNESTACK_MMDA_DATA``; without it the benchmark
prints why and skips. Writes ``reports/bench_ask_real.{json,md,png}``
and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
import traceback
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.report import save

DEFAULT_DATA = Path("../shared/data/mmda-dev")
REPORTS = Path("reports")
NAME = "bench_ask_real"


def norm(text: str) -> str:
    t = unicodedata.normalize("NFKC", text).lower()
    return " ".join(re.sub(r"[\W_]+", " ", t).split())


def answer_in(answer: str, text: str) -> bool:
    a = norm(answer)
    return bool(a) and f" {a} " in f" {norm(text)} "


def plumber_text(pdf: Path) -> str:
    import pdfplumber

    with pdfplumber.open(str(pdf)) as doc:
        return "\n".join((p.extract_text() or "") for p in doc.pages)


def chunk_baseline(text: str, question: str, budget: int, size: int = 100) -> str:
    """BM25 over ``size``-word chunks of ``text``; chunks in rank order, cut at ``budget``."""
    import numpy as np

    from prunestack.retrieval.bm25 import BM25

    words = text.split()
    chunks = [" ".join(words[i:i + size]) for i in range(0, len(words), size)]
    if not chunks:
        return ""
    scores = BM25(chunks).scores(question)
    out: list[str] = []
    left = budget
    for i in np.argsort(-scores, kind="stable"):
        piece = chunks[int(i)].split()[:left]
        out += piece
        left -= len(piece)
        if left <= 0:
            break
    return " ".join(out)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))], 3)


def run(data: Path, budgets: list[int], limit: int | None = None) -> dict[str, Any]:
    from prunestack.models import registry
    from prunestack.parsers.ingest import parse, read_upload
    from prunestack.pipeline.ask.core import (
        DocumentCache,
        ask_document,
        document_key,
        prepare_document,
    )
    from prunestack.pipeline.extract.scorer import load_scorer

    questions = json.loads((data / "questions.json").read_text())
    if limit:
        questions = questions[:limit]
    encoder = registry().encoder()
    scorer = load_scorer()
    cache = DocumentCache(max_docs=4)
    plumber: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    cold: list[float] = []
    warm: list[float] = []
    warm_retrieve: list[float] = []
    seen: set[str] = set()
    for n, q in enumerate(questions):
        pdf = data / "pdf" / q["pdf_id"]
        row: dict[str, Any] = {"id": q["questionId"], "tag": q["tag"], "pdf": q["pdf_id"],
                               "question": q["question"], "gold": q["answer"]}
        try:
            if q["pdf_id"] not in plumber:
                plumber[q["pdf_id"]] = plumber_text(pdf)
            ptext = plumber[q["pdf_id"]]
            row["in_text"] = answer_in(q["answer"], ptext)
            upload = read_upload(pdf)
            key = document_key(upload.data, ocr="auto", pages=None)
            first = q["pdf_id"] not in seen
            if first:
                cache.clear()
            t0 = time.perf_counter()
            prepared, hit = prepare_document(key, lambda u=upload: parse(u), encoder, cache)
            asked = ask_document(prepared, q["question"], budgets[0], encoder=encoder,
                                 scorer=scorer, cached=hit)
            if first:
                cold.append(time.perf_counter() - t0)
                seen.add(q["pdf_id"])
            evidence = {b: [e.text for e in (asked.evidence if b == budgets[0] else
                                             prepared.index.search(q["question"], b,
                                                                   encoder).evidence)]
                        for b in budgets}
            t1 = time.perf_counter()
            prepared, _ = prepare_document(key, lambda u=upload: parse(u), encoder, cache)
            again = ask_document(prepared, q["question"], budgets[0], encoder=encoder,
                                 scorer=scorer, cached=True)
            warm.append(time.perf_counter() - t1)
            warm_retrieve.append(again.timings["retrieve"])
            ours_text = "\n".join(e.text for e in prepared.doc.elements())
            row["in_ours"] = answer_in(q["answer"], ours_text)
            for b in budgets:
                ev = " ".join(evidence[b])
                row[f"ours@{b}"] = answer_in(q["answer"], ev)
                row[f"words@{b}"] = len(ev.split())
                row[f"base@{b}"] = answer_in(q["answer"], chunk_baseline(ptext, q["question"], b))
            ans = asked.answer or ""
            row["answer"] = ans
            row["qtype"] = asked.question_type
            row["exact"] = bool(ans) and norm(ans) == norm(q["answer"])
            row["contained"] = bool(ans) and answer_in(q["answer"], ans)
            row["crash"] = None
        except Exception as exc:
            row["crash"] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        rows.append(row)
        print(f"[{n + 1}/{len(questions)}] {q['pdf_id']} "
              + " ".join(f"{k}={row.get(k)}" for k in
                         ("in_text", *(f"ours@{b}" for b in budgets),
                          *(f"base@{b}" for b in budgets))), flush=True)
    return summarise(rows, budgets, cold, warm, warm_retrieve)


def summarise(rows: list[dict[str, Any]], budgets: list[int], cold: list[float],
              warm: list[float], warm_retrieve: list[float]) -> dict[str, Any]:
    ok = [r for r in rows if not r.get("crash")]
    ext = [r for r in ok if r.get("in_text")]

    def share(rs: list[dict[str, Any]], key: str) -> float | None:
        return round(sum(bool(r.get(key)) for r in rs) / len(rs), 3) if rs else None

    by_tag: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in ok:
        by_tag[r["tag"]].append(r)
    return {
        "questions": len(rows), "crashes": sum(1 for r in rows if r.get("crash")),
        "extractive_questions": len(ext),
        "evidence": {str(b): {"ours": share(ext, f"ours@{b}"), "baseline": share(ext, f"base@{b}"),
                              "max_words": max((r.get(f"words@{b}", 0) for r in ok), default=0)}
                     for b in budgets},
        "phrase": {"ours": share(ext, "in_ours"), "pdfplumber": 1.0 if ext else None},
        "answers_by_tag": {t: {"n": len(rs), "exact": share(rs, "exact"),
                               "contained": share(rs, "contained"),
                               "in_text": share(rs, "in_text")}
                           for t, rs in sorted(by_tag.items())},
        "answers_extractive_questions": {"exact": share(ext, "exact"),
                                         "contained": share(ext, "contained")},
        "seconds": {"cold_p50": _pct(cold, 0.5), "cold_p95": _pct(cold, 0.95),
                    "warm_p50": _pct(warm, 0.5), "warm_p95": _pct(warm, 0.95),
                    "warm_retrieve_p50": _pct(warm_retrieve, 0.5),
                    "warm_retrieve_p95": _pct(warm_retrieve, 0.95),
                    "cold_n": len(cold), "warm_n": len(warm)},
        "rows": rows,
    }


def table(res: dict[str, Any]) -> str:
    lines = [f"questions: {res['questions']}, crashes: {res['crashes']}, answer in the text "
             f"layer (pdfplumber): {res['extractive_questions']}", "",
             "| budget (words) | ours: answer in evidence | BM25 100-word chunks (pdfplumber) "
             "| max words returned |", "|---|---|---|---|"]
    for b, v in res["evidence"].items():
        lines.append(f"| {b} | {v['ours']} | {v['baseline']} | {v['max_words']} |")
    lines += ["", f"answer phrase in our parsed text: {res['phrase']['ours']} "
              "(of the questions where pdfplumber's text has it)", "",
              "| tag | n | exact | contained | answer in text layer |", "|---|---|---|---|---|"]
    for t, v in res["answers_by_tag"].items():
        lines.append(f"| {t} | {v['n']} | {v['exact']} | {v['contained']} | {v['in_text']} |")
    a = res["answers_extractive_questions"]
    lines += [f"| (answer in text layer) | {res['extractive_questions']} | {a['exact']} | "
              f"{a['contained']} | 1.0 |", ""]
    s = res["seconds"]
    lines.append(f"seconds per question: cold p50 {s['cold_p50']} / p95 {s['cold_p95']} "
                 f"(n={s['cold_n']}, parse + index + ask); warm (cached document) p50 "
                 f"{s['warm_p50']} / p95 {s['warm_p95']} (n={s['warm_n']}; retrieval alone "
                 f"p50 {s['warm_retrieve_p50']} / p95 {s['warm_retrieve_p95']})")
    return "\n".join(lines)


def plot(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    budgets = list(res["evidence"])
    x = range(len(budgets))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.bar([i - 0.2 for i in x], [res["evidence"][b]["ours"] or 0 for b in budgets], 0.4,
           label="prunestack ask (hybrid over CCTree)")
    ax.bar([i + 0.2 for i in x], [res["evidence"][b]["baseline"] or 0 for b in budgets], 0.4,
           label="BM25 over 100-word chunks")
    ax.set_xticks(list(x), [f"{b} words" for b in budgets])
    ax.set_ylim(0, 1)
    ax.set_ylabel("answer in evidence")
    ax.set_title(f"MMDA dev: {res['extractive_questions']} questions, answer in text layer")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path,
                    default=Path(os.environ.get("PRUNESTACK_MMDA_DATA", DEFAULT_DATA)))
    ap.add_argument("--limit", type=int, default=None, help="first N questions only")
    ap.add_argument("--budgets", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--out", type=Path, default=REPORTS)
    args = ap.parse_args(argv if argv is not None else [])
    if not (args.data / "questions.json").is_file():
        print(f"skipped: no MMDA dev set at {args.data} (questions.json + pdf/)")
        return
    res = run(args.data, args.budgets, args.limit)
    save(args.out, NAME, "ask_real (MMDA dev)", res, table(res), plot)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
