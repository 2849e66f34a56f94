"""A question on an indexed document vs parse-each-time (MoDora's MMDA dev set), side by side.

Usage (from the repository root)::

    python -m benchmarks.run_all ask_index
    python -m benchmarks.bench_ask_index [--data DIR] [--docs 15] [--per-doc 3] [--budget 256]
                                         [--cli 3]

On the first ``--docs`` PDFs of ``DATA`` (default ``../shared/data/mmda-dev``, or
``PRUNESTACK_MMDA_DATA``) that have questions, up to ``--per-doc`` questions each:

1. the models are loaded once (MiniLM, the shipped learned scorer) and timed: **loading**,
   reported apart from the per-question figures;
2. ``pipeline.ask.indexed.build_index`` indexes the PDFs (``prunestack rag index``), timed;
3. every question is asked twice, each time as the first question of a fresh process would be
   (the process-wide document cache emptied before it): **parse-each-time**
   (``ask_source(pdf, q)``: parse + CCTree + units + unit embeddings + retrieval + answer) and
   **from the index** (``ask_source(pdf, q, index=...)``: hash the bytes, open the store, read
   the entry, embed the question, retrieval + answer), then once more in the same process
   (from the process's document cache: the warm reference, what no index can beat). The results
   must be identical (evidence, question type, answer and provenance); the count is reported;
4. with ``--cli N``: the first N questions through the real CLI in fresh processes
   (``prunestack ask PDF q --index INDEX --format json``), wall seconds per call (process
   start + imports + model loading + the question) beside the question's own ``total``.

Writes ``reports/bench_ask_index.{json,md,png}`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.report import save

DEFAULT_DATA = Path("../shared/data/mmda-dev")
REPORTS = Path("reports")
NAME = "bench_ask_index"


def _pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return round(s[min(len(s) - 1, int(q * len(s)))], 4)


def pick(data: Path, docs: int, per_doc: int) -> list[tuple[str, str]]:
    """(pdf name, question) pairs: the first ``docs`` PDFs by number, ``per_doc`` each."""
    by_pdf: dict[str, list[str]] = defaultdict(list)
    for q in json.loads((data / "questions.json").read_text()):
        if (data / "pdf" / q["pdf_id"]).is_file():
            by_pdf[q["pdf_id"]].append(q["question"])
    names = sorted(by_pdf, key=lambda n: (len(n), n))[:docs]
    return [(n, q) for n in names for q in by_pdf[n][:per_doc]]


def run(data: Path, docs: int, per_doc: int, budget: int, n_cli: int) -> dict[str, Any]:
    from prunestack.models import registry
    from prunestack.pipeline.ask.core import ask_source, document_cache
    from prunestack.pipeline.ask.indexed import build_index
    from prunestack.pipeline.extract.scorer import load_scorer

    pairs = pick(data, docs, per_doc)
    t0 = time.perf_counter()
    registry().encoder()
    load_scorer()
    load_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        src, idx = Path(tmp) / "pdf", Path(tmp) / "index"
        src.mkdir()
        for name in sorted({n for n, _ in pairs}):
            (src / name).symlink_to((data / "pdf" / name).resolve())
        t0 = time.perf_counter()
        report = build_index(src, idx)
        build_s = time.perf_counter() - t0
        ask_source(src / pairs[0][0], pairs[0][1], budget, index=idx)  # warm-up (torch, BLAS)
        rows = []
        for name, q in pairs:
            pdf = src / name
            document_cache().clear()
            t0 = time.perf_counter()
            parsed = ask_source(pdf, q, budget)
            t_parse = time.perf_counter() - t0
            document_cache().clear()
            t0 = time.perf_counter()
            stored = ask_source(pdf, q, budget, index=idx)
            t_index = time.perf_counter() - t0
            t0 = time.perf_counter()
            warm = ask_source(pdf, q, budget, index=idx)  # the same process again: its cache
            t_warm = time.perf_counter() - t0
            key = (parsed.evidence, parsed.question_type, parsed.answer,
                   parsed.answer_provenance)
            same = warm.timings["cached"] == 1.0 and key == (
                stored.evidence, stored.question_type, stored.answer, stored.answer_provenance)
            rows.append({"pdf": name, "question": q, "parse_each_time_s": round(t_parse, 4),
                         "index_s": round(t_index, 4), "warm_s": round(t_warm, 4),
                         "identical": same and warm.evidence == stored.evidence,
                         "hit": stored.timings.get("index_hit") == 1.0,
                         "parse_timings": parsed.timings, "index_timings": stored.timings})
        document_cache().clear()
        cli = []
        for name, q in pairs[:n_cli]:
            t0 = time.perf_counter()
            r = subprocess.run([sys.executable, "-m", "prunestack.api.cli", "ask",
                                str(src / name), q, "-b", str(budget), "--format", "json",
                                "--index", str(idx)], capture_output=True, text=True,
                               timeout=600)
            wall = time.perf_counter() - t0
            out = json.loads(r.stdout) if r.returncode == 0 else {}
            cli.append({"pdf": name, "question": q, "rc": r.returncode,
                        "wall_s": round(wall, 3),
                        "question_total_s": out.get("timings", {}).get("total"),
                        "hit": out.get("timings", {}).get("index_hit") == 1.0})
    per = [r["parse_each_time_s"] for r in rows]
    ix = [r["index_s"] for r in rows]
    warm = [r["warm_s"] for r in rows]
    part = {k: _pct([r["index_timings"].get(k, 0.0) for r in rows], 0.5)
            for k in ("load", "retrieve", "answer")}
    return {"pdfs": len({n for n, _ in pairs}), "questions": len(rows), "budget": budget,
            "models_load_s": round(load_s, 3), "index_build_s": round(build_s, 3),
            "index_units": report.units, "hits": sum(r["hit"] for r in rows),
            "identical": sum(r["identical"] for r in rows),
            "seconds": {"parse_each_time_p50": _pct(per, 0.5),
                        "parse_each_time_p95": _pct(per, 0.95),
                        "index_p50": _pct(ix, 0.5), "index_p95": _pct(ix, 0.95),
                        "warm_p50": _pct(warm, 0.5), "warm_p95": _pct(warm, 0.95),
                        "index_parts_p50": part},
            "cli": cli, "rows": rows}


def table(res: dict[str, Any]) -> str:
    s = res["seconds"]
    p = s["index_parts_p50"]
    lines = [f"{res['questions']} questions on {res['pdfs']} PDFs, budget {res['budget']} words; "
             f"evidence and answer identical on {res['identical']}/{res['questions']}, "
             f"index hits {res['hits']}/{res['questions']}", "",
             "| seconds per question (document cache empty) | p50 | p95 |", "|---|---|---|",
             f"| parse each time (parse + index + ask) | {s['parse_each_time_p50']} | "
             f"{s['parse_each_time_p95']} |",
             f"| from the index (read entry + ask) | {s['index_p50']} | {s['index_p95']} |",
             f"| reference: the same question again in the same process (cached) | "
             f"{s['warm_p50']} | {s['warm_p95']} |", "",
             f"from the index, p50 by part: read entry {p['load']}, retrieve {p['retrieve']}, "
             f"answer {p['answer']}", "",
             f"apart: loading the models (MiniLM + learned scorer) {res['models_load_s']} s; "
             f"building the index ({res['pdfs']} PDFs, {res['index_units']} units) "
             f"{res['index_build_s']} s"]
    if res["cli"]:
        walls = [c["wall_s"] for c in res["cli"] if c["rc"] == 0]
        totals = [c["question_total_s"] for c in res["cli"] if c["rc"] == 0]
        lines += ["", f"CLI, fresh process per question (n={len(res['cli'])}, hits "
                  f"{sum(c['hit'] for c in res['cli'])}): wall p50 {_pct(walls, 0.5)} s "
                  f"(start + imports + model loading + question), of which the question "
                  f"p50 {_pct(totals, 0.5)} s"]
    return "\n".join(lines)


def plot(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = res["seconds"]
    fig, ax = plt.subplots(figsize=(6, 4))
    labels = ["parse each time", "from the index"]
    ax.bar([0, 1], [s["parse_each_time_p50"] or 0, s["index_p50"] or 0], 0.5, label="p50")
    ax.scatter([0, 1], [s["parse_each_time_p95"] or 0, s["index_p95"] or 0], color="k",
               zorder=3, label="p95")
    ax.set_xticks([0, 1], labels)
    ax.set_ylabel("seconds per question")
    ax.set_title(f"MMDA dev: {res['questions']} questions, {res['pdfs']} PDFs")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path,
                    default=Path(os.environ.get("PRUNESTACK_MMDA_DATA", DEFAULT_DATA)))
    ap.add_argument("--docs", type=int, default=15)
    ap.add_argument("--per-doc", type=int, default=3)
    ap.add_argument("--budget", type=int, default=256)
    ap.add_argument("--cli", type=int, default=3, help="questions through the CLI (0: none)")
    ap.add_argument("--out", type=Path, default=REPORTS)
    args = ap.parse_args(argv if argv is not None else [])
    if not (args.data / "questions.json").is_file():
        print(f"skipped: no MMDA dev set at {args.data} (questions.json + pdf/)")
        return
    res = run(args.data, args.docs, args.per_doc, args.budget, args.cli)
    save(args.out, NAME, "ask_index (MMDA dev)", res, table(res), plot)


if __name__ == "__main__":
    main(sys.argv[1:])
