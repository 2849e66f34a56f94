"""Real scanned receipts (SROIE dev): field accuracy of the extractive engine, and the OCR ceiling.

Usage (from the repository root)::

    python -m benchmarks.run_all receipts_real
    python -m benchmarks.bench_receipts_real [--data DIR] [--n-gold 120] [--n-images 120]
        [--scorer-model DENSE_DIR --scorer-model PRUNED30_DIR --scorer-model PRUNED50_DIR]

The evaluation split is the receipts of ``DATA`` that have an image (120 in the dev set; the
others are for training). Each is extracted with the task's schema (four required strings "as
printed": ``prunestack.eval.sroie.SCHEMA``) by the default (extractive) engine, two ways side by
side:

- (a) **gold lines**: the annotators' OCR lines (``box/ID.csv``) as an OCR'd page, through the
  same layout step as real OCR (``parsers.layout.aggregate``) — extraction without OCR errors;
- (b) **end to end** from the image: rapidocr (``parsers.ingest.parse_lines``) → layout →
  extraction, as ``prunestack extract IMG`` does.

A field is right when it equals the gold string after upper-casing and collapsing whitespace
(SROIE's scoring; ``eval.sroie.field_hits``); reported per field, as the mean, and as the share
of receipts with all four right. Beside (b): the OCR ceiling per field, how often the gold value
occurs in the page's OCR text at all (same normalisation) for rapidocr, tesseract and their union;
and the CPU seconds per receipt for OCR and for extraction (all threads, and the tesseract
child processes; the first receipt of a run also loads the models).

Learned scorers: each ``--scorer-model`` folder (repeat the option; labelled by folder name)
runs on the same receipts in the same run, (a) on the same gold pages and (b) on the same OCR'd
pages (OCR runs once per receipt), side by side with the rules. Per scorer: accuracy in (a) and
(b), its parameter count, and the CPU seconds per receipt of extraction alone (the scorer is
loaded before timing), with the speed ratio against the FIRST scorer (give the dense one first).
A second table and ``reports/bench_receipts_real_scorers.png`` (accuracy vs scorer CPU seconds)
show them.

Sizes and data from the environment when run by ``run_all``: ``PRUNESTACK_SROIE_DATA`` (default
``../shared/data/sroie-dev``), ``PRUNESTACK_BENCH_SROIE_GOLD`` and
``PRUNESTACK_BENCH_SROIE_IMAGES`` (receipts for (a) and (b), first by id; default 120; 0 skips a
mode), ``PRUNESTACK_SCORER_MODEL`` (``--scorer-model``: learned field scorer folders, comma
separated; (a) and (b) then also run with ``scorer="learned"`` for each). Without the data
folder it prints why and skips. Writes ``reports/bench_receipts_real.{json,md,png}`` and prints
the table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path("../shared/data/sroie-dev")
REPORTS = Path("reports")
NAME = "bench_receipts_real"


def _args(argv: list[str]) -> argparse.Namespace:
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path(env("PRUNESTACK_SROIE_DATA",
                                                          str(DEFAULT_DATA))))
    ap.add_argument("--n-gold", type=int, default=int(env("PRUNESTACK_BENCH_SROIE_GOLD", 120)),
                    help="receipts for (a), from the gold OCR lines (0: skip)")
    ap.add_argument("--n-images", type=int,
                    default=int(env("PRUNESTACK_BENCH_SROIE_IMAGES", 120)),
                    help="receipts for (b), end to end from the images (0: skip)")
    ap.add_argument("--scorer-model", type=Path, action="append", default=None,
                    help="a learned scorer folder (repeatable: dense first, then pruned ones): "
                         "(a) and (b) also run with --scorer learned for each")
    ap.add_argument("--out", type=Path, default=REPORTS)
    args = ap.parse_args(argv)
    if args.scorer_model is None:
        args.scorer_model = [Path(p.strip()) for p in env("PRUNESTACK_SCORER_MODEL", "").split(",")
                             if p.strip()]
    return args


def scorer_labels(folders: list[Path]) -> dict[str, Path]:
    """{label: folder}: the folder name, or parent/name where two folders share a name."""
    names = [f.name for f in folders]
    out: dict[str, Path] = {}
    for f in folders:
        label = f.name if names.count(f.name) == 1 else f"{f.parent.name}/{f.name}"
        if label in out:
            raise SystemExit(f"error: --scorer-model {f} given twice")
        out[label] = f
    return out


def _cpu() -> float:
    """CPU seconds of this process (all threads) and of its finished children (tesseract)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _summary(hits: list[dict[str, bool]]) -> dict[str, Any]:
    from prunestack.eval.sroie import FIELDS

    n = len(hits)
    acc = {k: sum(h[k] for h in hits) / n for k in FIELDS}
    return {"n": n, "fields": acc, "mean": sum(acc.values()) / len(FIELDS),
            "all_four": sum(all(h.values()) for h in hits) / n}


