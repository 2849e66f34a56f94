"""Parsing fidelity on real PDFs: do our parsed pages keep pdfium's words *and phrases*?

``python -m benchmarks.run_all parsing_fidelity [--data DIR] [--repeats N]`` over
``../shared/data/mmda-dev`` (``PRUNESTACK_MMDA_DATA`` or ``--data`` elsewhere; 60 real PDFs:
brochures, posters, slides, papers, forms). Pages whose pdfium text layer has more than
``STAMP_CHARS`` printable characters are measured (fewer: scans, which go to OCR and are not a
text-layer figure). Per page:

* **word recall** and **phrase recall** of our parsed text against pypdfium2's text and against
  pdfplumber's text: the share of the reference's words (1-grams) and word 3-grams, counted with
  multiplicity, that occur in ours. Texts are normalised the same way (case-folded, punctuation
  and symbols turned into spaces); ours is the page's elements in our reading order, joined.
  A phrase split into scattered one-word elements, or letter-spaced text cut into fragments,
  keeps its words but loses its 3-grams.
* pooled figures (3-gram counts summed over all pages), and the 10 worst pages by phrase recall
  against pypdfium2;
* **answer presence** on ``questions.json``: of the questions whose normalised answer occurs in
  pdfplumber's text of the PDF, the share whose answer occurs in our parsed text;
* **speed**, in-process on the same pages: our full parse (text layer + layout) vs pdfplumber's
  ``extract_text``; pages/s, best of ``--repeats`` interleaved repeats.

Writes ``reports/parsing_fidelity.{json,md,png}`` and prints the Markdown; without the data
folder it prints why and skips. It measures; it changes no parser setting.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import time
from collections import Counter
from pathlib import Path

REPORTS = Path("reports")
DEFAULT_DATA = Path(os.environ.get("PRUNESTACK_MMDA_DATA", "../shared/data/mmda-dev"))
#: A page needs more printable characters than this in pdfium's text to count as a text page
#: (the parser OCRs pages with fewer when an image covers them: ``parsers.pdf.STAMP_CHARS``).
STAMP_CHARS = 60
_PUNCT = re.compile(r"[\W_]+")


def words(text: str) -> list[str]:
    """Case-folded words with punctuation and symbols as separators."""
    return _PUNCT.sub(" ", text.casefold()).split()


def ngrams(ws: list[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(ws[i:i + n]) for i in range(len(ws) - n + 1))


def overlap(ours: Counter, ref: Counter) -> tuple[int, int]:
    """(reference items found in ours, counted with multiplicity; reference items)."""
    return sum(min(c, ours[k]) for k, c in ref.items()), sum(ref.values())


def _pdfium_pages(data: bytes) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        out = []
        for i in range(len(pdf)):
            page = pdf[i]
            tp = page.get_textpage()
            out.append(tp.get_text_range())
            tp.close()
            page.close()
        return out
    finally:
        pdf.close()


def _plumber_pages(data: bytes, numbers: list[int]) -> list[str]:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return [pdf.pages[n - 1].extract_text() or "" for n in numbers]


def _ours_pages(data: bytes, numbers: list[int]) -> list[str]:
    from prunestack.parsers.ingest import parse

    doc = parse(data, pages=",".join(map(str, numbers)))
    by_page = {p.number: "\n".join(e.text for e in p.elements) for p in doc.pages}
    return [by_page.get(n, "") for n in numbers]


def _fidelity(data_dir: Path) -> dict:
    from tqdm import tqdm

    pdfs = sorted((data_dir / "pdf").glob("*.pdf"), key=lambda p: p.name)
    pages: list[dict] = []
    docs: dict[str, dict] = {}
    crashes: list[str] = []
    for path in tqdm(pdfs, desc="fidelity"):
        data = path.read_bytes()
        pdfium_text = _pdfium_pages(data)
        numbers = [i + 1 for i, t in enumerate(pdfium_text)
                   if len("".join(t.split())) > STAMP_CHARS]
        if not numbers:
            continue
        try:
            ours = _ours_pages(data, numbers)
        except Exception as exc:  # the benchmark records a crash instead of stopping
            crashes.append(f"{path.name}: {type(exc).__name__}: {exc}")
            continue
        plumber = _plumber_pages(data, numbers)
        docs[path.name] = {"data": data, "numbers": numbers, "ours": " ".join(ours),
                           "plumber": " ".join(plumber)}
        for n, o, pd, pl in zip(numbers, ours, (pdfium_text[n - 1] for n in numbers), plumber,
                                strict=True):
            ow, dw, lw = words(o), words(pd), words(pl)
            row = {"pdf": path.name, "page": n, "words_ref_pdfium": len(dw)}
            for ref_name, ref in (("pdfium", dw), ("pdfplumber", lw)):
                for name, k in (("word", 1), ("phrase", 3)):
                    hit, tot = overlap(ngrams(ow, k), ngrams(ref, k))
                    row[f"{name}_{ref_name}_hit"], row[f"{name}_{ref_name}_n"] = hit, tot
                    row[f"{name}_recall_{ref_name}"] = hit / tot if tot else 1.0
            pages.append(row)
    pooled = {}
    for ref_name in ("pdfium", "pdfplumber"):
        for name in ("word", "phrase"):
            hit = sum(r[f"{name}_{ref_name}_hit"] for r in pages)
            tot = sum(r[f"{name}_{ref_name}_n"] for r in pages)
            pooled[f"{name}_recall_{ref_name}"] = hit / tot if tot else 1.0
            pooled[f"{name}_recall_{ref_name}_mean_page"] = (
                sum(r[f"{name}_recall_{ref_name}"] for r in pages) / len(pages) if pages else 1.0)
    worst = sorted(pages, key=lambda r: (r["phrase_recall_pdfium"], -r["words_ref_pdfium"]))[:10]
    return {"pdfs": len(pdfs), "pages": len(pages), "crashes": crashes, "pooled": pooled,
            "worst": worst, "per_page": pages, "_docs": docs}


def _answers(data_dir: Path, docs: dict[str, dict]) -> dict:
    path = data_dir / "questions.json"
    if not path.exists():
        return {"skipped": f"{path} is absent"}
    questions = json.loads(path.read_text())
    eligible = found = 0
    by_tag: dict[str, list[int]] = {}
    misses = []
    for q in questions:
        d = docs.get(q["pdf_id"])
        ans = " ".join(words(str(q["answer"])))
        if d is None or not ans:
            continue
        if f" {ans} " not in f" {' '.join(words(d['plumber']))} ":
            continue
        eligible += 1
        hit = f" {ans} " in f" {' '.join(words(d['ours']))} "
        found += hit
        tag = by_tag.setdefault(q.get("tag", "?"), [0, 0])
        tag[0] += hit
        tag[1] += 1
        if not hit:
            misses.append({"questionId": q["questionId"], "pdf": q["pdf_id"],
                           "answer": q["answer"]})
    return {"questions": len(questions), "eligible": eligible, "found": found,
            "rate": found / eligible if eligible else 1.0,
            "by_tag": {t: {"found": a, "eligible": b} for t, (a, b) in sorted(by_tag.items())},
            "misses": misses}


def _speed(docs: dict[str, dict], repeats: int) -> dict:
    import pdfplumber

    from prunestack.parsers.ingest import parse

    items = [(d["data"], d["numbers"]) for d in docs.values()]
    n_pages = sum(len(ns) for _, ns in items)

    def ours() -> None:
        for data, ns in items:
            parse(data, pages=",".join(map(str, ns)))

    def plumber() -> None:
        for data, ns in items:
            with pdfplumber.open(io.BytesIO(data)) as pdf:
                for n in ns:
                    pdf.pages[n - 1].extract_text()

    methods = [("prunestack parse (text layer + layout)", ours),
               ("pdfplumber extract_text", plumber)]
    best = {name: float("inf") for name, _ in methods}
    for _ in range(repeats):  # interleaved: load on the machine hits both alike
        for name, fn in methods:
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    rows = {name: {"seconds": s, "pages_per_s": n_pages / s} for name, s in best.items()}
    base = rows["pdfplumber extract_text"]["pages_per_s"]
    for r in rows.values():
        r["vs_pdfplumber"] = r["pages_per_s"] / base
    return {"pages": n_pages, "repeats": repeats, "rows": rows}


def _markdown(res: dict) -> str:
    f = res["fidelity"]
    p = f["pooled"]
    md = ["# Parsing fidelity on real PDFs (mmda-dev)", "", f"Machine: {res['machine']}", "",
          f"{f['pages']} text-layer pages of {f['pdfs']} PDFs; crashes: {len(f['crashes'])}", "",
          "| recall of our parsed text | vs pypdfium2 | vs pdfplumber |", "|---|---:|---:|"]
    for name in ("word", "phrase"):
        label = "words" if name == "word" else "phrases (word 3-grams)"
        md.append(f"| {label}, pooled | {p[f'{name}_recall_pdfium']:.3f} | "
                  f"{p[f'{name}_recall_pdfplumber']:.3f} |")
        md.append(f"| {label}, mean of pages | {p[f'{name}_recall_pdfium_mean_page']:.3f} | "
                  f"{p[f'{name}_recall_pdfplumber_mean_page']:.3f} |")
    md += ["", "Worst 10 pages (phrase recall vs pypdfium2):", "",
           "| pdf | page | words (pdfium) | phrase vs pdfium | phrase vs pdfplumber "
           "| word vs pdfium |",
           "|---|---:|---:|---:|---:|---:|"]
    for r in f["worst"]:
        md.append(f"| {r['pdf']} | {r['page']} | {r['words_ref_pdfium']} | "
                  f"{r['phrase_recall_pdfium']:.3f} | {r['phrase_recall_pdfplumber']:.3f} | "
                  f"{r['word_recall_pdfium']:.3f} |")
    a = res["answers"]
    if "skipped" not in a:
        md += ["", f"Answer presence: {a['found']} / {a['eligible']} = **{a['rate']:.3f}** of the "
               f"questions whose normalised answer occurs in pdfplumber's text also occur in "
               f"ours ({a['questions']} questions in all)."]
    s = res["speed"]
    md += ["", f"## Speed, in-process, same {s['pages']} pages (best of {s['repeats']})", "",
           "| method | pages/s | × pdfplumber |", "|---|---:|---:|"]
    for name, r in s["rows"].items():
        md.append(f"| {name} | {r['pages_per_s']:.1f} | {r['vs_pdfplumber']:.2f} |")
    if f["crashes"]:
        md += ["", "Crashes:", *(f"- {c}" for c in f["crashes"])]
    return "\n".join(md) + "\n"


def _plot(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    rows = res["fidelity"]["per_page"]
    for key, label in (("phrase_recall_pdfium", "phrases vs pypdfium2"),
                       ("phrase_recall_pdfplumber", "phrases vs pdfplumber"),
                       ("word_recall_pdfium", "words vs pypdfium2")):
        axes[0].plot(sorted(r[key] for r in rows), label=label)
    axes[0].set_xlabel("pages, sorted")
    axes[0].set_ylabel("recall of our parsed text")
    axes[0].set_ylim(0, 1.02)
    axes[0].legend(fontsize=8)
    sp = res["speed"]["rows"]
    axes[1].barh(list(sp), [r["pages_per_s"] for r in sp.values()], color="#4477aa")
    axes[1].set_xlabel(f"pages/s, same {res['speed']['pages']} text-layer pages")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict | None:
    ap = argparse.ArgumentParser(prog="parsing_fidelity")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the mmda-dev folder")
    ap.add_argument("--repeats", type=int, default=3, help="timing repeats (best is kept)")
    args = ap.parse_args(argv or [])
    if not (args.data / "pdf").is_dir():
        print(f"parsing_fidelity: skipped, {args.data / 'pdf'} is absent "
              "(pass --data or set PRUNESTACK_MMDA_DATA)")
        return None
    REPORTS.mkdir(exist_ok=True)
    fid = _fidelity(args.data)
    docs = fid.pop("_docs")
    res = {"machine": f"{platform.processor() or platform.machine()}, "
                      f"{platform.python_version()}, {os.cpu_count()} CPUs",
           "data": str(args.data), "fidelity": fid, "answers": _answers(args.data, docs),
           "speed": _speed(docs, args.repeats)}
    (REPORTS / "parsing_fidelity.json").write_text(json.dumps(res, indent=2))
    md = _markdown(res)
    (REPORTS / "parsing_fidelity.md").write_text(md)
    _plot(res, REPORTS / "parsing_fidelity.png")
    print(md)
    return res


if __name__ == "__main__":
    main()
