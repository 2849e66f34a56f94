"""The OCR ceiling on real receipts (SROIE dev images): how often each gold value occurs in the
page's OCR text, per field and engine, why the misses miss, and the OCR CPU time per receipt.

Usage (from the repository root)::

    python -m benchmarks.run_all ocr_ceiling
    python -m benchmarks.bench_ocr_ceiling [--data DIR] [--n 20]

A field's value "occurs" when, after upper-casing and collapsing whitespace, it is a substring of
the page's lines read top to bottom and joined by spaces (``eval.sroie.occurs``): extraction can
not do better than that. For the first ``--n`` receipts with an image (the evaluation split) it
runs, each on the same decoded image:

- **rapidocr before**: rapidocr's own session settings (every core, spin-waiting threads) and no
  re-joining of split amounts/dates (``RapidOcrBackend(join_numbers=False)``): the product as it
  was;
- **rapidocr**: the product's default now (``parsers.ocr.rapid.make_engine``: 2 threads, no
  spinning; ``parsers.ocr.numbers`` re-joins ``64. 15``);
- **tesseract**: the whole page (``--psm 3``);
- **rapidocr+tesseract**: per-line choice (``parsers.ocr.combine``): rapidocr's lines, the ones
  under ``RETRY_BELOW`` confidence re-read by one tesseract run over their crops; CPU is rapidocr's
  plus the re-reading;
- **union**: a value counts when it occurs in rapidocr's or tesseract's page text (an upper
  bound no single text reaches; both engines' CPU).

Each rapidocr miss is put in one class: *spacing* (the value occurs once all whitespace is
removed: a space inserted or dropped), *line merging* (it occurs once the lines on one baseline
are read as one row, left to right), *low-confidence misread* / *confident misread* (a window of
the text matches at least 80 % of its characters; the best-matching line's confidence under /
over 0.9), *missing* (nothing close: not detected or unreadable at this resolution).

For rapidocr before and now it also runs the rest of ``prunestack extract IMG`` on the OCR'd
page (layout, then the default extraction engine with the task's schema, ``eval.sroie.SCHEMA``)
and reports field accuracy and the CPU split (OCR | layout + extraction). CPU seconds are this
process's (all threads; torch limited to 2) plus its children's (tesseract), per receipt, after
one warm-up receipt per engine outside the clock. Data and size from the environment when run
by ``run_all``: ``PRUNESTACK_SROIE_DATA`` (default ``../shared/data/sroie-dev``),
``PRUNESTACK_BENCH_OCR_IMAGES`` (default 20). Without the data folder it prints why and skips.
Writes ``reports/bench_ocr_ceiling.{json,md,png}`` and prints the table.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

NAME = "bench_ocr_ceiling"
DEFAULT_DATA = Path("../shared/data/sroie-dev")
REPORTS = Path("reports")
ENGINES = ("rapidocr before", "rapidocr", "tesseract", "rapidocr+tesseract", "union")
CAUSES = ("spacing", "line merging", "low-confidence misread", "confident misread", "missing")
UNSURE = 0.9


def _args(argv: list[str]) -> argparse.Namespace:
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path,
                    default=Path(env("PRUNESTACK_SROIE_DATA", str(DEFAULT_DATA))))
    ap.add_argument("--n", type=int, default=int(env("PRUNESTACK_BENCH_OCR_IMAGES", 20)),
                    help="receipts with an image, first by id")
    ap.add_argument("--out", type=Path, default=REPORTS)
    return ap.parse_args(argv)


def _cpu() -> float:
    """CPU seconds of this process (all threads) and of its finished children (tesseract)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _squash(text: str) -> str:
    return "".join(text.split()).upper()


def _rows(lines: list[Any]) -> list[str]:
    """Lines on one baseline (centres within half a line height) joined left to right."""
    rows: list[tuple[float, float, list[Any]]] = []
    for ln in sorted(lines, key=lambda ln: ln.bbox.cy):
        h = ln.bbox.height
        if rows and abs(rows[-1][0] - ln.bbox.cy) < 0.5 * min(h, rows[-1][1]):
            rows[-1][2].append(ln)
        else:
            rows.append((ln.bbox.cy, h, [ln]))
    return [" ".join(x.text for x in sorted(r, key=lambda ln: ln.bbox.x0)) for _, _, r in rows]