def _share(flags: list[dict[str, bool]]) -> dict[str, float]:
    from prunestack.eval.sroie import FIELDS

    return {k: sum(f[k] for f in flags) / len(flags) for k in FIELDS}


def _options(scorer_model: Path | None) -> Any:
    from prunestack.pipeline.extract import ExtractOptions

    if scorer_model is None:
        return ExtractOptions(scorer="rules")  # the rules, whatever the default
    return ExtractOptions(scorer="learned", scorer_model=str(scorer_model))


def run_gold(data: Path, ids: list[str], scorer_model: Path | None = None
             ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Mode (a): extraction from the gold OCR lines of ``ids`` (the learned scorer of
    ``scorer_model`` when given, else the rules). ``cpu_s_per_receipt``: extraction alone."""
    from tqdm import tqdm

    from prunestack.eval.sroie import SCHEMA, field_hits, gold, gold_document, gold_lines, occurs
    from prunestack.pipeline.extract import extract_document

    rows, hits, ceiling = [], [], []
    cpu = 0.0
    opts = _options(scorer_model)
    label = scorer_model.name if scorer_model is not None else opts.scorer
    for rid in tqdm(ids, desc=f"(a) gold lines, {label}", unit="receipt"):
        g = gold(data, rid)
        doc = gold_document(data, rid)
        t = _cpu()
        pred = extract_document(doc, SCHEMA, options=opts).data
        cpu += _cpu() - t
        hits.append(field_hits(g, pred))
        ceiling.append(occurs(g, [t for t, _ in gold_lines(data, rid)]))
        rows.append({"id": rid, "gold": g, "pred": pred, "right": hits[-1]})
    out = _summary(hits)
    out["ceiling_gold_lines"] = _share(ceiling)
    out["cpu_s_per_receipt"] = cpu / len(ids)
    return out, rows


def run_images(data: Path, ids: list[str], scorers: dict[str, Path] | None = None
               ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Mode (b): rapidocr → layout → extraction from each image; the OCR ceilings beside it
    (with ``scorers`` {label: folder}: also each learned scorer on the same OCR'd pages)."""
    from tqdm import tqdm

    from prunestack.eval.sroie import SCHEMA, field_hits, gold, occurs
    from prunestack.parsers.ingest import parse_lines
    from prunestack.parsers.layout import aggregate
    from prunestack.pipeline.extract import extract_document

    scorers = scorers or {}
    rows, hits = [], []
    learned_hits: dict[str, list[dict[str, bool]]] = {k: [] for k in scorers}
    learned_cpu = dict.fromkeys(scorers, 0.0)
    ceil: dict[str, list[dict[str, bool]]] = {"rapidocr": [], "tesseract": [], "union": []}
    cpu = {"ocr": 0.0, "layout": 0.0, "extract": 0.0, "tesseract": 0.0}
    for rid in tqdm(ids, desc="(b) images", unit="receipt"):
        g = gold(data, rid)
        img = data / "img" / f"{rid}.jpg"
        t = _cpu()
        _, pages = parse_lines(img, ocr="rapidocr")
        cpu["ocr"] += _cpu() - t
        t = _cpu()
        doc = aggregate(pages, source_name=img.name, mime_type="image/jpeg")
        cpu["layout"] += _cpu() - t
        t = _cpu()
        pred = extract_document(doc, SCHEMA).data
        cpu["extract"] += _cpu() - t
        learned = {}
        for label, folder in scorers.items():
            t = _cpu()
            learned[label] = extract_document(doc, SCHEMA, options=_options(folder)).data
            learned_cpu[label] += _cpu() - t
            learned_hits[label].append(field_hits(g, learned[label]))
        t = _cpu()
        _, tpages = parse_lines(img, ocr="tesseract")
        cpu["tesseract"] += _cpu() - t
        texts = {"rapidocr": [ln.text for p in pages for ln in p.lines],
                 "tesseract": [ln.text for p in tpages for ln in p.lines]}
        found = {name: occurs(g, lines) for name, lines in texts.items()}
        found["union"] = {k: v or found["tesseract"][k] for k, v in found["rapidocr"].items()}
        for name in ceil:
            ceil[name].append(found[name])
        hits.append(field_hits(g, pred))
        rows.append({"id": rid, "gold": g, "pred": pred, "right": hits[-1],
                     "in_ocr_text": found, "learned": learned})
    out = _summary(hits)
    if scorers:
        out["learned"] = {label: {**_summary(h), "cpu_s_per_receipt": learned_cpu[label] / len(ids)}
                          for label, h in learned_hits.items()}
    out["ceiling"] = {name: _share(flags) for name, flags in ceil.items()}
    out["cpu_s_per_receipt"] = {k: v / len(ids) for k, v in cpu.items()}
    return out, rows


def _table(res: dict[str, Any]) -> str:
    from prunestack.eval.sroie import FIELDS

    head = "| mode | n | " + " | ".join(FIELDS) + " | mean | all four |"
    lines = [head, "|---" * (len(FIELDS) + 4) + "|"]

    def row(name: str, acc: dict[str, float], n: int | str, mean: str, four: str) -> str:
        return f"| {name} | {n} | " + " | ".join(f"{acc[k]:.3f}" for k in FIELDS) + \
            f" | {mean} | {four} |"

    if "gold" in res:
        a = res["gold"]
        lines.append(row("(a) gold OCR lines", a["fields"], a["n"], f"{a['mean']:.3f}",
                         f"{a['all_four']:.3f}"))
        for label, la in res.get("gold_learned", {}).items():
            lines.append(row(f"(a) gold OCR lines, learned scorer {label}", la["fields"],
                             la["n"], f"{la['mean']:.3f}", f"{la['all_four']:.3f}"))
        lines.append(row("  ceiling: value in gold lines", a["ceiling_gold_lines"], a["n"],
                         "", ""))
    if "gold_same_receipts" in res:
        a = res["gold_same_receipts"]
        lines.append(row("(a) on (b)'s receipts", a["fields"], a["n"], f"{a['mean']:.3f}",
                         f"{a['all_four']:.3f}"))
    if "images" in res:
        b = res["images"]
        lines.append(row("(b) end to end (rapidocr)", b["fields"], b["n"], f"{b['mean']:.3f}",
                         f"{b['all_four']:.3f}"))
        for label, lb in b.get("learned", {}).items():
            lines.append(row(f"(b) end to end, learned scorer {label}", lb["fields"], lb["n"],
                             f"{lb['mean']:.3f}", f"{lb['all_four']:.3f}"))
        for name, acc in b["ceiling"].items():
            lines.append(row(f"  ceiling: value in {name} text", acc, b["n"],
                             f"{sum(acc.values()) / len(acc):.3f}", ""))
    out = "\n".join(lines) + "\n"
    if "images" in res:
        c = res["images"]["cpu_s_per_receipt"]
        out += (f"\nCPU seconds per receipt in (b), one process, two threads: rapidocr "
                f"{c['ocr']:.2f} + layout {c.get('layout', 0.0):.2f} + extraction "
                f"{c['extract']:.2f} = {c['ocr'] + c.get('layout', 0.0) + c['extract']:.2f} "
                f"end to end (tesseract for the ceiling {c['tesseract']:.2f}, not part of the "
                "pipeline).\n")
    if "gold" in res:
        out += (f"CPU seconds per receipt of extraction in (a), rules: "
                f"{res['gold']['cpu_s_per_receipt']:.2f}.\n")
    if res.get("scorers"):
        out += "\n" + scorer_table(res["scorers"])
    return out


def scorer_rows(res: dict[str, Any], labels: dict[str, Path]) -> list[dict[str, Any]]:
    """One row per learned scorer: accuracy in (a)/(b), extraction CPU s per receipt, speed
    against the first scorer (its extraction CPU seconds over (a) and (b) / this one's)."""
    from prunestack.pipeline.extract.scorer import load_scorer

    out = []
    for label, folder in labels.items():
        model = load_scorer(folder).model
        r: dict[str, Any] = {"scorer": label, "folder": str(folder),
                             "params": sum(p.numel() for p in model.parameters()),
                             "pruned": load_scorer(folder).config.get("pruned")}
        if label in res.get("gold_learned", {}):
            a = res["gold_learned"][label]
            r.update(a_mean=a["mean"], a_all_four=a["all_four"],
                     a_cpu_s=a["cpu_s_per_receipt"])
        if label in res.get("images", {}).get("learned", {}):
            b = res["images"]["learned"][label]
            r.update(b_mean=b["mean"], b_all_four=b["all_four"],
                     b_cpu_s=b["cpu_s_per_receipt"])
        out.append(r)
    n_a = res.get("gold", {}).get("n", 0)
    n_b = res.get("images", {}).get("n", 0)
    for r in out:  # CPU seconds over every receipt the scorer ran on, (a) and (b) together
        r["cpu_s_total"] = r.get("a_cpu_s", 0.0) * n_a + r.get("b_cpu_s", 0.0) * n_b
    for r in out:
        if r["cpu_s_total"] > 0:
            r["speed_vs_first"] = out[0]["cpu_s_total"] / r["cpu_s_total"]
    return out


def scorer_table(rows: list[dict[str, Any]]) -> str:
    def f(r: dict[str, Any], k: str, fmt: str = ".3f") -> str:
        return format(r[k], fmt) if k in r else ""

    lines = ["| scorer | params | (a) mean | (a) all four | (a) CPU s/receipt | (b) mean | "
             "(b) all four | (b) CPU s/receipt | speed vs first |", "|---" * 9 + "|"]
    for r in rows:
        lines.append(f"| {r['scorer']} | {r['params'] / 1e6:.1f} M | {f(r, 'a_mean')} | "
                     f"{f(r, 'a_all_four')} | {f(r, 'a_cpu_s', '.2f')} | {f(r, 'b_mean')} | "
                     f"{f(r, 'b_all_four')} | {f(r, 'b_cpu_s', '.2f')} | "
                     f"{f(r, 'speed_vs_first', '.2f')}{'x' if 'speed_vs_first' in r else ''} |")
    return ("Learned scorers side by side (same receipts, same run; CPU seconds of extraction "
            "alone, two threads):\n\n" + "\n".join(lines) + "\n")


def _plot_scorers(rows: list[dict[str, Any]], path: Path) -> None:
    """Accuracy (mean over fields) against the scorer's CPU seconds per receipt."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for mode, marker in (("a", "o"), ("b", "s")):
        pts = [(r[f"{mode}_cpu_s"], r[f"{mode}_mean"], r["scorer"]) for r in rows
               if f"{mode}_mean" in r]
        if not pts:
            continue
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, linestyle=":",
                label="(a) gold lines" if mode == "a" else "(b) end to end")
        for x, y, label in pts:
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel("scorer CPU seconds per receipt (extraction only, 2 threads)")
    ax.set_ylabel("mean field accuracy")
    ax.set_title("Learned field scorer: accuracy vs speed (dense and pruned)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from prunestack.eval.sroie import FIELDS

    series: list[tuple[str, dict[str, float]]] = []
    if "gold" in res:
        series.append((f"(a) gold lines, n={res['gold']['n']}", res["gold"]["fields"]))
    for label, la in res.get("gold_learned", {}).items():
        series.append((f"(a) gold lines, scorer {label}", la["fields"]))
    if "images" in res:
        b = res["images"]
        series.append((f"(b) end to end, n={b['n']}", b["fields"]))
        series += [(f"OCR ceiling {k}", v) for k, v in b["ceiling"].items()]
    fig, ax = plt.subplots(figsize=(8, 4.6))
    width = 0.8 / max(1, len(series))
    for i, (name, acc) in enumerate(series):
        xs = [j + i * width for j in range(len(FIELDS))]
        ax.bar(xs, [acc[k] for k in FIELDS], width, label=name)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(FIELDS))], FIELDS)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of receipts (exact match, SROIE normalisation)")
    ax.set_title("Real SROIE receipts: extraction vs OCR ceiling")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    args = _args(argv if argv is not None else [])
    from prunestack.eval.sroie import receipt_ids

    if not (args.data / "key").is_dir():
        print(f"skipped: no SROIE data at {args.data} (set PRUNESTACK_SROIE_DATA or --data; "
              "the dev set is not shipped)")
        return
    import torch

    torch.set_num_threads(2)  # the issue's budget: one process, two threads
    labels = scorer_labels(args.scorer_model)
    from prunestack.pipeline.extract.scorer import load_scorer

    for folder in labels.values():  # loaded before any timing: CPU seconds are scoring only
        load_scorer(folder)
    ids = receipt_ids(args.data, with_images=True)
    res: dict[str, Any] = {"data": str(args.data), "split": "receipts with an image"}
    rows: dict[str, Any] = {}
    t0 = time.perf_counter()
    if args.n_gold > 0:
        res["gold"], rows["gold"] = run_gold(args.data, ids[: args.n_gold])
        if labels:
            res["gold_learned"], rows_learned = {}, {}
            for label, folder in labels.items():
                res["gold_learned"][label], rows_learned[label] = run_gold(
                    args.data, ids[: args.n_gold], folder)
            rows["gold_learned"] = rows_learned
    if args.n_images > 0:
        res["images"], rows["images"] = run_images(args.data, ids[: args.n_images], labels)
    if labels:
        res["scorers"] = scorer_rows(res, labels)
    if "gold" in res and "images" in res and res["images"]["n"] < res["gold"]["n"]:
        same = {r["id"] for r in rows["images"]}  # (a) on (b)'s receipts: one sample, two inputs
        res["gold_same_receipts"] = _summary([r["right"] for r in rows["gold"] if r["id"] in same])
    res["seconds"] = time.perf_counter() - t0
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{NAME}.json").write_text(json.dumps({**res, "rows": rows}, indent=1))
    table = _table(res)
    (args.out / f"{NAME}.md").write_text(
        "# Real SROIE receipts (dev split with images)\n\n" + table)
    if "gold" in res or "images" in res:
        _plot(res, args.out / f"{NAME}.png")
    if res.get("scorers"):
        _plot_scorers(res["scorers"], args.out / f"{NAME}_scorers.png")
    print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