def cause(value: str, lines: list[Any]) -> str | None:
    """Why ``value`` does not occur in ``lines`` (one of ``CAUSES``); None when it occurs."""
    from prunestack.eval.sroie import norm

    page = norm(" ".join(ln.text for ln in lines))
    v = norm(value)
    if v in page:
        return None
    if _squash(v) in _squash(page):
        return "spacing"
    if v in norm(" ".join(_rows(lines))):
        return "line merging"
    target = _squash(v)
    best, best_line = 0.0, None
    for ln in lines:  # the line sharing the longest run with the value, then a window score
        t = _squash(ln.text)
        m = difflib.SequenceMatcher(None, target, t).find_longest_match(0, len(target), 0, len(t))
        if best_line is None or m.size > best:
            best, best_line = m.size, ln
    flat = _squash(page)
    ratio = max((difflib.SequenceMatcher(None, target, flat[i:i + len(target)]).ratio()
                 for i in range(max(1, len(flat) - len(target) + 1))), default=0.0)
    if ratio < 0.8 or best_line is None:
        return "missing"
    return "low-confidence misread" if best_line.confidence < UNSURE else "confident misread"


def run(data: Path, ids: list[str], warm_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from PIL import Image
    from tqdm import tqdm

    from prunestack.eval.sroie import FIELDS, field_hits, gold, occurs
    from prunestack.parsers.ocr.combine import CombinedBackend
    from prunestack.parsers.ocr.rapid import RapidOcrBackend, make_engine
    from prunestack.parsers.ocr.tesseract import TesseractBackend

    before = RapidOcrBackend(join_numbers=False,  # rapidocr as it comes: every setting stock
                             engine=make_engine(threads=None, spinning=True, rec_batch=None))
    after = RapidOcrBackend()
    tess = TesseractBackend()
    combined = CombinedBackend(rapid=after)
    cpu = dict.fromkeys(ENGINES, 0.0)
    found: dict[str, list[dict[str, bool]]] = {e: [] for e in ENGINES}
    causes = {k: dict.fromkeys(CAUSES, 0) for k in FIELDS}
    rows = []
    warm = Image.open(data / "img" / f"{warm_id}.jpg").convert("RGB")
    for b in (before, after):  # model loading and first-run allocations off the clock
        _extract(warm, *b.recognize_page(warm), b.name)
    e2e = {"rapidocr before": dict.fromkeys(FIELDS, 0), "rapidocr": dict.fromkeys(FIELDS, 0)}
    ecpu = dict.fromkeys(e2e, 0.0)
    for rid in tqdm(ids, desc="OCR ceiling", unit="receipt"):
        g = gold(data, rid)
        image = Image.open(data / "img" / f"{rid}.jpg").convert("RGB")
        texts = {}
        t = _cpu()
        lines, frame_before = before.recognize_page(image)
        cpu["rapidocr before"] += _cpu() - t
        texts["rapidocr before"] = [ln.text for ln in lines]
        t = _cpu()
        pred = _extract(image, lines, frame_before, before.name)
        ecpu["rapidocr before"] += _cpu() - t
        right = {"rapidocr before": field_hits(g, pred)}
        preds = {"rapidocr before": pred}
        t = _cpu()
        lines, frame = after.recognize_page(image)
        cpu["rapidocr"] += _cpu() - t
        texts["rapidocr"] = [ln.text for ln in lines]
        t = _cpu()
        pred = _extract(image, lines, frame, after.name)
        ecpu["rapidocr"] += _cpu() - t
        right["rapidocr"] = field_hits(g, pred)
        preds["rapidocr"] = pred
        for e, hits in right.items():
            for k in FIELDS:
                e2e[e][k] += hits[k]
        t = _cpu()
        tlines = tess.recognize(image)
        cpu["tesseract"] += _cpu() - t
        texts["tesseract"] = [ln.text for ln in tlines]
        t = _cpu()
        mixed = combined.reread(image, lines, frame)
        cpu["rapidocr+tesseract"] += _cpu() - t
        texts["rapidocr+tesseract"] = [ln.text for ln in mixed]
        hit = {e: occurs(g, texts[e]) for e in ENGINES if e != "union"}
        hit["union"] = {k: hit["rapidocr"][k] or hit["tesseract"][k] for k in FIELDS}
        why = {k: cause(g.get(k, ""), lines) for k in FIELDS}
        for k, c in why.items():
            if c is not None:
                causes[k][c] += 1
        for e in ENGINES:
            found[e].append(hit[e])
        rows.append({"id": rid, "gold": g, "in_ocr_text": hit, "rapidocr_miss": why,
                     "extraction_right": right, "extracted": preds,
                     "rapidocr_lines": texts["rapidocr"]})
    n = len(ids)
    cpu["rapidocr+tesseract"] += cpu["rapidocr"]  # re-reading on top of rapidocr's own pass
    cpu["union"] = cpu["rapidocr"] + cpu["tesseract"]
    ceiling = {e: {k: sum(f[k] for f in found[e]) / n for k in FIELDS} for e in ENGINES}
    for e in ENGINES:
        ceiling[e]["mean"] = sum(ceiling[e][k] for k in FIELDS) / len(FIELDS)
    end_to_end = {}
    for e, hits in e2e.items():
        acc = {k: hits[k] / n for k in FIELDS}
        end_to_end[e] = {"accuracy": acc, "mean": sum(acc.values()) / len(FIELDS),
                         "cpu_s_ocr": cpu[e] / n, "cpu_s_layout_extract": ecpu[e] / n,
                         "cpu_s_total": (cpu[e] + ecpu[e]) / n}
    return {"n": n, "ceiling": ceiling, "cpu_s_per_receipt": {e: cpu[e] / n for e in ENGINES},
            "rapidocr_miss_causes": causes, "end_to_end": end_to_end}, rows


def _extract(image: Any, lines: list[Any], frame: Any, backend: str) -> dict[str, Any]:
    """Layout and extraction (the default engine, the task's schema) of one OCR'd page, as
    ``prunestack extract IMG`` runs them after OCR."""
    from prunestack.eval.sroie import SCHEMA
    from prunestack.parsers.layout import aggregate
    from prunestack.parsers.primitives import PageLines
    from prunestack.pipeline.document import Source
    from prunestack.pipeline.extract import extract_document

    page = PageLines(number=1, width=float(image.width), height=float(image.height),
                     lines=lines, source=Source.OCR, ocr_backend=backend, frame=frame)
    doc = aggregate([page], source_name="receipt.jpg", mime_type="image/jpeg")
    return extract_document(doc, SCHEMA).data


def _table(res: dict[str, Any]) -> str:
    from prunestack.eval.sroie import FIELDS

    lines = [f"OCR ceiling on {res['n']} SROIE dev receipts with images (share of gold values "
             "that occur in the OCR text)", "",
             "| engine | " + " | ".join(FIELDS) + " | mean | CPU-s / receipt |",
             "|---" * (len(FIELDS) + 3) + "|"]
    for e in ENGINES:
        c = res["ceiling"][e]
        lines.append(f"| {e} | " + " | ".join(f"{c[k]:.3f}" for k in FIELDS)
                     + f" | {c['mean']:.3f} | {res['cpu_s_per_receipt'][e]:.2f} |")
    lines += ["", "End to end (OCR → layout → extraction, default engine; field accuracy as "
              "SROIE scores it) and CPU-s per receipt, one process, 2 threads:", "",
              "| OCR | " + " | ".join(FIELDS) + " | mean | OCR CPU-s | layout + extract CPU-s "
              "| total CPU-s |", "|---" * (len(FIELDS) + 5) + "|"]
    for e, r in res["end_to_end"].items():
        lines.append(f"| {e} | " + " | ".join(f"{r['accuracy'][k]:.3f}" for k in FIELDS)
                     + f" | {r['mean']:.3f} | {r['cpu_s_ocr']:.2f} | "
                     f"{r['cpu_s_layout_extract']:.2f} | {r['cpu_s_total']:.2f} |")
    lines += ["", "Why rapidocr misses (receipts per field):", "",
              "| field | " + " | ".join(CAUSES) + " |", "|---" * (len(CAUSES) + 1) + "|"]
    for k in FIELDS:
        lines.append(f"| {k} | " + " | ".join(str(res["rapidocr_miss_causes"][k][c])
                                             for c in CAUSES) + " |")
    return "\n".join(lines) + "\n"


def _plot(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from prunestack.eval.sroie import FIELDS

    keys = [*FIELDS, "mean"]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(ENGINES)
    for i, e in enumerate(ENGINES):
        xs = [j + i * width for j in range(len(keys))]
        label = f"{e} ({res['cpu_s_per_receipt'][e]:.1f} CPU-s)"
        ax.bar(xs, [res["ceiling"][e][k] for k in keys], width, label=label)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(keys))], keys)
    ax.set_ylim(0, 1)
    ax.set_ylabel("gold value occurs in OCR text")
    ax.set_title(f"OCR ceiling, SROIE dev ({res['n']} receipts)")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    args = _args(argv if argv is not None else [])
    if not (args.data / "key").is_dir():
        print(f"skipped: no SROIE data at {args.data} (set PRUNESTACK_SROIE_DATA or --data; "
              "the dev set is not shipped)")
        return
    from prunestack.eval.sroie import receipt_ids

    every = receipt_ids(args.data, with_images=True)
    ids = every[: args.n]
    if not ids:
        print(f"skipped: no receipt images under {args.data / 'img'}")
        return
    import torch

    torch.set_num_threads(2)  # the budget: one process, two threads
    t0 = time.perf_counter()
    # warm-up on a receipt outside the sample (a repeated document could hit a cache)
    res, rows = run(args.data, ids, every[len(ids)] if len(every) > len(ids) else ids[0])
    res["data"] = str(args.data)
    res["seconds"] = time.perf_counter() - t0
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{NAME}.json").write_text(json.dumps({**res, "rows": rows}, indent=1))
    table = _table(res)
    (args.out / f"{NAME}.md").write_text("# OCR ceiling on real receipts\n\n" + table)
    _plot(res, args.out / f"{NAME}.png")
    print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
